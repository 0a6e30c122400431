"""docker-compose.yml is valid against the Compose specification and runs every part."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def test_compose_file_validates_against_the_compose_spec():
    checker = shutil.which("check-jsonschema") or str(Path(sys.executable).parent /
                                                     "check-jsonschema")
    result = subprocess.run([checker, "--builtin-schema", "vendor.compose-spec",
                             str(ROOT / "docker-compose.yml")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_compose_runs_api_worker_beat_on_postgres_and_redis_with_healthchecks():
    spec = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = spec["services"]
    assert {"api", "worker", "beat", "postgres", "redis"} <= set(services)
    for name in ("api", "worker", "postgres", "redis"):
        assert "healthcheck" in services[name], f"{name} has no healthcheck"
    env = services["api"]["environment"]
    assert env["DATABASE_URL"].startswith("postgresql+psycopg://")
    assert env["REDIS_URL"].startswith("redis://")
    assert "SECRET_KEY" in env
    assert "postgres-data" in spec["volumes"]
    assert services["worker"]["command"][:2] == ["celery", "-A"]
