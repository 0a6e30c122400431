"""The two applications `bench/offers.py` serves with uvicorn: Vitrina's own (with the GC
tuned after start-up, as `vitrina serve` should) and a bare FastAPI JSON endpoint for
reference. Run from the repository root with `--app-dir bench`."""

from __future__ import annotations

import gc
import sys
from contextlib import asynccontextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fastapi import FastAPI, Response


def _tuned_after_start(app: FastAPI) -> FastAPI:
    """Once the offer index is loaded, move every object into the permanent generation
    and collect rarely: full collections over millions of objects are 30–40 ms pauses."""
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(application):
        async with inner(application) as state:
            gc.collect()
            gc.freeze()
            gc.set_threshold(50_000, 20, 1000)
            yield state

    app.router.lifespan_context = lifespan
    return app


def offers_app() -> FastAPI:
    from marketplace_api.app import create_app

    return _tuned_after_start(create_app())


def bare_app() -> FastAPI:
    app = FastAPI()
    body = b'{"ok":true}'

    @app.get("/bare")
    async def bare() -> Response:
        return Response(body, media_type="application/json")

    return _tuned_after_start(app)
