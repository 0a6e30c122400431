"""Identity's rules: organisations, users and their roles, logins and tokens, API keys,
and which organisations' rows a caller may see. Functions flush; the caller commits."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import NamedTuple

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Select, event, func, select
from sqlalchemy.orm import Session, joinedload

from core.db import utcnow
from core.settings import get_settings
from marketplace_api.identity import errors
from marketplace_api.identity.models import (
    ApiKey,
    ApiKeyKind,
    Organisation,
    OrganisationKind,
    Role,
    User,
)
from retail.models import Supplier

MIN_PASSWORD_LENGTH = 10
RETAILER_ROLES = frozenset({Role.retail_marketer, Role.finance_officer, Role.admin})
SUPPLIER_ROLES = frozenset({Role.supplier_manager})
ROLES_BY_KIND = {OrganisationKind.retailer: RETAILER_ROLES,
                 OrganisationKind.supplier: SUPPLIER_ROLES}
API_KEY_SCHEME = "vk"

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
_hasher = PasswordHasher()


# --- who sees what -------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Scope:
    """The rows a caller may see.

    Retailer staff see every organisation: both fields are None. A supplier's user sees
    only its own organisation (`organisation_id`) and its own products (`supplier_id`).
    Build it with `scope_of`, never by hand, so that None only ever means "retailer staff".
    """

    organisation_id: int | None
    supplier_id: str | None

    @property
    def sees_everything(self) -> bool:
        return self.organisation_id is None

    def sees(self, organisation_id: int) -> bool:
        return self.sees_everything or organisation_id == self.organisation_id


def scope_of(user: User) -> Scope:
    """Closed by default: only the two known shapes of account see anything at all."""
    organisation = user.organisation
    if organisation.kind == OrganisationKind.retailer and user.role in RETAILER_ROLES:
        return Scope(organisation_id=None, supplier_id=None)
    if (organisation.kind == OrganisationKind.supplier and user.role in SUPPLIER_ROLES
            and organisation.supplier_id):
        return Scope(organisation_id=organisation.id, supplier_id=organisation.supplier_id)
    raise errors.NoAccess("This account has no access to any data")


# --- organisations -------------------------------------------------------------------------

def create_organisation(*, db: Session, name: str, kind: OrganisationKind,
                        supplier_id: str | None = None) -> Organisation:
    """A supplier organisation is one of the retailer's suppliers; there is one retailer."""
    name = name.strip()
    if not name:
        raise errors.InvalidOrganisation("An organisation needs a name",
                                         errors={"name": "required"})
    if db.scalar(select(Organisation.id).where(func.lower(Organisation.name) == name.lower())):
        raise errors.OrganisationExists(f"An organisation named {name!r} already exists",
                                        errors={"name": "already taken"})
    if kind == OrganisationKind.supplier:
        if not supplier_id:
            raise errors.InvalidOrganisation(
                "A supplier organisation must name the retailer's supplier it is",
                errors={"supplier_id": "required for a supplier"})
        if db.get(Supplier, supplier_id) is None:
            raise errors.InvalidOrganisation(f"No supplier {supplier_id!r} in the catalogue",
                                             errors={"supplier_id": "unknown supplier"})
        if db.scalar(select(Organisation.id).where(Organisation.supplier_id == supplier_id)):
            raise errors.OrganisationExists(
                f"Supplier {supplier_id!r} already has an organisation",
                errors={"supplier_id": "already has an organisation"})
    else:
        if supplier_id:
            raise errors.InvalidOrganisation(
                "The retailer's organisation is not a supplier",
                errors={"supplier_id": "only for supplier organisations"})
        if db.scalar(select(Organisation.id).where(Organisation.kind == kind)):
            raise errors.OrganisationExists("The retailer's organisation already exists",
                                            errors={"kind": "there is one retailer"})
    organisation = Organisation(name=name, kind=kind, supplier_id=supplier_id)
    db.add(organisation)
    db.flush()
    return organisation


def get_organisation(*, db: Session, organisation_id: int, scope: Scope) -> Organisation:
    """Another organisation's row is "not found", exactly like a missing one."""
    organisation = db.get(Organisation, organisation_id)
    if organisation is None or not scope.sees(organisation.id):
        raise errors.OrganisationNotFound(f"No organisation {organisation_id}")
    return organisation


def find_organisation(*, db: Session, ref: str) -> Organisation:
    """An organisation by id or by exact name (for the command line)."""
    ref = ref.strip()
    if ref.isdigit():
        organisation = db.get(Organisation, int(ref))
    else:
        organisation = db.scalar(select(Organisation).where(Organisation.name == ref))
    if organisation is None:
        raise errors.OrganisationNotFound(f"No organisation {ref!r}")
    return organisation


def retailer_organisation(*, db: Session) -> Organisation:
    organisation = db.scalar(
        select(Organisation).where(Organisation.kind == OrganisationKind.retailer))
    if organisation is None:
        raise errors.OrganisationNotFound("The retailer's organisation does not exist yet")
    return organisation


def select_organisations(*, scope: Scope) -> Select[tuple[Organisation]]:
    statement = select(Organisation)
    if not scope.sees_everything:
        statement = statement.where(Organisation.id == scope.organisation_id)
    return statement


# --- users ---------------------------------------------------------------------------------

def _check_role_fits(role: Role, organisation: Organisation) -> None:
    if role not in ROLES_BY_KIND[organisation.kind]:
        allowed = ", ".join(sorted(ROLES_BY_KIND[organisation.kind]))
        raise errors.InvalidUser(
            f"Role {role} does not exist in a {organisation.kind} organisation "
            f"(allowed: {allowed})", errors={"role": f"allowed here: {allowed}"})


def normalise_email(email: str) -> str:
    return email.strip().lower()


def create_user(*, db: Session, organisation: Organisation, email: str, password: str,
                role: Role, full_name: str = "", created_by: User | None = None) -> User:
    """A new active user. Only an admin may make another admin; `created_by` is None for
    the command line, which is trusted."""
    if created_by is not None and role == Role.admin and created_by.role != Role.admin:
        raise errors.RoleNotAllowed("Only an admin can create another admin")
    email = normalise_email(email)
    if not _EMAIL.match(email) or len(email) > 254:
        raise errors.InvalidUser(f"Not an email address: {email!r}",
                                 errors={"email": "not an email address"})
    if len(password) < MIN_PASSWORD_LENGTH:
        raise errors.InvalidUser(
            f"The password must have at least {MIN_PASSWORD_LENGTH} characters",
            errors={"password": f"at least {MIN_PASSWORD_LENGTH} characters"})
    _check_role_fits(role, organisation)
    if db.scalar(select(User.id).where(User.email == email)):
        raise errors.EmailTaken(f"A user with email {email} already exists",
                                errors={"email": "already registered"})
    user = User(organisation=organisation, email=email, full_name=full_name.strip(),
                role=role, password_hash=_hasher.hash(password), is_active=True)
    db.add(user)
    db.flush()
    return user


def update_user(*, db: Session, user: User, full_name: str | None = None,
                role: Role | None = None, is_active: bool | None = None) -> User:
    """Change a user's name or role, or (de)activate them; None leaves a field as it is."""
    if role is not None:
        _check_role_fits(role, user.organisation)
    loses_admin = user.role == Role.admin and user.is_active and (
        (role is not None and role != Role.admin) or is_active is False)
    if loses_admin:
        other_admins = db.scalar(select(func.count()).select_from(User).where(
            User.role == Role.admin, User.is_active.is_(True), User.id != user.id))
        if not other_admins:
            raise errors.LastAdmin("The last active admin cannot be deactivated or demoted")
    if full_name is not None:
        user.full_name = full_name.strip()
    if role is not None:
        user.role = role
    if is_active is not None:
        user.is_active = is_active
    db.flush()
    _forget_caller_after_commit(db, user.id)
    return user


def get_user(*, db: Session, user_id: int, scope: Scope) -> User:
    user = db.get(User, user_id)
    if user is None or not scope.sees(user.organisation_id):
        raise errors.UserNotFound(f"No user {user_id}")
    return user


def select_users(*, scope: Scope, organisation_id: int | None = None) -> Select[tuple[User]]:
    """The users the scope sees, or only those of one organisation."""
    statement = select(User)
    if not scope.sees_everything:
        statement = statement.where(User.organisation_id == scope.organisation_id)
    if organisation_id is not None:
        statement = statement.where(User.organisation_id == organisation_id)
    return statement


@lru_cache(maxsize=1)
def _decoy_hash() -> str:
    return _hasher.hash(secrets.token_urlsafe(16))


def authenticate(*, db: Session, email: str, password: str) -> User:
    """The active user with this email and password, or InvalidCredentials / InactiveUser.

    An unknown email costs the same hash verification as a wrong password, so response
    times do not tell which emails are registered.
    """
    user = db.scalar(select(User).where(User.email == normalise_email(email)))
    try:
        _hasher.verify(user.password_hash if user else _decoy_hash(), password)
    except (VerificationError, InvalidHashError):
        user = None
    if user is None:
        raise errors.InvalidCredentials("Incorrect email or password")
    if not user.is_active:
        raise errors.InactiveUser("This account is deactivated")
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
        db.flush()
    return user


# --- tokens --------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class TokenClaims:
    user_id: int
    organisation_id: int
    role: Role
    expires_at: datetime


def token_lifetime() -> timedelta:
    return timedelta(minutes=get_settings().jwt_expire_minutes)


def issue_token(*, user: User, lifetime: timedelta | None = None) -> str:
    """A signed bearer token: sub = user id, org, role, iat, exp."""
    settings = get_settings()
    now = utcnow()
    claims = {"sub": str(user.id), "org": user.organisation_id, "role": str(user.role),
              "iat": now, "exp": now + (lifetime if lifetime is not None else token_lifetime())}
    return jwt.encode(claims, settings.jwt_secret(), algorithm=settings.jwt_algorithm)


def decode_token(token: str) -> TokenClaims:
    """The claims of a token this server signed and that has not expired."""
    settings = get_settings()
    try:
        claims = jwt.decode(token, settings.jwt_secret(), algorithms=[settings.jwt_algorithm],
                            options={"require": ["sub", "exp", "iat"]})
    except jwt.ExpiredSignatureError as exc:
        raise errors.TokenExpired("The session has expired: log in again") from exc
    except jwt.PyJWTError as exc:
        raise errors.InvalidToken("Invalid token") from exc
    try:
        return TokenClaims(user_id=int(claims["sub"]), organisation_id=int(claims["org"]),
                           role=Role(claims["role"]),
                           expires_at=datetime.fromtimestamp(claims["exp"], UTC))
    except (KeyError, TypeError, ValueError) as exc:
        raise errors.InvalidToken("Invalid token") from exc


def user_for_token(*, db: Session, token: str) -> User:
    """The active user a token names. Role and organisation are read from the database,
    so a demotion or a deactivation takes effect at once, not when the token expires."""
    return _active_user(db, decode_token(token))


def _active_user(db: Session, claims: TokenClaims) -> User:
    # With the organisation in the same query: every route's scope needs it.
    user = db.get(User, claims.user_id, options=[joinedload(User.organisation)])
    if user is None:
        raise errors.InvalidToken("Invalid token")
    if not user.is_active:
        raise errors.InactiveUser("This account is deactivated")
    return user


# --- the caller, remembered for a few seconds ---------------------------------------------

@dataclass(frozen=True, slots=True)
class Caller:
    """A logged-in user as a read-only route needs them: who, in which organisation, with
    which role, seeing what. Unlike a `User` it is bound to no session, so an API worker
    may keep it between requests (`cached_caller`)."""

    user_id: int
    organisation_id: int
    role: Role
    scope: Scope


class _Callers:
    """What this worker last read of each token's user, for `AUTH_CACHE_SECONDS`.

    Keyed by the whole token: a token found here had its signature checked when it was
    stored, so only its expiry is checked again (verifying the signature costs more than
    the rest of the lookup). A change made through `update_user` forgets the user in this
    worker when it commits; other workers read the user again within `AUTH_CACHE_SECONDS`.
    A reader that began before a change never stores what it read (the generation moved).
    """

    def __init__(self, *, max_entries: int = 10_000) -> None:
        self.max_entries = max_entries
        self.generation = 0
        # token -> (monotonic deadline, token expiry as a UNIX time, caller)
        self._entries: dict[str, tuple[float, float, Caller]] = {}
        self._lock = threading.Lock()

    def get(self, token: str) -> Caller | None:
        entry = self._entries.get(token)
        if entry is None or entry[0] <= time.monotonic() or entry[1] <= time.time():
            return None
        return entry[2]

    def put(self, token: str, caller: Caller, *, expires_at: datetime, generation: int,
            seconds: float) -> None:
        if seconds <= 0:
            return
        now = time.monotonic()
        with self._lock:
            if generation != self.generation:
                return
            if len(self._entries) >= self.max_entries:
                self._entries = {key: entry for key, entry in self._entries.items()
                                 if entry[0] > now}
                if len(self._entries) >= self.max_entries:
                    self._entries.clear()
            self._entries[token] = (now + seconds, expires_at.timestamp(), caller)

    def forget(self, user_id: int | None = None) -> None:
        with self._lock:
            self.generation += 1
            self._entries = {} if user_id is None else {
                key: entry for key, entry in self._entries.items()
                if entry[2].user_id != user_id}


_callers = _Callers()


def cached_caller(*, token: str) -> Caller | None:
    """The caller of a token this worker checked less than `AUTH_CACHE_SECONDS` ago and
    that has not expired since, else None (then `caller_for_token`). No I/O."""
    return _callers.get(token)


def caller_for_token(*, db: Session, token: str) -> Caller:
    """The active user a token names, checked as in `user_for_token` and remembered for
    `AUTH_CACHE_SECONDS` in this worker."""
    generation = _callers.generation
    claims = decode_token(token)
    user = _active_user(db, claims)
    caller = Caller(user_id=user.id, organisation_id=user.organisation_id, role=user.role,
                    scope=scope_of(user))
    _callers.put(token, caller, expires_at=claims.expires_at, generation=generation,
                 seconds=get_settings().auth_cache_seconds)
    return caller


def forget_callers(*, user_id: int | None = None) -> None:
    """Read this user (or everyone) from the database on their next request."""
    _callers.forget(user_id)


def _forget_caller_after_commit(db: Session, user_id: int) -> None:
    event.listen(db, "after_commit", lambda _session: forget_callers(user_id=user_id),
                 once=True)


# --- API keys ------------------------------------------------------------------------------

class IssuedApiKey(NamedTuple):
    api_key: ApiKey
    secret: str


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_api_key(*, db: Session, organisation: Organisation, kind: ApiKeyKind,
                   name: str) -> IssuedApiKey:
    """A key `vk_<prefix>_<secret>` for the retailer's app or checkout. Only its SHA-256 is
    stored; the returned secret cannot be recovered later."""
    if organisation.kind != OrganisationKind.retailer:
        raise errors.InvalidApiKeyRequest(
            "App and checkout keys belong to the retailer's organisation",
            errors={"organisation": "must be the retailer"})
    name = name.strip()
    if not name:
        raise errors.InvalidApiKeyRequest("An API key needs a name", errors={"name": "required"})
    prefix = secrets.token_hex(6)
    secret = f"{API_KEY_SCHEME}_{prefix}_{secrets.token_urlsafe(32)}"
    api_key = ApiKey(organisation_id=organisation.id, kind=kind, name=name, prefix=prefix,
                     key_hash=_digest(secret))
    db.add(api_key)
    db.flush()
    return IssuedApiKey(api_key=api_key, secret=secret)


def verify_api_key(*, db: Session, secret: str) -> ApiKey:
    """The live key matching `secret`, or InvalidApiKey / ApiKeyRevoked."""
    parts = secret.split("_", 2)
    if len(parts) != 3 or parts[0] != API_KEY_SCHEME or len(secret) > 200:
        raise errors.InvalidApiKey("Invalid API key")
    api_key = db.scalar(select(ApiKey).where(ApiKey.prefix == parts[1]))
    if api_key is None or not hmac.compare_digest(_digest(secret), api_key.key_hash):
        raise errors.InvalidApiKey("Invalid API key")
    if api_key.revoked_at is not None:
        raise errors.ApiKeyRevoked("This API key has been revoked")
    return api_key


def revoke_api_key(*, db: Session, api_key: ApiKey) -> ApiKey:
    """Revoking twice keeps the first revocation time."""
    if api_key.revoked_at is None:
        api_key.revoked_at = utcnow()
        db.flush()
    return api_key


def get_api_key(*, db: Session, api_key_id: int, scope: Scope) -> ApiKey:
    api_key = db.get(ApiKey, api_key_id)
    if api_key is None or not scope.sees(api_key.organisation_id):
        raise errors.ApiKeyNotFound(f"No API key {api_key_id}")
    return api_key


def select_api_keys(*, scope: Scope) -> Select[tuple[ApiKey]]:
    statement = select(ApiKey)
    if not scope.sees_everything:
        statement = statement.where(ApiKey.organisation_id == scope.organisation_id)
    return statement
