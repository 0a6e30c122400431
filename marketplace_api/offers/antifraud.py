"""Antifraud rules that retail promo teams already use, applied to every receipt that gets
a supplier discount. A flagged receipt's discounts are still given at the till but not
captured: they wait for the retail marketer's review (approve → captured, reject →
released). Which rules run and their thresholds are settings (ANTIFRAUD_*):

- `receipt_burst`: more than ANTIFRAUD_RECEIPTS_PER_HOUR receipts with supplier discounts
  from one shopper within an hour (this one included);
- `shared_identity`: ANTIFRAUD_SHARED_ACCOUNTS or more loyalty accounts sharing one phone
  (hash) or device have redeemed supplier discounts within ANTIFRAUD_SHARED_DAYS (this
  one included) — one person collecting several shoppers' personal discounts;
- `store_outside_campaign`: a discount redeemed at a store the campaign does not run in.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from core.settings import get_settings
from marketplace_api.offers.models import Receipt
from retail.models import Customer

RULES = ("receipt_burst", "shared_identity", "store_outside_campaign")


def enabled_rules() -> set[str]:
    names = {name.strip() for name in get_settings().antifraud_rules.split(",") if name.strip()}
    unknown = names - set(RULES)
    if unknown:
        raise ValueError(f"ANTIFRAUD_RULES names unknown rules {sorted(unknown)}; "
                         f"known: {', '.join(RULES)}")
    return names


def evaluate(*, db: Session, customer_id: str | None, store_id: str, sold_at: datetime,
             receipt_id: str, outside_campaigns: list[int]) -> dict[str, Any]:
    """The rules this receipt breaks, each with what was seen (empty: none)."""
    settings = get_settings()
    rules = enabled_rules()
    found: dict[str, Any] = {}
    if "store_outside_campaign" in rules and outside_campaigns:
        found["store_outside_campaign"] = {"store_id": store_id,
                                           "campaign_ids": outside_campaigns}
    if customer_id is None:
        return found
    if "receipt_burst" in rules:
        earlier = db.scalar(
            select(func.count()).select_from(Receipt)
            .where(Receipt.customer_id == customer_id, Receipt.receipt_id != receipt_id,
                   Receipt.discount_minor > 0,
                   Receipt.sold_at > sold_at - timedelta(hours=1),
                   Receipt.sold_at <= sold_at)) or 0
        if earlier + 1 > settings.antifraud_receipts_per_hour:
            found["receipt_burst"] = {"receipts_within_hour": earlier + 1,
                                      "allowed": settings.antifraud_receipts_per_hour}
    if "shared_identity" in rules:
        accounts = _sharing_accounts(db, customer_id=customer_id, sold_at=sold_at,
                                     days=settings.antifraud_shared_days)
        if len(accounts) >= settings.antifraud_shared_accounts:
            found["shared_identity"] = {"accounts_redeeming": len(accounts),
                                        "allowed": settings.antifraud_shared_accounts - 1}
    return found


def _sharing_accounts(db: Session, *, customer_id: str, sold_at: datetime,
                      days: int) -> set[str]:
    """This shopper and the other accounts with the same phone hash or device that
    redeemed supplier discounts lately (ids stay inside the retailer's systems)."""
    me = db.get(Customer, customer_id)
    if me is None or (not me.phone_hash and not me.device_id):
        return {customer_id}
    same = []
    if me.phone_hash:
        same.append(Customer.phone_hash == me.phone_hash)
    if me.device_id:
        same.append(Customer.device_id == me.device_id)
    others = select(Customer.customer_id).where(or_(*same),
                                                Customer.customer_id != customer_id)
    redeeming = db.scalars(
        select(Receipt.customer_id).distinct()
        .where(Receipt.customer_id.in_(others), Receipt.discount_minor > 0,
               Receipt.sold_at > sold_at - timedelta(days=days),
               Receipt.sold_at <= sold_at))
    return {customer_id, *redeeming}
