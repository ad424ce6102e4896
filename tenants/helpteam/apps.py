from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class HelpteamConfig(AppConfig):
    name = "tenants.helpteam"
    label = "helpteam"
    verbose_name = _("Help team")
