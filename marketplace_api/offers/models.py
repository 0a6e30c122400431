"""Offer tables: what a launched campaign offers each shopper, who was held out, what the
app activated and reported, what the checkout redeemed and returned, and antifraud flags.

The database is the record; API workers serve from an in-memory index fed from here
(`offers.index`). Money is integer minor units beside a currency; the money itself moves
only in `billing` (authorisations per offer and campaign week, captures per receipt line).

For the campaign report and the settlement feed:
- treated shoppers of a campaign = the members of its materialisation (`audience`) minus
  `offers_holdout`; `offers_offer` holds only treated shoppers' offers with a discount
  (an AI campaign may give a treated shopper no offer on a SKU: depth 0 is no row);
- `offers_receipt_line` has one row per line of every receipt the checkout sent, with the
  supplier discount captured (`status` captured), held for review (held) or refused after
  review (released), and the returned units and discount.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, UTCDateTime, enum_type, utcnow

ID = String(64)
# A 64-bit key on PostgreSQL; SQLite autoincrements only an INTEGER PRIMARY KEY.
BigId = BigInteger().with_variant(Integer, "sqlite")


class Offer(Base):
    """One treated shopper's personal price for one SKU of a campaign, fixed at launch."""

    __tablename__ = "offers_offer"
    __table_args__ = (
        UniqueConstraint("campaign_id", "customer_id", "sku"),
        CheckConstraint("discount_bp > 0 AND discount_bp <= 10000", name="discount_in_range"),
        CheckConstraint("personal_price_minor >= 0 AND "
                        "personal_price_minor <= regular_price_minor",
                        name="personal_price_in_range"),
        Index("ix_offers_offer_customer_id", "customer_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns_campaign.id"))
    customer_id: Mapped[str] = mapped_column(ID)
    sku: Mapped[str] = mapped_column(ID)
    discount_bp: Mapped[int] = mapped_column(Integer)
    regular_price_minor: Mapped[int] = mapped_column(BigInteger)
    personal_price_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    # The model's chance that the shopper buys the SKU in a week at this price (ranking);
    # None when no trained model knew the shopper.
    p_buy: Mapped[float | None] = mapped_column(Float)


class Holdout(Base):
    """A segment member held out of a campaign: recorded, never shown its offers."""

    __tablename__ = "offers_holdout"
    __table_args__ = (PrimaryKeyConstraint("campaign_id", "customer_id"),)

    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns_campaign.id"))
    customer_id: Mapped[str] = mapped_column(ID)


class OfferSet(Base):
    """The offers of one campaign were written (once): how many, from which model."""

    __tablename__ = "offers_offer_set"

    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns_campaign.id"),
                                             primary_key=True)
    members: Mapped[int] = mapped_column(Integer)
    treated: Mapped[int] = mapped_column(Integer)
    holdout: Mapped[int] = mapped_column(Integer)
    offers: Mapped[int] = mapped_column(Integer)
    model_version: Mapped[int | None] = mapped_column(Integer)
    seconds: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Activation(Base):
    """The shopper took the offer in the app (or, for automatic campaigns, was first shown
    it). Money is authorised per campaign week in `Allowance`."""

    __tablename__ = "offers_activation"
    __table_args__ = (Index("ix_offers_activation_activated_at", "activated_at"),)

    offer_id: Mapped[int] = mapped_column(ForeignKey("offers_offer.id"), primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns_campaign.id"), index=True)
    customer_id: Mapped[str] = mapped_column(ID, index=True)
    automatic: Mapped[bool] = mapped_column(Boolean, default=False)
    activated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AllowanceStatus(enum.StrEnum):
    open = "open"          # the authorisation may still be captured
    released = "released"  # the unused rest went back to the campaign's budget


class Allowance(Base):
    """One shopper's units on one offer in one campaign week (week 0 starts with the
    campaign), and the billing authorisation that covers them: limit × unit discount."""

    __tablename__ = "offers_allowance"
    __table_args__ = (
        UniqueConstraint("offer_id", "week"),
        CheckConstraint("units_used >= 0 AND units_used <= units_limit", name="within_limit"),
        CheckConstraint("unit_discount_minor > 0", name="unit_discount_positive"),
        Index("ix_offers_allowance_updated_at", "updated_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    offer_id: Mapped[int] = mapped_column(ForeignKey("offers_offer.id"))
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns_campaign.id"), index=True)
    customer_id: Mapped[str] = mapped_column(ID, index=True)
    week: Mapped[int] = mapped_column(Integer)
    units_limit: Mapped[int] = mapped_column(Integer)
    units_used: Mapped[int] = mapped_column(Integer, default=0)
    unit_discount_minor: Mapped[int] = mapped_column(BigInteger)
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    authorization_id: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[AllowanceStatus] = mapped_column(
        enum_type(AllowanceStatus, length=10, prefix="offers_"), default=AllowanceStatus.open)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Receipt(Base):
    """A receipt the checkout sent, with the answer it got: the same id and body get the
    same answer again, another body with the same id a 422."""

    __tablename__ = "offers_receipt"

    receipt_id: Mapped[str] = mapped_column(ID, primary_key=True)
    customer_id: Mapped[str | None] = mapped_column(ID, index=True)
    store_id: Mapped[str] = mapped_column(ID)
    sold_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    discount_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    currency: Mapped[str] = mapped_column(String(3))
    response: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class LineStatus(enum.StrEnum):
    no_discount = "no_discount"
    captured = "captured"    # the supplier paid the discount
    pending = "pending"      # given at the till; its capture waits for the next batch
    held = "held"            # antifraud: waits for the retail marketer's review
    released = "released"    # rejected on review: the supplier pays nothing


class ReceiptLine(Base):
    """One line of a checkout receipt and the supplier discount on it."""

    __tablename__ = "offers_receipt_line"
    __table_args__ = (
        UniqueConstraint("receipt_id", "sku"),
        CheckConstraint("qty > 0", name="qty_positive"),
        CheckConstraint("discounted_units >= 0 AND discounted_units <= qty",
                        name="discounted_within_qty"),
        CheckConstraint("returned_units >= 0 AND returned_units <= qty",
                        name="returned_within_qty"),
        CheckConstraint("discount_minor >= 0 AND returned_discount_minor >= 0 AND "
                        "returned_discount_minor <= discount_minor", name="discount_parts"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    receipt_id: Mapped[str] = mapped_column(ForeignKey("offers_receipt.receipt_id"))
    sku: Mapped[str] = mapped_column(ID)
    qty: Mapped[int] = mapped_column(Integer)
    price_minor: Mapped[int] = mapped_column(BigInteger)
    customer_id: Mapped[str | None] = mapped_column(ID)
    store_id: Mapped[str] = mapped_column(ID)
    sold_at: Mapped[datetime] = mapped_column(UTCDateTime)
    offer_id: Mapped[int | None] = mapped_column(ForeignKey("offers_offer.id"))
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns_campaign.id"),
                                                    index=True)
    allowance_id: Mapped[int | None] = mapped_column(ForeignKey("offers_allowance.id"))
    discount_bp: Mapped[int] = mapped_column(Integer, default=0)
    discounted_units: Mapped[int] = mapped_column(Integer, default=0)
    unit_discount_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    discount_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[LineStatus] = mapped_column(
        enum_type(LineStatus, length=12, prefix="offers_"), default=LineStatus.no_discount)
    capture_transaction_id: Mapped[int | None] = mapped_column(BigInteger)
    flag_id: Mapped[int | None] = mapped_column(ForeignKey("offers_fraud_flag.id"),
                                                index=True)
    returned_units: Mapped[int] = mapped_column(Integer, default=0)
    returned_discount_minor: Mapped[int] = mapped_column(BigInteger, default=0)


class ReceiptReturn(Base):
    """A return against a checkout receipt, once per `return_id`."""

    __tablename__ = "offers_receipt_return"
    __table_args__ = (UniqueConstraint("receipt_id", "return_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    receipt_id: Mapped[str] = mapped_column(ForeignKey("offers_receipt.receipt_id"))
    return_id: Mapped[str] = mapped_column(String(64))
    request_hash: Mapped[str] = mapped_column(String(64))
    reversed_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    response: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class EventKind(enum.StrEnum):
    impression = "impression"
    click = "click"


class Event(Base):
    """What the app reported: an offer shown or tapped. The app's event id makes a batch
    sent twice count once."""

    __tablename__ = "offers_event"
    __table_args__ = (Index("ix_offers_event_campaign_id_kind", "campaign_id", "kind"),)

    event_id: Mapped[str] = mapped_column(ID, primary_key=True)
    kind: Mapped[EventKind] = mapped_column(enum_type(EventKind, length=12, prefix="offers_"))
    offer_id: Mapped[int] = mapped_column(ForeignKey("offers_offer.id"))
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns_campaign.id"))
    customer_id: Mapped[str] = mapped_column(ID)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class FlagStatus(enum.StrEnum):
    open = "open"
    approved = "approved"   # the held discounts were captured
    rejected = "rejected"   # the held discounts were released


class FraudFlag(Base):
    """A receipt whose supplier discounts antifraud held back from capture, and why."""

    __tablename__ = "offers_fraud_flag"

    id: Mapped[int] = mapped_column(primary_key=True)
    receipt_id: Mapped[str] = mapped_column(ForeignKey("offers_receipt.receipt_id"),
                                            unique=True)
    customer_id: Mapped[str] = mapped_column(ID, index=True)
    store_id: Mapped[str] = mapped_column(ID)
    rules: Mapped[list[str]] = mapped_column(JSON)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    held_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[FlagStatus] = mapped_column(
        enum_type(FlagStatus, length=10, prefix="offers_"), default=FlagStatus.open,
        index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("identity_user.id"))
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
