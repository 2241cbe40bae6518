"""Every write of the handoff: the pre-hospital record, the ED's actions, team activations.

Each service owns its transaction: it locks the encounter row, checks who may act and the
state, writes, and records the events (realtime.events) that the ED board and the crew
tablet show. Event payloads never carry the patient's name (handoff.selectors.board_row).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from audit.context import AuditContext
from audit.services import audit_record
from dispatch import selectors as dispatch_selectors
from dispatch.models import (
    ACTIVE_ASSIGNMENT_STATUSES,
    Assignment,
    AssignmentStatus,
    DispatchCentre,
)
from handoff import access, events, selectors
from handoff.clinical import (
    ActivationContext,
    befast,
    news2,
    qsofa,
    score_change,
    shock_index,
    team_activation_proposals,
    validate_vitals,
    vitals_trend,
)
from handoff.clinical import (
    ActivationKind as ClinicalKind,
)
from handoff.clinical.activation import TRAUMA_INJURY_PATTERNS
from handoff.clinical.doses import dose_check
from handoff.clinical.vitals import gcs_total_of
from handoff.delivery_jobs import delivery_enqueue
from handoff.models import (
    ActivationKind,
    Admission,
    AdmissionStatus,
    DestinationReason,
    EDMessage,
    EDStatus,
    Encounter,
    EncounterStatus,
    Hospital,
    Intervention,
    MedicationGiven,
    MessageSender,
    Sex,
    TeamActivation,
    VitalsSet,
)
from realtime import sql
from realtime.events import event_record
from routing.engine import RoutingError
from routing.services import MapNotBuiltError


class HandoffError(Exception):
    """A request the handoff rules refuse; `field` names the input at fault.

    Codes: "invalid" (bad input, 400), "unknown" (a referenced object does not exist, 400),
    "closed", "invalid_transition" and "conflict" (the record's state forbids it, 409).
    """

    def __init__(self, message: str, *, field: str | None = None, code: str = "invalid") -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.code = code


CONFLICT_CODES = frozenset({"closed", "invalid_transition", "conflict"})

# Device clocks drift; a time a few minutes "in the future" is a clock, not a lie.
FUTURE_TOLERANCE = timedelta(minutes=5)
_CLIENT_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
_MRN = re.compile(r"^[A-Za-z0-9-]{1,32}$")
# No 0/O or 1/I: the identifier is read aloud and typed at the ED desk.
_TEMP_ID_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"

CLINICAL_KIND = {
    ClinicalKind.CARDIAC_ARREST: ActivationKind.CARDIAC_ARREST,
    ClinicalKind.STEMI: ActivationKind.STEMI,
    ClinicalKind.STROKE: ActivationKind.STROKE,
    ClinicalKind.TRAUMA: ActivationKind.TRAUMA,
    ClinicalKind.SEPSIS: ActivationKind.SEPSIS,
    ClinicalKind.OBSTETRICS: ActivationKind.OBSTETRICS,
    ClinicalKind.DETERIORATION: ActivationKind.DETERIORATION,
}

# Crew findings (Encounter.findings) that are booleans of the activation context.
BOOLEAN_FINDINGS = (
    "cardiac_arrest",
    "suspected_infection",
    "obstetric_emergency",
    "injured",
    "unable_to_follow_commands",
    "respiratory_distress_or_support",
    *TRAUMA_INJURY_PATTERNS,
)
BEFAST_ITEMS = ("balance", "eyes", "face", "arm", "speech")


# --- Input cleaning ------------------------------------------------------------------------


def _text(value: Any, name: str, limit: int, *, nullable: bool = False) -> str | None:
    if value is None:
        if nullable:
            return None
        raise HandoffError(f"{name} must be text.", field=name)
    if not isinstance(value, str):
        raise HandoffError(f"{name} must be text.", field=name)
    value = value.strip()
    if len(value) > limit:
        raise HandoffError(f"{name} must be at most {limit} characters.", field=name)
    if nullable and not value:
        return None
    return value


def _when(value: Any, name: str, *, now: datetime, nullable: bool = True) -> datetime | None:
    if value is None and nullable:
        return None
    try:
        parsed = parse_datetime(value) if isinstance(value, str) else value
    except ValueError:  # well-formed but impossible, like February 30th
        parsed = None
    if not isinstance(parsed, datetime) or parsed.tzinfo is None:
        raise HandoffError(f"{name} must be an ISO 8601 time with a time zone.", field=name)
    if parsed > now + FUTURE_TOLERANCE:
        raise HandoffError(f"{name} cannot be in the future.", field=name)
    return parsed


def _birth_date(value: Any, today: date) -> date | None:
    if value is None:
        return None
    try:
        parsed = parse_date(value) if isinstance(value, str) else value
    except ValueError:
        parsed = None
    if not isinstance(parsed, date) or isinstance(parsed, datetime):
        raise HandoffError("birth_date must be a date (YYYY-MM-DD).", field="birth_date")
    if parsed > today or today.year - parsed.year > 130:
        raise HandoffError("birth_date is not a plausible birth date.", field="birth_date")
    return parsed


def _text_list(value: Any, name: str) -> list[str]:
    if not isinstance(value, list) or len(value) > 50:
        raise HandoffError(f"{name} must be a list of at most 50 entries.", field=name)
    return [_text(item, f"{name}[{i}]", 120) or "" for i, item in enumerate(value)]


def _medications(value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, list) or len(value) > 50:
        raise HandoffError("medications must be a list of at most 50 entries.", field="medications")
    cleaned = []
    for i, item in enumerate(value):
        if not isinstance(item, dict) or set(item) - {"name", "anticoagulant"}:
            raise HandoffError(
                "Each medication is {name, anticoagulant}.", field=f"medications[{i}]"
            )
        name = _text(item.get("name"), f"medications[{i}].name", 120)
        if not name:
            raise HandoffError("A medication needs its name.", field=f"medications[{i}].name")
        anticoagulant = item.get("anticoagulant", False)
        if not isinstance(anticoagulant, bool):
            raise HandoffError(
                "anticoagulant must be true or false.", field=f"medications[{i}].anticoagulant"
            )
        cleaned.append({"name": name, "anticoagulant": anticoagulant})
    return cleaned


def _findings(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise HandoffError("findings must be an object.", field="findings")
    cleaned: dict[str, Any] = {}
    for key, raw in value.items():
        if key == "befast":
            if not isinstance(raw, dict) or set(raw) - set(BEFAST_ITEMS):
                raise HandoffError(
                    f"befast is an object of {', '.join(BEFAST_ITEMS)}.", field="findings.befast"
                )
            for item, flag in raw.items():
                if flag is not None and not isinstance(flag, bool):
                    raise HandoffError(
                        f"befast.{item} must be true, false or null.",
                        field=f"findings.befast.{item}",
                    )
            cleaned["befast"] = {item: raw.get(item) for item in BEFAST_ITEMS}
        elif key in BOOLEAN_FINDINGS:
            if not isinstance(raw, bool):
                raise HandoffError(f"{key} must be true or false.", field=f"findings.{key}")
            cleaned[key] = raw
        else:
            raise HandoffError(f"Unknown finding {key!r}.", field=f"findings.{key}")
    return cleaned


ENCOUNTER_FIELDS = (
    "family_name",
    "given_name",
    "sex",
    "birth_date",
    "estimated_age_years",
    "age_text",
    "time_of_onset",
    "mechanism",
    "injuries",
    "chief_complaint",
    "working_impression",
    "working_impression_code",
    "allergies",
    "medications",
    "history",
    "findings",
    "last_known_well",
)


def _clean_encounter_fields(data: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    """Validate the crew-editable fields of an encounter; HandoffError names the first bad one."""
    unknown = sorted(set(data) - set(ENCOUNTER_FIELDS))
    if unknown:
        raise HandoffError(f"Unknown field {unknown[0]!r}.", field=unknown[0])
    cleaned: dict[str, Any] = {}
    for key, value in data.items():
        if key in {"family_name", "given_name"}:
            cleaned[key] = _text(value, key, 100, nullable=True)
        elif key == "sex":
            if value not in Sex.values:
                raise HandoffError(f"sex must be one of {', '.join(Sex.values)}.", field=key)
            cleaned[key] = value
        elif key == "birth_date":
            cleaned[key] = _birth_date(value, timezone.localdate(now))
        elif key == "estimated_age_years":
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 130
            ):
                raise HandoffError("estimated_age_years must be 0-130.", field=key)
            cleaned[key] = value
        elif key in {"time_of_onset", "last_known_well"}:
            cleaned[key] = _when(value, key, now=now)
        elif key in {"mechanism", "injuries"}:
            cleaned[key] = _text(value, key, 2000)
        elif key in {"chief_complaint", "working_impression"}:
            cleaned[key] = _text(value, key, 200)
        elif key == "age_text":
            cleaned[key] = _text(value, key, 40)
        elif key == "working_impression_code":
            cleaned[key] = _text(value, key, 16)
        elif key in {"allergies", "history"}:
            cleaned[key] = _text_list(value, key)
        elif key == "medications":
            cleaned[key] = _medications(value)
        elif key == "findings":
            cleaned[key] = _findings(value)
    return cleaned


def _client_id(value: str, name: str = "client_id") -> str:
    if not isinstance(value, str) or not _CLIENT_ID.match(value):
        raise HandoffError(
            f"{name} must be 1-64 characters of letters, digits, '.', '_', ':' or '-'.",
            field=name,
        )
    return value


# --- Shared steps --------------------------------------------------------------------------


def _lock(encounter_id: int) -> Encounter:
    return (
        # Only the encounter row: PostgreSQL refuses FOR UPDATE on the nullable side of the
        # outer join that select_related("destination") makes.
        Encounter.objects.select_for_update(of=("self",))
        .select_related("assignment__unit", "assignment__incident", "destination")
        .get(pk=encounter_id)
    )


def _require_open(encounter: Encounter) -> None:
    if encounter.status != EncounterStatus.OPEN:
        raise HandoffError(
            f"Encounter {encounter.temp_identifier} is closed.", field="encounter", code="closed"
        )


def _emit_encounter(encounter: Encounter, row: dict[str, Any] | None = None) -> None:
    """The board row to the crew's tablet and, once there is one, to the destination ED."""
    row = row if row is not None else selectors.board_row(encounter)
    event_record(
        stream=events.unit_group(encounter.assignment.unit_id),
        event_type=events.ENCOUNTER_UPDATED,
        data=row,
    )
    if encounter.destination_id is not None:
        event_record(
            stream=events.ed_group(encounter.destination_id),
            event_type=events.ENCOUNTER_UPDATED,
            data=row,
        )


def _touch(encounter: Encounter, now: datetime, *update_fields: str) -> None:
    encounter.updated_at = now
    encounter.save(update_fields=[*update_fields, "updated_at"])


@dataclass(frozen=True)
class _Known:
    """What a set-based write already knows of an encounter, so evaluating it costs no query."""

    latest: VitalsSet | None
    ecg_stemi: bool
    kinds: frozenset[str]


def _activation_context(encounter: Encounter, known: _Known | None = None) -> ActivationContext:
    if known is not None:
        latest, ecg_stemi = known.latest, known.ecg_stemi
    else:
        latest = encounter.vitals.order_by("-taken_at", "-pk").first()
        ecg_stemi = encounter.vitals.filter(ecg_stemi=True).exists()
    findings = encounter.findings or {}
    raw_befast = findings.get("befast")
    return ActivationContext(
        vitals=selectors.vitals_values(latest) if latest else {},
        age_years=selectors.patient_age_years(encounter),
        ecg_stemi=ecg_stemi,
        befast=befast(**{item: raw_befast.get(item) for item in BEFAST_ITEMS})
        if raw_befast
        else None,
        last_known_well=encounter.last_known_well,
        **{key: bool(findings.get(key)) for key in BOOLEAN_FINDINGS},
    )


def _activations_evaluate(
    encounter: Encounter, now: datetime, known: _Known | None = None
) -> list[TeamActivation]:
    """Create the team activations the findings now call for, once per kind."""
    existing = (
        set(known.kinds)
        if known is not None
        else set(encounter.activations.values_list("kind", flat=True))
    )
    created = []
    for proposal in team_activation_proposals(_activation_context(encounter, known)):
        kind = CLINICAL_KIND[proposal.kind]
        if kind in existing:
            continue
        # Raised at the destination only if it has the team (else the crew is warned).
        capable = encounter.destination is not None and selectors.hospital_can_activate(
            encounter.destination, kind
        )
        activation = TeamActivation.objects.create(
            encounter=encounter,
            kind=kind,
            reason=proposal.reason,
            capability=proposal.capability or "",
            proposed_at=now,
            sent_at=now if capable else None,
        )
        created.append(activation)
        if capable:
            event_record(
                stream=events.ed_group(encounter.destination_id),  # type: ignore[arg-type]
                event_type=events.ACTIVATION_PROPOSED,
                data=selectors.activation_summary(activation),
            )
    return created


def _new_temp_identifier(now: datetime) -> str:
    return f"GH-{now.year}-" + "".join(secrets.choice(_TEMP_ID_ALPHABET) for _ in range(6))


# --- The pre-hospital record ---------------------------------------------------------------


def encounter_open(
    *,
    user: Any,
    assignment_id: int,
    public_id: UUID | None = None,
    data: Mapping[str, Any] | None = None,
) -> Encounter:
    """Open a patient record on an active assignment of the crew's unit.

    Several encounters per assignment are allowed (several patients). A tablet that creates
    the record offline sends its own `public_id`; sending it again returns the same record.
    """
    now = timezone.now()
    cleaned = _clean_encounter_fields(data or {}, now)
    with transaction.atomic():
        assignment = Assignment.objects.select_related("unit", "incident").get(pk=assignment_id)
        access.access_crew_assignment(user, assignment.pk)
        if public_id is not None:
            existing = Encounter.objects.filter(public_id=public_id).first()
            if existing is not None:
                if existing.assignment_id != assignment.pk:
                    raise HandoffError(
                        "That encounter id belongs to another assignment.", field="encounter"
                    )
                return existing
        cleaned.setdefault("chief_complaint", assignment.incident.chief_complaint[:200])
        encounter = None
        for _attempt in range(5):
            try:
                # A savepoint per try: a colliding identifier must not poison the transaction.
                with transaction.atomic():
                    encounter = Encounter.objects.create(
                        assignment=assignment,
                        temp_identifier=_new_temp_identifier(now),
                        created_at=now,
                        created_by=user,
                        updated_at=now,
                        **({"public_id": public_id} if public_id else {}),
                        **cleaned,
                    )
                break
            except IntegrityError:
                continue
        if encounter is None:
            raise HandoffError("Could not allocate a temporary identifier; retry.", code="conflict")
        _activations_evaluate(encounter, now)
        _emit_encounter(encounter)
        audit_record(
            actor=user,
            action="create",
            object_type="encounter",
            object_id=encounter.public_id,
            detail={"fields": sorted(cleaned)},
        )
    return encounter


def encounter_update(*, user: Any, encounter_id: int, data: Mapping[str, Any]) -> Encounter:
    """Change the crew-editable fields of an open encounter (patient, ATMIST, history)."""
    now = timezone.now()
    cleaned = _clean_encounter_fields(data, now)
    with transaction.atomic():
        encounter = _lock(encounter_id)
        access.check_crew(user, encounter, open_only=False)
        _require_open(encounter)
        for key, value in cleaned.items():
            setattr(encounter, key, value)
        _touch(encounter, now, *cleaned)
        _activations_evaluate(encounter, now)
        _emit_encounter(encounter)
        delivery_enqueue(encounter, "A08", fhir=True)
        audit_record(
            actor=user,
            action="update",
            object_type="encounter",
            object_id=encounter.public_id,
            detail={"fields": sorted(cleaned)},
        )
    return encounter


def encounter_close(*, user: Any, encounter_id: int) -> Encounter:
    """Close an encounter without a handoff (treated on scene, refused transport).

    Refused once the patient has arrived at an ED: that record closes by transfer of care.
    """
    now = timezone.now()
    with transaction.atomic():
        encounter = _lock(encounter_id)
        access.check_crew(user, encounter, open_only=False)
        _require_open(encounter)
        if encounter.arrived_at is not None:
            raise HandoffError(
                "The patient is at the ED; confirm the transfer of care instead.",
                field="status",
                code="invalid_transition",
            )
        encounter.status = EncounterStatus.CLOSED
        encounter.closed_at = now
        _touch(encounter, now, "status", "closed_at")
        _emit_encounter(encounter)
        audit_record(
            actor=user, action="close", object_type="encounter", object_id=encounter.public_id
        )
    return encounter


def _altered_mentation(values: Mapping[str, Any]) -> bool | None:
    if values.get("new_confusion") is True or values.get("avpu") in {"V", "P", "U"}:
        return True
    return False if values.get("avpu") == "A" else None


@dataclass
class VitalsRequest:
    """One vitals set to record: who sends it, for which encounter, and what it says."""

    user: Any
    encounter_id: int
    data: Mapping[str, Any]
    client_id: str
    device_id: str = ""
    taken_at: datetime | str | None = None
    context: AuditContext | None = None


@dataclass
class _Prepared:
    request: VitalsRequest
    client_id: str
    values: dict[str, Any]
    flags: list[dict[str, Any]]
    ecg_stemi: bool | None
    taken: datetime


# The board's sparklines show this many of the newest sets; the record has them all.
HISTORY_SETS = selectors.BOARD_TREND_SETS


def _vitals_prepare(request: VitalsRequest, now: datetime) -> _Prepared:
    """Check a set's values (no database): HandoffError naming the field and the range."""
    client_id = _client_id(request.client_id)
    payload = dict(request.data)
    ecg_stemi = payload.pop("ecg_stemi", None)
    if ecg_stemi is not None and not isinstance(ecg_stemi, bool):
        raise HandoffError("ecg_stemi must be true, false or null.", field="ecg_stemi")
    taken = _when(request.taken_at, "taken_at", now=now) or now
    check = validate_vitals(payload)
    if check.errors:
        first = sorted(check.errors)[0]
        raise HandoffError("; ".join(check.errors[k] for k in sorted(check.errors)), field=first)
    values: dict[str, Any] = dict(check.values)
    if not values and ecg_stemi is None:
        raise HandoffError("A vitals set needs at least one measurement.", field="vitals")
    flags = [{"field": f.field, "value": f.value, "message": f.message} for f in check.flags]
    return _Prepared(request, client_id, values, flags, ecg_stemi, taken)


def _vitals_build(
    encounter: Encounter, prepared: _Prepared, previous: VitalsSet | None, now: datetime
) -> VitalsSet:
    """The set with its scores (NEWS2 and its change, GCS, shock index, qSOFA), unsaved."""
    values = prepared.values
    flags = list(prepared.flags)
    # SpO2 scale 2 is chosen per patient: once chosen it holds for later sets.
    scale = values.get("spo2_scale") or (previous.spo2_scale if previous else None)
    score = news2(values, spo2_scale=scale)
    previous_score = None
    if previous is not None:
        previous_score = news2(selectors.vitals_values(previous), spo2_scale=previous.spo2_scale)
    gcs = gcs_total_of(values)
    shock = shock_index(values.get("heart_rate"), values.get("systolic_bp"))
    sofa = qsofa(
        values.get("respiratory_rate"),
        values.get("systolic_bp"),
        gcs=gcs,
        altered_mentation=_altered_mentation(values),
    )
    if shock.red_flag:
        flags.append(
            {"field": "shock_index", "value": shock.value, "message": "shock index >= 1.0"}
        )
    if sofa.positive:
        flags.append({"field": "qsofa", "value": sofa.score, "message": "qSOFA >= 2: sepsis risk"})
    request = prepared.request
    return VitalsSet(
        encounter=encounter,
        client_id=prepared.client_id,
        taken_at=prepared.taken,
        **{
            selectors.MODEL_FIELD.get(key, key): value
            for key, value in values.items()
            if key != "spo2_scale"
        },
        spo2_scale=scale,
        ecg_stemi=prepared.ecg_stemi,
        news2_total=score.total,
        news2_risk=score.risk,
        news2_missing=list(score.missing + score.unscored),
        news2_change=asdict(score_change(previous_score, score)),
        gcs_total=gcs,
        shock_index=shock.value,
        qsofa_score=sofa.score,
        flags=flags,
        trend=vitals_trend(selectors.vitals_values(previous), values) if previous else {},
        recorded_by=request.user,
        recorded_at=now,
        device_id=request.device_id[:64],
    )


def _previous(history: list[VitalsSet], taken: datetime) -> VitalsSet | None:
    """The newest set taken at or before `taken` (history sorted oldest first), whole."""
    for index in range(len(history) - 1, -1, -1):
        vitals = history[index]
        if vitals.taken_at <= taken:
            if vitals.get_deferred_fields():
                # A set older than the newest, read for the trend only: a backfill.
                vitals = history[index] = VitalsSet.objects.get(pk=vitals.pk)
            return vitals
    return None


def vitals_record(
    *,
    user: Any,
    encounter_id: int,
    data: Mapping[str, Any],
    client_id: str,
    device_id: str = "",
    taken_at: datetime | str | None = None,
) -> VitalsSet:
    """Store one vitals set with its scores, then propose the team activations it implies.

    Out-of-range values refuse the whole set, naming the field and the plausible range;
    extreme but plausible values are stored and flagged. A repeated `client_id` returns the
    set stored the first time. `data` may carry `ecg_stemi` (STEMI on a 12-lead) as well as
    the vitals of handoff.clinical.VITALS. See vitals_record_many, which does the work.
    """
    request = VitalsRequest(user, encounter_id, data, client_id, device_id, taken_at)
    [outcome] = vitals_record_many(requests=[request])
    if isinstance(outcome, Exception):
        raise outcome
    return outcome


def vitals_record_many(
    *, requests: list[VitalsRequest]
) -> list[VitalsSet | HandoffError | PermissionDenied]:
    """Store many vitals sets, of any encounters, set-based: one outcome per request.

    Each outcome is the stored set (also for a repeated `client_id`: the first one), or the
    refusal of that request alone (HandoffError; PermissionDenied for a user who does not
    crew the encounter). The encounters are locked in pk order; the newest sets of each are
    read once; the sets are inserted together; every set is its own board-row event (a set is
    never merged into another), audited with its request's context; activations and
    delivery are evaluated once per encounter.
    """
    now = timezone.now()
    outcomes: list[VitalsSet | HandoffError | PermissionDenied | None] = [None] * len(requests)
    prepared: list[tuple[int, _Prepared]] = []
    for index, request in enumerate(requests):
        try:
            prepared.append((index, _vitals_prepare(request, now)))
        except HandoffError as exc:
            outcomes[index] = exc
    if not prepared:
        return outcomes  # type: ignore[return-value]
    with transaction.atomic():
        ids = sorted({p.request.encounter_id for _, p in prepared})
        encounters = {
            e.pk: e
            for e in (
                # Only the encounter rows (see _lock).
                Encounter.objects.select_for_update(of=("self",))
                .select_related("assignment__unit", "assignment__incident", "destination")
                .filter(pk__in=ids)
                .order_by("pk")
            )
        }
        existing = {
            (v.encounter_id, v.client_id): v
            for v in VitalsSet.objects.filter(
                encounter_id__in=ids, client_id__in={p.client_id for _, p in prepared}
            )
        }
        history = selectors.newest_vitals(ids, HISTORY_SETS)
        created: dict[int, list[tuple[VitalsRequest, VitalsSet]]] = {}
        for index, item in prepared:
            encounter = encounters.get(item.request.encounter_id)
            if encounter is None:
                outcomes[index] = HandoffError(
                    "No such encounter.", field="encounter", code="unknown"
                )
                continue
            try:
                access.check_crew(item.request.user, encounter, open_only=False)
            except PermissionDenied as exc:
                outcomes[index] = exc
                continue
            key = (encounter.pk, item.client_id)
            if key in existing:
                outcomes[index] = existing[key]
                continue
            try:
                _require_open(encounter)
            except HandoffError as exc:
                outcomes[index] = exc
                continue
            sets = history.setdefault(encounter.pk, [])
            previous = _previous(sets, item.taken)
            if previous is None and len(sets) >= HISTORY_SETS and item.taken < sets[0].taken_at:
                # Older than every set read (a deep backfill): look it up.
                previous = (
                    encounter.vitals.filter(taken_at__lte=item.taken)
                    .order_by("-taken_at", "-pk")
                    .first()
                )
            vitals = _vitals_build(encounter, item, previous, now)
            existing[key] = vitals
            sets.append(vitals)
            sets.sort(key=lambda v: v.taken_at)
            created.setdefault(encounter.pk, []).append((item.request, vitals))
            outcomes[index] = vitals
        new_sets = [vitals for items in created.values() for _, vitals in items]
        sql.insert_objects(new_sets, key=("encounter", "client_id"))
        if created:
            _vitals_followups(encounters, created, history, now)
    return outcomes  # type: ignore[return-value]


def _vitals_followups(
    encounters: dict[int, Encounter],
    created: dict[int, list[tuple[VitalsRequest, VitalsSet]]],
    history: dict[int, list[VitalsSet]],
    now: datetime,
) -> None:
    """After the sets are in: touch, activations, one board row per set, delivery, audit."""
    touched = [encounters[pk] for pk in created]
    touched_ids = [e.pk for e in touched]
    Encounter.objects.filter(pk__in=touched_ids).update(updated_at=now)
    kinds: dict[int, set[str]] = {}
    for encounter_id, kind in TeamActivation.objects.filter(
        encounter_id__in=touched_ids
    ).values_list("encounter_id", "kind"):
        kinds.setdefault(encounter_id, set()).add(kind)
    stemi = set(
        VitalsSet.objects.filter(encounter_id__in=touched_ids, ecg_stemi=True).values_list(
            "encounter_id", flat=True
        )
    )
    for encounter in touched:
        encounter.updated_at = now
        latest = max(history[encounter.pk], key=lambda v: (v.taken_at, v.pk))
        known = _Known(latest, encounter.pk in stemi, frozenset(kinds.get(encounter.pk, ())))
        _activations_evaluate(encounter, now, known)
    selectors.board_prefetch(touched)
    for encounter in touched:
        new = [vitals for _, vitals in created[encounter.pk]]
        new_ids = {vitals.pk for vitals in new}
        before = [v for v in history[encounter.pk] if v.pk not in new_ids]
        for count, (request, vitals) in enumerate(created[encounter.pk], start=1):
            # The row as the board would have read it right after this set was stored.
            sets = sorted(before + new[:count], key=lambda v: (v.taken_at, v.pk))
            _emit_encounter(encounter, selectors.board_row(encounter, sets=sets))
            audit_record(
                actor=request.user,
                action="vitals_record",
                object_type="encounter",
                object_id=encounter.public_id,
                detail={"vitals_set": vitals.pk},
                context=request.context,
            )
        delivery_enqueue(encounter, "A08", fhir=True)


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
    when = _when(performed_at, "performed_at", now=now) or now
    with transaction.atomic():
        encounter = _lock(encounter_id)
        access.check_crew(user, encounter, open_only=False)
        existing = encounter.interventions.filter(client_id=client_id).first()
        if existing is not None:
            return existing
        _require_open(encounter)
        item = Intervention.objects.create(
            encounter=encounter,
            client_id=client_id,
            performed_at=when,
            text=text,
            code=_text(code, "code", 16) or "",
            recorded_by=user,
        )
        _touch(encounter, now)
        _emit_encounter(encounter)
        audit_record(
            actor=user,
            action="intervention_record",
            object_type="encounter",
            object_id=encounter.public_id,
            detail={"intervention": item.pk},
        )
    return item


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
    with transaction.atomic():
        encounter = _lock(encounter_id)
        access.check_crew(user, encounter, open_only=False)
        existing = encounter.medications_given.filter(client_id=client_id).first()
        if existing is not None:
            return existing
        _require_open(encounter)
        item = MedicationGiven.objects.create(
            encounter=encounter,
            client_id=client_id,
            given_at=when,
            name=name,
            dose=dose,
            unit=unit,
            route=route,
            recorded_by=user,
        )
        _touch(encounter, now)
        _emit_encounter(encounter)
        audit_record(
            actor=user,
            action="medication_record",
            object_type="encounter",
            object_id=encounter.public_id,
            detail={"medication": item.pk, "dose_confirmed_outside_range": confirmed_outside},
        )
    return item


# --- Destination and pre-registration ------------------------------------------------------


def destination_set(*, user: Any, encounter_id: int, hospital_id: int, reason: str) -> Encounter:
    """Choose the receiving hospital (eDisposition.20 reason kept) and pre-register there.

    Pre-registration is the Admission row under the temporary identifier ("when the ED is
    notified", HL7 ADT^A05). Choosing another hospital moves the admission and the pending
    team activations to it and takes the row off the previous ED's board. The assignment's
    destination follows, so dispatchers see it through their own events.
    """
    if reason not in DestinationReason.values:
        raise HandoffError(
            f"reason must be one of {', '.join(DestinationReason.values)} (eDisposition.20).",
            field="reason",
        )
    now = timezone.now()
    with transaction.atomic():
        encounter = _lock(encounter_id)
        access.check_crew(user, encounter, open_only=False)
        _require_open(encounter)
        hospital = Hospital.objects.filter(pk=hospital_id).first()
        if hospital is None:
            raise HandoffError(f"No hospital {hospital_id}.", field="hospital", code="unknown")
        if encounter.arrived_at is not None:
            raise HandoffError(
                "The patient has arrived; the destination cannot change now.",
                field="hospital",
                code="invalid_transition",
            )
        previous = encounter.destination_id
        try:
            drive = selectors.drive_times(encounter.assignment, [hospital])[hospital.pk]
        except (MapNotBuiltError, RoutingError):
            drive = selectors.DriveTime(None, None, True)
        encounter.destination = hospital
        encounter.destination_reason = reason
        encounter.destination_ed_status = hospital.ed_status
        encounter.destination_set_at = now
        encounter.eta_at = now + timedelta(seconds=drive.seconds) if drive.seconds else None
        encounter.eta_approximate = drive.approximate
        encounter.eta_drive_seconds = round(drive.seconds) if drive.seconds else None
        encounter.eta_computed_at = now if drive.seconds else None
        changed = ["destination", "destination_reason", "destination_ed_status"]
        changed += ["destination_set_at", "eta_at", "eta_approximate"]
        changed += ["eta_drive_seconds", "eta_computed_at"]
        if previous is not None and previous != hospital.pk:
            # The new ED has neither acknowledged nor prepared a bay.
            encounter.ed_acknowledged_at = None
            encounter.ed_acknowledged_by = None
            encounter.bay = ""
            changed += ["ed_acknowledged_at", "ed_acknowledged_by", "bay"]
        _touch(encounter, now, *changed)
        Admission.objects.update_or_create(
            encounter=encounter,
            defaults={
                "hospital": hospital,
                "temp_identifier": encounter.temp_identifier,
                "status": AdmissionStatus.PRE_REGISTERED,
                "updated_at": now,
            },
            create_defaults={
                "hospital": hospital,
                "temp_identifier": encounter.temp_identifier,
                "status": AdmissionStatus.PRE_REGISTERED,
                "created_at": now,
                "updated_at": now,
            },
        )
        if previous != hospital.pk:
            # Pending activations go to the new ED only where it has the team; the rest are
            # held (not sent, not escalated) and the crew is warned (destination_warnings).
            for activation in encounter.activations.filter(acknowledged_at__isnull=True):
                capable = selectors.hospital_can_activate(hospital, activation.kind)
                activation.sent_at = now if capable else None
                activation.escalated_at = None
                activation.save(update_fields=["sent_at", "escalated_at"])
                if not capable:
                    continue
                event_record(
                    stream=events.ed_group(hospital.pk),
                    event_type=events.ACTIVATION_PROPOSED,
                    data=selectors.activation_summary(activation),
                )
        if previous is not None and previous != hospital.pk:
            event_record(
                stream=events.ed_group(previous),
                event_type=events.ENCOUNTER_REMOVED,
                data={
                    "encounter_id": str(encounter.public_id),
                    "temp_identifier": encounter.temp_identifier,
                },
            )
        _assignment_destination(encounter.assignment_id, hospital.pk)
        _emit_encounter(encounter)
        delivery_enqueue(encounter, "A05", fhir=True)
        audit_record(
            actor=user,
            action="destination_set",
            object_type="encounter",
            object_id=encounter.public_id,
            detail={"hospital": hospital.pk},
        )
    return encounter


def _assignment_destination(assignment_id: int, hospital_id: int) -> None:
    """Point the dispatch assignment at the hospital and tell the centre and the tablet.

    Dispatchers get destination and ETA this way only, never the clinical record.
    """
    assignment = (
        Assignment.objects.select_for_update()
        .select_related("unit", "incident")
        .get(pk=assignment_id)
    )
    if (
        assignment.destination_id == hospital_id
        or assignment.status not in ACTIVE_ASSIGNMENT_STATUSES
    ):
        return
    assignment.destination_id = hospital_id
    assignment.save(update_fields=["destination"])
    event_record(
        stream=events.unit_group(assignment.unit_id),
        event_type="dispatch.assignment.updated",
        data=dispatch_selectors.assignment_for_crew(assignment),
    )
    event_record(
        stream=events.centre_group(assignment.incident.centre_id),
        event_type="dispatch.incident.updated",
        data=dispatch_selectors.incident_summary(assignment.incident),
    )


# --- The ED's side -------------------------------------------------------------------------


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
        event_record(
            stream=events.unit_group(encounter.assignment.unit_id),
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
        audit_record(
            actor=user,
            action="ed_acknowledge",
            object_type="encounter",
            object_id=encounter.public_id,
        )
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
        audit_record(
            actor=user,
            action="bay_assign",
            object_type="encounter",
            object_id=encounter.public_id,
            detail={"fields": ["bay"]},
        )
    return encounter


def _message_send(
    *, user: Any, encounter_id: int, text: str, client_id: str, sender: str
) -> EDMessage:
    now = timezone.now()
    text = _text(text, "text", 1000) or ""
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
        for stream in (
            events.ed_group(encounter.destination_id),
            events.unit_group(encounter.assignment.unit_id),
        ):
            event_record(stream=stream, event_type=events.MESSAGE_CREATED, data=summary)
        audit_record(
            actor=user,
            action="message_send",
            object_type="encounter",
            object_id=encounter.public_id,
            detail={"message": message.pk, "sender": sender},
        )
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

    Every dispatch centre's stream gets `handoff.hospital.updated` so the maps change at once.
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
        for stream in [*streams, events.ed_group(hospital.pk)]:
            event_record(stream=stream, event_type=events.HOSPITAL_UPDATED, data=summary)
    return hospital


def activation_acknowledge(*, user: Any, activation_id: int) -> TeamActivation:
    """An ED clinician confirms a proposed team activation (idempotent)."""
    now = timezone.now()
    with transaction.atomic():
        activation = TeamActivation.objects.select_for_update().get(pk=activation_id)
        encounter = _lock(activation.encounter_id)
        access.check_ed(user, encounter)
        if activation.acknowledged_at is not None:
            return activation
        activation.acknowledged_at = now
        activation.acknowledged_by = user
        activation.save(update_fields=["acknowledged_at", "acknowledged_by"])
        event_record(
            stream=events.ed_group(encounter.destination_id),  # type: ignore[arg-type]
            event_type=events.ACTIVATION_ACKNOWLEDGED,
            data=selectors.activation_summary(activation),
        )
        _touch(encounter, now)
        _emit_encounter(encounter)
        audit_record(
            actor=user,
            action="activation_acknowledge",
            object_type="encounter",
            object_id=encounter.public_id,
            detail={"team_activation": activation.pk},
        )
    return activation


def activations_escalate() -> int:
    """Re-send and escalate to the charge role every activation unacknowledged for
    ACTIVATION_ESCALATE_AFTER_SECONDS since its ED was told; returns how many.

    Each activation escalates once: it is claimed with a conditional UPDATE, so two
    schedulers running at once cannot both escalate it, and running again does nothing.
    """
    now = timezone.now()
    cutoff = now - timedelta(seconds=settings.ACTIVATION_ESCALATE_AFTER_SECONDS)
    due = TeamActivation.objects.filter(
        acknowledged_at__isnull=True,
        escalated_at__isnull=True,
        sent_at__lte=cutoff,
        encounter__status=EncounterStatus.OPEN,
        encounter__destination__isnull=False,
    ).order_by("pk")
    escalated = 0
    for activation_id in due.values_list("pk", flat=True):
        with transaction.atomic():
            # Conditional claim: an acknowledgement that landed since the query wins, and a
            # second scheduler finds the row already claimed (row count 0).
            claimed = TeamActivation.objects.filter(
                pk=activation_id,
                acknowledged_at__isnull=True,
                escalated_at__isnull=True,
                sent_at__lte=cutoff,
            ).update(escalated_at=now, resent_count=F("resent_count") + 1)
            if not claimed:
                continue
            activation = TeamActivation.objects.select_related("encounter").get(pk=activation_id)
            stream = events.ed_group(activation.encounter.destination_id)  # type: ignore[arg-type]
            summary = selectors.activation_summary(activation)
            event_record(
                stream=stream,
                event_type=events.ACTIVATION_PROPOSED,
                data={**summary, "resent": True},
            )
            event_record(
                stream=stream,
                event_type=events.ACTIVATION_ESCALATED,
                data={**summary, "charge": True},
            )
            audit_record(
                actor=None,
                action="activation_escalate",
                object_type="encounter",
                object_id=activation.encounter.public_id,
                detail={"team_activation": activation.pk},
            )
            escalated += 1
    return escalated


# --- The live ETA to the hospital ------------------------------------------------------------

# Crew statuses whose patient is on the way: on scene the drive time is "from leaving".
ETA_CREW_STATUSES = (AssignmentStatus.ON_SCENE, AssignmentStatus.TRANSPORTING)


def eta_watch_units() -> set[int]:
    """Units with a patient on the way to an ED (the ETA follows their fixes)."""
    return set(
        Encounter.objects.filter(
            status=EncounterStatus.OPEN,
            destination__isnull=False,
            arrived_at__isnull=True,
            assignment__status__in=ETA_CREW_STATUSES,
        ).values_list("assignment__unit_id", flat=True)
    )


# An ambulance driving as predicted keeps its arrival time: the ED hears of a change only
# when the arrival moves by this much, so a fleet on the road does not flood the boards.
ETA_CHANGE_SECONDS = 30


def _eta_moved(
    encounter: Encounter, eta_at: datetime, drive_s: int, approximate: bool, driving: bool
) -> bool:
    if encounter.eta_at is None or encounter.eta_drive_seconds is None:
        return True
    if encounter.eta_approximate != approximate:
        return True
    if driving:
        return abs((eta_at - encounter.eta_at).total_seconds()) >= ETA_CHANGE_SECONDS
    return abs(drive_s - encounter.eta_drive_seconds) >= ETA_CHANGE_SECONDS


def encounters_eta_refresh(
    *, unit_ids: list[int], min_interval_s: float, force: bool = False
) -> int:
    """Recompute the ETA of each patient these units carry (or are with on scene) from the
    unit's newest fix on the road graph; the receiving ED and the tablet get the row.

    At most once per `min_interval_s` per encounter, whoever asks: each is claimed with a
    conditional UPDATE of eta_computed_at, so two ingest processes do not both route it.
    The ED hears of it when the arrival moves by ETA_CHANGE_SECONDS or more, or always with
    `force` (the crew left the scene: the board starts counting down). The route is computed
    outside the row lock. Returns how many encounters changed.
    """
    now = timezone.now()
    candidates = list(
        Encounter.objects.filter(
            assignment__unit_id__in=unit_ids,
            status=EncounterStatus.OPEN,
            destination__isnull=False,
            arrived_at__isnull=True,
            assignment__status__in=ETA_CREW_STATUSES,
        ).select_related("assignment__unit", "assignment__incident", "destination")
    )
    # A little slack: fixes every 10 s must not miss a 12 s window by a few milliseconds.
    cutoff = now - timedelta(seconds=max(0.0, min_interval_s - 0.5))
    updated = 0
    for encounter in candidates:
        claimed = (
            Encounter.objects.filter(pk=encounter.pk)
            .filter(Q(eta_computed_at__isnull=True) | Q(eta_computed_at__lte=cutoff))
            .update(eta_computed_at=now)
        )
        if not claimed:
            continue
        hospital = encounter.destination
        assert hospital is not None  # noqa: S101 - filtered on destination above
        try:
            drive = selectors.drive_times(encounter.assignment, [hospital])[hospital.pk]
        except (MapNotBuiltError, RoutingError):
            continue
        if drive.seconds is None:
            continue
        fix_at = encounter.assignment.unit.last_fix_at or now
        with transaction.atomic():
            locked = _lock(encounter.pk)
            if (
                locked.status != EncounterStatus.OPEN
                or locked.arrived_at is not None
                or locked.destination_id != hospital.pk
            ):
                continue
            driving = locked.assignment.status == AssignmentStatus.TRANSPORTING
            # On scene the patient is not moving yet: "if we left now".
            new_eta = (fix_at if driving else now) + timedelta(seconds=drive.seconds)
            moved = _eta_moved(locked, new_eta, round(drive.seconds), drive.approximate, driving)
            if not (moved or force):
                continue
            locked.eta_drive_seconds = round(drive.seconds)
            locked.eta_at = new_eta
            locked.eta_approximate = drive.approximate
            locked.eta_computed_at = now
            _touch(locked, now, "eta_drive_seconds", "eta_at", "eta_approximate", "eta_computed_at")
            _emit_encounter(locked)
            updated += 1
    return updated


# --- Arrival, transfer of care, reconciliation ---------------------------------------------


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
        delivery_enqueue(encounter, "A04", fhir=False)
        audit_record(
            actor=user, action="arrive", object_type="encounter", object_id=encounter.public_id
        )
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
        audit_record(
            actor=user,
            action="transfer_confirm",
            object_type="encounter",
            object_id=encounter.public_id,
            detail={"side": side, "fields": changed},
        )
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
        audit_record(
            actor=user,
            action="ed_close",
            object_type="encounter",
            object_id=encounter.public_id,
            # The reason is free text about a patient: it stays in the record, not the log.
            detail={"fields": ["closed_reason"]},
        )
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
        audit_record(
            actor=user,
            action="reconcile",
            object_type="encounter",
            object_id=encounter.public_id,
            detail={"fields": ["mrn"]},
        )
    return encounter
