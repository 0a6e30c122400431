"""The web cabinet (frontend/dist, built by `npm run build`) served at `/` beside the API.

Every GET or HEAD outside `/api` that no API route answers is the cabinet's: a file of the
build when there is one, else `index.html`, so that react-admin's routes (`/segments/3`)
survive a reload. `/api/...` never falls through to the cabinet: an unknown API path stays a
JSON 404. Before the frontend is built, `/` says how to build it.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from starlette.responses import FileResponse, HTMLResponse, Response
from starlette.routing import Match, Route
from starlette.types import Scope

FRONTEND_DIST = Path(__file__).resolve().parent.parent / "frontend" / "dist"

NOT_BUILT = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Vitrina</title></head>
<body style="font-family: sans-serif; max-width: 40em; margin: 3em auto">
<h1>Vitrina</h1>
<p>The web cabinet is not built yet. Build it with <code>make demo</code>, or
<code>cd frontend &amp;&amp; npm ci &amp;&amp; npm run build</code>, then reload this page.</p>
<p>The API is running: see <a href="/docs">/docs</a>.</p>
</body></html>
"""

# Vite names built assets by their content hash, so they may be cached for good; index.html
# must be fetched again each time so that a new build is picked up.
IMMUTABLE = {"Cache-Control": "public, max-age=31536000, immutable"}
REVALIDATE = {"Cache-Control": "no-cache"}


def _is_api(path: str) -> bool:
    return path == "/api" or path.startswith("/api/")


class CabinetRoute(Route):
    """A catch-all route that steps aside for the API and for methods other than GET/HEAD,
    so those still get the API's own 404 (and 405) answers."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] != "http" or _is_api(scope["path"]) \
                or scope.get("method") not in ("GET", "HEAD"):
            return Match.NONE, {}
        return super().matches(scope)


def _file_in(dist: Path, relative: str) -> Path | None:
    """The built file at `relative`, never anything outside the build folder."""
    if not relative:
        return None
    candidate = (dist / relative).resolve()
    if not candidate.is_relative_to(dist.resolve()) or not candidate.is_file():
        return None
    return candidate


def cabinet_endpoint(dist: Path):
    async def serve(request: Request) -> Response:
        index = dist / "index.html"
        if not index.is_file():
            return HTMLResponse(NOT_BUILT, status_code=200 if request.url.path == "/" else 404)
        relative = request.path_params.get("path", "")
        found = _file_in(dist, relative)
        if found is not None:
            headers = IMMUTABLE if relative.startswith("assets/") else REVALIDATE
            return FileResponse(found, headers=headers)
        if relative.startswith("assets/"):
            # A missing chunk of an older build: a 404, not index.html served as JavaScript.
            return Response("Not found", status_code=404, media_type="text/plain")
        return FileResponse(index, headers=REVALIDATE, media_type="text/html")

    return serve


def install_cabinet(app: FastAPI, dist: Path = FRONTEND_DIST) -> None:
    """Add the cabinet's catch-all route; call it after every API route is mounted."""
    app.router.routes.append(CabinetRoute("/{path:path}", cabinet_endpoint(dist),
                                          methods=["GET", "HEAD"], include_in_schema=False))
