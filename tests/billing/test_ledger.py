"""The ledger's movements, idempotency, reversals and invariants, on SQLite and PostgreSQL
(the PostgreSQL capture is one statement, SQLite's is the same rules step by step)."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, update
from typer.testing import CliRunner

from billing import errors
from billing import service as billing
from billing.models import Account, Balance, Posting, Transaction, TransactionKind
from core.db import session_scope

ORG = 11
OTHER_ORG = 12


def key() -> str:
    return uuid.uuid4().hex


def funded(amount: int = 100_000, organisation_id: int = ORG) -> None:
    with session_scope() as db:
        billing.top_up(db=db, organisation_id=organisation_id, amount_minor=amount,
                       currency="RUB", source="bank", idempotency_key=key())


def balances(campaign: str = "c1", organisation_id: int = ORG) -> dict[str, int]:
    with session_scope() as db:
        out = billing.campaign_balances(db=db, organisation_id=organisation_id,
                                        campaign_id=campaign, currency="RUB")
        out["available"] = billing.organisation_balance(db=db, organisation_id=organisation_id,
                                                        currency="RUB")
        return out


def assert_sound() -> None:
    with session_scope() as db:
        assert billing.check_ledger(db=db) == []


def test_money_follows_an_offer_from_top_up_to_checkout(any_db):
    funded(100_000)
    with session_scope() as db:
        billing.hold_campaign_budget(db=db, organisation_id=ORG, campaign_id="c1",
                                     amount_minor=60_000, currency="RUB", idempotency_key=key())
        offer = billing.authorize(db=db, organisation_id=ORG, campaign_id="c1",
                                  amount_minor=5_000, currency="RUB", idempotency_key=key())
    assert balances() == {"available": 40_000, "budget": 55_000, "authorized": 5_000}
    with session_scope() as db:
        billing.capture(db=db, authorization_id=offer.authorization_id, amount_minor=3_000,
                        idempotency_key=key())
        released = billing.release_authorization(db=db, authorization_id=offer.authorization_id,
                                                 idempotency_key=key())
    assert released.amount_minor == 2_000
    assert balances() == {"available": 40_000, "budget": 57_000, "authorized": 0}
    with session_scope() as db:
        ended = billing.release_campaign_budget(db=db, organisation_id=ORG, campaign_id="c1",
                                                currency="RUB", idempotency_key=key())
    assert ended.amount_minor == 57_000
    assert balances() == {"available": 97_000, "budget": 0, "authorized": 0}
    with session_scope() as db:
        kinds = [t.kind for t in db.scalars(select(Transaction).order_by(Transaction.id))]
        compensation = db.scalar(
            select(Posting.amount_minor).join(Transaction)
            .where(Transaction.kind == TransactionKind.capture, Posting.amount_minor > 0))
    assert kinds == ["top_up", "hold", "authorize", "capture", "release_authorization",
                     "release_budget"]
    assert compensation == 3_000
    assert_sound()


def test_a_short_organisation_cannot_launch_and_nothing_moves(any_db):
    funded(10_000)
    with session_scope() as db, pytest.raises(errors.InsufficientFunds) as caught:
        billing.hold_campaign_budget(db=db, organisation_id=ORG, campaign_id="c1",
                                     amount_minor=10_001, currency="RUB", idempotency_key=key())
    assert caught.value.code == "insufficient_funds"
    assert balances()["available"] == 10_000
    assert_sound()


def test_activation_fails_cleanly_when_the_budget_is_short(any_db):
    funded(1_000)
    with session_scope() as db:
        billing.hold_campaign_budget(db=db, organisation_id=ORG, campaign_id="c1",
                                     amount_minor=1_000, currency="RUB", idempotency_key=key())
    for _ in range(3):
        with session_scope() as db:
            billing.authorize(db=db, organisation_id=ORG, campaign_id="c1", amount_minor=300,
                              currency="RUB", idempotency_key=key())
    with session_scope() as db, pytest.raises(errors.InsufficientFunds):
        billing.authorize(db=db, organisation_id=ORG, campaign_id="c1", amount_minor=300,
                          currency="RUB", idempotency_key=key())
    assert balances() == {"available": 0, "budget": 100, "authorized": 900}
    assert_sound()


def test_a_launch_spreads_the_budget_over_every_shard(any_db):
    """Concurrent activations find money in every shard, not only in the one a launch
    happened to credit; the budget is used to the last kopeck and not one more."""
    funded(10_007)
    with session_scope() as db:
        billing.hold_campaign_budget(db=db, organisation_id=ORG, campaign_id="c1",
                                     amount_minor=10_007, currency="RUB",
                                     idempotency_key=key())
        shards = sorted(db.scalars(select(Balance.balance_minor).join(
            Account, Account.id == Balance.account_id).where(Account.kind == "budget")))
    assert shards == [625] * 15 + [632]
    for _ in range(16):
        with session_scope() as db:
            billing.authorize(db=db, organisation_id=ORG, campaign_id="c1", amount_minor=625,
                              currency="RUB", idempotency_key=key())
    with session_scope() as db, pytest.raises(errors.InsufficientFunds):
        billing.authorize(db=db, organisation_id=ORG, campaign_id="c1", amount_minor=8,
                          currency="RUB", idempotency_key=key())
    assert balances() == {"available": 0, "budget": 7, "authorized": 10_000}
    assert_sound()


def test_a_budget_spread_over_shards_still_pays_one_large_activation(any_db):
    """No single shard holds 9,000 after many small holds (each spread over the shards),
    yet the total does: the debit rebalances the shards and succeeds; 1 kopeck more fails."""
    funded(10_000)
    for _ in range(40):
        with session_scope() as db:
            billing.hold_campaign_budget(db=db, organisation_id=ORG, campaign_id="c1",
                                         amount_minor=250, currency="RUB",
                                         idempotency_key=key())
    with session_scope() as db:
        biggest = db.scalar(select(Balance.balance_minor).order_by(
            Balance.balance_minor.desc()).limit(1))
    assert biggest < 9_000
    with session_scope() as db, pytest.raises(errors.InsufficientFunds):
        billing.authorize(db=db, organisation_id=ORG, campaign_id="c1", amount_minor=10_001,
                          currency="RUB", idempotency_key=key())
    with session_scope() as db:
        billing.authorize(db=db, organisation_id=ORG, campaign_id="c1", amount_minor=9_000,
                          currency="RUB", idempotency_key=key())
    assert balances() == {"available": 0, "budget": 1_000, "authorized": 9_000}
    assert_sound()


def test_capture_is_bounded_by_the_authorisation_and_idempotent(any_db):
    funded(10_000)
    with session_scope() as db:
        billing.hold_campaign_budget(db=db, organisation_id=ORG, campaign_id=7,
                                     amount_minor=10_000, currency="RUB", idempotency_key=key())
        offer = billing.authorize(db=db, organisation_id=ORG, campaign_id=7, amount_minor=1_000,
                                  currency="RUB", idempotency_key=key())
    auth = offer.authorization_id
    with session_scope() as db, pytest.raises(errors.AuthorizationExceeded):
        billing.capture(db=db, authorization_id=auth, amount_minor=1_001, idempotency_key="x")
    with session_scope() as db:
        first = billing.capture(db=db, authorization_id=auth, amount_minor=600,
                                idempotency_key="cap-1")
    with session_scope() as db:
        again = billing.capture(db=db, authorization_id=auth, amount_minor=600,
                                idempotency_key="cap-1")
    assert again.replayed and again.transaction_id == first.transaction_id
    with session_scope() as db, pytest.raises(errors.IdempotencyKeyReused) as caught:
        billing.capture(db=db, authorization_id=auth, amount_minor=500, idempotency_key="cap-1")
    assert caught.value.code == "idempotency_key_reused"
    with session_scope() as db, pytest.raises(errors.AuthorizationExceeded):
        billing.capture(db=db, authorization_id=auth, amount_minor=401, idempotency_key=key())
    with session_scope() as db:
        billing.capture(db=db, authorization_id=auth, amount_minor=400, idempotency_key=key())
    with session_scope() as db, pytest.raises(errors.AuthorizationNotOpen):
        billing.capture(db=db, authorization_id=auth, amount_minor=1, idempotency_key=key())
    with session_scope() as db, pytest.raises(errors.AuthorizationNotFound):
        billing.capture(db=db, authorization_id=auth + 1000, amount_minor=1,
                        idempotency_key=key())
    with session_scope() as db:
        assert billing.get_authorization(db=db, authorization_id=auth).captured_minor == 1_000
    assert balances("7") == {"available": 0, "budget": 9_000, "authorized": 0}
    assert_sound()


def test_same_key_same_request_replays_and_another_request_is_refused(any_db):
    with session_scope() as db:
        first = billing.top_up(db=db, organisation_id=ORG, amount_minor=5_000, currency="RUB",
                               source="bank", idempotency_key="k1")
    with session_scope() as db:
        second = billing.top_up(db=db, organisation_id=ORG, amount_minor=5_000, currency="RUB",
                                source="bank", idempotency_key="k1")
    assert second.replayed and second.transaction_id == first.transaction_id
    with session_scope() as db, pytest.raises(errors.IdempotencyKeyReused):
        billing.top_up(db=db, organisation_id=ORG, amount_minor=5_001, currency="RUB",
                       source="bank", idempotency_key="k1")
    assert balances()["available"] == 5_000
    assert_sound()


@pytest.mark.parametrize("amount, currency", [(0, "RUB"), (-5, "RUB"), (100, "XXX"),
                                              (1.5, "RUB"), (True, "RUB")])
def test_bad_amounts_move_nothing(any_db, amount, currency):
    with session_scope() as db, pytest.raises(errors.InvalidAmount):
        billing.top_up(db=db, organisation_id=ORG, amount_minor=amount, currency=currency,
                       source="bank", idempotency_key=key())
    with session_scope() as db:
        assert db.scalar(select(Transaction.id)) is None


def test_reversals_correct_without_editing(any_db):
    funded(10_000)
    with session_scope() as db:
        first = db.scalar(select(Transaction.id))
        billing.hold_campaign_budget(db=db, organisation_id=ORG, campaign_id="c1",
                                     amount_minor=4_000, currency="RUB", idempotency_key=key())
        offer = billing.authorize(db=db, organisation_id=ORG, campaign_id="c1",
                                  amount_minor=1_000, currency="RUB", idempotency_key=key())
        paid = billing.capture(db=db, authorization_id=offer.authorization_id,
                               amount_minor=1_000, idempotency_key=key())
    # A refunded purchase: the discount goes back to the shopper's (reopened) authorisation.
    with session_scope() as db:
        billing.reverse(db=db, transaction_id=paid.transaction_id, idempotency_key=key(),
                        reason="goods returned")
        assert billing.get_authorization(
            db=db, authorization_id=offer.authorization_id).status == "open"
    assert balances() == {"available": 6_000, "budget": 3_000, "authorized": 1_000}
    with session_scope() as db, pytest.raises(errors.NotReversible):
        billing.reverse(db=db, transaction_id=paid.transaction_id - 1, idempotency_key=key())
    # A refund of the top-up: only what is still available can go back.
    with session_scope() as db, pytest.raises(errors.InsufficientFunds):
        billing.reverse(db=db, transaction_id=first, idempotency_key=key())
    with session_scope() as db:
        billing.reverse(db=db, transaction_id=first, amount_minor=6_000, idempotency_key=key())
    with session_scope() as db, pytest.raises(errors.InvalidAmount):
        billing.reverse(db=db, transaction_id=first, amount_minor=4_001, idempotency_key=key())
    assert balances()["available"] == 0
    with session_scope() as db:
        assert db.scalar(select(Posting.amount_minor).order_by(Posting.id)) == -10_000
    assert_sound()


def test_check_reports_every_broken_invariant_and_the_cli_says_so(any_db):
    from marketplace_api.cli import app

    funded(10_000)
    runner = CliRunner()
    result = runner.invoke(app, ["ledger", "check"])
    assert result.exit_code == 0 and result.output.strip() == "ok"
    with session_scope() as db:
        db.execute(update(Balance).where(Balance.balance_minor == 10_000)
                   .values(balance_minor=9_000))
        db.execute(update(Posting).where(Posting.amount_minor == -10_000)
                   .values(amount_minor=-10_001))
    result = runner.invoke(app, ["ledger", "check"])
    assert result.exit_code == 1
    assert "sum to -1, not 0" in result.output
    assert "cached balance 9000 but postings sum to 10000" in result.output


# --- random sequences ---------------------------------------------------------------------

operation = st.one_of(
    st.tuples(st.just("top_up"), st.integers(1, 50_000)),
    st.tuples(st.just("hold"), st.integers(1, 40_000)),
    st.tuples(st.just("authorize"), st.integers(1, 8_000)),
    st.tuples(st.just("capture"), st.integers(0, 30), st.integers(1, 8_000)),
    st.tuples(st.just("release"), st.integers(0, 30)),
    st.tuples(st.just("end"),),
    st.tuples(st.just("reverse"), st.integers(0, 60)),
    st.tuples(st.just("retry"),),
)


def _apply_sequence(ops) -> None:
    """Apply operations, each in its own transaction, a "retry" repeating the previous one
    with its key; business refusals are expected, any other error is a bug. Afterwards
    every invariant must hold."""
    campaign = key()[:8]
    authorizations: list[int] = []
    transactions: list[int] = []
    last: tuple | None = None
    for position, op in enumerate(ops):
        if op[0] == "retry":
            if last is None:
                continue
            call = last
        else:
            name, args = op[0], list(op[1:])
            if name in ("capture", "release"):
                if not authorizations:
                    continue
                args[0] = authorizations[args[0] % len(authorizations)]
            if name == "reverse":
                if not transactions:
                    continue
                args[0] = transactions[args[0] % len(transactions)]
            call = (name, *args, f"{campaign}-{position}")
        last = call
        name, *args, k = call
        try:
            with session_scope() as db:
                if name == "top_up":
                    done = billing.top_up(db=db, organisation_id=ORG, amount_minor=args[0],
                                          currency="RUB", source="bank", idempotency_key=k)
                elif name == "hold":
                    done = billing.hold_campaign_budget(
                        db=db, organisation_id=ORG, campaign_id=campaign, amount_minor=args[0],
                        currency="RUB", idempotency_key=k)
                elif name == "authorize":
                    done = billing.authorize(db=db, organisation_id=ORG, campaign_id=campaign,
                                             amount_minor=args[0], currency="RUB",
                                             idempotency_key=k)
                    authorizations.append(done.authorization_id)
                elif name == "capture":
                    done = billing.capture(db=db, authorization_id=args[0],
                                           amount_minor=args[1], idempotency_key=k)
                elif name == "release":
                    done = billing.release_authorization(db=db, authorization_id=args[0],
                                                         idempotency_key=k)
                elif name == "end":
                    done = billing.release_campaign_budget(
                        db=db, organisation_id=ORG, campaign_id=campaign, currency="RUB",
                        idempotency_key=k)
                else:
                    done = billing.reverse(db=db, transaction_id=args[0], idempotency_key=k)
                if done.transaction_id and not done.replayed:
                    transactions.append(done.transaction_id)
        except (errors.InsufficientFunds, errors.AuthorizationExceeded,
                errors.AuthorizationNotOpen, errors.NotReversible, errors.InvalidAmount):
            pass
    assert_sound()
    with session_scope() as db:
        assert billing.organisation_balance(db=db, organisation_id=ORG, currency="RUB") >= 0


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=st.lists(operation, max_size=25))
def test_random_sequences_keep_the_invariants_on_sqlite(sqlite_db, ops):
    _apply_sequence(ops)


@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=st.lists(operation, max_size=25))
def test_random_sequences_keep_the_invariants_on_postgresql(pg_db, ops):
    _apply_sequence(ops)
