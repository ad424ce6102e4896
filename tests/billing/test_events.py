"""The billing state machine, driven end to end: signed events posted to the webhook, the
queued job run, then the billing account, the tenant, its API and the emails checked.
Stripe is replaced only by the events built in ``stripe_events``."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.core import mail
from django.utils import timezone
from django_tenants.utils import tenant_context

from linli.billing import emails
from linli.billing.events import (
    NOTE_ENDED,
    NOTE_OLDER,
    NOTE_OLDER_PERIOD,
    NOTE_OTHER_SUBSCRIPTION,
    NOTE_TRIAL_OPENING,
)
from linli.billing.models import BillingAccount, StripeEvent
from linli.registry.models import OpsAction, Tenant
from linli.registry.services import tenant_close, tenant_resume, tenant_suspend
from tests.billing.stripe_events import BASE, PERIOD, SECRET, StripeSide, Webhooks

pytestmark = pytest.mark.django_db

Status = BillingAccount.Status
GRACE = timedelta(days=django_settings.LINLI_BILLING_GRACE_DAYS)
ESTATES = "/api/v1/community/estates"
ADMIN_EMAIL = "admin@alpha.example"


@pytest.fixture
def hooks(settings: Any) -> Webhooks:
    settings.STRIPE_SECRET_KEY = "sk_test_linli"
    settings.STRIPE_WEBHOOK_SECRET = SECRET
    return Webhooks()


@pytest.fixture
def alpha_admin_mail(tenant: Tenant) -> str:
    with tenant_context(tenant):
        get_user_model().objects.filter(username="admin-alpha").update(email=ADMIN_EMAIL)
    return ADMIN_EMAIL


@pytest.fixture
def stripe_side() -> StripeSide:
    return StripeSide()


def _account(tenant: Tenant, **fields: Any) -> BillingAccount:
    values: dict[str, Any] = {
        "customer_id": "cus_Alpha01",
        "subscription_id": "sub_Alpha01",
        "status": Status.TRIALING,
        "state_at": BASE,
        "trial_end": BASE + PERIOD,
        "current_period_end": BASE + PERIOD,
    }
    values.update(fields)
    return BillingAccount.objects.create(tenant=tenant, **values)


@pytest.fixture
def trialing(tenant: Tenant, alpha_admin_mail: str) -> BillingAccount:
    Tenant.objects.filter(pk=tenant.pk).update(status=Tenant.Status.TRIAL)
    return _account(tenant)


@pytest.fixture
def active(tenant: Tenant, alpha_admin_mail: str) -> BillingAccount:
    return _account(tenant, status=Status.ACTIVE)


def tenant_status(tenant: Tenant) -> str:
    return Tenant.objects.get(pk=tenant.pk).status


def reloaded(account: BillingAccount) -> BillingAccount:
    return BillingAccount.objects.get(pk=account.pk)


def last_note() -> str:
    return StripeEvent.objects.order_by("-id").first().last_error  # type: ignore[union-attr]


# --- each event type ---------------------------------------------------------------------


def test_checkout_completed_links_the_customer_by_the_tenant_in_metadata(hooks, tenant):
    account = BillingAccount.objects.create(tenant=tenant)  # pending: no Stripe ids yet
    hooks.send(StripeSide(customer="cus_New").checkout_completed(at=BASE))
    account = reloaded(account)
    assert account.has_payment_method is True
    assert account.customer_id == "cus_New"
    assert account.status == Status.PENDING and account.state_at is None
    assert tenant_status(tenant) == Tenant.Status.ACTIVE  # a payment method alone changes nothing


def test_checkout_completed_finds_the_account_by_customer(hooks, trialing):
    side = StripeSide(slug="renamed")  # the metadata does not name the tenant
    hooks.send(side.checkout_completed(at=BASE))
    assert reloaded(trialing).has_payment_method is True


def test_subscription_created_links_a_pending_account_and_starts_the_trial(hooks, tenant):
    account = BillingAccount.objects.create(tenant=tenant)
    side = StripeSide()
    hooks.send(side.subscription_event("created", "trialing", at=BASE, trial_end=BASE + PERIOD))
    account = reloaded(account)
    assert (account.subscription_id, account.customer_id) == ("sub_Alpha01", "cus_Alpha01")
    assert account.status == Status.TRIALING
    assert account.trial_end == BASE + PERIOD
    assert account.current_period_end == BASE + PERIOD  # read from the subscription's item
    assert account.state_at == BASE
    assert tenant_status(tenant) == Tenant.Status.TRIAL


@pytest.mark.parametrize("legacy", [False, True], ids=["api-2025", "api-2024"])
def test_subscription_updated_to_active_makes_the_tenant_active(hooks, trialing, legacy):
    side = StripeSide(legacy=legacy)
    at = BASE + PERIOD
    hooks.send(
        side.subscription_event(
            "updated",
            "active",
            at=at,
            period=1,
            cancel_at_period_end=True,
            default_payment_method="pm_card",
            previous_attributes={"status": "trialing"},
        )
    )
    account = reloaded(trialing)
    assert account.status == Status.ACTIVE
    assert account.current_period_end == BASE + 2 * PERIOD
    assert account.cancel_at_period_end is True and account.has_payment_method is True
    assert account.state_at == at
    assert tenant_status(trialing.tenant) == Tenant.Status.ACTIVE
    assert OpsAction.objects.filter(
        tenant_slug="alpha", action="status", actor="billing", detail__after="active"
    ).exists()


def test_subscription_deleted_closes_the_tenant_with_its_retention(hooks, active, api):
    at = BASE + 3 * PERIOD
    hooks.send(
        StripeSide().subscription_event(
            "deleted", "canceled", at=at, period=2, canceled_at=at, ended_at=at
        )
    )
    assert reloaded(active).status == Status.CANCELED
    tenant = Tenant.objects.get(pk=active.tenant_id)
    assert tenant.status == Tenant.Status.CLOSED
    retention = timedelta(days=django_settings.LINLI_TENANT_RETENTION_DAYS)
    assert tenant.purge_after is not None
    assert abs(tenant.purge_after - (timezone.now() + retention)) < timedelta(minutes=1)
    refused = api.get(ESTATES)
    assert refused.status_code == 403 and refused.json()["code"] == "tenant_closed"


def test_payment_failed_makes_the_tenant_past_due_still_serving_and_mails_the_grace_end(
    hooks, active, api
):
    failed_at = BASE + PERIOD + timedelta(hours=1)
    hooks.now = failed_at + timedelta(minutes=5)
    hooks.send(StripeSide().invoice_event("payment_failed", at=failed_at, period=1))
    account = reloaded(active)
    assert account.status == Status.PAST_DUE
    assert account.grace_until == failed_at + GRACE
    assert account.current_period_end == BASE + 2 * PERIOD
    assert tenant_status(active.tenant) == Tenant.Status.PAST_DUE
    assert api.get(ESTATES).status_code == 200  # still serving
    [message] = mail.outbox
    assert message.to == [ADMIN_EMAIL]
    assert message.subject == "Alpha District 的邻里付款未成功"  # alpha speaks zh-hans
    # grace ends 2026-04-14 09:00 UTC: shown in the tenant's time zone (Asia/Shanghai)
    assert "您的站点将继续运行至 2026年4月14日 17:00。" in message.body


def test_invoice_paid_ends_past_due_and_grace(hooks, active):
    BillingAccount.objects.filter(pk=active.pk).update(
        status=Status.PAST_DUE, grace_until=BASE + GRACE, state_at=BASE + timedelta(hours=1)
    )
    Tenant.objects.filter(pk=active.tenant_id).update(status=Tenant.Status.PAST_DUE)
    hooks.send(StripeSide().invoice_event("paid", at=BASE + timedelta(days=2)))
    account = reloaded(active)
    assert account.status == Status.ACTIVE and account.grace_until is None
    assert tenant_status(active.tenant) == Tenant.Status.ACTIVE
    assert mail.outbox == []  # it was never suspended: nothing to announce


def test_the_empty_invoice_opening_a_trial_is_not_a_payment(hooks, trialing):
    hooks.send(
        StripeSide().invoice_event(
            "paid", at=BASE + timedelta(minutes=1), amount=0, billing_reason="subscription_create"
        )
    )
    assert last_note() == NOTE_TRIAL_OPENING
    assert reloaded(trialing).status == Status.TRIALING
    assert tenant_status(trialing.tenant) == Tenant.Status.TRIAL


def test_invoices_in_the_older_shape_are_understood(hooks, active):
    hooks.send(StripeSide(legacy=True).invoice_event("payment_failed", at=BASE + PERIOD, period=1))
    assert reloaded(active).status == Status.PAST_DUE


# --- emails ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("locale", "subject", "date_text"),
    [
        ("zh-hant", "Alpha District 的鄰里試用期將於 2026年3月31日 結束", "2026年3月31日"),
        ("zh-hans", "Alpha District 的邻里试用期将于 2026年3月31日 结束", "2026年3月31日"),
        ("en", "Your Linli trial for Alpha District ends on 31 March 2026", "31 March 2026"),
    ],
)
def test_trial_will_end_mails_the_admins_in_the_tenants_language(
    hooks, trialing, locale, subject, date_text
):
    Tenant.objects.filter(pk=trialing.tenant_id).update(locale=locale)
    trial_end = BASE + PERIOD  # 2026-03-31 08:00 UTC, 16:00 in Shanghai
    hooks.send(
        StripeSide().subscription_event(
            "trial_will_end", "trialing", at=trial_end - timedelta(days=3), trial_end=trial_end
        )
    )
    [message] = mail.outbox
    assert message.to == [ADMIN_EMAIL]
    assert message.subject == subject
    assert date_text in message.body
    assert "https://alpha.localhost/admin/billing/" in message.body
    assert reloaded(trialing).status == Status.TRIALING


def test_the_trial_email_says_nothing_is_needed_with_a_payment_method(hooks, trialing):
    Tenant.objects.filter(pk=trialing.tenant_id).update(locale="en")
    BillingAccount.objects.filter(pk=trialing.pk).update(has_payment_method=True)
    hooks.send(
        StripeSide().subscription_event(
            "trial_will_end", "trialing", at=BASE + timedelta(days=27), trial_end=BASE + PERIOD
        )
    )
    [message] = mail.outbox
    assert "Nothing needs to be done" in message.body
    assert "add a payment method" not in message.body


def test_a_trial_email_arriving_after_the_trial_ended_is_not_sent(hooks, trialing):
    side = StripeSide()
    hooks.send(side.subscription_event("updated", "active", at=BASE + PERIOD, period=1))
    hooks.send(
        side.subscription_event(
            "trial_will_end", "trialing", at=BASE + timedelta(days=27), trial_end=BASE + PERIOD
        )
    )
    assert last_note() == NOTE_OLDER
    assert mail.outbox == []


def test_billing_mail_goes_to_superusers_and_district_admins_only(tenant, alpha_admin_mail):
    from tenants.community.models import Resident
    from tenants.community.roles import role_assign

    with tenant_context(tenant):
        users = get_user_model().objects
        chief = users.create_user("chief", "chief@alpha.example", "pw-chief-123", is_staff=True)
        resident = Resident.objects.create(user=chief, display_name="Chief")
        role_assign(
            resident_id=resident.pk,
            role="district_admin",
            scope="tenant",
            place_id=None,
            starts_on=date(2024, 1, 1),
        )
        users.create_user("leader", "leader@alpha.example", "pw-leader-123", is_staff=True)
        users.create_user(
            "gone", "gone@alpha.example", "pw-gone-123", is_staff=True, is_superuser=True
        ).__class__.objects.filter(username="gone").update(is_active=False)
    assert emails.tenant_admin_emails(tenant) == [ADMIN_EMAIL, "chief@alpha.example"]


# --- out of order ----------------------------------------------------------------------------


def test_an_older_update_arriving_after_a_newer_one_is_ignored(hooks, active):
    side = StripeSide()
    older = side.subscription_event("updated", "past_due", at=BASE + timedelta(days=31), period=1)
    newer = side.subscription_event("updated", "active", at=BASE + timedelta(days=32), period=1)
    hooks.send(newer)
    hooks.send(older)
    account = reloaded(active)
    assert account.status == Status.ACTIVE and account.grace_until is None
    assert account.state_at == BASE + timedelta(days=32)
    assert last_note() == NOTE_OLDER
    assert tenant_status(active.tenant) == Tenant.Status.ACTIVE


def test_a_tie_about_an_older_period_is_ignored(hooks, active):
    side = StripeSide()
    at = BASE + PERIOD
    hooks.send(side.subscription_event("updated", "active", at=at, period=1))
    hooks.send(side.subscription_event("updated", "past_due", at=at, period=0))
    assert reloaded(active).status == Status.ACTIVE
    assert last_note() == NOTE_OLDER_PERIOD


@pytest.mark.parametrize("late_update_at", [timedelta(days=40), timedelta(days=70)])
def test_an_update_after_deletion_never_revives_the_subscription(
    hooks, active, api, late_update_at
):
    side = StripeSide()
    deleted_at = BASE + timedelta(days=60)
    hooks.send(
        side.subscription_event("deleted", "canceled", at=deleted_at, canceled_at=deleted_at)
    )
    # an update from before the deletion, and one stamped after it, both arrive late
    hooks.send(side.subscription_event("updated", "active", at=BASE + late_update_at, period=2))
    assert last_note() == NOTE_ENDED
    hooks.send(side.invoice_event("paid", at=BASE + late_update_at, period=2))
    assert last_note() == NOTE_ENDED
    assert reloaded(active).status == Status.CANCELED
    assert tenant_status(active.tenant) == Tenant.Status.CLOSED
    assert api.get(ESTATES).status_code == 403


def test_a_deletion_applies_even_after_an_update_stamped_later(hooks, active, api):
    side = StripeSide()
    deleted_at = BASE + timedelta(days=60)
    hooks.send(side.subscription_event("updated", "active", at=deleted_at + timedelta(seconds=5)))
    hooks.send(
        side.subscription_event("deleted", "canceled", at=deleted_at, canceled_at=deleted_at)
    )
    account = reloaded(active)
    assert account.status == Status.CANCELED
    assert account.state_at == deleted_at + timedelta(seconds=5)  # the clock never goes back
    assert tenant_status(active.tenant) == Tenant.Status.CLOSED
    assert api.get(ESTATES).status_code == 403


def test_a_late_payment_event_restarts_the_grace_of_a_streak_it_proves_newer(hooks, active):
    side = StripeSide()
    first_failure = BASE + timedelta(days=2)
    paid_at = BASE + timedelta(days=5)
    second_failure = BASE + timedelta(days=20)
    hooks.now = first_failure
    hooks.send(side.invoice_event("payment_failed", at=first_failure, period=0))
    hooks.now = first_failure + GRACE
    assert hooks.grace_job() == ["alpha"]
    hooks.now = second_failure
    hooks.send(side.invoice_event("payment_failed", at=second_failure, period=0))
    assert tenant_status(active.tenant) == Tenant.Status.SUSPENDED
    # the payment between the two failures arrives only now: the streak began at the second
    hooks.send(side.invoice_event("paid", at=paid_at, period=0))
    assert last_note() == NOTE_OLDER
    account = reloaded(active)
    assert account.status == Status.PAST_DUE
    assert account.grace_until == second_failure + GRACE
    assert account.suspended_for_billing is False
    assert tenant_status(active.tenant) == Tenant.Status.PAST_DUE
    hooks.now = second_failure + GRACE
    assert hooks.grace_job() == ["alpha"]


def test_paying_an_older_invoice_does_not_undo_a_newer_failure(hooks, active):
    side = StripeSide()
    failed_at = BASE + PERIOD + timedelta(hours=1)
    hooks.send(side.invoice_event("payment_failed", at=failed_at, period=1))
    # the previous period's invoice is paid late, after the failure
    hooks.send(side.invoice_event("paid", at=failed_at + timedelta(days=1), period=0))
    assert last_note() == NOTE_OLDER_PERIOD
    account = reloaded(active)
    assert account.status == Status.PAST_DUE and account.grace_until == failed_at + GRACE
    assert tenant_status(active.tenant) == Tenant.Status.PAST_DUE


def test_a_payment_older_than_the_failure_does_not_undo_it(hooks, active):
    side = StripeSide()
    paid = side.invoice_event("paid", at=BASE + PERIOD, period=1)
    failed = side.invoice_event("payment_failed", at=BASE + 2 * PERIOD, period=2)
    hooks.send(failed)
    hooks.send(paid)
    assert last_note() == NOTE_OLDER
    assert reloaded(active).status == Status.PAST_DUE


def test_an_event_about_another_live_subscription_is_ignored(hooks, active):
    other = StripeSide().subscription_event(
        "updated", "past_due", at=BASE + PERIOD, subscription="sub_Other99"
    )
    hooks.send(other)
    assert last_note() == NOTE_OTHER_SUBSCRIPTION
    account = reloaded(active)
    assert account.status == Status.ACTIVE and account.subscription_id == "sub_Alpha01"


def test_a_new_subscription_after_deletion_is_mirrored_but_the_closed_tenant_stays_closed(
    hooks, active
):
    side = StripeSide()
    hooks.send(side.subscription_event("deleted", "canceled", at=BASE + PERIOD))
    fresh = StripeSide(subscription="sub_Fresh02", started=BASE + 2 * PERIOD)
    hooks.send(fresh.subscription_event("created", "active", at=BASE + 2 * PERIOD))
    account = reloaded(active)
    assert (account.subscription_id, account.status) == ("sub_Fresh02", Status.ACTIVE)
    assert tenant_status(active.tenant) == Tenant.Status.CLOSED  # reopening is for ops


# --- grace, suspension and reactivation ------------------------------------------------------


def test_a_failed_payment_runs_through_grace_to_suspension_and_back_on_payment(hooks, active, api):
    side = StripeSide()
    failed_at = BASE + PERIOD + timedelta(hours=1)
    hooks.now = failed_at
    hooks.send(side.invoice_event("payment_failed", at=failed_at, period=1))
    hooks.send(side.subscription_event("updated", "past_due", at=failed_at, period=1))
    # a second failed retry keeps the first failure's grace
    hooks.now = failed_at + timedelta(days=3)
    hooks.send(side.invoice_event("payment_failed", at=hooks.now, period=1))
    assert reloaded(active).grace_until == failed_at + GRACE
    # within grace: the job leaves it serving
    hooks.now = failed_at + GRACE - timedelta(minutes=1)
    assert hooks.grace_job() == []
    assert tenant_status(active.tenant) == Tenant.Status.PAST_DUE
    assert api.get(ESTATES).status_code == 200
    # grace over: suspended for billing
    hooks.now = failed_at + GRACE
    assert hooks.grace_job() == ["alpha"]
    assert hooks.grace_job() == []  # once
    account = reloaded(active)
    assert account.suspended_for_billing is True
    assert tenant_status(active.tenant) == Tenant.Status.SUSPENDED
    refused = api.get(ESTATES)
    assert refused.status_code == 403 and refused.json()["code"] == "tenant_suspended"
    assert OpsAction.objects.filter(
        tenant_slug="alpha", actor="billing", detail__after="suspended"
    ).exists()
    # paid: resumed
    hooks.now += timedelta(days=1)
    hooks.send(side.invoice_event("paid", at=hooks.now, period=1))
    account = reloaded(active)
    assert account.status == Status.ACTIVE
    assert account.suspended_for_billing is False and account.grace_until is None
    assert tenant_status(active.tenant) == Tenant.Status.ACTIVE
    assert api.get(ESTATES).status_code == 200
    # the subscription's own update about the recovery changes nothing more
    hooks.send(side.subscription_event("updated", "active", at=hooks.now, period=1))
    assert tenant_status(active.tenant) == Tenant.Status.ACTIVE
    subjects = [m.subject for m in mail.outbox]
    assert subjects == [
        "Alpha District 的邻里付款未成功",
        "Alpha District 的邻里付款未成功",
        "Alpha District 已暂停：邻里费用逾期未付",  # noqa: RUF001 - Chinese punctuation
        "Alpha District 已恢复服务",
    ]


def test_a_failure_processed_after_its_grace_has_passed_suspends_at_once(hooks, active):
    failed_at = BASE + PERIOD
    hooks.now = failed_at + GRACE + timedelta(days=1)  # the event was retried for a long time
    hooks.send(StripeSide().subscription_event("updated", "unpaid", at=failed_at, period=1))
    assert tenant_status(active.tenant) == Tenant.Status.SUSPENDED
    assert reloaded(active).suspended_for_billing is True


def test_subscription_back_to_active_resumes_a_tenant_suspended_for_billing(hooks, active):
    BillingAccount.objects.filter(pk=active.pk).update(
        status=Status.PAST_DUE, grace_until=BASE, suspended_for_billing=True
    )
    tenant_suspend(slug="alpha", actor="billing")
    hooks.send(StripeSide().subscription_event("updated", "active", at=BASE + timedelta(days=1)))
    assert tenant_status(active.tenant) == Tenant.Status.ACTIVE
    assert [m.subject for m in mail.outbox] == ["Alpha District 已恢复服务"]


def test_a_payment_never_lifts_an_ops_suspension(hooks, active, api):
    side = StripeSide()
    failed_at = BASE + PERIOD
    hooks.now = failed_at
    hooks.send(side.invoice_event("payment_failed", at=failed_at, period=1))
    tenant_suspend(slug="alpha", actor="ops@linli")  # ops suspends, for its own reasons
    hooks.now = failed_at + GRACE + timedelta(days=1)
    assert hooks.grace_job() == []  # already suspended: not billing's suspension
    hooks.send(side.invoice_event("paid", at=hooks.now, period=1))
    account = reloaded(active)
    assert account.status == Status.ACTIVE and account.suspended_for_billing is False
    assert tenant_status(active.tenant) == Tenant.Status.SUSPENDED
    assert api.get(ESTATES).status_code == 403
    assert [m.subject for m in mail.outbox] == ["Alpha District 的邻里付款未成功"]


def test_an_ops_resume_of_a_billing_suspension_holds_until_billing_changes(hooks, active):
    failed_at = BASE + PERIOD
    hooks.now = failed_at + GRACE
    hooks.send(StripeSide().invoice_event("payment_failed", at=failed_at, period=1))
    assert tenant_status(active.tenant) == Tenant.Status.SUSPENDED
    tenant_resume(slug="alpha", actor="ops@linli")
    hooks.now += timedelta(days=2)
    assert hooks.grace_job() == []
    # serving again, as past due: the tenant follows its (still unpaid) subscription
    assert tenant_status(active.tenant) == Tenant.Status.PAST_DUE


def test_a_tenant_closed_by_ops_stays_closed(hooks, active):
    tenant_close(slug="alpha", actor="ops@linli")
    side = StripeSide()
    hooks.send(side.subscription_event("updated", "active", at=BASE + PERIOD, period=1))
    hooks.send(side.invoice_event("payment_failed", at=BASE + 2 * PERIOD, period=2))
    hooks.now = BASE + 2 * PERIOD + GRACE * 2
    assert hooks.grace_job() == []
    assert tenant_status(active.tenant) == Tenant.Status.CLOSED
    assert mail.outbox == []


def test_the_periodic_job_is_registered():
    from procrastinate.contrib.django import app

    from linli.billing import tasks

    assert tasks.billing_grace_enforce.queue == "platform"
    periodic = {
        task.periodic_id: task.cron for task in app.periodic_registry.periodic_tasks.values()
    }
    assert periodic["billing_grace_enforce"] == "*/10 * * * *"
