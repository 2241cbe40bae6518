"""Every write of the dispatch app: intake, dispatch, the assignment lifecycle, tracking."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from audit.services import audit_record
from config.sql import insert_returning, lock_rows, update_from_values
from dispatch import events, hooks, selectors
from dispatch.models import (
    ACTIVE_ASSIGNMENT_STATUSES,
    CANCELLING_DISPOSITIONS,
    DETERMINANT_NEEDS_ALS,
    DETERMINANT_RESPONSE,
    OPEN_INCIDENT_STATUSES,
    Assignment,
    AssignmentStatus,
    AssignmentTransition,
    Call,
    Determinant,
    Incident,
    IncidentDisposition,
    IncidentStatus,
    LocationSource,
    PositionSource,
    ResponseMode,
    StatusSource,
    Unit,
    UnitPosition,
    UnitPresence,
    UnitStatus,
    UnitType,
    determinant_rank,
)
from realtime.events import event_record
from routing.engine import RoutingError
from routing.engine.coords import GeocodeError, parse_coordinates
from routing.services import geocode_forward, geocode_reverse, get_network


class DispatchError(Exception):
    """A request the dispatch rules refuse; `field` names the input at fault."""

    def __init__(self, message: str, *, field: str | None = None, code: str = "invalid") -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.code = code


class InvalidTransition(DispatchError):  # noqa: N818 - reads as the domain term
    def __init__(self, message: str) -> None:
        super().__init__(message, field="status", code="invalid_transition")


# --- Location ------------------------------------------------------------------------------


@dataclass(frozen=True)
class LocationInput:
    """Where the caller is, as the dispatcher has it."""

    source: str
    text: str = ""
    lat: float | None = None
    lon: float | None = None
    accuracy_m: float | None = None
    confidence: float | None = None


@dataclass(frozen=True)
class ResolvedLocation:
    source: str
    text: str
    lat: float
    lon: float
    accuracy_m: float | None
    confidence: float
    road_lat: float
    road_lon: float
    road_street: str
    road_distance_m: float
    address: str


def _gps_confidence(accuracy_m: float) -> float:
    # A phone fix of 10 m or better is as good as an address; 500 m is a neighbourhood.
    return round(max(0.1, min(1.0, 1.0 - (accuracy_m - 10.0) / 500.0)), 2)


def _coordinate(value: float | None, name: str, low: float, high: float) -> float:
    if value is None or not isinstance(value, int | float) or not math.isfinite(value):
        raise DispatchError(f"{name} is required for this location source.", field=name)
    if not low <= value <= high:
        raise DispatchError(f"{name} {value} is outside {low}..{high}.", field=name)
    return float(value)


def _best_match(text: str, *, field: str, limit: int) -> Any:
    """The geocoder's best candidate for `text`, or DispatchError on `field` naming the
    nearest suggestions when nothing matches."""
    try:
        answer = geocode_forward(text=text, limit=limit)
    except GeocodeError as exc:
        raise DispatchError(exc.message, field=field) from None
    if not answer.candidates:
        nearest = ", ".join(c.label for c in answer.suggestions[:3])
        raise DispatchError(
            f"No match for {text!r}." + (f" Nearest: {nearest}." if nearest else ""),
            field=field,
            code="no_match",
        )
    return answer.candidates[0]


def location_resolve(location: LocationInput) -> ResolvedLocation:
    """Turn what the dispatcher has into a point, a road position a crew can reach, an address.

    Raises DispatchError naming the field when the location cannot be used.
    """
    lat, lon = location.lat, location.lon
    accuracy = location.accuracy_m
    confidence = location.confidence
    source = location.source
    if source not in LocationSource.values:
        raise DispatchError(
            f"Unknown location source {source!r}; use one of {', '.join(LocationSource.values)}.",
            field="location.source",
        )
    if source == LocationSource.ADDRESS and lat is not None and not location.text.strip():
        raise DispatchError(
            "A chosen address needs its label in text (the candidate the dispatcher chose).",
            field="location.text",
        )
    if source in {LocationSource.LATLON, LocationSource.PLUS_CODE} and lat is None:
        try:
            parsed = parse_coordinates(location.text)
        except GeocodeError as exc:
            raise DispatchError(exc.message, field="location.text") from None
        if parsed is None:
            raise DispatchError(
                f"{location.text!r} is not a coordinate or a plus code.", field="location.text"
            )
        lat, lon = parsed.lat, parsed.lon
        accuracy = parsed.precision_m
    chosen_label = location.text.strip()
    if source == LocationSource.ADDRESS and lat is None:
        if not location.text.strip():
            raise DispatchError("Type an address or a place.", field="location.text")
        best = _best_match(location.text, field="location.text", limit=5)
        lat, lon, confidence = best.lat, best.lon, best.confidence
        chosen_label = best.label
    lat = _coordinate(lat, "location.lat", -90.0, 90.0)
    lon = _coordinate(lon, "location.lon", -180.0, 180.0)
    if accuracy is not None and (not math.isfinite(accuracy) or accuracy < 0):
        raise DispatchError(
            "accuracy_m must be a positive number of metres.", field="location.accuracy_m"
        )
    if source == LocationSource.CALLER_GPS:
        if accuracy is None:
            raise DispatchError(
                "A phone position needs its accuracy radius.", field="location.accuracy_m"
            )
        confidence = _gps_confidence(accuracy)
    elif source == LocationSource.MAP:
        confidence = 0.9
    elif source in {LocationSource.LATLON, LocationSource.PLUS_CODE}:
        confidence = 1.0 if (accuracy or 0) <= 15 else 0.7
    if confidence is None or not 0.0 <= confidence <= 1.0:
        raise DispatchError("confidence must be between 0 and 1.", field="location.confidence")
    try:
        snapped = get_network().snap(lat, lon, field="location")
    except RoutingError as exc:
        raise DispatchError(exc.message, field="location") from None
    # The address is what the dispatcher chose (the candidate's label: its house number, the
    # square's name), never the address nearest the road point: that is only where to stop,
    # and naming it sent a crew to "Kalevankatu 5" for Kalevankatu 6. A point (a map click,
    # coordinates, a phone position) is named by the address nearest the point itself.
    if source == LocationSource.ADDRESS:
        address = chosen_label
    else:
        found = geocode_reverse(lat=lat, lon=lon)
        address = found.label if found else snapped.street
    return ResolvedLocation(
        source=source,
        text=location.text[:300],
        lat=lat,
        lon=lon,
        accuracy_m=accuracy,
        confidence=confidence,
        road_lat=snapped.lat,
        road_lon=snapped.lon,
        road_street=snapped.street,
        road_distance_m=round(snapped.distance_m, 1),
        address=address[:300],
    )


# --- Incidents -----------------------------------------------------------------------------


def _emit_incident(incident: Incident, verb: str) -> None:
    event_record(
        stream=events.centre_group(incident.centre_id),
        event_type=f"dispatch.incident.{verb}",
        data=selectors.incident_summary(incident),
    )


def _emit_unit(unit: Unit, *, released_to: Iterable[int] = ()) -> None:
    """The unit to its centre's screens, and to the centres it works for on mutual aid; to a
    centre in `released_to` (its assignment there just ended) once more, marked released."""
    data = selectors.unit_summary(unit)
    event_record(
        stream=events.centre_group(unit.centre_id), event_type="dispatch.unit.updated", data=data
    )
    working = selectors.units_borrowed_by([unit.pk]).get(unit.pk, set())
    released = set(released_to) - working - {unit.centre_id}
    for centre_id in sorted(working | released):
        event_record(
            stream=events.centre_group(centre_id),
            event_type="dispatch.unit.updated",
            data={
                **data,
                "lent_by": selectors.centre_summary(unit.centre),
                "released": centre_id in released,
            },
        )


def _check_determinant(determinant: str) -> None:
    if determinant not in Determinant.values:
        raise DispatchError(
            f"determinant must be one of {', '.join(Determinant.values)}.", field="determinant"
        )


def _call_received(call_received_at: datetime | None, now: datetime) -> datetime:
    """When the call came in (now unless given); DispatchError if that is in the future."""
    received = call_received_at or now
    if received > now + timedelta(seconds=5):
        raise DispatchError(
            "The call cannot have been received in the future.", field="call_received_at"
        )
    return received


def incident_create(
    *,
    user: Any,
    chief_complaint: str,
    determinant: str,
    location: LocationInput,
    caller_name: str = "",
    caller_phone: str = "",
    notes: str = "",
    access_notes: str = "",
    call_received_at: datetime | None = None,
    allow_duplicate: bool = False,
) -> Incident:
    """Record a new incident for the dispatcher's centre, located on the road network.

    Raises DispatchError (code "duplicate") when an open incident is nearby and recent,
    unless `allow_duplicate`; the caller then shows them so the call can be attached instead.
    """
    centre_id = user.dispatch_centre_id
    if not chief_complaint.strip():
        raise DispatchError("Say what the emergency is.", field="chief_complaint")
    _check_determinant(determinant)
    now = timezone.now()
    received = _call_received(call_received_at, now)
    resolved = location_resolve(location)
    if not allow_duplicate:
        duplicates = selectors.incident_duplicates(
            centre_id=centre_id, lat=resolved.lat, lon=resolved.lon
        )
        if duplicates:
            raise DispatchError(
                f"{len(duplicates)} open incident(s) within {settings.DUPLICATE_RADIUS_M:.0f} m "
                f"in the last {settings.DUPLICATE_WINDOW_MINUTES} min; attach the call or confirm.",
                field="location",
                code="duplicate",
            )
    with transaction.atomic():
        incident = Incident.objects.create(
            centre_id=centre_id,
            chief_complaint=chief_complaint.strip()[:200],
            determinant=determinant,
            response_mode=DETERMINANT_RESPONSE[determinant],
            notes=notes,
            access_notes=access_notes,
            location_source=resolved.source,
            location_text=resolved.text,
            lat=resolved.lat,
            lon=resolved.lon,
            accuracy_m=resolved.accuracy_m,
            confidence=resolved.confidence,
            road_lat=resolved.road_lat,
            road_lon=resolved.road_lon,
            road_street=resolved.road_street,
            road_distance_m=resolved.road_distance_m,
            address=resolved.address,
            call_received_at=received,
            created_at=now,
            created_by=user,
        )
        Call.objects.create(
            incident=incident,
            caller_name=caller_name[:120],
            caller_phone=caller_phone[:32],
            received_at=received,
            chief_complaint=incident.chief_complaint,
            determinant=determinant,
            notes=notes,
            access_notes=access_notes,
            taken_by=user,
        )
        _emit_incident(incident, "created")
        audit_record(
            actor=user,
            action="create",
            object_type="incident",
            object_id=incident.pk,
            detail={"fields": ["caller_name", "caller_phone"]},
        )
        # Outside this centre's area and inside another's: proposed to the owner at once.
        incident_transfer_propose_by_area(user=user, incident=incident)
    return incident


@dataclass(frozen=True)
class AttachedCall:
    """A further call attached to an incident, and the upgrade it proposes (if any)."""

    call: Call
    incident: Incident
    proposed_determinant: str  # "" when the call is not more urgent than the incident


def incident_attach_call(
    *,
    user: Any,
    incident: Incident,
    chief_complaint: str = "",
    determinant: str = "",
    caller_name: str = "",
    caller_phone: str = "",
    notes: str = "",
    access_notes: str = "",
    call_received_at: datetime | None = None,
) -> AttachedCall:
    """Attach a further call about an open incident to it (a duplicate call), keeping all the
    caller said. A more urgent determinant than the incident's is proposed as an upgrade for
    the dispatcher to accept (incident_upgrade_decide); it never changes the incident alone.

    New access notes are added to the incident's (the crew needs every way in).
    """
    if determinant:
        _check_determinant(determinant)
    now = timezone.now()
    received = _call_received(call_received_at, now)
    with transaction.atomic():
        locked = Incident.objects.select_for_update().get(pk=incident.pk)
        if locked.status not in OPEN_INCIDENT_STATUSES:
            raise DispatchError(
                f"Incident #{locked.pk} is {locked.status}; start a new one.", field="attach_to"
            )
        call = Call.objects.create(
            incident=locked,
            caller_name=caller_name[:120],
            caller_phone=caller_phone[:32],
            received_at=received,
            chief_complaint=chief_complaint.strip()[:200],
            determinant=determinant,
            notes=notes,
            access_notes=access_notes,
            taken_by=user,
        )
        proposed = ""
        fields = []
        if determinant and determinant_rank(determinant) < determinant_rank(locked.determinant):
            current = locked.proposed_determinant
            if not current or determinant_rank(determinant) < determinant_rank(current):
                locked.proposed_determinant = determinant
                locked.proposed_by_call = call
                fields += ["proposed_determinant", "proposed_by_call"]
            proposed = locked.proposed_determinant
        extra_access = access_notes.strip()
        if extra_access and extra_access not in locked.access_notes:
            locked.access_notes = "\n".join(filter(None, [locked.access_notes, extra_access]))
            fields.append("access_notes")
        if fields:
            locked.save(update_fields=fields)
        _emit_incident(locked, "updated")
        audit_record(
            actor=user,
            action="call_attach",
            object_type="incident",
            object_id=locked.pk,
            detail={"call": call.pk, "proposed_determinant": proposed or None},
        )
    return AttachedCall(call=call, incident=locked, proposed_determinant=proposed)


def incident_upgrade_decide(
    *, user: Any, incident_id: int, accept: bool, determinant: str = ""
) -> Incident:
    """Accept or decline the upgrade a later call proposed. Accepting sets the determinant
    (and so the response mode) to the proposed one; `determinant`, when given, must be the
    proposal the dispatcher saw, so a newer proposal is not accepted unseen.
    """
    with transaction.atomic():
        incident = Incident.objects.select_for_update().filter(pk=incident_id).first()
        if incident is None or incident.centre_id != user.dispatch_centre_id:
            raise DispatchError(f"No incident {incident_id} in your centre.", field="incident")
        if incident.status not in OPEN_INCIDENT_STATUSES:
            raise DispatchError(f"Incident #{incident.pk} is {incident.status}.", field="incident")
        proposed = incident.proposed_determinant
        if not proposed:
            raise DispatchError(
                f"Incident #{incident.pk} has no upgrade proposed.", field="determinant"
            )
        if determinant and determinant != proposed:
            raise DispatchError(
                f"The proposal is now {proposed}, not {determinant}; look again.",
                field="determinant",
                code="stale",
            )
        previous = incident.determinant
        incident.proposed_determinant = ""
        incident.proposed_by_call = None
        fields = ["proposed_determinant", "proposed_by_call"]
        if accept:
            incident.determinant = proposed
            incident.response_mode = DETERMINANT_RESPONSE[proposed]
            fields += ["determinant", "response_mode"]
        incident.save(update_fields=fields)
        _emit_incident(incident, "updated")
        audit_record(
            actor=user,
            action="upgrade_accept" if accept else "upgrade_decline",
            object_type="incident",
            object_id=incident.pk,
            detail={"from": previous, "to": proposed},
        )
    return incident


def _incident_status_follow(incident: Incident) -> None:
    """Derive the incident's status from its assignments (most advanced active one wins)."""
    statuses = set(incident.assignments.values_list("status", flat=True))
    # Cancelled, or closed by the dispatcher with a disposition: that stands.
    if incident.status == IncidentStatus.CANCELLED or incident.disposition:
        return
    if AssignmentStatus.TRANSPORTING in statuses or AssignmentStatus.AT_DESTINATION in statuses:
        new = IncidentStatus.TRANSPORTING
    elif AssignmentStatus.ON_SCENE in statuses:
        new = IncidentStatus.ON_SCENE
    elif statuses & {AssignmentStatus.DISPATCHED, AssignmentStatus.EN_ROUTE}:
        new = IncidentStatus.DISPATCHED
    elif AssignmentStatus.CLEARED in statuses:
        new = IncidentStatus.CLOSED
    else:
        new = IncidentStatus.OPEN
    if new != incident.status:
        incident.status = new
        incident.closed_at = timezone.now() if new == IncidentStatus.CLOSED else None
        fields = ["status", "closed_at"]
        if (
            new == IncidentStatus.CLOSED
            and incident.assignments.filter(
                status=AssignmentStatus.CLEARED, left_scene_at__isnull=False
            ).exists()
        ):
            incident.disposition = IncidentDisposition.TRANSPORTED
            fields.append("disposition")
        incident.save(update_fields=fields)


# --- Dispatch and the assignment lifecycle --------------------------------------------------

TRANSITIONS: dict[str, set[str]] = {
    AssignmentStatus.DISPATCHED: {AssignmentStatus.EN_ROUTE, AssignmentStatus.CANCELLED},
    AssignmentStatus.EN_ROUTE: {AssignmentStatus.ON_SCENE, AssignmentStatus.CANCELLED},
    # Treat-and-release or no patient found: cleared straight from the scene.
    AssignmentStatus.ON_SCENE: {AssignmentStatus.TRANSPORTING, AssignmentStatus.CLEARED},
    AssignmentStatus.TRANSPORTING: {AssignmentStatus.AT_DESTINATION},
    AssignmentStatus.AT_DESTINATION: {AssignmentStatus.CLEARED},
    AssignmentStatus.CLEARED: set(),
    AssignmentStatus.CANCELLED: set(),
}

UNIT_STATUS_FOR: dict[str, str] = {
    AssignmentStatus.DISPATCHED: UnitStatus.DISPATCHED,
    AssignmentStatus.EN_ROUTE: UnitStatus.EN_ROUTE,
    AssignmentStatus.ON_SCENE: UnitStatus.ON_SCENE,
    AssignmentStatus.TRANSPORTING: UnitStatus.TRANSPORTING,
    AssignmentStatus.AT_DESTINATION: UnitStatus.AT_DESTINATION,
    AssignmentStatus.CLEARED: UnitStatus.AVAILABLE,
    AssignmentStatus.CANCELLED: UnitStatus.AVAILABLE,
}

TIME_FIELD_FOR: dict[str, str] = {
    AssignmentStatus.EN_ROUTE: "en_route_at",
    AssignmentStatus.ON_SCENE: "on_scene_at",
    AssignmentStatus.TRANSPORTING: "left_scene_at",
    AssignmentStatus.AT_DESTINATION: "at_destination_at",
    AssignmentStatus.CLEARED: "cleared_at",
    AssignmentStatus.CANCELLED: "cancelled_at",
}


def _emit_assignment(assignment: Assignment, verb: str) -> None:
    event_record(
        stream=events.unit_group(assignment.unit_id),
        event_type=f"dispatch.assignment.{verb}",
        data=selectors.assignment_for_crew(assignment),
    )


def _unranked(unit: Unit, incident: Incident) -> selectors.Recommendation:
    """A unit's recommendation without the road map: no ETA, the capability rule only."""
    _, _, source = selectors.unit_position(unit)
    als_sent = Assignment.objects.filter(
        incident=incident, status__in=ACTIVE_ASSIGNMENT_STATUSES, unit__unit_type=UnitType.ALS
    ).exists()
    if (
        incident.determinant in DETERMINANT_NEEDS_ALS
        and unit.unit_type != UnitType.ALS
        and not als_sent
    ):
        reason = f"{incident.determinant.title()} needs an ALS unit"
        return selectors.Recommendation(unit, source, None, None, reason, "needs_als", True)
    return selectors.Recommendation(unit, source, None, None, None)


def assignments_create(
    *,
    user: Any,
    incident_id: int,
    unit_ids: list[int],
    device_id: str = "",
    override: bool = False,
    override_note: str = "",
) -> list[Assignment]:
    """Dispatch units to an incident of the dispatcher's centre.

    Each unit must be of that centre and available. A unit the recommendation leaves out
    (wrong capability, off the map, no road route) needs `override` (the dispatcher's one
    confirmation); it is then sent, the reason kept on the assignment and audited. A stale
    position never needs it. Rows are locked in primary-key order (incident, then units) so
    two dispatchers racing for one unit cannot both win.
    """
    if not unit_ids:
        raise DispatchError("Choose at least one unit.", field="unit_ids")
    if len(set(unit_ids)) != len(unit_ids):
        raise DispatchError("A unit is listed twice.", field="unit_ids")
    now = timezone.now()
    with transaction.atomic():
        incident = Incident.objects.select_for_update().filter(pk=incident_id).first()
        if incident is None or incident.centre_id != user.dispatch_centre_id:
            raise DispatchError(f"No incident {incident_id} in your centre.", field="incident")
        if incident.status in {IncidentStatus.CLOSED, IncidentStatus.CANCELLED}:
            raise DispatchError(f"Incident #{incident.pk} is {incident.status}.", field="incident")
        units = list(
            # of=self: the station and the manual position's author are outer joins, which
            # PostgreSQL cannot lock (and need not: only the units are taken).
            Unit.objects.select_for_update(of=("self",))
            .filter(pk__in=unit_ids)
            .select_related("home_station", "position_set_by")
            .order_by("pk")
        )
        found = {unit.pk for unit in units}
        missing = [uid for uid in unit_ids if uid not in found]
        if missing:
            raise DispatchError(f"Unknown unit(s): {missing}.", field="unit_ids")
        partners = set(selectors.aid_partner_ids(incident.centre_id))
        for unit in units:
            if unit.centre_id in partners:
                # A partner's unit goes only when its own centre says so (mutual aid).
                raise DispatchError(
                    f"{unit.call_sign} belongs to {unit.centre.name}: request it through mutual "
                    f"aid (POST /api/v1/incidents/{incident.pk}/mutual-aid/ with its unit_id); "
                    f"{unit.centre.name} accepts or refuses.",
                    field="unit_ids",
                    code="mutual_aid_required",
                )
            if unit.centre_id != incident.centre_id:
                raise DispatchError(
                    f"{unit.call_sign} belongs to another centre.", field="unit_ids"
                )
            if unit.status != UnitStatus.AVAILABLE:
                raise DispatchError(
                    f"{unit.call_sign} is {unit.get_status_display().lower()}, not available.",
                    field="unit_ids",
                    code="unit_unavailable",
                )
        created = _assignments_create_locked(
            user=user,
            incident=incident,
            units=units,
            now=now,
            device_id=device_id,
            override=override,
            override_note=override_note,
        )
    return created


def _assignments_create_locked(
    *,
    user: Any,
    incident: Incident,
    units: list[Unit],
    now: datetime,
    device_id: str,
    override: bool,
    override_note: str,
    lent_note: str = "",
) -> list[Assignment]:
    """assignments_create's second half, with the incident and the units locked and checked
    (of the incident's centre, or lent by a partner: `lent_note` says so on the transition).
    """
    try:
        recs = selectors.incident_recommendations(incident, units=units)
    except (RoutingError, RuntimeError):
        # No road map (not built, unreadable): dispatch must still work, without ETAs;
        # only the capability rule can be judged.
        recs = [_unranked(unit, incident) for unit in units]
    ranking = {r.unit.pk: r for r in recs}
    # An ALS unit in the same dispatch covers the ALS need of its BLS companions.
    als_in_request = any(
        u.unit_type == UnitType.ALS and ranking[u.pk].excluded is None for u in units
    )
    for unit in units:
        rec = ranking[unit.pk]
        if rec.excluded_code == "needs_als" and als_in_request:
            ranking[unit.pk] = dataclasses.replace(
                rec, excluded=None, excluded_code=None, overridable=False
            )
            continue
        if rec.excluded is None:
            continue
        if not rec.overridable:
            raise DispatchError(
                f"{unit.call_sign} cannot be sent: {rec.excluded}.",
                field="unit_ids",
                code="unit_unavailable",
            )
        if not override:
            raise DispatchError(
                f"{unit.call_sign} is not recommended: {rec.excluded}. Confirm to dispatch "
                "it anyway (send override: true).",
                field="override",
                code="override_required",
            )
    created = []
    for unit in units:
        rec = ranking[unit.pk]
        try:
            with transaction.atomic():
                assignment = Assignment.objects.create(
                    incident=incident,
                    unit=unit,
                    notified_at=now,
                    eta_s=rec.eta_s,
                    distance_m=rec.distance_m,
                    override_reason=(rec.excluded or "")[:200],
                )
        except IntegrityError:
            raise DispatchError(
                f"{unit.call_sign} was just committed elsewhere.",
                field="unit_ids",
                code="unit_unavailable",
            ) from None
        if rec.excluded:
            note = f"dispatched anyway: {rec.excluded}"
            if override_note.strip():
                note += f" ({override_note.strip()})"
        else:
            # A dispatch on an old position is worth knowing when the ETA was off.
            note = f"ranked from {rec.position_note}" if rec.position_stale else ""
        if lent_note:
            note = f"{lent_note}; {note}" if note else lent_note
        AssignmentTransition.objects.create(
            assignment=assignment,
            to_status=AssignmentStatus.DISPATCHED,
            at=now,
            by=user,
            device_id=device_id,
            note=note[:200],
        )
        if rec.excluded:
            audit_record(
                actor=user,
                action="dispatch_override",
                object_type="assignment",
                object_id=assignment.pk,
                detail={
                    "incident": incident.pk,
                    "unit": unit.pk,
                    "excluded": rec.excluded_code,
                },
            )
        unit.status = UnitStatus.DISPATCHED
        unit.status_source = StatusSource.SYSTEM
        unit.save(update_fields=["status", "status_source"])
        created.append(assignment)
        _emit_assignment(assignment, "created")
        _emit_unit(unit)
    _incident_status_follow(incident)
    _emit_incident(incident, "updated")
    return created


def assignment_transition(
    *,
    user: Any,
    assignment_id: int,
    to_status: str,
    device_id: str = "",
    destination_id: int | None = None,
    note: str = "",
) -> Assignment:
    """Move an assignment to its next state; refused with the current state named otherwise."""
    if to_status not in AssignmentStatus.values:
        raise DispatchError(
            f"Unknown status {to_status!r}; use one of {', '.join(AssignmentStatus.values)}.",
            field="status",
        )
    now = timezone.now()
    with transaction.atomic():
        assignment = Assignment.objects.select_for_update().get(pk=assignment_id)
        incident = Incident.objects.select_for_update().get(pk=assignment.incident_id)
        unit = Unit.objects.select_for_update().get(pk=assignment.unit_id)
        allowed = TRANSITIONS[assignment.status]
        if to_status not in allowed:
            raise InvalidTransition(
                f"The assignment is {assignment.status.replace('_', ' ')}; it can go to "
                + (", ".join(sorted(s.replace("_", " ") for s in allowed)) or "nothing further")
                + f", not {to_status.replace('_', ' ')}."
            )
        if destination_id is not None:
            if not hooks.provided().hospital_exists(destination_id):
                raise DispatchError(f"No hospital {destination_id}.", field="destination")
            assignment.destination_id = destination_id
        if to_status == AssignmentStatus.CANCELLED:
            assignment.cancel_reason = note[:200]
        previous = assignment.status
        assignment.status = to_status
        setattr(assignment, TIME_FIELD_FOR[to_status], now)
        assignment.save()
        AssignmentTransition.objects.create(
            assignment=assignment,
            from_status=previous,
            to_status=to_status,
            at=now,
            by=user,
            device_id=device_id[:64],
            note=note[:200],
        )
        unit.status = UNIT_STATUS_FOR[to_status]
        unit.status_source = StatusSource.SYSTEM
        unit.save(update_fields=["status", "status_source"])
        _incident_status_follow(incident)
        _emit_assignment(assignment, "updated")
        ended = to_status not in ACTIVE_ASSIGNMENT_STATUSES
        _emit_unit(unit, released_to=[incident.centre_id] if ended else [])
        _emit_incident(incident, "updated")
        if to_status == AssignmentStatus.TRANSPORTING:
            # Leaving the scene starts the ED board's countdown now, not at the next fix.
            transaction.on_commit(
                partial(hooks.unit_transporting.send, sender=Assignment, unit_id=unit.pk)
            )
    return assignment


def assignment_divert(
    *, user: Any, assignment_id: int, destination_id: int, device_id: str = "", reason: str = ""
) -> Assignment:
    """Send a transporting unit to another hospital; the reason is kept with the transition."""
    with transaction.atomic():
        assignment = Assignment.objects.select_for_update().get(pk=assignment_id)
        if assignment.status != AssignmentStatus.TRANSPORTING:
            raise InvalidTransition(
                f"The assignment is {assignment.status.replace('_', ' ')}; only a transporting "
                "unit can be diverted."
            )
        if not hooks.provided().hospital_exists(destination_id):
            raise DispatchError(f"No hospital {destination_id}.", field="destination")
        assignment.destination_id = destination_id
        assignment.save(update_fields=["destination"])
        AssignmentTransition.objects.create(
            assignment=assignment,
            from_status=assignment.status,
            to_status=assignment.status,
            at=timezone.now(),
            by=user,
            device_id=device_id[:64],
            note=f"diverted to hospital {destination_id}: {reason}"[:200],
        )
        _emit_assignment(assignment, "updated")
        _emit_incident(assignment.incident, "updated")
    return assignment


def assignment_replace(
    *, user: Any, assignment_id: int, unit_id: int, reason: str = "", device_id: str = ""
) -> Assignment:
    """Cancel one unit's assignment and dispatch another unit to the same incident, in one
    transaction: either both happen or neither (the incident is never left uncovered by a
    replacement that failed). Only an assignment not yet on scene can be replaced.

    Locks in the order the other services take them: the assignment, the incident, then
    both units by primary key.
    """
    with transaction.atomic():
        assignment = Assignment.objects.select_for_update().filter(pk=assignment_id).first()
        if assignment is None:
            raise DispatchError(f"No assignment {assignment_id}.", field="assignment")
        incident = Incident.objects.select_for_update().get(pk=assignment.incident_id)
        if incident.centre_id != user.dispatch_centre_id:
            raise DispatchError(
                f"No assignment {assignment_id} in your centre.", field="assignment"
            )
        if unit_id == assignment.unit_id:
            raise DispatchError("Choose a different unit as the replacement.", field="unit_id")
        list(
            Unit.objects.select_for_update()
            .filter(pk__in=[assignment.unit_id, unit_id])
            .order_by("pk")
        )
        if assignment.status not in {AssignmentStatus.DISPATCHED, AssignmentStatus.EN_ROUTE}:
            raise InvalidTransition(
                f"The assignment is {assignment.status.replace('_', ' ')}; only a unit not yet "
                "on scene can be replaced."
            )
        note = f"replaced: {reason}" if reason else "replaced"
        assignment_transition(
            user=user,
            assignment_id=assignment.pk,
            to_status=AssignmentStatus.CANCELLED,
            device_id=device_id,
            note=note,
        )
        [created] = assignments_create(
            user=user, incident_id=incident.pk, unit_ids=[unit_id], device_id=device_id
        )
        audit_record(
            actor=user,
            action="assignment_replace",
            object_type="assignment",
            object_id=assignment.pk,
            detail={"incident": incident.pk, "replacement": created.pk, "unit": unit_id},
        )
    return created


def incident_close(
    *, user: Any, incident_id: int, disposition: str, note: str = "", device_id: str = ""
) -> Incident:
    """Close an open incident with a disposition, whatever its state. Units not yet on scene
    are cancelled, units on scene are cleared; a unit transporting or at the hospital has the
    patient, so the crew clears it and the incident stays open until then. "cancelled" and
    "duplicate" end it as cancelled, every other disposition as closed.
    """
    if disposition not in IncidentDisposition.values:
        raise DispatchError(
            f"disposition must be one of {', '.join(IncidentDisposition.values)}.",
            field="disposition",
        )
    with transaction.atomic():
        # Assignments first, then the incident, then units: the order assignment_transition
        # takes, so a crew's status change racing the close cannot deadlock with it.
        active = list(
            Assignment.objects.select_for_update()
            .filter(incident_id=incident_id, status__in=ACTIVE_ASSIGNMENT_STATUSES)
            .select_related("unit")
            .order_by("pk")
        )
        incident = Incident.objects.select_for_update().filter(pk=incident_id).first()
        if incident is None or incident.centre_id != user.dispatch_centre_id:
            raise DispatchError(f"No incident {incident_id} in your centre.", field="incident")
        if incident.status not in OPEN_INCIDENT_STATUSES:
            raise DispatchError(
                f"Incident #{incident.pk} is already {incident.status}.", field="incident"
            )
        with_patient = [
            a
            for a in active
            if a.status in {AssignmentStatus.TRANSPORTING, AssignmentStatus.AT_DESTINATION}
        ]
        if with_patient:
            names = ", ".join(
                f"{a.unit.call_sign} is {a.get_status_display().lower()}" for a in with_patient
            )
            raise InvalidTransition(
                f"{names}: the crew has the patient and clears the incident themselves."
            )
        list(
            Unit.objects.select_for_update()
            .filter(pk__in=[a.unit_id for a in active])
            .order_by("pk")
        )
        reason = f"incident closed: {IncidentDisposition(disposition).label}"
        for assignment in active:
            to_status = (
                AssignmentStatus.CLEARED
                if assignment.status == AssignmentStatus.ON_SCENE
                else AssignmentStatus.CANCELLED
            )
            assignment_transition(
                user=user,
                assignment_id=assignment.pk,
                to_status=to_status,
                device_id=device_id,
                note=reason,
            )
        incident.refresh_from_db()
        incident.disposition = disposition
        incident.disposition_note = note.strip()[:200]
        incident.status = (
            IncidentStatus.CANCELLED
            if disposition in CANCELLING_DISPOSITIONS
            else IncidentStatus.CLOSED
        )
        incident.closed_at = timezone.now()
        incident.proposed_determinant = ""
        incident.proposed_by_call = None
        incident.save(
            update_fields=[
                "disposition",
                "disposition_note",
                "status",
                "closed_at",
                "proposed_determinant",
                "proposed_by_call",
            ]
        )
        _emit_incident(incident, "updated")
        audit_record(
            actor=user,
            action="close",
            object_type="incident",
            object_id=incident.pk,
            detail={"disposition": disposition, "assignments": [a.pk for a in active]},
        )
        # A partner must not be left deciding on a unit, or on taking over, an incident that
        # has ended.
        mutual_aid_withdraw_for_incident(user=user, incident_id=incident.pk)
        incident_transfers_withdraw_for_incident(user=user, incident_id=incident.pk)
    return incident


def assignment_acknowledge(*, user: Any, assignment_id: int, device_id: str = "") -> Assignment:
    """The crew has seen the assignment (idempotent: the first acknowledgement's time stays)."""
    with transaction.atomic():
        assignment = Assignment.objects.select_for_update().get(pk=assignment_id)
        if assignment.status not in ACTIVE_ASSIGNMENT_STATUSES:
            raise InvalidTransition(
                f"The assignment is {assignment.status}; nothing to acknowledge."
            )
        if assignment.acknowledged_at is None:
            assignment.acknowledged_at = timezone.now()
            assignment.save(update_fields=["acknowledged_at"])
            _emit_assignment(assignment, "updated")
            _emit_incident(assignment.incident, "updated")
    return assignment


def unit_set_service(*, user: Any, unit_id: int, in_service: bool, reason: str = "") -> Unit:
    """The crew takes its unit out of service or puts it back; refused while it has an active
    assignment. (A dispatcher's change by hand is unit_set_status.)"""
    with transaction.atomic():
        unit = Unit.objects.select_for_update().get(pk=unit_id)
        if unit.assignments.filter(status__in=ACTIVE_ASSIGNMENT_STATUSES).exists():
            raise InvalidTransition(
                f"{unit.call_sign} is {unit.get_status_display().lower()} on an assignment; "
                "clear or cancel it first."
            )
        target = UnitStatus.AVAILABLE if in_service else UnitStatus.OUT_OF_SERVICE
        if unit.status != target or unit.status_source != StatusSource.SYSTEM:
            unit.status = target
            unit.status_source = StatusSource.SYSTEM
            unit.save(update_fields=["status", "status_source"])
            _emit_unit(unit)
    return unit


# What a dispatcher may set by hand on a unit with an active assignment: the assignment's
# own next state (the unit follows it). Without an assignment only these two make sense.
ASSIGNMENT_STATUS_BY_HAND: dict[str, str] = {
    UnitStatus.EN_ROUTE: AssignmentStatus.EN_ROUTE,
    UnitStatus.ON_SCENE: AssignmentStatus.ON_SCENE,
    UnitStatus.TRANSPORTING: AssignmentStatus.TRANSPORTING,
    UnitStatus.AT_DESTINATION: AssignmentStatus.AT_DESTINATION,
    UnitStatus.AVAILABLE: AssignmentStatus.CLEARED,
}
FREE_UNIT_STATUSES = (UnitStatus.AVAILABLE, UnitStatus.OUT_OF_SERVICE)


def unit_status_options(unit: Unit, assignment: Assignment | None) -> list[str]:
    """The unit statuses a dispatcher may set by hand now, given its active assignment."""
    if assignment is None:
        return [s for s in FREE_UNIT_STATUSES if s != unit.status]
    allowed = TRANSITIONS[assignment.status]
    return [s for s, a in ASSIGNMENT_STATUS_BY_HAND.items() if a in allowed]


def _label(status: str) -> str:
    return UnitStatus(status).label.lower() if status in UnitStatus.values else status


def unit_set_status(*, user: Any, unit_id: int, status: str, reason: str = "") -> Unit:
    """A dispatcher sets a unit's status by hand (a radio report), marked manual and audited.

    Without an active assignment: available or out of service. With one: the assignment's
    next state through assignment_transition (on scene, transporting, ...; available clears
    it; `reason` goes into that transition's note). Raises InvalidTransition naming what is
    allowed otherwise.
    """
    if status not in UnitStatus.values:
        raise DispatchError(
            f"Unknown status {status!r}; use one of {', '.join(UnitStatus.values)}.",
            field="status",
        )
    now = timezone.now()
    with transaction.atomic():
        # The assignment's own service locks assignment, incident, unit in that order; the
        # unit is locked here only when there is no assignment to move.
        active = (
            Assignment.objects.filter(unit_id=unit_id, status__in=ACTIVE_ASSIGNMENT_STATUSES)
            .select_related("unit")
            .first()
        )
        if active is not None:
            options = unit_status_options(active.unit, active)
            if status not in options:
                raise InvalidTransition(
                    f"{active.unit.call_sign} is {_label(active.unit.status)} on incident "
                    f"#{active.incident_id}; by hand it can be set "
                    + (" or ".join(_label(o) for o in options) or "nothing")
                    + f", not {_label(status)}. Cancel the assignment from the incident."
                )
            previous = active.unit.status
            assignment_transition(
                user=user,
                assignment_id=active.pk,
                to_status=ASSIGNMENT_STATUS_BY_HAND[status],
                device_id="console",
                note=f"set by a dispatcher: {reason}".strip(" :")[:200],
            )
            unit = Unit.objects.select_for_update().get(pk=unit_id)
        else:
            unit = Unit.objects.select_for_update().get(pk=unit_id)
            if Assignment.objects.filter(
                unit_id=unit_id, status__in=ACTIVE_ASSIGNMENT_STATUSES
            ).exists():
                raise InvalidTransition(f"{unit.call_sign} was just dispatched; try again.")
            if status not in FREE_UNIT_STATUSES:
                raise InvalidTransition(
                    f"{unit.call_sign} has no assignment; by hand it can be set available or "
                    f"out of service, not {_label(status)} (that comes with a dispatch)."
                )
            previous = unit.status
            unit.status = status
        unit.status_source = StatusSource.MANUAL
        unit.status_set_at = now
        unit.status_set_by = user
        unit.save(update_fields=["status", "status_source", "status_set_at", "status_set_by"])
        _emit_unit(unit)
        audit_record(
            actor=user,
            action="unit_status_set",
            object_type="unit",
            object_id=unit.pk,
            detail={"from": previous, "to": unit.status, "assignment": active and active.pk},
        )
    return unit


def _position_from_text(text: str) -> tuple[float, float]:
    """Coordinates, a plus code, or an address as a radio report gives it."""
    try:
        parsed = parse_coordinates(text)
    except GeocodeError as exc:
        raise DispatchError(exc.message, field="text") from None
    if parsed is not None:
        return parsed.lat, parsed.lon
    best = _best_match(text, field="text", limit=3)
    return best.lat, best.lon


def unit_set_position(
    *,
    user: Any,
    unit_id: int,
    lat: float | None = None,
    lon: float | None = None,
    text: str = "",
) -> Unit:
    """A dispatcher places a unit by hand (a map click, an address or coordinates from a radio
    report), marked manual with who and when, and audited.

    The position's time is now: a device fix recorded after it supersedes it, an older one
    queued on the tablet does not. Raises DispatchError naming `lat`, `lon` or `text`.
    """
    if text.strip() and (lat is None and lon is None):
        lat, lon = _position_from_text(text.strip())
    elif lat is None and lon is None:
        raise DispatchError("Pick a point on the map or type an address.", field="lat")
    lat = _coordinate(lat, "lat", -90.0, 90.0)
    lon = _coordinate(lon, "lon", -180.0, 180.0)
    now = timezone.now()
    with transaction.atomic():
        unit = Unit.objects.select_for_update().get(pk=unit_id)
        unit.last_lat, unit.last_lon = lat, lon
        unit.last_fix_at = now
        unit.last_heading = None
        unit.last_speed_mps = None
        unit.position_stale = False
        unit.position_source = PositionSource.MANUAL
        unit.position_set_by = user
        unit.save(
            update_fields=[
                "last_lat",
                "last_lon",
                "last_fix_at",
                "last_heading",
                "last_speed_mps",
                "position_stale",
                "position_source",
                "position_set_by",
            ]
        )
        _emit_unit(unit)
        audit_record(
            actor=user,
            action="unit_position_set",
            object_type="unit",
            object_id=unit.pk,
            detail={
                "lat": f"{lat:.6f}",
                "lon": f"{lon:.6f}",
                "from": "text" if text.strip() else "map",
            },
        )
    return unit


# --- Presence ------------------------------------------------------------------------------


def unit_presence_open(*, unit_id: int, device_id: str, channel_name: str) -> None:
    """A crew device's socket said hello: the unit's tablet is online (idempotent per socket)."""
    UnitPresence.objects.update_or_create(
        channel_name=channel_name[:200],
        defaults={"unit_id": unit_id, "device_id": device_id[:64], "connected_at": timezone.now()},
    )


def unit_presence_close(*, channel_name: str) -> bool:
    """The socket closed; True when the unit has no other device online (it went offline)."""
    row = UnitPresence.objects.filter(channel_name=channel_name).first()
    if row is None:
        return False
    row.delete()
    return not UnitPresence.objects.filter(unit_id=row.unit_id).exists()


# --- Tracking ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Fix:
    """One position from a device."""

    client_id: str
    lat: float
    lon: float
    recorded_at: datetime
    heading: float | None = None
    speed_mps: float | None = None
    accuracy_m: float | None = None


@dataclass(frozen=True)
class FixResult:
    client_id: str
    status: str  # "stored", "duplicate" or "rejected"
    field: str | None = None
    message: str = ""


# Device clocks drift; a fix a few seconds "in the future" is a clock, not a lie.
FUTURE_TOLERANCE = timedelta(seconds=5)


def _fix_problem(fix: Fix, now: datetime) -> tuple[str, str] | None:
    if not fix.client_id or len(fix.client_id) > 64:
        return "id", "id must be 1-64 characters."
    if not (isinstance(fix.lat, int | float) and -90 <= fix.lat <= 90):
        return "lat", "lat must be between -90 and 90."
    if not (isinstance(fix.lon, int | float) and -180 <= fix.lon <= 180):
        return "lon", "lon must be between -180 and 180."
    if fix.recorded_at > now + FUTURE_TOLERANCE:
        return "recorded_at", "The fix's time is in the future."
    if fix.recorded_at < now - timedelta(days=settings.FIX_MAX_AGE_DAYS):
        # A box replaying its buffer after a dead zone sends hours-old fixes; year 0001 is a
        # broken clock, and would sort before every real fix of the unit's track.
        return "recorded_at", f"The fix's time is more than {settings.FIX_MAX_AGE_DAYS} days ago."
    if fix.heading is not None and not 0 <= fix.heading < 360:
        return "heading", "heading must be 0 to 359.9 degrees."
    if fix.speed_mps is not None and not 0 <= fix.speed_mps <= 120:
        return "speed_mps", "speed_mps must be 0 to 120 m/s."
    if fix.accuracy_m is not None and not 0 <= fix.accuracy_m <= 100000:
        return "accuracy_m", "accuracy_m must be 0 to 100000 m."
    return None


def unit_positions_record(*, unit_id: int, device_id: str, fixes: list[Fix]) -> list[FixResult]:
    """Store a batch of fixes of one unit (an AVL box's REST batch): see units_positions_record."""
    [results] = units_positions_record(batches=[(unit_id, device_id, fixes)])
    return results


def moved_unit(unit_id: int, fix: Fix) -> dict[str, Any]:
    """The part of a unit a fix changes, as `dispatch.units.moved` carries it."""
    return {
        "id": unit_id,
        "lat": fix.lat,
        "lon": fix.lon,
        "heading": fix.heading,
        "speed_mps": fix.speed_mps,
        "last_fix_at": fix.recorded_at.isoformat(),
        "position_source": "fix",
        "position_stale": False,
    }


def units_positions_record(*, batches: list[tuple[int, str, list[Fix]]]) -> list[list[FixResult]]:
    """Store fixes of any number of units (each fix once per unit, by its id); the newest
    fix of a unit moves it.

    `batches` are (unit id, device id, fixes); the results are one per fix, in order. A fix
    older than the unit's newest is kept in the track but does not move the unit. Set-based:
    one insert of the track points, one update of the units that moved (locked in pk order
    first), and one `dispatch.units.moved` event per centre carrying every unit that moved.
    This is the path of both the device ingest tick and the REST batch.
    """
    now = timezone.now()
    results: list[list[FixResult | None]] = [[None] * len(fixes) for _, _, fixes in batches]
    wanted: dict[tuple[int, str], tuple[int, int, str, Fix]] = {}
    repeats: list[tuple[int, int, tuple[int, str]]] = []
    for b, (unit_id, device_id, fixes) in enumerate(batches):
        for f, fix in enumerate(fixes):
            problem = _fix_problem(fix, now)
            if problem is not None:
                results[b][f] = FixResult(fix.client_id, "rejected", problem[0], problem[1])
            elif (unit_id, fix.client_id) in wanted:
                repeats.append((b, f, (unit_id, fix.client_id)))
            else:
                wanted[(unit_id, fix.client_id)] = (b, f, device_id[:64], fix)
    with transaction.atomic():
        unit_ids = sorted({unit_id for unit_id, _ in wanted})
        lock_rows(Unit._meta.db_table, "id", unit_ids)
        stored = {
            (unit_id, client_id)
            for unit_id, client_id in insert_returning(
                UnitPosition._meta.db_table,
                [
                    "unit_id",
                    "client_id",
                    "device_id",
                    "lat",
                    "lon",
                    "heading",
                    "speed_mps",
                    "accuracy_m",
                    "recorded_at",
                    "received_at",
                ],
                [
                    "int",
                    "text",
                    "text",
                    "float",
                    "float",
                    "float",
                    "float",
                    "float",
                    "time",
                    "time",
                ],
                [
                    (
                        unit_id,
                        fix.client_id,
                        device_id,
                        fix.lat,
                        fix.lon,
                        fix.heading,
                        fix.speed_mps,
                        fix.accuracy_m,
                        fix.recorded_at,
                        now,
                    )
                    for (unit_id, _), (_, _, device_id, fix) in wanted.items()
                ],
                conflict=["unit_id", "client_id"],
                returning=["unit_id", "client_id"],
            )
        }
        newest: dict[int, Fix] = {}
        for key, (b, f, _, fix) in wanted.items():
            status = "stored" if key in stored else "duplicate"
            results[b][f] = FixResult(fix.client_id, status)
            if status == "stored":
                best = newest.get(key[0])
                if best is None or fix.recorded_at > best.recorded_at:
                    newest[key[0]] = fix
        for b, f, key in repeats:
            results[b][f] = FixResult(key[1], "duplicate")
        table = Unit._meta.db_table
        moved = update_from_values(
            table,
            "id",
            [
                "last_lat",
                "last_lon",
                "last_fix_at",
                "last_heading",
                "last_speed_mps",
                "position_stale",
                "position_source",
                "position_set_by_id",
            ],
            ["int", "float", "float", "time", "float", "float", "bool", "text", "int"],
            [
                # A device fix newer than a dispatcher's manual position supersedes it.
                (
                    unit_id,
                    fix.lat,
                    fix.lon,
                    fix.recorded_at,
                    fix.heading,
                    fix.speed_mps,
                    False,
                    PositionSource.DEVICE.value,
                    None,
                )
                for unit_id, fix in sorted(newest.items())
            ],
            where=f"{table}.last_fix_at IS NULL OR {table}.last_fix_at < v.last_fix_at",
            returning=["id", "centre_id"],
        )
        by_centre: dict[int, list[dict[str, Any]]] = {}
        # A unit lent on mutual aid moves on the map of the centre it works for too.
        borrowed = selectors.units_borrowed_by(unit_id for unit_id, _ in moved)
        for unit_id, centre_id in sorted(moved):
            position = moved_unit(unit_id, newest[unit_id])
            for stream_centre in (centre_id, *sorted(borrowed.get(unit_id, ()))):
                by_centre.setdefault(stream_centre, []).append(position)
        for centre_id, units in by_centre.items():
            event_record(
                stream=events.centre_group(centre_id),
                event_type=events.UNITS_MOVED,
                data={"units": units},
            )
        if moved:
            # The ED boards' live ETA, throttled and off this path (handoff/eta.py).
            moved_ids = [unit_id for unit_id, _ in moved]
            transaction.on_commit(partial(hooks.units_moved.send, sender=Unit, unit_ids=moved_ids))
    return [[r for r in batch if r is not None] for batch in results]


def units_flag_stale() -> int:
    """Flag units whose newest fix is older than UNIT_STALE_AFTER_SECONDS; returns how many."""
    cutoff = timezone.now() - timedelta(seconds=settings.UNIT_STALE_AFTER_SECONDS)
    flagged = 0
    # A manual position is a dispatcher's report, not a silent device: it is not flagged
    # (the recommendation still says how old it is).
    candidates = Unit.objects.filter(
        position_stale=False, last_fix_at__lt=cutoff, position_source=PositionSource.DEVICE
    ).exclude(status=UnitStatus.OUT_OF_SERVICE)
    for unit_id in candidates.values_list("pk", flat=True):
        with transaction.atomic():
            # Conditional update: a fresh fix that landed since the query wins, and two
            # schedulers running at once flag (and announce) each unit only once.
            claimed = Unit.objects.filter(
                pk=unit_id, position_stale=False, last_fix_at__lt=cutoff
            ).update(position_stale=True)
            if claimed:
                flagged += 1
                _emit_unit(Unit.objects.select_related("home_station").get(pk=unit_id))
    return flagged


def transport_received_open(
    *,
    user: Any,
    unit: Unit,
    hospital_id: int,
    hospital_at: tuple[float, float],
    determinant: str,
    chief_complaint: str,
    brought_by: str,
    received_from: str,
) -> Assignment:
    """The local incident and transporting assignment of a patient another deployment's unit
    brings to one of our hospitals (exchange). The scene is the other deployment's: the
    incident is located at the receiving hospital. An active job the unit still has here
    ended when it took this patient (cleared). An unknown determinant is taken as DELTA.

    Preconditions: `unit` and `user` are the peer unit's local stand-ins (exchange).
    """
    now = timezone.now()
    Assignment.objects.filter(unit=unit, status__in=ACTIVE_ASSIGNMENT_STATUSES).update(
        status=AssignmentStatus.CLEARED, cleared_at=now
    )
    lat, lon = hospital_at
    incident = Incident.objects.create(
        centre=unit.centre,
        chief_complaint=chief_complaint[:200],
        determinant=determinant if determinant in Determinant.values else Determinant.DELTA,
        response_mode=ResponseMode.LIGHTS_AND_SIRENS,
        notes=f"Brought by {brought_by} (exchange)",
        status=IncidentStatus.TRANSPORTING,
        location_source="latlon",
        location_text=f"received from {received_from}",
        lat=lat,
        lon=lon,
        confidence=0.0,
        road_lat=lat,
        road_lon=lon,
        road_distance_m=0.0,
        call_received_at=now,
        created_at=now,
        created_by=user,
    )
    assignment = Assignment.objects.create(
        incident=incident,
        unit=unit,
        status=AssignmentStatus.TRANSPORTING,
        destination_id=hospital_id,
        notified_at=now,
        left_scene_at=now,
    )
    unit.status = UnitStatus.TRANSPORTING
    unit.save(update_fields=["status"])
    # The centre's console shows the visiting unit on its way in, as a local transport.
    _emit_incident(incident, "created")
    _emit_unit(unit)
    return assignment


# Writes by subject, in their own modules (they use the helpers above, so they come last).
from dispatch.services.call_queue import (  # noqa: E402
    queued_call_answer,
    queued_call_end,
    queued_call_for_intake,
    queued_call_link,
    queued_call_ring,
    queued_calls_roll_over,
    telephony_token_centre,
    telephony_token_issue,
    telephony_token_revoke,
)
from dispatch.services.mutual_aid import (  # noqa: E402
    mutual_aid_decide,
    mutual_aid_request,
    mutual_aid_withdraw,
    mutual_aid_withdraw_for_incident,
)
from dispatch.services.transfers import (  # noqa: E402
    incident_transfer_decide,
    incident_transfer_propose,
    incident_transfer_propose_by_area,
    incident_transfer_withdraw,
    incident_transfers_withdraw_for_incident,
)

__all__ = [
    "incident_transfer_decide",
    "incident_transfer_propose",
    "incident_transfer_propose_by_area",
    "incident_transfer_withdraw",
    "incident_transfers_withdraw_for_incident",
    "mutual_aid_decide",
    "mutual_aid_request",
    "mutual_aid_withdraw",
    "mutual_aid_withdraw_for_incident",
    "queued_call_answer",
    "queued_call_end",
    "queued_call_for_intake",
    "queued_call_link",
    "queued_call_ring",
    "queued_calls_roll_over",
    "telephony_token_centre",
    "telephony_token_issue",
    "telephony_token_revoke",
]
