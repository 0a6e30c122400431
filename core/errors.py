"""Domain errors: one family, each with a stable code; the API maps kinds to HTTP statuses."""

from __future__ import annotations


class VitrinaError(Exception):
    """Base of every business error. `errors` maps a field name to what is wrong with it."""

    code = "error"

    def __init__(self, message: str, *, code: str | None = None,
                 errors: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.errors = errors or {}


class NotFound(VitrinaError):
    code = "not_found"


class Invalid(VitrinaError):
    """The request is well-formed but breaks a business rule (HTTP 422)."""

    code = "invalid"


class Conflict(VitrinaError):
    """The request clashes with the current state (HTTP 409)."""

    code = "conflict"


class Unauthenticated(VitrinaError):
    code = "unauthenticated"


class Forbidden(VitrinaError):
    code = "forbidden"
