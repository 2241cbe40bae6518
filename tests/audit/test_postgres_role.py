"""On PostgreSQL the application's role may only read and append to the audit log: connected
as that role, UPDATE, DELETE, TRUNCATE and dropping a trigger are refused, appends work."""

from __future__ import annotations

import secrets

import psycopg
import pytest
from django.core.management import CommandError, call_command
from django.db import connection

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def app_role(chain):
    if connection.vendor != "postgresql":
        pytest.skip("roles are PostgreSQL's")
    role = f"gh_app_{secrets.token_hex(4)}"
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE ROLE {role} LOGIN")
    call_command("audit_grants", "--role", role, "--execute", verbosity=0)
    conf = connection.settings_dict
    try:
        with psycopg.connect(
            host=conf["HOST"] or "127.0.0.1",
            port=conf["PORT"] or 5432,
            dbname=conf["NAME"],
            user=role,
            autocommit=True,
        ) as conn:
            yield conn
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP OWNED BY {role}")
            cursor.execute(f"DROP ROLE {role}")


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_auditevent SET action = 'read'",
        "DELETE FROM audit_auditevent",
        "TRUNCATE audit_auditevent",
        "DELETE FROM audit_audithead",
        "DROP TRIGGER audit_auditevent_append_only ON audit_auditevent",
        "ALTER TABLE audit_auditevent DISABLE TRIGGER ALL",
    ],
)
def test_the_application_role_cannot_change_the_audit_log(app_role, statement):
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        app_role.execute(statement)


def test_the_application_role_reads_and_appends(app_role, chain):
    [(count,)] = app_role.execute("SELECT count(*) FROM audit_auditevent").fetchall()
    assert count == 5
    # Other tables are the application's to write.
    app_role.execute("UPDATE accounts_user SET last_login = now() WHERE false")
    row = app_role.execute(
        "INSERT INTO audit_auditevent (seq, at, actor_username, role, action, object_type, "
        "object_id, client_address, request_id, channel, detail, prev_hash, hash) VALUES "
        "(6, now(), '', '', 'read', 'encounter', '1', '', '', 'system', '{}', %s, %s) "
        "RETURNING seq",
        (chain[-1].hash, "a" * 64),
    ).fetchone()
    assert row == (6,)


def test_grants_are_refused_on_sqlite_and_for_a_bad_role_name():
    if connection.vendor == "postgresql":
        with pytest.raises(CommandError, match="must be 1-63"):
            call_command("audit_grants", "--role", "Robert'); DROP TABLE x;--")
    else:
        with pytest.raises(CommandError, match="for PostgreSQL"):
            call_command("audit_grants", "--role", "golden_hour_app")
