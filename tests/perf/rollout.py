"""Schema rollout benchmark: `linli migrate` against django-tenants' `migrate_schemas`.

    make bench                                   # runs this too, at 100 and 1,000 tenants
    .venv/bin/python tests/perf/rollout.py --levels 100,1000,5000 --stock-max 100

At each number of tenant schemas it measures, in the same run:

- nothing to apply: Linli's rollout (public, template check, the one query over every
  schema) against stock `migrate_schemas` (which loads and checks every schema);
- one added column (a new `AddField` migration in a benchmark-only tenant app): Linli's
  rollout (template rebuilt, one pilot recorded, the script replayed in parallel)
  against stock `migrate_schemas` applying the same migration.

Stock runs only up to ``--stock-max`` tenants (it takes minutes beyond). Between the
two column runs the column and its migration record are removed again with SQL, so
both apply the same change to the same schemas.

Runs on a throwaway database on the configured server (embedded by default).
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import time
from contextlib import redirect_stdout
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT / "platform"), str(ROOT)]
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "linli.settings")

import linli.settings as conf  # noqa: E402

# A tenant app for this benchmark only, first at its initial migration.
conf.TENANT_APPS.append("tests.perf.benchapp")
conf.INSTALLED_APPS.append("tests.perf.benchapp")
BEFORE = {"benchapp": "tests.perf.benchapp.migrations_before"}
AFTER = {"benchapp": "tests.perf.benchapp.migrations_after"}
conf.MIGRATION_MODULES = dict(BEFORE)  # type: ignore[attr-defined]

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from linli.db.access import tenant_db  # noqa: E402
from linli.registry import provisioning  # noqa: E402
from linli.registry.models import Tenant  # noqa: E402
from linli.registry.rollout import migrate_all  # noqa: E402
from linli.registry.services import tenant_create  # noqa: E402


def use(modules: dict[str, str]) -> None:
    settings.MIGRATION_MODULES = dict(modules)
    provisioning.migration_state_key.cache_clear()
    provisioning.reset_cache()


def fill_to(count: int) -> None:
    provisioning.blueprint_current()
    for i in range(Tenant.objects.count(), count):
        tenant_create(slug=f"t{i:05d}", name=f"Tenant {i}")


def drop_column_everywhere() -> None:
    """Undo the added column in every tenant schema, so the next run applies it again."""
    schemas = list(Tenant.objects.values_list("schema_name", flat=True))
    for start in range(0, len(schemas), 200):
        script = "".join(
            f'ALTER TABLE "{s}".benchapp_note DROP COLUMN IF EXISTS extra; '
            f"DELETE FROM \"{s}\".django_migrations WHERE app = 'benchapp' "
            "AND name = '0002_note_extra'; "
            for s in schemas[start : start + 200]
        )
        with connection.cursor() as cursor:
            cursor.execute(script)


def stock_migrate() -> float:
    start = time.perf_counter()
    with redirect_stdout(io.StringIO()):
        call_command("migrate_schemas", interactive=False, verbosity=0)
    tenant_db().set_schema_to_public()
    return time.perf_counter() - start


def linli_migrate(workers: int) -> tuple[float, int]:
    start = time.perf_counter()
    result = migrate_all(workers=workers)
    assert not result.failures, result.failures
    return time.perf_counter() - start, len(result.migrated)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--levels", default="100,1000")
    parser.add_argument("--stock-max", type=int, default=100, help="largest level for stock")
    parser.add_argument("--workers", type=int, default=settings.LINLI_ROLLOUT_WORKERS)
    args = parser.parse_args()

    connection.settings_dict["TEST"]["NAME"] = "linli_rollout_bench"
    connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    try:
        pg = connection.cursor().connection.info.server_version
        print(
            f"PostgreSQL {pg // 10000}.{pg % 10000}, Django {django.get_version()}, "
            f"{os.cpu_count()} cores, {args.workers} rollout connections",
            flush=True,
        )
        print("\n(i) Schema rollout (seconds; stock = django-tenants' migrate_schemas):")
        print(
            f"  {'tenants':>7}  {'nothing: linli':>14} {'stock':>8} {'x':>6}"
            f"   {'one column: linli':>17} {'stock':>8} {'x':>6}",
            flush=True,
        )
        for level in [int(x) for x in args.levels.split(",")]:
            use(BEFORE)
            fill_to(level)
            linli_migrate(args.workers)  # warm: the template is current
            with_stock = level <= args.stock_max
            idle, _n = linli_migrate(args.workers)
            idle_stock = stock_migrate() if with_stock else None

            use(AFTER)
            column_stock = None
            if with_stock:
                column_stock = stock_migrate()
                drop_column_everywhere()
            column, migrated = linli_migrate(args.workers)
            assert migrated == level, (migrated, level)
            drop_column_everywhere()

            def cell(stock: float | None, linli: float) -> str:
                if stock is None:
                    return f"{'—':>8} {'':>6}"
                return f"{stock:8.2f} x{stock / linli:5.1f}"

            print(
                f"  {level:>7}  {idle:14.2f} {cell(idle_stock, idle)}"
                f"   {column:17.2f} {cell(column_stock, column)}",
                flush=True,
            )
    finally:
        tenant_db().set_schema_to_public()
        connection.creation.destroy_test_db("linli_rollout_bench", verbosity=0)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
