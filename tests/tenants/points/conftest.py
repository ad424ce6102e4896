from __future__ import annotations

import pytest

from tenants.community.models import Organisation
from tenants.points.models import Account
from tenants.points.services import account_for_organisation
from tests.factories import ResidentFactory


@pytest.fixture
def shop_account(in_tenant) -> Account:
    return Account.objects.create(kind=Account.Kind.SHOP, code="shop:1", name="萬象公館鄰家小店")


@pytest.fixture
def partner_account(in_tenant) -> Account:
    partner = Organisation.objects.create(name="岑溪家政服務有限公司", kind="company")
    return account_for_organisation(organisation_id=partner.pk)


@pytest.fixture
def volunteer(in_tenant):
    return ResidentFactory(display_name="熱心鄰居")


@pytest.fixture
def neighbour(in_tenant):
    return ResidentFactory(display_name="對門鄰居")
