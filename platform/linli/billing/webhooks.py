"""Stripe's webhook endpoint on the platform host: verify, store once, answer at once.

Nothing here talks to Stripe or applies the event: a verified event is stored by its id
and a job processes it (``linli.billing.events``). Stripe retries anything but a 2xx,
so a redelivery of a stored event answers 200 and does nothing. Neither the payload nor
the signature header is ever logged.
"""

from __future__ import annotations

import json
import logging

import stripe
from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from api.errors import problem
from linli.billing.client import billing_enabled
from linli.billing.events import stripe_event_record

logger = logging.getLogger(__name__)


@csrf_exempt
def stripe_webhook(request: HttpRequest) -> HttpResponse:
    if not billing_enabled():
        raise Http404
    if request.method != "POST":
        return problem(405, "method_not_allowed", _("Only POST."), headers={"Allow": "POST"})
    secret = settings.STRIPE_WEBHOOK_SECRET
    if not secret:
        logger.error("Stripe webhook refused: STRIPE_WEBHOOK_SECRET is not set")
        return problem(503, "billing_not_configured", _("Webhooks are not configured."))
    try:
        stripe.Webhook.construct_event(
            request.body, request.headers.get("Stripe-Signature"), secret
        )
        payload = json.loads(request.body)
        event = {"id": str(payload["id"]), "type": str(payload["type"])}
        int(payload["created"])
    except stripe.SignatureVerificationError:
        logger.warning("Stripe webhook refused: missing or invalid signature")
        return problem(400, "signature_invalid", _("The signature is missing or invalid."))
    except (ValueError, TypeError, KeyError, AttributeError):  # a JSON list, bad UTF-8...
        logger.warning("Stripe webhook refused: the payload is not a Stripe event")
        return problem(400, "payload_invalid", _("The payload is not a Stripe event."))
    stored = stripe_event_record(payload=payload)
    logger.info(
        "Stripe event %s (%s) %s", event["id"], event["type"], "stored" if stored else "repeated"
    )
    return JsonResponse({"received": True, "duplicate": not stored})
