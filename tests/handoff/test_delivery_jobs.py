"""Delivery of the handoff to the destination's receivers through the outbox.

The services enqueue in their transaction; with eager Celery the outbox task runs in this
process once it commits (hence transactional tests), against the real threaded HTTP and
MLLP receivers of tests/handoff/interop/test_delivery.py. A retry is driven by hand: eager
mode leaves a failed attempt to the sweep, so the test moves its back-off to now and runs it.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone
from hl7apy.consts import VALIDATION_LEVEL
from hl7apy.parser import parse_message

from audit.models import AuditEvent
from handoff import delivery_jobs
from handoff.interop.fhir.validation import schema_issues
from handoff.models import Hospital
from handoff.services.destination import destination_set
from handoff.services.encounters import encounter_update
from handoff.services.handover import patient_arrived
from handoff.services.vitals import vitals_record
from outbox import services as outbox
from outbox.models import OutboxTask
from tests.handoff.conftest import PATIENT
from tests.handoff.interop import test_delivery as receivers
from tests.handoff.interop import test_fhir_auth as auth_servers

pytestmark = pytest.mark.django_db(transaction=True)

Status = OutboxTask.Status
# The real receivers of the delivery client tests, as fixtures of this module too.
http_receiver = receivers.http_receiver
mllp_receiver = receivers.mllp_receiver
smart_server = auth_servers.smart_server
mtls_server = auth_servers.mtls_server
pki = auth_servers.pki
_fresh_tokens = auth_servers._fresh_tokens
KINDS = (delivery_jobs.FHIR_KIND, delivery_jobs.HL7_KIND)


def mllp(hospital: Hospital, port: int) -> Hospital:
    hospital.hl7_host, hospital.hl7_port = "127.0.0.1", port
    hospital.hl7_receiving_application = "HIS_ADT"
    hospital.save(update_fields=["hl7_host", "hl7_port", "hl7_receiving_application"])
    return hospital


def fhir(hospital: Hospital, url: str) -> Hospital:
    hospital.fhir_endpoint = url
    hospital.save(update_fields=["fhir_endpoint"])
    return hospital


def route(paramedic, encounter, hospital):
    return destination_set(
        user=paramedic, encounter_id=encounter.pk, hospital_id=hospital.pk, reason="closest"
    )


def tasks(kind: str) -> list[OutboxTask]:
    return list(OutboxTask.objects.filter(kind=kind).order_by("pk"))


def result(task: OutboxTask) -> dict[str, Any]:
    assert isinstance(task.result, dict)
    return task.result


def run_again(task: OutboxTask) -> str:
    """What the sweep does once the back-off has passed."""
    OutboxTask.objects.filter(pk=task.pk).update(next_attempt_at=timezone.now())
    return outbox.outbox_task_run(task.pk)


def test_handlers_are_registered_at_startup():
    assert outbox.outbox_handler("handoff.fhir") is not None
    assert outbox.outbox_handler("handoff.hl7") is not None


def test_destination_set_delivers_one_adt_a05_acked_aa(
    paramedic, encounter, hospital, mllp_receiver
):
    port, state = mllp_receiver
    mllp(hospital, port)

    route(paramedic, encounter, hospital)

    (message,) = state.received
    parsed = parse_message(message, validation_level=VALIDATION_LEVEL.STRICT)
    assert parsed.validate()
    assert parsed.msh.msh_9.to_er7() == "ADT^A05^ADT_A05"
    assert parsed.msh.msh_5.to_er7() == "HIS_ADT"
    assert parsed.msh.msh_6.to_er7() == hospital.code  # no receiving facility configured
    (task,) = tasks(delivery_jobs.HL7_KIND)
    assert (task.status, task.attempts) == (Status.DONE, 1)
    assert task.result == {
        "delivered": True,
        "ack": "AA",
        "control_id": parsed.msh.msh_10.to_er7(),
        "trigger": "A05",
        "obx": {},
    }
    assert task.payload == {
        "encounter_id": encounter.pk,
        "hospital_id": hospital.pk,
        "triggered_by": paramedic.pk,
        "trigger": "A05",
    }
    assert tasks(delivery_jobs.FHIR_KIND) == []  # no FHIR endpoint configured


def test_destination_set_posts_a_bundle_that_validates_as_r4(
    paramedic, encounter, hospital, http_receiver
):
    url, state = http_receiver
    fhir(hospital, url)

    route(paramedic, encounter, hospital)

    ((path, headers, body),) = state.received
    assert path == "/fhir/Bundle"
    assert headers["Content-Type"].startswith("application/fhir+json")
    bundle = json.loads(body)
    assert schema_issues(bundle) == []
    assert bundle["type"] == "document"
    (task,) = tasks(delivery_jobs.FHIR_KIND)
    assert task.status == Status.DONE
    assert result(task)["delivered"] is True
    assert tasks(delivery_jobs.HL7_KIND) == []


def test_arrival_sends_a04_once_and_updates_send_a08_and_every_change_a_bundle(
    paramedic, encounter, hospital, mllp_receiver, http_receiver
):
    port, mllp_state = mllp_receiver
    url, http_state = http_receiver
    mllp(fhir(hospital, url), port)
    route(paramedic, encounter, hospital)
    vitals_record(
        user=paramedic, encounter_id=encounter.pk, data={"heart_rate": 88}, client_id="v1"
    )
    # The same vitals set sent again by the tablet is no new change: nothing more is sent.
    vitals_record(
        user=paramedic, encounter_id=encounter.pk, data={"heart_rate": 88}, client_id="v1"
    )
    encounter_update(user=paramedic, encounter_id=encounter.pk, data={"chief_complaint": "syncope"})
    patient_arrived(user=paramedic, encounter_id=encounter.pk)
    patient_arrived(user=paramedic, encounter_id=encounter.pk)

    triggers = [m.split("\r", 1)[0].split("|")[8] for m in mllp_state.received]
    assert triggers == ["ADT^A05^ADT_A05", "ADT^A08^ADT_A01", "ADT^A08^ADT_A01", "ADT^A04^ADT_A01"]
    assert len(http_state.received) == 4  # destination, vitals, update, arrival
    assert {t.status for t in OutboxTask.objects.filter(kind__in=KINDS)} == {Status.DONE}
    # Built when it ran: the last bundle has the new complaint.
    assert "syncope" in http_state.received[-1][2].decode()


def test_a_retry_sends_the_record_as_it_is_then(paramedic, encounter, hospital, mllp_receiver):
    port, state = mllp_receiver
    mllp(hospital, port)
    state.answer = "close"
    route(paramedic, encounter, hospital)
    (a05,) = tasks(delivery_jobs.HL7_KIND)
    state.answer = "AA"
    encounter_update(user=paramedic, encounter_id=encounter.pk, data={"family_name": "Korhonen"})

    assert run_again(a05) == "done"

    retried = state.received[-1]
    assert retried.split("\r", 1)[0].split("|")[8] == "ADT^A05^ADT_A05"
    assert "Korhonen" in retried
    assert PATIENT["family_name"] not in retried


def test_mllp_without_ack_is_retried_then_delivered_once(
    paramedic, encounter, hospital, mllp_receiver
):
    port, state = mllp_receiver
    mllp(hospital, port)
    state.answer = "close"

    route(paramedic, encounter, hospital)

    (task,) = tasks(delivery_jobs.HL7_KIND)
    assert (task.status, task.attempts) == (Status.PENDING, 1)
    assert task.last_error == "OutboxError: MLLP connection failed: ConnectionResetError"
    assert task.next_attempt_at > timezone.now()
    assert outbox.outbox_task_run(task.pk) == "busy"  # still in its back-off
    state.answer = "AA"

    assert run_again(task) == "done"
    assert run_again(task) == "busy"  # done is done

    task.refresh_from_db()
    assert (task.status, task.attempts, result(task)["ack"]) == (Status.DONE, 2, "AA")
    assert len(state.received) == 2
    # The same message again: MSH-10 is the task's, so the receiver can tell a repeat.
    first, second = (m.split("\r", 1)[0].split("|")[9] for m in state.received)
    assert first == second == result(task)["control_id"]


def test_http_500_is_retried_then_delivered_once(paramedic, encounter, hospital, http_receiver):
    url, state = http_receiver
    fhir(hospital, url)
    state.answer = 500

    route(paramedic, encounter, hospital)

    (task,) = tasks(delivery_jobs.FHIR_KIND)
    assert (task.status, task.last_error) == (
        Status.PENDING,
        "OutboxError: FHIR endpoint answered HTTP 500",
    )
    state.answer = 201

    assert run_again(task) == "done"
    assert run_again(task) == "busy"

    task.refresh_from_db()
    assert (task.status, task.attempts, result(task)["status"]) == (Status.DONE, 2, 201)
    assert len(state.received) == 2


@pytest.mark.parametrize("ack", ["AE", "AR", "CE", "CR"])
def test_mllp_rejection_fails_the_task_without_retry(
    paramedic, encounter, hospital, mllp_receiver, ack
):
    port, state = mllp_receiver
    mllp(hospital, port)
    state.answer = ack

    route(paramedic, encounter, hospital)

    (task,) = tasks(delivery_jobs.HL7_KIND)
    assert (task.status, task.attempts) == (Status.FAILED, 1)
    assert task.last_error == f"rejected: MLLP receiver answered {ack}"
    assert run_again(task) == "busy"
    assert outbox.outbox_sweep() == 0
    assert len(state.received) == 1


@pytest.mark.parametrize("status", [400, 422])
def test_http_4xx_fails_the_task_without_retry(
    paramedic, encounter, hospital, http_receiver, status
):
    url, state = http_receiver
    fhir(hospital, url)
    state.answer = status

    route(paramedic, encounter, hospital)

    (task,) = tasks(delivery_jobs.FHIR_KIND)
    assert (task.status, task.attempts) == (Status.FAILED, 1)
    assert task.last_error == f"rejected: FHIR endpoint answered HTTP {status}"
    assert task.result == {
        "delivered": False,
        "error": f"FHIR endpoint answered HTTP {status}",
        "reason": "",
    }
    assert run_again(task) == "busy"
    assert outbox.outbox_sweep() == 0
    assert len(state.received) == 1


def test_smart_backend_delivery_uses_one_token_for_two_versions(
    settings, tmp_path, paramedic, encounter, hospital, smart_server
):
    url, state = smart_server
    auth_servers.smart_setup(settings, tmp_path, url, state)
    fhir(hospital, url)

    route(paramedic, encounter, hospital)
    encounter_update(user=paramedic, encounter_id=encounter.pk, data={"chief_complaint": "syncope"})

    assert [task.status for task in tasks(delivery_jobs.FHIR_KIND)] == [Status.DONE] * 2
    assert [result(task)["version"] for task in tasks(delivery_jobs.FHIR_KIND)] == [1, 2]
    assert len(state.token_requests) == 1
    assert [(path, h["Authorization"]) for path, h, _ in state.received] == [
        ("/fhir/Bundle", f"Bearer {state.issued[0]}")
    ] * 2


def test_a_key_the_token_server_refuses_fails_the_task_without_retry(
    settings, tmp_path, paramedic, encounter, hospital, smart_server
):
    url, state = smart_server
    state.public_keys["ems-2026"] = (
        auth_servers.write_key(tmp_path / "registered.pem", "RS384"),
        "RS384",
    )
    auth_servers.write_key(tmp_path / "other.pem", "RS384")
    auth_servers.configure(settings, url, auth_servers.smart_entry(state, tmp_path / "other.pem"))
    fhir(hospital, url)

    route(paramedic, encounter, hospital)

    (task,) = tasks(delivery_jobs.FHIR_KIND)
    assert (task.status, task.attempts) == (Status.FAILED, 1)
    assert task.last_error == "rejected: FHIR token endpoint answered HTTP 401 (invalid_client)"
    assert run_again(task) == "busy"
    assert state.received == []
    row = AuditEvent.objects.filter(action="disclose").get()
    assert row.detail["outcome"] == "rejected"


def test_mtls_delivery_with_and_without_the_client_certificate(
    settings, pki, paramedic, encounter, hospital, mtls_server
):
    url, state = mtls_server
    fhir(hospital, url)
    auth_servers.configure(settings, url, {"type": "none", "ca_file": str(pki.ca)})

    route(paramedic, encounter, hospital)

    (task,) = tasks(delivery_jobs.FHIR_KIND)
    assert task.status == Status.PENDING  # refused handshake: retried
    assert task.last_error.startswith("OutboxError: FHIR endpoint TLS connection failed: ")
    assert state.received == []
    auth_servers.configure(
        settings,
        url,
        {
            "type": "mtls",
            "cert_file": str(pki.client_cert),
            "key_file": str(pki.client_key),
            "ca_file": str(pki.ca),
        },
    )

    assert run_again(task) == "done"
    task.refresh_from_db()
    assert (task.status, task.attempts, result(task)["status"]) == (Status.DONE, 2, 201)
    ((path, _, _),) = state.received
    assert path == "/fhir/Bundle"


def test_production_refuses_an_endpoint_without_authentication(
    settings, paramedic, encounter, hospital, http_receiver
):
    url, state = http_receiver
    fhir(hospital, url)
    settings.HANDOFF_FHIR_AUTH = {}
    settings.HANDOFF_FHIR_AUTH_REQUIRED = True

    route(paramedic, encounter, hospital)

    (task,) = tasks(delivery_jobs.FHIR_KIND)
    assert task.status == Status.FAILED
    assert "no authentication configured" in task.last_error
    assert state.received == []


def test_a_hospital_without_endpoints_gets_nothing_enqueued(paramedic, encounter, hospital):
    route(paramedic, encounter, hospital)
    vitals_record(
        user=paramedic, encounter_id=encounter.pk, data={"heart_rate": 88}, client_id="v1"
    )
    encounter_update(user=paramedic, encounter_id=encounter.pk, data={"chief_complaint": "syncope"})
    patient_arrived(user=paramedic, encounter_id=encounter.pk)

    assert not OutboxTask.objects.filter(kind__in=KINDS).exists()


def test_updates_before_a_destination_enqueue_nothing(paramedic, encounter, hospital):
    vitals_record(
        user=paramedic, encounter_id=encounter.pk, data={"heart_rate": 88}, client_id="v1"
    )
    encounter_update(user=paramedic, encounter_id=encounter.pk, data={"chief_complaint": "syncope"})

    assert not OutboxTask.objects.filter(kind__in=KINDS).exists()


def test_a_task_for_the_previous_destination_is_not_sent(
    paramedic, encounter, hospital, mllp_receiver
):
    port, state = mllp_receiver
    mllp(hospital, port)
    state.answer = "close"
    route(paramedic, encounter, hospital)
    (task,) = tasks(delivery_jobs.HL7_KIND)
    other = Hospital.objects.create(name="Other", code="other", lat=60.2, lon=24.9, capabilities=[])
    route(paramedic, encounter, other)
    state.answer = "AA"

    assert run_again(task) == "done"

    task.refresh_from_db()
    assert task.result == {"delivered": False, "skipped": True}
    assert len(state.received) == 1


def test_host_and_port_are_set_together(hospital):
    for host, port in (("127.0.0.1", None), ("", 2575), ("127.0.0.1", 0)):
        with pytest.raises(IntegrityError), transaction.atomic():
            Hospital.objects.filter(pk=hospital.pk).update(hl7_host=host, hl7_port=port)
    Hospital.objects.filter(pk=hospital.pk).update(hl7_host="ris.example", hl7_port=2575)


def test_logs_carry_no_patient_data(
    paramedic, encounter, hospital, mllp_receiver, http_receiver, caplog
):
    port, mllp_state = mllp_receiver
    url, http_state = http_receiver
    mllp(fhir(hospital, url), port)
    caplog.set_level(logging.DEBUG)
    mllp_state.answer, http_state.answer = "close", 503
    route(paramedic, encounter, hospital)
    mllp_state.answer, http_state.answer = "AR", 400
    for task in OutboxTask.objects.filter(kind__in=KINDS):
        run_again(task)
    mllp_state.answer, http_state.answer = "AA", 201
    vitals_record(
        user=paramedic, encounter_id=encounter.pk, data={"heart_rate": 88}, client_id="v1"
    )

    assert "delivery task" in caplog.text
    assert sorted(OutboxTask.objects.filter(kind__in=KINDS).values_list("status", flat=True)) == [
        Status.DONE,
        Status.DONE,
        Status.FAILED,
        Status.FAILED,
    ]
    stored = [t.last_error + json.dumps(t.result) for t in OutboxTask.objects.all()]
    for value in PATIENT.values():
        assert value not in caplog.text
        assert not any(value in text for text in stored)
