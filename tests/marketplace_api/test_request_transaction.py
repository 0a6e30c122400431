"""The request owns its transaction, and the answer follows the commit: a client is never
told "done" about something that did not commit."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import event, text

from core.db import session_scope
from core.migrate import upgrade
from marketplace_api.deps import DbSession
from marketplace_api.errors import install_error_handlers


def _app() -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)

    @app.post("/notes/{body}", status_code=201)
    def write(body: str, db: DbSession, fail_at_commit: bool = False) -> dict:
        db.execute(text("CREATE TABLE IF NOT EXISTS note (body TEXT)"))
        db.execute(text("INSERT INTO note (body) VALUES (:body)"), {"body": body})
        if fail_at_commit:
            def refuse(_session):
                raise RuntimeError("the database refused the commit")
            event.listen(db, "before_commit", refuse)
        return {"body": body}

    return app


def _notes() -> list[str]:
    with session_scope() as db:
        return list(db.scalars(text("SELECT body FROM note ORDER BY body")))


def test_a_failed_commit_is_an_error_not_a_success(sqlite_db):
    upgrade()
    client = TestClient(_app(), raise_server_exceptions=False)
    assert client.post("/notes/kept").status_code == 201
    # The route itself returned happily; the commit failed: the client must hear of it.
    assert client.post("/notes/lost", params={"fail_at_commit": True}).status_code == 500
    assert _notes() == ["kept"]
