"""Rate counters are UNLOGGED: no WAL, so counting a request never waits for a disk flush.

A crash empties the table, which only resets the current minute's counts.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("api_access", "0001_initial")]

    operations = [
        migrations.RunSQL(
            "ALTER TABLE api_access_ratecounter SET UNLOGGED",
            "ALTER TABLE api_access_ratecounter SET LOGGED",
        )
    ]
