"""Campaigns' operations: creating and revising, the approval lifecycle, launch (the budget
held, the audience frozen), pause, resume, stop, and the schedule's start and end.

Lifecycle: draft → pending_approval → approved | rejected (the owner revises and submits
again) → scheduled → active ⇄ paused → ended (`stopped_early` when stopped by hand).
Editing an approved or scheduled campaign sends it back to pending_approval; a scheduled
one gives its budget back first. Every status change is a `StatusChange` row (the read
model's timeline) and a notification to the owner organisation.

Money goes through `billing` only: launch holds the whole budget (org.available →
campaign.budget), the end releases the open authorisations and then what is left of the
budget. The campaign id in billing is the campaign's id as a string.

Functions take keyword arguments, flush and never commit: the request or task owns the
transaction, so a launch that fails (short balance, small audience) changes nothing.
Who may do what is the router's business; services check states and data.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session

from audience import errors as audience_errors
from audience import service as audience
from audience.models import SegmentStatus
from billing import errors as billing_errors
from billing import service as billing
from core.db import get_owned, owned_by, utcnow
from core.settings import get_settings
from marketplace_api.campaigns import errors
from marketplace_api.campaigns.models import (
    ActivationMode,
    Campaign,
    CampaignStatus,
    DepthMode,
    Goal,
    StatusChange,
)
from marketplace_api.campaigns.schemas import CampaignCreate, CampaignFields, CampaignUpdate
from marketplace_api.identity.models import Organisation, OrganisationKind, User
from marketplace_api.notifications import service as notifications
from marketplace_api.offers import service as offers
from pricing_ai import service as pricing
from pricing_ai.schemas import DepthMode as ForecastDepth
from pricing_ai.schemas import ForecastRead, ForecastRequest
from retail.models import Product, Store

DEFAULT_HOLDOUT_BP = 1000
# Per-shopper weekly limit by the dearest SKU's shelf price (kopecks, inclusive upper bound):
# cheap everyday items allow a few packs a week, expensive ones one.
LIMIT_BANDS: tuple[tuple[int | None, int], ...] = (
    (10_000, 10), (30_000, 5), (100_000, 3), (None, 1))

EDITABLE = frozenset({CampaignStatus.draft, CampaignStatus.rejected,
                      CampaignStatus.pending_approval, CampaignStatus.approved,
                      CampaignStatus.scheduled})
RUNNING = frozenset({CampaignStatus.scheduled, CampaignStatus.active, CampaignStatus.paused})
STATUS_LABELS = {
    CampaignStatus.draft: "черновик / draft",
    CampaignStatus.pending_approval: "на согласовании / pending approval",
    CampaignStatus.approved: "согласована / approved",
    CampaignStatus.rejected: "отклонена / rejected",
    CampaignStatus.scheduled: "запланирована / scheduled",
    CampaignStatus.active: "идёт / active",
    CampaignStatus.paused: "приостановлена / paused",
    CampaignStatus.ended: "завершена / ended",
}


def default_limit(price_minor: int) -> int:
    """Units per shopper per week for an item at this shelf price (see LIMIT_BANDS)."""
    for ceiling, units in LIMIT_BANDS:
        if ceiling is None or price_minor <= ceiling:
            return units
    raise AssertionError("the last band has no ceiling")


def _zone() -> ZoneInfo:
    return ZoneInfo(get_settings().retail_timezone)


def _aware(moment: datetime) -> datetime:
    """A timestamp without an offset is the retailer's local time."""
    return moment.replace(tzinfo=_zone()) if moment.tzinfo is None else moment


def local_midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=_zone())


# --- reading -------------------------------------------------------------------------------

def select_campaigns(*, organisation_id: int | None) -> Select[tuple[Campaign]]:
    """Campaigns a viewer may see: one organisation's, or (None) every organisation's."""
    return owned_by(select(Campaign), Campaign, organisation_id)


def get_campaign(*, db: Session, campaign_id: int, organisation_id: int | None) -> Campaign:
    """The campaign, or CampaignNotFound also when it belongs to another organisation than
    `organisation_id` (None sees all), so other suppliers' ids never leak."""
    campaign = get_owned(db, Campaign, campaign_id, organisation_id=organisation_id)
    if campaign is None:
        raise errors.CampaignNotFound(f"No campaign {campaign_id}")
    return campaign


def _locked(db: Session, campaign: Campaign) -> Campaign:
    """The campaign re-read under a row lock, so that two requests cannot both launch or
    stop it (SQLite serialises writers by itself)."""
    return db.execute(select(Campaign).where(Campaign.id == campaign.id).with_for_update()
                      .execution_options(populate_existing=True)).scalar_one()


# --- checking what a campaign says -----------------------------------------------------------

FIELDS = tuple(CampaignFields.model_fields)


def _values_of(campaign: Campaign) -> dict[str, Any]:
    return {name: getattr(campaign, name) for name in FIELDS}


def check_campaign(*, db: Session, organisation: Organisation, values: dict[str, Any],
                   changed: set[str], now: datetime | None = None) -> dict[str, Any]:
    """A campaign's fields checked against the business rules and completed with defaults.

    Raises InvalidCampaign naming every offending field at once (the file upload reports
    them all per row). `changed` are the fields the caller is setting: a start that has
    passed is refused only when it is being set, not when an untouched pending campaign's
    start passes while it waits for approval.
    """
    now = now or utcnow()
    settings = get_settings()
    problems: dict[str, str] = {}
    out = dict(values)
    retailer_funded = organisation.kind == OrganisationKind.retailer

    if not out.get("name"):
        problems["name"] = "required"

    # The segment: the owner's own (the retailer's staff may target any segment).
    segment = None
    if out.get("segment_id") is None:
        problems["segment_id"] = "required"
    else:
        try:
            segment = audience.get_segment(
                db=db, segment_id=out["segment_id"],
                organisation_id=None if retailer_funded else organisation.id)
        except audience_errors.SegmentNotFound:
            problems["segment_id"] = f"no segment {out['segment_id']}"
    if segment is not None:
        if segment.status is SegmentStatus.archived and "segment_id" in changed:
            problems["segment_id"] = f"segment {segment.id} is archived"
        out["segment_version"] = out.get("segment_version") or segment.current_version
        try:
            audience.get_version(db=db, segment=segment, version=out["segment_version"])
        except audience_errors.SegmentVersionNotFound:
            problems["segment_version"] = (f"segment {segment.id} has no version "
                                           f"{out['segment_version']}")

    # SKUs: a supplier's campaign only on its own products; the retailer's on any.
    skus = list(dict.fromkeys(out.get("skus") or []))
    out["skus"] = skus
    products: list[Product] = []
    if not skus:
        problems["skus"] = "at least one SKU"
    else:
        found = {p.sku: p for p in db.scalars(select(Product).where(Product.sku.in_(skus)))}
        unknown = [sku for sku in skus if sku not in found]
        foreign = [sku for sku in skus if sku in found and not retailer_funded
                   and found[sku].supplier_id != organisation.supplier_id]
        if unknown or foreign:
            parts = []
            if foreign:
                parts.append(f"not your products: {', '.join(foreign)}")
            if unknown:
                parts.append(f"no such products: {', '.join(unknown)}")
            problems["skus"] = "; ".join(parts)
        products = [found[sku] for sku in skus if sku in found]

    # The period.
    starts_at, ends_at = out.get("starts_at"), out.get("ends_at")
    if starts_at is None:
        problems["starts_at"] = "required"
    if ends_at is None:
        problems["ends_at"] = "required"
    if starts_at is not None and ends_at is not None:
        starts_at, ends_at = _aware(starts_at), _aware(ends_at)
        out["starts_at"], out["ends_at"] = starts_at, ends_at
        today = local_midnight(now.astimezone(_zone()).date())
        if ends_at <= starts_at:
            problems["ends_at"] = "the campaign must end after it starts"
        elif ends_at <= now and ({"starts_at", "ends_at"} & changed):
            problems["ends_at"] = "the period is in the past"
        if starts_at < today and "starts_at" in changed:
            problems["starts_at"] = "the start is in the past"

    # Stores or regions; none means every store.
    store_ids, regions = out.get("store_ids"), out.get("regions")
    if store_ids and regions:
        problems["regions"] = "give stores or regions, not both"
    elif store_ids:
        store_ids = list(dict.fromkeys(store_ids))
        out["store_ids"] = store_ids
        known = set(db.scalars(select(Store.store_id).where(Store.store_id.in_(store_ids))))
        missing = [s for s in store_ids if s not in known]
        if missing:
            problems["store_ids"] = f"no such stores: {', '.join(missing)}"
    elif regions:
        regions = list(dict.fromkeys(regions))
        out["regions"] = regions
        known = set(db.scalars(select(Store.region).where(Store.region.in_(regions))))
        missing = [r for r in regions if r not in known]
        if missing:
            problems["regions"] = f"no stores in: {', '.join(missing)}"
    out["store_ids"] = out.get("store_ids") or None
    out["regions"] = out.get("regions") or None

    # Depth: a fixed depth, or the AI's range and goal.
    mode = out.get("depth_mode")
    if mode is None:
        problems["depth_mode"] = "required: fixed or ai"
    elif mode == DepthMode.fixed:
        if out.get("discount_bp") is None:
            problems["discount_bp"] = "a fixed depth needs discount_bp"
        out.update(min_discount_bp=None, max_discount_bp=None, goal=None)
    else:
        low, high = out.get("min_discount_bp"), out.get("max_discount_bp")
        if low is None:
            problems["min_discount_bp"] = "an AI depth needs min_discount_bp"
        if high is None:
            problems["max_discount_bp"] = "an AI depth needs max_discount_bp"
        if low is not None and high is not None and low > high:
            problems["max_discount_bp"] = "must not be below min_discount_bp"
        out["goal"] = out.get("goal") or Goal.units
        out["discount_bp"] = None

    if out.get("limit_units_per_week") is None and products:
        out["limit_units_per_week"] = default_limit(
            max(p.regular_price_minor for p in products))

    currency = out.get("currency") or settings.currency
    if currency != settings.currency:
        problems["currency"] = f"only {settings.currency} is accepted"
    out["currency"] = currency
    if out.get("budget_minor") is None:
        problems["budget_minor"] = "required"
    elif out["budget_minor"] <= 0:
        problems["budget_minor"] = "must be above zero"
    if out.get("holdout_bp") is None:
        out["holdout_bp"] = DEFAULT_HOLDOUT_BP
    elif not 0 <= out["holdout_bp"] <= 5000:
        problems["holdout_bp"] = "between 0 and 5000 (0–50 %)"
    out["activation_mode"] = out.get("activation_mode") or ActivationMode.explicit

    if problems:
        summary = "; ".join(f"{field}: {problem}" for field, problem in problems.items())
        raise errors.InvalidCampaign(f"The campaign cannot be saved: {summary}",
                                     errors=problems)
    return out


# --- creating and revising -----------------------------------------------------------------

def create_campaign(*, db: Session, organisation: Organisation, data: CampaignCreate,
                    user_id: int | None, source_row_sha256: str | None = None) -> Campaign:
    """A draft campaign of `organisation` (a supplier's, or the retailer's own)."""
    sent = data.model_dump()
    values = check_campaign(db=db, organisation=organisation, values=sent, changed=set(sent))
    campaign = Campaign(organisation_id=organisation.id, status=CampaignStatus.draft,
                        created_by_id=user_id, source_row_sha256=source_row_sha256, **values)
    db.add(campaign)
    db.flush()
    _record(db, campaign, None, CampaignStatus.draft, user_id=user_id)
    return campaign


def update_campaign(*, db: Session, campaign: Campaign, organisation: Organisation,
                    data: CampaignUpdate, user_id: int | None) -> Campaign:
    """Revise a campaign before it runs. An approved or scheduled one goes back for
    approval; a scheduled one first gets its budget back."""
    campaign = _locked(db, campaign)
    if campaign.status not in EDITABLE:
        raise errors.WrongStatus(
            f"A campaign that is {campaign.status} cannot be edited; stop it and create a "
            "new one", errors={"status": str(campaign.status)})
    sent = data.model_dump(exclude_unset=True)
    if "segment_id" in sent and "segment_version" not in sent:
        sent["segment_version"] = None  # the new segment's current version
    values = check_campaign(db=db, organisation=organisation,
                            values={**_values_of(campaign), **sent}, changed=set(sent))
    changed = {name: value for name, value in values.items()
               if getattr(campaign, name) != value}
    if not changed:
        return campaign
    previous = campaign.status
    if previous == CampaignStatus.scheduled:
        _give_budget_back(db, campaign, key=f"campaign:{campaign.id}:revised:"
                                            f"{campaign.hold_transaction_id}",
                          user_id=user_id)
        campaign.materialisation_id = None
        campaign.hold_transaction_id = None
        campaign.launched_at = None
    for name, value in changed.items():
        setattr(campaign, name, value)
    db.flush()
    if previous in (CampaignStatus.approved, CampaignStatus.scheduled):
        _record(db, campaign, previous, CampaignStatus.pending_approval, user_id=user_id,
                reason="edited after approval: needs approval again")
    return campaign


# --- the lifecycle -------------------------------------------------------------------------

def _require(campaign: Campaign, allowed: set[CampaignStatus] | frozenset[CampaignStatus],
             action: str) -> None:
    if campaign.status not in allowed:
        names = " or ".join(sorted(str(s) for s in allowed))
        raise errors.WrongStatus(
            f"Cannot {action} a campaign that is {campaign.status} (it must be {names})",
            errors={"status": str(campaign.status)})


def submit(*, db: Session, campaign: Campaign, user_id: int | None) -> Campaign:
    """Send a draft (or a revised rejected campaign) to the retailer for approval."""
    campaign = _locked(db, campaign)
    _require(campaign, {CampaignStatus.draft, CampaignStatus.rejected}, "submit")
    if campaign.ends_at <= utcnow():
        raise errors.InvalidCampaign("The campaign's period is over: change it first",
                                     errors={"ends_at": "the period is in the past"})
    _record(db, campaign, campaign.status, CampaignStatus.pending_approval, user_id=user_id)
    return campaign


def approve(*, db: Session, campaign: Campaign, user_id: int | None) -> Campaign:
    campaign = _locked(db, campaign)
    _require(campaign, {CampaignStatus.pending_approval}, "approve")
    campaign.rejection_reason = None
    _record(db, campaign, campaign.status, CampaignStatus.approved, user_id=user_id)
    return campaign


def reject(*, db: Session, campaign: Campaign, reason: str, user_id: int | None) -> Campaign:
    campaign = _locked(db, campaign)
    _require(campaign, {CampaignStatus.pending_approval}, "reject")
    campaign.rejection_reason = reason
    _record(db, campaign, campaign.status, CampaignStatus.rejected, user_id=user_id,
            reason=reason)
    return campaign


def launch(*, db: Session, campaign: Campaign, idempotency_key: str,
           user_id: int | None) -> Campaign:
    """Hold the whole budget, freeze the audience and start (or schedule) the campaign.

    `idempotency_key` is the client's key scoped to its organisation: the same key again
    answers with the launched campaign and holds nothing more; the same key on another
    campaign is a 422 (billing's `idempotency_key_reused`). Refused with 409 unless
    approved, when the segment is below the minimum audience size (the count itself is
    never shown) or the balance is short (`insufficient_funds`); nothing changes then.
    """
    campaign = _locked(db, campaign)
    if campaign.launch_key == idempotency_key and campaign.status in RUNNING | {
            CampaignStatus.ended}:
        return campaign
    _require(campaign, {CampaignStatus.approved}, "launch")
    now = utcnow()
    if campaign.ends_at <= now:
        raise errors.WrongStatus("The campaign's period is over: edit it and have it "
                                 "approved again", errors={"ends_at": "in the past"})
    segment = audience.get_segment(db=db, segment_id=campaign.segment_id, organisation_id=None)
    version = audience.get_version(db=db, segment=segment, version=campaign.segment_version)
    minimum = get_settings().min_audience_size
    if audience.exact_count(rule=version.rule) < minimum:
        raise errors.AudienceTooSmall(
            f"The segment has fewer than {minimum} shoppers now (the retailer's minimum "
            "audience size), so the campaign cannot start: widen the segment",
            errors={"segment_id": f"fewer than {minimum} shoppers"})
    movement = billing.hold_campaign_budget(
        db=db, organisation_id=campaign.organisation_id, campaign_id=str(campaign.id),
        amount_minor=campaign.budget_minor, currency=campaign.currency,
        idempotency_key=f"campaign-launch:{idempotency_key}", actor_user_id=user_id,
        memo={"campaign": campaign.name})
    if movement.replayed:
        # The hold and the status change commit together, so a replayed hold of a campaign
        # that is not running was an earlier launch, since undone by an edit.
        raise billing_errors.IdempotencyKeyReused(
            "This Idempotency-Key launched the campaign before it was edited: launching "
            "it again needs a new key", errors={"Idempotency-Key": "already used"})
    materialisation = audience.materialise(db=db, segment=segment,
                                           version=campaign.segment_version, user_id=user_id)
    campaign.materialisation_id = materialisation.id
    campaign.hold_transaction_id = movement.transaction_id
    campaign.launch_key = idempotency_key
    campaign.launched_at = now
    campaign.stop_key = None
    target = CampaignStatus.active if campaign.starts_at <= now else CampaignStatus.scheduled
    _record(db, campaign, campaign.status, target, user_id=user_id)
    return campaign


def pause(*, db: Session, campaign: Campaign, user_id: int | None,
          reason: str | None = None) -> Campaign:
    campaign = _locked(db, campaign)
    _require(campaign, {CampaignStatus.active}, "pause")
    _record(db, campaign, campaign.status, CampaignStatus.paused, user_id=user_id,
            reason=reason)
    return campaign


def resume(*, db: Session, campaign: Campaign, user_id: int | None) -> Campaign:
    campaign = _locked(db, campaign)
    _require(campaign, {CampaignStatus.paused}, "resume")
    if campaign.ends_at <= utcnow():
        raise errors.WrongStatus("The campaign's period is over", errors={"ends_at": "past"})
    _record(db, campaign, campaign.status, CampaignStatus.active, user_id=user_id)
    return campaign


def stop(*, db: Session, campaign: Campaign, idempotency_key: str, user_id: int | None,
         reason: str | None = None) -> Campaign:
    """End a scheduled, active or paused campaign now: its open authorisations and the
    rest of its budget go back to the owner's balance. The same key again answers with the
    ended campaign."""
    campaign = _locked(db, campaign)
    if campaign.status == CampaignStatus.ended and campaign.stop_key == idempotency_key:
        return campaign
    _require(campaign, RUNNING, "stop")
    _finish(db, campaign, key=f"campaign-stop:{idempotency_key}", user_id=user_id,
            stopped_early=True, reason=reason or "stopped early")
    campaign.stop_key = idempotency_key
    return campaign


def _finish(db: Session, campaign: Campaign, *, key: str, user_id: int | None,
            stopped_early: bool, reason: str) -> None:
    campaign.stopped_early = stopped_early
    campaign.ended_at = utcnow()
    # Ended first: the offers go, and the shoppers' unused allowances return to the budget.
    _record(db, campaign, campaign.status, CampaignStatus.ended, user_id=user_id,
            reason=reason)
    _give_budget_back(db, campaign, key=key, user_id=user_id)


def _give_budget_back(db: Session, campaign: Campaign, *, key: str,
                      user_id: int | None) -> None:
    """Release every open authorisation, then the budget's rest, to the owner's balance.
    Authorisations whose receipts wait for antifraud review stay: the review settles them
    and returns what is left (offers.service.approve_flag / reject_flag)."""
    under_review = offers.authorizations_under_review(db=db, campaign_id=campaign.id)
    for authorization_id in billing.open_authorizations(db=db, campaign_id=str(campaign.id)):
        if authorization_id in under_review:
            continue
        billing.release_authorization(db=db, authorization_id=authorization_id,
                                      idempotency_key=f"{key}:authorization:{authorization_id}",
                                      actor_user_id=user_id)
    billing.release_campaign_budget(db=db, organisation_id=campaign.organisation_id,
                                    campaign_id=str(campaign.id), currency=campaign.currency,
                                    idempotency_key=key, actor_user_id=user_id)


# --- the schedule --------------------------------------------------------------------------

def due_campaign_ids(*, db: Session, now: datetime | None = None) -> list[int]:
    """Campaigns whose start or end has come: scheduled ones past their start, running
    ones past their end."""
    now = now or utcnow()
    return list(db.scalars(
        select(Campaign.id).where(or_(
            (Campaign.status == CampaignStatus.scheduled) & (Campaign.starts_at <= now),
            Campaign.status.in_([CampaignStatus.scheduled, CampaignStatus.active,
                                 CampaignStatus.paused]) & (Campaign.ends_at <= now),
        )).order_by(Campaign.id)))


@dataclass(frozen=True, slots=True)
class Advanced:
    campaign_id: int
    status: CampaignStatus
    changed: bool


def advance(*, db: Session, campaign_id: int, now: datetime | None = None) -> Advanced:
    """Move one campaign along its schedule: ended when its period is over (releasing the
    money), else active when its start has come. Doing it again changes nothing."""
    now = now or utcnow()
    campaign = db.get(Campaign, campaign_id)
    if campaign is None:
        raise errors.CampaignNotFound(f"No campaign {campaign_id}")
    campaign = _locked(db, campaign)
    before = campaign.status
    if campaign.status in RUNNING and campaign.ends_at <= now:
        _finish(db, campaign, key=f"campaign:{campaign.id}:period-end", user_id=None,
                stopped_early=False, reason="the period ended")
    elif campaign.status == CampaignStatus.scheduled and campaign.starts_at <= now:
        _record(db, campaign, campaign.status, CampaignStatus.active, user_id=None,
                reason="the period started")
    return Advanced(campaign.id, campaign.status, campaign.status != before)


# --- the forecast --------------------------------------------------------------------------

def forecast_request(*, db: Session, campaign: Campaign) -> ForecastRequest:
    """The campaign as pricing_ai's forecast request."""
    stores = campaign.store_ids
    if campaign.regions:
        stores = list(db.scalars(select(Store.store_id)
                                 .where(Store.region.in_(campaign.regions))))
    if campaign.depth_mode == DepthMode.fixed:
        depth = ForecastDepth(kind="fixed", discount_bp=campaign.discount_bp)
    else:
        depth = ForecastDepth(kind="ai", min_bp=max(campaign.min_discount_bp or 1, 1),
                              max_bp=campaign.max_discount_bp,
                              goal=(campaign.goal or Goal.units).value)
    zone = _zone()
    last_moment = campaign.ends_at - timedelta(microseconds=1)
    return ForecastRequest(
        segment_id=campaign.segment_id, segment_version=campaign.segment_version,
        skus=campaign.skus, starts_on=campaign.starts_at.astimezone(zone).date(),
        ends_on=last_moment.astimezone(zone).date(), stores=stores, depth=depth,
        units_per_week_limit=campaign.limit_units_per_week,
        holdout_share=campaign.holdout_bp / 10_000, budget_minor=campaign.budget_minor)


def forecast(*, db: Session, campaign: Campaign, supplier_id: str | None,
             organisation_id: int | None, exact: bool) -> ForecastRead:
    """pricing_ai's forecast of a saved campaign, as the approver and the owner see it."""
    return pricing.forecast_campaign(db=db, request=forecast_request(db=db, campaign=campaign),
                                     supplier_id=supplier_id, organisation_id=organisation_id,
                                     exact=exact)


# --- the history ---------------------------------------------------------------------------

def _record(db: Session, campaign: Campaign, from_status: CampaignStatus | None,
            to_status: CampaignStatus, *, user_id: int | None,
            reason: str | None = None) -> None:
    """Move the campaign to `to_status`, keep the step in its history and tell its owner."""
    campaign.status = to_status
    db.add(StatusChange(campaign_id=campaign.id, from_status=from_status, to_status=to_status,
                        reason=reason, actor_user_id=user_id))
    db.flush()
    db.expire(campaign, ["history"])
    offers.on_campaign_status(db=db, campaign_id=campaign.id)
    if to_status == CampaignStatus.ended:
        notifications.announce_campaign_end(db=db, campaign=campaign, reason=reason)
        return
    label = STATUS_LABELS[to_status]
    body = f"Кампания «{campaign.name}» (№ {campaign.id}): {label}."
    if reason:
        body += f"\nПричина / reason: {reason}"
    notifications.notify(db=db, organisation_id=campaign.organisation_id,
                         kind="campaign_status",
                         subject=f"Кампания «{campaign.name}»: {label}", body=body,
                         campaign_id=campaign.id)


RETAILER_ACTOR = "retailer"


def timeline_actors(*, db: Session, campaign: Campaign) -> dict[int, str]:
    """Who made each status change, as anyone allowed to see the campaign may read it: the
    names of the campaign's own organisation's users, and only "retailer" for the
    retailer's staff acting on a supplier's campaign (a supplier never learns who they are)."""
    ids = {step.actor_user_id for step in campaign.history if step.actor_user_id is not None}
    if not ids:
        return {}
    rows = db.execute(select(User.id, User.organisation_id, User.full_name, User.email)
                      .where(User.id.in_(ids)))
    return {row.id: (row.full_name or row.email) if row.organisation_id == campaign.organisation_id
            else RETAILER_ACTOR for row in rows}
