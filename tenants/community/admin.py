"""The tenant admin for places and people.

District admins (superusers, or residents with a tenant-wide district-admin
role) see everything; leaders see only the places their roles cover: a
building leader manages their building's units, households and residents, and
nothing else. Writes go through the community services, so they are validated
and audited like API writes.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from linli.admin_base import ModelAdmin, TabularInline
from linli.errors import LinliError
from tenants.community import access, personal_data, services
from tenants.community.actor import request_actor
from tenants.community.models import (
    Area,
    AreaLevel,
    Building,
    Estate,
    Household,
    Organisation,
    OrganisationMember,
    Resident,
    ResidentTag,
    RoleAssignment,
    Term,
    Unit,
)
from tenants.community.phones import normalise_phone


class ScopedAdmin(ModelAdmin):
    """Leaders see and change only what their roles cover (``tenants.community.access``
    decides); nobody deletes people or places."""

    def scoped(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        raise NotImplementedError

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return self.scoped(request, super().get_queryset(request))

    def _may(self, request: HttpRequest) -> bool:
        return access.manages_people(request_actor(request))

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self._may(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._may(request) and (obj is None or self._covers(request, obj))

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.has_view_permission(request, obj)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return self._may(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def _covers(self, request: HttpRequest, obj: Any) -> bool:
        return self.get_queryset(request).filter(pk=obj.pk).exists()

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        # A leader can only place people and flats in the places they manage.
        actor = request_actor(request)
        if db_field.name == "household":
            kwargs["queryset"] = access.households_led(actor, Household.objects.all())
        elif db_field.name == "unit":
            kwargs["queryset"] = access.units_led(actor, Unit.objects.all())
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class HouseholdInline(TabularInline):
    model = Household
    extra = 0
    fields = ["flat_number"]
    show_change_link = True

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ResidentInline(TabularInline):
    model = Resident
    extra = 0
    fields = ("display_name", "status", "needs_assistance")
    readonly_fields = ("display_name", "status", "needs_assistance")
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(AreaLevel)
class AreaLevelAdmin(ModelAdmin):
    list_display = ["depth", "name"]


@admin.register(Area)
class AreaAdmin(ModelAdmin):
    list_display = ["name", "level", "parent", "code", "path"]
    list_filter = ["level"]
    search_fields = ["name", "code"]
    readonly_fields = ["path"]

    def save_model(self, request: HttpRequest, obj: Area, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        from tenants.community.places import area_create

        created = area_create(
            name=obj.name, level_id=obj.level_id, parent_id=obj.parent_id, code=obj.code
        )
        obj.pk, obj.path = created.pk, created.path
        obj._state.adding = False


@admin.register(Estate)
class EstateAdmin(ModelAdmin):
    list_display = ["name", "area", "address"]
    list_filter = ["area__level", "area"]
    search_fields = ["name", "address"]


@admin.register(Building)
class BuildingAdmin(ModelAdmin):
    list_display = ["name", "estate"]
    list_filter = ["estate"]
    search_fields = ["name", "estate__name"]


@admin.register(Unit)
class UnitAdmin(ScopedAdmin):
    list_display = ["name", "building"]
    list_filter = ["building__estate"]
    search_fields = ["name", "building__name", "building__estate__name"]
    list_select_related = ["building__estate"]
    inlines = [HouseholdInline]

    def scoped(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        return access.units_led(request_actor(request), queryset)


@admin.register(Household)
class HouseholdAdmin(ScopedAdmin):
    list_display = ["__str__", "unit", "flat_number"]
    list_filter = ["unit__building__estate"]
    search_fields = ["flat_number", "unit__building__name", "unit__building__estate__name"]
    list_select_related = ["unit__building__estate"]
    raw_id_fields = ["unit"]
    inlines = [ResidentInline]
    change_list_template = "admin/community/household/change_list.html"

    def scoped(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        return access.households_led(request_actor(request), queryset)

    def get_urls(self) -> list[Any]:
        from django.urls import path

        from tenants.community.admin_import import import_view

        view = self.admin_site.admin_view(import_view)
        return [path("import/", view, name="community_household_import"), *super().get_urls()]


class ResidentForm(forms.ModelForm):
    class Meta:
        model = Resident
        fields = [
            "display_name",
            "phone",
            "household",
            "preferred_language",
            "contact_consent",
            "needs_assistance",
            "moved_in_on",
            "tags",
            "user",
        ]

    def clean_phone(self) -> str | None:
        try:
            phone = normalise_phone(self.cleaned_data.get("phone"))
        except LinliError as exc:
            raise forms.ValidationError(exc.message) from exc
        others = Resident.objects.filter(phone=phone)
        if self.instance.pk:
            others = others.exclude(pk=self.instance.pk)
        if phone and others.exists():
            raise forms.ValidationError(_(services.PHONE_TAKEN))
        return phone


@admin.register(Resident)
class ResidentAdmin(ScopedAdmin):
    form = ResidentForm
    list_display = ["display_name", "phone", "household", "status", "needs_assistance"]
    list_filter = [
        "status",
        "needs_assistance",
        "contact_consent",
        "tags",
        "household__unit__building__estate",
    ]
    search_fields = ["display_name", "phone"]
    list_select_related = ["household__unit__building__estate"]
    raw_id_fields = ["household", "user"]
    filter_horizontal = ["tags"]
    readonly_fields = ["status", "moved_out_on", "erased_at"]
    actions = ["export_personal_data", "erase", "export_csv", "move_out"]

    def scoped(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        return access.residents_visible(request_actor(request), queryset)

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> Any:
        form = super().get_form(request, obj, change, **kwargs)
        if "household" in form.base_fields:  # keeping someone in their flat is no move
            form.base_fields["household"].queryset = access.households_to_place_in(
                request_actor(request), current_id=obj.household_id if obj else None
            )
        return form

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        fields = list(super().get_readonly_fields(request, obj))
        if not access.links_accounts(request_actor(request)):
            fields.append("user")
        return fields

    def save_model(self, request: HttpRequest, obj: Resident, form: Any, change: bool) -> None:
        data = form.cleaned_data
        fields = {
            "display_name": data["display_name"],
            "phone": data.get("phone"),
            "household_id": data["household"].pk if data.get("household") else None,
            "preferred_language": data.get("preferred_language", ""),
            "contact_consent": data.get("contact_consent", False),
            "needs_assistance": data.get("needs_assistance", False),
            "moved_in_on": data.get("moved_in_on"),
        }
        self._check(request, obj, form, fields, change)
        if change:
            saved = services.resident_update(resident_id=obj.pk, **fields)
        else:
            saved = services.resident_create(**fields)
        if "user" in data and data.get("user") != saved.user:
            Resident.objects.filter(pk=saved.pk).update(user=data.get("user"))
        obj.pk = saved.pk
        obj._state.adding = False

    def _check(
        self, request: HttpRequest, obj: Resident, form: Any, fields: dict[str, Any], change: bool
    ) -> None:
        """The same rules as the API's, on what this form changes."""
        actor = request_actor(request)
        changed = {"household_id" if name == "household" else name for name in form.changed_data}
        changes = {name: value for name, value in fields.items() if name in changed}
        if "tags" in form.changed_data:
            changes["tag_ids"] = [tag.pk for tag in form.cleaned_data.get("tags") or []]
        if "user" in form.changed_data:
            changes["user"] = form.cleaned_data.get("user")
        try:
            if change:
                access.may_change_resident(actor, Resident.objects.get(pk=obj.pk), changes)
            else:
                access.may_register_resident(actor, fields["household_id"])
        except access.NotAllowed as exc:
            raise PermissionDenied(exc.message) from exc

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        form.instance = Resident.objects.get(pk=form.instance.pk)
        super().save_related(request, form, formsets, change)

    @admin.action(description=gettext_lazy("Export personal data (JSON)"))
    def export_personal_data(self, request: HttpRequest, queryset: QuerySet[Resident]) -> Any:
        if queryset.count() != 1:
            self.message_user(request, _("Choose exactly one resident."), messages.ERROR)
            return None
        resident = queryset.get()
        data = personal_data.resident_export(resident_id=resident.pk)
        response = JsonResponse(data, json_dumps_params={"ensure_ascii": False, "indent": 2})
        response["Content-Disposition"] = f'attachment; filename="resident-{resident.pk}.json"'
        return response

    @admin.action(description=gettext_lazy("Erase personal data"))
    def erase(self, request: HttpRequest, queryset: QuerySet[Resident]) -> None:
        count = 0
        for resident in queryset:
            personal_data.resident_erase(resident_id=resident.pk)
            count += 1
        self.message_user(request, _("Erased %(count)d resident(s).") % {"count": count})

    @admin.action(description=gettext_lazy("Mark as moved out"))
    def move_out(self, request: HttpRequest, queryset: QuerySet[Resident]) -> None:
        for resident in queryset:
            services.resident_move_out(resident_id=resident.pk)

    @admin.action(description=gettext_lazy("Export as CSV"))
    def export_csv(self, request: HttpRequest, queryset: QuerySet[Resident]) -> HttpResponse:
        from tenants.community.exporting import residents_csv

        response = HttpResponse(residents_csv(queryset), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="residents.csv"'
        return response


@admin.register(ResidentTag)
class ResidentTagAdmin(ModelAdmin):
    list_display = ["name", "outreach_frequency"]


class MemberInline(TabularInline):
    model = OrganisationMember
    extra = 0
    raw_id_fields = ["resident"]

    def formfield_for_dbfield(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        field = super().formfield_for_dbfield(db_field, request, **kwargs)
        if db_field.name == "title" and field is not None:
            field.label = pgettext_lazy("job title", "title")  # a member's post, not a heading
        return field


@admin.register(Organisation)
class OrganisationAdmin(ModelAdmin):
    list_display = ["name", "kind", "contact_name", "active"]
    list_filter = ["kind", "active"]
    search_fields = ["name", "contact_name"]
    inlines = [MemberInline]


@admin.register(RoleAssignment)
class RoleAssignmentAdmin(ModelAdmin):
    list_display = [
        "resident",
        "role",
        "scope",
        "estate",
        "building",
        "unit",
        "starts_on",
        "ends_on",
    ]
    list_filter = ["role", "scope"]
    search_fields = ["resident__display_name"]
    raw_id_fields = ["resident", "area", "estate", "building", "unit"]

    def save_model(
        self, request: HttpRequest, obj: RoleAssignment, form: Any, change: bool
    ) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        from tenants.community.roles import role_assign

        place = {
            "area": obj.area_id,
            "estate": obj.estate_id,
            "building": obj.building_id,
            "unit": obj.unit_id,
        }.get(obj.scope)
        created = role_assign(
            resident_id=obj.resident_id,
            role=obj.role,
            scope=obj.scope,
            place_id=place,
            starts_on=obj.starts_on,
            ends_on=obj.ends_on,
        )
        obj.pk = created.pk
        obj._state.adding = False


@admin.register(Term)
class TermAdmin(ModelAdmin):
    list_display = ["key", "language", "label"]
    list_filter = ["language"]
