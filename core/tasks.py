"""Housekeeping tasks that belong to no domain."""

from __future__ import annotations

from sqlalchemy import text

from core.celery_app import celery_app
from core.db import session_scope


@celery_app.task(name="core.ping_database")
def ping_database() -> dict:
    """Round trip through the broker to a worker and the database; used by health checks."""
    with session_scope() as session:
        value = session.execute(text("SELECT 1")).scalar_one()
    return {"database": value == 1}
