"""Deliveries held while their endpoint is off, and a retry window per delivery.

Pending deliveries keep the window they had (a day from their event). Events recorded
while an endpoint was disabled got no delivery before; those of the last seven days (the
hold window) get one now, held until the endpoint is turned on again. Both in SQL, in
the database, whatever the number of rows.
"""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('events', '0001_initial'),
    ]

    operations = [
        migrations.AddField(
            model_name='delivery',
            name='retry_until',
            field=models.DateTimeField(blank=True, null=True, verbose_name='retried until'),
        ),
        migrations.AddField(
            model_name='webhookendpoint',
            name='failing_since',
            field=models.DateTimeField(blank=True, editable=False, null=True, verbose_name='failing since'),
        ),
        migrations.AlterField(
            model_name='delivery',
            name='status',
            field=models.CharField(choices=[('pending', 'Pending'), ('succeeded', 'Succeeded'), ('failed', 'Failed (gave up)'), ('expired', 'Expired (held while the endpoint was off)')], default='pending', max_length=16, verbose_name='status'),
        ),
        migrations.RunSQL(
            """
            UPDATE events_delivery d SET retry_until = e.occurred_at + interval '24 hours'
            FROM events_event e
            WHERE e.id = d.event_id AND d.status = 'pending' AND d.retry_until IS NULL
            """,
            migrations.RunSQL.noop,
        ),
        migrations.RunSQL(
            """
            INSERT INTO events_delivery
              (endpoint_id, event_id, object_key, status, attempts, next_attempt_at,
               retry_until, last_error, created_at)
            SELECT w.id, e.id, e.object_type || ':' || e.object_id, 'pending', 0, now(),
                   CASE WHEN w.active THEN now() + interval '24 hours' END, '', now()
            FROM events_webhookendpoint w
            JOIN events_event e ON e.occurred_at >= w.disabled_at
            WHERE w.disabled_at IS NOT NULL
              AND e.occurred_at > now() - interval '7 days'
              AND e.module = ANY(w.modules)
              AND (cardinality(w.event_types) = 0 OR e.type = ANY(w.event_types))
              AND NOT EXISTS (
                SELECT 1 FROM events_delivery d WHERE d.endpoint_id = w.id AND d.event_id = e.id)
            """,
            migrations.RunSQL.noop,
        ),
    ]
