"""The tenant itself: what it is, and (for the district's tool, with ``tenant:admin``) its
modules, their settings and its API keys, so a district can configure itself by API alone.

Every change goes through the same services as the tenant admin's pages: a settings change
is validated by the module's own model and kept as a new version; turning a module on or
off reprices billing; keys are issued and revoked as in the admin. A key hands on only
what it holds, and may revoke itself (it is refused from its next request on).
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Query, Router, Status

from api.access.models import ApiKey
from api.access.services import key_create_by_key, key_revoke
from api.acting import actor
from api.auth import KeyAuth
from api.errors import READ_ERRORS, WRITE_ERRORS
from api.middleware import answer_once
from api.pagination import PageParams, page, paginate
from api.scopes import TENANT_ADMIN
from api.tenancy import access, services
from api.tenancy.schemas import (
    ApiKeyCreatedOut,
    ApiKeyIn,
    ApiKeyPage,
    ModuleEnabledIn,
    ModuleOut,
    ModuleSettingsPatch,
    TenantOut,
)
from api.tenancy.selectors import tenant_module, tenant_modules
from tenants.community.selectors import terminology

router = Router(auth=KeyAuth(), tags=["tenant"])
ADMIN = KeyAuth(scope=TENANT_ADMIN)


@router.get(
    "",
    response={200: TenantOut, **READ_ERRORS},
    summary="The tenant this host serves, its modules and its words",
    operation_id="tenant_get",
)
def tenant_get(request: HttpRequest) -> TenantOut:
    tenant = request.tenant  # type: ignore[attr-defined]
    return TenantOut(
        slug=tenant.slug,
        name=tenant.name,
        region=tenant.region,
        locale=tenant.locale,
        time_zone=tenant.time_zone,
        currency=tenant.currency,
        status=tenant.status,
        modules=sorted(tenant.enabled_modules),
        terminology=terminology(),
    )


# --- modules and their settings ------------------------------------------------------------


@router.get(
    "/modules",
    auth=ADMIN,
    response={200: list[ModuleOut], **READ_ERRORS},
    summary="Every module: on or off, its current settings and its latest version",
    operation_id="tenant_modules_list",
)
def tenant_modules_list(request: HttpRequest) -> list[dict[str, Any]]:
    access.may_administer(actor(request))
    return tenant_modules(tenant=request.tenant)  # type: ignore[attr-defined]


@router.get(
    "/modules/{module}/settings",
    auth=ADMIN,
    response={200: ModuleOut, **READ_ERRORS},
    summary="One module's current settings (404 module_not_found for no such module)",
    operation_id="tenant_module_settings_get",
)
def tenant_module_settings_get(request: HttpRequest, module: str) -> dict[str, Any]:
    access.may_administer(actor(request))
    return tenant_module(tenant=request.tenant, module=module)  # type: ignore[attr-defined]


@router.patch(
    "/modules/{module}/settings",
    auth=ADMIN,
    response={200: ModuleOut, **WRITE_ERRORS},
    summary="Change some of a module's settings (validated by the module; kept as a version)",
    operation_id="tenant_module_settings_update",
)
def tenant_module_settings_update(
    request: HttpRequest, module: str, body: ModuleSettingsPatch
) -> dict[str, Any]:
    access.may_administer(actor(request))
    tenant = request.tenant  # type: ignore[attr-defined]
    services.module_settings_change(
        tenant=tenant,
        module=module,
        changes=dict(body.model_extra or {}),
        key=request.api_key,  # type: ignore[attr-defined]
    )
    return tenant_module(tenant=tenant, module=module)


@router.put(
    "/modules/{module}",
    auth=ADMIN,
    response={200: ModuleOut, **WRITE_ERRORS},
    summary="Turn a module on or off (billing follows; community is always on)",
    operation_id="tenant_module_set_enabled",
)
def tenant_module_set_enabled(
    request: HttpRequest, module: str, body: ModuleEnabledIn
) -> dict[str, Any]:
    access.may_administer(actor(request))
    tenant = request.tenant  # type: ignore[attr-defined]
    services.module_enabled_set(
        tenant=tenant,
        module=module,
        enabled=body.enabled,
        key=request.api_key,  # type: ignore[attr-defined]
    )
    return tenant_module(tenant=tenant, module=module)


# --- API keys ------------------------------------------------------------------------------


def _key_body(key: ApiKey, **extra: str) -> dict[str, Any]:
    return {
        "prefix": key.prefix,
        "name": key.name,
        "scopes": key.scopes,
        "active": key.is_active,
        "created_at": key.created_at,
        "last_used_at": key.last_used_at,
        "expires_at": key.expires_at,
        "revoked_at": key.revoked_at,
        "rate_limit": key.rate_limit,
        **extra,
    }


@router.get(
    "/keys",
    auth=ADMIN,
    response={200: ApiKeyPage, **READ_ERRORS},
    summary="The tenant's API keys, revoked ones included (never a secret)",
    operation_id="tenant_keys_list",
)
def tenant_keys_list(request: HttpRequest, params: Query[PageParams]) -> dict[str, Any]:
    access.may_administer(actor(request))
    rows, next_cursor = paginate(ApiKey.objects.all(), params)
    return page([_key_body(key) for key in rows], next_cursor)


@router.post(
    "/keys",
    auth=ADMIN,
    response={201: ApiKeyCreatedOut, **WRITE_ERRORS},
    summary="Issue an API key with scopes the calling key holds (the answer shows it once)",
    operation_id="tenant_keys_create",
)
def tenant_keys_create(request: HttpRequest, body: ApiKeyIn) -> Status[dict[str, Any]]:
    access.may_administer(actor(request))
    caller: ApiKey = request.api_key  # type: ignore[attr-defined]
    issued = key_create_by_key(
        creator=caller,
        default_rate_limit=request.tenant.api_rate_limit,  # type: ignore[attr-defined]
        name=body.name,
        scopes=list(body.scopes),
        expires_at=body.expires_at,
        rate_limit=body.rate_limit,
    )
    answer_once(
        request,
        code="key_already_issued",
        detail=_(
            "This request issued its key already, and a key's secret is shown only once. "
            "If it was lost, revoke key %(prefix)s and issue another."
        )
        % {"prefix": issued.key.prefix},
    )
    return Status(201, _key_body(issued.key, token=issued.token))


@router.delete(
    "/keys/{prefix}",
    auth=ADMIN,
    response={204: None, **WRITE_ERRORS},
    summary="Revoke an API key by its prefix (a key may revoke itself)",
    operation_id="tenant_keys_revoke",
)
def tenant_keys_revoke(request: HttpRequest, prefix: str) -> Status[None]:
    access.may_administer(actor(request))
    key_revoke(prefix=prefix)
    return Status(204, None)
