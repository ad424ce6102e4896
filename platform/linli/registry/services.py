"""Writes to the tenant registry: create (provision), suspend, resume, delete."""

from __future__ import annotations

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
from linli.registry.models import ALWAYS_ON, Domain, Module, ModuleSetting, Tenant
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


@transaction.atomic
def tenant_set_status(*, slug: str, status: str) -> Tenant:
    if status not in Tenant.Status.values:
        raise ValidationFailed(_("Unknown status."), code="status_invalid", field="status")
    tenant = _tenant_for_update(slug)
    if tenant.status != status:
        tenant.status = status
        tenant.status_changed_at = timezone.now()
        tenant.save(update_fields=["status", "status_changed_at", "updated_at"])
    tenant_cache_clear()
    transaction.on_commit(tenant_cache_clear)
    return tenant


def tenant_suspend(*, slug: str) -> Tenant:
    return tenant_set_status(slug=slug, status=Tenant.Status.SUSPENDED)


def tenant_resume(*, slug: str) -> Tenant:
    return tenant_set_status(slug=slug, status=Tenant.Status.ACTIVE)


@transaction.atomic
def tenant_delete(*, slug: str) -> None:
    """Drop the tenant's schema and registry rows together; all or nothing."""
    tenant = _tenant_for_update(slug)
    provisioning.schema_drop(schema=tenant.schema_name)
    Domain.objects.filter(tenant=tenant).delete()
    Tenant.objects.filter(pk=tenant.pk).delete()
    tenant_cache_clear()
    transaction.on_commit(tenant_cache_clear)


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
    return setting
