"""HTTP routes of billing: top-ups (card through Stripe, bank transfer), accounts with their
balances, the ledger's postings and CSV statements.

Retailer staff see every organisation's accounts; a supplier's user only its own, and gets
404 for anyone else's. Every money-moving route needs an `Idempotency-Key` header: the same
key and body answer the first response again, the same key with another body a 422.
The Stripe webhook is public and lives in `public_webhooks.py`.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Response, status
from sqlalchemy import ColumnElement

from billing import service as billing
from billing.models import Account, AccountKind, Posting, TopUp, Transaction
from billing.schemas import (
    AccountRead,
    AccountUpdate,
    BankTopUpCreate,
    CardTopUpCreate,
    CardTopUpCreated,
    PaymentConfigRead,
    PostingRead,
    TopUpRead,
)
from core.errors import Invalid, NotFound
from core.settings import get_settings
from marketplace_api.deps import (
    CurrentScope,
    CurrentUser,
    DbSession,
    IdempotencyKey,
    PathId,
    get_current_user,
    require_roles,
)
from marketplace_api.identity.models import Role
from marketplace_api.identity.service import Scope
from marketplace_api.listing import ListQuery, ListSpec, equals, fetch_page

router = APIRouter(tags=["billing"], dependencies=[Depends(get_current_user)])


def _since(column: ColumnElement, *, inclusive_end: bool = False):
    """A date-range filter: an ISO date (the retailer's local day) or a full timestamp."""

    def build(name: str, value: Any) -> ColumnElement[bool]:
        if not isinstance(value, str):
            raise Invalid(f"filter.{name}: expected an ISO date or timestamp",
                          code="invalid_list_params", errors={f"filter.{name}": "not a date"})
        try:
            if len(value) == 10:
                day = date.fromisoformat(value)
                zone = ZoneInfo(get_settings().retail_timezone)
                moment = datetime.combine(day, time.min, tzinfo=zone)
                return column < moment + timedelta(days=1) if inclusive_end \
                    else column >= moment
            moment = datetime.fromisoformat(value)
        except ValueError as exc:
            raise Invalid(f"filter.{name}: expected an ISO date or timestamp",
                          code="invalid_list_params",
                          errors={f"filter.{name}": "not a date"}) from exc
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=ZoneInfo("UTC"))
        return column <= moment if inclusive_end else column >= moment

    return build

ACCOUNTS = ListSpec(
    resource="accounts", key=(Account.id,),
    sortable={"id": Account.id, "kind": Account.kind, "organisation_id": Account.organisation_id,
              "campaign_id": Account.campaign_id, "created_at": Account.created_at},
    filters={"id": equals(Account.id), "kind": equals(Account.kind),
             "organisation_id": equals(Account.organisation_id),
             "campaign_id": equals(Account.campaign_id), "currency": equals(Account.currency)},
)
LEDGER = ListSpec(
    resource="ledger", key=(Posting.id,),
    sortable={"id": Posting.id, "created_at": Posting.created_at,
              "amount_minor": Posting.amount_minor, "account_id": Posting.account_id,
              "kind": Transaction.kind},
    filters={"id": equals(Posting.id), "account_id": equals(Posting.account_id),
             "transaction_id": equals(Posting.transaction_id),
             "organisation_id": equals(Account.organisation_id),
             "campaign_id": equals(Account.campaign_id), "kind": equals(Transaction.kind),
             "account_kind": equals(Account.kind), "currency": equals(Posting.currency),
             "created_at_gte": _since(Posting.created_at),
             "created_at_lte": _since(Posting.created_at, inclusive_end=True)},
)
TOP_UPS = ListSpec(
    resource="topups", key=(TopUp.id,),
    sortable={"id": TopUp.id, "created_at": TopUp.created_at, "status": TopUp.status,
              "amount_minor": TopUp.amount_minor, "organisation_id": TopUp.organisation_id},
    filters={"id": equals(TopUp.id), "organisation_id": equals(TopUp.organisation_id),
             "status": equals(TopUp.status), "method": equals(TopUp.method)},
)


def get_account_or_404(db: DbSession, scope: CurrentScope, account_id: PathId) -> Any:
    return billing.get_account(db=db, account_id=account_id,
                               organisation_id=scope.organisation_id)


ScopedAccount = Annotated[Any, Depends(get_account_or_404)]


def _organisation_in_scope(scope: Scope, organisation_id: int | None) -> int:
    """The organisation a request is about: a supplier's own (another's is a 404)."""
    if scope.sees_everything:
        if organisation_id is None:
            raise Invalid("Name the organisation", errors={"organisation_id": "required"})
        return organisation_id
    if organisation_id is not None and organisation_id != scope.organisation_id:
        raise NotFound(f"No organisation {organisation_id}")
    return scope.organisation_id


# --- top-ups -------------------------------------------------------------------------------

@router.get("/billing/config", response_model=PaymentConfigRead)
def payment_config() -> PaymentConfigRead:
    """Whether cards can top up a balance here, and the publishable key and Stripe.js address
    the cabinet's card form loads (read at run time, not baked into the build)."""
    settings = get_settings()
    card = bool(settings.stripe_secret_key and settings.stripe_publishable_key)
    if not card:
        return PaymentConfigRead(card_top_ups=False, stripe_publishable_key=None,
                                 stripe_js_url=None)
    return PaymentConfigRead(card_top_ups=True,
                             stripe_publishable_key=settings.stripe_publishable_key,
                             stripe_js_url=settings.stripe_js_url)


@router.post("/topups", response_model=CardTopUpCreated, status_code=status.HTTP_201_CREATED,
             dependencies=[Depends(require_roles(Role.supplier_manager, Role.finance_officer))])
def create_card_top_up(db: DbSession, user: CurrentUser, scope: CurrentScope,
                       body: CardTopUpCreate, key: IdempotencyKey) -> CardTopUpCreated:
    """Start a card top-up: a Stripe PaymentIntent whose client secret the web cabinet
    confirms with Stripe.js. The balance grows when Stripe's webhook says it succeeded."""
    organisation_id = _organisation_in_scope(scope, body.organisation_id)
    started = billing.start_card_top_up(
        db=db, organisation_id=organisation_id, amount_minor=body.amount_minor,
        currency=body.currency, idempotency_key=key, actor_user_id=user.id)
    return CardTopUpCreated(**TopUpRead.model_validate(started.top_up).model_dump(),
                            client_secret=started.client_secret)


@router.post("/topups/bank", response_model=TopUpRead, status_code=status.HTTP_201_CREATED,
             dependencies=[Depends(require_roles(Role.finance_officer))])
def record_bank_top_up(db: DbSession, user: CurrentUser, scope: CurrentScope,
                       body: BankTopUpCreate, key: IdempotencyKey) -> TopUp:
    """A bank transfer received for an organisation, entered from the payment document."""
    organisation_id = _organisation_in_scope(scope, body.organisation_id)
    return billing.record_bank_top_up(
        db=db, organisation_id=organisation_id, amount_minor=body.amount_minor,
        currency=body.currency, document_number=body.document_number,
        document_date=body.document_date, idempotency_key=key, actor_user_id=user.id)


@router.get("/topups", response_model=list[TopUpRead])
def list_top_ups(db: DbSession, scope: CurrentScope, params: ListQuery,
                 response: Response) -> list[TopUp]:
    return fetch_page(db=db, statement=billing.select_top_ups(
        organisation_id=scope.organisation_id), params=params, spec=TOP_UPS, response=response)


# --- accounts, ledger, statements ----------------------------------------------------------

@router.get("/accounts", response_model=list[AccountRead])
def list_accounts(db: DbSession, scope: CurrentScope, params: ListQuery,
                  response: Response) -> list[Any]:
    """Retailer staff: every account with its balance; a supplier: its own."""
    return fetch_page(db=db, statement=billing.select_accounts(
        organisation_id=scope.organisation_id), params=params, spec=ACCOUNTS,
        response=response)


@router.get("/accounts/{account_id}", response_model=AccountRead)
def get_account(account: ScopedAccount) -> Any:
    return account


@router.patch("/accounts/{account_id}", response_model=AccountRead,
              dependencies=[Depends(get_account_or_404),
                            Depends(require_roles(Role.finance_officer, Role.admin,
                                                  Role.supplier_manager))])
def update_account(db: DbSession, account: ScopedAccount, body: AccountUpdate) -> Any:
    """Set the organisation's low-balance threshold (on its `available` account)."""
    if account["kind"] != AccountKind.available:
        raise Invalid("Only an organisation's available account has a low-balance threshold",
                      errors={"low_balance_threshold_minor": "not for this account"})
    return billing.set_low_balance_threshold(
        db=db, organisation_id=account["organisation_id"], currency=account["currency"],
        threshold_minor=body.low_balance_threshold_minor)


@router.get("/accounts/{account_id}/statement.csv", response_class=Response,
            responses={200: {"content": {"text/csv": {}}}})
def account_statement(db: DbSession, scope: CurrentScope, account: ScopedAccount,
                      date_from: Annotated[date, Query(alias="from")],
                      date_to: Annotated[date, Query(alias="to")]) -> Response:
    """The account's statement for the days from..to (inclusive): opening balance, every
    movement, closing balance; amounts in roubles as decimal text."""
    found = billing.statement(db=db, account_id=account["id"],
                              organisation_id=scope.organisation_id,
                              date_from=date_from, date_to=date_to)
    filename = f"statement-{account['id']}-{date_from}-{date_to}.csv"
    return Response(billing.statement_csv(found), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@router.get("/ledger", response_model=list[PostingRead])
def list_postings(db: DbSession, scope: CurrentScope, params: ListQuery,
                  response: Response) -> list[Any]:
    """The ledger's postings; filter by account, organisation, kind and dates
    (`created_at_gte`, `created_at_lte`)."""
    if not scope.sees_everything:
        asked = params.filter.get("organisation_id")
        if asked is not None and asked != scope.organisation_id:
            raise NotFound(f"No organisation {asked}")
        account_id = params.filter.get("account_id")
        if isinstance(account_id, int):
            billing.get_account(db=db, account_id=account_id,
                                organisation_id=scope.organisation_id)
    return fetch_page(db=db, statement=billing.select_postings(
        organisation_id=scope.organisation_id), params=params, spec=LEDGER, response=response)
