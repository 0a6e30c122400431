"""Throwaway PostgreSQL and Redis servers for the test run (when none is given).

`TEST_DATABASE_URL` / `TEST_REDIS_URL` name existing servers; otherwise a private server is
started on a free port in a temporary folder and stopped at the end of the run.
PostgreSQL refuses to run as root, so it runs as the `postgres` system user.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _as_postgres(args: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


def _pg_bin() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).parent
    raise RuntimeError("PostgreSQL server binaries not found: run `make test` (it installs them)"
                       " or set TEST_DATABASE_URL")


class ThrowawayPostgres:
    """`durable=True` keeps fsync and synchronous commit on, for benchmarks that quote
    figures a production server would reach; tests run faster without."""

    def __init__(self, *, durable: bool = False) -> None:
        self.durable = durable
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="vitrina-pg-"))
        self.bin = _pg_bin()

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> ThrowawayPostgres:
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
        data = self.dir / "data"
        subprocess.run(_as_postgres([str(self.bin / "initdb"), "-D", str(data), "-U", "postgres",
                                     "-A", "trust", "-E", "UTF8", "--no-locale"]),
                       check=True, capture_output=True)
        options = (f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.dir} "
                   "-c max_connections=200 -c shared_buffers=512MB -c max_wal_size=4GB")
        if not self.durable:
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        subprocess.run(_as_postgres([str(self.bin / "pg_ctl"), "-D", str(data), "-l",
                                     str(self.dir / "pg.log"), "-w", "-o", options, "start"]),
                       check=True, capture_output=True)
        return self

    def stop(self) -> None:
        subprocess.run(_as_postgres([str(self.bin / "pg_ctl"), "-D", str(self.dir / "data"),
                                     "-m", "immediate", "-w", "stop"]), capture_output=True)
        shutil.rmtree(self.dir, ignore_errors=True)


class ThrowawayRedis:
    def __init__(self) -> None:
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="vitrina-redis-"))
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> ThrowawayRedis:
        server = shutil.which("redis-server")
        if not server:
            raise RuntimeError("redis-server not found: run `make test` or set TEST_REDIS_URL")
        self.process = subprocess.Popen(
            [server, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.dir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("throwaway Redis did not start")

    def stop(self) -> None:
        if self.process:
            self.process.terminate()
            self.process.wait(timeout=10)
        shutil.rmtree(self.dir, ignore_errors=True)
