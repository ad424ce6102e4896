from django.apps import AppConfig


class BenchAppConfig(AppConfig):
    """A tenant app used only by the rollout benchmark: one table, then one added column."""

    name = "tests.perf.benchapp"
    label = "benchapp"
    default_auto_field = "django.db.models.BigAutoField"
