"""The audience API as its users meet it: the field catalogue, live estimates under the
privacy rules, saved segments per organisation, versions, and materialisation."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from audience import service
from audience.models import Materialisation, MaterialisedMember
from core.db import session_scope
from tests.audience.conftest import APP_USERS, CAT_OWNERS, SHOPPERS, make_world

API = "/api/v1"
APP_USERS_RULE = {"field": "has_app", "op": "eq", "value": True}
CAT_RULE = {"field": "cat_owner", "op": "eq", "value": True}
CUSTOMER_ID = re.compile(r"C\d{5}")


def estimate(client, headers, rule):
    return client.post(f"{API}/segments/estimate", json={"rule": rule}, headers=headers)


def assert_no_shopper_ids(response) -> None:
    assert not CUSTOMER_ID.search(response.text), response.text


def test_the_catalogue_describes_every_field_for_the_rule_builder(client, world):
    response = client.get(f"{API}/audience/fields", headers=world.market.manager_a)
    assert response.status_code == 200
    fields = {field["name"]: field for field in response.json()}
    assert fields["avg_check_minor"]["type"] == "money"
    assert fields["avg_check_minor"]["unit"] == "kopeck"
    assert fields["avg_check_minor"]["ops"] == ["eq", "gte", "lte", "between"]
    assert fields["region"]["ops"] == ["eq", "in"]
    assert {v["value"] for v in fields["region"]["values"]} == {"Казань", "Москва"}
    stores = {v["value"]: v["label"] for v in fields["stores"]["values"]}
    assert stores["ST-3"] == "Баумана"
    assert fields["cat_owner"]["label"] == {"ru": "Владелец кошки", "en": "Cat owner"}
    assert fields["cat_owner"]["description"]["en"]
    share = fields["category_share:Корм для кошек"]["range"]
    assert (share["min"], share["max"]) == (0, 100) and 0 < share["typical_max"] <= 100
    assert fields["stores"]["ops"] == ["contains_any", "contains_all"]


def test_before_the_first_build_an_estimate_says_what_to_do(client, data_dir):
    world = make_world(build=False)
    response = estimate(client, world.market.manager_a, APP_USERS_RULE)
    assert response.status_code == 409
    assert response.json()["code"] == "no_features"
    assert "vitrina features build" in response.json()["message"]


def test_a_supplier_sees_rounded_counts_and_nothing_below_the_minimum(client, world):
    response = estimate(client, world.market.manager_a, APP_USERS_RULE)
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == {"count": 1230, "label": "1230", "exact": False,
                             "below_minimum": False}
    assert body["base"]["count"] == SHOPPERS
    assert body["share_of_base"] == round(1230 / SHOPPERS, 3)
    for buckets in body["breakdown"].values():
        for bucket in buckets:
            shown = bucket["count"]
            assert shown["count"] is None or (shown["count"] >= 100
                                              and shown["count"] % 10 == 0)
            assert shown["count"] is not None or shown["label"] == "< 100"
    assert_no_shopper_ids(response)

    small = estimate(client, world.market.manager_a, CAT_RULE).json()
    assert small["count"] == {"count": None, "label": "< 100", "exact": False,
                              "below_minimum": True}
    assert small["share_of_base"] is None
    assert all(bucket["count"]["count"] is None
               for buckets in small["breakdown"].values() for bucket in buckets)


def test_a_retail_marketer_sees_exact_counts(client, world):
    body = estimate(client, world.market.marketer, APP_USERS_RULE).json()
    assert body["count"] == {"count": APP_USERS, "label": str(APP_USERS), "exact": True,
                             "below_minimum": False}
    assert body["share_of_base"] == round(APP_USERS / SHOPPERS, 6)
    by_app = {b["value"]: b["count"]["count"] for b in body["breakdown"]["has_app"]}
    assert by_app == {True: APP_USERS}
    cats = estimate(client, world.market.marketer, CAT_RULE).json()
    assert cats["count"]["count"] == CAT_OWNERS and cats["count"]["below_minimum"]
    stores = {b["value"]: b["count"]["count"] for b in cats["breakdown"]["home_store"]}
    assert sum(stores.values()) == CAT_OWNERS


def test_the_demo_style_segment_counts(client, world):
    rule = {"all": [{"field": "region", "op": "eq", "value": "Москва"},
                    {"field": "stores_count", "op": "gte", "value": 2},
                    {"field": "avg_check_minor", "op": "gte", "value": 40_000}]}
    body = estimate(client, world.market.marketer, rule).json()
    # Moscow cat owners shop at ST-1 and ST-2; their checks average (1000 + 200 + 200) / 3 ₽.
    assert body["count"]["count"] == sum(1 for n in range(CAT_OWNERS) if n % 3)


def test_invalid_rules_are_422_naming_the_node(client, world):
    headers = world.market.manager_a
    cases = [
        ({"all": [APP_USERS_RULE, {"field": "shoe_size", "op": "eq", "value": 1}]},
         "rule.all[1]", "unknown field"),
        ({"any": [{"all": [{"field": "visits_per_week", "op": "gte", "value": "a lot"}]}]},
         "rule.any[0].all[0]", "expected a number"),
        ({"all": [{"not": {"field": "region", "op": "between", "value": [1, 2]}}]},
         "rule.all[0].not", "does not fit"),
        ({"all": []}, "rule", "at least one rule"),
    ]
    for rule, path, reason in cases:
        response = estimate(client, headers, rule)
        assert response.status_code == 422, rule
        body = response.json()
        assert body["code"] == "invalid_rule"
        assert list(body["errors"]) == [path]
        assert reason in body["errors"][path]
    missing = client.post(f"{API}/segments/estimate", json={}, headers=headers)
    assert missing.status_code == 422


def test_only_audience_roles_may_estimate(client, world):
    assert estimate(client, world.market.finance, APP_USERS_RULE).status_code == 403
    assert estimate(client, {}, APP_USERS_RULE).status_code == 401


def test_a_supplier_cannot_see_another_suppliers_segments(client, world):
    market = world.market
    created = client.post(f"{API}/segments", headers=market.manager_a,
                          json={"name": "App users", "rule": APP_USERS_RULE})
    assert created.status_code == 201
    segment = created.json()
    assert segment["organisation_id"] == market.org_a_id and segment["version"] == 1
    assert segment["size"] == {"count": 1230, "label": "1230", "exact": False,
                               "below_minimum": False}
    path = f"{API}/segments/{segment['id']}"
    for method, url, body in (("GET", path, None), ("PUT", path, {"name": "Mine now"}),
                              ("PATCH", path, {"name": "Mine now"}),
                              ("DELETE", path, None), ("GET", f"{path}/versions", None),
                              ("POST", f"{path}/materialise", {}),
                              ("POST", f"{path}/archive", None)):
        response = client.request(method, url, json=body, headers=market.manager_b)
        assert response.status_code == 404, (method, url)
    listed = client.get(f"{API}/segments", headers=market.manager_b)
    assert listed.json() == [] and listed.headers["Content-Range"] == "segments */0"

    # The retailer sees every segment with exact sizes, but cannot change a supplier's.
    seen = client.get(f"{API}/segments", headers=market.marketer)
    assert [s["id"] for s in seen.json()] == [segment["id"]]
    assert seen.json()[0]["size"]["count"] == APP_USERS
    assert client.patch(path, json={"name": "Ours"}, headers=market.marketer).status_code == 403


def test_changing_the_rule_makes_a_new_version_and_keeps_the_old(client, world):
    headers = world.market.manager_a
    segment = client.post(f"{API}/segments", headers=headers,
                          json={"name": "Cats", "rule": CAT_RULE}).json()
    path = f"{API}/segments/{segment['id']}"
    renamed = client.patch(path, json={"name": "Cat people"}, headers=headers).json()
    assert renamed["version"] == 1 and renamed["name"] == "Cat people"
    wider = {"any": [CAT_RULE, APP_USERS_RULE]}
    updated = client.put(path, json={"rule": wider}, headers=headers).json()
    assert updated["version"] == 2 and updated["rule"] == wider
    versions = client.get(f"{path}/versions", headers=headers).json()
    assert [(v["version"], v["rule"]) for v in versions] == [(1, CAT_RULE), (2, wider)]
    bad = client.patch(path, json={"rule": {"all": []}}, headers=headers)
    assert bad.status_code == 422 and "rule" in bad.json()["errors"]

    archived = client.delete(path, headers=headers)
    assert archived.json()["status"] == "archived"
    assert client.patch(path, json={"name": "x"}, headers=headers).status_code == 409
    assert client.post(f"{path}/materialise", json={}, headers=headers).status_code == 409


def test_materialising_freezes_members_but_answers_only_a_count(client, world):
    headers = world.market.manager_a
    small = client.post(f"{API}/segments", headers=headers,
                        json={"name": "Cats", "rule": CAT_RULE}).json()
    refused = client.post(f"{API}/segments/{small['id']}/materialise", json={},
                          headers=headers)
    assert refused.status_code == 422 and refused.json()["code"] == "audience_too_small"
    assert str(CAT_OWNERS) not in refused.text

    segment = client.post(f"{API}/segments", headers=headers,
                          json={"name": "App", "rule": APP_USERS_RULE}).json()
    client.put(f"{API}/segments/{segment['id']}", headers=headers,
               json={"rule": {"field": "has_app", "op": "eq", "value": False}})
    response = client.post(f"{API}/segments/{segment['id']}/materialise",
                           json={"version": 1}, headers=headers)
    assert response.status_code == 201
    body = response.json()
    assert body["version"] == 1 and body["members"]["count"] == 1230
    assert not body["members"]["exact"]
    assert_no_shopper_ids(response)
    with session_scope() as db:
        stored = db.scalar(select(func.count()).select_from(MaterialisedMember).where(
            MaterialisedMember.materialisation_id == body["id"]))
        assert stored == APP_USERS
        ids = service.member_ids(db=db, materialisation_id=body["id"])
        assert ids[0] == "C00000" and len(ids) == APP_USERS
        assert db.scalar(select(func.count()).select_from(Materialisation)) == 1


def test_the_retailer_sees_feature_builds_and_suppliers_do_not(client, world):
    builds = client.get(f"{API}/audience/builds", headers=world.market.marketer)
    assert builds.status_code == 200
    assert builds.json()[0]["status"] == "published"
    assert builds.json()[0]["customers"] == SHOPPERS
    assert client.get(f"{API}/audience/builds",
                      headers=world.market.manager_a).status_code == 403
