"""Benchmark: simulate a retailer and import it into PostgreSQL.

    .venv/bin/python bench/simulate_import.py --customers 100000 --weeks 52

Prints lines generated, seconds to simulate, receipt lines per second imported into a
throwaway PostgreSQL (fsync on), and the peak memory of this process; the final line is
one JSON object. Targets (issue 2): simulate <= 180 s, import >= 200,000 lines/s,
peak <= 4,096 MB.
"""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
import time
from pathlib import Path

from harness import bench_database


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--weeks", type=int, default=52)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--database-url", help="an existing PostgreSQL (default: throwaway)")
    args = parser.parse_args()

    with (bench_database(args.database_url),
          tempfile.TemporaryDirectory(prefix="vitrina-bench-") as out):
        from core import migrate
        from retail.importing import import_folder
        from retail.simulator import simulate

        started = time.perf_counter()
        summary = simulate(customers=args.customers, weeks=args.weeks, seed=args.seed,
                           out=Path(out))
        simulate_s = time.perf_counter() - started
        lines = summary.lines
        print(f"simulated {args.customers:,} shoppers x {args.weeks} weeks: "
              f"{lines:,} receipt lines in {simulate_s:.1f} s "
              f"({lines / simulate_s:,.0f} lines/s), peak {peak_mb():,.0f} MB")

        migrate.upgrade()
        started = time.perf_counter()
        report = import_folder(folder=Path(out))
        import_s = time.perf_counter() - started
        imported = report.table("receipts").imported
        print(f"imported {imported:,} receipt lines (and the other tables) into "
              f"PostgreSQL in {import_s:.1f} s ({imported / import_s:,.0f} lines/s)")

    result = {
        "customers": args.customers, "weeks": args.weeks, "lines": lines,
        "simulate_s": round(simulate_s, 1),
        "import_s": round(import_s, 1),
        "import_lines_per_s": round(imported / import_s),
        "peak_mb": round(peak_mb()),
    }
    print(f"peak memory {result['peak_mb']:,} MB")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
