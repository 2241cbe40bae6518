"""Shapes of the dispatch API."""

from __future__ import annotations

from rest_framework import serializers

from dispatch.models import (
    AssignmentStatus,
    Determinant,
    IncidentDisposition,
    LocationSource,
    UnitStatus,
)

# Ids are 64-bit in the database; a larger number is a client error, not a crash.
MAX_ID = 2**63 - 1


class LocationSerializer(serializers.Serializer):  # type: ignore[type-arg]
    source = serializers.ChoiceField(choices=LocationSource.choices)  # type: ignore[assignment]
    text = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")
    lat = serializers.FloatField(min_value=-90, max_value=90, required=False, allow_null=True)
    lon = serializers.FloatField(min_value=-180, max_value=180, required=False, allow_null=True)
    accuracy_m = serializers.FloatField(
        min_value=0, max_value=100000, required=False, allow_null=True
    )
    confidence = serializers.FloatField(min_value=0, max_value=1, required=False, allow_null=True)


class IncidentCreateSerializer(serializers.Serializer):  # type: ignore[type-arg]
    caller_name = serializers.CharField(
        max_length=120, required=False, allow_blank=True, default=""
    )
    caller_phone = serializers.CharField(
        max_length=32, required=False, allow_blank=True, default=""
    )
    chief_complaint = serializers.CharField(max_length=200)
    determinant = serializers.ChoiceField(choices=Determinant.choices)
    queued_call = serializers.IntegerField(
        min_value=1,
        max_value=MAX_ID,
        required=False,
        help_text="The queued call the dispatcher answered (call queue): its ring time is the "
        "call's received time, and the two are linked",
    )
    notes = serializers.CharField(required=False, allow_blank=True, default="")
    access_notes = serializers.CharField(required=False, allow_blank=True, default="")
    location = LocationSerializer(required=False)
    call_received_at = serializers.DateTimeField(required=False)
    allow_duplicate = serializers.BooleanField(default=False)
    attach_to = serializers.IntegerField(
        min_value=1,
        max_value=MAX_ID,
        required=False,
        help_text="Attach this call to an open incident",
    )

    def validate(self, attrs: dict) -> dict:  # type: ignore[type-arg]
        if "attach_to" not in attrs and "location" not in attrs:
            raise serializers.ValidationError({"location": ["A new incident needs a location."]})
        return attrs


class AssignmentSerializer(serializers.Serializer):  # type: ignore[type-arg]
    id = serializers.IntegerField()
    incident_id = serializers.IntegerField()
    unit_id = serializers.IntegerField()
    call_sign = serializers.CharField()
    status = serializers.CharField()
    destination_id = serializers.IntegerField(allow_null=True)
    eta_s = serializers.FloatField(allow_null=True)
    distance_m = serializers.FloatField(allow_null=True)
    notified_at = serializers.DateTimeField()
    acknowledged_at = serializers.DateTimeField(allow_null=True)
    en_route_at = serializers.DateTimeField(allow_null=True, help_text="eTimes.05")
    on_scene_at = serializers.DateTimeField(allow_null=True, help_text="eTimes.06")
    left_scene_at = serializers.DateTimeField(allow_null=True, help_text="eTimes.09")
    at_destination_at = serializers.DateTimeField(allow_null=True, help_text="eTimes.11")
    cleared_at = serializers.DateTimeField(allow_null=True, help_text="eTimes.13")
    cancelled_at = serializers.DateTimeField(allow_null=True)
    override_reason = serializers.CharField(
        allow_blank=True, help_text="Why the ranking left the unit out, when it was sent anyway"
    )


class CallSummarySerializer(serializers.Serializer):  # type: ignore[type-arg]
    id = serializers.IntegerField()
    received_at = serializers.DateTimeField()
    chief_complaint = serializers.CharField(allow_blank=True)
    determinant = serializers.CharField(allow_null=True)
    access_notes = serializers.CharField(allow_blank=True)


class CallSerializer(CallSummarySerializer):
    caller_name = serializers.CharField(allow_blank=True)
    caller_phone = serializers.CharField(allow_blank=True)
    notes = serializers.CharField(allow_blank=True)


class CentreSerializer(serializers.Serializer):  # type: ignore[type-arg]
    id = serializers.IntegerField()
    code = serializers.CharField()
    name = serializers.CharField()


class OpenTransferSerializer(serializers.Serializer):  # type: ignore[type-arg]
    id = serializers.IntegerField()
    to_centre = CentreSerializer()
    reason = serializers.CharField()


class TransferSerializer(serializers.Serializer):  # type: ignore[type-arg]
    """A transfer as both centres see it: what and where, never who called."""

    id = serializers.IntegerField()
    incident_id = serializers.IntegerField()
    status = serializers.ChoiceField(choices=["proposed", "accepted", "refused", "withdrawn"])
    from_centre = CentreSerializer()
    to_centre = CentreSerializer()
    reason = serializers.CharField()
    proposed_at = serializers.DateTimeField()
    decided_at = serializers.DateTimeField(allow_null=True)
    decision_note = serializers.CharField(allow_blank=True)
    determinant = serializers.CharField()
    chief_complaint = serializers.CharField()
    address = serializers.CharField(allow_blank=True)
    stop = serializers.CharField()
    lat = serializers.FloatField()
    lon = serializers.FloatField()
    calls = serializers.IntegerField()
    call_received_at = serializers.DateTimeField()


class TransferProposeSerializer(serializers.Serializer):  # type: ignore[type-arg]
    to_centre = serializers.SlugField(max_length=32, help_text="Code of the centre to hand it to")
    reason = serializers.CharField(max_length=200, required=False, default="", allow_blank=True)


class TransferDecisionSerializer(serializers.Serializer):  # type: ignore[type-arg]
    note = serializers.CharField(
        max_length=200, required=False, default="", allow_blank=True, help_text="Why (refusal)"
    )


class IncidentSerializer(serializers.Serializer):  # type: ignore[type-arg]
    id = serializers.IntegerField()
    chief_complaint = serializers.CharField()
    determinant = serializers.CharField()
    response_mode = serializers.CharField()
    status = serializers.CharField()
    lat = serializers.FloatField()
    lon = serializers.FloatField()
    accuracy_m = serializers.FloatField(allow_null=True)
    confidence = serializers.FloatField()
    location_source = serializers.CharField()
    road_lat = serializers.FloatField()
    road_lon = serializers.FloatField()
    road_street = serializers.CharField(allow_blank=True)
    road_distance_m = serializers.FloatField()
    address = serializers.CharField(
        allow_blank=True, help_text="The address the dispatcher chose, as the crew is told"
    )
    stop = serializers.CharField(help_text="Where to stop on the road: street and distance")
    access_notes = serializers.CharField(allow_blank=True)
    call_received_at = serializers.DateTimeField()
    calls = serializers.IntegerField()
    call_list = CallSummarySerializer(many=True)
    proposed_determinant = serializers.CharField(
        allow_null=True, help_text="A more urgent determinant a later caller reported"
    )
    disposition = serializers.CharField(allow_null=True)
    assignments = AssignmentSerializer(many=True)
    transfer = OpenTransferSerializer(
        allow_null=True, help_text="Proposed to another centre: which, and why"
    )


class IncidentDetailSerializer(IncidentSerializer):
    notes = serializers.CharField(allow_blank=True)
    call_list = CallSerializer(many=True)  # type: ignore[assignment]


class CallAttachedSerializer(serializers.Serializer):  # type: ignore[type-arg]
    attached = serializers.BooleanField(help_text="True: the call was attached, not created")
    message = serializers.CharField(help_text="What happened, to show the dispatcher")
    call = CallSerializer()
    proposed_determinant = serializers.CharField(allow_null=True)
    incident = IncidentDetailSerializer()


class UpgradeSerializer(serializers.Serializer):  # type: ignore[type-arg]
    accept = serializers.BooleanField(help_text="True accepts the proposal, false declines it")
    determinant = serializers.ChoiceField(
        choices=Determinant.choices,
        required=False,
        help_text="The proposal the dispatcher saw; refused if it has changed since",
    )


class CloseSerializer(serializers.Serializer):  # type: ignore[type-arg]
    disposition = serializers.ChoiceField(choices=IncidentDisposition.choices)
    note = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    device_id = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")


class ReplaceSerializer(serializers.Serializer):  # type: ignore[type-arg]
    unit_id = serializers.IntegerField(min_value=1, max_value=MAX_ID)
    reason = serializers.CharField(max_length=180, required=False, allow_blank=True, default="")
    device_id = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")


class DuplicateQuerySerializer(serializers.Serializer):  # type: ignore[type-arg]
    lat = serializers.FloatField(min_value=-90, max_value=90)
    lon = serializers.FloatField(min_value=-180, max_value=180)


class RecommendationSerializer(serializers.Serializer):  # type: ignore[type-arg]
    unit_id = serializers.IntegerField()
    call_sign = serializers.CharField()
    unit_type = serializers.CharField()
    capabilities = serializers.ListField(child=serializers.CharField())
    status = serializers.CharField()
    position_source = serializers.CharField(
        help_text="Where it was ranked from: fix, manual or station"
    )
    position_stale = serializers.BooleanField(
        help_text="Ranked from a position older than UNIT_STALE_AFTER_SECONDS"
    )
    position_age_s = serializers.FloatField(allow_null=True)
    position_note = serializers.CharField(
        allow_blank=True, help_text='e.g. "position 7 min old", "from station Erottaja"'
    )
    eta_s = serializers.FloatField(allow_null=True)
    distance_m = serializers.FloatField(allow_null=True)
    excluded = serializers.CharField(allow_null=True, help_text="Why the unit is not offered")
    excluded_code = serializers.ChoiceField(
        choices=["busy", "out_of_service", "needs_als", "off_network", "no_route"],
        allow_null=True,
    )
    overridable = serializers.BooleanField(
        help_text="Excluded but available: may be dispatched with override: true"
    )
    mutual_aid = serializers.BooleanField(
        help_text="A partner centre's unit: request it (POST .../mutual-aid/), the partner "
        "accepts or refuses; never dispatched directly"
    )
    lending_centre = CentreSerializer(
        allow_null=True, help_text="The partner centre that would lend the unit"
    )


class DispatchRequestSerializer(serializers.Serializer):  # type: ignore[type-arg]
    unit_ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_ID), min_length=1, max_length=20
    )
    device_id = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")
    override = serializers.BooleanField(
        default=False,
        help_text="The dispatcher confirmed sending a unit the ranking excludes (capability, "
        "off the map, no route); without it such a unit is refused with 409 override_required",
    )
    override_note = serializers.CharField(
        max_length=120, required=False, allow_blank=True, default=""
    )


class TransitionSerializer(serializers.Serializer):  # type: ignore[type-arg]
    status = serializers.ChoiceField(choices=AssignmentStatus.choices)
    destination = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, max_value=MAX_ID
    )
    note = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    device_id = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")


class DivertSerializer(serializers.Serializer):  # type: ignore[type-arg]
    destination = serializers.IntegerField(min_value=1, max_value=MAX_ID)
    reason = serializers.CharField(max_length=180, required=False, allow_blank=True, default="")
    device_id = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")


class DeviceSerializer(serializers.Serializer):  # type: ignore[type-arg]
    device_id = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")


class UnitStatusSerializer(serializers.Serializer):  # type: ignore[type-arg]
    status = serializers.ChoiceField(
        choices=UnitStatus.choices,
        help_text="The crew: available or out_of_service. A dispatcher (marked manual): those "
        "without an assignment, else the assignment's next state",
    )
    reason = serializers.CharField(max_length=180, required=False, allow_blank=True, default="")


class UnitPositionSetSerializer(serializers.Serializer):  # type: ignore[type-arg]
    lat = serializers.FloatField(min_value=-90, max_value=90, required=False, allow_null=True)
    lon = serializers.FloatField(min_value=-180, max_value=180, required=False, allow_null=True)
    text = serializers.CharField(
        max_length=300,
        required=False,
        allow_blank=True,
        default="",
        help_text="An address, a place, coordinates or a plus code (instead of lat/lon)",
    )

    def validate(self, attrs: dict) -> dict:  # type: ignore[type-arg]
        has_point = attrs.get("lat") is not None or attrs.get("lon") is not None
        if not has_point and not attrs["text"].strip():
            raise serializers.ValidationError(
                {"lat": ["Give lat and lon (a map click) or text (an address)."]}
            )
        if has_point and (attrs.get("lat") is None or attrs.get("lon") is None):
            missing = "lat" if attrs.get("lat") is None else "lon"
            raise serializers.ValidationError({missing: ["Give both lat and lon."]})
        return attrs


class UnitSerializer(serializers.Serializer):  # type: ignore[type-arg]
    id = serializers.IntegerField()
    call_sign = serializers.CharField()
    unit_type = serializers.CharField()
    capabilities = serializers.ListField(child=serializers.CharField())
    status = serializers.CharField()
    station = serializers.CharField()
    lat = serializers.FloatField()
    lon = serializers.FloatField()
    position_source = serializers.CharField()
    heading = serializers.FloatField(allow_null=True)
    speed_mps = serializers.FloatField(allow_null=True)
    last_fix_at = serializers.DateTimeField(allow_null=True)
    position_stale = serializers.BooleanField()
    position_set_by = serializers.CharField(
        allow_null=True, help_text="The dispatcher, when position_source is manual"
    )
    status_source = serializers.ChoiceField(choices=["system", "manual"])
    status_set_at = serializers.DateTimeField(allow_null=True)
    status_set_by = serializers.CharField(allow_null=True)


class PositionSerializer(serializers.Serializer):  # type: ignore[type-arg]
    """One fix. Range checks happen per item in the service so one bad fix rejects only itself."""

    id = serializers.CharField(max_length=64, help_text="The device's id for this fix")
    lat = serializers.FloatField()
    lon = serializers.FloatField()
    recorded_at = serializers.DateTimeField()
    heading = serializers.FloatField(required=False, allow_null=True)
    speed_mps = serializers.FloatField(required=False, allow_null=True)
    accuracy_m = serializers.FloatField(required=False, allow_null=True)


class PositionBatchSerializer(serializers.Serializer):  # type: ignore[type-arg]
    device_id = serializers.CharField(max_length=64)
    positions = serializers.ListField(child=PositionSerializer(), min_length=1, max_length=1000)


class FixResultSerializer(serializers.Serializer):  # type: ignore[type-arg]
    id = serializers.CharField()
    status = serializers.ChoiceField(
        choices=[("stored", "stored"), ("duplicate", "duplicate"), ("rejected", "rejected")]
    )
    field = serializers.CharField(allow_null=True)
    message = serializers.CharField(allow_blank=True)


class PositionBatchResultSerializer(serializers.Serializer):  # type: ignore[type-arg]
    results = FixResultSerializer(many=True)


class MutualAidCreateSerializer(serializers.Serializer):  # type: ignore[type-arg]
    unit_id = serializers.IntegerField(
        min_value=1, max_value=MAX_ID, help_text="An available unit of a partner centre"
    )


class MutualAidRefuseSerializer(serializers.Serializer):  # type: ignore[type-arg]
    note = serializers.CharField(max_length=200, help_text="Why the unit cannot be lent")


class MutualAidAcceptSerializer(serializers.Serializer):  # type: ignore[type-arg]
    note = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class MutualAidRequestSerializer(serializers.Serializer):  # type: ignore[type-arg]
    """What both centres see of a request: never the caller's name or phone."""

    id = serializers.IntegerField()
    status = serializers.ChoiceField(choices=["requested", "accepted", "refused", "withdrawn"])
    incident_id = serializers.IntegerField()
    incident_status = serializers.CharField()
    determinant = serializers.CharField()
    response_mode = serializers.CharField()
    chief_complaint = serializers.CharField(allow_blank=True)
    address = serializers.CharField(allow_blank=True)
    road_street = serializers.CharField(allow_blank=True)
    road_lat = serializers.FloatField()
    road_lon = serializers.FloatField()
    stop = serializers.CharField(help_text='Where to stop on the road ("Mikonkatu, 40 m")')
    unit_id = serializers.IntegerField()
    call_sign = serializers.CharField()
    unit_type = serializers.CharField()
    requesting_centre = CentreSerializer()
    lending_centre = CentreSerializer()
    eta_s = serializers.FloatField(allow_null=True, help_text="The ranking's, when requested")
    distance_m = serializers.FloatField(allow_null=True)
    requested_at = serializers.DateTimeField()
    requested_by = serializers.CharField(allow_null=True)
    decided_at = serializers.DateTimeField(allow_null=True)
    decided_by = serializers.CharField(allow_null=True)
    decision_note = serializers.CharField(allow_blank=True)
    assignment_id = serializers.IntegerField(
        allow_null=True, help_text="The assignment made when the lending centre accepted"
    )


class QueuedCallRingSerializer(serializers.Serializer):  # type: ignore[type-arg]
    caller_phone = serializers.CharField(
        max_length=32,
        allow_blank=True,
        trim_whitespace=True,
        help_text="The calling number as the telephony system has it; empty when withheld",
    )
    line = serializers.CharField(
        max_length=32,
        required=False,
        allow_blank=True,
        default="",
        help_text="The trunk or line the call is on",
    )


class QueuedCallSerializer(serializers.Serializer):  # type: ignore[type-arg]
    id = serializers.IntegerField()
    status = serializers.CharField()
    centre = CentreSerializer()
    offered_to = CentreSerializer(allow_null=True)
    line = serializers.CharField(allow_blank=True)
    caller_phone = serializers.CharField(
        allow_null=True,
        help_text="Only to a dispatcher of a centre that may answer the call (and the answerer)",
    )
    received_at = serializers.DateTimeField()
    offered_at = serializers.DateTimeField(allow_null=True)
    answered_at = serializers.DateTimeField(allow_null=True)
    ended_at = serializers.DateTimeField(allow_null=True)
    age_s = serializers.FloatField()
    offered_age_s = serializers.FloatField(allow_null=True)
    answered_by_centre = CentreSerializer(allow_null=True)
