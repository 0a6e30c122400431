"""The audit trail mechanism: who changed which row, when, and from what to what.

Decorate a model with `@audited` and every insert, update and delete of it that goes
through an ORM session writes a `core_audit_entry` row in the same database transaction
(so a rolled-back change leaves no entry):

    @audited(organisation="organisation_id", exclude=("password_hash",))
    class User(Base): ...

`organisation` says whose entry it is (the owner organisation of the changed row): an
attribute name or a function of the object; `exclude` names fields never recorded (secrets,
hashes); `entity` overrides the entity type (default: the class name in snake_case).

The actor is the user acting now: `set_actor(user_id=..., organisation_id=...)` or the
`acting_as(...)` context manager set it in a context variable; `bind_actor(session, ...)`
puts it on one session, which is what a web request does (FastAPI runs sync dependencies
and the route in different threads, so a context variable set by a dependency does not
reach the flush). No actor means the system (Celery tasks, the command line).

Core statements (`session.execute(update(...))`) bypass the ORM and are not seen; services
of audited models change rows through the ORM or call `record(...)` themselves.
This module is mechanism only: which models are audited is each domain's decision.
"""

from __future__ import annotations

import base64
import enum
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy import JSON, Index, Integer, String, event, insert, inspect
from sqlalchemy.orm import Mapped, Session, mapped_column
from sqlalchemy.orm.attributes import NO_VALUE

from core.db import Base, UTCDateTime, utcnow


class AuditAction(enum.StrEnum):
    create = "create"
    update = "update"
    delete = "delete"


class AuditEntry(Base):
    """One change of one audited row. `before`/`after` hold only the changed fields."""

    __tablename__ = "core_audit_entry"
    __table_args__ = (Index("ix_core_audit_entry_entity", "entity_type", "entity_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor_user_id: Mapped[int | None] = mapped_column(Integer, index=True)  # None: the system
    actor_organisation_id: Mapped[int | None] = mapped_column(Integer)
    organisation_id: Mapped[int | None] = mapped_column(Integer, index=True)  # whose entry
    entity_type: Mapped[str] = mapped_column(String(64))
    entity_id: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(32))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    changed_fields: Mapped[list[str]] = mapped_column(JSON, default=list)


# --- the actor -----------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Actor:
    user_id: int | None
    organisation_id: int | None


_ACTOR_KEY = "audit_actor"
_actor: ContextVar[Actor | None] = ContextVar("audit_actor", default=None)


def set_actor(*, user_id: int | None, organisation_id: int | None) -> Token:
    """Make this user the actor of the current context; returns a token for `reset_actor`."""
    return _actor.set(Actor(user_id=user_id, organisation_id=organisation_id))


def reset_actor(token: Token) -> None:
    _actor.reset(token)


@contextmanager
def acting_as(*, user_id: int | None, organisation_id: int | None) -> Iterator[Actor]:
    token = set_actor(user_id=user_id, organisation_id=organisation_id)
    try:
        yield _actor.get()  # type: ignore[misc]
    finally:
        reset_actor(token)


def bind_actor(session: Session, *, user_id: int | None,
               organisation_id: int | None) -> None:
    """Make this user the actor of every change flushed by `session` (a web request)."""
    session.info[_ACTOR_KEY] = Actor(user_id=user_id, organisation_id=organisation_id)


def current_actor(session: Session | None = None) -> Actor | None:
    """The session's actor if one is bound, else the context's; None is the system."""
    if session is not None:
        bound = session.info.get(_ACTOR_KEY)
        if bound is not None:
            return bound
    return _actor.get()


# --- which models are audited --------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class _AuditSpec:
    entity: str
    organisation: Callable[[Any], int | None] | None
    exclude: frozenset[str]


_SPECS: dict[type, _AuditSpec] = {}
ModelT = TypeVar("ModelT", bound=type)


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def audited(cls: ModelT | None = None, *, organisation: str | Callable[[Any], int | None]
            | None = None, exclude: tuple[str, ...] | list[str] = (),
            entity: str | None = None) -> Any:
    """Class decorator: record every insert/update/delete of this model. Usable bare
    (`@audited`) or with options (`@audited(organisation="organisation_id")`)."""

    def decorate(model: ModelT) -> ModelT:
        getter: Callable[[Any], int | None] | None
        if isinstance(organisation, str):
            attribute = organisation

            def getter(obj: Any) -> int | None:
                return getattr(obj, attribute)
        else:
            getter = organisation
        _SPECS[model] = _AuditSpec(entity=entity or _snake(model.__name__), organisation=getter,
                                   exclude=frozenset(exclude))
        return model

    if cls is not None:
        return decorate(cls)
    return decorate


def audited_entity(model: type) -> str | None:
    """The entity type recorded for a model, or None when it is not audited."""
    spec = _spec_for(model)
    return spec.entity if spec else None


def _spec_for(model: type) -> _AuditSpec | None:
    for cls in model.__mro__:
        if cls in _SPECS:
            return _SPECS[cls]
    return None


# --- values as JSON ------------------------------------------------------------------------

def to_json(value: Any) -> Any:
    """A column value as JSON: enums by value, times in ISO 8601, Decimal as text."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value
    if isinstance(value, enum.Enum):
        return to_json(value.value)
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [to_json(v) for v in value]
    return str(value)


# --- recording -----------------------------------------------------------------------------

def record(session: Session, *, entity_type: str, entity_id: Any, action: str,
           organisation_id: int | None, before: dict[str, Any] | None = None,
           after: dict[str, Any] | None = None) -> None:
    """Write one entry explicitly (for a change the ORM hooks cannot see)."""
    changed = sorted(set(before or {}) | set(after or {}))
    _insert(session, [_row(session, entity_type=entity_type, entity_id=entity_id,
                           action=action, organisation_id=organisation_id,
                           before=before, after=after, changed=changed)])


def _row(session: Session, *, entity_type: str, entity_id: Any, action: str,
         organisation_id: int | None, before: dict[str, Any] | None,
         after: dict[str, Any] | None, changed: list[str]) -> dict[str, Any]:
    actor = current_actor(session)
    return {
        "at": utcnow(),
        "actor_user_id": actor.user_id if actor else None,
        "actor_organisation_id": actor.organisation_id if actor else None,
        "organisation_id": organisation_id,
        "entity_type": entity_type,
        "entity_id": str(entity_id),
        "action": str(action),
        "before": to_json(before) if before is not None else None,
        "after": to_json(after) if after is not None else None,
        "changed_fields": changed,
    }


def _insert(session: Session, rows: list[dict[str, Any]]) -> list[int]:
    if not rows:
        return []
    table = AuditEntry.__table__
    result = session.connection().execute(
        insert(table).returning(table.c.id, sort_by_parameter_order=True), rows)
    return list(result.scalars())


# Session.info key: this transaction's entries by (entity type, entity id), so that one
# change split over several flushes (a service that queries midway) stays one entry.
_WRITTEN_KEY = "audit_written"


def _merge(earlier: dict[str, Any], later: dict[str, Any]) -> dict[str, Any] | None:
    """`later` (an update) folded into `earlier` (a create or an update of the same row in
    the same transaction); None when they cannot be one entry."""
    if later["action"] != AuditAction.update or earlier["action"] == AuditAction.delete:
        return None
    after = {**(earlier["after"] or {}), **later["after"]}
    if earlier["action"] == AuditAction.create:
        return {**earlier, "after": after, "changed_fields": sorted(after)}
    before = {**later["before"], **earlier["before"]}
    changed = sorted(key for key in after if before.get(key) != after[key])
    return {**earlier, "before": {key: before.get(key) for key in changed},
            "after": {key: after[key] for key in changed}, "changed_fields": changed}


def _write(session: Session, rows: list[dict[str, Any]]) -> None:
    written: dict[tuple[str, str], tuple[int, dict[str, Any]]] = \
        session.info.setdefault(_WRITTEN_KEY, {})
    table = AuditEntry.__table__
    fresh: list[dict[str, Any]] = []
    for row in rows:
        key = (row["entity_type"], row["entity_id"])
        merged = _merge(written[key][1], row) if key in written else None
        if merged is None:
            fresh.append(row)
            continue
        entry_id = written[key][0]
        session.connection().execute(
            table.update().where(table.c.id == entry_id).values(
                before=merged["before"], after=merged["after"],
                changed_fields=merged["changed_fields"]))
        written[key] = (entry_id, merged)
    for entry_id, row in zip(_insert(session, fresh), fresh, strict=True):
        written[(row["entity_type"], row["entity_id"])] = (entry_id, row)


def _entity_id(obj: Any) -> str:
    # New rows have their key by now but not yet their identity in the session.
    key = inspect(obj).mapper.primary_key_from_instance(obj)
    return ",".join(str(part) for part in key)


def _organisation_of(spec: _AuditSpec, obj: Any) -> int | None:
    if spec.organisation is None:
        return None
    value = spec.organisation(obj)
    return int(value) if value is not None else None


def _columns(obj: Any, spec: _AuditSpec) -> list[str]:
    return [attr.key for attr in inspect(type(obj)).column_attrs
            if attr.key not in spec.exclude]


def _loaded(obj: Any, key: str) -> Any:
    value = inspect(obj).attrs[key].loaded_value
    return None if value is NO_VALUE else value


def _created(session: Session, obj: Any, spec: _AuditSpec) -> dict[str, Any] | None:
    after = {key: _loaded(obj, key) for key in _columns(obj, spec)}
    after = {key: value for key, value in after.items() if value is not None}
    return _row(session, entity_type=spec.entity, entity_id=_entity_id(obj),
                action=AuditAction.create, organisation_id=_organisation_of(spec, obj),
                before=None, after=after, changed=sorted(after))


def _updated(session: Session, obj: Any, spec: _AuditSpec) -> dict[str, Any] | None:
    state = inspect(obj)
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    for key in _columns(obj, spec):
        history = state.attrs[key].history
        if not history.has_changes():
            continue
        old = history.deleted[0] if history.deleted else None
        new = history.added[0] if history.added else None
        if old == new and history.deleted:
            continue
        before[key], after[key] = old, new
    if not after:
        return None
    return _row(session, entity_type=spec.entity, entity_id=_entity_id(obj),
                action=AuditAction.update, organisation_id=_organisation_of(spec, obj),
                before=before, after=after, changed=sorted(after))


def _deleted(session: Session, obj: Any, spec: _AuditSpec) -> dict[str, Any] | None:
    before = {key: _loaded(obj, key) for key in _columns(obj, spec)}
    before = {key: value for key, value in before.items() if value is not None}
    return _row(session, entity_type=spec.entity, entity_id=_entity_id(obj),
                action=AuditAction.delete, organisation_id=_organisation_of(spec, obj),
                before=before, after=None, changed=sorted(before))


@event.listens_for(Session, "after_flush")
def _record_flushed_changes(session: Session, _flush_context: Any) -> None:
    """After the flush the new rows have their ids, and attribute history still tells what
    changed; the entries go out on the same connection, inside the same transaction."""
    if not _SPECS:
        return
    rows: list[dict[str, Any]] = []
    for objects, describe in ((session.new, _created), (session.dirty, _updated),
                              (session.deleted, _deleted)):
        for obj in objects:
            spec = _spec_for(type(obj))
            if spec is None:
                continue
            if describe is _updated and not session.is_modified(obj, include_collections=False):
                continue
            row = describe(session, obj, spec)
            if row is not None:
                rows.append(row)
    _write(session, rows)


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_soft_rollback")
def _forget_written(session: Session, *_args: Any) -> None:
    session.info.pop(_WRITTEN_KEY, None)
