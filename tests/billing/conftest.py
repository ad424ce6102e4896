"""Billing test harness: a real stateful Stripe stand-in (localstripe) on a loopback port,
and a recorded-response client for the Stripe calls the stand-in does not serve."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import stripe

from linli.billing import client as billing_client
from linli.billing import plans


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def localstripe_url() -> Iterator[str]:
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "localstripe", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _attempt in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        else:
            raise RuntimeError("localstripe did not start")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def billing_on(settings: Any, localstripe_url: str) -> Iterator[str]:
    """Billing on, with the Stripe client pointed at the stand-in, emptied for each test."""
    flush = urllib.request.Request(f"{localstripe_url}/_config/data", method="DELETE")  # noqa: S310
    urllib.request.urlopen(flush, timeout=5).close()  # noqa: S310 - loopback stand-in
    settings.STRIPE_SECRET_KEY = "sk_test_linli"
    settings.STRIPE_WEBHOOK_SECRET = "whsec_linli"
    settings.STRIPE_API_BASE = localstripe_url
    plans.catalogue.cache_clear()
    yield localstripe_url
    plans.catalogue.cache_clear()


@dataclass
class Call:
    method: str
    path: str
    params: dict[str, Any]
    idempotency_key: str | None


@dataclass
class Recorded(stripe.HTTPClient):
    """Answers Stripe calls with responses in the shape Stripe documents, and records them.

    For the calls localstripe lacks (multi-item subscriptions, Checkout, the Billing
    Portal, meter events): the client boundary is all that is replaced.
    """

    routes: dict[tuple[str, str], Callable[[dict[str, Any]], tuple[int, dict[str, Any]]]] = field(
        default_factory=dict
    )
    calls: list[Call] = field(default_factory=list)
    name = "recorded"

    def __post_init__(self) -> None:
        super().__init__()

    def request(  # type: ignore[override]
        self, method: str, url: str, headers: Any, post_data: Any = None
    ) -> tuple[str, int, dict[str, str]]:
        parsed = urllib.parse.urlsplit(url)
        query = post_data if method == "post" else parsed.query
        raw = post_data.decode() if isinstance(post_data, bytes) else (query or "")
        params = dict(urllib.parse.parse_qsl(raw, keep_blank_values=True))
        key = (headers or {}).get("Idempotency-Key")
        self.calls.append(Call(method, parsed.path, params, key))
        for (route_method, prefix), answer in self.routes.items():
            if route_method == method and parsed.path.startswith(prefix):
                status, body = answer(params)
                return json.dumps(body), status, {"request-id": "req_recorded"}
        return (
            json.dumps({"error": {"type": "invalid_request_error", "message": "not recorded"}}),
            404,
            {},
        )

    def close(self) -> None:
        return None


@pytest.fixture
def recorded(settings: Any, monkeypatch: pytest.MonkeyPatch) -> Recorded:
    settings.STRIPE_SECRET_KEY = "sk_test_linli"
    settings.STRIPE_API_BASE = ""
    plans.catalogue.cache_clear()
    fake = Recorded()
    monkeypatch.setattr(billing_client, "_http_client", lambda: fake)
    return fake
