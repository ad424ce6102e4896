"""Admin sign-in on both sites: failures are limited per username and per network address
(in each schema's own table), and a user with two-factor on needs a code after the password.

Time is moved by editing the recorded attempts' timestamps, never by sleeping. TOTP codes
are computed with pyotp, as an authenticator app would.
"""

from __future__ import annotations

import logging
import re
import time
from datetime import timedelta

import pyotp
import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.test import Client
from django.utils import timezone
from django_tenants.utils import tenant_context

from linli.registry.models import Tenant
from linli.security import crypto, services
from linli.security.models import LoginAttempt, RecoveryCode, TwoFactorDevice
from linli.security.views import PENDING
from tenants.audit.models import AuditEntry
from tests.conftest import ADMIN_PASSWORD, host_of

LOGIN = "/admin/login/"
VERIFY = "/admin/security/verify/"
TWO_FACTOR = "/admin/security/two-factor/"
ADMIN = "admin-alpha"
IP = "203.0.113.7"
LOCKED_15 = "Too many failed sign-in attempts. Please try again in 15 minutes."
WRONG_CODE = "That code is not right. Enter the current code from your app or a recovery code."
WRONG_PASSWORD_OR_CODE = "The password or the code is not right."

User = get_user_model()


def client_for(tenant: Tenant) -> Client:
    return Client(HTTP_HOST=host_of(tenant), HTTP_ACCEPT_LANGUAGE="en")


def sign_in(client: Client, username: str, password: str, ip: str = IP):
    return client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=ip)


def signed_in(client: Client) -> bool:
    """True only when the session is an authenticated admin session."""
    if "_auth_user_id" in client.session:
        return True
    response = client.get("/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith(LOGIN)
    return False


def fail(client: Client, username: str, times: int, ip: str = IP) -> None:
    for _ in range(times):
        response = sign_in(client, username, "wrong-password", ip=ip)
        assert response.status_code == 200
        assert "Please enter the correct username and password" in response.content.decode()


def attempts(tenant: Tenant | None = None, **filters) -> int:
    if tenant is None:
        return LoginAttempt.objects.filter(**filters).count()
    with tenant_context(tenant):
        return LoginAttempt.objects.filter(**filters).count()


def audit_actions(tenant: Tenant, action: str) -> list[AuditEntry]:
    with tenant_context(tenant):
        return list(AuditEntry.objects.filter(action=action))


def enrol(tenant: Tenant, username: str = ADMIN) -> tuple[str, list[str]]:
    """Turn two-factor on for a user through the services; returns the secret and the
    recovery codes."""
    with tenant_context(tenant):
        user = User.objects.get(username=username)
        device = services.two_factor_enrol_start(user=user)
        secret = services.secret_of(device)
        codes = services.two_factor_enrol_confirm(user=user, code=pyotp.TOTP(secret).now())
    return secret, codes


def next_code(secret: str) -> str:
    """The code of the next time step: accepted (one step of drift) and not yet used."""
    return pyotp.TOTP(secret).at(time.time() + 30)


def wrong_code(secret: str) -> str:
    totp = pyotp.TOTP(secret)
    near = {totp.at(time.time() + d) for d in (-60, -30, 0, 30, 60)}
    return next(c for c in (f"{n:06d}" for n in range(10**6)) if c not in near)


# --- brute-force protection ---------------------------------------------------------


def test_five_failures_lock_the_username_and_even_the_right_password_is_refused(tenant):
    client = client_for(tenant)
    # given: five wrong passwords
    fail(client, ADMIN, 5)
    # when: the right password comes next
    response = sign_in(client, ADMIN, ADMIN_PASSWORD)
    # then: refused with the lock message, not signed in, and the refusal not counted
    assert response.status_code == 429
    assert LOCKED_15 in response.content.decode()
    assert "Please enter the correct username" not in response.content.decode()
    assert 840 < int(response["Retry-After"]) <= 900
    assert not signed_in(client)
    assert attempts(tenant, username=ADMIN) == 5
    locked = audit_actions(tenant, "security.login_locked")
    assert len(locked) == 1
    assert locked[0].changes["by"] == "username"
    assert locked[0].changes["username"] == ADMIN


def test_the_lock_is_the_same_whether_the_password_is_right_or_wrong(tenant):
    client = client_for(tenant)
    fail(client, ADMIN, 5)
    right = sign_in(client, ADMIN, ADMIN_PASSWORD)
    wrong = sign_in(client, ADMIN, "still-wrong")
    assert (right.status_code, wrong.status_code) == (429, 429)
    assert LOCKED_15 in right.content.decode() and LOCKED_15 in wrong.content.decode()
    assert attempts(tenant, username=ADMIN) == 5


def test_the_lock_ends_when_the_window_has_passed(tenant):
    client = client_for(tenant)
    fail(client, ADMIN, 5)
    assert sign_in(client, ADMIN, ADMIN_PASSWORD).status_code == 429
    # when: sixteen minutes pass
    with tenant_context(tenant):
        LoginAttempt.objects.update(at=timezone.now() - timedelta(minutes=16))
    response = sign_in(client, ADMIN, ADMIN_PASSWORD)
    # then
    assert response.status_code == 302
    assert response["Location"] == "/admin/"
    assert signed_in(client)
    assert attempts(tenant, username=ADMIN) == 0


def test_the_lock_counts_only_failures_within_the_window(tenant):
    client = client_for(tenant)
    fail(client, ADMIN, 4)
    with tenant_context(tenant):
        LoginAttempt.objects.update(at=timezone.now() - timedelta(minutes=16))
    fail(client, ADMIN, 4)
    # eight failures, but only four in the last fifteen minutes: old rows were pruned too
    assert attempts(tenant, username=ADMIN) == 4
    assert sign_in(client, ADMIN, ADMIN_PASSWORD).status_code == 302


def test_a_network_address_is_locked_after_twenty_failures(tenant):
    client = client_for(tenant)
    for n in range(20):
        fail(client, f"guess-{n}", 1)
    # then: the right password from that address is refused ...
    response = sign_in(client, ADMIN, ADMIN_PASSWORD)
    assert response.status_code == 429
    assert LOCKED_15 in response.content.decode()
    assert not signed_in(client)
    assert [e.changes["by"] for e in audit_actions(tenant, "security.login_locked")] == ["ip"]
    # ... and from another address it is accepted
    other = client_for(tenant)
    assert sign_in(other, ADMIN, ADMIN_PASSWORD, ip="198.51.100.9").status_code == 302
    assert signed_in(other)


def test_a_successful_sign_in_resets_the_username_counter(tenant):
    client = client_for(tenant)
    fail(client, ADMIN, 4)
    assert sign_in(client, ADMIN, ADMIN_PASSWORD).status_code == 302
    assert attempts(tenant, username=ADMIN) == 0
    # four more failures do not lock: the first four were cleared
    fresh = client_for(tenant)
    fail(fresh, ADMIN, 4)
    assert sign_in(fresh, ADMIN, ADMIN_PASSWORD).status_code == 302
    assert signed_in(fresh)


def test_usernames_are_counted_case_insensitively(tenant):
    client = client_for(tenant)
    for name in ("Admin-Alpha", "ADMIN-ALPHA", "admin-alpha", " admin-alpha", "aDmin-alpha"):
        fail(client, name, 1)
    assert sign_in(client, ADMIN, ADMIN_PASSWORD).status_code == 429


def test_alphas_lockout_never_locks_betas_user_of_the_same_name(tenant, other_tenant):
    for each in (tenant, other_tenant):
        with tenant_context(each):
            User.objects.create(
                username="secretary", password=make_password("s3cret-pass"), is_staff=True
            )
    alpha = client_for(tenant)
    fail(alpha, "secretary", 5)
    assert sign_in(alpha, "secretary", "s3cret-pass").status_code == 429
    # beta's secretary, same name and same address, signs in
    beta = client_for(other_tenant)
    response = sign_in(beta, "secretary", "s3cret-pass")
    assert response.status_code == 302
    assert signed_in(beta)
    assert attempts(other_tenant) == 0
    assert audit_actions(other_tenant, "security.login_locked") == []


def test_the_platform_admin_login_is_protected_in_the_public_schema(tenant, caplog):
    User.objects.create(username="ops", password=make_password("ops-pass-2026"), is_staff=True)
    client = Client(HTTP_HOST="localhost", HTTP_ACCEPT_LANGUAGE="en")
    for _ in range(5):
        assert sign_in(client, "ops", "wrong").status_code == 200
    with caplog.at_level(logging.WARNING, logger="linli.security"):
        response = sign_in(client, "ops", "ops-pass-2026")
    assert response.status_code == 429
    assert LOCKED_15 in response.content.decode()
    assert "_auth_user_id" not in client.session
    assert client.get("/admin/").status_code == 302
    # recorded in the public schema, not in any tenant's
    assert attempts(username="ops") == 5
    assert attempts(tenant) == 0
    # the lockout was logged when the fifth failure happened (no audit table in public)
    client2 = Client(HTTP_HOST="localhost")
    User.objects.create(username="ops2", password=make_password("x-pass-2026"), is_staff=True)
    with caplog.at_level(logging.WARNING, logger="linli.security"):
        for _ in range(5):
            sign_in(client2, "ops2", "wrong", ip="192.0.2.1")
    assert any(
        "security.login_locked" in r.getMessage() and "ops2" in r.getMessage()
        for r in caplog.records
    )


def test_bad_login_input_is_never_a_server_error(tenant):
    client = client_for(tenant)
    assert client.post(LOGIN, {}).status_code == 200
    assert client.post(LOGIN, {"username": "x" * 5000, "password": "y"}).status_code == 200
    assert client.post(LOGIN, {"username": ADMIN}, REMOTE_ADDR="not-an-ip").status_code == 200
    assert client.post(LOGIN, {"username": "\x00", "password": "\x00"}).status_code == 200
    assert not signed_in(client)


# --- two-factor: enrolment ----------------------------------------------------------


def test_enrolment_refuses_a_wrong_code_and_accepts_the_right_one(tenant):
    client = client_for(tenant)
    assert sign_in(client, ADMIN, ADMIN_PASSWORD).status_code == 302
    page = client.get(TWO_FACTOR)
    assert page.status_code == 200
    assert "Two-factor sign-in is off" in page.content.decode()
    # when: setting up shows a QR code (inline SVG) and the key as text
    assert client.post(TWO_FACTOR, {"action": "start"}).status_code == 302
    page = client.get(TWO_FACTOR).content.decode()
    assert "<svg" in page
    secret = re.search(r'id="two-factor-secret">([A-Z2-7 ]+)<', page)[1].replace(" ", "")
    # then: a wrong code is refused and nothing is turned on
    response = client.post(TWO_FACTOR, {"action": "confirm", "code": wrong_code(secret)})
    assert response.status_code == 400
    assert WRONG_CODE in response.content.decode()
    with tenant_context(tenant):
        device = TwoFactorDevice.objects.get(user__username=ADMIN)
        assert device.confirmed_at is None
        assert not RecoveryCode.objects.exists()
    assert audit_actions(tenant, "security.two_factor_enabled") == []
    # and the right code turns it on, showing eight recovery codes once
    response = client.post(TWO_FACTOR, {"action": "confirm", "code": pyotp.TOTP(secret).now()})
    assert response.status_code == 200
    codes = re.findall(
        r"<li><code>([a-z2-9]{5}-[a-z2-9]{5})</code></li>", response.content.decode()
    )
    assert len(set(codes)) == 8
    with tenant_context(tenant):
        device = TwoFactorDevice.objects.get(user__username=ADMIN)
        assert device.confirmed_at is not None
        # neither the secret nor the codes are stored in clear
        assert secret not in device.secret_encrypted
        stored = set(RecoveryCode.objects.values_list("code_hash", flat=True))
        assert len(stored) == 8 and not stored & {c.replace("-", "") for c in codes}
        assert stored == {crypto.code_hash(c.replace("-", "")) for c in codes}
    assert len(audit_actions(tenant, "security.two_factor_enabled")) == 1
    # the codes are not shown again
    again = client.get(TWO_FACTOR).content.decode()
    assert codes[0] not in again and "8 unused recovery codes" in again


def test_the_two_factor_page_is_for_signed_in_staff_only(tenant):
    client = client_for(tenant)
    response = client.get(TWO_FACTOR)
    assert response.status_code == 302
    assert response["Location"].startswith(LOGIN)
    assert client.post(TWO_FACTOR, {"action": "start"}).status_code == 302
    with tenant_context(tenant):
        assert not TwoFactorDevice.objects.exists()


def test_bad_input_on_the_two_factor_page_is_refused_not_an_error(tenant):
    client = client_for(tenant)
    assert sign_in(client, ADMIN, ADMIN_PASSWORD).status_code == 302
    assert client.post(TWO_FACTOR, {"action": "nonsense"}).status_code == 400
    # confirming before starting
    assert client.post(TWO_FACTOR, {"action": "confirm", "code": "123456"}).status_code == 409
    client.post(TWO_FACTOR, {"action": "start"})
    for code in ("", "x" * 10000, "١٢٣٤٥٦", "12 34 56 78"):
        assert client.post(TWO_FACTOR, {"action": "confirm", "code": code}).status_code == 400
    with tenant_context(tenant):
        assert TwoFactorDevice.objects.get().confirmed_at is None


# --- two-factor: signing in ---------------------------------------------------------


def test_with_two_factor_on_the_password_alone_does_not_sign_in(tenant):
    secret, _codes = enrol(tenant)
    client = client_for(tenant)
    # when: the right password
    response = sign_in(client, ADMIN, ADMIN_PASSWORD)
    # then: on to the code page, with no authenticated session yet
    assert response.status_code == 302
    assert response["Location"] == VERIFY
    assert not signed_in(client)
    assert client.get(VERIFY).status_code == 200
    # and the right code completes the sign-in
    response = client.post(VERIFY, {"code": next_code(secret)}, REMOTE_ADDR=IP)
    assert response.status_code == 302
    assert response["Location"] == "/admin/"
    assert signed_in(client)
    assert client.get("/admin/").status_code == 200
    assert PENDING not in client.session


def test_a_code_is_good_only_once(tenant):
    secret, _codes = enrol(tenant)
    code = next_code(secret)
    first = client_for(tenant)
    sign_in(first, ADMIN, ADMIN_PASSWORD)
    assert first.post(VERIFY, {"code": code}).status_code == 302
    # the same code again, on another device
    second = client_for(tenant)
    assert sign_in(second, ADMIN, ADMIN_PASSWORD).status_code == 302
    response = second.post(VERIFY, {"code": code})
    assert response.status_code == 400
    assert WRONG_CODE in response.content.decode()
    assert not signed_in(second)


def test_the_enrolment_code_cannot_be_replayed_to_sign_in(tenant):
    with tenant_context(tenant):
        user = User.objects.get(username=ADMIN)
        secret = services.secret_of(services.two_factor_enrol_start(user=user))
        code = pyotp.TOTP(secret).now()
        services.two_factor_enrol_confirm(user=user, code=code)
    client = client_for(tenant)
    sign_in(client, ADMIN, ADMIN_PASSWORD)
    assert client.post(VERIFY, {"code": code}).status_code == 400
    assert not signed_in(client)


def test_a_recovery_code_signs_in_once(tenant):
    _secret, codes = enrol(tenant)
    client = client_for(tenant)
    sign_in(client, ADMIN, ADMIN_PASSWORD)
    # typed in capitals and without the dash still counts
    response = client.post(VERIFY, {"code": codes[0].upper().replace("-", "")})
    assert response.status_code == 302
    assert signed_in(client)
    used = audit_actions(tenant, "security.recovery_code_used")
    assert len(used) == 1 and used[0].changes == {"left": 7}
    # the same code a second time
    again = client_for(tenant)
    sign_in(again, ADMIN, ADMIN_PASSWORD)
    response = again.post(VERIFY, {"code": codes[0]})
    assert response.status_code == 400
    assert not signed_in(again)
    assert len(audit_actions(tenant, "security.recovery_code_used")) == 1
    with tenant_context(tenant):
        assert RecoveryCode.objects.filter(used_at__isnull=True).count() == 7


def test_wrong_codes_count_toward_the_lock(tenant):
    secret, _codes = enrol(tenant)
    client = client_for(tenant)
    sign_in(client, ADMIN, ADMIN_PASSWORD)
    for _ in range(5):
        response = client.post(VERIFY, {"code": wrong_code(secret)}, REMOTE_ADDR=IP)
        assert response.status_code == 400
    # the right code is refused now, and so is the password
    response = client.post(VERIFY, {"code": next_code(secret)}, REMOTE_ADDR=IP)
    assert response.status_code == 429
    assert LOCKED_15 in response.content.decode()
    assert not signed_in(client)
    assert sign_in(client_for(tenant), ADMIN, ADMIN_PASSWORD).status_code == 429
    assert attempts(tenant, username=ADMIN, step=LoginAttempt.Step.CODE) == 5
    assert len(audit_actions(tenant, "security.login_locked")) == 1


def test_the_password_step_does_not_reset_the_counter_before_the_code(tenant):
    secret, _codes = enrol(tenant)
    client = client_for(tenant)
    for _ in range(2):
        sign_in(client, ADMIN, ADMIN_PASSWORD)
        for _ in range(2):
            assert client.post(VERIFY, {"code": wrong_code(secret)}).status_code == 400
    sign_in(client, ADMIN, ADMIN_PASSWORD)
    assert client.post(VERIFY, {"code": wrong_code(secret)}).status_code == 400
    # five wrong codes across three password entries: locked
    assert sign_in(client, ADMIN, ADMIN_PASSWORD).status_code == 429


def test_the_code_page_needs_a_recent_password(tenant):
    secret, _codes = enrol(tenant)
    client = client_for(tenant)
    # without a password step
    response = client.post(VERIFY, {"code": next_code(secret)})
    assert response.status_code == 302 and response["Location"] == LOGIN
    # after the password step has expired
    sign_in(client, ADMIN, ADMIN_PASSWORD)
    session = client.session
    session[PENDING] = {**session[PENDING], "until": int(time.time()) - 1}
    session.save()
    response = client.post(VERIFY, {"code": next_code(secret)})
    assert response.status_code == 302 and response["Location"] == LOGIN
    assert not signed_in(client)
    with tenant_context(tenant):
        assert TwoFactorDevice.objects.get().last_step is not None
        assert attempts(username=ADMIN, step=LoginAttempt.Step.CODE) == 0


def test_bad_codes_on_the_code_page_are_refused_not_errors(tenant):
    _secret, _codes = enrol(tenant)
    client = client_for(tenant)
    sign_in(client, ADMIN, ADMIN_PASSWORD)
    for data in ({}, {"code": ""}, {"code": "x" * 10000}, {"code": "١٢٣٤٥٦"}, {"code": "\x00"}):
        assert client.post(VERIFY, data).status_code == 400
    assert not signed_in(client)


# --- two-factor: turning it off ------------------------------------------------------


def test_turning_two_factor_off_needs_the_password_and_a_code(tenant):
    secret, _codes = enrol(tenant)
    client = client_for(tenant)
    with tenant_context(tenant):
        client.force_login(User.objects.get(username=ADMIN))
    code = next_code(secret)
    # wrong password, right code
    response = client.post(TWO_FACTOR, {"action": "disable", "password": "wrong", "code": code})
    assert response.status_code == 400
    assert WRONG_PASSWORD_OR_CODE in response.content.decode()
    # right password, wrong code
    response = client.post(
        TWO_FACTOR,
        {"action": "disable", "password": ADMIN_PASSWORD, "code": wrong_code(secret)},
    )
    assert response.status_code == 400
    with tenant_context(tenant):
        assert TwoFactorDevice.objects.filter(confirmed_at__isnull=False).count() == 1
    assert audit_actions(tenant, "security.two_factor_disabled") == []
    assert attempts(tenant, username=ADMIN) == 2
    # both right
    response = client.post(
        TWO_FACTOR, {"action": "disable", "password": ADMIN_PASSWORD, "code": code}
    )
    assert response.status_code == 302
    with tenant_context(tenant):
        assert not TwoFactorDevice.objects.exists()
        assert not RecoveryCode.objects.exists()
    assert len(audit_actions(tenant, "security.two_factor_disabled")) == 1
    # and the password alone signs in again
    fresh = client_for(tenant)
    assert sign_in(fresh, ADMIN, ADMIN_PASSWORD)["Location"] == "/admin/"


def test_the_platform_admin_has_two_factor_too(db):
    ops = User.objects.create(
        username="ops", password=make_password("ops-pass-2026"), is_staff=True
    )
    secret = services.secret_of(services.two_factor_enrol_start(user=ops))
    services.two_factor_enrol_confirm(user=ops, code=pyotp.TOTP(secret).now())
    client = Client(HTTP_HOST="localhost")
    response = sign_in(client, "ops", "ops-pass-2026")
    assert response.status_code == 302 and response["Location"] == VERIFY
    assert "_auth_user_id" not in client.session
    assert client.post(VERIFY, {"code": wrong_code(secret)}).status_code == 400
    assert "_auth_user_id" not in client.session
    response = client.post(VERIFY, {"code": next_code(secret)})
    assert response.status_code == 302 and response["Location"] == "/admin/"
    assert client.session["_auth_user_id"] == str(ops.pk)
    assert client.get("/admin/").status_code == 200


@pytest.mark.parametrize("path", [TWO_FACTOR, VERIFY])
def test_the_security_pages_render_on_the_platform_host(db, path):
    User.objects.create(username="ops", password=make_password("ops-pass-2026"), is_staff=True)
    client = Client(HTTP_HOST="localhost")
    assert sign_in(client, "ops", "ops-pass-2026").status_code == 302
    expected = 200 if path == TWO_FACTOR else 302  # no password step pending
    assert client.get(path).status_code == expected


def test_the_next_page_survives_the_code_step_but_never_leaves_the_site(tenant):
    secret, _codes = enrol(tenant)
    client = client_for(tenant)
    response = client.post(
        f"{LOGIN}?next=/admin/security/two-factor/",
        {"username": ADMIN, "password": ADMIN_PASSWORD},
    )
    assert response["Location"] == VERIFY
    response = client.post(VERIFY, {"code": next_code(secret)})
    assert response.status_code == 302 and response["Location"] == TWO_FACTOR
    # another site as the next page is ignored
    with tenant_context(tenant):
        TwoFactorDevice.objects.all().delete()
    response = client_for(tenant).post(
        f"{LOGIN}?next=https://evil.example/", {"username": ADMIN, "password": ADMIN_PASSWORD}
    )
    assert response.status_code == 302 and response["Location"] == "/admin/"
