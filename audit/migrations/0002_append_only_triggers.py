"""The triggers that refuse UPDATE and DELETE of audit events (audit.triggers), on SQLite
and PostgreSQL alike."""

from typing import Any

from django.db import migrations

from audit import triggers


def install(apps: Any, schema_editor: Any) -> None:
    triggers.install(schema_editor.connection)


def remove(apps: Any, schema_editor: Any) -> None:
    triggers.remove(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]

    operations = [migrations.RunPython(install, remove, elidable=False)]
