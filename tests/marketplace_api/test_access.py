"""Closed by default, and suppliers walled off from each other: every route but the public
ones needs a caller, and a supplier never reads or changes another supplier's data."""

from __future__ import annotations

import re

import pytest
from fastapi.routing import APIRoute, iter_route_contexts

from core.db import session_scope
from marketplace_api.identity.models import ApiKeyKind
from tests import factories

API = "/api/v1"
PUBLIC = {"/healthz", "/readyz", "/metrics", "/docs", "/docs/oauth2-redirect",
          "/openapi.json", "/redoc", f"{API}/auth/token", f"{API}/webhooks/stripe"}


@pytest.fixture
def market(client) -> factories.Marketplace:
    return factories.marketplace()


def _protected_routes(app) -> list[tuple[str, str]]:
    found = []
    for context in iter_route_contexts(app.routes):
        if not isinstance(context.original_route, APIRoute) or context.path in PUBLIC:
            continue
        path = re.sub(r"\{[^}]+\}", "1", context.path)
        found.extend((method, path) for method in sorted(context.methods))
    return found


def test_every_non_public_route_rejects_an_anonymous_call(client):
    routes = _protected_routes(client.app)
    # the test would pass vacuously if routes went missing from the walk
    assert {("GET", f"{API}/me"), ("PATCH", f"{API}/users/1"), ("GET", f"{API}/app/whoami"),
            ("DELETE", f"{API}/api-keys/1"), ("GET", f"{API}/products/1")} <= set(routes)
    for method, path in routes:
        response = client.request(method, path)
        assert response.status_code == 401, (method, path, response.text)
        assert set(response.json()) == {"message", "code", "errors"}


def test_every_non_public_route_rejects_a_made_up_token_and_key(client):
    for method, path in _protected_routes(client.app):
        response = client.request(method, path, headers={"Authorization": "Bearer x.y.z",
                                                         "X-Api-Key": "vk_x_y"})
        assert response.status_code == 401, (method, path, response.text)


def _same_as_missing(client, headers, method: str, path: str, missing: str, body=None):
    """The other supplier's object answers exactly like an id that does not exist."""
    theirs = client.request(method, API + path, headers=headers, json=body)
    nothing = client.request(method, API + missing, headers=headers, json=body)
    assert theirs.status_code == 404, (method, path, theirs.text)
    assert nothing.status_code == 404, (method, missing, nothing.text)
    assert theirs.json()["code"] == nothing.json()["code"]


def test_a_supplier_cannot_read_or_change_another_suppliers_data(client, market):
    a = market.manager_a
    with session_scope() as db:
        from marketplace_api.identity import service as identity

        retailer = identity.retailer_organisation(db=db)
        factories.api_key(db, organisation=retailer, kind=ApiKeyKind.app)
    key_id = client.get(f"{API}/api-keys", headers=market.admin).json()[0]["id"]

    new_user = {"email": "spy@sup-a.test", "password": "0123456789",
                "role": "supplier_manager"}
    b_org, b_user = market.org_b_id, market.manager_b_id
    for method, path, missing, body in [
        ("GET", f"/organisations/{b_org}", "/organisations/999999", None),
        ("GET", f"/organisations/{market.retailer_id}", "/organisations/999999", None),
        ("GET", f"/organisations/{b_org}/users", "/organisations/999999/users", None),
        ("POST", f"/organisations/{b_org}/users", "/organisations/999999/users", new_user),
        ("GET", f"/users/{b_user}", "/users/999999", None),
        ("PATCH", f"/users/{b_user}", "/users/999999", {"is_active": False}),
        ("PATCH", f"/users/{market.admin_id}", "/users/999999", {"is_active": False}),
        ("DELETE", f"/api-keys/{key_id}", "/api-keys/999999", None),
        ("GET", f"/products/{market.products_b[0]}", "/products/NO-SUCH-SKU", None),
    ]:
        _same_as_missing(client, a, method, path, missing, body)

    orgs = client.get(f"{API}/organisations", headers=a)
    assert [o["id"] for o in orgs.json()] == [market.org_a_id]
    assert orgs.headers["Content-Range"] == "organisations 0-0/1"
    asked_for_b = client.get(f"{API}/organisations", headers=a,
                             params={"filter": f'{{"id": [{b_org}]}}'})
    assert asked_for_b.json() == []

    users = client.get(f"{API}/users", headers=a)
    assert [u["id"] for u in users.json()] == [market.manager_a_id]
    assert client.get(f"{API}/users", headers=a,
                      params={"filter": f'{{"organisation_id": {b_org}}}'}).json() == []

    products = client.get(f"{API}/products", headers=a)
    assert sorted(p["sku"] for p in products.json()) == sorted(market.products_a)
    assert products.headers["Content-Range"] == "products 0-2/3"
    for filter_ in ['{"supplier_id": "SUP-B"}', '{"category": "Tea"}',
                    f'{{"id": ["{market.products_b[0]}"]}}', '{"q": "B-"}']:
        assert client.get(f"{API}/products", headers=a,
                          params={"filter": filter_}).json() == [], filter_
    categories = client.get(f"{API}/categories", headers=a)
    assert categories.json() == [{"id": "Dairy", "name": "Dairy", "product_count": 3}]

    # what did not change: B's manager still works, the API key is still live
    assert client.get(f"{API}/me", headers=market.manager_b).status_code == 200
    keys = client.get(f"{API}/api-keys", headers=market.admin).json()
    assert keys[0]["revoked_at"] is None
    _error_code(client.get(f"{API}/api-keys", headers=a), 403)
    _error_code(client.get(f"{API}/suppliers", headers=a), 403)


def _error_code(response, status: int) -> str:
    assert response.status_code == status, response.text
    return response.json()["code"]


def test_a_supplier_sees_its_own_products_without_the_retailers_cost(client, market):
    own = client.get(f"{API}/products/{market.products_a[0]}", headers=market.manager_a)
    assert own.status_code == 200
    assert own.json()["id"] == own.json()["sku"] == market.products_a[0]
    assert own.json()["regular_price_minor"] == 10_000
    assert own.json()["cost_price_minor"] is None
    listed = client.get(f"{API}/products", headers=market.manager_a).json()
    assert all(p["cost_price_minor"] is None for p in listed)
    _error_code(client.get(f"{API}/products", headers=market.manager_a,
                           params={"sort": '["cost_price_minor","DESC"]'}), 422)


@pytest.mark.parametrize("who", ["admin", "marketer", "finance"])
def test_retailer_staff_see_the_whole_catalogue_with_cost(client, market, who):
    headers = getattr(market, who)
    products = client.get(f"{API}/products", headers=headers,
                          params={"sort": '["sku","DESC"]'})
    assert [p["sku"] for p in products.json()] == sorted(
        market.products_a + market.products_b, reverse=True)
    assert {p["cost_price_minor"] for p in products.json()} == {7_000}
    tea = client.get(f"{API}/products", headers=headers,
                     params={"filter": '{"supplier_id": "SUP-B", "brand": "Leafy"}'})
    assert [p["sku"] for p in tea.json()] == market.products_b
    assert client.get(f"{API}/products/{market.products_b[0]}",
                      headers=headers).json()["cost_price_minor"] == 7_000

    categories = client.get(f"{API}/categories", headers=headers,
                            params={"sort": '["product_count","DESC"]'})
    assert [(c["name"], c["product_count"]) for c in categories.json()] == [
        ("Dairy", 3), ("Tea", 2)]
    assert categories.headers["Content-Range"] == "categories 0-1/2"

    suppliers = client.get(f"{API}/suppliers", headers=headers)
    assert [s["id"] for s in suppliers.json()] == ["SUP-A", "SUP-B"]
    orgs = client.get(f"{API}/organisations", headers=headers)
    assert orgs.headers["Content-Range"] == "organisations 0-2/3"
    assert client.get(f"{API}/organisations/{market.org_b_id}/users",
                      headers=headers).status_code == 200


def test_everyone_logged_in_sees_the_stores(client, market):
    for headers in (market.manager_a, market.finance):
        stores = client.get(f"{API}/stores", headers=headers,
                            params={"filter": '{"q": "arb"}'})
        assert stores.status_code == 200
        assert [s["id"] for s in stores.json()] == ["ST-2"]


def test_suppliers_are_walled_off_on_postgresql_too(pg_db):
    from fastapi.testclient import TestClient

    from marketplace_api.app import create_app

    with TestClient(create_app()) as client:
        market = factories.marketplace()
        a = market.manager_a
        _same_as_missing(client, a, "GET", f"/organisations/{market.org_b_id}",
                         "/organisations/999999")
        _same_as_missing(client, a, "PATCH", f"/users/{market.manager_b_id}", "/users/999999",
                         {"full_name": "x"})
        _same_as_missing(client, a, "GET", f"/products/{market.products_b[0]}",
                         "/products/NONE")
        products = client.get(f"{API}/products", headers=a,
                              params={"filter": '{"q": "product a"}'})
        assert sorted(p["sku"] for p in products.json()) == market.products_a
        assert client.get(f"{API}/categories", headers=a).json() == [
            {"id": "Dairy", "name": "Dairy", "product_count": 3}]
        assert [o["id"] for o in client.get(f"{API}/organisations",
                                            headers=a).json()] == [market.org_a_id]
