"""Writes to the tenant registry: create (provision), suspend, resume, close, purge, delete."""

from __future__ import annotations

import shutil
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.db import DatabaseError, IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_tenants.utils import tenant_context

from linli.db.access import tenant_db
from linli.errors import Conflict, NotFound, ValidationFailed
from linli.registry import provisioning
from linli.registry.models import ALWAYS_ON, Domain, Module, ModuleSetting, OpsAction, Tenant
from linli.registry.selectors import tenant_cache_clear
from linli.registry.validators import (
    slug_to_host_label,
    validate_currency,
    validate_locale,
    validate_slug,
    validate_time_zone,
)


def slug_taken_message(slug: str) -> str:
    return _("The slug “%(slug)s” is already taken.") % {"slug": slug}


def tenant_create(
    *,
    slug: str,
    name: str,
    region: str = "",
    locale: str = "zh-hans",
    time_zone: str = "Asia/Shanghai",
    currency: str = "CNY",
    status: str = Tenant.Status.TRIAL,
    admin_username: str | None = None,
    admin_email: str = "",
    admin_password_hash: str | None = None,
    modules: tuple[str, ...] | list[str] = (),
) -> Tenant:
    """Provision a tenant: registry row, primary domain, schema and first admin, atomically.

    ``admin_password_hash`` is an already hashed password (signup hashes it when
    the form arrives), so provisioning never spends time on a slow hash. With no
    hash the admin gets an unusable password and must set one through a reset.
    """
    validate_slug(slug)
    validate_locale(locale)
    validate_time_zone(time_zone)
    validate_currency(currency)
    name = (name or "").strip()
    if not name:
        raise ValidationFailed(_("A tenant needs a name."), code="name_required", field="name")
    if status not in Tenant.Status.values:
        raise ValidationFailed(_("Unknown status."), code="status_invalid", field="status")
    unknown = sorted(set(modules) - set(Module.values))
    if unknown:
        raise ValidationFailed(
            _("Unknown module “%(module)s”.") % {"module": unknown[0]},
            code="module_invalid",
            field="modules",
        )
    if tenant_db().schema_name != settings.PUBLIC_SCHEMA_NAME:
        raise ValidationFailed(_("Tenants are created from the platform, not from a tenant."))

    blueprint = provisioning.blueprint_current()
    try:
        with transaction.atomic():
            if Tenant.objects.filter(schema_name=slug).exists():
                raise Conflict(slug_taken_message(slug), code="slug_taken", field="slug")
            tenant = Tenant(
                schema_name=slug,
                name=name,
                region=region,
                locale=locale,
                time_zone=time_zone,
                currency=currency,
                status=status,
            )
            tenant.save()
            Domain.objects.create(
                domain=f"{slug_to_host_label(slug)}.{settings.LINLI_BASE_DOMAIN}",
                tenant=tenant,
                is_primary=True,
            )
            provisioning.schema_build(schema=slug, blueprint=blueprint)
            ModuleSetting.objects.bulk_create(
                ModuleSetting(tenant=tenant, module=module, enabled=True)
                for module in sorted(set(modules) | ALWAYS_ON)
            )
            from linli.billing import hooks as billing

            billing.tenant_opened(tenant=tenant)  # the trial starts now (billing on only)
            if admin_username:
                with tenant_context(tenant):
                    get_user_model().objects.create(
                        username=admin_username,
                        email=admin_email,
                        password=admin_password_hash or make_password(None),
                        is_staff=True,
                        is_superuser=True,
                    )
    except IntegrityError as exc:
        raise Conflict(slug_taken_message(slug), code="slug_taken", field="slug") from exc
    except DatabaseError as exc:
        if getattr(exc.__cause__, "sqlstate", None) == "42P06":  # duplicate_schema
            raise Conflict(slug_taken_message(slug), code="slug_taken", field="slug") from exc
        raise
    tenant_cache_clear()
    return tenant


def _tenant_for_update(slug: str) -> Tenant:
    tenant = Tenant.objects.select_for_update().filter(schema_name=slug).first()
    if tenant is None:
        raise NotFound(_("No tenant “%(slug)s”.") % {"slug": slug}, code="tenant_not_found")
    return tenant


def ops_record(*, slug: str, action: str, actor: str, **detail: Any) -> None:
    """Audit what platform staff (or the platform itself) did to a tenant."""
    OpsAction.objects.create(tenant_slug=slug, action=action, actor=actor or "", detail=detail)


@transaction.atomic
def tenant_set_status(*, slug: str, status: str, actor: str = "") -> Tenant:
    if status not in Tenant.Status.values:
        raise ValidationFailed(_("Unknown status."), code="status_invalid", field="status")
    tenant = _tenant_for_update(slug)
    if tenant.status != status:
        before = tenant.status
        paused = {Tenant.Status.SUSPENDED, Tenant.Status.CLOSED}
        if status in paused and before not in paused:
            tenant.resumes_as = before  # what a resume goes back to
        elif status not in paused:
            tenant.resumes_as = ""
        tenant.status = status
        tenant.status_changed_at = timezone.now()
        if status != Tenant.Status.CLOSED:
            tenant.purge_after = None
        tenant.save(
            update_fields=["status", "status_changed_at", "purge_after", "resumes_as", "updated_at"]
        )
        ops_record(slug=slug, action="status", actor=actor, before=before, after=status)
    tenant_cache_clear()
    transaction.on_commit(tenant_cache_clear)
    return tenant


def tenant_suspend(*, slug: str, actor: str = "") -> Tenant:
    """API answers 403 ``tenant_suspended``; the admin stays readable but refuses changes."""
    return tenant_set_status(slug=slug, status=Tenant.Status.SUSPENDED, actor=actor)


@transaction.atomic
def tenant_resume(*, slug: str, actor: str = "", trial_days: int | None = None) -> Tenant:
    """Serve again: a suspended tenant, or a closed one whose data is not yet deleted, in
    the status it had before (a trial stays a trial), unless billing says otherwise.

    Billing resumes first (its account is locked before the tenant row): a subscription
    that ended is replaced, billed from now or after a trial of ``trial_days``, and a
    resume that would run the tenant free is refused with the reason.
    """
    from linli.billing import hooks as billing

    tenant = Tenant.objects.filter(schema_name=slug).first()
    if tenant is None:
        raise NotFound(_("No tenant “%(slug)s”.") % {"slug": slug}, code="tenant_not_found")
    status = billing.tenant_resuming(tenant=tenant, trial_days=trial_days)
    # Billing's word first (its subscription says trial, active or past due); else the
    # status the suspension or closure interrupted: a trial resumes as a trial.
    status = status or tenant.resumes_as or Tenant.Status.ACTIVE
    return tenant_set_status(slug=slug, status=status, actor=actor)


@transaction.atomic
def tenant_close(
    *,
    slug: str,
    actor: str = "",
    retention_days: int | None = None,
    billing_cancel: str = "period_end",
) -> Tenant:
    """Stop serving and schedule the data's deletion after the retention period.

    Until then the tenant can be resumed with everything intact. Its subscription stops
    billing at the end of the period (``billing_cancel="period_end"``) or now (``"now"``).
    """
    from linli.billing import hooks as billing

    days = settings.LINLI_TENANT_RETENTION_DAYS if retention_days is None else retention_days
    if days < 0:
        raise ValidationFailed(
            _("The retention period cannot be negative."), code="retention_invalid"
        )
    tenant_set_status(slug=slug, status=Tenant.Status.CLOSED, actor=actor)
    tenant = _tenant_for_update(slug)
    tenant.purge_after = timezone.now() + timedelta(days=days)
    tenant.save(update_fields=["purge_after", "updated_at"])
    ops_record(slug=slug, action="close", actor=actor, purge_after=tenant.purge_after.isoformat())
    billing.tenant_closed(tenant=tenant, cancel=billing_cancel)
    return tenant


def tenants_purge_due(*, now: datetime | None = None) -> list[str]:
    """Delete every closed tenant whose retention period has passed; returns their slugs.

    Each tenant goes in its own transaction, re-checked under a row lock, so a
    tenant resumed a moment ago is never deleted. Whatever of its subscription still runs
    is cancelled; its billing record is kept.
    """
    from linli.billing import hooks as billing

    now = now or timezone.now()
    due = list(
        Tenant.objects.filter(status=Tenant.Status.CLOSED, purge_after__lte=now)
        .order_by("purge_after")
        .values_list("schema_name", flat=True)
    )
    purged = []
    for slug in due:
        with transaction.atomic():
            tenant = Tenant.objects.select_for_update().filter(schema_name=slug).first()
            if tenant is None or tenant.status != Tenant.Status.CLOSED:
                continue
            if tenant.purge_after is None or tenant.purge_after > now:
                continue
            billing.tenant_deleting(tenant=tenant)
            _delete(tenant)
            ops_record(slug=slug, action="purge", actor="retention")
        media_drop(slug)
        purged.append(slug)
    return purged


def media_drop(slug: str) -> None:
    """Remove the tenant's uploaded files (``MEDIA_ROOT/<schema>/``)."""
    folder = Path(settings.MEDIA_ROOT) / slug
    if folder.is_dir():
        shutil.rmtree(folder)


def _delete(tenant: Tenant) -> None:
    provisioning.schema_drop(schema=tenant.schema_name)
    Domain.objects.filter(tenant=tenant).delete()
    Tenant.objects.filter(pk=tenant.pk).delete()
    tenant_cache_clear()
    transaction.on_commit(tenant_cache_clear)


@transaction.atomic
def tenant_delete(*, slug: str) -> None:
    """Drop the tenant's schema and registry rows together; all or nothing. Its
    subscription is cancelled now; its billing record is kept."""
    from linli.billing import hooks as billing

    tenant = _tenant_for_update(slug)
    billing.tenant_deleting(tenant=tenant)
    _delete(tenant)
    transaction.on_commit(lambda: media_drop(slug))


@transaction.atomic
def _version(setting: ModuleSetting, *, changed_by: str, note: str = "") -> None:
    from linli.registry.models import ModuleSettingVersion

    ModuleSettingVersion.objects.create(
        tenant_id=setting.tenant_id,
        module=setting.module,
        enabled=setting.enabled,
        settings=setting.settings,
        changed_by=changed_by[:150],
        note=note[:200],
    )


@transaction.atomic
def module_set_enabled(
    *, slug: str, module: str, enabled: bool, changed_by: str = ""
) -> ModuleSetting:
    """Turn a module on or off for a tenant; its API answers accordingly at once."""
    if module not in Module.values:
        raise ValidationFailed(
            _("Unknown module “%(module)s”.") % {"module": module},
            code="module_invalid",
            field="module",
        )
    if module in ALWAYS_ON and not enabled:
        raise ValidationFailed(
            _("The %(module)s module is always on.") % {"module": module},
            code="module_always_on",
            field="module",
        )
    tenant = _tenant_for_update(slug)
    setting, _created = ModuleSetting.objects.update_or_create(
        tenant=tenant, module=module, defaults={"enabled": enabled}
    )
    _version(setting, changed_by=changed_by, note="enabled" if enabled else "disabled")
    tenant_cache_clear()
    transaction.on_commit(tenant_cache_clear)
    from linli.billing import hooks as billing

    billing.modules_changed(tenant=tenant)  # the subscription follows (billing on only)
    return setting


def _settings_model(module: str) -> Any:
    """The pydantic model a module declares for its settings (None if it has none yet)."""
    from importlib import import_module

    try:
        settings_module = import_module(f"tenants.{module}.settings")
    except ModuleNotFoundError:
        return None
    return getattr(settings_module, f"{module.capitalize()}Settings", None)


@transaction.atomic
def module_settings_update(
    *, slug: str, module: str, settings: dict[str, Any], changed_by: str = "", note: str = ""
) -> ModuleSetting:
    """Replace a module's settings after validating them with the module's own model.

    Every problem is reported with the path of the field it concerns.
    """
    import pydantic

    if module not in Module.values:
        raise ValidationFailed(
            _("Unknown module “%(module)s”.") % {"module": module},
            code="module_invalid",
            field="module",
        )
    model = _settings_model(module)
    if model is not None:
        try:
            settings = model.model_validate(settings).model_dump(mode="json")
        except pydantic.ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first["loc"]) or "settings"
            raise ValidationFailed(
                _("Invalid setting %(field)s: %(problem)s")
                % {"field": where, "problem": first["msg"]},
                code="settings_invalid",
                field=f"settings.{where}",
            ) from exc
    tenant = _tenant_for_update(slug)
    setting, _created = ModuleSetting.objects.update_or_create(
        tenant=tenant, module=module, defaults={"settings": settings}
    )
    _version(setting, changed_by=changed_by, note=note or "settings")
    tenant_cache_clear()
    transaction.on_commit(tenant_cache_clear)
    return setting


@transaction.atomic
def module_settings_rollback(*, slug: str, version_id: int, changed_by: str = "") -> ModuleSetting:
    """Apply an earlier version of a module's state again (recorded as a new version)."""
    from linli.registry.models import ModuleSettingVersion

    tenant = _tenant_for_update(slug)
    version = ModuleSettingVersion.objects.filter(pk=version_id, tenant=tenant).first()
    if version is None:
        raise NotFound(_("No version %(id)s.") % {"id": version_id}, code="version_not_found")
    setting, _created = ModuleSetting.objects.update_or_create(
        tenant=tenant,
        module=version.module,
        defaults={"enabled": version.enabled, "settings": version.settings},
    )
    _version(setting, changed_by=changed_by, note=f"rolled back to {version.pk}")
    tenant_cache_clear()
    transaction.on_commit(tenant_cache_clear)
    from linli.billing import hooks as billing

    billing.modules_changed(tenant=tenant)  # the version may turn the module on or off
    return setting
