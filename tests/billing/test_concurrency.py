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
from billing.models import Authorization, Transaction, TransactionKind
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


def _call(operation, rng: random.Random, **kwargs):
    """A client's request: sometimes the connection drops before the commit (so the client
    retries with the same key), sometimes the client sends the same request twice."""
    while True:
        db = new_session()
        try:
            result = operation(db=db, **kwargs)
            if rng.random() < 0.15:
                db.rollback()  # the answer never reached the client: retry
                continue
            db.commit()
        finally:
            db.close()
        if rng.random() < 0.25:
            with session_scope() as db:
                twin = operation(db=db, **kwargs)
            assert twin.replayed and twin.transaction_id == result.transaction_id
            assert twin.authorization_id == result.authorization_id
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
from billing import service as billing
from core.db import session_scope
campaign, count = sys.argv[1], int(sys.argv[2])
for i in range(count):
    with session_scope() as db:
        a = billing.authorize(db=db, organisation_id=21, campaign_id=campaign,
                              amount_minor=500, currency="RUB", idempotency_key=f"k-act-{i}")
        billing.capture(db=db, authorization_id=a.authorization_id, amount_minor=300,
                        idempotency_key=f"k-cap-{i}")
    with session_scope() as db:
        b = billing.authorize(db=db, organisation_id=21, campaign_id=campaign,
                              amount_minor=200, currency="RUB", idempotency_key=f"k-act2-{i}")
    with session_scope() as db:
        billing.capture(db=db, authorization_id=b.authorization_id, amount_minor=150,
                        idempotency_key=f"k-cap2-{i}")
    print(i, flush=True)
"""


def _worker(campaign: str, count: int) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", WORKER, campaign, str(count)], cwd=ROOT,
                            env={**os.environ}, stdout=subprocess.PIPE, text=True)


def test_a_worker_killed_mid_way_leaves_no_partial_transaction(pg_db):
    campaign, count = "killed", 400
    _fund_campaign(campaign, count * 700)
    worker = _worker(campaign, count)
    try:
        for _ in range(40):  # let it get going, then kill it without warning
            assert worker.stdout.readline(), "the worker stopped early"
        time.sleep(random.uniform(0.0, 0.05))
        os.kill(worker.pid, signal.SIGKILL)
    finally:
        worker.wait(timeout=30)
        worker.stdout.close()
    with session_scope() as db:
        assert billing.check_ledger(db=db) == []
        half_way = db.scalar(select(func.count()).select_from(Authorization))
    assert 80 <= half_way < 2 * count

    # The same work again, with the same keys: the finished part replays, the rest is done.
    again = subprocess.run([sys.executable, "-c", WORKER, campaign, str(count)], cwd=ROOT,
                           env={**os.environ}, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr[-2000:]
    with session_scope() as db:
        assert billing.check_ledger(db=db) == []
        captured = sorted(db.scalars(select(Authorization.captured_minor)))
        balances = billing.campaign_balances(db=db, organisation_id=ORG, campaign_id=campaign,
                                             currency="RUB")
    assert captured == [150] * count + [300] * count
    assert balances == {"budget": 0, "authorized": count * (200 + 500 - 150 - 300)}
