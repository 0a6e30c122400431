"""FastAPI dependencies: the request's session, the caller, what the caller may see, role
requirements, and the objects a path names, loaded and authorised.

- `DbSession`: the request's session; it commits once when the route returns.
- `CurrentUser`: the logged-in, active user (a bearer token from /api/v1/auth/token), else 401.
- `CurrentScope`: what that user may see (`identity.service.Scope`): retailer staff see
  every organisation, a supplier's user only its own organisation and its own products.
  Pass it to the service's `select_*` functions, or `scope.supplier_id` to `retail`'s.
- `require_roles(*roles)`: a dependency that answers 403 unless the user has one of them.
  Declare it on the route: `dependencies=[Depends(require_roles(Role.admin))]`.
- `CurrentCaller` and `require_caller_roles(*roles)`: the same check for read-only routes
  that must answer in milliseconds (the live audience estimate): the user as this worker
  read them at most `AUTH_CACHE_SECONDS` ago (`identity.service.Caller`), without a session
  or a thread on a hit. A change through `update_user` applies at once in the worker that
  made it, in the others within `AUTH_CACHE_SECONDS`. Routes that change data use
  `CurrentUser`.
- `ScopedOrganisation`, `ScopedUser`, `ScopedApiKey`, `ScopedProduct`: the object named by
  `{organisation_id}`, `{user_id}`, `{api_key_id}` or `{sku}` in the path, or 404 when it
  is missing *or the caller may not see it*, so ids of other organisations never leak.
  Where a route also needs a role, list the loader first so that it decides before the
  role does: `dependencies=[Depends(get_user_or_404), Depends(require_roles(Role.admin))]`
  (FastAPI runs each dependency once per request, so the route's `user: ScopedUser`
  parameter gets the same object).
- `PathId`: a database id in the path, 1 … 2³¹−1 (the range of the id columns), else 422.
- `IdempotencyKey`: the `Idempotency-Key` header every money-moving route requires (422
  without it), scoped to the caller's organisation: `org<id>:<key>`.
- `ApiClient`: the live API key in the `X-Api-Key` header, else 401; `require_api_key(kind)`
  also answers 403 for a key of another kind; `require_app_key`/`AppClient` and
  `require_pos_key`/`PosClient` are the two kinds, as a router dependency and a parameter.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from typing import Annotated

from fastapi import Depends, Header, Path
from fastapi.concurrency import run_in_threadpool
from fastapi.security import APIKeyHeader, OAuth2PasswordBearer
from sqlalchemy.orm import Session

from billing import errors as billing_errors
from core import audit
from core.db import new_session
from core.errors import Unauthenticated
from marketplace_api.identity import errors as identity_errors
from marketplace_api.identity import service as identity
from marketplace_api.identity.models import ApiKey, ApiKeyKind, Organisation, Role, User
from marketplace_api.identity.service import RETAILER_ROLES, Caller, Scope
from retail import service as retail
from retail.models import Product

TOKEN_URL = "/api/v1/auth/token"
API_KEY_HEADER = "X-Api-Key"


def get_db() -> Iterator[Session]:
    """The request owns the transaction: commit once at the end, roll back on any error."""
    session = new_session()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


# scope="function": the commit happens before the response is sent, so a client never reads
# a 2xx for something not (yet) committed; with the default scope it would run after it.
DbSession = Annotated[Session, Depends(get_db, scope="function")]


# --- users ---------------------------------------------------------------------------------

_bearer = OAuth2PasswordBearer(tokenUrl=TOKEN_URL, auto_error=False)


def get_current_user(db: DbSession,
                     token: Annotated[str | None, Depends(_bearer)]) -> User:
    if not token:
        raise Unauthenticated("Not authenticated: log in first")
    user = identity.user_for_token(db=db, token=token)
    audit.bind_actor(db, user_id=user.id, organisation_id=user.organisation_id)
    return user


CurrentUser = Annotated[User, Depends(get_current_user)]


def get_scope(user: CurrentUser) -> Scope:
    return identity.scope_of(user)


CurrentScope = Annotated[Scope, Depends(get_scope)]


def require_roles(*roles: Role) -> Callable[[User], User]:
    """A dependency that lets through only users with one of `roles` (403 otherwise)."""
    allowed = frozenset(roles)
    names = ", ".join(sorted(allowed))

    def check_role(user: CurrentUser) -> User:
        if user.role not in allowed:
            raise identity_errors.RoleNotAllowed(f"This needs one of the roles: {names}")
        return user

    return check_role


require_retailer_staff = require_roles(*RETAILER_ROLES)


def _read_caller(token: str) -> Caller:
    with new_session() as db:
        return identity.caller_for_token(db=db, token=token)


async def get_caller(token: Annotated[str | None, Depends(_bearer)]) -> Caller:
    # async on purpose: a sync dependency costs a thread hop on every request.
    if not token:
        raise Unauthenticated("Not authenticated: log in first")
    caller = identity.cached_caller(token=token)
    if caller is None:
        caller = await run_in_threadpool(_read_caller, token)
    return caller


CurrentCaller = Annotated[Caller, Depends(get_caller)]


def require_caller_roles(*roles: Role) -> Callable[[Caller], Awaitable[Caller]]:
    """`require_roles` for routes that take the `CurrentCaller` (403 without the role)."""
    allowed = frozenset(roles)
    names = ", ".join(sorted(allowed))

    async def check_caller_role(caller: CurrentCaller) -> Caller:
        if caller.role not in allowed:
            raise identity_errors.RoleNotAllowed(f"This needs one of the roles: {names}")
        return caller

    return check_caller_role


# --- money-moving requests ----------------------------------------------------------------

def idempotency_key(
    user: CurrentUser,
    key: Annotated[str | None, Header(alias="Idempotency-Key",
                                      description="Unique per intended money movement")] = None,
) -> str:
    """The request's Idempotency-Key, scoped to the caller's organisation."""
    if not key or not key.strip():
        raise billing_errors.MissingIdempotencyKey(
            "This request moves money: send an Idempotency-Key header (e.g. a UUID) so that "
            "a retry cannot move it twice", errors={"Idempotency-Key": "required"})
    if len(key) > 200:
        raise billing_errors.MissingIdempotencyKey(
            "The Idempotency-Key header is longer than 200 characters",
            errors={"Idempotency-Key": "too long"})
    return f"org{user.organisation_id}:{key.strip()}"


IdempotencyKey = Annotated[str, Depends(idempotency_key)]


# --- objects named in the path, loaded and authorised ----------------------------------------

MAX_ID = 2**31 - 1
PathId = Annotated[int, Path(ge=1, le=MAX_ID)]


def get_organisation_or_404(db: DbSession, scope: CurrentScope,
                            organisation_id: PathId) -> Organisation:
    return identity.get_organisation(db=db, organisation_id=organisation_id, scope=scope)


def get_user_or_404(db: DbSession, scope: CurrentScope, user_id: PathId) -> User:
    return identity.get_user(db=db, user_id=user_id, scope=scope)


def get_api_key_or_404(db: DbSession, scope: CurrentScope, api_key_id: PathId) -> ApiKey:
    return identity.get_api_key(db=db, api_key_id=api_key_id, scope=scope)


def get_product_or_404(db: DbSession, scope: CurrentScope, sku: str) -> Product:
    return retail.get_product(db=db, sku=sku, supplier_id=scope.supplier_id)


ScopedOrganisation = Annotated[Organisation, Depends(get_organisation_or_404)]
ScopedUser = Annotated[User, Depends(get_user_or_404)]
ScopedApiKey = Annotated[ApiKey, Depends(get_api_key_or_404)]
ScopedProduct = Annotated[Product, Depends(get_product_or_404)]


# --- the retailer's app and checkout (API keys) -----------------------------------------------

_api_key_header = APIKeyHeader(name=API_KEY_HEADER, auto_error=False)


def get_api_client(db: DbSession,
                   secret: Annotated[str | None, Depends(_api_key_header)]) -> ApiKey:
    if not secret:
        raise identity_errors.InvalidApiKey(f"Missing {API_KEY_HEADER} header")
    return identity.verify_api_key(db=db, secret=secret)


ApiClient = Annotated[ApiKey, Depends(get_api_client)]


def require_api_key(kind: ApiKeyKind) -> Callable[[ApiKey], ApiKey]:
    """A dependency that lets through only live keys of this kind (403 for another kind)."""

    def check_kind(client: ApiClient) -> ApiKey:
        if client.kind != kind:
            raise identity_errors.WrongApiKeyKind(f"This needs an API key of kind {kind}")
        return client

    return check_kind


require_app_key = require_api_key(ApiKeyKind.app)
require_pos_key = require_api_key(ApiKeyKind.pos)
AppClient = Annotated[ApiKey, Depends(require_app_key)]
PosClient = Annotated[ApiKey, Depends(require_pos_key)]
