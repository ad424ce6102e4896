from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def platform_home(request: HttpRequest) -> HttpResponse:
    return render(request, "linli/public/home.html", {"base_domain": settings.LINLI_BASE_DOMAIN})


RETRY_AFTER_SECONDS = 5


def unavailable(request: HttpRequest) -> HttpResponse:
    """What a request answers while the database is out of reach: a problem document on
    the API, a plain "try again shortly" page elsewhere; 503 with ``Retry-After`` both.
    Built without the database (no session, no user, no tenant settings)."""
    from django.template.loader import render_to_string
    from django.utils import translation

    if request.path_info.startswith("/api/"):
        from api.errors import database_unavailable_problem

        response: HttpResponse = database_unavailable_problem()
    else:
        language = getattr(request, "LANGUAGE_CODE", "") or translation.get_language_from_request(
            request
        )
        with translation.override(language):
            page = render_to_string("linli/errors/unavailable.html")
        response = HttpResponse(page, status=503, content_type="text/html; charset=utf-8")
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    return response
