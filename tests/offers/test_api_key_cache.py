"""The worker's memory of API keys: many requests with a key due for a check start one
database check, not one each (that burst stalled the offers endpoint), and a revoked key
still stops working once its remembered answer is due."""

from __future__ import annotations

import asyncio
import time

from sqlalchemy import select

from core.db import session_scope
from marketplace_api.identity import service as identity
from marketplace_api.identity.models import ApiKey, ApiKeyKind
from marketplace_api.offers import clients
from tests.conftest import run_async


def _count_checks(monkeypatch) -> list[str]:
    checks: list[str] = []
    real = clients._verify

    def counted(secret: str):
        checks.append(secret)
        time.sleep(0.05)  # a slow database: the other requests arrive meanwhile
        return real(secret)

    monkeypatch.setattr(clients, "_verify", counted)
    return checks


def test_concurrent_requests_with_a_new_or_due_key_check_it_once(world, monkeypatch):
    secret = world.app_key["X-Api-Key"]
    checks = _count_checks(monkeypatch)
    clients.forget()

    async def burst() -> list:
        return await asyncio.gather(*(clients.caller_of_kind(secret, ApiKeyKind.app)
                                      for _ in range(200)))

    callers = run_async(burst())
    assert len(set(callers)) == 1 and len(checks) == 1

    # Due for a new check: the remembered caller answers at once, one check runs behind.
    digest, (_, caller) = next(iter(clients._known.items()))
    clients._known[digest] = (time.monotonic() - 0.1, caller)

    async def due_burst() -> list:
        answers = await asyncio.gather(*(clients.caller_of_kind(secret, ApiKeyKind.app)
                                         for _ in range(200)))
        await asyncio.gather(*clients._checking.values())
        return answers

    assert set(run_async(due_burst())) == {caller}
    assert len(checks) == 2
    assert clients._known[digest][0] > time.monotonic()  # fresh again


def test_a_revoked_key_is_refused_once_its_remembered_answer_is_due(client, world):
    response = client.get("/api/v1/app/shoppers/C1/offers", headers=world.app_key)
    assert response.status_code == 200
    secret = world.app_key["X-Api-Key"]
    with session_scope() as db:
        key = identity.verify_api_key(db=db, secret=secret)
        identity.revoke_api_key(db=db, api_key=db.scalar(select(ApiKey).where(
            ApiKey.id == key.id)))
    for digest, (_, caller) in list(clients._known.items()):
        clients._known[digest] = (time.monotonic() - 0.1, caller)  # due now
    # The request that finds it due is answered from memory while the check runs; the
    # check refuses the key, so the requests after it are refused.
    deadline = time.monotonic() + 5
    status = 200
    while status == 200 and time.monotonic() < deadline:
        status = client.get("/api/v1/app/shoppers/C1/offers", headers=world.app_key).status_code
        time.sleep(0.02)
    assert status == 401
