"""Telling people things: one interface, channels behind it as plug-ins.

Services call ``notify`` inside their transaction. A channel that reaches people is an
outbox: its ``keep`` writes each notice as rows of its own in that same transaction, so
a notice exists if and only if its change committed, and a job sends the rows (a crash
at any instant leaves the change with all its pending notices, or neither). Linli's
resident channel (``tenants.notices``: WeChat, SMS and email, after quiet hours) is
one. A channel without ``keep`` (the log, the in-memory one for tests) has nobody to
lose a notice for; it is handed the notices after the commit.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
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


class OutboxChannel(Channel, Protocol):
    def keep(self, notices: Sequence[Notice]) -> None:
        """Write ``notices`` in the current transaction, for a job to send."""


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


def notify(notices: Sequence[Notice]) -> None:
    """Keep ``notices`` in every outbox channel now, in the caller's transaction (a failure
    to write them fails the change), and hand them to the other channels once it commits."""
    tenant = getattr(getattr(connection, "tenant", None), "schema_name", "")
    stamped = [Notice(n.resident_id, n.kind, n.subject, n.body, tenant, n.data) for n in notices]
    if not stamped:
        return
    after_commit: list[Channel] = []
    for channel in channels():
        keep = getattr(channel, "keep", None)
        if keep is not None:
            keep(stamped)
        else:
            after_commit.append(channel)
    if not after_commit:
        return

    def send() -> None:
        for notice in stamped:
            for channel in after_commit:
                try:
                    channel.send(notice)
                except Exception:  # one broken channel must not stop the others
                    logger.exception("channel %s failed", type(channel).__name__)

    transaction.on_commit(send)
