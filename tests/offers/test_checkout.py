"""The checkout's API: per-line supplier discounts captured from the campaign, the weekly
limit across receipts, idempotent receipts and returns, the retailer's receipt lines, the
antifraud rules with the marketer's review, and the per-key rate limit."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from billing import service as billing
from core.db import reset_caches, session_scope, utcnow
from marketplace_api.campaigns.models import ActivationMode
from marketplace_api.offers.holdout import in_holdout
from marketplace_api.offers.models import Offer
from retail.models import Customer
from retail.models import ReceiptLine as RetailLine
from tests.offers.conftest import SHOPPERS

APP = "/api/v1/app"
POS = "/api/v1/pos"


def _treated(campaign_id: int) -> list[str]:
    return [c for c in SHOPPERS
            if not in_holdout(campaign_id=campaign_id, customer_id=c, holdout_bp=1000)]


def _activate(client, world, shopper: str, campaign_id: int, sku: str = "A-0") -> int:
    with session_scope() as db:
        offer_id = db.scalar(select(Offer.id).where(Offer.campaign_id == campaign_id,
                                                    Offer.customer_id == shopper,
                                                    Offer.sku == sku))
    response = client.post(f"{APP}/shoppers/{shopper}/offers/{offer_id}/activate",
                           headers=world.app_key)
    assert response.status_code == 200, response.text
    return offer_id


def _receipt(receipt_id: str, shopper: str | None, *lines, store: str = "ST-1",
             minutes: int = 0) -> dict:
    return {"receipt_id": receipt_id, "customer_id": shopper, "store_id": store,
            "ts": (utcnow() - timedelta(minutes=minutes)).isoformat(),
            "lines": [{"sku": sku, "qty": qty, "price_minor": price}
                      for sku, qty, price in lines]}


def _send(client, world, body: dict, status: int = 200) -> dict:
    response = client.post(f"{POS}/receipts", headers=world.pos_key, json=body)
    assert response.status_code == status, response.text
    return response.json()


def _compensation(db) -> int:
    from billing.models import Account, AccountKind

    account = db.scalar(select(Account.id).where(Account.kind == AccountKind.supplier_compensation))
    return 0 if account is None else billing.balance(db=db, account_id=account)


def test_a_receipt_gets_the_discount_and_the_supplier_pays_it(client, world):
    campaign_id = world.launch(limit=3)
    shopper = _treated(campaign_id)[0]
    _activate(client, world, shopper, campaign_id)
    answer = _send(client, world, _receipt("R1", shopper, ("A-0", 2, 10_000),
                                           ("A-1", 1, 10_000), ("B-0", 1, 5_000)))
    lines = {line["sku"]: line for line in answer["lines"]}
    assert lines["A-0"]["discount_minor"] == 4_000 and lines["A-0"]["discounted_units"] == 2
    assert lines["A-0"]["personal_price_minor"] == 8_000
    assert lines["A-0"]["paid_minor"] == 16_000 and lines["A-0"]["held"] is False
    # not activated (explicit campaign) and not on offer: no discount
    assert lines["A-1"]["discount_minor"] == 0 and lines["B-0"]["discount_minor"] == 0
    assert answer["discount_minor"] == 4_000
    with session_scope() as db:
        assert _compensation(db) == 4_000
        balances = billing.campaign_balances(db=db, organisation_id=world.market.org_a_id,
                                             campaign_id=campaign_id, currency="RUB")
        kept = {r.sku: (r.qty, r.paid_amount_minor, r.discount_amount_minor) for r in
                db.scalars(select(RetailLine).where(RetailLine.receipt_id == "R1"))}
        assert billing.check_ledger(db=db) == []
    assert balances["authorized"] == 3 * 2_000 - 4_000
    assert kept == {"A-0": (2.0, 16_000, 4_000), "A-1": (1.0, 10_000, 0),
                    "B-0": (1.0, 5_000, 0)}


def test_the_weekly_limit_holds_across_receipts(client, world):
    campaign_id = world.launch(limit=2)
    shopper = _treated(campaign_id)[0]
    _activate(client, world, shopper, campaign_id)
    first = _send(client, world, _receipt("R1", shopper, ("A-0", 1, 10_000)))
    second = _send(client, world, _receipt("R2", shopper, ("A-0", 5, 10_000)))
    third = _send(client, world, _receipt("R3", shopper, ("A-0", 1, 10_000)))
    assert [r["lines"][0]["discounted_units"] for r in (first, second, third)] == [1, 1, 0]
    assert second["lines"][0]["discount_minor"] == 2_000
    offers = client.get(f"{APP}/shoppers/{shopper}/offers", headers=world.app_key).json()
    assert [o["sku"] for o in offers] == ["A-1"]  # A-0's units are used up this week


def test_a_receipt_is_answered_once_per_id(client, world):
    campaign_id = world.launch()
    shopper = _treated(campaign_id)[0]
    _activate(client, world, shopper, campaign_id)
    body = _receipt("R1", shopper, ("A-0", 1, 10_000))
    first = _send(client, world, body)
    assert _send(client, world, body) == first
    changed = {**body, "lines": [{"sku": "A-0", "qty": 2, "price_minor": 10_000}]}
    refused = _send(client, world, changed, status=422)
    assert refused["code"] == "receipt_id_reused"
    with session_scope() as db:
        assert _compensation(db) == 2_000  # captured once


def test_bad_receipts_are_refused_with_field_errors(client, world):
    world.launch()
    for body, field in [
        (_receipt("R1", "C001", ("NOPE", 1, 100)), "lines.0.sku"),
        (_receipt("R2", "C001", ("A-0", 1, 100), store="NOWHERE"), "store_id"),
        (_receipt("R3", "C001", ("A-0", 0, 100)), "lines.0.qty"),
        (_receipt("R4", "C001", ("A-0", 1, -5)), "lines.0.price_minor"),
        ({**_receipt("R5", "C001", ("A-0", 1, 100)), "ts": "2026-01-01T10:00:00"}, "ts"),
    ]:
        answer = _send(client, world, body, status=422)
        assert field in answer["errors"], answer
    assert _send(client, world, _receipt("R6", "C001", ("A-0", 1, 100), ("A-0", 1, 100)),
                 status=422)["code"] == "validation_error"


def test_a_return_reverses_the_discount_once(client, world):
    campaign_id = world.launch(limit=3)
    shopper = _treated(campaign_id)[0]
    _activate(client, world, shopper, campaign_id)
    _send(client, world, _receipt("R1", shopper, ("A-0", 3, 10_000), ("A-1", 1, 10_000)))
    body = {"lines": [{"sku": "A-0", "qty": 2}]}
    first = client.post(f"{POS}/receipts/R1/return", headers=world.pos_key, json=body)
    again = client.post(f"{POS}/receipts/R1/return", headers=world.pos_key, json=body)
    assert first.status_code == again.status_code == 200, first.text
    assert first.json() == again.json()
    assert first.json()["reversed_minor"] == 4_000
    with session_scope() as db:
        assert _compensation(db) == 2_000
        assert billing.check_ledger(db=db) == []
        line = db.scalar(select(RetailLine).where(RetailLine.receipt_id == "R1",
                                                  RetailLine.sku == "A-0"))
        assert (line.qty, line.paid_amount_minor, line.discount_amount_minor) == \
            (1.0, 8_000, 2_000)
    # the returned units are free again this week
    again_bought = _send(client, world, _receipt("R2", shopper, ("A-0", 5, 10_000)))
    assert again_bought["lines"][0]["discounted_units"] == 2
    too_many = client.post(f"{POS}/receipts/R1/return", headers=world.pos_key,
                           json={"return_id": "second", "lines": [{"sku": "A-0", "qty": 2}]})
    assert too_many.status_code == 422 and "lines.0.qty" in too_many.json()["errors"]
    missing = client.post(f"{POS}/receipts/NOPE/return", headers=world.pos_key, json=body)
    assert missing.status_code == 404


def test_automatic_campaigns_authorise_at_checkout(client, world):
    campaign_id = world.launch(activation=ActivationMode.automatic)
    shopper = _treated(campaign_id)[0]
    answer = _send(client, world, _receipt("R1", shopper, ("A-1", 1, 10_000)))
    assert answer["lines"][0]["discount_minor"] == 2_000


def test_the_imported_receipt_does_not_count_twice(client, world, tmp_path):
    from retail.importing import import_folder

    campaign_id = world.launch()
    shopper = _treated(campaign_id)[0]
    _activate(client, world, shopper, campaign_id)
    _send(client, world, _receipt("R1", shopper, ("A-0", 1, 10_000)))
    (tmp_path / "receipts.csv").write_text(
        "receipt_id,customer_id,store_id,ts,sku,qty,paid_amount,discount_amount\n"
        f"R1,{shopper},ST-1,{utcnow().isoformat()},A-0,1,80.00,20.00\n")
    import_folder(folder=tmp_path)
    with session_scope() as db:
        rows = db.scalars(select(RetailLine).where(RetailLine.receipt_id == "R1")).all()
    assert [(r.sku, r.qty, r.discount_amount_minor) for r in rows] == [("A-0", 1.0, 2_000)]


# --- antifraud ---------------------------------------------------------------------------

def _flags(client, world, **params) -> list[dict]:
    response = client.get("/api/v1/antifraud/flags", headers=world.market.marketer,
                          params=params)
    assert response.status_code == 200, response.text
    return response.json()


def test_more_than_five_discounted_receipts_in_an_hour_are_held(client, world):
    campaign_id = world.launch(limit=20)
    shopper = _treated(campaign_id)[0]
    _activate(client, world, shopper, campaign_id)
    answers = [_send(client, world, _receipt(f"R{i}", shopper, ("A-0", 1, 10_000),
                                             minutes=50 - i))
               for i in range(6)]
    assert [a["held_for_review"] for a in answers] == [False] * 5 + [True]
    assert answers[-1]["lines"][0]["discount_minor"] == 2_000  # still given at the till
    flags = _flags(client, world)
    assert len(flags) == 1 and flags[0]["rules"] == ["receipt_burst"]
    assert flags[0]["held_minor"] == 2_000
    with session_scope() as db:
        assert _compensation(db) == 5 * 2_000
    approved = client.post(f"/api/v1/antifraud/flags/{flags[0]['id']}/approve",
                           headers=world.market.marketer)
    assert approved.status_code == 200 and approved.json()["status"] == "approved"
    with session_scope() as db:
        assert _compensation(db) == 6 * 2_000
        assert billing.check_ledger(db=db) == []
    twice = client.post(f"/api/v1/antifraud/flags/{flags[0]['id']}/reject",
                        headers=world.market.marketer)
    assert twice.status_code == 409
    # a supplier never sees the review (it names shoppers)
    assert client.get("/api/v1/antifraud/flags",
                      headers=world.market.manager_a).status_code == 403


def test_accounts_sharing_a_phone_are_held_and_a_rejection_releases(client, world):
    campaign_id = world.launch()
    first, second = _treated(campaign_id)[:2]
    with session_scope() as db:
        db.get(Customer, first).phone_hash = "h-123"
        db.get(Customer, second).phone_hash = "h-123"
    for shopper in (first, second):
        _activate(client, world, shopper, campaign_id)
    assert not _send(client, world, _receipt("R1", first, ("A-0", 1, 10_000)))["held_for_review"]
    held = _send(client, world, _receipt("R2", second, ("A-0", 1, 10_000)))
    assert held["held_for_review"]
    flag = _flags(client, world, filter='{"status": "open"}')[0]
    assert flag["rules"] == ["shared_identity"] and flag["customer_id"] == second
    rejected = client.post(f"/api/v1/antifraud/flags/{flag['id']}/reject",
                           headers=world.market.marketer)
    assert rejected.status_code == 200 and rejected.json()["status"] == "rejected"
    with session_scope() as db:
        assert _compensation(db) == 2_000  # only the first shopper's discount was paid
        balances = billing.campaign_balances(db=db, organisation_id=world.market.org_a_id,
                                             campaign_id=campaign_id, currency="RUB")
        assert billing.check_ledger(db=db) == []
    # the rejected shopper's allowance went back to the budget
    assert balances["authorized"] == 2 * 2_000 - 2_000


@pytest.mark.parametrize("verdict", ["approve", "reject"])
def test_a_receipt_under_review_when_the_campaign_stops_is_settled_by_the_review(
        client, world, verdict):
    campaign_id = world.launch(store_ids=["ST-2"], budget_minor=100_000)
    shopper = _treated(campaign_id)[0]
    _activate(client, world, shopper, campaign_id)
    held = _send(client, world, _receipt("R1", shopper, ("A-0", 1, 10_000), store="ST-1"))
    assert held["held_for_review"]
    stopped = client.post(f"/api/v1/campaigns/{campaign_id}/stop",
                          headers={**world.market.marketer, "Idempotency-Key": "stop-1"})
    assert stopped.status_code == 200, stopped.text
    with session_scope() as db:
        # The held shopper's authorisation waits for the review; the rest went home.
        assert billing.campaign_balances(db=db, organisation_id=world.market.org_a_id,
                                         campaign_id=campaign_id, currency="RUB") == {
            "budget": 0, "authorized": 4_000}
        assert billing.organisation_balance(db=db, organisation_id=world.market.org_a_id,
                                            currency="RUB") == 96_000
    flag = _flags(client, world)[0]
    reviewed = client.post(f"/api/v1/antifraud/flags/{flag['id']}/{verdict}",
                           headers=world.market.marketer)
    assert reviewed.status_code == 200, reviewed.text
    paid = 2_000 if verdict == "approve" else 0
    with session_scope() as db:
        assert _compensation(db) == paid
        assert billing.campaign_balances(db=db, organisation_id=world.market.org_a_id,
                                         campaign_id=campaign_id, currency="RUB") == {
            "budget": 0, "authorized": 0}
        assert billing.organisation_balance(db=db, organisation_id=world.market.org_a_id,
                                            currency="RUB") == 100_000 - paid
        assert billing.check_ledger(db=db) == []


def test_a_redemption_outside_the_campaigns_stores_is_held(client, world):
    campaign_id = world.launch(store_ids=["ST-2"])
    shopper = _treated(campaign_id)[0]
    _activate(client, world, shopper, campaign_id)
    inside = _send(client, world, _receipt("R1", shopper, ("A-0", 1, 10_000), store="ST-2"))
    outside = _send(client, world, _receipt("R2", shopper, ("A-1", 1, 10_000), store="ST-1"))
    assert not inside["held_for_review"]
    assert outside["lines"][0]["discount_minor"] == 0  # A-1 was not activated
    _activate(client, world, shopper, campaign_id, sku="A-1")
    outside = _send(client, world, _receipt("R3", shopper, ("A-1", 1, 10_000), store="ST-1"))
    assert outside["held_for_review"]
    flag = _flags(client, world)[0]
    assert flag["rules"] == ["store_outside_campaign"]
    assert flag["details"]["store_outside_campaign"]["campaign_ids"] == [campaign_id]


def test_rules_switched_off_by_setting_do_not_hold(client, world, monkeypatch):
    from core.settings import get_settings

    monkeypatch.setenv("ANTIFRAUD_RULES", "shared_identity")
    get_settings.cache_clear()
    campaign_id = world.launch(store_ids=["ST-2"], limit=20)
    shopper = _treated(campaign_id)[0]
    _activate(client, world, shopper, campaign_id)
    answers = [_send(client, world, _receipt(f"R{i}", shopper, ("A-0", 1, 10_000)))
               for i in range(7)]
    assert not any(a["held_for_review"] for a in answers)


# --- rate limits -------------------------------------------------------------------------

@pytest.fixture
def tight_limits(monkeypatch, sqlite_db):
    monkeypatch.setenv("APP_RATE_LIMIT", "3/minute")
    monkeypatch.setenv("POS_RATE_LIMIT", "2/minute")
    reset_caches()


def test_past_the_rate_limit_the_apis_answer_429_with_retry_after(tight_limits, client, world):
    for _ in range(3):
        assert client.get(f"{APP}/shoppers/C001/offers",
                          headers=world.app_key).status_code == 200
    refused = client.get(f"{APP}/shoppers/C001/offers", headers=world.app_key)
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert refused.json()["code"] == "rate_limited"
    for i in range(2):
        _send(client, world, _receipt(f"R{i}", None, ("A-0", 1, 10_000)))
    refused = client.post(f"{POS}/receipts", headers=world.pos_key,
                          json=_receipt("R9", None, ("A-0", 1, 10_000)))
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
