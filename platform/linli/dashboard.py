"""The admin's home page: a tenant's key figures and charts, and the admin theme's hooks.

Figures follow the viewer's roles: a district admin (or superuser) sees the
whole tenant; a leader sees the residents of the places they lead and nothing
tenant-wide. Each figure is one aggregate query; modules the tenant does not
run are left out.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import Count, Q, Sum
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from linli import clock


@dataclass
class Figure:
    label: str
    value: int
    hint: str = ""


@dataclass
class Chart:
    title: str
    kind: str  # "bar" or "line"
    labels: list[str]
    series: list[tuple[str, list[int]]]
    data: str = field(init=False)

    def __post_init__(self) -> None:
        colours = ["#2563eb", "#f59e0b", "#10b981", "#ef4444"]
        self.data = json.dumps(
            {
                "labels": self.labels,
                "datasets": [
                    {
                        "label": name,
                        "data": values,
                        "backgroundColor": colours[i % len(colours)],
                        "borderColor": colours[i % len(colours)],
                    }
                    for i, (name, values) in enumerate(self.series)
                ],
            },
            ensure_ascii=False,
        )


def _month_start() -> datetime:
    start, _end = clock.month_bounds(clock.today())
    return start


def tenant_dashboard(*, user: Any, modules: frozenset[str]) -> tuple[list[Figure], list[Chart]]:
    """The current tenant's key figures and charts, as ``user`` may see them."""
    from tenants.community.models import Resident
    from tenants.community.roles import staff_scope

    scope = staff_scope(user)
    residents = scope.residents(
        Resident.objects.filter(status=Resident.Status.ACTIVE, erased_at__isnull=True)
    )
    figures = [Figure(_("Residents"), residents.count())]
    charts: list[Chart] = []
    if not scope.everything:
        return figures, charts

    if "helpteam" in modules:
        from tenants.helpteam.models import HelpRequest

        open_states = [HelpRequest.Status.OPEN, HelpRequest.Status.CLAIMED]
        open_states.append(HelpRequest.Status.IN_PROGRESS)
        counts = dict(
            HelpRequest.objects.filter(status__in=open_states)
            .values_list("status")
            .annotate(n=Count("id"))
            .values_list("status", "n")
        )
        figures.append(
            Figure(
                _("Open help requests"),
                sum(counts.values()),
                _("%(n)d not yet claimed") % {"n": counts.get(HelpRequest.Status.OPEN, 0)},
            )
        )
    if "deliberation" in modules:
        from tenants.deliberation.models import Topic

        by_status = dict(
            Topic.objects.values_list("status").annotate(n=Count("id")).values_list("status", "n")
        )
        statuses = [s for s in Topic.Status if s != Topic.Status.MERGED]
        charts.append(
            Chart(
                _("Topics by status"),
                "bar",
                [str(s.label) for s in statuses],
                [(_("Topics"), [by_status.get(s.value, 0) for s in statuses])],
            )
        )
        unresolved = {Topic.Status.RESOLVED, Topic.Status.CLOSED, Topic.Status.REJECTED}
        unresolved |= {Topic.Status.MERGED}
        figures.append(
            Figure(
                _("Topics in progress"),
                sum(n for s, n in by_status.items() if s not in unresolved),
            )
        )
    if "points" in modules:
        figures.extend(_points_this_month(charts))
    if "shop" in modules:
        from tenants.shop.models import Order

        pending = Order.objects.filter(
            status__in=[Order.Status.PLACED, Order.Status.CONFIRMED, Order.Status.READY]
        ).count()
        figures.append(Figure(_("Pending orders"), pending, _("placed, confirmed or ready")))
    return figures, charts


def _points_this_month(charts: list[Chart]) -> list[Figure]:
    from django.db.models.functions import TruncDate

    from tenants.points.models import Account, Posting, Transaction

    start = _month_start()
    rows = (
        Posting.objects.filter(
            account__kind=Account.Kind.RESIDENT,
            transaction__created_at__gte=start,
            transaction__kind__in=[Transaction.Kind.EARN, Transaction.Kind.REDEEM],
        )
        .annotate(day=TruncDate("transaction__created_at"))
        .values("day")
        .annotate(
            issued=Sum("amount", filter=Q(transaction__kind=Transaction.Kind.EARN)),
            redeemed=Sum("amount", filter=Q(transaction__kind=Transaction.Kind.REDEEM)),
        )
        .order_by("day")
    )
    days: dict[Any, dict[str, Any]] = {row["day"]: dict(row) for row in rows}
    today = timezone.localdate()
    labels, issued, redeemed = [], [], []
    for day_number in range(1, today.day + 1):
        day = today.replace(day=day_number)
        row: dict[str, Any] = days.get(day, {})
        labels.append(day.strftime("%m-%d"))
        issued.append(int(row.get("issued") or 0))
        redeemed.append(-int(row.get("redeemed") or 0))
    charts.append(
        Chart(
            _("Points this month"),
            "line",
            labels,
            [(_("Issued"), issued), (_("Redeemed"), redeemed)],
        )
    )
    return [
        Figure(_("Points issued this month"), sum(issued)),
        Figure(_("Points redeemed this month"), sum(redeemed)),
    ]


def platform_dashboard() -> tuple[list[Figure], list[Chart]]:
    """The platform host's home: tenants by status and recent signups."""
    from datetime import timedelta

    from linli.accounts.models import Signup
    from linli.registry.models import Tenant

    by_status = dict(
        Tenant.objects.values_list("status").annotate(n=Count("id")).values_list("status", "n")
    )
    week_ago = timezone.now() - timedelta(days=7)
    figures = [
        Figure(_("Tenants"), sum(by_status.values())),
        Figure(_("Suspended"), by_status.get(Tenant.Status.SUSPENDED, 0)),
        Figure(
            _("Signups in the last 7 days"), Signup.objects.filter(created_at__gte=week_ago).count()
        ),
    ]
    charts = [
        Chart(
            _("Tenants by status"),
            "bar",
            [str(s.label) for s in Tenant.Status],
            [(_("Tenants"), [by_status.get(s.value, 0) for s in Tenant.Status])],
        )
    ]
    return figures, charts


# --- Hooks the admin theme calls (named in settings.UNFOLD) -------------------


def dashboard_context(request: HttpRequest, context: dict[str, Any]) -> dict[str, Any]:
    tenant = getattr(request, "tenant", None)
    if tenant is None:
        figures, charts = platform_dashboard()
    else:
        figures, charts = tenant_dashboard(user=request.user, modules=tenant.enabled_modules)
    context.update(figures=figures, charts=charts)
    return context


def site_title(request: HttpRequest) -> str:
    tenant = getattr(request, "tenant", None)
    return str(tenant.name) if tenant is not None else _("Linli platform")


def environment(request: HttpRequest) -> list[str] | None:
    """A label on every admin page while the tenant is suspended (read-only)."""
    if getattr(request, "tenant_read_only", False):
        return [_("Suspended: read-only"), "danger"]
    return None


def _is_superuser(request: HttpRequest) -> bool:
    return bool(request.user.is_active and request.user.is_superuser)


def _is_district_admin(request: HttpRequest) -> bool:
    from tenants.community.staff import is_district_admin

    return is_district_admin(request.user)


def sidebar(request: HttpRequest) -> list[dict[str, Any]]:
    """The admin's menu: the district's settings pages, then each module the tenant runs."""
    from django.contrib import admin
    from django.urls import reverse

    from linli.admin_sites import platform_site

    tenant = getattr(request, "tenant", None)
    site = admin.site if tenant is not None else platform_site
    settings_items: list[dict[str, Any]] = [
        {
            "title": _("Two-factor sign-in"),
            "icon": "phonelink_lock",
            "link": reverse("admin:security_two_factor", current_app=site.name)
            if tenant is not None
            else reverse("platform_admin:security_two_factor"),
        }
    ]
    if tenant is not None:
        settings_items[:0] = [
            {
                "title": _("Modules"),
                "icon": "extension",
                "link": reverse("admin:modules"),
                "permission": _is_superuser,
            },
            {
                "title": _("Staff"),
                "icon": "badge",
                "link": reverse("admin:staff"),
                "permission": _is_district_admin,
            },
            {
                "title": _("Domains"),
                "icon": "language",
                "link": reverse("admin:domains"),
                "permission": _is_superuser,
            },
        ]
    from linli.billing.client import billing_enabled

    if billing_enabled():
        settings_items.append(
            {
                "title": _("Billing"),
                "icon": "payments",
                "link": reverse("admin:billing")
                if tenant is not None
                else reverse("platform_admin:billing_overview"),
                "permission": _is_district_admin if tenant is not None else None,
            }
        )
    groups: list[dict[str, Any]] = [{"title": _("Settings"), "items": settings_items}]
    if tenant is None:
        from linli.ops.console import console_menu

        groups.insert(0, console_menu())
    for app in site.get_app_list(request):
        pages = _app_pages(request, app["app_label"]) if tenant is not None else []
        groups.append(
            {
                "title": app["name"],
                "collapsible": True,
                "items": pages
                + [
                    {"title": model["name"], "link": model["admin_url"]}
                    for model in app["models"]
                    if model.get("admin_url")
                ],
            }
        )
    return groups


def _runs_a_shop(request: HttpRequest) -> bool:
    from tenants.community.actor import request_actor
    from tenants.shop import access

    return access.shops_operated(request_actor(request)).filter(active=True).exists()


def _app_pages(request: HttpRequest, app_label: str) -> list[dict[str, Any]]:
    """A module's own pages, first in its part of the menu: the tasks done every day."""
    from django.urls import reverse

    if app_label == "shop":
        return [
            {
                "title": _("Counter"),
                "icon": "point_of_sale",
                "link": reverse("admin:shop_counter"),
                "permission": _runs_a_shop,
            }
        ]
    return []
