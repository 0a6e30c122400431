"""Campaign fixtures: audience's small retailer (1,500 known shoppers, features built), on
SQLite or PostgreSQL, and helpers to make segments, campaigns and top-ups through the API."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from core.settings import get_settings
from tests.audience.conftest import (  # noqa: F401 - fixtures shared with audience's tests
    _fresh_snapshot,
    data_dir,
    make_world,
)

API = "/api/v1"
APP_USERS_RULE = {"field": "has_app", "op": "eq", "value": True}    # 1,234 shoppers
CAT_RULE = {"field": "cat_owner", "op": "eq", "value": True}        # 95: below the minimum


@pytest.fixture
def world(client, data_dir):  # noqa: F811
    return make_world()


@pytest.fixture
def pg_client(pg_db, data_dir):  # noqa: F811
    from fastapi.testclient import TestClient

    from marketplace_api.app import create_app

    with TestClient(create_app()) as test_client:
        yield test_client


@pytest.fixture
def pg_world(pg_client):
    return make_world()


def key() -> dict[str, str]:
    return {"Idempotency-Key": str(uuid.uuid4())}


def local_today() -> datetime:
    """The start of the retailer's current day (a campaign may start then)."""
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(get_settings().retail_timezone)
    now = datetime.now(zone)
    return now.replace(hour=0, minute=0, second=0, microsecond=0)


def make_segment(client, headers, rule=APP_USERS_RULE, name="App users") -> int:
    response = client.post(f"{API}/segments", json={"name": name, "rule": rule},
                           headers=headers)
    assert response.status_code == 201, response.text
    return response.json()["id"]


def campaign_body(segment_id: int, *, skus=("A-0", "A-1"), starts_in_days: float = 1,
                  days: float = 14, **fields) -> dict:
    start = datetime.now(UTC) + timedelta(days=starts_in_days)
    body = {"name": "Milk week", "segment_id": segment_id, "skus": list(skus),
            "starts_at": start.isoformat(), "ends_at": (start + timedelta(days=days)).isoformat(),
            "depth_mode": "fixed", "discount_bp": 1500, "budget_minor": 5_000_000}
    body.update(fields)
    return body


def create(client, headers, body) -> dict:
    response = client.post(f"{API}/campaigns", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


def act(client, headers, campaign_id: int, action: str, expect: int = 200, **kwargs) -> dict:
    response = client.post(f"{API}/campaigns/{campaign_id}/{action}", headers=headers,
                           **kwargs)
    assert response.status_code == expect, response.text
    return response.json()


def approved(client, market, body, headers=None) -> dict:
    """A campaign created, submitted and approved (by the marketer)."""
    headers = headers or market.manager_a
    campaign = create(client, headers, body)
    act(client, headers, campaign["id"], "submit")
    return act(client, market.marketer, campaign["id"], "approve")


def top_up(client, market, organisation_id: int, amount_minor: int) -> None:
    response = client.post(f"{API}/topups/bank", headers={**market.finance, **key()}, json={
        "organisation_id": organisation_id, "amount_minor": amount_minor, "currency": "RUB",
        "document_number": f"PP-{uuid.uuid4().hex[:8]}", "document_date": "2026-01-15"})
    assert response.status_code == 201, response.text


def balances(organisation_id: int, campaign_id: int | None = None) -> dict[str, int]:
    from billing import service as billing
    from core.db import session_scope

    with session_scope() as db:
        out = {"available": billing.organisation_balance(
            db=db, organisation_id=organisation_id, currency="RUB")}
        if campaign_id is not None:
            out.update(billing.campaign_balances(db=db, organisation_id=organisation_id,
                                                 campaign_id=str(campaign_id),
                                                 currency="RUB"))
        return out


def ledger_problems() -> list[str]:
    from billing import service as billing
    from core.db import session_scope

    with session_scope() as db:
        return billing.check_ledger(db=db)
