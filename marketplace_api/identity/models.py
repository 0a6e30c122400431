"""Organisations, users and API keys."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.audit import audited
from core.db import Base, UTCDateTime, enum_type, utcnow


class OrganisationKind(enum.StrEnum):
    retailer = "retailer"
    supplier = "supplier"


class Role(enum.StrEnum):
    supplier_manager = "supplier_manager"
    retail_marketer = "retail_marketer"
    finance_officer = "finance_officer"
    admin = "admin"


class ApiKeyKind(enum.StrEnum):
    app = "app"
    pos = "pos"


@audited(organisation="id")
class Organisation(Base):
    __tablename__ = "identity_organisation"
    __table_args__ = (
        CheckConstraint("(kind = 'supplier') = (supplier_id IS NOT NULL)",
                        name="supplier_org_has_supplier"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[OrganisationKind] = mapped_column(enum_type(OrganisationKind))
    supplier_id: Mapped[str | None] = mapped_column(
        ForeignKey("retail_supplier.supplier_id"), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    users: Mapped[list[User]] = relationship(back_populates="organisation")


@audited(organisation="organisation_id", exclude=("password_hash",))
class User(Base):
    __tablename__ = "identity_user"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("identity_organisation.id"),
                                                 index=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    full_name: Mapped[str] = mapped_column(String(200), default="")
    role: Mapped[Role] = mapped_column(enum_type(Role))
    password_hash: Mapped[str] = mapped_column(String(200))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    organisation: Mapped[Organisation] = relationship(back_populates="users")


@audited(organisation="organisation_id", exclude=("key_hash",))
class ApiKey(Base):
    """A key for the mobile app or the checkout. Only a SHA-256 of the secret is kept: the
    secret is random and long, so a slow password hash would only slow every request."""

    __tablename__ = "identity_api_key"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("identity_organisation.id"),
                                                 index=True)
    kind: Mapped[ApiKeyKind] = mapped_column(enum_type(ApiKeyKind))
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
