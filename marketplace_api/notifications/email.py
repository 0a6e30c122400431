"""Email of one outbox row through SMTP (`smtplib`), configured by the SMTP_* settings."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from email.utils import formatdate

from core.settings import Settings

SMTP_TIMEOUT_S = 15


def message_id(outbox_id: int) -> str:
    """One stable Message-ID per outbox row, so a mail server can tell a repeat."""
    return f"<vitrina-outbox-{outbox_id}@vitrina.local>"


def build_message(*, outbox_id: int, sender: str, recipients: list[str], subject: str,
                  body: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = message_id(outbox_id)
    message.set_content(body)
    return message


def send(message: EmailMessage, *, settings: Settings) -> None:
    """Hand the message to the SMTP server; raises OSError / SMTPException on failure."""
    if not settings.smtp_host:
        raise RuntimeError("SMTP_HOST is not set")
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=SMTP_TIMEOUT_S) as smtp:
        if settings.smtp_starttls:
            smtp.starttls()
        if settings.smtp_user:
            smtp.login(settings.smtp_user, settings.smtp_password or "")
        smtp.send_message(message)
