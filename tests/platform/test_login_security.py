"""Admin sign-in on both sites: an address with too many failures is locked out, an account
with too many failures is slowed but never locked (its owner's browser only by its own
failures), all in each schema's own table; with two-factor on, a code follows the password.

Time is moved by editing the recorded attempts' timestamps, never by sleeping. TOTP codes
are computed with pyotp, as an authenticator app would.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator
from datetime import timedelta
from functools import partial

import pyotp
import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.db.models import F
from django.test import Client
from django.utils import timezone
from django_tenants.utils import tenant_context

from linli.registry.models import Tenant
from linli.registry.services import tenant_create, tenant_delete
from linli.security import crypto, selectors, services
from linli.security.models import LoginAttempt, RecoveryCode, TwoFactorDevice
from linli.security.selectors import DEVICE_COOKIE
from linli.security.views import PENDING
from tenants.audit.models import AuditEntry
from tests.conftest import ADMIN_PASSWORD, host_of
from tests.races import race

LOGIN = "/admin/login/"
VERIFY = "/admin/security/verify/"
TWO_FACTOR = "/admin/security/two-factor/"
ADMIN = "admin-alpha"
IP = "203.0.113.7"
OTHER_IP = "198.51.100.9"
LOCKED_15 = "Too many failed sign-in attempts. Please try again in 15 minutes."
LOCKED_MINUTES = "Too many failed sign-in attempts. Please try again in"
WRONG_CODE = "That code is not right. Enter the current code from your app or a recovery code."
WRONG_PASSWORD_OR_CODE = "The password or the code is not right."

User = get_user_model()


@pytest.fixture(autouse=True)
def still_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """The server's clock stands still during a test: a delay of one second is still running
    however slowly the machine gets through the test's requests, and passes only when
    ``later`` says so. The codes below are read from the same clock."""
    stopped = timezone.now()
    monkeypatch.setattr(timezone, "now", lambda: stopped)


def clock() -> float:
    return timezone.now().timestamp()


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
        codes = services.two_factor_enrol_confirm(user=user, code=pyotp.TOTP(secret).at(clock()))
    return secret, codes


def next_code(secret: str) -> str:
    """The code of the next time step: accepted (one step of drift) and not yet used."""
    return pyotp.TOTP(secret).at(clock() + 30)


def wrong_code(secret: str) -> str:
    totp = pyotp.TOTP(secret)
    near = {totp.at(clock() + d) for d in (-60, -30, 0, 30, 60)}
    return next(c for c in (f"{n:06d}" for n in range(10**6)) if c not in near)


# --- brute-force protection ---------------------------------------------------------


def slowed(seconds: int) -> str:
    unit = "second" if seconds == 1 else "seconds"
    return (
        f"Too many failed sign-in attempts for this account. Please try again in {seconds} {unit}."
    )


def later(tenant: Tenant | None, seconds: float) -> None:
    """Let ``seconds`` pass, for the limits: every recorded attempt becomes that much older."""
    if tenant is None:
        LoginAttempt.objects.update(at=F("at") - timedelta(seconds=seconds))
        return
    with tenant_context(tenant):
        LoginAttempt.objects.update(at=F("at") - timedelta(seconds=seconds))


def patient_guess(tenant: Tenant, client: Client, ip: str, username: str = ADMIN):
    """A wrong password, from an attacker who waits out the account's delay (at most a
    minute) but not an address lock."""
    response = sign_in(client, username, "wrong-password", ip=ip)
    if response.status_code == 429 and int(response["Retry-After"]) <= 60:
        later(tenant, int(response["Retry-After"]))
        response = sign_in(client, username, "wrong-password", ip=ip)
    return response


def own_browser(tenant: Tenant, ip: str, username: str = ADMIN, password: str = ADMIN_PASSWORD):
    """A browser that signed in to the account before: its session is over, the device
    cookie it was given stays."""
    first = client_for(tenant)
    assert sign_in(first, username, password, ip=ip).status_code == 302
    assert DEVICE_COOKIE in first.cookies
    browser = client_for(tenant)
    browser.cookies[DEVICE_COOKIE] = first.cookies[DEVICE_COOKIE].value
    return browser


def test_five_failures_slow_the_account_instead_of_locking_it(tenant):
    client = client_for(tenant)
    # given: five wrong passwords
    fail(client, ADMIN, 5)
    # when: the right password comes right after
    response = sign_in(client, ADMIN, ADMIN_PASSWORD)
    # then: refused for a second, not signed in, and the refusal not counted
    assert response.status_code == 429
    assert slowed(1) in response.content.decode()
    assert "Please enter the correct username" not in response.content.decode()
    assert response["Retry-After"] == "1"
    assert not signed_in(client)
    assert attempts(tenant, username=ADMIN) == 5
    audited = audit_actions(tenant, "security.login_slowed")
    assert [(e.changes["by"], e.changes["username"]) for e in audited] == [("username", ADMIN)]
    assert audit_actions(tenant, "security.login_locked") == []
    # and a second later the right password signs in
    later(tenant, 1)
    response = sign_in(client, ADMIN, ADMIN_PASSWORD)
    assert (response.status_code, response["Location"]) == (302, "/admin/")
    assert signed_in(client)
    assert attempts(tenant, username=ADMIN) == 0


def test_the_wait_is_told_in_the_tenants_language(tenant):
    client = Client(HTTP_HOST=host_of(tenant))  # no Accept-Language: the tenant's zh-hans
    for _ in range(5):
        assert sign_in(client, ADMIN, "wrong-password").status_code == 200
    response = sign_in(client, ADMIN, ADMIN_PASSWORD)
    assert response.status_code == 429
    assert "此账户登录失败次数过多。请 1 秒后再试。" in response.content.decode()


def test_each_further_failure_doubles_the_wait_up_to_a_minute(tenant):
    client = client_for(tenant)
    fail(client, ADMIN, 5)
    waits = []
    for _ in range(8):
        refused = sign_in(client, ADMIN, "wrong-password")
        assert refused.status_code == 429
        waits.append(int(refused["Retry-After"]))
        assert slowed(waits[-1]) in refused.content.decode()
        later(tenant, waits[-1])
        fail(client, ADMIN, 1)
    assert waits == [1, 2, 4, 8, 16, 32, 60, 60]
    assert attempts(tenant, username=ADMIN) == 13
    assert len(audit_actions(tenant, "security.login_slowed")) == 1


def test_the_wait_is_the_same_whether_the_password_is_right_or_wrong(tenant):
    client = client_for(tenant)
    fail(client, ADMIN, 5)
    right = sign_in(client, ADMIN, ADMIN_PASSWORD)
    wrong = sign_in(client, ADMIN, "still-wrong")
    assert (right.status_code, wrong.status_code) == (429, 429)
    assert slowed(1) in right.content.decode() and slowed(1) in wrong.content.decode()
    assert attempts(tenant, username=ADMIN) == 5


def test_an_attacker_at_one_address_is_locked_out_and_the_real_admin_signs_in_at_once(tenant):
    # given: the admin's browser, at address Y, signed in to the account before
    admin_browser = own_browser(tenant, ip=OTHER_IP)
    # when: fifty wrong passwords from address X, the attacker waiting out each delay
    attacker = client_for(tenant)
    answers = [patient_guess(tenant, attacker, IP) for _ in range(50)]
    # ... and thirty from three more addresses (far within the per-address limit), all
    # refused while the account waits
    for n in range(3):
        for _ in range(10):
            assert sign_in(attacker, ADMIN, "wrong", ip=f"198.51.100.{n + 20}").status_code == 429
    # then: X made twenty failures and is locked out after them
    assert [a.status_code for a in answers] == [200] * 20 + [429] * 30
    assert all(LOCKED_MINUTES in a.content.decode() for a in answers[20:])
    assert attempts(tenant, ip=IP) == 20
    assert attempts(tenant, username=ADMIN) == 20
    locked = audit_actions(tenant, "security.login_locked")
    assert [(e.changes["by"], e.changes["ip"]) for e in locked] == [("ip", IP)]
    # and the real admin signs in from Y right away
    response = sign_in(admin_browser, ADMIN, ADMIN_PASSWORD, ip=OTHER_IP)
    assert (response.status_code, response["Location"]) == (302, "/admin/")
    assert signed_in(admin_browser)
    # while X stays locked out, even with the right password
    response = sign_in(client_for(tenant), ADMIN, ADMIN_PASSWORD, ip=IP)
    assert response.status_code == 429
    assert LOCKED_MINUTES in response.content.decode()
    assert 60 < int(response["Retry-After"]) <= 900
    # the attacker's failures are not cleared by the admin's sign-in
    assert attempts(tenant, ip=IP) == 20


def test_an_attacker_at_many_addresses_is_slowed_and_the_owners_browser_is_not(tenant):
    admin_browser = own_browser(tenant, ip=OTHER_IP)
    addresses = (f"192.0.2.{n}" for n in range(1, 200))
    attacker = client_for(tenant)
    # given: five wrong passwords, each from another address
    for _ in range(5):
        fail(attacker, ADMIN, 1, ip=next(addresses))
    for wait in (1, 2, 4, 8):
        # when: more guesses, each from a new address: refused until the delay has passed
        refused = [sign_in(attacker, ADMIN, "wrong", ip=next(addresses)) for _ in range(5)]
        assert {(r.status_code, r["Retry-After"]) for r in refused} == {(429, str(wait))}
        # a stranger's browser with the right password waits like the attacker ...
        stranger = sign_in(client_for(tenant), ADMIN, ADMIN_PASSWORD, ip=next(addresses))
        assert (stranger.status_code, stranger["Retry-After"]) == (429, str(wait))
        # ... and the owner's browser does not wait
        assert sign_in(admin_browser, ADMIN, ADMIN_PASSWORD, ip=OTHER_IP).status_code == 302
        # then: once the delay has passed, one more guess is checked
        later(tenant, wait)
        fail(attacker, ADMIN, 1, ip=next(addresses))
    # nine failures counted, none of the refusals
    assert attempts(tenant, username=ADMIN) == 9
    # and the stranger with the right password gets in once the current delay has passed
    later(tenant, 16)
    stranger = client_for(tenant)
    assert sign_in(stranger, ADMIN, ADMIN_PASSWORD, ip="203.0.113.99").status_code == 302
    assert signed_in(stranger)


def test_a_trusted_browser_is_slowed_by_its_own_failures(tenant):
    admin_browser = own_browser(tenant, ip=OTHER_IP)
    fail(admin_browser, ADMIN, 5, ip=OTHER_IP)
    response = sign_in(admin_browser, ADMIN, ADMIN_PASSWORD, ip=OTHER_IP)
    assert (response.status_code, response["Retry-After"]) == (429, "1")
    # another address's failure, just now, does not add to its own
    later(tenant, 1)
    fail(client_for(tenant), ADMIN, 1, ip=IP)
    assert sign_in(client_for(tenant), ADMIN, ADMIN_PASSWORD, ip=IP).status_code == 429
    assert sign_in(admin_browser, ADMIN, ADMIN_PASSWORD, ip=OTHER_IP).status_code == 302


def test_the_device_cookie_is_bound_to_its_account_its_tenant_and_its_password(
    tenant, other_tenant
):
    with tenant_context(tenant):
        User.objects.create(
            username="secretary", password=make_password("s3cret-pass"), is_staff=True
        )
    admin_cookie = own_browser(tenant, ip=OTHER_IP).cookies[DEVICE_COOKIE].value
    fail(client_for(tenant), "secretary", 5, ip=IP)
    fail(client_for(tenant), ADMIN, 5, ip=IP)
    # another account's cookie, or a made-up one, does not help
    for value in (admin_cookie, "forged", admin_cookie[:-2] + "xx"):
        browser = client_for(tenant)
        browser.cookies[DEVICE_COOKIE] = value
        assert sign_in(browser, "secretary", "s3cret-pass", ip=OTHER_IP).status_code == 429
    # the same account and password in another tenant's schema (same id, same name)
    with tenant_context(tenant):
        admin = User.objects.get(username=ADMIN)
        assert selectors.device_trusted(username=ADMIN, token=admin_cookie)
    with tenant_context(other_tenant):
        User.objects.filter(username=ADMIN).delete()
        User.objects.update_or_create(
            pk=admin.pk, defaults={"username": ADMIN, "password": admin.password}
        )
        assert not selectors.device_trusted(username=ADMIN, token=admin_cookie)
    # and a new password ends the cookie
    with tenant_context(tenant):
        admin.set_password("a-new-password-2026")
        admin.save()
    browser = client_for(tenant)
    browser.cookies[DEVICE_COOKIE] = admin_cookie
    assert sign_in(browser, ADMIN, "a-new-password-2026", ip=OTHER_IP).status_code == 429


def test_a_successful_sign_in_clears_only_its_own_addresses_failures(tenant):
    fail(client_for(tenant), ADMIN, 3, ip=IP)
    fail(client_for(tenant), ADMIN, 1, ip=OTHER_IP)
    assert sign_in(client_for(tenant), ADMIN, ADMIN_PASSWORD, ip=OTHER_IP).status_code == 302
    assert attempts(tenant, username=ADMIN, ip=IP) == 3
    assert attempts(tenant, username=ADMIN, ip=OTHER_IP) == 0


def test_an_address_lock_ends_when_the_window_has_passed(tenant):
    client = client_for(tenant)
    for n in range(20):
        fail(client, f"guess-{n}", 1)
    response = sign_in(client, ADMIN, ADMIN_PASSWORD)
    assert response.status_code == 429
    assert LOCKED_15 in response.content.decode()
    assert 840 < int(response["Retry-After"]) <= 900
    # when: sixteen minutes pass
    later(tenant, 16 * 60)
    response = sign_in(client, ADMIN, ADMIN_PASSWORD)
    # then
    assert response.status_code == 302
    assert response["Location"] == "/admin/"
    assert signed_in(client)


def test_failures_count_only_within_the_window(tenant):
    client = client_for(tenant)
    fail(client, ADMIN, 4)
    later(tenant, 16 * 60)
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
    assert sign_in(other, ADMIN, ADMIN_PASSWORD, ip=OTHER_IP).status_code == 302
    assert signed_in(other)


def test_a_successful_sign_in_resets_the_username_counter(tenant):
    client = client_for(tenant)
    fail(client, ADMIN, 4)
    assert sign_in(client, ADMIN, ADMIN_PASSWORD).status_code == 302
    assert attempts(tenant, username=ADMIN) == 0
    # four more failures do not slow the account: the first four were cleared
    fresh = client_for(tenant)
    fail(fresh, ADMIN, 4)
    assert sign_in(fresh, ADMIN, ADMIN_PASSWORD).status_code == 302
    assert signed_in(fresh)


def test_usernames_are_counted_case_insensitively(tenant):
    client = client_for(tenant)
    for name in ("Admin-Alpha", "ADMIN-ALPHA", "admin-alpha", " admin-alpha", "aDmin-alpha"):
        fail(client, name, 1)
    assert sign_in(client, ADMIN, ADMIN_PASSWORD).status_code == 429


def test_alphas_failures_never_slow_betas_user_of_the_same_name(tenant, other_tenant):
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
    assert audit_actions(other_tenant, "security.login_slowed") == []


def test_the_platform_admin_login_is_protected_in_the_public_schema(tenant, caplog):
    User.objects.create(username="ops", password=make_password("ops-pass-2026"), is_staff=True)
    client = Client(HTTP_HOST="localhost", HTTP_ACCEPT_LANGUAGE="en")
    for _ in range(5):
        assert sign_in(client, "ops", "wrong").status_code == 200
    with caplog.at_level(logging.WARNING, logger="linli.security"):
        response = sign_in(client, "ops", "ops-pass-2026")
    assert response.status_code == 429
    assert slowed(1) in response.content.decode()
    assert "_auth_user_id" not in client.session
    assert client.get("/admin/").status_code == 302
    # recorded in the public schema, not in any tenant's
    assert attempts(username="ops") == 5
    assert attempts(tenant) == 0
    # the slowing was logged when the fifth failure happened (no audit table in public)
    client2 = Client(HTTP_HOST="localhost")
    User.objects.create(username="ops2", password=make_password("x-pass-2026"), is_staff=True)
    with caplog.at_level(logging.WARNING, logger="linli.security"):
        for _ in range(5):
            sign_in(client2, "ops2", "wrong", ip="192.0.2.1")
    assert any(
        "security.login_slowed" in r.getMessage() and "ops2" in r.getMessage()
        for r in caplog.records
    )
    # the platform admin's own browser is not slowed by those failures
    later(None, 1)
    assert sign_in(client, "ops", "ops-pass-2026", ip="192.0.2.50").status_code == 302
    browser = Client(HTTP_HOST="localhost")
    browser.cookies[DEVICE_COOKIE] = client.cookies[DEVICE_COOKIE].value
    assert sign_in(Client(HTTP_HOST="localhost"), "ops", "wrong").status_code == 200
    assert sign_in(Client(HTTP_HOST="localhost"), "ops", "ops-pass-2026").status_code == 429
    assert sign_in(browser, "ops", "ops-pass-2026", ip="192.0.2.50").status_code == 302


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
    response = client.post(
        TWO_FACTOR, {"action": "confirm", "code": pyotp.TOTP(secret).at(clock())}
    )
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
        code = pyotp.TOTP(secret).at(clock())
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


def test_wrong_codes_count_toward_the_delay(tenant):
    secret, _codes = enrol(tenant)
    client = client_for(tenant)
    sign_in(client, ADMIN, ADMIN_PASSWORD)
    for _ in range(5):
        response = client.post(VERIFY, {"code": wrong_code(secret)}, REMOTE_ADDR=IP)
        assert response.status_code == 400
    # the right code has to wait now, and so has the password
    response = client.post(VERIFY, {"code": next_code(secret)}, REMOTE_ADDR=IP)
    assert (response.status_code, response["Retry-After"]) == (429, "1")
    assert slowed(1) in response.content.decode()
    assert not signed_in(client)
    assert sign_in(client_for(tenant), ADMIN, ADMIN_PASSWORD).status_code == 429
    assert attempts(tenant, username=ADMIN, step=LoginAttempt.Step.CODE) == 5
    assert len(audit_actions(tenant, "security.login_slowed")) == 1
    # a second later the right code signs in
    later(tenant, 1)
    assert client.post(VERIFY, {"code": next_code(secret)}, REMOTE_ADDR=IP).status_code == 302
    assert signed_in(client)


def test_wrong_codes_from_elsewhere_do_not_slow_the_owners_browser(tenant):
    secret, _codes = enrol(tenant)
    # given: the owner's browser completed a sign-in with its code before
    owner = client_for(tenant)
    sign_in(owner, ADMIN, ADMIN_PASSWORD, ip=OTHER_IP)
    owner.post(VERIFY, {"code": next_code(secret)}, REMOTE_ADDR=OTHER_IP)
    assert signed_in(owner)
    browser = client_for(tenant)
    browser.cookies[DEVICE_COOKIE] = owner.cookies[DEVICE_COOKIE].value
    with tenant_context(tenant):
        TwoFactorDevice.objects.update(last_step=None)  # the next code may be used again
    # when: someone who knows the password tries codes from another address
    attacker = client_for(tenant)
    sign_in(attacker, ADMIN, ADMIN_PASSWORD, ip=IP)
    for _ in range(6):
        attacker.post(VERIFY, {"code": wrong_code(secret)}, REMOTE_ADDR=IP)
    assert sign_in(attacker, ADMIN, ADMIN_PASSWORD, ip=IP).status_code == 429
    # then: the owner's browser signs in with password and code at once
    assert sign_in(browser, ADMIN, ADMIN_PASSWORD, ip=OTHER_IP)["Location"] == VERIFY
    response = browser.post(VERIFY, {"code": next_code(secret)}, REMOTE_ADDR=OTHER_IP)
    assert (response.status_code, response["Location"]) == (302, "/admin/")
    assert signed_in(browser)


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
    services.two_factor_enrol_confirm(user=ops, code=pyotp.TOTP(secret).at(clock()))
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


# --- at once, over real connections ---------------------------------------------------


@pytest.fixture
def race_tenant(django_db_setup, django_db_blocker) -> Iterator[Tenant]:
    """These tests commit, in a tenant of their own that is dropped afterwards."""
    with django_db_blocker.unblock():
        tenant = tenant_create(slug="login_race", name="Race", status="active")
        try:
            yield tenant
        finally:
            tenant_delete(slug="login_race")


def guess(n: int) -> None:
    attempt = services.login_attempt_start(
        username=ADMIN, ip=f"192.0.2.{n}", step=LoginAttempt.Step.PASSWORD
    )
    services.login_attempt_fail(attempt=attempt)


def test_guesses_arriving_at_once_on_a_slowed_account_let_at_most_one_through(race_tenant):
    # given: five failures, the latest two seconds ago (the account waits one second)
    with tenant_context(race_tenant):
        LoginAttempt.objects.bulk_create(
            LoginAttempt(
                username=ADMIN,
                ip="203.0.113.1",
                step="password",
                at=timezone.now() - timedelta(seconds=2),
            )
            for _ in range(5)
        )
    # when: twelve guesses from twelve addresses at the same moment
    outcomes = race(race_tenant, [partial(guess, n) for n in range(1, 13)])
    # then: at most one was checked, the others were refused and left no row
    assert outcomes["ok"] <= 1
    assert outcomes["login_locked"] == 12 - outcomes["ok"]
    with tenant_context(race_tenant):
        assert LoginAttempt.objects.count() == 5 + outcomes["ok"]
    # and the account was not refusing for its delay: a guess alone is checked
    if outcomes["ok"] == 0:
        assert race(race_tenant, [partial(guess, 99)]) == {"ok": 1}
