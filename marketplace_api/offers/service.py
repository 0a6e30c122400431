"""Offers' operations: write a launched campaign's offers, take an offer (authorising its
money), record the app's events, apply a checkout receipt (capturing the money), reverse
returned lines, review antifraud holds, and release unused allowances.

Functions take keyword arguments, flush and never commit: the request or task owns the
transaction. Money moves only through `billing.service`. Each worker's offer index hears
of changes after the commit (`bus.publish_after_commit`).

Hooks for the campaign lifecycle (called by `campaigns.service`):
- after a launch commits: `tasks.materialise_offers.delay(campaign_id)` (or
  `materialise_offers(db=…, campaign_id=…)` in the same transaction);
- on every status change (pause, resume, stop, end): `on_campaign_status(db=…,
  campaign_id=…)` in the same transaction, BEFORE the campaign's budget is released — it
  releases the ended campaign's open allowances back into the budget first.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pyarrow as pa
from sqlalchemy import Engine, bindparam, delete, func, select, update
from sqlalchemy.orm import Session

from audience import service as audience
from billing import errors as billing_errors
from billing import service as billing
from billing.capture_batch import MAX_BATCH, CaptureBatcher, CaptureRequest, capture_many
from core.db import get_engine, new_session, session_scope, utcnow
from core.money import apply_bp
from marketplace_api.campaigns.models import ActivationMode, Campaign, CampaignStatus
from marketplace_api.offers import antifraud, bus, depths, errors
from marketplace_api.offers.holdout import in_holdout
from marketplace_api.offers.models import (
    Activation,
    Allowance,
    AllowanceStatus,
    Event,
    FlagStatus,
    FraudFlag,
    Holdout,
    LineStatus,
    Offer,
    OfferSet,
    Receipt,
    ReceiptLine,
    ReceiptReturn,
)
from marketplace_api.offers.schemas import EventBatch, ReceiptIn, ReturnIn
from retail.models import Product, Store
from retail.models import ReceiptLine as RetailLine

log = logging.getLogger(__name__)

WEEK = timedelta(days=7)
LAUNCHED = (CampaignStatus.scheduled, CampaignStatus.active, CampaignStatus.paused)


def _insert(db: Session, table):
    if db.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(table)


def request_hash(payload: Any) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, separators=(",", ":"),
                                     default=str).encode()).hexdigest()


# --- campaigns as offers see them --------------------------------------------------------

def campaign_week(campaign: Campaign, at: datetime) -> int:
    """Week 0 starts when the campaign starts; limits count per such week."""
    return max(0, int((at - campaign.starts_at) / WEEK))


def is_live(campaign: Campaign, at: datetime) -> bool:
    return (campaign.status == CampaignStatus.active
            and campaign.starts_at <= at < campaign.ends_at)


def serves_store(campaign: Campaign, store: Store) -> bool:
    """All stores by default; else the campaign's stores or any store of its regions."""
    if not campaign.store_ids and not campaign.regions:
        return True
    return (store.store_id in (campaign.store_ids or ())
            or (store.region is not None and store.region in (campaign.regions or ())))


def unit_discount(offer: Offer) -> int:
    return offer.regular_price_minor - offer.personal_price_minor


# --- launch: writing the offers ------------------------------------------------------------

@dataclass(frozen=True)
class Materialised:
    offer_set: OfferSet
    replayed: bool


def materialise_offers(*, db: Session, campaign_id: int) -> Materialised:
    """Write a launched campaign's offers once: split its frozen members into holdout and
    treated (`holdout.in_holdout`), compute each treated shopper's depth per SKU
    (`depths.personal_depths`) and bulk-insert them. Safe to repeat: a second call finds
    the offer set and returns it."""
    campaign = db.execute(select(Campaign).where(Campaign.id == campaign_id)
                          .with_for_update()).scalar_one_or_none()
    if campaign is None:
        raise errors.CampaignNotLaunched(f"No campaign {campaign_id}")
    existing = db.get(OfferSet, campaign_id)
    if existing is not None:
        return Materialised(existing, True)
    if campaign.materialisation_id is None or campaign.status not in LAUNCHED:
        raise errors.CampaignNotLaunched(
            f"Campaign {campaign_id} is {campaign.status} without a frozen audience")
    started = time.perf_counter()
    members = audience.member_ids(db=db, materialisation_id=campaign.materialisation_id)
    held = [m for m in members if in_holdout(campaign_id=campaign.id, customer_id=m,
                                             holdout_bp=campaign.holdout_bp)]
    held_set = set(held)
    treated = [m for m in members if m not in held_set]
    products = [db.get(Product, sku) for sku in campaign.skus]
    products = [p for p in products if p is not None]
    found = depths.personal_depths(db=db, campaign=campaign, products=products,
                                   customer_ids=treated)
    n = len(found.depth_bp)
    _bulk_insert(db, Holdout.__table__, pa.table({
        "campaign_id": pa.array(np.full(len(held), campaign.id, dtype=np.int32)),
        "customer_id": pa.array(held, pa.string())}))
    _bulk_insert(db, Offer.__table__, pa.table({
        "campaign_id": pa.array(np.full(n, campaign.id, dtype=np.int32)),
        "customer_id": pa.array(found.customer_ids.tolist(), pa.string()),
        "sku": pa.array(found.skus.tolist(), pa.string()),
        "discount_bp": pa.array(found.depth_bp.astype(np.int32)),
        "regular_price_minor": pa.array(found.regular_minor.astype(np.int64)),
        "personal_price_minor": pa.array(found.personal_minor.astype(np.int64)),
        "currency": pa.array([campaign.currency] * n, pa.string()),
        "p_buy": pa.array(found.p_buy.astype(np.float64), from_pandas=True)}))
    offer_set = OfferSet(campaign_id=campaign.id, members=len(members), treated=len(treated),
                         holdout=len(held), offers=n, model_version=found.model_version,
                         seconds=round(time.perf_counter() - started, 3))
    db.add(offer_set)
    db.flush()
    bus.publish_after_commit(db, {"kind": "campaign", "campaign_id": campaign.id})
    log.info("campaign %s: %d offers for %d treated shoppers (%d held out) in %.1f s",
             campaign.id, n, len(treated), len(held), offer_set.seconds)
    return Materialised(offer_set, False)


def _bulk_insert(db: Session, table, rows: pa.Table) -> None:
    """COPY on PostgreSQL (inside the session's transaction), executemany elsewhere."""
    if rows.num_rows == 0:
        return
    names = rows.column_names
    if db.get_bind().dialect.name == "postgresql":
        from retail.importing import pgcopy

        raw = db.connection().connection.driver_connection
        columns = ", ".join(names)
        with raw.cursor() as cursor, cursor.copy(
                f"COPY {table.name} ({columns}) FROM STDIN (FORMAT BINARY)") as copy:
            copy.write(pgcopy.SIGNATURE)
            step = 200_000
            for start in range(0, rows.num_rows, step):
                copy.write(pgcopy.encode(rows.slice(start, step)))
            copy.write(pgcopy.TRAILER)
        return
    records = rows.to_pylist()
    for start in range(0, len(records), 50_000):
        db.execute(table.insert(), records[start:start + 50_000])


def on_campaign_status(*, db: Session, campaign_id: int) -> None:
    """A campaign's status changed (call it in the same transaction, after the change):
    - launched (scheduled or active with a frozen audience) and no offers yet: the
      offers are written by the `offers.materialise_offers` task after the commit;
    - ended: its unused allowances go back to its budget (call it before the budget
      itself is released);
    - always: every worker re-reads the campaign at once (paused or ended: offers gone)."""
    from marketplace_api.offers import tasks

    campaign = db.get(Campaign, campaign_id)
    if campaign is None:
        return
    if campaign.status not in LAUNCHED and campaign.materialisation_id is None:
        _discard_unserved_offers(db, campaign_id)
    if campaign.status not in LAUNCHED:
        release_allowances(db=db, campaign_id=campaign_id)
    elif campaign.materialisation_id is not None and db.get(OfferSet, campaign_id) is None:
        bus.after_commit(db, lambda: tasks.materialise_offers.delay(campaign_id))
    bus.publish_after_commit(db, {"kind": "campaign", "campaign_id": campaign_id})



def _discard_unserved_offers(db: Session, campaign_id: int) -> None:
    """A scheduled campaign edited back to approval loses its frozen audience; the offers
    written for it are discarded so that the next launch writes them afresh (from the new
    segment, SKUs and depths). Offers with money authorised on them are never discarded."""
    if db.get(OfferSet, campaign_id) is None:
        return
    taken = db.scalar(select(func.count()).select_from(Activation)
                      .join(Offer, Offer.id == Activation.offer_id)
                      .where(Offer.campaign_id == campaign_id))
    if taken or db.scalar(select(Allowance.id).where(Allowance.campaign_id == campaign_id)
                          .limit(1)) is not None:
        return
    db.execute(delete(Offer).where(Offer.campaign_id == campaign_id))
    db.execute(delete(Holdout).where(Holdout.campaign_id == campaign_id))
    db.execute(delete(OfferSet).where(OfferSet.campaign_id == campaign_id))
    log.info("campaign %s: edited before it ran; its offers will be written at relaunch",
             campaign_id)

# --- allowances: money authorised per offer and week ---------------------------------------

def _usage_message(allowance: Allowance | None, *, offer: Offer, activated: bool,
                   week: int) -> dict[str, Any]:
    return {"kind": "usage", "customer_id": offer.customer_id, "offer_id": offer.id,
            "campaign_id": offer.campaign_id, "week": week,
            "units_used": allowance.units_used if allowance else 0,
            "units_limit": allowance.units_limit if allowance else None,
            "open": bool(allowance and allowance.status == AllowanceStatus.open),
            "activated": activated, "at": time.time()}


def _allowance(db: Session, *, offer: Offer, campaign: Campaign, week: int) -> Allowance:
    """This week's allowance on the offer, authorising its money first if there is none.
    Raises BudgetExhausted (nothing moved) when the campaign's budget is short."""
    statement = select(Allowance).where(Allowance.offer_id == offer.id, Allowance.week == week)
    found = db.execute(statement.with_for_update()).scalar_one_or_none()
    if found is not None:
        return found
    unit = unit_discount(offer)
    if unit <= 0:
        raise errors.OfferNotLive(f"Offer {offer.id} has no discount left after rounding")
    amount = campaign.limit_units_per_week * unit
    reference = f"offer:{offer.id}:week:{week}"
    try:
        with db.begin_nested():
            movement = billing.authorize(
                db=db, organisation_id=campaign.organisation_id, campaign_id=campaign.id,
                amount_minor=amount, currency=campaign.currency, idempotency_key=reference,
                reference=reference)
    except billing_errors.InsufficientFunds as exc:
        bus.publish({"kind": "campaign", "campaign_id": campaign.id})
        raise errors.BudgetExhausted(
            "The campaign's budget cannot cover this offer any more; it is no longer shown",
            errors={"offer_id": "budget exhausted"}) from exc
    now = utcnow()
    db.execute(_insert(db, Allowance.__table__).values(
        offer_id=offer.id, campaign_id=campaign.id, customer_id=offer.customer_id, week=week,
        units_limit=campaign.limit_units_per_week, units_used=0, unit_discount_minor=unit,
        amount_minor=amount, authorization_id=movement.authorization_id,
        status=AllowanceStatus.open, created_at=now, updated_at=now,
    ).on_conflict_do_nothing(index_elements=["offer_id", "week"]))
    return db.execute(statement.with_for_update()).scalar_one()


@dataclass(frozen=True)
class Activated:
    offer: Offer
    campaign: Campaign
    allowance: Allowance | None
    replayed: bool


def get_offer(*, db: Session, customer_id: str, offer_id: int) -> Offer:
    offer = db.get(Offer, offer_id)
    if offer is None or offer.customer_id != customer_id:
        raise errors.OfferNotFound(f"No offer {offer_id} for this shopper")
    return offer


def activate(*, db: Session, customer_id: str, offer_id: int, automatic: bool = False,
             now: datetime | None = None) -> Activated:
    """The shopper takes the offer: this week's allowance is authorised
    (campaign.budget → campaign.authorized, limit × unit discount). Repeating it returns
    the first activation."""
    now = now or utcnow()
    offer = get_offer(db=db, customer_id=customer_id, offer_id=offer_id)
    campaign = db.get(Campaign, offer.campaign_id)
    week = campaign_week(campaign, now)
    if db.get(Activation, offer_id) is not None:
        allowance = db.scalar(select(Allowance).where(Allowance.offer_id == offer_id,
                                                      Allowance.week == week))
        return Activated(offer, campaign, allowance, True)
    if not is_live(campaign, now):
        raise errors.OfferNotLive(f"Campaign {campaign.id} is not running now",
                                  errors={"offer_id": f"campaign is {campaign.status}"})
    allowance = _allowance(db, offer=offer, campaign=campaign, week=week)
    # RETURNING tells whether the row was new: the driver's rowcount is -1 here on PostgreSQL.
    inserted = db.execute(_insert(db, Activation.__table__).values(
        offer_id=offer.id, campaign_id=campaign.id, customer_id=customer_id,
        automatic=automatic, activated_at=now).on_conflict_do_nothing()
        .returning(Activation.__table__.c.offer_id)).first() is not None
    bus.publish_after_commit(db, _usage_message(allowance, offer=offer, activated=True,
                                                week=week))
    return Activated(offer, campaign, allowance, not inserted)


# --- the app's events ----------------------------------------------------------------------

@dataclass(frozen=True)
class EventsRecorded:
    accepted: int
    duplicates: int
    rejected: dict[str, str]


def record_events(*, db: Session, batch: EventBatch) -> EventsRecorded:
    """Impressions and clicks, once per event id. An event naming an offer that is not
    that shopper's is rejected (named in the answer); the rest are kept."""
    offer_ids = {e.offer_id for e in batch.events}
    owners = dict(db.execute(select(Offer.id, Offer.customer_id)
                             .where(Offer.id.in_(offer_ids))).all()) if offer_ids else {}
    campaigns = dict(db.execute(select(Offer.id, Offer.campaign_id)
                                .where(Offer.id.in_(offer_ids))).all()) if offer_ids else {}
    rejected: dict[str, str] = {}
    rows, seen = [], set()
    now = utcnow()
    for item in batch.events:
        if owners.get(item.offer_id) != item.customer_id:
            rejected[item.event_id] = "no such offer for this shopper"
            continue
        if item.event_id in seen:
            continue
        seen.add(item.event_id)
        rows.append({"event_id": item.event_id, "kind": item.kind.value,
                     "offer_id": item.offer_id, "campaign_id": campaigns[item.offer_id],
                     "customer_id": item.customer_id, "occurred_at": item.occurred_at,
                     "received_at": now})
    accepted = 0
    if rows:
        accepted = len(db.execute(_insert(db, Event.__table__).values(rows)
                                  .on_conflict_do_nothing(index_elements=["event_id"])
                                  .returning(Event.__table__.c.event_id)).all())
    valid = len(batch.events) - len(rejected)
    return EventsRecorded(accepted=accepted, duplicates=valid - accepted, rejected=rejected)


# --- checkout ------------------------------------------------------------------------------

def _claim_receipt(db: Session, data: ReceiptIn, digest: str) -> Receipt | None:
    """Reserve the receipt id; None when it was already there (then the first body's
    answer is returned, or ReceiptIdReused for another body)."""
    inserted = db.execute(_insert(db, Receipt.__table__).values(
        receipt_id=data.receipt_id, customer_id=data.customer_id, store_id=data.store_id,
        sold_at=data.ts, request_hash=digest, discount_minor=0, currency="RUB", response={},
        created_at=utcnow()).on_conflict_do_nothing(index_elements=["receipt_id"])
        .returning(Receipt.__table__.c.receipt_id)).first() is not None
    if inserted:
        return None
    found = db.get(Receipt, data.receipt_id)
    db.refresh(found)
    if found.request_hash != digest:
        raise errors.ReceiptIdReused(
            f"Receipt {data.receipt_id} was sent before with other contents",
            errors={"receipt_id": "already used for another receipt"})
    return found


def _candidate_offers(db: Session, *, customer_id: str, skus: list[str], at: datetime
                      ) -> dict[str, tuple[Offer, Campaign, bool]]:
    """Per SKU the deepest live offer the shopper may use now (activated, or from an
    automatic campaign), with whether it was activated."""
    rows = db.execute(
        select(Offer, Campaign, Activation.offer_id.is_not(None))
        .join(Campaign, Campaign.id == Offer.campaign_id)
        .outerjoin(Activation, Activation.offer_id == Offer.id)
        .where(Offer.customer_id == customer_id, Offer.sku.in_(skus),
               Campaign.status == CampaignStatus.active, Campaign.starts_at <= at,
               Campaign.ends_at > at)).all()
    best: dict[str, tuple[Offer, Campaign, bool]] = {}
    for offer, campaign, activated in rows:
        if not activated and campaign.activation_mode != ActivationMode.automatic:
            continue
        current = best.get(offer.sku)
        if current is None or offer.discount_bp > current[0].discount_bp:
            best[offer.sku] = (offer, campaign, bool(activated))
    return best


def process_receipt(*, db: Session, data: ReceiptIn) -> CheckedOut:
    """The supplier discounts of one receipt: per line the discount and personal price,
    within the shopper's weekly limit; captured from the shopper's allowance, or held
    for review when antifraud flags the receipt. The same receipt id and body return the
    first answer (and a capture still pending from the first time is tried again). The lines
    are also written as the retailer's receipt lines. Captures are made after the commit
    (`capture_lines`)."""
    payload = data.model_dump(mode="json")
    digest = request_hash(payload)
    replay = _claim_receipt(db, data, digest)
    if replay is not None:
        pending = db.execute(
            select(ReceiptLine, Allowance.authorization_id)
            .join(Allowance, Allowance.id == ReceiptLine.allowance_id)
            .where(ReceiptLine.receipt_id == data.receipt_id,
                   ReceiptLine.status == LineStatus.pending)).all()
        return CheckedOut(replay.response, [_capture_request(row, authorization_id)
                                            for row, authorization_id in pending])
    store = db.get(Store, data.store_id)
    if store is None:
        raise errors.UnknownStore(f"No store {data.store_id!r}",
                                  errors={"store_id": "unknown store"})
    skus = [line.sku for line in data.lines]
    products = {p.sku: p for p in db.scalars(select(Product).where(Product.sku.in_(skus)))}
    unknown = {f"lines.{i}.sku": "unknown product" for i, line in enumerate(data.lines)
               if line.sku not in products}
    if unknown:
        raise errors.InvalidReceipt("The receipt names products the retailer does not sell",
                                    errors=unknown)
    currency = products[skus[0]].currency
    offers = (_candidate_offers(db, customer_id=data.customer_id, skus=skus, at=data.ts)
              if data.customer_id else {})
    lines: list[ReceiptLine] = []
    touched: dict[int, tuple[Allowance, Offer, bool, int]] = {}
    outside: list[int] = []
    for line in data.lines:
        row = ReceiptLine(receipt_id=data.receipt_id, sku=line.sku, qty=line.qty,
                          price_minor=line.price_minor, customer_id=data.customer_id,
                          store_id=data.store_id, sold_at=data.ts, currency=currency,
                          discount_bp=0, discounted_units=0, unit_discount_minor=0,
                          discount_minor=0, status=LineStatus.no_discount, returned_units=0,
                          returned_discount_minor=0)
        lines.append(row)
        chosen = offers.get(line.sku)
        if chosen is None:
            continue
        offer, campaign, activated = chosen
        week = campaign_week(campaign, data.ts)
        try:
            allowance = _allowance(db, offer=offer, campaign=campaign, week=week)
        except (errors.BudgetExhausted, errors.OfferNotLive):
            continue
        units = min(line.qty, allowance.units_limit - allowance.units_used)
        unit = min(allowance.unit_discount_minor, apply_bp(line.price_minor, offer.discount_bp))
        if units <= 0 or unit <= 0 or allowance.status != AllowanceStatus.open:
            continue
        row.offer_id, row.campaign_id, row.allowance_id = offer.id, campaign.id, allowance.id
        row.discount_bp, row.discounted_units, row.unit_discount_minor = (
            offer.discount_bp, units, unit)
        row.discount_minor = units * unit
        allowance.units_used += units
        allowance.updated_at = utcnow()
        touched[allowance.id] = (allowance, offer, activated, week)
        if not serves_store(campaign, store):
            outside.append(campaign.id)
    discounted = [row for row in lines if row.discount_minor > 0]
    total = sum(row.discount_minor for row in discounted)
    flag = None
    if discounted:
        found = antifraud.evaluate(db=db, customer_id=data.customer_id, store_id=store.store_id,
                                   sold_at=data.ts, receipt_id=data.receipt_id,
                                   outside_campaigns=sorted(set(outside)))
        if found:
            flag = FraudFlag(receipt_id=data.receipt_id, customer_id=data.customer_id,
                             store_id=store.store_id, rules=sorted(found), details=found,
                             held_minor=total, currency=currency, status=FlagStatus.open)
            db.add(flag)
            db.flush()
    for row in discounted:
        if flag is not None:
            row.status, row.flag_id = LineStatus.held, flag.id
        else:
            row.status = LineStatus.pending
    db.add_all(lines)
    _write_retail_lines(db, data=data, lines=lines)
    response = _receipt_answer(data, lines, currency, held=flag is not None)
    db.execute(update(Receipt).where(Receipt.receipt_id == data.receipt_id)
               .values(customer_id=data.customer_id, discount_minor=total, currency=currency,
                       response=response))
    db.flush()
    for allowance, offer, activated, week in touched.values():
        bus.publish_after_commit(db, _usage_message(allowance, offer=offer,
                                                    activated=activated, week=week))
    captures = [_capture_request(row, touched[row.allowance_id][0].authorization_id)
                for row in discounted if row.status == LineStatus.pending]
    return CheckedOut(response, captures)


# --- captures of checkout lines -------------------------------------------------------------
# A receipt's transaction records its discounted lines as `pending`; after its commit the
# checkout hands their captures to this process's batcher (group commit: many receipts'
# captures in one ledger transaction, which also marks their lines `captured`) and waits for
# it. Lines a failed batch left pending are captured by the `offers.capture_pending` beat
# task; the idempotency key per line makes every retry safe.

@dataclass(frozen=True, slots=True)
class CheckedOut:
    """The answer for the till, and the captures to make once it is committed."""

    answer: dict[str, Any]
    captures: list[CaptureRequest]


def _capture_request(row: ReceiptLine, authorization_id: int) -> CaptureRequest:
    return CaptureRequest(authorization_id=authorization_id,
                          amount_minor=row.discount_minor - row.returned_discount_minor,
                          idempotency_key=f"receipt:{row.receipt_id}:{row.sku}",
                          memo={"receipt_id": row.receipt_id, "sku": row.sku,
                                "store_id": row.store_id}, tag=row.id)


def _mark_captured(db: Session, moved: list[tuple[CaptureRequest, billing.Movement]]) -> None:
    lines = ReceiptLine.__table__
    db.execute(update(lines).where(lines.c.id == bindparam("line"),
                                   lines.c.status == LineStatus.pending.value)
               .values(status=LineStatus.captured.value,
                       capture_transaction_id=bindparam("transaction")),
               [{"line": request.tag, "transaction": movement.transaction_id}
                for request, movement in moved])


_batchers: dict[Engine, CaptureBatcher] = {}
_batchers_lock = threading.Lock()


def _batcher() -> CaptureBatcher:
    """This process's batcher for the database in use (tests switch databases)."""
    engine = get_engine()
    with _batchers_lock:
        if engine not in _batchers:
            for old in _batchers.values():
                old.close()
            _batchers.clear()
            _batchers[engine] = CaptureBatcher(new_session, on_captured=_mark_captured)
        return _batchers[engine]


def capture_lines(captures: list[CaptureRequest], *, timeout: float = 10) -> None:
    """Capture committed pending lines through this process's batcher and wait for it
    (on SQLite, the embedded default, directly). A failure is logged, not raised: the
    receipt stands, and the beat task or a repeat of the receipt captures them later."""
    if not captures:
        return
    if get_engine().dialect.name != "postgresql":
        try:
            with session_scope() as db:
                outcomes = capture_many(db, captures)
                moved = [(r, o) for r, o in zip(captures, outcomes, strict=True)
                         if isinstance(o, billing.Movement)]
                if moved:
                    _mark_captured(db, moved)
        except Exception:
            log.exception("captures of %d lines left pending for the beat task", len(captures))
        return
    batcher = _batcher()
    futures = [batcher.submit(request) for request in captures]
    for request, future in zip(captures, futures, strict=True):
        try:
            future.result(timeout)
        except Exception:
            log.exception("capture %s left pending for the beat task", request.idempotency_key)


def capture_pending(*, db: Session, older_than: timedelta = timedelta(seconds=30),
                    limit: int = 500) -> int:
    """Capture lines a failed batch left pending (the beat task). The number captured."""
    cutoff = utcnow() - older_than
    rows = db.execute(
        select(ReceiptLine, Allowance.authorization_id)
        .join(Allowance, Allowance.id == ReceiptLine.allowance_id)
        .join(Receipt, Receipt.receipt_id == ReceiptLine.receipt_id)
        .where(ReceiptLine.status == LineStatus.pending, Receipt.created_at < cutoff)
        .order_by(ReceiptLine.id).limit(limit).with_for_update(of=ReceiptLine)).all()
    captured = 0
    for start in range(0, len(rows), MAX_BATCH):
        requests = [_capture_request(row, authorization_id)
                    for row, authorization_id in rows[start:start + MAX_BATCH]]
        outcomes = capture_many(db, requests)
        moved = [(r, o) for r, o in zip(requests, outcomes, strict=True)
                 if isinstance(o, billing.Movement)]
        for request, outcome in zip(requests, outcomes, strict=True):
            if not isinstance(outcome, billing.Movement):
                log.error("pending capture %s refused: %s", request.idempotency_key, outcome)
        if moved:
            _mark_captured(db, moved)
        captured += len(moved)
    return captured


def _write_retail_lines(db: Session, *, data: ReceiptIn, lines: list[ReceiptLine]) -> None:
    """The checkout's lines are receipt lines like imported ones; a later import of the
    same receipt updates them by (receipt_id, sku) instead of adding them twice. The
    receipt's time comes first in the table's key, so this finds its lines by the key
    instead of reading every imported line."""
    db.execute(delete(RetailLine).where(RetailLine.sold_at == data.ts,
                                        RetailLine.receipt_id == data.receipt_id))
    db.execute(RetailLine.__table__.insert(), [{
        "sold_at": data.ts, "receipt_id": data.receipt_id, "sku": row.sku,
        "customer_id": data.customer_id, "store_id": data.store_id, "qty": float(row.qty),
        "paid_amount_minor": row.qty * row.price_minor - row.discount_minor,
        "discount_amount_minor": row.discount_minor, "promo_flag": row.discount_minor > 0,
        "currency": row.currency} for row in lines])


def _line_answer(row: ReceiptLine) -> dict[str, Any]:
    return {"sku": row.sku, "qty": row.qty, "price_minor": row.price_minor,
            "discount_bp": row.discount_bp, "discounted_units": row.discounted_units,
            "unit_discount_minor": row.unit_discount_minor,
            "discount_minor": row.discount_minor,
            "personal_price_minor": row.price_minor - row.unit_discount_minor,
            "paid_minor": row.qty * row.price_minor - row.discount_minor,
            "campaign_id": row.campaign_id, "offer_id": row.offer_id,
            "held": row.status == LineStatus.held}


def _receipt_answer(data: ReceiptIn, lines: list[ReceiptLine], currency: str, *,
                    held: bool) -> dict[str, Any]:
    return {"receipt_id": data.receipt_id, "customer_id": data.customer_id,
            "store_id": data.store_id, "currency": currency,
            "label_ru": "Скидка от поставщика", "label_en": "Supplier discount",
            "discount_minor": sum(row.discount_minor for row in lines),
            "held_for_review": held, "lines": [_line_answer(row) for row in lines]}


def return_lines(*, db: Session, receipt_id: str, data: ReturnIn) -> dict[str, Any]:
    """Returned units give back their supplier discount (discounted units first): a
    captured discount is reversed (retailer.supplier_compensation → campaign.authorized,
    and the shopper's units are free again this week), a held one shrinks. Repeating a
    return (same `return_id`, by default the same body) answers as the first time."""
    receipt = db.execute(select(Receipt).where(Receipt.receipt_id == receipt_id)
                         .with_for_update()).scalar_one_or_none()
    if receipt is None:
        raise errors.ReceiptNotFound(f"No receipt {receipt_id}")
    payload = data.model_dump(mode="json", exclude={"return_id"})
    digest = request_hash(payload)
    return_id = data.return_id or digest[:32]
    previous = db.scalar(select(ReceiptReturn).where(ReceiptReturn.receipt_id == receipt_id,
                                                     ReceiptReturn.return_id == return_id))
    if previous is not None:
        if previous.request_hash != digest:
            raise errors.InvalidReturn(f"Return {return_id} was sent before with other lines",
                                       errors={"return_id": "already used"})
        return previous.response
    rows = {row.sku: row for row in db.scalars(
        select(ReceiptLine).where(ReceiptLine.receipt_id == receipt_id).with_for_update())}
    problems = {}
    for i, line in enumerate(data.lines):
        row = rows.get(line.sku)
        if row is None:
            problems[f"lines.{i}.sku"] = "not on this receipt"
        elif line.qty > row.qty - row.returned_units:
            problems[f"lines.{i}.qty"] = f"only {row.qty - row.returned_units} left to return"
    if problems:
        raise errors.InvalidReturn("The return does not match the receipt", errors=problems)
    answer_lines, total = [], 0
    for line in data.lines:
        row = rows[line.sku]
        amount = 0
        if row.unit_discount_minor > 0:
            returned_discounted = row.returned_discount_minor // row.unit_discount_minor
            units = min(line.qty, row.discounted_units - returned_discounted)
            amount = units * row.unit_discount_minor
            if amount > 0:
                _give_back(db, row=row, units=units, amount=amount, receipt_id=receipt_id,
                           return_id=return_id)
        row.returned_units += line.qty
        row.returned_discount_minor += amount
        total += amount
        _shrink_retail_line(db, row=row, qty=line.qty, amount=amount)
        answer_lines.append({"sku": line.sku, "qty": line.qty, "reversed_minor": amount})
    response = {"receipt_id": receipt_id, "return_id": return_id, "reversed_minor": total,
                "currency": receipt.currency, "lines": answer_lines}
    db.add(ReceiptReturn(receipt_id=receipt_id, return_id=return_id, request_hash=digest,
                         reversed_minor=total, response=response))
    db.flush()
    return response


def _give_back(db: Session, *, row: ReceiptLine, units: int, amount: int, receipt_id: str,
               return_id: str) -> None:
    allowance = db.execute(select(Allowance).where(Allowance.id == row.allowance_id)
                           .with_for_update()).scalar_one()
    if row.status == LineStatus.pending:
        # Its batch has not captured it yet: capture it here (the same key as the batch's,
        # so whichever comes second replays), then reverse as for any captured line.
        request = _capture_request(row, allowance.authorization_id)
        movement = billing.capture(db=db, authorization_id=request.authorization_id,
                                   amount_minor=request.amount_minor,
                                   idempotency_key=request.idempotency_key, memo=request.memo)
        row.status, row.capture_transaction_id = LineStatus.captured, movement.transaction_id
    if row.status == LineStatus.captured:
        billing.reverse(db=db, transaction_id=row.capture_transaction_id, amount_minor=amount,
                        reason=f"return of {units} × {row.sku} from receipt {receipt_id}",
                        idempotency_key=f"return:{receipt_id}:{return_id}:{row.sku}")
        allowance.status = AllowanceStatus.open  # the reversal reopened the authorisation
    elif row.status == LineStatus.held and row.flag_id is not None:
        flag = db.get(FraudFlag, row.flag_id)
        flag.held_minor -= amount
    if row.status in (LineStatus.captured, LineStatus.held):
        allowance.units_used -= units
        allowance.updated_at = utcnow()
        offer = db.get(Offer, allowance.offer_id)
        activated = db.get(Activation, offer.id) is not None
        bus.publish_after_commit(db, _usage_message(allowance, offer=offer, activated=activated,
                                                    week=allowance.week))


def _shrink_retail_line(db: Session, *, row: ReceiptLine, qty: int, amount: int) -> None:
    """The retailer's receipt line counts what was kept, net of the return."""
    db.execute(update(RetailLine)
               .where(RetailLine.receipt_id == row.receipt_id, RetailLine.sku == row.sku)
               .values(qty=RetailLine.qty - qty,
                       paid_amount_minor=RetailLine.paid_amount_minor
                       - (qty * row.price_minor - amount),
                       discount_amount_minor=RetailLine.discount_amount_minor - amount))


# --- antifraud review ----------------------------------------------------------------------

def select_flags():
    return select(FraudFlag)


def get_flag(*, db: Session, flag_id: int) -> FraudFlag:
    flag = db.execute(select(FraudFlag).where(FraudFlag.id == flag_id)
                      .with_for_update()).scalar_one_or_none()
    if flag is None:
        raise errors.FlagNotFound(f"No antifraud flag {flag_id}")
    return flag


def _open_flag(db: Session, flag_id: int) -> FraudFlag:
    flag = get_flag(db=db, flag_id=flag_id)
    if flag.status != FlagStatus.open:
        raise errors.FlagAlreadyReviewed(f"Flag {flag_id} was already {flag.status}")
    return flag


def _held_lines(db: Session, flag: FraudFlag) -> list[ReceiptLine]:
    return list(db.scalars(select(ReceiptLine).where(ReceiptLine.flag_id == flag.id,
                                                     ReceiptLine.status == LineStatus.held)
                           .with_for_update()))


def authorizations_under_review(*, db: Session, campaign_id: int) -> set[int]:
    """The campaign's authorisations with receipts waiting for antifraud review: they stay
    open when the campaign ends, until the review settles them."""
    return set(db.scalars(
        select(Allowance.authorization_id)
        .join(ReceiptLine, ReceiptLine.allowance_id == Allowance.id)
        .where(Allowance.campaign_id == campaign_id,
               ReceiptLine.status.in_((LineStatus.held, LineStatus.pending)))))


def _settle_if_ended(db: Session, campaign_ids: set[int], *, key: str) -> None:
    """After a review of a campaign that has ended meanwhile: its allowances and the rest of
    its budget go back to the owner, as they would have at the end."""
    for campaign_id in sorted(campaign_ids):
        campaign = db.get(Campaign, campaign_id)
        if campaign is None or campaign.status != CampaignStatus.ended:
            continue
        release_allowances(db=db, campaign_id=campaign_id)
        billing.release_campaign_budget(
            db=db, organisation_id=campaign.organisation_id, campaign_id=str(campaign_id),
            currency=campaign.currency, idempotency_key=f"{key}:campaign:{campaign_id}")


def approve_flag(*, db: Session, flag_id: int, user_id: int | None) -> FraudFlag:
    """The marketer finds the receipt fine: the held discounts are captured now."""
    flag = _open_flag(db, flag_id)
    held = _held_lines(db, flag)
    for row in held:
        amount = row.discount_minor - row.returned_discount_minor
        if amount > 0:
            allowance = db.get(Allowance, row.allowance_id)
            movement = billing.capture(
                db=db, authorization_id=allowance.authorization_id, amount_minor=amount,
                idempotency_key=f"receipt:{row.receipt_id}:{row.sku}",
                actor_user_id=user_id, memo={"receipt_id": row.receipt_id, "sku": row.sku,
                                             "store_id": row.store_id, "fraud_flag": flag.id})
            row.capture_transaction_id = movement.transaction_id
            # What was returned while held was never captured: nothing left to reverse.
            row.discount_minor, row.returned_discount_minor = amount, 0
        row.status = LineStatus.captured
    db.flush()
    _settle_if_ended(db, {row.campaign_id for row in held}, key=f"fraud-flag:{flag.id}")
    return _reviewed(db, flag, FlagStatus.approved, user_id)


def reject_flag(*, db: Session, flag_id: int, user_id: int | None) -> FraudFlag:
    """The marketer rejects the receipt: the supplier pays nothing for it, and the
    shopper's allowances it used are released back to the campaign's budget (no more
    discount on those offers this week)."""
    flag = _open_flag(db, flag_id)
    allowance_ids, campaign_ids = set(), set()
    for row in _held_lines(db, flag):
        row.status = LineStatus.released
        allowance_ids.add(row.allowance_id)
        campaign_ids.add(row.campaign_id)
    db.flush()
    for allowance_id in sorted(allowance_ids):
        allowance = db.execute(select(Allowance).where(Allowance.id == allowance_id)
                               .with_for_update()).scalar_one()
        still_held = db.scalar(select(func.count()).select_from(ReceiptLine).where(
            ReceiptLine.allowance_id == allowance_id, ReceiptLine.status == LineStatus.held))
        if allowance.status == AllowanceStatus.open and not still_held:
            _release(db, allowance)
    _settle_if_ended(db, campaign_ids, key=f"fraud-flag:{flag.id}")
    return _reviewed(db, flag, FlagStatus.rejected, user_id)


def _reviewed(db: Session, flag: FraudFlag, status: FlagStatus, user_id: int | None
              ) -> FraudFlag:
    flag.status, flag.reviewed_by_id, flag.reviewed_at = status, user_id, utcnow()
    db.flush()
    return flag


# --- releasing what will not be used -------------------------------------------------------

def release_allowances(*, db: Session, campaign_id: int | None = None,
                       customer_id: str | None = None, now: datetime | None = None) -> int:
    """Open allowances whose week is over, whose units are all used or whose campaign is
    no longer running give their unused rest back to the campaign's budget
    (campaign.authorized → campaign.budget) — except while a receipt on them waits for
    antifraud review or a capture. The number released."""
    now = now or utcnow()
    held = select(ReceiptLine.allowance_id).where(
        ReceiptLine.status.in_((LineStatus.held, LineStatus.pending)),
        ReceiptLine.allowance_id.is_not(None))
    statement = (select(Allowance, Campaign).join(Campaign, Campaign.id == Allowance.campaign_id)
                 .where(Allowance.status == AllowanceStatus.open,
                        Allowance.id.not_in(held)))
    if campaign_id is not None:
        statement = statement.where(Allowance.campaign_id == campaign_id)
    if customer_id is not None:
        statement = statement.where(Allowance.customer_id == customer_id)
    released = 0
    for allowance, campaign in db.execute(statement.with_for_update(of=Allowance)).all():
        running = campaign.status in LAUNCHED and now < campaign.ends_at
        week_over = campaign.starts_at + (allowance.week + 1) * WEEK <= now
        used_up = allowance.units_used >= allowance.units_limit
        if running and not week_over and not used_up:
            continue
        _release(db, allowance)
        released += 1
    db.flush()
    if released and campaign_id is not None:
        bus.publish_after_commit(db, {"kind": "campaign", "campaign_id": campaign_id})
    return released


def _release(db: Session, allowance: Allowance) -> None:
    # A fresh key each time: a return may reopen an allowance that was released before,
    # and the status check under the row lock is what keeps a release from repeating.
    billing.release_authorization(db=db, authorization_id=allowance.authorization_id,
                                  idempotency_key=f"allowance:{allowance.id}:release:"
                                                  f"{uuid.uuid4().hex}")
    allowance.status = AllowanceStatus.released
    allowance.updated_at = utcnow()
    offer = db.get(Offer, allowance.offer_id)
    bus.publish_after_commit(db, _usage_message(
        allowance, offer=offer, activated=db.get(Activation, offer.id) is not None,
        week=allowance.week))
