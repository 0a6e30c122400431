"""Builders for measurement tests: a campaign as it stands after launch (its segment frozen
into a materialisation, its budget held, its offers written through the offers service),
and the app and the checkout using it through HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

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
from marketplace_api.app import create_app
from marketplace_api.campaigns.models import Campaign, CampaignStatus, DepthMode
from marketplace_api.identity.models import ApiKeyKind
from marketplace_api.identity.service import retailer_organisation
from marketplace_api.offers import service as offers
from marketplace_api.offers.models import Offer
from tests import factories


def launched_campaign(db: Session, *, organisation_id: int, skus: list[str],
                      members: list[str], starts_at: datetime, ends_at: datetime,
                      holdout_bp: int = 1000, budget_minor: int = 1_000_000,
                      discount_bp: int = 2000, store_ids: list[str] | None = None,
                      regions: list[str] | None = None,
                      status: CampaignStatus = CampaignStatus.active) -> Campaign:
    """An active fixed-depth campaign whose frozen audience is `members`."""
    build = FeatureBuild(status=BuildStatus.published, mode=BuildMode.full, window_weeks=26,
                         traits_digest="test", as_of=starts_at, path="features/test.parquet",
                         customers=len(members))
    segment = Segment(organisation_id=organisation_id, name="Measured shoppers")
    db.add_all([build, segment])
    db.flush()
    version = SegmentVersion(segment=segment, version=1, rule={"all": []})
    db.add(version)
    db.flush()
    materialisation = Materialisation(segment_version_id=version.id, feature_build_id=build.id,
                                      members=len(members))
    db.add(materialisation)
    db.flush()
    if members:
        db.execute(insert(MaterialisedMember), [
            {"materialisation_id": materialisation.id, "customer_id": customer_id}
            for customer_id in members])
    campaign = Campaign(
        organisation_id=organisation_id, name="Measured campaign", status=status,
        segment_id=segment.id, segment_version=1, skus=skus, starts_at=starts_at,
        ends_at=ends_at, store_ids=store_ids, regions=regions, depth_mode=DepthMode.fixed,
        discount_bp=discount_bp, limit_units_per_week=5, budget_minor=budget_minor,
        currency="RUB", holdout_bp=holdout_bp, materialisation_id=materialisation.id,
        launched_at=starts_at)
    db.add(campaign)
    db.flush()
    return campaign


# --- a running marketplace: campaigns with money and offers, the app and the checkout -------

@dataclass
class Shop:
    """The marketplace of `tests.factories`, an API client, and the app's and checkout's
    keys; campaigns are launched with their budget held and their offers written."""

    client: TestClient
    market: factories.Marketplace
    app_key: dict[str, str]
    pos_key: dict[str, str]

    def launch(self, *, organisation_id: int, skus: list[str], members: list[str],
               budget_minor: int = 100_000, **options) -> int:
        now = utcnow()
        options.setdefault("starts_at", now - timedelta(days=3))
        options.setdefault("ends_at", now + timedelta(days=4))
        with session_scope() as db:
            campaign = launched_campaign(db, organisation_id=organisation_id, skus=skus,
                                         members=members, budget_minor=budget_minor, **options)
            billing.top_up(db=db, organisation_id=organisation_id, amount_minor=budget_minor,
                           currency="RUB", source="bank", idempotency_key=f"fund-{campaign.id}")
            billing.hold_campaign_budget(db=db, organisation_id=organisation_id,
                                         campaign_id=campaign.id, amount_minor=budget_minor,
                                         currency="RUB", idempotency_key=f"hold-{campaign.id}")
            campaign_id = campaign.id
        with session_scope() as db:
            offers.materialise_offers(db=db, campaign_id=campaign_id)
        return campaign_id

    def activate(self, campaign_id: int, customer_id: str, sku: str) -> int:
        """The shopper takes the offer in the app (and the app reports showing it)."""
        with session_scope() as db:
            offer_id = db.scalar(select(Offer.id).where(
                Offer.campaign_id == campaign_id, Offer.customer_id == customer_id,
                Offer.sku == sku))
        assert offer_id is not None, f"{customer_id} has no offer on {sku}"
        shown = self.client.post("/api/v1/app/events", headers=self.app_key, json={"events": [{
            "event_id": f"seen-{offer_id}", "kind": "impression", "offer_id": offer_id,
            "customer_id": customer_id, "occurred_at": utcnow().isoformat()}]})
        assert shown.status_code == 200, shown.text
        taken = self.client.post(
            f"/api/v1/app/shoppers/{customer_id}/offers/{offer_id}/activate",
            headers=self.app_key)
        assert taken.status_code in (200, 201), taken.text
        return offer_id

    def receipt(self, receipt_id: str, customer_id: str | None, store_id: str,
                lines: dict[str, int], *, price_minor: int = 10_000,
                ts: datetime | None = None) -> dict:
        response = self.client.post("/api/v1/pos/receipts", headers=self.pos_key, json={
            "receipt_id": receipt_id, "customer_id": customer_id, "store_id": store_id,
            "ts": (ts or utcnow()).isoformat(),
            "lines": [{"sku": sku, "qty": qty, "price_minor": price_minor}
                      for sku, qty in lines.items()]})
        assert response.status_code == 200, response.text
        return response.json()

    def give_back(self, receipt_id: str, lines: dict[str, int]) -> dict:
        response = self.client.post(
            f"/api/v1/pos/receipts/{receipt_id}/return", headers=self.pos_key,
            json={"lines": [{"sku": sku, "qty": qty} for sku, qty in lines.items()]})
        assert response.status_code == 200, response.text
        return response.json()


@pytest.fixture
def shop(pg_db) -> Iterator[Shop]:
    market = factories.marketplace()
    with session_scope() as db:
        retailer = retailer_organisation(db=db)
        app_key = factories.api_key(db, organisation=retailer, kind=ApiKeyKind.app)
        pos_key = factories.api_key(db, organisation=retailer, kind=ApiKeyKind.pos)
    with TestClient(create_app()) as client:
        yield Shop(client=client, market=market, app_key={"X-Api-Key": app_key},
                   pos_key={"X-Api-Key": pos_key})
