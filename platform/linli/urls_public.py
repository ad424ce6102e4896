"""URLs of the platform host (the base domain itself)."""

from django.urls import path

from api.v1 import platform_urls
from linli.accounts import views as accounts
from linli.admin_sites import platform_site
from linli.billing.webhooks import stripe_webhook
from linli.views import platform_home

urlpatterns = [
    path("", platform_home, name="platform-home"),
    path("admin/", platform_site.urls),
    path("signup", accounts.signup, name="signup"),
    path("signup/verify/<str:token>", accounts.verify, name="signup-verify"),
    path("billing/stripe/webhook", stripe_webhook, name="stripe-webhook"),
    *platform_urls,
]
