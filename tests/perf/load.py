"""Load benchmark: `linli web` under a bounded mix of API reads and writes on the full demo city.

    make bench                                      # runs this too
    .venv/bin/python tests/perf/load.py --requests 3000 --clients 16

It builds the full demo city (about 50,000 residents) in a throwaway database, issues
an API key, then for one and for two `linli web` processes (each with
``LINLI_WEB_WORKERS`` workers of ``LINLI_WEB_THREADS`` threads, production settings)
sends a fixed number of requests from concurrent clients over loopback, spread
evenly over the processes, stopping early at ``--seconds``: 80 % list and detail
reads across community, help team, deliberation and shop, 20 % writes (new help
requests). It prints throughput, p50/p95/p99 latency and errors (any 5xx, any
connection failure, any unexpected status) for each, next to a bare endpoint (a key
check, one indexed query, a small body) driven through the same processes in the same
run: the machine's limit for this stack, and the mix's share of it. The CPU each
request cost the web processes, PostgreSQL and the load clients says where the time
went. ``--profile N`` first runs each operation of the mix in this process: wall, CPU
and database time, statements, and the functions with the most own time.

The web processes run with `linli web`'s own sizing (``LINLI_WEB_WORKERS`` workers of
``LINLI_WEB_THREADS`` threads) unless told otherwise; two processes on one machine are
each sized for half its CPUs, as two pods with CPU limits would be. Each client opens a new
connection every ``--reconnect`` requests, as a proxy's pool turns over: a connection
stays with the worker that accepted it, and sixteen connections for a whole run leave
the workers' shares to the luck of the first accepts.
"""

from __future__ import annotations

import argparse
import http.client
import json
import logging
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT / "platform"), str(ROOT)]
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "linli.settings")

import django  # noqa: E402
import psutil  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402
from django_tenants.utils import tenant_context  # noqa: E402

from api.access.services import key_create  # noqa: E402
from api.scopes import ALL_SCOPES  # noqa: E402
from linli.cli import WEB_WORKERS_MAX  # noqa: E402
from linli.db.access import tenant_db  # noqa: E402
from linli.ops import usage  # noqa: E402
from linli.registry.demo import demo_build  # noqa: E402

HOST = "cenxi.localhost"
SECRET = "load-benchmark-secret-" + "x" * 40


def _database_url() -> str:
    db = connection.settings_dict
    host = quote(str(db["HOST"]), safe="")
    port = f":{db['PORT']}" if db.get("PORT") else ""
    password = f":{quote(str(db['PASSWORD']), safe='')}" if db.get("PASSWORD") else ""
    return f"postgresql://{db['USER']}{password}@{host}{port}/{db['NAME']}"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class City:
    token: str
    residents: list[int]
    estates: list[int]


def build_city(scale: str) -> City:
    tenant, _counts = demo_build(scale=scale, slug="cenxi")
    with tenant_context(tenant):
        from tenants.community.models import Estate, Resident

        token = key_create(name="load", scopes=list(ALL_SCOPES), rate_limit=10_000_000).token
        residents = list(
            Resident.objects.filter(status="active").values_list("id", flat=True)[:5000]
        )
        estates = list(Estate.objects.values_list("id", flat=True))
    tenant_db().set_schema_to_public()
    return City(token=token, residents=residents, estates=estates)


def start_web(port: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(  # our own interpreter and command
        [sys.executable, "-m", "linli", "web", "--bind", f"127.0.0.1:{port}"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def stop_web(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
    processes.clear()


def workers_for(processes: int) -> str:
    """`linli web`'s default workers for one of ``processes`` sharing this machine's CPUs."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    share = max(1, (cpus or 1) // processes)
    return str(min(2 * share + 1, WEB_WORKERS_MAX))


def wait_ready(port: int, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz", headers={"Host": HOST})
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"linli web on port {port} did not start")


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    by_kind: dict[str, list[float]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def request_mix(city: City, rng: random.Random) -> tuple[str, str, dict[str, Any] | None, int]:
    """One request of the mix: method, path, body, expected status."""
    roll = rng.random()
    if roll < 0.2:
        start = timezone.now() + timedelta(hours=rng.randint(2, 48))
        body = {
            "requester_id": rng.choice(city.residents),
            "category": "errand",
            "description": "幫忙取快遞",
            "window_start": start.isoformat(),
            "window_end": (start + timedelta(hours=1)).isoformat(),
        }
        return "POST", "/api/v1/helpteam/requests", body, 201
    reads = [
        "/api/v1/community/residents?limit=50",
        f"/api/v1/community/residents?estate_id={rng.choice(city.estates)}&limit=50",
        f"/api/v1/community/residents/{rng.choice(city.residents)}",
        "/api/v1/helpteam/requests?limit=50",
        "/api/v1/deliberation/topics?limit=50",
        "/api/v1/shop/products?limit=50",
        "/api/v1/community/estates?limit=50",
    ]
    return "GET", rng.choice(reads), None, 200


def request_bare(city: City, rng: random.Random) -> tuple[str, str, dict[str, Any] | None, int]:
    """The machine's limit for this stack: a key check, one indexed query, a small body."""
    return "GET", f"/api/v1/community/estates/{rng.choice(city.estates)}", None, 200


MIXES = {"mix": request_mix, "bare": request_bare}
RECONNECT_EVERY = 25  # requests per client connection (0: one connection for the whole run)


class DatabaseTime:
    """Statements and the time spent waiting on them, for one request at a time."""

    def __init__(self) -> None:
        self.count = 0
        self.seconds = 0.0

    def __call__(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        start = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.seconds += time.perf_counter() - start
            self.count += 1


def _ignore_start_response(*_args: Any) -> Any:
    return None


def _kind(method: str, path: str) -> str:
    return f"{method} {path.split('?')[0].rstrip('0123456789')}"


def profile(city: City, samples: int, top: int) -> None:
    """Each operation of the mix in this process, one at a time: where its server time goes.

    Wall and CPU time per request (p50), the time spent waiting on PostgreSQL and the
    number of statements, then the functions with the most own time under cProfile.
    """
    import cProfile
    import io
    import pstats

    from django.conf import settings
    from django.core.handlers.wsgi import WSGIHandler

    settings.DEBUG = False  # as `linli web` runs: no query log kept in memory
    logging.getLogger("linli.access").setLevel(logging.WARNING)  # a line per request is noise
    handler = WSGIHandler()
    rng = random.Random(7)  # noqa: S311 - a reproducible load mix, not secrets
    by_kind: dict[str, list[tuple[str, str, dict[str, Any] | None, int]]] = {}
    for _i in range(4000):
        method, path, body, expected = request_mix(city, rng)
        by_kind.setdefault(_kind(method, path), []).append((method, path, body, expected))
    bare_rng = random.Random(8)  # noqa: S311
    by_kind["GET /api/v1/community/estates/ (bare)"] = [
        request_bare(city, bare_rng) for _i in range(samples * 2)
    ]

    def call(method: str, path: str, body: dict[str, Any] | None, expected: int) -> None:
        payload = json.dumps(body).encode() if body is not None else b""
        route, _, query = path.partition("?")
        environ = {
            "REQUEST_METHOD": method,
            "PATH_INFO": route,
            "QUERY_STRING": query,
            "SERVER_NAME": HOST,
            "SERVER_PORT": "80",
            "HTTP_HOST": HOST,
            "HTTP_AUTHORIZATION": f"Bearer {city.token}",
            "REMOTE_ADDR": "127.0.0.1",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "wsgi.input": io.BytesIO(payload),
            "wsgi.url_scheme": "http",
            "wsgi.errors": sys.stderr,
        }
        if payload:
            environ["CONTENT_TYPE"] = "application/json"
            environ["CONTENT_LENGTH"] = str(len(payload))
        response = handler(environ, _ignore_start_response)
        b"".join(response)
        response.close()
        if response.status_code != expected:
            raise RuntimeError(f"{method} {path}: {response.status_code}")

    print(
        f"\nServer time per operation, in this process ({samples} requests each, p50):\n"
        f"  {'operation':<48} {'wall ms':>8} {'cpu ms':>7} {'db ms':>7} {'queries':>7}",
        flush=True,
    )
    profiles: dict[str, pstats.Stats] = {}
    for kind, calls in sorted(by_kind.items()):
        for args in calls[:5]:  # warm: routes, caches, prepared plans
            call(*args)
        walls, cpus, dbs, counts = [], [], [], []
        for args in (calls * (samples // len(calls) + 1))[5 : 5 + samples]:
            timer = DatabaseTime()
            wall, cpu = time.perf_counter(), time.thread_time()
            with connection.execute_wrapper(timer):
                call(*args)
            walls.append(time.perf_counter() - wall)
            cpus.append(time.thread_time() - cpu)
            dbs.append(timer.seconds)
            counts.append(timer.count)
        print(
            f"  {kind:<48} {statistics.median(walls) * 1000:8.2f}"
            f" {statistics.median(cpus) * 1000:7.2f} {statistics.median(dbs) * 1000:7.2f}"
            f" {statistics.median(counts):7.0f}",
            flush=True,
        )
        profiler = cProfile.Profile()
        profiler.enable()
        for args in calls[:samples]:
            call(*args)
        profiler.disable()
        profiles[kind] = pstats.Stats(profiler)
    for kind, stats in profiles.items() if top else ():
        print(f"\n  {kind}: most own time (cProfile)")
        rows = sorted(stats.stats.items(), key=lambda item: -item[1][2])  # type: ignore[attr-defined]
        for (filename, line, function), (_cc, calls, own, _cum, _callers) in rows[:top]:
            where = filename.replace(str(ROOT) + "/", "").split("site-packages/")[-1]
            print(
                f"    {own * 1000 / samples:7.3f} ms {calls / samples:6.1f} calls"
                f"  {where}:{line} {function}"
            )
    tenant_db().set_schema_to_public()


def client(
    port: int, city: City, count: int, deadline: float, tally: Tally, seed: int, mix: str = "mix"
) -> None:
    rng = random.Random(seed)  # noqa: S311 - a reproducible load mix, not secrets
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Host": HOST, "Authorization": f"Bearer {city.token}"}
    for i in range(count):
        if time.monotonic() > deadline:
            break
        if RECONNECT_EVERY and i and i % RECONNECT_EVERY == 0:
            # A connection stays with the worker that accepted it: turning them over now and
            # then keeps the share of each worker even, as a proxy's pool does over time.
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        method, path, body, expected = MIXES[mix](city, rng)
        payload = json.dumps(body).encode() if body is not None else None
        sent = dict(headers)
        if payload is not None:
            sent["Content-Type"] = "application/json"
        start = time.perf_counter()
        try:
            conn.request(method, path, body=payload, headers=sent)
            response = conn.getresponse()
            response.read()
            status = response.status
        except OSError as exc:
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            with tally.lock:
                tally.errors.append(f"{method} {path}: {exc}")
            continue
        elapsed = time.perf_counter() - start
        kind = _kind(method, path)
        with tally.lock:
            tally.latencies.append(elapsed)
            tally.by_kind.setdefault(kind, []).append(elapsed)
            if status != expected:
                tally.errors.append(f"{method} {path}: {status}")
    conn.close()


def _cpu_seconds(processes: list[psutil.Process]) -> float:
    total = 0.0
    for process in processes:
        try:
            times = process.cpu_times()
        except psutil.Error:  # gone since it was listed
            continue
        # with the children it has reaped: a web worker recycled, a backend that closed
        total += times.user + times.system + times.children_user + times.children_system
    return total


def cpu_split(web_pids: list[int]) -> dict[str, float]:
    """CPU seconds used so far by the web processes (with their workers), PostgreSQL's
    processes and this one (the clients): where the machine's time goes under load."""
    web = []
    for pid in web_pids:
        try:
            parent = psutil.Process(pid)
            web += [parent, *parent.children(recursive=True)]
        except psutil.Error:
            continue
    postgres = [p for p in psutil.process_iter(["name"]) if p.info["name"] == "postgres"]
    return {
        "web": _cpu_seconds(web),
        "postgres": _cpu_seconds(postgres),
        "clients": _cpu_seconds([psutil.Process()]),
    }


def run_load(
    ports: list[int],
    city: City,
    requests: int,
    clients: int,
    seconds: float,
    mix: str = "mix",
    web_pids: list[int] | None = None,
) -> dict[str, Any]:
    tally = Tally()
    before = cpu_split(web_pids or [])
    deadline = time.monotonic() + seconds
    per_client = requests // clients
    threads = [
        threading.Thread(
            target=client,
            args=(ports[i % len(ports)], city, per_client, deadline, tally, i, mix),
        )
        for i in range(clients)
    ]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - start
    after = cpu_split(web_pids or [])
    ordered = sorted(tally.latencies)

    def pct(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000

    return {
        "done": len(ordered),
        "seconds": wall,
        "throughput": len(ordered) / wall,
        "p50": statistics.median(ordered) * 1000,
        "p95": pct(0.95),
        "p99": pct(0.99),
        "errors": tally.errors,
        # CPU milliseconds per request answered, by who spent them
        "cpu": {part: (after[part] - before[part]) * 1000 / max(1, len(ordered)) for part in after},
        "kinds": {
            kind: (len(times), statistics.median(times) * 1000)
            for kind, times in sorted(tally.by_kind.items())
        },
    }


def main() -> int:
    global RECONNECT_EVERY  # the clients read it
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--scale", choices=["small", "full"], default="full")
    parser.add_argument("--detail", action="store_true", help="p50 per kind of request")
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=120)
    # `linli web`'s own sizing unless told otherwise: the benchmark measures what ships.
    parser.add_argument(
        "--workers",
        default=os.environ.get("LINLI_WEB_WORKERS"),
        help="workers per web process (default: `linli web`'s, for its share of the CPUs)",
    )
    parser.add_argument("--threads", default=os.environ.get("LINLI_WEB_THREADS", "4"))
    parser.add_argument(
        "--reconnect",
        type=int,
        default=RECONNECT_EVERY,
        help="requests per client connection (0: one for the whole run)",
    )
    parser.add_argument(
        "--profile",
        type=int,
        default=0,
        metavar="N",
        help="first profile each operation in-process over N requests (server time, database\n"
        "time, queries, the functions with most own time)",
    )
    parser.add_argument("--top", type=int, default=8, help="functions listed per operation")
    parser.add_argument("--no-load", action="store_true", help="profile only")
    args = parser.parse_args()
    RECONNECT_EVERY = args.reconnect

    connection.settings_dict["TEST"]["NAME"] = "linli_load_bench"
    connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    processes: list[subprocess.Popen[bytes]] = []
    static = ""
    try:
        started = time.perf_counter()
        city = build_city(args.scale)
        print(
            f"{args.scale.capitalize()} demo city built in {time.perf_counter() - started:.0f} s; "
            f"{args.workers or workers_for(1)} workers x {args.threads} threads per web process"
            f" ({workers_for(2)} each of two), "
            f"{args.clients} clients, {args.requests} requests (80 % reads, 20 % writes)",
            flush=True,
        )
        if args.profile:
            profile(city, args.profile, args.top)
        if args.no_load:
            return 0
        static = tempfile.mkdtemp(prefix="linli-static-")
        env = {
            **os.environ,
            "DATABASE_URL": _database_url(),
            "DEBUG": "0",
            "SECRET_KEY": SECRET,
            "LINLI_STATIC_ROOT": static,
            "LINLI_WEB_THREADS": str(args.threads),
            "LINLI_READY_REQUIRES_WORKER": "0",
            "LINLI_LOG_LEVEL": "WARNING",
        }
        subprocess.run(  # linli web serves collected static files, and wants them
            [sys.executable, "-m", "linli", "manage", "collectstatic", "--noinput", "-v", "0"],
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        print(
            f"\n(j) API load (`linli web`, loopback)   {'requests':>8} {'req/s':>7} "
            f"{'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'errors':>6}",
            flush=True,
        )
        ports = [_free_port(), _free_port()]
        for count in (1, 2):
            stop_web(processes)
            # Each process sized for its share of the machine, as pods with CPU limits are.
            sized = {**env, "LINLI_WEB_WORKERS": args.workers or workers_for(count)}
            processes[:] = [start_web(port, sized) for port in ports[:count]]
            for port in ports[:count]:
                wait_ready(port)
            run_load(ports[:count], city, args.requests // 10, args.clients, 30)  # warm-up
            # The limit first, then the mix, through the same processes in the same run.
            pids = [process.pid for process in processes[:count]]
            bare = run_load(
                ports[:count], city, args.requests, args.clients, args.seconds, "bare", pids
            )
            r = run_load(
                ports[:count], city, args.requests, args.clients, args.seconds, "mix", pids
            )
            name = f"{count} web process{'es' if count > 1 else ''}"
            for label, result in ((f"{name}, bare endpoint", bare), (f"{name}, mix", r)):
                print(
                    f"  {label:<34} {result['done']:>8} {result['throughput']:7.0f}"
                    f" {result['p50']:7.1f} {result['p95']:7.1f} {result['p99']:7.1f}"
                    f" {len(result['errors']):>6}",
                    flush=True,
                )
            print(
                f"    mix / bare: throughput x{r['throughput'] / bare['throughput']:.2f},"
                f" p99 x{r['p99'] / bare['p99']:.2f}",
                flush=True,
            )
            for label, result in (("bare", bare), ("mix", r)):
                cpu = result["cpu"]
                busy = sum(cpu.values()) * result["throughput"] / 10 / (os.cpu_count() or 1)
                print(
                    f"    CPU per request, {label}: web {cpu['web']:.1f} ms,"
                    f" PostgreSQL {cpu['postgres']:.1f} ms, load clients {cpu['clients']:.1f} ms"
                    f" ({busy:.0f} % of the machine)",
                    flush=True,
                )
            for error in (bare["errors"] + r["errors"])[:5]:
                print(f"    {error}")
            if args.detail:
                for kind, (n, p50) in r["kinds"].items():
                    print(f"    {kind:<48} {n:>6} p50 {p50:8.1f} ms")
    finally:
        stop_web(processes)
        if static:
            shutil.rmtree(static, ignore_errors=True)
        usage.counter.flush()  # the profile's counts, to the database before it goes
        tenant_db().set_schema_to_public()
        connection.close()
        connection.creation.destroy_test_db("linli_load_bench", verbosity=0)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
