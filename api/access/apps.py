from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccessConfig(AppConfig):
    name = "api.access"
    label = "api_access"
    verbose_name = _("API access")
