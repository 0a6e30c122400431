"""The settlement feed: the supplier discounts captured on one day, per organisation,
campaign, SKU and store, for the retailer's accounting (to book the supplier
compensation) and for each supplier's own books.

It is read from the ledger itself: every capture into the retailer's
`supplier_compensation` account and every reversal out of it (a return) on that day, in
the retailer's time zone. The SKU and store come from the capture's memo (the checkout
writes them there); a reversal is booked on the day it happened, against the SKU and store
of the capture it reverses. So a day's totals are, by construction, the ledger's captures
minus reversals for each campaign and organisation.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Select, and_, case, func, select
from sqlalchemy.orm import Session, aliased

from billing.models import Account, AccountKind, Posting, Transaction, TransactionKind
from core.errors import Invalid
from core.money import from_minor
from core.settings import get_settings
from marketplace_api.identity.models import Organisation

CSV_COLUMNS = ("kind", "day", "organisation_id", "organisation", "supplier_id", "campaign_id",
               "sku", "store_id", "currency", "captured", "reversed", "net")


@dataclass(frozen=True, slots=True)
class SettlementLine:
    organisation_id: int | None
    organisation: str | None
    supplier_id: str | None
    campaign_id: str | None
    sku: str | None
    store_id: str | None
    currency: str
    captured_minor: int
    reversed_minor: int

    @property
    def net_minor(self) -> int:
        return self.captured_minor - self.reversed_minor


@dataclass(frozen=True, slots=True)
class Settlement:
    day: date
    timezone: str
    lines: list[SettlementLine]
    totals: list[SettlementLine]  # per organisation, campaign and currency (no SKU, store)


FIRST_DAY, LAST_DAY = date(1900, 1, 1), date(9999, 12, 30)


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """The retailer's local day as [start, end) instants."""
    if not FIRST_DAY <= day <= LAST_DAY:
        raise Invalid(f"No settlement for {day}: give a day from {FIRST_DAY} to {LAST_DAY}",
                      errors={"day": "out of range"})
    zone = ZoneInfo(get_settings().retail_timezone)
    start = datetime.combine(day, time.min, tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=zone)
    return start, end


def compensation_movements() -> Select:
    """Captures and their reversals as signed amounts on the retailer's
    `supplier_compensation` account (a capture positive, a reversal negative), with the
    transaction and the capture it stands for (`capture_id`). Filter and group it."""
    capture_id = case((Transaction.kind == TransactionKind.reversal, Transaction.reverses_id),
                      else_=Transaction.id)
    return (select(Transaction.id, Transaction.kind, Transaction.created_at,
                   Transaction.organisation_id, Transaction.campaign_id,
                   capture_id.label("capture_id"), Posting.amount_minor, Posting.currency)
            .join(Posting, Posting.transaction_id == Transaction.id)
            .join(Account, and_(Account.id == Posting.account_id,
                                Account.kind == AccountKind.supplier_compensation))
            .where(Transaction.kind.in_([TransactionKind.capture, TransactionKind.reversal])))


def settlement(*, db: Session, day: date, organisation_id: int | None) -> Settlement:
    """The day's captured discounts; `organisation_id` None means every organisation."""
    start, end = day_bounds(day)
    statement = compensation_movements().where(Transaction.created_at >= start,
                                               Transaction.created_at < end)
    if organisation_id is not None:
        statement = statement.where(Transaction.organisation_id == organisation_id)
    moved = statement.subquery()
    capture = aliased(Transaction)
    sku = capture.memo["sku"].as_string()
    store_id = capture.memo["store_id"].as_string()
    captured = func.sum(case((moved.c.amount_minor > 0, moved.c.amount_minor), else_=0))
    reversed_ = -func.sum(case((moved.c.amount_minor < 0, moved.c.amount_minor), else_=0))
    rows = db.execute(
        select(moved.c.organisation_id, Organisation.name, Organisation.supplier_id,
               moved.c.campaign_id, sku.label("sku"), store_id.label("store_id"),
               moved.c.currency, captured.label("captured"), reversed_.label("reversed"))
        .join(capture, capture.id == moved.c.capture_id)
        .outerjoin(Organisation, Organisation.id == moved.c.organisation_id)
        .group_by(moved.c.organisation_id, Organisation.name, Organisation.supplier_id,
                  moved.c.campaign_id, sku, store_id, moved.c.currency)
        .order_by(moved.c.organisation_id, moved.c.campaign_id, sku, store_id,
                  moved.c.currency)).all()
    lines = [SettlementLine(organisation_id=row.organisation_id, organisation=row.name,
                            supplier_id=row.supplier_id, campaign_id=row.campaign_id,
                            sku=row.sku, store_id=row.store_id, currency=row.currency,
                            captured_minor=int(row.captured or 0),
                            reversed_minor=int(row.reversed or 0)) for row in rows]
    return Settlement(day=day, timezone=get_settings().retail_timezone, lines=lines,
                      totals=_totals(lines))


def _totals(lines: list[SettlementLine]) -> list[SettlementLine]:
    sums: dict[tuple, list[int]] = {}
    names: dict[tuple, tuple[str | None, str | None]] = {}
    for line in lines:
        key = (line.organisation_id, line.campaign_id, line.currency)
        sums.setdefault(key, [0, 0])
        sums[key][0] += line.captured_minor
        sums[key][1] += line.reversed_minor
        names[key] = (line.organisation, line.supplier_id)
    return [SettlementLine(organisation_id=key[0], organisation=names[key][0],
                           supplier_id=names[key][1], campaign_id=key[1], sku=None,
                           store_id=None, currency=key[2], captured_minor=captured,
                           reversed_minor=reversed_)
            for key, (captured, reversed_) in sums.items()]


def settlement_csv(found: Settlement) -> str:
    """One row per organisation, campaign, SKU and store (`kind` line), then one per
    organisation and campaign (`kind` campaign_total); amounts as decimal text."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for kind, rows in (("line", found.lines), ("campaign_total", found.totals)):
        for row in rows:
            writer.writerow([
                kind, found.day.isoformat(), row.organisation_id, row.organisation or "",
                row.supplier_id or "", row.campaign_id or "", row.sku or "",
                row.store_id or "", row.currency,
                from_minor(row.captured_minor, row.currency),
                from_minor(row.reversed_minor, row.currency),
                from_minor(row.net_minor, row.currency)])
    return out.getvalue()
