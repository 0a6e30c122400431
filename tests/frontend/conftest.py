"""Browser tests: the built web cabinet (frontend/dist) served by the real API under
uvicorn on PostgreSQL, driven by the system's Chromium through Playwright (no browser
download). A failing test leaves a screenshot in test-artifacts/; `shot()` saves the main
screens there on every run."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.settings import get_settings
from tests.billing.test_stripe import _stop, _wait_for
from tests.conftest import TEST_SECRET
from tests.servers import free_port

ROOT = Path(__file__).resolve().parents[2]
FRONTEND = ROOT / "frontend"
DIST = FRONTEND / "dist"
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--disable-dev-shm-usage"]
# Who uses the cabinet: a person in Yekaterinburg, two hours east of the retailer.
TIMEZONE = "Asia/Yekaterinburg"
TIMEOUT_MS = 15_000

pytestmark = pytest.mark.integration


def _sources_newer_than_build() -> bool:
    index = DIST / "index.html"
    if not index.exists():
        return True
    built = index.stat().st_mtime
    sources = [FRONTEND / "package-lock.json", FRONTEND / "index.html",
               FRONTEND / "vite.config.ts", *(FRONTEND / "src").rglob("*")]
    return any(path.is_file() and path.stat().st_mtime > built for path in sources)


@pytest.fixture(scope="session")
def cabinet_build() -> Path:
    """frontend/dist, built here when it is missing or older than its sources (`make test`
    builds it beforehand)."""
    if _sources_newer_than_build():
        npm = shutil.which("npm")
        if npm is None:
            pytest.skip("npm is not installed: cannot build the web cabinet")
        env = {**os.environ, "PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD": "1"}
        if not (FRONTEND / "node_modules").exists():
            subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=FRONTEND, env=env,
                           check=True, capture_output=True)
        built = subprocess.run([npm, "run", "build"], cwd=FRONTEND, env=env,
                               capture_output=True, text=True)
        assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    return DIST


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} not found: `make services` installs Debian's chromium")
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=TIMEOUT_MS)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"report_{report.when}", report)


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)[:120]


@pytest.fixture
def page(browser, request):
    """A fresh browser profile (no stored login) in Russian and the person's time zone; a
    screenshot in test-artifacts/ if the test fails."""
    context = browser.new_context(locale="ru-RU", timezone_id=TIMEZONE,
                                  viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(TIMEOUT_MS)
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    yield opened
    failed = getattr(request.node, "report_call", None)
    if failed is not None and failed.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        opened.screenshot(path=str(ARTIFACTS / f"FAILED-{_safe(request.node.name)}.png"),
                          full_page=True)
        (ARTIFACTS / f"FAILED-{_safe(request.node.name)}.log").write_text("\n".join(errors))
    context.close()


def shot(page, name: str) -> None:
    """Keep a screenshot of a main screen (test-artifacts/screens/, ignored by git)."""
    folder = ARTIFACTS / "screens"
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"{_safe(name)}.png"), full_page=True)


@pytest.fixture
def data_dir(tmp_path, monkeypatch) -> Path:
    """Feature files under this test's folder, for this process and the API's."""
    folder = tmp_path / "data"
    monkeypatch.setenv("DATA_DIR", str(folder))
    get_settings.cache_clear()
    return folder


@pytest.fixture
def cabinet(cabinet_build, pg_db, data_dir) -> Iterator[str]:
    """The API with the cabinet under uvicorn, on this test's database and feature files.
    Stripe is off, so top-ups are bank transfers."""
    port = free_port()
    env = {**os.environ, "DATABASE_URL": pg_db, "SECRET_KEY": TEST_SECRET,
           "DATA_DIR": str(data_dir)}
    for name in ("STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET", "STRIPE_API_BASE", "REDIS_URL"):
        env.pop(name, None)
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "marketplace_api.app:create_app", "--factory",
         "--host", "127.0.0.1", "--port", str(port), "--no-access-log"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_for(f"{base}/healthz", process)
        yield base
    finally:
        _stop(process)
