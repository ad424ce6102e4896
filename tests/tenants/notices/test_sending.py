"""Sending is bounded and fair: a run keeps to its time budget and frees what it had no time
for; one sending job per tenant at a time; the minutely sweep only queues them."""

from __future__ import annotations

import time
from datetime import timedelta

from django.utils import timezone
from procrastinate.contrib.django.models import ProcrastinateJob

from tenants.notices import services
from tenants.notices.adapters import EmailAdapter
from tenants.notices.models import Message
from tenants.notices.tasks import messages_send, notices_sweep_everywhere
from tests.factories import ResidentFactory


def test_a_sending_run_keeps_to_its_budget(in_tenant, settings, monkeypatch):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    original = EmailAdapter.send

    def slow_send(self, **kwargs):
        time.sleep(0.2)  # a slow provider
        return original(self, **kwargs)

    monkeypatch.setattr(EmailAdapter, "send", slow_send)
    for n in range(10):
        resident = ResidentFactory()
        services.preference_set(resident_id=resident.pk, channels=["email"], email=f"{n}@x.org")
        services.message_store(resident_id=resident.pk, kind="k", subject="s", body="b")
    now = timezone.now()
    sent = services.messages_send(now=now, budget=timedelta(seconds=0.5))
    assert 0 < sent < 10
    left = Message.objects.filter(status="pending")
    assert left.count() == 10 - sent
    assert set(left.values_list("send_after", flat=True)) == {now}  # due again at once


def test_the_sweep_only_queues_one_job_per_tenant_with_messages_due(in_tenant):
    resident = ResidentFactory()
    services.message_store(resident_id=resident.pk, kind="k", subject="s", body="b")
    services.message_store(resident_id=resident.pk, kind="k", subject="s", body="b")
    assert notices_sweep_everywhere(timestamp=0) == 1
    assert notices_sweep_everywhere(timestamp=0) == 0  # one already waits
    [job] = ProcrastinateJob.objects.filter(task_name=messages_send.name)
    assert (job.args, job.lock, job.queue_name) == (
        {"tenant_schema": "alpha"},
        "notices:alpha",
        "notices",
    )
    assert set(Message.objects.values_list("status", flat=True)) == {"pending"}
