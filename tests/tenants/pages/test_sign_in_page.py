"""Sign-in never dead-ends: back on the phone step within the minute, the code already on
its way is asked for (with when a new one can be sent), and it signs in."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from tenants.notices.models import Message
from tenants.pages.models import SignInCode
from tests.tenants.pages.test_pages import PHONE, page_client


@pytest.fixture
def xu(estate):
    resident = estate["xu"]
    resident.phone = PHONE
    resident.save(update_fields=["phone"])
    return resident


def test_going_back_to_the_phone_step_shows_the_code_box(in_shop_tenant, xu):
    client = page_client(in_shop_tenant)
    client.post("/r/sign-in", {"phone": "138 1234 5678", "next": "/r/points"})
    # when: back, and the phone number sent again within the minute
    again = client.post("/r/sign-in", {"phone": "138 1234 5678", "next": "/r/points"})
    # then: no second code, no dead end: the box for the first one, and when to ask again
    page = again.content.decode()
    assert again.status_code == 200
    assert "A code was sent to your phone less than a minute ago. It still works" in page
    assert '<input id="code" name="code"' in page
    assert "You can ask for a new one in " in page and " seconds." in page
    assert "Please wait a minute" not in page and "⚠" not in page
    assert SignInCode.objects.count() == 1 and Message.objects.count() == 1
    code = Message.objects.get().data["code"]
    signed = client.post(
        "/r/sign-in", {"phone": "138 1234 5678", "code": code, "next": "/r/points"}
    )
    assert signed.status_code == 302 and signed["Location"] == "/r/points"


def test_after_the_minute_a_new_code_can_be_sent(in_shop_tenant, xu):
    client = page_client(in_shop_tenant)
    client.post("/r/sign-in", {"phone": PHONE})
    SignInCode.objects.update(created_at=timezone.now() - timedelta(seconds=61))
    fresh = client.post("/r/sign-in", {"phone": PHONE})
    assert "We sent a code to your phone" in fresh.content.decode()
    assert SignInCode.objects.count() == 2 and Message.objects.count() == 2
    assert len(fresh.content) < 10 * 1024


def test_a_wrong_code_keeps_the_code_box_and_marks_it(in_shop_tenant, xu):
    client = page_client(in_shop_tenant)
    client.post("/r/sign-in", {"phone": PHONE})
    wrong = client.post("/r/sign-in", {"phone": PHONE, "code": "000000"})
    page = wrong.content.decode()
    assert "That code is not right." in page
    assert 'maxlength="6" required aria-invalid="true" aria-describedby="error"' in page
    assert "Send a new code" in page
