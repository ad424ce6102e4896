"""Billing test harness: a stateful Stripe stand-in (localstripe, extended with what it
lacks: ``tests/billing/standin.py``) on a loopback port, and the helpers that play
Stripe's side and run the billing jobs as a worker would.

Stripe is the only thing replaced, at its client boundary: Linli's own Stripe client
talks HTTP to the stand-in (``STRIPE_API_BASE``); PostgreSQL is the real one."""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import stripe
from django.test import TestCase
from procrastinate.contrib.django.models import ProcrastinateJob

from linli.billing import plans
from linli.billing.models import BillingAccount
from linli.registry.models import Tenant
from tests.billing.standin import StandInServer
from tests.billing.stripe_events import SECRET, Webhooks


@pytest.fixture(scope="session")
def standin_url() -> Iterator[str]:
    server = StandInServer()
    url = server.start()
    try:
        yield url
    finally:
        server.stop()


@dataclass
class StandIn:
    """Stripe's side of the tests: what Stripe holds, and what Stripe itself does."""

    url: str

    def call(self, method: str, path: str, params: dict[str, Any] | None = None) -> Any:
        data = urllib.parse.urlencode(params or {}).encode() if method == "POST" else None
        request = urllib.request.Request(  # noqa: S310 - the loopback stand-in
            self.url + path,
            data=data,
            method=method,
            headers={"Authorization": "Bearer sk_test_linli"},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
                return json.loads(response.read())
        except urllib.error.HTTPError as exc:
            raise AssertionError(f"{method} {path}: {exc.code} {exc.read().decode()}") from exc

    def flush(self) -> None:
        self.call("DELETE", "/_test/data")

    @property
    def client(self) -> Any:
        from linli.billing.client import stripe_client

        return stripe_client().v1

    # What Stripe holds.

    def requests(self, path: str = "", method: str = "") -> list[dict[str, Any]]:
        return [
            r
            for r in self.call("GET", "/_test/requests")["data"]
            if r["path"].startswith(path) and (not method or r["method"] == method)
        ]

    def customers(self) -> list[dict[str, Any]]:
        return list(self.call("GET", "/v1/customers", None)["data"])

    def subscriptions(self, customer: str = "", status: str = "all") -> list[dict[str, Any]]:
        query = urllib.parse.urlencode({"status": status, "limit": 100, "customer": customer})
        return list(self.call("GET", f"/v1/subscriptions?{query}")["data"])

    def subscription(self, subscription_id: str) -> dict[str, Any]:
        return dict(self.call("GET", f"/v1/subscriptions/{subscription_id}"))

    def events(self) -> list[dict[str, Any]]:
        return list(self.call("GET", "/_test/events")["data"])

    def meter_events(self) -> list[dict[str, Any]]:
        return list(self.call("GET", "/_test/meter_events")["data"])

    # What Stripe does.

    def advance(self, seconds: int) -> int:
        return int(self.call("POST", "/_test/clock", {"advance": seconds})["now"])

    def travel_to(self, moment: int) -> int:
        """Set Stripe's clock to ``moment`` (a Unix time)."""
        return self.advance(moment - self.advance(0))

    def period_end(self, subscription_id: str) -> dict[str, Any]:
        """The subscription's period (or trial) ends: it renews and charges, or ends."""
        return dict(self.call("POST", f"/_test/subscriptions/{subscription_id}/period_end"))

    def complete_checkout(self, session_id: str, card: str = "4242424242424242") -> Any:
        return self.call("POST", f"/_test/checkout/sessions/{session_id}/complete", {"card": card})

    def fail(self, method: str, path: str, *, status: int = 500, times: int = 1) -> None:
        self.call(
            "POST",
            "/_test/faults",
            {"method": method, "path": path, "status": status, "times": times},
        )

    def hang(self, method: str, path: str, *, seconds: float, times: int = 1) -> None:
        self.call(
            "POST",
            "/_test/faults",
            {"method": method, "path": path, "hang": seconds, "times": times},
        )

    def card(self, customer: str, number: str = "4242424242424242") -> str:
        """A card attached to ``customer`` and made its default (as the Portal does)."""
        pm = self.client.payment_methods.create(
            params={
                "type": "card",
                "card": {"number": number, "exp_month": 12, "exp_year": 2034, "cvc": "123"},
            }
        )
        self.client.payment_methods.attach(pm.id, params={"customer": customer})
        self.client.customers.update(
            customer, params={"invoice_settings": {"default_payment_method": pm.id}}
        )
        return str(pm.id)


def connect(tenant: Tenant) -> BillingAccount:
    """Run the tenant's connect job's body: its customer and subscription in Stripe."""
    from linli.billing.services import account_connect

    account = account_connect(tenant_id=tenant.pk)
    assert account is not None
    return account


@pytest.fixture
def standin(settings: Any, standin_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[StandIn]:
    """Billing on, Linli's Stripe client pointed at the stand-in, emptied for each test.
    The Stripe library still retries a failed call twice, without its pauses between."""
    monkeypatch.setattr(stripe.HTTPClient, "_sleep_time_seconds", lambda self, retries: 0.0)
    side = StandIn(standin_url)
    side.flush()
    settings.STRIPE_SECRET_KEY = "sk_test_linli"
    settings.STRIPE_WEBHOOK_SECRET = SECRET
    settings.STRIPE_API_BASE = standin_url
    plans.catalogue.cache_clear()
    yield side
    plans.catalogue.cache_clear()


@pytest.fixture
def billing_on(standin: StandIn) -> str:
    return standin.url


BILLING_TASKS = "linli.billing.tasks."


@dataclass
class Worker:
    """Runs the queued billing jobs as a procrastinate worker would (each job's body once,
    in the order deferred), on-commit callbacks included, and delivers Stripe's events."""

    standin: StandIn
    hooks: Webhooks = field(default_factory=Webhooks)
    ran: set[int] = field(default_factory=set)
    delivered: set[str] = field(default_factory=set)
    failures: list[tuple[str, BaseException]] = field(default_factory=list)
    # Failed jobs are tried again at the next run (a worker's retries), at most ATTEMPTS
    # times in all, Stripe's clock moving on by the billing jobs' backoff (5 s, 25 s, ...
    # 5**n s: the eighth attempt comes more than a day after the first); those that never
    # succeed end up in ``gave_up``.
    retrying: list[tuple[ProcrastinateJob, int]] = field(default_factory=list)
    gave_up: list[str] = field(default_factory=list)
    ATTEMPTS = 8  # as the billing jobs' retry strategies

    def jobs(self, task: str = "") -> list[ProcrastinateJob]:
        queued = ProcrastinateJob.objects.filter(task_name__startswith=BILLING_TASKS)
        return [
            job
            for job in queued.order_by("id")
            if job.id not in self.ran and job.task_name.endswith(task)
        ]

    def run(self, *, deliver: bool = True, rounds: int = 20) -> int:
        from procrastinate.contrib.django import app

        done = 0
        retrying, self.retrying = self.retrying, []
        for job, attempts in retrying:
            self._attempt(app, job, attempts + 1)
        for _round in range(rounds):
            if deliver:
                self.deliver()
            pending = self.jobs()
            if not pending:
                return done
            for job in pending:
                self.ran.add(job.id)
                self._attempt(app, job, 1)
                done += 1
        raise AssertionError("billing jobs kept deferring jobs")

    def _attempt(self, app: Any, job: ProcrastinateJob, attempt: int) -> None:
        task = app.tasks[job.task_name]
        if attempt > 1:
            self.standin.advance(5 ** (attempt - 1))
        try:
            with TestCase.captureOnCommitCallbacks(execute=True):
                task.func(**job.args)
        except Exception as exc:  # a worker records the failure; the job is retried
            self.failures.append((job.task_name, exc))
            if attempt < self.ATTEMPTS:
                self.retrying.append((job, attempt))
            else:
                self.gave_up.append(f"{job.task_name} {job.args}: {exc}")

    def deliver(self) -> int:
        """Post every event Stripe has not delivered yet, signed, to the webhook."""
        count = 0
        for event in self.standin.events():
            if event["id"] in self.delivered:
                continue
            self.delivered.add(event["id"])
            response = self.hooks.post(event)
            assert response.status_code == 200, response.content
            count += 1
        return count


@pytest.fixture
def worker(standin: StandIn) -> Worker:
    return Worker(standin)
