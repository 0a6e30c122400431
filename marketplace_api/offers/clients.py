"""The app's and the checkout's API keys, verified once and then remembered by this worker
for a few seconds: the offers endpoint answers thousands of requests a second and must not
read the key from the database each time. A revoked key stops working within
KEY_CACHE_SECONDS."""

from __future__ import annotations

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


_known: dict[str, tuple[float, Caller]] = {}


def _verify(secret: str) -> Caller:
    db = new_session()
    try:
        key = identity.verify_api_key(db=db, secret=secret)
        return Caller(api_key_id=key.id, kind=key.kind, organisation_id=key.organisation_id)
    finally:
        db.close()


async def _caller(secret: str | None) -> Caller:
    if not secret:
        raise identity_errors.InvalidApiKey(f"Missing {API_KEY_HEADER} header")
    digest = hashlib.sha256(secret.encode()).hexdigest()
    known = _known.get(digest)
    now = time.monotonic()
    if known is not None and known[0] > now:
        return known[1]
    caller = await run_in_threadpool(_verify, secret)
    if len(_known) > 10_000:
        _known.clear()
    _known[digest] = (now + KEY_CACHE_SECONDS, caller)
    return caller


api_key_header = APIKeyHeader(name=API_KEY_HEADER, auto_error=False)


async def caller_of_kind(secret: str | None, kind: ApiKeyKind) -> Caller:
    """The live key's caller, else 401; a key of another kind is a 403."""
    caller = await _caller(secret)
    if caller.kind != kind:
        raise identity_errors.WrongApiKeyKind(f"This needs an API key of kind {kind}")
    return caller


def forget() -> None:
    _known.clear()
