"""Reads of the community: places, people, organisations, tags, terminology."""

from __future__ import annotations

from typing import Any, TypeVar

from django.contrib.postgres.aggregates import ArrayAgg
from django.db.models import Exists, Model, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from tenants.community.access import RESIDENT_PLACE_FIELDS, RESIDENT_PLACES, residents_visible
from tenants.community.actor import Actor
from tenants.community.models import (
    Area,
    AreaLevel,
    Estate,
    Organisation,
    OrganisationMember,
    Resident,
    ResidentTag,
    RoleAssignment,
    Term,
)
from tenants.community.terminology import terminology_defaults

M = TypeVar("M", bound=Model)


def terminology() -> dict[str, dict[str, str]]:
    """Every language's labels: the defaults, overridden by the tenant's own terms."""
    labels = terminology_defaults()
    for term in Term.objects.all():
        labels.setdefault(term.language, {})[term.key] = term.label
    return labels


def resident_for_acting(raw_id: str) -> Resident | None:
    """The active, not erased resident an API key may act for, or None."""
    # ASCII digits only: str.isdigit() also accepts "²" and other digits int() refuses.
    if not (raw_id.isascii() and raw_id.isdigit()) or len(raw_id) > 18:
        return None
    return (
        Resident.objects.select_related("household__unit__building")
        .filter(pk=int(raw_id), status=Resident.Status.ACTIVE, erased_at__isnull=True)
        .first()
    )


def resident_list(
    *,
    actor: Actor,
    estate_id: int | None = None,
    building_id: int | None = None,
    unit_id: int | None = None,
    household_id: int | None = None,
    area_id: int | None = None,
    role: str | None = None,
    status: str | None = None,
) -> QuerySet[Resident]:
    """Residents the actor sees, filtered by place, role and status (two queries a page)."""
    residents = residents_visible(actor)
    if household_id is not None:
        residents = residents.filter(household_id=household_id)
    if unit_id is not None:
        residents = residents.filter(household__unit_id=unit_id)
    if building_id is not None:
        residents = residents.filter(household__unit__building_id=building_id)
    if estate_id is not None:
        residents = residents.filter(household__unit__building__estate_id=estate_id)
    if area_id is not None:
        area = Area.objects.filter(pk=area_id).first()
        path = area.path if area is not None else "-"
        residents = residents.filter(household__unit__building__estate__area__path__startswith=path)
    if role:
        today = timezone.localdate()
        residents = residents.filter(
            Exists(
                RoleAssignment.objects.filter(
                    resident=OuterRef("pk"), role=role, starts_on__lte=today
                ).filter(Q(ends_on__isnull=True) | Q(ends_on__gte=today))
            )
        )
    if status:
        residents = residents.filter(status=status)
    own = [field.name for field in Resident._meta.concrete_fields]
    # The places come along for their ids only: a row each, not five whole models.
    residents = residents.select_related(RESIDENT_PLACES).only(*own, *RESIDENT_PLACE_FIELDS)
    return with_tag_names(residents)


def with_tag_names(residents: QuerySet[Resident]) -> QuerySet[Resident]:
    """Each resident's tag names (by name) as ``tag_names``, in the same query: a page of
    residents without a second query and a model per tag."""
    names = (
        Resident.tags.through.objects.filter(resident_id=OuterRef("pk"))
        .order_by()
        .values("resident_id")
        .annotate(names=ArrayAgg("residenttag__name", order_by="residenttag__name"))
        .values("names")  # type: ignore[misc]  # the annotation just made
    )
    return residents.annotate(tag_names=Subquery(names))


def estate_list(*, area_id: int | None = None) -> QuerySet[Estate]:
    """Estates, optionally those anywhere under an area (a street rolls up its grids)."""
    estates = Estate.objects.all()
    if area_id is not None:
        area = Area.objects.filter(pk=area_id).first()
        estates = estates.filter(area__path__startswith=area.path if area else "-")
    return estates


def area_level_list() -> QuerySet[AreaLevel]:
    return AreaLevel.objects.all()


def area_list(*, parent_id: int | None = None) -> QuerySet[Area]:
    areas = Area.objects.select_related("level")
    if parent_id is not None:
        areas = areas.filter(parent_id=parent_id)
    return areas


def place_list[M: Model](model: type[M], **filters: Any) -> QuerySet[M]:
    return model._default_manager.filter(**{k: v for k, v in filters.items() if v is not None})


def organisation_list(
    *, kind: str | None = None, name: str | None = None, active: bool | None = None
) -> QuerySet[Organisation]:
    """Organisations, by kind, by a part of their name, active or not."""
    organisations = Organisation.objects.all()
    if kind:
        organisations = organisations.filter(kind=kind)
    if name:
        organisations = organisations.filter(name__icontains=name.strip())
    if active is not None:
        organisations = organisations.filter(active=active)
    return organisations


def tag_list() -> QuerySet[ResidentTag]:
    return ResidentTag.objects.all()


def organisation_members(*, organisation: Organisation) -> QuerySet[OrganisationMember]:
    return OrganisationMember.objects.filter(organisation=organisation)
