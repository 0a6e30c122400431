"""A receipt's captures go to the ledger after its commit, in a batch. When that batch
fails (the database went away between the two), the lines stay `pending` and nothing is
lost: the till's repeat of the receipt, a return, or the beat task captures them, once."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from billing import service as billing
from core.db import session_scope, utcnow
from marketplace_api.offers import service as offers
from marketplace_api.offers.holdout import in_holdout
from marketplace_api.offers.models import LineStatus
from marketplace_api.offers.models import ReceiptLine as CheckoutLine
from marketplace_api.offers.schemas import ReceiptIn

pytestmark = pytest.mark.integration

MEMBERS = [f"shopper-{i:03d}" for i in range(12)]
PRICE = 10_000  # a 20 % offer: 2,000 a unit


def _committed_without_capture(receipt_id: str, buyer: str, qty: int, ts: datetime) -> None:
    """The receipt's own transaction committed; its capture batch never ran."""
    with session_scope() as db:
        offers.process_receipt(db=db, data=ReceiptIn.model_validate({
            "receipt_id": receipt_id, "customer_id": buyer, "store_id": "ST-1",
            "ts": ts.isoformat(),
            "lines": [{"sku": "A-1", "qty": qty, "price_minor": PRICE}]}))


def _lines() -> dict[str, tuple[str, int | None]]:
    with session_scope() as db:
        return {r: (s, t) for r, s, t in db.execute(
            select(CheckoutLine.receipt_id, CheckoutLine.status,
                   CheckoutLine.capture_transaction_id).where(CheckoutLine.sku == "A-1"))}


def _report(shop, campaign_id: int) -> tuple[int, int]:
    found = shop.client.get(f"/api/v1/campaigns/{campaign_id}/report",
                            headers=shop.market.marketer).json()
    return found["captured_minor"], found["reversed_minor"]


def test_pending_captures_are_made_by_a_repeat_a_return_or_the_beat(shop):
    market = shop.market
    campaign_id = shop.launch(organisation_id=market.org_a_id, skus=["A-0", "A-1"],
                              members=MEMBERS, holdout_bp=0, store_ids=["ST-1"])
    buyer = next(m for m in MEMBERS
                 if not in_holdout(campaign_id=campaign_id, customer_id=m, holdout_bp=0))
    shop.activate(campaign_id, buyer, "A-1")

    sold_at = utcnow() - timedelta(minutes=1)
    _committed_without_capture("r-1", buyer, 1, sold_at)
    _committed_without_capture("r-2", buyer, 2, sold_at)
    _committed_without_capture("r-3", buyer, 1, sold_at)
    assert {r: s for r, (s, _) in _lines().items()} == dict.fromkeys(
        ["r-1", "r-2", "r-3"], LineStatus.pending)
    assert _report(shop, campaign_id) == (0, 0)  # no money moved yet

    # The till sends r-1 again (it never heard back): the same answer, and now the capture.
    again = shop.receipt("r-1", buyer, "ST-1", {"A-1": 1}, price_minor=PRICE, ts=sold_at)
    assert again["discount_minor"] == 2000
    other = shop.client.post("/api/v1/pos/receipts", headers=shop.pos_key, json={
        "receipt_id": "r-1", "customer_id": buyer, "store_id": "ST-1",
        "ts": sold_at.isoformat(), "lines": [{"sku": "A-1", "qty": 2, "price_minor": PRICE}]})
    assert other.status_code == 422, other.text  # the same id with another body
    # A return of one of r-2's two units: captured first, then that unit reversed.
    assert shop.give_back("r-2", {"A-1": 1})["reversed_minor"] == 2000
    assert _report(shop, campaign_id) == (6000, 2000)
    assert _lines()["r-3"][0] == LineStatus.pending

    # The beat task captures what is left, once.
    with session_scope() as db:
        assert offers.capture_pending(db=db, older_than=utcnow() - utcnow()) == 1
    with session_scope() as db:
        assert offers.capture_pending(db=db, older_than=utcnow() - utcnow()) == 0
    lines = _lines()
    assert all(status == LineStatus.captured and tx for status, tx in lines.values())
    assert len({tx for _, tx in lines.values()}) == 3
    assert _report(shop, campaign_id) == (8000, 2000)
    with session_scope() as db:
        assert billing.check_ledger(db=db) == []
