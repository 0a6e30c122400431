"""The campaign report as its readers meet it: a small campaign with known receipts (imported
lines and one checkout receipt with a return) gives known group means, the Welch interval,
the ledger's spend and iROAS; a supplier sees no small counts and no shopper; another
supplier gets 404."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from scipy import stats

from core.db import session_scope, utcnow
from core.settings import get_settings
from marketplace_api.offers.holdout import in_holdout
from retail.models import ReceiptLine

pytestmark = pytest.mark.integration

MEMBERS = [f"shopper-{i:03d}" for i in range(30)]
PRICE = 10_000
BUDGET = 100_000


@dataclass
class Sold:
    campaign_id: int
    treated: list[str]
    holdout: list[str]
    treated_units: np.ndarray
    treated_revenue: np.ndarray
    holdout_units: np.ndarray
    holdout_revenue: np.ndarray
    pos_sold_at: object


def _line(receipt_id, customer_id, sku, qty, sold_at, store_id="ST-1"):
    return ReceiptLine(receipt_id=receipt_id, customer_id=customer_id, sku=sku, qty=qty,
                       store_id=store_id, sold_at=sold_at, paid_amount_minor=qty * PRICE,
                       discount_amount_minor=0, promo_flag=False, currency="RUB")


def _campaign_with_sales(shop) -> Sold:
    """A campaign on A-0 and A-1 in store ST-1, half its segment held out. Treated shopper k
    bought 1 + k % 3 units of A-0, holdout shopper k bought k % 2 (imported receipts); the
    first treated shopper also bought 3 × A-1 with the discount at the checkout and returned
    one. Lines that must not count: another SKU, another store, before the start, an
    anonymous buyer, a shopper outside the segment."""
    market = shop.market
    campaign_id = shop.launch(organisation_id=market.org_a_id, skus=["A-0", "A-1"],
                              members=MEMBERS, holdout_bp=5000, store_ids=["ST-1"],
                              budget_minor=BUDGET)
    held = [m for m in MEMBERS if in_holdout(campaign_id=campaign_id, customer_id=m,
                                             holdout_bp=5000)]
    treated = [m for m in MEMBERS if m not in held]
    now = utcnow()
    sold_at = now - timedelta(days=1)
    t_units = np.array([1 + k % 3 for k in range(len(treated))], dtype=float)
    h_units = np.array([k % 2 for k in range(len(held))], dtype=float)
    with session_scope() as db:
        for k, customer_id in enumerate(treated):
            db.add(_line(f"imp-t{k}", customer_id, "A-0", int(t_units[k]), sold_at))
        for k, customer_id in enumerate(held):
            if h_units[k]:
                db.add(_line(f"imp-h{k}", customer_id, "A-0", int(h_units[k]), sold_at))
        noisy = treated[1]
        db.add_all([
            _line("noise-1", noisy, "B-0", 5, sold_at),
            _line("noise-2", noisy, "A-0", 5, sold_at, store_id="ST-2"),
            _line("noise-3", noisy, "A-0", 5, now - timedelta(days=5)),
            _line("noise-4", None, "A-0", 5, sold_at),
            _line("noise-5", "not-a-member", "A-0", 5, sold_at),
        ])

    buyer = treated[0]
    shop.activate(campaign_id, buyer, "A-1")
    pos_sold_at = utcnow() - timedelta(minutes=1)
    answer = shop.receipt("pos-1", buyer, "ST-1", {"A-1": 3}, ts=pos_sold_at)
    assert answer["discount_minor"] == 3 * 2000
    assert shop.give_back("pos-1", {"A-1": 1})["reversed_minor"] == 2000

    t_revenue = t_units * PRICE
    t_units[0] += 2                       # 3 bought, 1 returned
    t_revenue[0] += 2 * PRICE - 2 * 2000  # paid for the two kept, after the discount
    return Sold(campaign_id=campaign_id, treated=treated, holdout=held,
                treated_units=t_units, treated_revenue=t_revenue, holdout_units=h_units,
                holdout_revenue=h_units * PRICE, pos_sold_at=pos_sold_at)


def _welch(a: np.ndarray, b: np.ndarray) -> tuple[float, float, float]:
    """Welch's interval worked out by hand: the check on the report's use of scipy."""
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    df = (va + vb) ** 2 / (va ** 2 / (len(a) - 1) + vb ** 2 / (len(b) - 1))
    half = stats.t.ppf(0.975, df) * math.sqrt(va + vb)
    difference = a.mean() - b.mean()
    return difference, difference - half, difference + half


def test_the_report_shows_delivery_spend_and_the_effect_over_the_holdout(shop):
    sold = _campaign_with_sales(shop)
    response = shop.client.get(f"/api/v1/campaigns/{sold.campaign_id}/report",
                               headers=shop.market.marketer)
    assert response.status_code == 200, response.text
    found = response.json()
    n_treated, n_holdout = len(sold.treated), len(sold.holdout)
    assert n_treated >= 5 and n_holdout >= 5

    assert found["segment_members"]["count"] == len(MEMBERS)
    assert (found["treated"]["count"], found["holdout"]["count"]) == (n_treated, n_holdout)
    assert found["offered_shoppers"]["count"] == n_treated
    assert found["served_shoppers"]["count"] == 1
    assert found["activated_shoppers"]["count"] == 1
    assert found["redeemed_shoppers"]["count"] == 1
    assert found["redeemed_units"] == 2
    assert (found["captured_minor"], found["reversed_minor"], found["spent_minor"]) \
        == (6000, 2000, 4000)
    assert found["budget_minor"] == BUDGET
    assert found["budget_left_minor"] == BUDGET - 4000

    zone = ZoneInfo(get_settings().retail_timezone)
    today = utcnow().astimezone(zone).date().isoformat()
    sale_day = sold.pos_sold_at.astimezone(zone).date().isoformat()
    days = {day["date"]: day for day in found["daily"]}
    assert len(days) == 4  # from the campaign's first day (3 days ago) to today
    assert days[today]["spend_minor"] == 4000
    assert days[sale_day]["redemptions"]["count"] == 1 and days[sale_day]["units"] == 2
    assert days[today]["activations"]["count"] == 1
    assert sum(day["spend_minor"] for day in found["daily"]) == 4000

    effect = found["effect"]
    assert effect["available"], effect
    assert effect["treated"]["units_per_shopper"] == pytest.approx(sold.treated_units.mean(),
                                                                   abs=1e-4)
    assert effect["holdout"]["units_per_shopper"] == pytest.approx(sold.holdout_units.mean(),
                                                                   abs=1e-4)
    assert effect["treated"]["revenue_per_shopper_minor"] == round(sold.treated_revenue.mean())
    difference, low, high = _welch(sold.treated_units, sold.holdout_units)
    assert effect["units_per_shopper"] == pytest.approx(
        {"estimate": difference, "low": low, "high": high})
    assert effect["incremental_units"] == pytest.approx(
        {"estimate": difference * n_treated, "low": low * n_treated,
         "high": high * n_treated})
    revenue, revenue_low, revenue_high = _welch(sold.treated_revenue, sold.holdout_revenue)
    assert effect["incremental_revenue"] == {
        "estimate_minor": round(revenue * n_treated),
        "low_minor": math.floor(revenue_low * n_treated),
        "high_minor": math.ceil(revenue_high * n_treated)}
    assert effect["iroas"]["estimate"] == pytest.approx(revenue * n_treated / 4000)


def test_a_supplier_sees_no_small_counts_and_no_shopper(shop):
    sold = _campaign_with_sales(shop)
    for headers in (shop.market.manager_a, shop.market.marketer):
        response = shop.client.get(f"/api/v1/campaigns/{sold.campaign_id}/report",
                                   headers=headers)
        assert response.status_code == 200, response.text
        assert "shopper-" not in response.text and "not-a-member" not in response.text

    found = shop.client.get(f"/api/v1/campaigns/{sold.campaign_id}/report",
                            headers=shop.market.manager_a).json()
    below = {"count": None, "label": "< 100", "exact": False, "below_minimum": True}
    for name in ("segment_members", "treated", "holdout", "offered_shoppers",
                 "served_shoppers", "activated_shoppers", "redeemed_shoppers"):
        assert found[name] == below, name
    for day in found["daily"]:
        assert day["served"]["count"] is None and day["activations"]["count"] is None
        assert day["redemptions"]["label"] == "< 100"
    # Sums stay: what the supplier paid is its own money.
    assert found["spent_minor"] == 4000
    # Means over a handful of shoppers would describe single shoppers: withheld.
    assert found["effect"]["available"] is False
    assert found["effect"]["reason_code"] == "below_minimum"
    assert "fewer than 100" in found["effect"]["reason"]
    assert found["effect"]["treated"] is None and found["effect"]["incremental_units"] is None


def test_another_supplier_gets_404_for_the_report(shop):
    sold = _campaign_with_sales(shop)
    response = shop.client.get(f"/api/v1/campaigns/{sold.campaign_id}/report",
                               headers=shop.market.manager_b)
    assert response.status_code == 404
    assert response.json()["code"] == "campaign_not_found"
    missing = shop.client.get("/api/v1/campaigns/999999/report", headers=shop.market.manager_b)
    assert missing.status_code == 404 and missing.json()["message"] == response.json()[
        "message"].replace(str(sold.campaign_id), "999999")
    assert shop.client.get(f"/api/v1/campaigns/{sold.campaign_id}/report").status_code == 401
    assert shop.client.get(f"/api/v1/campaigns/{2**40}/report",
                           headers=shop.market.marketer).status_code == 422


def test_before_launch_the_report_has_no_effect_yet(shop):
    market = shop.market
    campaign_id = shop.launch(organisation_id=market.org_a_id, skus=["A-0"], members=MEMBERS,
                              starts_at=utcnow() + timedelta(days=2),
                              ends_at=utcnow() + timedelta(days=9))
    found = shop.client.get(f"/api/v1/campaigns/{campaign_id}/report",
                            headers=market.marketer).json()
    assert found["effect"] == {**found["effect"], "available": False,
                               "reason_code": "not_started",
                               "reason": "The campaign has not started yet"}
    assert found["spent_minor"] == 0 and found["budget_left_minor"] == 100_000
    assert found["daily"] == []
