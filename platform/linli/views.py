from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def platform_home(request: HttpRequest) -> HttpResponse:
    return render(request, "linli/public/home.html", {"base_domain": settings.LINLI_BASE_DOMAIN})
