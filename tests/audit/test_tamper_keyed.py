"""Attacks on the audit log by someone who can write the database: each is refused by the
database or detected by audit_verify (the keyed chain, and the heads exported outside the
database); none passes as intact."""

from __future__ import annotations

import hashlib
import json

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import IntegrityError, connection, transaction

from audit.chain import CHAINED_FIELDS, canonical_row, row_hash
from audit.models import GENESIS_HASH, AuditEvent, AuditHead
from audit.services import audit_record
from audit.tasks import audit_head_export
from tests.audit.conftest import unguarded

pytestmark = pytest.mark.django_db


def verify(*args: str) -> str:
    with pytest.raises(CommandError) as failure:
        call_command("audit_verify", *args)
    return str(failure.value)


def sql(statement: str, *params: object) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


@pytest.fixture
def exported(chain):
    """The five-event chain with its head exported to AUDIT_HEAD_FILE, as the schedule does."""
    audit_head_export()
    return chain


def _unkeyed(fields: dict) -> str:
    # What an attacker without the key computes: the chain's old, unkeyed SHA-256.
    digest = hashlib.sha256(fields["prev_hash"].encode("ascii"))
    digest.update(canonical_row(fields))
    return digest.hexdigest()


def _rewrite_all(hasher, *, actor_username: str = "nobody") -> None:
    """Rewrite every event (a new username) and recompute the whole chain and the head."""
    rows = list(AuditEvent.objects.order_by("seq").values("id", *CHAINED_FIELDS))
    prev = GENESIS_HASH
    with unguarded():
        for row in rows:
            row.update(actor_username=actor_username, prev_hash=prev)
            prev = hasher(row)
            sql(
                "UPDATE audit_auditevent SET actor_username = %s, prev_hash = %s, hash = %s "
                "WHERE id = %s",
                actor_username,
                row["prev_hash"],
                prev,
                row["id"],
            )
        sql("UPDATE audit_audithead SET last_hash = %s WHERE id = 1", prev)


def test_the_schedule_exports_the_head_outside_the_database(exported, capsys):
    assert settings.CELERY_BEAT_SCHEDULE["audit-head-export"]["task"] == (
        "audit.tasks.audit_head_export"
    )
    [line] = settings.AUDIT_HEAD_FILE.read_text().splitlines()
    assert json.loads(line)["seq"] == 5
    call_command("audit_verify")
    assert "matches 1 exported heads" in capsys.readouterr().out


def test_export_on_demand_and_verify_against_a_named_file(chain, tmp_path, capsys):
    head_file = tmp_path / "anchored.jsonl"
    call_command("audit_head", "--file", str(head_file))
    capsys.readouterr()
    call_command("audit_verify", "--against", str(head_file))
    assert "matches 1 exported heads" in capsys.readouterr().out


def test_the_chain_is_keyed_a_chain_made_with_another_key_does_not_verify(chain, settings):
    settings.AUDIT_CHAIN_KEY = b"x" * 64
    assert "(edited)" in verify()


def test_insert_or_replace_cannot_take_an_events_place(chain):
    if connection.vendor != "sqlite":
        pytest.skip("INSERT OR REPLACE is SQLite's")
    row = AuditEvent.objects.values("id", *CHAINED_FIELDS).get(pk=chain[2].pk)
    row["action"] = "list"
    row["hash"] = row_hash(row)
    columns = ", ".join(row)
    marks = ", ".join(["%s"] * len(row))
    values = [json.dumps(v) if k == "detail" else v for k, v in row.items()]
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        sql(f"INSERT OR REPLACE INTO audit_auditevent ({columns}) VALUES ({marks})", *values)  # noqa: S608
    assert AuditEvent.objects.get(pk=chain[2].pk).action == "update"


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_audithead SET last_seq = 3 WHERE id = 1",
        "UPDATE audit_audithead SET last_hash = 'f' WHERE id = 1",
        "UPDATE audit_audithead SET last_seq = 6, last_hash = 'f' WHERE id = 1",
    ],
    ids=["backwards", "another-hash", "onto-no-event"],
)
def test_the_head_only_moves_forward_onto_an_event(chain, statement):
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        sql(statement)
    assert AuditHead.objects.get(pk=1).last_seq == 5


def test_a_truncated_tail_with_the_head_moved_back_is_caught_by_the_exported_head(exported):
    with unguarded():
        sql("DELETE FROM audit_auditevent WHERE seq > 3")
        sql(
            "UPDATE audit_audithead SET last_seq = 3, last_hash = %s WHERE id = 1",
            exported[2].hash,
        )
    message = verify()
    assert "(missing" in message
    assert "recorded seq 5, the log ends at seq 3" in message


def test_a_rewritten_table_with_an_unkeyed_recomputed_chain_does_not_verify(exported):
    _rewrite_all(_unkeyed)
    message = verify()
    assert "(edited)" in message
    assert "(seq 1)" in message


def test_a_rewritten_table_with_the_key_is_caught_by_the_exported_head(exported):
    # An insider with the key recomputes a chain that verifies on its own; the head exported
    # before the rewrite does not match it.
    _rewrite_all(row_hash)
    message = verify()
    assert "(rewritten" in message
    assert "at seq 5" in message


@pytest.mark.django_db(transaction=True)
def test_a_flush_is_caught_by_the_exported_head(exported):
    call_command("flush", "--noinput", verbosity=0)
    assert AuditEvent.objects.count() == 0
    message = verify()
    assert "(missing" in message
    assert "the log ends at seq 0" in message


def test_an_edited_head_file_is_refused(exported):
    record = json.loads(settings.AUDIT_HEAD_FILE.read_text())
    record["seq"] = 4
    settings.AUDIT_HEAD_FILE.write_text(json.dumps(record) + "\n")
    assert "does not match its HMAC" in verify()


def test_heads_of_another_database_in_the_same_file_are_ignored(exported, capsys):
    record = json.loads(settings.AUDIT_HEAD_FILE.read_text())
    other = {**record, "database": "sqlite:::/elsewhere.sqlite3", "seq": 99}
    from audit.heads import _mac

    other["mac"] = _mac(other)
    with settings.AUDIT_HEAD_FILE.open("a") as out:
        out.write(json.dumps(other) + "\n")
    call_command("audit_verify")
    assert "matches 1 exported heads" in capsys.readouterr().out


def test_appends_after_an_export_still_verify(exported, ed_nurse, capsys):
    audit_record(actor=ed_nurse, action="update", object_type="encounter", object_id=9)
    audit_head_export()
    call_command("audit_verify")
    assert "6 events, chain intact" in capsys.readouterr().out
