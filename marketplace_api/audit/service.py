"""The audit log as one list: the changes `core.audit` recorded, and every ledger
transaction presented as an entry (entity `ledger_transaction`, action = its kind, after =
amount, currency and the accounts it moved from and to). Money is not copied into the audit
table: the ledger is already an append-only record with actor, time and organisation.

Entry ids are text: `audit-<n>` for a recorded change, `ledger-<n>` for a transaction.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, String, cast, literal, select, union_all
from sqlalchemy.orm import Session, aliased

from billing.models import Account, Posting, Transaction
from core.audit import AuditEntry
from core.errors import NotFound

AUDIT_PREFIX = "audit-"
LEDGER_PREFIX = "ledger-"
LEDGER_ENTITY = "ledger_transaction"
LEDGER_FIELDS = ["amount_minor", "currency", "from_account", "to_account"]


class AuditEntryNotFound(NotFound):
    code = "audit_entry_not_found"


_changes = select(
    (literal(AUDIT_PREFIX) + cast(AuditEntry.id, String)).label("id"),
    AuditEntry.at.label("at"),
    AuditEntry.actor_user_id.label("actor_user_id"),
    AuditEntry.organisation_id.label("organisation_id"),
    AuditEntry.entity_type.label("entity_type"),
    AuditEntry.entity_id.label("entity_id"),
    AuditEntry.action.label("action"),
)
_movements = select(
    (literal(LEDGER_PREFIX) + cast(Transaction.id, String)).label("id"),
    Transaction.created_at.label("at"),
    Transaction.actor_user_id.label("actor_user_id"),
    Transaction.organisation_id.label("organisation_id"),
    literal(LEDGER_ENTITY, String).label("entity_type"),
    cast(Transaction.id, String).label("entity_id"),
    cast(Transaction.kind, String).label("action"),
)
# The whole log as one relation, for sorting, filtering and paging in SQL.
LOG = union_all(_changes, _movements).subquery("audit_log")


def select_log(*, organisation_id: int | None) -> Select:
    """The log a caller may read: every entry (None: retailer staff), or one
    organisation's."""
    statement = select(LOG)
    if organisation_id is not None:
        statement = statement.where(LOG.c.organisation_id == organisation_id)
    return statement


def _account(kind: Any, account_id: int, organisation_id: int | None,
             campaign_id: str | None) -> dict[str, Any]:
    return {"id": account_id, "kind": str(kind), "organisation_id": organisation_id,
            "campaign_id": campaign_id}


def _ledger_details(db: Session, transaction_ids: list[int]) -> dict[int, dict[str, Any]]:
    source, target = aliased(Posting), aliased(Posting)
    source_account, target_account = aliased(Account), aliased(Account)
    rows = db.execute(
        select(Transaction.id, Transaction.currency, Transaction.campaign_id,
               Transaction.top_up_id, Transaction.reverses_id, target.amount_minor,
               source_account.id.label("source_id"), source_account.kind.label("source_kind"),
               source_account.organisation_id.label("source_org"),
               source_account.campaign_id.label("source_campaign"),
               target_account.id.label("target_id"), target_account.kind.label("target_kind"),
               target_account.organisation_id.label("target_org"),
               target_account.campaign_id.label("target_campaign"))
        .join(source, (source.transaction_id == Transaction.id) & (source.amount_minor < 0))
        .join(target, (target.transaction_id == Transaction.id) & (target.amount_minor > 0))
        .join(source_account, source_account.id == source.account_id)
        .join(target_account, target_account.id == target.account_id)
        .where(Transaction.id.in_(transaction_ids)))
    details: dict[int, dict[str, Any]] = {}
    for row in rows:
        after = {"amount_minor": row.amount_minor, "currency": row.currency,
                 "from_account": _account(row.source_kind, row.source_id, row.source_org,
                                          row.source_campaign),
                 "to_account": _account(row.target_kind, row.target_id, row.target_org,
                                        row.target_campaign)}
        for key in ("campaign_id", "top_up_id", "reverses_id"):
            if getattr(row, key) is not None:
                after[key] = getattr(row, key)
        details[row.id] = after
    return details


def entries(*, db: Session, rows: list[Any]) -> list[dict[str, Any]]:
    """Rows of `select_log` completed with their before/after and changed fields."""
    audit_ids = [int(r["id"][len(AUDIT_PREFIX):]) for r in rows
                 if r["id"].startswith(AUDIT_PREFIX)]
    ledger_ids = [int(r["id"][len(LEDGER_PREFIX):]) for r in rows
                  if r["id"].startswith(LEDGER_PREFIX)]
    changes = {entry.id: entry for entry in
               db.scalars(select(AuditEntry).where(AuditEntry.id.in_(audit_ids)))} \
        if audit_ids else {}
    movements = _ledger_details(db, ledger_ids) if ledger_ids else {}
    out = []
    for row in rows:
        entry = dict(row)
        if entry["id"].startswith(AUDIT_PREFIX):
            change = changes[int(entry["id"][len(AUDIT_PREFIX):])]
            entry.update(before=change.before, after=change.after,
                         changed_fields=list(change.changed_fields or []))
        else:
            after = movements.get(int(entry["id"][len(LEDGER_PREFIX):]))
            entry.update(before=None, after=after,
                         changed_fields=LEDGER_FIELDS if after else [])
        out.append(entry)
    return out


def get_entry(*, db: Session, entry_id: str, organisation_id: int | None) -> dict[str, Any]:
    """One entry, or "not found" — also when it is another organisation's."""
    row = db.execute(select_log(organisation_id=organisation_id)
                     .where(LOG.c.id == entry_id)).mappings().one_or_none()
    if row is None:
        raise AuditEntryNotFound(f"No audit entry {entry_id}")
    return entries(db=db, rows=[row])[0]
