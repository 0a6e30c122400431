"""Notifications' background work: sending one outbox email (retried with backoff), the
sweep of emails whose task was lost, and the per-minute look at campaign budgets.

Tasks take ids and are safe to repeat: a row is sent under a row lock and marked sent in
the same transaction, and a sent row is never sent again.
"""

from __future__ import annotations

import smtplib
from datetime import timedelta

from core.celery_app import celery_app
from core.db import session_scope
from core.logging import get_logger
from core.settings import get_settings
from marketplace_api.notifications import email, service

log = get_logger(__name__)

SMTP_ERRORS = (OSError, smtplib.SMTPException)
MAX_RETRIES = 10  # with exponential backoff capped at 10 minutes: about an hour in all
STALE_AFTER = timedelta(minutes=15)


@celery_app.task(name="notifications.send_email", bind=True, autoretry_for=SMTP_ERRORS,
                 retry_backoff=True, retry_backoff_max=600, retry_jitter=True,
                 max_retries=MAX_RETRIES)
def send_email(self, outbox_id: int) -> str:
    """Send one outbox row; "sent", "logged" (no SMTP_HOST: it stays pending, in the log),
    "skipped" (already sent or given up) or "failed" (out of retries)."""
    settings = get_settings()
    error: Exception | None = None
    give_up = False
    with session_scope() as db:
        row = service.claim_for_sending(db=db, outbox_id=outbox_id)
        if row is None:
            return "skipped"
        if not settings.smtp_host:
            log.info("email kept in the outbox: SMTP_HOST is not set", outbox_id=row.id,
                     recipients=row.recipients, subject=row.subject, body=row.body)
            return "logged"
        message = email.build_message(outbox_id=row.id, sender=settings.email_from,
                                      recipients=row.recipients, subject=row.subject,
                                      body=row.body)
        try:
            email.send(message, settings=settings)
        except SMTP_ERRORS as exc:
            error = exc
            give_up = self.request.retries >= self.max_retries
            service.record_attempt(db=db, outbox_id=outbox_id,
                                   error=f"{type(exc).__name__}: {exc}"[:2000], give_up=give_up)
        else:
            service.record_attempt(db=db, outbox_id=outbox_id, error=None)
    if error is None:
        log.info("email sent", outbox_id=outbox_id)
        return "sent"
    log.warning("email not sent", outbox_id=outbox_id, error=str(error), give_up=give_up,
                retries=self.request.retries)
    if give_up:
        return "failed"
    raise error  # autoretry_for schedules the next attempt with backoff


@celery_app.task(name="notifications.send_stale_emails")
def send_stale_emails() -> int:
    """Queue again the emails still pending long after their commit (a lost task)."""
    if not get_settings().smtp_host:
        return 0
    with session_scope() as db:
        ids = service.stale_pending_ids(db=db, older_than=STALE_AFTER)
    for outbox_id in ids:
        send_email.delay(outbox_id)
    return len(ids)


@celery_app.task(name="notifications.check_campaign_budgets")
def check_campaign_budgets() -> int:
    """Budget 80 % used, used up, campaign ended: each announced once per campaign."""
    with session_scope() as db:
        return service.check_campaign_budgets(db=db)
