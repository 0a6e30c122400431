"""Audit entries as the API shows them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel


class AuditEntryRead(BaseModel):
    """One change: `before`/`after` hold the changed fields only (None for a create's
    before and a delete's after); a money movement is entity `ledger_transaction` with the
    transaction's kind as its action."""

    id: str
    at: datetime
    actor_user_id: int | None
    organisation_id: int | None
    entity_type: str
    entity_id: str
    action: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    changed_fields: list[str]
