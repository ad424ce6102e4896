"""Sentry: tenant and module tags on every event and transaction (requests and jobs), and
no personal data or credentials in anything sent. Sentry itself lies outside the machine:
its transport is replaced by a list (``sentry_capture``); everything else is real."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from api.scopes import ALL_SCOPES
from linli.jobs.decorators import platform_task, tenant_task
from linli.ops.sentry import FILTERED, scrub_breadcrumb, scrub_event, scrub_text
from linli.registry.services import module_set_enabled
from tests.conftest import host_of
from tests.ops.conftest import wsgi_request

PHONE = "13800138000"
PHONE_INTL = "+86 139 1234 5678"
EMAIL = "wang.fang@example.com"
NAME = "王芳 Wang Fang"
ADDRESS = "幸福路 8 號 3 棟 502"


@tenant_task(name="tests.ops.sentry_probe")
def failing_job(*, phone: str) -> None:
    logging.getLogger("tests.ops").warning("calling %s before failing", phone)
    raise RuntimeError(f"could not text {phone} ({EMAIL})")


@platform_task(name="tests.ops.platform_probe")
def failing_platform_job() -> None:
    raise RuntimeError("platform job failed")


@pytest.fixture
def shop_fails_with_personal_data(tenant, monkeypatch) -> dict[str, str]:
    """alpha runs the shop; looking a shop up raises an error full of personal data and
    the key in ``leak["token"]`` (the test sets it)."""
    module_set_enabled(slug="alpha", module="shop", enabled=True)
    leak = {"token": ""}

    def explode(shop_id: int) -> Any:
        logging.getLogger("tests.ops").warning("looking up %s for %s", PHONE, EMAIL)
        raise RuntimeError(
            f"shop {shop_id}: resident {PHONE} (name={NAME!r}, {EMAIL}) used key {leak['token']}"
        )

    monkeypatch.setattr("api.shop.routes._shop", explode)
    return leak


def test_a_failing_request_is_tagged_and_scrubbed(
    sentry_capture, tenant, make_key, shop_fails_with_personal_data
):
    # given: a key, and a request full of personal data in the URL, headers and cookies
    token = make_key(*ALL_SCOPES)
    shop_fails_with_personal_data["token"] = token
    # when
    response = wsgi_request(
        "/api/v1/shop/shops/7",
        host=host_of(tenant),
        query={"phone": PHONE, "name": NAME, "q": f"call {PHONE_INTL}"},
        headers={
            "Authorization": f"Bearer {token}",
            "Cookie": "sessionid=s3cr3t-session-value",
            "X-Request-ID": "req-sentry-1",
        },
    )
    # then: one error event and one transaction, both tagged with tenant, module, request
    assert response.status == 500
    events = sentry_capture.events()
    assert len(events) == 1
    event = events[0]
    expected_tags = {"tenant": "alpha", "module": "shop", "request_id": "req-sentry-1"}
    assert {k: event["tags"][k] for k in expected_tags} == expected_tags
    assert event["exception"]["values"][-1]["type"] == "RuntimeError"
    assert event["exception"]["values"][-1]["value"] == (
        f"shop 7: resident [phone] (name={FILTERED}, [email]) used key [api key]"
    )
    assert event["request"]["headers"]["Authorization"] == FILTERED
    assert event["request"]["headers"]["Cookie"] == FILTERED
    assert "cookies" not in event["request"]
    assert event["release"] and event["environment"] == "test"
    transactions = sentry_capture.transactions()
    assert len(transactions) == 1
    assert transactions[0]["transaction"] == "/api/v1/shop/shops/{shop_id}"
    assert {k: transactions[0]["tags"][k] for k in expected_tags} == expected_tags
    # and none of the personal data or the key left the process, anywhere
    sent = sentry_capture.everything_sent()
    for secret in (PHONE, "1391234", EMAIL, "Wang Fang", "王芳", token, token.split("_", 2)[2]):
        assert secret not in sent
    assert "s3cr3t-session-value" not in sent
    # the breadcrumb of the warning logged before the failure is there, scrubbed
    crumbs = [c["message"] for c in event["breadcrumbs"]["values"] if c.get("message")]
    assert "looking up [phone] for [email]" in crumbs


def test_a_platform_request_is_tagged_public(sentry_capture, db):
    # when: a request on the platform host
    response = wsgi_request("/signup", host="localhost")
    # then: its transaction names no tenant but the platform
    assert response.status == 200
    assert sentry_capture.events() == []
    [transaction] = sentry_capture.transactions()
    assert transaction["transaction"] == "/signup"
    assert transaction["tags"]["tenant"] == "public"
    assert transaction["tags"]["module"] == "site"


def test_a_failing_job_is_tagged_with_tenant_and_task_and_scrubbed(sentry_capture, tenant):
    # when: the worker's entry point runs the job for alpha (in this process)
    with pytest.raises(RuntimeError):
        failing_job.task.func(tenant_schema="alpha", phone=PHONE)
    # then: one event, tagged, scrubbed
    [event] = sentry_capture.events()
    assert {k: event["tags"][k] for k in ("tenant", "task", "module")} == {
        "tenant": "alpha",
        "task": "tests.ops.sentry_probe",
        "module": "ops",
    }
    assert event["exception"]["values"][-1]["value"] == "could not text [phone] ([email])"
    [transaction] = sentry_capture.transactions()
    assert transaction["transaction"] == "tests.ops.sentry_probe"
    assert transaction["tags"]["tenant"] == "alpha"
    assert transaction["tags"]["task"] == "tests.ops.sentry_probe"
    sent = sentry_capture.everything_sent()
    assert PHONE not in sent
    assert EMAIL not in sent


def test_a_job_without_a_tenant_is_reported_untagged_by_any_tenant(sentry_capture, db):
    with pytest.raises(Exception, match="names no tenant"):
        failing_job.task.func(phone=PHONE)
    [event] = sentry_capture.events()
    assert event["tags"]["tenant"] == "public"
    assert event["tags"]["task"] == "tests.ops.sentry_probe"


def test_a_platform_job_is_tagged_public(sentry_capture, db):
    with pytest.raises(RuntimeError):
        failing_platform_job.func()
    [event] = sentry_capture.events()
    assert event["tags"]["tenant"] == "public"
    assert event["tags"]["task"] == "tests.ops.platform_probe"


def test_tags_of_one_job_do_not_leak_into_the_next_event(sentry_capture, tenant):
    import sentry_sdk

    with pytest.raises(RuntimeError):
        failing_job.task.func(tenant_schema="alpha", phone=PHONE)
    sentry_sdk.capture_message("outside any job")
    events = sentry_capture.events()
    assert len(events) == 2
    assert "task" not in events[1].get("tags", {})


def test_request_body_is_scrubbed():
    # given: an event as the Django integration builds it for a JSON POST
    event = {
        "event_id": "0123456789abcdef0123456789abcdef",
        "message": f"order for {NAME}",
        "request": {
            "url": "https://alpha.example.org/api/v1/community/residents",
            "query_string": f"phone={PHONE}&page=2&token=abc",
            "headers": {"Authorization": "Bearer lk_0123456789ab_secretsecret", "Accept": "*/*"},
            "cookies": {"sessionid": "xyz"},
            "data": {
                "display_name": NAME,
                "phone": PHONE,
                "address": ADDRESS,
                "note": f"ring {PHONE_INTL} or mail {EMAIL}",
                "household_id": 12,
            },
        },
        "user": {"id": 5, "email": EMAIL, "ip_address": "10.1.2.3"},
        "extra": {"payload": json.dumps({"full_name": NAME, "admin_name": "Li Lei"})},
    }
    # when
    out = scrub_event(event)
    # then
    assert out["event_id"] == "0123456789abcdef0123456789abcdef"
    # a name in free text, under no key, cannot be told from other words: it stays
    assert out["message"] == f"order for {NAME}"
    assert out["request"]["query_string"] == f"phone={FILTERED}&page=2&token={FILTERED}"
    assert out["request"]["headers"] == {"Authorization": FILTERED, "Accept": "*/*"}
    assert "cookies" not in out["request"]
    assert out["request"]["data"] == {
        "display_name": FILTERED,
        "phone": FILTERED,
        "address": FILTERED,
        "note": "ring [phone] or mail [email]",
        "household_id": 12,
    }
    assert out["user"] == {"id": 5}
    assert out["extra"]["payload"] == f'{{"full_name": {FILTERED}, "admin_name": {FILTERED}}}'


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"call {PHONE} now", "call [phone] now"),
        ("call +8613800138000", "call [phone]"),
        ("call 138-0013-8000", "call [phone]"),
        (f"call {PHONE_INTL}", "call [phone]"),
        ("call +1 415 555 2671", "call [phone]"),
        ("office 010-12345678", "office [phone]"),
        ("id card 110101199003071234", "id card [number]"),
        (f"mail {EMAIL}", "mail [email]"),
        ("Authorization: Bearer abc.def-ghi", f"Authorization: {FILTERED}"),
        ("sent Bearer abc.def-ghi", f"sent Bearer {FILTERED}"),
        ("key=lk_0123456789ab_Zx-9_yQ", "key=[api key]"),
        ("token=lk_0123456789ab_Zx-9_yQ", f"token={FILTERED}"),
        ("used lk_0123456789ab_Zx-9_yQ", "used [api key]"),
        ("stripe sk_live_51Habc", "stripe [api key]"),
        ("{'name': 'Wang Fang', 'estate': 3}", f"{{'name': {FILTERED}, 'estate': 3}}"),
        ('{"address": "幸福路 8 號"}', f'{{"address": {FILTERED}}}'),
        ("password=hunter22 ok", f"password={FILTERED} ok"),
        # what must survive: ordinary numbers, dates, ids
        ("order 42 ready on 2025-03-01 12:30", "order 42 ready on 2025-03-01 12:30"),
        ("parcel shelf B-12, pickup code 4831", "parcel shelf B-12, pickup code 4831"),
    ],
)
def test_scrub_text(text, expected):
    assert scrub_text(text) == expected


def test_the_deployments_own_secrets_never_leave(settings):
    assert len(settings.SECRET_KEY) >= 8
    assert settings.SECRET_KEY not in scrub_text(f"boom with {settings.SECRET_KEY} inside")


def test_breadcrumbs_are_scrubbed():
    crumb = {
        "category": "tests",
        "message": f"texting {PHONE}",
        "data": {"name": NAME, "count": 3},
    }
    assert scrub_breadcrumb(crumb) == {
        "category": "tests",
        "message": "texting [phone]",
        "data": {"name": FILTERED, "count": 3},
    }


def test_off_without_a_dsn():
    from linli.ops.sentry import sentry_init

    assert sentry_init(dsn="", environment="test") is False
