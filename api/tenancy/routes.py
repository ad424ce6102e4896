from django.http import HttpRequest
from ninja import Router

from api.auth import KeyAuth
from api.errors import READ_ERRORS
from api.tenancy.schemas import TenantOut
from tenants.community.selectors import terminology

router = Router(auth=KeyAuth(), tags=["tenant"])


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
