"""Every bad campaign gets a clear 422 naming the field, and nothing is written; plus the
rules of who may create what and what the defaults are (SQLite)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from core.db import session_scope
from marketplace_api.campaigns import service as campaigns
from marketplace_api.campaigns.models import Campaign
from marketplace_api.campaigns.service import default_limit
from pricing_ai.schemas import ForecastRequest
from tests.campaigns.conftest import (
    API,
    CAT_RULE,
    act,
    approved,
    balances,
    campaign_body,
    create,
    key,
    local_today,
    make_segment,
    top_up,
)

PAST = datetime.now(UTC) - timedelta(days=30)


BAD = [
    ({"budget_minor": 0}, "budget_minor", "greater than 0"),
    ({"budget_minor": -100}, "budget_minor", "greater than 0"),
    ({"currency": "XYZ"}, "currency", "only RUB"),
    ({"currency": "USD"}, "currency", "only RUB"),
    ({"skus": ["A-0", "B-1"]}, "skus", "not your products: B-1"),
    ({"skus": ["NOPE"]}, "skus", "no such products: NOPE"),
    ({"starts_at": PAST.isoformat(), "ends_at": (PAST + timedelta(days=7)).isoformat()},
     "ends_at", "in the past"),
    ({"ends_at": datetime.now(UTC).isoformat()}, "ends_at", "end after it starts"),
    ({"holdout_bp": 8000}, "holdout_bp", "less than or equal to 5000"),
    ({"store_ids": ["ST-1", "ST-404"]}, "store_ids", "no such stores: ST-404"),
    ({"regions": ["Атлантида"]}, "regions", "no stores in: Атлантида"),
    ({"store_ids": ["ST-1"], "regions": ["Москва"]}, "regions", "not both"),
    ({"depth_mode": "ai", "min_discount_bp": 500}, "max_discount_bp", "needs"),
    ({"depth_mode": "ai", "min_discount_bp": 2000, "max_discount_bp": 1000},
     "max_discount_bp", "min_discount_bp"),
    ({"discount_bp": None}, "discount_bp", "fixed depth needs"),
    ({"segment_id": 999}, "segment_id", "no segment 999"),
]


def test_every_bad_campaign_is_refused_with_the_field_named(client, world):
    # One world for all the cases: building it is what takes the time.
    market = world.market
    segment_id = make_segment(client, market.manager_a)
    for fields, field, words in BAD:
        body = {**campaign_body(segment_id), **fields}
        response = client.post(f"{API}/campaigns", json=body, headers=market.manager_a)
        assert response.status_code == 422, (fields, response.text)
        problem = response.json()["errors"].get(field, "")
        assert words in problem, (fields, response.json())
    assert client.get(f"{API}/campaigns", headers=market.marketer).json() == []


def test_another_suppliers_segment_is_not_found(client, world):
    market = world.market
    theirs = make_segment(client, market.manager_b)
    response = client.post(f"{API}/campaigns", json=campaign_body(theirs),
                           headers=market.manager_a)
    assert response.status_code == 422
    assert response.json()["errors"] == {"segment_id": f"no segment {theirs}"}


def test_who_may_create_and_the_defaults(client, world):
    market = world.market
    segment_id = make_segment(client, market.manager_a)
    assert client.post(f"{API}/campaigns", json=campaign_body(segment_id),
                       headers=market.finance).status_code == 403
    ai = create(client, market.manager_a, campaign_body(
        segment_id, depth_mode="ai", discount_bp=None, min_discount_bp=500,
        max_discount_bp=2500, regions=["Москва"], activation_mode="automatic",
        holdout_bp=0, limit_units_per_week=2))
    assert (ai["depth_mode"], ai["goal"], ai["discount_bp"]) == ("ai", "units", None)
    assert (ai["regions"], ai["store_ids"]) == (["Москва"], None)
    assert (ai["holdout_bp"], ai["limit_units_per_week"]) == (0, 2)
    assert ai["currency"] == "RUB"
    # A naive timestamp is the retailer's local time (Moscow, UTC+3).
    start = (datetime.now(UTC) + timedelta(days=3)).replace(microsecond=0, tzinfo=None)
    local = create(client, market.manager_a, campaign_body(
        segment_id, starts_at=start.isoformat(), ends_at=(start + timedelta(days=2)).isoformat()))
    assert datetime.fromisoformat(local["starts_at"]) == \
        start.replace(tzinfo=UTC) - timedelta(hours=3)


def test_the_default_limit_allows_more_units_of_cheaper_items():
    assert [default_limit(price) for price in (5_000, 10_000, 10_001, 30_000, 99_900,
                                               100_001)] == [10, 10, 5, 5, 3, 1]


def test_launch_is_refused_below_the_minimum_audience_without_telling_the_count(client,
                                                                                 world):
    market = world.market
    small = make_segment(client, market.manager_a, rule=CAT_RULE, name="Cat owners")
    campaign = approved(client, market, campaign_body(small, budget_minor=100_000))
    top_up(client, market, market.org_a_id, 100_000)
    refused = act(client, {**market.manager_a, **key()}, campaign["id"], "launch",
                  expect=409)
    assert refused["code"] == "audience_too_small"
    assert "fewer than 100 shoppers" in refused["message"]
    assert "95" not in refused["message"] + str(refused["errors"])
    assert balances(market.org_a_id, campaign["id"])["available"] == 100_000
    assert client.get(f"{API}/campaigns/{campaign['id']}",
                      headers=market.manager_a).json()["status"] == "approved"


def test_launch_is_idempotent_under_the_same_key(client, world):
    market = world.market
    segment_id = make_segment(client, market.manager_a)
    first = approved(client, market, campaign_body(segment_id, budget_minor=100_000))
    second = approved(client, market, campaign_body(segment_id, budget_minor=100_000,
                                                    name="Second"))
    top_up(client, market, market.org_a_id, 300_000)
    same = key()
    launched = [act(client, {**market.manager_a, **same}, first["id"], "launch")
                for _ in range(3)]
    assert {c["status"] for c in launched} == {"scheduled"}
    assert balances(market.org_a_id, first["id"])["available"] == 200_000
    # The same key for another launch (another request body) is a 422; nothing moves.
    reused = act(client, {**market.manager_a, **same}, second["id"], "launch", expect=422)
    assert reused["code"] == "idempotency_key_reused"
    assert balances(market.org_a_id, second["id"]) == {"available": 200_000, "budget": 0,
                                                       "authorized": 0}
    assert act(client, {**market.manager_a, **key()}, second["id"], "launch")["status"] == \
        "scheduled"
    # Edited after launch, the first campaign gives its budget back; approved again, its
    # old key does not launch it (that would hold nothing): a new key does.
    client.patch(f"{API}/campaigns/{first['id']}", json={"name": "First, revised"},
                 headers=market.manager_a)
    assert balances(market.org_a_id, first["id"])["available"] == 200_000
    act(client, market.marketer, first["id"], "approve")
    stale = act(client, {**market.manager_a, **same}, first["id"], "launch", expect=422)
    assert stale["errors"] == {"Idempotency-Key": "already used"}
    act(client, {**market.manager_a, **key()}, first["id"], "launch")
    assert balances(market.org_a_id, first["id"]) == {"available": 100_000,
                                                      "budget": 100_000, "authorized": 0}


def test_a_running_campaign_cannot_be_edited(client, world):
    market = world.market
    segment_id = make_segment(client, market.manager_a)
    body = campaign_body(segment_id, budget_minor=100_000)
    body["starts_at"] = datetime.now(UTC).isoformat()
    campaign = approved(client, market, body)
    top_up(client, market, market.org_a_id, 100_000)
    assert act(client, {**market.manager_a, **key()}, campaign["id"], "launch")["status"] \
        == "active"
    refused = client.patch(f"{API}/campaigns/{campaign['id']}", json={"name": "x"},
                           headers=market.manager_a)
    assert refused.status_code == 409
    assert refused.json()["code"] == "campaign_status_conflict"



def test_the_forecast_of_a_saved_campaign_asks_pricing_about_that_campaign(client, world):
    """GET /campaigns/{id}/forecast hands pricing_ai the campaign as saved; without a
    trained model pricing says so (pricing's own tests cover the figures)."""
    market = world.market
    segment_id = make_segment(client, market.manager_a)
    start = local_today() + timedelta(days=1)
    body = {**campaign_body(segment_id, skus=("A-0", "A-2"), regions=["Казань"],
                            depth_mode="ai", discount_bp=None, min_discount_bp=500,
                            max_discount_bp=2000, goal="revenue", holdout_bp=500,
                            limit_units_per_week=3, budget_minor=2_000_000),
            "starts_at": start.isoformat(), "ends_at": (start + timedelta(days=28)).isoformat()}
    campaign = create(client, market.manager_a, body)
    with session_scope() as db:
        saved = campaigns.forecast_request(db=db, campaign=db.get(Campaign, campaign["id"]))
    assert saved == ForecastRequest(
        segment_id=segment_id, segment_version=1, skus=["A-0", "A-2"],
        starts_on=start.date(), ends_on=(start + timedelta(days=27)).date(), stores=["ST-3"],
        depth={"kind": "ai", "min_bp": 500, "max_bp": 2000, "goal": "revenue"},
        units_per_week_limit=3, holdout_share=0.05, budget_minor=2_000_000)
    assert client.get(f"{API}/campaigns/{campaign['id']}/forecast",
                      headers=market.manager_b).status_code == 404
    for headers in (market.manager_a, market.marketer):
        response = client.get(f"{API}/campaigns/{campaign['id']}/forecast", headers=headers)
        assert response.json()["code"] == "model_not_found"
