"""The log is append-only in the database, and audit_verify names the first broken link."""

import itertools
import json

import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError, connection, transaction

from audit.chain import row_hash
from audit.models import AuditEvent, AuditHead
from audit.services import AuditDetailError, audit_record
from tests.audit.conftest import unguarded

pytestmark = pytest.mark.django_db


def verify():
    with pytest.raises(CommandError) as failure:
        call_command("audit_verify")
    return str(failure.value)


def sql(statement, *params):
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


def test_intact_chain_verifies_and_prints_the_head(chain, capsys):
    call_command("audit_verify")
    assert capsys.readouterr().out.strip() == f"5 events, chain intact, head {chain[-1].hash}"


def test_empty_log_verifies(db, capsys):
    call_command("audit_verify")
    assert capsys.readouterr().out.startswith("0 events, chain intact, head 000000")


def test_each_row_chains_onto_the_previous(chain):
    assert [e.seq for e in chain] == [1, 2, 3, 4, 5]
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(chain))
    assert chain[0].prev_hash == "0" * 64


def test_edited_row_is_named(chain):
    with unguarded():
        sql("UPDATE audit_auditevent SET action = 'read' WHERE id = %s", chain[2].pk)
    message = verify()
    assert "(edited)" in message
    assert f"event id {chain[2].pk} (seq 3)" in message


def test_edited_and_rehashed_row_breaks_the_next_link(chain):
    edited = AuditEvent.objects.values().get(pk=chain[2].pk)
    edited["actor_username"] = "someone-else"
    with unguarded():
        sql(
            "UPDATE audit_auditevent SET actor_username = %s, hash = %s WHERE id = %s",
            "someone-else",
            row_hash(edited),
            chain[2].pk,
        )
    message = verify()
    assert "(edited)" in message
    assert f"event id {chain[3].pk} (seq 4) does not chain onto seq 3" in message


def test_deleted_middle_row_is_named_missing(chain):
    with unguarded():
        sql("DELETE FROM audit_auditevent WHERE id = %s", chain[2].pk)
    message = verify()
    assert "(missing)" in message
    assert f"seq 3 missing before event id {chain[3].pk}" in message


def test_deleted_first_row_is_named_missing(chain):
    with unguarded():
        sql("DELETE FROM audit_auditevent WHERE id = %s", chain[0].pk)
    assert "seq 1 missing" in verify()


def test_deleted_last_row_is_caught_by_the_head(chain):
    with unguarded():
        sql("DELETE FROM audit_auditevent WHERE id = %s", chain[-1].pk)
    message = verify()
    assert "(missing)" in message
    assert "seq 5-5 missing at the end of the log" in message


def test_deleted_head_is_reported(chain):
    with unguarded():
        sql("DELETE FROM audit_audithead")
    assert "the head row is missing" in verify()


def test_swapped_rows_are_named_reordered(chain):
    with unguarded():
        sql("UPDATE audit_auditevent SET seq = -1 WHERE id = %s", chain[1].pk)
        sql("UPDATE audit_auditevent SET seq = 2 WHERE id = %s", chain[3].pk)
        sql("UPDATE audit_auditevent SET seq = 4 WHERE id = %s", chain[1].pk)
    message = verify()
    assert "(reordered)" in message
    assert f"event id {chain[1].pk} holds seq 4 where seq 2 belongs" in message
    assert f"seq 2 is at event id {chain[3].pk}" in message


def test_rewritten_last_row_is_caught_by_the_head(chain):
    last = AuditEvent.objects.values().get(pk=chain[-1].pk)
    last["object_id"] = "999"
    with unguarded():
        sql(
            "UPDATE audit_auditevent SET object_id = '999', hash = %s WHERE id = %s",
            row_hash(last),
            chain[-1].pk,
        )
    assert "the head (seq 5) does not match the last event" in verify()


def test_chain_continues_after_a_verified_append(chain, ed_nurse, capsys):
    audit_record(actor=ed_nurse, action="update", object_type="encounter", object_id="x")
    call_command("audit_verify")
    assert capsys.readouterr().out.startswith("6 events, chain intact")


@pytest.mark.parametrize(
    "attempt",
    [
        lambda e: AuditEvent.objects.filter(pk=e.pk).update(action="read"),
        lambda e: AuditEvent.objects.filter(pk=e.pk).delete(),
        lambda e: AuditEvent.objects.all().delete(),
        lambda e: AuditEvent.save(e, update_fields=["action"]),
        lambda e: sql("UPDATE audit_auditevent SET action = 'read' WHERE id = %s", e.pk),
        lambda e: sql("DELETE FROM audit_auditevent WHERE id = %s", e.pk),
        lambda e: sql("DELETE FROM audit_audithead"),
    ],
    ids=["orm-update", "orm-delete", "orm-delete-all", "save", "sql-update", "sql-delete", "head"],
)
def test_database_refuses_update_and_delete(chain, attempt):
    event = chain[2]
    event.action = "read"
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        attempt(event)
    assert AuditEvent.objects.get(pk=event.pk).action == "update"
    assert AuditEvent.objects.count() == 5
    assert AuditHead.objects.get().last_seq == 5


def test_postgresql_refuses_truncate(chain):
    if connection.vendor != "postgresql":
        pytest.skip("TRUNCATE is PostgreSQL's")
    # The inserts' deferred foreign-key checks would block TRUNCATE before our trigger runs.
    sql("SET CONSTRAINTS ALL IMMEDIATE")
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        sql("TRUNCATE audit_auditevent")
    assert AuditEvent.objects.count() == 5


def test_audit_head_prints_json_for_anchoring(chain, capsys):
    call_command("audit_head")
    head = json.loads(capsys.readouterr().out)
    assert head["head"] == chain[-1].hash
    assert head["seq"] == 5
    assert head["count"] == 5
    assert head["last_event_at"].endswith("Z")
    assert set(head) == {
        "database",
        "head",
        "seq",
        "count",
        "last_event_at",
        "exported_at",
        "mac",
    }


def test_detail_refuses_free_text(ed_nurse):
    with pytest.raises(AuditDetailError):
        audit_record(
            actor=ed_nurse,
            action="update",
            object_type="encounter",
            object_id="1",
            detail={"family_name": "Zebulon Quixotehurst"},
        )
    assert not AuditEvent.objects.exists()
