from django.http import HttpRequest
from ninja import Router

from api.tenancy.schemas import TenantOut

router = Router()


@router.get("", response={200: TenantOut}, summary="The tenant this host serves")
def tenant_current(request: HttpRequest) -> TenantOut:
    tenant = request.tenant  # type: ignore[attr-defined]
    return TenantOut(
        slug=tenant.slug,
        name=tenant.name,
        region=tenant.region,
        locale=tenant.locale,
        time_zone=tenant.time_zone,
        currency=tenant.currency,
        status=tenant.status,
    )
