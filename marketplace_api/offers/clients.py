"""The app's and the checkout's API keys, verified once and then remembered by this worker
for a few seconds: the offers endpoint answers thousands of requests a second and must not
read the key from the database each time. A revoked key stops working within
KEY_CACHE_SECONDS (plus one database round trip).

When a remembered key is due for a new check, ONE check runs in the background while
requests keep the remembered answer; and a key not remembered yet is checked once however
many requests carry it at the same moment. Before, every request arriving in the window
after expiry started its own check (a thread and a database connection each): every 5 s
a burst of hundreds of threads stalled the event loop for 30-300 ms (issue 6)."""

from __future__ import annotations

import asyncio
import hashlib
import time
from dataclasses import dataclass

from fastapi.security import APIKeyHeader
from starlette.concurrency import run_in_threadpool

from core.db import new_session
from marketplace_api.identity import errors as identity_errors
from marketplace_api.identity import service as identity
from marketplace_api.identity.models import ApiKeyKind

KEY_CACHE_SECONDS = 5.0
API_KEY_HEADER = "X-Api-Key"


@dataclass(frozen=True, slots=True)
class Caller:
    api_key_id: int
    kind: ApiKeyKind
    organisation_id: int


_known: dict[str, tuple[float, Caller]] = {}   # digest -> (fresh until, caller)
_checking: dict[str, asyncio.Task] = {}        # digest -> the one check under way


def _verify(secret: str) -> Caller:
    db = new_session()
    try:
        key = identity.verify_api_key(db=db, secret=secret)
        return Caller(api_key_id=key.id, kind=key.kind, organisation_id=key.organisation_id)
    finally:
        db.close()


async def _verify_and_remember(digest: str, secret: str) -> Caller:
    try:
        caller = await run_in_threadpool(_verify, secret)
    except Exception:
        _known.pop(digest, None)  # revoked or unknown: the next request is refused
        raise
    if len(_known) > 10_000:
        _known.clear()
    _known[digest] = (time.monotonic() + KEY_CACHE_SECONDS, caller)
    return caller


def _check(digest: str, secret: str) -> asyncio.Task:
    """The check of this key under way in this event loop, started if there is none."""
    loop = asyncio.get_running_loop()
    task = _checking.get(digest)
    if task is None or task.get_loop() is not loop:
        task = _checking[digest] = loop.create_task(_verify_and_remember(digest, secret))
        task.add_done_callback(lambda done: _checked(digest, done))
    return task


def _checked(digest: str, task: asyncio.Task) -> None:
    if _checking.get(digest) is task:
        del _checking[digest]
    if not task.cancelled():
        task.exception()  # retrieved: a background re-check's refusal is not an error


async def _caller(secret: str | None) -> Caller:
    if not secret:
        raise identity_errors.InvalidApiKey(f"Missing {API_KEY_HEADER} header")
    digest = hashlib.sha256(secret.encode()).hexdigest()
    known = _known.get(digest)
    now = time.monotonic()
    if known is not None:
        fresh_until, caller = known
        if now < fresh_until:
            return caller
        if now < fresh_until + KEY_CACHE_SECONDS:  # due: re-check behind the requests
            _check(digest, secret)
            return caller
    # shield: one caller giving up must not cancel the check the others wait for
    return await asyncio.shield(_check(digest, secret))


api_key_header = APIKeyHeader(name=API_KEY_HEADER, auto_error=False)


async def caller_of_kind(secret: str | None, kind: ApiKeyKind) -> Caller:
    """The live key's caller, else 401; a key of another kind is a 403."""
    caller = await _caller(secret)
    if caller.kind != kind:
        raise identity_errors.WrongApiKeyKind(f"This needs an API key of kind {kind}")
    return caller


def forget() -> None:
    _known.clear()
    _checking.clear()
