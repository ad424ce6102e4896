"""A leader prints sign-in codes for a stairwell; a household member scans and chooses who
they are. Printing again replaces the old card; sessions can be revoked in the admin."""

from __future__ import annotations

import re

from django.test import Client

from tenants.community.models import Term
from tenants.pages.models import HouseholdPass, ResidentSession
from tests.conftest import ADMIN_PASSWORD, host_of
from tests.factories import HouseholdFactory, ResidentFactory, UnitFactory


def admin(tenant) -> Client:
    client = Client(HTTP_HOST=host_of(tenant), HTTP_ACCEPT_LANGUAGE="en")
    assert client.login(username="admin-alpha", password=ADMIN_PASSWORD)
    return client


def test_a_printed_household_code_signs_in_who_chooses_themselves(tenant, in_tenant):
    unit = UnitFactory()
    home = HouseholdFactory(unit=unit, flat_number="C101")
    grandma = ResidentFactory(display_name="王奶奶", household=home)
    ResidentFactory(display_name="王爺爺", household=home)
    ResidentFactory(household=HouseholdFactory(unit=unit, flat_number="C102"))
    printed = admin(tenant).get(f"/admin/pages/householdpass/print/{unit.pk}/")
    assert printed.status_code == 200
    assert printed.content.decode().count("data:image/svg+xml;base64,") == 2
    assert HouseholdPass.objects.count() == 2
    # the card's token is only in the QR code; issue one we can read
    from tenants.pages.signin import household_pass_issue

    token = household_pass_issue(household_id=home.pk)
    assert HouseholdPass.objects.filter(household=home, revoked_at__isnull=True).count() == 1
    phone = Client(HTTP_HOST=host_of(tenant), HTTP_ACCEPT_LANGUAGE="en")
    choose = phone.get(f"/r/pass/{token}").content.decode()
    assert "王奶奶" in choose and "王爺爺" in choose
    signed = phone.post(f"/r/pass/{token}", {"resident": grandma.pk})
    assert signed.status_code == 302 and "linli_r" in signed.cookies
    assert "王奶奶" in phone.get("/r/").content.decode()
    # someone not of the household cannot be chosen; an unknown card shows nothing
    stranger = ResidentFactory()
    refused = Client(HTTP_HOST=host_of(tenant)).post(f"/r/pass/{token}", {"resident": stranger.pk})
    assert refused.status_code == 200 and not refused.cookies.get("linli_r")
    assert Client(HTTP_HOST=host_of(tenant)).get("/r/pass/nonsense").status_code == 404
    # the admin revokes the phone's session: it is signed out
    session = ResidentSession.objects.get(resident=grandma)
    admin(tenant).post(
        "/admin/pages/residentsession/", {"action": "revoke", "_selected_action": [session.pk]}
    )
    assert phone.get("/r/").status_code == 302


def test_pages_use_the_tenants_own_words(tenant, in_tenant):
    Term.objects.create(key="help_team", language="en", label="Neighbours Helping Neighbours")
    resident = ResidentFactory(household=HouseholdFactory())
    from tenants.pages.signin import household_pass_issue

    token = household_pass_issue(household_id=resident.household_id)
    client = Client(HTTP_HOST=host_of(tenant), HTTP_ACCEPT_LANGUAGE="en")
    client.post(f"/r/pass/{token}", {"resident": resident.pk})
    from linli.registry.services import module_set_enabled

    module_set_enabled(slug="alpha", module="helpteam", enabled=True)
    home = client.get("/r/").content.decode()
    assert re.search(r">\s*Neighbours Helping Neighbours\s*<", home)
