"""AI campaigns: each treated shopper's depth comes from pricing_ai's trained models and
policy (the forecast's code), within the supplier's range, under the retailer's guardrails,
ranked by the model's purchase probability."""

from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy import select

from audience import service as audience
from core.db import session_scope
from core.settings import get_settings
from marketplace_api.campaigns.models import Campaign, DepthMode, Goal
from marketplace_api.identity import service as identity
from marketplace_api.identity.models import OrganisationKind
from marketplace_api.offers import service
from marketplace_api.offers.models import Offer, OfferSet
from pricing_ai import service as pricing
from pricing_ai.models import Guardrail, GuardrailScope
from retail.models import Customer, Product
from tests import factories
from tests.offers.conftest import launch_campaign

pytestmark = pytest.mark.slow


def test_ai_depths_come_from_the_model_within_range_and_guardrails(sqlite_db, tmp_path,
                                                                     monkeypatch):
    from retail.importing import import_folder
    from retail.simulator import simulate

    monkeypatch.setenv("DATA_DIR", str(tmp_path / "var"))
    get_settings.cache_clear()
    audience.forget_snapshot()
    simulate(customers=600, weeks=20, seed=3, out=tmp_path / "market")
    import_folder(folder=tmp_path / "market")
    audience.build_features()
    pricing.train(rows=8_000, n_estimators=10)
    try:
        with session_scope() as db:
            supplier_id = db.scalar(select(Product.supplier_id).order_by(Product.sku).limit(1))
            skus = list(db.scalars(select(Product.sku).where(Product.supplier_id == supplier_id)
                                   .order_by(Product.sku).limit(2)))
            org = identity.create_organisation(db=db, name="Supplier", supplier_id=supplier_id,
                                               kind=OrganisationKind.supplier)
            # the retailer allows at most 15 % off the first SKU
            db.add(Guardrail(scope=GuardrailScope.sku, target=skus[0], max_discount_bp=1500,
                             currency="RUB"))
            members = list(db.scalars(select(Customer.customer_id).order_by(Customer.customer_id)
                                      .limit(300)))
        market = factories.Marketplace(
            retailer_id=0, admin_id=0, admin={}, marketer_id=0, marketer={}, finance={},
            org_a_id=org.id, org_b_id=0, manager_a_id=0, manager_a_email="", manager_a={},
            manager_b_id=0, manager_b={}, products_a=skus, products_b=[])
        campaign_id = launch_campaign(market, members=members, skus=skus, materialise=False,
                                      holdout_bp=0)
        with session_scope() as db:
            campaign = db.get(Campaign, campaign_id)
            campaign.depth_mode, campaign.discount_bp = DepthMode.ai, None
            campaign.min_discount_bp, campaign.max_discount_bp = 1000, 3000
            campaign.goal = Goal.units
        with session_scope() as db:
            done = service.materialise_offers(db=db, campaign_id=campaign_id)
            offers = db.scalars(select(Offer).where(Offer.campaign_id == campaign_id)).all()
            version = db.get(OfferSet, campaign_id).model_version
        assert not done.replayed and version is not None
        depth = np.array([o.discount_bp for o in offers])
        assert len(offers) > 0 and ((depth >= 1000) & (depth <= 3000)).all()
        assert all(o.discount_bp <= 1500 for o in offers if o.sku == skus[0])
        assert len(set(depth.tolist())) > 1  # personal, not one depth for everyone
        p_buy = np.array([o.p_buy for o in offers if o.p_buy is not None])
        assert len(p_buy) > 0 and ((p_buy > 0) & (p_buy < 1)).all()
    finally:
        audience.forget_snapshot()
        pricing.forget_artifact()
