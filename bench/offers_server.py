"""The two applications `bench/offers.py` serves with uvicorn: Vitrina's own (which tunes the
garbage collector after start-up) and a bare FastAPI JSON endpoint for
reference. Run from the repository root with `--app-dir bench`."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fastapi import FastAPI, Response


def offers_app() -> FastAPI:
    from marketplace_api.app import create_app

    return create_app()  # it tunes the garbage collector after start-up itself


def bare_app() -> FastAPI:
    app = FastAPI()
    body = b'{"ok":true}'

    @app.get("/bare")
    async def bare() -> Response:
        return Response(body, media_type="application/json")

    from marketplace_api.app import tune_gc_after_start

    tune_gc_after_start(app)  # the same garbage-collector tuning as Vitrina's, to be fair
    return app
