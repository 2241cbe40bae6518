"""Reads of the handoff: the ED board row, the incoming list, the record, destinations."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Literal

from django.conf import settings
from django.db import connection
from django.db.models import F, Window, prefetch_related_objects
from django.db.models.functions import RowNumber
from django.utils import timezone, translation

from accounts.models import Role
from dispatch.models import Assignment, AssignmentStatus
from dispatch.selectors import drive_mode, hospital_summary, unit_position
from handoff.clinical import ALLOWED_FIELDS, lams_lvo, race_lvo
from handoff.clinical import ActivationKind as ClinicalKind
from handoff.interop import document
from handoff.models import (
    ActivationKind,
    EDMessage,
    EDStatus,
    Encounter,
    EncounterStatus,
    Hospital,
    HospitalCapability,
    TeamActivation,
    VitalsSet,
)
from routing.engine import RoutingError, rank, snap
from routing.services import get_network

# Board order: the sickest first. An encounter without vitals sorts after "low".
RISK_ORDER = {"high": 0, "medium": 1, "low-medium": 2, "low": 3}

# Model field per clinical key where they differ (the entered GCS total is kept apart from
# the effective one, which may be the sum of the components).
MODEL_FIELD = {"gcs_total": "gcs_total_recorded"}

# Vitals drawn as sparklines on the board.
TREND_KEYS = (
    "heart_rate",
    "respiratory_rate",
    "systolic_bp",
    "diastolic_bp",
    "spo2",
    "temperature",
    "gcs_total",
    "etco2",
    "blood_glucose",
    "news2_total",
)

# Read with the trend from the older sets: the unit a glucose or EtCO2 value was taken in.
LATEST_EXTRA_KEYS = ("blood_glucose_unit", "etco2_unit")

# The board's sparklines and each board row carry this many of the newest sets: a row stays
# small however long the transport, and the full series is in the record.
BOARD_TREND_SETS = 24

# Off the road graph the rest of the way is driven at this speed, in a straight line.
APPROXIMATE_SPEED_MPS = 30 / 3.6
# How far from the map a hospital may be and still get an approximate drive time.
FAR_SNAP_M = 50_000.0


def _iso(value: Any) -> str | None:
    return value.isoformat() if value else None


def vitals_values(vitals: VitalsSet) -> dict[str, Any]:
    """The clinical-core mapping of a stored set (keys of handoff.clinical.VITALS)."""
    values: dict[str, Any] = {}
    for key in ALLOWED_FIELDS:
        value = getattr(vitals, MODEL_FIELD.get(key, key))
        if value is not None and value != "":
            values[key] = value
    return values


def vitals_summary(vitals: VitalsSet) -> dict[str, Any]:
    """One vitals set with its scores, as the board, the tablet and the API show it."""
    return {
        "id": vitals.pk,
        "client_id": vitals.client_id,
        "taken_at": _iso(vitals.taken_at),
        "values": vitals_values(vitals),
        "ecg_stemi": vitals.ecg_stemi,
        "news2_total": vitals.news2_total,
        "news2_risk": vitals.news2_risk or None,
        "news2_missing": vitals.news2_missing,
        "news2_change": vitals.news2_change,
        "gcs_total": vitals.gcs_total,
        "shock_index": vitals.shock_index,
        "qsofa_score": vitals.qsofa_score,
        "flags": vitals.flags,
        "trend": vitals.trend,
    }


def activation_summary(activation: TeamActivation) -> dict[str, Any]:
    encounter = activation.encounter
    return {
        "id": activation.pk,
        "encounter_id": str(encounter.public_id),
        "temp_identifier": encounter.temp_identifier,
        "kind": activation.kind,
        "kind_label": ActivationKind(activation.kind).label,
        "reason": activation.reason,
        "capability": activation.capability or None,
        "proposed_at": _iso(activation.proposed_at),
        "sent_at": _iso(activation.sent_at),
        "acknowledged_at": _iso(activation.acknowledged_at),
        "escalated_at": _iso(activation.escalated_at),
        "resent_count": activation.resent_count,
    }


def message_summary(message: EDMessage) -> dict[str, Any]:
    encounter = message.encounter
    return {
        "id": message.pk,
        "encounter_id": str(encounter.public_id),
        "temp_identifier": encounter.temp_identifier,
        "sender": message.sender,
        "text": message.text,
        "sent_at": _iso(message.sent_at),
    }


def patient_age_years(encounter: Encounter, today: date | None = None) -> int | None:
    """Age from the birth date when known, else the crew's estimate."""
    if encounter.birth_date is not None:
        today = today or timezone.localdate()
        born = encounter.birth_date
        return today.year - born.year - ((today.month, today.day) < (born.month, born.day))
    return encounter.estimated_age_years


def _trend_series(sets: list[VitalsSet]) -> dict[str, list[list[Any]]]:
    series: dict[str, list[list[Any]]] = {}
    for vitals in sets:
        for key in TREND_KEYS:
            value = getattr(vitals, key)
            if value is not None:
                series.setdefault(key, []).append([_iso(vitals.taken_at), value])
    return series


def latest_values(sets: list[VitalsSet]) -> dict[str, dict[str, Any]]:
    """Each vital's newest value with the time of its set (`sets` oldest first).

    A partial set (a heart rate alone) must not hide the blood pressure taken a minute
    earlier: the board shows every vital's own latest reading and when it was taken.
    Blood pressure is one reading: diastolic comes from the set of the newest systolic.
    """
    found: dict[str, dict[str, Any]] = {}
    for vitals in reversed(sets):
        at = _iso(vitals.taken_at)
        for key in TREND_KEYS:
            if key in found or key == "diastolic_bp":
                continue
            value = getattr(vitals, key)
            if value is None:
                continue
            entry: dict[str, Any] = {"value": value, "at": at}
            if key == "systolic_bp":
                entry["diastolic"] = vitals.diastolic_bp
            elif key in ("blood_glucose", "etco2"):
                entry["unit"] = getattr(vitals, f"{key}_unit") or None
            found[key] = entry
        if len(found) == len(TREND_KEYS) - 1:
            break
    return found


def _treatment(encounter: Encounter) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = [
        {"at": _iso(i.performed_at), "kind": "intervention", "text": i.text}
        for i in encounter.interventions.all()
    ]
    for m in encounter.medications_given.all():
        dose = f" {m.dose:g} {m.unit}".rstrip() if m.dose is not None else ""
        route = f" {m.route}" if m.route else ""
        items.append(
            {"at": _iso(m.given_at), "kind": "medication", "text": f"{m.name}{dose}{route}"}
        )
    items.sort(key=lambda item: item["at"] or "")
    return items


def newest_vitals(encounter_ids: list[int], count: int) -> dict[int, list[VitalsSet]]:
    """The `count` newest vitals sets of each encounter, oldest first.

    Only the newest set of each is whole; the older ones carry what the board's trend draws
    (TREND_KEYS and taken_at; any other field loads on access). On PostgreSQL two index
    scans per encounter (LATERAL ... LIMIT), so the cost does not grow with a long record;
    elsewhere a window query.
    """
    if not encounter_ids:
        return {}
    if connection.vendor != "postgresql":
        return _newest_vitals_window(encounter_ids, count)
    table = VitalsSet._meta.db_table
    trend = ", ".join(["id", "encounter_id", "taken_at", *TREND_KEYS, *LATEST_EXTRA_KEYS])

    def lateral(columns: str, limit: int) -> str:
        return (
            f"SELECT s.{columns.replace(', ', ', s.')} FROM unnest(%s::bigint[]) AS e(id) "  # noqa: S608 - model names
            f"CROSS JOIN LATERAL (SELECT * FROM {table} WHERE encounter_id = e.id "
            f"ORDER BY taken_at DESC, id DESC LIMIT {int(limit)}) AS s"
        )

    ids = list(encounter_ids)
    newest = {v.encounter_id: v for v in VitalsSet.objects.raw(lateral("*", 1), [ids])}
    found: dict[int, list[VitalsSet]] = {}
    older = VitalsSet.objects.raw(lateral(trend, count), [ids])
    for vitals in sorted(older, key=lambda v: (v.encounter_id, v.taken_at, v.pk)):
        whole = newest.get(vitals.encounter_id)
        found.setdefault(vitals.encounter_id, []).append(
            whole if whole is not None and whole.pk == vitals.pk else vitals
        )
    return found


def _newest_vitals_window(encounter_ids: list[int], count: int) -> dict[int, list[VitalsSet]]:
    ranked = VitalsSet.objects.filter(encounter_id__in=encounter_ids).annotate(
        rank=Window(
            RowNumber(),
            partition_by=[F("encounter_id")],
            order_by=[F("taken_at").desc(), F("pk").desc()],
        )
    )
    found: dict[int, list[VitalsSet]] = {}
    for vitals in ranked.filter(rank__lte=count).order_by("encounter_id", "taken_at", "pk"):
        found.setdefault(vitals.encounter_id, []).append(vitals)
    return found


def board_prefetch(encounters: list[Encounter]) -> None:
    """Load what board_row reads of many encounters in one query per relation."""
    prefetch_related_objects(
        encounters, "activations", "interventions", "medications_given", "admission"
    )


def board_row(encounter: Encounter, *, sets: list[VitalsSet] | None = None) -> dict[str, Any]:
    """The ED board's row for one encounter, also sent to the crew's tablet.

    Never carries the patient's name or birth date: event payloads are logged and fanned
    out, and the board shows the temporary identifier (names are in `encounter_detail`).
    The trend is drawn from the newest BOARD_TREND_SETS sets (all of them are in the record);
    `sets`, oldest first, are the encounter's sets when the caller has them already.
    """
    if sets is None:
        sets = list(reversed(encounter.vitals.order_by("-taken_at", "-pk")[:BOARD_TREND_SETS]))
    else:
        sets = sets[-BOARD_TREND_SETS:]
    latest = sets[-1] if sets else None
    assignment = encounter.assignment
    admission = getattr(encounter, "admission", None)
    # The ED counts down only while the patient is on the road (never on scene).
    on_the_road = (
        assignment.status == AssignmentStatus.TRANSPORTING
        and encounter.arrived_at is None
        and encounter.status == EncounterStatus.OPEN
    )
    return {
        "encounter_id": str(encounter.public_id),
        "temp_identifier": encounter.temp_identifier,
        "status": encounter.status,
        "unit": {"id": assignment.unit_id, "call_sign": assignment.unit.call_sign},
        "assignment_id": assignment.pk,
        "assignment_status": assignment.status,
        "destination_id": encounter.destination_id,
        "destination_reason": encounter.destination_reason or None,
        "eta_at": _iso(encounter.eta_at),
        "eta_approximate": encounter.eta_approximate,
        "eta_counts_down": on_the_road and encounter.eta_at is not None,
        "eta_drive_seconds": encounter.eta_drive_seconds,
        "eta_computed_at": _iso(encounter.eta_computed_at),
        "acuity": (latest.news2_risk or None) if latest else None,
        "news2_total": latest.news2_total if latest else None,
        "age_years": patient_age_years(encounter),
        "age_text": encounter.age_text,
        "sex": encounter.sex,
        "chief_complaint": encounter.chief_complaint,
        "working_impression": encounter.working_impression,
        "time_of_onset": _iso(encounter.time_of_onset),
        "last_known_well": _iso(encounter.last_known_well),
        "allergies": encounter.allergies,
        "anticoagulated": any(m.get("anticoagulant") for m in encounter.medications),
        "latest_vitals": vitals_summary(latest) if latest else None,
        "latest_values": latest_values(sets),
        "trend": _trend_series(sets),
        "treatment": _treatment(encounter),
        # An activation held back because the destination lacks the team is not shown there.
        "activations": [
            activation_summary(a)
            for a in encounter.activations.all()
            if a.sent_at is not None
            or a.acknowledged_at is not None
            or not encounter.destination_id
        ],
        "acknowledged_at": _iso(encounter.ed_acknowledged_at),
        "bay": encounter.bay or None,
        "arrived_at": _iso(encounter.arrived_at),
        "crew_confirmed_at": _iso(encounter.crew_confirmed_at),
        "ed_confirmed_at": _iso(encounter.ed_confirmed_at),
        "transfer_of_care_at": _iso(encounter.transfer_of_care_at),
        "offload_seconds": encounter.offload_seconds,
        "admission_status": admission.status if admission else None,
        "reconciled": bool(encounter.mrn),
        "closed_at": _iso(encounter.closed_at),
        "closed_reason": encounter.closed_reason or None,
        "updated_at": _iso(encounter.updated_at),
    }


def _board_key(row: dict[str, Any]) -> tuple[int, int, str, str]:
    eta = row["eta_at"]
    return (
        RISK_ORDER.get(row["acuity"] or "", len(RISK_ORDER)),
        eta is None,
        eta or "",
        row["temp_identifier"],
    )


def ed_incoming_list(*, hospital_id: int) -> list[dict[str, Any]]:
    """Open encounters bound for the hospital: highest NEWS2 risk first, then soonest ETA."""
    encounters = (
        Encounter.objects.filter(destination_id=hospital_id, status=EncounterStatus.OPEN)
        .select_related("assignment__unit", "admission")
        .prefetch_related("activations", "interventions", "medications_given")
    )
    return sorted((board_row(e) for e in encounters), key=_board_key)


# A handed-over or ED-closed card stays in the board's "handed over" section this long.
RECENT_MINUTES = 15


def ed_recent_list(*, hospital_id: int, minutes: int = RECENT_MINUTES) -> list[dict[str, Any]]:
    """Encounters bound for the hospital that closed in the last `minutes` (handed over or
    closed by the ED), newest first: the board's "handed over" section."""
    since = timezone.now() - timedelta(minutes=minutes)
    encounters = (
        Encounter.objects.filter(
            destination_id=hospital_id, status=EncounterStatus.CLOSED, closed_at__gte=since
        )
        .select_related("assignment__unit", "admission")
        .prefetch_related("activations", "interventions", "medications_given")
        .order_by("-closed_at", "-pk")
    )
    return [board_row(e) for e in encounters]


def encounter_detail(encounter: Encounter) -> dict[str, Any]:
    """The full pre-hospital record for its crew and the receiving ED (names included)."""
    data = board_row(encounter)
    data.update(
        {
            "id": encounter.pk,
            "family_name": encounter.family_name,
            "given_name": encounter.given_name,
            "birth_date": _iso(encounter.birth_date),
            "estimated_age_years": encounter.estimated_age_years,
            "mechanism": encounter.mechanism,
            "injuries": encounter.injuries,
            "working_impression_code": encounter.working_impression_code,
            "medications": encounter.medications,
            "history": encounter.history,
            "findings": encounter.findings,
            "destination_ed_status": encounter.destination_ed_status or None,
            "destination_warnings": destination_warnings(encounter),
            "vitals": [vitals_summary(v) for v in encounter.vitals.order_by("taken_at", "pk")],
            "messages": [message_summary(m) for m in encounter.messages.all()],
            "mrn": encounter.mrn or None,
            "reconciled_at": _iso(encounter.reconciled_at),
            "closed_at": _iso(encounter.closed_at),
            "created_at": _iso(encounter.created_at),
        }
    )
    return data


# --- Destinations --------------------------------------------------------------------------


@dataclass(frozen=True)
class CareNeed:
    """A capability the patient's condition calls for; any of `capabilities` meets it."""

    key: str
    label: str
    capabilities: tuple[str, ...]


STROKE_CAPABILITIES = (
    HospitalCapability.STROKE_ACUTE_READY,
    HospitalCapability.STROKE_PRIMARY,
    HospitalCapability.STROKE_THROMBECTOMY,
    HospitalCapability.STROKE_COMPREHENSIVE,
)
NEEDS = {
    "lvo_stroke": CareNeed(
        "lvo_stroke",
        "large-vessel-occlusion stroke",
        (HospitalCapability.STROKE_THROMBECTOMY, HospitalCapability.STROKE_COMPREHENSIVE),
    ),
    "stroke": CareNeed("stroke", "stroke", STROKE_CAPABILITIES),
    "stemi": CareNeed("stemi", "STEMI", (HospitalCapability.STEMI_PCI_24_7,)),
    "major_trauma": CareNeed(
        "major_trauma", "major trauma", (HospitalCapability.TRAUMA_1, HospitalCapability.TRAUMA_2)
    ),
    "pediatric": CareNeed("pediatric", "child under 16", (HospitalCapability.PEDIATRIC,)),
    "obstetrics": CareNeed("obstetrics", "obstetric emergency", (HospitalCapability.OBSTETRICS,)),
}
PEDIATRIC_BELOW_YEARS = 16


def care_needs(encounter: Encounter) -> list[CareNeed]:
    """What the destination must offer, from the recorded findings, scores and age.

    Large-vessel stroke: a RACE >= 5 or LAMS >= 4 on any set (or the stroke proposal naming
    a thrombectomy-capable centre); STEMI: a STEMI on any 12-lead; major trauma: the CDC
    red criteria proposal; children: age under 16.
    """
    kinds = {a.kind: a for a in encounter.activations.all()}
    sets = list(encounter.vitals.all())
    lvo = any(
        (
            v.stroke_scale_type == "RACE"
            and v.stroke_scale_score is not None
            and race_lvo(v.stroke_scale_score)
        )
        or (
            v.stroke_scale_type == "LAMS"
            and v.stroke_scale_score is not None
            and lams_lvo(v.stroke_scale_score)
        )
        for v in sets
    ) or "thrombectomy" in getattr(kinds.get(ActivationKind.STROKE), "capability", "")
    needs: list[CareNeed] = []
    if lvo:
        needs.append(NEEDS["lvo_stroke"])
    elif ActivationKind.STROKE in kinds:
        needs.append(NEEDS["stroke"])
    if ActivationKind.STEMI in kinds or any(v.ecg_stemi for v in sets):
        needs.append(NEEDS["stemi"])
    if ActivationKind.TRAUMA in kinds:
        needs.append(NEEDS["major_trauma"])
    if ActivationKind.OBSTETRICS in kinds:
        needs.append(NEEDS["obstetrics"])
    age = patient_age_years(encounter)
    if age is not None and age < PEDIATRIC_BELOW_YEARS:
        needs.append(NEEDS["pediatric"])
    return needs


@dataclass(frozen=True)
class DriveTime:
    seconds: float | None
    distance_m: float | None
    approximate: bool


def _far_snap(graph: Any, lat: float, lon: float, max_snap_m: float) -> tuple[Any, float, bool]:
    """A point's road position; off the graph, the nearest graph point and the gap to it."""
    try:
        return snap(graph, lat, lon, max_snap_m), 0.0, False
    except RoutingError:
        nearest = snap(graph, lat, lon, FAR_SNAP_M)
        return nearest, nearest.distance_m, True


def drive_times(assignment: Assignment, hospitals: list[Hospital]) -> dict[int, DriveTime]:
    """Drive time from the unit's position to each hospital, in the incident's drive mode.

    A hospital (or unit) the road graph cannot reach gets the drive time to the graph point
    nearest it plus the straight-line remainder at 30 km/h, marked approximate.
    Raises MapNotBuiltError when there is no map.
    """
    network = get_network()
    graph = network.graph
    mode = drive_mode(assignment.incident)
    lat, lon, _ = unit_position(assignment.unit)
    origin, origin_gap, origin_approx = _far_snap(graph, lat, lon, network.max_snap_m)
    times: dict[int, DriveTime] = {}
    for hospital in hospitals:
        try:
            target, gap, approximate = _far_snap(
                graph, hospital.lat, hospital.lon, network.max_snap_m
            )
            [result] = rank(graph, target, [origin], mode)  # type: ignore[arg-type]
        except RoutingError:
            times[hospital.pk] = DriveTime(None, None, True)
            continue
        if not result.reachable or not math.isfinite(result.eta_s):
            times[hospital.pk] = DriveTime(None, None, True)
            continue
        gap += origin_gap
        times[hospital.pk] = DriveTime(
            round(result.eta_s + gap / APPROXIMATE_SPEED_MPS, 1),
            round(result.distance_m + gap, 1),
            approximate or origin_approx,
        )
    return times


# The team an activation raises exists only where the hospital has the capability.
ACTIVATION_CAPABILITIES: dict[str, tuple[str, ...]] = {
    ActivationKind.STEMI: (HospitalCapability.STEMI_PCI, HospitalCapability.STEMI_PCI_24_7),
    ActivationKind.STROKE: STROKE_CAPABILITIES,
    ActivationKind.TRAUMA: (
        HospitalCapability.TRAUMA_1,
        HospitalCapability.TRAUMA_2,
        HospitalCapability.TRAUMA_3,
        HospitalCapability.TRAUMA_4,
        HospitalCapability.TRAUMA_5,
    ),
    ActivationKind.OBSTETRICS: (HospitalCapability.OBSTETRICS,),
}


def hospital_can_activate(hospital: Hospital, kind: str) -> bool:
    """Whether the hospital has the team this activation kind raises (any ED: arrest, sepsis)."""
    needed = ACTIVATION_CAPABILITIES.get(kind)
    return needed is None or bool(set(hospital.capabilities).intersection(needed))


def destination_warnings(encounter: Encounter) -> list[str]:
    """What the chosen destination lacks for this patient, in words for the crew."""
    hospital = encounter.destination
    if hospital is None:
        return []
    offered = set(hospital.capabilities)
    warnings = [
        f"{hospital.name} has no {need.label} care: its team will not be activated there."
        for need in care_needs(encounter)
        if not offered.intersection(need.capabilities)
    ]
    suitable, note = patient_fit(hospital, encounter)
    if not suitable and note:
        warnings.append(f"{hospital.name} does not take this patient: {note}.")
    return warnings


def patient_fit(hospital: Hospital, encounter: Encounter) -> tuple[bool, str | None]:
    """Whether a specialist hospital without a general ED takes this patient, and why not.

    A hospital with only children's care (pediatric, no general) takes patients under 16; one
    with only obstetric care takes women. Unknown age or sex never excludes: it is marked, so
    the crew checks (a wrong exclusion costs more than a second look).
    Returns (suitable, note): note is the reason when unsuitable, the check when unknown.
    """
    offered = set(hospital.capabilities)
    if HospitalCapability.GENERAL in offered:
        return True, None
    age = patient_age_years(encounter)
    sex = encounter.sex
    if HospitalCapability.PEDIATRIC in offered and HospitalCapability.OBSTETRICS not in offered:
        if age is None:
            return True, "children's hospital: check the patient's age (under 16 only)"
        if age >= PEDIATRIC_BELOW_YEARS:
            return False, f"children's hospital (under {PEDIATRIC_BELOW_YEARS}); patient {age}"
    if HospitalCapability.OBSTETRICS in offered and HospitalCapability.PEDIATRIC not in offered:
        if sex in ("unknown", "other", ""):
            return True, "women's hospital (obstetrics): check the patient"
        if sex == "male":
            return False, "women's hospital (obstetrics); patient is male"
    return True, None


def destination_recommendations(encounter: Encounter) -> list[dict[str, Any]]:
    """Every hospital for this patient: open EDs that meet the care needs by drive time, then
    open ones that do not (flagged with what is missing), then EDs on diversion with why;
    last, marked `suitable: False` with the reason, specialist hospitals that do not take
    this patient (a man at the women's hospital, an adult at the children's)."""
    hospitals = list(Hospital.objects.all())
    needs = care_needs(encounter)
    times = drive_times(encounter.assignment, hospitals)
    rows: list[dict[str, Any]] = []
    for hospital in hospitals:
        offered = set(hospital.capabilities)
        missing = [n.label for n in needs if not offered.intersection(n.capabilities)]
        met = [n.label for n in needs if offered.intersection(n.capabilities)]
        drive = times[hospital.pk]
        suitable, fit_note = patient_fit(hospital, encounter)
        rows.append(
            {
                "suitable": suitable,
                "fit_note": fit_note,
                "hospital": hospital_summary(hospital),
                "drive_time_s": drive.seconds,
                "distance_m": drive.distance_m,
                "approximate": drive.approximate,
                "needs": [n.key for n in needs],
                "meets_needs": not missing,
                "needs_met": met,
                "needs_missing": missing,
                "on_diversion": hospital.ed_status == EDStatus.DIVERSION,
                "diversion_reason": hospital.diversion_reason or None,
            }
        )
    rows.sort(
        key=lambda r: (
            not r["suitable"],
            r["on_diversion"],
            not r["meets_needs"],
            r["drive_time_s"] is None,
            r["drive_time_s"] or 0.0,
            r["hospital"]["name"],
        )
    )
    return rows


# --- Interoperability ------------------------------------------------------------------------

# Our stored activation kinds (slugs) back to the clinical core's names, which the exporters use.
CLINICAL_KIND_NAMES = {
    ActivationKind.CARDIAC_ARREST: ClinicalKind.CARDIAC_ARREST.value,
    ActivationKind.STEMI: ClinicalKind.STEMI.value,
    ActivationKind.STROKE: ClinicalKind.STROKE.value,
    ActivationKind.TRAUMA: ClinicalKind.TRAUMA.value,
    ActivationKind.SEPSIS: ClinicalKind.SEPSIS.value,
    ActivationKind.OBSTETRICS: ClinicalKind.OBSTETRICS.value,
    ActivationKind.DETERIORATION: ClinicalKind.DETERIORATION.value,
}
_UNIT_KEYS = {"blood_glucose": "blood_glucose_unit", "etco2": "etco2_unit"}


def _encounter_crew(encounter: Encounter, sets: list[Any]) -> tuple[document.CrewMember, ...]:
    """The crew members who recorded this encounter (its authors), in first-recorded order.

    Crew accounts only: an ED nurse's reconcile or a dispatcher is not an author of the
    EMS record. The id is the user's primary key, stable and not a personal identifier.
    """
    rows = [encounter.created_by, encounter.crew_confirmed_by]
    rows += [v.recorded_by for v in sets]
    rows += [i.recorded_by for i in encounter.interventions.select_related("recorded_by")]
    rows += [m.recorded_by for m in encounter.medications_given.select_related("recorded_by")]
    crew: dict[int, document.CrewMember] = {}
    for user in rows:
        if user is None or user.role != Role.CREW or user.pk in crew:
            continue
        crew[user.pk] = document.CrewMember(
            id=str(user.pk), family=user.last_name, given=user.first_name
        )
    return tuple(crew.values())


def encounter_document(encounter: Encounter) -> document.EncounterDocument:
    """The encounter as the FHIR / HL7 exporters' input (handoff/interop/document.py).

    Precondition: the caller has checked access; the document carries the patient's name.
    """
    if encounter.transfer_of_care_at is not None or encounter.status == EncounterStatus.CLOSED:
        status: Literal["planned", "arrived", "finished"] = "finished"
    elif encounter.arrived_at is not None:
        status = "arrived"
    else:
        status = "planned"
    hospital = encounter.destination
    sets = list(encounter.vitals.select_related("recorded_by").order_by("taken_at", "pk"))
    centre = encounter.assignment.unit.centre
    assignment = encounter.assignment
    unit_times = tuple(
        (element, value)
        for element, value in (
            ("eTimes.01", assignment.incident.call_received_at),
            ("eTimes.03", assignment.notified_at),
            ("eTimes.05", assignment.en_route_at),
            ("eTimes.06", assignment.on_scene_at),
            ("eTimes.09", assignment.left_scene_at),
        )
        if value is not None
    )
    return document.EncounterDocument(
        unit_times=unit_times,
        # The deployment's language as BCP 47 (en-gb -> en-GB): the narrative is written in it.
        language=translation.to_locale(settings.LANGUAGE_CODE).replace("_", "-"),
        encounter_id=str(encounter.public_id),
        incident_id=encounter.assignment.incident_id,
        status=status,
        hospital_code=hospital.code if hospital else "",
        hospital_name=hospital.name if hospital else "",
        unit_call_sign=encounter.assignment.unit.call_sign,
        chief_complaint=encounter.chief_complaint,
        working_impression=encounter.working_impression,
        working_impression_code=encounter.working_impression_code or None,
        allergies=list(encounter.allergies),
        medications=[(m["name"], bool(m.get("anticoagulant"))) for m in encounter.medications],
        history=list(encounter.history),
        last_known_well=encounter.last_known_well,
        eta=encounter.eta_at,
        arrived_at=encounter.arrived_at,
        transfer_of_care_at=encounter.transfer_of_care_at,
        destination_reason=encounter.get_destination_reason_display()
        if encounter.destination_reason
        else "",
        patient=document.PatientInfo(
            temp_id=encounter.temp_identifier,
            mrn=encounter.mrn or None,
            family=encounter.family_name,
            given=encounter.given_name,
            sex=encounter.sex,  # type: ignore[arg-type]
            birth_date=encounter.birth_date,
            estimated_age_years=encounter.estimated_age_years,
        ),
        vitals=[
            document.VitalsEntry(
                id=v.client_id,
                taken_at=v.taken_at,
                values={
                    k: val for k, val in vitals_values(v).items() if k not in _UNIT_KEYS.values()
                },
                units={
                    k: getattr(v, u) for k, u in _UNIT_KEYS.items() if getattr(v, k) is not None
                },
                news2_total=v.news2_total,
                news2_complete=not v.news2_missing,
                gcs_total=v.gcs_total,
                news2_missing=tuple(v.news2_missing),
            )
            for v in sets
        ],
        procedures=[
            document.Procedure(
                id=i.client_id, performed_at=i.performed_at, text=i.text, snomed_code=i.code or None
            )
            for i in encounter.interventions.all()
        ],
        medications_given=[
            document.MedicationGiven(
                id=m.client_id,
                given_at=m.given_at,
                name=m.name,
                dose=m.dose,
                dose_unit=m.unit or None,
                route=m.route or None,
            )
            for m in encounter.medications_given.all()
        ],
        activations=[
            document.Activation(
                id=str(a.pk),
                kind=CLINICAL_KIND_NAMES[ActivationKind(a.kind)],
                reason=a.reason,
                proposed_at=a.proposed_at,
                acknowledged_at=a.acknowledged_at,
            )
            for a in encounter.activations.all()
        ],
        created_at=encounter.created_at,
        updated_at=encounter.updated_at,
        crew=_encounter_crew(encounter, sets),
        ems_organization=document.EmsOrganization(code=centre.code, name=centre.name),
        systems=document.identifier_systems(
            settings.FHIR_IDENTIFIER_BASE, settings.FHIR_MRN_SYSTEMS
        ),
    )


def incident_offloads(centre_id: int, since: datetime, until: datetime) -> dict[int, list[float]]:
    """{incident id: offload seconds of each patient handed over} for the response report.

    The centre's incidents whose call came in within [since, until) (timezone-aware).
    """
    offloads: dict[int, list[float]] = {}
    handed_over = Encounter.objects.filter(
        assignment__incident__centre_id=centre_id,
        assignment__incident__call_received_at__gte=since,
        assignment__incident__call_received_at__lt=until,
        offload_seconds__isnull=False,
    ).values_list("assignment__incident_id", "offload_seconds")
    for incident_id, seconds in handed_over:
        if seconds is not None:
            offloads.setdefault(incident_id, []).append(float(seconds))
    return offloads


def incident_outcomes(centre_id: int, since: datetime, until: datetime) -> dict[str, Any]:
    """The hospitals' outcomes of a centre's patients, for the response report: how many were
    brought to an ED, how many have an outcome, and the door-to-balloon / door-to-needle
    seconds per pathway. Counts and durations only, never a patient.

    The centre's incidents whose call came in within [since, until) (timezone-aware).
    """
    brought = Encounter.objects.filter(
        assignment__incident__centre_id=centre_id,
        assignment__incident__call_received_at__gte=since,
        assignment__incident__call_received_at__lt=until,
        arrived_at__isnull=False,
    )
    times: dict[str, list[float]] = {"stemi": [], "stroke": []}
    # One query: every patient brought in, with its outcome when there is one.
    rows = brought.values_list(
        "arrived_at", "outcome__pk", "outcome__pathway", "outcome__balloon_at", "outcome__needle_at"
    )
    handed_over = with_outcome = 0
    for door, outcome_id, pathway, balloon_at, needle_at in rows:
        handed_over += 1
        if outcome_id is None:
            continue
        with_outcome += 1
        treated = balloon_at if pathway == "stemi" else needle_at
        if pathway in times and treated is not None and door is not None:
            times[pathway].append((treated - door).total_seconds())
    return {
        "handed_over": handed_over,
        "with_outcome": with_outcome,
        "door_to_treatment_s": times,
    }
