"""The `linli` command: run, migrate, manage tenants, run jobs.

Errors print as one line (`linli: error: ...`); `--debug` shows the traceback.
"""

from __future__ import annotations

import argparse
import getpass
import os
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import django
from django.utils.translation import gettext as _


def _setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "linli.settings")
    django.setup()
    from django.utils import translation

    translation.activate(_cli_language())


def _cli_language() -> str:
    """The terminal's language (LANG) when Linli ships it, else English."""
    lang = (os.environ.get("LC_ALL") or os.environ.get("LANG") or "").lower()
    if lang.startswith(("zh_tw", "zh_hk", "zh_mo")):
        return "zh-hant"
    if lang.startswith("zh"):
        return "zh-hans"
    return "en"


def _print(*args: Any) -> None:
    print(*args, flush=True)


# --- commands -----------------------------------------------------------------------


def cmd_migrate(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn
    from rich.table import Table

    from linli.registry.rollout import migrate_all

    _cache_table_ensure()
    columns = [*Progress.get_default_columns()[:1], BarColumn(), MofNCompleteColumn()]
    with Progress(*columns, TimeElapsedColumn(), transient=True) as progress:
        bar = progress.add_task(_("tenant schemas"), total=None)

        def advance(schema: str, index: int, total: int) -> None:
            progress.update(bar, total=total, completed=index)

        result = migrate_all(on_progress=advance, workers=getattr(args, "workers", None))
    _print(
        _(
            "Migrated the public schema, the template and %(count)d tenant schema(s) "
            "in %(seconds).1f s."
        )
        % {"count": len(result.migrated), "seconds": result.seconds}
    )
    if not result.failures:
        return 0
    table = Table(title=_("Schemas left as they were (the next run retries them)"))
    table.add_column(_("schema"))
    table.add_column(_("error"))
    for schema, error in result.failures:
        table.add_row(schema, error)
    Console(stderr=True).print(table)
    return 1


def _cache_table_ensure() -> None:
    """Create the shared cache's table in the public schema when the cache is the database.

    ``createcachetable`` is idempotent and does nothing for other cache backends (Redis).
    Tenant connections find the table through their search path ("tenant, public").
    """
    from django.core.management import call_command

    from linli.db.access import tenant_db

    tenant_db().set_schema_to_public()
    call_command("createcachetable", verbosity=0)


def cmd_release(args: argparse.Namespace) -> int:
    """Run once per deploy, before the new version's web processes start.

    Safe while the old version still serves: migrations are kept backward compatible for
    one release (add columns and tables, never drop or rename what the old code reads in
    the same release), each tenant schema migrates in its own transaction, and a second
    rollout started meanwhile is refused. Collected static files carry a content hash in
    their names, so the old version's files stay where they are.
    """
    from django.core.management import call_command

    if args.collectstatic:
        call_command("collectstatic", interactive=False, verbosity=0)
        _print(_("Collected the static files."))
    return cmd_migrate(args)


WEB_WORKERS_MAX = 12
CGROUP_CPU_MAX = Path("/sys/fs/cgroup/cpu.max")


def available_cpus() -> int:
    """The CPUs this process may use: those it is allowed to run on, and no more than its
    control group's quota (a container's CPU limit), rounded up."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    cpus = cpus or 1
    try:
        quota, period = CGROUP_CPU_MAX.read_text().split()[:2]
    except (OSError, ValueError):
        return cpus
    if quota == "max" or not (quota.isdigit() and period.isdigit()) or int(period) == 0:
        return cpus
    return max(1, min(cpus, -(-int(quota) // int(period))))


def web_workers_default(cpus: int) -> int:
    """gunicorn's rule of thumb, two workers per CPU and one more, within bounds."""
    return min(2 * cpus + 1, WEB_WORKERS_MAX)


SHARED_MEMORY = "/dev/shm"  # noqa: S108 - gunicorn's heartbeat files, private to each worker


def _web_options(args: argparse.Namespace) -> dict[str, Any]:
    """gunicorn's settings for `linli web`, from the command line and the environment."""
    from linli.settings import env_int

    timeout = env_int("LINLI_WEB_TIMEOUT", 30)
    options: dict[str, Any] = {
        "bind": [args.bind],
        "workers": env_int("LINLI_WEB_WORKERS", web_workers_default(available_cpus())),
        "worker_class": "gthread",
        "threads": env_int("LINLI_WEB_THREADS", 4),
        "timeout": timeout,
        # SIGTERM: stop accepting, let requests in flight finish for this long, then exit.
        "graceful_timeout": env_int("LINLI_WEB_GRACEFUL_TIMEOUT", min(timeout, 25)),
        "keepalive": 5,
        # Recycle workers now and then (slow leaks), not all at once.
        "max_requests": env_int("LINLI_WEB_MAX_REQUESTS", 2000),
        "max_requests_jitter": 200,
        # Linli logs one JSON access line per request itself.
        "accesslog": None,
        "errorlog": "-",
        "preload_app": True,
        # A control socket in the home directory would be shared by every server on the
        # machine; nothing uses it.
        "control_socket_disable": True,
        "proc_name": "linli-web",
        # Workers inherit the embedded PostgreSQL's settings but never stop it: see
        # linli.embedded.forget_in_child, run in every forked child.
        "pre_fork": _web_pre_fork,
    }
    if os.path.isdir(SHARED_MEMORY):
        # Worker heartbeats on a memory file system: a slow disk must not look like a hang.
        options["worker_tmp_dir"] = SHARED_MEMORY
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        options["child_exit"] = _web_child_exit
    return options


def _web_pre_fork(server: Any, worker: Any) -> None:
    # A connection opened by the master must never be shared with a worker.
    from django.db import connections

    connections.close_all()


def _web_child_exit(server: Any, worker: Any) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def cmd_web(args: argparse.Namespace) -> int:
    from django.conf import settings
    from django.db import connections
    from gunicorn.app.base import BaseApplication  # type: ignore[import-untyped]

    if settings.DEBUG and not args.allow_debug:
        raise SystemExit(
            "linli: error: "
            + _(
                "DEBUG is on: `linli web` serves production traffic. Set DEBUG=false, "
                "or pass --allow-debug to serve anyway."
            )
        )
    manifest = settings.STATIC_ROOT / "staticfiles.json"
    if not settings.DEBUG and not manifest.exists():
        raise SystemExit(
            "linli: error: "
            + _(
                "No collected static files in %(path)s; run `linli release --collectstatic` "
                "(or `linli manage collectstatic`) first."
            )
            % {"path": settings.STATIC_ROOT}
        )
    options = _web_options(args)

    class WebServer(BaseApplication):
        def load_config(self) -> None:
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self) -> Any:
            from linli.wsgi import application

            return application

    connections.close_all()
    WebServer().run()  # exits through SystemExit (0 after a graceful SIGTERM)
    return 0


def cmd_up(args: argparse.Namespace) -> int:
    from django.conf import settings
    from django.core.management import call_command

    from linli.jobs.supervise import Supervised
    from linli.registry.demo import (
        DEMO_ADMIN_PASSWORD,
        DEMO_ADMIN_USERNAME,
        demo_platform_admin_ensure,
        demo_tenant_ensure,
    )
    from linli.registry.validators import slug_to_host_label

    cmd_migrate(args)
    tenant, created = demo_tenant_ensure()
    ops_username = demo_platform_admin_ensure()
    base, port = settings.LINLI_BASE_DOMAIN, args.port
    host = f"{slug_to_host_label(tenant.slug)}.{base}"
    # Jobs (notices, webhooks, the periodic sweeps) need a worker: one runs beside the
    # server as a child process, started again if it exits, stopped with `linli up`.
    worker = Supervised([sys.executable, "-m", "linli", "worker"], name=_("job worker"))
    worker.start()
    try:
        _print("")
        _print(_("Linli is running (demo tenant created):") if created else _("Linli is running:"))
        platform_label = _("platform")
        admin_label = _("%(slug)s admin") % {"slug": tenant.slug}
        login_label = _("login")
        docs_label = _("%(slug)s API docs") % {"slug": tenant.slug}
        worker_label = _("job worker")
        _print(f"  {platform_label:<20}http://{base}:{port}/admin/")
        _print(f"  {'':<20}{login_label} {ops_username} / {DEMO_ADMIN_PASSWORD}")
        _print(f"  {admin_label:<20}http://{host}:{port}/admin/")
        _print(f"  {'':<20}{login_label} {DEMO_ADMIN_USERNAME} / {DEMO_ADMIN_PASSWORD}")
        _print(f"  {docs_label:<20}http://{host}:{port}/api/v1/docs")
        _print(
            f"  {worker_label:<20}"
            + _("running (process %(pid)s), restarted if it stops") % {"pid": worker.pid}
        )
        _print(_("Stop with Ctrl+C (stops the server and the job worker)."))
        call_command("runserver", f"{args.bind}:{port}", use_reloader=False, skip_checks=False)
    finally:
        worker.stop()
    return 0


def _tenant_line(tenant: Any) -> str:
    domains = ",".join(d.domain for d in tenant.domains.all())
    return f"{tenant.slug:<24} {tenant.status:<10} {tenant.locale:<8} {domains:<40} {tenant.name}"


def cmd_tenants_create(args: argparse.Namespace) -> int:
    from django.contrib.auth.hashers import make_password

    from linli.registry.services import tenant_create

    password_hash = None
    if args.admin_username:
        password = os.environ.get("LINLI_ADMIN_PASSWORD")
        if password is None and sys.stdin.isatty():
            password = getpass.getpass(_("Password for %(user)s: ") % {"user": args.admin_username})
        if password:
            password_hash = make_password(password)
    tenant = tenant_create(
        slug=args.slug,
        name=args.name,
        region=args.region,
        locale=args.locale,
        time_zone=args.time_zone,
        currency=args.currency,
        admin_username=args.admin_username,
        admin_email=args.admin_email,
        admin_password_hash=password_hash,
    )
    domain = tenant.domains.get(is_primary=True).domain
    _print(_("Created tenant %(slug)s: %(domain)s") % {"slug": tenant.slug, "domain": domain})
    return 0


def cmd_tenants_list(args: argparse.Namespace) -> int:
    from linli.registry.selectors import tenant_list

    tenants = list(tenant_list(status=args.status))
    _print(f"{'SLUG':<24} {'STATUS':<10} {'LANG':<8} {'DOMAINS':<40} NAME")
    for tenant in tenants:
        _print(_tenant_line(tenant))
    _print(_("%(count)d tenant(s)") % {"count": len(tenants)})
    return 0


def cmd_tenants_suspend(args: argparse.Namespace) -> int:
    from linli.registry.services import tenant_suspend

    tenant = tenant_suspend(slug=args.slug)
    _print(_("Suspended %(slug)s: its site and API now answer 403.") % {"slug": tenant.slug})
    return 0


def cmd_tenants_resume(args: argparse.Namespace) -> int:
    from linli.registry.services import tenant_resume

    tenant = tenant_resume(slug=args.slug, actor="cli", trial_days=args.trial_days)
    _print(
        _("Resumed %(slug)s: status %(status)s.") % {"slug": tenant.slug, "status": tenant.status}
    )
    return 0


def cmd_tenants_close(args: argparse.Namespace) -> int:
    from linli.billing.client import billing_enabled
    from linli.registry.services import tenant_close

    cancel = args.cancel.replace("-", "_")
    tenant = tenant_close(
        slug=args.slug, actor="cli", retention_days=args.retention_days, billing_cancel=cancel
    )
    assert tenant.purge_after is not None
    _print(
        _("Closed %(slug)s: its data is deleted after %(when)s unless it is resumed.")
        % {"slug": tenant.slug, "when": tenant.purge_after.strftime("%Y-%m-%d %H:%M UTC")}
    )
    if billing_enabled():
        if cancel == "now":
            _print(_("Its subscription is cancelled now (a job tells Stripe)."))
        else:
            _print(
                _(
                    "Its subscription ends with the current period (a job tells Stripe); "
                    "nothing more is charged."
                )
            )
    return 0


def cmd_tenants_purge(args: argparse.Namespace) -> int:
    from linli.registry.services import tenants_purge_due

    purged = tenants_purge_due()
    _print(_("Deleted %(count)d closed tenant(s).") % {"count": len(purged)})
    for slug in purged:
        _print(f"  {slug}")
    return 0


def cmd_tenants_export(args: argparse.Namespace) -> int:
    from pathlib import Path

    from linli.registry.archive import tenant_export
    from linli.registry.services import ops_record

    path = Path(args.file)
    partial = path.with_name(path.name + ".partial")
    try:
        with partial.open("wb") as out:
            manifest = tenant_export(slug=args.slug, out=out)
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
    rows = sum(table["rows"] for table in manifest["tables"])
    ops_record(slug=args.slug, action="export", actor="cli", bytes=path.stat().st_size, rows=rows)
    _print(
        _("Exported %(slug)s: %(tables)d tables, %(rows)d rows, %(files)d files to %(path)s.")
        % {
            "slug": args.slug,
            "tables": len(manifest["tables"]),
            "rows": rows,
            "files": len(manifest["media"]),
            "path": path,
        }
    )
    return 0


def cmd_tenants_restore(args: argparse.Namespace) -> int:
    from pathlib import Path

    from linli.registry.archive import tenant_restore
    from linli.registry.services import ops_record

    restored = tenant_restore(
        path=Path(args.file), slug=args.slug, name=args.name, api_keys=args.api_keys
    )
    tenant = restored.tenant
    ops_record(
        slug=tenant.slug,
        action="restore",
        actor="cli",
        archive=Path(args.file).name,
        api_keys=args.api_keys,
    )
    _print(
        _("Restored %(file)s into the new tenant %(slug)s.")
        % {"file": args.file, "slug": tenant.slug}
    )
    _print(
        _(
            "Ended for the new tenant: %(sessions)d admin and %(residents)d resident sessions, "
            "%(passes)d household passes, %(invitations)d staff invitations."
        )
        % {
            "sessions": restored.admin_sessions_ended,
            "residents": restored.resident_sessions_ended,
            "passes": restored.household_passes_revoked,
            "invitations": restored.invitations_revoked,
        }
    )
    _print(_("Revoked the archive's %(count)d API keys.") % {"count": restored.api_keys_revoked})
    if restored.webhooks_reset:
        _print(
            _(
                "%(count)d webhook endpoints are off, with new signing secrets; "
                "check each URL, then turn it back on."
            )
            % {"count": restored.webhooks_reset}
        )
    for issued in restored.api_keys_reissued:
        _print(
            _("Re-issued key %(name)s as %(prefix)s. Copy it now; it is not shown again:")
            % {"name": issued.key.name, "prefix": issued.key.prefix}
        )
        _print(issued.token)
    return 0


def cmd_billing_sync(args: argparse.Namespace) -> int:
    from linli.billing.client import billing_enabled
    from linli.billing.sync import catalogue_sync

    if not billing_enabled():
        _print(_("Billing is off (no STRIPE_SECRET_KEY): nothing to sync."))
        return 0
    report = catalogue_sync()
    for object_id in report.created:
        _print(_("created   %(id)s") % {"id": object_id})
    _print(
        _("%(created)d created, %(unchanged)d already in Stripe.")
        % {"created": len(report.created), "unchanged": len(report.unchanged)}
    )
    return 0


def cmd_tenants_delete(args: argparse.Namespace) -> int:
    from linli.errors import NotFound
    from linli.registry.selectors import tenant_get
    from linli.registry.services import tenant_delete

    if tenant_get(slug=args.slug) is None:
        raise NotFound(_("No tenant “%(slug)s”.") % {"slug": args.slug})
    if not args.yes:
        if not sys.stdin.isatty():
            raise SystemExit(
                "linli: error: "
                + _(
                    "deleting a tenant destroys all its data; "
                    "confirm with --yes when not running interactively."
                )
            )
        typed = input(
            _("This deletes “%(slug)s” and all its data. Type the slug to confirm: ")
            % {"slug": args.slug}
        )
        if typed.strip() != args.slug:
            _print(_("Not deleted."))
            return 1
    tenant_delete(slug=args.slug)
    _print(_("Deleted tenant %(slug)s and its schema.") % {"slug": args.slug})
    from linli.billing.client import billing_enabled

    if billing_enabled():
        _print(
            _("Its subscription is cancelled now (a job tells Stripe); its billing record is kept.")
        )
    return 0


def cmd_keys_create(args: argparse.Namespace) -> int:
    from datetime import timedelta

    from django.utils import timezone
    from django_tenants.utils import tenant_context

    from api.access.services import key_create

    tenant = _tenant_or_fail(args.tenant)
    expires_at = (
        timezone.now() + timedelta(days=args.expires_in_days) if args.expires_in_days else None
    )
    scopes = [s.strip() for s in args.scopes.split(",") if s.strip()]
    with tenant_context(tenant):
        issued = key_create(
            name=args.name, scopes=scopes, expires_at=expires_at, rate_limit=args.rate_limit
        )
    _print(
        _("Created key %(prefix)s for %(tenant)s. Copy it now; it is not shown again:")
        % {"prefix": issued.key.prefix, "tenant": tenant.slug}
    )
    _print(issued.token)
    return 0


def cmd_keys_list(args: argparse.Namespace) -> int:
    from api.access.models import ApiKey
    from linli import clock
    from linli.registry.context import within

    tenant = _tenant_or_fail(args.tenant)
    with within(tenant):  # times on the district's clock, as its admin shows them
        keys = list(ApiKey.objects.order_by("created_at"))
        stamps = [
            (
                clock.stamp(key.expires_at) if key.expires_at else "-",
                clock.stamp(key.last_used_at) if key.last_used_at else "-",
            )
            for key in keys
        ]
    _print(f"{'PREFIX':<14} {'ACTIVE':<7} {'EXPIRES':<17} {'LAST USED':<17} {'NAME':<24} SCOPES")
    for key, (expires, used) in zip(keys, stamps, strict=True):
        active = "yes" if key.is_active else "no"
        _print(
            f"{key.prefix:<14} {active:<7} {expires:<17} {used:<17} {key.name:<24} "
            f"{','.join(key.scopes)}"
        )
    return 0


def cmd_keys_revoke(args: argparse.Namespace) -> int:
    from django_tenants.utils import tenant_context

    from api.access.services import key_revoke

    tenant = _tenant_or_fail(args.tenant)
    with tenant_context(tenant):
        key_revoke(prefix=args.prefix)
    _print(_("Revoked key %(prefix)s.") % {"prefix": args.prefix})
    return 0


def cmd_modules(args: argparse.Namespace) -> int:
    from linli.registry.services import module_set_enabled

    _tenant_or_fail(args.tenant)
    module_set_enabled(slug=args.tenant, module=args.module, enabled=args.action == "enable")
    _print(
        _("%(module)s is now %(state)s for %(tenant)s.")
        % {
            "module": args.module,
            "state": _("enabled") if args.action == "enable" else _("disabled"),
            "tenant": args.tenant,
        }
    )
    return 0


def _tenant_or_fail(slug: str) -> Any:
    from linli.errors import NotFound
    from linli.registry.selectors import tenant_get

    tenant = tenant_get(slug=slug)
    if tenant is None:
        raise NotFound(_("No tenant “%(slug)s”.") % {"slug": slug})
    return tenant


def cmd_api_schema(args: argparse.Namespace) -> int:
    from api import contract

    if args.check:
        stale = contract.stale()
        if stale:
            raise SystemExit(
                "linli: error: "
                + _("%(files)s out of date; run `linli api-schema`.") % {"files": ", ".join(stale)}
            )
        _print(_("The OpenAPI documents match the code."))
        return 0
    for path in contract.write():
        _print(_("Wrote %(path)s") % {"path": path.name})
    return 0


def cmd_residents(args: argparse.Namespace) -> int:
    import json

    from django_tenants.utils import tenant_context

    from tenants.community.personal_data import resident_erase, resident_export

    tenant = _tenant_or_fail(args.tenant)
    with tenant_context(tenant):
        if args.action == "export":
            data = resident_export(resident_id=args.resident_id)
            _print(json.dumps(data, ensure_ascii=False, indent=2))
            return 0
        if not args.yes:
            if not sys.stdin.isatty():
                raise SystemExit(
                    "linli: error: " + _("erasing cannot be undone; confirm with --yes.")
                )
            typed = input(
                _("Erase resident %(id)s? Type “erase” to confirm: ") % {"id": args.resident_id}
            )
            if typed.strip() != "erase":
                _print(_("Not erased."))
                return 1
        resident_erase(resident_id=args.resident_id)
    _print(_("Erased the personal data of resident %(id)s.") % {"id": args.resident_id})
    return 0


def cmd_community_import(args: argparse.Namespace) -> int:
    from pathlib import Path

    from django_tenants.utils import tenant_context

    from tenants.community.importing import import_table, read_table

    tenant = _tenant_or_fail(args.tenant)
    path = Path(args.file)
    if not path.is_file():
        raise SystemExit("linli: error: " + _("No file %(path)s.") % {"path": path})
    with tenant_context(tenant):
        report = import_table(read_table(path.read_bytes(), path.name), dry_run=args.dry_run)
    for error in report.errors:
        _print(f"{path.name}:{error.line}: {error.column}: {error.reason}")
    if not report.ok:
        _print(_("%(count)d problem(s); nothing was imported.") % {"count": len(report.errors)})
        return 1
    if report.dry_run:
        _print(
            _("All %(rows)d rows are correct (dry run: nothing imported).") % {"rows": report.rows}
        )
    else:
        _print(_("Imported: %(created)s") % {"created": report.created})
    return 0


def cmd_community_export(args: argparse.Namespace) -> int:
    from django_tenants.utils import tenant_context

    from tenants.community.exporting import residents_csv
    from tenants.community.models import Resident

    tenant = _tenant_or_fail(args.tenant)
    with tenant_context(tenant):
        sys.stdout.write(residents_csv(Resident.objects.all()))
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    import time

    from linli.registry.demo import demo_build

    start = time.perf_counter()
    tenant, counts = demo_build(scale=args.scale, slug=args.tenant)
    elapsed = time.perf_counter() - start
    _print(
        _("Built the %(scale)s demo city in %(tenant)s in %(seconds).1f s:")
        % {"scale": args.scale, "tenant": tenant.slug, "seconds": elapsed}
    )
    for name, count in counts.items():
        _print(f"  {name:<16} {count:>8}")
    return 0


def cmd_points_verify(args: argparse.Namespace) -> int:
    from django_tenants.utils import tenant_context

    from linli.registry.selectors import tenant_list
    from tenants.points.selectors import ledger_verify

    tenants = [_tenant_or_fail(args.tenant)] if args.tenant else list(tenant_list())
    problems = 0
    for tenant in tenants:
        with tenant_context(tenant):
            mismatches = ledger_verify()
        for m in mismatches:
            problems += 1
            _print(
                _("%(tenant)s: account %(code)s stores %(stored)d but its postings sum to %(sum)d")
                % {
                    "tenant": tenant.slug,
                    "code": m.code,
                    "stored": m.stored,
                    "sum": m.from_postings,
                }
            )
    if problems:
        _print(_("%(count)d balance(s) differ from their postings.") % {"count": problems})
        return 1
    _print(
        _("Every balance equals its postings (%(count)d tenant(s) checked).")
        % {"count": len(tenants)}
    )
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    from linli.jobs.worker import run_worker

    queues = [q for q in (args.queues or "").split(",") if q] or None
    run_worker(
        queues=queues,
        concurrency=args.concurrency,
        webhook_concurrency=args.webhook_concurrency,
        wait=not args.once,
        install_signal_handlers=not args.once,
    )
    return 0  # stopped on request; a failure raises and exits 1


def cmd_manage(args: argparse.Namespace) -> int:
    from django.core.management import execute_from_command_line

    execute_from_command_line(["linli manage", *args.rest])
    return 0


# --- parser -------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="linli", description="Linli: neighbourhood programmes for many cities."
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    sub = parser.add_subparsers(dest="command", required=True)

    up = sub.add_parser(
        "up",
        help="migrate, ensure the demo tenant, serve on localhost, and run a job worker",
    )
    up.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    up.add_argument("--bind", default="127.0.0.1")
    up.set_defaults(func=cmd_up)

    migrate = sub.add_parser(
        "migrate", help="migrate public, then every tenant schema that is behind, in parallel"
    )
    migrate.add_argument("--workers", type=int, help="connections at once (default 4)")
    migrate.set_defaults(func=cmd_migrate)

    tenants = sub.add_parser(
        "tenants", help="create, list, suspend, resume, close, export, restore, delete tenants"
    )
    tsub = tenants.add_subparsers(dest="tenants_command", required=True)
    create = tsub.add_parser("create", help="provision a new tenant")
    create.add_argument("slug", help="schema name and subdomain: a-z, 0-9, _")
    create.add_argument("--name", required=True)
    create.add_argument("--region", default="")
    create.add_argument("--locale", default="zh-hans", help="zh-hans, zh-hant or en")
    create.add_argument("--time-zone", default="Asia/Shanghai")
    create.add_argument("--currency", default="CNY")
    create.add_argument(
        "--admin-username",
        help="create the first admin (password from LINLI_ADMIN_PASSWORD or a prompt)",
    )
    create.add_argument("--admin-email", default="")
    create.set_defaults(func=cmd_tenants_create)
    listing = tsub.add_parser("list", help="list tenants")
    listing.add_argument("--status", choices=["trial", "active", "past_due", "suspended", "closed"])
    listing.set_defaults(func=cmd_tenants_list)
    suspend = tsub.add_parser("suspend", help="suspend a tenant (API 403, admin read-only)")
    suspend.add_argument("slug")
    suspend.set_defaults(func=cmd_tenants_suspend)
    resume = tsub.add_parser("resume", help="make a suspended or closed tenant active again")
    resume.add_argument("slug")
    resume.add_argument(
        "--trial-days",
        type=int,
        help="if its subscription has ended: start the new one with a trial of this many days",
    )
    resume.set_defaults(func=cmd_tenants_resume)
    close = tsub.add_parser("close", help="close a tenant; its data is deleted after retention")
    close.add_argument("slug")
    close.add_argument("--retention-days", type=int, help="days to keep the data (default: 90)")
    close.add_argument(
        "--cancel",
        choices=["period-end", "now"],
        default="period-end",
        help="when its subscription stops: at the end of the paid period (default) or now",
    )
    close.set_defaults(func=cmd_tenants_close)
    tsub.add_parser("purge", help="delete closed tenants whose retention has passed").set_defaults(
        func=cmd_tenants_purge
    )
    export = tsub.add_parser("export", help="write a tenant's whole data to an archive (.zip)")
    export.add_argument("slug")
    export.add_argument("file", help="the archive to write")
    export.set_defaults(func=cmd_tenants_export)
    restore = tsub.add_parser(
        "restore",
        help="restore a signed archive into a new tenant (its credentials do not carry over)",
    )
    restore.add_argument("file", help="an archive written by `linli tenants export`")
    restore.add_argument("slug", help="the new tenant's slug")
    restore.add_argument("--name", help="the new tenant's name (default: the archive's)")
    restore.add_argument(
        "--api-keys",
        choices=["disable", "reissue"],
        default="disable",
        help="the archive's API keys: revoked (default), or revoked and issued again with "
        "new secrets, shown once",
    )
    restore.set_defaults(func=cmd_tenants_restore)
    delete = tsub.add_parser("delete", help="delete a tenant and all its data")
    delete.add_argument("slug")
    delete.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    delete.set_defaults(func=cmd_tenants_delete)

    billing = sub.add_parser("billing", help="billing on Stripe")
    bsub = billing.add_subparsers(dest="billing_command", required=True)
    bsub.add_parser(
        "sync", help="create the catalogue's products and plans in Stripe (idempotent)"
    ).set_defaults(func=cmd_billing_sync)

    keys = sub.add_parser("keys", help="create, list and revoke a tenant's API keys")
    ksub = keys.add_subparsers(dest="keys_command", required=True)
    kcreate = ksub.add_parser("create", help="issue a key (shown once)")
    kcreate.add_argument("--tenant", required=True)
    kcreate.add_argument("--name", required=True)
    kcreate.add_argument("--scopes", required=True, help="comma-separated, e.g. community:read")
    kcreate.add_argument("--expires-in-days", type=int, default=None)
    kcreate.add_argument("--rate-limit", type=int, default=None, help="requests per minute")
    kcreate.set_defaults(func=cmd_keys_create)
    klist = ksub.add_parser("list", help="list keys (never their secrets)")
    klist.add_argument("--tenant", required=True)
    klist.set_defaults(func=cmd_keys_list)
    krevoke = ksub.add_parser("revoke", help="revoke a key by its prefix")
    krevoke.add_argument("--tenant", required=True)
    krevoke.add_argument("prefix")
    krevoke.set_defaults(func=cmd_keys_revoke)

    modules = sub.add_parser("modules", help="enable or disable a module for a tenant")
    modules.add_argument("action", choices=["enable", "disable"])
    modules.add_argument("module", choices=["deliberation", "helpteam", "shop", "points"])
    modules.add_argument("--tenant", required=True)
    modules.set_defaults(func=cmd_modules)

    schema = sub.add_parser("api-schema", help="write (or --check) api/openapi*.json")
    schema.add_argument("--check", action="store_true")
    schema.set_defaults(func=cmd_api_schema)

    residents = sub.add_parser("residents", help="export or erase one resident's personal data")
    residents.add_argument("action", choices=["export", "erase"])
    residents.add_argument("resident_id", type=int)
    residents.add_argument("--tenant", required=True)
    residents.add_argument("--yes", action="store_true", help="erase without asking")
    residents.set_defaults(func=cmd_residents)

    community = sub.add_parser("community", help="import or export places and residents")
    csub = community.add_subparsers(dest="community_command", required=True)
    cimport = csub.add_parser("import", help="import a CSV (UTF-8/GBK) or XLSX file")
    cimport.add_argument("file")
    cimport.add_argument("--tenant", required=True)
    cimport.add_argument("--dry-run", action="store_true", help="check only, import nothing")
    cimport.set_defaults(func=cmd_community_import)
    cexport = csub.add_parser("export", help="write residents as CSV to standard output")
    cexport.add_argument("--tenant", required=True)
    cexport.set_defaults(func=cmd_community_export)

    demo = sub.add_parser("demo", help="build the demo city (Cenxi) in a tenant")
    demo.add_argument("--scale", choices=["small", "full"], default="small")
    demo.add_argument("--tenant", default="cenxi")
    demo.set_defaults(func=cmd_demo)

    points = sub.add_parser("points", help="points ledger tools")
    psub = points.add_subparsers(dest="points_command", required=True)
    verify = psub.add_parser("verify", help="recompute every balance from its postings")
    verify.add_argument("--tenant", help="one tenant (default: all)")
    verify.set_defaults(func=cmd_points_verify)

    web = sub.add_parser(
        "web",
        help="serve production traffic (gunicorn; DEBUG must be off)",
        description=(
            "Serve linli.wsgi with gunicorn: LINLI_WEB_WORKERS processes (default 2 per "
            "CPU it may use, counting a container's CPU limit, + 1, at most "
            f"{WEB_WORKERS_MAX}) of LINLI_WEB_THREADS threads (4); a request may "
            "take LINLI_WEB_TIMEOUT seconds (30); SIGTERM finishes the requests in flight "
            "(LINLI_WEB_GRACEFUL_TIMEOUT, 25) and exits 0. Static files are served from "
            "LINLI_STATIC_ROOT, collected beforehand."
        ),
    )
    web.add_argument(
        "--bind",
        default=f"0.0.0.0:{os.environ.get('PORT', '8000')}",
        help="address:port to listen on (default 0.0.0.0:$PORT, PORT defaulting to 8000)",
    )
    web.add_argument("--allow-debug", action="store_true", help="serve even with DEBUG on")
    web.set_defaults(func=cmd_web)

    release = sub.add_parser(
        "release",
        help="run once per deploy, before the new web processes: migrate public and tenants",
        description=(
            "Migrate the public schema and the tenant template, then every tenant schema "
            "that is behind (as `linli migrate`), and create the shared cache table. Safe "
            "while the previous version serves, because migrations stay backward compatible "
            "for one release. Exits 1 when a schema failed (the next run retries it)."
        ),
    )
    release.add_argument("--workers", type=int, help="connections at once (default 4)")
    release.add_argument(
        "--collectstatic",
        action="store_true",
        help="also collect static files into LINLI_STATIC_ROOT (when the image does not)",
    )
    release.set_defaults(func=cmd_release)

    worker = sub.add_parser(
        "worker",
        help="run the job worker",
        description=(
            "Run jobs from the PostgreSQL queue. Run as many workers on as many machines as "
            "you like: each job is taken by one worker (FOR UPDATE SKIP LOCKED), and every "
            "worker also defers the periodic jobs, each at most once per period (a unique "
            "task, periodic id and time row in the database), so no separate scheduler "
            "process is needed. Without --queues, webhook delivery runs in slots of its own "
            "(--webhook-concurrency) beside the other queues (--concurrency), so a slow "
            "receiver never holds up notices or tenant jobs. A database outage makes the "
            "worker wait and reconnect; it exits 0 on SIGTERM and non-zero on any other "
            "failure."
        ),
    )
    worker.add_argument("--queues", default="", help="comma-separated; all when empty")
    worker.add_argument(
        "--concurrency",
        type=int,
        default=int(os.environ.get("LINLI_WORKER_CONCURRENCY", "2")),
        help="jobs at once on the queues other than webhooks (default 2)",
    )
    worker.add_argument(
        "--webhook-concurrency",
        type=int,
        default=int(os.environ.get("LINLI_WORKER_WEBHOOK_CONCURRENCY", "2")),
        help="webhook deliveries at once, in slots of their own (default 2)",
    )
    worker.add_argument("--once", action="store_true", help="run the jobs waiting now, then exit")
    worker.set_defaults(func=cmd_worker)

    manage = sub.add_parser("manage", help="run a Django management command")
    manage.add_argument("rest", nargs=argparse.REMAINDER)
    manage.set_defaults(func=cmd_manage)
    return parser


def _exit_on_sigterm(signum: int, frame: object) -> None:
    # Once: a second SIGTERM must not interrupt the clean shutdown the first one started.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise SystemExit(128 + signum)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    func: Callable[[argparse.Namespace], int] = args.func
    # Exit through Python on SIGTERM too, so the embedded PostgreSQL is stopped cleanly.
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        _setup()
        return func(args)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # one clear line, unless --debug
        if args.debug:
            raise
        message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
        print(f"linli: error: {message}", file=sys.stderr, flush=True)
        return 1
