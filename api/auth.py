"""Bearer-key authentication, scopes, module gating and acting for a resident.

One ``KeyAuth`` per router: it verifies the key (cheap: one indexed lookup and a
SHA-256), counts the request against the key's rate limit, checks that the
tenant runs the router's module and that the key holds the scope the method
needs, and records who is acting for the audit log.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja.security import HttpBearer

from api.access.models import ApiKey
from api.access.services import key_count_request
from api.middleware import verified_key
from api.scopes import grants
from linli.errors import LinliError, NotFound
from tenants.audit.context import Actor, _current
from tenants.audit.services import audit_record
from tenants.community.actor import actor_for_key

ACTING_HEADER = "Linli-Acting-Resident"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class Forbidden(LinliError):
    code = "forbidden"
    status = 403


class ModuleDisabled(LinliError):
    code = "module_disabled"
    status = 404


class KeyAuth(HttpBearer):
    """``module`` gates the router; ``scope`` overrides the read/write scope it needs."""

    def __init__(self, module: str | None = None, *, scope: str | None = None) -> None:
        super().__init__()
        self.module = module
        self.scope = scope

    def authenticate(self, request: HttpRequest, token: str) -> ApiKey | None:
        tenant = getattr(request, "tenant", None)
        if tenant is None:  # the platform host has no tenant keys
            return None
        key = verified_key(request)
        if key is None:
            return None
        key_count_request(key=key, limit=key.rate_limit or tenant.api_rate_limit)
        if self.module and self.module not in tenant.enabled_modules:
            raise ModuleDisabled(
                _("The %(module)s module is not enabled for this tenant.") % {"module": self.module}
            )
        needed = self.scope or (
            f"{self.module}:{'read' if request.method in SAFE_METHODS else 'write'}"
            if self.module
            else None
        )
        held = frozenset(key.scopes)
        if needed and not grants(held, needed):
            raise Forbidden(
                _("This key lacks the “%(scope)s” scope.") % {"scope": needed}, code="scope_missing"
            )
        request.api_key = key  # type: ignore[attr-defined]
        request.scopes = held  # type: ignore[attr-defined]
        acting = self._acting_resident(request, key, held)
        request.acting_resident = acting  # type: ignore[attr-defined]
        request.actor = actor_for_key(  # type: ignore[attr-defined]
            key_id=key.pk, personal_data=grants(held, "personal_data:read"), acting=acting
        )
        return key

    def _acting_resident(self, request: HttpRequest, key: ApiKey, held: frozenset[str]) -> Any:
        raw = request.headers.get(ACTING_HEADER)
        actor = Actor(key_id=key.pk, request_id=request.headers.get("X-Request-ID", ""))
        if raw is None:
            _current.set(actor)
            return None
        if "residents:act" not in held:
            raise Forbidden(
                _("This key may not act for residents (it lacks “residents:act”)."),
                code="scope_missing",
            )
        from tenants.community.selectors import resident_for_acting

        resident = resident_for_acting(raw)
        if resident is None:
            raise NotFound(
                _("No active resident %(id)s to act for.") % {"id": raw},
                code="acting_resident_not_found",
            )
        _current.set(
            Actor(key_id=key.pk, acting_resident_id=resident.pk, request_id=actor.request_id)
        )
        audit_record(
            action="api.acting_for_resident",
            obj=resident,
            changes={"request": [None, f"{request.method} {request.path}"]},
        )
        return resident
