"""A tenant's whole data as one archive, and restoring it into a fresh tenant.

The archive is a zip file:

- ``manifest.json``: the format version, the migration state it was taken at,
  the tenant's registry row (name, language, time zone…), its module settings,
  and for every table its columns, row count and a SHA-256 of its data;
  every sequence's position; the list of uploaded files.
- ``tables/<table>.copy``: each table of the tenant's schema in PostgreSQL's
  ``COPY`` text format, read in one repeatable-read snapshot so the tables
  agree with each other.
- ``media/...``: the tenant's uploaded files.

Restoring provisions a new tenant from the blueprint, replaces its seed rows
with the archive's, loads every table and checks every row count and checksum,
all in one transaction: a bad archive leaves nothing behind. An archive only
restores into the same migration state it was taken at, because its columns
must match the schema's.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from linli.errors import NotFound, ValidationFailed
from linli.registry import provisioning
from linli.registry.models import ModuleSetting, Tenant
from linli.registry.selectors import tenant_cache_clear

FORMAT = 1
CHUNK = 1 << 20

# Never exported: the schema's own migration record (the manifest holds the state instead).
SKIPPED_TABLES = frozenset({"django_migrations"})


class ArchiveError(ValidationFailed):
    pass


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[str, ...]

    def qualified(self, schema: str) -> str:
        return f'"{schema}"."{self.name}"'

    def column_list(self) -> str:
        return ", ".join(f'"{column}"' for column in self.columns)


def _quote_ok(name: str) -> str:
    if '"' in name or "\x00" in name:
        raise ArchiveError(_("The archive names a table Linli does not have."), code="archive_bad")
    return name


def schema_tables(schema: str) -> list[Table]:
    """The schema's tables in an order where every table comes after the ones it refers to."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT c.oid, c.relname,
                   array_agg(a.attname::text ORDER BY a.attnum) FILTER (WHERE a.attnum > 0)
            FROM pg_class c
            JOIN pg_namespace n ON n.oid = c.relnamespace
            JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
                                AND a.attgenerated = ''
            WHERE n.nspname = %s AND c.relkind IN ('r', 'p')
            GROUP BY c.oid, c.relname
            """,
            [schema],
        )
        rows = cursor.fetchall()
        cursor.execute(
            """
            SELECT conrelid, confrelid FROM pg_constraint
            WHERE contype = 'f' AND connamespace = (SELECT oid FROM pg_namespace WHERE nspname = %s)
            """,
            [schema],
        )
        edges = cursor.fetchall()
    by_oid = {oid: Table(name, tuple(columns)) for oid, name, columns in rows}
    needs: dict[int, set[int]] = {oid: set() for oid in by_oid}
    for child, parent in edges:
        if child in needs and parent in by_oid and parent != child:
            needs[child].add(parent)
    ordered: list[Table] = []
    done: set[int] = set()
    # Kahn's algorithm, alphabetical among equals so archives are stable.
    while needs:
        ready = sorted(
            (oid for oid, deps in needs.items() if deps <= done), key=lambda o: by_oid[o].name
        )
        if not ready:  # a cycle: the remaining order does not matter, constraints are deferred
            ready = sorted(needs, key=lambda o: by_oid[o].name)
        for oid in ready:
            ordered.append(by_oid[oid])
            done.add(oid)
            del needs[oid]
    return [table for table in ordered if table.name not in SKIPPED_TABLES]


def _sequences(schema: str) -> dict[str, list[Any]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT sequencename, last_value FROM pg_sequences WHERE schemaname = %s",
            [schema],
        )
        return {name: [last_value] for name, last_value in cursor.fetchall()}


def _migrations(schema: str) -> list[list[str]]:
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT app, name FROM "{schema}".django_migrations ORDER BY app, name')
        return [[app, name] for app, name in cursor.fetchall()]


def _media_root(slug: str) -> Path:
    return Path(settings.MEDIA_ROOT) / slug


# --- Export ---------------------------------------------------------------------


def tenant_export(*, slug: str, out: IO[bytes]) -> dict[str, Any]:
    """Write ``slug``'s archive to ``out`` (a binary file); returns the manifest."""
    tenant = Tenant.objects.filter(schema_name=slug).first()
    if tenant is None:
        raise NotFound(_("No tenant “%(slug)s”.") % {"slug": slug}, code="tenant_not_found")
    outermost = not connection.in_atomic_block
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        with transaction.atomic():
            if outermost:  # one snapshot for every table
                with connection.cursor() as cursor:
                    cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            tables = schema_tables(slug)
            listed = []
            for table in tables:
                rows, digest = _copy_out(archive, slug, table)
                listed.append(
                    {
                        "name": table.name,
                        "columns": list(table.columns),
                        "rows": rows,
                        "sha256": digest,
                    }
                )
            sequences = _sequences(slug)
            migrations = _migrations(slug)
            modules = [
                {"module": m.module, "enabled": m.enabled, "settings": m.settings}
                for m in ModuleSetting.objects.filter(tenant=tenant).order_by("module")
            ]
        media = _media_out(archive, slug)
        manifest = {
            "format": FORMAT,
            "slug": slug,
            "exported_at": timezone.now().isoformat(),
            "state_key": provisioning.migration_state_key(),
            "migrations": migrations,
            "tenant": {
                "name": tenant.name,
                "region": tenant.region,
                "locale": tenant.locale,
                "time_zone": tenant.time_zone,
                "currency": tenant.currency,
                "api_rate_limit": tenant.api_rate_limit,
            },
            "modules": modules,
            "tables": listed,
            "sequences": sequences,
            "media": media,
        }
        archive.writestr("manifest.json", json.dumps(manifest, ensure_ascii=False, indent=1))
    return manifest


def _copy_out(archive: zipfile.ZipFile, schema: str, table: Table) -> tuple[int, str]:
    digest = hashlib.sha256()
    rows = 0
    sql = f"COPY {table.qualified(schema)} ({table.column_list()}) TO STDOUT"
    member_name = f"tables/{table.name}.copy"
    with (
        archive.open(member_name, "w", force_zip64=True) as member,
        connection.cursor() as cursor,
        cursor.copy(sql) as copy,
    ):
        for chunk in copy:
            data = bytes(chunk)
            digest.update(data)
            rows += data.count(b"\n")
            member.write(data)
    return rows, digest.hexdigest()


def _media_out(archive: zipfile.ZipFile, slug: str) -> list[str]:
    root = _media_root(slug)
    if not root.is_dir():
        return []
    names = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        relative = path.relative_to(root).as_posix()
        archive.write(path, f"media/{relative}")
        names.append(relative)
    return names


# --- Restore --------------------------------------------------------------------


def archive_manifest(path: Path) -> dict[str, Any]:
    """Read and check an archive's manifest without loading anything."""
    try:
        with zipfile.ZipFile(path) as archive:
            manifest = json.loads(archive.read("manifest.json"))
    except (OSError, KeyError, zipfile.BadZipFile, ValueError) as exc:
        raise ArchiveError(
            _("This file is not a Linli tenant archive."), code="archive_bad", field="archive"
        ) from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ArchiveError(
            _("This archive's format is not one this version of Linli reads."),
            code="archive_format",
            field="archive",
        )
    if manifest.get("state_key") != provisioning.migration_state_key():
        raise ArchiveError(
            _(
                "This archive was taken at another database version; restore it with the "
                "Linli version that made it, then upgrade."
            ),
            code="archive_version_mismatch",
            field="archive",
        )
    return manifest


def tenant_restore(*, path: Path, slug: str, name: str | None = None) -> Tenant:
    """Provision ``slug`` and load the archive at ``path`` into it, all or nothing."""
    from linli.registry.services import tenant_create

    manifest = archive_manifest(path)
    info = manifest["tenant"]
    modules = [m["module"] for m in manifest["modules"] if m["enabled"]]
    with zipfile.ZipFile(path) as archive, transaction.atomic():
        tenant = tenant_create(
            slug=slug,
            name=name or info["name"],
            region=info.get("region", ""),
            locale=info["locale"],
            time_zone=info["time_zone"],
            currency=info["currency"],
            status=Tenant.Status.ACTIVE,
            modules=modules,
        )
        Tenant.objects.filter(pk=tenant.pk).update(api_rate_limit=info["api_rate_limit"])
        for item in manifest["modules"]:
            ModuleSetting.objects.update_or_create(
                tenant=tenant,
                module=item["module"],
                defaults={"enabled": item["enabled"], "settings": item["settings"]},
            )
        _load(archive, slug, manifest)
    tenant_cache_clear()
    transaction.on_commit(tenant_cache_clear)
    transaction.on_commit(lambda: _media_in(path, slug, manifest["media"]))
    return tenant


def _load(archive: zipfile.ZipFile, schema: str, manifest: dict[str, Any]) -> None:
    tables = {table.name: table for table in schema_tables(schema)}
    wanted = [entry["name"] for entry in manifest["tables"]]
    if set(wanted) != set(tables):
        raise ArchiveError(
            _("The archive's tables do not match this version's schema."),
            code="archive_version_mismatch",
            field="archive",
        )
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        # The fresh schema's seed rows (content types, permissions) make way for the archive's.
        for table in reversed(list(tables.values())):
            cursor.execute(f"SELECT EXISTS (SELECT 1 FROM {table.qualified(schema)})")
            if cursor.fetchone()[0]:
                cursor.execute(f"DELETE FROM {table.qualified(schema)}")
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        # Triggers that derive or guard data (balances, append-only logs) stay off while the
        # archive's rows, which already hold their results, go in.
        for table in tables.values():
            cursor.execute(f"ALTER TABLE {table.qualified(schema)} DISABLE TRIGGER USER")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        for entry in manifest["tables"]:
            table = tables[_quote_ok(entry["name"])]
            if list(table.columns) != entry["columns"]:
                raise ArchiveError(
                    _("The archive's columns of %(table)s do not match this schema.")
                    % {"table": table.name},
                    code="archive_version_mismatch",
                    field="archive",
                )
            digest = hashlib.sha256()
            sql = f"COPY {table.qualified(schema)} ({table.column_list()}) FROM STDIN"
            with archive.open(f"tables/{table.name}.copy") as member, cursor.copy(sql) as copy:
                while chunk := member.read(CHUNK):
                    digest.update(chunk)
                    copy.write(chunk)
            if digest.hexdigest() != entry["sha256"]:
                raise ArchiveError(
                    _("The archive is damaged (table %(table)s).") % {"table": table.name},
                    code="archive_damaged",
                    field="archive",
                )
            cursor.execute(f"SELECT count(*) FROM {table.qualified(schema)}")
            if cursor.fetchone()[0] != entry["rows"]:
                raise ArchiveError(
                    _("The archive is damaged (table %(table)s).") % {"table": table.name},
                    code="archive_damaged",
                    field="archive",
                )
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # every reference checked here
        for table in tables.values():
            cursor.execute(f"ALTER TABLE {table.qualified(schema)} ENABLE TRIGGER USER")
        for name, (last_value,) in manifest["sequences"].items():
            if last_value is not None:
                cursor.execute(
                    "SELECT setval(%s::regclass, %s, true)",
                    [f'"{schema}"."{_quote_ok(name)}"', last_value],
                )
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")


def _media_in(path: Path, slug: str, names: list[str]) -> None:
    root = _media_root(slug).resolve()
    with zipfile.ZipFile(path) as archive:
        for relative in names:
            target = (root / relative).resolve()
            if not target.is_relative_to(root):  # never outside the tenant's folder
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            with archive.open(f"media/{relative}") as source, target.open("wb") as sink:
                shutil.copyfileobj(source, sink)
