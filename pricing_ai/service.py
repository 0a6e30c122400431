"""pricing_ai's services: training and registering model versions, publishing shopper
scores to audience, the retailer's guardrails, and the campaign forecast."""

from __future__ import annotations

import logging
import math
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from sqlalchemy import Select, func, select, update
from sqlalchemy.orm import Session

from audience import service as audience
from core.db import get_engine, session_scope, utcnow
from core.settings import get_settings
from pricing_ai import artifacts, forecast, policy, scoring, training
from pricing_ai.errors import (
    GuardrailExists,
    GuardrailNotFound,
    InvalidCampaign,
    ModelNotFound,
    NotEnoughData,
)
from pricing_ai.models import Guardrail, GuardrailScope, ModelArtifact
from pricing_ai.schemas import ForecastRead, ForecastRequest, GuardrailCreate, GuardrailUpdate
from retail.models import Product

log = logging.getLogger(__name__)

MODEL_NAME = "pricing"
SCORE_SET = "pricing_ai"
DEMO_ROWS = 200_000
DEMO_TREES = 120


def models_dir() -> Path:
    return get_settings().data_dir / "models"


# --- training ------------------------------------------------------------------------------

@dataclass(frozen=True)
class TrainReport:
    model_id: int
    version: int
    path: Path
    metrics: dict
    shoppers_scored: int
    seconds: float


def train(*, label_weeks: int = 12, rows: int = 1_000_000, n_estimators: int = 200,
          echo=None) -> TrainReport:
    """Read every receipt, fit the three models (time splits), save them as the next
    version, make it the active one, and publish the shoppers' scores to audience."""
    say = echo or (lambda _message: None)
    started = time.perf_counter()
    with get_engine().connect() as connection:
        first, last = _receipts_span(connection)
        if first is None:
            raise NotEnoughData("No receipts to train on: import some first")
        data = training.load_database(connection, since=first, until=last)
    say(f"read {data.lines.num_rows:,} receipt lines")
    enc = training.Encoded(data)
    models = training.fit_models(enc, label_weeks=label_weeks, rows=rows,
                                 n_estimators=n_estimators, say=say)
    serving = scoring.serving_state(models, enc)
    with session_scope() as db:
        version = (db.scalar(select(func.max(ModelArtifact.version))
                             .where(ModelArtifact.name == MODEL_NAME)) or 0) + 1
    path = models_dir() / f"{MODEL_NAME}-v{version:04d}"
    artifacts.save(models, path, name=MODEL_NAME, version=version, serving=serving)
    seconds = time.perf_counter() - started
    with session_scope() as db:
        db.execute(update(ModelArtifact).where(ModelArtifact.name == MODEL_NAME)
                   .values(is_active=False))
        row = ModelArtifact(name=MODEL_NAME, version=version, path=str(path),
                            metrics=models.metrics, data_window=models.window,
                            features=artifacts.feature_lists(), is_active=True,
                            seconds=round(seconds, 2))
        db.add(row)
        db.flush()
        audience.publish_scores(db=db, name=SCORE_SET, scores=serving.scores.frame)
        model_id = row.id
    forget_artifact()
    say(f"model {MODEL_NAME} v{version} saved in {path} ({seconds:.1f} s)")
    return TrainReport(model_id=model_id, version=version, path=path, metrics=models.metrics,
                       shoppers_scored=len(serving.scores.frame), seconds=seconds)


def train_all(*, echo=print) -> TrainReport:
    """Train on the demo retailer in well under a minute (fewer rows and trees)."""
    return train(rows=DEMO_ROWS, n_estimators=DEMO_TREES, echo=echo)


def _receipts_span(connection) -> tuple[datetime | None, datetime | None]:
    from audience.features import receipts_span

    return receipts_span(connection)


def select_models() -> Select[tuple[ModelArtifact]]:
    return select(ModelArtifact)


def active_model(*, db: Session) -> ModelArtifact:
    row = db.scalars(select(ModelArtifact).where(ModelArtifact.name == MODEL_NAME,
                                                 ModelArtifact.is_active)
                     .order_by(ModelArtifact.version.desc()).limit(1)).first()
    if row is None:
        raise ModelNotFound("No trained pricing model yet: run `vitrina models train`")
    return row


_loaded: dict[str, artifacts.Artifact] = {}
_lock = threading.Lock()


def load_artifact(path: str) -> artifacts.Artifact:
    """The artifact at `path`, loaded once per process."""
    with _lock:
        if path not in _loaded:
            _loaded.clear()
            _loaded[path] = artifacts.load(Path(path))
        return _loaded[path]


def forget_artifact() -> None:
    with _lock:
        _loaded.clear()


# --- guardrails ----------------------------------------------------------------------------

def select_guardrails() -> Select[tuple[Guardrail]]:
    return select(Guardrail)


def get_guardrail(*, db: Session, guardrail_id: int) -> Guardrail:
    row = db.get(Guardrail, guardrail_id)
    if row is None:
        raise GuardrailNotFound(f"No guardrail {guardrail_id}")
    return row


def create_guardrail(*, db: Session, data: GuardrailCreate, user_id: int | None) -> Guardrail:
    target = "*" if data.scope == GuardrailScope.everything else data.target
    if data.scope == GuardrailScope.sku and db.get(Product, target) is None:
        raise InvalidCampaign(f"No product {target!r}", errors={"target": "unknown SKU"})
    exists = db.scalar(select(Guardrail.id).where(Guardrail.scope == data.scope,
                                                  Guardrail.target == target))
    if exists is not None:
        raise GuardrailExists(f"A {data.scope.value} guardrail for {target!r} exists "
                              f"(id {exists}): change that one",
                              errors={"target": "already has a guardrail"})
    row = Guardrail(scope=data.scope, target=target, min_price_minor=data.min_price_minor,
                    max_discount_bp=data.max_discount_bp, min_margin_bp=data.min_margin_bp,
                    currency=get_settings().currency, updated_by_id=user_id)
    db.add(row)
    db.flush()
    return row


def update_guardrail(*, db: Session, guardrail: Guardrail, data: GuardrailUpdate,
                     user_id: int | None) -> Guardrail:
    changes = data.model_dump(exclude_unset=True)
    if guardrail.scope == GuardrailScope.everything:
        if set(changes) - {"min_margin_bp"} or changes.get("min_margin_bp", 0) is None:
            raise InvalidCampaign("The global guardrail holds only min_margin_bp",
                                  errors={"min_margin_bp": "required, alone"})
    elif "min_margin_bp" in changes and changes["min_margin_bp"] is not None:
        raise InvalidCampaign("The minimum margin is global",
                              errors={"min_margin_bp": "only on the global guardrail"})
    for key, value in changes.items():
        setattr(guardrail, key, value)
    if guardrail.scope != GuardrailScope.everything and \
            guardrail.min_price_minor is None and guardrail.max_discount_bp is None:
        raise InvalidCampaign("A guardrail needs a minimum price or a maximum discount")
    guardrail.updated_by_id = user_id
    guardrail.updated_at = utcnow()
    db.flush()
    return guardrail


def delete_guardrail(*, db: Session, guardrail: Guardrail) -> None:
    db.delete(guardrail)
    db.flush()


def min_margin_bp(*, db: Session) -> int:
    value = db.scalar(select(Guardrail.min_margin_bp)
                      .where(Guardrail.scope == GuardrailScope.everything))
    return get_settings().min_margin_bp if value is None else int(value)


def sku_limits(*, db: Session, products: list[Product]) -> np.ndarray:
    """The deepest discount (bp) each product may get under every guardrail."""
    from pricing_ai import guardrails

    rows = db.scalars(select(Guardrail)).all()
    by_sku = {row.target: row for row in rows if row.scope == GuardrailScope.sku}
    by_category = {row.target: row for row in rows if row.scope == GuardrailScope.category}
    min_price, max_discount = [], []
    for product in products:
        found = [r for r in (by_sku.get(product.sku), by_category.get(product.category)) if r]
        min_price.append(max([r.min_price_minor or 0 for r in found], default=0))
        max_discount.append(min([r.max_discount_bp for r in found
                                 if r.max_discount_bp is not None], default=10_000))
    limits = guardrails.SkuLimits(
        price_minor=np.array([p.regular_price_minor for p in products], dtype=np.int64),
        cost_minor=np.array([-1 if p.cost_price_minor is None else p.cost_price_minor
                             for p in products], dtype=np.int64),
        min_price_minor=np.array(min_price, dtype=np.int64),
        max_discount_bp=np.array(max_discount, dtype=np.int64),
        min_margin_bp=min_margin_bp(db=db))
    return guardrails.max_depth_bp(limits)


# --- the forecast --------------------------------------------------------------------------

def _campaign_weeks(request: ForecastRequest) -> int:
    if request.weeks:
        return request.weeks
    if request.starts_on and request.ends_on:
        return max(1, math.ceil(((request.ends_on - request.starts_on).days + 1) / 7))
    return 4


def _members(*, db: Session, request: ForecastRequest, organisation_id: int | None
             ) -> list[str]:
    from audience.rules import parse_rule

    snapshot = audience.current_snapshot()
    if request.segment_id is not None:
        segment = audience.get_segment(db=db, segment_id=request.segment_id,
                                       organisation_id=organisation_id)
        version = audience.get_version(db=db, segment=segment,
                                       version=request.segment_version
                                       or segment.current_version)
        rule = version.rule
    else:
        rule = request.rule
    return snapshot.members(parse_rule(rule, snapshot.catalogue, strict_values=False))


def forecast_campaign(*, db: Session, request: ForecastRequest, supplier_id: str | None,
                      organisation_id: int | None, exact: bool) -> ForecastRead:
    """What the campaign is expected to do, computed by the active model with the same
    policy and guardrails that would serve it. A supplier sees counts, never shoppers."""
    products = []
    for sku in request.skus:
        product = db.get(Product, sku)
        if product is None or (supplier_id is not None and product.supplier_id != supplier_id):
            raise InvalidCampaign(f"Product {sku!r} is not one of yours",
                                  errors={"skus": f"{sku} is not one of your products"})
        products.append(product)
    row = active_model(db=db)
    artifact = load_artifact(row.path)
    state: scoring.ServingState = artifact.serving
    enc = state.enc
    sku_index = enc.sku_index.get_indexer([p.sku for p in products])
    if (sku_index < 0).any():
        raise InvalidCampaign("Some products are newer than the model: train it again",
                              errors={"skus": "unknown to the model"})
    members = _members(db=db, request=request, organisation_id=organisation_id)
    customer = enc.customer_index.get_indexer(members)
    customer = customer[customer >= 0]
    notes = []
    if request.stores:
        customer = customer[np.isin(enc.home_store[customer], request.stores)]
        notes.append("shoppers whose home store is among the chosen stores")
    customer = customer[state.hist.active[customer]]
    weeks = _campaign_weeks(request)
    settings = get_settings()
    caps = sku_limits(db=db, products=products)
    pairs = scoring.campaign_pairs(
        artifact.models, enc, state.hist, customers=customer, skus=sku_index, weeks=weeks,
        max_discount_bp=caps, cherry_score=state.cherry_by_customer(),
        cherry_threshold=settings.cherry_picker_threshold,
        cherry_max_bp=settings.cherry_picker_max_discount_bp,
        units_limit_per_week=request.units_per_week_limit)
    response = artifact.models.response
    depth = request.depth
    goal = policy.Goal(depth.goal)
    if depth.kind == "fixed":
        grid = np.unique(np.concatenate([[0, depth.discount_bp],
                                         np.minimum(pairs.pairs.cap_bp, depth.discount_bp)]))
        top = depth.discount_bp
    else:
        grid = np.concatenate([[0], np.arange(depth.min_bp, depth.max_bp + 1, depth.step_bp)])
        top = depth.max_bp
    outcome = policy.outcomes(pairs.pairs, grid, curve=response.curve,
                              units_multiplier=response.units_multiplier)

    def forecast_of(allocation: policy.Allocation) -> forecast.Forecast:
        return forecast.forecast(
            outcome, allocation, customer=pairs.customer, seen=pairs.pairs.seen,
            units_per_purchase=pairs.pairs.units_per_purchase,
            holdout_share=request.holdout_share, response_sigma=artifact.models.response_sigma,
            clipped=pairs.guardrail_cap_bp < top,
            cherry_capped=pairs.cherry_flag & (pairs.pairs.cap_bp < top),
            calibration=getattr(artifact.models, "forecast_calibration", None))

    # The recommended plan: for a fixed depth the campaign as asked; for AI depths the
    # allocation that spends while one more incremental unit costs at most its shelf
    # price (or a rouble of discount brings a rouble of revenue) — what an AI campaign
    # without a budget gets. Its recommended budget is the high end of the plan's 80 %
    # spend interval, so that the campaign runs to its end nine times in ten.
    if depth.kind == "fixed":
        allocation = plan = policy.fixed(outcome, depth.discount_bp)
    else:
        plan = policy.allocate(outcome, budget_minor=None,
                               lam=policy.recommended_lambda(outcome, goal))
        allocation = plan if request.budget_minor is None else policy.allocate(
            outcome, budget_minor=request.budget_minor, goal=goal)
    result = forecast_of(allocation)
    recommended_budget = (result if plan is allocation else forecast_of(plan)
                          ).discount_spend_minor.high
    if request.budget_minor and result.discount_spend_minor.expected > request.budget_minor:
        notes.append("the expected spend exceeds the budget: the campaign stops when the "
                     "budget is used")

    def count(value: float) -> dict:
        shown = audience.shown_count(round(value), exact=exact)
        return {"count": shown.count, "label": shown.label,
                "below_minimum": shown.below_minimum}

    def figure(value: forecast.Figure) -> dict:
        return {"expected": round(value.expected, 2), "low": round(value.low, 2),
                "high": round(value.high, 2)}

    return ForecastRead(
        model_version=row.version, segment_size=count(len(customer)),
        reach=count(result.reach.expected), activations=figure(result.activations),
        redemptions=figure(result.redemptions), units=figure(result.units),
        discount_spend_minor=figure(result.discount_spend_minor),
        incremental_units=figure(result.incremental_units),
        incremental_revenue_minor=figure(result.incremental_revenue_minor),
        recommended_budget_minor=math.ceil(recommended_budget),
        clipped_share=round(result.clipped_share, 4),
        cherry_capped_share=round(result.cherry_capped_share, 4),
        mean_depth_bp=round(result.mean_depth_bp, 1), weeks=weeks,
        currency=get_settings().currency, notes=notes)


def now() -> datetime:
    return datetime.now(UTC)
