"""Per-API-key rate limits for the app and checkout APIs (APP_RATE_LIMIT, POS_RATE_LIMIT,
in the `limits` notation such as "2000/second"). Past the limit: 429 with `Retry-After`.

Counting is per fixed window (aligned on the clock). Each worker counts its hits in memory
and, with REDIS_URL, adds them to one Redis counter per key and window every
FLUSH_SECONDS (one pipelined INCRBY per key for the whole batch, not one round trip per
request); the answer tells the worker what every worker has counted so far. A request
therefore never waits for Redis.

The price is a little slack: between two flushes a worker does not see the other workers'
newest hits, so all workers together may admit up to about (workers − 1) × (what one worker
admits in FLUSH_SECONDS) past the limit in a window — at 2,000/s and 2 workers about 25
requests. Without Redis (the embedded mode, one process) the count is exact. If Redis is
unreachable, each worker keeps limiting by its own count and retries the flush.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException
from limits import RateLimitItem, parse

from core.settings import get_settings
from marketplace_api.identity.models import ApiKeyKind
from marketplace_api.offers.clients import Caller, api_key_header, caller_of_kind

log = logging.getLogger(__name__)

FLUSH_SECONDS = 0.025
KEY_PREFIX = "vitrina-rate"


@dataclass(slots=True)
class _Window:
    window: int          # which window of `period` seconds since the epoch
    period: int
    seen: int = 0        # every worker's hits in this window, as Redis said at the last flush
    pending: int = 0     # this worker's hits not yet added to Redis


class BatchedLimiter:
    """One per event loop (its Redis connections belong to that loop)."""

    def __init__(self, redis_url: str | None, *, flush_seconds: float = FLUSH_SECONDS) -> None:
        self.redis_url = redis_url
        self.flush_seconds = flush_seconds
        self.windows: dict[str, _Window] = {}
        self._client = None
        self._task: asyncio.Task | None = None

    def hit(self, key: str, item: RateLimitItem, now: float | None = None) -> float | None:
        """Count one request; None when allowed, else the seconds until the window ends."""
        now = time.time() if now is None else now
        period = item.get_expiry()
        number = int(now // period)
        name = f"{key}:{item.amount}/{period}"
        found = self.windows.get(name)
        if found is None or found.window != number:
            found = self.windows[name] = _Window(window=number, period=period)
        if found.seen + found.pending >= item.amount:
            return (number + 1) * period - now
        found.pending += 1
        if self.redis_url and self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._flusher())
        return None

    async def _flusher(self) -> None:
        while True:
            await asyncio.sleep(self.flush_seconds)
            try:
                await self.flush()
            except Exception:  # keep limiting by this worker's own count meanwhile
                log.warning("rate-limit counts not flushed to Redis", exc_info=True)
                await asyncio.sleep(1.0)

    async def flush(self, now: float | None = None) -> None:
        """Add this worker's new hits to Redis and learn every worker's totals."""
        now = time.time() if now is None else now
        for name in [n for n, w in self.windows.items() if int(now // w.period) > w.window]:
            del self.windows[name]  # a past window: its count no longer matters
        # Every live window, hit lately or not: a worker learns the others' hits even on
        # keys it has not seen since its last flush (INCRBY 0 reads the count).
        batch = [(name, w, w.pending) for name, w in self.windows.items()]
        if not batch or not self.redis_url:
            return
        if self._client is None:
            import redis.asyncio as aioredis

            self._client = aioredis.Redis.from_url(self.redis_url, socket_timeout=1,
                                                   socket_connect_timeout=1)
        pipe = self._client.pipeline(transaction=False)
        for name, window, sent in batch:
            redis_key = f"{KEY_PREFIX}:{name}:{window.window}"
            pipe.incrby(redis_key, sent)
            pipe.expire(redis_key, window.period + 1)
        answers = await pipe.execute()
        for (_, window, sent), total in zip(batch, answers[::2], strict=True):
            window.pending -= sent
            window.seen = int(total)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        if self._client is not None:
            with contextlib.suppress(Exception):
                await self._client.aclose()


_limiters: dict[int, BatchedLimiter] = {}


def limiter() -> BatchedLimiter:
    """This event loop's limiter (a new loop, e.g. a new test client, starts afresh)."""
    loop = id(asyncio.get_running_loop())
    found = _limiters.get(loop)
    if found is None:
        _limiters.clear()
        found = _limiters[loop] = BatchedLimiter(get_settings().redis_url)
    return found


_items: dict[str, RateLimitItem] = {}


def limit_item(spec: str) -> RateLimitItem:
    found = _items.get(spec)
    if found is None:
        try:
            found = _items[spec] = parse(spec)
        except ValueError as exc:
            raise ValueError(f"not a rate limit: {spec!r} (e.g. '2000/second')") from exc
    return found


def check_rate(caller: Caller, spec: str) -> None:
    """429 with Retry-After when this key is past its limit; else the hit counts."""
    wait = limiter().hit(f"{caller.kind}:{caller.api_key_id}", limit_item(spec))
    if wait is None:
        return
    seconds = max(1, math.ceil(wait))
    raise HTTPException(status_code=429, headers={"Retry-After": str(seconds)},
                        detail=f"Too many requests for this API key (limit {spec}); "
                               f"retry in {seconds} s")


async def app_access(secret: Annotated[str | None, Depends(api_key_header)]) -> Caller:
    """An app key within its rate limit (one dependency: this runs on every request)."""
    caller = await caller_of_kind(secret, ApiKeyKind.app)
    check_rate(caller, get_settings().app_rate_limit)
    return caller


async def pos_access(secret: Annotated[str | None, Depends(api_key_header)]) -> Caller:
    """A checkout key within its rate limit."""
    caller = await caller_of_kind(secret, ApiKeyKind.pos)
    check_rate(caller, get_settings().pos_rate_limit)
    return caller
