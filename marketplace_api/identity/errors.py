"""Identity's business errors, each with a stable code the web cabinet and clients rely on."""

from __future__ import annotations

from core.errors import Conflict, Forbidden, Invalid, NotFound, Unauthenticated


class InvalidCredentials(Unauthenticated):
    code = "invalid_credentials"


class InactiveUser(Unauthenticated):
    code = "inactive_user"


class InvalidToken(Unauthenticated):
    code = "invalid_token"


class TokenExpired(Unauthenticated):
    code = "token_expired"


class InvalidApiKey(Unauthenticated):
    code = "invalid_api_key"


class ApiKeyRevoked(Unauthenticated):
    code = "api_key_revoked"


class WrongApiKeyKind(Forbidden):
    code = "wrong_api_key_kind"


class RoleNotAllowed(Forbidden):
    """The caller's role may not do this."""

    code = "role_not_allowed"


class NoAccess(Forbidden):
    """An account whose organisation and role grant no view of any data."""

    code = "no_access"


class OrganisationNotFound(NotFound):
    code = "organisation_not_found"


class UserNotFound(NotFound):
    code = "user_not_found"


class ApiKeyNotFound(NotFound):
    code = "api_key_not_found"


class EmailTaken(Conflict):
    code = "email_taken"


class OrganisationExists(Conflict):
    code = "organisation_exists"


class LastAdmin(Conflict):
    """Deactivating or demoting the last active admin would lock everyone out."""

    code = "last_admin"


class InvalidUser(Invalid):
    code = "invalid_user"


class InvalidOrganisation(Invalid):
    code = "invalid_organisation"


class InvalidApiKeyRequest(Invalid):
    code = "invalid_api_key_request"
