"""Notification tables: the in-app message of an organisation, its email in the outbox,
and the milestones already announced (so that each is announced once)."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, UTCDateTime, enum_type, utcnow


class NotificationKind(enum.StrEnum):
    campaign_status = "campaign_status"
    low_balance = "low_balance"
    budget_nearly_spent = "budget_nearly_spent"
    budget_exhausted = "budget_exhausted"
    campaign_ended = "campaign_ended"


class OutboxStatus(enum.StrEnum):
    pending = "pending"
    sent = "sent"
    failed = "failed"


class Notification(Base):
    """One message to one organisation, read by any of its users."""

    __tablename__ = "notifications_notification"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("identity_organisation.id"),
                                                 index=True)
    kind: Mapped[str] = mapped_column(String(50))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns_campaign.id"),
                                                    index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    read_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("identity_user.id"))


class OutboxEmail(Base):
    """An email waiting to be sent, written in the transaction of its notification and sent
    by a task after the commit. `sent` is final: a sent row is never sent again."""

    __tablename__ = "notifications_outbox"
    __table_args__ = (CheckConstraint("attempts >= 0", name="attempts_not_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    notification_id: Mapped[int | None] = mapped_column(
        ForeignKey("notifications_notification.id"), index=True)
    organisation_id: Mapped[int] = mapped_column(Integer, index=True)
    recipients: Mapped[list[str]] = mapped_column(JSON)
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[OutboxStatus] = mapped_column(
        enum_type(OutboxStatus, length=10, prefix="notifications_"),
        default=OutboxStatus.pending, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Milestone(Base):
    """A condition already announced, by key (e.g. `campaign:7:budget_80`). A low balance
    is a milestone while it lasts: it is removed when the balance is back above the
    threshold, so the next crossing is announced again."""

    __tablename__ = "notifications_milestone"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    organisation_id: Mapped[int] = mapped_column(Integer, index=True)
    reached_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
