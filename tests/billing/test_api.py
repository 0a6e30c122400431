"""Billing over HTTP: bank top-ups, accounts, the ledger and statements, who may see what,
and the Idempotency-Key contract."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import date

import pytest

from tests import factories

API = "/api/v1"


@pytest.fixture
def market(client, monkeypatch) -> factories.Marketplace:
    monkeypatch.delenv("STRIPE_SECRET_KEY", raising=False)
    return factories.marketplace()


def idem() -> dict[str, str]:
    return {"Idempotency-Key": uuid.uuid4().hex}


def bank_top_up(client, market, *, amount=150_000, document="PP-1", organisation=None,
                headers=None, key=None):
    body = {"organisation_id": organisation or market.org_a_id, "amount_minor": amount,
            "currency": "RUB", "document_number": document, "document_date": "2026-11-20"}
    return client.post(f"{API}/topups/bank", json=body,
                       headers={**(headers or market.finance),
                                "Idempotency-Key": key or uuid.uuid4().hex})


def available(client, market, organisation_id: int) -> int:
    response = client.get(f"{API}/accounts", headers=market.finance,
                          params={"filter": f'{{"organisation_id": {organisation_id}, '
                                            f'"kind": "available"}}'})
    assert response.status_code == 200, response.text
    rows = response.json()
    return rows[0]["balance_minor"] if rows else 0


def test_a_finance_officer_records_a_bank_transfer_once(client, market):
    first = bank_top_up(client, market, key="transfer-1")
    assert first.status_code == 201, first.text
    assert first.json()["status"] == "succeeded"
    again = bank_top_up(client, market, key="transfer-1")
    assert again.status_code == 201 and again.json() == first.json()
    # The same payment document under a new key is still the same top-up.
    same_document = bank_top_up(client, market)
    assert same_document.json()["id"] == first.json()["id"]
    other_details = bank_top_up(client, market, amount=1)
    assert other_details.status_code == 409
    assert available(client, market, market.org_a_id) == 150_000
    different_body = bank_top_up(client, market, amount=2, key="transfer-1")
    assert different_body.status_code == 422
    assert different_body.json()["code"] == "idempotency_key_reused"
    assert available(client, market, market.org_a_id) == 150_000


def test_a_supplier_cannot_record_a_bank_transfer(client, market):
    response = bank_top_up(client, market, headers=market.manager_a)
    assert response.status_code == 403
    assert available(client, market, market.org_a_id) == 0


@pytest.mark.parametrize("amount, currency", [(0, "RUB"), (-100, "RUB"), (100, "XYZ"),
                                              ("100", "RUB"), (10.5, "RUB")])
def test_bad_amounts_are_refused_and_nothing_moves(client, market, amount, currency):
    body = {"organisation_id": market.org_a_id, "amount_minor": amount, "currency": currency,
            "document_number": "PP-9", "document_date": "2026-11-20"}
    response = client.post(f"{API}/topups/bank", json=body, headers={**market.finance, **idem()})
    assert response.status_code == 422, response.text
    assert available(client, market, market.org_a_id) == 0
    assert client.get(f"{API}/ledger", headers=market.finance).json() == []


def test_money_moving_requests_need_an_idempotency_key(client, market):
    body = {"organisation_id": market.org_a_id, "amount_minor": 100, "currency": "RUB",
            "document_number": "PP-2", "document_date": "2026-11-20"}
    response = client.post(f"{API}/topups/bank", json=body, headers=market.finance)
    assert response.status_code == 422
    assert response.json()["code"] == "idempotency_key_required"
    assert "Idempotency-Key" in response.json()["message"]
    assert available(client, market, market.org_a_id) == 0


def test_card_top_ups_say_clearly_when_stripe_is_off(client, market):
    response = client.post(f"{API}/topups", json={"amount_minor": 10_000},
                           headers={**market.manager_a, **idem()})
    assert response.status_code == 409
    assert response.json()["code"] == "card_top_ups_not_configured"
    assert "not configured" in response.json()["message"]


def test_suppliers_see_only_their_own_accounts_ledger_and_statements(client, market):
    assert bank_top_up(client, market, document="A-1").status_code == 201
    assert bank_top_up(client, market, document="B-1", amount=70_000,
                       organisation=market.org_b_id).status_code == 201
    everything = client.get(f"{API}/accounts", headers=market.finance)
    assert {row["organisation_id"] for row in everything.json()} >= {market.org_a_id,
                                                                     market.org_b_id}
    own = client.get(f"{API}/accounts", headers=market.manager_a).json()
    assert [(row["organisation_id"], row["balance_minor"]) for row in own] == [
        (market.org_a_id, 150_000)]
    theirs = next(row["id"] for row in everything.json()
                  if row["organisation_id"] == market.org_b_id and row["kind"] == "available")
    for path in (f"/accounts/{theirs}",
                 f"/accounts/{theirs}/statement.csv?from=2020-01-01&to=2030-01-01"):
        assert client.get(API + path, headers=market.manager_a).status_code == 404
        assert client.get(API + path, headers=market.manager_b).status_code == 200
    ledger = client.get(f"{API}/ledger", headers=market.manager_a)
    assert ledger.status_code == 200
    assert {row["organisation_id"] for row in ledger.json()} == {market.org_a_id}
    for filter_ in (f'{{"account_id": {theirs}}}', f'{{"organisation_id": {market.org_b_id}}}'):
        response = client.get(f"{API}/ledger", params={"filter": filter_},
                              headers=market.manager_a)
        assert response.status_code == 404


def test_the_ledger_lists_postings_with_filters_and_content_range(client, market):
    bank_top_up(client, market, document="A-1")
    bank_top_up(client, market, document="A-2", amount=5_000)
    response = client.get(f"{API}/ledger", headers=market.finance,
                          params={"filter": '{"kind": "top_up", "account_kind": "available"}',
                                  "sort": '["amount_minor", "DESC"]', "range": "[0, 0]"})
    assert response.status_code == 200, response.text
    assert response.headers["Content-Range"] == "ledger 0-0/2"
    assert [row["amount_minor"] for row in response.json()] == [150_000]
    today = date.today().isoformat()
    dated = client.get(f"{API}/ledger", headers=market.finance,
                       params={"filter": f'{{"created_at_gte": "2000-01-01", '
                                         f'"created_at_lte": "{today}"}}'})
    assert dated.headers["Content-Range"].endswith("/4")
    old = client.get(f"{API}/ledger", headers=market.finance,
                     params={"filter": '{"created_at_lte": "2000-01-01"}'})
    assert old.json() == []


def test_a_statement_has_opening_movements_and_closing_in_roubles(client, market):
    bank_top_up(client, market, document="A-1", amount=150_000)
    bank_top_up(client, market, document="A-2", amount=2_550)
    account = client.get(f"{API}/accounts", headers=market.manager_a).json()[0]["id"]
    response = client.get(f"{API}/accounts/{account}/statement.csv",
                          params={"from": "2000-01-01", "to": "2100-01-01"},
                          headers=market.manager_a)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [r["kind"] for r in rows] == ["opening_balance", "top_up", "top_up",
                                         "closing_balance"]
    assert [r["amount"] for r in rows[1:3]] == ["1500.00", "25.50"]
    assert rows[0]["balance"] == "0.00" and rows[-1]["balance"] == "1525.50"
    later = client.get(f"{API}/accounts/{account}/statement.csv",
                       params={"from": "2100-01-01", "to": "2100-01-31"},
                       headers=market.manager_a)
    later_rows = list(csv.DictReader(io.StringIO(later.text)))
    assert [(r["kind"], r["balance"]) for r in later_rows] == [
        ("opening_balance", "1525.50"), ("closing_balance", "1525.50")]


def test_low_balance_threshold_is_kept_per_organisation(client, market):
    bank_top_up(client, market, document="A-1")
    account = client.get(f"{API}/accounts", headers=market.manager_a).json()[0]["id"]
    response = client.patch(f"{API}/accounts/{account}", headers=market.manager_a,
                            json={"low_balance_threshold_minor": 50_000})
    assert response.status_code == 200, response.text
    assert response.json()["low_balance_threshold_minor"] == 50_000
    assert client.patch(f"{API}/accounts/{account}", headers=market.manager_b,
                        json={"low_balance_threshold_minor": 1}).status_code == 404


def test_the_cabinet_reads_whether_cards_can_top_up_from_the_api(client, market):
    from core.settings import get_settings

    off = client.get(f"{API}/billing/config", headers=market.manager_a)
    assert off.status_code == 200, off.text
    assert off.json() == {"card_top_ups": False, "stripe_publishable_key": None,
                          "stripe_js_url": None}
    assert client.get(f"{API}/billing/config").status_code == 401

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("STRIPE_SECRET_KEY", "sk_test_x")
        patch.setenv("STRIPE_WEBHOOK_SECRET", "whsec_test")
        patch.setenv("STRIPE_PUBLISHABLE_KEY", "pk_test_x")
        patch.setenv("STRIPE_JS_URL", "http://127.0.0.1:8420/js.stripe.com/v3/")
        get_settings.cache_clear()
        try:
            on = client.get(f"{API}/billing/config", headers=market.manager_a).json()
        finally:
            get_settings.cache_clear()
    assert on == {"card_top_ups": True, "stripe_publishable_key": "pk_test_x",
                  "stripe_js_url": "http://127.0.0.1:8420/js.stripe.com/v3/"}
