"""The settlement feed as the retailer's accounting and a supplier read it: captured
discounts per SKU, store and day whose totals are the ledger's captures minus reversals,
as JSON and CSV; a supplier sees only its own."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from billing.models import Account, AccountKind, Posting, Transaction, TransactionKind
from core.db import session_scope
from core.settings import get_settings

pytestmark = pytest.mark.integration

SHOPPERS = [f"buyer-{i:02d}" for i in range(12)]


def _ledger_net_by_campaign() -> dict[str, int]:
    """Captures minus reversals per campaign, read from the other side of the ledger: what
    left (and came back to) each campaign's `authorized` account."""
    with session_scope() as db:
        rows = db.execute(
            select(Account.campaign_id, -func.sum(Posting.amount_minor))
            .join(Posting, Posting.account_id == Account.id)
            .join(Transaction, Transaction.id == Posting.transaction_id)
            .where(Account.kind == AccountKind.authorized,
                   Transaction.kind.in_([TransactionKind.capture, TransactionKind.reversal]))
            .group_by(Account.campaign_id)).all()
    return {campaign_id: int(net) for campaign_id, net in rows}


def _booking_days() -> set[str]:
    zone = ZoneInfo(get_settings().retail_timezone)
    with session_scope() as db:
        moments = db.scalars(select(Transaction.created_at).where(
            Transaction.kind.in_([TransactionKind.capture, TransactionKind.reversal])))
        return {moment.astimezone(zone).date().isoformat() for moment in moments}


def _sell(shop) -> tuple[int, int]:
    """Two suppliers' campaigns; treated shoppers buy in two stores; one return."""
    market = shop.market
    campaign_a = shop.launch(organisation_id=market.org_a_id, skus=["A-0", "A-1"],
                             members=SHOPPERS, holdout_bp=0,
                             budget_minor=1_000_000)
    campaign_b = shop.launch(organisation_id=market.org_b_id, skus=["B-0"],
                             members=SHOPPERS, holdout_bp=0,
                             budget_minor=1_000_000)
    for k, shopper in enumerate(SHOPPERS[:6]):
        shop.activate(campaign_a, shopper, "A-0")
        shop.activate(campaign_a, shopper, "A-1")
        shop.activate(campaign_b, shopper, "B-0")
        store = "ST-1" if k % 2 else "ST-2"
        shop.receipt(f"r{k}", shopper, store, {"A-0": 1 + k % 3, "A-1": 1, "B-0": 2})
    shop.give_back("r1", {"A-0": 1, "B-0": 1})
    return campaign_a, campaign_b


def test_the_days_totals_are_the_ledgers_captures_minus_reversals(shop):
    campaign_a, campaign_b = _sell(shop)
    ledger = _ledger_net_by_campaign()
    assert ledger[str(campaign_a)] > 0 and ledger[str(campaign_b)] > 0

    net: dict[str, int] = {}
    lines_net: dict[str, int] = {}
    reversed_seen = 0
    for day in _booking_days():
        response = shop.client.get("/api/v1/settlement", params={"day": day},
                                   headers=shop.market.finance)
        assert response.status_code == 200, response.text
        feed = response.json()
        for total in feed["totals"]:
            assert total["net_minor"] == total["captured_minor"] - total["reversed_minor"]
            net[total["campaign_id"]] = net.get(total["campaign_id"], 0) + total["net_minor"]
            reversed_seen += total["reversed_minor"]
        for line in feed["lines"]:
            assert line["sku"] and line["store_id"] in ("ST-1", "ST-2")
            lines_net[line["campaign_id"]] = (lines_net.get(line["campaign_id"], 0)
                                              + line["net_minor"])
    assert net == ledger
    assert lines_net == ledger
    assert reversed_seen == 2000 + 2000  # one A-0 and one B-0 unit came back


def test_each_line_is_one_sku_in_one_store(shop):
    campaign_a, _ = _sell(shop)
    day = max(_booking_days())
    feed = shop.client.get("/api/v1/settlement", params={"day": day},
                           headers=shop.market.finance).json()
    lines = {(line["campaign_id"], line["sku"], line["store_id"]): line
             for line in feed["lines"]}
    # Shoppers 1, 3 and 5 bought at ST-1: 2 + 1 + 3 units of A-0 at 2000 off each, and
    # shopper 1 returned one of them.
    a0_st1 = lines[(str(campaign_a), "A-0", "ST-1")]
    assert a0_st1["organisation_id"] == shop.market.org_a_id
    assert a0_st1["supplier_id"] == "SUP-A"
    assert (a0_st1["captured_minor"], a0_st1["reversed_minor"]) == (6 * 2000, 2000)
    assert lines[(str(campaign_a), "A-1", "ST-2")]["captured_minor"] == 3 * 2000


def test_the_csv_reconciles_and_a_supplier_sees_only_its_own(shop):
    campaign_a, campaign_b = _sell(shop)
    ledger = _ledger_net_by_campaign()
    market = shop.market
    net: dict[str, Decimal] = {}
    for day in _booking_days():
        response = shop.client.get("/api/v1/settlement.csv", params={"day": day},
                                   headers=market.finance)
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(response.text)))
        for row in rows:
            if row["kind"] == "campaign_total":
                net[row["campaign_id"]] = net.get(row["campaign_id"], 0) + Decimal(row["net"])
        own = shop.client.get("/api/v1/settlement", params={"day": day},
                              headers=market.manager_a).json()
        assert {line["organisation_id"] for line in own["lines"]} <= {market.org_a_id}
        assert {total["campaign_id"] for total in own["totals"]} <= {str(campaign_a)}
    assert net == {campaign: Decimal(amount) / 100 for campaign, amount in ledger.items()}

    day = max(_booking_days())
    other = shop.client.get("/api/v1/settlement", params={"day": day,
                                                         "organisation_id": market.org_b_id},
                            headers=market.manager_a)
    assert other.status_code == 404
    assert shop.client.get("/api/v1/settlement.csv", params={
        "day": day, "organisation_id": market.org_b_id}, headers=market.manager_a
    ).status_code == 404
    only_b = shop.client.get("/api/v1/settlement", params={
        "day": day, "organisation_id": market.org_b_id}, headers=market.finance).json()
    assert {total["campaign_id"] for total in only_b["totals"]} == {str(campaign_b)}


def test_a_day_must_be_a_date(shop):
    response = shop.client.get("/api/v1/settlement", params={"day": "yesterday"},
                               headers=shop.market.finance)
    assert response.status_code == 422
    assert "day" in response.json()["errors"]
    assert shop.client.get("/api/v1/settlement", headers=shop.market.finance
                           ).status_code == 422
    edge = shop.client.get("/api/v1/settlement.csv", params={"day": "9999-12-31"},
                           headers=shop.market.finance)
    assert edge.status_code == 422 and edge.json()["errors"] == {"day": "out of range"}
