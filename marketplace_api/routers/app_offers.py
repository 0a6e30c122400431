"""HTTP routes of the retailer's mobile app (API key of kind `app`): a shopper's offers,
taking an offer, and impressions and clicks. Rate-limited per key (APP_RATE_LIMIT).

The offers list is served from this worker's in-memory index (`offers.index`), which the
router's lifespan loads before the worker takes requests; nothing on that path waits for
the database, except the one-time authorisation of an automatic campaign's offer the
first time it is shown.
"""

from __future__ import annotations

import functools
import logging
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Annotated, Any
from urllib.parse import parse_qsl

import orjson
from fastapi import APIRouter, Depends, FastAPI, Path, Request, Response
from fastapi.exceptions import RequestValidationError
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from core.db import new_session
from core.settings import get_settings
from marketplace_api import metrics
from marketplace_api.deps import DbSession
from marketplace_api.identity.models import ApiKeyKind
from marketplace_api.offers import errors, index, service
from marketplace_api.offers.clients import API_KEY_HEADER, caller_of_kind
from marketplace_api.offers.index import OfferIndex, ServedOffer
from marketplace_api.offers.ratelimit import app_access, check_rate
from marketplace_api.offers.schemas import (
    LABELS,
    ActivationRead,
    EventBatch,
    EventsRead,
    OfferRead,
)

log = logging.getLogger(__name__)


@asynccontextmanager
async def _lifespan(_app: FastAPI) -> AsyncIterator[None]:
    try:
        await run_in_threadpool(index.current)  # the index is loaded before the first request
    except Exception as exc:  # e.g. a database not migrated yet: the first request retries
        log.warning("offer index not preloaded: %s", exc)
    yield
    await run_in_threadpool(index.stop_current)


router = APIRouter(prefix="/app", tags=["app"], lifespan=_lifespan)

CustomerId = Annotated[str, Path(min_length=1, max_length=64)]


def _authorise_first_serve(customer_id: str, offers: list[ServedOffer]) -> set[int]:
    """Automatic campaigns' offers are activated the first time they are shown; those
    whose budget is short are not shown."""
    done: set[int] = set()
    db = new_session()
    try:
        for offer in offers:
            try:
                service.activate(db=db, customer_id=customer_id, offer_id=offer.offer_id,
                                 automatic=True)
                done.add(offer.offer_id)
            except (errors.BudgetExhausted, errors.OfferNotLive):
                continue
        db.commit()
    except BaseException:
        db.rollback()
        raise
    finally:
        db.close()
    return done


def _as_json(offer: ServedOffer, found: OfferIndex, label: str, activated: bool) -> dict:
    name, brand, supplier, currency = found.product(offer.sku)
    return {"offer_id": offer.offer_id, "campaign_id": offer.campaign.id, "sku": offer.sku,
            "name": name, "brand": brand, "supplier": supplier,
            "regular_price_minor": offer.regular_minor,
            "personal_price_minor": offer.personal_minor, "currency": currency,
            "discount_bp": offer.discount_bp, "discount_percent": offer.discount_bp / 100,
            "label": label, "valid_until": offer.campaign.valid_until,
            "limit_units_per_week": offer.campaign.limit,
            "units_left_this_week": offer.units_left, "activated": activated}


# The offers list answers thousands of requests a second: it reads its three parameters
# itself instead of through FastAPI's per-request dependency solving (half its CPU time),
# and declares them for OpenAPI by hand, exactly as FastAPI would.
_OFFERS_PARAMETERS = [
    {"name": "customer_id", "in": "path", "required": True,
     "schema": {"type": "string", "minLength": 1, "maxLength": 64, "title": "Customer Id"}},
    {"name": "store_id", "in": "query", "required": False,
     "description": "only offers valid in this store",
     "schema": {"anyOf": [{"type": "string", "minLength": 1, "maxLength": 64},
                          {"type": "null"}],
                "description": "only offers valid in this store", "title": "Store Id"}},
    {"name": "lang", "in": "query", "required": False, "description": "language of the label",
     "schema": {"enum": list(LABELS), "type": "string", "description": "language of the label",
                "default": "ru", "title": "Lang"}},
]


def _invalid(location: str, name: str, message: str, kind: str) -> RequestValidationError:
    return RequestValidationError([{"loc": (location, name), "msg": message, "type": kind}])


def _text(location: str, name: str, value: str) -> str:
    if not value:
        raise _invalid(location, name, "String should have at least 1 character",
                       "string_too_short")
    if len(value) > 64:
        raise _invalid(location, name, "String should have at most 64 characters",
                       "string_too_long")
    return value


async def _offers_json(secret: str | None, customer_id: str, query: Mapping[str, str]
                       ) -> bytes:
    """The offers list as JSON, for the route below and for `OffersFastPath`."""
    caller = await caller_of_kind(secret, ApiKeyKind.app)
    check_rate(caller, get_settings().app_rate_limit)
    customer_id = _text("path", "customer_id", customer_id)
    store_id = query.get("store_id")
    if store_id is not None:
        _text("query", "store_id", store_id)
    label = LABELS.get(query.get("lang", "ru"))
    if label is None:
        raise _invalid("query", "lang", "Input should be 'ru' or 'en'", "literal_error")
    found = index.current()
    if store_id is not None and store_id not in found.catalogue.store_regions:
        raise errors.UnknownStore(f"No store {store_id!r}", errors={"store_id": "unknown store"})
    served = found.serve(customer_id, store_id=store_id)
    first_serve = [o for o in served if o.campaign.automatic and not o.activated]
    authorised = (await run_in_threadpool(_authorise_first_serve, customer_id, first_serve)
                  if first_serve else set())
    return orjson.dumps([_as_json(o, found, label, o.activated or o.offer_id in authorised)
                         for o in served if not (o.campaign.automatic and not o.activated)
                         or o.offer_id in authorised])


OFFERS_ROUTE = "/shoppers/{customer_id}/offers"


@router.get(OFFERS_ROUTE, response_model=list[OfferRead],
            openapi_extra={"parameters": _OFFERS_PARAMETERS,
                           "security": [{"APIKeyHeader": []}]})
async def shopper_offers(request: Request) -> Response:
    """The shopper's live offers, the likeliest purchase first: active campaigns in their
    period, valid in the store, with budget left and units left this week. Holdout
    shoppers get none of their campaign's offers."""
    body = await _offers_json(request.headers.get(API_KEY_HEADER),
                              request.path_params["customer_id"], request.query_params)
    return Response(body, media_type="application/json")


class OffersFastPath:
    """ASGI in front of the app's middleware stack: answers the shoppers' offers list
    (`GET {prefix}/app/shoppers/{customer_id}/offers`) itself, as `shopper_offers` does.

    Under load the stack cost more CPU than the route (issue 6): FastAPI's telemetry and
    body-limit layers, the metrics, CORS and exception middlewares, matching against every
    route. Here the request is counted in the same metrics, and an error is answered by the
    app's own exception handlers, so the answer is the same byte for byte. A request with
    an `Origin` header (a browser, which CORS concerns), any other method or path goes
    through the full stack; so does the OpenAPI document, through `shopper_offers`."""

    def __init__(self, app: ASGIApp, *, prefix: str,
                 handlers: Mapping[Any, Callable[[Request, Exception], Awaitable[Response]]]
                 ) -> None:
        self.app = app
        self.handlers = handlers
        self.path = re.compile(re.escape(f"{prefix}{router.prefix}/shoppers/") +
                               r"([^/]+)/offers")
        self.route = f"{router.prefix}{OFFERS_ROUTE}"  # labelled as MetricsMiddleware does
        self.count = functools.cache(
            lambda status: metrics.REQUESTS.labels("GET", self.route, str(status)))
        self.latency = metrics.LATENCY.labels("GET", self.route)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        match = (self.path.fullmatch(scope["path"])
                 if scope["type"] == "http" and scope["method"] == "GET" else None)
        if match is None:
            await self.app(scope, receive, send)
            return
        secret = None
        for name, value in scope["headers"]:
            if name == b"origin":
                await self.app(scope, receive, send)
                return
            if name == b"x-api-key" and secret is None:
                secret = value.decode("latin-1")
        started = time.perf_counter()
        status = 500
        try:
            try:
                query = dict(parse_qsl(scope["query_string"].decode("latin-1"),
                                       keep_blank_values=True))
                body = await _offers_json(secret, match.group(1), query)
            except Exception as exc:
                handler = next((self.handlers[cls] for cls in type(exc).__mro__
                                if cls in self.handlers), None)
                if handler is None:
                    raise
                response = await handler(Request(scope, receive), exc)
                status = response.status_code
                await response(scope, receive, send)
                return
            await send({"type": "http.response.start", "status": 200,
                        "headers": [(b"content-length", str(len(body)).encode()),
                                    (b"content-type", b"application/json")]})
            status = 200
            await send({"type": "http.response.body", "body": body})
        finally:
            self.count(status).inc()
            self.latency.observe(time.perf_counter() - started)


@router.post("/shoppers/{customer_id}/offers/{offer_id}/activate",
             response_model=ActivationRead, dependencies=[Depends(app_access)])
def activate_offer(db: DbSession, customer_id: CustomerId,
                   offer_id: Annotated[int, Path(ge=1, le=2**62)]) -> ActivationRead:
    """The shopper takes the offer: the most they can save this week is set aside from
    the campaign's budget. Repeating it answers the same. A budget too short is a 409
    `budget_exhausted`, and the offer is no longer shown."""
    done = service.activate(db=db, customer_id=customer_id, offer_id=offer_id)
    allowance = done.allowance
    limit = done.campaign.limit_units_per_week
    return ActivationRead(
        offer_id=done.offer.id, campaign_id=done.campaign.id,
        authorized_minor=allowance.amount_minor if allowance else 0,
        currency=done.offer.currency,
        units_left_this_week=(allowance.units_limit - allowance.units_used) if allowance
        else limit, valid_until=done.campaign.ends_at)


@router.post("/events", response_model=EventsRead, dependencies=[Depends(app_access)])
def record_events(db: DbSession, batch: EventBatch) -> EventsRead:
    """Impressions and clicks in batches of up to 1,000; an event id sent again counts
    once."""
    done = service.record_events(db=db, batch=batch)
    return EventsRead(accepted=done.accepted, duplicates=done.duplicates,
                      rejected=done.rejected)
