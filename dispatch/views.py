"""The dispatcher console and the crew tablet screens."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from accounts.access import role_required
from accounts.models import Role
from dispatch import access, events, selectors
from dispatch.models import Assignment
from handoff import access as handoff_access
from handoff import selectors as handoff_selectors
from handoff.clinical import VITALS
from handoff.clinical.vocabulary import STROKE_SCALE_RANGES
from handoff.models import DestinationReason, Hospital
from realtime.events import stream_head

# The patient record's fixed choices, in the order a crew works through them.
RECORD_FORM: dict[str, Any] = {
    "vital_tiles": [
        {"key": "heart_rate", "short": "HR", "unit": "/min"},
        {"key": "respiratory_rate", "short": "RR", "unit": "/min"},
        {"key": "systolic_bp", "short": "SBP", "unit": "mmHg"},
        {"key": "diastolic_bp", "short": "DBP", "unit": "mmHg"},
        {"key": "spo2", "short": "SpO₂", "unit": "%"},
        {"key": "temperature", "short": "Temp", "unit": "°C", "decimal": True},
        {"key": "blood_glucose", "short": "Glucose", "unit": "mmol/L", "decimal": True},
        {"key": "etco2", "short": "EtCO₂", "unit": "mmHg", "decimal": True},
        {"key": "pain_score", "short": "Pain", "unit": "0-10"},
    ],
    "avpu": [("A", "Alert"), ("V", "Voice"), ("P", "Pain"), ("U", "Unresponsive")],
    "gcs_parts": [
        {"key": "gcs_eye", "letter": "E", "scores": range(1, 5)},
        {"key": "gcs_verbal", "letter": "V", "scores": range(1, 6)},
        {"key": "gcs_motor", "letter": "M", "scores": range(1, 7)},
    ],
    # eVitals.03 is free text here; the exporter maps it to the NEMSIS code list.
    "rhythms": [
        (label, label)
        for label in (
            "Sinus rhythm",
            "Sinus tachycardia",
            "Sinus bradycardia",
            "Atrial fibrillation",
            "Atrial flutter",
            "Supraventricular tachycardia",
            "Ventricular tachycardia",
            "Ventricular fibrillation",
            "AV block, 2nd/3rd degree",
            "Paced rhythm",
            "PEA",
            "Asystole",
            "Other",
        )
    ],
    "befast": [
        ("balance", "Balance"),
        ("eyes", "Eyes"),
        ("face", "Face"),
        ("arm", "Arm"),
        ("speech", "Speech"),
    ],
    "sexes": [("male", "Male"), ("female", "Female"), ("other", "Other"), ("unknown", "Unknown")],
}


@role_required(Role.DISPATCHER)
def console(request: HttpRequest) -> HttpResponse:
    centre = access.access_dispatcher_centre(request.user)
    board = selectors.dispatch_board_snapshot(centre_id=centre.pk)
    context = {"centre": centre, "tile_url": settings.MAP_TILE_URL, **board}
    return render(request, "dispatch/console.html", context)


@role_required(Role.CREW)
def tablet(request: HttpRequest) -> HttpResponse:
    unit = access.access_crew_unit(request.user)
    # The head is read before the assignment, as for the socket snapshot: an event committed
    # in between is replayed once more and dropped by the page's sequence check, never lost.
    head = stream_head(events.unit_group(unit.pk))
    current = selectors.crew_current_assignment(unit)
    initial = {
        "seq": head,
        "unit": selectors.unit_summary(unit),
        "assignment": selectors.assignment_for_crew(current) if current else None,
    }
    context = {
        "unit": unit,
        "initial": initial,
        "record": _record_initial(request.user, current),
        **RECORD_FORM,
        "hospitals": Hospital.objects.order_by("name"),
        "tile_url": settings.MAP_TILE_URL,
        "position_heartbeat_s": settings.CREW_POSITION_HEARTBEAT_SECONDS,
    }
    return render(request, "dispatch/tablet.html", context)


def _record_initial(user: Any, current: Assignment | None) -> dict[str, Any]:
    """The patient record's start: the open encounters of the assignment and the vocabulary.

    The plausible ranges come from handoff.clinical.VITALS so the tablet's instant feedback
    cannot drift from what the server enforces (the server still judges every set).
    """
    encounters = []
    if current is not None:
        rows = handoff_access.access_crew_open_encounters(user, current)
        encounters = [handoff_selectors.encounter_detail(e) for e in rows]
    return {
        "encounters": encounters,
        "reasons": [{"value": v, "label": label} for v, label in DestinationReason.choices],
        "vitals": {
            key: {
                "label": spec.label,
                "kind": spec.kind.value,
                "unit": spec.display_unit,
                "min": spec.minimum,
                "max": spec.maximum,
                "flag_below": spec.flag_below,
                "flag_above": spec.flag_above,
                "units": dict(spec.units),
                "codes": list(spec.codes),
            }
            for key, spec in VITALS.items()
        },
        "stroke_scales": {name: list(bounds) for name, bounds in STROKE_SCALE_RANGES.items()},
    }
