"""Tenant staff: invitations by email, forgotten passwords, deactivation; all audited, and
nothing crosses from one tenant to another (user ids repeat across schemas)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.contrib.auth import get_user_model
from django.contrib.sessions.models import Session
from django.core import mail
from django.test import Client
from django.utils import timezone
from django_tenants.utils import tenant_context

from linli.registry.models import Tenant
from linli.registry.services import tenant_create, tenant_delete
from tenants.audit.models import AuditEntry
from tenants.community import staff
from tenants.community.models import Resident, RoleAssignment, StaffInvitation
from tenants.community.roles import active_roles, role_assign
from tests.conftest import ADMIN_PASSWORD, host_of
from tests.factories import BuildingFactory, HouseholdFactory, ResidentFactory, UserFactory
from tests.races import race

User = get_user_model()
INVITEE = "wang.fang@example.org"
GOOD_PASSWORD = "lantern-orchard-47"


@pytest.fixture
def mailbox() -> list[Any]:
    mail.outbox.clear()
    return mail.outbox


def login(tenant: Tenant, username: str, password: str = ADMIN_PASSWORD) -> Client:
    client = Client(HTTP_HOST=host_of(tenant), HTTP_ACCEPT_LANGUAGE="en")
    with tenant_context(tenant):  # users and sessions live in the tenant's schema
        assert client.login(username=username, password=password)
    return client


def staff_member(
    tenant: Tenant, username: str, role: str, scope: str, place_id: int | None = None
) -> Any:
    """A staff login whose resident holds one role (made in the tenant's schema)."""
    with tenant_context(tenant):
        user = User.objects.create_user(
            username=username,
            email=f"{username}@example.org",
            password="leader-password",
            is_staff=True,
        )
        resident = Resident.objects.create(user=user, display_name=username)
        role_assign(
            resident_id=resident.pk,
            role=role,
            scope=scope,
            place_id=place_id,
            starts_on=date(2024, 1, 1),
        )
    return user


def invite(client: Client, capture: Any, **fields: str) -> Any:
    with capture(execute=True):
        return client.post("/admin/staff/", {"action": "invite", **fields})


def link_path(message: Any, tenant: Tenant) -> str:
    found = re.search(r"https?://\S+/staff/invitation/\S+", message.body)
    assert found is not None, message.body
    url = found.group(0)
    parts = urlsplit(url)
    assert parts.hostname == host_of(tenant)  # the link is on the tenant's own host
    return parts.path


def actions(tenant: Tenant) -> list[tuple[str, int | None, str]]:
    with tenant_context(tenant):
        return [
            (e.action, e.actor_user_id, e.object_id)
            for e in AuditEntry.objects.filter(action__startswith="staff.").order_by("id")
        ]


@pytest.fixture
def building(tenant):
    with tenant_context(tenant):
        return BuildingFactory()


# --- invitations -----------------------------------------------------------------------


def test_invitation_round_trip_from_the_email_to_the_admin_with_the_role(
    tenant, building, mailbox, django_capture_on_commit_callbacks
):
    admin = login(tenant, "admin-alpha")
    with tenant_context(tenant):
        admin_id = User.objects.get(username="admin-alpha").pk
        residents_before = Resident.objects.count()
    # when
    response = invite(
        admin,
        django_capture_on_commit_callbacks,
        email=" Wang.Fang@Example.org ",
        role="building_leader",
        place=f"building:{building.pk}",
    )
    # then
    assert response.status_code == 302
    assert len(mailbox) == 1 and mailbox[0].to == [INVITEE]
    path = link_path(mailbox[0], tenant)
    token = path.rsplit("/", 1)[1]
    with tenant_context(tenant):
        invitation = StaffInvitation.objects.get()
        assert invitation.status == "pending" and invitation.email == INVITEE
        assert invitation.token_hash != token and token not in invitation.token_hash  # hashed
        assert invitation.expires_at - timezone.now() > timedelta(days=6, hours=23)
        assert not User.objects.filter(email=INVITEE).exists()
    listed = admin.get("/admin/staff/").content.decode()
    assert INVITEE in listed and f'id="invitation-{invitation.pk}"' in listed

    invitee = Client(HTTP_HOST=host_of(tenant), HTTP_ACCEPT_LANGUAGE="en")
    page = invitee.get(path)
    assert page.status_code == 200
    assert "Building leader" in page.content.decode() and INVITEE in page.content.decode()
    accepted = invitee.post(
        path,
        {"display_name": "王芳", "password": GOOD_PASSWORD, "password_again": GOOD_PASSWORD},
    )
    assert accepted.status_code == 302 and accepted["Location"] == "/admin/"
    # logged in, with the building leader's view and not the district admin's
    assert invitee.get("/admin/").status_code == 200
    assert invitee.get("/admin/community/household/").status_code == 200
    assert invitee.get("/admin/staff/").status_code == 403
    with tenant_context(tenant):
        user = User.objects.get(username=INVITEE)
        assert user.is_staff and user.is_active and not user.is_superuser
        assert user.check_password(GOOD_PASSWORD)
        resident = Resident.objects.get(user=user)
        assert resident.display_name == "王芳"
        assert Resident.objects.count() == residents_before + 1
        roles = list(active_roles(resident=resident))
        assert [(r.role, r.scope, r.building_id) for r in roles] == [
            ("building_leader", "building", building.pk)
        ]
        invitation.refresh_from_db()
        assert invitation.status == "accepted" and invitation.accepted_user == user
    assert actions(tenant) == [
        ("staff.invitation_sent", admin_id, str(invitation.pk)),
        ("staff.invitation_accepted", user.pk, str(invitation.pk)),
    ]
    # the link was single-use
    again = Client(HTTP_HOST=host_of(tenant), HTTP_ACCEPT_LANGUAGE="en").post(
        path, {"display_name": "X", "password": GOOD_PASSWORD, "password_again": GOOD_PASSWORD}
    )
    assert again.status_code == 409 and staff.LINK_USED in again.content.decode()
    with tenant_context(tenant):
        assert User.objects.filter(email__iexact=INVITEE).count() == 1


def test_an_invitation_can_link_an_existing_resident(
    tenant, building, mailbox, django_capture_on_commit_callbacks
):
    with tenant_context(tenant):
        household = HouseholdFactory(unit__building=building)
        resident = ResidentFactory(household=household, display_name="李伟")
        residents_before = Resident.objects.count()
    admin = login(tenant, "admin-alpha")
    response = invite(
        admin,
        django_capture_on_commit_callbacks,
        email=INVITEE,
        role="volunteer",
        place="tenant",
        resident=str(resident.pk),
    )
    assert response.status_code == 302
    invitee = Client(HTTP_HOST=host_of(tenant))
    path = link_path(mailbox[0], tenant)
    assert 'value="李伟"' in invitee.get(path).content.decode()  # the name is offered
    invitee.post(
        path, {"display_name": "李伟", "password": GOOD_PASSWORD, "password_again": GOOD_PASSWORD}
    )
    with tenant_context(tenant):
        user = User.objects.get(username=INVITEE)
        resident.refresh_from_db()
        assert resident.user_id == user.pk
        assert Resident.objects.count() == residents_before  # none created
        assert [r.role for r in active_roles(resident=resident)] == ["volunteer"]


def test_name_and_password_errors_are_shown_per_field_and_nothing_is_created(
    tenant, building, mailbox, django_capture_on_commit_callbacks
):
    admin = login(tenant, "admin-alpha")
    invite(
        admin,
        django_capture_on_commit_callbacks,
        email=INVITEE,
        role="building_leader",
        place=f"building:{building.pk}",
    )
    path = link_path(mailbox[0], tenant)
    invitee = Client(HTTP_HOST=host_of(tenant), HTTP_ACCEPT_LANGUAGE="en")
    weak = invitee.post(path, {"display_name": "  ", "password": "12345", "password_again": "1"})
    text = weak.content.decode()
    assert weak.status_code == 200
    assert 'id="display_name-errors"' in text and staff.NAME_REQUIRED in text
    assert 'id="password-errors"' in text and "entirely numeric" in text
    mismatch = invitee.post(
        path, {"display_name": "王芳", "password": GOOD_PASSWORD, "password_again": "other-one"}
    )
    assert mismatch.status_code == 200 and 'id="password_again-errors"' in mismatch.content.decode()
    assert invitee.get("/admin/").status_code == 302  # not logged in
    with tenant_context(tenant):
        assert not User.objects.filter(username=INVITEE).exists()
        assert StaffInvitation.objects.get().status == "pending"
        assert not RoleAssignment.objects.filter(role="building_leader").exists()


def test_the_invite_form_refuses_with_clear_errors_and_sends_nothing(
    tenant, building, mailbox, django_capture_on_commit_callbacks
):
    with tenant_context(tenant):
        User.objects.filter(username="admin-alpha").update(email="chief@example.org")
        linked = ResidentFactory(user=UserFactory(username="has-login"))
    admin = login(tenant, "admin-alpha")
    cases = [
        ({"email": "chief@example.org", "role": "volunteer", "place": "tenant"}, 409,
         staff.EMAIL_IS_STAFF),
        ({"email": "has-login@example.org", "role": "volunteer", "place": "tenant"}, 409,
         staff.EMAIL_IS_STAFF),
        ({"email": INVITEE, "role": "building_leader", "place": f"estate:{building.estate_id}"},
         422, "The role “Building leader” cannot cover a place of this kind (Estate)."),
        ({"email": INVITEE, "role": "building_leader", "place": "tenant"}, 422,
         "cannot cover a place of this kind (Whole tenant)"),
        ({"email": INVITEE, "role": "building_leader", "place": "building:999999"}, 422,
         staff.PLACE_NOT_FOUND),
        ({"email": INVITEE, "role": "building_leader", "place": "building:abc"}, 422,
         staff.PLACE_NOT_FOUND),
        ({"email": INVITEE, "role": "mayor", "place": "tenant"}, 422, staff.ROLE_INVALID),
        ({"email": "not an email", "role": "volunteer", "place": "tenant"}, 422,
         staff.EMAIL_INVALID),
        ({"email": INVITEE, "role": "volunteer", "place": "nowhere:1"}, 422, "cannot cover"),
        ({"email": INVITEE, "role": "volunteer", "place": "tenant", "resident": "99999999"}, 404,
         "No resident 99999999."),
        ({"email": INVITEE, "role": "volunteer", "place": "tenant", "resident": str(linked.pk)},
         409, staff.RESIDENT_HAS_LOGIN),
    ]  # fmt: skip
    for fields, status, message in cases:
        response = invite(admin, django_capture_on_commit_callbacks, **fields)
        assert (response.status_code, fields) == (status, fields)
        assert message in response.content.decode(), fields
    assert mailbox == []
    with tenant_context(tenant):
        assert not StaffInvitation.objects.exists()
    assert actions(tenant) == []


def test_a_second_pending_invitation_for_one_email_is_refused(
    tenant, mailbox, django_capture_on_commit_callbacks
):
    admin = login(tenant, "admin-alpha")
    first = invite(admin, django_capture_on_commit_callbacks, email=INVITEE, role="volunteer",
                   place="tenant")  # fmt: skip
    second = invite(admin, django_capture_on_commit_callbacks, email=INVITEE, role="volunteer",
                    place="tenant")  # fmt: skip
    assert (first.status_code, second.status_code) == (302, 409)
    assert staff.ALREADY_INVITED in second.content.decode()
    assert len(mailbox) == 1


def test_resend_replaces_the_link_and_revoke_kills_it(
    tenant, mailbox, django_capture_on_commit_callbacks
):
    admin = login(tenant, "admin-alpha")
    invite(admin, django_capture_on_commit_callbacks, email=INVITEE, role="volunteer",
           place="tenant")  # fmt: skip
    with tenant_context(tenant):
        invitation = StaffInvitation.objects.get()
    old_path = link_path(mailbox[0], tenant)
    with django_capture_on_commit_callbacks(execute=True):
        resent = admin.post("/admin/staff/", {"action": "resend", "invitation": invitation.pk})
    assert resent.status_code == 302 and len(mailbox) == 2
    new_path = link_path(mailbox[1], tenant)
    assert new_path != old_path
    invitee = Client(HTTP_HOST=host_of(tenant), HTTP_ACCEPT_LANGUAGE="en")
    stale = invitee.get(old_path)
    assert stale.status_code == 404 and staff.LINK_INVALID in stale.content.decode()
    assert invitee.get(new_path).status_code == 200
    revoked = admin.post("/admin/staff/", {"action": "revoke", "invitation": invitation.pk})
    assert revoked.status_code == 302
    page = invitee.get(new_path)
    assert page.status_code == 409 and staff.LINK_REVOKED in page.content.decode()
    posted = invitee.post(
        new_path, {"display_name": "X", "password": GOOD_PASSWORD, "password_again": GOOD_PASSWORD}
    )
    assert posted.status_code == 409
    # a revoked invitation is neither re-sent nor revoked again
    with django_capture_on_commit_callbacks(execute=True):
        again = admin.post("/admin/staff/", {"action": "resend", "invitation": invitation.pk})
    assert again.status_code == 409 and len(mailbox) == 2
    with tenant_context(tenant):
        assert not User.objects.filter(username=INVITEE).exists()
        admin_id = User.objects.get(username="admin-alpha").pk
    assert [a[:2] for a in actions(tenant)] == [
        ("staff.invitation_sent", admin_id),
        ("staff.invitation_resent", admin_id),
        ("staff.invitation_revoked", admin_id),
    ]


def test_an_expired_link_is_refused(tenant, mailbox, django_capture_on_commit_callbacks):
    admin = login(tenant, "admin-alpha")
    invite(admin, django_capture_on_commit_callbacks, email=INVITEE, role="volunteer",
           place="tenant")  # fmt: skip
    path = link_path(mailbox[0], tenant)
    with tenant_context(tenant):
        StaffInvitation.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    invitee = Client(HTTP_HOST=host_of(tenant), HTTP_ACCEPT_LANGUAGE="en")
    page = invitee.get(path)
    assert page.status_code == 422 and staff.LINK_EXPIRED in page.content.decode()
    posted = invitee.post(
        path, {"display_name": "X", "password": GOOD_PASSWORD, "password_again": GOOD_PASSWORD}
    )
    assert posted.status_code == 422
    with tenant_context(tenant):
        assert not User.objects.filter(username=INVITEE).exists()
    # an expired invitation no longer blocks a new one
    again = invite(admin, django_capture_on_commit_callbacks, email=INVITEE, role="volunteer",
                   place="tenant")  # fmt: skip
    assert again.status_code == 302 and len(mailbox) == 2


def test_bad_links_and_bad_posts_never_fail_with_a_500(tenant):
    anonymous = Client(HTTP_HOST=host_of(tenant))
    assert anonymous.get("/staff/invitation/nonsense").status_code == 404
    assert anonymous.get("/staff/invitation/" + "x" * 5000).status_code == 404
    admin = login(tenant, "admin-alpha")
    for data in [
        {"action": "resend", "invitation": "abc"},
        {"action": "revoke", "invitation": ""},
        {"action": "revoke", "invitation": "9" * 40},
        {"action": "deactivate", "user": "-1"},
        {"action": "reactivate", "user": "1e9"},
        {"action": "explode"},
        {},
    ]:
        status = admin.post("/admin/staff/", data).status_code
        assert status in (400, 404), (data, status)


def test_only_district_admins_may_invite(
    tenant, building, mailbox, django_capture_on_commit_callbacks
):
    leader = staff_member(tenant, "leader-b", "building_leader", "building", building.pk)
    client = login(tenant, "leader-b", "leader-password")
    assert client.get("/admin/staff/").status_code == 403
    response = invite(client, django_capture_on_commit_callbacks, email=INVITEE,
                      role="volunteer", place="tenant")  # fmt: skip
    assert response.status_code == 403
    with tenant_context(tenant), pytest.raises(staff.NotAllowed):
        staff.invitation_create(by=leader, email=INVITEE, role="volunteer", scope="tenant",
                                accept_url="http://x/")  # fmt: skip
    # a district admin by role (not a superuser) may
    staff_member(tenant, "da-role", "district_admin", "tenant")
    chief = login(tenant, "da-role", "leader-password")
    assert chief.get("/admin/staff/").status_code == 200
    ok = invite(chief, django_capture_on_commit_callbacks, email=INVITEE, role="volunteer",
                place="tenant")  # fmt: skip
    assert ok.status_code == 302 and len(mailbox) == 1
    with tenant_context(tenant):
        assert StaffInvitation.objects.get().invited_by.username == "da-role"


# --- cross-tenant --------------------------------------------------------------------------


def test_beta_cannot_see_resend_revoke_or_accept_alphas_invitations(
    tenant, other_tenant, mailbox, django_capture_on_commit_callbacks
):
    alpha = login(tenant, "admin-alpha")
    invite(alpha, django_capture_on_commit_callbacks, email=INVITEE, role="volunteer",
           place="tenant")  # fmt: skip
    path = link_path(mailbox[0], tenant)
    with tenant_context(tenant):
        invitation = StaffInvitation.objects.get()
    beta = login(other_tenant, "admin-beta")
    assert INVITEE not in beta.get("/admin/staff/").content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        resend = beta.post("/admin/staff/", {"action": "resend", "invitation": invitation.pk})
    revoke = beta.post("/admin/staff/", {"action": "revoke", "invitation": invitation.pk})
    assert (resend.status_code, revoke.status_code) == (404, 404)
    assert len(mailbox) == 1
    stranger = Client(HTTP_HOST=host_of(other_tenant), HTTP_ACCEPT_LANGUAGE="en")
    assert stranger.get(path).status_code == 404
    posted = stranger.post(
        path, {"display_name": "X", "password": GOOD_PASSWORD, "password_again": GOOD_PASSWORD}
    )
    assert posted.status_code == 404
    with tenant_context(tenant):
        fresh = StaffInvitation.objects.get()
        assert (fresh.status, fresh.times_sent, fresh.token_hash) == (
            "pending", 1, invitation.token_hash,
        )  # fmt: skip
    with tenant_context(other_tenant):
        assert not User.objects.filter(username=INVITEE).exists()
        assert not AuditEntry.objects.filter(action__startswith="staff.").exists()


def test_beta_cannot_deactivate_alphas_users(tenant, other_tenant):
    with tenant_context(tenant):
        for n in range(3):  # ids beyond any of beta's users
            UserFactory(username=f"alpha-clerk-{n}")
        target = User.objects.get(username="alpha-clerk-2")
    with tenant_context(other_tenant):
        assert not User.objects.filter(pk=target.pk).exists()
    beta = login(other_tenant, "admin-beta")
    response = beta.post("/admin/staff/", {"action": "deactivate", "user": target.pk})
    assert response.status_code == 404
    with tenant_context(tenant):
        assert User.objects.get(pk=target.pk).is_active


# --- password reset ---------------------------------------------------------------------------


def reset_link(message: Any, tenant: Tenant) -> str:
    found = re.search(r"https?://\S+/reset/\S+/\S+/", message.body)
    assert found is not None, message.body
    url = found.group(0)
    parts = urlsplit(url)
    assert parts.hostname == host_of(tenant)
    return parts.path


def test_password_reset_round_trip_and_the_link_is_bound_to_its_tenant(
    tenant, other_tenant, mailbox
):
    with tenant_context(tenant):
        User.objects.filter(username="admin-alpha").update(email="chief@example.org")
        alpha_id = User.objects.get(username="admin-alpha").pk
    with tenant_context(other_tenant):
        User.objects.filter(username="admin-beta").update(email="chief@example.org")
        beta_id = User.objects.get(username="admin-beta").pk
    assert alpha_id == beta_id  # the same id in both schemas: the case that matters
    anonymous = Client(HTTP_HOST=host_of(tenant), HTTP_ACCEPT_LANGUAGE="en")
    assert "/admin/password_reset/" in anonymous.get("/admin/login/").content.decode()
    asked = anonymous.post("/admin/password_reset/", {"email": "Chief@Example.org"})
    assert asked.status_code == 302 and asked["Location"] == "/admin/password_reset/done/"
    assert len(mailbox) == 1 and mailbox[0].to == ["chief@example.org"]
    path = reset_link(mailbox[0], tenant)

    # alpha's link on beta's host: refused, beta's password untouched
    beta = Client(HTTP_HOST=host_of(other_tenant), HTTP_ACCEPT_LANGUAGE="en")
    refused = beta.get(path)
    assert refused.status_code == 200 and "password reset link was invalid" in (
        refused.content.decode()
    )
    uid = path.split("/")[2]
    forced = beta.post(
        f"/reset/{uid}/set-password/",
        {"new_password1": "taken-over-99x", "new_password2": "taken-over-99x"},
    )
    assert forced.status_code == 200 and "password reset link was invalid" in (
        forced.content.decode()
    )
    with tenant_context(other_tenant):
        assert User.objects.get(pk=beta_id).check_password(ADMIN_PASSWORD)
        assert not AuditEntry.objects.filter(action__startswith="staff.").exists()

    # on alpha's host it works, once
    opened = anonymous.get(path)
    assert opened.status_code == 302 and opened["Location"] == f"/reset/{uid}/set-password/"
    done = anonymous.post(
        opened["Location"], {"new_password1": GOOD_PASSWORD, "new_password2": GOOD_PASSWORD}
    )
    assert done.status_code == 302 and done["Location"] == "/reset/done/"
    assert anonymous.get("/reset/done/").status_code == 200
    with tenant_context(tenant):
        assert User.objects.get(pk=alpha_id).check_password(GOOD_PASSWORD)
    assert actions(tenant) == [
        ("staff.password_reset_requested", None, str(alpha_id)),
        ("staff.password_reset_completed", alpha_id, str(alpha_id)),
    ]
    reused = Client(HTTP_HOST=host_of(tenant), HTTP_ACCEPT_LANGUAGE="en").get(path)
    assert reused.status_code == 200 and "password reset link was invalid" in (
        reused.content.decode()
    )
    assert login(tenant, "admin-alpha", GOOD_PASSWORD)


def test_a_reset_for_an_unknown_email_sends_nothing_and_answers_the_same(tenant, mailbox):
    with tenant_context(tenant):
        User.objects.filter(username="admin-alpha").update(email="chief@example.org")
        UserFactory(username="gone", email="gone@example.org", is_active=False)
    anonymous = Client(HTTP_HOST=host_of(tenant), HTTP_ACCEPT_LANGUAGE="en")
    known = anonymous.post("/admin/password_reset/", {"email": "chief@example.org"})
    mailbox.clear()
    for email in ["nobody@example.org", "gone@example.org"]:
        unknown = anonymous.post("/admin/password_reset/", {"email": email})
        assert (unknown.status_code, unknown["Location"]) == (known.status_code, known["Location"])
    assert mailbox == []
    assert [a[0] for a in actions(tenant)] == ["staff.password_reset_requested"]  # the known one


def test_reset_requests_are_limited_and_past_the_limit_send_nothing(tenant, other_tenant, mailbox):
    with tenant_context(tenant):
        User.objects.filter(username="admin-alpha").update(email="chief@example.org")
    anonymous = Client(HTTP_HOST=host_of(tenant), HTTP_ACCEPT_LANGUAGE="en")
    answers = [
        anonymous.post("/admin/password_reset/", {"email": "chief@example.org"})
        for _attempt in range(7)
    ]
    # every answer is the same page; only the first five sent an email
    assert {(a.status_code, a["Location"]) for a in answers} == {
        (302, "/admin/password_reset/done/")
    }
    assert len(mailbox) == 5
    # another tenant's staff with the same address is not limited by alpha's requests
    with tenant_context(other_tenant):
        User.objects.filter(username="admin-beta").update(email="chief@example.org")
    beta = Client(HTTP_HOST=host_of(other_tenant), HTTP_ACCEPT_LANGUAGE="en")
    assert beta.post("/admin/password_reset/", {"email": "chief@example.org"}).status_code == 302
    assert len(mailbox) == 6 and "beta" in mailbox[-1].body


# --- deactivation ------------------------------------------------------------------------


def test_deactivation_ends_sessions_and_roles_and_reactivation_gives_them_back(tenant, building):
    leader = staff_member(tenant, "leader-d", "building_leader", "building", building.pk)
    theirs = login(tenant, "leader-d", "leader-password")
    assert theirs.get("/admin/").status_code == 200
    admin = login(tenant, "admin-alpha")
    # when
    response = admin.post("/admin/staff/", {"action": "deactivate", "user": leader.pk})
    # then
    assert response.status_code == 302
    nxt = theirs.get("/admin/")
    assert nxt.status_code == 302 and nxt["Location"].startswith("/admin/login/")
    assert not Client(HTTP_HOST=host_of(tenant)).login(
        username="leader-d", password="leader-password"
    )
    today = timezone.localdate()
    with tenant_context(tenant):
        leader.refresh_from_db()
        assert not leader.is_active
        sessions = [s.get_decoded().get("_auth_user_id") for s in Session.objects.all()]
        assert str(leader.pk) not in sessions
        assert RoleAssignment.objects.get(resident__user=leader).ends_on == today
        admin_id = User.objects.get(username="admin-alpha").pk
    listed = admin.get("/admin/staff/").content.decode()
    assert "Deactivated" in listed.split(f'id="staff-{leader.pk}"')[1].split("</tr>")[0]
    # reactivate: the role comes back
    assert (
        admin.post("/admin/staff/", {"action": "reactivate", "user": leader.pk}).status_code == 302
    )
    with tenant_context(tenant):
        leader.refresh_from_db()
        assert leader.is_active
        resident = Resident.objects.get(user=leader)
        roles = RoleAssignment.objects.filter(resident=resident).order_by("id")
        assert [(r.role, r.building_id, r.starts_on, r.ends_on) for r in roles] == [
            ("building_leader", building.pk, date(2024, 1, 1), today),  # ended on deactivation
            ("building_leader", building.pk, today, None),  # given back
        ]
    assert login(tenant, "leader-d", "leader-password").get("/admin/").status_code == 200
    assert [a[:2] for a in actions(tenant)] == [
        ("staff.deactivated", admin_id),
        ("staff.reactivated", admin_id),
    ]


def test_nobody_deactivates_themselves_or_the_last_district_admin(tenant):
    chief = staff_member(tenant, "da-one", "district_admin", "tenant")
    client = login(tenant, "da-one", "leader-password")
    own = client.post("/admin/staff/", {"action": "deactivate", "user": chief.pk})
    assert own.status_code == 409 and staff.NOT_YOURSELF in own.content.decode()
    with tenant_context(tenant):
        superuser = User.objects.get(username="admin-alpha")
    # the district admin switches the superuser off: allowed, one admin is left
    assert (
        client.post("/admin/staff/", {"action": "deactivate", "user": superuser.pk}).status_code
        == 302
    )
    # a request the superuser sent before being switched off (``superuser`` was loaded
    # then) must not remove the last admin
    with tenant_context(tenant):
        with pytest.raises(staff.Conflict) as refused:
            staff.staff_deactivate(by=superuser, user_id=chief.pk)
        assert refused.value.code == "last_district_admin"
        assert User.objects.get(pk=chief.pk).is_active
        assert [r.role for r in active_roles(resident=Resident.objects.get(user=chief))] == [
            "district_admin"
        ]


@pytest.fixture
def race_tenant(django_db_setup, django_db_blocker) -> Iterator[Tenant]:
    """A tenant of its own (these tests commit), whose only admins are made by the test."""
    with django_db_blocker.unblock():
        tenant = tenant_create(slug="staff_race", name="Race", status="active")
        try:
            yield tenant
        finally:
            tenant_delete(slug="staff_race")


def test_two_admins_deactivating_each_other_at_once_leave_one_in_charge(race_tenant):
    one = staff_member(race_tenant, "da-a", "district_admin", "tenant")
    two = staff_member(race_tenant, "da-b", "district_admin", "tenant")
    outcomes = race(
        race_tenant,
        [
            lambda: staff.staff_deactivate(by=one, user_id=two.pk),
            lambda: staff.staff_deactivate(by=two, user_id=one.pk),
        ],
    )
    assert outcomes == {"ok": 1, "last_district_admin": 1}
    with tenant_context(race_tenant):
        assert User.objects.filter(pk__in=[one.pk, two.pk], is_active=True).count() == 1


def test_a_staff_user_without_the_district_admin_role_gets_403(tenant, building):
    staff_member(tenant, "sec-e", "estate_secretary", "estate", building.estate_id)
    client = login(tenant, "sec-e", "leader-password")
    assert client.get("/admin/staff/").status_code == 403
    with tenant_context(tenant):
        target = User.objects.get(username="admin-alpha")
    response = client.post("/admin/staff/", {"action": "deactivate", "user": target.pk})
    assert response.status_code == 403
    with tenant_context(tenant):
        assert User.objects.get(pk=target.pk).is_active
    assert actions(tenant) == []
