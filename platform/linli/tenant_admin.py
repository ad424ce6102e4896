"""Each tenant's admin site: a module the tenant has turned off is not listed, and its
pages answer 404 (DESIGN: a disabled module's admin pages are hidden)."""

from __future__ import annotations

from functools import wraps
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from unfold.sites import UnfoldAdminSite

# The app labels of the modules a tenant turns on and off.
MODULE_APPS = {
    "deliberation": "deliberation",
    "helpteam": "helpteam",
    "shop": "shop",
    "points": "points",
}


def hidden_apps(request: HttpRequest) -> set[str]:
    enabled = getattr(getattr(request, "tenant", None), "enabled_modules", None)
    if enabled is None:  # the platform host: no tenant modules here
        return set()
    return {label for module, label in MODULE_APPS.items() if module not in enabled}


class TenantAdminSite(UnfoldAdminSite):
    def get_urls(self) -> list[Any]:
        from django.urls import path

        from linli.billing.views import tenant_billing_view
        from linli.domain_admin import domains_view
        from linli.module_admin import modules_view
        from linli.security.views import security_urls
        from linli.staff_admin import staff_view

        view = self.admin_view(lambda request: modules_view(self, request))
        return [
            path("modules/", view, name="modules"),
            path("staff/", self.admin_view(lambda r: staff_view(self, r)), name="staff"),
            path("domains/", self.admin_view(lambda r: domains_view(self, r)), name="domains"),
            path(
                "billing/",
                self.admin_view(lambda r: tenant_billing_view(self, r)),
                name="billing",
            ),
            *security_urls(self),
            *super().get_urls(),
        ]

    def login(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> Any:
        from linli.security.views import admin_login

        return admin_login(request, site=self, extra_context=extra_context)

    def get_app_list(self, request: HttpRequest, app_label: str | None = None) -> list[Any]:
        hidden = hidden_apps(request)
        return [
            app
            for app in super().get_app_list(request, app_label)
            if app["app_label"] not in hidden
        ]

    def admin_view(self, view: Any, cacheable: bool = False) -> Any:
        inner = super().admin_view(view, cacheable)

        @wraps(view)
        def gated(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            parts = request.path_info.strip("/").split("/")
            if len(parts) > 1 and parts[1] in hidden_apps(request):
                raise Http404("This module is not enabled.")
            response: HttpResponse = inner(request, *args, **kwargs)
            return response

        return gated
