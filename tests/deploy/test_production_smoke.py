"""Production mode, as real processes: two `linli web` servers and a `linli worker`.

The processes run with production settings (DEBUG off, a real SECRET_KEY, a public base
domain, static files collected by `linli release --collectstatic`) against the test
session's database. They cannot see a test transaction, so this module provisions a
throwaway tenant with commits and deletes it (schema and all) at the end, with the few
public rows left behind (jobs, cache entries, the rollout run `linli release` records).
Requests go to 127.0.0.1 with the tenant's host in the Host header and
``X-Forwarded-Proto: https``, as a load balancer sends them, so secure cookies flow over
loopback.

The tests share the processes and run in order; the last one stops them with SIGTERM.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.core.cache import cache
from django.db import connection
from django_tenants.utils import schema_context, tenant_context
from procrastinate.contrib.django.models import ProcrastinateJob

from api.access.services import key_create
from api.scopes import ALL_SCOPES
from linli.db.access import tenant_db
from linli.jobs.tasks import group_ensure
from linli.ops.models import RolloutRun
from linli.registry.models import Domain, Tenant
from linli.registry.services import tenant_create, tenant_delete

SLUG = "smoke"
BASE = "linli.example"
HOST = f"{SLUG}.{BASE}"
ADMIN = "smoke-admin"
PASSWORD = "smoke-test-password-1"
GROUP = "Smoke test group"
SMOKE_QUEUE = "smoke"
METRICS_TOKEN = "smoke-metrics-token"
STARTUP_SECONDS = 90
GRACEFUL_SECONDS = 10
PROXY = {"X-Forwarded-Proto": "https"}


@dataclass
class Answer:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def cookies(self) -> dict[str, str]:
        jar: SimpleCookie = SimpleCookie()
        for header in self.headers.get_all("Set-Cookie") or []:
            jar.load(header)
        return {name: morsel.value for name, morsel in jar.items()}


def request(
    port: int,
    method: str,
    path: str,
    *,
    host: str = HOST,
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
) -> Answer:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(method, path, body=body, headers={"Host": host, **PROXY, **(headers or {})})
        response = conn.getresponse()
        return Answer(response.status, response.headers, response.read())
    finally:
        conn.close()


def cookie_header(cookies: dict[str, str]) -> str:
    return "; ".join(f"{name}={value}" for name, value in cookies.items())


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Process:
    name: str
    popen: subprocess.Popen[bytes]
    stderr_path: Path
    port: int = 0
    returncode: int | None = field(default=None)

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")


@dataclass
class Stack:
    web_a: Process
    web_b: Process
    worker: Process
    static_root: Path
    env: dict[str, str]
    tokens: dict[str, str]

    @property
    def processes(self) -> list[Process]:
        return [self.web_a, self.web_b, self.worker]


def database_url() -> str:
    s = connection.settings_dict
    host = quote(s["HOST"] or "127.0.0.1", safe="")
    user, password = quote(s["USER"] or ""), quote(s["PASSWORD"] or "")
    return f"postgres://{user}:{password}@{host}:{s['PORT'] or 5432}/{quote(s['NAME'])}"


def production_env(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LINLI_", "DJANGO_"))}
    env.update(
        DATABASE_URL=database_url(),
        DEBUG="false",
        SECRET_KEY=secrets.token_urlsafe(64),
        LINLI_BASE_DOMAIN=BASE,
        # the test is the load balancer: its X-Forwarded-Proto is believed
        LINLI_TRUSTED_PROXIES="127.0.0.1/32",
        LINLI_STATIC_ROOT=str(tmp / "static"),
        LINLI_MEDIA_ROOT=str(tmp / "media"),
        LINLI_WEB_WORKERS="2",
        LINLI_WEB_THREADS="2",
        LINLI_WEB_GRACEFUL_TIMEOUT=str(GRACEFUL_SECONDS),
        LINLI_READY_CACHE_SECONDS="0",
        LINLI_METRICS_TOKEN=METRICS_TOKEN,
        PROMETHEUS_MULTIPROC_DIR=str(tmp / "prometheus"),
        SENTRY_DSN="",
        STRIPE_SECRET_KEY="",
    )
    (tmp / "prometheus").mkdir()
    return env


def start(name: str, args: list[str], env: dict[str, str], tmp: Path) -> Process:
    stderr_path = tmp / f"{name}.stderr"
    popen = subprocess.Popen(
        [sys.executable, "-m", "linli", *args],
        env=env,
        cwd=tmp,
        stdout=subprocess.DEVNULL,
        stderr=stderr_path.open("wb"),
        start_new_session=True,
    )
    return Process(name, popen, stderr_path)


def start_web(name: str, env: dict[str, str], tmp: Path) -> Process:
    port = free_port()
    process = start(name, ["web", "--bind", f"127.0.0.1:{port}"], env, tmp)
    process.port = port
    return process


def wait_until(what: str, check: Any, processes: list[Process], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for process in processes:
            if process.popen.poll() is not None:
                pytest.fail(f"{process.name} exited while waiting for {what}:\n{process.stderr()}")
        try:
            if check():
                return
        except OSError:
            pass
        time.sleep(0.2)
    logs = "\n".join(f"--- {p.name}\n{p.stderr()[-3000:]}" for p in processes)
    pytest.fail(f"timed out waiting for {what}\n{logs}")


def stop(process: Process, timeout: float) -> int | None:
    if process.popen.poll() is None:
        process.popen.send_signal(signal.SIGTERM)
    try:
        process.returncode = process.popen.wait(timeout)
    except subprocess.TimeoutExpired:
        return None
    return process.returncode


def kill(process: Process) -> None:
    if process.popen.poll() is None:
        os.killpg(process.popen.pid, signal.SIGKILL)
        process.popen.wait(10)


def _provision() -> dict[str, str]:
    password_hash = PBKDF2PasswordHasher().encode(PASSWORD, "smokesalt", iterations=1000)
    tenant = tenant_create(
        slug=SLUG,
        name="Smoke District",
        status=Tenant.Status.ACTIVE,
        locale="en",
        admin_username=ADMIN,
        admin_password_hash=password_hash,
    )
    Domain.objects.create(domain=HOST, tenant=tenant, is_primary=False)
    with tenant_context(tenant):
        full = key_create(name="smoke", scopes=list(ALL_SCOPES)).token
        limited = key_create(name="smoke limited", scopes=["community:read"], rate_limit=2).token
    return {"full": full, "limited": limited}


def _clean_up(*, rollouts_before: int | None = None) -> None:
    tenant_db().set_schema_to_public()
    if rollouts_before is not None:  # the run `linli release` recorded
        RolloutRun.objects.filter(id__gt=rollouts_before).delete()
    if Tenant.objects.filter(schema_name=SLUG).exists():
        tenant_delete(slug=SLUG)
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM procrastinate_jobs WHERE args->>'tenant_schema' = %s", [SLUG])
        cursor.execute("DELETE FROM linli_cache WHERE cache_key LIKE %s", [f"{SLUG}:%"])


@pytest.fixture(scope="module")
def stack(django_db_setup: None, django_db_blocker: Any, tmp_path_factory: Any) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("smoke")
    processes: list[Process] = []
    with django_db_blocker.unblock():
        _clean_up()
        rollouts_before = RolloutRun.objects.order_by("-id").values_list("id", flat=True).first()
        tokens = _provision()
        try:
            env = production_env(tmp)
            release = subprocess.run(
                [sys.executable, "-m", "linli", "release", "--collectstatic"],
                env=env,
                cwd=tmp,
                capture_output=True,
                timeout=300,
            )
            assert release.returncode == 0, release.stderr.decode()
            lines = [line for line in release.stdout.decode().splitlines() if line]
            assert lines[0] == "Collected the static files.", lines
            assert lines[1].startswith("Migrated the public schema, the template and 0 "), lines
            assert b"Traceback" not in release.stderr
            web_a, web_b = start_web("web-a", env, tmp), start_web("web-b", env, tmp)
            # Its own queue: jobs other tests left in the shared database are not its business.
            worker = start(
                "worker", ["worker", "--concurrency", "2", "--queues", SMOKE_QUEUE], env, tmp
            )
            processes = [web_a, web_b, worker]
            for web in (web_a, web_b):
                wait_until(
                    f"{web.name} to answer /healthz",
                    lambda web=web: request(web.port, "GET", "/healthz").status == 200,
                    processes,
                    STARTUP_SECONDS,
                )
            yield Stack(web_a, web_b, worker, tmp / "static", env, tokens)
        finally:
            for process in processes:
                kill(process)
            _clean_up(rollouts_before=rollouts_before or 0)


# --- one web process ----------------------------------------------------------------


def test_health_then_ready_once_the_worker_beats(stack: Stack) -> None:
    port = stack.web_a.port
    assert request(port, "GET", "/healthz", host="127.0.0.1").status == 200
    wait_until(
        "/readyz to answer 200 (the worker's heartbeat)",
        lambda: request(port, "GET", "/readyz", host="127.0.0.1").status == 200,
        stack.processes,
        STARTUP_SECONDS,
    )
    ready = request(port, "GET", "/readyz", host="127.0.0.1")
    assert ready.status == 200, ready.body


def test_tenant_api_reads_and_writes_with_a_bearer_key(stack: Stack) -> None:
    auth = {"Authorization": f"Bearer {stack.tokens['full']}"}
    created = request(
        stack.web_a.port,
        "POST",
        "/api/v1/community/residents",
        headers={**auth, "Content-Type": "application/json"},
        body=json.dumps({"display_name": "Smoke Resident"}).encode(),
    )
    assert created.status == 201, created.body
    resident_id = created.json()["id"]

    listed = request(stack.web_b.port, "GET", "/api/v1/community/residents", headers=auth)
    assert listed.status == 200, listed.body
    assert [r["id"] for r in listed.json()["items"]] == [resident_id]

    unknown = request(stack.web_a.port, "GET", "/api/v1/community/residents", host="nope." + BASE)
    assert unknown.status == 404


def test_https_only_and_remembered_by_browsers(stack: Stack) -> None:
    # through the load balancer (HTTPS): answered, with HSTS
    secure = request(stack.web_a.port, "GET", "/admin/login/")
    assert secure.status == 200
    assert secure.headers["Strict-Transport-Security"] == ("max-age=31536000; includeSubDomains")
    # plain HTTP is sent to HTTPS on the tenant's host
    plain = request(stack.web_a.port, "GET", "/admin/login/", headers={"X-Forwarded-Proto": "http"})
    assert plain.status == 301
    assert plain.headers["Location"] == f"https://{HOST}/admin/login/"
    # probes are answered over plain HTTP too
    probe = request(stack.web_a.port, "GET", "/healthz", headers={"X-Forwarded-Proto": "http"})
    assert probe.status == 200


def test_admin_login_page_and_static_files_with_long_cache(stack: Stack) -> None:
    login = request(stack.web_a.port, "GET", "/admin/login/")
    assert login.status == 200
    assert b'name="csrfmiddlewaretoken"' in login.body

    manifest = json.loads((stack.static_root / "staticfiles.json").read_text())
    hashed = manifest["paths"]["admin/css/base.css"]
    assert hashed != "admin/css/base.css"
    css = request(stack.web_b.port, "GET", f"/static/{hashed}")
    assert css.status == 200
    assert css.headers["Content-Type"].startswith("text/css")
    assert "max-age=315360000" in css.headers["Cache-Control"]
    assert "immutable" in css.headers["Cache-Control"]


def test_job_deferred_here_is_done_by_the_worker_process(
    stack: Stack, django_db_blocker: Any
) -> None:
    with django_db_blocker.unblock():
        tenant = Tenant.objects.get(schema_name=SLUG)
        job_id = group_ensure.configure(tenant=tenant, queue=SMOKE_QUEUE).defer(name=GROUP)

        def done() -> bool:
            return ProcrastinateJob.objects.get(id=job_id).status == "succeeded"

        wait_until("the worker to run the job", done, stack.processes, 60)
        with tenant_context(tenant):
            from django.contrib.auth.models import Group

            assert Group.objects.filter(name=GROUP).count() == 1


def test_metrics_are_summed_across_worker_processes(stack: Stack) -> None:
    scrape = request(
        stack.web_a.port,
        "GET",
        "/metrics",
        host=BASE,
        headers={"Authorization": f"Bearer {METRICS_TOKEN}"},
    )
    assert scrape.status == 200
    assert b"linli_http_requests_total" in scrape.body


# --- two web processes share sessions, rate-limit counts and the cache --------------


def _log_in(port: int) -> dict[str, str]:
    page = request(port, "GET", "/admin/login/")
    cookies = page.cookies()
    form = urlencode(
        {
            "csrfmiddlewaretoken": cookies["csrftoken"],
            "username": ADMIN,
            "password": PASSWORD,
            "next": "/admin/",
        }
    ).encode()
    answer = request(
        port,
        "POST",
        "/admin/login/?next=/admin/",
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": cookie_header(cookies),
            "Origin": f"https://{HOST}",
        },
        body=form,
    )
    assert answer.status == 302, answer.body[:2000]
    assert answer.headers["Location"] == "/admin/"
    return {**cookies, **answer.cookies()}


def test_a_session_from_one_web_process_works_on_the_other(stack: Stack) -> None:
    cookies = _log_in(stack.web_a.port)
    assert "sessionid" in cookies

    home = request(stack.web_b.port, "GET", "/admin/", headers={"Cookie": cookie_header(cookies)})
    assert home.status == 200
    anonymous = request(stack.web_b.port, "GET", "/admin/")
    assert anonymous.status == 302
    assert anonymous.headers["Location"].startswith("/admin/login/")


def test_a_rate_limit_counts_requests_to_both_web_processes(stack: Stack) -> None:
    # A minute boundary between the requests would start a new window.
    if time.gmtime().tm_sec > 50:
        time.sleep(61 - time.gmtime().tm_sec)
    auth = {"Authorization": f"Bearer {stack.tokens['limited']}"}
    path = "/api/v1/community/residents"
    first = request(stack.web_a.port, "GET", path, headers=auth)
    second = request(stack.web_b.port, "GET", path, headers=auth)
    third = request(stack.web_a.port, "GET", path, headers=auth)
    fourth = request(stack.web_b.port, "GET", path, headers=auth)
    assert [first.status, second.status] == [200, 200]
    assert [third.status, fourth.status] == [429, 429]
    assert third.json()["code"] == "rate_limited"
    assert 1 <= int(fourth.headers["Retry-After"]) <= 60


def test_the_cache_is_shared_between_web_processes(stack: Stack, django_db_blocker: Any) -> None:
    """The admin's search caches its results (django-unfold, Django's cache), keyed by
    user and term: web A fills the entry, this process reads it from the same table under
    the tenant's key prefix, replaces it, and web B answers from the replaced entry."""
    cookies = {"Cookie": cookie_header(_log_in(stack.web_a.port))}
    found = request(stack.web_a.port, "GET", "/admin/search/?s=resident", headers=cookies)
    assert found.status == 200
    assert b"Residents" in found.body
    assert b"Planted" not in found.body

    from unfold.dataclasses import SearchResult

    with django_db_blocker.unblock():
        tenant = Tenant.objects.get(schema_name=SLUG)
        with tenant_context(tenant):
            from django.contrib.auth import get_user_model

            user_pk = get_user_model().objects.get(username=ADMIN).pk
            digest = hashlib.sha256(f"{user_pk}_resident".encode()).hexdigest()
            key = f"unfold_search_{digest}"
            cached = cache.get(key)
            assert cached is not None, "web A did not write its search to the shared cache"
            assert "Residents" in [result.title for result in cached]
            planted = SearchResult(
                title="Planted by the smoke test", description="cache", link="/admin/", icon=None
            )
            cache.set(key, [planted], 300)
        with schema_context("public"):
            assert cache.get(key) is None  # another schema's prefix: not the tenant's entry

    answer = request(stack.web_b.port, "GET", "/admin/search/?s=resident", headers=cookies)
    assert answer.status == 200
    assert b"Planted by the smoke test" in answer.body


# --- shutdown -------------------------------------------------------------------------


def test_sigterm_stops_every_process_cleanly(stack: Stack) -> None:
    # given: a request served just before, so the workers have something to flush
    assert request(stack.web_a.port, "GET", "/healthz").status == 200
    # when
    codes = {p.name: stop(p, GRACEFUL_SECONDS + 10) for p in stack.processes}
    # then
    assert codes == {"web-a": 0, "web-b": 0, "worker": 0}
    for process in stack.processes:
        stderr = process.stderr()
        assert "Traceback" not in stderr, stderr
        assert '"level": "ERROR"' not in stderr and "[ERROR]" not in stderr, stderr
    with pytest.raises(OSError):
        request(stack.web_a.port, "GET", "/healthz")
