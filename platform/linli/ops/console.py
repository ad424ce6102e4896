"""The ops console on the platform host: every tenant at a glance, one tenant in detail
(with suspend, resume and export), and the schema rollouts.

Pages are for platform staff; actions also need the permission to change tenants, and
each is audited (``OpsAction``). Every figure on the tenants page comes from a fixed
number of queries whatever the number of tenants: usage from the ``ops_usage`` rows,
schema sizes from the catalogue in one aggregate, pending migrations from one query over
every schema. No page enters a tenant's schema.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import connection
from django.db.models import Sum
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    HttpResponseRedirect,
)
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from linli.errors import LinliError
from linli.ops.models import RolloutRun, TenantUsage
from linli.registry.models import Module, ModuleSetting, OpsAction, Tenant

PER_PAGE = 50
CHART_DAYS = 30
CHANGE_TENANTS = "registry.change_tenant"


# --- Reads ------------------------------------------------------------------------------


def schema_sizes(schemas: list[str]) -> dict[str, int]:
    """Bytes each schema takes (tables with their indexes and TOAST), in one query."""
    if not schemas:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT n.nspname, sum(pg_total_relation_size(c.oid))::bigint "
            "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = ANY(%s) AND c.relkind IN ('r', 'm', 'p') "
            "GROUP BY n.nspname",
            [schemas],
        )
        return {name: int(size or 0) for name, size in cursor.fetchall()}


@dataclass
class Usage:
    requests: int = 0
    client_errors: int = 0
    server_errors: int = 0
    last_activity: datetime | None = None
    residents: int | None = None


def usage_window_start(now: datetime | None = None) -> date:
    """Usage is kept per UTC day: "the last 24 hours" reads yesterday's and today's rows."""
    return (now or timezone.now()).date() - timedelta(days=1)


USAGE_SUMMARY = """
SELECT t.id, w.requests, w.client_errors, w.server_errors, la.last_at, rs.residents
FROM "public"."registry_tenant" t
LEFT JOIN (
    SELECT tenant_id, sum(requests) AS requests, sum(client_errors) AS client_errors,
           sum(server_errors) AS server_errors
    FROM "public"."ops_usage" WHERE day >= %s GROUP BY tenant_id
) w ON w.tenant_id = t.id
LEFT JOIN LATERAL (
    SELECT u.last_at FROM "public"."ops_usage" u
    WHERE u.tenant_id = t.id AND u.last_at IS NOT NULL
    ORDER BY u.day DESC, u.last_at DESC LIMIT 1
) la ON true
LEFT JOIN LATERAL (
    SELECT u.residents FROM "public"."ops_usage" u
    WHERE u.tenant_id = t.id AND u.module = %s AND u.residents IS NOT NULL
    ORDER BY u.day DESC LIMIT 1
) rs ON true
WHERE %s::bigint IS NULL OR t.id = %s::bigint
"""


def usage_summary(*, since: date, tenant_id: int | None = None) -> dict[int, Usage]:
    """Per tenant id (every tenant, or one): requests and errors since ``since``, last
    activity, latest residents snapshot; one query (each lateral lookup walks the
    (tenant, day) index backwards)."""
    with connection.cursor() as cursor:
        cursor.execute(USAGE_SUMMARY, [since, TenantUsage.TENANT_WIDE, tenant_id, tenant_id])
        rows = cursor.fetchall()
    return {
        tenant_id: Usage(int(req or 0), int(c4 or 0), int(c5 or 0), last_at, residents)
        for tenant_id, req, c4, c5, last_at, residents in rows
    }


def wanted_migrations() -> tuple[tuple[str, str], ...] | None:
    """The migrations a tenant schema should have, from the recorded template of the
    migrations on disk; None until ``linli migrate`` has recorded it (a page never
    builds the template itself)."""
    from linli.registry.models import SchemaBlueprint
    from linli.registry.provisioning import migration_state_key

    row = SchemaBlueprint.objects.filter(state_key=migration_state_key()).first()
    return None if row is None else tuple((app, name) for app, name in row.migrations)


def schemas_behind_now() -> set[str] | None:
    """Tenant schemas missing a migration, or None when that cannot be told yet."""
    from linli.registry import rollout

    migrations = wanted_migrations()
    if migrations is None:
        return None
    return set(rollout.schemas_behind(migrations=migrations))


@dataclass
class TenantRow:
    tenant: Tenant
    modules: list[str]
    usage: Usage
    billing_status: str = ""
    billing_label: str = ""
    amount: int | None = None
    amount_text: str = ""
    behind: bool | None = None
    size: int | None = None

    @property
    def slug(self) -> str:
        return self.tenant.schema_name


SORTS: dict[str, Callable[[TenantRow], Any]] = {
    "slug": lambda r: r.slug,
    "name": lambda r: str(r.tenant.name).lower(),
    "status": lambda r: r.tenant.status,
    "billing": lambda r: r.billing_status or None,
    "amount": lambda r: r.amount,
    "modules": lambda r: len(r.modules),
    "size": lambda r: r.size,
    "residents": lambda r: r.usage.residents,
    "activity": lambda r: r.usage.last_activity,
    "requests": lambda r: r.usage.requests,
    "errors": lambda r: r.usage.server_errors,
    "client_errors": lambda r: r.usage.client_errors,
    "behind": lambda r: r.behind,
}


def _sorted(rows: list[TenantRow], order: str) -> list[TenantRow]:
    """Sorted by ``order`` (a key of SORTS, "-" first for descending); rows without a
    value last either way, then by slug."""
    descending = order.startswith("-")
    key = SORTS[order.lstrip("-")]
    known = [row for row in rows if key(row) is not None]
    unknown = [row for row in rows if key(row) is None]
    known.sort(key=lambda row: row.slug)
    known.sort(key=key, reverse=descending)
    return known + sorted(unknown, key=lambda row: row.slug)


def tenant_rows(*, status: str = "", module: str = "", behind: str = "") -> list[TenantRow]:
    """Every tenant (filtered) with its figures, except schema sizes: constant queries."""
    from linli.billing.views import money

    tenants = Tenant.objects.select_related("billing").order_by("schema_name")
    if status:
        tenants = tenants.filter(status=status)
    modules: dict[int, list[str]] = {}
    for tenant_id, name in (
        ModuleSetting.objects.filter(enabled=True)
        .order_by("module")
        .values_list("tenant_id", "module")
    ):
        modules.setdefault(tenant_id, []).append(name)
    usage = usage_summary(since=usage_window_start())
    lagging = schemas_behind_now()
    rows = []
    for tenant in tenants:
        account = getattr(tenant, "billing", None)
        row = TenantRow(
            tenant=tenant,
            modules=modules.get(tenant.pk, []),
            usage=usage.get(tenant.pk, Usage()),
            behind=None if lagging is None else tenant.schema_name in lagging,
        )
        if account is not None:
            row.billing_status = account.status
            row.billing_label = str(account.get_status_display())
            row.amount = account.monthly_amount
            row.amount_text = money(account.monthly_amount, account.currency)
        rows.append(row)
    if module:
        rows = [row for row in rows if module in row.modules]
    if behind in {"yes", "no"}:
        rows = [row for row in rows if row.behind is (behind == "yes")]
    return rows


# --- Pages --------------------------------------------------------------------------------


def _column_titles() -> dict[str, str]:
    return {
        "slug": _("Tenant"),
        "name": _("Name"),
        "status": _("Status"),
        "billing": _("Billing"),
        "amount": _("Per month"),
        "modules": _("Modules"),
        "size": _("Schema size"),
        "residents": _("Active residents"),
        "activity": _("Last activity"),
        "requests": _("Requests (24 h)"),
        "errors": _("Server errors (24 h)"),
        "client_errors": _("Client errors (24 h)"),
        "behind": _("Migrations pending"),
    }


def tenants_view(site: Any, request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", "")
    status = status if status in Tenant.Status.values else ""
    module = request.GET.get("module", "")
    module = module if module in Module.values else ""
    behind = request.GET.get("behind", "")
    behind = behind if behind in {"yes", "no"} else ""
    order = request.GET.get("o", "slug")
    order = order if order.lstrip("-") in SORTS else "slug"

    rows = tenant_rows(status=status, module=module, behind=behind)
    if order.lstrip("-") == "size":
        sizes = schema_sizes([row.slug for row in rows])
        for row in rows:
            row.size = sizes.get(row.slug, 0)
    rows = _sorted(rows, order)
    page = Paginator(rows, PER_PAGE).get_page(request.GET.get("p"))
    if order.lstrip("-") != "size":  # only this page's schemas are measured
        sizes = schema_sizes([row.slug for row in page.object_list])
        for row in page.object_list:
            row.size = sizes.get(row.slug, 0)

    filters = {"status": status, "module": module, "behind": behind}
    kept = {name: value for name, value in filters.items() if value}
    columns = []
    for key, title in _column_titles().items():
        next_order = f"-{key}" if order == key else key
        columns.append(
            {
                "key": key,
                "title": title,
                "url": "?" + urlencode({**kept, "o": next_order}),
                "sorted": "asc" if order == key else "desc" if order == f"-{key}" else "",
            }
        )
    context = {
        **site.each_context(request),
        "title": _("Tenants"),
        "page": page,
        "rows": page.object_list,
        "columns": columns,
        "filters": filters,
        "order": order,
        "statuses": Tenant.Status.choices,
        "modules": Module.choices,
        "query": urlencode({**kept, "o": order}),
    }
    return TemplateResponse(request, "admin/ops/tenants.html", context)


def _day_labels(days: list[date]) -> list[str]:
    return [day.isoformat() for day in days]


def _chart(labels: list[str], series: list[tuple[str, list[int | None]]]) -> str:
    colours = ["#2563eb", "#ef4444", "#f59e0b", "#10b981"]
    return json.dumps(
        {
            "labels": labels,
            "datasets": [
                {
                    "label": name,
                    "data": values,
                    "backgroundColor": colours[i % len(colours)],
                    "borderColor": colours[i % len(colours)],
                }
                for i, (name, values) in enumerate(series)
            ],
        },
        ensure_ascii=False,
    )


def tenant_charts(tenant: Tenant, *, today: date | None = None) -> dict[str, Any]:
    """The last ``CHART_DAYS`` days of one tenant: requests, errors and active residents
    per day (chart.js data), and the requests per module; two queries."""
    today = today or timezone.now().date()
    days = [today - timedelta(days=n) for n in range(CHART_DAYS - 1, -1, -1)]
    per_day: dict[date, dict[str, Any]] = {
        row["day"]: dict(row)
        for row in TenantUsage.objects.filter(tenant=tenant, day__gte=days[0], day__lte=today)
        .values("day")
        .annotate(
            requests=Sum("requests"),
            client_errors=Sum("client_errors"),
            server_errors=Sum("server_errors"),
            residents=Sum("residents"),  # only the tenant-wide row holds a snapshot
        )
        .order_by("day")
    }

    def series(name: str) -> list[int | None]:
        return [per_day[day][name] if day in per_day else None for day in days]

    def counted(name: str) -> list[int | None]:
        return [int(value or 0) for value in series(name)]

    labels = _day_labels(days)
    per_module = list(
        TenantUsage.objects.filter(tenant=tenant, day__gte=days[0], day__lte=today)
        .exclude(module=TenantUsage.TENANT_WIDE)
        .values("module")
        .annotate(
            requests=Sum("requests"),
            client_errors=Sum("client_errors"),
            server_errors=Sum("server_errors"),
            writes=Sum("writes"),
        )
        .order_by("-requests", "module")
    )
    return {
        "requests": _chart(labels, [(_("Requests"), counted("requests"))]),
        "errors": _chart(
            labels,
            [
                (_("Server errors (5xx)"), counted("server_errors")),
                (_("Client errors (4xx)"), counted("client_errors")),
            ],
        ),
        "residents": _chart(labels, [(_("Active residents"), series("residents"))]),
        "per_module": per_module,
    }


def _tenant_or_404(slug: str) -> Tenant:
    tenant = Tenant.objects.select_related("billing").filter(schema_name=slug).first()
    if tenant is None:
        raise Http404("No such tenant.")
    return tenant


def _residents_now(tenant: Tenant) -> int | None:
    """Before the first daily snapshot: the count now (one query in the tenant's schema)."""
    from linli.ops.tasks import active_residents
    from linli.registry.context import within

    if tenant.status == Tenant.Status.CLOSED:
        return None
    with within(tenant):
        return active_residents()


def tenant_view(site: Any, request: HttpRequest, slug: str) -> HttpResponse:
    from linli.billing import selectors as billing_selectors
    from linli.billing.views import money

    tenant = _tenant_or_404(slug)
    account = getattr(tenant, "billing", None)
    lagging = schemas_behind_now()
    usage = usage_summary(since=usage_window_start(), tenant_id=tenant.pk).get(tenant.pk, Usage())
    context = {
        **site.each_context(request),
        "title": _("Tenant %(slug)s") % {"slug": tenant.schema_name},
        "tenant": tenant,
        "modules": sorted(tenant.enabled_modules),
        "domains": list(tenant.domains.order_by("-is_primary", "domain")),
        "account": account,
        "amount": money(account.monthly_amount, account.currency) if account else "",
        "billing_differs": billing_selectors.plan_differs(tenant, account),
        "usage": usage,
        # not "size": the theme's card component has a variable of that name
        "schema_size": schema_sizes([tenant.schema_name]).get(tenant.schema_name, 0),
        "residents": usage.residents if usage.residents is not None else _residents_now(tenant),
        "behind": None if lagging is None else tenant.schema_name in lagging,
        "charts": tenant_charts(tenant),
        "actions": OpsAction.objects.filter(tenant_slug=tenant.schema_name)[:20],
        "may_change": request.user.has_perm(CHANGE_TENANTS),
        "tenants_url": reverse("platform_admin:ops_tenants"),
    }
    return TemplateResponse(request, "admin/ops/tenant.html", context)


def _actor(request: HttpRequest) -> str:
    if not request.user.has_perm(CHANGE_TENANTS):
        raise PermissionDenied
    return str(request.user.get_username())


def _status_change(request: HttpRequest, slug: str, change: Any, done: str) -> HttpResponse:
    actor = _actor(request)
    tenant = _tenant_or_404(slug)
    before = tenant.status
    try:
        after = change(slug=slug, actor=actor).status
    except LinliError as exc:
        messages.error(request, exc.message)
    else:
        if after == before:
            messages.info(
                request, _("%(slug)s was already %(status)s.") % {"slug": slug, "status": after}
            )
        else:
            messages.success(request, done % {"slug": slug})
    return HttpResponseRedirect(reverse("platform_admin:ops_tenant", args=[slug]))


def suspend_view(site: Any, request: HttpRequest, slug: str) -> HttpResponse:
    from linli.registry.services import tenant_suspend

    return _status_change(request, slug, tenant_suspend, _("Suspended %(slug)s."))


def resume_view(site: Any, request: HttpRequest, slug: str) -> HttpResponse:
    from linli.registry.services import tenant_resume

    return _status_change(request, slug, tenant_resume, _("Resumed %(slug)s."))


def billing_sync_view(site: Any, request: HttpRequest, slug: str) -> HttpResponse:
    """Bring the tenant's subscription in step with its modules now (after a failed sync)."""
    from linli.billing.services import items_sync
    from linli.registry.services import ops_record

    actor = _actor(request)
    tenant = _tenant_or_404(slug)
    try:
        items_sync(tenant_id=tenant.pk)
    except Exception as exc:  # Stripe's or the network's: told, recorded on the account
        messages.error(
            request,
            _("The subscription of %(slug)s could not be synced: %(error)s")
            % {"slug": slug, "error": exc},
        )
    else:
        ops_record(slug=slug, action="billing_sync", actor=actor)
        messages.success(request, _("The subscription of %(slug)s is in step.") % {"slug": slug})
    return HttpResponseRedirect(reverse("platform_admin:ops_tenant", args=[slug]))


def export_view(site: Any, request: HttpRequest, slug: str) -> HttpResponseBase:
    """The tenant's every table, settings and files in one archive, as a download."""
    from linli.registry import archive
    from linli.registry.services import ops_record

    actor = _actor(request)
    _tenant_or_404(slug)
    spool = tempfile.TemporaryFile()  # noqa: SIM115 - FileResponse closes it
    manifest = archive.tenant_export(slug=slug, out=spool)
    size = spool.tell()
    spool.seek(0)
    ops_record(
        slug=slug,
        action="export",
        actor=actor,
        bytes=size,
        rows=sum(table["rows"] for table in manifest["tables"]),
        via="console",
    )
    stamp = manifest["exported_at"][:10]
    return FileResponse(spool, as_attachment=True, filename=f"linli-{slug}-{stamp}.zip")


def migrations_view(site: Any, request: HttpRequest) -> HttpResponse:
    lagging = schemas_behind_now()
    context = {
        **site.each_context(request),
        "title": _("Schema rollouts"),
        "runs": RolloutRun.objects.all()[:20],
        "behind": None if lagging is None else len(lagging),
        "behind_schemas": sorted(lagging or [])[:PER_PAGE],
    }
    return TemplateResponse(request, "admin/ops/migrations.html", context)


# --- Wiring -------------------------------------------------------------------------------


def _staff_only(site: Any, view: Callable[..., HttpResponseBase], *, post: bool = False) -> Any:
    """Signed-out visitors go to the sign-in page (the admin's own handling); signed-in
    people who are not active platform staff get 403."""

    def inner(request: HttpRequest, **kwargs: Any) -> HttpResponseBase:
        return view(site, request, **kwargs)

    protected = site.admin_view(require_POST(inner) if post else inner)

    def guard(request: HttpRequest, **kwargs: Any) -> HttpResponseBase:
        user = request.user
        if user.is_authenticated and not (user.is_active and user.is_staff):
            raise PermissionDenied
        response: HttpResponseBase = protected(request, **kwargs)
        return response

    return guard


def ops_urls(site: Any) -> list[Any]:
    return [
        path("ops/tenants/", _staff_only(site, tenants_view), name="ops_tenants"),
        path("ops/tenants/<str:slug>/", _staff_only(site, tenant_view), name="ops_tenant"),
        path(
            "ops/tenants/<str:slug>/suspend/",
            _staff_only(site, suspend_view, post=True),
            name="ops_tenant_suspend",
        ),
        path(
            "ops/tenants/<str:slug>/resume/",
            _staff_only(site, resume_view, post=True),
            name="ops_tenant_resume",
        ),
        path(
            "ops/tenants/<str:slug>/billing-sync/",
            _staff_only(site, billing_sync_view, post=True),
            name="ops_tenant_billing_sync",
        ),
        path(
            "ops/tenants/<str:slug>/export/",
            _staff_only(site, export_view, post=True),
            name="ops_tenant_export",
        ),
        path("ops/migrations/", _staff_only(site, migrations_view), name="ops_migrations"),
    ]


def _is_staff(request: HttpRequest) -> bool:
    return bool(request.user.is_active and request.user.is_staff)


def console_menu() -> dict[str, Any]:
    """The console's group in the platform admin's sidebar."""
    return {
        "title": _("Operations"),
        "items": [
            {
                "title": _("Tenants"),
                "icon": "apartment",
                "link": reverse("platform_admin:ops_tenants"),
                "permission": _is_staff,
            },
            {
                "title": _("Schema rollouts"),
                "icon": "database",
                "link": reverse("platform_admin:ops_migrations"),
                "permission": _is_staff,
            },
        ],
    }
