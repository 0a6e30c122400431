"""The API serves the built web cabinet at `/` without taking anything from the API: files
of the build, index.html for the cabinet's own routes, a JSON 404 for unknown API paths, and
a clear page before the cabinet is built."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from marketplace_api import app as app_module
from marketplace_api import cabinet


@pytest.fixture
def serve(sqlite_db, tmp_path, monkeypatch):
    def start(built: bool) -> TestClient:
        dist = tmp_path / "dist"
        if built:
            (dist / "assets").mkdir(parents=True)
            (dist / "index.html").write_text("<!doctype html><div id=root>cabinet</div>")
            (dist / "assets" / "index-abc123.js").write_text("console.log('cabinet')")
        monkeypatch.setattr(cabinet, "FRONTEND_DIST", dist)
        monkeypatch.setattr(app_module, "install_cabinet",
                            lambda app: cabinet.install_cabinet(app, dist))
        return TestClient(app_module.create_app())

    return start


def test_the_built_cabinet_is_served_beside_the_api(serve):
    client = serve(built=True)
    home = client.get("/")
    assert home.status_code == 200 and "cabinet" in home.text
    assert home.headers["cache-control"] == "no-cache"
    asset = client.get("/assets/index-abc123.js")
    assert asset.status_code == 200 and "console.log" in asset.text
    assert "immutable" in asset.headers["cache-control"]
    # A reload on one of the cabinet's own pages gets the app, not a 404.
    assert "cabinet" in client.get("/segments/3/show").text
    # A chunk of an older build is a 404, not index.html served as JavaScript.
    assert client.get("/assets/gone-123.js").status_code == 404
    # Nothing outside the build folder, however the path is spelt.
    assert "[project]" not in client.get("/..%2F..%2Fpyproject.toml").text
    assert cabinet._file_in(cabinet.FRONTEND_DIST, "../../pyproject.toml") is None


def test_the_api_keeps_its_own_answers(serve):
    client = serve(built=True)
    unknown = client.get("/api/v1/no-such-thing")
    assert unknown.status_code == 404
    assert unknown.json()["code"] == "not_found"
    assert client.post("/api/v1/no-such-thing").status_code == 404
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/api/v1/me").status_code == 401
    assert client.get("/openapi.json").status_code == 200


def test_before_the_build_the_home_page_says_how_to_build_it(serve):
    client = serve(built=False)
    home = client.get("/")
    assert home.status_code == 200
    assert "npm run build" in home.text and "/docs" in home.text
    assert client.get("/api/v1/no-such-thing").json()["code"] == "not_found"
