"""Group commit of captures: many captures from many threads, committed in batches by one
dispatcher per process, against one hot campaign, with duplicated requests and refusals
mixed in. Each capture is still all or nothing and idempotent by its own key."""

from __future__ import annotations

import random
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select, text

from billing import errors
from billing import service as billing
from billing.capture_batch import CaptureBatcher, CaptureRequest, capture_many
from billing.models import Authorization, Transaction, TransactionKind
from core.db import new_session, session_scope

ORG = 31
OFFER = 500
CAMPAIGN = "batched"


def _authorisations(count: int, *, campaign: str = CAMPAIGN) -> list[int]:
    with session_scope() as db:
        billing.top_up(db=db, organisation_id=ORG, amount_minor=count * OFFER, currency="RUB",
                       source="bank", idempotency_key=f"fund-{campaign}")
        billing.hold_campaign_budget(db=db, organisation_id=ORG, campaign_id=campaign,
                                     amount_minor=count * OFFER, currency="RUB",
                                     idempotency_key=f"launch-{campaign}")
    ids = []
    for n in range(count):
        with session_scope() as db:
            ids.append(billing.authorize(db=db, organisation_id=ORG, campaign_id=campaign,
                                         amount_minor=OFFER, currency="RUB",
                                         idempotency_key=f"act-{campaign}-{n}").authorization_id)
    return ids


def _state() -> tuple[dict[int, int], int, list[str], dict[str, int]]:
    with session_scope() as db:
        captured = dict(db.execute(select(Authorization.id, Authorization.captured_minor)).all())
        transactions = db.scalar(select(func.count()).select_from(Transaction)
                                 .where(Transaction.kind == TransactionKind.capture))
        balances = billing.campaign_balances(db=db, organisation_id=ORG, campaign_id=CAMPAIGN,
                                             currency="RUB")
        return captured, transactions, billing.check_ledger(db=db), balances


@pytest.mark.integration
def test_two_workers_batch_64_clients_on_one_hot_campaign(pg_db):
    ids = _authorisations(200)
    # Two batchers stand for two API worker processes: their batches meet on the same
    # balance rows and must neither deadlock nor apply anything twice.
    workers = [CaptureBatcher(new_session), CaptureBatcher(new_session)]
    asked = {auth: random.Random(auth).randint(1, OFFER) for auth in ids}
    answers: dict[str, list] = {}
    lock = threading.Lock()

    def client(number: int) -> None:
        rng = random.Random(number)
        for auth in ids[number::64]:
            request = CaptureRequest(auth, asked[auth], f"cap-{auth}", {"receipt": auth})
            sends = 2 if rng.random() < 0.3 else 1  # a POS retry racing the first request
            futures = [rng.choice(workers).submit(request) for _ in range(sends)]
            got = [f.result(60) for f in futures]
            if rng.random() < 0.3:
                got.append(rng.choice(workers).capture(request))  # again after the answer
            with lock:
                answers[request.idempotency_key] = got

    with ThreadPoolExecutor(64) as pool:
        list(pool.map(client, range(64)))

    captured, transactions, problems, balances = _state()
    # Captures were committed together, not one transaction each.
    assert sum(w.batches for w in workers) < len(ids)
    assert max(w.largest_batch for w in workers) > 8
    assert captured == asked                      # each capture applied exactly once
    assert transactions == len(ids)
    for got in answers.values():                  # duplicates got the first answer
        assert len({m.transaction_id for m in got}) == 1
        assert sum(not m.replayed for m in got) == 1
    assert problems == []
    assert balances == {"budget": 0, "authorized": 200 * OFFER - sum(asked.values())}


@pytest.mark.integration
def test_a_batch_refuses_some_captures_and_applies_the_rest(pg_db):
    first, second, third = _authorisations(3)
    with session_scope() as db:
        billing.capture(db=db, authorization_id=third, amount_minor=OFFER,
                        idempotency_key="earlier")
    requests = [
        CaptureRequest(first, 200, "ok"),
        CaptureRequest(second, OFFER + 1, "too-much"),
        CaptureRequest(third, 10, "closed"),
        CaptureRequest(987654, 10, "unknown"),
        CaptureRequest(10**9, 10, "earlier"),  # the earlier key with another body
    ]
    with session_scope() as db:
        outcomes = capture_many(db, requests)
    assert isinstance(outcomes[0], billing.Movement) and outcomes[0].amount_minor == 200
    assert isinstance(outcomes[1], errors.AuthorizationExceeded)
    assert isinstance(outcomes[2], errors.AuthorizationNotOpen)
    assert isinstance(outcomes[3], errors.AuthorizationNotFound)
    assert isinstance(outcomes[4], errors.IdempotencyKeyReused)
    captured, transactions, problems, _ = _state()
    assert captured == {first: 200, second: 0, third: OFFER}
    assert transactions == 2 and problems == []
    # A refused capture leaves its key free: the same key with a fitting amount works.
    with session_scope() as db:
        again = capture_many(db, [CaptureRequest(second, OFFER, "too-much")])[0]
    assert isinstance(again, billing.Movement) and not again.replayed


@pytest.mark.integration
def test_a_failing_follow_up_undoes_the_whole_batch(pg_db):
    ids = _authorisations(4)

    def follow_up(db, moved) -> None:
        db.execute(text("SELECT 1/0"))

    batcher = CaptureBatcher(new_session, on_captured=follow_up)
    futures = [batcher.submit(CaptureRequest(auth, 100, f"k-{auth}")) for auth in ids]
    for future in futures:
        with pytest.raises(Exception, match="division by zero"):
            future.result(30)
    captured, transactions, problems, _ = _state()
    assert set(captured.values()) == {0} and transactions == 0 and problems == []

    # The bookkeeping runs in the batch's transaction: what it writes lands with the capture.
    def remember(db, moved) -> None:
        db.execute(text("CREATE TABLE IF NOT EXISTS seen (auth bigint, tx bigint)"))
        for request, movement in moved:
            db.execute(text("INSERT INTO seen VALUES (:a, :t)"),
                       {"a": request.authorization_id, "t": movement.transaction_id})

    batcher = CaptureBatcher(new_session, on_captured=remember)
    movements = [batcher.capture(CaptureRequest(auth, 100, f"k-{auth}")) for auth in ids]
    with session_scope() as db:
        seen = dict(db.execute(text("SELECT auth, tx FROM seen")).all())
    assert seen == {auth: m.transaction_id for auth, m in zip(ids, movements, strict=True)}


def test_bad_requests_are_refused_before_they_queue(sqlite_db):
    batcher = CaptureBatcher(new_session)
    with pytest.raises(errors.InvalidAmount):
        batcher.submit(CaptureRequest(1, 0, "zero"))
    with pytest.raises(errors.MissingIdempotencyKey):
        batcher.submit(CaptureRequest(1, 10, " "))


def test_on_sqlite_a_batch_captures_one_by_one(sqlite_db):
    first, second = _authorisations(2)
    batcher = CaptureBatcher(new_session)
    movement = batcher.capture(CaptureRequest(first, 300, "a"))
    with pytest.raises(errors.AuthorizationExceeded):
        batcher.capture(CaptureRequest(second, OFFER + 1, "b"))
    assert batcher.capture(CaptureRequest(first, 300, "a")).transaction_id == \
        movement.transaction_id
    captured, transactions, problems, _ = _state()
    assert captured == {first: 300, second: 0} and transactions == 1 and problems == []
