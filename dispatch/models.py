"""Dispatch reference data: centres, stations and units."""

from __future__ import annotations

from django.db import models

from config.fields import ChoiceListField, coordinate_constraint, latitude_field, longitude_field


class DispatchCentre(models.Model):
    """A 112/911/120 emergency medical dispatch centre; dispatchers belong to one."""

    name = models.CharField(max_length=120, unique=True)
    code = models.SlugField(max_length=32, unique=True)
    # The centre's jurisdiction as a GeoJSON Polygon or MultiPolygon (lon, lat order); a call
    # located outside it and inside another centre's area is proposed for transfer there.
    area = models.JSONField(
        null=True,
        blank=True,
        help_text="GeoJSON Polygon or MultiPolygon geometry of the centre's jurisdiction",
    )
    # Where the centre's towns are: the report gives response times inside it (urban) and
    # outside it (rural) apart, as the 120 targets are set per kind of area.
    urban_area = models.JSONField(
        null=True,
        blank=True,
        help_text=(
            "GeoJSON Polygon or MultiPolygon geometry of the centre's urban area; the report "
            "splits response times into urban (inside) and rural (outside)"
        ),
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        from dispatch.region import area_problem

        problems = {
            name: problem
            for name in ("area", "urban_area")
            if (problem := area_problem(getattr(self, name)))
        }
        if problems:
            from django.core.exceptions import ValidationError

            raise ValidationError(problems)


class Station(models.Model):
    """A place units are based at or stand by at (ambulance station, standby point)."""

    centre = models.ForeignKey(DispatchCentre, on_delete=models.PROTECT, related_name="stations")
    name = models.CharField(max_length=120)
    code = models.SlugField(max_length=32, unique=True)
    address = models.CharField(max_length=200, blank=True)
    lat = latitude_field()
    lon = longitude_field()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["centre", "name"], name="station_name_unique_in_centre"
            ),
            coordinate_constraint("station"),
        ]

    def __str__(self) -> str:
        return self.name


class UnitType(models.TextChoices):
    ALS = "ALS", "Advanced life support"
    BLS = "BLS", "Basic life support"


class UnitCapability(models.TextChoices):
    BARIATRIC = "bariatric", "Bariatric"
    NEONATAL = "neonatal", "Neonatal transport"
    PEDIATRIC = "pediatric", "Pediatric equipment"
    MECHANICAL_CPR = "mechanical_cpr", "Mechanical CPR device"
    CRITICAL_CARE = "critical_care", "Critical care transport"
    PHYSICIAN = "physician", "Physician on board"


class UnitStatus(models.TextChoices):
    AVAILABLE = "available", "Available"
    DISPATCHED = "dispatched", "Dispatched"
    EN_ROUTE = "en_route", "En route"
    ON_SCENE = "on_scene", "On scene"
    TRANSPORTING = "transporting", "Transporting"
    AT_DESTINATION = "at_destination", "At destination"
    OUT_OF_SERVICE = "out_of_service", "Out of service"


class PositionSource(models.TextChoices):
    DEVICE = "device", "The unit's own device (tablet or AVL box)"
    MANUAL = "manual", "Set by hand by a dispatcher (radio report)"


class StatusSource(models.TextChoices):
    SYSTEM = "system", "The crew's tablet or the assignment's lifecycle"
    MANUAL = "manual", "Set by hand by a dispatcher (radio report)"


class Unit(models.Model):
    """An ambulance (or response car) with its crew's tablet."""

    centre = models.ForeignKey(DispatchCentre, on_delete=models.PROTECT, related_name="units")
    call_sign = models.CharField(max_length=32, unique=True)
    unit_type = models.CharField(max_length=3, choices=UnitType.choices)
    capabilities = ChoiceListField(item_choices=UnitCapability)
    home_station = models.ForeignKey(Station, on_delete=models.PROTECT, related_name="units")
    status = models.CharField(
        max_length=20, choices=UnitStatus.choices, default=UnitStatus.AVAILABLE
    )
    last_lat = latitude_field(null=True, blank=True)
    last_lon = longitude_field(null=True, blank=True)
    last_fix_at = models.DateTimeField(null=True, blank=True)
    last_heading = models.FloatField(null=True, blank=True)
    last_speed_mps = models.FloatField(null=True, blank=True)
    # Set by the periodic stale-fix check; cleared by the next fresh position.
    position_stale = models.BooleanField(default=False)
    # A dispatcher's override from a radio report: the position's time is last_fix_at, and
    # the next device fix recorded after it supersedes it (services.units_positions_record).
    position_source = models.CharField(
        max_length=8, choices=PositionSource.choices, default=PositionSource.DEVICE
    )
    position_set_by = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    status_source = models.CharField(
        max_length=8, choices=StatusSource.choices, default=StatusSource.SYSTEM
    )
    status_set_at = models.DateTimeField(null=True, blank=True)
    status_set_by = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["call_sign"]
        constraints = [
            coordinate_constraint("unit", "last_lat", "last_lon", nullable=True),
            models.CheckConstraint(
                condition=models.Q(unit_type__in=UnitType.values), name="unit_type_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=UnitStatus.values), name="unit_status_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(position_source__in=PositionSource.values),
                name="unit_position_source_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(status_source__in=StatusSource.values),
                name="unit_status_source_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.call_sign} ({self.unit_type})"


class Determinant(models.TextChoices):
    """Dispatch determinant levels (MPDS), most to least urgent."""

    ECHO = "ECHO", "Echo"
    DELTA = "DELTA", "Delta"
    CHARLIE = "CHARLIE", "Charlie"
    BRAVO = "BRAVO", "Bravo"
    ALPHA = "ALPHA", "Alpha"
    OMEGA = "OMEGA", "Omega"


class ResponseMode(models.TextChoices):
    LIGHTS_AND_SIRENS = "lights_sirens", "Lights and sirens"
    NON_URGENT = "non_urgent", "No lights or sirens"


# Echo and Delta are life-threatening: lights and sirens. Charlie is driven urgently in most
# protocols too; Bravo, Alpha and Omega are not.
DETERMINANT_RESPONSE: dict[str, str] = {
    Determinant.ECHO: ResponseMode.LIGHTS_AND_SIRENS,
    Determinant.DELTA: ResponseMode.LIGHTS_AND_SIRENS,
    Determinant.CHARLIE: ResponseMode.LIGHTS_AND_SIRENS,
    Determinant.BRAVO: ResponseMode.NON_URGENT,
    Determinant.ALPHA: ResponseMode.NON_URGENT,
    Determinant.OMEGA: ResponseMode.NON_URGENT,
}

# The unit type a determinant needs; any other level takes ALS or BLS.
DETERMINANT_NEEDS_ALS = {Determinant.ECHO, Determinant.DELTA}


class LocationSource(models.TextChoices):
    CALLER_GPS = "caller_gps", "Caller's phone position"
    ADDRESS = "address", "Address"
    MAP = "map", "Point on the map"
    LATLON = "latlon", "Coordinates"
    PLUS_CODE = "pluscode", "Plus code"


class IncidentStatus(models.TextChoices):
    OPEN = "open", "Open, no unit yet"
    DISPATCHED = "dispatched", "Unit dispatched"
    ON_SCENE = "on_scene", "Unit on scene"
    TRANSPORTING = "transporting", "Transporting"
    CLOSED = "closed", "Closed"
    CANCELLED = "cancelled", "Cancelled"


class IncidentDisposition(models.TextChoices):
    """How an incident ended, as the dispatcher closes it (or as its units cleared)."""

    CANCELLED = "cancelled", "Cancelled (not needed)"
    DUPLICATE = "duplicate", "Duplicate of another incident"
    NO_PATIENT_FOUND = "no_patient_found", "No patient found"
    TREATED_ON_SCENE = "treated_on_scene", "Treated on scene, not transported"
    PATIENT_REFUSED = "patient_refused", "Patient refused care"
    DEAD_ON_SCENE = "dead_on_scene", "Dead on scene"
    TRANSPORTED = "transported", "Transported"


# Dispositions that mean no crew was needed after all: the incident is cancelled, not closed.
CANCELLING_DISPOSITIONS = {IncidentDisposition.CANCELLED, IncidentDisposition.DUPLICATE}


def determinant_rank(determinant: str) -> int:
    """0 for Echo (most urgent) up to 5 for Omega: the order of Determinant."""
    return Determinant.values.index(determinant)


OPEN_INCIDENT_STATUSES = [
    IncidentStatus.OPEN,
    IncidentStatus.DISPATCHED,
    IncidentStatus.ON_SCENE,
    IncidentStatus.TRANSPORTING,
]


class Incident(models.Model):
    """One emergency: where, how urgent, what the crew must know to get in."""

    centre = models.ForeignKey(DispatchCentre, on_delete=models.PROTECT, related_name="incidents")
    chief_complaint = models.CharField(max_length=200)
    determinant = models.CharField(max_length=8, choices=Determinant.choices)
    response_mode = models.CharField(max_length=16, choices=ResponseMode.choices)
    notes = models.TextField(blank=True)
    access_notes = models.TextField(
        blank=True, help_text="Gate code, entrance, floor: sent to the crew"
    )
    status = models.CharField(
        max_length=16, choices=IncidentStatus.choices, default=IncidentStatus.OPEN
    )
    # Where the caller is, as given, and how sure we are.
    location_source = models.CharField(max_length=16, choices=LocationSource.choices)
    location_text = models.CharField(max_length=300, blank=True)
    lat = latitude_field()
    lon = longitude_field()
    accuracy_m = models.FloatField(null=True, blank=True)
    confidence = models.FloatField()
    # Where a crew can stop: the point on the nearest road, and what is written there.
    road_lat = latitude_field()
    road_lon = longitude_field()
    road_street = models.CharField(max_length=200, blank=True)
    road_distance_m = models.FloatField()
    address = models.CharField(max_length=300, blank=True)
    call_received_at = models.DateTimeField(help_text="eTimes.01 PSAP call")
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, related_name="incidents_created"
    )
    closed_at = models.DateTimeField(null=True, blank=True)
    disposition = models.CharField(max_length=20, choices=IncidentDisposition.choices, blank=True)
    disposition_note = models.CharField(max_length=200, blank=True)
    # A later caller reported a more urgent determinant: proposed, until the dispatcher
    # accepts or declines it (incident_upgrade_decide).
    proposed_determinant = models.CharField(max_length=8, choices=Determinant.choices, blank=True)
    proposed_by_call = models.ForeignKey(
        "dispatch.Call", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            coordinate_constraint("incident"),
            coordinate_constraint("incident", "road_lat", "road_lon"),
            models.CheckConstraint(
                condition=models.Q(confidence__gte=0.0, confidence__lte=1.0),
                name="incident_confidence_0_1",
            ),
            models.CheckConstraint(
                condition=models.Q(determinant__in=Determinant.values),
                name="incident_determinant_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=IncidentStatus.values), name="incident_status_valid"
            ),
        ]
        indexes = [models.Index(fields=["centre", "status"], name="incident_centre_status_idx")]

    def __str__(self) -> str:
        return f"#{self.pk} {self.determinant} {self.chief_complaint}"


class Call(models.Model):
    """A phone call about an incident; a duplicate call is attached to the existing incident."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="calls")
    caller_name = models.CharField(max_length=120, blank=True)
    caller_phone = models.CharField(max_length=32, blank=True)
    received_at = models.DateTimeField()
    # What this caller said: a duplicate call can bring a worse picture than the first.
    chief_complaint = models.CharField(max_length=200, blank=True)
    determinant = models.CharField(max_length=8, choices=Determinant.choices, blank=True)
    notes = models.TextField(blank=True)
    access_notes = models.TextField(blank=True)
    taken_by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["received_at"]

    def __str__(self) -> str:
        return f"call on incident #{self.incident_id}"


class AssignmentStatus(models.TextChoices):
    DISPATCHED = "dispatched", "Dispatched"
    EN_ROUTE = "en_route", "En route"
    ON_SCENE = "on_scene", "On scene"
    TRANSPORTING = "transporting", "Transporting"
    AT_DESTINATION = "at_destination", "At destination"
    CLEARED = "cleared", "Cleared, unit available"
    CANCELLED = "cancelled", "Cancelled"


ACTIVE_ASSIGNMENT_STATUSES = [
    AssignmentStatus.DISPATCHED,
    AssignmentStatus.EN_ROUTE,
    AssignmentStatus.ON_SCENE,
    AssignmentStatus.TRANSPORTING,
    AssignmentStatus.AT_DESTINATION,
]


class Assignment(models.Model):
    """One unit sent to one incident, through its lifecycle, with the NEMSIS eTimes."""

    incident = models.ForeignKey(Incident, on_delete=models.PROTECT, related_name="assignments")
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="assignments")
    status = models.CharField(
        max_length=16, choices=AssignmentStatus.choices, default=AssignmentStatus.DISPATCHED
    )
    destination = models.ForeignKey(
        "handoff.Hospital", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    eta_s = models.FloatField(null=True, blank=True, help_text="Drive time when dispatched")
    distance_m = models.FloatField(null=True, blank=True)
    notified_at = models.DateTimeField(help_text="eTimes.03 unit notified by dispatch")
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    en_route_at = models.DateTimeField(null=True, blank=True, help_text="eTimes.05")
    on_scene_at = models.DateTimeField(null=True, blank=True, help_text="eTimes.06")
    left_scene_at = models.DateTimeField(null=True, blank=True, help_text="eTimes.09")
    at_destination_at = models.DateTimeField(null=True, blank=True, help_text="eTimes.11")
    cleared_at = models.DateTimeField(null=True, blank=True, help_text="eTimes.13")
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancel_reason = models.CharField(max_length=200, blank=True)
    # Why the recommendation left this unit out when the dispatcher sent it anyway.
    override_reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-notified_at"]
        constraints = [
            # A unit does one job at a time; the database enforces it against racing dispatchers.
            models.UniqueConstraint(
                fields=["unit"],
                condition=models.Q(status__in=ACTIVE_ASSIGNMENT_STATUSES),
                name="assignment_one_active_per_unit",
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=AssignmentStatus.values),
                name="assignment_status_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.unit_id} -> incident #{self.incident_id} ({self.status})"


class AssignmentTransition(models.Model):
    """Who moved an assignment from one state to another, when, and from which device."""

    assignment = models.ForeignKey(Assignment, on_delete=models.CASCADE, related_name="transitions")
    from_status = models.CharField(max_length=16, blank=True)
    to_status = models.CharField(max_length=16)
    at = models.DateTimeField()
    by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    device_id = models.CharField(max_length=64, blank=True)
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.from_status or '-'} -> {self.to_status}"


class UnitPosition(models.Model):
    """One GPS fix of a unit, kept as its track; idempotent by the device's id for it."""

    unit = models.ForeignKey(Unit, on_delete=models.CASCADE, related_name="positions")
    client_id = models.CharField(max_length=64, help_text="The device's id for this fix")
    device_id = models.CharField(max_length=64)
    lat = latitude_field()
    lon = longitude_field()
    heading = models.FloatField(null=True, blank=True)
    speed_mps = models.FloatField(null=True, blank=True)
    accuracy_m = models.FloatField(null=True, blank=True)
    recorded_at = models.DateTimeField(help_text="Device time of the fix")
    received_at = models.DateTimeField()

    class Meta:
        ordering = ["recorded_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["unit", "client_id"], name="unitposition_unit_client_id_unique"
            ),
            coordinate_constraint("unitposition"),
        ]
        indexes = [models.Index(fields=["unit", "recorded_at"], name="unitposition_track_idx")]

    def __str__(self) -> str:
        return f"{self.unit_id} @ {self.recorded_at:%H:%M:%S}"


class UnitPresence(models.Model):
    """A crew device connected now (one row per open socket), so a console opened later
    sees which tablets are online. Removed when the socket closes."""

    unit = models.ForeignKey(Unit, on_delete=models.CASCADE, related_name="presences")
    device_id = models.CharField(max_length=64)
    channel_name = models.CharField(max_length=200, unique=True)
    connected_at = models.DateTimeField()

    class Meta:
        ordering = ["connected_at", "pk"]

    def __str__(self) -> str:
        return f"{self.device_id} on unit {self.unit_id}"


class TransferStatus(models.TextChoices):
    PROPOSED = "proposed", "Proposed"
    ACCEPTED = "accepted", "Accepted"
    REFUSED = "refused", "Refused"
    WITHDRAWN = "withdrawn", "Withdrawn"


class IncidentTransfer(models.Model):
    """A proposal to hand an incident to the centre that owns its location. Until the other
    centre accepts, the incident (and its callers' data) stays with the centre that took it."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="transfers")
    from_centre = models.ForeignKey(
        DispatchCentre, on_delete=models.PROTECT, related_name="transfers_out"
    )
    to_centre = models.ForeignKey(
        DispatchCentre, on_delete=models.PROTECT, related_name="transfers_in"
    )
    status = models.CharField(
        max_length=12, choices=TransferStatus.choices, default=TransferStatus.PROPOSED
    )
    reason = models.CharField(max_length=200)
    proposed_at = models.DateTimeField()
    proposed_by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decision_note = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-proposed_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["incident"],
                condition=models.Q(status="proposed"),
                name="incidenttransfer_one_open_per_incident",
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=TransferStatus.values),
                name="incidenttransfer_status_valid",
            ),
            models.CheckConstraint(
                condition=~models.Q(from_centre=models.F("to_centre")),
                name="incidenttransfer_other_centre",
            ),
        ]

    def __str__(self) -> str:
        return f"incident #{self.incident_id} -> {self.to_centre_id} ({self.status})"


class MutualAidAgreement(models.Model):
    """Two neighbouring centres that lend each other units (each loan accepted by the
    lender) and take each other's unanswered calls after `rollover_seconds`."""

    centre_a = models.ForeignKey(DispatchCentre, on_delete=models.PROTECT, related_name="+")
    centre_b = models.ForeignKey(DispatchCentre, on_delete=models.PROTECT, related_name="+")
    active = models.BooleanField(default=True)
    share_units = models.BooleanField(
        default=True, help_text="Each centre sees the other's available units in recommendations"
    )
    rollover_seconds = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="A call not answered within this many seconds is offered to the partner "
        "(empty: no rollover)",
    )

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["centre_a", "centre_b"], name="mutualaidagreement_pair_unique"
            ),
            models.CheckConstraint(
                condition=models.Q(centre_a__lt=models.F("centre_b")),
                name="mutualaidagreement_pair_ordered",
            ),
        ]

    def __str__(self) -> str:
        return f"mutual aid {self.centre_a_id} <-> {self.centre_b_id}"


class MutualAidStatus(models.TextChoices):
    REQUESTED = "requested", "Requested"
    ACCEPTED = "accepted", "Accepted"
    REFUSED = "refused", "Refused"
    WITHDRAWN = "withdrawn", "Withdrawn"


class MutualAidRequest(models.Model):
    """A centre asks a partner to lend one of its units to an incident; the unit is sent
    only when a dispatcher of the lending centre accepts."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="aid_requests")
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="aid_requests")
    requesting_centre = models.ForeignKey(
        DispatchCentre, on_delete=models.PROTECT, related_name="aid_requested"
    )
    lending_centre = models.ForeignKey(
        DispatchCentre, on_delete=models.PROTECT, related_name="aid_lent"
    )
    status = models.CharField(
        max_length=12, choices=MutualAidStatus.choices, default=MutualAidStatus.REQUESTED
    )
    eta_s = models.FloatField(null=True, blank=True)
    distance_m = models.FloatField(null=True, blank=True)
    requested_at = models.DateTimeField()
    requested_by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decision_note = models.CharField(max_length=200, blank=True)
    assignment = models.ForeignKey(
        Assignment, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-requested_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["unit"],
                condition=models.Q(status="requested"),
                name="mutualaidrequest_one_open_per_unit",
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=MutualAidStatus.values),
                name="mutualaidrequest_status_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"unit {self.unit_id} for incident #{self.incident_id} ({self.status})"


class QueuedCallStatus(models.TextChoices):
    RINGING = "ringing", "Ringing"
    ANSWERED = "answered", "Answered"
    ABANDONED = "abandoned", "Abandoned"


class QueuedCall(models.Model):
    """An emergency call waiting to be answered (from the telephony system). Not answered
    within the agreement's rollover time, it is offered to the partner centre as well; the
    first dispatcher of either centre to answer takes it."""

    centre = models.ForeignKey(DispatchCentre, on_delete=models.PROTECT, related_name="queue")
    caller_phone = models.CharField(max_length=32, blank=True)
    line = models.CharField(max_length=32, blank=True, help_text="Trunk or line the call is on")
    status = models.CharField(
        max_length=12, choices=QueuedCallStatus.choices, default=QueuedCallStatus.RINGING
    )
    received_at = models.DateTimeField()
    offered_to = models.ForeignKey(
        DispatchCentre, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    offered_at = models.DateTimeField(null=True, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    answered_by = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    ended_at = models.DateTimeField(null=True, blank=True)
    # The incident's call the answering dispatcher recorded from it (intake), once saved.
    call = models.OneToOneField(
        Call, on_delete=models.SET_NULL, null=True, blank=True, related_name="queued"
    )

    class Meta:
        ordering = ["received_at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=QueuedCallStatus.values),
                name="queuedcall_status_valid",
            ),
        ]
        indexes = [models.Index(fields=["status", "received_at"], name="queuedcall_ringing_idx")]

    def __str__(self) -> str:
        return f"call {self.pk} at centre {self.centre_id} ({self.status})"


class CentreTelephonyToken(models.Model):
    """A centre's telephony system (CTI) credential for putting ringing calls in its queue.

    Only the SHA-256 of the token is kept; the token is shown once, by
    `manage.py centre_telephony_token` (docs/centres.md).
    """

    centre = models.ForeignKey(
        DispatchCentre, on_delete=models.CASCADE, related_name="telephony_tokens"
    )
    key_hash = models.CharField(max_length=64, unique=True)
    label = models.CharField(max_length=80, blank=True)
    created_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"telephony token {self.pk} of {self.centre_id}"
