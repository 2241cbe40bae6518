"""Reads for mutual aid between neighbouring centres (docs/centres.md)."""

from __future__ import annotations

from typing import Any

from django.db.models import Q

from dispatch.models import DispatchCentre, MutualAidRequest, MutualAidStatus
from dispatch.selectors import stop_text, user_label


def _iso(value: Any) -> str | None:
    return value.isoformat() if value else None


def centre_brief(centre: DispatchCentre) -> dict[str, Any]:
    return {"id": centre.pk, "name": centre.name, "code": centre.code}


def aid_request_summary(request: MutualAidRequest) -> dict[str, Any]:
    """A mutual-aid request as both centres see it: what the lender needs to decide (the
    determinant, the complaint, where, the unit and its ETA) and never who called.

    The lending centre has no other access to the incident, so nothing here may carry the
    caller's name or phone, the dispatcher's notes or the access notes.
    """
    incident = request.incident
    return {
        "id": request.pk,
        "status": request.status,
        "incident_id": incident.pk,
        "incident_status": incident.status,
        "determinant": incident.determinant,
        "response_mode": incident.response_mode,
        "chief_complaint": incident.chief_complaint,
        "address": incident.address,
        "road_street": incident.road_street,
        "road_lat": incident.road_lat,
        "road_lon": incident.road_lon,
        "stop": stop_text(incident),
        "unit_id": request.unit_id,
        "call_sign": request.unit.call_sign,
        "unit_type": request.unit.unit_type,
        "requesting_centre": centre_brief(request.requesting_centre),
        "lending_centre": centre_brief(request.lending_centre),
        "eta_s": request.eta_s,
        "distance_m": request.distance_m,
        "requested_at": _iso(request.requested_at),
        "requested_by": user_label(request.requested_by),
        "decided_at": _iso(request.decided_at),
        "decided_by": user_label(request.decided_by),
        "decision_note": request.decision_note,
        "assignment_id": request.assignment_id,
    }


def _with_related(queryset: Any) -> Any:
    return queryset.select_related(
        "incident", "unit", "requesting_centre", "lending_centre", "requested_by", "decided_by"
    )


def aid_request_get(request_id: int) -> MutualAidRequest:
    """One request with what its summary reads (DoesNotExist when there is none)."""
    return _with_related(MutualAidRequest.objects.all()).get(pk=request_id)


def aid_requests_open(*, centre_id: int) -> list[dict[str, Any]]:
    """The centre's requests still waiting for the lender, asked and received, oldest first."""
    rows = _with_related(
        MutualAidRequest.objects.filter(status=MutualAidStatus.REQUESTED).filter(
            Q(requesting_centre_id=centre_id) | Q(lending_centre_id=centre_id)
        )
    ).order_by("requested_at", "pk")
    return [aid_request_summary(r) for r in rows]
