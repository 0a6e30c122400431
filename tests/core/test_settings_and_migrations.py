"""Configuration refuses to run production without secrets; migrations go up and down."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from sqlalchemy import inspect

from core import migrate
from core.db import get_engine, reset_caches
from core.settings import Settings


def test_embedded_mode_needs_no_secret(monkeypatch, tmp_path):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    settings = Settings(database_url=f"sqlite:///{tmp_path}/x.db", data_dir=tmp_path)
    assert settings.embedded
    key = settings.jwt_secret()
    assert len(key) >= 32 and settings.jwt_secret() == key  # generated once, then kept


def test_production_mode_refuses_to_start_without_secret_key(monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(ValidationError, match="SECRET_KEY"):
        Settings(database_url="postgresql+psycopg://x@localhost/x")
    with pytest.raises(ValidationError, match="SECRET_KEY"):
        Settings(redis_url="redis://localhost:6379/0")


def test_stripe_key_without_webhook_secret_is_refused():
    with pytest.raises(ValidationError, match="STRIPE_WEBHOOK_SECRET"):
        Settings(stripe_secret_key="sk_test_x")


@pytest.mark.parametrize("database", ["sqlite_db", "pg_db"])
def test_migrations_downgrade_to_nothing_and_upgrade_again(request, database):
    request.getfixturevalue(database)
    tables = set(inspect(get_engine()).get_table_names())
    assert {"retail_receipt_line", "identity_user", "alembic_version"} <= tables
    migrate.downgrade("base")
    reset_caches()
    assert set(inspect(get_engine()).get_table_names()) <= {"alembic_version"}
    migrate.upgrade()
    reset_caches()
    assert set(inspect(get_engine()).get_table_names()) == tables


def test_every_setting_is_documented_in_the_readme():
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    undocumented = [name.upper() for name in Settings.model_fields
                    if f"`{name.upper()}`" not in readme]
    assert not undocumented, f"add to README's Configuration: {undocumented}"
