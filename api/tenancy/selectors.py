"""The tenant's modules as its own API shows them: on or off, current settings (the
module's model fills in its defaults), and the latest recorded change."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from linli.errors import NotFound
from linli.registry.models import ALWAYS_ON, Module, ModuleSetting, ModuleSettingVersion, Tenant
from linli.registry.services import _settings_model


def module_known(module: str) -> str:
    """``module`` if Linli has such a module, else 404 ``module_not_found``."""
    if module not in Module.values:
        raise NotFound(
            _("There is no module “%(module)s”.") % {"module": module}, code="module_not_found"
        )
    return module


def module_settings_current(*, module: str, stored: dict[str, Any] | None) -> dict[str, Any]:
    """The settings in effect: what is stored, with the model's defaults for the rest."""
    model = _settings_model(module)
    if model is None:
        return {}
    return dict(model.model_validate(stored or {}).model_dump(mode="json"))


def tenant_modules(*, tenant: Tenant, only: str | None = None) -> list[dict[str, Any]]:
    """Every module (or ``only`` one), in Linli's order. Two queries whatever the count."""
    settings = ModuleSetting.objects.filter(tenant=tenant)
    versions = (
        ModuleSettingVersion.objects.filter(tenant=tenant)
        .order_by("module", "-id")
        .distinct("module")
    )
    if only is not None:
        settings, versions = settings.filter(module=only), versions.filter(module=only)
    stored = {row.module: row for row in settings}
    latest = {row.module: row for row in versions}
    modules = []
    for module in Module:
        if only is not None and module.value != only:
            continue
        row, version = stored.get(module.value), latest.get(module.value)
        modules.append(
            {
                "module": module.value,
                "label": str(module.label),
                "enabled": module.value in ALWAYS_ON or bool(row and row.enabled),
                "always_on": module.value in ALWAYS_ON,
                "settings": module_settings_current(
                    module=module.value, stored=row.settings if row else None
                ),
                "version": version.pk if version else None,
                "changed_at": version.changed_at if version else None,
                "changed_by": version.changed_by if version else "",
            }
        )
    return modules


def tenant_module(*, tenant: Tenant, module: str) -> dict[str, Any]:
    return tenant_modules(tenant=tenant, only=module_known(module))[0]
