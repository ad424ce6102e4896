"""Deliveries carry the Standard Webhooks headers (webhook-id, webhook-timestamp,
webhook-signature), checked here with the scheme's own Python library, the id the same
for every attempt; Linli-Signature stays alongside while integrators move."""

from __future__ import annotations

import base64
from datetime import timedelta

import pytest
from django.utils import timezone
from standardwebhooks import Webhook, WebhookVerificationError

from tenants.events import services
from tenants.events.delivery import deliveries_run
from tenants.events.http import standard_key
from tenants.events.models import Delivery, WebhookEndpoint, webhook_secret
from tests.tenants.events.test_webhooks import (  # noqa: F401
    endpoint,
    erased,
    linli_signature_ok,
    readme_verify,
    receiver,
)


def test_a_delivery_verifies_with_the_standard_webhooks_library(in_tenant, receiver):  # noqa: F811
    hook = endpoint(receiver.url)
    event = erased(7)
    deliveries_run()
    [got] = receiver.received
    headers = {name.lower(): value for name, value in got["headers"].items()}
    payload = Webhook(hook.secret).verify(got["body"], headers)
    assert payload["id"] == event.pk and payload["type"] == "resident.erased"
    assert headers["webhook-id"] == f"evt_alpha_{event.pk}"
    # the README's hand-made check agrees, and the deprecated header still verifies
    assert readme_verify()(hook.secret, headers, got["body"]) is True
    assert linli_signature_ok(hook.secret, headers["linli-signature"], got["body"])
    # tampered, or under another secret: refused
    with pytest.raises(WebhookVerificationError):
        Webhook(hook.secret).verify(got["body"].replace(b'"id":7', b'"id":8'), headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(webhook_secret()).verify(got["body"], headers)


def test_the_webhook_id_is_the_same_for_every_attempt_and_redelivery(in_tenant, receiver):  # noqa: F811
    endpoint(receiver.url)
    receiver.script = [500]
    event = erased(1)
    now = timezone.now()
    deliveries_run(now=now)
    deliveries_run(now=now + timedelta(minutes=1))
    services.delivery_redeliver(delivery_id=Delivery.objects.get(event=event).pk)
    deliveries_run()
    ids = [r["headers"]["webhook-id"] for r in receiver.received]
    assert ids == [f"evt_alpha_{event.pk}"] * 3
    stamps = {r["headers"]["webhook-timestamp"] for r in receiver.received}
    assert all(stamp.isdigit() for stamp in stamps)


def test_new_secrets_are_what_the_standard_libraries_read():
    secret = webhook_secret()
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"), validate=True)) == 24
    assert standard_key(secret) == Webhook(secret)._whsecret


def test_an_older_secret_the_libraries_cannot_read_still_signs(in_tenant, receiver):  # noqa: F811
    hook = endpoint(receiver.url)
    old = "whsec_" + "a" * 29 + "-_-"  # URL-safe base64, as secrets were made before
    WebhookEndpoint.objects.filter(pk=hook.pk).update(secret=old)
    with pytest.raises(ValueError):
        Webhook(old)
    erased(1)
    assert deliveries_run() == 1
    [got] = receiver.received
    assert got["headers"]["webhook-signature"].startswith("v1,")
    assert linli_signature_ok(old, got["headers"]["Linli-Signature"], got["body"])
