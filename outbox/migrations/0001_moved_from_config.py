"""Outbox: the models that were config's, on the tables they had (no data moves).

State only: the tables were created by config's migrations 0001-0004 and keep their names
(Meta.db_table); config/migrations/0005 drops them from config's state. The content types
(and so the admin permissions granted on them) are renamed to this app rather than
created anew.
"""

from django.db import migrations, models


MODELS = ['outboxtask']


def content_types_to_outbox(apps, schema_editor):
    content_type = apps.get_model("contenttypes", "ContentType")
    db = schema_editor.connection.alias
    for model in MODELS:
        if not content_type.objects.using(db).filter(app_label="outbox", model=model).exists():
            content_type.objects.using(db).filter(app_label="config", model=model).update(
                app_label="outbox"
            )


def content_types_to_config(apps, schema_editor):
    content_type = apps.get_model("contenttypes", "ContentType")
    db = schema_editor.connection.alias
    content_type.objects.using(db).filter(app_label="outbox", model__in=MODELS).update(
        app_label="config"
    )


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('config', '0004_outbox_tasks'),
        ('contenttypes', '0002_remove_content_type_name'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='OutboxTask',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('kind', models.CharField(max_length=64)),
                        ('key', models.CharField(help_text='The idempotency key', max_length=200, unique=True)),
                        ('payload', models.JSONField(default=dict)),
                        ('status', models.CharField(choices=[('pending', 'Pending'), ('claimed', 'Claimed'), ('done', 'Done'), ('failed', 'Failed')], default='pending', max_length=16)),
                        ('attempts', models.PositiveIntegerField(default=0)),
                        ('max_attempts', models.PositiveIntegerField(default=10)),
                        ('lease_seconds', models.PositiveIntegerField(default=60)),
                        ('next_attempt_at', models.DateTimeField(help_text='Not run before this time (back-off)')),
                        ('resend_after', models.DateTimeField(help_text='A pending row still unclaimed after this was lost on its way; send again')),
                        ('claimed_at', models.DateTimeField(blank=True, null=True)),
                        ('claimed_by', models.CharField(blank=True, max_length=64)),
                        ('lease_expires_at', models.DateTimeField(blank=True, null=True)),
                        ('last_error', models.CharField(blank=True, max_length=200)),
                        ('result', models.JSONField(blank=True, null=True)),
                        ('created_at', models.DateTimeField()),
                        ('done_at', models.DateTimeField(blank=True, null=True)),
                    ],
                    options={
                        'db_table': 'config_outboxtask',
                        'indexes': [models.Index(fields=['status', 'next_attempt_at'], name='outboxtask_due_idx')],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(content_types_to_outbox, content_types_to_config),
    ]
