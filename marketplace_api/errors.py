"""One error shape for every response: {"message", "code", "errors": {field: problem}}.

react-admin shows `errors` next to the matching form fields.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
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
        code = {401: "unauthenticated", 403: "forbidden", 404: "not_found",
                405: "method_not_allowed", 429: "rate_limited"}.get(exc.status_code, "http_error")
        return JSONResponse(error_body(str(exc.detail), code), status_code=exc.status_code,
                              headers=getattr(exc, "headers", None))
