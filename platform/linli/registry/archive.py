"""A tenant's whole data as one archive, and restoring it into a fresh tenant.

The archive is a zip file:

- ``manifest.json``: the format version, the migration state it was taken at,
  the tenant's registry row (name, language, time zone…), its module settings,
  and for every table its columns, row count and a SHA-256 of its data;
  every sequence's position; every uploaded file with a SHA-256 of its bytes.
- ``manifest.sig``: an HMAC-SHA256 of ``manifest.json`` under a key derived from
  the platform's SECRET_KEY. The manifest holds a digest of everything else, so
  the signature covers the whole archive.
- ``tables/<table>.copy``: each table of the tenant's schema in PostgreSQL's
  ``COPY`` text format, read in one repeatable-read snapshot so the tables
  agree with each other.
- ``media/...``: the tenant's uploaded files.

Restoring refuses an archive this platform did not sign (or one signed and then
changed) before it reads anything else, then checks the tenant's settings with
the validators the registry uses for any new tenant. It provisions a new tenant
from the blueprint, replaces its seed rows with the archive's, loads every table
and checks every row count and checksum, all in one transaction: a bad archive
leaves nothing behind. An archive only restores into the same migration state it
was taken at, because its columns must match the schema's.

A restored tenant is a new tenant, so no credential of the original works on it:
admin and resident sessions, sign-in codes, household passes and pending staff
invitations end; API keys are revoked (or re-issued with new secrets); webhook
endpoints get new signing secrets and stay off until someone checks them.
Passwords and two-factor devices stay: they belong to the same people.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO, TYPE_CHECKING, Any, Literal

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from django_tenants.utils import tenant_context

from linli.errors import NotFound, ValidationFailed
from linli.registry import provisioning
from linli.registry.models import ALWAYS_ON, Module, ModuleSetting, Tenant
from linli.registry.selectors import tenant_cache_clear
from linli.registry.validators import validate_currency, validate_locale, validate_time_zone

if TYPE_CHECKING:
    from api.access.services import IssuedKey

FORMAT = 2
CHUNK = 1 << 20
MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
SIGNATURE_SCHEME = "hmac-sha256"
# Keeps archive signatures apart from every other use of SECRET_KEY.
SIGNING_SALT = "linli.registry.archive.manifest"
# The most an integer column of PostgreSQL holds (Tenant.api_rate_limit).
API_RATE_LIMIT_MAX = 2**31 - 1

ApiKeyMode = Literal["disable", "reissue"]
API_KEY_MODES: tuple[ApiKeyMode, ...] = ("disable", "reissue")

# Never exported: the schema's own migration record (the manifest holds the state instead).
SKIPPED_TABLES = frozenset({"django_migrations"})

NOT_AN_ARCHIVE = gettext_noop("This file is not a Linli tenant archive.")
UNSIGNED = gettext_noop(
    "This archive is not signed, so Linli cannot tell whether it was changed; "
    "only archives this platform exported can be restored."
)
SIGNATURE_INVALID = gettext_noop(
    "This archive's signature does not match: it was changed after it was exported, "
    "or it was exported by another platform."
)
FORMAT_UNKNOWN = gettext_noop("This archive's format is not one this version of Linli reads.")
OTHER_VERSION = gettext_noop(
    "This archive was taken at another database version; restore it with the "
    "Linli version that made it, then upgrade."
)
FILE_DAMAGED = gettext_noop("The archive is damaged (file %(file)s).")
SETTING_INVALID = gettext_noop("The archive's setting %(field)s is not valid: %(problem)s")
NOT_TEXT = gettext_noop("it must be text.")
TOO_LONG = gettext_noop("it is longer than %(max)d characters.")
NAME_EMPTY = gettext_noop("a tenant needs a name.")
RATE_LIMIT_INVALID = gettext_noop(
    "a rate limit is a whole number of requests per minute, at least 1."
)
MODULE_UNKNOWN = gettext_noop("unknown module “%(module)s”.")
MODULE_TWICE = gettext_noop("the module “%(module)s” is listed twice.")
NOT_TRUE_OR_FALSE = gettext_noop("it must be true or false.")
ALWAYS_ON_OFF = gettext_noop("the %(module)s module is always on.")
NOT_AN_OBJECT = gettext_noop("it must be an object.")
API_KEY_MODE_UNKNOWN = gettext_noop("API keys are either disabled or re-issued on restore.")
# Stored on each webhook endpoint a restore turned off (like the worker's reasons, in English).
WEBHOOK_RESTORED = (
    "Restored from an archive: its signing secret was replaced; check the URL, "
    "then turn it back on."
)


class ArchiveError(ValidationFailed):
    pass


def _not_an_archive() -> ArchiveError:
    return ArchiveError(_(NOT_AN_ARCHIVE), code="archive_bad", field="archive")


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


# --- Signing --------------------------------------------------------------------


def manifest_signature(manifest: bytes, *, secret: str | None = None) -> bytes:
    """The content of ``manifest.sig`` for these manifest bytes (under SECRET_KEY unless
    another key is given)."""
    mac = salted_hmac(SIGNING_SALT, manifest, secret=secret, algorithm="sha256")
    return f"{SIGNATURE_SCHEME}:{mac.hexdigest()}\n".encode()


def _signature_valid(manifest: bytes, signature: bytes) -> bool:
    """Whether SECRET_KEY, or a key it replaced (SECRET_KEY_FALLBACKS), signed the
    manifest; so a key rotation does not orphan older backups."""
    keys = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    given = signature.strip()
    return any(
        hmac.compare_digest(given, manifest_signature(manifest, secret=key).strip()) for key in keys
    )


# --- Export ---------------------------------------------------------------------


def tenant_export(*, slug: str, out: IO[bytes]) -> dict[str, Any]:
    """Write ``slug``'s signed archive to ``out`` (a binary file); returns the manifest."""
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
        data = json.dumps(manifest, ensure_ascii=False, indent=1).encode()
        archive.writestr(MANIFEST, data)
        archive.writestr(SIGNATURE, manifest_signature(data))
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


def _media_out(archive: zipfile.ZipFile, slug: str) -> list[dict[str, Any]]:
    root = _media_root(slug)
    if not root.is_dir():
        return []
    listed = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        relative = path.relative_to(root).as_posix()
        digest = hashlib.sha256()
        size = 0
        with (
            path.open("rb") as source,
            archive.open(f"media/{relative}", "w", force_zip64=True) as member,
        ):
            while chunk := source.read(CHUNK):
                digest.update(chunk)
                size += len(chunk)
                member.write(chunk)
        listed.append({"path": relative, "bytes": size, "sha256": digest.hexdigest()})
    return listed


# --- Reading an archive ---------------------------------------------------------


def archive_manifest(path: Path) -> dict[str, Any]:
    """Read and check an archive's manifest without loading anything: it must be signed by
    this platform, in this format, at this migration state."""
    try:
        with zipfile.ZipFile(path) as archive:
            data = archive.read(MANIFEST)
            names = set(archive.namelist())
            signature = archive.read(SIGNATURE) if SIGNATURE in names else None
    except (OSError, KeyError, zipfile.BadZipFile) as exc:
        raise _not_an_archive() from exc
    if signature is None:
        raise ArchiveError(_(UNSIGNED), code="archive_unsigned", field="archive")
    if not _signature_valid(data, signature):
        raise ArchiveError(_(SIGNATURE_INVALID), code="archive_signature_invalid", field="archive")
    try:
        manifest = json.loads(data)
    except ValueError as exc:
        raise _not_an_archive() from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ArchiveError(_(FORMAT_UNKNOWN), code="archive_format", field="archive")
    if manifest.get("state_key") != provisioning.migration_state_key():
        raise ArchiveError(_(OTHER_VERSION), code="archive_version_mismatch", field="archive")
    return manifest


def _setting_refused(where: str, problem: str) -> ArchiveError:
    return ArchiveError(
        _(SETTING_INVALID) % {"field": where, "problem": problem},
        code="archive_settings_invalid",
        field=f"archive.{where}",
    )


def _text(info: dict[str, Any], name: str, *, default: str | None = None) -> str:
    value = info.get(name, default)
    if not isinstance(value, str):
        raise _setting_refused(f"tenant.{name}", _(NOT_TEXT))
    limit = Tenant._meta.get_field(name).max_length
    if limit is not None and len(value) > limit:
        raise _setting_refused(f"tenant.{name}", _(TOO_LONG) % {"max": limit})
    return value


def archive_tenant_info(manifest: dict[str, Any]) -> dict[str, Any]:
    """The archive's registry row, checked as the registry checks a new tenant's."""
    info = manifest.get("tenant")
    if not isinstance(info, dict):
        raise _not_an_archive()
    checked: dict[str, Any] = {
        "name": _text(info, "name").strip(),
        "region": _text(info, "region", default=""),
    }
    if not checked["name"]:
        raise _setting_refused("tenant.name", _(NAME_EMPTY))
    for name, validate in [
        ("locale", validate_locale),
        ("time_zone", validate_time_zone),
        ("currency", validate_currency),
    ]:
        value = _text(info, name)
        try:
            checked[name] = validate(value)
        except ValidationFailed as exc:
            raise _setting_refused(f"tenant.{name}", exc.message) from exc
    limit = info.get("api_rate_limit")  # 0 would answer every API call with 429
    if (
        isinstance(limit, bool)
        or not isinstance(limit, int)
        or not 1 <= limit <= API_RATE_LIMIT_MAX
    ):
        raise _setting_refused("tenant.api_rate_limit", _(RATE_LIMIT_INVALID))
    checked["api_rate_limit"] = limit
    return checked


def archive_module_settings(manifest: dict[str, Any]) -> list[tuple[str, bool, dict[str, Any]]]:
    """The archive's modules, on or off, and their settings, each checked by the module's
    own settings model (as ``module_settings_update`` checks them)."""
    import pydantic

    from linli.registry.services import _settings_model

    items = manifest.get("modules")
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise _not_an_archive()
    checked: list[tuple[str, bool, dict[str, Any]]] = []
    for item in items:
        module, enabled, values = item.get("module"), item.get("enabled"), item.get("settings", {})
        if not isinstance(module, str) or module not in Module.values:
            raise _setting_refused("modules", _(MODULE_UNKNOWN) % {"module": module})
        if any(module == seen for seen, _on, _values in checked):
            raise _setting_refused("modules", _(MODULE_TWICE) % {"module": module})
        if not isinstance(enabled, bool):
            raise _setting_refused(f"modules.{module}.enabled", _(NOT_TRUE_OR_FALSE))
        if module in ALWAYS_ON and not enabled:
            raise _setting_refused(
                f"modules.{module}.enabled", _(ALWAYS_ON_OFF) % {"module": module}
            )
        if not isinstance(values, dict):
            raise _setting_refused(f"modules.{module}.settings", _(NOT_AN_OBJECT))
        model = _settings_model(module)
        if model is not None:
            try:
                model.model_validate(values)
            except pydantic.ValidationError as exc:
                first = exc.errors()[0]
                where = ".".join(str(part) for part in first["loc"])
                path = f"modules.{module}.settings" + (f".{where}" if where else "")
                raise _setting_refused(path, first["msg"]) from exc
        # Kept as archived (not re-dumped with today's defaults): the restore is the same tenant.
        checked.append((module, enabled, values))
    return checked


def _media_listed(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    """The archive's files; each a relative path that stays inside the tenant's folder."""
    entries = manifest.get("media")
    if not isinstance(entries, list):
        raise _not_an_archive()
    for entry in entries:
        if not isinstance(entry, dict):
            raise _not_an_archive()
        relative, digest = entry.get("path"), entry.get("sha256")
        if not isinstance(relative, str) or not isinstance(digest, str) or "\x00" in relative:
            raise _not_an_archive()
        parts = PurePosixPath(relative).parts
        if not parts or relative.startswith("/") or "\\" in relative or ".." in parts:
            raise _not_an_archive()
    return entries


def _media_check(archive: zipfile.ZipFile, entries: list[dict[str, Any]]) -> None:
    """Every listed file is in the archive with the bytes the manifest promises."""
    for entry in entries:
        digest = hashlib.sha256()
        try:
            with archive.open(f"media/{entry['path']}") as member:
                while chunk := member.read(CHUNK):
                    digest.update(chunk)
        except KeyError as exc:
            raise _file_damaged(entry["path"]) from exc
        if not hmac.compare_digest(digest.hexdigest(), entry["sha256"]):
            raise _file_damaged(entry["path"])


def _file_damaged(relative: str) -> ArchiveError:
    return ArchiveError(
        _(FILE_DAMAGED) % {"file": relative}, code="archive_damaged", field="archive"
    )


# --- Restore --------------------------------------------------------------------


@dataclass(frozen=True)
class Restored:
    """The new tenant, and the credentials from the archive that no longer work in it."""

    tenant: Tenant
    admin_sessions_ended: int = 0
    resident_sessions_ended: int = 0
    sign_in_codes_dropped: int = 0
    household_passes_revoked: int = 0
    invitations_revoked: int = 0
    api_keys_revoked: int = 0
    # In re-issue mode: each active key's successor, with its token (shown once).
    api_keys_reissued: list[IssuedKey] = field(default_factory=list)
    webhooks_reset: int = 0


def tenant_restore(
    *, path: Path, slug: str, name: str | None = None, api_keys: ApiKeyMode = "disable"
) -> Restored:
    """Provision ``slug`` and load the archive at ``path`` into it, all or nothing.

    ``api_keys``: ``"disable"`` revokes every key from the archive; ``"reissue"`` also
    gives each active one a successor with the same name, scopes, expiry and limit.
    """
    from linli.registry.services import tenant_create

    if api_keys not in API_KEY_MODES:
        raise ValidationFailed(
            _(API_KEY_MODE_UNKNOWN), code="api_keys_mode_invalid", field="api_keys"
        )
    manifest = archive_manifest(path)  # signed by this platform, before anything else
    info = archive_tenant_info(manifest)
    modules = archive_module_settings(manifest)
    media = _media_listed(manifest)
    with zipfile.ZipFile(path) as archive:
        _media_check(archive, media)
        with transaction.atomic():
            tenant = tenant_create(
                slug=slug,
                name=name or info["name"],
                region=info["region"],
                locale=info["locale"],
                time_zone=info["time_zone"],
                currency=info["currency"],
                status=Tenant.Status.ACTIVE,
                modules=[module for module, enabled, _values in modules if enabled],
            )
            Tenant.objects.filter(pk=tenant.pk).update(api_rate_limit=info["api_rate_limit"])
            tenant.api_rate_limit = info["api_rate_limit"]
            for module, enabled, values in modules:
                ModuleSetting.objects.update_or_create(
                    tenant=tenant, module=module, defaults={"enabled": enabled, "settings": values}
                )
            _load(archive, slug, manifest)
            with tenant_context(tenant):
                restored = _credentials_end(tenant=tenant, api_keys=api_keys)
    tenant_cache_clear()
    transaction.on_commit(tenant_cache_clear)
    transaction.on_commit(lambda: _media_in(path, slug, media))
    return restored


def _credentials_end(*, tenant: Tenant, api_keys: ApiKeyMode) -> Restored:
    """Make the archive's secrets useless in the new tenant (run in its schema).

    Sessions, sign-in codes, passes and invitations were issued for the original
    tenant; whoever holds one must not be let into this one. Hashes of them stay
    valid here (same SECRET_KEY, same user ids), so they are ended, not re-hashed.
    """
    from django.contrib.sessions.models import Session

    from api.access.models import ApiKey, IdempotencyRecord
    from api.access.services import key_create, key_revoke
    from tenants.audit.services import audit_record
    from tenants.community.models import StaffInvitation
    from tenants.events.models import WebhookEndpoint, webhook_secret
    from tenants.pages.models import HouseholdPass, ResidentSession, SignInCode

    now = timezone.now()
    admin_sessions, _by_model = Session.objects.all().delete()
    resident_sessions, _by_model = ResidentSession.objects.all().delete()
    sign_in_codes, _by_model = SignInCode.objects.all().delete()
    passes = HouseholdPass.objects.filter(revoked_at__isnull=True).update(revoked_at=now)

    pending = list(StaffInvitation.objects.filter(status=StaffInvitation.Status.PENDING))
    for invitation in pending:
        invitation.status, invitation.revoked_at = StaffInvitation.Status.REVOKED, now
        invitation.save(update_fields=["status", "revoked_at", "updated_at"])
        audit_record(
            action="staff.invitation_revoked",
            obj=invitation,
            changes={"status": [StaffInvitation.Status.PENDING, StaffInvitation.Status.REVOKED]},
        )

    reissued: list[IssuedKey] = []
    keys = list(ApiKey.objects.filter(revoked_at__isnull=True).order_by("id"))
    for key in keys:
        was_active = key.is_active
        key_revoke(prefix=key.prefix)
        if api_keys == "reissue" and was_active:
            issued = key_create(
                name=key.name,
                scopes=list(key.scopes),
                expires_at=key.expires_at,
                rate_limit=key.rate_limit,
                created_by_id=key.created_by_id,
            )
            audit_record(
                action="api_key.reissued",
                obj=issued.key,
                changes={"prefix": [key.prefix, issued.key.prefix]},
            )
            reissued.append(issued)
    # Replays of the old keys' responses: no key can reach them any more.
    IdempotencyRecord.objects.all().delete()

    endpoints = list(WebhookEndpoint.objects.order_by("id"))
    for endpoint in endpoints:
        was_active = endpoint.active
        endpoint.secret = webhook_secret()
        endpoint.active = False
        if was_active:
            endpoint.disabled_at, endpoint.disabled_reason = now, WEBHOOK_RESTORED
        endpoint.save(update_fields=["secret", "active", "disabled_at", "disabled_reason"])
        audit_record(
            action="webhook.secret_rolled",
            obj=endpoint,
            changes={"active": [was_active, False]},
        )
    return Restored(
        tenant=tenant,
        admin_sessions_ended=admin_sessions,
        resident_sessions_ended=resident_sessions,
        sign_in_codes_dropped=sign_in_codes,
        household_passes_revoked=passes,
        invitations_revoked=len(pending),
        api_keys_revoked=len(keys),
        api_keys_reissued=reissued,
        webhooks_reset=len(endpoints),
    )


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


def _media_in(path: Path, slug: str, entries: list[dict[str, Any]]) -> None:
    """Copy the files in, each checked again as it is written (the file at ``path`` is read
    a second time, after the commit)."""
    root = _media_root(slug).resolve()
    with zipfile.ZipFile(path) as archive:
        for entry in entries:
            relative = entry["path"]
            target = (root / relative).resolve()
            if not target.is_relative_to(root):  # never outside the tenant's folder
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = target.with_name(target.name + ".partial")
            digest = hashlib.sha256()
            with archive.open(f"media/{relative}") as source, partial.open("wb") as sink:
                while chunk := source.read(CHUNK):
                    digest.update(chunk)
                    sink.write(chunk)
            if not hmac.compare_digest(digest.hexdigest(), entry["sha256"]):
                partial.unlink()
                raise _file_damaged(relative)
            partial.replace(target)
