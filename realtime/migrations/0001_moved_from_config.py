"""Realtime: the models that were config's, on the tables they had (no data moves).

State only: the tables were created by config's migrations 0001-0004 and keep their names
(Meta.db_table); config/migrations/0005 drops them from config's state. The content types
(and so the admin permissions granted on them) are renamed to this app rather than
created anew.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


MODELS = ['streamsequence', 'eventlog', 'deviceitem']


def content_types_to_realtime(apps, schema_editor):
    content_type = apps.get_model("contenttypes", "ContentType")
    db = schema_editor.connection.alias
    for model in MODELS:
        if not content_type.objects.using(db).filter(app_label="realtime", model=model).exists():
            content_type.objects.using(db).filter(app_label="config", model=model).update(
                app_label="realtime"
            )


def content_types_to_config(apps, schema_editor):
    content_type = apps.get_model("contenttypes", "ContentType")
    db = schema_editor.connection.alias
    content_type.objects.using(db).filter(app_label="realtime", model__in=MODELS).update(
        app_label="config"
    )


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('config', '0004_outbox_tasks'),
        ('contenttypes', '0002_remove_content_type_name'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='StreamSequence',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('stream', models.CharField(max_length=100, unique=True)),
                        ('last_seq', models.PositiveBigIntegerField(default=0)),
                    ],
                    options={
                        'db_table': 'config_streamsequence',
                    },
                ),
                migrations.CreateModel(
                    name='EventLog',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('stream', models.CharField(max_length=100)),
                        ('seq', models.PositiveBigIntegerField()),
                        ('type', models.CharField(max_length=64)),
                        ('v', models.PositiveSmallIntegerField(default=1)),
                        ('data', models.JSONField()),
                        ('ts', models.DateTimeField()),
                    ],
                    options={
                        'db_table': 'config_eventlog',
                        'indexes': [models.Index(fields=['stream', 'seq'], name='eventlog_stream_seq_idx')],
                        'constraints': [models.UniqueConstraint(fields=('stream', 'seq'), name='eventlog_stream_seq_unique')],
                    },
                ),
                migrations.CreateModel(
                    name='DeviceItem',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('device_id', models.CharField(max_length=64)),
                        ('client_id', models.CharField(max_length=64)),
                        ('seq', models.PositiveBigIntegerField(help_text="The device's sequence number for the item")),
                        ('type', models.CharField(max_length=32)),
                        ('accepted', models.BooleanField()),
                        ('outcome', models.JSONField(help_text='The acknowledgement or rejection that was sent')),
                        ('received_at', models.DateTimeField()),
                        ('user', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'db_table': 'config_deviceitem',
                        'indexes': [models.Index(fields=['device_id', 'seq'], name='deviceitem_device_seq_idx')],
                        'constraints': [models.UniqueConstraint(fields=('device_id', 'client_id'), name='deviceitem_device_client_unique')],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(content_types_to_realtime, content_types_to_config),
    ]
