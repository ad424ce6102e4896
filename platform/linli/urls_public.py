"""URLs of the platform host (the base domain itself)."""

from django.urls import path

from api.v1 import platform_urls
from linli.admin_sites import platform_site
from linli.views import platform_home

urlpatterns = [
    path("", platform_home, name="platform-home"),
    path("admin/", platform_site.urls),
    *platform_urls,
]
