"""Deliver the handoff to the destination hospital's systems: HL7 v2 ADT over MLLP, FHIR.

The services enqueue outbox tasks (outbox/services.py) in their own transaction, with the
encounter id and the hospital id only. The handlers below reload the encounter and build
the message when they run, so a retry sends the record as it is then, not as it was when
the task was written. A retryable `DeliveryError` is raised (as an `OutboxError`, whose
message is safe: status and ACK codes only) and the outbox backs off and tries again; a
non-retryable one (the receiver rejected the content: HTTP 4xx, ACK AE/AR/CE/CR) gives up
at once and the task ends `failed`, keeping the receiver's reason in its result and telling
the crew and the dispatch centre (`handoff.delivery.failed`). Logs name the task, the
encounter's public id and the hospital code, never patient data. docs/interop.md, "Delivery".

What a hospital already has is read from the delivered tasks themselves: each delivered
task's `result` records the document version and identifier it sent (FHIR), the OBX
digests and medication ids the receiver acknowledged (HL7). The next delivery to that
hospital replaces that version and leaves out what was acknowledged; a cancel starts over.

Every attempt is a disclosure in the audit chain (action "disclose" on the encounter): the
hospital, the endpoint, the user whose action enqueued it (or none: the system) and the
outcome, "delivered", "rejected" (by the receiver), "failed" (retried; the receiver may
have got it) or "refused" (the endpoint is outside the allow-list: nothing was sent).
docs/security.md, "Delivery endpoints".
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable
from datetime import datetime
from typing import Any, Final, Literal, cast

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from audit.services import audit_record
from dispatch.models import OPEN_INCIDENT_STATUSES
from handoff import events, selectors
from handoff.endpoints import fhir_origin, mllp_address
from handoff.interop.delivery import (
    DeliveryError,
    fhir_endpoint_problem,
    mllp_endpoint_problem,
    send_fhir,
    send_mllp,
)
from handoff.interop.document import EncounterDocument
from handoff.interop.fhir import encounter_bundle
from handoff.interop.hl7 import Trigger, adt_message, medication_message, observation_digests
from handoff.models import Encounter, EncounterStatus, Hospital
from handoff.services._common import _crew_streams
from outbox.models import OutboxTask
from outbox.services import OutboxError, outbox_enqueue, register_outbox_handler
from realtime.events import event_record

logger = logging.getLogger(__name__)

FHIR_KIND: Final = "handoff.fhir"
HL7_KIND: Final = "handoff.hl7"
SENDING_FACILITY: Final = "GOLDENHOUR"
# Each bounds one send; the outbox lease must outlast it (the send runs inside the claim).
TIMEOUT_SECONDS: Final = 15.0
LEASE_SECONDS: Final = 60
MAX_ATTEMPTS: Final = 12
# "O17" is RAS^O17 (medications given); the rest are ADT triggers.
Hl7Trigger = Literal["A05", "A04", "A08", "A38", "O17"]


def _has_fhir(hospital: Hospital | None) -> bool:
    return hospital is not None and bool(hospital.fhir_endpoint)


def _has_hl7(hospital: Hospital | None) -> bool:
    return hospital is not None and bool(hospital.hl7_host) and hospital.hl7_port is not None


def _triggered_by(actor: Any) -> int | None:
    return actor.pk if getattr(actor, "is_authenticated", False) else None


def delivery_enqueue(
    encounter: Encounter, trigger: Hl7Trigger | None, *, fhir: bool, actor: Any
) -> None:
    """Enqueue an HL7 v2 `trigger` and/or the FHIR Bundle for the encounter's destination.

    Call inside the service's transaction, after the encounter's `updated_at` is set: the
    idempotency keys carry it, so one change is delivered once and the next change again.
    A04 (arrival) happens once per encounter and is keyed without it. Nothing is enqueued
    without a destination or for an endpoint the destination does not have. `actor` is the
    user whose action causes the delivery (None: the system), named in its disclosure.
    """
    hospital = encounter.destination
    if hospital is None:
        return
    payload = {
        "encounter_id": encounter.pk,
        "hospital_id": hospital.pk,
        "triggered_by": _triggered_by(actor),
    }
    version = encounter.updated_at.isoformat()
    if trigger is not None and _has_hl7(hospital):
        key = f"hl7:{trigger}:{encounter.public_id}:{hospital.pk}"
        if trigger != "A04":
            key += f":{version}"
        outbox_enqueue(kind=HL7_KIND, key=key, payload={**payload, "trigger": trigger})
    if fhir and _has_fhir(hospital):
        key = f"fhir:{encounter.public_id}:{hospital.pk}:{version}"
        outbox_enqueue(kind=FHIR_KIND, key=key, payload=payload)


def delivery_cancel_enqueue(encounter: Encounter, hospital: Hospital, *, actor: Any) -> None:
    """Tell `hospital` the encounter will not come: ADT^A38 and a cancelled FHIR document.

    Call inside the service's transaction (a reroute away from `hospital`, or the crew
    closing the encounter before arrival), after `updated_at` is set. Sent only if that
    hospital was sent something for this encounter (checked when the task runs).
    """
    payload = {
        "encounter_id": encounter.pk,
        "hospital_id": hospital.pk,
        "cancel": True,
        "triggered_by": _triggered_by(actor),
    }
    version = encounter.updated_at.isoformat()
    if _has_hl7(hospital):
        outbox_enqueue(
            kind=HL7_KIND,
            key=f"hl7:A38:{encounter.public_id}:{hospital.pk}:{version}",
            payload={**payload, "trigger": "A38"},
        )
    if _has_fhir(hospital):
        outbox_enqueue(
            kind=FHIR_KIND,
            key=f"fhir:cancel:{encounter.public_id}:{hospital.pk}:{version}",
            payload=payload,
        )


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
    hospital_id = task.payload.get("hospital_id")
    if task.payload.get("cancel"):
        hospital = Hospital.objects.filter(pk=hospital_id).first()
        if hospital is None or (
            encounter.destination_id == hospital.pk and encounter.status == EncounterStatus.OPEN
        ):
            # Rerouted back to this hospital since: it expects the patient again.
            logger.info("delivery task %s: cancel overtaken, not sent", task.pk)
            return None
        return encounter, hospital
    if encounter.status == EncounterStatus.CLOSED and encounter.arrived_at is None:
        # Closed before arrival: the hospital was (or is being) sent the cancel; an update
        # still waiting for its retry must not announce the patient again after it.
        logger.info("delivery task %s: encounter closed before arrival, not sent", task.pk)
        return None
    hospital = encounter.destination
    if hospital is None or hospital.pk != hospital_id:
        # The crew chose another hospital since: this one no longer expects the patient.
        logger.info(
            "delivery task %s (%s) for encounter %s: destination changed, not sent",
            task.pk,
            task.kind,
            encounter.public_id,
        )
        return None
    return encounter, hospital


def _delivered(task: OutboxTask) -> list[dict[str, Any]]:
    """Results of the earlier tasks of this kind that reached this hospital, oldest first;
    for HL7 only those since the last A38 (after it the receiver has nothing).

    Raises OutboxError while another task for the same hospital is being sent: what it
    sends is not known yet, and a cancel must not overtake the message it cancels.
    """
    same = OutboxTask.objects.filter(
        kind=task.kind,
        payload__encounter_id=task.payload.get("encounter_id"),
        payload__hospital_id=task.payload.get("hospital_id"),
    ).exclude(pk=task.pk)
    if same.filter(status=OutboxTask.Status.CLAIMED, pk__lt=task.pk).exists():
        raise OutboxError("an earlier delivery to this hospital is in flight")
    results: list[dict[str, Any]] = []
    for result in (
        same.filter(status=OutboxTask.Status.DONE, result__delivered=True)
        .order_by("done_at", "pk")
        .values_list("result", flat=True)
    ):
        if result is None:
            continue
        # An A38 makes the receiver drop the pre-admission, so HL7 starts over; a FHIR
        # receiver keeps the documents, and the next version replaces the cancel document.
        results = [] if result.get("cancel") and task.kind == HL7_KIND else [*results, result]
    return results


def _cancel_document(
    doc: EncounterDocument, hospital: Hospital, task: OutboxTask
) -> EncounterDocument:
    """The document a hospital that no longer receives the patient is sent: who, and that
    the encounter is cancelled; nothing recorded for another hospital (least disclosure).

    `updated_at` is the task's time, so this version's identifier is its own and not the
    one of the document the new destination gets for the same change.
    """
    patient = dataclasses.replace(doc.patient, mrn=None)
    return dataclasses.replace(
        doc,
        status="cancelled",
        hospital_code=hospital.code,
        hospital_name=hospital.name,
        destination_reason="",
        chief_complaint="",
        working_impression="",
        working_impression_code=None,
        allergies=[],
        medications=[],
        history=[],
        last_known_well=None,
        eta=None,
        patient=patient,
        vitals=[],
        procedures=[],
        medications_given=[],
        activations=[],
        updated_at=task.created_at,
    )


def _give_up(
    task: OutboxTask,
    error: str,
    *,
    reason: str = "",
    encounter: Encounter | None = None,
    hospital: Hospital | None = None,
    outcome: str = "rejected",
) -> dict[str, Any]:
    """Finish the task without a retry and leave it `failed` for a person to look at.

    The outbox retries every exception, so a rejection is returned as a result (the task is
    marked done with the handler's transaction) and turned into `failed` once that commits.
    The result keeps the receiver's `reason` (never logged); with the encounter and the
    hospital, the crew and the dispatch centre are told (`delivery_failed_emit`).
    """
    task_id = task.pk

    def mark_failed() -> None:
        OutboxTask.objects.filter(pk=task_id, status=OutboxTask.Status.DONE).update(
            status=OutboxTask.Status.FAILED, last_error=f"rejected: {error}"[:200]
        )

    transaction.on_commit(mark_failed)
    logger.error("delivery task %s (%s) rejected, not retried: %s", task_id, task.kind, error)
    if encounter is not None and hospital is not None:
        delivery_failed_emit(task, encounter, hospital, outcome=outcome, error=error, reason=reason)
    result = {"delivered": False, "error": error[:200], "reason": reason}
    # "not_sent": our side (configuration, a record that cannot be exported), not the hospital's.
    return result if outcome == "rejected" else {**result, "outcome": outcome}


CHANNEL: Final = {HL7_KIND: "HL7 v2", FHIR_KIND: "FHIR"}


def delivery_failure(
    task: OutboxTask,
    encounter: Encounter,
    hospital: Hospital,
    *,
    outcome: str,
    error: str,
    reason: str,
    at: datetime | None = None,
) -> dict[str, Any]:
    """What the crew and the dispatcher are told of a failed delivery: which message to which
    hospital, rejected (by the receiver), failed (retries used up) or not_sent (refused on
    our side: endpoint, configuration, export), and the reason; identifiers of the job, no
    clinical data."""
    assignment = encounter.assignment
    return {
        "task_id": task.pk,
        "assignment_id": assignment.pk,
        "incident_id": assignment.incident_id,
        "unit_id": assignment.unit_id,
        "call_sign": assignment.unit.call_sign,
        "hospital_id": hospital.pk,
        "hospital": hospital.name,
        "channel": CHANNEL.get(task.kind, task.kind),
        "message": task.payload.get("trigger")
        or ("cancel" if task.payload.get("cancel") else "document"),
        "outcome": outcome,
        "reason": reason or error,
        "failed_at": (at or timezone.now()).isoformat(),
    }


def delivery_failed_emit(
    task: OutboxTask,
    encounter: Encounter,
    hospital: Hospital,
    *,
    outcome: str,
    error: str,
    reason: str,
) -> None:
    """`handoff.delivery.failed` to the crew's tablet (with the encounter, while the crew
    follows it) and to the dispatch centre of the incident (without it: a dispatcher gets
    the delivery's status and reason, not the patient)."""
    failure = delivery_failure(
        task, encounter, hospital, outcome=outcome, error=error, reason=reason
    )
    _delivery_emit(events.DELIVERY_FAILED, encounter, failure)


def _delivery_emit(event_type: str, encounter: Encounter, data: dict[str, Any]) -> None:
    for stream in _crew_streams(encounter):
        event_record(
            stream=stream,
            event_type=event_type,
            data={
                **data,
                "encounter_id": str(encounter.public_id),
                "temp_identifier": encounter.temp_identifier,
            },
        )
    event_record(
        stream=events.centre_group(encounter.assignment.incident.centre_id),
        event_type=event_type,
        data=data,
    )


def delivery_recovered_emit(task: OutboxTask, encounter: Encounter, hospital: Hospital) -> None:
    """`handoff.delivery.delivered` when this delivery follows a failed one of the same
    channel that the crew and the centre were shown: they clear it. Nothing is sent for the
    deliveries that follow a success (the screens show only failures)."""
    shown = delivery_failures_latest([encounter]).get(encounter.pk)
    if shown is None or shown["channel"] != CHANNEL.get(task.kind, task.kind):
        return
    delivered = delivery_failure(
        task, encounter, hospital, outcome="delivered", error="", reason=""
    )
    _delivery_emit(
        events.DELIVERY_DELIVERED, encounter, {**delivered, "cleared_task_id": shown["task_id"]}
    )


class _RetryableDeliveryError(OutboxError):
    """A retryable failure, carrying its disclosure row for `_disclose_failed_attempt`."""

    def __init__(self, message: str, disclosure: dict[str, Any]) -> None:
        super().__init__(message)
        self.disclosure = disclosure


def _disclosure(
    task: OutboxTask,
    encounter: Encounter,
    hospital: Hospital,
    *,
    endpoint: str,
    outcome: str,
    **extra: Any,
) -> dict[str, Any]:
    return {
        "encounter": str(encounter.public_id),
        "detail": {
            "via": "outbox",
            "kind": task.kind,
            "task": task.pk,
            "attempt": task.attempts,
            "hospital": hospital.pk,
            "endpoint": endpoint,
            "outcome": outcome,
            "triggered_by": task.payload.get("triggered_by"),
            **extra,
        },
    }


def _record_disclosure(task: OutboxTask, row: dict[str, Any]) -> None:
    triggered_by = task.payload.get("triggered_by")
    actor = get_user_model().objects.filter(pk=triggered_by).first() if triggered_by else None
    audit_record(
        actor=actor,
        action="disclose",
        object_type="encounter",
        object_id=row["encounter"],
        detail=row["detail"],
    )


def _disclose_failed_attempt(task: OutboxTask, exc: BaseException) -> None:
    """Outbox on_failure: the handler's transaction (and its audit row) rolled back. When
    that was the last attempt (a receiver unreachable for the whole back-off), the task is
    `failed` now and the crew and the centre are told as of a rejection."""
    if not isinstance(exc, _RetryableDeliveryError):
        return
    _record_disclosure(task, exc.disclosure)
    if task.status != OutboxTask.Status.FAILED:
        return
    found = _encounter_for(task)
    if found is not None:
        encounter, hospital = found
        delivery_failed_emit(
            task, encounter, hospital, outcome="failed", error=str(exc), reason=str(exc)
        )


def _disclose_delivered(
    task: OutboxTask, encounter: Encounter, hospital: Hospital, endpoint: str
) -> None:
    row = _disclosure(task, encounter, hospital, endpoint=endpoint, outcome="delivered")
    _record_disclosure(task, row)
    delivery_recovered_emit(task, encounter, hospital)


def _failed(
    task: OutboxTask,
    encounter: Encounter,
    hospital: Hospital,
    endpoint: str,
    error: DeliveryError,
) -> dict[str, Any]:
    """A failed send, still a disclosure (the receiver may have the record): a retryable
    error is raised for the outbox to try again, a rejection gives up."""
    outcome = "failed" if error.retryable else "rejected"
    row = _disclosure(
        task, encounter, hospital, endpoint=endpoint, outcome=outcome, status=error.status
    )
    if error.retryable:
        raise _RetryableDeliveryError(error.message, row) from None
    _record_disclosure(task, row)
    return _give_up(
        task, error.message, reason=error.reason, encounter=encounter, hospital=hospital
    )


def _refused(
    task: OutboxTask, encounter: Encounter, hospital: Hospital, endpoint: str, problem: str
) -> dict[str, Any]:
    """An endpoint outside the allow-list: nothing sent, the task failed, the attempt audited."""
    _record_disclosure(
        task, _disclosure(task, encounter, hospital, endpoint=endpoint, outcome="refused")
    )
    return _give_up(
        task,
        f"endpoint refused: {problem}",
        encounter=encounter,
        hospital=hospital,
        outcome="not_sent",
    )


def fhir_deliver(task: OutboxTask) -> dict[str, Any] | None:
    """Outbox handler `handoff.fhir`: POST the current encounter Bundle to the hospital.

    Each version replaces the last one the hospital accepted (`Composition.relatesTo`);
    the result records the version number and the document identifier sent.
    """
    found = _encounter_for(task)
    if found is None:
        return {"delivered": False, "skipped": True}
    encounter, hospital = found
    if not _has_fhir(hospital):
        return {"delivered": False, "skipped": True}
    endpoint = fhir_origin(hospital.fhir_endpoint)
    problem = fhir_endpoint_problem(hospital.fhir_endpoint)
    if problem is not None:
        return _refused(task, encounter, hospital, endpoint, problem)
    cancel = bool(task.payload.get("cancel"))
    earlier = _delivered(task)
    if cancel and not earlier:
        return {"delivered": False, "skipped": True, "reason": "nothing was sent there"}
    previous = earlier[-1]["document"] if earlier else None
    try:
        doc = selectors.encounter_document(encounter)
        if cancel:
            doc = _cancel_document(doc, hospital, task)
        bundle = encounter_bundle(doc, replaces=previous)
    except ValueError:
        # The record cannot be exported as it is; sending it again would fail the same way.
        return _give_up(
            task,
            "FHIR Bundle could not be built",
            encounter=encounter,
            hospital=hospital,
            outcome="not_sent",
        )
    if previous == bundle["identifier"]:
        # An earlier task already sent this version (it ran after this change too).
        return {"delivered": False, "skipped": True, "reason": "version already sent"}
    try:
        receipt = send_fhir(hospital.fhir_endpoint, bundle, timeout=TIMEOUT_SECONDS)
    except DeliveryError as error:
        return _failed(task, encounter, hospital, endpoint, error)
    _disclose_delivered(task, encounter, hospital, endpoint)
    version = len(earlier) + 1
    logger.info(
        "delivery task %s: FHIR Bundle v%s of encounter %s to %s, HTTP %s",
        task.pk,
        version,
        encounter.public_id,
        hospital.code,
        receipt.status,
    )
    return {
        "delivered": True,
        "status": receipt.status,
        "location": receipt.location,
        "version": version,
        "document": bundle["identifier"],
        "replaces": previous["value"] if previous else None,
        "cancel": cancel,
    }


def delivery_failures_latest(encounters: Iterable[Encounter]) -> dict[int, dict[str, Any]]:
    """{encounter pk: its newest failed delivery to its current destination}, for the
    encounters whose newest decided delivery (HL7 or FHIR) failed; a later accepted one of
    the same kind clears it. What `handoff.delivery.failed` carried, for a page load.

    The encounters need `assignment__unit` and `destination` loaded.
    """
    by_pk = {e.pk: e for e in encounters if e.destination_id is not None}
    if not by_pk:
        return {}
    newest: dict[tuple[int, str], OutboxTask] = {}
    decided = OutboxTask.objects.filter(
        kind__in=(HL7_KIND, FHIR_KIND), payload__encounter_id__in=list(by_pk)
    ).filter(
        Q(status=OutboxTask.Status.FAILED)
        | Q(status=OutboxTask.Status.DONE, result__delivered=True)
    )
    for task in decided.order_by("pk"):
        encounter = by_pk.get(task.payload.get("encounter_id"))
        if encounter is None or task.payload.get("hospital_id") != encounter.destination_id:
            continue
        newest[(encounter.pk, task.kind)] = task
    found: dict[int, dict[str, Any]] = {}
    for (pk, _kind), task in sorted(newest.items(), key=lambda item: item[1].pk):
        if task.status != OutboxTask.Status.FAILED:
            continue
        encounter = by_pk[pk]
        result = task.result if isinstance(task.result, dict) else {}
        rejected = "error" in result
        error = str(result["error"]) if rejected else task.last_error.removeprefix("OutboxError: ")
        found[pk] = delivery_failure(
            task,
            encounter,
            cast(Hospital, encounter.destination),
            outcome=str(result.get("outcome", "rejected")) if rejected else "failed",
            error=error,
            reason=str(result.get("reason") or ""),
            at=task.done_at or task.claimed_at or task.created_at,
        )
    return found


def centre_delivery_failures(centre_id: int) -> list[dict[str, Any]]:
    """The newest failed delivery of each encounter of the centre's open incidents, as the
    centre's `handoff.delivery.failed` carries it (no encounter, no patient data)."""
    encounters = Encounter.objects.filter(
        assignment__incident__centre_id=centre_id,
        assignment__incident__status__in=OPEN_INCIDENT_STATUSES,
        destination__isnull=False,
    ).select_related("assignment__unit", "destination")
    return list(delivery_failures_latest(encounters).values())


def _hl7_build(
    task: OutboxTask,
    trigger: Hl7Trigger,
    encounter: Encounter,
    hospital: Hospital,
    earlier: list[dict[str, Any]],
) -> tuple[str | None, dict[str, Any]]:
    """The message for the task and what the result records of it (ValueError: unbuildable)."""
    # MSH-10 (at most 20 characters) is the task's: a retry is the same message again.
    header: dict[str, Any] = {
        "sending_facility": SENDING_FACILITY,
        "receiving_application": hospital.hl7_receiving_application,
        "receiving_facility": hospital.hl7_receiving_facility or hospital.code,
        "control_id": f"GH{task.pk:010d}",
        "now": timezone.now(),
    }
    doc = selectors.encounter_document(encounter)
    if trigger == "A38":
        return adt_message(_cancel_document(doc, hospital, task), "A38", **header), {"cancel": True}
    if trigger == "O17":
        sent_ids = {med for result in earlier for med in result.get("medications", ())}
        message = medication_message(doc, exclude=sent_ids, **header)
        new = sorted({med.id for med in doc.medications_given} - sent_ids)
        return message, {"medications": new}
    sent: dict[str, str] = {}
    for result in earlier:
        sent |= result.get("obx", {})
    message = adt_message(doc, cast(Trigger, trigger), sent_observations=sent, **header)
    return message, {"obx": observation_digests(doc)}


def hl7_deliver(task: OutboxTask) -> dict[str, Any] | None:
    """Outbox handler `handoff.hl7`: send the current ADT or RAS message over MLLP, wait for AA.

    OBX groups and medications the hospital has acknowledged before are left out; the
    result records what this message added.
    """
    trigger: Hl7Trigger = task.payload.get("trigger", "A08")
    found = _encounter_for(task)
    if found is None:
        return {"delivered": False, "skipped": True}
    encounter, hospital = found
    if not _has_hl7(hospital):
        return {"delivered": False, "skipped": True}
    endpoint = mllp_address(hospital.hl7_host, hospital.hl7_port)
    problem = mllp_endpoint_problem(hospital.hl7_host, hospital.hl7_port)
    if problem is not None:
        return _refused(task, encounter, hospital, endpoint, problem)
    earlier = _delivered(task)
    if trigger == "A38" and not earlier:
        return {"delivered": False, "skipped": True, "reason": "nothing was sent there"}
    if not hospital.hl7_receiving_application:
        return _give_up(
            task,
            "hospital has no hl7_receiving_application (MSH-5)",
            encounter=encounter,
            hospital=hospital,
            outcome="not_sent",
        )
    try:
        message, record = _hl7_build(task, trigger, encounter, hospital, earlier)
    except ValueError:
        return _give_up(
            task,
            f"HL7 {trigger} could not be built",
            encounter=encounter,
            hospital=hospital,
            outcome="not_sent",
        )
    if message is None:
        return {"delivered": False, "skipped": True, "reason": "nothing new"}
    try:
        receipt = send_mllp(
            hospital.hl7_host,
            hospital.hl7_port,  # type: ignore[arg-type]  # _has_hl7 checked it
            message,
            timeout=TIMEOUT_SECONDS,
        )
    except DeliveryError as error:
        return _failed(task, encounter, hospital, endpoint, error)
    _disclose_delivered(task, encounter, hospital, endpoint)
    logger.info(
        "delivery task %s: HL7 %s of encounter %s to %s, ACK %s",
        task.pk,
        trigger,
        encounter.public_id,
        hospital.code,
        receipt.code,
    )
    return {
        "delivered": True,
        "ack": receipt.code,
        "control_id": receipt.control_id,
        "trigger": trigger,
        **record,
    }


for _kind, _handler in ((FHIR_KIND, fhir_deliver), (HL7_KIND, hl7_deliver)):
    register_outbox_handler(
        _kind,
        _handler,
        lease_seconds=LEASE_SECONDS,
        max_attempts=MAX_ATTEMPTS,
        on_failure=_disclose_failed_attempt,
    )
