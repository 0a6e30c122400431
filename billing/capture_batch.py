"""Group commit for checkout captures: many captures in a few set-based statements and one
commit, each still all or nothing and idempotent by its own key.

A capture on its own costs about a millisecond of CPU (Python and PostgreSQL together),
most of it the round trips and the commit, not the work; two cores then top out near
1,700 captures a second. `CaptureBatcher` gathers the captures that arrive while the
previous batch commits (one dispatcher thread per process) and `capture_many` applies them
together. The trade-off: a capture waits for its batch (about a millisecond when the
machine is quiet), and a batch that fails as a whole (the database went away) fails every
capture in it, which their callers retry with the same keys.

Deadlocks are avoided by taking locks in one order in every batch: idempotency keys (sorted
by key), then authorisations (by id), then balance rows (by account, then shard), which is
also the order of the one-statement capture in `billing.service`. A batch never holds two
captures of one authorisation or two uses of one key: the later one waits for the next
batch.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from billing import errors, ledger
from billing import service as billing
from billing.models import AccountKind
from core.db import utcnow
from core.errors import VitrinaError

log = logging.getLogger(__name__)

# A batch larger than this is split: one statement's arrays stay small, and one failed
# commit fails no more captures than this.
MAX_BATCH = 256
# SQLSTATEs after which the whole batch is simply run again: deadlock, serialization.
RETRIED_STATES = frozenset({"40P01", "40001"})
RETRIES = 3


@dataclass(frozen=True, slots=True)
class CaptureRequest:
    """One capture, as `billing.service.capture` takes it. `tag` is the caller's own
    reference, handed back to `on_captured` (for example the receipt line)."""

    authorization_id: int
    amount_minor: int
    idempotency_key: str
    memo: dict[str, Any] = field(default_factory=dict)
    actor_user_id: int | None = None
    tag: Any = None

    def check(self) -> None:
        if (not isinstance(self.authorization_id, int)
                or isinstance(self.authorization_id, bool)):
            raise errors.AuthorizationNotFound(f"No authorisation {self.authorization_id!r}")
        ledger.check_amount(self.amount_minor, "RUB")  # its shape; the currency is the auth's
        ledger.check_key(self.idempotency_key)

    @property
    def request(self) -> dict[str, Any]:
        return {"authorization_id": self.authorization_id, "amount_minor": self.amount_minor}


Outcome = billing.Movement | Exception
OnCaptured = Callable[[Session, list[tuple[CaptureRequest, billing.Movement]]], None]


# --- the set-based capture -------------------------------------------------------------------

_CLAIM_SQL = text("""
WITH req AS (
    SELECT r.key, r.request_hash, r.authorization_id, r.amount,
           nextval(pg_get_serial_sequence('billing_transaction', 'id')) AS transaction_id
    FROM unnest(CAST(:keys AS text[]), CAST(:hashes AS text[]),
                CAST(:authorization_ids AS bigint[]), CAST(:amounts AS bigint[]))
         AS r(key, request_hash, authorization_id, amount)
)
INSERT INTO billing_idempotency_key (scope, key, request_hash, result, created_at)
SELECT 'capture', req.key, req.request_hash,
       json_build_object('transaction_id', req.transaction_id, 'amount_minor', req.amount,
                         'authorization_id', req.authorization_id), :now
FROM req ORDER BY req.key
ON CONFLICT (scope, key) DO NOTHING
RETURNING id, key, CAST(result ->> 'transaction_id' AS bigint) AS transaction_id
""")

_REPLAYS_SQL = text("""
SELECT key, request_hash, result FROM billing_idempotency_key
WHERE scope = 'capture' AND key = ANY(CAST(:keys AS text[]))
""")

_FORGET_KEYS_SQL = text(
    "DELETE FROM billing_idempotency_key WHERE id = ANY(CAST(:ids AS bigint[]))")

# Locks the batch's authorisations (by id) and then the balance rows the capturable ones
# will move (by account, shard), in one round trip. The CTE `a` is read in full by the
# count before any balance row is locked.
_LOCK_SQL = text("""
WITH req AS (
    SELECT * FROM unnest(CAST(:ids AS bigint[]), CAST(:amounts AS bigint[])) AS r(id, amount)
), a AS MATERIALIZED (
    SELECT a.id, a.status, a.amount_minor - a.captured_minor - a.released_minor AS rest,
           a.authorized_account_id, a.compensation_account_id, a.shard
    FROM billing_authorization AS a WHERE a.id IN (SELECT id FROM req)
    ORDER BY a.id FOR NO KEY UPDATE
), going AS (
    SELECT a.* FROM a JOIN req ON req.id = a.id
    WHERE a.status = 'open' AND a.rest >= req.amount
), cells AS (
    SELECT authorized_account_id AS account_id, shard FROM going
    UNION
    SELECT compensation_account_id, shard % :credit_shards FROM going
), locked AS MATERIALIZED (
    SELECT b.account_id FROM billing_balance AS b
    JOIN cells ON b.account_id = cells.account_id AND b.shard = cells.shard
    ORDER BY b.account_id, b.shard FOR NO KEY UPDATE OF b
)
SELECT a.*, (SELECT count(*) FROM locked) AS cells FROM a
""")

_APPLY_SQL = text("""
WITH req AS (
    SELECT * FROM unnest(CAST(:authorization_ids AS bigint[]), CAST(:amounts AS bigint[]),
                         CAST(:transaction_ids AS bigint[]), CAST(:memos AS text[]),
                         CAST(:actors AS bigint[]))
           AS r(authorization_id, amount, transaction_id, memo, actor_user_id)
), auth AS (
    UPDATE billing_authorization AS a
    SET captured_minor = a.captured_minor + req.amount,
        status = CASE WHEN a.amount_minor - a.captured_minor - a.released_minor = req.amount
                      THEN 'closed' ELSE a.status END
    FROM req WHERE a.id = req.authorization_id
    RETURNING a.id, req.transaction_id, req.amount, req.memo, req.actor_user_id,
              a.organisation_id, a.campaign_id, a.authorized_account_id,
              a.compensation_account_id, a.shard, a.currency
), forget AS (
    DELETE FROM billing_idempotency_key WHERE id = ANY(CAST(:forget AS bigint[]))
), tx AS (
    INSERT INTO billing_transaction (id, kind, currency, created_at, actor_user_id,
                                     organisation_id, campaign_id, authorization_id, memo)
    SELECT auth.transaction_id, 'capture', auth.currency, :now, auth.actor_user_id,
           auth.organisation_id, auth.campaign_id, auth.id, CAST(auth.memo AS json)
    FROM auth
    RETURNING 1
), legs AS (
    INSERT INTO billing_posting (transaction_id, account_id, amount_minor, currency, created_at)
    SELECT auth.transaction_id, leg.account_id, leg.amount, auth.currency, :now
    FROM auth, LATERAL (VALUES (auth.authorized_account_id, -auth.amount),
                               (auth.compensation_account_id, auth.amount))
                       AS leg(account_id, amount)
    RETURNING 1
), moves AS (
    SELECT m.account_id, m.shard, sum(m.delta) AS delta FROM (
        SELECT authorized_account_id AS account_id, shard, -amount AS delta FROM auth
        UNION ALL
        SELECT compensation_account_id, shard % :credit_shards, amount FROM auth) AS m
    GROUP BY m.account_id, m.shard
), balances AS (
    UPDATE billing_balance AS b SET balance_minor = b.balance_minor + moves.delta
    FROM moves WHERE b.account_id = moves.account_id AND b.shard = moves.shard
    RETURNING 1
)
SELECT (SELECT count(*) FROM auth) AS captured, (SELECT count(*) FROM tx) AS transactions,
       (SELECT count(*) FROM legs) AS legs, (SELECT count(*) FROM balances) AS balances,
       (SELECT count(*) FROM moves) AS moves
""")


def capture_many(db: Session, requests: Sequence[CaptureRequest]) -> list[Outcome]:
    """Apply captures of distinct authorisations with distinct keys in the caller's
    transaction; per request its Movement, or the error it alone would have raised. Never
    commits. On SQLite each goes through `billing.service.capture` in a savepoint."""
    if len({r.authorization_id for r in requests}) != len(requests) or len(
            {r.idempotency_key for r in requests}) != len(requests):
        raise ValueError("a batch needs distinct authorisations and distinct keys")
    if db.get_bind().dialect.name != "postgresql":
        return [_one_by_one(db, request) for request in requests]
    outcomes: list[Outcome | None] = [None] * len(requests)
    valid: list[int] = []
    for index, request in enumerate(requests):
        try:
            request.check()
            valid.append(index)
        except VitrinaError as exc:
            outcomes[index] = exc
    if valid:
        _apply(db, requests, valid, outcomes)
    return outcomes  # type: ignore[return-value]


def _one_by_one(db: Session, request: CaptureRequest) -> Outcome:
    try:
        with db.begin_nested():
            return billing.capture(db=db, authorization_id=request.authorization_id,
                                   amount_minor=request.amount_minor,
                                   idempotency_key=request.idempotency_key,
                                   actor_user_id=request.actor_user_id, memo=request.memo)
    except VitrinaError as exc:
        return exc


def _apply(db: Session, requests: Sequence[CaptureRequest], valid: list[int],
           outcomes: list[Outcome | None]) -> None:
    now = utcnow()
    by_key = {requests[i].idempotency_key: i for i in valid}
    claimed = {row.key: row for row in db.execute(_CLAIM_SQL, {
        "keys": list(by_key), "now": now,
        "hashes": [ledger.request_hash(requests[i].request) for i in by_key.values()],
        "authorization_ids": [requests[i].authorization_id for i in by_key.values()],
        "amounts": [requests[i].amount_minor for i in by_key.values()]})}
    replayed = [key for key in by_key if key not in claimed]
    if replayed:
        for row in db.execute(_REPLAYS_SQL, {"keys": replayed}):
            index = by_key[row.key]
            if row.request_hash != ledger.request_hash(requests[index].request):
                outcomes[index] = errors.IdempotencyKeyReused(
                    "This Idempotency-Key was already used for a different request",
                    errors={"idempotency_key": "already used with a different request"})
            elif row.result is None:
                outcomes[index] = errors.IdempotencyKeyInFlight(
                    "This request is still being processed")
            else:
                outcomes[index] = billing.Movement.replay(row.result)
    fresh = [by_key[key] for key in claimed]
    if not fresh:
        return
    credit_shards = ledger.SHARDS_BY_KIND[AccountKind.supplier_compensation]
    found = {row.id: row for row in db.execute(_LOCK_SQL, {
        "ids": [requests[i].authorization_id for i in fresh],
        "amounts": [requests[i].amount_minor for i in fresh],
        "credit_shards": credit_shards})}
    going: list[int] = []
    refused_keys: list[int] = []
    for index in fresh:
        request = requests[index]
        row = found.get(request.authorization_id)
        problem: Exception | None = None
        if row is None:
            problem = errors.AuthorizationNotFound(f"No authorisation {request.authorization_id}")
        elif row.status != "open":
            problem = errors.AuthorizationNotOpen(
                f"Authorisation {request.authorization_id} is closed")
        elif row.rest < request.amount_minor:
            problem = errors.AuthorizationExceeded(
                f"Authorisation {request.authorization_id} has {row.rest} minor units left, "
                f"{request.amount_minor} asked",
                errors={"amount_minor": "more than the authorised rest"})
        if problem is None:
            going.append(index)
        else:
            outcomes[index] = problem
            # Its key was stored with a result that did not happen: take it back.
            refused_keys.append(claimed[request.idempotency_key].id)
    if not going:
        if refused_keys:
            db.execute(_FORGET_KEYS_SQL, {"ids": refused_keys})
        return
    cells = {cell for i in going for row in [found[requests[i].authorization_id]]
             for cell in ((row.authorized_account_id, row.shard),
                          (row.compensation_account_id, row.shard % credit_shards))}
    if next(iter(found.values())).cells != len(cells):
        raise RuntimeError(f"batch capture locked {next(iter(found.values())).cells} "
                           f"balance rows, expected {len(cells)}")
    transaction_ids = [claimed[requests[i].idempotency_key].transaction_id for i in going]
    done = db.execute(_APPLY_SQL, {
        "authorization_ids": [requests[i].authorization_id for i in going],
        "amounts": [requests[i].amount_minor for i in going],
        "transaction_ids": transaction_ids,
        "memos": [json.dumps(requests[i].memo or {}) for i in going],
        "actors": [requests[i].actor_user_id for i in going],
        "forget": refused_keys, "now": now, "credit_shards": credit_shards}).one()
    expected = (len(going), len(going), 2 * len(going), len(cells))
    if (done.captured, done.transactions, done.legs, done.balances) != expected:
        raise RuntimeError(f"batch capture touched {tuple(done)[:4]}, expected {expected}")
    for index, transaction_id in zip(going, transaction_ids, strict=True):
        request = requests[index]
        outcomes[index] = billing.Movement(transaction_id, request.amount_minor,
                                           request.authorization_id)


# --- the dispatcher ------------------------------------------------------------------------

_STOP: Any = ("stop", None)
_STOPPED = threading.Thread()  # stands in the thread list of a closed batcher


class CaptureBatcher:
    """Captures from many threads of one process, committed in batches by `dispatchers`
    threads, each on a connection of its own that it keeps (no pool checkout, no ping per
    batch). `capture` blocks until its batch committed and returns its Movement, or raises
    what the capture alone would have raised. `on_captured` runs in the batch's transaction
    with the captures that moved money (and replays), for the caller's own bookkeeping.
    Two dispatchers let one batch gather and claim while the other commits."""

    def __init__(self, make_session: Callable[[], Session], *,
                 on_captured: OnCaptured | None = None, max_batch: int = MAX_BATCH,
                 dispatchers: int = 2) -> None:
        self._make_session = make_session
        self._on_captured = on_captured
        self._max_batch = max_batch
        self._dispatchers = dispatchers
        self._queue: queue.SimpleQueue[tuple[CaptureRequest, Future]] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._start = threading.Lock()
        # For the bench and the tests: how many batches committed, the largest one.
        self.batches = 0
        self.largest_batch = 0

    def submit(self, request: CaptureRequest) -> Future:
        request.check()
        future: Future = Future()
        self._queue.put((request, future))
        if not self._threads:
            with self._start:
                while len(self._threads) < self._dispatchers:
                    thread = threading.Thread(target=self._run, daemon=True,
                                              name=f"capture-batcher-{len(self._threads)}")
                    thread.start()
                    self._threads.append(thread)
        return future

    def capture(self, request: CaptureRequest, *, timeout: float = 60) -> billing.Movement:
        return self.submit(request).result(timeout)

    def close(self) -> None:
        """Stop the dispatchers once what is queued is done; they close their connections."""
        with self._start:
            for _ in self._threads:
                self._queue.put(_STOP)
            self._threads = [_STOPPED]

    def _run(self) -> None:
        waiting: list[tuple[CaptureRequest, Future]] = []
        connection = None
        stopping = False
        while True:
            if not waiting:
                if stopping:
                    break
                waiting.append(self._queue.get())
            while len(waiting) < 4 * self._max_batch:
                try:
                    waiting.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            if _STOP in waiting:
                stopping = True
                waiting = [item for item in waiting if item is not _STOP]
                if not waiting:
                    break
            batch, waiting = _distinct(waiting, self._max_batch)
            if connection is None:
                try:
                    with self._make_session() as probe:
                        connection = probe.get_bind().connect()
                except Exception as exc:  # the database is away: these callers hear of it
                    log.exception("capture batcher cannot connect")
                    _settle(batch, [exc] * len(batch))
                    continue
            if not self._commit(connection, batch):
                connection.invalidate()  # its state is unknown after a failure
                connection.close()
                connection = None
        if connection is not None:
            connection.close()

    def _commit(self, connection, batch: list[tuple[CaptureRequest, Future]]) -> bool:
        requests = [request for request, _ in batch]
        healthy = True
        for attempt in range(1, RETRIES + 1):
            try:
                with Session(bind=connection, expire_on_commit=False) as db:
                    outcomes = capture_many(db, requests)
                    moved = [(r, o) for r, o in zip(requests, outcomes, strict=True)
                             if isinstance(o, billing.Movement)]
                    if moved and self._on_captured is not None:
                        self._on_captured(db, moved)
                    db.commit()
                self.batches += 1
                self.largest_batch = max(self.largest_batch, len(batch))
                break
            except OperationalError as exc:
                state = getattr(exc.orig, "sqlstate", None)
                if state in RETRIED_STATES and attempt < RETRIES:
                    log.info("capture batch of %d retried after %s", len(batch), state)
                    continue
                log.exception("capture batch of %d failed", len(batch))
                outcomes, healthy = [exc] * len(batch), False
                break
            except Exception as exc:  # every waiting caller must hear of it
                log.exception("capture batch of %d failed", len(batch))
                outcomes, healthy = [exc] * len(batch), False
                break
        _settle(batch, outcomes)
        return healthy


def _settle(batch: list[tuple[CaptureRequest, Future]], outcomes: Sequence[Any]) -> None:
    for (_, future), outcome in zip(batch, outcomes, strict=True):
        if isinstance(outcome, Exception):
            future.set_exception(outcome)
        else:
            future.set_result(outcome)


def _distinct(waiting: list[tuple[CaptureRequest, Future]], limit: int
              ) -> tuple[list[tuple[CaptureRequest, Future]], list[tuple[CaptureRequest, Future]]]:
    """The first `limit` captures with distinct authorisations and keys, and the rest in
    their order (a second capture of one authorisation goes in the next batch)."""
    batch, rest = [], []
    authorizations: set[int] = set()
    keys: set[str] = set()
    for item in waiting:
        request = item[0]
        if (len(batch) < limit and request.authorization_id not in authorizations
                and request.idempotency_key not in keys):
            batch.append(item)
            authorizations.add(request.authorization_id)
            keys.add(request.idempotency_key)
        else:
            rest.append(item)
    return batch, rest
