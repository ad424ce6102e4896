"""The base classes every admin screen uses: the unfold theme, and read-only while paused.

A suspended tenant's admin stays readable (so its staff can still look things
up and export) but every add, change and delete is off. The tenant middleware
refuses writes as well; hiding the buttons here keeps the screens honest.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from unfold.admin import ModelAdmin as ThemedModelAdmin
from unfold.admin import StackedInline as ThemedStackedInline
from unfold.admin import TabularInline as ThemedTabularInline


def read_only(request: HttpRequest) -> bool:
    """True while the request's tenant is suspended (its admin is read-only)."""
    return bool(getattr(request, "tenant_read_only", False))


class _PausedIsReadOnly:
    def has_add_permission(self, request: HttpRequest, *args: Any, **kwargs: Any) -> bool:
        if read_only(request):
            return False
        return bool(super().has_add_permission(request, *args, **kwargs))  # type: ignore[misc]

    def has_change_permission(self, request: HttpRequest, *args: Any, **kwargs: Any) -> bool:
        if read_only(request):
            return False
        return bool(super().has_change_permission(request, *args, **kwargs))  # type: ignore[misc]

    def has_delete_permission(self, request: HttpRequest, *args: Any, **kwargs: Any) -> bool:
        if read_only(request):
            return False
        return bool(super().has_delete_permission(request, *args, **kwargs))  # type: ignore[misc]


class ModelAdmin(_PausedIsReadOnly, ThemedModelAdmin):
    pass


class TabularInline(_PausedIsReadOnly, ThemedTabularInline):
    pass


class StackedInline(_PausedIsReadOnly, ThemedStackedInline):
    pass


class ReadOnlyModelAdmin(ModelAdmin):
    """Records kept for looking at only (audits, mirrors of outside systems)."""

    def has_add_permission(self, request: HttpRequest, *args: Any, **kwargs: Any) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, *args: Any, **kwargs: Any) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, *args: Any, **kwargs: Any) -> bool:
        return False
