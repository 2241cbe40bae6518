"""Ops: the models that were config's, on the tables they had (no data moves).

State only: the tables were created by config's migrations 0001-0004 and keep their names
(Meta.db_table); config/migrations/0005 drops them from config's state. The content types
(and so the admin permissions granted on them) are renamed to this app rather than
created anew.
"""

from django.db import migrations, models


MODELS = ['heartbeat']


def content_types_to_ops(apps, schema_editor):
    content_type = apps.get_model("contenttypes", "ContentType")
    db = schema_editor.connection.alias
    for model in MODELS:
        if not content_type.objects.using(db).filter(app_label="ops", model=model).exists():
            content_type.objects.using(db).filter(app_label="config", model=model).update(
                app_label="ops"
            )


def content_types_to_config(apps, schema_editor):
    content_type = apps.get_model("contenttypes", "ContentType")
    db = schema_editor.connection.alias
    content_type.objects.using(db).filter(app_label="ops", model__in=MODELS).update(
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
                    name='Heartbeat',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('name', models.CharField(max_length=64, unique=True)),
                        ('last_run_at', models.DateTimeField()),
                        ('runner', models.CharField(blank=True, max_length=200)),
                        ('runs', models.PositiveBigIntegerField(default=0)),
                    ],
                    options={
                        'db_table': 'config_heartbeat',
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(content_types_to_ops, content_types_to_config),
    ]
