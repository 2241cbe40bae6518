"""Deliver the handoff to the destination hospital's systems: HL7 v2 ADT over MLLP, FHIR.

The services enqueue outbox tasks (config/outbox.py) in their own transaction, with the
encounter id and the hospital id only. The handlers below reload the encounter and build
the message when they run, so a retry sends the record as it is then, not as it was when
the task was written. A retryable `DeliveryError` is raised (as an `OutboxError`, whose
message is safe: status and ACK codes only) and the outbox backs off and tries again; a
non-retryable one (the receiver rejected the content: HTTP 4xx, ACK AR/CR) gives up at
once and the task ends `failed`. Logs name the task, the encounter's public id and the
hospital code, never patient data. docs/interop.md, "Delivery".
"""

from __future__ import annotations

import logging
from typing import Any, Final, Literal

from django.db import transaction
from django.utils import timezone

from config.models import OutboxTask
from config.outbox import OutboxError, outbox_enqueue, register_outbox_handler
from handoff import selectors
from handoff.interop.delivery import DeliveryError, send_fhir, send_mllp
from handoff.interop.fhir import encounter_bundle
from handoff.interop.hl7 import Trigger, adt_message
from handoff.models import Encounter, Hospital

logger = logging.getLogger(__name__)

FHIR_KIND: Final = "handoff.fhir"
HL7_KIND: Final = "handoff.hl7"
SENDING_FACILITY: Final = "GOLDENHOUR"
# Each bounds one send; the outbox lease must outlast it (the send runs inside the claim).
TIMEOUT_SECONDS: Final = 15.0
LEASE_SECONDS: Final = 60
MAX_ATTEMPTS: Final = 12


def _has_fhir(hospital: Hospital | None) -> bool:
    return hospital is not None and bool(hospital.fhir_endpoint)


def _has_hl7(hospital: Hospital | None) -> bool:
    return hospital is not None and bool(hospital.hl7_host) and hospital.hl7_port is not None


def delivery_enqueue(encounter: Encounter, trigger: Trigger | None, *, fhir: bool) -> None:
    """Enqueue an ADT `trigger` and/or the FHIR Bundle for the encounter's destination.

    Call inside the service's transaction, after the encounter's `updated_at` is set: the
    idempotency keys carry it, so one change is delivered once and the next change again.
    A04 (arrival) happens once per encounter and is keyed without it. Nothing is enqueued
    without a destination or for an endpoint the destination does not have.
    """
    hospital = encounter.destination
    if hospital is None:
        return
    payload = {"encounter_id": encounter.pk, "hospital_id": hospital.pk}
    version = encounter.updated_at.isoformat()
    if trigger is not None and _has_hl7(hospital):
        key = f"hl7:{trigger}:{encounter.public_id}:{hospital.pk}"
        if trigger != "A04":
            key += f":{version}"
        outbox_enqueue(kind=HL7_KIND, key=key, payload={**payload, "trigger": trigger})
    if fhir and _has_fhir(hospital):
        key = f"fhir:{encounter.public_id}:{hospital.pk}:{version}"
        outbox_enqueue(kind=FHIR_KIND, key=key, payload=payload)


def _encounter_for(task: OutboxTask) -> tuple[Encounter, Hospital] | None:
    """The encounter as it is now, and the hospital the task is for (None: nothing to send)."""
    encounter = (
        Encounter.objects.select_related("assignment__unit", "assignment__incident", "destination")
        .filter(pk=task.payload.get("encounter_id"))
        .first()
    )
    if encounter is None:
        logger.warning("delivery task %s: encounter gone, nothing sent", task.pk)
        return None
    hospital = encounter.destination
    if hospital is None or hospital.pk != task.payload.get("hospital_id"):
        # The crew chose another hospital since: this one no longer expects the patient.
        logger.info(
            "delivery task %s (%s) for encounter %s: destination changed, not sent",
            task.pk,
            task.kind,
            encounter.public_id,
        )
        return None
    return encounter, hospital


def _give_up(task: OutboxTask, error: str) -> dict[str, Any]:
    """Finish the task without a retry and leave it `failed` for a person to look at.

    The outbox retries every exception, so a rejection is returned as a result (the task is
    marked done with the handler's transaction) and turned into `failed` once that commits.
    """
    task_id = task.pk

    def mark_failed() -> None:
        OutboxTask.objects.filter(pk=task_id, status=OutboxTask.Status.DONE).update(
            status=OutboxTask.Status.FAILED, last_error=f"rejected: {error}"[:200]
        )

    transaction.on_commit(mark_failed)
    logger.error("delivery task %s (%s) rejected, not retried: %s", task_id, task.kind, error)
    return {"delivered": False, "error": error[:200]}


def _failed(task: OutboxTask, error: DeliveryError) -> dict[str, Any]:
    if error.retryable:
        raise OutboxError(error.message) from None
    return _give_up(task, error.message)


def fhir_deliver(task: OutboxTask) -> dict[str, Any] | None:
    """Outbox handler `handoff.fhir`: POST the current encounter Bundle to the hospital."""
    found = _encounter_for(task)
    if found is None:
        return {"delivered": False, "skipped": True}
    encounter, hospital = found
    if not _has_fhir(hospital):
        return {"delivered": False, "skipped": True}
    try:
        bundle = encounter_bundle(selectors.encounter_document(encounter))
    except ValueError:
        # The record cannot be exported as it is; sending it again would fail the same way.
        return _give_up(task, "FHIR Bundle could not be built")
    try:
        receipt = send_fhir(hospital.fhir_endpoint, bundle, timeout=TIMEOUT_SECONDS)
    except DeliveryError as error:
        return _failed(task, error)
    logger.info(
        "delivery task %s: FHIR Bundle of encounter %s to %s, HTTP %s",
        task.pk,
        encounter.public_id,
        hospital.code,
        receipt.status,
    )
    return {"delivered": True, "status": receipt.status, "location": receipt.location}


def hl7_deliver(task: OutboxTask) -> dict[str, Any] | None:
    """Outbox handler `handoff.hl7`: send the current ADT message over MLLP, wait for AA."""
    trigger: Literal["A05", "A04", "A08"] = task.payload.get("trigger", "A08")
    found = _encounter_for(task)
    if found is None:
        return {"delivered": False, "skipped": True}
    encounter, hospital = found
    if not _has_hl7(hospital):
        return {"delivered": False, "skipped": True}
    # MSH-10 (at most 20 characters) is the task's: a retry is the same message again.
    control_id = f"GH{task.pk:010d}"
    try:
        message = adt_message(
            selectors.encounter_document(encounter),
            trigger,
            sending_facility=SENDING_FACILITY,
            receiving_facility=hospital.code,
            control_id=control_id,
            now=timezone.now(),
        )
    except ValueError:
        return _give_up(task, f"ADT^{trigger} could not be built")
    try:
        receipt = send_mllp(
            hospital.hl7_host,
            hospital.hl7_port,  # type: ignore[arg-type]  # _has_hl7 checked it
            message,
            timeout=TIMEOUT_SECONDS,
        )
    except DeliveryError as error:
        return _failed(task, error)
    logger.info(
        "delivery task %s: ADT^%s of encounter %s to %s, ACK %s",
        task.pk,
        trigger,
        encounter.public_id,
        hospital.code,
        receipt.code,
    )
    return {"delivered": True, "ack": receipt.code, "control_id": receipt.control_id}


register_outbox_handler(
    FHIR_KIND, fhir_deliver, lease_seconds=LEASE_SECONDS, max_attempts=MAX_ATTEMPTS
)
register_outbox_handler(
    HL7_KIND, hl7_deliver, lease_seconds=LEASE_SECONDS, max_attempts=MAX_ATTEMPTS
)
