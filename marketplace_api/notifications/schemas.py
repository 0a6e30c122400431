"""Notifications as the API shows them."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict


class NotificationRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    organisation_id: int
    kind: str
    subject: str
    body: str
    campaign_id: int | None
    created_at: datetime
    read_at: datetime | None
    read_by_user_id: int | None


class UnreadCount(BaseModel):
    unread: int
