"""A delivery the hospital's system refuses ends failed, once, and is shown: HL7 AE/AR (with
the ERR text) and FHIR 4xx (with the OperationOutcome's diagnostics) are not retried; the
crew's unit stream gets the failure with the encounter, the dispatch centre's stream the
failure without any patient data; a receiver that never answers is retried a bounded
number of times and then shown the same way. Real receivers on 127.0.0.1."""

from __future__ import annotations

import json
import logging

import pytest
from django.db import transaction

from dispatch.events import centre_group, unit_group
from handoff import delivery_jobs
from handoff.events import DELIVERY_DELIVERED, DELIVERY_FAILED
from handoff.services.encounters import encounter_update
from outbox import services as outbox
from outbox.models import OutboxTask
from realtime.events import event_batch
from realtime.models import EventLog
from tests.handoff.conftest import PATIENT
from tests.handoff.test_delivery_jobs import fhir, mllp, route, run_again, tasks
from tests.handoff.test_delivery_jobs import http_receiver as http_receiver
from tests.handoff.test_delivery_jobs import mllp_receiver as mllp_receiver

pytestmark = pytest.mark.django_db(transaction=True)

Status = OutboxTask.Status
REASON = "PID-3 assigning authority GOLDEN_HOUR unknown"


def failures(stream: str) -> list[dict]:
    return [e.data for e in EventLog.objects.filter(stream=stream, type=DELIVERY_FAILED)]


@pytest.mark.parametrize("ack", ["AE", "AR"])
def test_hl7_rejection_fails_once_and_tells_crew_and_centre(
    paramedic, encounter, hospital, mllp_receiver, ack, caplog
):
    port, state = mllp_receiver
    mllp(hospital, port)
    state.answer = ack
    state.error_text = REASON

    with caplog.at_level(logging.DEBUG):
        route(paramedic, encounter, hospital)

    (task,) = tasks(delivery_jobs.HL7_KIND)
    assert (task.status, task.attempts) == (Status.FAILED, 1)
    assert task.result["reason"] == REASON
    assert task.last_error == f"rejected: MLLP receiver answered {ack}"
    assert run_again(task) == "busy"
    assert outbox.outbox_sweep() == 0
    assert len(state.received) == 1

    assignment = encounter.assignment
    (crew,) = failures(unit_group(assignment.unit_id))
    assert crew["encounter_id"] == str(encounter.public_id)
    assert crew["reason"] == REASON
    assert (crew["channel"], crew["message"], crew["outcome"]) == ("HL7 v2", "A05", "rejected")
    assert crew["hospital"] == hospital.name
    (centre,) = failures(centre_group(assignment.incident.centre_id))
    assert centre["incident_id"] == assignment.incident_id
    assert centre["assignment_id"] == assignment.pk
    assert centre["reason"] == REASON
    # The dispatcher gets the delivery's status and reason, nothing about the patient.
    assert "encounter_id" not in centre
    assert "temp_identifier" not in centre
    text = json.dumps(centre)
    for value in PATIENT.values():
        assert value not in text
    # The receiver's words are kept on the delivery, not written to the logs.
    assert REASON not in caplog.text


def test_fhir_rejection_shows_the_operation_outcome(paramedic, encounter, hospital, http_receiver):
    url, state = http_receiver
    fhir(hospital, url)
    state.answer = 422
    state.body = json.dumps(
        {
            "resourceType": "OperationOutcome",
            "issue": [{"severity": "error", "code": "invalid", "diagnostics": "Bundle.type"}],
        }
    ).encode()

    route(paramedic, encounter, hospital)

    (task,) = tasks(delivery_jobs.FHIR_KIND)
    assert (task.status, task.attempts) == (Status.FAILED, 1)
    (crew,) = failures(unit_group(encounter.assignment.unit_id))
    assert (crew["channel"], crew["reason"], crew["outcome"]) == ("FHIR", "Bundle.type", "rejected")
    assert len(failures(centre_group(encounter.assignment.incident.centre_id))) == 1


def test_accepted_delivery_emits_no_failure(paramedic, encounter, hospital, mllp_receiver):
    port, _ = mllp_receiver
    mllp(hospital, port)

    route(paramedic, encounter, hospital)

    (task,) = tasks(delivery_jobs.HL7_KIND)
    assert task.status == Status.DONE
    assert EventLog.objects.filter(type=DELIVERY_FAILED).count() == 0
    # Nothing was shown, so nothing is cleared: a success after a success says nothing.
    assert EventLog.objects.filter(type=DELIVERY_DELIVERED).count() == 0


@pytest.mark.parametrize("answer", ["garbage", "close"])
def test_transport_failures_retry_a_bounded_number_of_times_then_show(
    paramedic, encounter, hospital, mllp_receiver, answer
):
    port, state = mllp_receiver
    mllp(hospital, port)
    state.answer = answer
    OutboxTask.objects.all().delete()

    route(paramedic, encounter, hospital)
    (task,) = tasks(delivery_jobs.HL7_KIND)
    assert task.status == Status.PENDING  # retryable: the outbox backs off
    assert EventLog.objects.filter(type=DELIVERY_FAILED).count() == 0
    outcomes = [run_again(task) for _ in range(task.max_attempts - 1)]

    task.refresh_from_db()
    assert outcomes[-1] == "failed"
    assert (task.status, task.attempts) == (Status.FAILED, delivery_jobs.MAX_ATTEMPTS)
    assert run_again(task) == "busy"
    assert len(state.received) == delivery_jobs.MAX_ATTEMPTS
    (crew,) = failures(unit_group(encounter.assignment.unit_id))
    assert crew["outcome"] == "failed"
    assert crew["reason"].startswith("MLLP ")
    assert len(failures(centre_group(encounter.assignment.incident.centre_id))) == 1


def test_a_page_load_finds_the_failure_until_a_later_delivery_is_accepted(
    paramedic, encounter, hospital, mllp_receiver
):
    port, state = mllp_receiver
    mllp(hospital, port)
    state.answer, state.error_text = "AE", REASON
    route(paramedic, encounter, hospital)
    encounter.refresh_from_db()

    failure = delivery_jobs.delivery_failures_latest([encounter])[encounter.pk]
    assert (failure["reason"], failure["outcome"], failure["message"]) == (
        REASON,
        "rejected",
        "A05",
    )
    assert failure["hospital_id"] == hospital.pk

    (centre,) = delivery_jobs.centre_delivery_failures(encounter.assignment.incident.centre_id)
    assert centre == failure
    assert "encounter_id" not in centre
    assert (
        delivery_jobs.centre_delivery_failures(encounter.assignment.incident.centre_id + 99) == []
    )

    state.answer, state.error_text = "AA", ""
    encounter_update(user=paramedic, encounter_id=encounter.pk, data={"chief_complaint": "dizzy"})
    encounter.refresh_from_db()
    assert delivery_jobs.delivery_failures_latest([encounter]) == {}
    # The screens showing the failure live are told it is cleared, the centre without the
    # patient, the crew with the encounter.
    assignment = encounter.assignment
    (crew,) = [
        e.data
        for e in EventLog.objects.filter(
            stream=unit_group(assignment.unit_id), type=DELIVERY_DELIVERED
        )
    ]
    assert (crew["encounter_id"], crew["outcome"], crew["channel"]) == (
        str(encounter.public_id),
        "delivered",
        "HL7 v2",
    )
    assert crew["cleared_task_id"] == failure["task_id"]
    (centre_cleared,) = [
        e.data
        for e in EventLog.objects.filter(
            stream=centre_group(assignment.incident.centre_id), type=DELIVERY_DELIVERED
        )
    ]
    assert centre_cleared["incident_id"] == assignment.incident_id
    assert "encounter_id" not in centre_cleared


def test_a_delivery_run_from_an_ingest_tick_still_records_its_events(
    paramedic, encounter, hospital, mllp_receiver
):
    # A device item commits inside the tick's event batch; the eager outbox task runs from
    # its on_commit, after the batch was written, and must record its own events.
    port, state = mllp_receiver
    mllp(hospital, port)
    state.answer, state.error_text = "AR", REASON

    with event_batch() as batch, transaction.atomic():
        route(paramedic, encounter, hospital)
        batch.flush()  # as the tick does, before its commit

    (crew,) = failures(unit_group(encounter.assignment.unit_id))
    assert crew["reason"] == REASON


def test_an_endpoint_refused_on_our_side_shows_as_not_sent(
    settings, paramedic, encounter, hospital, mllp_receiver
):
    port, state = mllp_receiver
    mllp(hospital, port)
    settings.HANDOFF_HL7_ALLOWED_HOSTS = ["hl7.hospital.example"]

    route(paramedic, encounter, hospital)

    (task,) = tasks(delivery_jobs.HL7_KIND)
    assert (task.status, state.received) == (Status.FAILED, [])
    (crew,) = failures(unit_group(encounter.assignment.unit_id))
    assert crew["outcome"] == "not_sent"
    assert crew["reason"] == "endpoint refused: host 127.0.0.1 is not in HANDOFF_HL7_ALLOWED_HOSTS"
    encounter.refresh_from_db()
    assert (
        delivery_jobs.delivery_failures_latest([encounter])[encounter.pk]["outcome"] == "not_sent"
    )
