"""The PostgreSQL grants for the application's own role: every table read and written, but
the audit log only read and appended to.

Migrations run as the tables' owner; the servers and workers connect as another role that owns
nothing, so they can neither change nor drop the audit triggers and the log stays append-only
even for a compromised server. Run after every `migrate` (new tables need their grants):

    manage.py audit_grants --role golden_hour_app            # print the SQL
    manage.py audit_grants --role golden_hour_app --execute  # run it as the owner
"""

from __future__ import annotations

import re
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, transaction

_ROLE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def grant_statements(role: str, database: str) -> list[str]:
    """SQL that gives `role` what the application needs, and the audit log INSERT only."""
    if not _ROLE.match(role):
        raise ValueError(f"role {role!r} must be 1-63 of a-z, 0-9 and _")
    quoted_db = '"' + database.replace('"', '""') + '"'
    return [
        f"GRANT CONNECT ON DATABASE {quoted_db} TO {role}",
        f"GRANT USAGE ON SCHEMA public TO {role}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}",
        f"GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO {role}",
        # The log: read and append; the head: read, create and move (the triggers check how).
        f"REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON audit_auditevent FROM {role}",
        f"REVOKE DELETE, TRUNCATE, REFERENCES, TRIGGER ON audit_audithead FROM {role}",
    ]


class Command(BaseCommand):
    help = "Print (or run) the PostgreSQL grants of the application role: audit log INSERT only."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--role", required=True, help="the role the servers connect as")
        parser.add_argument("--execute", action="store_true", help="run the SQL (as the owner)")

    def handle(self, *args: Any, **options: Any) -> None:
        if connection.vendor != "postgresql":
            raise CommandError("audit_grants is for PostgreSQL; SQLite has no roles.")
        try:
            statements = grant_statements(options["role"], connection.settings_dict["NAME"])
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        if options["execute"]:
            with transaction.atomic(), connection.cursor() as cursor:
                for statement in statements:
                    cursor.execute(statement)
        for statement in statements:
            self.stdout.write(statement + ";")
