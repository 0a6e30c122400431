"""The app's API: a shopper's live offers (each filter: store, period, budget, limit, pause;
holdout), taking an offer (idempotent, budget checked), and events."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from billing import service as billing
from billing.models import Authorization
from core.db import session_scope, utcnow
from marketplace_api.campaigns.models import ActivationMode, Campaign, CampaignStatus
from marketplace_api.offers import service
from marketplace_api.offers.holdout import in_holdout
from marketplace_api.offers.models import Holdout, Offer, OfferSet
from tests.offers.conftest import SHOPPERS, refresh_index, wait_until

API = "/api/v1/app"


def _treated(campaign_id: int, holdout_bp: int = 1000) -> list[str]:
    return [c for c in SHOPPERS
            if not in_holdout(campaign_id=campaign_id, customer_id=c, holdout_bp=holdout_bp)]


def _held(campaign_id: int, holdout_bp: int = 1000) -> list[str]:
    return [c for c in SHOPPERS
            if in_holdout(campaign_id=campaign_id, customer_id=c, holdout_bp=holdout_bp)]


def _offers(client, world, customer: str, **params) -> list[dict]:
    response = client.get(f"{API}/shoppers/{customer}/offers", headers=world.app_key,
                          params=params)
    assert response.status_code == 200, response.text
    return response.json()


def test_launch_writes_offers_for_treated_shoppers_and_records_the_holdout(client, world):
    campaign_id = world.launch(holdout_bp=3000)
    treated, held = _treated(campaign_id, 3000), _held(campaign_id, 3000)
    assert held and treated  # 30 % of 60 shoppers
    with session_scope() as db:
        offers = db.scalars(select(Offer).where(Offer.campaign_id == campaign_id)).all()
        holdout = set(db.scalars(select(Holdout.customer_id)
                                 .where(Holdout.campaign_id == campaign_id)))
        again = service.materialise_offers(db=db, campaign_id=campaign_id)
    assert holdout == set(held)
    assert {o.customer_id for o in offers} == set(treated)
    assert len(offers) == 2 * len(treated)
    assert {(o.discount_bp, o.regular_price_minor, o.personal_price_minor) for o in offers} \
        == {(2000, 10_000, 8_000)}
    assert again.replayed and again.offer_set.offers == len(offers)


def test_a_shopper_sees_personal_prices_and_holdout_shoppers_see_nothing(client, world):
    campaign_id = world.launch(holdout_bp=3000)
    shopper = _treated(campaign_id, 3000)[0]
    shown = _offers(client, world, shopper, store_id="ST-1", lang="ru")
    assert [o["sku"] for o in shown] == ["A-0", "A-1"]
    first = shown[0]
    assert first["regular_price_minor"] == 10_000 and first["personal_price_minor"] == 8_000
    assert first["discount_percent"] == 20 and first["label"] == "Скидка от поставщика"
    assert first["supplier"] == "Supplier SUP-A" and first["brand"] == "Milky"
    assert first["units_left_this_week"] == 2 and first["activated"] is False
    assert _offers(client, world, shopper, lang="en")[0]["label"] == "Supplier discount"
    for held in _held(campaign_id, 3000):
        assert _offers(client, world, held) == []
    assert _offers(client, world, "NOBODY") == []


def test_offers_only_in_the_campaigns_stores_and_regions(client, world):
    in_store = world.launch(store_ids=["ST-2"], skus=("A-0",))
    in_region = world.launch(regions=["Moscow"], skus=("A-1",))
    shopper = next(c for c in _treated(in_store) if c in _treated(in_region))
    assert {o["campaign_id"] for o in _offers(client, world, shopper, store_id="ST-1")} \
        == {in_region}
    assert {o["campaign_id"] for o in _offers(client, world, shopper, store_id="ST-2")} \
        == {in_store, in_region}
    response = client.get(f"{API}/shoppers/{shopper}/offers", headers=world.app_key,
                          params={"store_id": "NOWHERE"})
    assert response.status_code == 422 and response.json()["code"] == "unknown_store"


def test_offers_only_within_the_campaign_period(client, world):
    future = world.launch(status=CampaignStatus.scheduled, starts=timedelta(days=2))
    shopper = _treated(future)[0]
    assert _offers(client, world, shopper) == []
    with session_scope() as db:
        campaign = db.get(Campaign, future)
        campaign.starts_at = utcnow() - timedelta(days=10)
        campaign.ends_at = utcnow() - timedelta(seconds=1)
        campaign.status = CampaignStatus.active
    refresh_index()
    assert _offers(client, world, shopper) == []  # active, but its period is over
    with session_scope() as db:
        db.get(Campaign, future).ends_at = utcnow() + timedelta(days=3)
    refresh_index()
    assert len(_offers(client, world, shopper)) == 2


def test_pausing_hides_offers_within_seconds_and_resuming_shows_them(client, world):
    campaign_id = world.launch()
    shopper = _treated(campaign_id)[0]
    assert len(_offers(client, world, shopper)) == 2
    with session_scope() as db:
        db.get(Campaign, campaign_id).status = CampaignStatus.paused
        service.on_campaign_status(db=db, campaign_id=campaign_id)
    assert wait_until(lambda: _offers(client, world, shopper) == [], seconds=3)
    with session_scope() as db:
        db.get(Campaign, campaign_id).status = CampaignStatus.active
        service.on_campaign_status(db=db, campaign_id=campaign_id)
    assert wait_until(lambda: len(_offers(client, world, shopper)) == 2, seconds=3)


def test_activation_authorises_the_weekly_allowance_once(client, world):
    campaign_id = world.launch(limit=3)
    shopper = _treated(campaign_id)[0]
    offer = _offers(client, world, shopper)[0]
    url = f"{API}/shoppers/{shopper}/offers/{offer['offer_id']}/activate"
    first = client.post(url, headers=world.app_key)
    second = client.post(url, headers=world.app_key)
    assert first.status_code == second.status_code == 200, first.text
    assert first.json() == second.json()
    assert first.json()["authorized_minor"] == 3 * 2_000  # 3 units × 20 roubles off
    with session_scope() as db:
        count = db.scalar(select(func.count()).select_from(Authorization)
                          .where(Authorization.campaign_id == str(campaign_id)))
        balances = billing.campaign_balances(db=db, organisation_id=world.market.org_a_id,
                                             campaign_id=campaign_id, currency="RUB")
    assert count == 1
    assert balances == {"budget": 1_000_000 - 6_000, "authorized": 6_000}
    assert wait_until(lambda: _offers(client, world, shopper)[0]["activated"] is True)
    # someone else's offer, or one that does not exist: 404 alike
    other = _treated(campaign_id)[1]
    for path in (f"{API}/shoppers/{other}/offers/{offer['offer_id']}/activate",
                 f"{API}/shoppers/{shopper}/offers/999999/activate"):
        response = client.post(path, headers=world.app_key)
        assert response.status_code == 404 and response.json()["code"] == "offer_not_found"


def test_an_exhausted_budget_refuses_activation_and_hides_the_offers(client, world):
    # the budget covers one shopper's allowance (2 units × 20 roubles) and a bit
    campaign_id = world.launch(budget_minor=5_000, skus=("A-0",))
    first, second = _treated(campaign_id)[:2]
    offer = _offers(client, world, first)[0]
    assert client.post(f"{API}/shoppers/{first}/offers/{offer['offer_id']}/activate",
                       headers=world.app_key).status_code == 200
    with session_scope() as db:
        theirs = db.scalar(select(Offer.id).where(Offer.campaign_id == campaign_id,
                                                  Offer.customer_id == second))
    response = client.post(f"{API}/shoppers/{second}/offers/{theirs}/activate",
                           headers=world.app_key)
    assert response.status_code == 409 and response.json()["code"] == "budget_exhausted"
    assert wait_until(lambda: _offers(client, world, second) == [], seconds=3)
    assert len(_offers(client, world, first)) == 1  # its money is already set aside


def test_automatic_campaigns_authorise_on_first_serve(client, world):
    campaign_id = world.launch(activation=ActivationMode.automatic, skus=("A-0",))
    shopper = _treated(campaign_id)[0]
    shown = _offers(client, world, shopper)
    assert shown[0]["activated"] is True
    again = _offers(client, world, shopper)
    assert again == shown
    with session_scope() as db:
        balances = billing.campaign_balances(db=db, organisation_id=world.market.org_a_id,
                                             campaign_id=campaign_id, currency="RUB")
    assert balances["authorized"] == 4_000


def test_events_are_recorded_once_per_event_id(client, world):
    campaign_id = world.launch(skus=("A-0",))
    shopper, other = _treated(campaign_id)[:2]
    offer_id = _offers(client, world, shopper)[0]["offer_id"]
    now = utcnow().isoformat()
    batch = {"events": [
        {"event_id": "e1", "kind": "impression", "offer_id": offer_id, "customer_id": shopper,
         "occurred_at": now},
        {"event_id": "e2", "kind": "click", "offer_id": offer_id, "customer_id": shopper,
         "occurred_at": now},
        {"event_id": "e3", "kind": "click", "offer_id": offer_id, "customer_id": other,
         "occurred_at": now}]}
    first = client.post(f"{API}/events", headers=world.app_key, json=batch)
    assert first.status_code == 200, first.text
    assert first.json() == {"accepted": 2, "duplicates": 0,
                            "rejected": {"e3": "no such offer for this shopper"}}
    again = client.post(f"{API}/events", headers=world.app_key, json=batch)
    assert again.json()["accepted"] == 0 and again.json()["duplicates"] == 2
    bad = client.post(f"{API}/events", headers=world.app_key, json={"events": []})
    assert bad.status_code == 422


def test_the_app_api_needs_an_app_key(client, world):
    path = f"{API}/shoppers/C001/offers"
    assert client.get(path).status_code == 401
    assert client.get(path, headers={"X-Api-Key": "vk_x_y"}).status_code == 401
    assert client.get(path, headers=world.pos_key).status_code == 403


def test_offer_sets_are_written_once(client, world):
    campaign_id = world.launch()
    with session_scope() as db:
        assert db.get(OfferSet, campaign_id).treated == len(_treated(campaign_id))


def test_editing_a_scheduled_campaign_rewrites_its_offers_at_relaunch(client, world):
    """Edited back to approval, the campaign's old offers go; the next launch writes the
    offers of what it is now (here: one SKU instead of two)."""
    campaign_id = world.launch(status=CampaignStatus.scheduled, starts=timedelta(days=2))
    with session_scope() as db:
        campaign = db.get(Campaign, campaign_id)
        materialisation_id = campaign.materialisation_id
        # What campaigns.service.update_campaign does to a scheduled campaign.
        campaign.status, campaign.materialisation_id = CampaignStatus.pending_approval, None
        campaign.skus = ["A-0"]
        db.flush()
        service.on_campaign_status(db=db, campaign_id=campaign_id)
    with session_scope() as db:
        assert db.get(OfferSet, campaign_id) is None
        assert not db.scalar(select(func.count()).select_from(Offer)
                             .where(Offer.campaign_id == campaign_id))
        campaign = db.get(Campaign, campaign_id)
        campaign.status, campaign.materialisation_id = CampaignStatus.active, materialisation_id
        campaign.starts_at = utcnow() - timedelta(days=1)
        db.flush()
        service.materialise_offers(db=db, campaign_id=campaign_id)
    with session_scope() as db:
        skus = set(db.scalars(select(Offer.sku).where(Offer.campaign_id == campaign_id)))
    assert skus == {"A-0"}
    refresh_index()
    shopper = _treated(campaign_id)[0]
    assert [o["sku"] for o in _offers(client, world, shopper)] == ["A-0"]


def test_bad_offer_parameters_are_named_in_a_422(client, world):
    for params, field in (({"lang": "de"}, "lang"), ({"store_id": "S" * 65}, "store_id"),
                          ({"store_id": ""}, "store_id")):
        response = client.get(f"{API}/shoppers/C001/offers", headers=world.app_key,
                              params=params)
        assert response.status_code == 422, params
        body = response.json()
        assert body["code"] == "validation_error" and field in body["errors"], body
    long_id = client.get(f"{API}/shoppers/{'C' * 65}/offers", headers=world.app_key)
    assert long_id.status_code == 422 and "customer_id" in long_id.json()["errors"]


def _counted(client, status: int) -> float:
    line = (f'vitrina_http_requests_total{{method="GET",'
            f'route="/app/shoppers/{{customer_id}}/offers",status="{status}"}} ')
    found = [row for row in client.get("/metrics").text.splitlines() if row.startswith(line)]
    return float(found[0].removeprefix(line)) if found else 0.0


def test_the_app_and_a_browser_get_the_same_offers_and_both_are_counted(client, world):
    """The app's requests are answered in front of the middleware stack, a browser's
    (with an Origin) through it: the same body, CORS headers only for the browser, and
    every answer counted in /metrics under the route's template."""
    shopper = _treated(world.launch())[0]
    path = f"{API}/shoppers/{shopper}/offers"
    browser_headers = {"Origin": "https://shop.example"}
    before = {status: _counted(client, status) for status in (200, 401, 422)}
    app = client.get(path, headers=world.app_key, params={"lang": "en"})
    browser = client.get(path, headers={**world.app_key, **browser_headers},
                         params={"lang": "en"})
    assert app.status_code == browser.status_code == 200
    assert app.json() and app.content == browser.content
    assert app.headers["content-type"] == "application/json"
    assert "access-control-allow-origin" not in app.headers
    assert browser.headers["access-control-allow-origin"] == "*"
    for headers in ({}, browser_headers):
        refused = client.get(path, headers=headers)
        assert refused.status_code == 401 and refused.headers["www-authenticate"] == "Bearer"
        assert refused.json()["code"] == "invalid_api_key"
        invalid = client.get(path, headers={**world.app_key, **headers}, params={"lang": "de"})
        assert invalid.status_code == 422 and "lang" in invalid.json()["errors"]
    assert {status: _counted(client, status) - before[status] for status in before} \
        == {200: 2, 401: 2, 422: 2}
