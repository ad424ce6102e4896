"""The district admin's module page in the tenant admin: turn modules on and off, edit
their settings (validated by each module's own model, errors shown per field), read the
history of changes and roll one back."""

from __future__ import annotations

import json
from typing import Any

import pydantic
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils.translation import gettext as _

from linli.admin_settings import (
    NUMBERS,
    PERCENT,
    RULE_CONFIRMERS,
    RULE_FIELDS,
    RULE_PER,
    RULES,
    STOPS,
    YUAN,
    field_spec,
    problem_message,
    rule_categories,
    rules_posted,
    rules_rows,
    shown_value,
    stored_value,
)
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


class _AskFirst(Exception):
    """Show the page again (a confirmation to give, or problems to fix) without saving."""


def _entered(module: str, name: str, raw: str, unit: str) -> Any:
    spec = field_spec(module, name)
    as_shown = unit != "field" or (spec.kind == NUMBERS and not raw.strip().startswith("["))
    value = stored_value(spec, raw) if as_shown else raw
    return _parsed(value) if isinstance(value, str) else value


def _kind(spec: Any, value: Any) -> str:
    if spec.kind:
        return str(spec.kind)
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (list, dict)):
        return "json"
    return "text"


def modules_view(site: Any, request: HttpRequest) -> HttpResponse:
    if not request.user.is_superuser:
        raise PermissionDenied
    tenant = request.tenant  # type: ignore[attr-defined]
    who = request.user.get_username()
    errors: dict[str, dict[str, str]] = {}
    confirming = ""
    posted: dict[str, dict[str, str]] = {}
    posted_rules: dict[str, list[dict[str, Any]]] = {}
    if request.method == "POST":
        action, module = request.POST.get("action"), request.POST.get("module", "")
        try:
            if action == "toggle":
                turning_off = request.POST.get("enabled") != "1"
                if turning_off and request.POST.get("confirmed") != "1":
                    confirming = module  # ask first, saying what stops
                    raise _AskFirst
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
                # ``field__<name>`` as stored; ``percent__<name>``, ``yuan__<name>`` in the
                # unit the form shows.
                values, settings = {}, {}
                for key in request.POST:
                    prefix, _sep, name = key.partition("__")
                    if prefix in ("field", PERCENT, YUAN) and name:
                        values[name] = request.POST[key]
                        settings[name] = _entered(module, name, values[name], prefix)
                rules = rules_posted(request.POST)
                if rules is not None:
                    settings["earning_rules"] = posted_rules[module] = rules
                posted[module] = values
                model = services._settings_model(module)
                if model is not None:
                    try:
                        model.model_validate(settings)
                    except pydantic.ValidationError as exc:
                        for problem in exc.errors():
                            name, message = problem_message(module, dict(problem))
                            errors.setdefault(module, {}).setdefault(name, message)
                        raise _AskFirst from exc
                services.module_settings_update(
                    slug=tenant.schema_name,
                    module=module,
                    settings=settings,
                    changed_by=who,
                )
                messages.success(request, _("Settings saved."))
                return HttpResponseRedirect(request.path)
        except _AskFirst:
            pass
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
            for name in model.model_fields:
                spec = field_spec(module.value, name)
                value = shown_value(spec, current.get(name))
                fields.append(
                    {
                        "name": name,
                        "label": spec.label,
                        "unit": spec.unit,
                        "choices": spec.choices,
                        "kind": _kind(spec, value),
                        "value": posted.get(module.value, {}).get(name, _shown(value)),
                        "help": spec.help,
                        "error": errors.get(module.value, {}).get(name, ""),
                    }
                )
                if spec.kind == RULES:
                    entered = posted_rules.get(module.value, current.get(name) or [])
                    fields[-1] |= {
                        "rows": rules_rows(entered),
                        "categories": rule_categories([r.get("category") for r in entered]),
                        "columns": RULE_FIELDS,
                        "per_choices": RULE_PER,
                        "confirmer_choices": RULE_CONFIRMERS,
                    }
        modules.append(
            {
                "code": module.value,
                "label": module.label,
                "always_on": module.value in ALWAYS_ON,
                "enabled": module.value in ALWAYS_ON or bool(setting and setting.enabled),
                "fields": fields,
                "error": errors.get(module.value, {}).get("__all__", ""),
                "confirming": confirming == module.value,
                "stops": STOPS.get(module.value, ""),
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
