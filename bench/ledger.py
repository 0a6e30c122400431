"""Benchmark: ledger captures per second on PostgreSQL, on one hot campaign and on 100.

    .venv/bin/python bench/ledger.py [--clients 64] [--processes 4] [--pool 16]
                                     [--seconds 8] [--runs 3]

A throwaway PostgreSQL with fsync and synchronous commit ON (durable figures) unless
--database-url names one. For each case, 64 clients first activate offers (authorise:
campaign.budget → campaign.authorized), all of the demand, timed as its own phase; then
they capture those authorisations (campaign.authorized → supplier_compensation) for
--seconds, with more authorisations than they can capture in that time, so the capture
figure is captures for the whole phase (no start-up ramp, no tail). Every call is its own
committed transaction through `billing.service`, as the API makes them. The clients are
threads spread over a few processes (one Python process cannot drive PostgreSQL this fast
alone) sharing --pool connections in all. The hot case has a budget that covers 80 % of
the demand, so refused activations are part of the measurement. Each case runs --runs
times on fresh campaigns (hot and spread alternating); the figures are the medians, and
every run is printed with the load average of the machine around it.

Final line: one JSON object with `hot_captures_per_s`, `spread_captures_per_s`,
`overspend_minor` (must be 0) and `ledger_check` ("ok"). Target (issue 5): >= 2,000
captures/s on the hot campaign.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import random
import statistics
import threading
import time
import uuid

from harness import bench_database

ORGANISATION = 1
AMOUNT = 500          # kopecks promised per activation
CAPTURED = 350        # kopecks used at checkout


def _worker(url: str, task: str, items: list, threads: int, pool: int, seconds: float,
            start, results, dispatchers: int = 2) -> None:
    """One process: `threads` clients sharing `pool` connections, until the items or the
    time run out. Task "capture" goes through the process's group-commit batcher, as the
    API's checkout does; "capture-single" is one transaction per capture. Puts (done,
    refused, errors, first_start, last_end, outputs, batches)."""
    from sqlalchemy import create_engine
    from sqlalchemy.orm import sessionmaker

    from billing import errors
    from billing import service as billing
    from billing.capture_batch import CaptureBatcher, CaptureRequest

    # A client may wait long for one of the shared connections on a loaded machine: that
    # is queueing in the client, not a failure of the ledger.
    engine = create_engine(url, pool_size=pool, max_overflow=0, pool_pre_ping=False,
                           pool_timeout=600)
    make_session = sessionmaker(bind=engine, expire_on_commit=False)
    batcher = CaptureBatcher(make_session, dispatchers=dispatchers)
    lock = threading.Lock()
    cursor = iter(items)
    counts = {"done": 0, "refused": 0, "errors": 0}
    outputs: list = []
    deadline_box: list[float] = []

    def next_item():
        with lock:
            return next(cursor, None)

    def client() -> None:
        while time.monotonic() < deadline_box[0]:
            item = next_item()
            if item is None:
                return
            try:
                if task == "capture":
                    batcher.capture(CaptureRequest(item, CAPTURED, f"cap-{item}"))
                    with lock:
                        counts["done"] += 1
                    continue
                with make_session() as db:
                    if task == "authorize":
                        campaign, key = item
                        out = billing.authorize(db=db, organisation_id=ORGANISATION,
                                                campaign_id=campaign, amount_minor=AMOUNT,
                                                currency="RUB", idempotency_key=key)
                    else:
                        out = billing.capture(db=db, authorization_id=item,
                                              amount_minor=CAPTURED,
                                              idempotency_key=f"cap-{item}")
                    db.commit()
                with lock:
                    counts["done"] += 1
                    if task == "authorize":
                        outputs.append((item[0], out.authorization_id))
            except errors.InsufficientFunds:
                with lock:
                    counts["refused"] += 1
            except Exception as exc:  # counted and shown: a benchmark must not hide errors
                with lock:
                    counts["errors"] += 1
                    if counts["errors"] <= 3:
                        print(f"  error: {type(exc).__name__}: {exc}"[:300], flush=True)

    # Warm the pool before the clock starts.
    conns = [engine.connect() for _ in range(pool)]
    for conn in conns:
        conn.close()
    start.wait()
    began = time.monotonic()
    deadline_box.append(began + seconds)
    workers = [threading.Thread(target=client) for _ in range(threads)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    ended = time.monotonic()
    engine.dispose()
    results.put((counts["done"], counts["refused"], counts["errors"], began, ended, outputs,
                 batcher.batches))


def _database_processes(url: str) -> list:
    """The PostgreSQL server's processes when it runs on this machine (its postmaster and
    their children), for CPU accounting; empty when it cannot be found."""
    import psutil
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            data = conn.execute(text("SELECT current_setting('data_directory')")).scalar_one()
        with open(os.path.join(data, "postmaster.pid")) as pidfile:
            postmaster = psutil.Process(int(pidfile.readline()))
        return [postmaster, *postmaster.children(recursive=True)]
    except (OSError, psutil.Error):
        return []
    finally:
        engine.dispose()


def _cpu_seconds(processes: list) -> float:
    """CPU of the server's processes; the postmaster's own figure includes the backends
    that have ended (it reaps them), the live ones are listed afresh."""
    import psutil

    if not processes:
        return 0.0
    postmaster = processes[0]
    try:
        times = postmaster.cpu_times()
        total = times.user + times.system + times.children_user + times.children_system
        for child in postmaster.children(recursive=True):
            try:
                times = child.cpu_times()
                total += times.user + times.system
            except psutil.Error:
                pass
    except psutil.Error:
        return 0.0
    return total


def run_phase(url: str, task: str, items: list, *, clients: int, processes: int, pool: int,
              seconds: float, dispatchers: int = 2) -> dict:
    """One phase; besides the rate, the CPU per operation of the clients (the bench's
    processes: Python, SQLAlchemy, the driver) and of the database server, which tells
    where a 2-core machine spends its time."""
    database = _database_processes(url)
    ctx = mp.get_context("fork")
    start = ctx.Event()
    results = ctx.Queue()
    shares = [items[i::processes] for i in range(processes)]
    procs = [ctx.Process(target=_worker, args=(url, task, shares[i], clients // processes,
                                                max(1, pool // processes), seconds, start,
                                                results, dispatchers))
             for i in range(processes)]
    for proc in procs:
        proc.start()
    time.sleep(1.0)
    load_before = os.getloadavg()[0]
    database_cpu = _cpu_seconds(database)
    clients_cpu = os.times()
    start.set()
    gathered = [results.get() for _ in procs]
    for proc in procs:
        proc.join()
    database_cpu = _cpu_seconds(database) - database_cpu
    after = os.times()
    clients_cpu = (after.children_user + after.children_system
                   - clients_cpu.children_user - clients_cpu.children_system)
    done = sum(g[0] for g in gathered)
    refused = sum(g[1] for g in gathered)
    failed = sum(g[2] for g in gathered)
    wall = max(g[4] for g in gathered) - min(g[3] for g in gathered)
    outputs = [o for g in gathered for o in g[5]]
    batches = sum(g[6] for g in gathered)
    return {"captures_per_commit": round(done / batches, 1) if batches else None,
            "done": done, "refused": refused, "errors": failed, "seconds": round(wall, 2),
            "per_s": round((done + refused) / wall, 1),
            "ran_out": done + refused + failed >= len(items),
            "load": [round(load_before, 1), round(os.getloadavg()[0], 1)],
            "client_cpu_ms_per_op": round(1000 * clients_cpu / max(1, done + refused), 3),
            "database_cpu_ms_per_op": round(1000 * database_cpu / max(1, done + refused), 3),
            "outputs": outputs}


def setup_case(*, campaigns: list[str], budget_each: int) -> None:
    from billing import service as billing
    from core.db import session_scope

    with session_scope() as db:
        billing.top_up(db=db, organisation_id=ORGANISATION,
                       amount_minor=budget_each * len(campaigns), currency="RUB",
                       source="bank", idempotency_key=f"bench-top-up-{uuid.uuid4()}")
        for campaign in campaigns:
            billing.hold_campaign_budget(db=db, organisation_id=ORGANISATION,
                                         campaign_id=campaign, amount_minor=budget_each,
                                         currency="RUB", idempotency_key=f"hold-{campaign}")


def run_case(url: str, name: str, campaigns: list[str], activations: int, budget_each: int,
             args) -> dict:
    """All of the demand activated (timed), then captures of those for --seconds."""
    setup_case(campaigns=campaigns, budget_each=budget_each)
    demand = [(campaigns[i % len(campaigns)], f"{name}-act-{i}") for i in range(activations)]
    authorized = run_phase(url, "authorize", demand, clients=args.clients,
                           processes=args.processes, pool=args.pool, seconds=600)
    ids = [auth_id for _, auth_id in authorized.pop("outputs")]
    random.Random(name).shuffle(ids)  # checkout comes in another order than activation
    print(f"{name}: activations {authorized}", flush=True)
    captured = run_phase(url, args.captures, ids, clients=args.clients, processes=args.processes,
                         pool=args.pool, seconds=args.seconds, dispatchers=args.dispatchers)
    captured.pop("outputs")
    print(f"{name}: captures {captured}", flush=True)
    return {"authorize": authorized, "capture": captured}


def overspend(url: str, budgets: dict[str, int]) -> int:
    """Captured beyond the budget, summed over campaigns (must be 0)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT campaign_id, COALESCE(SUM(captured_minor), 0) FROM billing_authorization "
            "GROUP BY campaign_id")).all()
    engine.dispose()
    spent = dict(rows)
    return sum(max(0, int(spent.get(c, 0)) - budget) for c, budget in budgets.items())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--pool", type=int, default=16, help="connections in all")
    parser.add_argument("--seconds", type=float, default=8.0, help="per capture phase")
    parser.add_argument("--runs", type=int, default=3, help="runs of each case (medians)")
    parser.add_argument("--activations", type=int, default=30_000,
                        help="demand per run; more than the clients capture in --seconds")
    parser.add_argument("--captures", choices=["capture", "capture-single"],
                        default="capture", help="capture: group commit (as the API); "
                        "capture-single: one transaction per capture")
    parser.add_argument("--dispatchers", type=int, default=2,
                        help="batch dispatchers (connections) per process, for group commit")
    parser.add_argument("--database-url", help="an existing PostgreSQL (default: throwaway)")
    args = parser.parse_args()

    with bench_database(args.database_url) as url:
        from core import migrate
        from core.db import get_engine, reset_caches, session_scope

        migrate.upgrade()
        reset_caches()
        get_engine().dispose()

        # The hot campaign's budget covers 80 % of the demand: refusals are measured too.
        hot_budget = int(args.activations * AMOUNT * 0.8)
        spread_budget = args.activations * AMOUNT // 100 + AMOUNT
        budgets: dict[str, int] = {}
        runs: dict[str, list[dict]] = {"hot": [], "spread": []}
        for run in range(args.runs):
            hot = [f"hot-{run}"]
            spread = [f"spread-{run}-{i:03d}" for i in range(100)]
            budgets.update({c: hot_budget for c in hot} | {c: spread_budget for c in spread})
            runs["hot"].append(run_case(url, f"hot-{run}", hot, args.activations, hot_budget,
                                        args))
            runs["spread"].append(run_case(url, f"spread-{run}", spread, args.activations,
                                           spread_budget, args))

        from billing import service as billing

        with session_scope() as db:
            problems = billing.check_ledger(db=db)
        over = overspend(url, budgets)
        every = [r for case in runs.values() for r in case]
        errors_seen = sum(r[p]["errors"] for r in every for p in ("authorize", "capture"))

        def median_of(case: str, phase: str) -> float:
            return statistics.median(r[phase]["per_s"] for r in runs[case])

        loads = [x for r in every for p in ("authorize", "capture") for x in r[p]["load"]]
        summary = {
            "hot_captures_per_s": median_of("hot", "capture"),
            "spread_captures_per_s": median_of("spread", "capture"),
            "hot_activations_per_s": median_of("hot", "authorize"),
            "spread_activations_per_s": median_of("spread", "authorize"),
            "hot_captures_per_s_runs": [r["capture"]["per_s"] for r in runs["hot"]],
            "spread_captures_per_s_runs": [r["capture"]["per_s"] for r in runs["spread"]],
            "hot_activations_refused": runs["hot"][0]["authorize"]["refused"],
            "captures_ran_out": any(r["capture"]["ran_out"] for r in every),
            "errors": errors_seen,
            "overspend_minor": over,
            "ledger_check": "ok" if not problems else f"{len(problems)} problems: "
                                                       f"{problems[:3]}",
            "captures": "group commit" if args.captures == "capture" else "one per commit",
            "dispatchers": args.dispatchers,
            "captures_per_commit": statistics.median(
                r["capture"]["captures_per_commit"] or 1 for r in runs["hot"]),
            "clients": args.clients, "processes": args.processes, "pool": args.pool,
            "fsync": args.database_url is None,
            "load_average": [min(loads), max(loads)],
        }
        print(json.dumps(summary))


if __name__ == "__main__":
    main()
