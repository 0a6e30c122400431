"""The live estimate's fast path: the caller remembered for `AUTH_CACHE_SECONDS` per API
worker, yet a deactivation, a demotion or an expired token still ends access (at once in
the worker that made the change, within the bound elsewhere); the snapshot is loaded when
the worker starts and checked for newer builds off the request's path."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from audience import service
from audience.snapshot import SnapshotHolder, load_snapshot
from core.db import session_scope
from core.settings import get_settings
from marketplace_api.app import create_app
from marketplace_api.identity import service as identity
from marketplace_api.identity.models import User
from tests.audience.test_snapshot import feature_frame, write_build

API = "/api/v1"
RULE = {"field": "has_app", "op": "eq", "value": True}


def estimate(client, headers):
    return client.post(f"{API}/segments/estimate", json={"rule": RULE}, headers=headers)


def _code(response) -> str:
    return response.json()["code"]


@pytest.fixture
def auth_cache_seconds(monkeypatch):
    def set_to(seconds: float) -> None:
        monkeypatch.setenv("AUTH_CACHE_SECONDS", str(seconds))
        get_settings.cache_clear()

    return set_to


def test_a_deactivation_ends_the_live_estimate_at_once_in_this_worker(client, world):
    market = world.market
    assert estimate(client, market.manager_a).status_code == 200  # now remembered
    deactivated = client.patch(f"{API}/users/{market.manager_a_id}",
                               json={"is_active": False}, headers=market.admin)
    assert deactivated.status_code == 200, deactivated.text

    response = estimate(client, market.manager_a)
    assert response.status_code == 401
    assert _code(response) == "inactive_user"


def test_a_demotion_ends_the_live_estimate_at_once_in_this_worker(client, world):
    market = world.market
    assert estimate(client, market.marketer).status_code == 200
    demoted = client.patch(f"{API}/users/{market.marketer_id}",
                           json={"role": "finance_officer"}, headers=market.admin)
    assert demoted.status_code == 200, demoted.text

    assert estimate(client, market.marketer).status_code == 403


def test_a_change_made_elsewhere_arrives_within_auth_cache_seconds(client, world,
                                                                   auth_cache_seconds):
    auth_cache_seconds(0.5)
    market = world.market
    assert estimate(client, market.manager_a).status_code == 200
    # As another API worker (or a database console) would: this worker is not told.
    with session_scope() as db:
        db.execute(update(User).where(User.id == market.manager_a_id).values(is_active=False))

    time.sleep(0.5)
    response = estimate(client, market.manager_a)
    assert response.status_code == 401
    assert _code(response) == "inactive_user"


def test_until_then_this_worker_answers_from_what_it_read(client, world,
                                                        auth_cache_seconds):
    auth_cache_seconds(60)
    market = world.market
    assert estimate(client, market.manager_a).status_code == 200
    with session_scope() as db:
        db.execute(update(User).where(User.id == market.manager_a_id).values(is_active=False))

    assert estimate(client, market.manager_a).status_code == 200  # the documented bound
    assert client.get(f"{API}/me", headers=market.manager_a).status_code == 401  # not cached


def test_with_auth_cache_seconds_0_every_estimate_reads_the_user(client, world,
                                                                 auth_cache_seconds):
    auth_cache_seconds(0)
    market = world.market
    assert estimate(client, market.manager_a).status_code == 200
    with session_scope() as db:
        db.execute(update(User).where(User.id == market.manager_a_id).values(is_active=False))

    assert estimate(client, market.manager_a).status_code == 401


def test_a_remembered_token_still_expires(client, world):
    with session_scope() as db:
        manager = db.get(User, world.market.manager_a_id)
        token = identity.issue_token(user=manager, lifetime=timedelta(seconds=2))
    headers = {"Authorization": f"Bearer {token}"}
    assert estimate(client, headers).status_code == 200

    expires_at = identity.decode_token(token).expires_at.timestamp()  # whole seconds
    time.sleep(max(0.0, expires_at - time.time()) + 0.05)
    response = estimate(client, headers)
    assert response.status_code == 401
    assert _code(response) == "token_expired"


def test_forged_and_missing_tokens_are_401_on_the_live_estimate(client, world):
    token = world.market.manager_a["Authorization"].removeprefix("Bearer ")
    assert estimate(client, world.market.manager_a).status_code == 200
    head, payload, signature = token.split(".")
    forged = f"{head}.{payload}.{signature[:-4]}AAAA"
    response = estimate(client, {"Authorization": f"Bearer {forged}"})
    assert (response.status_code, _code(response)) == (401, "invalid_token")
    assert estimate(client, {}).status_code == 401


def test_a_user_read_before_a_change_is_not_remembered_after_it(client, world):
    market = world.market
    with session_scope() as db:  # a request that read the user just before the change …
        token = market.manager_a["Authorization"].removeprefix("Bearer ")
        generation = identity._callers.generation
        caller = identity.caller_for_token(db=db, token=token)
    identity.forget_callers()
    with session_scope() as db:  # … the change (another request) …
        identity.update_user(db=db, user=db.get(User, market.manager_a_id), is_active=False)
    # … stores what it read only after the change was committed: it must not stick.
    identity._callers.put(token, caller, expires_at=identity.decode_token(token).expires_at,
                          generation=generation, seconds=60)
    assert estimate(client, market.manager_a).status_code == 401


def test_estimates_are_counted_in_the_metrics_by_route_template(client, world):
    assert estimate(client, world.market.manager_a).status_code == 200
    assert estimate(client, world.market.finance).status_code == 403
    body = client.get("/metrics").text
    route = 'route="/segments/estimate"'  # the template as its router declares it
    assert f'vitrina_http_requests_total{{method="POST",{route},status="200"}}' in body
    assert f'vitrina_http_requests_total{{method="POST",{route},status="403"}}' in body


def test_an_api_worker_loads_the_snapshot_before_its_first_request(client, world):
    service.forget_snapshot()
    assert service.snapshot_holder().current is None
    with TestClient(create_app()) as started:
        assert service.snapshot_holder().current is not None
        assert estimate(started, world.market.manager_a).status_code == 200


def test_checking_for_a_newer_build_never_runs_in_the_request(tmp_path):
    build = write_build(tmp_path, feature_frame(100))
    checked_in: list[threading.Thread] = []

    def latest():
        checked_in.append(threading.current_thread())
        return build.id

    holder = SnapshotHolder(latest=latest, load=lambda _key: load_snapshot(build),
                            check_every=0)
    assert holder.get().n == 100  # the first load waits: there is nothing to answer with
    assert holder.get().n == 100  # later checks do not
    holder.wait_for_reload()
    assert checked_in[0] is threading.current_thread()
    assert len(checked_in) == 2 and checked_in[1] is not threading.current_thread()
