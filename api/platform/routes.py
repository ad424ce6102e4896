"""The platform's own API, on the platform host (signup and the registry come here)."""

from django.http import HttpRequest
from ninja import Router, Schema

router = Router(tags=["platform"])


class PlatformOut(Schema):
    name: str
    api_version: str


@router.get(
    "", response={200: PlatformOut}, summary="About this platform", operation_id="platform_get"
)
def platform_get(request: HttpRequest) -> PlatformOut:
    return PlatformOut(name="Linli", api_version="1")
