"""The API: guardrails for the retail marketer, and the forecast for a supplier's own
products, from a model trained on a small simulated retailer."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from audience import service as audience
from core.db import session_scope
from core.settings import get_settings
from marketplace_api.identity import service as identity
from marketplace_api.identity.models import OrganisationKind, Role
from pricing_ai import service as pricing
from retail.models import Product
from tests import factories


@pytest.fixture
def trained(client, tmp_path, monkeypatch):
    """A simulated retailer imported, its features built and the models trained; a
    supplier organisation for its biggest supplier."""
    from retail.importing import import_folder
    from retail.simulator import simulate

    monkeypatch.setenv("DATA_DIR", str(tmp_path / "var"))
    get_settings.cache_clear()
    audience.forget_snapshot()
    folder = tmp_path / "market"
    simulate(customers=1_500, weeks=24, seed=5, out=folder)
    import_folder(folder=folder)
    audience.build_features()
    report = pricing.train(rows=40_000, n_estimators=40)
    with session_scope() as db:
        marketer = factories.user(db, organisation=factories.retailer_org(db),
                                  role=Role.retail_marketer)
        supplier_id = db.scalar(select(Product.supplier_id).order_by(Product.sku).limit(1))
        org = identity.create_organisation(db=db, name="Supplier", supplier_id=supplier_id,
                                           kind=OrganisationKind.supplier)
        manager = factories.user(db, organisation=org, role=Role.supplier_manager)
        own = list(db.scalars(select(Product.sku).where(Product.supplier_id == supplier_id)
                              .order_by(Product.sku).limit(2)))
        other = db.scalar(select(Product.sku).where(Product.supplier_id != supplier_id)
                          .limit(1))
        headers = {"marketer": factories.bearer(marketer), "manager": factories.bearer(manager)}
    yield {"report": report, "own": own, "other": other, **headers}
    audience.forget_snapshot()
    pricing.forget_artifact()


def _request(skus, **depth):
    return {"rule": {"field": "visits_per_week", "op": "gte", "value": 0}, "skus": skus,
            "weeks": 4, "depth": depth or {"kind": "fixed", "discount_bp": 2000},
            "holdout_share": 0.1}


def test_forecasts_for_a_trained_retailer(client, trained):
    """One trained retailer (training takes a while), several behaviours."""
    _supplier_gets_counts_for_its_own_products(client, trained)
    _another_suppliers_product_is_refused(client, trained)
    _a_max_discount_guardrail_clips_a_fixed_depth(client, trained)


def _supplier_gets_counts_for_its_own_products(client, trained):
    response = client.post("/api/v1/campaigns/forecast", headers=trained["manager"],
                           json=_request(trained["own"]))
    assert response.status_code == 200, response.text
    body = response.json()
    assert "customer_id" not in response.text
    spend = body["discount_spend_minor"]
    assert 0 < spend["low"] <= spend["expected"] <= spend["high"]
    # Money leaves the API in whole kopecks, never as a float.
    for money in (spend, body["incremental_revenue_minor"]):
        assert all(isinstance(money[k], int) for k in ("expected", "low", "high"))
    assert body["reach"]["count"] is None or body["reach"]["count"] % 10 == 0
    assert body["model_version"] == trained["report"].version
    assert 0 <= body["clipped_share"] <= 1
    # A budget the size recommended for a fixed depth lets it run to its end: it is the
    # high end of the expected spend, never a fraction of it.
    assert body["recommended_budget_minor"] == spend["high"]
    assert body["recommended_budget_minor"] >= spend["expected"]

    ai = client.post("/api/v1/campaigns/forecast", headers=trained["manager"],
                     json={**_request(trained["own"], kind="ai", min_bp=500, max_bp=3000),
                           "budget_minor": max(int(spend["expected"] // 2), 1)})
    assert ai.status_code == 200, ai.text
    assert ai.json()["discount_spend_minor"]["expected"] <= spend["expected"] // 2 + 1
    # Without a budget, the AI plan is the recommended one: the budget recommended covers
    # its expected spend.
    free = client.post("/api/v1/campaigns/forecast", headers=trained["manager"],
                       json=_request(trained["own"], kind="ai", min_bp=500, max_bp=3000)).json()
    assert free["recommended_budget_minor"] == free["discount_spend_minor"]["high"]
    assert free["recommended_budget_minor"] >= free["discount_spend_minor"]["expected"] > 0


def _another_suppliers_product_is_refused(client, trained):
    response = client.post("/api/v1/campaigns/forecast", headers=trained["manager"],
                           json=_request([trained["other"]]))
    assert response.status_code == 422
    assert "skus" in response.text


def _a_max_discount_guardrail_clips_a_fixed_depth(client, trained):
    sku = trained["own"][0]
    created = client.post("/api/v1/guardrails", headers=trained["marketer"],
                          json={"scope": "sku", "target": sku, "max_discount_bp": 1000})
    assert created.status_code == 201, created.text
    body = client.post("/api/v1/campaigns/forecast", headers=trained["manager"],
                       json=_request([sku])).json()
    assert body["clipped_share"] == 1.0
    assert body["mean_depth_bp"] <= 1000
    # Suppliers do not manage guardrails.
    assert client.get("/api/v1/guardrails", headers=trained["manager"]).status_code == 403
    listed = client.get("/api/v1/guardrails", headers=trained["marketer"])
    assert listed.headers["Content-Range"] == "guardrails 0-0/1"
    duplicate = client.post("/api/v1/guardrails", headers=trained["marketer"],
                            json={"scope": "sku", "target": sku, "max_discount_bp": 500})
    assert duplicate.status_code == 409
    changed = client.patch(f"/api/v1/guardrails/{created.json()['id']}",
                           headers=trained["marketer"], json={"max_discount_bp": 0})
    assert changed.status_code == 200
    none = client.post("/api/v1/campaigns/forecast", headers=trained["manager"],
                       json=_request([sku])).json()
    assert none["discount_spend_minor"]["expected"] == 0


def test_the_global_minimum_margin_is_one_row(client, data_dir_marketer):
    headers = data_dir_marketer
    ok = client.post("/api/v1/guardrails", headers=headers,
                     json={"scope": "global", "min_margin_bp": 800})
    assert ok.status_code == 201, ok.text
    assert ok.json()["target"] == "*"
    wrong = client.post("/api/v1/guardrails", headers=headers,
                        json={"scope": "category", "target": "Dairy", "min_margin_bp": 100})
    assert wrong.status_code == 422


@pytest.fixture
def data_dir_marketer(client):
    with session_scope() as db:
        marketer = factories.user(db, organisation=factories.retailer_org(db),
                                  role=Role.retail_marketer)
        return factories.bearer(marketer)
