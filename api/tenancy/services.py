"""The tenant configuring itself through its API: module settings and modules on or off.

The registry's services do the work exactly as the admin's module page does (validate,
save, record a version, reprice through billing's hooks); here the API adds its strict
input rule, merges a partial change, and writes the tenant's audit log with the key.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import pydantic
from django.db import transaction
from django.utils.translation import gettext as _
from ninja.errors import ValidationError

from api.access.models import ApiKey
from api.tenancy.selectors import module_known, module_settings_current
from linli.errors import ValidationFailed
from linli.registry import services as registry
from linli.registry.models import ALWAYS_ON, ModuleSetting, Tenant
from linli.registry.services import _settings_model
from tenants.audit.services import audit_record, diff

OBJECT_TYPE = "registry.modulesetting"


def changed_by(key: ApiKey) -> str:
    """How the module history names a change made through the API."""
    return f"API key {key.prefix} ({key.name})"[:150]


def _stored(*, tenant: Tenant, module: str) -> ModuleSetting | None:
    """The module's row, read under the tenant's registry lock (the lock the registry's
    services take), so that two partial changes at once do not lose one another."""
    Tenant.objects.select_for_update().filter(pk=tenant.pk).first()
    return ModuleSetting.objects.filter(tenant=tenant, module=module).first()


def _refused(errors: Sequence[Mapping[str, Any]]) -> ValidationError:
    return ValidationError(
        [
            {
                "loc": ("body", *e["loc"]),
                "msg": e["msg"],
                "type": e.get("type", "value_error"),
                "ctx": e.get("ctx"),
            }
            for e in errors
        ]
    )


def _check_strictly(module: str, settings: dict[str, Any]) -> None:
    """The module's own model in strict mode, as every API body is read: ``"3"``, ``true``
    and ``2.0`` are not whole numbers. Every problem is reported with its field's path."""
    model = _settings_model(module)
    if model is None:
        if settings:
            message = _("The %(module)s module has no settings.") % {"module": module}
            raise _refused([{"loc": (name,), "msg": message} for name in sorted(settings)])
        return
    try:
        model.model_validate_json(json.dumps(settings), strict=True)
    except pydantic.ValidationError as exc:
        raise _refused(exc.errors()) from exc


@transaction.atomic
def module_settings_change(
    *, tenant: Tenant, module: str, changes: dict[str, Any], key: ApiKey
) -> None:
    """Change some of a module's settings (the fields not named keep their values). A
    change that changes nothing records nothing."""
    module_known(module)
    row = _stored(tenant=tenant, module=module)
    before = module_settings_current(module=module, stored=row.settings if row else None)
    after = {**before, **changes}
    _check_strictly(module, after)
    if not changes or after == before:
        return
    try:
        registry.module_settings_update(
            slug=tenant.schema_name, module=module, settings=after, changed_by=changed_by(key)
        )
    except ValidationFailed as exc:  # the API's strict check is stricter: a safety net
        field = (exc.field or "").removeprefix("settings.").replace(".", "/") or None
        raise ValidationFailed(exc.message, code=exc.code, field=field) from exc
    saved = module_settings_current(
        module=module, stored=ModuleSetting.objects.get(tenant=tenant, module=module).settings
    )
    audit_record(
        action="module.settings_changed",
        object_type=OBJECT_TYPE,
        object_id=module,
        changes=diff(before, saved),
    )


@transaction.atomic
def module_enabled_set(*, tenant: Tenant, module: str, enabled: bool, key: ApiKey) -> None:
    """Turn a module on or off (billing reprices through the registry's hooks). Asking for
    the state it is already in changes and records nothing."""
    module_known(module)
    row = _stored(tenant=tenant, module=module)
    was = module in ALWAYS_ON or bool(row and row.enabled)
    if was == enabled:
        return
    try:
        registry.module_set_enabled(
            slug=tenant.schema_name, module=module, enabled=enabled, changed_by=changed_by(key)
        )
    except ValidationFailed as exc:  # "always on" is about the body's ``enabled``
        raise ValidationFailed(exc.message, code=exc.code, field="enabled") from exc
    audit_record(
        action="module.enabled" if enabled else "module.disabled",
        object_type=OBJECT_TYPE,
        object_id=module,
        changes={"enabled": [was, enabled]},
    )
