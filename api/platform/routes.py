"""The platform's own API, on the platform host (signup and the registry come here)."""

from typing import Any

from django.http import HttpRequest
from ninja import Field, Router, Schema, Status

from api.errors import Problem
from api.types import In, Text
from linli.http import absolute_url, client_ip

router = Router(tags=["platform"])


class PlatformOut(Schema):
    name: str
    api_version: str


@router.get(
    "", response={200: PlatformOut}, summary="About this platform", operation_id="platform_get"
)
def platform_get(request: HttpRequest) -> PlatformOut:
    return PlatformOut(name="Linli", api_version="1")


class SignupIn(In):
    district_name: Text = Field(min_length=1, max_length=120)
    slug: Text = Field(min_length=2, max_length=40, description="The subdomain, e.g. cenxi.")
    region: Text = Field("", max_length=120)
    locale: str = Field("zh-hans", pattern="^(zh-hans|zh-hant|en)$")
    time_zone: Text = Field("Asia/Shanghai", max_length=64)
    admin_name: Text = Field(min_length=1, max_length=120)
    email: Text = Field(min_length=3, max_length=254)
    password: Text = Field(min_length=1, max_length=128)
    modules: list[str] = Field([], max_length=5)
    website: Text = Field("", max_length=200, description="Leave empty (a trap for robots).")


class SignupOut(Schema):
    id: int
    email: str
    slug: str
    status: str


class AvailabilityOut(Schema):
    slug: str
    available: bool
    code: str | None
    message: str | None


@router.post(
    "/signups",
    response={201: SignupOut, 400: Problem, 409: Problem, 422: Problem, 429: Problem},
    summary="Sign a district up (a verification link is emailed)",
    operation_id="platform_signups_create",
)
def signups_create(request: HttpRequest, body: SignupIn) -> Status[dict[str, Any]]:
    from linli.accounts.services import signup_start

    signup, _token = signup_start(
        district_name=body.district_name,
        slug=body.slug,
        email=body.email,
        password=body.password,
        admin_name=body.admin_name,
        region=body.region,
        locale=body.locale,
        time_zone=body.time_zone,
        modules=body.modules,
        honeypot=body.website,
        ip=client_ip(request),
        verify_url=absolute_url(request, "/signup/verify"),
    )
    return Status(
        201, {"id": signup.pk, "email": signup.email, "slug": signup.slug, "status": signup.status}
    )


@router.get(
    "/signups/availability",
    response={200: AvailabilityOut, 422: Problem},
    summary="Whether a subdomain can be had (checked live as the form is filled)",
    operation_id="platform_signups_availability",
)
def signups_availability(request: HttpRequest, slug: str) -> dict[str, Any]:
    from linli.accounts.services import slug_check
    from linli.errors import LinliError

    try:
        slug_check(slug[:60])
    except LinliError as exc:
        return {"slug": slug[:60], "available": False, "code": exc.code, "message": exc.message}
    return {"slug": slug[:60], "available": True, "code": None, "message": None}
