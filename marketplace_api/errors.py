"""One error shape for every response: {"message", "code", "errors": {field: problem}}.

react-admin shows `errors` next to the matching form fields.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from core import errors
from core.money import MoneyError

STATUS_BY_ERROR: dict[type[errors.VitrinaError], int] = {
    errors.NotFound: 404,
    errors.Invalid: 422,
    errors.Conflict: 409,
    errors.Unauthenticated: 401,
    errors.Forbidden: 403,
}


class ErrorBody(BaseModel):
    """What every 4xx answers (OpenAPI: `ErrorBody`)."""

    message: str = Field(description="What went wrong, for a person")
    code: str = Field(description="A stable code for programs, e.g. `not_found`")
    errors: dict[str, str] = Field(default_factory=dict,
                                   description="Per-field problems: field name → problem")


def _error_response(description: str) -> dict:
    return {"model": ErrorBody, "description": description}


# Declared on every API route (app.py), so that clients and schemathesis know the shape of
# each error a route can answer; it replaces FastAPI's default 422 (`HTTPValidationError`),
# which this API never sends.
ERROR_RESPONSES: dict[int | str, dict] = {
    400: _error_response("Malformed request, e.g. a body that is not JSON"),
    401: _error_response("Not logged in, or no valid API key"),
    403: _error_response("The caller's role (or API key's kind) may not do this"),
    404: _error_response("Not found, or not visible to the caller"),
    409: _error_response("Clashes with the object's current state"),
    422: _error_response("Invalid input: `errors` names each bad field"),
}
RATE_LIMITED_RESPONSES: dict[int | str, dict] = {
    429: {**_error_response("Too many requests for this API key"),
          "headers": {"Retry-After": {"description": "Seconds to wait",
                                      "schema": {"type": "integer"}}}},
}


def error_body(message: str, code: str, field_errors: dict[str, str] | None = None) -> dict:
    return {"message": message, "code": code, "errors": field_errors or {}}


def _status_for(exc: errors.VitrinaError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS_BY_ERROR:
            return STATUS_BY_ERROR[cls]
    return 400


def _location(loc: tuple) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "request"


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(errors.VitrinaError)
    async def _domain_error(_request: Request, exc: errors.VitrinaError):
        headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, errors.Unauthenticated) \
            else None
        return JSONResponse(error_body(exc.message, exc.code, exc.errors),
                              status_code=_status_for(exc), headers=headers)

    @app.exception_handler(MoneyError)
    async def _money_error(_request: Request, exc: MoneyError):
        return JSONResponse(error_body(str(exc), "invalid_money"), status_code=422)

    @app.exception_handler(DataError)
    async def _data_error(_request: Request, exc: DataError):
        # The database's own check, after Pydantic's and the services': a number out of
        # its column's range, a text longer than its column. The transaction is rolled back.
        return JSONResponse(error_body("A value is out of range or too long for its field",
                                       "invalid_value"), status_code=422)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_request: Request, exc: RequestValidationError):
        field_errors: dict[str, str] = {}
        for item in exc.errors():
            field_errors.setdefault(_location(tuple(item.get("loc", ()))), item.get("msg", ""))
        summary = "; ".join(f"{k}: {v}" for k, v in field_errors.items())
        return JSONResponse(error_body(f"Invalid request: {summary}", "validation_error",
                                         field_errors), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_request: Request, exc: StarletteHTTPException):
        code = {400: "bad_request", 401: "unauthenticated", 403: "forbidden", 404: "not_found",
                405: "method_not_allowed", 429: "rate_limited"}.get(exc.status_code, "http_error")
        return JSONResponse(error_body(str(exc.detail), code), status_code=exc.status_code,
                              headers=getattr(exc, "headers", None))
