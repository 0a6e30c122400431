"""The schedule (celery beat): a scheduled campaign becomes active when its period starts,
a running one ends when it is over, and its unspent money goes back — once, however often
the task runs."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update

from billing import service as billing
from core.celery_app import celery_app
from core.db import session_scope, utcnow
from marketplace_api.campaigns import tasks
from marketplace_api.campaigns.models import Campaign
from tests.campaigns.conftest import (
    API,
    act,
    approved,
    balances,
    campaign_body,
    key,
    ledger_problems,
    make_segment,
    top_up,
)


@pytest.fixture
def in_process_tasks(monkeypatch):
    monkeypatch.setitem(celery_app.conf, "task_always_eager", True)


def _move_period(campaign_id: int, *, starts: timedelta, ends: timedelta) -> None:
    """Let time pass: the period starts and ends relative to now."""
    now = utcnow()
    with session_scope() as db:
        db.execute(update(Campaign).where(Campaign.id == campaign_id)
                   .values(starts_at=now + starts, ends_at=now + ends))


def test_the_schedule_starts_and_ends_campaigns_and_releases_the_budget(
        client, world, in_process_tasks):
    market = world.market
    segment_id = make_segment(client, market.manager_a)
    campaign = approved(client, market, campaign_body(segment_id, budget_minor=400_000))
    cid = campaign["id"]
    top_up(client, market, market.org_a_id, 500_000)
    assert act(client, {**market.manager_a, **key()}, cid, "launch")["status"] == "scheduled"
    assert tasks.advance_due()["due"] == []

    _move_period(cid, starts=timedelta(minutes=-1), ends=timedelta(days=7))
    assert tasks.advance_due()["due"] == [cid]
    shown = client.get(f"{API}/campaigns/{cid}", headers=market.manager_a).json()
    assert shown["status"] == "active"
    assert shown["timeline"][-1]["actor_user_id"] is None  # the system did it

    # A shopper activated an offer: 30,000 promised, then 10,000 of it captured.
    with session_scope() as db:
        promised = billing.authorize(db=db, organisation_id=market.org_a_id,
                                     campaign_id=str(cid), amount_minor=30_000,
                                     currency="RUB", idempotency_key="test-activation")
        billing.capture(db=db, authorization_id=promised.authorization_id,
                        amount_minor=10_000, idempotency_key="test-capture")
    assert balances(market.org_a_id, cid) == {"available": 100_000, "budget": 370_000,
                                              "authorized": 20_000}

    _move_period(cid, starts=timedelta(days=-7), ends=timedelta(seconds=-1))
    assert tasks.advance_due()["due"] == [cid]
    ended = client.get(f"{API}/campaigns/{cid}", headers=market.manager_a).json()
    assert ended["status"] == "ended" and ended["stopped_early"] is False
    # Everything not captured is back on the supplier's balance.
    assert balances(market.org_a_id, cid) == {"available": 490_000, "budget": 0,
                                              "authorized": 0}
    # Running again (or a retried task) changes nothing.
    assert tasks.advance_due()["due"] == []
    assert tasks.advance_campaign(cid) == {"campaign_id": cid, "status": "ended",
                                           "changed": False}
    assert balances(market.org_a_id, cid)["available"] == 490_000
    assert ledger_problems() == []


def test_a_paused_campaign_also_ends_with_its_period(client, world, in_process_tasks):
    market = world.market
    segment_id = make_segment(client, market.manager_a)
    body = campaign_body(segment_id, budget_minor=100_000)
    body["starts_at"] = utcnow().isoformat()
    cid = approved(client, market, body)["id"]
    top_up(client, market, market.org_a_id, 100_000)
    act(client, {**market.manager_a, **key()}, cid, "launch")
    act(client, market.marketer, cid, "pause")  # the retailer may pause any campaign
    _move_period(cid, starts=timedelta(days=-7), ends=timedelta(seconds=-1))
    assert tasks.advance_campaign(cid)["status"] == "ended"
    assert balances(market.org_a_id, cid)["available"] == 100_000
