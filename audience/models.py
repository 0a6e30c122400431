"""Audience's tables: feature builds, published score sets, saved segments with their
versions, and materialised member lists.

A feature build's rows live in a Parquet file under `DATA_DIR/features/` (see
`audience.snapshot` for why); the table here is its registry. Segments belong to an
organisation (a supplier's or the retailer's). Changing a segment's rule adds a version,
so a campaign keeps pointing at the rule it launched with; a materialisation freezes the
members of one version against one feature build.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, object_session, relationship

from core.audit import audited
from core.db import Base, UTCDateTime, enum_type, utcnow


class BuildStatus(enum.StrEnum):
    running = "running"
    published = "published"
    failed = "failed"
    retired = "retired"  # published, then superseded; its file is deleted


class BuildMode(enum.StrEnum):
    full = "full"
    incremental = "incremental"


class SegmentStatus(enum.StrEnum):
    active = "active"
    archived = "archived"


class FeatureBuild(Base):
    __tablename__ = "audience_feature_build"
    __table_args__ = (
        CheckConstraint("window_weeks > 0", name="window_positive"),
        CheckConstraint("status != 'published' OR (path IS NOT NULL AND as_of IS NOT NULL)",
                        name="published_has_file"),
        # One build at a time: two would read the same receipts and race to publish.
        Index("uq_audience_feature_build_running", "status", unique=True,
              sqlite_where=text("status = 'running'"),
              postgresql_where=text("status = 'running'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    status: Mapped[BuildStatus] = mapped_column(enum_type(BuildStatus, length=20),
                                                default=BuildStatus.running)
    mode: Mapped[BuildMode] = mapped_column(enum_type(BuildMode, length=20))
    window_weeks: Mapped[int] = mapped_column(Integer)
    # How many weeks of the window the receipts covered (less for a younger history);
    # visits per week divide by it.
    weeks_observed: Mapped[float | None] = mapped_column(Float)
    traits_digest: Mapped[str] = mapped_column(String(64))
    # The end of the window; an incremental build redoes shoppers with receipts after the
    # previous build's `as_of`.
    as_of: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The `as_of` of the last full build this one was derived from: rows an incremental
    # build carries over have windows ending there, so a full build is due after a while.
    full_as_of: Mapped[datetime | None] = mapped_column(UTCDateTime)
    base_build_id: Mapped[int | None] = mapped_column(ForeignKey("audience_feature_build.id"))
    customers: Mapped[int] = mapped_column(Integer, default=0)
    recomputed: Mapped[int] = mapped_column(Integer, default=0)
    lines: Mapped[int] = mapped_column(Integer, default=0)
    path: Mapped[str | None] = mapped_column(String(500))
    # Specs of the columns that depend on the data (category shares, traits).
    fields: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    extract_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    compute_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    seconds: Mapped[float] = mapped_column(Float, default=0.0)
    error: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ScoreSet(Base):
    """Per-shopper scores another domain (pricing_ai) publishes; the newest set of each
    name joins the feature table as fields."""

    __tablename__ = "audience_score_set"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), index=True)
    path: Mapped[str] = mapped_column(String(500))
    rows: Mapped[int] = mapped_column(Integer)
    fields: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    published_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


@audited(organisation="organisation_id")
class Segment(Base):
    __tablename__ = "audience_segment"
    __table_args__ = (CheckConstraint("current_version >= 1", name="version_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("identity_organisation.id"),
                                                 index=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[SegmentStatus] = mapped_column(enum_type(SegmentStatus, length=20),
                                                  default=SegmentStatus.active)
    current_version: Mapped[int] = mapped_column(Integer, default=1)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("identity_user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    versions: Mapped[list[SegmentVersion]] = relationship(
        back_populates="segment", order_by="SegmentVersion.version")


@audited(organisation=lambda version: object_session(version).get(
    Segment, version.segment_id).organisation_id)
class SegmentVersion(Base):
    """One rule a segment had; never changed once written."""

    __tablename__ = "audience_segment_version"
    __table_args__ = (UniqueConstraint("segment_id", "version"),
                      CheckConstraint("version >= 1", name="version_positive"))

    id: Mapped[int] = mapped_column(primary_key=True)
    segment_id: Mapped[int] = mapped_column(ForeignKey("audience_segment.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    rule: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("identity_user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    segment: Mapped[Segment] = relationship(back_populates="versions")


class Materialisation(Base):
    """The members of one segment version against one feature build, frozen (at a
    campaign's launch)."""

    __tablename__ = "audience_materialisation"
    __table_args__ = (CheckConstraint("members >= 0", name="members_not_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    segment_version_id: Mapped[int] = mapped_column(ForeignKey("audience_segment_version.id"),
                                                    index=True)
    feature_build_id: Mapped[int] = mapped_column(ForeignKey("audience_feature_build.id"))
    members: Mapped[int] = mapped_column(Integer)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("identity_user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    version: Mapped[SegmentVersion] = relationship()


class MaterialisedMember(Base):
    __tablename__ = "audience_materialised_member"
    __table_args__ = (PrimaryKeyConstraint("materialisation_id", "customer_id"),)

    materialisation_id: Mapped[int] = mapped_column(
        ForeignKey("audience_materialisation.id", ondelete="CASCADE"))
    customer_id: Mapped[str] = mapped_column(String(64))
