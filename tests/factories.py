"""Factories for tests. Tenants are always made through the provisioning service."""

from __future__ import annotations

from typing import Any

import factory
from django.contrib.auth import get_user_model

from linli.registry.models import Tenant
from linli.registry.services import tenant_create


class TenantFactory(factory.Factory):
    """Provisions a real tenant (schema and all) inside the test's transaction."""

    class Meta:
        model = Tenant

    slug = factory.Sequence(lambda n: f"district{n}")
    name = factory.Sequence(lambda n: f"District {n}")
    region = "廣西 Guangxi"
    locale = "zh-hans"
    time_zone = "Asia/Shanghai"
    currency = "CNY"
    status = Tenant.Status.ACTIVE

    @classmethod
    def _create(cls, model_class: type[Tenant], *args: Any, **kwargs: Any) -> Tenant:
        return tenant_create(**kwargs)


class UserFactory(factory.django.DjangoModelFactory):
    """A staff user in whichever schema is active (use inside ``tenant_context``)."""

    class Meta:
        model = get_user_model()

    username = factory.Sequence(lambda n: f"leader{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.org")
    password = factory.django.Password("leader-password")
    is_staff = True


class EstateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "community.Estate"

    name = factory.Sequence(lambda n: f"學府{n}號小區")
    address = factory.Sequence(lambda n: f"岑溪市學府路{n}號")


class BuildingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "community.Building"

    estate = factory.SubFactory(EstateFactory)
    name = factory.Sequence(lambda n: f"{n}棟")


class UnitFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "community.Unit"

    building = factory.SubFactory(BuildingFactory)
    name = factory.Sequence(lambda n: f"{n}單元")


class HouseholdFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "community.Household"

    unit = factory.SubFactory(UnitFactory)
    flat_number = factory.Sequence(lambda n: f"{100 + n}")


class ResidentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "community.Resident"

    household = factory.SubFactory(HouseholdFactory)
    display_name = factory.Sequence(lambda n: f"張{n}明")
    phone = factory.Sequence(lambda n: f"+86138{n:08d}")
