"""A retailer with shoppers, a supplier with money, and launched campaigns whose offers are
written — built through the real services (billing holds the budget, offers are
materialised from a frozen audience), without training models."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from sqlalchemy import select

from audience.models import (
    BuildMode,
    BuildStatus,
    FeatureBuild,
    Materialisation,
    MaterialisedMember,
    Segment,
    SegmentVersion,
)
from billing import service as billing
from core.db import session_scope, utcnow
from marketplace_api.campaigns.models import (
    ActivationMode,
    Campaign,
    CampaignStatus,
    DepthMode,
)
from marketplace_api.identity.models import ApiKeyKind
from marketplace_api.identity.service import retailer_organisation
from marketplace_api.offers import index, service
from retail.models import Customer
from tests import factories

SHOPPERS = [f"C{i:03d}" for i in range(60)]


@dataclass
class World:
    market: factories.Marketplace
    app_key: dict[str, str]
    pos_key: dict[str, str]
    campaigns: list[int] = field(default_factory=list)

    def launch(self, **overrides) -> int:
        campaign_id = launch_campaign(self.market, **overrides)
        self.campaigns.append(campaign_id)
        refresh_index()
        return campaign_id


def refresh_index() -> None:
    index.current().refresh()


def wait_until(condition, *, seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def launch_campaign(market: factories.Marketplace, *, members=SHOPPERS, skus=("A-0", "A-1"),
                    status=CampaignStatus.active, starts=timedelta(days=-1),
                    ends=timedelta(days=20), discount_bp=2000, limit=2,
                    budget_minor=1_000_000, holdout_bp=1000, store_ids=None, regions=None,
                    activation=ActivationMode.explicit, hold=True,
                    materialise=True) -> int:
    """An active campaign of supplier A with its budget held and its offers written."""
    now = utcnow()
    with session_scope() as db:
        build = db.scalar(select(FeatureBuild).limit(1))
        if build is None:
            build = FeatureBuild(status=BuildStatus.published, mode=BuildMode.full,
                                 window_weeks=26, traits_digest="test", path="x", as_of=now)
            db.add(build)
        segment = Segment(organisation_id=market.org_a_id, name="Dairy lovers")
        db.add(segment)
        db.flush()
        version = SegmentVersion(segment_id=segment.id, version=1,
                                 rule={"field": "visits_per_week", "op": "gte", "value": 0})
        db.add(version)
        db.flush()
        materialisation = Materialisation(segment_version_id=version.id,
                                          feature_build_id=build.id, members=len(members))
        db.add(materialisation)
        db.flush()
        db.add_all([MaterialisedMember(materialisation_id=materialisation.id, customer_id=m)
                    for m in members])
        campaign = Campaign(
            organisation_id=market.org_a_id, name="Milk week", status=status,
            segment_id=segment.id, segment_version=1, skus=list(skus),
            starts_at=now + starts, ends_at=now + ends, store_ids=store_ids, regions=regions,
            depth_mode=DepthMode.fixed, discount_bp=discount_bp,
            limit_units_per_week=limit, budget_minor=budget_minor, currency="RUB",
            holdout_bp=holdout_bp, activation_mode=activation,
            materialisation_id=materialisation.id)
        db.add(campaign)
        db.flush()
        if hold:
            billing.top_up(db=db, organisation_id=market.org_a_id, amount_minor=budget_minor,
                           currency="RUB", source="bank",
                           idempotency_key=f"fund-{campaign.id}")
            billing.hold_campaign_budget(db=db, organisation_id=market.org_a_id,
                                         campaign_id=campaign.id, amount_minor=budget_minor,
                                         currency="RUB", idempotency_key=f"hold-{campaign.id}")
        campaign_id = campaign.id
    if materialise:
        with session_scope() as db:
            service.materialise_offers(db=db, campaign_id=campaign_id)
    return campaign_id


@pytest.fixture
def world(client) -> World:
    market = factories.marketplace()
    with session_scope() as db:
        db.add_all([Customer(customer_id=c, region="Moscow") for c in SHOPPERS])
        retailer = retailer_organisation(db=db)
        app_key = factories.api_key(db, organisation=retailer, kind=ApiKeyKind.app)
        pos_key = factories.api_key(db, organisation=retailer, kind=ApiKeyKind.pos)
    return World(market=market, app_key={"X-Api-Key": app_key},
                 pos_key={"X-Api-Key": pos_key})
