"""A campaign's life through the API, with the roles enforced and the money checked after
every step that moves it (PostgreSQL: the money path runs where production runs)."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import select

from core.audit import AuditEntry
from core.db import new_session, session_scope
from marketplace_api.campaigns import service as campaigns
from marketplace_api.notifications.models import Notification
from tests.campaigns.conftest import (
    API,
    act,
    balances,
    campaign_body,
    create,
    key,
    ledger_problems,
    local_today,
    make_segment,
    top_up,
)

BUDGET = 5_000_000


def test_approval_flow_end_to_end_with_roles_and_money(pg_client, pg_world):
    client, market = pg_client, pg_world.market
    segment_id = make_segment(client, market.manager_a)
    # Starts today, so that launch makes it active at once.
    body = campaign_body(segment_id, starts_in_days=0, budget_minor=BUDGET)
    body["starts_at"] = local_today().isoformat()
    campaign = create(client, market.manager_a, body)
    cid = campaign["id"]
    assert campaign["status"] == "draft"
    assert campaign["holdout_bp"] == 1000 and campaign["activation_mode"] == "explicit"
    assert campaign["limit_units_per_week"] == 10  # 100 ₽ items: the cheapest band
    assert campaign["segment_version"] == 1

    # Another supplier cannot see it, change it or launch it: 404, as if it did not exist.
    assert client.get(f"{API}/campaigns/{cid}", headers=market.manager_b).status_code == 404
    assert client.patch(f"{API}/campaigns/{cid}", json={"name": "x"},
                        headers=market.manager_b).status_code == 404
    act(client, {**market.manager_b, **key()}, cid, "launch", expect=404)
    listed = client.get(f"{API}/campaigns", headers=market.manager_b)
    assert listed.json() == [] and listed.headers["Content-Range"] == "campaigns */0"

    act(client, market.manager_a, cid, "submit")
    # A supplier cannot approve its own campaign; the finance officer neither.
    assert act(client, market.manager_a, cid, "approve", expect=403)["code"] == \
        "role_not_allowed"
    act(client, market.finance, cid, "approve", expect=403)
    rejected = act(client, market.marketer, cid, "reject",
                   json={"reason": "Discount too deep for the season"})
    assert rejected["status"] == "rejected"
    assert rejected["rejection_reason"] == "Discount too deep for the season"
    act(client, {**market.manager_a, **key()}, cid, "launch", expect=409)

    # The owner revises and resubmits; the marketer approves.
    revised = client.patch(f"{API}/campaigns/{cid}", json={"discount_bp": 1000},
                           headers=market.manager_a)
    assert revised.status_code == 200 and revised.json()["discount_bp"] == 1000
    act(client, market.manager_a, cid, "submit")
    approved = act(client, market.marketer, cid, "approve")
    assert approved["status"] == "approved" and approved["rejection_reason"] is None

    # The finance officer cannot launch; the marketer cannot launch a supplier's campaign.
    act(client, {**market.finance, **key()}, cid, "launch", expect=403)
    act(client, {**market.marketer, **key()}, cid, "launch", expect=403)
    # Launch needs an Idempotency-Key.
    missing = act(client, market.manager_a, cid, "launch", expect=422)
    assert missing["errors"] == {"Idempotency-Key": "required"}

    # The balance is short: 409 and nothing moves.
    top_up(client, market, market.org_a_id, BUDGET - 1)
    short = act(client, {**market.manager_a, **key()}, cid, "launch", expect=409)
    assert short["code"] == "insufficient_funds"
    assert balances(market.org_a_id, cid) == {"available": BUDGET - 1, "budget": 0,
                                              "authorized": 0}
    assert client.get(f"{API}/campaigns/{cid}",
                      headers=market.manager_a).json()["status"] == "approved"

    top_up(client, market, market.org_a_id, 1_000_001)
    launch_key = key()
    launched = act(client, {**market.manager_a, **launch_key}, cid, "launch")
    assert launched["status"] == "active"
    assert launched["materialisation_id"] is not None
    assert balances(market.org_a_id, cid) == {"available": 1_000_000, "budget": BUDGET,
                                              "authorized": 0}
    # The same key again: the same answer, no second hold.
    again = act(client, {**market.manager_a, **launch_key}, cid, "launch")
    assert again["status"] == "active" and again["launched_at"] == launched["launched_at"]
    assert balances(market.org_a_id, cid)["available"] == 1_000_000

    act(client, market.finance, cid, "pause", expect=403)
    assert act(client, market.manager_a, cid, "pause")["status"] == "paused"
    assert act(client, market.manager_a, cid, "resume")["status"] == "active"
    act(client, market.manager_a, cid, "stop", expect=422)  # no key
    stop_key = key()
    stopped = act(client, {**market.manager_a, **stop_key}, cid, "stop",
                  json={"reason": "Out of stock"})
    assert stopped["status"] == "ended" and stopped["stopped_early"] is True
    assert balances(market.org_a_id, cid) == {"available": BUDGET + 1_000_000, "budget": 0,
                                              "authorized": 0}
    assert act(client, {**market.manager_a, **stop_key}, cid, "stop")["status"] == "ended"
    assert balances(market.org_a_id, cid)["available"] == BUDGET + 1_000_000
    assert ledger_problems() == []

    timeline = client.get(f"{API}/campaigns/{cid}", headers=market.manager_a).json()["timeline"]
    steps = [(step["from_status"], step["to_status"]) for step in timeline]
    assert steps == [(None, "draft"), ("draft", "pending_approval"),
                     ("pending_approval", "rejected"), ("rejected", "pending_approval"),
                     ("pending_approval", "approved"), ("approved", "active"),
                     ("active", "paused"), ("paused", "active"), ("active", "ended")]
    assert timeline[2]["reason"] == "Discount too deep for the season"
    assert timeline[2]["actor_user_id"] == market.marketer_id
    # The supplier reads its own people by name, the retailer's marketer only as "retailer".
    assert "Molochny Dom" in timeline[0]["actor"] and timeline[2]["actor"] == "retailer"
    assert "marketer" not in str([step["actor"] for step in timeline])
    assert timeline[-1]["reason"] == "Out of stock"
    # The owner was told of every step (the last by the end notice, with the reason, once),
    # and every change of the campaign is audited.
    with session_scope() as db:
        told = db.scalars(select(Notification.kind).where(
            Notification.campaign_id == cid,
            Notification.organisation_id == market.org_a_id).order_by(Notification.id)).all()
        assert told == ["campaign_status"] * (len(steps) - 1) + ["campaign_ended"]
        end_notice = db.scalars(select(Notification.body).where(
            Notification.campaign_id == cid, Notification.kind == "campaign_ended")).one()
        assert "Out of stock" in end_notice
        changes = db.scalars(select(AuditEntry).where(AuditEntry.entity_type == "campaign",
                                                      AuditEntry.entity_id == str(cid))
                             .order_by(AuditEntry.id)).all()
        assert changes[0].action == "create" and changes[0].actor_user_id == market.manager_a_id
        assert any(c.after.get("status") == "rejected"
                   and c.actor_user_id == market.marketer_id for c in changes)
        assert changes[-1].after.get("status") == "ended"
    # Retailer staff see every organisation's campaigns.
    assert [c["id"] for c in client.get(f"{API}/campaigns",
                                        headers=market.finance).json()] == [cid]


def test_editing_a_scheduled_campaign_sends_it_back_and_returns_its_budget(pg_client,
                                                                            pg_world):
    client, market = pg_client, pg_world.market
    segment_id = make_segment(client, market.manager_a)
    cid = create(client, market.manager_a, campaign_body(segment_id, budget_minor=BUDGET))["id"]
    act(client, market.manager_a, cid, "submit")
    act(client, market.marketer, cid, "approve")
    # An approved campaign edited goes back for approval.
    edited = client.patch(f"{API}/campaigns/{cid}", json={"name": "Milk fortnight"},
                          headers=market.manager_a).json()
    assert edited["status"] == "pending_approval"
    act(client, market.marketer, cid, "approve")

    top_up(client, market, market.org_a_id, BUDGET)
    scheduled = act(client, {**market.manager_a, **key()}, cid, "launch")
    assert scheduled["status"] == "scheduled"  # its period starts tomorrow
    assert balances(market.org_a_id, cid)["budget"] == BUDGET

    edited = client.patch(f"{API}/campaigns/{cid}", json={"budget_minor": BUDGET // 2},
                          headers=market.manager_a).json()
    assert edited["status"] == "pending_approval" and edited["budget_minor"] == BUDGET // 2
    assert edited["materialisation_id"] is None
    assert balances(market.org_a_id, cid) == {"available": BUDGET, "budget": 0,
                                              "authorized": 0}
    assert edited["timeline"][-1]["from_status"] == "scheduled"

    # Approved again, it launches again, holding the new budget only — once, even when
    # two launches with different keys race (the second waits for the first's lock).
    act(client, market.marketer, cid, "approve")
    first = new_session()
    campaigns.launch(db=first, campaign=campaigns.get_campaign(
        db=first, campaign_id=cid, organisation_id=None), idempotency_key="org:first",
        user_id=market.manager_a_id)
    with ThreadPoolExecutor(1) as pool:
        racing = pool.submit(act, client, {**market.manager_a, **key()}, cid, "launch", 409)
        time.sleep(0.5)
        assert not racing.done()  # blocked on the row lock
        first.commit()
        first.close()
        assert racing.result(timeout=30)["code"] == "campaign_status_conflict"
    assert balances(market.org_a_id, cid)["budget"] == BUDGET // 2
    # Not started yet, so there is nothing to pause.
    assert act(client, market.manager_a, cid, "pause", expect=409)["code"] == \
        "campaign_status_conflict"
    assert ledger_problems() == []


def test_a_retailer_funded_campaign_is_paid_from_the_retailers_own_balance(pg_client,
                                                                          pg_world):
    client, market = pg_client, pg_world.market
    segment_id = make_segment(client, market.marketer, name="Retailer's app users")
    # Any products, also two suppliers' at once.
    body = campaign_body(segment_id, skus=("A-0", "B-0"), budget_minor=300_000)
    campaign = create(client, market.marketer, body)
    assert campaign["organisation_id"] == market.retailer_id
    cid = campaign["id"]
    act(client, market.manager_a, cid, "submit", expect=404)  # not theirs to see
    act(client, market.marketer, cid, "submit")
    act(client, market.admin, cid, "approve")
    top_up(client, market, market.retailer_id, 300_000)
    act(client, {**market.admin, **key()}, cid, "launch")
    assert balances(market.retailer_id, cid) == {"available": 0, "budget": 300_000,
                                                 "authorized": 0}
    act(client, {**market.marketer, **key()}, cid, "stop")
    assert balances(market.retailer_id, cid)["available"] == 300_000
    assert ledger_problems() == []
