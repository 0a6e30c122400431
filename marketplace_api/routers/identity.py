"""HTTP routes of identity: login, the caller, organisations, users, API keys, and the
key check for the retailer's app and checkout.

Four routers, each closed at its own door: `public_router` (login only), `user_router`
(a logged-in user), `app_router` and `pos_router` (an API key of that kind). `router`
mounts them all.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response, status
from fastapi.security import OAuth2PasswordRequestForm

from marketplace_api.deps import (
    AppClient,
    CurrentScope,
    CurrentUser,
    DbSession,
    PosClient,
    ScopedApiKey,
    ScopedOrganisation,
    ScopedUser,
    get_api_key_or_404,
    get_current_user,
    get_organisation_or_404,
    get_user_or_404,
    require_app_key,
    require_pos_key,
    require_roles,
)
from marketplace_api.identity import service as identity
from marketplace_api.identity.models import ApiKey, Organisation, Role, User
from marketplace_api.identity.schemas import (
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyRead,
    MeRead,
    OrganisationCreate,
    OrganisationRead,
    Token,
    UserCreate,
    UserRead,
    UserUpdate,
)
from marketplace_api.listing import ListQuery, ListSpec, contains, equals, fetch_page, is_null

ORGANISATIONS = ListSpec(
    resource="organisations", key=(Organisation.id,),
    sortable={"id": Organisation.id, "name": Organisation.name, "kind": Organisation.kind,
              "supplier_id": Organisation.supplier_id, "created_at": Organisation.created_at},
    filters={"q": contains(Organisation.name), "id": equals(Organisation.id),
             "kind": equals(Organisation.kind), "supplier_id": equals(Organisation.supplier_id)},
)
USERS = ListSpec(
    resource="users", key=(User.id,),
    sortable={"id": User.id, "email": User.email, "full_name": User.full_name,
              "role": User.role, "is_active": User.is_active, "created_at": User.created_at},
    filters={"q": contains(User.email, User.full_name), "id": equals(User.id),
             "organisation_id": equals(User.organisation_id), "role": equals(User.role),
             "is_active": equals(User.is_active)},
)
API_KEYS = ListSpec(
    resource="api-keys", key=(ApiKey.id,),
    sortable={"id": ApiKey.id, "name": ApiKey.name, "kind": ApiKey.kind,
              "created_at": ApiKey.created_at, "revoked_at": ApiKey.revoked_at},
    filters={"q": contains(ApiKey.name, ApiKey.prefix), "id": equals(ApiKey.id),
             "kind": equals(ApiKey.kind), "active": is_null(ApiKey.revoked_at)},
)

MANAGERS = (Role.admin, Role.retail_marketer)

public_router = APIRouter(tags=["identity"])
user_router = APIRouter(tags=["identity"], dependencies=[Depends(get_current_user)])
app_router = APIRouter(prefix="/app", tags=["app"],
                       dependencies=[Depends(require_app_key)])
pos_router = APIRouter(prefix="/pos", tags=["pos"],
                       dependencies=[Depends(require_pos_key)])


# --- login ---------------------------------------------------------------------------------

@public_router.post("/auth/token", response_model=Token)
def login(db: DbSession, form: Annotated[OAuth2PasswordRequestForm, Depends()]) -> Token:
    """OAuth2 password flow: `username` is the email. The answer also says who logged in."""
    user = identity.authenticate(db=db, email=form.username, password=form.password)
    return Token(access_token=identity.issue_token(user=user),
                 expires_in=int(identity.token_lifetime().total_seconds()),
                 role=user.role,
                 organisation=OrganisationRead.model_validate(user.organisation))


@user_router.get("/me", response_model=MeRead)
def me(user: CurrentUser) -> User:
    return user


# --- organisations -------------------------------------------------------------------------

@user_router.get("/organisations", response_model=list[OrganisationRead])
def list_organisations(db: DbSession, scope: CurrentScope, params: ListQuery,
                       response: Response) -> list[Organisation]:
    """Retailer staff see every organisation; a supplier's user only its own."""
    return fetch_page(db=db, statement=identity.select_organisations(scope=scope),
                      params=params, spec=ORGANISATIONS, response=response)


@user_router.post("/organisations", response_model=OrganisationRead,
                  status_code=status.HTTP_201_CREATED,
                  dependencies=[Depends(require_roles(*MANAGERS))])
def create_organisation(db: DbSession, body: OrganisationCreate) -> Organisation:
    return identity.create_organisation(db=db, name=body.name, kind=body.kind,
                                        supplier_id=body.supplier_id)


@user_router.get("/organisations/{organisation_id}", response_model=OrganisationRead)
def get_organisation(organisation: ScopedOrganisation) -> Organisation:
    return organisation


@user_router.get("/organisations/{organisation_id}/users", response_model=list[UserRead])
def list_organisation_users(db: DbSession, scope: CurrentScope,
                            organisation: ScopedOrganisation, params: ListQuery,
                            response: Response) -> list[User]:
    statement = identity.select_users(scope=scope, organisation_id=organisation.id)
    return fetch_page(db=db, statement=statement, params=params, spec=USERS,
                      response=response)


@user_router.post("/organisations/{organisation_id}/users", response_model=UserRead,
                  status_code=status.HTTP_201_CREATED,
                  dependencies=[Depends(get_organisation_or_404),
                                Depends(require_roles(*MANAGERS))])
def create_user(db: DbSession, caller: CurrentUser, organisation: ScopedOrganisation,
                body: UserCreate) -> User:
    return identity.create_user(db=db, organisation=organisation, email=body.email,
                                password=body.password, role=body.role,
                                full_name=body.full_name, created_by=caller)


# --- users ---------------------------------------------------------------------------------

@user_router.get("/users", response_model=list[UserRead])
def list_users(db: DbSession, scope: CurrentScope, params: ListQuery,
               response: Response) -> list[User]:
    """Every user the caller may see (react-admin's `users` resource)."""
    return fetch_page(db=db, statement=identity.select_users(scope=scope), params=params,
                      spec=USERS, response=response)


@user_router.get("/users/{user_id}", response_model=UserRead)
def get_user(user: ScopedUser) -> User:
    return user


@user_router.patch("/users/{user_id}", response_model=UserRead,
                   dependencies=[Depends(get_user_or_404), Depends(require_roles(Role.admin))])
def update_user(db: DbSession, user: ScopedUser, body: UserUpdate) -> User:
    """Rename, change the role of, or (de)activate a user. Admins only."""
    return identity.update_user(db=db, user=user, full_name=body.full_name, role=body.role,
                                is_active=body.is_active)


# --- API keys ------------------------------------------------------------------------------

@user_router.get("/api-keys", response_model=list[ApiKeyRead],
                 dependencies=[Depends(require_roles(Role.admin))])
def list_api_keys(db: DbSession, scope: CurrentScope, params: ListQuery,
                  response: Response) -> list[ApiKey]:
    return fetch_page(db=db, statement=identity.select_api_keys(scope=scope), params=params,
                      spec=API_KEYS, response=response)


@user_router.post("/api-keys", response_model=ApiKeyCreated,
                  status_code=status.HTTP_201_CREATED,
                  dependencies=[Depends(require_roles(Role.admin))])
def create_api_key(db: DbSession, caller: CurrentUser, body: ApiKeyCreate) -> ApiKeyCreated:
    """A key for the retailer's app or checkout. The secret is in this answer only."""
    issued = identity.create_api_key(db=db, organisation=caller.organisation, kind=body.kind,
                                     name=body.name)
    return ApiKeyCreated(**ApiKeyRead.model_validate(issued.api_key).model_dump(),
                         secret=issued.secret)


@user_router.delete("/api-keys/{api_key_id}", response_model=ApiKeyRead,
                    dependencies=[Depends(get_api_key_or_404),
                                  Depends(require_roles(Role.admin))])
def revoke_api_key(db: DbSession, api_key: ScopedApiKey) -> ApiKey:
    """Revoke a key at once; the revoked key is returned (react-admin expects a record)."""
    return identity.revoke_api_key(db=db, api_key=api_key)


# --- the app and the checkout ----------------------------------------------------------------

@app_router.get("/whoami", response_model=ApiKeyRead)
def app_whoami(client: AppClient) -> ApiKey:
    """The app's key, as the server sees it: proves the key works."""
    return client


@pos_router.get("/whoami", response_model=ApiKeyRead)
def pos_whoami(client: PosClient) -> ApiKey:
    """The checkout's key, as the server sees it: proves the key works."""
    return client


router = APIRouter()
for _router in (public_router, user_router, app_router, pos_router):
    router.include_router(_router)
