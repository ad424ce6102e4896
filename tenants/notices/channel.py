"""The notify() channel that keeps each notice as a message to send through the resident's
own channels (SMS, WeChat, email), after their quiet hours."""

from __future__ import annotations

from django.db import connection

from linli.notify import Notice


class ResidentChannels:
    def send(self, notice: Notice) -> None:
        if getattr(connection, "schema_name", "public") == "public":
            return  # notices belong to a tenant; never stored on the platform
        from tenants.notices.services import message_store

        message_store(
            resident_id=notice.resident_id,
            kind=notice.kind,
            subject=notice.subject,
            body=notice.body,
            data=dict(notice.data),
        )
