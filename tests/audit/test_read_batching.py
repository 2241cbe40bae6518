"""Audited reads appended in batches by a background thread: every read reaches the chain,
in order, the chain verifies, a failed append loses nothing, a rolled-back read is not kept."""

from __future__ import annotations

import time

import pytest
from django.db import transaction

from audit import services
from audit.models import AuditEvent
from audit.services import audit_record, read_recorder
from audit.verify import chain_verify

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def batched(settings):
    settings.AUDIT_READ_BATCH_MS = 20
    recorder = read_recorder()
    assert recorder is not None
    yield recorder
    recorder.flush()


def _wait_for(count: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while AuditEvent.objects.count() < count:
        assert time.monotonic() < deadline, f"{AuditEvent.objects.count()} of {count} appended"
        time.sleep(0.02)


def test_every_read_is_appended_in_order_and_the_chain_verifies(batched, ed_nurse):
    for n in range(300):
        audit_record(actor=ed_nurse, action="read", object_type="encounter", object_id=n)
    _wait_for(300)
    rows = list(AuditEvent.objects.order_by("seq").values_list("seq", "object_id"))
    assert [seq for seq, _ in rows] == list(range(1, 301))
    assert [int(object_id) for _, object_id in rows] == list(range(300))
    assert chain_verify().broken is None


def test_writes_stay_immediate_and_chain_with_the_batched_reads(batched, ed_nurse):
    audit_record(actor=ed_nurse, action="read", object_type="encounter", object_id="r1")
    audit_record(actor=ed_nurse, action="update", object_type="encounter", object_id="w1")
    # The write is in the log as soon as audit_record returns; the read follows with its batch.
    assert AuditEvent.objects.filter(object_id="w1").exists()
    _wait_for(2)
    assert chain_verify().broken is None


def test_a_failed_append_keeps_the_reads_and_appends_them_later(batched, ed_nurse, monkeypatch):
    real = services.AuditBatch.flush
    failures = []

    def fail_once(self):
        if not failures:
            failures.append(1)
            raise RuntimeError("database went away")
        return real(self)

    monkeypatch.setattr(services.AuditBatch, "flush", fail_once)
    for n in range(5):
        audit_record(actor=ed_nurse, action="read", object_type="encounter", object_id=n)
    _wait_for(5)
    assert failures == [1]
    assert list(AuditEvent.objects.order_by("seq").values_list("object_id", flat=True)) == [
        "0",
        "1",
        "2",
        "3",
        "4",
    ]


def test_a_read_in_a_transaction_that_rolls_back_is_not_recorded(batched, ed_nurse):
    def failing_request() -> None:
        with transaction.atomic():
            audit_record(actor=ed_nurse, action="read", object_type="encounter", object_id="gone")
            raise RuntimeError("the request failed")

    with pytest.raises(RuntimeError):
        failing_request()
    with transaction.atomic():
        audit_record(actor=ed_nurse, action="read", object_type="encounter", object_id="kept")
    _wait_for(1)
    batched.flush()
    assert list(AuditEvent.objects.values_list("object_id", flat=True)) == ["kept"]
