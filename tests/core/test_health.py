"""Health probes and metrics, as an orchestrator and Prometheus see them."""

from tests.conftest import point_at


def test_healthz_and_readyz_report_ok_on_a_working_database(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": "ok"}


def test_readyz_is_503_when_redis_is_configured_but_unreachable(sqlite_db, monkeypatch):
    from fastapi.testclient import TestClient

    from marketplace_api.app import create_app
    from tests.servers import free_port

    point_at(monkeypatch, sqlite_db, redis_url=f"redis://127.0.0.1:{free_port()}/0")
    with TestClient(create_app()) as client:
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["redis"].startswith("error")


def test_metrics_count_requests_per_route_template(client):
    client.get("/healthz")
    client.get("/api/v1/no-such-thing")
    body = client.get("/metrics").text
    assert 'vitrina_http_requests_total{method="GET",route="/healthz",status="200"}' in body
    assert 'route="unmatched",status="404"' in body
    assert "vitrina_http_request_duration_seconds_bucket" in body


def test_docs_are_served(client):
    assert client.get("/docs").status_code == 200
    assert client.get("/openapi.json").json()["info"]["title"] == "Vitrina"
