"""Structured logs: one JSON object per line, carrying the request or job it belongs to.

The request middleware (and the job decorators) bind ``request_id``, ``tenant``,
``module`` and ``task`` into a context variable; every line logged while they run
carries them, whichever logger wrote it. Who is acting (a staff user or an API
key) comes from the audit actor. Development keeps plain text
(``LINLI_LOG_FORMAT=text``), with the request id appended.
"""

from __future__ import annotations

import contextvars
import functools
import json
import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

from tenants.audit.context import current_actor

FORMATS = ("json", "text")
CONTEXT_FIELDS = ("request_id", "tenant", "module", "task")
# Extra fields a log call may carry (``logger.info(..., extra={...})``), in output order.
EXTRA_FIELDS = ("method", "path", "status", "duration_ms")

_EMPTY: Mapping[str, Any] = MappingProxyType({})
_context: contextvars.ContextVar[Mapping[str, Any]] = contextvars.ContextVar(
    "linli_log_context", default=_EMPTY
)


def log_context() -> Mapping[str, Any]:
    """The fields bound to the current request or job."""
    return _context.get()


@contextmanager
def bound(**fields: Any) -> Iterator[None]:
    """Add ``fields`` to every log line written inside the block."""
    token = _context.set(MappingProxyType({**_context.get(), **fields}))
    try:
        yield
    finally:
        _context.reset(token)


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    context = _context.get()
    out: dict[str, Any] = {}
    for name in CONTEXT_FIELDS:  # (not record attributes: a record's ``module`` is Python's)
        out[name] = context.get(name)
    actor = current_actor()
    out["user_id"] = getattr(record, "user_id", actor.user_id)
    out["key_id"] = getattr(record, "key_id", actor.key_id)
    for name in EXTRA_FIELDS:
        if hasattr(record, name):
            out[name] = getattr(record, name)
    return out


class JsonFormatter(logging.Formatter):
    """``{"time", "level", "logger", "message", "request_id", "tenant", ...}`` per line."""

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        payload.update(_fields(record))
        if record.exc_info:
            payload["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            payload["stack"] = self.formatStack(record.stack_info)
        return json.dumps(payload, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """Plain lines for a developer's terminal: ``LEVEL logger: message [request tenant]``."""

    def __init__(self) -> None:
        super().__init__("%(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        fields = _fields(record)
        tags = [str(fields[name]) for name in ("request_id", "tenant") if fields.get(name)]
        if "duration_ms" in fields:
            tags.append(f"{fields['duration_ms']}ms")
        return f"{line} [{' '.join(tags)}]" if tags else line


# --- Which module a request or job belongs to ---------------------------------------

# API routers mounted under /api/v1/ that are not app labels.
_API_SECTIONS = frozenset({"tenant", "events", "webhooks", "notices", "platform", "docs"})


@functools.cache
def _known_modules() -> frozenset[str]:
    from django.apps import apps

    from linli.registry.models import Module

    labels = {config.label for config in apps.get_app_configs()}
    return frozenset(labels | set(Module.values) | _API_SECTIONS)


def module_for_path(path: str) -> str:
    """The first segment after ``/api/v1/`` or ``/admin/`` (``shop``), from a bounded set.

    Bounded so it can label metrics: a segment that names no app or API section
    becomes ``api`` or ``admin``; any other path is ``site``.
    """
    for prefix, fallback in (("/api/v1/", "api"), ("/admin/", "admin")):
        if path.startswith(prefix):
            segment = path[len(prefix) :].split("/", 1)[0]
            return segment if segment in _known_modules() else fallback
    if path.startswith("/api/"):
        return "api"
    return "site"


def module_for_task(task_name: str) -> str:
    """``tenants.shop.tasks.parcel_remind`` -> ``shop``; platform jobs -> their app label."""
    for segment in task_name.split(".")[1:-1]:
        if segment in _known_modules():
            return segment
    return "jobs"
