"""Benchmark: customer features and live audience estimates at retail scale.

    .venv/bin/python bench/audience.py --customers 1000000

Simulates a retailer (by default 3 weeks, which at a million shoppers is over 10M receipt
lines), imports it into a throwaway PostgreSQL, builds the customer features (reading the
lines out of PostgreSQL, then computing), loads the in-memory snapshot, starts the API
(uvicorn, one worker, which loads the snapshot before it answers) and times random rule
trees of 1–10 conditions through `POST /api/v1/segments/estimate`, one after another, as a
supplier's manager typing. The API worker's CPU time per estimate is printed beside the
wall-clock figures: on a shared machine it moves far less with the load than they do.

Prints the figures; the final line is one JSON object with `estimate_p50_ms`,
`estimate_p95_ms`, `feature_lines_per_s` (computing features from the lines in memory),
`snapshot_mb`, and the figures around them. Targets (issue 3): p50 <= 5 ms, p95 <= 20 ms,
feature build >= 2M lines/s, snapshot <= 2,048 MB.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from harness import BENCH_SECRET as SECRET
from harness import bench_database

from tests.servers import free_port


def rss_mb(pid: int | str = "self") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def load_average() -> float:
    return os.getloadavg()[0]


def cpu_ms(pid: int) -> float:
    """User plus system CPU time a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--weeks", type=int, default=3)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--rules", type=int, default=1000)
    parser.add_argument("--database-url", help="an existing PostgreSQL (default: throwaway)")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="vitrina-bench-audience-"))
    database = contextlib.ExitStack()
    url = database.enter_context(bench_database(args.database_url, durable=False,
                                                DATA_DIR=str(work / "data")))
    env = {"DATABASE_URL": url, "SECRET_KEY": SECRET, "DATA_DIR": str(work / "data")}

    from audience import service
    from core import migrate
    from retail.importing import import_folder
    from retail.simulator import simulate

    api = None
    try:
        started = time.perf_counter()
        summary = simulate(customers=args.customers, weeks=args.weeks, seed=args.seed,
                           out=work / "market")
        print(f"simulated {args.customers:,} shoppers x {args.weeks} weeks: "
              f"{summary.lines:,} receipt lines in {time.perf_counter() - started:.0f} s")
        if summary.lines < 10_000_000:
            print("note: fewer than 10M receipt lines; raise --weeks for the full benchmark")
        migrate.upgrade()
        started = time.perf_counter()
        import_folder(folder=work / "market")
        print(f"imported into PostgreSQL in {time.perf_counter() - started:.0f} s")

        load_before = load_average()
        cpu_before = time.process_time()
        report = service.build_features(mode="full", echo=lambda line: print("  " + line))
        build_cpu = time.process_time() - cpu_before
        lines = report.lines
        feature_lines_per_s = lines / report.compute_seconds
        print(f"feature build: {lines:,} lines of {report.customers:,} shoppers; "
              f"read from PostgreSQL {report.extract_seconds:.1f} s "
              f"({lines / report.extract_seconds:,.0f} lines/s), compute "
              f"{report.compute_seconds:.1f} s ({feature_lines_per_s:,.0f} lines/s), "
              f"end to end {report.seconds:.1f} s ({lines / report.seconds:,.0f} lines/s); "
              f"this process used {build_cpu:.1f} s of CPU; load average "
              f"{load_before:.1f} before, {load_average():.1f} after")

        service.forget_snapshot()
        rss_before = rss_mb()
        started = time.perf_counter()
        snapshot = service.current_snapshot()
        load_s = time.perf_counter() - started
        snapshot_mb = snapshot.nbytes() / 2**20
        print(f"snapshot: {snapshot.n:,} shoppers, {len(snapshot.columns)} fields, "
              f"{snapshot_mb:,.0f} MB of columns (process grew {rss_mb() - rss_before:,.0f} MB),"
              f" loaded in {load_s:.1f} s")
        fields_catalogue = snapshot.catalogue.to_json()
        # Counting alone, in this process, without HTTP.
        from audience.rules import parse_rule
        from tests.audience.rulegen import random_rule

        rng = random.Random(args.seed)
        rules = [random_rule(fields_catalogue, rng, conditions=rng.randint(1, 10))
                 for _ in range(args.rules)]
        in_process = []
        for rule in rules:
            begun = time.perf_counter()
            snapshot.estimate(parse_rule(rule, snapshot.catalogue))
            in_process.append((time.perf_counter() - begun) * 1000)
        print(f"estimates in process (parse, count, breakdown): p50 "
              f"{percentile(in_process, 0.5):.2f} ms, p95 {percentile(in_process, 0.95):.2f} ms")
        service.forget_snapshot()
        del snapshot

        # A supplier's manager, as in the web cabinet.
        from core.db import session_scope
        from marketplace_api.identity import service as identity
        from marketplace_api.identity.models import OrganisationKind, Role
        from tests import factories

        with session_scope() as db:
            organisation = identity.create_organisation(
                db=db, name="Bench supplier", kind=OrganisationKind.supplier,
                supplier_id="S001")
            user = factories.user(db, organisation=organisation, role=Role.supplier_manager)
            headers = factories.bearer(user)

        port = free_port()
        started = time.perf_counter()
        api = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "marketplace_api.app:create_app", "--factory",
             "--port", str(port), "--workers", "1", "--no-access-log", "--log-level",
             "warning"], env={**os.environ, **env}, cwd=str(work))
        import httpx

        client = httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers,
                              timeout=120)
        for _ in range(300):
            try:
                if client.get("/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        print(f"API up (snapshot loaded at start-up) in {time.perf_counter() - started:.1f} s")
        started = time.perf_counter()
        fields = client.get("/api/v1/audience/fields").json()
        print(f"first request {(time.perf_counter() - started) * 1000:.1f} ms; "
              f"{len(fields)} fields")

        for rule in rules[:50]:  # warm-up
            assert client.post("/api/v1/segments/estimate", json={"rule": rule}).status_code \
                == 200
        # The same client on the cheapest authenticated route: what any request pays for
        # HTTP, the login check and the framework, before counting anything.
        baseline = []
        for _ in range(300):
            begun = time.perf_counter()
            assert client.get("/api/v1/me").status_code == 200
            baseline.append((time.perf_counter() - begun) * 1000)
        print(f"baseline GET /api/v1/me: p50 {percentile(baseline, 0.5):.2f} ms, "
              f"p95 {percentile(baseline, 0.95):.2f} ms")
        timings = []
        matched = []
        load_before = load_average()
        api_cpu_before = cpu_ms(api.pid)
        for rule in rules:
            begun = time.perf_counter()
            response = client.post("/api/v1/segments/estimate", json={"rule": rule})
            timings.append((time.perf_counter() - begun) * 1000)
            assert response.status_code == 200, response.text
            matched.append(response.json()["count"]["count"] or 0)
        api_cpu = (cpu_ms(api.pid) - api_cpu_before) / len(rules)
        load_during = (load_before + load_average()) / 2
        p50, p95, p99 = (percentile(timings, q) for q in (0.5, 0.95, 0.99))
        print(f"{len(rules):,} estimates of 1–10 conditions over HTTP: p50 {p50:.2f} ms, "
              f"p95 {p95:.2f} ms, p99 {p99:.2f} ms, mean {statistics.fmean(timings):.2f} ms; "
              f"API worker CPU {api_cpu:.2f} ms per estimate; median audience "
              f"{statistics.median(matched):,.0f}; load average {load_before:.1f} before, "
              f"{load_average():.1f} after")
        api_rss = rss_mb(api.pid)
        print(f"API worker resident memory {api_rss:,.0f} MB")
    finally:
        if api is not None:
            api.terminate()
            api.wait(timeout=30)
        database.close()
        shutil.rmtree(work, ignore_errors=True)

    result = {
        "customers": args.customers, "weeks": args.weeks, "lines": lines,
        "estimate_p50_ms": round(p50, 2), "estimate_p95_ms": round(p95, 2),
        "estimate_p99_ms": round(p99, 2), "estimate_api_cpu_ms": round(api_cpu, 2),
        "estimate_load_average": round(load_during, 1),
        "estimate_in_process_p50_ms": round(percentile(in_process, 0.5), 2),
        "estimate_in_process_p95_ms": round(percentile(in_process, 0.95), 2),
        "auth_baseline_p50_ms": round(percentile(baseline, 0.5), 2),
        "auth_baseline_p95_ms": round(percentile(baseline, 0.95), 2),
        "feature_lines_per_s": round(feature_lines_per_s),
        "feature_extract_lines_per_s": round(lines / report.extract_seconds),
        "feature_build_end_to_end_lines_per_s": round(lines / report.seconds),
        "snapshot_mb": round(snapshot_mb), "snapshot_load_s": round(load_s, 1),
        "load_average": round(load_average(), 1),
        "api_worker_rss_mb": round(api_rss), "bench_peak_mb": round(peak_mb()),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
