"""The platform's models leave config's state: realtime, outbox and ops now own them.

State only: the tables stay (those apps' 0001 migrations declare the same tables by name).
"""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('config', '0004_outbox_tasks'),
        ('ops', '0001_moved_from_config'),
        ('outbox', '0001_moved_from_config'),
        ('realtime', '0001_moved_from_config'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveField(
                    model_name='deviceitem',
                    name='user',
                ),
                migrations.DeleteModel(
                    name='EventLog',
                ),
                migrations.DeleteModel(
                    name='Heartbeat',
                ),
                migrations.DeleteModel(
                    name='OutboxTask',
                ),
                migrations.DeleteModel(
                    name='StreamSequence',
                ),
                migrations.DeleteModel(
                    name='DeviceItem',
                ),
            ],
            database_operations=[],
        ),
    ]
