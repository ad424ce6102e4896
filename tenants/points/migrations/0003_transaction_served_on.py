"""An award names the tenant's day of the service it is for: caps count by that day.

Older awards name none and count on the local day they were posted, as before. The
ledger's times are stamped now unless given (state only: the column is unchanged)."""

import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("points", "0002_ledger_rules"),
    ]

    operations = [
        migrations.AddField(
            model_name="transaction",
            name="served_on",
            field=models.DateField(blank=True, editable=False, null=True, verbose_name="served on"),
        ),
        migrations.AlterField(
            model_name="transaction",
            name="created_at",
            field=models.DateTimeField(
                db_index=True,
                default=django.utils.timezone.now,
                editable=False,
                verbose_name="time",
            ),
        ),
        migrations.AlterField(
            model_name="posting",
            name="created_at",
            field=models.DateTimeField(
                default=django.utils.timezone.now, editable=False, verbose_name="time"
            ),
        ),
    ]
