"""Campaign tables: the campaign, its status history, and uploaded campaign files.

A campaign belongs to one organisation (a supplier's, or the retailer's for a
retailer-funded campaign). Its segment is pinned to one version, and at launch the members
of that version are frozen in an `audience` materialisation whose id the campaign keeps
(the offers are built from it). Money lives in `billing` under the campaign id as a string.
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
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.audit import audited
from core.db import Base, UTCDateTime, enum_type, utcnow


class CampaignStatus(enum.StrEnum):
    draft = "draft"
    pending_approval = "pending_approval"
    approved = "approved"
    rejected = "rejected"
    scheduled = "scheduled"
    active = "active"
    paused = "paused"
    ended = "ended"


class DepthMode(enum.StrEnum):
    fixed = "fixed"
    ai = "ai"


class Goal(enum.StrEnum):
    units = "units"
    revenue = "revenue"


class ActivationMode(enum.StrEnum):
    explicit = "explicit"
    automatic = "automatic"


# The clients' idempotency keys are theirs, not part of the campaign's story.
@audited(organisation="organisation_id", exclude=("launch_key", "stop_key"))
class Campaign(Base):
    __tablename__ = "campaigns_campaign"
    __table_args__ = (
        CheckConstraint("budget_minor > 0", name="budget_positive"),
        CheckConstraint("holdout_bp >= 0 AND holdout_bp <= 5000", name="holdout_in_range"),
        CheckConstraint("ends_at > starts_at", name="period_ordered"),
        CheckConstraint("limit_units_per_week >= 1", name="limit_positive"),
        CheckConstraint(
            "(depth_mode = 'fixed' AND discount_bp IS NOT NULL AND discount_bp > 0"
            " AND discount_bp <= 10000)"
            " OR (depth_mode = 'ai' AND min_discount_bp IS NOT NULL"
            " AND max_discount_bp IS NOT NULL AND goal IS NOT NULL"
            " AND min_discount_bp >= 0 AND min_discount_bp <= max_discount_bp"
            " AND max_discount_bp <= 10000)",
            name="depth_complete"),
        CheckConstraint("segment_version >= 1", name="segment_version_positive"),
        UniqueConstraint("organisation_id", "source_row_sha256"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("identity_organisation.id"),
                                                 index=True)
    name: Mapped[str] = mapped_column(String(200))
    status: Mapped[CampaignStatus] = mapped_column(
        enum_type(CampaignStatus, length=20, prefix="campaigns_"),
        default=CampaignStatus.draft, index=True)
    segment_id: Mapped[int] = mapped_column(ForeignKey("audience_segment.id"), index=True)
    segment_version: Mapped[int] = mapped_column(Integer)
    skus: Mapped[list[str]] = mapped_column(JSON)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # None = every store (region); otherwise the campaign runs only there.
    store_ids: Mapped[list[str] | None] = mapped_column(JSON)
    regions: Mapped[list[str] | None] = mapped_column(JSON)
    depth_mode: Mapped[DepthMode] = mapped_column(
        enum_type(DepthMode, length=10, prefix="campaigns_"))
    discount_bp: Mapped[int | None] = mapped_column(Integer)
    min_discount_bp: Mapped[int | None] = mapped_column(Integer)
    max_discount_bp: Mapped[int | None] = mapped_column(Integer)
    goal: Mapped[Goal | None] = mapped_column(enum_type(Goal, length=10, prefix="campaigns_"))
    limit_units_per_week: Mapped[int] = mapped_column(Integer)
    budget_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    holdout_bp: Mapped[int] = mapped_column(Integer, default=1000)
    activation_mode: Mapped[ActivationMode] = mapped_column(
        enum_type(ActivationMode, length=10, prefix="campaigns_"),
        default=ActivationMode.explicit)
    stopped_early: Mapped[bool] = mapped_column(Boolean, default=False)
    rejection_reason: Mapped[str | None] = mapped_column(Text)
    # Set at launch: the frozen audience and the hold that set the budget aside.
    materialisation_id: Mapped[int | None] = mapped_column(
        ForeignKey("audience_materialisation.id"))
    hold_transaction_id: Mapped[int | None] = mapped_column(BigInteger)
    # The client's Idempotency-Key of the launch and stop that moved money, so that a
    # repeated request answers with the campaign instead of a state conflict.
    launch_key: Mapped[str | None] = mapped_column(String(255))
    stop_key: Mapped[str | None] = mapped_column(String(255))
    # A campaign created from a file row: the row's hash, so that a corrected file uploaded
    # again does not create the rows that were already fine a second time.
    source_row_sha256: Mapped[str | None] = mapped_column(String(64))
    launched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("identity_user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    history: Mapped[list[StatusChange]] = relationship(
        back_populates="campaign", order_by="StatusChange.id")


class StatusChange(Base):
    """One step of a campaign's lifecycle: who moved it, when, from where to where, why."""

    __tablename__ = "campaigns_status_change"

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns_campaign.id"), index=True)
    from_status: Mapped[CampaignStatus | None] = mapped_column(
        enum_type(CampaignStatus, length=20, prefix="campaigns_"))
    to_status: Mapped[CampaignStatus] = mapped_column(
        enum_type(CampaignStatus, length=20, prefix="campaigns_"))
    reason: Mapped[str | None] = mapped_column(Text)
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("identity_user.id"))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    campaign: Mapped[Campaign] = relationship(back_populates="history")


class Upload(Base):
    """A campaign file that created drafts: the same file (by SHA-256) from the same
    organisation gives the same campaigns again instead of duplicates."""

    __tablename__ = "campaigns_upload"
    __table_args__ = (UniqueConstraint("organisation_id", "sha256"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("identity_organisation.id"))
    sha256: Mapped[str] = mapped_column(String(64))
    filename: Mapped[str] = mapped_column(String(255), default="")
    campaign_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    report: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("identity_user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
