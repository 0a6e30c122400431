"""The retailer's world as tables: stores, suppliers, products, customers, receipt lines.

Ids are the retailer's own (strings), so re-importing a file upserts by them. Money columns
are integer minor units (kopecks) beside a currency code.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, UTCDateTime

ID = String(64)


class Store(Base):
    __tablename__ = "retail_store"

    store_id: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    region: Mapped[str | None] = mapped_column(String(100))
    city: Mapped[str | None] = mapped_column(String(100))
    format: Mapped[str | None] = mapped_column(String(50))


class Supplier(Base):
    __tablename__ = "retail_supplier"

    supplier_id: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    inn: Mapped[str | None] = mapped_column(String(12))


class Product(Base):
    __tablename__ = "retail_product"
    __table_args__ = (
        CheckConstraint("regular_price_minor >= 0", name="regular_price_not_negative"),
        CheckConstraint("cost_price_minor IS NULL OR cost_price_minor >= 0",
                        name="cost_price_not_negative"),
    )

    sku: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    supplier_id: Mapped[str] = mapped_column(ForeignKey("retail_supplier.supplier_id"), index=True)
    category: Mapped[str] = mapped_column(String(100), index=True)
    subcategory: Mapped[str | None] = mapped_column(String(100))
    brand: Mapped[str | None] = mapped_column(String(100))
    regular_price_minor: Mapped[int] = mapped_column(BigInteger)
    cost_price_minor: Mapped[int | None] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3), default="RUB")
    pack_size: Mapped[str | None] = mapped_column(String(50))


class Customer(Base):
    __tablename__ = "retail_customer"

    customer_id: Mapped[str] = mapped_column(ID, primary_key=True)
    birth_year: Mapped[int | None] = mapped_column(Integer)
    gender: Mapped[str | None] = mapped_column(String(10))
    region: Mapped[str | None] = mapped_column(String(100))
    loyalty_tier: Mapped[str | None] = mapped_column(String(30))
    has_app: Mapped[bool | None] = mapped_column(Boolean)
    registered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Antifraud (offers): loyalty accounts sharing a phone (a hash, never the number) or a
    # device are one person collecting several shoppers' personal discounts.
    phone_hash: Mapped[str | None] = mapped_column(String(128), index=True)
    device_id: Mapped[str | None] = mapped_column(String(128), index=True)


class ReceiptLine(Base):
    """One line of a till receipt. The key leads with the sale time so that PostgreSQL can
    partition the table by month without changing it. There are no foreign keys here on
    purpose: the importer checks stores, products and customers in bulk, which is far
    faster than a per-row constraint on the largest table."""

    __tablename__ = "retail_receipt_line"
    __table_args__ = (
        PrimaryKeyConstraint("sold_at", "receipt_id", "sku"),
        CheckConstraint("discount_amount_minor >= 0", name="discount_not_negative"),
        Index("ix_retail_receipt_line_customer_id_sold_at", "customer_id", "sold_at"),
    )

    sold_at: Mapped[datetime] = mapped_column(UTCDateTime)
    receipt_id: Mapped[str] = mapped_column(ID)
    sku: Mapped[str] = mapped_column(ID)
    customer_id: Mapped[str | None] = mapped_column(ID)
    store_id: Mapped[str] = mapped_column(ID)
    qty: Mapped[float] = mapped_column(Float)
    paid_amount_minor: Mapped[int] = mapped_column(BigInteger)
    discount_amount_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    promo_flag: Mapped[bool] = mapped_column(Boolean, default=False)
    currency: Mapped[str] = mapped_column(String(3), default="RUB")
