"""Billing's operations: the money movements of ARCHITECTURE.md (top-up, hold, authorise,
capture, release, reverse), top-ups by card and bank transfer, balances and statements.

Every function takes keyword arguments, flushes and never commits: the caller's database
transaction makes a movement all or nothing. Every movement takes an idempotency key: the
same key with the same request returns the first result (`Movement.replayed`), with a
different request raises `IdempotencyKeyReused` (HTTP 422) and moves nothing.
Organisations and campaigns are plain ids owned by other domains; `actor_user_id=None`
means the system.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import BigInteger, Select, case, cast, delete, func, select, text, update
from sqlalchemy.orm import Session

from billing import errors, ledger
from billing.models import (
    Account,
    AccountKind,
    Authorization,
    AuthorizationStatus,
    Balance,
    IdempotencyKey,
    Posting,
    TopUp,
    TopUpMethod,
    TopUpStatus,
    Transaction,
    TransactionKind,
)
from core.db import owned_by, utcnow
from core.money import from_minor
from core.settings import get_settings

# Transactions a reversal may undo. An authorisation is undone by releasing it instead.
REVERSIBLE = frozenset({TransactionKind.top_up, TransactionKind.hold, TransactionKind.capture,
                        TransactionKind.release_budget})
CLEARING_BY_SOURCE = {"stripe": AccountKind.stripe_clearing, "bank": AccountKind.bank_clearing}


@dataclass(frozen=True, slots=True)
class Movement:
    """What a movement did. `transaction_id` is None when there was nothing to move (a
    release of an empty rest); `replayed` when an earlier request with the key did it."""

    transaction_id: int | None
    amount_minor: int
    authorization_id: int | None = None
    replayed: bool = False

    def as_result(self) -> dict[str, Any]:
        return {"transaction_id": self.transaction_id, "amount_minor": self.amount_minor,
                "authorization_id": self.authorization_id}

    @classmethod
    def replay(cls, result: dict[str, Any]) -> Movement:
        return cls(transaction_id=result["transaction_id"], amount_minor=result["amount_minor"],
                   authorization_id=result.get("authorization_id"), replayed=True)


def _campaign_id(campaign_id: int | str) -> str:
    text = str(campaign_id).strip()
    if not text or len(text) > 64:
        raise errors.InvalidAmount("A campaign id of 1 to 64 characters is required",
                                   errors={"campaign_id": "required"})
    return text


# --- the movements -------------------------------------------------------------------------

def top_up(*, db: Session, organisation_id: int, amount_minor: int, currency: str,
           source: str, idempotency_key: str, actor_user_id: int | None = None,
           top_up_id: int | None = None, memo: dict[str, Any] | None = None) -> Movement:
    """Money arrived from outside (`source` "stripe" or "bank"): clearing → org.available."""
    ledger.check_amount(amount_minor, currency)
    if source not in CLEARING_BY_SOURCE:
        raise errors.InvalidAmount(f"Unknown top-up source {source!r}",
                                   errors={"source": "stripe or bank"})
    request = {"organisation_id": organisation_id, "amount_minor": amount_minor,
               "currency": currency, "source": source, "top_up_id": top_up_id}
    claim = ledger.claim(db, scope="top_up", key=idempotency_key, request=request)
    if claim.result is not None:
        return Movement.replay(claim.result)
    clearing_spec = ledger.clearing_account(CLEARING_BY_SOURCE[source], currency)
    available_spec = ledger.organisation_account(organisation_id, currency)
    refs = ledger.accounts(db, [clearing_spec, available_spec])
    clearing, available = refs[clearing_spec.key], refs[available_spec.key]
    ledger.move(db, source=clearing, target=available, amount=amount_minor)
    transaction_id = ledger.record(
        db, kind=TransactionKind.top_up, currency=currency, amount=amount_minor,
        source=clearing, target=available, actor_user_id=actor_user_id,
        organisation_id=organisation_id, top_up_id=top_up_id, memo=memo)
    return _settled(db, claim, Movement(transaction_id, amount_minor))


def hold_campaign_budget(*, db: Session, organisation_id: int, campaign_id: int | str,
                         amount_minor: int, currency: str, idempotency_key: str,
                         actor_user_id: int | None = None,
                         memo: dict[str, Any] | None = None) -> Movement:
    """Set money aside for a campaign at launch: org.available → campaign.budget.
    Raises InsufficientFunds (409, `insufficient_funds`) when the organisation is short."""
    ledger.check_amount(amount_minor, currency)
    campaign = _campaign_id(campaign_id)
    request = {"organisation_id": organisation_id, "campaign_id": campaign,
               "amount_minor": amount_minor, "currency": currency}
    claim = ledger.claim(db, scope="hold", key=idempotency_key, request=request)
    if claim.result is not None:
        return Movement.replay(claim.result)
    available_spec = ledger.organisation_account(organisation_id, currency)
    budget_spec, authorized_spec = ledger.campaign_accounts(organisation_id, campaign, currency)
    refs = ledger.accounts(db, [available_spec, budget_spec, authorized_spec])
    available, budget = refs[available_spec.key], refs[budget_spec.key]
    ledger.move(db, source=available, target=budget, amount=amount_minor)
    ledger.spread(db, budget)
    transaction_id = ledger.record(
        db, kind=TransactionKind.hold, currency=currency, amount=amount_minor,
        source=available, target=budget, actor_user_id=actor_user_id,
        organisation_id=organisation_id, campaign_id=campaign, memo=memo)
    return _settled(db, claim, Movement(transaction_id, amount_minor))


def authorize(*, db: Session, organisation_id: int, campaign_id: int | str,
              amount_minor: int, currency: str, idempotency_key: str,
              reference: str | None = None, actor_user_id: int | None = None) -> Movement:
    """Promise money to one shopper's offer: campaign.budget → campaign.authorized.
    `Movement.authorization_id` names the promise. Raises InsufficientFunds when the
    budget is short; the budget never goes negative."""
    ledger.check_amount(amount_minor, currency)
    campaign = _campaign_id(campaign_id)
    request = {"organisation_id": organisation_id, "campaign_id": campaign,
               "amount_minor": amount_minor, "currency": currency, "reference": reference}
    budget_spec, authorized_spec = ledger.campaign_accounts(organisation_id, campaign, currency)
    compensation_spec = ledger.compensation_account(currency)
    if db.get_bind().dialect.name == "postgresql":
        done = _authorize_in_one_statement(
            db, request=request, idempotency_key=idempotency_key, actor_user_id=actor_user_id,
            keys=(budget_spec.key, authorized_spec.key, compensation_spec.key))
        if done is not None:
            return done
    claim = ledger.claim(db, scope="authorize", key=idempotency_key, request=request)
    if claim.result is not None:
        return Movement.replay(claim.result)
    refs = ledger.accounts(db, [budget_spec, authorized_spec, compensation_spec])
    budget, authorized = refs[budget_spec.key], refs[authorized_spec.key]
    _, shard = ledger.move(db, source=budget, target=authorized, amount=amount_minor)
    authorization_id = db.execute(
        Authorization.__table__.insert().values(
            organisation_id=organisation_id, campaign_id=campaign,
            budget_account_id=budget.id, authorized_account_id=authorized.id,
            compensation_account_id=refs[compensation_spec.key].id, shard=shard,
            currency=currency, amount_minor=amount_minor, captured_minor=0, released_minor=0,
            status=AuthorizationStatus.open, reference=reference, created_at=utcnow(),
        ).returning(Authorization.__table__.c.id)).scalar_one()
    transaction_id = ledger.record(
        db, kind=TransactionKind.authorize, currency=currency, amount=amount_minor,
        source=budget, target=authorized, actor_user_id=actor_user_id,
        organisation_id=organisation_id, campaign_id=campaign,
        authorization_id=authorization_id, memo={"reference": reference} if reference else None)
    return _settled(db, claim, Movement(transaction_id, amount_minor, authorization_id))


# The same activation as above in ONE round trip on PostgreSQL, for the common case: the
# accounts exist and some budget shard that nobody has locked holds the whole amount. The
# shard is picked with SKIP LOCKED (never waits, so concurrent activations spread over the
# shards); the money goes to the `authorized` shard of the same number, so two activations
# never meet there either (only a capture or release holding that shard can make one wait,
# and neither waits for a budget shard while holding it: no deadlock). Ids are drawn first
# so that the idempotency key is stored with its result in the same statement. Each part
# runs only when the key was new and the budget had the money; the CHECK on
# billing_balance stays the last line of defence. `budget_total` (the budget
# as this statement saw it) tells a refusal from a case for the step-by-step path.
_AUTHORIZE_SQL = text("""
WITH acc AS (
    SELECT (SELECT id FROM billing_account WHERE key = :budget_key) AS budget_id,
           (SELECT id FROM billing_account WHERE key = :authorized_key) AS authorized_id,
           (SELECT shard_count FROM billing_account WHERE key = :authorized_key)
               AS authorized_shards,
           (SELECT id FROM billing_account WHERE key = :compensation_key) AS compensation_id
), ids AS (
    SELECT nextval(pg_get_serial_sequence('billing_transaction', 'id')) AS transaction_id,
           nextval(pg_get_serial_sequence('billing_authorization', 'id')) AS authorization_id
), claim AS (
    INSERT INTO billing_idempotency_key (scope, key, request_hash, result, created_at)
    SELECT 'authorize', :key, :request_hash,
           json_build_object('transaction_id', ids.transaction_id, 'amount_minor', :amount,
                             'authorization_id', ids.authorization_id), :now
    FROM ids
    ON CONFLICT (scope, key) DO NOTHING
    RETURNING id
), debit AS (
    UPDATE billing_balance AS b SET balance_minor = b.balance_minor - :amount
    WHERE b.account_id = (SELECT budget_id FROM acc) AND b.balance_minor >= :amount
      AND b.shard = (
        SELECT s.shard FROM billing_balance AS s
        WHERE s.account_id = (SELECT budget_id FROM acc) AND s.balance_minor >= :amount
          AND EXISTS (SELECT 1 FROM claim)
          AND (SELECT authorized_id IS NOT NULL AND compensation_id IS NOT NULL FROM acc)
        ORDER BY random() LIMIT 1 FOR NO KEY UPDATE SKIP LOCKED)
    RETURNING b.shard
), credit AS (
    UPDATE billing_balance AS b SET balance_minor = b.balance_minor + :amount
    FROM acc, debit
    WHERE b.account_id = acc.authorized_id AND b.shard = debit.shard % acc.authorized_shards
    RETURNING b.shard
), auth AS (
    INSERT INTO billing_authorization (id, organisation_id, campaign_id, budget_account_id,
                                       authorized_account_id, compensation_account_id, shard,
                                       currency, amount_minor, captured_minor, released_minor,
                                       status, reference, created_at)
    SELECT ids.authorization_id, :organisation_id, :campaign_id, acc.budget_id,
           acc.authorized_id, acc.compensation_id, credit.shard, :currency, :amount, 0, 0,
           'open', :reference, :now
    FROM ids, acc, credit
    RETURNING id
), tx AS (
    INSERT INTO billing_transaction (id, kind, currency, created_at, actor_user_id,
                                     organisation_id, campaign_id, authorization_id, memo)
    SELECT ids.transaction_id, 'authorize', :currency, :now, :actor_user_id,
           :organisation_id, :campaign_id, auth.id, CAST(:memo AS json)
    FROM ids, auth
    RETURNING id
), legs AS (
    INSERT INTO billing_posting (transaction_id, account_id, amount_minor, currency, created_at)
    SELECT tx.id, leg.account_id, leg.amount, :currency, :now
    FROM tx, acc, LATERAL (VALUES (acc.budget_id, -CAST(:amount AS bigint)),
                                  (acc.authorized_id, CAST(:amount AS bigint)))
                      AS leg(account_id, amount)
    RETURNING 1
)
SELECT (SELECT id FROM claim) AS key_id, (SELECT id FROM tx) AS transaction_id,
       (SELECT id FROM auth) AS authorization_id, (SELECT count(*) FROM legs) AS legs,
       (SELECT count(*) FROM debit) AS debits, (SELECT count(*) FROM credit) AS credits,
       (SELECT authorized_id IS NOT NULL AND compensation_id IS NOT NULL FROM acc)
           AS accounts_exist,
       (SELECT sum(balance_minor) FROM billing_balance
        WHERE account_id = (SELECT budget_id FROM acc)) AS budget_total
""")


def _authorize_in_one_statement(db: Session, *, request: dict[str, Any], idempotency_key: str,
                                actor_user_id: int | None,
                                keys: tuple[str, str, str]) -> Movement | None:
    """The activation in one statement; None when it is a case for the step-by-step path
    (an account to create, no free shard holding the amount while the budget as a whole
    does: waiting or rebalancing), which then starts from a clean slate (the savepoint)."""
    ledger.check_key(idempotency_key)
    amount = request["amount_minor"]
    reference = request["reference"]
    # In a savepoint: a shard the pick locked but found short on recheck (a concurrent
    # debit committed in between) stays locked until the savepoint is rolled back, and
    # holding it while the step-by-step path waits to rebalance would deadlock.
    with db.begin_nested() as savepoint:
        row = db.execute(_AUTHORIZE_SQL, {
            "budget_key": keys[0], "authorized_key": keys[1], "compensation_key": keys[2],
            "key": idempotency_key, "request_hash": ledger.request_hash(request),
            "amount": amount, "organisation_id": request["organisation_id"],
            "campaign_id": request["campaign_id"], "currency": request["currency"],
            "reference": reference, "now": utcnow(), "actor_user_id": actor_user_id,
            "memo": json.dumps({"reference": reference} if reference else {})}).one()
        if row.key_id is not None and row.transaction_id is None:
            savepoint.rollback()  # nothing moved: the key and any lock go with it
    if row.key_id is None:
        replay = ledger.claim(db, scope="authorize", key=idempotency_key, request=request)
        return Movement.replay(replay.result)
    if row.transaction_id is None:
        if row.debits or row.credits:
            raise RuntimeError(f"activation {idempotency_key!r} moved money it did not record")
        if row.accounts_exist and row.budget_total is not None \
                and row.budget_total < amount:
            raise errors.InsufficientFunds(
                f"Insufficient funds on {keys[0]}: {amount} minor units needed",
                errors={"amount_minor": "more than the account holds"})
        return None
    if (row.legs, row.debits, row.credits) != (2, 1, 1):
        raise RuntimeError(f"activation {idempotency_key!r} touched {row.legs} postings, "
                           f"{row.debits}+{row.credits} balances")
    return Movement(row.transaction_id, amount, row.authorization_id)


_authorizations = Authorization.__table__
_rest = (_authorizations.c.amount_minor - _authorizations.c.captured_minor
         - _authorizations.c.released_minor)


def capture(*, db: Session, authorization_id: int, amount_minor: int, idempotency_key: str,
            actor_user_id: int | None = None, memo: dict[str, Any] | None = None) -> Movement:
    """Checkout applied the discount: campaign.authorized → retailer.supplier_compensation,
    at most the authorisation's unused rest. Touches only the authorisation's row and one
    shard of each side, so captures of one campaign do not queue on one row."""
    if not isinstance(authorization_id, int) or isinstance(authorization_id, bool):
        raise errors.AuthorizationNotFound(f"No authorisation {authorization_id!r}")
    if db.get_bind().dialect.name == "postgresql":
        return _capture_in_one_statement(db, authorization_id=authorization_id,
                                         amount_minor=amount_minor,
                                         idempotency_key=idempotency_key,
                                         actor_user_id=actor_user_id, memo=memo)
    row = db.execute(select(_authorizations.c.currency)
                     .where(_authorizations.c.id == authorization_id)).one_or_none()
    if row is None:
        raise errors.AuthorizationNotFound(f"No authorisation {authorization_id}")
    currency = row.currency
    ledger.check_amount(amount_minor, currency)
    request = {"authorization_id": authorization_id, "amount_minor": amount_minor}
    claim = ledger.claim(db, scope="capture", key=idempotency_key, request=request)
    if claim.result is not None:
        return Movement.replay(claim.result)
    taken = db.execute(
        update(_authorizations)
        .where(_authorizations.c.id == authorization_id,
               _authorizations.c.status == AuthorizationStatus.open, _rest >= amount_minor)
        .values(captured_minor=_authorizations.c.captured_minor + amount_minor,
                status=case((_rest == amount_minor, AuthorizationStatus.closed.value),
                            else_=_authorizations.c.status))
        .returning(_authorizations.c.organisation_id, _authorizations.c.campaign_id,
                   _authorizations.c.authorized_account_id,
                   _authorizations.c.compensation_account_id, _authorizations.c.shard)
    ).one_or_none()
    if taken is None:
        raise _why_not_capturable(db, authorization_id, amount_minor)
    authorized = ledger.account_ref(taken.authorized_account_id, AccountKind.authorized)
    compensation = ledger.account_ref(taken.compensation_account_id,
                                      AccountKind.supplier_compensation)
    ledger.move(db, source=authorized, target=compensation, amount=amount_minor,
                source_shard=taken.shard)
    transaction_id = ledger.record(
        db, kind=TransactionKind.capture, currency=currency, amount=amount_minor,
        source=authorized, target=compensation, actor_user_id=actor_user_id,
        organisation_id=taken.organisation_id, campaign_id=taken.campaign_id,
        authorization_id=authorization_id, memo=memo)
    return _settled(db, claim, Movement(transaction_id, amount_minor, authorization_id))


# The same capture as above in ONE round trip on PostgreSQL: the hot path of checkout.
# The transaction id is drawn first so that the idempotency key is stored with its result
# in the same statement (a statement cannot update a row it inserts). Each part runs only
# when the key was new and the authorisation had the money; the CHECK on billing_balance
# stays the last line of defence.
_CAPTURE_SQL = text("""
WITH ids AS (
    SELECT nextval(pg_get_serial_sequence('billing_transaction', 'id')) AS transaction_id
), claim AS (
    INSERT INTO billing_idempotency_key (scope, key, request_hash, result, created_at)
    SELECT 'capture', :key, :request_hash,
           json_build_object('transaction_id', ids.transaction_id, 'amount_minor', :amount,
                             'authorization_id', :authorization_id), :now
    FROM ids
    ON CONFLICT (scope, key) DO NOTHING
    RETURNING id
), auth AS (
    UPDATE billing_authorization AS a
    SET captured_minor = a.captured_minor + :amount,
        status = CASE WHEN a.amount_minor - a.captured_minor - a.released_minor = :amount
                      THEN 'closed' ELSE a.status END
    WHERE a.id = :authorization_id AND a.status = 'open'
      AND a.amount_minor - a.captured_minor - a.released_minor >= :amount
      AND EXISTS (SELECT 1 FROM claim)
    RETURNING a.organisation_id, a.campaign_id, a.authorized_account_id,
              a.compensation_account_id, a.shard, a.currency
), tx AS (
    INSERT INTO billing_transaction (id, kind, currency, created_at, actor_user_id,
                                     organisation_id, campaign_id, authorization_id, memo)
    SELECT ids.transaction_id, 'capture', auth.currency, :now, :actor_user_id,
           auth.organisation_id, auth.campaign_id, :authorization_id, CAST(:memo AS json)
    FROM ids, auth
    RETURNING id
), legs AS (
    INSERT INTO billing_posting (transaction_id, account_id, amount_minor, currency, created_at)
    SELECT tx.id, leg.account_id, leg.amount, auth.currency, :now
    FROM tx, auth, LATERAL (VALUES (auth.authorized_account_id, -CAST(:amount AS bigint)),
                                   (auth.compensation_account_id, CAST(:amount AS bigint)))
                       AS leg(account_id, amount)
    RETURNING 1
), debit AS (
    UPDATE billing_balance AS b SET balance_minor = b.balance_minor - :amount
    FROM auth WHERE b.account_id = auth.authorized_account_id AND b.shard = auth.shard
    RETURNING 1
), credit AS (
    UPDATE billing_balance AS b SET balance_minor = b.balance_minor + :amount
    FROM auth WHERE b.account_id = auth.compensation_account_id
                AND b.shard = auth.shard % :credit_shards
    RETURNING 1
)
SELECT (SELECT id FROM claim) AS key_id, (SELECT id FROM tx) AS transaction_id,
       (SELECT count(*) FROM legs) AS legs, (SELECT count(*) FROM debit) AS debits,
       (SELECT count(*) FROM credit) AS credits
""")


def _capture_in_one_statement(db: Session, *, authorization_id: int, amount_minor: int,
                              idempotency_key: str, actor_user_id: int | None,
                              memo: dict[str, Any] | None) -> Movement:
    ledger.check_amount(amount_minor, "RUB")  # the amount's shape; the currency is the auth's
    ledger.check_key(idempotency_key)
    request = {"authorization_id": authorization_id, "amount_minor": amount_minor}
    # The compensation shard of the same number as the authorisation's shard: captures
    # that do not meet on the `authorized` side do not meet on this side either.
    credit_shards = ledger.SHARDS_BY_KIND[AccountKind.supplier_compensation]
    row = db.execute(_CAPTURE_SQL, {
        "key": idempotency_key, "request_hash": ledger.request_hash(request),
        "amount": amount_minor, "authorization_id": authorization_id, "now": utcnow(),
        "actor_user_id": actor_user_id, "memo": json.dumps(memo or {}),
        "credit_shards": credit_shards}).one()
    if row.key_id is None:
        replay = ledger.claim(db, scope="capture", key=idempotency_key, request=request)
        return Movement.replay(replay.result)
    if row.transaction_id is None:
        # The key was stored with a result that did not happen: take it back before saying why.
        db.execute(delete(IdempotencyKey.__table__)
                   .where(IdempotencyKey.__table__.c.id == row.key_id))
        exists = db.scalar(select(_authorizations.c.id)
                           .where(_authorizations.c.id == authorization_id))
        if exists is None:
            raise errors.AuthorizationNotFound(f"No authorisation {authorization_id}")
        raise _why_not_capturable(db, authorization_id, amount_minor)
    if (row.legs, row.debits, row.credits) != (2, 1, 1):
        raise RuntimeError(f"capture of authorisation {authorization_id} touched "
                           f"{row.legs} postings, {row.debits}+{row.credits} balances")
    return Movement(row.transaction_id, amount_minor, authorization_id)


def _why_not_capturable(db: Session, authorization_id: int, amount_minor: int) -> Exception:
    row = db.execute(select(_authorizations.c.status, _rest.label("rest"))
                     .where(_authorizations.c.id == authorization_id)).one()
    if row.status != AuthorizationStatus.open:
        return errors.AuthorizationNotOpen(f"Authorisation {authorization_id} is closed")
    return errors.AuthorizationExceeded(
        f"Authorisation {authorization_id} has {row.rest} minor units left, "
        f"{amount_minor} asked", errors={"amount_minor": "more than the authorised rest"})


def release_authorization(*, db: Session, authorization_id: int, idempotency_key: str,
                          actor_user_id: int | None = None) -> Movement:
    """The offer expired or the shopper's limit is used: the unused rest goes back,
    campaign.authorized → campaign.budget, and the authorisation closes."""
    request = {"authorization_id": authorization_id}
    claim = ledger.claim(db, scope="release_authorization", key=idempotency_key,
                         request=request)
    if claim.result is not None:
        return Movement.replay(claim.result)
    row = db.execute(select(_authorizations).where(_authorizations.c.id == authorization_id)
                     .with_for_update()).one_or_none()
    if row is None:
        raise errors.AuthorizationNotFound(f"No authorisation {authorization_id}")
    rest = row.amount_minor - row.captured_minor - row.released_minor
    db.execute(update(_authorizations).where(_authorizations.c.id == authorization_id)
               .values(released_minor=row.released_minor + rest,
                       status=AuthorizationStatus.closed))
    if rest == 0:
        return _settled(db, claim, Movement(None, 0, authorization_id))
    authorized = ledger.account_ref(row.authorized_account_id, AccountKind.authorized)
    budget = ledger.account_ref(row.budget_account_id, AccountKind.budget)
    ledger.move(db, source=authorized, target=budget, amount=rest, source_shard=row.shard)
    transaction_id = ledger.record(
        db, kind=TransactionKind.release_authorization, currency=row.currency, amount=rest,
        source=authorized, target=budget, actor_user_id=actor_user_id,
        organisation_id=row.organisation_id, campaign_id=row.campaign_id,
        authorization_id=authorization_id)
    return _settled(db, claim, Movement(transaction_id, rest, authorization_id))


def release_campaign_budget(*, db: Session, organisation_id: int, campaign_id: int | str,
                            currency: str, idempotency_key: str,
                            actor_user_id: int | None = None) -> Movement:
    """The campaign ended or stopped: what is left of its budget goes back,
    campaign.budget → org.available. Open authorisations keep their money (release them)."""
    campaign = _campaign_id(campaign_id)
    ledger.check_amount(1, currency)
    request = {"organisation_id": organisation_id, "campaign_id": campaign,
               "currency": currency}
    claim = ledger.claim(db, scope="release_budget", key=idempotency_key, request=request)
    if claim.result is not None:
        return Movement.replay(claim.result)
    budget_spec, _ = ledger.campaign_accounts(organisation_id, campaign, currency)
    budget = ledger.existing_account(db, budget_spec)
    if budget is None:
        return _settled(db, claim, Movement(None, 0))
    available = ledger.account(db, ledger.organisation_account(organisation_id, currency))
    # Lock in id order (the organisation's account was created first) before draining.
    ledger.credit(db, available, 0, 0)
    amount = ledger.drain(db, budget)
    if amount == 0:
        return _settled(db, claim, Movement(None, 0))
    ledger.credit(db, available, 0, amount)
    transaction_id = ledger.record(
        db, kind=TransactionKind.release_budget, currency=currency, amount=amount,
        source=budget, target=available, actor_user_id=actor_user_id,
        organisation_id=organisation_id, campaign_id=campaign)
    return _settled(db, claim, Movement(transaction_id, amount))


def reverse(*, db: Session, transaction_id: int, idempotency_key: str,
            amount_minor: int | None = None, reason: str = "",
            actor_user_id: int | None = None) -> Movement:
    """A correction or refund: a new transaction moving the money back (all of it, or
    `amount_minor` of what is not yet reversed). Raises InsufficientFunds when the money
    has already moved on (e.g. a refunded top-up that was spent on a campaign)."""
    request = {"transaction_id": transaction_id, "amount_minor": amount_minor,
               "reason": reason}
    claim = ledger.claim(db, scope="reverse", key=idempotency_key, request=request)
    if claim.result is not None:
        return Movement.replay(claim.result)
    original = db.execute(select(Transaction).where(Transaction.id == transaction_id)
                          .with_for_update()).scalar_one_or_none()
    if original is None:
        raise errors.TransactionNotFound(f"No transaction {transaction_id}")
    if original.kind not in REVERSIBLE:
        raise errors.NotReversible(
            f"A {original.kind} transaction cannot be reversed"
            + (": release the authorisation instead"
               if original.kind == TransactionKind.authorize else ""))
    postings = db.execute(select(Posting.account_id, Posting.amount_minor)
                          .where(Posting.transaction_id == transaction_id)).all()
    source_id = next(a for a, amount in postings if amount > 0)
    target_id = next(a for a, amount in postings if amount < 0)
    total = next(amount for _, amount in postings if amount > 0)
    reversed_already = int(db.scalar(
        select(func.coalesce(func.sum(Posting.amount_minor), 0))
        .join(Transaction, Transaction.id == Posting.transaction_id)
        .where(Transaction.reverses_id == transaction_id, Posting.account_id == target_id)))
    left = total - reversed_already
    amount = left if amount_minor is None else amount_minor
    ledger.check_amount(amount, original.currency)
    if amount > left:
        raise errors.InvalidAmount(
            f"Only {left} minor units of transaction {transaction_id} are left to reverse",
            errors={"amount_minor": "more than is left to reverse"})
    refs = ledger.accounts_by_id(db, [source_id, target_id])
    source, target = refs[source_id], refs[target_id]
    target_shard = None
    if original.kind == TransactionKind.capture:
        # The money returns to the shopper's authorisation, which opens again.
        row = db.execute(update(_authorizations)
                         .where(_authorizations.c.id == original.authorization_id,
                                _authorizations.c.captured_minor >= amount)
                         .values(captured_minor=_authorizations.c.captured_minor - amount,
                                 status=AuthorizationStatus.open)
                         .returning(_authorizations.c.shard)).one()
        target_shard = row.shard
    ledger.move(db, source=source, target=target, amount=amount, target_shard=target_shard)
    reversal_id = ledger.record(
        db, kind=TransactionKind.reversal, currency=original.currency, amount=amount,
        source=source, target=target, actor_user_id=actor_user_id,
        organisation_id=original.organisation_id, campaign_id=original.campaign_id,
        top_up_id=original.top_up_id, authorization_id=original.authorization_id,
        reverses_id=transaction_id, memo={"reason": reason} if reason else None)
    return _settled(db, claim, Movement(reversal_id, amount, original.authorization_id))


def _settled(db: Session, claim: ledger.Claim, movement: Movement) -> Movement:
    ledger.settle(db, claim, movement.as_result())
    return movement


# --- reading -------------------------------------------------------------------------------

def check_ledger(*, db: Session) -> list[str]:
    """Every broken invariant (empty list: the ledger is sound). See ledger.check."""
    return ledger.check(db)


def balance(*, db: Session, account_id: int) -> int:
    return ledger.balance_of(db, account_id)


def organisation_balance(*, db: Session, organisation_id: int, currency: str) -> int:
    ref = ledger.existing_account(db, ledger.organisation_account(organisation_id, currency))
    return 0 if ref is None else ledger.balance_of(db, ref.id)


def campaign_balances(*, db: Session, organisation_id: int, campaign_id: int | str,
                      currency: str) -> dict[str, int]:
    """The campaign's `budget` and `authorized` balances."""
    out = {}
    for spec in ledger.campaign_accounts(organisation_id, _campaign_id(campaign_id), currency):
        ref = ledger.existing_account(db, spec)
        out[str(spec.kind)] = 0 if ref is None else ledger.balance_of(db, ref.id)
    return out


def open_authorizations(*, db: Session, campaign_id: int | str) -> list[int]:
    """Ids of the campaign's authorisations that still hold money (to release at its end)."""
    return list(db.scalars(
        select(Authorization.id)
        .where(Authorization.campaign_id == _campaign_id(campaign_id),
               Authorization.status == AuthorizationStatus.open)
        .order_by(Authorization.id)))


def get_authorization(*, db: Session, authorization_id: int) -> Authorization:
    found = db.get(Authorization, authorization_id)
    if found is None:
        raise errors.AuthorizationNotFound(f"No authorisation {authorization_id}")
    return found


_balance_total = (select(func.sum(Balance.balance_minor))
                  .where(Balance.account_id == Account.id)
                  .correlate(Account).scalar_subquery())

ACCOUNT_COLUMNS = (Account.id, Account.kind, Account.organisation_id, Account.campaign_id,
                   Account.currency, Account.low_balance_threshold_minor, Account.created_at,
                   cast(func.coalesce(_balance_total, 0), BigInteger).label("balance_minor"))


def select_accounts(*, organisation_id: int | None) -> Select:
    """Accounts with their balances; `organisation_id` None means every account."""
    return owned_by(select(*ACCOUNT_COLUMNS), Account, organisation_id)


def get_account(*, db: Session, account_id: int, organisation_id: int | None) -> Any:
    """One account with its balance, or AccountNotFound — also when it belongs to another
    organisation than `organisation_id` (None: any)."""
    row = db.execute(select_accounts(organisation_id=organisation_id)
                     .where(Account.id == account_id)).mappings().one_or_none()
    if row is None:
        raise errors.AccountNotFound(f"No account {account_id}")
    return row


def set_low_balance_threshold(*, db: Session, organisation_id: int, currency: str,
                              threshold_minor: int | None) -> Any:
    """Below this balance the organisation is to be told to top up (None: never)."""
    if threshold_minor is not None and (not isinstance(threshold_minor, int)
                                        or threshold_minor < 0):
        raise errors.InvalidAmount("A threshold is zero or more minor units",
                                   errors={"low_balance_threshold_minor": "not negative"})
    ref = ledger.account(db, ledger.organisation_account(organisation_id, currency))
    db.execute(update(Account).where(Account.id == ref.id)
               .values(low_balance_threshold_minor=threshold_minor)
               .execution_options(synchronize_session=False))
    return get_account(db=db, account_id=ref.id, organisation_id=organisation_id)


POSTING_COLUMNS = (Posting.id, Posting.transaction_id, Posting.account_id,
                   Account.kind.label("account_kind"), Account.organisation_id,
                   Account.campaign_id, Transaction.kind, Posting.amount_minor,
                   Posting.currency, Posting.created_at, Transaction.actor_user_id,
                   Transaction.top_up_id, Transaction.authorization_id,
                   Transaction.reverses_id, Transaction.memo)


def select_postings(*, organisation_id: int | None) -> Select:
    """The ledger's postings with their account and transaction; `organisation_id` None
    means every organisation's (and the retailer's own accounts)."""
    statement = (select(*POSTING_COLUMNS)
                 .join(Account, Account.id == Posting.account_id)
                 .join(Transaction, Transaction.id == Posting.transaction_id))
    if organisation_id is not None:
        statement = statement.where(Account.organisation_id == organisation_id)
    return statement


@dataclass(frozen=True, slots=True)
class Statement:
    account: Any
    date_from: date
    date_to: date
    opening_minor: int
    lines: list[Any]
    closing_minor: int


def _local_midnight(day: date) -> datetime:
    zone = ZoneInfo(get_settings().retail_timezone)
    return datetime.combine(day, time.min, tzinfo=zone)


def statement(*, db: Session, account_id: int, organisation_id: int | None,
              date_from: date, date_to: date) -> Statement:
    """The account's movements on the days `date_from`..`date_to` (inclusive, in the
    retailer's time zone) between its opening and closing balances."""
    if date_to < date_from:
        raise errors.InvalidAmount("The period ends before it starts",
                                   errors={"to": "before from"})
    account = get_account(db=db, account_id=account_id, organisation_id=organisation_id)
    start, end = _local_midnight(date_from), _local_midnight(date_to + timedelta(days=1))
    opening = int(db.scalar(select(func.coalesce(func.sum(Posting.amount_minor), 0))
                            .where(Posting.account_id == account_id,
                                   Posting.created_at < start)))
    lines = list(db.execute(
        select(*POSTING_COLUMNS).join(Account, Account.id == Posting.account_id)
        .join(Transaction, Transaction.id == Posting.transaction_id)
        .where(Posting.account_id == account_id, Posting.created_at >= start,
               Posting.created_at < end)
        .order_by(Posting.created_at, Posting.id)).mappings())
    closing = opening + sum(line["amount_minor"] for line in lines)
    return Statement(account=account, date_from=date_from, date_to=date_to,
                     opening_minor=opening, lines=lines, closing_minor=closing)


def statement_csv(found: Statement) -> str:
    """The statement as CSV, amounts as decimal text in the account's currency."""
    currency = found.account["currency"]

    def money(amount: int) -> str:
        return str(from_minor(amount, currency))

    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["date", "transaction_id", "kind", "description", "amount", "balance",
                     "currency"])
    writer.writerow([found.date_from.isoformat(), "", "opening_balance", "Opening balance", "",
                     money(found.opening_minor), currency])
    running = found.opening_minor
    for line in found.lines:
        running += line["amount_minor"]
        memo = line["memo"] or {}
        description = "; ".join(f"{k}={v}" for k, v in sorted(memo.items()))
        writer.writerow([line["created_at"].isoformat(), line["transaction_id"], line["kind"],
                         description, money(line["amount_minor"]), money(running), currency])
    writer.writerow([found.date_to.isoformat(), "", "closing_balance", "Closing balance", "",
                     money(found.closing_minor), currency])
    return out.getvalue()


# --- top-ups -------------------------------------------------------------------------------

def record_bank_top_up(*, db: Session, organisation_id: int, amount_minor: int, currency: str,
                       document_number: str, document_date: date, idempotency_key: str,
                       actor_user_id: int | None) -> TopUp:
    """A finance officer enters a bank transfer: bank_clearing → org.available. The same
    payment document entered again returns the first entry; with other details, a 409."""
    ledger.check_amount(amount_minor, currency)
    document_number = (document_number or "").strip()
    if not document_number:
        raise errors.InvalidAmount("The payment document number is required",
                                   errors={"document_number": "required"})
    request = {"organisation_id": organisation_id, "amount_minor": amount_minor,
               "currency": currency, "document_number": document_number,
               "document_date": document_date.isoformat()}
    claim = ledger.claim(db, scope="bank_top_up", key=idempotency_key, request=request)
    if claim.result is not None:
        return db.get(TopUp, claim.result["top_up_id"])
    existing = db.execute(select(TopUp).where(TopUp.organisation_id == organisation_id,
                                              TopUp.document_number == document_number)
                          .with_for_update()).scalar_one_or_none()
    if existing is not None:
        if (existing.amount_minor, existing.currency, existing.document_date) != (
                amount_minor, currency, document_date):
            raise errors.TopUpConflict(
                f"Payment document {document_number} is already recorded with other details",
                errors={"document_number": "already recorded with other details"})
        ledger.settle(db, claim, {"top_up_id": existing.id})
        return existing
    found = TopUp(organisation_id=organisation_id, method=TopUpMethod.bank_transfer,
                  status=TopUpStatus.succeeded, amount_minor=amount_minor, currency=currency,
                  document_number=document_number, document_date=document_date,
                  created_by_user_id=actor_user_id)
    db.add(found)
    db.flush()
    movement = top_up(db=db, organisation_id=organisation_id, amount_minor=amount_minor,
                      currency=currency, source="bank", top_up_id=found.id,
                      idempotency_key=f"bank:{organisation_id}:{document_number}",
                      actor_user_id=actor_user_id,
                      memo={"document_number": document_number,
                            "document_date": document_date.isoformat()})
    found.transaction_id = movement.transaction_id
    db.flush()
    ledger.settle(db, claim, {"top_up_id": found.id})
    return found


@dataclass(frozen=True, slots=True)
class CardTopUp:
    top_up: TopUp
    client_secret: str


def start_card_top_up(*, db: Session, organisation_id: int, amount_minor: int, currency: str,
                      idempotency_key: str, actor_user_id: int | None) -> CardTopUp:
    """A PaymentIntent for a card payment; the organisation is credited when Stripe says
    it succeeded (see handle_stripe_event). Raises CardTopUpsNotConfigured without keys."""
    from billing import stripe_gateway

    stripe_gateway.require_configured()
    ledger.check_amount(amount_minor, currency)
    request = {"organisation_id": organisation_id, "amount_minor": amount_minor,
               "currency": currency}
    claim = ledger.claim(db, scope="card_top_up", key=idempotency_key, request=request)
    if claim.result is not None:
        found = db.get(TopUp, claim.result["top_up_id"])
        secret = stripe_gateway.client_secret(payment_intent_id=found.stripe_payment_intent_id)
        return CardTopUp(top_up=found, client_secret=secret)
    found = TopUp(organisation_id=organisation_id, method=TopUpMethod.card,
                  status=TopUpStatus.pending, amount_minor=amount_minor, currency=currency,
                  created_by_user_id=actor_user_id)
    db.add(found)
    db.flush()
    intent_id, secret = stripe_gateway.create_payment_intent(
        amount_minor=amount_minor, currency=currency,
        metadata={"organisation_id": str(organisation_id), "top_up_id": str(found.id)},
        idempotency_key=f"vitrina-top-up-{found.id}-{claim.key_id}")
    found.stripe_payment_intent_id = intent_id
    db.flush()
    ledger.settle(db, claim, {"top_up_id": found.id})
    return CardTopUp(top_up=found, client_secret=secret)


def handle_stripe_event(*, db: Session, payload: bytes, signature: str | None) -> str:
    """Verify a Stripe webhook and apply it once; what was done, in a word or two.
    Raises InvalidWebhook (400) for a bad signature or a stale timestamp."""
    from billing import stripe_gateway

    event = stripe_gateway.verify_event(payload=payload, signature=signature)
    if not ledger.first_time_event(db, event_id=event["id"], event_type=event["type"]):
        return "duplicate"
    obj = event["data"]["object"]
    if event["type"] == "payment_intent.succeeded":
        return _card_paid(db, obj)
    if event["type"] == "payment_intent.payment_failed":
        return _card_failed(db, obj)
    if event["type"] == "charge.refunded":
        return _card_refunded(db, obj)
    return "ignored"


def _top_up_for_intent(db: Session, intent_id: str | None) -> TopUp | None:
    if not intent_id:
        return None
    return db.execute(select(TopUp).where(TopUp.stripe_payment_intent_id == intent_id)
                      .with_for_update()).scalar_one_or_none()


def _card_paid(db: Session, intent: dict[str, Any]) -> str:
    found = _top_up_for_intent(db, intent.get("id"))
    if found is None:
        return "unknown payment"
    if found.status != TopUpStatus.pending and found.transaction_id is not None:
        return "already credited"
    received = intent.get("amount_received") or intent.get("amount")
    if received != found.amount_minor or str(intent.get("currency", "")).upper() \
            != found.currency:
        found.status = TopUpStatus.failed
        found.failure_reason = (f"Stripe reported {received} {intent.get('currency')}, "
                                f"expected {found.amount_minor} {found.currency}")
        db.flush()
        return "amount mismatch"
    movement = top_up(db=db, organisation_id=found.organisation_id,
                      amount_minor=found.amount_minor, currency=found.currency,
                      source="stripe", top_up_id=found.id,
                      idempotency_key=f"stripe:{found.stripe_payment_intent_id}",
                      memo={"payment_intent": found.stripe_payment_intent_id})
    found.transaction_id = movement.transaction_id
    found.status = TopUpStatus.succeeded
    found.failure_reason = None
    db.flush()
    return "credited"


def _card_failed(db: Session, intent: dict[str, Any]) -> str:
    found = _top_up_for_intent(db, intent.get("id"))
    if found is None:
        return "unknown payment"
    if found.status != TopUpStatus.pending:
        return "not pending"
    error = intent.get("last_payment_error") or {}
    found.status = TopUpStatus.failed
    found.failure_reason = str(error.get("message") or "payment failed")[:500]
    db.flush()
    return "marked failed"


def _card_refunded(db: Session, charge: dict[str, Any]) -> str:
    found = _top_up_for_intent(db, charge.get("payment_intent"))
    if found is None or found.transaction_id is None:
        return "unknown payment"
    refunded = int(charge.get("amount_refunded") or 0)
    new = min(refunded, found.amount_minor) - found.refunded_minor
    if new <= 0:
        return "nothing new refunded"
    try:
        reverse(db=db, transaction_id=found.transaction_id, amount_minor=new,
                reason=f"Stripe refund of charge {charge.get('id')}",
                idempotency_key=f"stripe-refund:{charge.get('id')}:{refunded}")
    except errors.InsufficientFunds:
        found.status = TopUpStatus.refund_failed
        found.failure_reason = (f"Stripe refunded {new} minor units that were already spent; "
                                "settle with the supplier by hand")
        db.flush()
        return "refund exceeds available money"
    found.refunded_minor += new
    found.status = (TopUpStatus.refunded if found.refunded_minor >= found.amount_minor
                    else TopUpStatus.succeeded)
    db.flush()
    return "refund reversed"


def select_top_ups(*, organisation_id: int | None) -> Select:
    return owned_by(select(TopUp), TopUp, organisation_id)
