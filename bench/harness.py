"""What every benchmark shares: the PostgreSQL it runs on and the settings pointing at it."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy.engine import make_url

from tests.servers import ThrowawayPostgres

BENCH_SECRET = "bench-secret-key-" + "x" * 32


@contextmanager
def bench_database(url: str | None, *, durable: bool = True, **env: str) -> Iterator[str]:
    """`url` when given, else a throwaway PostgreSQL (fsync on when `durable`, as durable
    figures need), stopped afterwards. This process's settings point at it, with `env`."""
    server = None
    if url is None:
        server = ThrowawayPostgres(durable=durable).start()
        url = make_url(server.url).render_as_string(hide_password=False)
    os.environ.update(DATABASE_URL=url, SECRET_KEY=BENCH_SECRET, **env)
    os.environ.pop("REDIS_URL", None)
    try:
        yield url
    finally:
        if server is not None:
            server.stop()
