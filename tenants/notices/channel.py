"""The notify() channel that keeps each notice as a message to send through the resident's
own channels (SMS, WeChat, email), after their quiet hours.

It is an outbox channel: the messages are written in the transaction of the change that
notifies, and the sending job (``tenants.notices.tasks``) sends them after it commits.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db import connection

from linli.notify import Notice


class ResidentChannels:
    def keep(self, notices: Sequence[Notice]) -> None:
        if getattr(connection, "schema_name", "public") == "public":
            return  # notices belong to a tenant; never stored on the platform
        from tenants.notices.services import messages_keep

        messages_keep(notices=notices)

    def send(self, notice: Notice) -> None:
        self.keep([notice])
