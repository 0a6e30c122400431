"""The database: engine, sessions and the declarative Base shared by every domain."""

from __future__ import annotations

import enum
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path

from sqlalchemy import DateTime, Engine, Enum, MetaData, create_engine, event
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from core.settings import get_settings

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# Every module that declares tables; Alembic and `create_all` import them all.
MODEL_MODULES = (
    "retail.models",
    "marketplace_api.identity.models",
    "billing.models",
    "audience.models",
    "pricing_ai.models",
    "marketplace_api.campaigns.models",
    "core.audit",
    "marketplace_api.notifications.models",
    "marketplace_api.offers.models",
)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator):
    """A timestamp stored in UTC and always returned timezone-aware (SQLite forgets zones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where a UTC timestamp is required")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect):
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


def enum_type(cls: type[enum.Enum], *, length: int = 30, prefix: str = "") -> Enum:
    """A Python enum stored as its value in a VARCHAR: portable, and a new member needs no
    ALTER TYPE migration on PostgreSQL."""
    return Enum(cls, name=f"{prefix}{cls.__name__.lower()}", native_enum=False, length=length,
                validate_strings=True)


def owned_by(statement, model, organisation_id: int | None):
    """`statement` limited to one organisation's rows of `model` (None: every organisation's)."""
    if organisation_id is None:
        return statement
    return statement.where(model.organisation_id == organisation_id)


def get_owned(db: Session, model, key, *, organisation_id: int | None):
    """The row of `model`, or None when it is missing or belongs to another organisation
    than `organisation_id` (None sees all): callers answer both alike, so other
    organisations' ids never leak."""
    row = db.get(model, key)
    if row is None or (organisation_id is not None and row.organisation_id != organisation_id):
        return None
    return row


def utcnow() -> datetime:
    return datetime.now(UTC)


def import_all_models() -> None:
    import importlib

    for name in MODEL_MODULES:
        importlib.import_module(name)


def make_engine(url: str, *, echo: bool = False) -> Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, echo=echo, connect_args={"check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):
            # SQLite's own lower() knows only ASCII; "Молоко" must match "молоко".
            dbapi_connection.create_function(
                "lower", 1, lambda s: None if s is None else s.lower(), deterministic=True)
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA busy_timeout=10000")
            cursor.close()

        return engine
    return create_engine(url, echo=echo, pool_size=16, max_overflow=16, pool_pre_ping=True)


@lru_cache
def get_engine() -> Engine:
    settings = get_settings()
    return make_engine(settings.database_url, echo=settings.sql_echo)


@lru_cache
def _session_factory() -> sessionmaker[Session]:
    return sessionmaker(bind=get_engine(), expire_on_commit=False)


def new_session() -> Session:
    return _session_factory()()


@contextmanager
def session_scope() -> Iterator[Session]:
    """A unit of work for CLI commands and tasks: commit on success, roll back on error."""
    session = new_session()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def reset_caches() -> None:
    """Forget the engine and settings (tests switch DATABASE_URL between runs)."""
    if get_engine.cache_info().currsize:
        get_engine().dispose()
    get_engine.cache_clear()
    _session_factory.cache_clear()
    get_settings.cache_clear()
