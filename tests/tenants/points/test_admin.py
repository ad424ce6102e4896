"""The points admin: books read-only, adjustments and reversals with reasons, audited; reports."""

from __future__ import annotations

from django.test import Client
from django_tenants.utils import tenant_context

from tenants.audit.models import AuditEntry
from tenants.points.models import Account, Transaction
from tenants.points.services import account_for_resident, points_award, points_redeem
from tests.conftest import ADMIN_PASSWORD, host_of
from tests.factories import ResidentFactory, UserFactory


def admin_client(tenant, username="admin-alpha", password=ADMIN_PASSWORD) -> Client:
    from linli.registry.services import module_set_enabled

    module_set_enabled(slug=tenant.schema_name, module="points", enabled=True)
    client = Client(HTTP_HOST=host_of(tenant), HTTP_ACCEPT_LANGUAGE="en")
    with tenant_context(tenant):
        assert client.login(username=username, password=password)
    return client


def test_adjust_and_reverse_through_the_admin_are_audited(tenant):
    with tenant_context(tenant):
        resident = ResidentFactory()
        account = account_for_resident(resident_id=resident.pk)
    client = admin_client(tenant)
    page = client.get(f"/admin/points/account/{account.pk}/adjust/")
    assert page.status_code == 200
    nonce = page.context["nonce"]
    response = client.post(
        f"/admin/points/account/{account.pk}/adjust/",
        {"amount": 40, "reason": "paper records", "nonce": nonce},
    )
    assert response.status_code == 302
    client.post(
        f"/admin/points/account/{account.pk}/adjust/",
        {"amount": 40, "reason": "paper records", "nonce": nonce},
    )  # double submit
    with tenant_context(tenant):
        assert Account.objects.get(pk=account.pk).balance == 40
        adjustment = Transaction.objects.get(kind="adjust")
    missing = client.post(
        f"/admin/points/account/{account.pk}/adjust/", {"amount": 5, "reason": "", "nonce": "n2"}
    )
    assert missing.status_code == 200  # the form again, with the error
    response = client.post(
        f"/admin/points/transaction/{adjustment.pk}/reverse/", {"reason": "entered twice"}
    )
    assert response.status_code == 302
    with tenant_context(tenant):
        assert Account.objects.get(pk=account.pk).balance == 0
        entries = list(
            AuditEntry.objects.filter(action__in=["points.adjust", "points.reversal"]).values_list(
                "action", "actor_user_id"
            )
        )
        admin_id = AuditEntry.objects.filter(action="points.adjust").get().actor_user_id
    assert sorted(a for a, _u in entries) == ["points.adjust", "points.reversal"]
    assert admin_id is not None


def test_the_books_cannot_be_edited_in_the_admin(tenant):
    with tenant_context(tenant):
        resident = ResidentFactory()
        tx = points_award(
            resident_id=resident.pk, category="default", hours=1, source="s", idempotency_key="k"
        )
    client = admin_client(tenant)
    assert client.get(f"/admin/points/transaction/{tx.pk}/change/").status_code == 200
    response = client.post(f"/admin/points/transaction/{tx.pk}/delete/", {"post": "yes"})
    assert response.status_code == 403
    assert client.get("/admin/points/account/add/").status_code == 403


def test_report_shows_the_summary_chart_and_settlement_csv(tenant):
    with tenant_context(tenant):
        resident = ResidentFactory()
        shop = Account.objects.create(kind="shop", code="shop:r", name="萬象公館鄰家小店")
        points_award(
            resident_id=resident.pk, category="default", hours=4, source="s", idempotency_key="k1"
        )
        points_redeem(
            resident_id=resident.pk, amount=15, to_account_id=shop.pk, idempotency_key="k2"
        )
    client = admin_client(tenant)
    page = client.get("/admin/points/account/report/")
    assert page.status_code == 200
    body = page.content.decode()
    assert "<svg" in body and "issued 40" in body and "redeemed 15" in body
    assert "萬象公館鄰家小店" in body
    csv_text = client.get("/admin/points/account/report/?format=csv").content.decode("utf-8-sig")
    lines = csv_text.strip().splitlines()
    assert lines[0] == "account_id,account,day,points_received"
    assert lines[1].endswith(",15") and "萬象公館鄰家小店" in lines[1]


def test_leaders_who_are_not_district_admins_do_not_see_the_ledger(tenant):
    with tenant_context(tenant):
        UserFactory(username="clerk", password="clerk-pass")
    client = admin_client(tenant, "clerk", "clerk-pass")
    assert client.get("/admin/points/account/").status_code == 403
    assert client.get("/admin/points/account/report/").status_code == 403


def test_a_district_admin_does_not_adjust_or_give_back_their_own_points(tenant):
    """The admin follows the API's rule: no one approves their own points."""
    from tenants.community.roles import role_assign

    with tenant_context(tenant):
        user = UserFactory(username="district-clerk", password="clerk-pass")
        me = ResidentFactory(user=user)
        role_assign(resident_id=me.pk, role="district_admin", scope="tenant")
        mine = account_for_resident(resident_id=me.pk)
        theirs = account_for_resident(resident_id=ResidentFactory().pk)
        shop = Account.objects.create(kind="shop", code="shop:9", name="小店")
        earned = points_award(
            resident_id=me.pk, category="default", hours=2, source="s-me", idempotency_key="a"
        )
        points_award(
            resident_id=me.pk, category="default", hours=1, source="s-me2", idempotency_key="b"
        )
        spent = points_redeem(
            resident_id=me.pk, amount=5, to_account_id=shop.pk, idempotency_key="r"
        )
    client = admin_client(tenant, "district-clerk", "clerk-pass")
    assert client.get(f"/admin/points/account/{theirs.pk}/adjust/").status_code == 200
    assert client.get(f"/admin/points/account/{mine.pk}/adjust/").status_code == 403
    refused = client.post(
        f"/admin/points/account/{mine.pk}/adjust/", {"amount": 40, "reason": "x", "nonce": "n"}
    )
    assert refused.status_code == 403
    assert (
        client.post(
            f"/admin/points/transaction/{spent.pk}/reverse/", {"reason": "mine"}
        ).status_code
        == 403
    )  # a reversal that gives back to themself
    taken_back = client.post(
        f"/admin/points/transaction/{earned.pk}/reverse/", {"reason": "not earned"}
    )
    assert taken_back.status_code == 302  # taking from themself approves nothing
    with tenant_context(tenant):
        assert Account.objects.get(pk=mine.pk).balance == 5  # 30 earned, 5 spent, 20 back
        assert not Transaction.objects.filter(kind="adjust").exists()
