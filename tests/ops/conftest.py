"""Helpers for the operations tests: a request through the real WSGI entry point, and
Sentry with a transport that keeps envelopes in a list instead of sending them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import pytest
import sentry_sdk
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import RequestFactory
from django.test.client import FakePayload
from sentry_sdk.envelope import Envelope
from sentry_sdk.transport import Transport

from linli.ops.sentry import sentry_init


@dataclass
class WsgiResponse:
    status: int
    headers: dict[str, str]
    body: bytes


def wsgi_request(
    path: str,
    *,
    host: str,
    method: str = "GET",
    query: dict[str, str] | None = None,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
) -> WsgiResponse:
    """One request through Django's WSGI handler, as a server would make it (Sentry's
    Django integration starts its transactions there, not in the test client).

    The handler's connection cleanup is unhooked as the test client does, so the
    request runs inside the test's transaction."""
    extra = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in (headers or {}).items()}
    if body:
        extra["CONTENT_TYPE"] = "application/json"
    environ = RequestFactory()._base_environ(  # type: ignore[attr-defined]
        PATH_INFO=path,
        REQUEST_METHOD=method,
        QUERY_STRING=urlencode(query or {}),
        HTTP_HOST=host,
        CONTENT_LENGTH=str(len(body)),
        **extra,
    )
    environ["wsgi.input"] = FakePayload(body)
    captured: dict[str, Any] = {}

    def start_response(status: str, response_headers: list[tuple[str, str]], *_: Any) -> Any:
        captured["status"] = int(status.split(" ", 1)[0])
        captured["headers"] = dict(response_headers)
        return lambda data: None

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        result = WSGIHandler()(environ, start_response)
        content = b"".join(result)
        getattr(result, "close", lambda: None)()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    return WsgiResponse(captured["status"], captured["headers"], content)


class CapturingTransport(Transport):
    """Keeps every envelope Sentry would have sent."""

    def __init__(self) -> None:
        super().__init__({"dsn": None})
        self.envelopes: list[Envelope] = []

    def capture_envelope(self, envelope: Envelope) -> None:
        self.envelopes.append(envelope)


@dataclass
class SentryCapture:
    transport: CapturingTransport
    raw: list[str] = field(default_factory=list)

    def items(self, kind: str) -> list[dict[str, Any]]:
        sentry_sdk.flush()
        found = []
        for envelope in self.transport.envelopes:
            for item in envelope.items:
                if item.type == kind and item.payload.json is not None:
                    found.append(item.payload.json)
        return found

    def events(self) -> list[dict[str, Any]]:
        return self.items("event")

    def transactions(self) -> list[dict[str, Any]]:
        return self.items("transaction")

    def everything_sent(self) -> str:
        """All that left the process, as one string, to search for what must not be there."""
        sentry_sdk.flush()
        chunks = []
        for envelope in self.transport.envelopes:
            for item in envelope.items:
                chunks.append(item.get_bytes().decode("utf-8", "replace"))
        # JSON escapes non-ASCII characters: search the decoded form as well.
        decoded = [json.dumps(json.loads(c), ensure_ascii=False) for c in chunks if c[:1] == "{"]
        return "\n".join(chunks + decoded)


@pytest.fixture
def sentry_capture() -> Iterator[SentryCapture]:
    """Sentry initialised exactly as in production (scrubbing, tags), sending nowhere: the
    transport at the client boundary is replaced by a list."""
    transport = CapturingTransport()
    assert sentry_init(
        dsn="https://public@sentry.invalid/1",
        environment="test",
        traces_sample_rate=1.0,
        transport=transport,
    )
    try:
        yield SentryCapture(transport)
    finally:
        sentry_sdk.get_client().close()
        sentry_sdk.init()
        sentry_sdk.get_isolation_scope().clear()
        sentry_sdk.get_current_scope().clear()
