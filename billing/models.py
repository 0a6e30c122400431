"""The ledger as tables: accounts and their sub-balances, transactions, postings,
authorisations, top-ups, Stripe events and idempotency keys.

Postings are append-only and each transaction's postings sum to zero. An account's balance
is a cache of its postings kept in `billing_balance` rows updated in the same database
transaction; a hot account (a campaign's budget, its authorised money, the retailer's
compensation) has several such rows ("shards") so that concurrent movements do not queue
on one row. Every shard of an account that may not go negative is itself non-negative
(a CHECK), so their sum never is either.

Organisations and campaigns belong to other domains: here they are plain ids.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, UTCDateTime, enum_type, utcnow

CAMPAIGN_ID = String(64)


class AccountKind(enum.StrEnum):
    available = "available"                   # an organisation's money to spend
    budget = "budget"                         # a campaign's money set aside at launch
    authorized = "authorized"                 # a campaign's money promised to shoppers
    supplier_compensation = "supplier_compensation"  # the retailer's: discounts paid for
    stripe_clearing = "stripe_clearing"       # money arriving by card
    bank_clearing = "bank_clearing"           # money arriving by bank transfer


class TransactionKind(enum.StrEnum):
    top_up = "top_up"
    hold = "hold"
    authorize = "authorize"
    capture = "capture"
    release_authorization = "release_authorization"
    release_budget = "release_budget"
    reversal = "reversal"


class TopUpMethod(enum.StrEnum):
    card = "card"
    bank_transfer = "bank_transfer"


class TopUpStatus(enum.StrEnum):
    pending = "pending"
    succeeded = "succeeded"
    failed = "failed"
    refunded = "refunded"
    refund_failed = "refund_failed"  # Stripe refunded money that had already been spent


class AuthorizationStatus(enum.StrEnum):
    open = "open"
    closed = "closed"


class Account(Base):
    """One account. `key` names it uniquely, e.g. `available:org:12:RUB`."""

    __tablename__ = "billing_account"
    __table_args__ = (
        CheckConstraint("shard_count >= 1", name="has_a_shard"),
        CheckConstraint("low_balance_threshold_minor IS NULL OR low_balance_threshold_minor >= 0",
                        name="threshold_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[AccountKind] = mapped_column(enum_type(AccountKind, prefix="billing_"))
    organisation_id: Mapped[int | None] = mapped_column(Integer, index=True)
    campaign_id: Mapped[str | None] = mapped_column(CAMPAIGN_ID, index=True)
    currency: Mapped[str] = mapped_column(String(3))
    shard_count: Mapped[int] = mapped_column(Integer, default=1)
    may_go_negative: Mapped[bool] = mapped_column(Boolean, default=False)
    # Below this the organisation should be told to top up (the notice comes later).
    low_balance_threshold_minor: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Balance(Base):
    """One sub-balance of an account; the account's balance is the sum of its shards."""

    __tablename__ = "billing_balance"
    __table_args__ = (
        CheckConstraint("may_go_negative OR balance_minor >= 0", name="not_negative"),
    )

    account_id: Mapped[int] = mapped_column(ForeignKey("billing_account.id"), primary_key=True)
    shard: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    balance_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    may_go_negative: Mapped[bool] = mapped_column(Boolean, default=False)


class Transaction(Base):
    """One movement of money: who, when, why, and what it refers to."""

    __tablename__ = "billing_transaction"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[TransactionKind] = mapped_column(
        enum_type(TransactionKind, prefix="billing_"), index=True)
    currency: Mapped[str] = mapped_column(String(3))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor_user_id: Mapped[int | None] = mapped_column(Integer)  # None: the system
    organisation_id: Mapped[int | None] = mapped_column(Integer, index=True)
    campaign_id: Mapped[str | None] = mapped_column(CAMPAIGN_ID, index=True)
    top_up_id: Mapped[int | None] = mapped_column(Integer)
    authorization_id: Mapped[int | None] = mapped_column(Integer, index=True)
    reverses_id: Mapped[int | None] = mapped_column(ForeignKey("billing_transaction.id"),
                                                    index=True)
    memo: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class Posting(Base):
    """One leg of a transaction: a signed amount on one account. Never updated."""

    __tablename__ = "billing_posting"
    __table_args__ = (
        CheckConstraint("amount_minor <> 0", name="not_zero"),
        Index("ix_billing_posting_account_created", "account_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    transaction_id: Mapped[int] = mapped_column(ForeignKey("billing_transaction.id"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("billing_account.id"))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Authorization(Base):
    """Money promised to one shopper's offer: its rest (amount - captured - released) sits
    in one shard of the campaign's `authorized` account, so a capture only needs this row
    and that shard."""

    __tablename__ = "billing_authorization"
    __table_args__ = (
        CheckConstraint("amount_minor > 0", name="amount_positive"),
        CheckConstraint("captured_minor >= 0 AND released_minor >= 0", name="parts_not_negative"),
        CheckConstraint("captured_minor + released_minor <= amount_minor", name="within_amount"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(Integer, index=True)
    campaign_id: Mapped[str] = mapped_column(CAMPAIGN_ID, index=True)
    budget_account_id: Mapped[int] = mapped_column(ForeignKey("billing_account.id"))
    authorized_account_id: Mapped[int] = mapped_column(ForeignKey("billing_account.id"))
    compensation_account_id: Mapped[int] = mapped_column(ForeignKey("billing_account.id"))
    shard: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    captured_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    released_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    status: Mapped[AuthorizationStatus] = mapped_column(
        enum_type(AuthorizationStatus, prefix="billing_"), default=AuthorizationStatus.open)
    reference: Mapped[str | None] = mapped_column(String(200))  # the offer, as its domain names it
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TopUp(Base):
    """Money an organisation paid in, by card (a Stripe PaymentIntent) or bank transfer."""

    __tablename__ = "billing_top_up"
    __table_args__ = (
        CheckConstraint("amount_minor > 0", name="amount_positive"),
        UniqueConstraint("organisation_id", "document_number",
                         name="uq_billing_top_up_document"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(Integer, index=True)
    method: Mapped[TopUpMethod] = mapped_column(enum_type(TopUpMethod, prefix="billing_"))
    status: Mapped[TopUpStatus] = mapped_column(enum_type(TopUpStatus, prefix="billing_"))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    stripe_payment_intent_id: Mapped[str | None] = mapped_column(String(100), unique=True)
    document_number: Mapped[str | None] = mapped_column(String(100))
    document_date: Mapped[date | None] = mapped_column(Date)
    transaction_id: Mapped[int | None] = mapped_column(ForeignKey("billing_transaction.id"))
    refunded_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    failure_reason: Mapped[str | None] = mapped_column(String(500))
    created_by_user_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class StripeEvent(Base):
    """A Stripe webhook event already handled (Stripe delivers at least once)."""

    __tablename__ = "billing_stripe_event"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    type: Mapped[str] = mapped_column(String(100))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class IdempotencyKey(Base):
    """A request already answered: its key, a SHA-256 of the canonical request, and what it
    produced. A retry with the same request gets the same result; a different one is refused."""

    __tablename__ = "billing_idempotency_key"
    __table_args__ = (UniqueConstraint("scope", "key", name="uq_billing_idempotency_key_scope"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(String(50))
    key: Mapped[str] = mapped_column(String(255))
    request_hash: Mapped[str] = mapped_column(String(64))
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
