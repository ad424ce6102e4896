from django.db import models


class Note(models.Model):
    text = models.CharField(max_length=100)
    extra = models.CharField(max_length=20, blank=True, default="")  # added by migration 0002

    class Meta:
        app_label = "benchapp"

    def __str__(self) -> str:
        return self.text
