"""The regions list: what the campaign wizard offers to target by region, one row per
region the retailer has stores in, without loading every store."""

from __future__ import annotations

from core.db import session_scope
from tests import factories

API = "/api/v1"


def test_every_logged_in_role_sees_the_store_regions_with_counts(client):
    market = factories.marketplace()  # two stores in Moscow
    with session_scope() as db:
        for n in range(3):
            factories.store(db, store_id=f"SPB-{n}", region="Санкт-Петербург",
                            city="Санкт-Петербург")
        factories.store(db, store_id="KZN-1", region="Kazan", city="Kazan")

    for headers in (market.manager_a, market.marketer, market.finance):
        regions = client.get(f"{API}/regions", headers=headers,
                             params={"sort": '["store_count","DESC"]'})
        assert regions.status_code == 200, regions.text
        assert [(r["id"], r["name"], r["store_count"]) for r in regions.json()] == [
            ("Санкт-Петербург", "Санкт-Петербург", 3), ("Moscow", "Moscow", 2),
            ("Kazan", "Kazan", 1)]
        assert regions.headers["Content-Range"] == "regions 0-2/3"

    page = client.get(f"{API}/regions", headers=market.manager_a,
                      params={"sort": '["name","ASC"]', "range": "[1,1]"})
    assert [r["id"] for r in page.json()] == ["Moscow"]
    assert page.headers["Content-Range"] == "regions 1-1/3"
    found = client.get(f"{API}/regions", headers=market.manager_a,
                       params={"filter": '{"q": "петер"}'})
    assert [r["id"] for r in found.json()] == ["Санкт-Петербург"]
    # react-admin's getMany asks for the chosen ones by id
    chosen = client.get(f"{API}/regions", headers=market.manager_a,
                        params={"filter": '{"id": ["Kazan", "Moscow"]}'})
    assert sorted(r["id"] for r in chosen.json()) == ["Kazan", "Moscow"]


def test_regions_need_a_caller_and_refuse_unknown_filters(client):
    market = factories.marketplace()
    assert client.get(f"{API}/regions").status_code == 401
    refused = client.get(f"{API}/regions", headers=market.manager_a,
                         params={"filter": '{"city": "Moscow"}'})
    assert refused.status_code == 422
    assert refused.json()["code"] == "invalid_list_params"
