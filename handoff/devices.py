"""Device items of the crew tablet for the handoff: encounter, vitals, message, destination,
intervention and medication (the ATMIST Treatment), arrival and the crew's transfer-of-care
confirmation.

Each handler translates the item's data and calls one service; domain refusals become typed
rejections naming the field. Encounters are named by their `public_id`, which the tablet
may generate itself, so a record started offline can carry vitals before the server has
seen it (items are applied in sequence order).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from typing import Any
from uuid import UUID

from django.core.exceptions import ObjectDoesNotExist, PermissionDenied

from audit.context import audit_context
from handoff import access, selectors
from handoff.models import Encounter
from handoff.services import HandoffError
from handoff.services.board import crew_message_send
from handoff.services.destination import destination_set
from handoff.services.encounters import encounter_open, encounter_update
from handoff.services.handover import patient_arrived, transfer_of_care_confirm
from handoff.services.treatment import intervention_record, medication_record
from handoff.services.vitals import VitalsRequest, vitals_record, vitals_record_many
from realtime.devices import BatchItem, ItemRejected, ItemType, item_number

_SNOMED = re.compile(r"^[0-9]{6,16}$")


def _domain(call: Callable[[], Any], fields: dict[str, str] | None = None) -> Any:
    """Run a service; its refusal becomes a rejection naming the item's own field name."""
    try:
        return call()
    except HandoffError as exc:
        field = (fields or {}).get(exc.field or "", exc.field)
        raise ItemRejected(field, exc.message, exc.code) from None
    except PermissionDenied as exc:
        raise ItemRejected("encounter", str(exc) or "Not yours.", "forbidden") from None


def _uuid(data: dict[str, Any], name: str = "encounter") -> UUID:
    raw = data.get(name)
    try:
        return UUID(str(raw)) if isinstance(raw, str) else UUID("")
    except ValueError:
        raise ItemRejected(name, f"{name} must be the encounter's UUID.") from None


def _encounter(user: Any, data: dict[str, Any]) -> Encounter:
    public_id = _uuid(data)
    try:
        return access.access_crew_encounter(user, public_id)
    except ObjectDoesNotExist:
        raise ItemRejected("encounter", f"No encounter {public_id}.", "unknown") from None
    except PermissionDenied:
        raise ItemRejected(
            "encounter", "Not an open encounter of your unit.", "forbidden"
        ) from None


def _string(data: dict[str, Any], name: str, *, required: bool = True) -> str:
    value = data.get(name, None if required else "")
    if not isinstance(value, str):
        raise ItemRejected(name, f"{name} must be a string.")
    return value


def encounter(user: Any, device_id: str, data: dict[str, Any]) -> dict[str, Any]:
    """Open an encounter (first time its id is seen) or update it: `{encounter,
    assignment_id, fields: {...}}`."""
    public_id = _uuid(data)
    changes = data.get("fields", {})
    if not isinstance(changes, dict):
        raise ItemRejected("fields", "fields must be an object.")
    existing = Encounter.objects.filter(public_id=public_id).first()
    if existing is None:
        assignment_id = data.get("assignment_id")
        if isinstance(assignment_id, bool) or not isinstance(assignment_id, int):
            raise ItemRejected("assignment_id", "assignment_id must be an integer id.")
        try:
            opened = _domain(
                lambda: encounter_open(
                    user=user, assignment_id=assignment_id, public_id=public_id, data=changes
                )
            )
        except ObjectDoesNotExist:
            raise ItemRejected(
                "assignment_id", f"No assignment {assignment_id}.", "unknown"
            ) from None
        return {"encounter": str(opened.public_id), "temp_identifier": opened.temp_identifier}
    target = _encounter(user, data)
    updated = _domain(lambda: encounter_update(user=user, encounter_id=target.pk, data=changes))
    return {"encounter": str(updated.public_id), "temp_identifier": updated.temp_identifier}


def _vitals_answer(stored: Any) -> dict[str, Any]:
    return {
        "vitals_id": stored.client_id,
        "news2_total": stored.news2_total,
        "news2_risk": stored.news2_risk,
        "flags": stored.flags,
    }


def _vitals_request(
    user: Any, device_id: str, data: dict[str, Any], encounter_id: int
) -> VitalsRequest:
    values = data.get("vitals")
    if not isinstance(values, dict):
        raise ItemRejected("vitals", "vitals must be an object.")
    return VitalsRequest(
        user=user,
        encounter_id=encounter_id,
        data=values,
        client_id=str(data.get("vitals_id") or f"{device_id}:{data.get('taken_at')}")[:64],
        device_id=device_id,
        taken_at=data.get("taken_at"),
    )


def vitals(user: Any, device_id: str, data: dict[str, Any]) -> dict[str, Any]:
    """One vitals set: `{encounter, vitals_id, taken_at, vitals: {...}}`."""
    target = _encounter(user, data)
    request = _vitals_request(user, device_id, data, target.pk)
    stored = _domain(
        lambda: vitals_record(
            user=user,
            encounter_id=request.encounter_id,
            data=request.data,
            client_id=request.client_id,
            device_id=device_id,
            taken_at=request.taken_at,
        ),
        {"client_id": "vitals_id"},
    )
    return _vitals_answer(stored)


def vitals_batch(items: list[BatchItem]) -> None:
    """The vitals sets of an ingest tick, of every encounter at once (set-based)."""
    wanted: list[tuple[BatchItem, UUID]] = []
    for item in items:
        try:
            wanted.append((item, _uuid(item.data)))
        except ItemRejected as exc:
            item.reject(exc.field, exc.message, exc.code)
    found = access.crew_encounters(list({public_id for _, public_id in wanted}))
    requests: list[tuple[BatchItem, VitalsRequest]] = []
    for item, public_id in wanted:
        target = found.get(public_id)
        try:
            if target is None:
                raise ItemRejected("encounter", f"No encounter {public_id}.", "unknown")
            with audit_context(item.context):
                try:
                    access.check_crew_encounter(item.user, target)
                except PermissionDenied:
                    raise ItemRejected(
                        "encounter", "Not an open encounter of your unit.", "forbidden"
                    ) from None
            request = _vitals_request(item.user, item.device_id, item.data, target.pk)
        except ItemRejected as exc:
            item.reject(exc.field, exc.message, exc.code)
            continue
        request.context = item.context
        requests.append((item, request))
    outcomes = vitals_record_many(requests=[request for _, request in requests])
    for (item, _), outcome in zip(requests, outcomes, strict=True):
        if isinstance(outcome, HandoffError):
            field = "vitals_id" if outcome.field == "client_id" else outcome.field
            item.reject(field, outcome.message, outcome.code)
        elif isinstance(outcome, PermissionDenied):
            item.reject("encounter", str(outcome) or "Not yours.", "forbidden")
        else:
            item.accept(_vitals_answer(outcome))


def message(user: Any, device_id: str, data: dict[str, Any]) -> dict[str, Any]:
    """A message to the receiving ED: `{encounter, message_id, text}`."""
    target = _encounter(user, data)
    text = _string(data, "text")
    message_id = _string(data, "message_id", required=False)
    sent = _domain(
        lambda: crew_message_send(
            user=user, encounter_id=target.pk, text=text, client_id=message_id
        ),
        {"client_id": "message_id"},
    )
    return {"message_id": sent.pk}


def destination(user: Any, device_id: str, data: dict[str, Any]) -> dict[str, Any]:
    """Choose the receiving hospital: `{encounter, hospital_id, reason}` (eDisposition.20)."""
    target = _encounter(user, data)
    hospital_id = data.get("hospital_id")
    if isinstance(hospital_id, bool) or not isinstance(hospital_id, int):
        raise ItemRejected("hospital", "hospital_id must be an integer id.")
    reason = _string(data, "reason")
    updated = _domain(
        lambda: destination_set(
            user=user, encounter_id=target.pk, hospital_id=hospital_id, reason=reason
        )
    )
    return {
        "encounter": str(updated.public_id),
        "hospital_id": updated.destination_id,
        "warnings": selectors.destination_warnings(updated),
    }


def _time(data: dict[str, Any], name: str) -> str:
    value = data.get(name)
    if not isinstance(value, str) or not value:
        raise ItemRejected(name, f"{name} must be an ISO 8601 time with a time zone.")
    return value


def _client_id(device_id: str, data: dict[str, Any], name: str, *parts: str) -> str:
    """The record's own id (`name`), or one derived from what it says: a resend of the same
    record without an id is still stored once."""
    given = data.get(name)
    if given is not None:
        if not isinstance(given, str):
            raise ItemRejected(name, f"{name} must be a string.")
        return given
    digest = hashlib.sha256("\x1f".join((device_id, *parts)).encode()).hexdigest()
    return f"{name[:3]}-{digest[:40]}"


def intervention(user: Any, device_id: str, data: dict[str, Any]) -> dict[str, Any]:
    """A procedure done: `{encounter, intervention_id?, performed_at, text, snomed_code?}`."""
    target = _encounter(user, data)
    performed_at = _time(data, "performed_at")
    text = _string(data, "text")
    code = data.get("snomed_code")
    if code is None:
        code = ""
    if not isinstance(code, str) or (code and not _SNOMED.match(code)):
        raise ItemRejected("snomed_code", "snomed_code must be a SNOMED CT id of 6-16 digits.")
    client_id = _client_id(device_id, data, "intervention_id", performed_at, text)
    stored = _domain(
        lambda: intervention_record(
            user=user,
            encounter_id=target.pk,
            client_id=client_id,
            text=text,
            code=code,
            performed_at=performed_at,
        ),
        {"client_id": "intervention_id", "code": "snomed_code"},
    )
    return {"intervention_id": stored.client_id, "performed_at": stored.performed_at.isoformat()}


def medication(user: Any, device_id: str, data: dict[str, Any]) -> dict[str, Any]:
    """A medication given: `{encounter, medication_id?, given_at, name, dose?, dose_unit?,
    route?, dose_confirmed?}`."""
    target = _encounter(user, data)
    given_at = _time(data, "given_at")
    name = _string(data, "name")
    dose = data.get("dose")
    item_number(data, "dose", required=False)  # refuses what is not a finite number
    unit = _string(data, "dose_unit", required=False) if data.get("dose_unit") is not None else ""
    route = _string(data, "route", required=False) if data.get("route") is not None else ""
    confirmed = data.get("dose_confirmed", False)
    if not isinstance(confirmed, bool):
        raise ItemRejected("dose_confirmed", "dose_confirmed must be true or false.")
    client_id = _client_id(device_id, data, "medication_id", given_at, name, str(dose), unit, route)
    stored = _domain(
        lambda: medication_record(
            user=user,
            encounter_id=target.pk,
            client_id=client_id,
            name=name,
            dose=dose,
            unit=unit,
            route=route,
            given_at=given_at,
            dose_confirmed=confirmed,
        ),
        {"client_id": "medication_id", "unit": "dose_unit"},
    )
    return {"medication_id": stored.client_id, "given_at": stored.given_at.isoformat()}


def _handover_encounter(user: Any, data: dict[str, Any]) -> Encounter:
    public_id = _uuid(data)
    try:
        return access.access_handover_encounter(user, public_id)
    except ObjectDoesNotExist:
        raise ItemRejected("encounter", f"No encounter {public_id}.", "unknown") from None
    except PermissionDenied:
        raise ItemRejected(
            "encounter", "Not a patient your unit brought in.", "forbidden"
        ) from None


def arrival(user: Any, device_id: str, data: dict[str, Any]) -> dict[str, Any]:
    """The patient is at the destination ED (eTimes.11), sent with "At destination":
    `{encounter}`. The ED's own earlier arrival time stays."""
    target = _encounter(user, data)
    updated = _domain(lambda: patient_arrived(user=user, encounter_id=target.pk))
    return {"encounter": str(updated.public_id), "arrived_at": updated.arrived_at.isoformat()}


def transfer(user: Any, device_id: str, data: dict[str, Any]) -> dict[str, Any]:
    """The crew confirms the transfer of care: `{encounter}`. Accepted for a while after the
    crew cleared the call (handoff.access.is_handover_crew_of), so the outbox may send it
    after the "Clear" it queued first."""
    target = _handover_encounter(user, data)
    updated = _domain(lambda: transfer_of_care_confirm(user=user, encounter_id=target.pk))
    return {
        "encounter": str(updated.public_id),
        "crew_confirmed_at": updated.crew_confirmed_at.isoformat()
        if updated.crew_confirmed_at
        else None,
        "transfer_of_care_at": updated.transfer_of_care_at.isoformat()
        if updated.transfer_of_care_at
        else None,
    }


HANDOFF_ITEM_TYPES = {
    item.name: item
    for item in (
        ItemType("encounter", encounter),
        ItemType("vitals", vitals, batch=vitals_batch),
        ItemType("message", message),
        ItemType("destination", destination),
        ItemType("intervention", intervention),
        ItemType("medication", medication),
        ItemType("arrival", arrival),
        ItemType("transfer", transfer),
    )
}
