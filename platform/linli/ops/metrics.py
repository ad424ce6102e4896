"""Prometheus metrics, scraped at ``/metrics`` on the platform host.

Requests are counted and timed by module (``shop``, ``admin``...) and status
class (``2xx``); server errors counted by module; job failures by task. At
scrape time one query reads the job queues (depth and oldest waiting job per
queue) and, when Django's psycopg pool is configured, the pool's use is read.
No metric has a tenant label: with thousands of tenants that would multiply
every series by thousands (per-tenant figures belong to the ops console).

Several processes (gunicorn workers, job workers): set ``PROMETHEUS_MULTIPROC_DIR``
to an empty directory shared by the processes of one machine, before they
start. prometheus_client then keeps each process's values in files there and
``/metrics`` sums them (``prometheus_client.multiprocess``); gunicorn's
``child_exit`` hook should call ``multiprocess.mark_process_dead(worker.pid)``.
Without it, the process's own default registry is served.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from typing import Any

from django.db import connection, connections
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

CONTENT_TYPE = CONTENT_TYPE_LATEST
MULTIPROCESS = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))

REQUESTS = Counter("linli_http_requests_total", "HTTP requests answered.", ["module", "status"])
LATENCY = Histogram(
    "linli_http_request_duration_seconds",
    "Time to answer an HTTP request.",
    ["module", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
ERRORS = Counter(
    "linli_http_errors_total", "HTTP requests answered with a server error (5xx).", ["module"]
)
JOB_FAILURES = Counter("linli_job_failures_total", "Jobs that raised.", ["task"])

_POOL_FIELDS = (
    ("pool_size", "linli_db_pool_connections", "Connections held by the database pool."),
    ("pool_available", "linli_db_pool_idle", "Idle connections in the database pool."),
    ("requests_waiting", "linli_db_pool_waiting", "Requests waiting for a pooled connection."),
    ("pool_max", "linli_db_pool_max", "Largest size of the database pool."),
)

_QUEUES_SQL = """
SELECT j.queue_name,
       count(*) FILTER (WHERE j.status = 'todo'),
       count(*) FILTER (WHERE j.status = 'doing'),
       coalesce(extract(epoch FROM now() - min(coalesce(j.scheduled_at, d.at))
                FILTER (WHERE j.status = 'todo')), 0)
FROM procrastinate_jobs j
LEFT JOIN LATERAL (
    SELECT min(e.at) AS at FROM procrastinate_events e
    WHERE e.job_id = j.id AND e.type = 'deferred'
) d ON j.status = 'todo'
WHERE j.status = 'doing'
   OR (j.status = 'todo' AND (j.scheduled_at IS NULL OR j.scheduled_at <= now()))
GROUP BY j.queue_name
"""


def status_class(status: int) -> str:
    return f"{status // 100}xx"


def observe_request(*, module: str, status: int, seconds: float) -> None:
    label = status_class(status)
    REQUESTS.labels(module=module, status=label).inc()
    LATENCY.labels(module=module, status=label).observe(seconds)
    if status >= 500:
        ERRORS.labels(module=module).inc()
    if _pool_gauges is not None:
        _pool_gauges.update()


def _known_queues() -> set[str]:
    from procrastinate.contrib.django import app

    return {task.queue for task in app.tasks.values()}


class QueueCollector(Collector):
    """Depth and oldest waiting job per queue, in one query over ``procrastinate_jobs``."""

    def collect(self) -> Iterable[Any]:
        queued = GaugeMetricFamily(
            "linli_jobs_queued", "Jobs due and waiting for a worker.", labels=["queue"]
        )
        running = GaugeMetricFamily(
            "linli_jobs_running", "Jobs a worker is running.", labels=["queue"]
        )
        oldest = GaugeMetricFamily(
            "linli_jobs_oldest_age_seconds",
            "How long the oldest job due in the queue has waited.",
            labels=["queue"],
        )
        rows = {queue: (0, 0, 0.0) for queue in _known_queues()}
        with connection.cursor() as cursor:
            cursor.execute(_QUEUES_SQL)
            for queue, todo, doing, age in cursor.fetchall():
                rows[queue] = (int(todo), int(doing), float(age))
        for queue, (todo, doing, age) in sorted(rows.items()):
            queued.add_metric([queue], todo)
            running.add_metric([queue], doing)
            oldest.add_metric([queue], age)
        yield from (queued, running, oldest)


def _pool() -> Any:
    """Django's psycopg pool of the default database, or None when not configured."""
    database = connections["default"]
    if not database.settings_dict.get("OPTIONS", {}).get("pool"):
        return None
    return getattr(database, "pool", None)


class PoolCollector(Collector):
    """This process's database pool (single-process mode); nothing without a pool."""

    def collect(self) -> Iterator[Any]:
        pool = _pool()
        if pool is None:
            return
        stats = pool.get_stats()
        for field, name, documentation in _POOL_FIELDS:
            yield GaugeMetricFamily(name, documentation, value=stats.get(field, 0))


class _PoolGauges:
    """In multiprocess mode each process writes its pool's figures after each request, and
    the scrape sums the live processes' values."""

    def __init__(self) -> None:
        self.gauges = {
            field: Gauge(name, documentation, multiprocess_mode="livesum")
            for field, name, documentation in _POOL_FIELDS
        }

    def update(self) -> None:
        pool = _pool()
        if pool is None:
            return
        stats = pool.get_stats()
        for field, gauge in self.gauges.items():
            gauge.set(stats.get(field, 0))


def _pool_configured() -> bool:
    from django.conf import settings

    return bool(settings.DATABASES["default"].get("OPTIONS", {}).get("pool"))


_pool_gauges = _PoolGauges() if MULTIPROCESS and _pool_configured() else None


def exposition() -> bytes:
    """The text exposition for a scrape: the process (or all processes) plus scrape-time reads."""
    scrape = CollectorRegistry(auto_describe=False)
    scrape.register(QueueCollector())
    if MULTIPROCESS:
        multiprocess.MultiProcessCollector(scrape)
        if _pool_gauges is not None:
            _pool_gauges.update()
        return generate_latest(scrape)
    scrape.register(PoolCollector())
    return generate_latest(REGISTRY) + generate_latest(scrape)
