"""`flush`, able to empty the append-only audit tables as well.

Django's flush (and every transactional test's teardown, which calls it) deletes or
truncates all tables; the audit triggers would refuse that. This drops the triggers for the
flush and puts them back afterwards, whether it succeeded or not.
"""

from __future__ import annotations

from typing import Any

from django.core.management.commands.flush import Command as FlushCommand
from django.db import DEFAULT_DB_ALIAS, connections

from audit import triggers


class Command(FlushCommand):
    def handle(self, **options: Any) -> None:
        connection = connections[options.get("database") or DEFAULT_DB_ALIAS]
        tables = connection.introspection.table_names()
        if "audit_auditevent" not in tables:
            super().handle(**options)
            return
        triggers.remove(connection)
        try:
            super().handle(**options)
        finally:
            triggers.install(connection)
