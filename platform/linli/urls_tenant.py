"""URLs of a tenant's host: its admin, the resident pages and the API."""

from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from api.v1 import tenant_urls
from linli import media, staff_admin
from linli.accounts.views import welcome as signup_welcome

urlpatterns = [
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
    # staff: forgotten passwords (tenant-bound links) and invitations; before the admin's
    # own URLs, and under the names its login page looks for
    path(
        "admin/password_reset/",
        staff_admin.StaffPasswordResetView.as_view(),
        name="admin_password_reset",
    ),
    path(
        "admin/password_reset/done/",
        staff_admin.StaffPasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "reset/<uidb64>/<token>/",
        staff_admin.StaffPasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "reset/done/",
        staff_admin.StaffPasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    path(
        "staff/invitation/<str:token>",
        staff_admin.invitation_accept_view,
        name="staff-invitation",
    ),
    path("admin/", admin.site.urls),
    path("r/", include("tenants.pages.urls")),
    path("signup/welcome/<str:token>", signup_welcome, name="signup-welcome"),
    # the tenant's uploaded photos (MEDIA_URL), on its own host only
    path("media/<path:path>", media.media_file, name="media-file"),
    *tenant_urls,
]
