"""pricing_ai's tables: the registry of trained model artifacts and the retailer's price
guardrails."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Enum,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from core.audit import audited
from core.db import Base, UTCDateTime, utcnow


class GuardrailScope(enum.StrEnum):
    sku = "sku"
    category = "category"
    everything = "global"


class ModelArtifact(Base):
    """One trained set of pricing models on disk (`path`): what it saw and how it scored.
    Serving loads the active version."""

    __tablename__ = "pricing_ai_model"
    __table_args__ = (UniqueConstraint("name", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    path: Mapped[str] = mapped_column(String(500))
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    data_window: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    features: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    is_active: Mapped[bool] = mapped_column(Boolean, default=False)
    seconds: Mapped[float | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


@audited  # the retailer's own rules: entries without an organisation, for retailer staff
class Guardrail(Base):
    """A retail marketer's limit: per SKU or category a minimum shelf price and/or a
    maximum discount; the one global row holds the minimum margin over cost."""

    __tablename__ = "pricing_ai_guardrail"
    __table_args__ = (
        UniqueConstraint("scope", "target"),
        CheckConstraint("max_discount_bp IS NULL OR (max_discount_bp >= 0 AND "
                        "max_discount_bp <= 10000)", name="max_discount_in_range"),
        CheckConstraint("min_price_minor IS NULL OR min_price_minor >= 0",
                        name="min_price_not_negative"),
        CheckConstraint("min_margin_bp IS NULL OR (min_margin_bp >= 0 AND "
                        "min_margin_bp <= 100000)", name="min_margin_in_range"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scope: Mapped[GuardrailScope] = mapped_column(
        Enum(GuardrailScope, native_enum=False, length=16,
             values_callable=lambda kinds: [kind.value for kind in kinds]))
    target: Mapped[str] = mapped_column(String(100))  # the SKU, the category, or "*"
    min_price_minor: Mapped[int | None] = mapped_column(BigInteger)
    max_discount_bp: Mapped[int | None] = mapped_column(Integer)
    min_margin_bp: Mapped[int | None] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3), default="RUB")
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("identity_user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
