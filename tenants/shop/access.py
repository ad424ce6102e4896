"""Who runs which shop, and who answers for a partner: from community roles and memberships.

A shop is run by residents holding the shop-operator role for its estate, and by
the leaders who manage that estate (estate secretaries, district admins).
"""

from __future__ import annotations

from django.db.models import QuerySet

from tenants.community.models import OrganisationMember, Resident, Role
from tenants.community.roles import active_roles, resident_scope
from tenants.shop.models import Shop


def operated_shops(resident: Resident) -> QuerySet[Shop]:
    scope = resident_scope(resident)
    if scope.everything:
        return Shop.objects.all()
    estates = set(scope.estate_ids) | set(
        active_roles(resident=resident)
        .filter(role=Role.SHOP_OPERATOR, estate__isnull=False)
        .values_list("estate_id", flat=True)
    )
    return Shop.objects.filter(estate_id__in=estates)


def operates(resident: Resident, shop_id: int) -> bool:
    return operated_shops(resident).filter(pk=shop_id).exists()


def runs_everything(resident: Resident) -> bool:
    return resident_scope(resident).everything


def partner_organisation_ids(resident: Resident) -> list[int]:
    return list(
        OrganisationMember.objects.filter(resident=resident).values_list(
            "organisation_id", flat=True
        )
    )
