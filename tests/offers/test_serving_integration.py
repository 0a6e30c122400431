"""The production path on PostgreSQL and Redis: a Celery worker writes a launched
campaign's offers (binary COPY), a separate API process learns of them through Redis and
serves them, and a pause made elsewhere hides them in that process within seconds — its
own refresh is set to 30 s, so only the Redis news can be that fast."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import httpx
import pytest
from sqlalchemy import func, select

from core.celery_app import make_celery
from core.db import reset_caches, session_scope
from marketplace_api.campaigns.models import Campaign, CampaignStatus
from marketplace_api.identity.models import ApiKeyKind
from marketplace_api.identity.service import retailer_organisation
from marketplace_api.offers import service
from marketplace_api.offers.holdout import in_holdout
from marketplace_api.offers.models import Offer
from retail.models import Customer
from tests import factories
from tests.conftest import TEST_SECRET
from tests.offers.conftest import SHOPPERS, launch_campaign, wait_until
from tests.servers import free_port

pytestmark = pytest.mark.integration


def _process(args: list[str], env: dict) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)


def _stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()


def test_a_worker_writes_offers_and_a_pause_reaches_another_api_process(
        pg_db, redis_url, monkeypatch, tmp_path):
    monkeypatch.setenv("REDIS_URL", redis_url)
    reset_caches()
    market = factories.marketplace()
    with session_scope() as db:
        db.add_all([Customer(customer_id=c) for c in SHOPPERS])
        key = factories.api_key(db, organisation=retailer_organisation(db=db),
                                kind=ApiKeyKind.app)
    campaign_id = launch_campaign(market, materialise=False)
    shopper = next(c for c in SHOPPERS
                   if not in_holdout(campaign_id=campaign_id, customer_id=c, holdout_bp=1000))

    env = {**os.environ, "DATABASE_URL": pg_db, "REDIS_URL": redis_url,
           "SECRET_KEY": TEST_SECRET, "DATA_DIR": str(tmp_path), "OFFERS_REFRESH_SECONDS": "30"}
    port = free_port()
    worker = _process(["celery", "-A", "core.celery_app:celery_app", "worker", "--pool=solo",
                       "--concurrency=1", "--loglevel=warning", "--without-gossip",
                       "--without-mingle", "--without-heartbeat"], env)
    api = _process(["uvicorn", "marketplace_api.app:create_app", "--factory", "--port",
                    str(port), "--log-level", "warning"], env)
    try:
        base = f"http://127.0.0.1:{port}/api/v1/app/shoppers/{shopper}/offers"

        def offers() -> list | None:
            try:
                response = httpx.get(base, headers={"X-Api-Key": key}, timeout=2)
            except httpx.TransportError:
                return None
            assert response.status_code == 200, response.text
            return response.json()

        started = wait_until(lambda: api.poll() is not None or offers() is not None,
                             seconds=120)
        assert started and api.poll() is None, api.stdout.read().decode() if api.poll() \
            is not None else "API did not start"
        assert offers() == []

        celery = make_celery()
        deadline = time.monotonic() + 30
        while not celery.control.ping(timeout=0.5):
            assert worker.poll() is None, worker.stdout.read().decode()
            assert time.monotonic() < deadline, "worker did not answer ping"
        first = celery.send_task("offers.materialise_offers", args=[campaign_id])
        assert first.get(timeout=60)["replayed"] is False
        # the API process hears of the new offers through Redis, not its 30 s refresh
        assert wait_until(lambda: len(offers() or []) == 2, seconds=5)
        again = celery.send_task("offers.materialise_offers", args=[campaign_id])
        assert again.get(timeout=60)["replayed"] is True
        with session_scope() as db:
            assert db.scalar(select(func.count()).select_from(Offer)) == 2 * sum(
                not in_holdout(campaign_id=campaign_id, customer_id=c, holdout_bp=1000)
                for c in SHOPPERS)

        with session_scope() as db:
            db.get(Campaign, campaign_id).status = CampaignStatus.paused
            service.on_campaign_status(db=db, campaign_id=campaign_id)
        started = time.monotonic()
        assert wait_until(lambda: offers() == [], seconds=5)
        assert time.monotonic() - started < 5
    finally:
        _stop(api)
        _stop(worker)
