"""Reads for the dispatch screens and the recommendation."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import F, Prefetch, Q
from django.utils import timezone

from dispatch import hooks
from dispatch.models import (
    ACTIVE_ASSIGNMENT_STATUSES,
    DETERMINANT_NEEDS_ALS,
    OPEN_INCIDENT_STATUSES,
    Assignment,
    Call,
    DispatchCentre,
    Incident,
    IncidentTransfer,
    MutualAidAgreement,
    MutualAidRequest,
    MutualAidStatus,
    PositionSource,
    QueuedCall,
    QueuedCallStatus,
    ResponseMode,
    StatusSource,
    TransferStatus,
    Unit,
    UnitPresence,
    UnitStatus,
    UnitType,
)
from routing.engine import Mode, RoutingError, rank, snap
from routing.services import get_network


def drive_mode(incident: Incident) -> Mode:
    """Lights and sirens, or driving with the traffic, as the determinant implies."""
    if incident.response_mode == ResponseMode.LIGHTS_AND_SIRENS:
        return "urgent"
    return "non_urgent"


def unit_position(unit: Unit) -> tuple[float, float, str]:
    """Where a unit is: its last fix ("fix"), a dispatcher's position ("manual"), else its
    home station ("station")."""
    if unit.last_lat is not None and unit.last_lon is not None:
        source = "manual" if unit.position_source == PositionSource.MANUAL else "fix"
        return unit.last_lat, unit.last_lon, source
    return unit.home_station.lat, unit.home_station.lon, "station"


def user_label(user: Any) -> str | None:
    """How a dispatcher is named on the screens: full name, else the login name."""
    if user is None:
        return None
    return str(user.get_full_name() or user.username)


def unit_summary(unit: Unit) -> dict[str, Any]:
    """A unit as every dispatcher screen and the crew's tablet show it (docs/protocol.md)."""
    lat, lon, source = unit_position(unit)
    manual_position = source == "manual"
    manual_status = unit.status_source == StatusSource.MANUAL
    return {
        "id": unit.pk,
        "call_sign": unit.call_sign,
        "unit_type": unit.unit_type,
        "capabilities": unit.capabilities,
        "status": unit.status,
        "station": unit.home_station.name,
        "lat": lat,
        "lon": lon,
        "position_source": source,
        "position_set_by": user_label(unit.position_set_by) if manual_position else None,
        "heading": unit.last_heading,
        "speed_mps": unit.last_speed_mps,
        "last_fix_at": unit.last_fix_at.isoformat() if unit.last_fix_at else None,
        "position_stale": unit.position_stale,
        "status_source": unit.status_source,
        "status_set_at": _iso(unit.status_set_at) if manual_status else None,
        "status_set_by": user_label(unit.status_set_by) if manual_status else None,
    }


def hospital_summary(hospital: hooks.Hospital) -> dict[str, Any]:
    return {
        "id": hospital.pk,
        "name": hospital.name,
        "lat": hospital.lat,
        "lon": hospital.lon,
        "capabilities": hospital.capabilities,
        "ed_status": hospital.ed_status,
        "diversion_reason": hospital.diversion_reason,
    }


def _iso(value: Any) -> str | None:
    return value.isoformat() if value else None


def assignment_summary(assignment: Assignment) -> dict[str, Any]:
    return {
        "id": assignment.pk,
        "incident_id": assignment.incident_id,
        "unit_id": assignment.unit_id,
        "call_sign": assignment.unit.call_sign,
        "status": assignment.status,
        "destination_id": assignment.destination_id,
        "eta_s": assignment.eta_s,
        "distance_m": assignment.distance_m,
        "notified_at": _iso(assignment.notified_at),
        "acknowledged_at": _iso(assignment.acknowledged_at),
        "en_route_at": _iso(assignment.en_route_at),
        "on_scene_at": _iso(assignment.on_scene_at),
        "left_scene_at": _iso(assignment.left_scene_at),
        "at_destination_at": _iso(assignment.at_destination_at),
        "cleared_at": _iso(assignment.cleared_at),
        "cancelled_at": _iso(assignment.cancelled_at),
        "override_reason": assignment.override_reason,
    }


def incident_summary(incident: Incident) -> dict[str, Any]:
    """What every dispatcher screen of the centre shows of an incident (no caller identity)."""
    # The board's snapshot prefetches both (dispatch_board_snapshot); one incident queries.
    if "assignments" in getattr(incident, "_prefetched_objects_cache", {}):
        assignments = list(incident.assignments.all())
    else:
        assignments = list(incident.assignments.select_related("unit").order_by("pk"))
    if "calls" in getattr(incident, "_prefetched_objects_cache", {}):
        calls = list(incident.calls.all())
    else:
        calls = list(incident.calls.order_by("received_at", "pk"))
    return {
        "id": incident.pk,
        "chief_complaint": incident.chief_complaint,
        "determinant": incident.determinant,
        "response_mode": incident.response_mode,
        "status": incident.status,
        "lat": incident.lat,
        "lon": incident.lon,
        "accuracy_m": incident.accuracy_m,
        "confidence": incident.confidence,
        "location_source": incident.location_source,
        "road_lat": incident.road_lat,
        "road_lon": incident.road_lon,
        "road_street": incident.road_street,
        "road_distance_m": incident.road_distance_m,
        "address": incident.address,
        "stop": stop_text(incident),
        "access_notes": incident.access_notes,
        "call_received_at": _iso(incident.call_received_at),
        "calls": len(calls),
        # What each caller said, without who they are (the detail view, audited, has that).
        "call_list": [call_summary(c) for c in calls],
        "proposed_determinant": incident.proposed_determinant or None,
        "disposition": incident.disposition or None,
        "assignments": [assignment_summary(a) for a in assignments],
        "transfer": _open_transfer(incident),
    }


def _open_transfer(incident: Incident) -> dict[str, Any] | None:
    """The incident's open transfer proposal ({id, to_centre, reason}), or None."""
    if hasattr(incident, "open_transfers"):
        transfers = incident.open_transfers
    else:
        transfers = list(
            incident.transfers.filter(status=TransferStatus.PROPOSED).select_related("to_centre")
        )
    if not transfers:
        return None
    transfer = transfers[0]
    return {
        "id": transfer.pk,
        "to_centre": centre_summary(transfer.to_centre),
        "reason": transfer.reason,
    }


def centre_summary(centre: DispatchCentre) -> dict[str, Any]:
    return {"id": centre.pk, "code": centre.code, "name": centre.name}


def transfer_summary(transfer: IncidentTransfer) -> dict[str, Any]:
    """A transfer as both centres see it: enough for the receiving centre to decide (what
    and where), never who called (the callers move with the incident, on acceptance)."""
    incident = transfer.incident
    return {
        "id": transfer.pk,
        "incident_id": incident.pk,
        "status": transfer.status,
        "from_centre": centre_summary(transfer.from_centre),
        "to_centre": centre_summary(transfer.to_centre),
        "reason": transfer.reason,
        "proposed_at": _iso(transfer.proposed_at),
        "decided_at": _iso(transfer.decided_at),
        "decision_note": transfer.decision_note,
        "determinant": incident.determinant,
        "chief_complaint": incident.chief_complaint,
        "address": incident.address,
        "stop": stop_text(incident),
        "lat": incident.lat,
        "lon": incident.lon,
        "calls": incident.calls.count(),
        "call_received_at": _iso(incident.call_received_at),
    }


def centre_transfers(*, centre_id: int) -> list[dict[str, Any]]:
    """Open transfer proposals to and from the centre, oldest first."""
    rows = (
        IncidentTransfer.objects.filter(status=TransferStatus.PROPOSED)
        .filter(models.Q(from_centre_id=centre_id) | models.Q(to_centre_id=centre_id))
        .select_related("incident", "from_centre", "to_centre")
        .order_by("proposed_at", "pk")
    )
    return [transfer_summary(t) for t in rows]


def stop_text(incident: Incident) -> str:
    """Where a crew stops for the address: the nearest road point ("Mikonkatu, 40 m")."""
    street = incident.road_street or "unnamed road"
    return f"{street}, {round(incident.road_distance_m)} m"


def call_summary(call: Call) -> dict[str, Any]:
    return {
        "id": call.pk,
        "received_at": _iso(call.received_at),
        "chief_complaint": call.chief_complaint,
        "determinant": call.determinant or None,
        "access_notes": call.access_notes,
    }


def assignment_for_crew(assignment: Assignment) -> dict[str, Any]:
    """What the crew's tablet needs: where, what, how to get in, and the route there."""
    incident = assignment.incident
    data = assignment_summary(assignment)
    data["incident"] = {
        "id": incident.pk,
        "chief_complaint": incident.chief_complaint,
        "determinant": incident.determinant,
        "response_mode": incident.response_mode,
        # The address the dispatcher chose; lat/lon is where to stop on the road for it.
        "address": incident.address,
        "lat": incident.road_lat,
        "lon": incident.road_lon,
        # Where to stop: the snapped road point's street and its distance from the location.
        "road_street": incident.road_street,
        "road_distance_m": round(incident.road_distance_m, 1),
        "stop": stop_text(incident),
        "stop_street": incident.road_street,
        "stop_distance_m": incident.road_distance_m,
        "patient_lat": incident.lat,
        "patient_lon": incident.lon,
        "access_notes": incident.access_notes,
        "notes": incident.notes,
    }
    data["route"] = None
    if assignment.status in {"dispatched", "en_route"}:
        lat, lon, _ = unit_position(assignment.unit)
        mode = drive_mode(incident)
        try:
            route = get_network().route((lat, lon), (incident.road_lat, incident.road_lon), mode)
        except (RoutingError, RuntimeError):
            route = None
        if route is not None:
            data["route"] = {
                "duration_s": round(route.duration_s, 1),
                "distance_m": round(route.distance_m, 1),
                "geometry": route.geojson()["geometry"],
                "steps": [
                    {"street": s.street, "maneuver": s.maneuver, "distance_m": round(s.distance_m)}
                    for s in route.steps
                ],
            }
    return data


def crew_current_assignment(unit: Unit) -> Assignment | None:
    """The unit's active assignment, if any (a unit does one job at a time)."""
    return (
        unit.assignments.filter(status__in=ACTIVE_ASSIGNMENT_STATUSES)
        .select_related("incident", "unit__home_station")
        .first()
    )


def crew_snapshot(unit: Unit) -> dict[str, Any]:
    """The crew socket's snapshot: the unit, and its current assignment (or None) so a
    device that reconnects after missing events still knows its job."""
    current = crew_current_assignment(unit)
    return {
        **unit_summary(unit),
        "assignment": assignment_for_crew(current) if current is not None else None,
    }


def units_borrowed_by(unit_ids: Iterable[int]) -> dict[int, set[int]]:
    """Per unit, the other centres it is working for now (mutual aid: an active assignment on
    an open incident of a centre that is not its own); units lent to nobody are left out."""
    ids = list(unit_ids)
    if not ids:
        return {}
    pairs = (
        Assignment.objects.filter(
            unit_id__in=ids,
            status__in=ACTIVE_ASSIGNMENT_STATUSES,
            incident__status__in=OPEN_INCIDENT_STATUSES,
        )
        .exclude(incident__centre_id=F("unit__centre_id"))
        .values_list("unit_id", "incident__centre_id")
    )
    borrowed: dict[int, set[int]] = {}
    for unit_id, centre_id in pairs:
        borrowed.setdefault(unit_id, set()).add(centre_id)
    return borrowed


def lent_unit_summary(unit: Unit) -> dict[str, Any]:
    """A partner's unit as the centre it works for sees it: the unit, and whose it is."""
    return {**unit_summary(unit), "lent_by": centre_summary(unit.centre)}


def dispatch_board_snapshot(*, centre_id: int) -> dict[str, Any]:
    """Everything a dispatcher screen of one centre shows: units (its own, and partners' units
    working its incidents), open incidents, hospitals."""
    units = Unit.objects.filter(centre_id=centre_id).select_related(
        "home_station", "position_set_by", "status_set_by"
    )
    lent = (
        Unit.objects.filter(
            assignments__status__in=ACTIVE_ASSIGNMENT_STATUSES,
            assignments__incident__centre_id=centre_id,
            assignments__incident__status__in=OPEN_INCIDENT_STATUSES,
        )
        .exclude(centre_id=centre_id)
        .select_related("home_station", "position_set_by", "status_set_by", "centre")
        .distinct()
    )
    incidents = Incident.objects.filter(
        centre_id=centre_id, status__in=OPEN_INCIDENT_STATUSES
    ).prefetch_related(
        Prefetch("assignments", queryset=Assignment.objects.select_related("unit").order_by("pk")),
        Prefetch("calls", queryset=Call.objects.order_by("received_at", "pk")),
        Prefetch(
            "transfers",
            queryset=IncidentTransfer.objects.filter(status=TransferStatus.PROPOSED).select_related(
                "to_centre"
            ),
            to_attr="open_transfers",
        ),
    )
    from dispatch.selectors_aid import aid_requests_open

    return {
        "units": [unit_summary(unit) for unit in units]
        + [lent_unit_summary(unit) for unit in lent.order_by("pk")],
        # Tablets online now: a console opened after they connected shows them so.
        "presence": units_presence(centre_id=centre_id),
        "incidents": [incident_summary(i) for i in incidents.order_by("pk")],
        "hospitals": [hospital_summary(h) for h in hooks.provided().hospitals()],
        # Transfers proposed to or by this centre, and the centres one may be proposed to.
        "transfers": centre_transfers(centre_id=centre_id),
        "centres": [
            centre_summary(c) for c in DispatchCentre.objects.exclude(pk=centre_id).order_by("name")
        ],
        # Mutual-aid requests still waiting for the lending centre, asked and received.
        "aid_requests": aid_requests_open(centre_id=centre_id),
        # Ringing calls this centre may answer (its own, and its partners' rolled over to it).
        "call_queue": [
            queued_call_summary(call, with_phone=True)
            for call in queued_calls_ringing(centre_id=centre_id)
        ],
    }


def units_presence(*, centre_id: int) -> list[dict[str, Any]]:
    """The crew devices connected now to the centre's units, newest first per unit."""
    rows = UnitPresence.objects.filter(unit__centre_id=centre_id).order_by("-connected_at", "-pk")
    seen: dict[int, dict[str, Any]] = {}
    for row in rows:
        seen.setdefault(
            row.unit_id,
            {
                "unit_id": row.unit_id,
                "device_id": row.device_id,
                "connected_at": _iso(row.connected_at),
            },
        )
    return sorted(seen.values(), key=lambda p: p["unit_id"])


def _metres(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    # Equirectangular distance: exact enough within a duplicate radius of a few hundred metres.
    x = math.radians(lon2 - lon1) * math.cos(math.radians((lat1 + lat2) / 2))
    y = math.radians(lat2 - lat1)
    return 6371000.0 * math.hypot(x, y)


def incident_duplicates(*, centre_id: int, lat: float, lon: float) -> list[Incident]:
    """Open incidents of the centre within DUPLICATE_RADIUS_M created in the recent window."""
    since = timezone.now() - timedelta(minutes=settings.DUPLICATE_WINDOW_MINUTES)
    radius = settings.DUPLICATE_RADIUS_M
    # A bounding box in the query, the exact distance in Python.
    dlat = radius / 111_320.0
    dlon = radius / (111_320.0 * max(0.01, math.cos(math.radians(lat))))
    nearby = Incident.objects.filter(
        centre_id=centre_id,
        status__in=OPEN_INCIDENT_STATUSES,
        created_at__gte=since,
        lat__range=(lat - dlat, lat + dlat),
        lon__range=(lon - dlon, lon + dlon),
    ).order_by("-created_at")
    return [i for i in nearby if _metres(lat, lon, i.lat, i.lon) <= radius]


# A stale position may be minutes out of date, so its ETA is less sure than a fresh one's: it
# ranks above a unit with a sure position only when it is more than this much closer
# (docs/routing.md, "Unit recommendations"). The ETA shown is the one computed.
UNSURE_POSITION_MARGIN_S = 60.0


@dataclass(frozen=True)
class Recommendation:
    """One unit for one incident: its drive time, or why it is not offered.

    `position_source` is where it was ranked from ("fix", "manual" or "station"),
    `position_note` says so to the dispatcher ("position 7 min old", "from station
    Erottaja"), `excluded_code` is one of busy, out_of_service, needs_als, off_network,
    no_route, and `overridable` whether it may be dispatched anyway (with `override`).
    """

    unit: Unit
    position_source: str
    eta_s: float | None
    distance_m: float | None
    excluded: str | None
    excluded_code: str | None = None
    overridable: bool = False
    position_stale: bool = False
    position_age_s: float | None = None
    position_note: str = ""
    # Set for a unit of a partner centre (mutual aid): it is requested from that centre,
    # never dispatched directly.
    lending_centre: DispatchCentre | None = None

    @property
    def mutual_aid(self) -> bool:
        return self.lending_centre is not None


def aid_partner_ids(centre_id: int) -> list[int]:
    """The centres whose available units `centre_id` sees: an active agreement that shares
    units, either way round."""
    rows = MutualAidAgreement.objects.filter(active=True, share_units=True).filter(
        Q(centre_a_id=centre_id) | Q(centre_b_id=centre_id)
    )
    return sorted({b if a == centre_id else a for a, b in rows.values_list("centre_a", "centre_b")})


def aid_partner_units(incident: Incident) -> list[Unit]:
    """The partners' units that could be lent to the incident now: available, without an
    active assignment and not already asked for by an open request."""
    partners = aid_partner_ids(incident.centre_id)
    if not partners:
        return []
    requested = MutualAidRequest.objects.filter(status=MutualAidStatus.REQUESTED).values("unit_id")
    return list(
        Unit.objects.filter(centre_id__in=partners, status=UnitStatus.AVAILABLE)
        .exclude(assignments__status__in=ACTIVE_ASSIGNMENT_STATUSES)
        .exclude(pk__in=requested)
        .select_related("home_station", "position_set_by", "centre")
    )


def _age_text(seconds: float) -> str:
    if seconds < 90:
        return f"{round(seconds)} s"
    if seconds < 5400:
        return f"{round(seconds / 60)} min"
    return f"{seconds / 3600:.1f} h"


def _clock(value: datetime) -> str:
    return timezone.localtime(value).strftime("%H:%M")


@dataclass(frozen=True)
class _Origin:
    """Where a unit is ranked from, and what the dispatcher is told about it."""

    source: str
    snapped: Any
    stale: bool
    age_s: float | None
    note: str


def _ranking_origin(unit: Unit, network: Any, now: datetime) -> _Origin | RoutingError:
    """The unit's last known place if it is on the road network, else its home station."""
    graph = network.graph
    limit = settings.UNIT_STALE_AFTER_SECONDS
    station = unit.home_station
    fix_problem = ""
    if unit.last_lat is not None and unit.last_lon is not None:
        source = "manual" if unit.position_source == PositionSource.MANUAL else "fix"
        age = (now - unit.last_fix_at).total_seconds() if unit.last_fix_at else None
        stale = unit.position_stale or age is None or age > limit
        try:
            snapped = snap(graph, unit.last_lat, unit.last_lon, network.max_snap_m)
        except RoutingError as exc:
            fix_problem = exc.message
        else:
            if source == "manual":
                by = user_label(unit.position_set_by) or "a dispatcher"
                at = _clock(unit.last_fix_at) if unit.last_fix_at else "?"
                note = f"manual position, {at} by {by}"
                if stale and age is not None:
                    note += f", {_age_text(age)} old"
            elif stale:
                note = f"position {_age_text(age)} old" if age is not None else "position stale"
            else:
                note = ""
            return _Origin(source, snapped, stale, age, note)
    try:
        snapped = snap(graph, station.lat, station.lon, network.max_snap_m)
    except RoutingError as exc:
        return exc
    if fix_problem:
        # Somewhere off the map: the station is a guess, as unsure as a stale fix.
        return _Origin(
            "station", snapped, True, None, f"from station {station.name} (last fix off the map)"
        )
    return _Origin(
        "station", snapped, False, None, f"from station {station.name} (no position yet)"
    )


def incident_recommendations(
    incident: Incident, *, units: list[Unit] | None = None
) -> list[Recommendation]:
    """Every unit of the centre (or `units`): ranked by drive time, then the excluded ones with
    the reason (busy, out of service, wrong capability, off the map, no route).

    Without `units`, the available units of partner centres (aid_partner_units) are ranked
    with the centre's own, each with its `lending_centre`; one the ranking would leave out
    is not shown at all (only its own centre could send it anyway). A unit of another centre
    in `units` is marked the same way.

    A stale position never excludes a unit: it is ranked from its last known place (or its
    station when that is off the road network), with its age in `position_note`, behind a
    unit with a sure position at a similar ETA (UNSURE_POSITION_MARGIN_S). A unit left out
    for its capability still gets its ETA, so "dispatch anyway" is an informed choice; a BLS
    unit is not left out once an ALS unit is on its way.
    """
    network = get_network()
    graph = network.graph
    mode = drive_mode(incident)
    now = timezone.now()
    listing = units is None
    if units is None:
        units = list(
            Unit.objects.filter(centre_id=incident.centre_id).select_related(
                "home_station", "position_set_by"
            )
        )
        units += aid_partner_units(incident)
    busy = set(
        Assignment.objects.filter(
            unit__in=units, status__in=ACTIVE_ASSIGNMENT_STATUSES
        ).values_list("unit_id", flat=True)
    )
    # A BLS unit alongside an ALS one already sent is backup, not the wrong unit.
    als_sent = Assignment.objects.filter(
        incident=incident, status__in=ACTIVE_ASSIGNMENT_STATUSES, unit__unit_type=UnitType.ALS
    ).exists()
    excluded: list[Recommendation] = []
    candidates: list[tuple[Unit, _Origin, tuple[str, str] | None]] = []
    for unit in units:
        _, _, source = unit_position(unit)
        if unit.status == UnitStatus.OUT_OF_SERVICE:
            excluded.append(
                Recommendation(unit, source, None, None, "out of service", "out_of_service")
            )
            continue
        if unit.pk in busy or unit.status != UnitStatus.AVAILABLE:
            reason = f"busy ({unit.get_status_display().lower()})"
            excluded.append(Recommendation(unit, source, None, None, reason, "busy"))
            continue
        exclusion = None
        if (
            incident.determinant in DETERMINANT_NEEDS_ALS
            and unit.unit_type != UnitType.ALS
            and not als_sent
        ):
            exclusion = ("needs_als", f"{incident.determinant.title()} needs an ALS unit")
        origin = _ranking_origin(unit, network, now)
        if isinstance(origin, RoutingError):
            reason = f"position off the road network ({origin.message})"
            excluded.append(Recommendation(unit, source, None, None, reason, "off_network", True))
            continue
        candidates.append((unit, origin, exclusion))
    ranked: list[tuple[float, Recommendation]] = []
    if candidates:
        target = snap(graph, incident.road_lat, incident.road_lon, network.max_snap_m)
        results = rank(graph, target, [c[1].snapped for c in candidates], mode)  # type: ignore[arg-type]
        for result in results:
            unit, origin, exclusion = candidates[result.index]
            if not result.reachable:
                exclusion = ("no_route", "no road route to the incident")
            rec = Recommendation(
                unit,
                origin.source,
                round(result.eta_s, 1) if result.reachable else None,
                round(result.distance_m, 1) if result.reachable else None,
                exclusion[1] if exclusion else None,
                exclusion[0] if exclusion else None,
                exclusion is not None,
                origin.stale,
                round(origin.age_s, 1) if origin.age_s is not None else None,
                origin.note,
                unit.centre if unit.centre_id != incident.centre_id else None,
            )
            if exclusion is not None:
                excluded.append(rec)
            else:
                margin = UNSURE_POSITION_MARGIN_S if origin.stale else 0.0
                ranked.append((result.eta_s + margin, rec))
    ranked.sort(key=lambda pair: (pair[0], pair[1].unit.call_sign))
    # A partner's unit the ranking leaves out cannot be lent: the lender sends only what
    # the requesting centre could have dispatched itself.
    if listing:
        excluded = [r for r in excluded if r.unit.centre_id == incident.centre_id]
    return [rec for _, rec in ranked] + sorted(excluded, key=lambda r: r.unit.call_sign)


def _centre_ref(centre: Any) -> dict[str, Any] | None:
    if centre is None:
        return None
    return {"id": centre.pk, "code": centre.code, "name": centre.name}


def queued_call_summary(call: QueuedCall, *, with_phone: bool) -> dict[str, Any]:
    """What a dispatcher screen shows of a queued call; the caller's number only when
    `with_phone` (a screen of a centre that may answer it, while it rings).

    Preconditions: `centre`, `offered_to` and `answered_by` selected with the call.
    """
    now = timezone.now()
    ended = call.answered_at or call.ended_at
    answered_by = call.answered_by
    return {
        "id": call.pk,
        "status": call.status,
        "centre": _centre_ref(call.centre),
        "offered_to": _centre_ref(call.offered_to),
        "line": call.line,
        "caller_phone": call.caller_phone if with_phone else None,
        "received_at": _iso(call.received_at),
        "offered_at": _iso(call.offered_at),
        "answered_at": _iso(call.answered_at),
        "ended_at": _iso(call.ended_at),
        # Seconds ringing: until now while it rings, until answered or ended after.
        "age_s": round(((ended or now) - call.received_at).total_seconds(), 1),
        "offered_age_s": (
            round(((ended or now) - call.offered_at).total_seconds(), 1)
            if call.offered_at
            else None
        ),
        "answered_by_centre": (
            _centre_ref(answered_by.dispatch_centre) if answered_by is not None else None
        ),
    }


def queued_calls_ringing(*, centre_id: int) -> list[QueuedCall]:
    """The ringing calls a centre's dispatchers may answer, oldest first: the centre's own
    and those a partner's queue offered to it (rollover)."""
    return list(
        QueuedCall.objects.filter(status=QueuedCallStatus.RINGING)
        .filter(Q(centre_id=centre_id) | Q(offered_to_id=centre_id))
        .select_related("centre", "offered_to", "answered_by__dispatch_centre")
        .order_by("received_at", "pk")
    )
