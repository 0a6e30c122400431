"""Per-API-key rate limits for the app and checkout APIs (APP_RATE_LIMIT, POS_RATE_LIMIT,
in the `limits` notation such as "2000/second"), counted by the maintained `limits`
library: in Redis when REDIS_URL is set (one count shared by every worker), in this
process's memory in the embedded mode. Past the limit: 429 with `Retry-After`."""

from __future__ import annotations

import asyncio
import math
import time
from typing import Annotated

from fastapi import Depends, HTTPException
from limits import RateLimitItem, parse
from limits.aio.storage import RedisStorage as AsyncRedisStorage
from limits.aio.strategies import FixedWindowRateLimiter as AsyncFixedWindowRateLimiter
from limits.storage import MemoryStorage
from limits.strategies import FixedWindowRateLimiter

from core.settings import get_settings
from marketplace_api.identity.models import ApiKeyKind
from marketplace_api.offers.clients import Caller, api_key_header, caller_of_kind

# The library's in-memory storage (embedded mode, one process) is synchronous: a dictionary
# and a timer thread that expires counts. The Redis one is asynchronous, one per event loop
# because its connections belong to their loop.
_memory = FixedWindowRateLimiter(MemoryStorage())
_redis: dict[int, AsyncFixedWindowRateLimiter] = {}


def _redis_limiter(url: str) -> AsyncFixedWindowRateLimiter:
    loop = id(asyncio.get_running_loop())
    found = _redis.get(loop)
    if found is None:
        found = AsyncFixedWindowRateLimiter(
            AsyncRedisStorage(f"async+{url}", implementation="redispy", key_prefix="vitrina-rate"))
        _redis.clear()
        _redis[loop] = found
    return found


def limit_item(spec: str) -> RateLimitItem:
    try:
        return parse(spec)
    except ValueError as exc:
        raise ValueError(f"not a rate limit: {spec!r} (e.g. '2000/second')") from exc


async def _check(caller: Caller, spec: str) -> None:
    item = limit_item(spec)
    key = f"{caller.kind}:{caller.api_key_id}"
    url = get_settings().redis_url
    if url:
        limiter = _redis_limiter(url)
        if await limiter.hit(item, key):
            return
        stats = await limiter.get_window_stats(item, key)
    else:
        if _memory.hit(item, key):
            return
        stats = _memory.get_window_stats(item, key)
    wait = max(1, math.ceil(stats.reset_time - time.time()))
    raise HTTPException(status_code=429, headers={"Retry-After": str(wait)},
                        detail=f"Too many requests for this API key (limit {spec}); "
                               f"retry in {wait} s")


async def app_access(secret: Annotated[str | None, Depends(api_key_header)]) -> Caller:
    """An app key within its rate limit (one dependency: this runs on every request)."""
    caller = await caller_of_kind(secret, ApiKeyKind.app)
    await _check(caller, get_settings().app_rate_limit)
    return caller


async def pos_access(secret: Annotated[str | None, Depends(api_key_header)]) -> Caller:
    """A checkout key within its rate limit."""
    caller = await caller_of_kind(secret, ApiKeyKind.pos)
    await _check(caller, get_settings().pos_rate_limit)
    return caller
