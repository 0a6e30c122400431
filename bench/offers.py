"""Benchmark: serving offers to the app and applying receipts at the checkout, on
PostgreSQL and Redis, with 1,000,000 shoppers and 200 active campaigns.

    .venv/bin/python bench/offers.py [--shoppers 1000000] [--campaigns 200]
                                     [--wrk-seconds 60] [--paced-seconds 30]
                                     [--pos-seconds 30] [--workers 2]

A throwaway PostgreSQL (fsync and synchronous commit ON) and Redis unless --database-url
names a database. Set-up goes through the real services: each campaign's budget is held
by billing and its offers are written by `offers.service.materialise_offers` (binary COPY)
from a frozen audience — campaign 0 targets all shoppers with 3 SKUs (the 1M × SKUs case,
timed), the others ~12.5k shoppers with 2 SKUs each.

Then, on loopback, each server run by uvicorn with --workers processes:
1. a bare FastAPI JSON endpoint under `wrk` (peak requests/s, for reference);
2. the offers endpoint (`GET /api/v1/app/shoppers/{id}/offers?store_id=…`, random
   shoppers, API key, rate limiter in Redis) under the same `wrk`;
3. the offers endpoint at a fixed 1,000 requests/s from a paced asyncio client: every
   request has a scheduled send time and its latency counts from then, so a stalled
   server cannot hide its queue (no coordinated omission);
4. the checkout (`POST /api/v1/pos/receipts`, three lines, one with an activated offer
   captured in billing) paced at 200 receipts/s.
Also: in-process lookup cost of the index against one Redis HGETALL of the same offers.

Final line: JSON with `offers_rps`, `bare_rps`, `offers_p99_ms_at_1000rps`,
`pos_p99_ms_at_200rps`. Targets (issue 6): offers ≥ 50 % of bare; p99 ≤ 5 ms at
1,000/s; checkout p99 ≤ 15 ms at 200/s.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import numpy as np
import psutil
from harness import bench_database

ROOT = Path(__file__).resolve().parents[1]
STORES = [f"S{i:03d}" for i in range(1, 21)]


def say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


# --- the world -----------------------------------------------------------------------------

def build_world(*, shoppers: int, campaigns: int, seed: int = 7) -> dict:
    import pyarrow as pa
    from sqlalchemy import text

    from audience.models import (
        BuildMode,
        BuildStatus,
        FeatureBuild,
        Materialisation,
        Segment,
        SegmentVersion,
    )
    from billing import service as billing
    from core.db import session_scope, utcnow
    from marketplace_api.campaigns.models import Campaign, CampaignStatus, DepthMode
    from marketplace_api.identity import service as identity
    from marketplace_api.identity.models import ApiKeyKind, OrganisationKind
    from marketplace_api.offers import service
    from retail.importing import pgcopy
    from retail.models import Product, Store, Supplier

    rng = np.random.default_rng(seed)
    ids = np.array([f"C{i:07d}" for i in range(shoppers)], dtype=object)
    now = utcnow()
    timings = {}
    with session_scope() as db:
        db.add_all([Store(store_id=s, name=f"Store {s}", region=f"R{i % 4}")
                    for i, s in enumerate(STORES)])
        db.add(Supplier(supplier_id="SUP", name="Molochny Dom"))
        db.flush()
        retailer = identity.create_organisation(db=db, name="Retailer",
                                                kind=OrganisationKind.retailer)
        org = identity.create_organisation(db=db, name="Molochny Dom", supplier_id="SUP",
                                           kind=OrganisationKind.supplier)
        app_key = identity.create_api_key(db=db, organisation=retailer, kind=ApiKeyKind.app,
                                          name="app").secret
        pos_key = identity.create_api_key(db=db, organisation=retailer, kind=ApiKeyKind.pos,
                                          name="pos").secret
        build = FeatureBuild(status=BuildStatus.published, mode=BuildMode.full,
                             window_weeks=26, traits_digest="bench", path="x", as_of=now)
        db.add(build)
        db.flush()
        products = []
        for c in range(campaigns):
            for k in range(3 if c == 0 else 2):
                price = int(rng.integers(50, 500)) * 100
                products.append(Product(sku=f"P{c:03d}-{k}", name=f"Молоко {c}-{k} 1 л",
                                        supplier_id="SUP", category="Dairy", brand="Milky",
                                        regular_price_minor=price,
                                        cost_price_minor=price * 6 // 10, currency="RUB"))
        db.add_all(products)
        billing.top_up(db=db, organisation_id=org.id, amount_minor=10**15, currency="RUB",
                       source="bank", idempotency_key="bench-fund")
        campaign_ids = []
        for c in range(campaigns):
            members = ids if c == 0 else ids[rng.choice(shoppers, min(12_500, shoppers // 4),
                                                                replace=False)]
            segment = Segment(organisation_id=org.id, name=f"Segment {c}")
            db.add(segment)
            db.flush()
            version = SegmentVersion(segment_id=segment.id, version=1,
                                     rule={"field": "visits_per_week", "op": "gte", "value": 0})
            db.add(version)
            db.flush()
            materialisation = Materialisation(segment_version_id=version.id,
                                              feature_build_id=build.id, members=len(members))
            db.add(materialisation)
            db.flush()
            raw = db.connection().connection.driver_connection
            with raw.cursor() as cursor, cursor.copy(
                    "COPY audience_materialised_member (materialisation_id, customer_id) "
                    "FROM STDIN (FORMAT BINARY)") as copy:
                copy.write(pgcopy.SIGNATURE)
                copy.write(pgcopy.encode(pa.table({
                    "materialisation_id": pa.array(np.full(len(members), materialisation.id,
                                                           dtype=np.int32)),
                    "customer_id": pa.array(members.tolist(), pa.string())})))
                copy.write(pgcopy.TRAILER)
            campaign = Campaign(
                organisation_id=org.id, name=f"Campaign {c}", status=CampaignStatus.active,
                segment_id=segment.id, segment_version=1,
                skus=[p.sku for p in products if p.sku.startswith(f"P{c:03d}-")],
                starts_at=now - timedelta(days=1), ends_at=now + timedelta(days=27),
                store_ids=None, regions=[f"R{c % 4}", f"R{(c + 1) % 4}"] if c % 5 == 4 else None,
                depth_mode=DepthMode.fixed, discount_bp=int(rng.choice([1000, 1500, 2000])),
                limit_units_per_week=5, budget_minor=10**11, currency="RUB", holdout_bp=1000,
                materialisation_id=materialisation.id)
            db.add(campaign)
            db.flush()
            billing.hold_campaign_budget(db=db, organisation_id=org.id, campaign_id=campaign.id,
                                         amount_minor=10**11, currency="RUB",
                                         idempotency_key=f"bench-hold-{campaign.id}")
            campaign_ids.append(campaign.id)
        org_id = org.id
    say(f"{shoppers:,} shoppers, {campaigns} campaigns set up; writing offers")
    offers = 0
    for number, campaign_id in enumerate(campaign_ids):
        started = time.perf_counter()
        with session_scope() as db:
            done = service.materialise_offers(db=db, campaign_id=campaign_id)
            offers += done.offer_set.offers
        seconds = time.perf_counter() - started
        if number == 0:
            timings["materialise_1m_shoppers_s"] = round(seconds, 1)
            timings["materialise_1m_offers"] = done.offer_set.offers
            say(f"campaign 0: {done.offer_set.offers:,} offers for "
                f"{done.offer_set.treated:,} treated shoppers in {seconds:.1f} s")
    with session_scope() as db:
        db.execute(text("ANALYZE"))
    say(f"{offers:,} offers written")
    return {"app_key": app_key, "pos_key": pos_key, "campaign_ids": campaign_ids,
            "org_id": org_id, "offers": offers, "ids": ids, **timings}


def activate_for_checkout(world: dict, count: int) -> list[tuple[str, str, int]]:
    """Shoppers who took campaign 0's first SKU (its allowance authorised in billing)."""
    from sqlalchemy import select

    from core.db import session_scope
    from marketplace_api.offers import service
    from marketplace_api.offers.models import Offer
    from retail.models import Product

    with session_scope() as db:
        rows = db.execute(select(Offer.id, Offer.customer_id, Product.regular_price_minor)
                          .join(Product, Product.sku == Offer.sku)
                          .where(Offer.campaign_id == world["campaign_ids"][0],
                                 Offer.sku == "P000-0").limit(count)).all()
        for offer_id, customer_id, _ in rows:
            service.activate(db=db, customer_id=customer_id, offer_id=offer_id)
    return [(customer_id, "P000-0", price) for _, customer_id, price in rows]


# --- servers and load ------------------------------------------------------------------------

def start_server(factory: str, port: int, workers: int, env: dict) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "uvicorn", f"offers_server:{factory}", "--factory",
         "--app-dir", str(ROOT / "bench"), "--host", "127.0.0.1", "--port", str(port),
         "--workers", str(workers), "--no-access-log", "--log-level", "warning",
         "--loop", "uvloop", "--http", "httptools"],
        env=env, cwd=ROOT)


def wait_ready(url: str, headers: dict, seconds: float = 900) -> float:
    import httpx

    started = time.perf_counter()
    deadline = started + seconds
    while time.perf_counter() < deadline:
        try:
            if httpx.get(url, headers=headers, timeout=5).status_code == 200:
                return time.perf_counter() - started
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"{url} did not answer")


def stop_server(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()


def worker_rss_mb(process: subprocess.Popen) -> list[float]:
    children = psutil.Process(process.pid).children(recursive=True)
    return [round(child.memory_info().rss / 2**20) for child in children]


_WRK_SCRIPT = """
math.randomseed(%(seed)d)
local headers = {["X-Api-Key"] = "%(key)s"}
local stores = {%(stores)s}
request = function()
  local id = string.format("C%%07d", math.random(0, %(last)d))
  local store = stores[math.random(1, #stores)]
  return wrk.format("GET", "/api/v1/app/shoppers/" .. id .. "/offers?store_id=" .. store,
                    headers)
end
"""


def run_wrk(url: str, seconds: int, *, script: str | None = None, connections: int = 64
            ) -> dict:
    args = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", url]
    if script:
        args[1:1] = ["-s", script]
    out = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)

    def pct(label: str) -> float:
        found = re.search(rf"\s{label}%\s+([\d.]+)(us|ms|s)", out)
        value, unit = float(found.group(1)), found.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    return {"rps": round(rps), "p50_ms": pct("50"), "p99_ms": pct("99"),
            "non_2xx": int(errors.group(1)) if errors else 0}


async def _paced(port: int, requests, rate: float, seconds: float, connections: int) -> dict:
    """Send requests on a fixed timetable; latency counts from each scheduled time."""
    loop = asyncio.get_running_loop()
    idle: asyncio.Queue = asyncio.Queue()
    for _ in range(connections):
        idle.put_nowait(await asyncio.open_connection("127.0.0.1", port))
    latencies: list[float] = []
    send_late = 0.0  # how late the client itself sent: its own stalls, not the server's
    failures = 0
    total = int(rate * seconds)

    async def one(payload: bytes, scheduled: float) -> None:
        nonlocal failures
        reader, writer = await idle.get()
        try:
            writer.write(payload)
            head = await reader.readuntil(b"\r\n\r\n")
            length = int(re.search(rb"(?i)content-length:\s*(\d+)", head).group(1))
            await reader.readexactly(length)
            if not head.startswith(b"HTTP/1.1 200"):
                failures += 1
        finally:
            idle.put_nowait((reader, writer))
        latencies.append(loop.time() - scheduled)

    start = loop.time() + 0.2
    tasks = []
    for i in range(total):
        scheduled = start + i / rate
        delay = scheduled - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        else:
            send_late = max(send_late, -delay)
        tasks.append(asyncio.create_task(one(requests(i), scheduled)))
    await asyncio.gather(*tasks)
    while not idle.empty():
        _, writer = idle.get_nowait()
        writer.close()
    ms = np.array(latencies) * 1000
    return {"requests": total, "failures": failures,
            "p50_ms": round(float(np.percentile(ms, 50)), 2),
            "p99_ms": round(float(np.percentile(ms, 99)), 2),
            "max_ms": round(float(ms.max()), 2),
            "client_send_late_max_ms": round(send_late * 1000, 1)}


def paced(port: int, requests, *, rate: float, seconds: float, connections: int = 64) -> dict:
    import uvloop

    return uvloop.run(_paced(port, requests, rate, seconds, connections))


def offers_request(world: dict, shoppers: int, seed: int = 3):
    rng = random.Random(seed)
    key = world["app_key"]

    def make(_i: int) -> bytes:
        customer = f"C{rng.randrange(shoppers):07d}"
        store = rng.choice(STORES)
        return (f"GET /api/v1/app/shoppers/{customer}/offers?store_id={store} HTTP/1.1\r\n"
                f"Host: bench\r\nX-Api-Key: {key}\r\n\r\n").encode()

    return make


def receipt_request(world: dict, buyers: list[tuple[str, str, int]]):
    key = world["pos_key"]
    from core.db import utcnow

    def make(i: int) -> bytes:
        customer, sku, price = buyers[i % len(buyers)]
        body = json.dumps({
            "receipt_id": f"BENCH-{i}", "customer_id": customer, "store_id": STORES[i % 20],
            "ts": utcnow().isoformat(),
            "lines": [{"sku": sku, "qty": 1, "price_minor": price},
                      {"sku": "P001-0", "qty": 2, "price_minor": 9_900},
                      {"sku": "P002-1", "qty": 1, "price_minor": 4_500}]}).encode()
        return (f"POST /api/v1/pos/receipts HTTP/1.1\r\nHost: bench\r\nX-Api-Key: {key}\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
                ).encode() + body

    return make


def lookup_costs(world: dict, redis_url: str, shoppers: int) -> dict:
    """One shopper's offers from this process's index (no HTTP) against one HGETALL of
    the same offers stored as a Redis hash (one field per offer)."""
    import redis

    from core.db import get_engine
    from marketplace_api.offers.index import OfferIndex

    found = OfferIndex(get_engine(), redis_url=None, refresh_seconds=3600)
    found.refresh(full=True)
    rng = random.Random(5)
    sample = [f"C{rng.randrange(shoppers):07d}" for _ in range(20_000)]
    started = time.perf_counter()
    for customer in sample:
        found.serve(customer, store_id="S001")
    memory_us = (time.perf_counter() - started) / len(sample) * 1e6
    client = redis.Redis.from_url(redis_url)
    table = found.table
    pipe = client.pipeline(transaction=False)
    for customer in sample[:5_000]:
        start, end = table.rows.get(customer, (0, 0))
        fields = {str(table.offer_id[j]): json.dumps([int(table.campaign_id[j]), table.sku[j],
                                                      int(table.discount_bp[j])])
                  for j in range(start, end)}
        if fields:
            pipe.hset(f"bench:offers:{customer}", mapping=fields)
    pipe.execute()
    started = time.perf_counter()
    for customer in sample[:5_000]:
        client.hgetall(f"bench:offers:{customer}")
    redis_us = (time.perf_counter() - started) / 5_000 * 1e6
    return {"index_lookup_us": round(memory_us, 1), "redis_hgetall_us": round(redis_us, 1),
            "index_offers": len(table.offer_id)}


# --- main ---------------------------------------------------------------------------------

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--shoppers", type=int, default=1_000_000)
    parser.add_argument("--campaigns", type=int, default=200)
    parser.add_argument("--wrk-seconds", type=int, default=60)
    parser.add_argument("--paced-seconds", type=float, default=30)
    parser.add_argument("--pos-seconds", type=float, default=30)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    from tests.servers import ThrowawayRedis, free_port

    redis_server = ThrowawayRedis().start()
    results: dict = {"load_before": [round(x, 2) for x in os.getloadavg()]}
    try:
        with bench_database(args.database_url, durable=True) as url:
            os.environ["REDIS_URL"] = redis_server.url
            from core import migrate
            from core.db import reset_caches

            reset_caches()
            migrate.upgrade()
            world = build_world(shoppers=args.shoppers, campaigns=args.campaigns)
            results.update({k: world[k] for k in ("materialise_1m_shoppers_s",
                                                  "materialise_1m_offers")})
            results["offers_written"] = world["offers"]
            buyers = activate_for_checkout(world, min(3_000, args.shoppers // 10))
            results.update(lookup_costs(world, redis_server.url, args.shoppers))
            say(f"lookups: {results['index_lookup_us']} µs in the index, "
                f"{results['redis_hgetall_us']} µs per Redis HGETALL")
            # The load generator's own full collections (a million shopper ids live here)
            # would show up as server latency.
            gc.collect()
            gc.freeze()
            env = {**os.environ, "DATABASE_URL": url, "REDIS_URL": redis_server.url,
                   "APP_RATE_LIMIT": "100000000/second", "POS_RATE_LIMIT": "1000000/second",
                   "LOG_LEVEL": "WARNING", "OFFERS_REFRESH_SECONDS": "1"}

            port = free_port()
            bare = start_server("bare_app", port, args.workers, env)
            try:
                wait_ready(f"http://127.0.0.1:{port}/bare", {})
                results["bare"] = run_wrk(f"http://127.0.0.1:{port}/bare", args.wrk_seconds)
            finally:
                stop_server(bare)
            say(f"bare: {results['bare']}")

            port = free_port()
            server = start_server("offers_app", port, args.workers, env)
            try:
                results["index_load_s"] = round(wait_ready(
                    f"http://127.0.0.1:{port}/api/v1/app/shoppers/C0000001/offers",
                    {"X-Api-Key": world["app_key"]}), 1)
                time.sleep(2)
                results["worker_rss_mb"] = worker_rss_mb(server)
                say(f"offers server ready in {results['index_load_s']} s, "
                    f"workers {results['worker_rss_mb']} MB")
                with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
                    script.write(_WRK_SCRIPT % {
                        "seed": 11, "key": world["app_key"], "last": args.shoppers - 1,
                        "stores": ", ".join(f'"{s}"' for s in STORES)})
                results["offers"] = run_wrk(f"http://127.0.0.1:{port}", args.wrk_seconds,
                                            script=script.name)
                say(f"offers under wrk: {results['offers']}")
                results["offers_paced"] = paced(port, offers_request(world, args.shoppers),
                                                rate=1000, seconds=args.paced_seconds)
                say(f"offers at 1000/s: {results['offers_paced']}")
                results["pos_paced"] = paced(port, receipt_request(world, buyers), rate=200,
                                             seconds=args.pos_seconds, connections=32)
                say(f"checkout at 200/s: {results['pos_paced']}")
            finally:
                stop_server(server)
            from sqlalchemy import func, select

            from billing import service as billing
            from core.db import session_scope
            from marketplace_api.offers.models import ReceiptLine

            with session_scope() as db:
                results["pos_captured_lines"] = db.scalar(
                    select(func.count()).select_from(ReceiptLine)
                    .where(ReceiptLine.status == "captured"))
                results["ledger_check"] = "ok" if not billing.check_ledger(db=db) else "FAILED"
    finally:
        redis_server.stop()
    results["load_after"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(results, default=str))
    print(json.dumps({"offers_rps": results["offers"]["rps"],
                      "bare_rps": results["bare"]["rps"],
                      "offers_p99_ms_at_1000rps": results["offers_paced"]["p99_ms"],
                      "pos_p99_ms_at_200rps": results["pos_paced"]["p99_ms"]}))


if __name__ == "__main__":
    main()
