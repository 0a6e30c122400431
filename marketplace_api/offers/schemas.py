"""Offers' request and response shapes for the app, the checkout and the antifraud review.
Money is integer minor units with the currency beside it."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from core.money import MAX_MINOR
from marketplace_api.offers.models import EventKind, FlagStatus

RetailId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^\S(.*\S)?$")]
Units = Annotated[int, Field(ge=1, le=10_000)]

LABELS = {"ru": "Скидка от поставщика", "en": "Supplier discount"}


class OfferRead(BaseModel):
    offer_id: int
    campaign_id: int
    sku: str
    name: str
    brand: str | None
    supplier: str | None
    regular_price_minor: int
    personal_price_minor: int
    currency: str
    discount_bp: int
    discount_percent: float = Field(description="discount_bp / 100, for display")
    label: str
    valid_until: datetime
    limit_units_per_week: int
    units_left_this_week: int
    activated: bool


class ActivationRead(BaseModel):
    offer_id: int
    campaign_id: int
    activated: bool = True
    authorized_minor: int = Field(description="the most this shopper can save this week")
    currency: str
    units_left_this_week: int
    valid_until: datetime


class EventIn(BaseModel):
    event_id: RetailId
    kind: EventKind
    offer_id: int = Field(ge=1, le=2**62)
    customer_id: RetailId
    occurred_at: AwareDatetime


class EventBatch(BaseModel):
    events: list[EventIn] = Field(min_length=1, max_length=1000)


class EventsRead(BaseModel):
    accepted: int
    duplicates: int
    rejected: dict[str, str] = Field(description="event id → why it was not kept")


class ReceiptLineIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sku: RetailId
    qty: Units
    price_minor: int = Field(ge=0, le=MAX_MINOR // 10_000, description="shelf price of one unit")


class ReceiptIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    receipt_id: RetailId
    customer_id: RetailId | None = Field(default=None, description="empty: anonymous")
    store_id: RetailId
    ts: AwareDatetime
    lines: list[ReceiptLineIn] = Field(min_length=1, max_length=500)

    @model_validator(mode="after")
    def _one_line_per_sku(self) -> ReceiptIn:
        seen: set[str] = set()
        for line in self.lines:
            if line.sku in seen:
                raise ValueError(f"SKU {line.sku} appears twice: send one line with the total qty")
            seen.add(line.sku)
        return self


class ReceiptLineRead(BaseModel):
    sku: str
    qty: int
    price_minor: int
    discount_bp: int
    discounted_units: int
    unit_discount_minor: int
    discount_minor: int = Field(description="supplier discount to apply on this line")
    personal_price_minor: int = Field(description="unit price after the discount")
    paid_minor: int
    campaign_id: int | None
    offer_id: int | None
    held: bool = Field(description="given, but its capture waits for antifraud review")


class ReceiptRead(BaseModel):
    receipt_id: str
    customer_id: str | None
    store_id: str
    currency: str
    label_ru: str
    label_en: str
    discount_minor: int
    held_for_review: bool
    lines: list[ReceiptLineRead]


class ReturnLineIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sku: RetailId
    qty: Units


class ReturnIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    return_id: RetailId | None = Field(
        default=None, description="the till's id of this return; by default its lines")
    lines: list[ReturnLineIn] = Field(min_length=1, max_length=500)

    @model_validator(mode="after")
    def _one_line_per_sku(self) -> ReturnIn:
        if len({line.sku for line in self.lines}) != len(self.lines):
            raise ValueError("a SKU appears twice: send one line with the total qty")
        return self


class ReturnLineRead(BaseModel):
    sku: str
    qty: int
    reversed_minor: int


class ReturnRead(BaseModel):
    receipt_id: str
    return_id: str
    reversed_minor: int
    currency: str
    lines: list[ReturnLineRead]


class FraudFlagRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    receipt_id: str
    customer_id: str
    store_id: str
    rules: list[str]
    details: dict
    held_minor: int
    currency: str
    status: FlagStatus
    created_at: datetime
    reviewed_by_id: int | None
    reviewed_at: datetime | None


Lang = Literal["ru", "en"]
