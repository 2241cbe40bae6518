"""The receiving ED's actions on its board (acknowledge, bay, open or diversion) and the
messages between crew and ED."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from dispatch import selectors as dispatch_selectors
from dispatch.models import (
    ACTIVE_ASSIGNMENT_STATUSES,
    Assignment,
    DispatchCentre,
)
from handoff import access, events, selectors
from handoff.models import (
    EDMessage,
    EDStatus,
    Encounter,
    Hospital,
    MessageSender,
)
from handoff.services import HandoffError
from handoff.services._common import (
    _audit,
    _client_id,
    _crew_streams,
    _emit_encounter,
    _lock,
    _replay_of,
    _require_open,
    _text,
    _touch,
)
from realtime.events import event_record


def ed_acknowledge(*, user: Any, encounter_id: int) -> Encounter:
    """The receiving ED has seen the incoming patient; the crew's tablet is told.

    Only staff of the destination hospital; the first acknowledgement's time stays.
    """
    now = timezone.now()
    with transaction.atomic():
        encounter = _lock(encounter_id)
        access.check_ed(user, encounter)
        _require_open(encounter)
        if encounter.ed_acknowledged_at is not None:
            return encounter
        encounter.ed_acknowledged_at = now
        encounter.ed_acknowledged_by = user
        _touch(encounter, now, "ed_acknowledged_at", "ed_acknowledged_by")
        for stream in _crew_streams(encounter):
            event_record(
                stream=stream,
                event_type=events.ED_ACKNOWLEDGED,
                data={
                    "encounter_id": str(encounter.public_id),
                    "temp_identifier": encounter.temp_identifier,
                    "hospital_id": encounter.destination_id,
                    "hospital": encounter.destination.name if encounter.destination else None,
                    "acknowledged_at": now.isoformat(),
                },
            )
        _emit_encounter(encounter)
        _audit(user, encounter, "ed_acknowledge")
    return encounter


def ed_assign_bay(*, user: Any, encounter_id: int, bay: str) -> Encounter:
    """The ED names the bay (resus 1, majors 4...) the crew should bring the patient to."""
    now = timezone.now()
    bay = _text(bay, "bay", 32) or ""
    if not bay:
        raise HandoffError("Name the bay.", field="bay")
    with transaction.atomic():
        encounter = _lock(encounter_id)
        access.check_ed(user, encounter)
        _require_open(encounter)
        encounter.bay = bay
        _touch(encounter, now, "bay")
        _emit_encounter(encounter)
        _audit(user, encounter, "bay_assign", detail={"fields": ["bay"]})
    return encounter


def _message_send(
    *, user: Any, encounter_id: int, text: str, client_id: str, sender: str
) -> EDMessage:
    now = timezone.now()
    text = _text(text, "text", 1000, multiline=True) or ""
    if not text:
        raise HandoffError("The message is empty.", field="text")
    if client_id:
        client_id = _client_id(client_id)
    with transaction.atomic():
        encounter = _lock(encounter_id)
        if sender == MessageSender.CREW:
            access.check_crew(user, encounter, open_only=False)
        else:
            access.check_ed(user, encounter)
        if client_id:
            existing = encounter.messages.filter(client_id=client_id).first()
            if existing is not None:
                _replay_of(client_id, ["text"] if existing.text != text else [])
                return existing
        _require_open(encounter)
        if encounter.destination_id is None:
            raise HandoffError(
                "Choose a destination first: messages go to its ED.", field="destination"
            )
        message = EDMessage.objects.create(
            encounter=encounter,
            sender=sender,
            author=user,
            text=text,
            sent_at=now,
            client_id=client_id,
        )
        summary = selectors.message_summary(message)
        for stream in (events.ed_group(encounter.destination_id), *_crew_streams(encounter)):
            event_record(stream=stream, event_type=events.MESSAGE_CREATED, data=summary)
        _audit(user, encounter, "message_send", detail={"message": message.pk, "sender": sender})
    return message


def crew_message_send(*, user: Any, encounter_id: int, text: str, client_id: str = "") -> EDMessage:
    """A message from the crew to the receiving ED (idempotent by `client_id` when given)."""
    return _message_send(
        user=user, encounter_id=encounter_id, text=text, client_id=client_id, sender="crew"
    )


def ed_message_send(*, user: Any, encounter_id: int, text: str, client_id: str = "") -> EDMessage:
    """A message from the receiving ED to the crew (idempotent by `client_id` when given)."""
    return _message_send(
        user=user, encounter_id=encounter_id, text=text, client_id=client_id, sender="ed"
    )


def ed_status_set(*, user: Any, hospital_id: int, status: str, reason: str = "") -> Hospital:
    """Open the ED or put it on diversion (with the reason crews and dispatchers see).

    Every dispatch centre's stream gets `handoff.hospital.updated` so the maps change at once,
    and so does the stream of every unit on a job, so its tablet re-ranks the destinations.
    """
    if status not in EDStatus.values:
        raise HandoffError(f"status must be one of {', '.join(EDStatus.values)}.", field="status")
    reason = _text(reason, "reason", 200) or ""
    if status == EDStatus.DIVERSION and not reason:
        raise HandoffError("Say why the ED is on diversion.", field="reason")
    now = timezone.now()
    with transaction.atomic():
        access.access_ed_hospital(user, hospital_id)
        hospital = Hospital.objects.select_for_update().get(pk=hospital_id)
        new_reason = reason if status == EDStatus.DIVERSION else ""
        if (hospital.ed_status, hospital.diversion_reason) == (status, new_reason):
            return hospital
        if hospital.ed_status != status:
            hospital.ed_status_changed_at = now
        hospital.ed_status = status
        hospital.diversion_reason = new_reason
        hospital.save(update_fields=["ed_status", "diversion_reason", "ed_status_changed_at"])
        summary = dispatch_selectors.hospital_summary(hospital)
        streams = [
            events.centre_group(pk)
            for pk in DispatchCentre.objects.values_list("pk", flat=True).order_by("pk")
        ]
        # The crews that may be choosing a destination now; an idle tablet ranks afresh when
        # its next patient's destination list opens. The hospital summary has no patient data.
        busy_units = Assignment.objects.filter(status__in=ACTIVE_ASSIGNMENT_STATUSES).values_list(
            "unit_id", flat=True
        )
        unit_streams = sorted({events.unit_group(pk) for pk in busy_units})
        for stream in [*streams, events.ed_group(hospital.pk), *unit_streams]:
            event_record(stream=stream, event_type=events.HOSPITAL_UPDATED, data=summary)
    return hospital
