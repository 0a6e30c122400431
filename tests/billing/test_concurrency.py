"""Money under pressure on PostgreSQL: 64 clients activating and capturing against one
campaign whose budget covers only part of the demand, with retries and duplicated requests,
and a worker killed mid-way. The campaign never spends more than its budget, nothing is
applied twice, every activated offer that is captured is honoured, and no partial
transaction survives."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path

import pytest
from sqlalchemy import func, select

from billing import errors
from billing import service as billing
from billing.models import Authorization, Posting, Transaction, TransactionKind
from core.db import new_session, session_scope

ORG = 21
OFFER = 500
BUDGET = 100 * OFFER          # 100 activations' worth
CLIENTS = 64
OFFERS_PER_CLIENT = 4         # 256 activations asked for
ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.integration


def _fund_campaign(campaign: str, budget: int) -> None:
    with session_scope() as db:
        billing.top_up(db=db, organisation_id=ORG, amount_minor=budget, currency="RUB",
                       source="bank", idempotency_key=f"fund-{campaign}")
        billing.hold_campaign_budget(db=db, organisation_id=ORG, campaign_id=campaign,
                                     amount_minor=budget, currency="RUB",
                                     idempotency_key=f"launch-{campaign}")


def _once(operation, **kwargs):
    with session_scope() as db:
        return operation(db=db, **kwargs)


def _race(out: list, operation, **kwargs) -> None:
    try:
        out.append(_once(operation, **kwargs))
    except BaseException as exc:  # reported by the caller
        out.append(exc)


def _call(operation, rng: random.Random, **kwargs):
    """A client's request: sometimes the connection drops before the commit (so the client
    retries with the same key), sometimes the same request arrives twice at once (a twin
    racing the first, which then waits for it), sometimes again after the answer."""
    while True:
        twin: list = []
        racer = None
        if rng.random() < 0.2:
            racer = threading.Thread(target=_race, args=(twin, operation), kwargs=kwargs)
            racer.start()
        db = new_session()
        try:
            try:
                result = operation(db=db, **kwargs)
            except BaseException:
                db.rollback()
                if racer:
                    racer.join()
                raise
            if rng.random() < 0.15:
                db.rollback()  # the answer never reached the client: retry
                if racer:
                    racer.join()
                continue
            db.commit()
        finally:
            db.close()
        if racer:
            racer.join()
            # Whichever of the two came first did it; the other got the same answer.
            assert not isinstance(twin[0], BaseException), twin[0]
            assert twin[0].transaction_id == result.transaction_id
            assert twin[0].authorization_id == result.authorization_id
            assert twin[0].replayed or result.replayed
        if rng.random() < 0.25:
            late = _once(operation, **kwargs)
            assert late.replayed and late.transaction_id == result.transaction_id
            assert late.authorization_id == result.authorization_id
        return result


def test_64_clients_never_overspend_nor_capture_twice(pg_db):
    campaign = "hot"
    _fund_campaign(campaign, BUDGET)
    captured: dict[int, int] = {}
    refused = defaultdict(int)
    failures: list[BaseException] = []
    lock = threading.Lock()
    start = threading.Barrier(CLIENTS)

    def client(number: int) -> None:
        rng = random.Random(number)
        try:
            start.wait()
            for offer in range(OFFERS_PER_CLIENT):
                try:
                    activation = _call(billing.authorize, rng, organisation_id=ORG,
                                       campaign_id=campaign, amount_minor=OFFER,
                                       currency="RUB",
                                       idempotency_key=f"act-{number}-{offer}")
                except errors.InsufficientFunds:
                    with lock:
                        refused[number] += 1
                    continue
                amount = rng.randint(1, OFFER)
                _call(billing.capture, rng, authorization_id=activation.authorization_id,
                      amount_minor=amount, idempotency_key=f"cap-{number}-{offer}")
                with lock:
                    captured[activation.authorization_id] = amount
        except BaseException as exc:  # reported below: a thread's error must fail the test
            failures.append(exc)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not failures, [str(f) for f in failures[:2]]

    with session_scope() as db:
        rows = {a: c for a, c in db.execute(select(Authorization.id, Authorization.captured_minor))}
        captures = db.scalar(select(func.count()).select_from(Transaction)
                             .where(Transaction.kind == TransactionKind.capture))
        balances = billing.campaign_balances(db=db, organisation_id=ORG, campaign_id=campaign,
                                             currency="RUB")
        problems = billing.check_ledger(db=db)
    # Every kopeck of the budget was usable and not one more: 100 activations of 500.
    assert len(rows) == len(captured) == BUDGET // OFFER
    assert sum(refused.values()) == CLIENTS * OFFERS_PER_CLIENT - BUDGET // OFFER
    # Each activated offer was honoured with exactly what checkout asked, once.
    assert rows == captured
    assert captures == len(captured)
    spent = sum(captured.values())
    assert spent <= BUDGET
    assert balances == {"budget": 0, "authorized": BUDGET - spent}
    assert problems == []


WORKER = """
import sys
from billing import errors
from billing import service as billing
from core.db import session_scope
campaign, name, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
for i in range(count):
    try:
        with session_scope() as db:  # activation and checkout in one transaction
            a = billing.authorize(db=db, organisation_id=21, campaign_id=campaign,
                                  amount_minor=500, currency="RUB",
                                  idempotency_key=f"{name}-act-{i}")
            billing.capture(db=db, authorization_id=a.authorization_id, amount_minor=300,
                            idempotency_key=f"{name}-cap-{i}")
    except errors.InsufficientFunds:
        pass
    try:
        with session_scope() as db:
            b = billing.authorize(db=db, organisation_id=21, campaign_id=campaign,
                                  amount_minor=200, currency="RUB",
                                  idempotency_key=f"{name}-act2-{i}")
        with session_scope() as db:
            billing.capture(db=db, authorization_id=b.authorization_id, amount_minor=150,
                            idempotency_key=f"{name}-cap2-{i}")
    except errors.InsufficientFunds:
        pass
    print(i, flush=True)
"""


def _worker(campaign: str, name: str, count: int) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", WORKER, campaign, name, str(count)],
                            cwd=ROOT, env={**os.environ}, stdout=subprocess.PIPE, text=True)


def test_a_worker_killed_mid_way_leaves_no_partial_transaction(pg_db):
    """Three worker processes share a campaign whose budget covers about 60 % of their
    demand; one is killed without warning mid-way, the others go on; then the killed one's
    work is done again with the same keys."""
    campaign, count, names = "killed", 120, ["w0", "w1", "w2"]
    budget = int(len(names) * count * 700 * 0.6)
    _fund_campaign(campaign, budget)
    workers = {name: _worker(campaign, name, count) for name in names}
    victim = workers["w0"]
    try:
        for _ in range(30):  # let it get going, then kill it without warning
            assert victim.stdout.readline(), "the worker stopped early"
        time.sleep(random.uniform(0.0, 0.05))
        os.kill(victim.pid, signal.SIGKILL)
    finally:
        for worker in workers.values():
            worker.wait(timeout=300)
            worker.stdout.close()
    assert [workers[n].returncode for n in names] == [-signal.SIGKILL, 0, 0]
    with session_scope() as db:
        assert billing.check_ledger(db=db) == []

    # The killed worker's work again, with the same keys: the finished part replays.
    again = subprocess.run([sys.executable, "-c", WORKER, campaign, "w0", str(count)],
                           cwd=ROOT, env={**os.environ}, capture_output=True, text=True,
                           timeout=600)
    assert again.returncode == 0, again.stderr[-2000:]
    with session_scope() as db:
        assert billing.check_ledger(db=db) == []
        auths = db.execute(select(Authorization.id, Authorization.amount_minor,
                                  Authorization.captured_minor)).all()
        by_kind = dict(db.execute(select(Transaction.kind, func.count())
                                  .group_by(Transaction.kind)).all())
        paid = dict(db.execute(
            select(Transaction.authorization_id, func.sum(Posting.amount_minor))
            .join(Posting, Posting.transaction_id == Transaction.id)
            .where(Transaction.kind == TransactionKind.capture, Posting.amount_minor > 0)
            .group_by(Transaction.authorization_id)).all())
        balances = billing.campaign_balances(db=db, organisation_id=ORG, campaign_id=campaign,
                                             currency="RUB")
    # Every activation was captured exactly once, with what checkout asked.
    assert by_kind[TransactionKind.authorize] == by_kind[TransactionKind.capture] == len(auths)
    assert all(captured == (300 if amount == 500 else 150) for _, amount, captured in auths)
    assert paid == {auth_id: captured for auth_id, _, captured in auths}
    # The budget ran out (demand exceeded it) and not one kopeck more was promised or spent.
    spent = sum(captured for _, _, captured in auths)
    promised = sum(amount for _, amount, _ in auths)
    assert budget - 500 < promised <= budget
    assert balances == {"budget": budget - promised, "authorized": promised - spent}
