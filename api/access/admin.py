from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from api.access.models import ApiKey
from api.access.services import key_create, key_revoke
from api.scopes import ALL_SCOPES
from linli.admin_base import ModelAdmin


class ApiKeyForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(
        label=gettext_lazy("scopes"),
        choices=[(scope, scope) for scope in ALL_SCOPES],
        widget=forms.CheckboxSelectMultiple,
    )

    class Meta:
        model = ApiKey
        fields = ["name", "scopes", "expires_at", "rate_limit"]


@admin.register(ApiKey)
class ApiKeyAdmin(ModelAdmin):
    form = ApiKeyForm
    list_display = ["name", "prefix", "scope_list", "expires_at", "revoked_at", "last_used_at"]
    list_filter = ["revoked_at"]
    search_fields = ["name", "prefix"]
    readonly_fields = ["prefix", "revoked_at", "last_used_at", "created_at"]
    actions = ["revoke"]

    @admin.display(description=gettext_lazy("scopes"))
    def scope_list(self, obj: ApiKey) -> str:
        return ", ".join(obj.scopes)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        # A key's scopes are fixed once issued: revoke it and create another.
        if obj is not None:
            return [*self.readonly_fields, "name", "scopes", "expires_at"]
        return self.readonly_fields

    def save_model(self, request: HttpRequest, obj: ApiKey, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        issued = key_create(
            name=form.cleaned_data["name"],
            scopes=list(form.cleaned_data["scopes"]),
            expires_at=form.cleaned_data.get("expires_at"),
            rate_limit=form.cleaned_data.get("rate_limit"),
            created_by_id=request.user.pk,
        )
        obj.pk = issued.key.pk
        obj.prefix = issued.key.prefix
        obj._state.adding = False
        messages.warning(
            request,
            _("Copy this key now; it will not be shown again: %(token)s") % {"token": issued.token},
        )

    @admin.action(description=gettext_lazy("Revoke selected keys"))
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        for key in queryset:
            key_revoke(prefix=key.prefix)
        messages.success(request, _("Revoked %(count)d key(s).") % {"count": queryset.count()})

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
