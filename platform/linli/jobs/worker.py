"""Run the job worker on its own PostgreSQL pool (procrastinate's async connector).

Deferring uses Django's connection; the worker needs an async connector that
listens for new jobs, so it swaps one in for the worker's lifetime. Several
workers on several machines share the queue safely: jobs are taken with
``FOR UPDATE SKIP LOCKED`` inside PostgreSQL.

What this module adds to procrastinate's worker:

- **Slots of its own for webhook delivery.** Without ``--queues``, one process runs two
  procrastinate workers side by side: one on the ``webhooks`` queue, one on every other
  queue (notices, tenant jobs, the platform's periodic jobs), each with its own
  concurrency, so slow receivers can never take the slots notices are sent from.
- **It survives the database.** procrastinate stops a worker when a side task (the
  heartbeat, the listener, the periodic deferrer) fails, and raises when fetching a job
  fails; here, when that is the database going away, the worker waits (1 s, doubling up
  to 30 s), reconnects and carries on. Jobs it was running when the connection broke are
  picked up again by the stalled-job sweep (``linli.jobs.tasks.jobs_retry_stalled``).
- **An honest exit status.** SIGTERM or SIGINT stops it cleanly (jobs in flight finish)
  and it returns; any other failure raises, so ``linli worker`` exits non-zero.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, cast

from procrastinate.contrib.django import app

from linli.ops.health import database_unavailable

logger = logging.getLogger("linli.jobs")

WEBHOOKS_QUEUE = "webhooks"
RECONNECT_FIRST_SECONDS = 1.0
RECONNECT_MAX_SECONDS = 30.0


@dataclass(frozen=True)
class Slots:
    """One procrastinate worker: a name for the logs, its queues (None: all), its jobs at once."""

    name: str
    queues: list[str] | None
    concurrency: int


def known_queues() -> set[str]:
    """Every queue a registered task defers to."""
    return {task.queue for task in app.tasks.values()}


def worker_slots(
    *, queues: Iterable[str] | None, concurrency: int, webhook_concurrency: int
) -> list[Slots]:
    """The named queues in one worker; otherwise webhooks apart from everything else."""
    chosen = sorted(set(queues or ()))
    if chosen:
        return [Slots("worker", chosen, concurrency)]
    others = sorted(known_queues() - {WEBHOOKS_QUEUE})
    return [
        Slots("jobs", others, concurrency),
        Slots(WEBHOOKS_QUEUE, [WEBHOOKS_QUEUE], webhook_concurrency),
    ]


class WorkerFailed(RuntimeError):
    """The worker stopped for a reason other than the database or a request to stop."""


class _SideTaskFailures(logging.Handler):
    """procrastinate reports a failed side task (and stops the worker) through its log,
    with ``action="side_task_failed"`` and the exception; keep the exception."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.failure: BaseException | None = None

    def emit(self, record: logging.LogRecord) -> None:
        if getattr(record, "action", None) == "side_task_failed" and record.exc_info:
            self.failure = self.failure or record.exc_info[1]


def run_worker(
    *,
    queues: Iterable[str] | None = None,
    concurrency: int = 1,
    webhook_concurrency: int | None = None,
    wait: bool = True,
    install_signal_handlers: bool = True,
    **options: Any,
) -> None:
    """Run jobs until stopped (or, with ``wait=False``, until none are waiting)."""
    slots = worker_slots(
        queues=queues,
        concurrency=concurrency,
        webhook_concurrency=webhook_concurrency or concurrency,
    )
    connector = cast(Any, app.connector).get_worker_connector()
    with app.replace_connector(connector):
        asyncio.run(
            _supervise(slots, wait=wait, handle_signals=install_signal_handlers, options=options)
        )


async def _supervise(
    slots: list[Slots], *, wait: bool, handle_signals: bool, options: dict[str, Any]
) -> None:
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    previous = {signum: signal.getsignal(signum) for signum in (signal.SIGTERM, signal.SIGINT)}
    if handle_signals:
        for signum in previous:
            loop.add_signal_handler(signum, stopping.set)
    delay = 0.0
    try:
        while True:
            side_tasks = _SideTaskFailures()
            watched = logging.getLogger("procrastinate.worker")
            watched.addHandler(side_tasks)
            cause: BaseException | None = None
            started = loop.time()
            try:
                async with app.open_async():
                    await _run(slots, wait=wait, stopping=stopping, options=options)
            except Exception as exc:
                if not wait or not database_unavailable(exc):
                    raise
                cause = exc
            finally:
                watched.removeHandler(side_tasks)
            if stopping.is_set() or (not wait and cause is None):
                return
            cause = cause or side_tasks.failure
            if cause is not None and not database_unavailable(cause):
                raise WorkerFailed(f"a worker task failed: {cause!r}") from cause
            if loop.time() - started > RECONNECT_MAX_SECONDS:
                delay = 0.0  # it ran a while: a new outage starts the backoff anew
            delay = min(max(RECONNECT_FIRST_SECONDS, delay * 2), RECONNECT_MAX_SECONDS)
            logger.warning(
                "database unavailable (%s); the job worker reconnects in %.0f s",
                cause or "the worker stopped",
                delay,
                extra={"action": "worker_reconnect", "delay_seconds": delay},
            )
            try:
                await asyncio.wait_for(stopping.wait(), delay)
                return  # asked to stop while waiting
            except TimeoutError:
                continue
    finally:
        if handle_signals:
            for signum, handler in previous.items():
                loop.remove_signal_handler(signum)
                signal.signal(signum, handler)


async def _run(
    slots: list[Slots], *, wait: bool, stopping: asyncio.Event, options: dict[str, Any]
) -> None:
    """Run one procrastinate worker per slot group until one ends or a stop is asked; a
    stop cancels them all, which procrastinate turns into a graceful shutdown."""
    workers = []
    for group in slots:
        settings: dict[str, Any] = {
            "name": group.name,
            "concurrency": group.concurrency,
            "wait": wait,
            "install_signal_handlers": False,
            **options,
        }
        if group.queues is not None:
            settings["queues"] = group.queues
        workers.append(
            asyncio.create_task(app.run_worker_async(**settings), name=f"worker {group.name}")
        )
    stop = asyncio.create_task(stopping.wait(), name="stop requested")
    try:
        if wait:  # until a stop is asked, or one of them stops by itself
            await asyncio.wait([*workers, stop], return_when=asyncio.FIRST_COMPLETED)
        else:  # until each has caught up with its queues
            await asyncio.wait(workers, return_when=asyncio.FIRST_EXCEPTION)
    finally:
        stop.cancel()
        for worker in workers:
            if not worker.done():
                worker.cancel()
        results = await asyncio.gather(*workers, return_exceptions=True)
    for result in results:
        if isinstance(result, Exception):
            raise result
