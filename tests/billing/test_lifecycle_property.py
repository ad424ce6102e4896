"""Billing follows every tenant's life, as a property: whatever happens, in whatever order,
to three districts (signup, modules turned on and off, earlier module versions
restored, suspension, resumption, closure at the period's end or now, deletion, purge)
and whatever Stripe does meanwhile (a card added in Checkout or a declining one, a period
or trial that ends and is charged, a cancellation in the Billing Portal, the grace period
running out, its API failing for a while, a day going by), after every step at which
Stripe answers and no job waits for a retry, and in the end, once every failed job has
been retried as a worker would (and what ran out of retries queued again by the hourly
reconcile job):

- no tenant that does not serve (closed, deleted, purged) has a subscription that will
  bill again (every one is cancelled, or ends with its period);
- every serving tenant (trial, active, past due; all pay at least the base price) has
  exactly one such subscription, whose items are the prices its modules promise;
- no tenant has two Stripe customers.

A suspended tenant is neither: a billing suspension must stay payable, and an ops one is
temporary, so its subscription runs on. Each example runs against a freshly emptied
Stripe stand-in, with Stripe's events delivered to the webhook and every job run as a
worker would, in a transaction rolled back afterwards. The grace period is 0 days, so a
failed payment can be followed by a suspension within an example.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
from django.db import transaction
from django.test import TestCase
from django.utils import timezone
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from linli.billing import hooks
from linli.billing.events import billing_grace_enforce
from linli.billing.models import BillingAccount
from linli.billing.plans import catalogue
from linli.billing.services import accounts_reconcile, checkout_url, wanted_prices
from linli.billing.sync import catalogue_sync
from linli.errors import LinliError
from linli.registry.models import ModuleSettingVersion, Tenant
from linli.registry.services import (
    module_set_enabled,
    module_settings_rollback,
    tenant_close,
    tenant_create,
    tenant_delete,
    tenant_resume,
    tenant_suspend,
    tenants_purge_due,
)
from tests.billing.conftest import StandIn, Worker

pytestmark = pytest.mark.django_db

# alpha and beta are the session's tenants (their billing opens as an example starts); pc
# is a district that may sign up during it.
SLUGS = ["alpha", "beta", "pc"]
MODULES = ["deliberation", "helpteam", "shop", "points"]
DECLINING = "4000000000000341"
ENDED = ("canceled", "incomplete_expired")

who = st.integers(min_value=0, max_value=len(SLUGS) - 1)
actions = st.one_of(
    st.tuples(
        st.just("signup"),
        who,
        st.sets(st.sampled_from(MODULES)),
        st.sampled_from([None, "/v1/customers", "/v1/subscriptions"]),  # Stripe failing...
        st.sampled_from([3, 21]),  # ... for one call, or for a day of retries
    ),
    st.tuples(st.just("module"), who, st.sampled_from(MODULES), st.booleans()),
    st.tuples(st.just("rollback"), who, st.integers(min_value=0, max_value=5)),
    st.tuples(st.just("suspend"), who),
    st.tuples(st.just("resume"), who, st.sampled_from([None, 7])),
    st.tuples(st.just("close"), who, st.sampled_from(["period_end", "now"])),
    st.tuples(st.just("delete"), who),
    st.tuples(st.just("purge"), who),
    st.tuples(st.just("card"), who, st.sampled_from(["4242424242424242", DECLINING])),
    st.tuples(st.just("period_end"), who),
    st.tuples(st.just("portal_cancel"), who),
    st.tuples(st.just("grace")),
    # Stripe fails a kind of call (with the client's own retries), or a day goes by (Stripe
    # forgets idempotency keys after 24 hours); failed jobs are retried at the next step
    st.tuples(
        st.just("stripe_fails"),
        st.sampled_from(["/v1/customers", "/v1/subscriptions", "/v1/subscription_items"]),
        st.sampled_from([3, 21]),  # one call (and its retries), or seven attempts: a day
    ),
    st.tuples(st.just("day_passes")),
)


def _count(story: list[tuple[Any, ...]], *kinds: str) -> int:
    return sum(action[0] in kinds for action in story)


def _tenant(slug: str) -> Tenant | None:
    return Tenant.objects.filter(schema_name=slug).first()


def _account(tenant: Tenant | None) -> BillingAccount | None:
    return BillingAccount.objects.filter(tenant=tenant).first() if tenant else None


def _act(action: tuple[Any, ...], standin: StandIn) -> None:
    kind = action[0]
    if kind == "stripe_fails":
        standin.fail("POST", action[1], status=500, times=action[2])
        return
    if kind == "day_passes":
        standin.advance(25 * 3600)
        return
    if kind == "grace":
        billing_grace_enforce(now=timezone.now() + timedelta(days=1))
        return
    slug = SLUGS[action[1]]
    tenant = _tenant(slug)
    if kind == "signup":
        if tenant is None:
            if action[3]:
                standin.fail("POST", action[3], status=500, times=action[4])
            tenant_create(slug=slug, name=slug.upper(), modules=sorted(action[2]))
        return
    if tenant is None:
        return
    account = _account(tenant)
    try:
        if kind == "module":
            module_set_enabled(slug=slug, module=action[2], enabled=action[3])
        elif kind == "rollback":
            versions = list(ModuleSettingVersion.objects.filter(tenant=tenant).order_by("id"))
            if versions:
                version = versions[action[2] % len(versions)]
                module_settings_rollback(slug=slug, version_id=version.pk)
        elif kind == "suspend":
            tenant_suspend(slug=slug, actor="ops")
        elif kind == "resume":
            tenant_resume(slug=slug, actor="ops", trial_days=action[2])
        elif kind == "close":
            if tenant.status != Tenant.Status.CLOSED:
                tenant_close(slug=slug, actor="ops", billing_cancel=action[2])
        elif kind == "delete":
            tenant_delete(slug=slug)
        elif kind == "purge":
            if tenant.status != Tenant.Status.CLOSED:
                tenant_close(slug=slug, actor="ops", retention_days=0)
            tenants_purge_due(now=timezone.now() + timedelta(seconds=1))
        elif kind == "card":
            if tenant.status != Tenant.Status.CLOSED:
                url = checkout_url(tenant=tenant, success_url="https://a/", cancel_url="https://a/")
                standin.complete_checkout(url.rsplit("/", 1)[1], action[2])
        elif account is not None and account.subscription_id:
            subscription = standin.subscription(account.subscription_id)
            if subscription["status"] not in ENDED:
                if kind == "period_end":
                    standin.period_end(account.subscription_id)
                elif kind == "portal_cancel":
                    standin.client.subscriptions.cancel(account.subscription_id)
    except LinliError:
        pass  # refused, with its reason (a resume that would run free, billing not ready...)


def _check(standin: StandIn, ids: dict[int, str], worker: Worker) -> None:
    assert worker.retrying == [], worker.failures[-3:]  # all succeeded, or were queued again
    customers = [c for c in standin.customers() if c["metadata"].get("linli_tenant_id")]
    per_tenant = Counter(c["metadata"]["linli_tenant_id"] for c in customers)
    assert all(count == 1 for count in per_tenant.values()), per_tenant  # no duplicates
    subscriptions = standin.subscriptions()
    billing_again: dict[str, list[dict[str, Any]]] = {}
    for sub in subscriptions:
        if sub["status"] not in ENDED and not sub["cancel_at_period_end"]:
            billing_again.setdefault(sub["metadata"]["linli_tenant_id"], []).append(sub)
    prices = catalogue()
    for tenant_id in ids:
        tenant = Tenant.objects.filter(pk=tenant_id).first()
        live = billing_again.get(str(tenant_id), [])
        if tenant is None or tenant.status == Tenant.Status.CLOSED:
            assert live == [], (ids[tenant_id], "does not serve but is billed", live)
        elif tenant.is_serving:
            assert len(live) == 1, (ids[tenant_id], tenant.status, live)
            held = sorted(item["plan"]["id"] for item in live[0]["items"]["data"])
            promised = sorted(p.plan_id(prices) for p in wanted_prices(tenant).values())
            assert held == promised, (ids[tenant_id], held, promised)


@hypothesis_settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    first_fails=st.sampled_from([None, "/v1/customers", "/v1/subscriptions"]),
    # one call; a day of one job's retries; a day of both trials' connects
    first_fails_for=st.sampled_from([3, 21, 42]),
    # a schema built or dropped in an example holds its locks (about 1,700 and 1,200) until
    # the example is rolled back, and PostgreSQL's lock table is shared by the whole server:
    # one signup and one deletion, or two deletions, at most. At most three days going by
    # keep Stripe's clock within the trials Linli started.
    story=st.lists(actions, min_size=1, max_size=14).filter(
        lambda story: (
            3 * _count(story, "signup") + 2 * _count(story, "delete", "purge") <= 5
            and _count(story, "day_passes") <= 3
        )
    ),
)
def test_billing_follows_every_lifecycle(
    first_fails: str | None,
    first_fails_for: int,
    story: list[tuple[Any, ...]],
    standin: StandIn,
    settings: Any,
) -> None:
    settings.LINLI_BILLING_GRACE_DAYS = 0
    standin.flush()
    catalogue_sync()
    worker = Worker(standin)
    ids: dict[int, str] = {}
    with transaction.atomic():
        try:
            if first_fails:
                standin.fail("POST", first_fails, status=500, times=first_fails_for)
            for slug in SLUGS[:2]:  # the session's tenants start their trials
                with TestCase.captureOnCommitCallbacks(execute=True):
                    hooks.tenant_opened(tenant=Tenant.objects.get(schema_name=slug))
            worker.run()
            ids |= {t.pk: t.schema_name for t in Tenant.objects.filter(schema_name__in=SLUGS)}
            for action in story:
                standin.advance(5)  # Stripe's clock moves on between steps
                with TestCase.captureOnCommitCallbacks(execute=True):
                    _act(action, standin)
                worker.run()
                ids |= {t.pk: t.schema_name for t in Tenant.objects.filter(schema_name__in=SLUGS)}
                settled = not worker.retrying and not worker.gave_up
                if settled and not standin.call("GET", "/_test/faults")["faults"]:
                    _check(standin, ids, worker)  # Stripe answering, no job pending: it holds now
            standin.call("DELETE", "/_test/faults")  # Stripe answers again: the retries land
            for _retry in range(Worker.ATTEMPTS):
                worker.run()
            # and what ran out of retries is queued again by the hourly reconcile job
            accounts_reconcile(now=timezone.now() + timedelta(hours=2))
            worker.run()
            _check(standin, ids, worker)
        finally:
            transaction.set_rollback(True)
