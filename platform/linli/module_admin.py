"""The district admin's module page in the tenant admin: turn modules on and off, edit
their settings (validated by each module's own model, errors shown per field), read the
history of changes and roll one back."""

from __future__ import annotations

import json
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils.translation import gettext as _

from linli.errors import LinliError
from linli.registry import services
from linli.registry.models import ALWAYS_ON, Module, ModuleSetting, ModuleSettingVersion


def _shown(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _parsed(raw: str) -> Any:
    raw = raw.strip()
    if raw == "":
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def modules_view(site: Any, request: HttpRequest) -> HttpResponse:
    if not request.user.is_superuser:
        raise PermissionDenied
    tenant = request.tenant  # type: ignore[attr-defined]
    who = request.user.get_username()
    errors: dict[str, dict[str, str]] = {}
    posted: dict[str, dict[str, str]] = {}
    if request.method == "POST":
        action, module = request.POST.get("action"), request.POST.get("module", "")
        try:
            if action == "toggle":
                services.module_set_enabled(
                    slug=tenant.schema_name,
                    module=module,
                    enabled=request.POST.get("enabled") == "1",
                    changed_by=who,
                )
                return HttpResponseRedirect(request.path)
            if action == "rollback":
                raw = request.POST.get("version", "")
                services.module_settings_rollback(
                    slug=tenant.schema_name,
                    version_id=int(raw) if raw.isdigit() else 0,
                    changed_by=who,
                )
                return HttpResponseRedirect(request.path)
            if action == "settings":
                values = {
                    key[len("field__") :]: request.POST[key]
                    for key in request.POST
                    if key.startswith("field__")
                }
                posted[module] = values
                services.module_settings_update(
                    slug=tenant.schema_name,
                    module=module,
                    settings={k: _parsed(v) for k, v in values.items()},
                    changed_by=who,
                )
                return HttpResponseRedirect(request.path)
        except LinliError as exc:
            field = (exc.field or "").removeprefix("settings.").split(".")[0] or "__all__"
            errors.setdefault(module, {})[field] = exc.message
    stored = {s.module: s for s in ModuleSetting.objects.filter(tenant=tenant)}
    modules = []
    for module in Module:
        setting = stored.get(module.value)
        model = services._settings_model(module.value)
        fields = []
        if model is not None:
            current = model.model_validate(setting.settings if setting else {}).model_dump(
                mode="json"
            )
            for name, info in model.model_fields.items():
                fields.append(
                    {
                        "name": name,
                        "value": posted.get(module.value, {}).get(name, _shown(current.get(name))),
                        "help": info.description or "",
                        "error": errors.get(module.value, {}).get(name, ""),
                    }
                )
        modules.append(
            {
                "code": module.value,
                "label": module.label,
                "always_on": module.value in ALWAYS_ON,
                "enabled": module.value in ALWAYS_ON or bool(setting and setting.enabled),
                "fields": fields,
                "error": errors.get(module.value, {}).get("__all__", ""),
            }
        )
    history = ModuleSettingVersion.objects.filter(tenant=tenant)[:30]
    context = {
        **site.each_context(request),
        "title": _("Modules and their settings"),
        "modules": modules,
        "history": history,
    }
    return render(request, "admin/linli/modules.html", context)
