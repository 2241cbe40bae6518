"""The database triggers that make the audit log append-only, for SQLite and PostgreSQL.

They refuse UPDATE and DELETE (and on PostgreSQL TRUNCATE) of audit events, an INSERT that
would take the place of an existing event (SQLite's `INSERT OR REPLACE` deletes the old row
without firing its DELETE trigger), DELETE of the chain head and any UPDATE of the head that
does not move it forward onto an event that exists, whatever the caller: the ORM, raw SQL or
a database shell. Only someone who
may run DDL can get past them, by dropping a trigger first, which is why audit_verify does
not trust the database and checks the hash chain instead.
"""

from __future__ import annotations

from typing import Any

MESSAGE = "audit log is append-only"

_SQLITE_INSTALL = [
    f"""CREATE TRIGGER IF NOT EXISTS audit_auditevent_no_update
        BEFORE UPDATE ON audit_auditevent
        BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END;""",
    f"""CREATE TRIGGER IF NOT EXISTS audit_auditevent_no_delete
        BEFORE DELETE ON audit_auditevent
        BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END;""",
    f"""CREATE TRIGGER IF NOT EXISTS audit_audithead_no_delete
        BEFORE DELETE ON audit_audithead
        BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END;""",
    # BEFORE INSERT runs before the conflict resolution of INSERT OR REPLACE.
    f"""CREATE TRIGGER IF NOT EXISTS audit_auditevent_no_replace
        BEFORE INSERT ON audit_auditevent
        WHEN EXISTS (SELECT 1 FROM audit_auditevent
                     WHERE id = NEW.id OR seq = NEW.seq OR hash = NEW.hash)
        BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END;""",  # noqa: S608 - a constant message
    f"""CREATE TRIGGER IF NOT EXISTS audit_audithead_forward_only
        BEFORE UPDATE ON audit_audithead
        WHEN NEW.id != OLD.id OR NEW.last_seq < OLD.last_seq OR NOT EXISTS (
            SELECT 1 FROM audit_auditevent WHERE seq = NEW.last_seq AND hash = NEW.last_hash)
        BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END;""",  # noqa: S608 - a constant message
]
_SQLITE_REMOVE = [
    "DROP TRIGGER IF EXISTS audit_auditevent_no_update;",
    "DROP TRIGGER IF EXISTS audit_auditevent_no_delete;",
    "DROP TRIGGER IF EXISTS audit_audithead_no_delete;",
    "DROP TRIGGER IF EXISTS audit_auditevent_no_replace;",
    "DROP TRIGGER IF EXISTS audit_audithead_forward_only;",
]

# restrict_violation (SQLSTATE 23001) is an integrity error, as SQLite's RAISE(ABORT) is, so
# the application sees django.db.IntegrityError from either database.
_POSTGRES_INSTALL = [
    f"""CREATE OR REPLACE FUNCTION audit_refuse_change() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION '{MESSAGE}: % on % refused', TG_OP, TG_TABLE_NAME
                USING ERRCODE = 'restrict_violation';
        END;
        $$;""",
    """CREATE TRIGGER audit_auditevent_append_only
        BEFORE UPDATE OR DELETE ON audit_auditevent
        FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();""",
    """CREATE TRIGGER audit_auditevent_no_truncate
        BEFORE TRUNCATE ON audit_auditevent
        FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();""",
    """CREATE TRIGGER audit_audithead_no_delete
        BEFORE DELETE ON audit_audithead
        FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();""",
    """CREATE TRIGGER audit_audithead_no_truncate
        BEFORE TRUNCATE ON audit_audithead
        FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();""",
    f"""CREATE OR REPLACE FUNCTION audit_head_forward_only() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            IF NEW.id <> OLD.id OR NEW.last_seq < OLD.last_seq OR NOT EXISTS (
                SELECT 1 FROM audit_auditevent
                WHERE seq = NEW.last_seq AND hash = NEW.last_hash) THEN
                RAISE EXCEPTION '{MESSAGE}: the head only moves forward onto an event'
                    USING ERRCODE = 'restrict_violation';
            END IF;
            RETURN NEW;
        END;
        $$;""",  # noqa: S608 - a constant message
    """CREATE TRIGGER audit_audithead_forward_only
        BEFORE UPDATE ON audit_audithead
        FOR EACH ROW EXECUTE FUNCTION audit_head_forward_only();""",
]
_POSTGRES_REMOVE = [
    "DROP TRIGGER IF EXISTS audit_auditevent_append_only ON audit_auditevent;",
    "DROP TRIGGER IF EXISTS audit_auditevent_no_truncate ON audit_auditevent;",
    "DROP TRIGGER IF EXISTS audit_audithead_no_delete ON audit_audithead;",
    "DROP TRIGGER IF EXISTS audit_audithead_no_truncate ON audit_audithead;",
    "DROP TRIGGER IF EXISTS audit_audithead_forward_only ON audit_audithead;",
]


def _statements(vendor: str, *, install: bool) -> list[str]:
    if vendor == "sqlite":
        return _SQLITE_INSTALL if install else _SQLITE_REMOVE
    if vendor == "postgresql":
        # Dropped first: CREATE OR REPLACE TRIGGER needs PostgreSQL 14.
        return [*_POSTGRES_REMOVE, *_POSTGRES_INSTALL] if install else _POSTGRES_REMOVE
    raise NotImplementedError(f"No append-only triggers for the {vendor} database.")


def install(connection: Any) -> None:
    """Create the append-only triggers (idempotent)."""
    with connection.cursor() as cursor:
        for statement in _statements(connection.vendor, install=True):
            cursor.execute(statement)


def remove(connection: Any) -> None:
    """Drop the triggers: only for `flush`, which empties every table, and for tests."""
    with connection.cursor() as cursor:
        for statement in _statements(connection.vendor, install=False):
            cursor.execute(statement)


def installed(connection: Any) -> bool:
    """True when the triggers guarding audit events exist."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(
                "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' "
                "AND tbl_name = 'audit_auditevent'"
            )
        else:
            cursor.execute(
                "SELECT count(*) FROM pg_trigger WHERE NOT tgisinternal "
                "AND tgrelid = 'audit_auditevent'::regclass"
            )
        (count,) = cursor.fetchone()
    return bool(count)
