"""Places and people of one tenant: areas, estates, buildings, units, households, residents."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from linli import clock

# The earliest birth year a resident may have (the latest is the current year, checked by
# the services: a constraint cannot know what year it is).
BIRTH_YEAR_MIN = 1900


class Timestamped(models.Model):
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        abstract = True


class AreaLevel(models.Model):
    """One level of the tenant's own hierarchy.

    For a district: 1 街道 street, 2 社區 community, 3 網格 grid.
    """

    depth = models.PositiveSmallIntegerField(_("depth"), unique=True)
    name = models.CharField(_("name"), max_length=64)

    class Meta:
        ordering = ["depth"]
        verbose_name = _("area level")
        verbose_name_plural = _("area levels")

    def __str__(self) -> str:
        return self.name


class Area(Timestamped):
    """An administrative area. ``path`` (``/1/5/17/``) makes roll-ups one indexed prefix scan."""

    level = models.ForeignKey(AreaLevel, on_delete=models.PROTECT, related_name="areas")
    parent = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="children"
    )
    name = models.CharField(_("name"), max_length=120)
    code = models.CharField(_("code"), max_length=32, blank=True)
    path = models.CharField(max_length=255, editable=False, db_index=True)

    class Meta:
        ordering = ["path"]
        verbose_name = _("area")
        verbose_name_plural = _("areas")
        constraints = [
            models.UniqueConstraint(fields=["parent", "name"], name="community_area_unique_name"),
        ]

    def __str__(self) -> str:
        return self.name


class Estate(Timestamped):
    """A residential compound (小區)."""

    area = models.ForeignKey(
        Area, on_delete=models.PROTECT, null=True, blank=True, related_name="estates"
    )
    name = models.CharField(_("name"), max_length=120, unique=True)
    address = models.CharField(_("address"), max_length=255, blank=True)
    latitude = models.DecimalField(
        _("latitude"), max_digits=9, decimal_places=6, null=True, blank=True
    )
    longitude = models.DecimalField(
        _("longitude"), max_digits=9, decimal_places=6, null=True, blank=True
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("estate")
        verbose_name_plural = _("estates")
        constraints = [
            models.CheckConstraint(
                condition=Q(latitude__isnull=True, longitude__isnull=True)
                | Q(latitude__range=(-90, 90), longitude__range=(-180, 180)),
                name="community_estate_coordinates_valid",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Building(Timestamped):
    """A building (樓棟) of an estate."""

    estate = models.ForeignKey(Estate, on_delete=models.PROTECT, related_name="buildings")
    name = models.CharField(_("name"), max_length=64)

    class Meta:
        ordering = ["estate_id", "name"]
        verbose_name = _("building")
        verbose_name_plural = _("buildings")
        constraints = [
            models.UniqueConstraint(fields=["estate", "name"], name="community_building_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.estate} {self.name}"


class Unit(Timestamped):
    """A stairwell unit (單元) of a building."""

    building = models.ForeignKey(Building, on_delete=models.PROTECT, related_name="units")
    name = models.CharField(_("name"), max_length=64)

    class Meta:
        ordering = ["building_id", "name"]
        verbose_name = _("unit")
        verbose_name_plural = _("units")
        constraints = [
            models.UniqueConstraint(fields=["building", "name"], name="community_unit_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.building} {self.name}"


class Household(Timestamped):
    """A flat in a unit, and the residents who live there."""

    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="households")
    flat_number = models.CharField(_("flat number"), max_length=32)

    class Meta:
        ordering = ["unit_id", "flat_number"]
        verbose_name = _("household")
        verbose_name_plural = _("households")
        constraints = [
            models.UniqueConstraint(
                fields=["unit", "flat_number"], name="community_household_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.unit} {self.flat_number}"


class ResidentTag(models.Model):
    """A tenant-defined tag (personal data), optionally setting an outreach frequency."""

    class Frequency(models.TextChoices):
        NONE = "", _("None")
        DAILY = "daily", _("Daily")
        WEEKLY = "weekly", _("Weekly")
        MONTHLY = "monthly", _("Monthly")

    name = models.CharField(_("name"), max_length=64, unique=True)
    outreach_frequency = models.CharField(
        _("outreach frequency"), max_length=8, choices=Frequency.choices, blank=True, default=""
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("resident tag")
        verbose_name_plural = _("resident tags")

    def __str__(self) -> str:
        return self.name


class Resident(Timestamped):
    """A person living in the tenant's estates. Moved out, not deleted; erased on request."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        MOVED_OUT = "moved_out", _("Moved out")

    household = models.ForeignKey(
        Household, on_delete=models.PROTECT, null=True, blank=True, related_name="residents"
    )
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="resident",
        help_text=_("The login of a resident who works in the admin (leaders, volunteers)."),
    )
    display_name = models.CharField(_("display name"), max_length=64)
    # NULL, not "", for "no phone": the uniqueness constraint ignores NULLs.
    phone = models.CharField(_("phone"), max_length=20, null=True, blank=True)  # noqa: DJ001
    preferred_language = models.CharField(_("preferred language"), max_length=10, blank=True)
    contact_consent = models.BooleanField(_("consents to be contacted"), default=False)
    needs_assistance = models.BooleanField(_("needs assistance"), default=False)
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.ACTIVE
    )
    # Personal data like the phone: masked, never audited, blanked on erasure.
    birth_year = models.PositiveSmallIntegerField(
        _("birth year"), null=True, blank=True, validators=[MinValueValidator(BIRTH_YEAR_MIN)]
    )
    moved_in_on = models.DateField(_("moved in on"), null=True, blank=True)
    moved_out_on = models.DateField(_("moved out on"), null=True, blank=True)
    erased_at = models.DateTimeField(_("erased at"), null=True, blank=True, editable=False)
    tags = models.ManyToManyField(ResidentTag, blank=True, related_name="residents")

    class Meta:
        ordering = ["id"]
        verbose_name = _("resident")
        verbose_name_plural = _("residents")
        constraints = [
            models.UniqueConstraint(
                fields=["phone"],
                condition=Q(phone__isnull=False),
                name="community_resident_phone_unique",
            ),
            models.CheckConstraint(
                condition=Q(phone__isnull=True) | Q(phone__regex=r"^\+[1-9][0-9]{6,14}$"),
                name="community_resident_phone_e164",
            ),
            models.CheckConstraint(
                condition=Q(birth_year__isnull=True) | Q(birth_year__gte=BIRTH_YEAR_MIN),
                name="community_resident_birth_year_valid",
            ),
            models.CheckConstraint(
                condition=Q(status="active", moved_out_on__isnull=True)
                | Q(status="moved_out", moved_out_on__isnull=False),
                name="community_resident_moved_out_dated",
            ),
        ]

    def __str__(self) -> str:
        return self.display_name

    def clean(self) -> None:
        super().clean()
        if self.birth_year is not None and self.birth_year > timezone.localdate().year:
            raise ValidationError({"birth_year": _("A birth year cannot be in the future.")})


class Organisation(Timestamped):
    """A partner unit, company, village co-operative, utility or department."""

    class Kind(models.TextChoices):
        PARTNER_UNIT = "partner_unit", _("Partner unit")
        COMPANY = "company", _("Company")
        COOPERATIVE = "cooperative", _("Village co-operative")
        PROPERTY_MANAGEMENT = "property_management", _("Property management")
        OWNERS_COMMITTEE = "owners_committee", _("Owners' committee")
        UTILITY = "utility", _("Utility")
        DEPARTMENT = "department", _("Government department")

    name = models.CharField(_("name"), max_length=200, unique=True)
    kind = models.CharField(_("kind"), max_length=32, choices=Kind.choices)
    contact_name = models.CharField(_("contact person"), max_length=64, blank=True)
    contact_phone = models.CharField(_("contact phone"), max_length=20, blank=True)
    address = models.CharField(_("address"), max_length=255, blank=True)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")

    def __str__(self) -> str:
        return self.name


class OrganisationMember(models.Model):
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="members")
    resident = models.ForeignKey(Resident, on_delete=models.PROTECT, related_name="memberships")
    title = models.CharField(_("title"), max_length=64, blank=True)

    class Meta:
        verbose_name = _("organisation member")
        verbose_name_plural = _("organisation members")
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "resident"], name="community_org_member_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.resident} @ {self.organisation}"


class Role(models.TextChoices):
    DISTRICT_ADMIN = "district_admin", _("District admin")
    GRID_WORKER = "grid_worker", _("Grid worker")
    ESTATE_SECRETARY = "estate_secretary", _("Estate secretary")
    BUILDING_LEADER = "building_leader", _("Building leader")
    UNIT_LEADER = "unit_leader", _("Unit leader")
    CENTRAL_HOUSEHOLD = "central_household", _("Central household")
    VOLUNTEER = "volunteer", _("Volunteer")
    SHOP_OPERATOR = "shop_operator", _("Shop operator")


class RoleAssignment(Timestamped):
    """A role a resident holds over a scope (the tenant, an area, estate, building or unit)."""

    class Scope(models.TextChoices):
        TENANT = "tenant", _("Whole tenant")
        AREA = "area", _("Area")
        ESTATE = "estate", _("Estate")
        BUILDING = "building", _("Building")
        UNIT = "unit", _("Unit")

    resident = models.ForeignKey(Resident, on_delete=models.PROTECT, related_name="roles")
    role = models.CharField(_("role"), max_length=32, choices=Role.choices)
    scope = models.CharField(_("scope"), max_length=16, choices=Scope.choices)
    area = models.ForeignKey(Area, on_delete=models.PROTECT, null=True, blank=True)
    estate = models.ForeignKey(Estate, on_delete=models.PROTECT, null=True, blank=True)
    building = models.ForeignKey(Building, on_delete=models.PROTECT, null=True, blank=True)
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, null=True, blank=True)
    starts_on = models.DateField(_("starts on"))
    ends_on = models.DateField(_("ends on"), null=True, blank=True)

    class Meta:
        ordering = ["resident_id", "role"]
        verbose_name = _("role assignment")
        verbose_name_plural = _("role assignments")
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(
                        scope="tenant",
                        area__isnull=True,
                        estate__isnull=True,
                        building__isnull=True,
                        unit__isnull=True,
                    )
                    | Q(
                        scope="area",
                        area__isnull=False,
                        estate__isnull=True,
                        building__isnull=True,
                        unit__isnull=True,
                    )
                    | Q(
                        scope="estate",
                        area__isnull=True,
                        estate__isnull=False,
                        building__isnull=True,
                        unit__isnull=True,
                    )
                    | Q(
                        scope="building",
                        area__isnull=True,
                        estate__isnull=True,
                        building__isnull=False,
                        unit__isnull=True,
                    )
                    | Q(
                        scope="unit",
                        area__isnull=True,
                        estate__isnull=True,
                        building__isnull=True,
                        unit__isnull=False,
                    )
                ),
                name="community_role_scope_matches_place",
            ),
            models.CheckConstraint(
                condition=Q(ends_on__isnull=True) | Q(ends_on__gte=models.F("starts_on")),
                name="community_role_ends_after_start",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.resident} {self.get_role_display()}"


class StaffInvitation(Timestamped):
    """An emailed invitation to work in the admin with a role over a place.

    Only a hash of the link's token is stored; re-sending replaces the token, so
    an older link stops working. Expiry is read from ``expires_at``.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        ACCEPTED = "accepted", _("Accepted")
        REVOKED = "revoked", _("Revoked")

    email = models.EmailField(_("email"))
    role = models.CharField(_("role"), max_length=32, choices=Role.choices)
    scope = models.CharField(_("scope"), max_length=16, choices=RoleAssignment.Scope.choices)
    place_id = models.BigIntegerField(_("place"), null=True, blank=True)
    resident = models.ForeignKey(
        Resident,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="staff_invitations",
        help_text=_("An existing resident the new login is linked to."),
    )
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.PENDING
    )
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    expires_at = models.DateTimeField(_("expires at"))
    sent_at = models.DateTimeField(_("last sent at"))
    times_sent = models.PositiveSmallIntegerField(_("times sent"), default=1)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    accepted_at = models.DateTimeField(_("accepted at"), null=True, blank=True)
    accepted_user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="staff_invitation",
    )
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("staff invitation")
        verbose_name_plural = _("staff invitations")
        constraints = [
            models.UniqueConstraint(
                fields=["email"],
                condition=Q(status="pending"),
                name="community_invitation_one_pending_per_email",
            ),
            models.CheckConstraint(
                condition=Q(scope="tenant", place_id__isnull=True)
                | (~Q(scope="tenant") & Q(place_id__isnull=False)),
                name="community_invitation_place_matches_scope",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.email} {self.get_role_display()}"


class StaffDeactivation(models.Model):
    """A staff user switched off, and the roles that ended with it (given back on
    reactivation)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="staff_deactivations"
    )
    deactivated_at = models.DateTimeField(_("deactivated at"), auto_now_add=True)
    deactivated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    ended_roles = models.ManyToManyField(RoleAssignment, blank=True, related_name="+")
    reactivated_at = models.DateTimeField(_("reactivated at"), null=True, blank=True)
    reactivated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        ordering = ["-deactivated_at", "-id"]
        verbose_name = _("staff deactivation")
        verbose_name_plural = _("staff deactivations")

    def __str__(self) -> str:
        return f"{self.user} {clock.day_of(self.deactivated_at)}"


class Term(models.Model):
    """A tenant's own word for a label its residents see, per language."""

    key = models.CharField(_("key"), max_length=64)
    language = models.CharField(_("language"), max_length=10)
    label = models.CharField(_("label"), max_length=120)

    class Meta:
        ordering = ["key", "language"]
        verbose_name = _("term")
        verbose_name_plural = _("terminology")
        constraints = [
            models.UniqueConstraint(fields=["key", "language"], name="community_term_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.key} [{self.language}] {self.label}"
