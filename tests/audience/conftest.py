"""Audience fixtures: a small retailer with known shoppers, and clean snapshots."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert

from audience import service
from core.db import session_scope
from core.settings import get_settings
from retail.models import Customer, Product, ReceiptLine, Store
from tests import factories

AS_OF = datetime(2026, 3, 1, 18, tzinfo=UTC)
SHOPPERS = 1500
APP_USERS = 1234     # shoppers 0 … 1233 have the app
CAT_OWNERS = 95      # shoppers 0 … 94 bought cat food twice: fewer than the minimum of 100


@pytest.fixture(autouse=True)
def _fresh_snapshot():
    service.forget_snapshot()
    yield
    service.forget_snapshot()


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    """Feature files under this test's folder (pg_db does not set DATA_DIR)."""
    folder = tmp_path / "data"
    monkeypatch.setenv("DATA_DIR", str(folder))
    get_settings.cache_clear()
    return folder


def shopper_id(number: int) -> str:
    return f"C{number:05d}"


def add_shoppers(*, first: int = 0, count: int = SHOPPERS, days_ago: float = 3.0) -> None:
    """Shoppers `first` … with a milk receipt each; the first CAT_OWNERS also two cat food
    receipts in another store; a third of them live in Kazan and shop at ST-3."""
    customers, lines = [], []
    for number in range(first, first + count):
        customer_id = shopper_id(number)
        kazan = number % 3 == 0
        customers.append({"customer_id": customer_id, "region": "Казань" if kazan else "Москва",
                          "has_app": number < APP_USERS, "loyalty_tier": "gold" if number % 2
                          else "base", "birth_year": 1960 + number % 40,
                          "gender": "f" if number % 2 else "m"})
        home = "ST-3" if kazan else "ST-1"
        when = AS_OF - timedelta(days=days_ago, minutes=number)
        lines.append(_line(when, f"R{number}-milk", "A-0", customer_id, home, 100_000))
        if number < CAT_OWNERS:
            for visit in (1, 2):
                lines.append(_line(when - timedelta(days=visit), f"R{number}-cat{visit}",
                                   "CAT-1", customer_id, "ST-2", 20_000))
    with session_scope() as db:
        db.execute(insert(Customer), customers)
        db.execute(insert(ReceiptLine), lines)


def add_receipts(numbers, *, days_ago: float, sku: str = "CAT-1", store_id: str = "ST-2",
                 paid: int = 20_000) -> None:
    """One receipt of one line for each of the given shoppers."""
    when = AS_OF - timedelta(days=days_ago)
    with session_scope() as db:
        db.execute(insert(ReceiptLine), [
            _line(when - timedelta(minutes=number), f"R{number}-{sku}-{days_ago}", sku,
                  shopper_id(number), store_id, paid) for number in numbers])


def _line(when, receipt_id, sku, customer_id, store_id, paid):
    return {"sold_at": when, "receipt_id": receipt_id, "sku": sku, "customer_id": customer_id,
            "store_id": store_id, "qty": 1.0, "paid_amount_minor": paid,
            "discount_amount_minor": 0, "promo_flag": False, "currency": "RUB"}


@dataclass
class World:
    market: factories.Marketplace


def make_world(*, build: bool = True) -> World:
    market = factories.marketplace()
    with session_scope() as db:
        db.add(Store(store_id="ST-3", name="Баумана", region="Казань", city="Казань"))
        db.add(Product(sku="CAT-1", name="Корм Мурлыка", supplier_id="SUP-A",
                       category="Корм для кошек", brand="Мурлыка", regular_price_minor=20_000,
                       cost_price_minor=15_000, currency="RUB"))
        for store in db.query(Store).filter(Store.store_id.in_(["ST-1", "ST-2"])):
            store.region = "Москва"
    add_shoppers()
    if build:
        service.build_features()
    return World(market=market)


@pytest.fixture
def world(client, data_dir) -> World:
    return make_world()
