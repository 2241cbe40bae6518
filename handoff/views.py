"""The ED incoming-patients board, and the patient record part of the crew tablet page."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import ensure_csrf_cookie

from accounts.access import role_required
from accounts.models import Role
from dispatch.models import Assignment
from dispatch.selectors import hospital_summary
from handoff import access, selectors
from handoff.clinical import VITALS
from handoff.clinical.vocabulary import STROKE_SCALE_RANGES
from handoff.delivery_jobs import delivery_failures_latest
from handoff.models import TRANSFER_DISPOSITIONS, DestinationReason, Disposition, EDStatus


@role_required(Role.ED_STAFF)
@ensure_csrf_cookie
def board(request: HttpRequest) -> HttpResponse:
    """The board's first paint: the incoming rows as the socket's snapshot would carry them.

    The socket's snapshot replaces them a moment later; embedding them means a wall screen
    shows its patients even before the socket is up.
    """
    hospital = access.access_staff_hospital(request.user)
    return render(
        request,
        "handoff/board.html",
        {
            "hospital": hospital,
            "ed_statuses": EDStatus.choices,
            # The outcome form's codes (NEMSIS eOutcome.01) and which ones are transfers.
            "outcome_vocabulary": {
                "dispositions": Disposition.choices,
                "transfers": sorted(TRANSFER_DISPOSITIONS),
            },
            "break_glass_minutes": settings.BREAK_GLASS_MINUTES,
            "break_glass_reason_min": settings.BREAK_GLASS_REASON_MIN_LENGTH,
            "initial_board": {
                "hospital": hospital_summary(hospital),
                "incoming": selectors.ed_incoming_list(hospital_id=hospital.pk),
                "recent": selectors.ed_recent_list(hospital_id=hospital.pk),
                "is_charge": bool(getattr(request.user, "is_charge", False)),
                "escalate_after_s": settings.ACTIVATION_ESCALATE_AFTER_SECONDS,
            },
        },
    )


def crew_record_initial(user: Any, current: Assignment | None) -> dict[str, Any]:
    """The crew tablet's patient record at page load: the open encounters of the current
    assignment (None: no job) and the vocabulary. The tablet page is dispatch's; it gets
    this through dispatch.hooks.

    The plausible ranges come from handoff.clinical.VITALS so the tablet's instant feedback
    cannot drift from what the server enforces (the server still judges every set).
    """
    encounters = []
    if current is not None:
        rows = list(access.access_crew_open_encounters(user, current))
        # A pre-arrival message the hospital refused is shown again after a reload.
        failures = delivery_failures_latest(rows)
        encounters = [
            {**selectors.encounter_detail(e), "delivery_failure": failures.get(e.pk)} for e in rows
        ]
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
        # How long after "Clear" the server still takes the crew's handover confirmation.
        "handover_minutes_after_clear": settings.CREW_HANDOVER_MINUTES_AFTER_CLEAR,
    }
