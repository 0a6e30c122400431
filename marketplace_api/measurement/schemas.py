"""What the campaign report and the settlement feed answer. No shopper id appears in
either: counts are `ShownCountRead` (for a supplier's user rounded, or "< 100" below the
retailer's minimum audience size) and everything else is a sum or a mean."""

from __future__ import annotations

import math
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from audience.schemas import ShownCountRead


class IntervalRead(BaseModel):
    """An estimate with its confidence interval."""

    model_config = ConfigDict(from_attributes=True)

    estimate: float
    low: float
    high: float


class MoneyIntervalRead(BaseModel):
    """An estimated amount and its interval in whole minor units: the estimate rounded half
    up, the interval widened outward so rounding never narrows it."""

    estimate_minor: int
    low_minor: int
    high_minor: int

    @model_validator(mode="before")
    @classmethod
    def _whole_minor_units(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return value
        return {"estimate_minor": int(Decimal(repr(value.estimate)).quantize(0, ROUND_HALF_UP)),
                "low_minor": math.floor(value.low), "high_minor": math.ceil(value.high)}


class EffectReason(StrEnum):
    """Why a report has no effect estimate yet."""

    not_launched = "not_launched"
    not_started = "not_started"
    too_few_shoppers = "too_few_shoppers"  # a group has fewer than two shoppers
    below_minimum = "below_minimum"  # a group is below the minimum audience size


class GroupRead(BaseModel):
    shoppers: ShownCountRead
    units_per_shopper: float
    revenue_per_shopper_minor: int


class EffectRead(BaseModel):
    """Treated (every non-holdout member of the frozen segment, shown the offer or not)
    against the holdout, in receipts of the campaign's SKUs, period and stores."""

    available: bool
    reason_code: EffectReason | None = Field(
        None, description="Why there is no estimate yet, as a stable code the cabinet translates")
    reason: str | None = Field(None, description="Why there is no estimate yet, in English")
    measured_from: datetime | None = None
    measured_to: datetime | None = None
    confidence: float = 0.95
    treated: GroupRead | None = None
    holdout: GroupRead | None = None
    units_per_shopper: IntervalRead | None = Field(
        None, description="Treated minus holdout units per shopper, Welch 95 % interval")
    revenue_per_shopper: MoneyIntervalRead | None = None
    incremental_units: IntervalRead | None = Field(
        None, description="Per-shopper difference × treated shoppers")
    incremental_revenue: MoneyIntervalRead | None = None
    iroas: IntervalRead | None = Field(
        None, description="Incremental revenue per unit of discount spent")


class DayRead(BaseModel):
    date: date
    served: ShownCountRead = Field(description="Shoppers the app showed an offer that day")
    activations: ShownCountRead
    redemptions: ShownCountRead = Field(description="Receipt lines with the discount")
    units: int
    spend_minor: int = Field(description="Captures minus reversals booked that day")


class CampaignReportRead(BaseModel):
    campaign_id: int
    name: str
    status: str
    currency: str
    starts_at: datetime
    ends_at: datetime
    as_of: datetime
    min_audience_size: int
    segment_members: ShownCountRead
    treated: ShownCountRead
    holdout: ShownCountRead
    offered_shoppers: ShownCountRead = Field(description="Treated shoppers with an offer")
    served_shoppers: ShownCountRead = Field(description="Shoppers the app showed an offer")
    activated_shoppers: ShownCountRead
    redeemed_shoppers: ShownCountRead
    redeemed_units: int = Field(description="Units sold with the discount, net of returns")
    captured_minor: int
    reversed_minor: int
    spent_minor: int = Field(description="Discount spent: captures minus reversals")
    budget_minor: int
    budget_left_minor: int
    daily: list[DayRead]
    effect: EffectRead


class SettlementLineRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    organisation_id: int | None
    organisation: str | None
    supplier_id: str | None
    campaign_id: str | None
    sku: str | None
    store_id: str | None
    currency: str
    captured_minor: int
    reversed_minor: int
    net_minor: int


class SettlementRead(BaseModel):
    """One day's captured supplier discounts per organisation, campaign, SKU and store,
    and per organisation and campaign (`totals`), as booked in the ledger."""

    model_config = ConfigDict(from_attributes=True)

    day: date
    timezone: str
    lines: list[SettlementLineRead]
    totals: list[SettlementLineRead]
