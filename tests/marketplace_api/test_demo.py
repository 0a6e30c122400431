"""The demo's setup, exactly as `make demo` runs it before serving, on SQLite."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from core.db import session_scope
from marketplace_api import demo
from marketplace_api.app import create_app
from retail.models import Customer, ReceiptLine

pytestmark = pytest.mark.slow


def test_demo_setup_builds_a_retailer_that_the_demo_logins_can_use(sqlite_db, tmp_path):
    messages: list[str] = []
    logins = demo.setup_demo(echo=messages.append)

    with session_scope() as db:
        customers = db.scalar(select(func.count()).select_from(Customer))
        lines = db.scalar(select(func.count()).select_from(ReceiptLine))
    assert customers >= demo.DEMO_CUSTOMERS * 0.9
    assert lines > customers * demo.DEMO_WEEKS  # a few lines per shopper per week

    with TestClient(create_app()) as client:
        for role, email in logins.users.items():
            token = client.post("/api/v1/auth/token", data={
                "username": email, "password": demo.DEMO_PASSWORD})
            assert token.status_code == 200, (role, token.text)
            assert token.json()["role"] == role
        supplier_token = client.post("/api/v1/auth/token", data={
            "username": logins.users["supplier_manager"], "password": demo.DEMO_PASSWORD
        }).json()["access_token"]
        products = client.get("/api/v1/products",
                              headers={"Authorization": f"Bearer {supplier_token}"})
        assert products.status_code == 200 and len(products.json()) > 0
        for kind in ("app", "pos"):
            whoami = client.get(f"/api/v1/{kind}/whoami",
                                headers={"X-Api-Key": logins.api_keys[kind]})
            assert whoami.status_code == 200, whoami.text

    printed = demo.describe(logins)
    assert "http://127.0.0.1:8000/docs" in printed and demo.DEMO_PASSWORD in printed
    saved = json.loads(demo._credentials_file().read_text())
    assert saved["api_keys"] == logins.api_keys

    # Running it again keeps everything: same keys, same users, no second import.
    again = demo.setup_demo(echo=messages.append)
    assert again == logins
    assert any("already imported" in m for m in messages)
    with session_scope() as db:
        assert db.scalar(select(func.count()).select_from(ReceiptLine)) == lines
