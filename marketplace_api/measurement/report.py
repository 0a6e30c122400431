"""The campaign report: what was served, activated and redeemed, what the discount cost,
and what the campaign added over its holdout, measured in the retailer's receipts.

Receipts count whichever way they arrived (imported files or the checkout API both write
`retail` receipt lines). The measured window is the campaign's period up to now (or up to
an early stop); the shoppers are the campaign's frozen segment, split by the serving's own
holdout function. Nothing here names a shopper: only counts and sums leave this module,
counts as the privacy rules allow (`audience.service.shown_count`).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import ColumnElement, and_, distinct, func, or_, select
from sqlalchemy.orm import Session

from audience import service as audience
from audience.models import MaterialisedMember
from audience.schemas import ShownCountRead
from billing.models import Transaction, TransactionKind
from core.db import utcnow
from core.settings import get_settings
from marketplace_api.campaigns.models import Campaign
from marketplace_api.measurement import incremental
from marketplace_api.measurement.schemas import (
    CampaignReportRead,
    DayRead,
    EffectRead,
    EffectReason,
    GroupRead,
    IntervalRead,
    MoneyIntervalRead,
)
from marketplace_api.measurement.settlement import compensation_movements
from marketplace_api.offers.models import (
    Activation,
    Event,
    EventKind,
    LineStatus,
    Offer,
)
from marketplace_api.offers.models import ReceiptLine as CheckoutLine
from retail.models import ReceiptLine, Store

# --- the incremental effect ------------------------------------------------------------------


def measured_period(campaign: Campaign, *, now: datetime) -> tuple[datetime, datetime] | None:
    """[start, end) of the receipts that measure the campaign, or None before it starts."""
    end = min(campaign.ends_at, now)
    if campaign.ended_at is not None:
        end = min(end, campaign.ended_at)
    if end <= campaign.starts_at:
        return None
    return campaign.starts_at, end


def store_condition(campaign: Campaign) -> ColumnElement[bool] | None:
    """The campaign's stores as a condition on a receipt line: its stores or any store of
    its regions, as the serving applies them (None: every store)."""
    conditions = []
    if campaign.store_ids:
        conditions.append(ReceiptLine.store_id.in_(campaign.store_ids))
    if campaign.regions:
        conditions.append(ReceiptLine.store_id.in_(
            select(Store.store_id).where(Store.region.in_(campaign.regions))))
    return or_(*conditions) if conditions else None


def shopper_outcomes(*, db: Session, campaign: Campaign, start: datetime,
                     end: datetime) -> dict[str, tuple[float, int]]:
    """Per segment member who bought the campaign's SKUs in its stores within [start, end):
    (units, revenue paid in minor units). For the statistics only; never shown."""
    if not campaign.skus or campaign.materialisation_id is None:
        return {}
    lines = ReceiptLine.__table__.c
    statement = (
        select(lines.customer_id, func.sum(lines.qty), func.sum(lines.paid_amount_minor))
        .join(MaterialisedMember.__table__,
              and_(MaterialisedMember.customer_id == lines.customer_id,
                   MaterialisedMember.materialisation_id == campaign.materialisation_id))
        .where(lines.sku.in_(campaign.skus), lines.sold_at >= start, lines.sold_at < end)
        .group_by(lines.customer_id))
    stores = store_condition(campaign)
    if stores is not None:
        statement = statement.where(stores)
    return {customer_id: (float(units or 0), int(revenue or 0))
            for customer_id, units, revenue in db.execute(statement)}


def _members(db: Session, campaign: Campaign) -> tuple[list[str], np.ndarray]:
    if campaign.materialisation_id is None:
        return [], np.zeros(0, dtype=bool)
    members = audience.member_ids(db=db, materialisation_id=campaign.materialisation_id)
    return members, incremental.held_out(members=members, campaign_id=campaign.id,
                                         holdout_bp=campaign.holdout_bp)


def incremental_effect(*, db: Session, campaign: Campaign, now: datetime | None = None,
                       members: tuple[list[str], np.ndarray] | None = None
                       ) -> incremental.Effect | None:
    """Treated against holdout over the measured period (None before the campaign starts,
    before launch, or while a group has fewer than two shoppers). `members` may pass the
    frozen members and their holdout flags when the caller has them already."""
    period = measured_period(campaign, now=now or utcnow())
    if period is None or campaign.materialisation_id is None:
        return None
    found, held = members or _members(db, campaign)
    outcomes = shopper_outcomes(db=db, campaign=campaign, start=period[0], end=period[1])
    treated, holdout = incremental.split_groups(members=found, held=held, outcomes=outcomes)
    return incremental.compare(treated, holdout)


# --- counts and sums -------------------------------------------------------------------------

def local_day(db: Session, column: ColumnElement) -> ColumnElement[str]:
    """The retailer's local date of a timestamp column, as 'YYYY-MM-DD'. SQLite (embedded
    mode) knows no time zones: it shifts by the zone's current offset."""
    zone = get_settings().retail_timezone
    if db.get_bind().dialect.name == "postgresql":
        return func.to_char(func.timezone(zone, column), "YYYY-MM-DD")
    offset = int(datetime.now(ZoneInfo(zone)).utcoffset().total_seconds())
    return func.strftime("%Y-%m-%d", column, f"{offset:+d} seconds")


def _net_units() -> ColumnElement:
    # Units sold with the discount, less those whose discount a return gave back.
    return (CheckoutLine.discounted_units
            - CheckoutLine.returned_discount_minor / CheckoutLine.unit_discount_minor)


def _redeemed(campaign: Campaign) -> ColumnElement[bool]:
    return and_(CheckoutLine.campaign_id == campaign.id,
                CheckoutLine.status.in_((LineStatus.captured, LineStatus.pending)),
                CheckoutLine.unit_discount_minor > 0)


def _spend_movements(campaign: Campaign):
    return compensation_movements().where(Transaction.campaign_id == str(campaign.id)).subquery()


def _daily(db: Session, campaign: Campaign, *, now: datetime, exact: bool) -> list[DayRead]:
    served_day = local_day(db, Event.occurred_at)
    served = dict(db.execute(
        select(served_day, func.count(distinct(Event.customer_id)))
        .where(Event.campaign_id == campaign.id, Event.kind == EventKind.impression)
        .group_by(served_day)).all())
    activation_day = local_day(db, Activation.activated_at)
    activations = dict(db.execute(
        select(activation_day, func.count())
        .where(Activation.campaign_id == campaign.id).group_by(activation_day)).all())
    sale_day = local_day(db, CheckoutLine.sold_at)
    redemptions = {day: (count, units) for day, count, units in db.execute(
        select(sale_day, func.count(), func.sum(_net_units()))
        .where(_redeemed(campaign)).group_by(sale_day))}
    moved = _spend_movements(campaign)
    spend_day = local_day(db, moved.c.created_at)
    spend = dict(db.execute(select(spend_day, func.sum(moved.c.amount_minor))
                            .group_by(spend_day)).all())

    zone = ZoneInfo(get_settings().retail_timezone)
    first = campaign.starts_at.astimezone(zone).date()
    last = (min(campaign.ends_at - timedelta(microseconds=1), now)).astimezone(zone).date()
    days = {first + timedelta(days=n) for n in range(max(0, (last - first).days + 1))}
    days |= {date.fromisoformat(day) for day in (*served, *activations, *redemptions, *spend)}

    def shown(count: int) -> ShownCountRead:
        return ShownCountRead.model_validate(audience.shown_count(count, exact=exact),
                                             from_attributes=True)

    out = []
    for day in sorted(days):
        key = day.isoformat()
        count, units = redemptions.get(key, (0, 0))
        out.append(DayRead(date=day, served=shown(served.get(key, 0)),
                           activations=shown(activations.get(key, 0)),
                           redemptions=shown(count), units=int(units or 0),
                           spend_minor=int(spend.get(key) or 0)))
    return out


def _scalar(db: Session, statement) -> int:
    return int(db.scalar(statement) or 0)


# --- the report ------------------------------------------------------------------------------

def campaign_report(*, db: Session, campaign: Campaign, exact: bool,
                    now: datetime | None = None) -> CampaignReportRead:
    """The campaign's report. `exact` (retailer staff) shows exact counts; otherwise counts
    are rounded or "< minimum", and group means over fewer shoppers than the minimum are
    withheld."""
    now = now or utcnow()
    minimum = get_settings().min_audience_size

    def shown(count: int) -> ShownCountRead:
        return ShownCountRead.model_validate(audience.shown_count(count, exact=exact),
                                             from_attributes=True)

    members, held = _members(db, campaign)
    n_holdout = int(held.sum())
    offered = _scalar(db, select(func.count(distinct(Offer.customer_id)))
                      .where(Offer.campaign_id == campaign.id))
    served = _scalar(db, select(func.count(distinct(Event.customer_id)))
                     .where(Event.campaign_id == campaign.id,
                            Event.kind == EventKind.impression))
    activated = _scalar(db, select(func.count(distinct(Activation.customer_id)))
                        .where(Activation.campaign_id == campaign.id))
    redeemed = _scalar(db, select(func.count(distinct(CheckoutLine.customer_id)))
                       .where(_redeemed(campaign)))
    redeemed_units = _scalar(db, select(func.sum(_net_units())).where(_redeemed(campaign)))
    moved = _spend_movements(campaign)
    captured = _scalar(db, select(func.sum(moved.c.amount_minor))
                       .where(moved.c.kind == TransactionKind.capture))
    reversed_ = -_scalar(db, select(func.sum(moved.c.amount_minor))
                         .where(moved.c.kind == TransactionKind.reversal))
    spent = captured - reversed_

    effect = _effect_read(
        incremental_effect(db=db, campaign=campaign, now=now, members=(members, held)),
        campaign=campaign, now=now, spent=spent, exact=exact, minimum=minimum,
        launched=campaign.materialisation_id is not None)
    return CampaignReportRead(
        campaign_id=campaign.id, name=campaign.name, status=str(campaign.status),
        currency=campaign.currency, starts_at=campaign.starts_at, ends_at=campaign.ends_at,
        as_of=now, min_audience_size=minimum, segment_members=shown(len(members)),
        treated=shown(len(members) - n_holdout), holdout=shown(n_holdout),
        offered_shoppers=shown(offered), served_shoppers=shown(served),
        activated_shoppers=shown(activated), redeemed_shoppers=shown(redeemed),
        redeemed_units=redeemed_units, captured_minor=captured, reversed_minor=reversed_,
        spent_minor=spent, budget_minor=campaign.budget_minor,
        budget_left_minor=campaign.budget_minor - spent,
        daily=_daily(db, campaign, now=now, exact=exact), effect=effect)


def _effect_read(effect: incremental.Effect | None, *, campaign: Campaign, now: datetime,
                 spent: int, exact: bool, minimum: int, launched: bool) -> EffectRead:
    period = measured_period(campaign, now=now)
    if not launched:
        return EffectRead(available=False, reason_code=EffectReason.not_launched,
                          reason="The campaign has not been launched")
    if period is None:
        return EffectRead(available=False, reason_code=EffectReason.not_started,
                          reason="The campaign has not started yet")
    if effect is None:
        return EffectRead(available=False, measured_from=period[0], measured_to=period[1],
                          reason_code=EffectReason.too_few_shoppers,
                          reason="The treated group or the holdout has fewer than two "
                                 "shoppers")
    if not exact and min(effect.treated.shoppers, effect.holdout.shoppers) < minimum:
        return EffectRead(available=False, measured_from=period[0], measured_to=period[1],
                          reason_code=EffectReason.below_minimum,
                          reason=f"The treated group or the holdout has fewer than {minimum} "
                                 "shoppers: its figures could describe single shoppers")

    def group(found: incremental.Group) -> GroupRead:
        return GroupRead(
            shoppers=ShownCountRead.model_validate(
                audience.shown_count(found.shoppers, exact=exact), from_attributes=True),
            units_per_shopper=round(found.units_per_shopper, 4),
            revenue_per_shopper_minor=round(found.revenue_per_shopper_minor))

    iroas = effect.iroas(spent)
    return EffectRead(
        available=True, measured_from=period[0], measured_to=period[1],
        confidence=effect.confidence, treated=group(effect.treated),
        holdout=group(effect.holdout),
        units_per_shopper=IntervalRead.model_validate(effect.units_per_shopper),
        revenue_per_shopper=MoneyIntervalRead.model_validate(effect.revenue_per_shopper_minor),
        incremental_units=IntervalRead.model_validate(effect.incremental_units),
        incremental_revenue=MoneyIntervalRead.model_validate(effect.incremental_revenue_minor),
        iroas=None if iroas is None else IntervalRead.model_validate(iroas))
