"""The application factory: every domain's router mounted under /api/v1."""

from __future__ import annotations

import gc
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp

from core.logging import configure_logging
from core.settings import get_settings
from marketplace_api.cabinet import install_cabinet
from marketplace_api.errors import (
    ERROR_RESPONSES,
    RATE_LIMITED_RESPONSES,
    install_error_handlers,
)
from marketplace_api.metrics import install_metrics
from marketplace_api.routers import public_health

API_PREFIX = "/api/v1"


class VitrinaApp(FastAPI):
    """FastAPI, with the app's offers list answered in front of the middleware stack (the
    endpoint that takes thousands of requests a second; see `OffersFastPath`)."""

    def build_middleware_stack(self) -> ASGIApp:
        from marketplace_api.routers.app_offers import OffersFastPath

        return OffersFastPath(super().build_middleware_stack(), prefix=API_PREFIX,
                              handlers=self.exception_handlers)


def create_app() -> FastAPI:
    settings = get_settings()
    configure_logging(level=settings.log_level, json=settings.log_json)
    app = VitrinaApp(
        title="Vitrina",
        version="0.1.0",
        description="Supplier discounts («Скидка от поставщика») in the retailer's app.",
    )
    app.add_middleware(
        CORSMiddleware, allow_origins=["*"], allow_methods=["*"], allow_headers=["*"],
        expose_headers=["Content-Range", "Retry-After"],
    )
    install_error_handlers(app)
    install_metrics(app)
    app.include_router(public_health.router)
    for router in _domain_routers():
        # Every route declares the errors it may answer; the app's and the checkout's are
        # also rate-limited per key.
        responses = {**ERROR_RESPONSES, **(RATE_LIMITED_RESPONSES
                                           if router.prefix in ("/app", "/pos") else {})}
        app.include_router(router, prefix=API_PREFIX, responses=responses)
    install_cabinet(app)  # last: the web cabinet answers what no API route does
    tune_gc_after_start(app)
    return app


def tune_gc_after_start(app: FastAPI) -> None:
    """Once start-up has loaded what it loads (the offer index, the audience snapshot),
    move every object into the permanent generation and collect rarely: full collections
    over millions of long-lived objects are 30–40 ms pauses in the serving path."""
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(application):
        async with inner(application) as state:
            gc.collect()
            gc.freeze()
            gc.set_threshold(50_000, 20, 1000)
            yield state

    app.router.lifespan_context = lifespan


def _domain_routers() -> list:
    from marketplace_api.routers import (
        antifraud,
        app_offers,
        audience,
        audit,
        billing,
        campaigns,
        identity,
        measurement,
        notifications,
        pos,
        pricing,
        public_webhooks,
        retail,
    )

    # The app's and the checkout's routes first: routes are matched in order, and these
    # take thousands of requests a second.
    return [app_offers.router, pos.router,
            identity.router, retail.router, billing.router, public_webhooks.router,
            audience.router, pricing.router, campaigns.router,
            audit.router, notifications.router, antifraud.router, measurement.router]
