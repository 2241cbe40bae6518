"""Two more guards (audit.triggers): no INSERT that takes an existing event's place (SQLite's
INSERT OR REPLACE), and a head that only moves forward onto an event that exists."""

from typing import Any

from django.db import migrations

from audit import triggers


def install(apps: Any, schema_editor: Any) -> None:
    triggers.install(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("audit", "0002_append_only_triggers")]

    operations = [migrations.RunPython(install, migrations.RunPython.noop, elidable=False)]
