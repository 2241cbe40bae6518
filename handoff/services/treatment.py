"""ATMIST Treatment: procedures done and medications given, idempotent by `client_id`."""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypeVar

from django.db import transaction
from django.utils import timezone

from handoff import access
from handoff.clinical.doses import dose_check
from handoff.delivery_jobs import Hl7Trigger, delivery_enqueue
from handoff.models import (
    Intervention,
    MedicationGiven,
)
from handoff.services import HandoffError
from handoff.services._common import (
    _audit,
    _client_id,
    _emit_encounter,
    _lock,
    _replay_of,
    _require_open,
    _text,
    _touch,
    _when,
)

TreatmentRow = TypeVar("TreatmentRow", Intervention, MedicationGiven)


def _treatment_record(
    model: type[TreatmentRow],
    *,
    user: Any,
    encounter_id: int,
    client_id: str,
    values: dict[str, Any],
    time_field: str,
    time_sent: bool,
    now: datetime,
    trigger: Hl7Trigger,
    action: str,
    detail: dict[str, Any],
    row_key: str,
) -> TreatmentRow:
    """Store one treatment row under the encounter's lock, once per `client_id`.

    `values` are the cleaned fields. A resend compares them with the stored row (the time
    only when the tablet sent one, since it defaults to now) and returns the stored row,
    or refuses with client_id_conflict naming what differs. A new row touches the encounter,
    emits its board row, enqueues the `trigger` delivery and is audited as `action` with
    its pk under `row_key` in `detail`.
    """
    with transaction.atomic():
        encounter = _lock(encounter_id)
        access.check_crew(user, encounter, open_only=False)
        existing = model.objects.filter(encounter=encounter, client_id=client_id).first()
        if existing is not None:
            compared = {k: v for k, v in values.items() if k != time_field or time_sent}
            _replay_of(client_id, [k for k, v in compared.items() if getattr(existing, k) != v])
            return existing
        _require_open(encounter)
        item = model.objects.create(
            encounter=encounter, client_id=client_id, recorded_by=user, **values
        )
        _touch(encounter, now)
        _emit_encounter(encounter)
        delivery_enqueue(encounter, trigger, fhir=True, actor=user)
        _audit(user, encounter, action, detail={row_key: item.pk, **detail})
    return item


def intervention_record(
    *,
    user: Any,
    encounter_id: int,
    client_id: str,
    text: str,
    code: str = "",
    performed_at: datetime | str | None = None,
) -> Intervention:
    """Record a procedure (ATMIST Treatment); a repeated `client_id` is stored once."""
    now = timezone.now()
    client_id = _client_id(client_id)
    text = _text(text, "text", 200) or ""
    if not text:
        raise HandoffError("Say what was done.", field="text")
    code = _text(code, "code", 16) or ""
    when = _when(performed_at, "performed_at", now=now) or now
    return _treatment_record(
        Intervention,
        user=user,
        encounter_id=encounter_id,
        client_id=client_id,
        values={"text": text, "code": code, "performed_at": when},
        time_field="performed_at",
        time_sent=performed_at is not None,
        now=now,
        trigger="A08",
        action="intervention_record",
        detail={},
        row_key="intervention",
    )


def medication_record(
    *,
    user: Any,
    encounter_id: int,
    client_id: str,
    name: str,
    dose: float | None = None,
    unit: str = "",
    route: str = "",
    given_at: datetime | str | None = None,
    dose_confirmed: bool = False,
) -> MedicationGiven:
    """Record a medication given (ATMIST Treatment); a repeated `client_id` is stored once.

    A dose outside the drug's plausible range for the route (handoff.clinical.doses) needs
    `dose_confirmed`; one far beyond it, or in a unit the drug is not given in, is refused.
    """
    now = timezone.now()
    client_id = _client_id(client_id)
    name = _text(name, "name", 120) or ""
    if not name:
        raise HandoffError("Name the medication.", field="name")
    if dose is not None and (
        isinstance(dose, bool) or not isinstance(dose, int | float) or dose < 0
    ):
        raise HandoffError("dose must be a positive number.", field="dose")
    if dose is not None and not unit:
        raise HandoffError("A dose needs its unit.", field="unit")
    unit = _text(unit, "unit", 16) or ""
    route = _text(route, "route", 32) or ""
    confirmed_outside = False
    if dose is not None:
        judged = dose_check(name, float(dose), unit, route)
        if judged.verdict == "refuse":
            raise HandoffError(judged.message, field="dose", code="implausible_dose")
        if judged.verdict == "confirm" and not dose_confirmed:
            raise HandoffError(judged.message, field="dose", code="dose_unconfirmed")
        confirmed_outside = judged.verdict == "confirm"
    when = _when(given_at, "given_at", now=now) or now
    return _treatment_record(
        MedicationGiven,
        user=user,
        encounter_id=encounter_id,
        client_id=client_id,
        values={"name": name, "dose": dose, "unit": unit, "route": route, "given_at": when},
        time_field="given_at",
        time_sent=given_at is not None,
        now=now,
        trigger="O17",
        action="medication_record",
        detail={"dose_confirmed_outside_range": confirmed_outside},
        row_key="medication",
    )
