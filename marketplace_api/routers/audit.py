"""HTTP routes of the audit log: who changed what, when, from what to what, and every money
movement. Retailer staff read every organisation's entries; a supplier's user only its own
organisation's, and another organisation's entry answers 404.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Response
from sqlalchemy import ColumnElement

from core.errors import Invalid
from core.settings import get_settings
from marketplace_api.audit import service as audit_log
from marketplace_api.audit.schemas import AuditEntryRead
from marketplace_api.deps import CurrentScope, DbSession, get_current_user, require_roles
from marketplace_api.identity.models import Role
from marketplace_api.listing import ListQuery, ListSpec, equals, fetch_page

EVERY_ROLE = tuple(Role)
router = APIRouter(tags=["audit"], dependencies=[Depends(get_current_user)])
LOG = audit_log.LOG


def _moment(column: ColumnElement, *, until: bool):
    """`at_gte` / `at_lte`: an ISO timestamp, or a date (the retailer's local day, whole)."""

    def build(name: str, value: Any) -> ColumnElement[bool]:
        problem = Invalid(f"filter.{name}: expected an ISO date or timestamp",
                          code="invalid_list_params", errors={f"filter.{name}": "not a date"})
        if not isinstance(value, str):
            raise problem
        try:
            if len(value) == 10:
                day = datetime.combine(date.fromisoformat(value), time.min,
                                       tzinfo=ZoneInfo(get_settings().retail_timezone))
                return column < day + timedelta(days=1) if until else column >= day
            moment = datetime.fromisoformat(value)
        except ValueError as exc:
            raise problem from exc
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=ZoneInfo("UTC"))
        return column <= moment if until else column >= moment

    return build


AUDIT = ListSpec(
    resource="audit", key=(LOG.c.at.desc(), LOG.c.id.desc()),
    sortable={"at": LOG.c.at, "entity_type": LOG.c.entity_type, "action": LOG.c.action,
              "actor_user_id": LOG.c.actor_user_id, "organisation_id": LOG.c.organisation_id},
    filters={"id": equals(LOG.c.id), "entity_type": equals(LOG.c.entity_type),
             "entity_id": equals(LOG.c.entity_id), "action": equals(LOG.c.action),
             "actor_user_id": equals(LOG.c.actor_user_id),
             "organisation_id": equals(LOG.c.organisation_id),
             "at_gte": _moment(LOG.c.at, until=False), "at_lte": _moment(LOG.c.at, until=True)},
)


@router.get("/audit", response_model=list[AuditEntryRead],
            dependencies=[Depends(require_roles(*EVERY_ROLE))])
def list_audit(db: DbSession, scope: CurrentScope, params: ListQuery,
               response: Response) -> list[dict[str, Any]]:
    """Newest first unless sorted otherwise. Filters: entity_type, entity_id, action,
    actor_user_id, organisation_id, at_gte, at_lte, id."""
    rows = fetch_page(db=db, statement=audit_log.select_log(organisation_id=scope.organisation_id),
                      params=params, spec=AUDIT, response=response)
    return audit_log.entries(db=db, rows=rows)


@router.get("/audit/{entry_id}", response_model=AuditEntryRead,
            dependencies=[Depends(require_roles(*EVERY_ROLE))])
def get_audit_entry(db: DbSession, scope: CurrentScope, entry_id: str) -> dict[str, Any]:
    return audit_log.get_entry(db=db, entry_id=entry_id, organisation_id=scope.organisation_id)
