"""Card top-ups end to end against localstripe (a fake Stripe started here) and the API
under uvicorn, which localstripe calls back with signed webhooks. A top-up is credited
once however often its event arrives; forged and stale signatures are refused."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import stripe

from tests import factories
from tests.conftest import TEST_SECRET
from tests.servers import free_port

ROOT = Path(__file__).resolve().parents[2]
WEBHOOK_SECRET = "whsec_vitrina_test"
STRIPE_KEY = "sk_test_vitrina"

pytestmark = pytest.mark.integration


def _wait_for(url: str, process: subprocess.Popen, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args[0]} exited with {process.returncode}")
        try:
            httpx.get(url, timeout=0.5)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer")


def _stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture
def localstripe():
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "localstripe", "--port", str(port),
                                # Not the store an earlier run left in /tmp/localstripe.pickle.
                                "--from-scratch"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_for(f"{base}/v1/customers", process)
        yield base
    finally:
        _stop(process)


@pytest.fixture
def api(pg_db, localstripe, monkeypatch):
    """The API under uvicorn with Stripe pointed at localstripe, and localstripe's webhook
    pointed at the API."""
    monkeypatch.setenv("STRIPE_SECRET_KEY", STRIPE_KEY)
    monkeypatch.setenv("STRIPE_WEBHOOK_SECRET", WEBHOOK_SECRET)
    monkeypatch.setenv("STRIPE_API_BASE", localstripe)
    port = free_port()
    env = {**os.environ, "DATABASE_URL": pg_db, "SECRET_KEY": TEST_SECRET}
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "marketplace_api.app:create_app", "--factory",
         "--host", "127.0.0.1", "--port", str(port), "--no-access-log"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_for(f"{base}/healthz", process)
        httpx.post(f"{localstripe}/_config/webhooks/vitrina",
                   json={"url": f"{base}/api/v1/webhooks/stripe", "secret": WEBHOOK_SECRET,
                         "events": ["payment_intent.succeeded", "payment_intent.payment_failed",
                                    "charge.refunded"]}).raise_for_status()
        yield base
    finally:
        _stop(process)


def _signed(payload: bytes, *, timestamp: int | None = None,
            secret: str = WEBHOOK_SECRET) -> dict[str, str]:
    """Headers exactly as Stripe signs: HMAC-SHA256 of "<t>.<payload>" with the secret."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    signature = hmac.new(secret.encode(), b"%d.%s" % (timestamp, payload),
                         hashlib.sha256).hexdigest()
    return {"Stripe-Signature": f"t={timestamp},v1={signature}",
            "Content-Type": "application/json"}


def _balance(api: str, headers: dict, organisation_id: int) -> int:
    rows = httpx.get(f"{api}/api/v1/accounts", headers=headers,
                     params={"filter": json.dumps({"organisation_id": organisation_id,
                                                   "kind": "available"})}).json()
    return rows[0]["balance_minor"] if rows else 0


def _top_up(api: str, market, amount: int, key: str) -> dict:
    response = httpx.post(f"{api}/api/v1/topups", json={"amount_minor": amount},
                          headers={**market.manager_a, "Idempotency-Key": key})
    assert response.status_code == 201, response.text
    return response.json()


def _wait_for_status(api: str, market, top_up_id: int, status: str) -> dict:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        rows = httpx.get(f"{api}/api/v1/topups", headers=market.finance,
                         params={"filter": json.dumps({"id": top_up_id})}).json()
        if rows and rows[0]["status"] == status:
            return rows[0]
        time.sleep(0.2)
    raise AssertionError(f"top-up {top_up_id} never became {status}: {rows}")


def _client(localstripe: str) -> stripe.StripeClient:
    return stripe.StripeClient(STRIPE_KEY, base_addresses={"api": localstripe})


def _pay(localstripe: str, intent_id: str, card: str = "4242424242424242") -> None:
    client = _client(localstripe)
    method = client.v1.payment_methods.create(params={
        "type": "card", "card": {"number": card, "exp_month": 12, "exp_year": 2030,
                                 "cvc": "123"}})
    # What Stripe.js does in the browser (localstripe takes the card by update, then confirm).
    client.v1.payment_intents.update(intent_id, params={"payment_method": method.id})
    # A declined card raises here too; the failure also arrives by webhook.
    with contextlib.suppress(stripe.CardError):
        client.v1.payment_intents.confirm(intent_id)


def test_a_card_top_up_is_credited_once_even_when_the_webhook_comes_three_times(
        api, localstripe):
    market = factories.marketplace()
    created = _top_up(api, market, 150_000, "card-1")
    assert created["status"] == "pending" and created["client_secret"]
    assert _top_up(api, market, 150_000, "card-1")["id"] == created["id"]  # a retry
    assert _balance(api, market.finance, market.org_a_id) == 0

    _pay(localstripe, created["stripe_payment_intent_id"])
    _wait_for_status(api, market, created["id"], "succeeded")
    assert _balance(api, market.finance, market.org_a_id) == 150_000

    # Stripe delivers at least once: the very event, signed again, arrives three more times.
    events = _client(localstripe).v1.events.list(
        params={"type": "payment_intent.succeeded", "limit": 100})
    event = next(e for e in events.auto_paging_iter()
                 if e.data.object["id"] == created["stripe_payment_intent_id"])
    payload = httpx.get(f"{localstripe}/v1/events/{event.id}",
                        headers={"Authorization": f"Bearer {STRIPE_KEY}"}).content
    for _ in range(3):
        response = httpx.post(f"{api}/api/v1/webhooks/stripe", content=payload,
                              headers=_signed(payload))
        assert response.status_code == 200, response.text
        assert response.json()["outcome"] == "duplicate"
    assert _balance(api, market.finance, market.org_a_id) == 150_000


def test_forged_and_stale_signatures_are_refused_and_nothing_is_credited(api, localstripe):
    market = factories.marketplace()
    created = _top_up(api, market, 99_000, "card-2")
    event = {"id": "evt_forged_1", "object": "event", "type": "payment_intent.succeeded",
             "data": {"object": {"id": created["stripe_payment_intent_id"],
                                 "object": "payment_intent", "amount": 99_000,
                                 "amount_received": 99_000, "currency": "rub",
                                 "status": "succeeded"}}}
    payload = json.dumps(event).encode()
    attempts = {
        "forged": _signed(payload, secret="whsec_someone_else"),
        "stale": _signed(payload, timestamp=int(time.time()) - 3600),
        "unsigned": {"Content-Type": "application/json"},
        "tampered": _signed(payload.replace(b"99000", b"99001")),
    }
    for name, headers in attempts.items():
        response = httpx.post(f"{api}/api/v1/webhooks/stripe", content=payload,
                              headers=headers)
        assert response.status_code == 400, (name, response.text)
        assert response.json()["code"] == "invalid_webhook"
    assert _balance(api, market.finance, market.org_a_id) == 0
    # The same event signed properly is accepted: the refusals were about the signatures.
    accepted = httpx.post(f"{api}/api/v1/webhooks/stripe", content=payload,
                          headers=_signed(payload))
    assert accepted.json()["outcome"] == "credited"
    assert _balance(api, market.finance, market.org_a_id) == 99_000
    # A partial refund in Stripe reverses that much of the credit, once.
    refund = json.dumps({"id": "evt_refund_1", "object": "event", "type": "charge.refunded",
                         "data": {"object": {"id": "ch_1", "object": "charge",
                                             "payment_intent": created["stripe_payment_intent_id"],
                                             "amount": 99_000, "amount_refunded": 40_000}}}
                        ).encode()
    for outcome in ("refund reversed", "duplicate"):
        response = httpx.post(f"{api}/api/v1/webhooks/stripe", content=refund,
                              headers=_signed(refund))
        assert response.json()["outcome"] == outcome
    assert _balance(api, market.finance, market.org_a_id) == 59_000


def test_a_declined_card_marks_the_top_up_failed(api, localstripe):
    market = factories.marketplace()
    created = _top_up(api, market, 10_000, "card-3")
    _pay(localstripe, created["stripe_payment_intent_id"], card="4000000000000341")
    failed = _wait_for_status(api, market, created["id"], "failed")
    assert failed["failure_reason"]
    assert _balance(api, market.finance, market.org_a_id) == 0
