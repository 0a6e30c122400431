"""News for every API worker's offer index, sent after the database commit.

With REDIS_URL the news goes through one Redis pub/sub channel to every worker; in the
embedded mode (one process) it is applied to this process's index directly. Messages are
hints that make a change visible within milliseconds; each worker also re-reads campaign
states and recent usage from the database every OFFERS_REFRESH_SECONDS, so a lost message
delays a change by at most that long and never loses it.

Kinds: `{"kind": "campaign", "campaign_id"}` (status, period or budget changed; offers of a
new campaign are ready), `{"kind": "usage", "customer_id", "offer_id", "week",
"units_used", "units_limit", "open", "activated", "at"}` (a shopper's allowance changed).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from core.settings import get_settings

log = logging.getLogger(__name__)

CHANNEL = "vitrina:offers"
_PENDING = "offers_bus_pending"

# The in-process receivers (the indexes of this process), for the embedded mode and so
# that the worker that made a change sees it before the message comes back from Redis.
_local: list[Callable[[dict[str, Any]], None]] = []


def subscribe_local(receiver: Callable[[dict[str, Any]], None]) -> None:
    _local.append(receiver)


def unsubscribe_local(receiver: Callable[[dict[str, Any]], None]) -> None:
    if receiver in _local:
        _local.remove(receiver)


@lru_cache(maxsize=4)
def _redis(url: str):
    import redis

    return redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)


def publish(message: dict[str, Any]) -> None:
    """Send now (the change is committed)."""
    for receiver in list(_local):
        try:
            receiver(message)
        except Exception:  # a broken index must not fail the request that changed data
            log.exception("offer index could not apply %s", message.get("kind"))
    url = get_settings().redis_url
    if url:
        try:
            _redis(url).publish(CHANNEL, json.dumps(message))
        except Exception:  # workers still see the change at their next refresh
            log.warning("could not publish offer news to Redis", exc_info=True)


def _after_commit(session: Session) -> None:
    for action in session.info.pop(_PENDING, []):
        try:
            action()
        except Exception:  # the data is committed; the index catches up at its refresh
            log.exception("offers: work after commit failed")


def _after_rollback(session: Session) -> None:
    session.info.pop(_PENDING, None)


def after_commit(db: Session, action: Callable[[], None]) -> None:
    """Run `action` when `db` commits; forget it when it rolls back."""
    db.info.setdefault(_PENDING, []).append(action)
    if not event.contains(db, "after_commit", _after_commit):
        event.listen(db, "after_commit", _after_commit)
        event.listen(db, "after_soft_rollback", _after_rollback_soft)


def publish_after_commit(db: Session, message: dict[str, Any]) -> None:
    """Send when `db` commits; forget when it rolls back."""
    after_commit(db, lambda: publish(message))


def _after_rollback_soft(session: Session, previous_transaction) -> None:
    if previous_transaction.parent is None:  # the outermost transaction, not a savepoint
        _after_rollback(session)
