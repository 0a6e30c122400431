"""Notification email: written to the outbox in the notifying transaction, sent to a real
SMTP server on loopback only after the commit, retried by a real Celery worker until the
server answers, and never sent twice. Without SMTP_HOST it stays in the outbox and the log."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time

import pytest
from sqlalchemy import select

from core.db import reset_caches, session_scope
from core.logging import configure_logging
from core.settings import get_settings
from marketplace_api.identity.models import Organisation, Role
from marketplace_api.notifications import service as notifications
from marketplace_api.notifications.email import message_id
from marketplace_api.notifications.models import Notification, OutboxEmail, OutboxStatus
from tests import factories

SUBJECT = "Кампания «Молоко» одобрена / Campaign approved"


def use_smtp(monkeypatch, port: int | None) -> None:
    if port is None:
        monkeypatch.delenv("SMTP_HOST", raising=False)
    else:
        monkeypatch.setenv("SMTP_HOST", "127.0.0.1")
        monkeypatch.setenv("SMTP_PORT", str(port))
    get_settings.cache_clear()


def outbox_rows() -> list[OutboxEmail]:
    with session_scope() as db:
        return list(db.scalars(select(OutboxEmail).order_by(OutboxEmail.id)))


@pytest.mark.integration
def test_email_goes_out_after_the_commit_to_the_organisations_active_users(
        pg_db, smtp_server, monkeypatch):
    use_smtp(monkeypatch, smtp_server.port)
    market = factories.marketplace()
    with session_scope() as db:
        organisation = db.get(Organisation, market.org_a_id)
        factories.user(db, organisation=organisation, role=Role.supplier_manager,
                       email="gone@sup-a.test", is_active=False)

    with session_scope() as db:
        notifications.notify(db=db, organisation_id=market.org_a_id, kind="campaign_status",
                             subject=SUBJECT, body="Кампания одобрена.\nCampaign approved.")
        db.flush()
        assert smtp_server.mailbox.messages == []  # nothing leaves before the commit

    [message] = smtp_server.mailbox.messages
    assert smtp_server.mailbox.envelopes == [[market.manager_a_email]]  # active users only
    assert message["Subject"] == SUBJECT
    assert "Campaign approved." in message.get_content()
    [row] = outbox_rows()
    assert message["Message-ID"] == message_id(row.id)
    assert row.status == OutboxStatus.sent and row.attempts == 1 and row.sent_at is not None

    # A notification in a transaction that rolls back sends nothing and leaves nothing.
    with pytest.raises(RuntimeError), session_scope() as db:
        notifications.notify(db=db, organisation_id=market.org_a_id, kind="campaign_status",
                             subject="never", body="never")
        raise RuntimeError("the request failed")
    assert len(smtp_server.mailbox.messages) == 1 and len(outbox_rows()) == 1


def test_without_smtp_host_the_email_stays_in_the_outbox_and_the_log(
        sqlite_db, monkeypatch, capsys):
    use_smtp(monkeypatch, None)
    market = factories.marketplace()
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    configure_logging(level="INFO")
    try:
        with session_scope() as db:
            notifications.notify(db=db, organisation_id=market.org_a_id, kind="low_balance",
                                 subject="Низкий баланс / Low balance", body="Top up, please.")
        logged = capsys.readouterr().err
    finally:
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)

    [row] = outbox_rows()
    assert row.status == OutboxStatus.pending and row.attempts == 0
    assert row.recipients == [market.manager_a_email]
    assert "email kept in the outbox" in logged and "Low balance" in logged
    with session_scope() as db:
        assert db.scalar(select(Notification.subject)) == "Низкий баланс / Low balance"


@pytest.fixture
def mail_worker(pg_db, redis_url, smtp_port_down, monkeypatch):
    """A Celery worker that sends mail to a port where no server listens yet."""
    env = {**os.environ, "DATABASE_URL": pg_db, "REDIS_URL": redis_url,
           "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(smtp_port_down.port)}
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "core.celery_app:celery_app", "worker",
         "--pool=solo", "--concurrency=1", "--loglevel=warning", "--without-gossip",
         "--without-mingle", "--without-heartbeat"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    monkeypatch.setenv("REDIS_URL", redis_url)
    reset_caches()
    from core.celery_app import make_celery

    client = make_celery()
    deadline = time.monotonic() + 30
    while not client.control.ping(timeout=0.5):
        assert worker.poll() is None, worker.stdout.read().decode()
        assert time.monotonic() < deadline, "worker did not answer ping"
    try:
        yield client, env
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=15)
        except subprocess.TimeoutExpired:
            worker.kill()


def wait_for(condition, *, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while True:
        value = condition()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


@pytest.mark.integration
def test_a_worker_retries_until_the_smtp_server_is_up_and_delivers_exactly_once(
        pg_db, mail_worker, smtp_port_down):
    client, env = mail_worker
    market = factories.marketplace()
    # The notifying transaction runs in its own process, configured for production (Redis):
    # its commit queues the email task for the worker.
    notify = ("from core.db import session_scope\n"
              "from marketplace_api.notifications import service\n"
              "with session_scope() as db:\n"
              f"    service.notify(db=db, organisation_id={market.org_a_id},"
              " kind='campaign_status', subject='Retry me', body='Body')\n")
    done = subprocess.run([sys.executable, "-c", notify], env=env, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr

    failed_twice = wait_for(lambda: [r for r in outbox_rows() if r.attempts >= 2],
                            seconds=30, what="two failed attempts")
    assert failed_twice[0].status == OutboxStatus.pending
    assert failed_twice[0].last_error.startswith("ConnectionRefusedError")

    smtp_port_down.start()  # the mail server comes back
    [sent] = wait_for(lambda: [r for r in outbox_rows() if r.status == OutboxStatus.sent],
                      seconds=60, what="the email to be sent")
    assert sent.attempts >= 3 and sent.sent_at is not None

    # Asking again (a duplicated task) does not send it again.
    result = client.send_task("notifications.send_email", args=[sent.id])
    assert result.get(timeout=30) == "skipped"
    mailbox = smtp_port_down.mailbox
    assert len(mailbox.messages) == 1
    assert mailbox.messages[0]["Message-ID"] == message_id(sent.id)
    assert mailbox.messages[0]["Subject"] == "Retry me"
