"""Restoring an archive cannot smuggle anything in: only archives this platform signed
load, their settings pass the registry's own checks, and no credential of the tenant they
were taken from works on the tenant they become.

Each attack exports ``alpha`` (with a signed-in admin, a resident's session, an API key,
a household pass, a sign-in code, a staff invitation and a webhook endpoint), then tries to
restore it as ``gamma``.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.db import connection
from django.test import Client
from django.utils import translation
from django_tenants.utils import tenant_context

from api.access.models import ApiKey
from api.access.services import key_create, key_revoke, key_verify
from linli import cli
from linli.db.access import tenant_db
from linli.errors import Conflict, ValidationFailed
from linli.registry import archive
from linli.registry.models import ModuleSetting, OpsAction, Tenant
from tenants.audit.models import AuditEntry
from tenants.community import staff
from tenants.community.models import StaffInvitation
from tenants.events.models import WebhookEndpoint
from tenants.pages import signin
from tenants.pages.models import HouseholdPass, ResidentSession, SignInCode
from tests.conftest import ADMIN_PASSWORD, host_of, key_client
from tests.factories import HouseholdFactory, ResidentFactory

NEW = "gamma"
PHONE = "+8613812345678"
PHOTO = b"\xff\xd8 lychee"
HOOK_URL = "https://hooks.example.org/linli"


@dataclass(frozen=True)
class Original:
    """alpha's archive and the credentials someone holding alpha's secrets would try."""

    path: Path
    admin_cookie: str
    key_token: str
    revoked_key_token: str
    resident_token: str
    pass_token: str
    sign_in_code: str
    invitation_token: str
    webhook_secret: str


def _schema_exists(slug: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", [slug])
        return cursor.fetchone() is not None


def _nothing_created() -> bool:
    return not Tenant.objects.filter(schema_name=NEW).exists() and not _schema_exists(NEW)


def _back_on_the_platform() -> None:
    """A request leaves its tenant's schema and language active; services run from the
    platform, in English."""
    tenant_db().set_schema_to_public()
    translation.activate("en")


def _admin_signs_in(tenant: Tenant) -> Client:
    client = Client(HTTP_HOST=host_of(tenant))
    response = client.post(
        "/admin/login/",
        {"username": "admin-alpha", "password": ADMIN_PASSWORD},
        REMOTE_ADDR="203.0.113.7",
    )
    _back_on_the_platform()
    assert response.status_code == 302 and response["Location"] == "/admin/"
    return client


def _admin_page_with(tenant: Tenant, cookie: str) -> int:
    client = Client(HTTP_HOST=host_of(tenant))
    client.cookies[django_settings.SESSION_COOKIE_NAME] = cookie
    status = client.get("/admin/").status_code
    _back_on_the_platform()
    return status


@pytest.fixture
def original(tenant: Tenant, settings: Any, tmp_path: Path) -> Original:
    settings.MEDIA_ROOT = tmp_path / "media"
    admin = _admin_signs_in(tenant)
    with tenant_context(tenant):
        key = key_create(name="district portal", scopes=["community:read"], rate_limit=120)
        gone = key_create(name="old portal", scopes=["community:read"])
        key_revoke(prefix=gone.key.prefix)
        household: Any = HouseholdFactory()
        resident: Any = ResidentFactory(household=household, phone=PHONE)
        pass_token = signin.household_pass_issue(household_id=household.pk)
        resident_token = signin.household_pass_use(token=pass_token, resident_id=resident.pk)
        code = signin.code_request(phone=PHONE)
        assert code is not None
        endpoint = WebhookEndpoint.objects.create(url=HOOK_URL, modules=["community"])
        _invitation, invitation_token = staff.invitation_create(
            by=get_user_model().objects.get(username="admin-alpha"),
            email="new.helper@example.org",
            role="volunteer",
            scope="tenant",
            accept_url="https://alpha.example.org/staff/invitation/",
        )
    photo = Path(settings.MEDIA_ROOT) / "alpha" / "products" / "荔枝.jpg"
    photo.parent.mkdir(parents=True)
    photo.write_bytes(PHOTO)
    path = tmp_path / "alpha.zip"
    with path.open("wb") as out:
        archive.tenant_export(slug="alpha", out=out)
    return Original(
        path=path,
        admin_cookie=admin.cookies[django_settings.SESSION_COOKIE_NAME].value,
        key_token=key.token,
        revoked_key_token=gone.token,
        resident_token=resident_token,
        pass_token=pass_token,
        sign_in_code=code,
        invitation_token=invitation_token,
        webhook_secret=endpoint.secret,
    )


def _rewrite(
    path: Path,
    target: Path,
    *,
    manifest: Callable[[dict[str, Any]], None] | None = None,
    members: dict[str, Callable[[bytes], bytes]] | None = None,
    signature: Callable[[bytes], bytes | None] = lambda _data: None,
) -> Path:
    """A copy of the archive with ``members`` and the ``manifest`` edited; ``signature``
    says what ``manifest.sig`` becomes (None: the original signature is kept)."""
    members = members or {}
    with zipfile.ZipFile(path) as source:
        data = source.read("manifest.json")
        if manifest is not None:
            edited = json.loads(data)
            manifest(edited)
            data = json.dumps(edited, ensure_ascii=False, indent=1).encode()
        new_signature = signature(data)
        with zipfile.ZipFile(target, "w") as sink:
            for item in source.infolist():
                content = source.read(item.filename)
                if item.filename == "manifest.json":
                    content = data
                elif item.filename == "manifest.sig" and new_signature is not None:
                    content = new_signature
                elif item.filename in members:
                    content = members[item.filename](content)
                sink.writestr(item, content)
    return target


def _signed_by_platform(data: bytes) -> bytes:
    return archive.manifest_signature(data)


def _refused(path: Path, **options: Any) -> archive.ArchiveError:
    with pytest.raises(archive.ArchiveError) as refused:
        archive.tenant_restore(path=path, slug=NEW, **options)
    return refused.value


# --- Only signed archives ------------------------------------------------------------


def test_an_export_is_signed_with_the_platform_key(original: Original) -> None:
    with zipfile.ZipFile(original.path) as exported:
        manifest = exported.read("manifest.json")
        signature = exported.read("manifest.sig")

    assert signature == archive.manifest_signature(manifest)
    assert signature.startswith(b"hmac-sha256:")
    assert json.loads(manifest)["media"] == [
        {
            "path": "products/荔枝.jpg",
            "bytes": len(PHOTO),
            "sha256": hashlib.sha256(PHOTO).hexdigest(),
        }
    ]


def test_an_unsigned_archive_is_refused_and_nothing_is_created(
    original: Original, tmp_path: Path
) -> None:
    # given the archive without its signature
    unsigned = tmp_path / "unsigned.zip"
    with zipfile.ZipFile(original.path) as source, zipfile.ZipFile(unsigned, "w") as sink:
        for item in source.infolist():
            if item.filename != "manifest.sig":
                sink.writestr(item, source.read(item.filename))

    # when it is restored, then
    refused = _refused(unsigned)
    assert (refused.code, refused.message, refused.field) == (
        "archive_unsigned",
        archive.UNSIGNED,
        "archive",
    )
    assert _nothing_created()


def test_a_superuser_smuggled_into_auth_user_is_refused(original: Original, tmp_path: Path) -> None:
    # given an extra superuser row, its table's checksum and row count recomputed
    with zipfile.ZipFile(original.path) as exported:
        columns = next(
            t["columns"]
            for t in json.loads(exported.read("manifest.json"))["tables"]
            if t["name"] == "auth_user"
        )
        users = exported.read("tables/auth_user.copy")
    row = {
        "id": "9999",
        "password": make_password("intruder-password"),
        "last_login": "\\N",
        "is_superuser": "t",
        "username": "intruder",
        "first_name": "",
        "last_name": "",
        "email": "intruder@example.org",
        "is_staff": "t",
        "is_active": "t",
        "date_joined": "2024-01-01 00:00:00+00",
    }
    smuggled = users + ("\t".join(row[c] for c in columns) + "\n").encode()

    def recount(manifest: dict[str, Any]) -> None:
        entry = next(t for t in manifest["tables"] if t["name"] == "auth_user")
        entry["rows"] += 1
        entry["sha256"] = hashlib.sha256(smuggled).hexdigest()

    tampered = _rewrite(
        original.path,
        tmp_path / "tampered.zip",
        manifest=recount,
        members={"tables/auth_user.copy": lambda _data: smuggled},
    )
    signed_elsewhere = _rewrite(
        original.path,
        tmp_path / "signed-elsewhere.zip",
        manifest=recount,
        members={"tables/auth_user.copy": lambda _data: smuggled},
        signature=lambda data: archive.manifest_signature(data, secret="another platform"),
    )

    # when they are restored, then the signature gives them away
    for path in [tampered, signed_elsewhere]:
        refused = _refused(path)
        assert (refused.code, refused.message) == (
            "archive_signature_invalid",
            archive.SIGNATURE_INVALID,
        )
        assert _nothing_created()

    # ... and it is the signature alone: the same edit signed by the platform would load.
    control = _rewrite(
        original.path,
        tmp_path / "control.zip",
        manifest=recount,
        members={"tables/auth_user.copy": lambda _data: smuggled},
        signature=_signed_by_platform,
    )
    restored = archive.tenant_restore(path=control, slug=NEW)
    with tenant_context(restored.tenant):
        assert get_user_model().objects.filter(username="intruder", is_superuser=True).exists()


def test_a_changed_manifest_is_refused_even_when_only_a_setting_changed(
    original: Original, tmp_path: Path
) -> None:
    def faster(manifest: dict[str, Any]) -> None:
        manifest["tenant"]["api_rate_limit"] = 100_000

    refused = _refused(_rewrite(original.path, tmp_path / "faster.zip", manifest=faster))

    assert refused.code == "archive_signature_invalid"
    assert _nothing_created()


def test_a_changed_or_missing_file_is_refused_before_anything_is_created(
    original: Original, tmp_path: Path, settings: Any
) -> None:
    photo = "media/products/荔枝.jpg"
    swapped = _rewrite(
        original.path, tmp_path / "swapped.zip", members={photo: lambda _data: b"<script>"}
    )
    missing = tmp_path / "missing.zip"
    with zipfile.ZipFile(original.path) as source, zipfile.ZipFile(missing, "w") as sink:
        for item in source.infolist():
            if item.filename != photo:
                sink.writestr(item, source.read(item.filename))

    for path in [swapped, missing]:
        refused = _refused(path)
        assert (refused.code, refused.message) == (
            "archive_damaged",
            archive.FILE_DAMAGED % {"file": "products/荔枝.jpg"},
        )
        assert _nothing_created()
        assert not (Path(settings.MEDIA_ROOT) / NEW).exists()


def test_an_archive_signed_before_a_key_rotation_still_restores(
    tenant: Tenant, settings: Any, tmp_path: Path
) -> None:
    # given an archive signed with the key in use at the time
    settings.SECRET_KEY = "the key of last year, long enough to be a key: 0123456789abcdef"
    path = tmp_path / "last-year.zip"
    with path.open("wb") as out:
        archive.tenant_export(slug="alpha", out=out)

    # when the key was rotated without keeping the old one, then it is refused
    settings.SECRET_KEY = "the key of this year, long enough to be a key: fedcba9876543210"
    settings.SECRET_KEY_FALLBACKS = []
    assert _refused(path).code == "archive_signature_invalid"

    # when the old key is a fallback, then it restores
    settings.SECRET_KEY_FALLBACKS = [
        "the key of last year, long enough to be a key: 0123456789abcdef"
    ]
    restored = archive.tenant_restore(path=path, slug=NEW)
    assert restored.tenant.schema_name == NEW
    assert _schema_exists(NEW)


# --- Settings are checked like any new tenant's -------------------------------------


def _set(*keys: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def edit(manifest: dict[str, Any]) -> None:
        target = manifest
        for key in keys[:-1]:
            target = target[key]
        target[keys[-1]] = value

    return edit


def _module(name: str, **item: Any) -> Callable[[dict[str, Any]], None]:
    def edit(manifest: dict[str, Any]) -> None:
        found = [m for m in manifest["modules"] if m["module"] == name]
        if found:
            found[0].update(item)
        else:
            manifest["modules"].append({"module": name, "enabled": True, "settings": {}, **item})

    return edit


@pytest.mark.parametrize(
    ("edit", "field", "problem"),
    [
        (_set("tenant", "api_rate_limit", value=0), "tenant.api_rate_limit", None),
        (_set("tenant", "api_rate_limit", value=-5), "tenant.api_rate_limit", None),
        (_set("tenant", "api_rate_limit", value="600"), "tenant.api_rate_limit", None),
        (_set("tenant", "api_rate_limit", value=True), "tenant.api_rate_limit", None),
        (_set("tenant", "api_rate_limit", value=2**31), "tenant.api_rate_limit", None),
        (
            _set("tenant", "locale", value="xx"),
            "tenant.locale",
            "Unknown language “xx”; choose one of: zh-hans, zh-hant, en.",
        ),
        (_set("tenant", "time_zone", value="Mars/Olympus_Mons"), "tenant.time_zone", None),
        (_set("tenant", "time_zone", value=["Asia/Shanghai"]), "tenant.time_zone", None),
        (_set("tenant", "currency", value="cny"), "tenant.currency", None),
        (_set("tenant", "name", value="  "), "tenant.name", archive.NAME_EMPTY),
        (_set("tenant", "name", value="名" * 201), "tenant.name", None),
        (_set("tenant", "region", value=None), "tenant.region", archive.NOT_TEXT),
        (_module("casino"), "modules", None),
        (_module("community", enabled=False), "modules.community.enabled", None),
        (_module("points", enabled="yes"), "modules.points.enabled", None),
        (
            _module("points", settings={"expiry_months": 0}),
            "modules.points.settings.expiry_months",
            None,
        ),
        (
            _module("points", settings={"allow_transfers": False, "bonus": 1}),
            "modules.points.settings.bonus",
            None,
        ),
    ],
)
def test_a_signed_archive_with_a_bad_setting_is_refused(
    original: Original, tmp_path: Path, edit: Any, field: str, problem: str | None
) -> None:
    """Signed by the platform itself (as a value stored before a check existed would be):
    the signature passes and the settings' own check refuses."""
    bad = _rewrite(
        original.path, tmp_path / "bad.zip", manifest=edit, signature=_signed_by_platform
    )

    refused = _refused(bad)

    assert (refused.code, refused.field) == ("archive_settings_invalid", f"archive.{field}")
    assert refused.message.startswith(f"The archive's setting {field} is not valid: ")
    if problem is not None:
        assert refused.message == archive.SETTING_INVALID % {"field": field, "problem": problem}
    assert _nothing_created()


def test_a_rate_limit_of_zero_is_refused_with_its_reason(
    original: Original, tmp_path: Path
) -> None:
    stalled = _rewrite(
        original.path,
        tmp_path / "stalled.zip",
        manifest=_set("tenant", "api_rate_limit", value=0),
        signature=_signed_by_platform,
    )

    refused = _refused(stalled)

    assert refused.message == archive.SETTING_INVALID % {
        "field": "tenant.api_rate_limit",
        "problem": archive.RATE_LIMIT_INVALID,
    }
    assert _nothing_created()


def test_valid_settings_from_the_archive_are_kept(original: Original, tmp_path: Path) -> None:
    rules = {
        "earning_rules": [{"category": "default", "per": "hour", "points": 12}],
        "expiry_months": 24,
    }

    def customised(manifest: dict[str, Any]) -> None:
        manifest["tenant"]["api_rate_limit"] = 90
        _module("points", settings=rules)(manifest)

    path = _rewrite(
        original.path, tmp_path / "ok.zip", manifest=customised, signature=_signed_by_platform
    )

    restored = archive.tenant_restore(path=path, slug=NEW).tenant

    assert Tenant.objects.get(pk=restored.pk).api_rate_limit == 90
    setting = ModuleSetting.objects.get(tenant=restored, module="points")
    assert (setting.enabled, setting.settings) == (True, rules)


# --- No credential crosses into the new tenant --------------------------------------


def test_no_credential_of_the_original_works_on_the_restored_tenant(
    original: Original, tenant: Tenant, django_capture_on_commit_callbacks: Any, settings: Any
) -> None:
    # when alpha's archive becomes gamma (API keys disabled, the default)
    with django_capture_on_commit_callbacks(execute=True):
        restored = archive.tenant_restore(path=original.path, slug=NEW)
    gamma = restored.tenant

    # then what was ended is counted exactly
    assert restored == archive.Restored(
        tenant=gamma,
        admin_sessions_ended=1,
        resident_sessions_ended=1,
        sign_in_codes_dropped=1,
        household_passes_revoked=1,
        invitations_revoked=1,
        api_keys_revoked=1,
        api_keys_reissued=[],
        webhooks_reset=1,
    )
    # the admin's session cookie signs nobody in on gamma (it still does on alpha)
    assert _admin_page_with(tenant, original.admin_cookie) == 200
    assert _admin_page_with(gamma, original.admin_cookie) == 302
    # the API key is refused, through key_verify and over HTTP
    with tenant_context(tenant):
        assert key_verify(original.key_token) is not None
    with tenant_context(gamma):
        assert key_verify(original.key_token) is None
        assert key_verify(original.revoked_key_token) is None
        assert ApiKey.objects.count() == 2
        assert not ApiKey.objects.filter(revoked_at__isnull=True).exists()
    assert key_client(gamma, original.key_token).get("/api/v1/tenant").status_code == 401
    # the resident's sign-in cookie, the household pass and the sign-in code do not work
    with tenant_context(tenant):
        assert signin.session_resident(original.resident_token) is not None
        assert signin.household_pass_residents(token=original.pass_token) != []
    with tenant_context(gamma):
        assert signin.session_resident(original.resident_token) is None
        assert signin.household_pass_residents(token=original.pass_token) == []
        with pytest.raises(ValidationFailed) as code_refused:
            signin.code_verify(phone=PHONE, code=original.sign_in_code)
        assert code_refused.value.code == "code_expired"
        assert ResidentSession.objects.count() == 0
        assert SignInCode.objects.count() == 0
        assert HouseholdPass.objects.filter(revoked_at__isnull=True).count() == 0
        from django.contrib.sessions.models import Session

        assert Session.objects.count() == 0
    # the staff invitation link is revoked
    with tenant_context(tenant):
        assert staff.invitation_for_token(token=original.invitation_token).status == "pending"
    with tenant_context(gamma):
        with pytest.raises(Conflict) as invitation_refused:
            staff.invitation_for_token(token=original.invitation_token)
        assert invitation_refused.value.code == "invitation_revoked"
        assert StaffInvitation.objects.get().status == StaffInvitation.Status.REVOKED
    # the webhook endpoint is off, with a signing secret of its own
    with tenant_context(gamma):
        endpoint = WebhookEndpoint.objects.get()
        assert (endpoint.url, endpoint.active, endpoint.disabled_reason) == (
            HOOK_URL,
            False,
            archive.WEBHOOK_RESTORED,
        )
        assert endpoint.secret.startswith("whsec_") and endpoint.secret != original.webhook_secret
    # and each ending is in gamma's audit log, after the entries it brought from alpha
    with tenant_context(tenant):
        before = list(AuditEntry.objects.order_by("id").values_list("action", flat=True))
    with tenant_context(gamma):
        after = list(AuditEntry.objects.order_by("id").values_list("action", flat=True))
    assert after == [
        *before,
        "staff.invitation_revoked",
        "api_key.revoked",
        "webhook.secret_rolled",
    ]
    with tenant_context(tenant):
        assert WebhookEndpoint.objects.get().secret == original.webhook_secret
        assert WebhookEndpoint.objects.get().active
    # passwords stay (the same people): the admin signs in on gamma with their password
    assert _admin_signs_in(gamma).get("/admin/").status_code == 200
    # the files came along, checked
    copy = Path(settings.MEDIA_ROOT) / NEW / "products" / "荔枝.jpg"
    assert copy.read_bytes() == PHOTO


def test_reissued_keys_work_on_the_new_tenant_and_the_old_tokens_do_not(
    original: Original, tenant: Tenant
) -> None:
    restored = archive.tenant_restore(path=original.path, slug=NEW, api_keys="reissue")
    gamma = restored.tenant

    [issued] = restored.api_keys_reissued
    assert (issued.key.name, issued.key.scopes, issued.key.rate_limit) == (
        "district portal",
        ["community:read"],
        120,
    )
    assert issued.token != original.key_token
    with tenant_context(gamma):
        assert key_verify(issued.token) == issued.key
        assert key_verify(original.key_token) is None
        assert key_verify(original.revoked_key_token) is None
        assert ApiKey.objects.count() == 3
        assert list(ApiKey.objects.filter(revoked_at__isnull=True)) == [issued.key]
        [reissue] = AuditEntry.objects.filter(action="api_key.reissued")
        old_prefix = original.key_token.split("_")[1]
        assert reissue.changes == {"prefix": [old_prefix, issued.key.prefix]}
    with tenant_context(tenant):
        assert key_verify(issued.token) is None  # nor the other way round
    assert key_client(gamma, issued.token).get("/api/v1/tenant").status_code == 200
    assert key_client(gamma, original.key_token).get("/api/v1/tenant").status_code == 401


def test_the_api_keys_choice_must_be_one_of_the_two(original: Original) -> None:
    with pytest.raises(ValidationFailed) as refused:
        archive.tenant_restore(path=original.path, slug=NEW, api_keys="keep")  # type: ignore[arg-type]

    assert (refused.value.code, refused.value.message) == (
        "api_keys_mode_invalid",
        archive.API_KEY_MODE_UNKNOWN,
    )
    assert _nothing_created()


def test_cli_restore_disables_keys_by_default_and_prints_reissued_tokens_once(
    original: Original, capsys: Any
) -> None:
    assert cli.main(["tenants", "restore", str(original.path), NEW]) == 0
    out = capsys.readouterr().out
    assert "Revoked the archive's 1 API keys." in out
    assert "1 webhook endpoints are off, with new signing secrets" in out
    assert "lk_" not in out

    assert (
        cli.main(["tenants", "restore", str(original.path), "delta", "--api-keys", "reissue"]) == 0
    )
    out = capsys.readouterr().out
    delta = Tenant.objects.get(schema_name="delta")
    with tenant_context(delta):
        [key] = ApiKey.objects.filter(revoked_at__isnull=True)
    [token] = [line for line in out.splitlines() if line.startswith("lk_")]
    assert f"Re-issued key district portal as {key.prefix}." in out
    with tenant_context(delta):
        assert key_verify(token) == key
    assert list(
        OpsAction.objects.filter(action="restore")
        .order_by("id")
        .values_list("tenant_slug", "detail__api_keys")
    ) == [(NEW, "disable"), ("delta", "reissue")]
