"""The per-key rate limit shared by API workers through Redis, counted in batches."""

from __future__ import annotations

import uuid

from marketplace_api.offers.ratelimit import BatchedLimiter, limit_item
from tests.conftest import run_async


def test_two_workers_share_one_limit_through_redis(redis_url):
    """Hits counted by one worker refuse the other's once flushed; the slack is what a
    worker admits between two flushes, never more."""
    item = limit_item("10/minute")
    key = f"app:{uuid.uuid4().hex}"
    now = 1_800_000_000.0  # the start of a minute window

    async def scenario() -> tuple[list[bool], list[bool], float | None]:
        first, second = BatchedLimiter(redis_url), BatchedLimiter(redis_url)
        try:
            a = [first.hit(key, item, now=now) is None for _ in range(7)]
            await first.flush(now=now)
            # The second worker admits on its own count until its flush tells it the total.
            b = [second.hit(key, item, now=now + 1) is None]
            await second.flush(now=now + 1)
            b += [second.hit(key, item, now=now + 1) is None for _ in range(5)]
            await second.flush(now=now + 1)
            await first.flush(now=now + 1)
            wait = first.hit(key, item, now=now + 2)
            return a, b, wait
        finally:
            await first.close()
            await second.close()

    a, b, wait = run_async(scenario())
    assert all(a)
    assert b == [True, True, True, False, False, False]  # 7 + 3 = the limit of 10
    assert wait is not None and 57 < wait <= 58  # the first worker heard of them too

def test_without_redis_the_count_is_exact_and_the_window_resets():
    item = limit_item("3/second")
    limiter = BatchedLimiter(None)
    answers = [limiter.hit("pos:1", item, now=100.2) for _ in range(4)]
    assert answers[:3] == [None, None, None]
    assert answers[3] is not None and 0 < answers[3] <= 0.8
    assert limiter.hit("pos:1", item, now=101.0) is None  # a new window

