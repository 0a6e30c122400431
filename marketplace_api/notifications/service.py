"""Notifications: in-app messages per organisation and their email through an outbox.

`notify` writes the message and, for the organisation's active users, an outbox row in the
caller's transaction; once that transaction commits, a Celery task sends the email (a
rolled-back change sends nothing). Conditions announced once are remembered as
milestones: a low balance (once per crossing below the threshold), a campaign's budget
80 % used, used up, and the campaign's end.

Texts are in Russian with an English line, and name campaigns and amounts, never a shopper.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from sqlalchemy import Select, delete, event, func, select, update
from sqlalchemy.orm import Session

from billing import ledger
from billing import service as billing
from billing.models import Account, AccountKind
from core.db import utcnow
from core.errors import NotFound
from core.logging import get_logger
from core.money import from_minor
from marketplace_api.campaigns.models import Campaign, CampaignStatus
from marketplace_api.identity.models import User
from marketplace_api.notifications.models import (
    Milestone,
    Notification,
    NotificationKind,
    OutboxEmail,
    OutboxStatus,
)

log = get_logger(__name__)

# Session.info key: outbox rows written in the session's open transaction.
_OUTBOX_PENDING = "notifications.outbox_pending"
NEARLY_SPENT_BP = 8000  # "budget nearly spent" at 80 % used
# Campaigns that ended this long ago are no longer looked at for their end notice.
ENDED_LOOKBACK = timedelta(days=7)


class NotificationNotFound(NotFound):
    code = "notification_not_found"


# --- writing -------------------------------------------------------------------------------

def recipients_of(*, db: Session, organisation_id: int) -> list[str]:
    """The emails of the organisation's active users."""
    return list(db.scalars(select(User.email).where(User.organisation_id == organisation_id,
                                                    User.is_active.is_(True))
                           .order_by(User.id)))


def notify(*, db: Session, organisation_id: int, kind: str, subject: str, body: str,
           campaign_id: int | None = None) -> Notification:
    """Tell an organisation's users something: in the app at once, by email after commit."""
    notification = Notification(organisation_id=organisation_id, kind=str(kind),
                                subject=subject[:300], body=body, campaign_id=campaign_id)
    db.add(notification)
    db.flush()
    recipients = recipients_of(db=db, organisation_id=organisation_id)
    if recipients:
        outbox = OutboxEmail(notification_id=notification.id, organisation_id=organisation_id,
                             recipients=recipients, subject=notification.subject, body=body,
                             status=OutboxStatus.pending, attempts=0)
        db.add(outbox)
        db.flush()
        db.info.setdefault(_OUTBOX_PENDING, []).append(outbox.id)
    return notification


def _reach(db: Session, *, key: str, organisation_id: int) -> bool:
    """Record a milestone; True when this call reached it first (safe under concurrency:
    a racing transaction waits for the first and then finds the row)."""
    dialect = db.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    statement = (insert(Milestone).values(key=key, organisation_id=organisation_id,
                                          reached_at=utcnow())
                 .on_conflict_do_nothing(index_elements=["key"]).returning(Milestone.key))
    return db.execute(statement).scalar() is not None


def _forget(db: Session, *, key: str) -> None:
    db.execute(delete(Milestone).where(Milestone.key == key))


def _money(amount_minor: int, currency: str) -> str:
    return f"{from_minor(amount_minor, currency)} {currency}"


# --- low balance ---------------------------------------------------------------------------

def check_low_balance(*, db: Session, account_ids: Iterable[int]) -> None:
    """For each organisation `available` account: notify once when its balance is below
    the organisation's threshold, and forget that once it is back at or above it, so the
    next crossing is announced again."""
    for account in db.execute(select(Account.id, Account.organisation_id, Account.currency,
                                     Account.low_balance_threshold_minor)
                              .where(Account.id.in_(sorted(set(account_ids))),
                                     Account.kind == AccountKind.available)):
        if account.organisation_id is None or account.low_balance_threshold_minor is None:
            continue
        key = f"low_balance:account:{account.id}"
        threshold = account.low_balance_threshold_minor
        balance = billing.balance(db=db, account_id=account.id)
        if balance >= threshold:
            _forget(db, key=key)
            continue
        if not _reach(db, key=key, organisation_id=account.organisation_id):
            continue
        shown, limit = _money(balance, account.currency), _money(threshold, account.currency)
        notify(db=db, organisation_id=account.organisation_id, kind=NotificationKind.low_balance,
               subject=f"Низкий баланс: {shown} / Low balance",
               body=(f"Баланс вашего счёта {shown} — ниже порога {limit}. Пополните баланс, "
                     f"чтобы кампании продолжали работать.\n"
                     f"Your balance is {shown}, below your threshold of {limit}: top it up "
                     f"to keep your campaigns running."))


# --- campaign budgets and ends ---------------------------------------------------------------

def _campaign_notice(db: Session, campaign: Campaign, kind: NotificationKind, key: str,
                     subject: str, body: str) -> bool:
    if not _reach(db, key=key, organisation_id=campaign.organisation_id):
        return False
    notify(db=db, organisation_id=campaign.organisation_id, kind=kind, subject=subject,
           body=body, campaign_id=campaign.id)
    return True


def check_campaign_budgets(*, db: Session) -> int:
    """Every running campaign's budget against what it has used (money promised to shoppers
    or paid at checkout: the hold minus what is left to promise); notify at 80 % and when
    used up, and once when a campaign has ended. Each notice once per campaign. Returns
    how many notices were sent."""
    sent = 0
    running = db.scalars(select(Campaign).where(
        Campaign.status.in_([CampaignStatus.active, CampaignStatus.paused]),
        Campaign.hold_transaction_id.is_not(None)).order_by(Campaign.id))
    for campaign in running:
        held = campaign.budget_minor
        left = billing.campaign_balances(db=db, organisation_id=campaign.organisation_id,
                                         campaign_id=campaign.id,
                                         currency=campaign.currency)["budget"]
        used = held - left
        name = campaign.name
        if left <= 0:
            sent += _campaign_notice(
                db, campaign, NotificationKind.budget_exhausted,
                f"campaign:{campaign.id}:budget_exhausted",
                f"Бюджет кампании «{name}» израсходован / Campaign budget used up",
                f"Бюджет кампании «{name}» ({_money(held, campaign.currency)}) израсходован: "
                f"новые предложения покупателям не выдаются.\n"
                f"The budget of campaign \"{name}\" is used up: no new offers are given.")
        elif used * 10_000 >= held * NEARLY_SPENT_BP:
            percent = used * 100 // held
            sent += _campaign_notice(
                db, campaign, NotificationKind.budget_nearly_spent,
                f"campaign:{campaign.id}:budget_80",
                f"Бюджет кампании «{name}» почти израсходован / Campaign budget nearly spent",
                f"Кампания «{name}» использовала {percent} % бюджета: осталось "
                f"{_money(left, campaign.currency)} из {_money(held, campaign.currency)}.\n"
                f"Campaign \"{name}\" has used {percent} % of its budget.")
    ended = db.scalars(select(Campaign).where(
        Campaign.status == CampaignStatus.ended,
        Campaign.ended_at >= utcnow() - ENDED_LOOKBACK).order_by(Campaign.id))
    for campaign in ended:
        sent += announce_campaign_end(db=db, campaign=campaign)
    return sent


def announce_campaign_end(*, db: Session, campaign: Campaign, reason: str | None = None) -> bool:
    """The campaign's end notice, once: the campaigns service sends it when the campaign
    ends (in place of a plain status notice); the budget check catches any it missed."""
    name = campaign.name
    body = (f"Кампания «{name}» завершена; неизрасходованный остаток бюджета возвращён на "
            f"ваш счёт.\nCampaign \"{name}\" has ended; the unspent budget is back in your "
            f"balance.")
    if reason:
        body += f"\nПричина / reason: {reason}"
    return _campaign_notice(
        db, campaign, NotificationKind.campaign_ended, f"campaign:{campaign.id}:ended",
        f"Кампания «{name}» завершена / Campaign ended", body)


# --- reading -------------------------------------------------------------------------------

def select_notifications(*, organisation_id: int) -> Select[tuple[Notification]]:
    return select(Notification).where(Notification.organisation_id == organisation_id)


def get_notification(*, db: Session, notification_id: int,
                     organisation_id: int) -> Notification:
    """Another organisation's notification is "not found", like a missing one."""
    found = db.get(Notification, notification_id)
    if found is None or found.organisation_id != organisation_id:
        raise NotificationNotFound(f"No notification {notification_id}")
    return found


def mark_read(*, db: Session, notification: Notification, user_id: int) -> Notification:
    """Reading twice keeps the first reader and time."""
    if notification.read_at is None:
        notification.read_at = utcnow()
        notification.read_by_user_id = user_id
        db.flush()
    return notification


def unread_count(*, db: Session, organisation_id: int) -> int:
    return int(db.scalar(select(func.count()).select_from(Notification).where(
        Notification.organisation_id == organisation_id, Notification.read_at.is_(None))))


# --- the outbox ----------------------------------------------------------------------------

def claim_for_sending(*, db: Session, outbox_id: int) -> OutboxEmail | None:
    """The pending row, locked until the caller's commit so that two senders never both
    send it; None when it is already sent, given up, or gone."""
    row = db.execute(select(OutboxEmail).where(OutboxEmail.id == outbox_id)
                     .with_for_update()).scalar_one_or_none()
    if row is None or row.status != OutboxStatus.pending:
        return None
    return row


def record_attempt(*, db: Session, outbox_id: int, error: str | None,
                   give_up: bool = False) -> None:
    values: dict[str, Any] = {"attempts": OutboxEmail.attempts + 1, "last_error": error}
    if error is None:
        values.update(status=OutboxStatus.sent, sent_at=utcnow())
    elif give_up:
        values.update(status=OutboxStatus.failed)
    db.execute(update(OutboxEmail).where(OutboxEmail.id == outbox_id,
                                         OutboxEmail.status == OutboxStatus.pending)
               .values(**values))


def stale_pending_ids(*, db: Session, older_than: timedelta) -> list[int]:
    """Pending rows whose task was probably lost (e.g. the broker was down at commit)."""
    return list(db.scalars(select(OutboxEmail.id).where(
        OutboxEmail.status == OutboxStatus.pending,
        OutboxEmail.created_at < utcnow() - older_than).order_by(OutboxEmail.id)))


# --- transaction hooks ---------------------------------------------------------------------

@event.listens_for(Session, "before_commit")
def _announce_low_balances(session: Session) -> None:
    changed = session.info.pop(ledger.AVAILABLE_CHANGED, None)
    if changed:
        check_low_balance(db=session, account_ids=changed)


@event.listens_for(Session, "after_commit")
def _send_committed_emails(session: Session) -> None:
    outbox_ids = session.info.pop(_OUTBOX_PENDING, None)
    if not outbox_ids:
        return
    from marketplace_api.notifications.tasks import send_email

    for outbox_id in outbox_ids:
        try:
            send_email.delay(outbox_id)
        except Exception as exc:  # the row stays pending; the periodic sweep sends it
            log.warning("email task not queued", outbox_id=outbox_id, error=str(exc))


@event.listens_for(Session, "after_soft_rollback")
def _forget_rolled_back(session: Session, _previous_transaction: Any) -> None:
    if not session.in_transaction():
        session.info.pop(_OUTBOX_PENDING, None)
        session.info.pop(ledger.AVAILABLE_CHANGED, None)
