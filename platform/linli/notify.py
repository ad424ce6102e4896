"""Telling people things: one interface, channels behind it as plug-ins.

Services call ``notify``; the notices go out after the surrounding database
transaction commits (never for work that was rolled back), through every
channel in ``LINLI_NOTIFY_CHANNELS``. Email, SMS and WeChat channels plug in
here; Linli ships a log channel and an in-memory channel for tests.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import cache
from typing import Protocol

from django.conf import settings
from django.db import connection, transaction
from django.utils.module_loading import import_string

logger = logging.getLogger("linli.notify")


@dataclass(frozen=True)
class Notice:
    resident_id: int
    kind: str
    subject: str
    body: str
    tenant: str = ""
    data: dict[str, str] = field(default_factory=dict)


class Channel(Protocol):
    def send(self, notice: Notice) -> None: ...


class LogChannel:
    """Writes each notice to the log (the development default)."""

    def send(self, notice: Notice) -> None:
        logger.info(
            "notice to resident %s [%s/%s]: %s",
            notice.resident_id,
            notice.tenant,
            notice.kind,
            notice.subject,
        )


class MemoryChannel:
    """Keeps notices in memory, for tests to read."""

    sent: list[Notice] = []

    def send(self, notice: Notice) -> None:
        MemoryChannel.sent.append(notice)


@cache
def channels() -> tuple[Channel, ...]:
    return tuple(import_string(path)() for path in settings.LINLI_NOTIFY_CHANNELS)


def notify(notices: list[Notice]) -> None:
    """Send ``notices`` once the current transaction commits."""
    tenant = getattr(getattr(connection, "tenant", None), "schema_name", "")
    stamped = [Notice(n.resident_id, n.kind, n.subject, n.body, tenant, n.data) for n in notices]

    def send() -> None:
        for notice in stamped:
            for channel in channels():
                try:
                    channel.send(notice)
                except Exception:  # one broken channel must not stop the others
                    logger.exception("channel %s failed", type(channel).__name__)

    transaction.on_commit(send)
