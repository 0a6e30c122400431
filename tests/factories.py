"""Test data builders: catalogue rows, organisations, users, API keys, and logged-in headers.

Builders take a session and flush, so a test writes `with session_scope() as db:` around
what it sets up and reads the returned objects' plain attributes afterwards.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from functools import lru_cache

from argon2 import PasswordHasher
from sqlalchemy.orm import Session

from core.db import session_scope
from marketplace_api.identity import service as identity
from marketplace_api.identity.models import (
    ApiKeyKind,
    Organisation,
    OrganisationKind,
    Role,
    User,
)
from retail.models import Product, Store, Supplier

PASSWORD = "correct-horse-battery"
_numbers = itertools.count(1)


@lru_cache(maxsize=1)
def _password_hash() -> str:
    # A real Argon2 hash of PASSWORD made once: hashing costs ~0.2 s, and the service's
    # own hashing is tested where it matters (tests/marketplace_api/test_identity.py).
    return PasswordHasher().hash(PASSWORD)


# --- the retailer's catalogue --------------------------------------------------------------

def supplier(db: Session, *, supplier_id: str | None = None, name: str | None = None) -> Supplier:
    supplier_id = supplier_id or f"S{next(_numbers)}"
    row = db.get(Supplier, supplier_id)
    if row is None:
        row = Supplier(supplier_id=supplier_id, name=name or f"Supplier {supplier_id}")
        db.add(row)
        db.flush()
    return row


def product(db: Session, *, supplier_id: str, sku: str | None = None,
            name: str | None = None, category: str = "Dairy", brand: str | None = None,
            regular_price_minor: int = 10_000, cost_price_minor: int | None = 7_000) -> Product:
    sku = sku or f"SKU{next(_numbers)}"
    row = Product(sku=sku, name=name or f"Product {sku}", supplier_id=supplier_id,
                  category=category, brand=brand, regular_price_minor=regular_price_minor,
                  cost_price_minor=cost_price_minor, currency="RUB")
    db.add(row)
    db.flush()
    return row


def store(db: Session, *, store_id: str | None = None, name: str | None = None,
          region: str = "Moscow", city: str = "Moscow") -> Store:
    store_id = store_id or f"ST{next(_numbers)}"
    row = Store(store_id=store_id, name=name or f"Store {store_id}", region=region, city=city,
                format="hyper")
    db.add(row)
    db.flush()
    return row


# --- identity ------------------------------------------------------------------------------

def retailer_org(db: Session, *, name: str = "Retailer") -> Organisation:
    return identity.create_organisation(db=db, name=name, kind=OrganisationKind.retailer)


def supplier_org(db: Session, *, supplier_id: str | None = None,
                 name: str | None = None) -> Organisation:
    """A supplier organisation, creating the retailer's supplier row it stands for."""
    row = supplier(db, supplier_id=supplier_id)
    return identity.create_organisation(db=db, name=name or f"Org of {row.supplier_id}",
                                        kind=OrganisationKind.supplier,
                                        supplier_id=row.supplier_id)


def user(db: Session, *, organisation: Organisation, role: Role, email: str | None = None,
         is_active: bool = True, full_name: str = "") -> User:
    """A user whose password is PASSWORD (hashed once per test run, see _password_hash)."""
    row = User(organisation=organisation, role=role, is_active=is_active,
               email=email or f"user{next(_numbers)}@example.com",
               full_name=full_name or f"{role} {organisation.name}",
               password_hash=_password_hash())
    db.add(row)
    db.flush()
    return row


def api_key(db: Session, *, organisation: Organisation, kind: ApiKeyKind,
            name: str | None = None) -> str:
    """A new key's secret."""
    return identity.create_api_key(db=db, organisation=organisation, kind=kind,
                                   name=name or f"{kind} key").secret


def bearer(user: User) -> dict[str, str]:
    """Headers of a logged-in user, without the cost of the login's password check."""
    return {"Authorization": f"Bearer {identity.issue_token(user=user)}"}


def login(client, email: str, password: str = PASSWORD) -> dict[str, str]:
    """Headers of a user logged in through the API, as the web cabinet does it."""
    response = client.post("/api/v1/auth/token", data={"username": email, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


# --- a small marketplace -------------------------------------------------------------------

@dataclass
class Marketplace:
    """The retailer with its three staff roles, two suppliers with a manager and products
    each, and two stores. Attributes are ids, emails and header dicts."""

    retailer_id: int
    admin_id: int
    admin: dict[str, str]
    marketer_id: int
    marketer: dict[str, str]
    finance: dict[str, str]
    org_a_id: int
    org_b_id: int
    manager_a_id: int
    manager_a_email: str
    manager_a: dict[str, str]
    manager_b_id: int
    manager_b: dict[str, str]
    products_a: list[str]
    products_b: list[str]
    supplier_a: str = "SUP-A"
    supplier_b: str = "SUP-B"


def marketplace() -> Marketplace:
    """Builds the marketplace in its own committed transaction (the API sees it)."""
    with session_scope() as db:
        retailer = retailer_org(db)
        admin = user(db, organisation=retailer, role=Role.admin, email="admin@retailer.test")
        marketer = user(db, organisation=retailer, role=Role.retail_marketer,
                        email="marketer@retailer.test")
        finance = user(db, organisation=retailer, role=Role.finance_officer,
                       email="finance@retailer.test")
        org_a = supplier_org(db, supplier_id="SUP-A", name="Molochny Dom")
        org_b = supplier_org(db, supplier_id="SUP-B", name="Chai Brothers")
        manager_a = user(db, organisation=org_a, role=Role.supplier_manager,
                         email="manager@sup-a.test")
        manager_b = user(db, organisation=org_b, role=Role.supplier_manager,
                         email="manager@sup-b.test")
        products_a = [product(db, supplier_id="SUP-A", sku=f"A-{i}", category="Dairy",
                              brand="Milky").sku for i in range(3)]
        products_b = [product(db, supplier_id="SUP-B", sku=f"B-{i}", category="Tea",
                              brand="Leafy").sku for i in range(2)]
        store(db, store_id="ST-1", name="Tverskaya")
        store(db, store_id="ST-2", name="Arbat", city="Moscow")
        return Marketplace(
            retailer_id=retailer.id, admin_id=admin.id, admin=bearer(admin),
            marketer_id=marketer.id, marketer=bearer(marketer), finance=bearer(finance),
            org_a_id=org_a.id, org_b_id=org_b.id,
            manager_a_id=manager_a.id, manager_a_email=manager_a.email,
            manager_a=bearer(manager_a), manager_b_id=manager_b.id,
            manager_b=bearer(manager_b), products_a=products_a, products_b=products_b)
