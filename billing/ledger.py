"""The ledger's primitives: accounts and their sharded balances, recording a transaction,
idempotency keys, and the invariant check. `billing.service` builds the operations on them.

How a hot balance stays fast and never negative. An account's balance lives in
`shard_count` rows of `billing_balance`. A debit picks a random shard and runs
`UPDATE … SET balance = balance - x WHERE … AND balance >= x`: no shard ever goes below
zero, so their sum cannot. A launch spreads a campaign's budget evenly over its shards
(`spread`). When that shard is short the debit probes a few others; when
none of them has enough but the (unlocked) total does, it locks the account row and every
shard and spreads the total evenly again, leaving the debit in one shard. Concurrent
movements therefore mostly touch different rows instead of queueing on one.

Deadlocks are avoided by locking in one order: the two sides of a movement are taken in
ascending account id; when a debit must search for a shard but its account comes after
the credit's, the credit is applied first and undone (under the same row lock) if the
debit fails.
"""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, bindparam, func, select, text, update
from sqlalchemy import insert as generic_insert
from sqlalchemy.orm import Session

from billing import errors
from billing.models import (
    Account,
    AccountKind,
    Authorization,
    AuthorizationStatus,
    Balance,
    IdempotencyKey,
    Posting,
    StripeEvent,
    Transaction,
    TransactionKind,
)
from core.db import utcnow
from core.money import MAX_MINOR, MoneyError, check_currency

# Accounts that many concurrent movements touch get this many sub-balance rows. Changing a
# number later needs a migration that adds the new shards to existing accounts.
SHARDS_BY_KIND = {
    AccountKind.budget: 16,
    AccountKind.authorized: 16,
    AccountKind.supplier_compensation: 16,
}
MAY_GO_NEGATIVE = frozenset({AccountKind.stripe_clearing, AccountKind.bank_clearing})
# Shards a debit tries before it looks at the total and, if that suffices, rebalances.
PROBES = 3
MAX_KEY_LENGTH = 255
# Session.info key: ids of `available` accounts this transaction moved money in or out of.
AVAILABLE_CHANGED = "billing.available_changed"


# --- amounts -------------------------------------------------------------------------------

def check_amount(amount_minor: Any, currency: str) -> None:
    """A positive whole number of minor units in a currency we accept, else InvalidAmount."""
    if not isinstance(amount_minor, int) or isinstance(amount_minor, bool):
        raise errors.InvalidAmount("An amount must be a whole number of minor units",
                                   errors={"amount_minor": "not an integer"})
    if amount_minor <= 0:
        raise errors.InvalidAmount("An amount must be positive",
                                   errors={"amount_minor": "must be greater than zero"})
    if amount_minor > MAX_MINOR:
        raise errors.InvalidAmount("The amount is out of range",
                                   errors={"amount_minor": "too large"})
    try:
        check_currency(currency)
    except MoneyError as exc:
        raise errors.InvalidAmount(str(exc), errors={"currency": "unknown currency"}) from exc


# --- accounts ------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class AccountSpec:
    """Which account: its kind and owner. The key names it uniquely."""

    kind: AccountKind
    currency: str
    organisation_id: int | None = None
    campaign_id: str | None = None

    @property
    def key(self) -> str:
        owner = ""
        if self.organisation_id is not None:
            owner += f":org:{self.organisation_id}"
        if self.campaign_id is not None:
            owner += f":campaign:{self.campaign_id}"
        return f"{self.kind}{owner}:{self.currency}"


def organisation_account(organisation_id: int, currency: str) -> AccountSpec:
    return AccountSpec(AccountKind.available, currency, organisation_id=organisation_id)


def campaign_accounts(organisation_id: int, campaign_id: str,
                      currency: str) -> tuple[AccountSpec, AccountSpec]:
    """The campaign's `budget` and `authorized` accounts."""
    return (AccountSpec(AccountKind.budget, currency, organisation_id, campaign_id),
            AccountSpec(AccountKind.authorized, currency, organisation_id, campaign_id))


def compensation_account(currency: str) -> AccountSpec:
    return AccountSpec(AccountKind.supplier_compensation, currency)


def clearing_account(kind: AccountKind, currency: str) -> AccountSpec:
    return AccountSpec(kind, currency)


@dataclass(frozen=True, slots=True)
class AccountRef:
    id: int
    key: str
    kind: AccountKind
    shard_count: int
    may_go_negative: bool


def _dialect_insert(db: Session, table):
    if db.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(table)


_REF_COLUMNS = (Account.id, Account.key, Account.kind, Account.shard_count,
                Account.may_go_negative)


def accounts(db: Session, specs: list[AccountSpec]) -> dict[str, AccountRef]:
    """The accounts by key, creating those that do not exist yet (safe under concurrency:
    a racing creator waits for the first and then finds its row)."""
    keys = [spec.key for spec in specs]
    found = {row.key: AccountRef(*row) for row in
             db.execute(select(*_REF_COLUMNS).where(Account.key.in_(keys)))}
    for spec in specs:
        if spec.key in found:
            continue
        shards = SHARDS_BY_KIND.get(spec.kind, 1)
        negative = spec.kind in MAY_GO_NEGATIVE
        statement = _dialect_insert(db, Account).values(
            key=spec.key, kind=spec.kind, organisation_id=spec.organisation_id,
            campaign_id=spec.campaign_id, currency=spec.currency, shard_count=shards,
            may_go_negative=negative, created_at=utcnow(),
        ).on_conflict_do_nothing(index_elements=["key"]).returning(Account.id)
        new_id = db.execute(statement).scalar()
        if new_id is not None:
            db.execute(generic_insert(Balance), [
                {"account_id": new_id, "shard": shard, "balance_minor": 0,
                 "may_go_negative": negative} for shard in range(shards)])
        row = db.execute(select(*_REF_COLUMNS).where(Account.key == spec.key)).one()
        found[spec.key] = AccountRef(*row)
    return found


def account_ref(account_id: int, kind: AccountKind) -> AccountRef:
    """A reference to an account known by id (e.g. from an authorisation row)."""
    return AccountRef(account_id, f"account {account_id}", kind, SHARDS_BY_KIND.get(kind, 1),
                      kind in MAY_GO_NEGATIVE)


def accounts_by_id(db: Session, ids: list[int]) -> dict[int, AccountRef]:
    return {row.id: AccountRef(*row)
            for row in db.execute(select(*_REF_COLUMNS).where(Account.id.in_(ids)))}


def account(db: Session, spec: AccountSpec) -> AccountRef:
    return accounts(db, [spec])[spec.key]


def existing_account(db: Session, spec: AccountSpec) -> AccountRef | None:
    row = db.execute(select(*_REF_COLUMNS).where(Account.key == spec.key)).one_or_none()
    return AccountRef(*row) if row else None


def balance_of(db: Session, account_id: int) -> int:
    return int(db.scalar(select(func.coalesce(func.sum(Balance.balance_minor), 0))
                         .where(Balance.account_id == account_id)))


# --- moving money between shards -----------------------------------------------------------

# Core statements on the table (not the ORM entity): the hot path needs no identity map.
_balances = Balance.__table__


def _shard_row(account_id: int, shard: int):
    return and_(_balances.c.account_id == account_id, _balances.c.shard == shard)


def credit(db: Session, account: AccountRef, shard: int, amount: int) -> None:
    result = db.execute(update(_balances).where(_shard_row(account.id, shard))
                        .values(balance_minor=_balances.c.balance_minor + amount))
    if result.rowcount != 1:
        raise RuntimeError(f"account {account.key} has no shard {shard}")


def debit_known(db: Session, account: AccountRef, shard: int, amount: int) -> None:
    """Debit a shard known to hold the money (an authorisation's own shard). The CHECK on
    the balance row still refuses to let it go negative."""
    credit(db, account, shard, -amount)


def _try_debit(db: Session, account: AccountRef, shard: int, amount: int) -> bool:
    result = db.execute(update(_balances)
                        .where(_shard_row(account.id, shard),
                               _balances.c.balance_minor >= amount)
                        .values(balance_minor=_balances.c.balance_minor - amount))
    return result.rowcount == 1


def _insufficient(account: AccountRef, amount: int) -> errors.InsufficientFunds:
    return errors.InsufficientFunds(
        f"Insufficient funds on {account.key}: {amount} minor units needed",
        errors={"amount_minor": "more than the account holds"})


def debit(db: Session, account: AccountRef, amount: int) -> int:
    """Take `amount` from the account without ever making it negative; the shard used.
    Raises InsufficientFunds when the whole account holds less."""
    if account.may_go_negative:
        credit(db, account, 0, -amount)
        return 0
    if account.shard_count > 1 and db.get_bind().dialect.name == "postgresql":
        return _debit_postgresql(db, account, amount)
    count = account.shard_count
    start = random.randrange(count)
    for step in range(min(PROBES, count)):
        shard = (start + step) % count
        if _try_debit(db, account, shard, amount):
            return shard
    if count == 1 or balance_of(db, account.id) < amount:
        raise _insufficient(account, amount)
    return _rebalance_and_debit(db, account, amount, start)


# Take the money from any shard that holds enough and that no one else has locked: never
# waits, so concurrent debits of a hot account spread over its shards by themselves.
_DEBIT_FREE_SHARD = text("""
UPDATE billing_balance SET balance_minor = balance_minor - :amount
WHERE account_id = :account AND balance_minor >= :amount AND shard = (
    SELECT shard FROM billing_balance
    WHERE account_id = :account AND balance_minor >= :amount
    ORDER BY random() LIMIT 1 FOR NO KEY UPDATE SKIP LOCKED)
RETURNING shard
""")


def _debit_postgresql(db: Session, account: AccountRef, amount: int) -> int:
    params = {"account": account.id, "amount": amount}
    for _ in range(PROBES):
        shard = db.execute(_DEBIT_FREE_SHARD, params).scalar()
        if shard is not None:
            return shard
        # Every shard with enough is busy: wait for one. In a savepoint, because a row
        # whose recheck fails after the wait stays locked, and holding it while going on
        # to rebalance could deadlock.
        candidates = list(db.scalars(select(Balance.shard).where(
            Balance.account_id == account.id, Balance.balance_minor >= amount)))
        if not candidates:
            break
        shard = random.choice(candidates)
        with db.begin_nested() as savepoint:
            if _try_debit(db, account, shard, amount):
                return shard
            savepoint.rollback()
    if balance_of(db, account.id) < amount:
        raise _insufficient(account, amount)
    return _rebalance_and_debit(db, account, amount, random.randrange(account.shard_count))


def _lock_shards(db: Session, account: AccountRef) -> list[tuple[int, int]]:
    """Lock every shard of the account, in shard order (so two rebalancers cannot deadlock).

    On PostgreSQL a transaction-scoped advisory lock first lets one rebalancer at a time
    through. Not a lock on the account row: every transaction that inserts a posting takes
    a key-share lock on that row (the foreign key), and queueing behind those deadlocks."""
    if db.get_bind().dialect.name == "postgresql":
        db.execute(select(func.pg_advisory_xact_lock(_ADVISORY_NAMESPACE, account.id)))
    return [tuple(row) for row in db.execute(
        select(Balance.shard, Balance.balance_minor).where(Balance.account_id == account.id)
        .order_by(Balance.shard).with_for_update(key_share=True))]


# The first key of billing's advisory locks (the second is the account id).
_ADVISORY_NAMESPACE = 0x5B1


_SET_SHARD = (update(_balances)
              .where(_balances.c.account_id == bindparam("a"),
                     _balances.c.shard == bindparam("s"))
              .values(balance_minor=bindparam("v")))


def _set_shards(db: Session, account: AccountRef, before: list[tuple[int, int]],
                after: dict[int, int]) -> None:
    changed = [{"a": account.id, "s": shard, "v": after[shard]}
               for shard, value in before if after[shard] != value]
    if changed:
        db.execute(_SET_SHARD, changed)


def _rebalance_and_debit(db: Session, account: AccountRef, amount: int, target: int) -> int:
    shards = _lock_shards(db, account)
    total = sum(value for _, value in shards)
    if total < amount:
        raise _insufficient(account, amount)
    rest = total - amount
    even = rest // len(shards)
    after = {shard: even for shard, _ in shards}
    after[target] += rest - even * len(shards)
    _set_shards(db, account, shards, after)
    return target


def spread(db: Session, account: AccountRef) -> None:
    """Even out the account's shards (under lock), so that concurrent debits find money in
    every shard: a campaign's budget arrives in one piece at launch."""
    if account.shard_count == 1 or account.may_go_negative:
        return
    shards = _lock_shards(db, account)
    total = sum(value for _, value in shards)
    even = total // len(shards)
    after = {shard: even for shard, _ in shards}
    after[shards[0][0]] += total - even * len(shards)
    _set_shards(db, account, shards, after)


def drain(db: Session, account: AccountRef) -> int:
    """Empty the account (all shards, under lock); the amount taken."""
    shards = _lock_shards(db, account)
    _set_shards(db, account, shards, {shard: 0 for shard, _ in shards})
    return sum(value for _, value in shards)


def move(db: Session, *, source: AccountRef, target: AccountRef, amount: int,
         source_shard: int | None = None, target_shard: int | None = None) -> tuple[int, int]:
    """Move the balances (not the postings) from source to target; the shards used.

    `source_shard` names a shard known to hold the money (no search, no rebalancing)."""
    if target_shard is None:
        target_shard = random.randrange(target.shard_count)
    if source_shard is not None:
        sides = sorted([(source.id, source_shard, -amount, source),
                        (target.id, target_shard, amount, target)], key=lambda s: s[:2])
        for _, shard, delta, ref in sides:
            credit(db, ref, shard, delta)
        return source_shard, target_shard
    if target.id < source.id:
        credit(db, target, target_shard, amount)
        try:
            source_shard = debit(db, source, amount)
        except errors.InsufficientFunds:
            credit(db, target, target_shard, -amount)
            raise
        return source_shard, target_shard
    source_shard = debit(db, source, amount)
    credit(db, target, target_shard, amount)
    return source_shard, target_shard


# --- recording -----------------------------------------------------------------------------

def record(db: Session, *, kind: TransactionKind, currency: str, amount: int,
           source: AccountRef, target: AccountRef, actor_user_id: int | None,
           organisation_id: int | None = None, campaign_id: str | None = None,
           top_up_id: int | None = None, authorization_id: int | None = None,
           reverses_id: int | None = None, memo: dict[str, Any] | None = None) -> int:
    """Write a transaction and its two postings (which sum to zero); its id."""
    now = utcnow()
    transaction_id = db.execute(
        generic_insert(Transaction).values(
            kind=kind, currency=currency, created_at=now, actor_user_id=actor_user_id,
            organisation_id=organisation_id, campaign_id=campaign_id, top_up_id=top_up_id,
            authorization_id=authorization_id, reverses_id=reverses_id, memo=memo or {},
        ).returning(Transaction.id)).scalar_one()
    db.execute(generic_insert(Posting), [
        {"transaction_id": transaction_id, "account_id": source.id, "amount_minor": -amount,
         "currency": currency, "created_at": now},
        {"transaction_id": transaction_id, "account_id": target.id, "amount_minor": amount,
         "currency": currency, "created_at": now},
    ])
    for ref in (source, target):
        if ref.kind == AccountKind.available:  # watched for low balances before commit
            db.info.setdefault(AVAILABLE_CHANGED, set()).add(ref.id)
    return transaction_id


# --- idempotency ---------------------------------------------------------------------------

def request_hash(request: dict[str, Any]) -> str:
    canonical = json.dumps(request, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Claim:
    """A fresh key (`key_id`, to settle with the result) or a replay (`result`)."""

    key_id: int | None
    result: dict[str, Any] | None


def check_key(key: Any) -> None:
    if not isinstance(key, str) or not key.strip() or len(key) > MAX_KEY_LENGTH:
        raise errors.MissingIdempotencyKey(
            f"An idempotency key of 1 to {MAX_KEY_LENGTH} characters is required",
            errors={"idempotency_key": "required"})


def claim(db: Session, *, scope: str, key: str, request: dict[str, Any]) -> Claim:
    """Reserve an idempotency key for this request. A concurrent twin waits for the first
    request's transaction: if it committed, the twin replays its result; if it rolled back,
    the twin goes ahead."""
    check_key(key)
    digest = request_hash(request)
    statement = _dialect_insert(db, IdempotencyKey).values(
        scope=scope, key=key, request_hash=digest, created_at=utcnow(),
    ).on_conflict_do_nothing(index_elements=["scope", "key"]).returning(IdempotencyKey.id)
    key_id = db.execute(statement).scalar()
    if key_id is not None:
        return Claim(key_id=key_id, result=None)
    stored_hash, result = db.execute(
        select(IdempotencyKey.request_hash, IdempotencyKey.result)
        .where(IdempotencyKey.scope == scope, IdempotencyKey.key == key)).one()
    if stored_hash != digest:
        raise errors.IdempotencyKeyReused(
            "This Idempotency-Key was already used for a different request",
            errors={"idempotency_key": "already used with a different request"})
    if result is None:
        raise errors.IdempotencyKeyInFlight("This request is still being processed")
    return Claim(key_id=None, result=result)


def settle(db: Session, claim: Claim, result: dict[str, Any]) -> None:
    keys = IdempotencyKey.__table__
    db.execute(update(keys).where(keys.c.id == claim.key_id).values(result=result))


def first_time_event(db: Session, *, event_id: str, event_type: str) -> bool:
    """Record a Stripe event id; False when it was already handled (Stripe retries)."""
    statement = _dialect_insert(db, StripeEvent).values(
        id=event_id, type=event_type, received_at=utcnow(),
    ).on_conflict_do_nothing(index_elements=["id"]).returning(StripeEvent.id)
    return db.execute(statement).scalar() is not None


# --- invariants ----------------------------------------------------------------------------

NON_NEGATIVE_KINDS = (AccountKind.available, AccountKind.budget, AccountKind.authorized,
                      AccountKind.supplier_compensation)


def check(db: Session) -> list[str]:
    """Every broken invariant of the ledger, described; empty when all hold."""
    problems: list[str] = []
    unbalanced = db.execute(
        select(Posting.transaction_id, Posting.currency, func.sum(Posting.amount_minor))
        .group_by(Posting.transaction_id, Posting.currency)
        .having(func.sum(Posting.amount_minor) != 0))
    problems += [f"transaction {tid}: postings in {cur} sum to {total}, not 0"
                 for tid, cur, total in unbalanced]
    empty = db.execute(
        select(Transaction.id).outerjoin(Posting, Posting.transaction_id == Transaction.id)
        .group_by(Transaction.id).having(func.count(Posting.id) < 2))
    problems += [f"transaction {tid}: fewer than two postings" for (tid,) in empty]
    foreign = db.execute(
        select(Posting.id, Posting.currency, Account.key)
        .join(Account, Account.id == Posting.account_id)
        .where(Posting.currency != Account.currency))
    problems += [f"posting {pid}: {cur} on account {key} of another currency"
                 for pid, cur, key in foreign]

    posted = (select(Posting.account_id.label("account_id"),
                     func.sum(Posting.amount_minor).label("total"))
              .group_by(Posting.account_id).subquery())
    cached = (select(Balance.account_id.label("account_id"),
                     func.sum(Balance.balance_minor).label("total"),
                     func.min(Balance.balance_minor).label("lowest"),
                     func.count().label("shards"))
              .group_by(Balance.account_id).subquery())
    rows = db.execute(
        select(Account.key, Account.kind, Account.shard_count,
               func.coalesce(posted.c.total, 0), func.coalesce(cached.c.total, 0),
               cached.c.lowest, func.coalesce(cached.c.shards, 0))
        .outerjoin(posted, posted.c.account_id == Account.id)
        .outerjoin(cached, cached.c.account_id == Account.id))
    for key, kind, shard_count, posted_total, cached_total, lowest, shards in rows:
        if posted_total != cached_total:
            problems.append(f"account {key}: cached balance {cached_total} but postings "
                            f"sum to {posted_total}")
        if shards != shard_count:
            problems.append(f"account {key}: {shards} balance rows, expected {shard_count}")
        if kind in NON_NEGATIVE_KINDS and cached_total < 0:
            problems.append(f"account {key}: negative balance {cached_total}")
        if kind in NON_NEGATIVE_KINDS and lowest is not None and lowest < 0:
            problems.append(f"account {key}: a negative shard ({lowest})")

    rest = Authorization.amount_minor - Authorization.captured_minor \
        - Authorization.released_minor
    promised = (select(Authorization.authorized_account_id.label("account_id"),
                       Authorization.shard.label("shard"), func.sum(rest).label("rest"))
                .group_by(Authorization.authorized_account_id, Authorization.shard).subquery())
    mismatched = db.execute(
        select(Account.key, Balance.shard, Balance.balance_minor,
               func.coalesce(promised.c.rest, 0))
        .join(Balance, Balance.account_id == Account.id)
        .outerjoin(promised, and_(promised.c.account_id == Account.id,
                                  promised.c.shard == Balance.shard))
        .where(Account.kind == AccountKind.authorized,
               Balance.balance_minor != func.coalesce(promised.c.rest, 0)))
    problems += [f"account {key} shard {shard}: holds {held} but its open authorisations "
                 f"promise {owed}" for key, shard, held, owed in mismatched]
    named = IdempotencyKey.result["transaction_id"].as_integer()
    dangling = db.execute(
        select(IdempotencyKey.scope, IdempotencyKey.key, named)
        .outerjoin(Transaction, Transaction.id == named)
        .where(named.is_not(None), Transaction.id.is_(None)))
    problems += [f"idempotency key {scope}/{k}: its result names missing transaction {tid}"
                 for scope, k, tid in dangling]
    broken = db.execute(select(Authorization.id).where(
        (Authorization.status == AuthorizationStatus.closed) & (rest != 0)))
    problems += [f"authorisation {aid}: closed with an unused rest" for (aid,) in broken]
    return problems

