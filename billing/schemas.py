"""Billing's request and response shapes. Money is integer minor units plus a currency."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from billing.models import AccountKind, TopUpMethod, TopUpStatus, TransactionKind
from core.money import MAX_MINOR


class _Read(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class AccountRead(_Read):
    id: int
    kind: AccountKind
    organisation_id: int | None
    campaign_id: str | None
    currency: str
    balance_minor: int
    low_balance_threshold_minor: int | None
    created_at: datetime


class AccountUpdate(BaseModel):
    low_balance_threshold_minor: int | None = Field(default=None, ge=0, le=MAX_MINOR)


class PostingRead(_Read):
    id: int
    transaction_id: int
    account_id: int
    account_kind: AccountKind
    organisation_id: int | None
    campaign_id: str | None
    kind: TransactionKind
    amount_minor: int
    currency: str
    created_at: datetime
    actor_user_id: int | None
    top_up_id: int | None
    authorization_id: int | None
    reverses_id: int | None
    memo: dict[str, Any]


class CardTopUpCreate(BaseModel):
    """A card top-up. A supplier's manager tops up its own organisation (the field may be
    left out); a finance officer names the organisation."""

    organisation_id: int | None = None
    amount_minor: int = Field(gt=0, le=MAX_MINOR, strict=True)
    currency: str = "RUB"


class BankTopUpCreate(BaseModel):
    organisation_id: int
    amount_minor: int = Field(gt=0, le=MAX_MINOR, strict=True)
    currency: str = "RUB"
    document_number: str = Field(min_length=1, max_length=100)
    document_date: date


class TopUpRead(_Read):
    id: int
    organisation_id: int
    method: TopUpMethod
    status: TopUpStatus
    amount_minor: int
    currency: str
    stripe_payment_intent_id: str | None
    document_number: str | None
    document_date: date | None
    transaction_id: int | None
    refunded_minor: int
    failure_reason: str | None
    created_by_user_id: int | None
    created_at: datetime


class CardTopUpCreated(TopUpRead):
    client_secret: str


class PaymentConfigRead(BaseModel):
    """What the web cabinet needs to offer card top-ups: with `card_top_ups` false it shows
    the bank-transfer instructions only."""

    card_top_ups: bool
    stripe_publishable_key: str | None
    stripe_js_url: str | None
