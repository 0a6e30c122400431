"""A real Celery worker process: a task goes through Redis, runs, and its result comes back."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from core.celery_app import make_celery

pytestmark = pytest.mark.integration


@pytest.fixture
def celery_worker(pg_db, redis_url):
    env = {**os.environ, "DATABASE_URL": pg_db, "REDIS_URL": redis_url}
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "core.celery_app:celery_app", "worker",
         "--pool=solo", "--concurrency=1", "--loglevel=warning", "--without-gossip",
         "--without-mingle", "--without-heartbeat"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        yield worker
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=15)
        except subprocess.TimeoutExpired:
            worker.kill()


def test_task_submitted_through_redis_runs_in_the_worker_and_returns(
        monkeypatch, redis_url, pg_db, celery_worker):
    monkeypatch.setenv("REDIS_URL", redis_url)
    from core.db import reset_caches

    reset_caches()
    client = make_celery()
    assert not client.conf.task_always_eager

    deadline = time.monotonic() + 30
    while not client.control.ping(timeout=0.5):
        assert celery_worker.poll() is None, celery_worker.stdout.read().decode()
        assert time.monotonic() < deadline, "worker did not answer ping"

    result = client.send_task("core.ping_database")
    assert result.get(timeout=30) == {"database": True}
    assert result.status == "SUCCESS"


def test_without_redis_tasks_run_in_process(sqlite_db):
    # A fresh interpreter, so the application is configured from this environment alone
    # (the module-level Celery app reads its settings once, at import).
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    probe = ("from core.celery_app import celery_app; from core.tasks import ping_database; "
             "print(celery_app.conf.task_always_eager, ping_database.delay().get(timeout=5))")
    result = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True {'database': True}"
