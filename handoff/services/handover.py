"""The end of the handoff: arrival at the ED, transfer of care confirmed by both sides, the
ED's close of a card never confirmed, reconciliation with the hospital's record number."""

from __future__ import annotations

import re
from typing import Any

from django.db import transaction
from django.utils import timezone

from handoff import access
from handoff.delivery_jobs import delivery_enqueue
from handoff.models import (
    Admission,
    AdmissionStatus,
    Encounter,
    EncounterStatus,
)
from handoff.services import HandoffError
from handoff.services._common import _audit, _emit_encounter, _lock, _require_open, _text, _touch

_MRN = re.compile(r"^[A-Za-z0-9-]{1,32}$")


def patient_arrived(*, user: Any, encounter_id: int) -> Encounter:
    """The patient is at the destination ED (eTimes.11); crew or ED, first time stays."""
    now = timezone.now()
    with transaction.atomic():
        encounter = _lock(encounter_id)
        access.check_crew_or_ed(user, encounter, open_only=False)
        _require_open(encounter)
        if encounter.destination_id is None:
            raise HandoffError(
                "Choose a destination before arriving.",
                field="destination",
                code="invalid_transition",
            )
        if encounter.arrived_at is not None:
            return encounter
        encounter.arrived_at = now
        _touch(encounter, now, "arrived_at")
        Admission.objects.filter(encounter=encounter).update(
            status=AdmissionStatus.ARRIVED, updated_at=now
        )
        _emit_encounter(encounter)
        delivery_enqueue(encounter, "A04", fhir=True, actor=user)
        _audit(user, encounter, "arrive")
    return encounter


def transfer_of_care_confirm(*, user: Any, encounter_id: int) -> Encounter:
    """One side (crew or ED) confirms the handover; when both have, transfer of care is done.

    Then eTimes.12 is set, the offload time (eTimes.12 - eTimes.11) is stored and the
    encounter closes: the crew's access ends, the ED keeps it for ED_ACCESS_HOURS_AFTER_HANDOFF.
    """
    now = timezone.now()
    with transaction.atomic():
        encounter = _lock(encounter_id)
        # The transporting crew may still confirm for a while after "Clear" (handoff.access).
        side = access.check_handover_side(user, encounter)
        _require_open(encounter)
        if encounter.arrived_at is None:
            raise HandoffError(
                "Record the arrival first: transfer of care follows it.",
                field="arrived_at",
                code="invalid_transition",
            )
        changed: list[str] = []
        if side == "crew" and encounter.crew_confirmed_at is None:
            encounter.crew_confirmed_at, encounter.crew_confirmed_by = now, user
            changed += ["crew_confirmed_at", "crew_confirmed_by"]
        elif side == "ed" and encounter.ed_confirmed_at is None:
            encounter.ed_confirmed_at, encounter.ed_confirmed_by = now, user
            changed += ["ed_confirmed_at", "ed_confirmed_by"]
        if not changed:
            return encounter
        if encounter.crew_confirmed_at and encounter.ed_confirmed_at:
            encounter.transfer_of_care_at = now
            encounter.offload_seconds = max(0, int((now - encounter.arrived_at).total_seconds()))
            encounter.status = EncounterStatus.CLOSED
            encounter.closed_at = now
            changed += ["transfer_of_care_at", "offload_seconds", "status", "closed_at"]
            Admission.objects.filter(encounter=encounter).update(
                status=AdmissionStatus.HANDED_OVER, updated_at=now
            )
        _touch(encounter, now, *changed)
        _emit_encounter(encounter)
        if encounter.transfer_of_care_at is not None:
            # Both sides confirmed: the document is final, eTimes.12 and PV1 follow.
            delivery_enqueue(encounter, "A08", fhir=True, actor=user)
        _audit(user, encounter, "transfer_confirm", detail={"side": side, "fields": changed})
    return encounter


def ed_encounter_close(*, user: Any, encounter_id: int, reason: str) -> Encounter:
    """The receiving ED closes a card that will never be confirmed (the crew went elsewhere,
    the handover happened on paper, the patient left): with a reason, audited.

    Only staff of the destination ED, only an open encounter. No transfer-of-care time or
    offload time is invented: the card leaves the board as closed by the ED.
    """
    now = timezone.now()
    reason = _text(reason, "reason", 200) or ""
    if not reason:
        raise HandoffError("Say why the card is closed without a handover.", field="reason")
    with transaction.atomic():
        encounter = _lock(encounter_id)
        access.check_ed(user, encounter)
        _require_open(encounter)
        encounter.status = EncounterStatus.CLOSED
        encounter.closed_at = now
        encounter.closed_reason = reason
        encounter.closed_by = user
        _touch(encounter, now, "status", "closed_at", "closed_reason", "closed_by")
        _emit_encounter(encounter)
        # The reason is free text about a patient: it stays in the record, not the log.
        _audit(user, encounter, "ed_close", detail={"fields": ["closed_reason"]})
    return encounter


def admission_reconcile(*, user: Any, encounter_id: int, mrn: str) -> Encounter:
    """Link the pre-registration to the hospital's record number (ED staff of that hospital).

    Reconciling again with the same number is a no-op; with another number it is refused,
    since two hospital records for one patient is a merge for the registrar, not for us.
    """
    now = timezone.now()
    mrn = mrn.strip() if isinstance(mrn, str) else ""
    if not _MRN.match(mrn):
        raise HandoffError("mrn must be 1-32 letters, digits or '-'.", field="mrn")
    with transaction.atomic():
        encounter = _lock(encounter_id)
        access.check_ed(user, encounter)
        if encounter.mrn:
            if encounter.mrn == mrn:
                return encounter
            raise HandoffError(
                "This encounter is already reconciled with another record number.",
                field="mrn",
                code="conflict",
            )
        encounter.mrn = mrn
        encounter.reconciled_at = now
        encounter.reconciled_by = user
        _touch(encounter, now, "mrn", "reconciled_at", "reconciled_by")
        Admission.objects.filter(encounter=encounter).update(
            status=AdmissionStatus.RECONCILED, updated_at=now
        )
        _emit_encounter(encounter)
        # The MRN goes back as PID-3 / Patient.identifier so both records link.
        delivery_enqueue(encounter, "A08", fhir=True, actor=user)
        _audit(user, encounter, "reconcile", detail={"fields": ["mrn"]})
    return encounter
