"""Shapes of the handoff API."""

from __future__ import annotations

from rest_framework import serializers

from handoff.models import (
    HOSPITAL_DISPOSITIONS,
    DestinationReason,
    Disposition,
    EDStatus,
    OutcomePathway,
    Sex,
)

# --- Input ---------------------------------------------------------------------------------


class MedicationEntrySerializer(serializers.Serializer):  # type: ignore[type-arg]
    name = serializers.CharField(max_length=120)
    anticoagulant = serializers.BooleanField(default=False)


class BeFastSerializer(serializers.Serializer):  # type: ignore[type-arg]
    balance = serializers.BooleanField(allow_null=True, required=False)
    eyes = serializers.BooleanField(allow_null=True, required=False)
    face = serializers.BooleanField(allow_null=True, required=False)
    arm = serializers.BooleanField(allow_null=True, required=False)
    speech = serializers.BooleanField(allow_null=True, required=False)


class EncounterWriteSerializer(serializers.Serializer):  # type: ignore[type-arg]
    """Crew-editable fields; every one optional (the service validates the domain rules)."""

    family_name = serializers.CharField(
        max_length=100, allow_null=True, allow_blank=True, required=False
    )
    given_name = serializers.CharField(
        max_length=100, allow_null=True, allow_blank=True, required=False
    )
    sex = serializers.ChoiceField(choices=Sex.choices, required=False)
    birth_date = serializers.DateField(allow_null=True, required=False)
    estimated_age_years = serializers.IntegerField(
        min_value=0, max_value=130, allow_null=True, required=False
    )
    age_text = serializers.CharField(max_length=40, allow_blank=True, required=False)
    time_of_onset = serializers.DateTimeField(allow_null=True, required=False)
    mechanism = serializers.CharField(allow_blank=True, required=False)
    injuries = serializers.CharField(allow_blank=True, required=False)
    chief_complaint = serializers.CharField(max_length=200, allow_blank=True, required=False)
    working_impression = serializers.CharField(max_length=200, allow_blank=True, required=False)
    working_impression_code = serializers.CharField(max_length=16, allow_blank=True, required=False)
    allergies = serializers.ListField(child=serializers.CharField(max_length=120), required=False)
    medications = MedicationEntrySerializer(many=True, required=False)
    history = serializers.ListField(child=serializers.CharField(max_length=120), required=False)
    findings = serializers.JSONField(
        required=False,
        help_text="Crew findings for team activations: booleans such as cardiac_arrest, "
        "suspected_infection, injured, CDC trauma patterns, and befast {balance, eyes, ...}",
    )
    last_known_well = serializers.DateTimeField(
        allow_null=True, required=False, help_text="eSituation.18"
    )


class EncounterCreateSerializer(EncounterWriteSerializer):
    public_id = serializers.UUIDField(
        required=False, help_text="The tablet's own id for the record (idempotent create)"
    )


class VitalsCreateSerializer(serializers.Serializer):  # type: ignore[type-arg]
    client_id = serializers.CharField(max_length=64, help_text="The device's id for this set")
    taken_at = serializers.DateTimeField(required=False)
    device_id = serializers.CharField(max_length=64, required=False, default="")
    vitals = serializers.JSONField(
        help_text="Keys of docs/clinical.md (heart_rate, spo2, ..., on_oxygen, spo2_scale) "
        "plus ecg_stemi"
    )


class InterventionCreateSerializer(serializers.Serializer):  # type: ignore[type-arg]
    client_id = serializers.CharField(max_length=64)
    text = serializers.CharField(max_length=200)
    code = serializers.CharField(max_length=16, required=False, default="")
    performed_at = serializers.DateTimeField(required=False)


class MedicationCreateSerializer(serializers.Serializer):  # type: ignore[type-arg]
    client_id = serializers.CharField(max_length=64)
    name = serializers.CharField(max_length=120)
    dose = serializers.FloatField(min_value=0, required=False, allow_null=True)
    unit = serializers.CharField(max_length=16, required=False, default="")
    route = serializers.CharField(max_length=32, required=False, default="")
    given_at = serializers.DateTimeField(required=False)
    dose_confirmed = serializers.BooleanField(
        required=False,
        default=False,
        help_text="The crew confirms a dose outside the drug's plausible range for the route",
    )


class DestinationSetSerializer(serializers.Serializer):  # type: ignore[type-arg]
    hospital = serializers.IntegerField(min_value=1, max_value=2**63 - 1)
    reason = serializers.ChoiceField(choices=DestinationReason.choices, help_text="eDisposition.20")


class BaySerializer(serializers.Serializer):  # type: ignore[type-arg]
    bay = serializers.CharField(max_length=32)


class MessageCreateSerializer(serializers.Serializer):  # type: ignore[type-arg]
    text = serializers.CharField(max_length=1000)
    client_id = serializers.CharField(max_length=64, required=False, default="")


class ReconcileSerializer(serializers.Serializer):  # type: ignore[type-arg]
    mrn = serializers.CharField(max_length=32, help_text="The hospital's medical record number")


class EDCloseSerializer(serializers.Serializer):  # type: ignore[type-arg]
    reason = serializers.CharField(
        max_length=200, help_text="Why the card closes without a confirmed handover"
    )


class EDStatusSerializer(serializers.Serializer):  # type: ignore[type-arg]
    status = serializers.ChoiceField(choices=EDStatus.choices)
    reason = serializers.CharField(max_length=200, required=False, default="", allow_blank=True)


# --- Output --------------------------------------------------------------------------------


class ActivationSerializer(serializers.Serializer):  # type: ignore[type-arg]
    id = serializers.IntegerField()
    encounter_id = serializers.UUIDField()
    temp_identifier = serializers.CharField()
    kind = serializers.CharField()
    kind_label = serializers.CharField()
    reason = serializers.CharField()
    capability = serializers.CharField(allow_null=True)
    proposed_at = serializers.DateTimeField()
    sent_at = serializers.DateTimeField(allow_null=True)
    acknowledged_at = serializers.DateTimeField(allow_null=True)
    escalated_at = serializers.DateTimeField(allow_null=True)
    resent_count = serializers.IntegerField()


class MessageSerializer(serializers.Serializer):  # type: ignore[type-arg]
    id = serializers.IntegerField()
    encounter_id = serializers.UUIDField()
    temp_identifier = serializers.CharField()
    sender = serializers.CharField()
    text = serializers.CharField()
    sent_at = serializers.DateTimeField()


class VitalsSetSerializer(serializers.Serializer):  # type: ignore[type-arg]
    id = serializers.IntegerField()
    client_id = serializers.CharField()
    taken_at = serializers.DateTimeField()
    values = serializers.DictField(help_text="Recorded vitals, keys of docs/clinical.md")
    ecg_stemi = serializers.BooleanField(allow_null=True)
    news2_total = serializers.IntegerField(allow_null=True)
    news2_risk = serializers.CharField(allow_null=True)
    news2_missing = serializers.ListField(child=serializers.CharField())
    news2_change = serializers.DictField()
    gcs_total = serializers.IntegerField(allow_null=True)
    shock_index = serializers.FloatField(allow_null=True)
    qsofa_score = serializers.IntegerField(allow_null=True)
    flags = serializers.ListField(child=serializers.DictField())
    trend = serializers.DictField(help_text="Change of each vital since the previous set")


class UnitRefSerializer(serializers.Serializer):  # type: ignore[type-arg]
    id = serializers.IntegerField()
    call_sign = serializers.CharField()


class TreatmentSerializer(serializers.Serializer):  # type: ignore[type-arg]
    at = serializers.DateTimeField()
    kind = serializers.CharField()
    text = serializers.CharField()


class BoardRowSerializer(serializers.Serializer):  # type: ignore[type-arg]
    """The ED board row (no patient names): also the `handoff.encounter.updated` payload."""

    encounter_id = serializers.UUIDField()
    temp_identifier = serializers.CharField()
    status = serializers.CharField()
    unit = UnitRefSerializer()
    assignment_id = serializers.IntegerField()
    assignment_status = serializers.CharField()
    destination_id = serializers.IntegerField(allow_null=True)
    destination_reason = serializers.CharField(allow_null=True)
    eta_at = serializers.DateTimeField(allow_null=True)
    eta_approximate = serializers.BooleanField()
    eta_counts_down = serializers.BooleanField(
        help_text="The patient is on the road: count down to eta_at (never on scene)"
    )
    eta_drive_seconds = serializers.IntegerField(
        allow_null=True, help_text="Drive time from the unit's newest fix (on scene: from leaving)"
    )
    eta_computed_at = serializers.DateTimeField(allow_null=True)
    acuity = serializers.CharField(allow_null=True, help_text="NEWS2 risk of the latest set")
    news2_total = serializers.IntegerField(allow_null=True)
    age_years = serializers.IntegerField(allow_null=True)
    age_text = serializers.CharField()
    sex = serializers.CharField()
    chief_complaint = serializers.CharField()
    working_impression = serializers.CharField()
    time_of_onset = serializers.DateTimeField(allow_null=True)
    last_known_well = serializers.DateTimeField(allow_null=True)
    allergies = serializers.ListField(child=serializers.CharField())
    anticoagulated = serializers.BooleanField()
    latest_vitals = VitalsSetSerializer(allow_null=True)
    latest_values = serializers.DictField(
        help_text="Per vital, its newest {value, at} (blood pressure adds diastolic; "
        "glucose and EtCO2 their unit)"
    )
    trend = serializers.DictField(help_text="Per vital, [[taken_at, value], ...] for the sparkline")
    treatment = TreatmentSerializer(many=True)
    activations = ActivationSerializer(many=True)
    acknowledged_at = serializers.DateTimeField(allow_null=True)
    bay = serializers.CharField(allow_null=True)
    arrived_at = serializers.DateTimeField(allow_null=True, help_text="eTimes.11")
    crew_confirmed_at = serializers.DateTimeField(allow_null=True)
    ed_confirmed_at = serializers.DateTimeField(allow_null=True)
    transfer_of_care_at = serializers.DateTimeField(allow_null=True, help_text="eTimes.12")
    offload_seconds = serializers.IntegerField(allow_null=True)
    admission_status = serializers.CharField(allow_null=True)
    reconciled = serializers.BooleanField()
    closed_at = serializers.DateTimeField(allow_null=True)
    closed_reason = serializers.CharField(
        allow_null=True, help_text="Why the ED closed the card without a confirmed handover"
    )
    updated_at = serializers.DateTimeField()


class EncounterDetailSerializer(BoardRowSerializer):
    id = serializers.IntegerField()
    family_name = serializers.CharField(allow_null=True)
    given_name = serializers.CharField(allow_null=True)
    birth_date = serializers.DateField(allow_null=True)
    estimated_age_years = serializers.IntegerField(allow_null=True)
    mechanism = serializers.CharField()
    injuries = serializers.CharField()
    working_impression_code = serializers.CharField()
    medications = MedicationEntrySerializer(many=True)
    history = serializers.ListField(child=serializers.CharField())
    findings = serializers.DictField()
    destination_ed_status = serializers.CharField(allow_null=True)
    destination_warnings = serializers.ListField(
        child=serializers.CharField(),
        help_text="What the chosen destination lacks for this patient (its team is not raised)",
    )
    vitals = VitalsSetSerializer(many=True)
    messages = MessageSerializer(many=True)
    mrn = serializers.CharField(allow_null=True)
    reconciled_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()


class HospitalSerializer(serializers.Serializer):  # type: ignore[type-arg]
    id = serializers.IntegerField()
    name = serializers.CharField()
    lat = serializers.FloatField()
    lon = serializers.FloatField()
    capabilities = serializers.ListField(child=serializers.CharField())
    ed_status = serializers.CharField()
    diversion_reason = serializers.CharField()


class DestinationSerializer(serializers.Serializer):  # type: ignore[type-arg]
    hospital = HospitalSerializer()
    drive_time_s = serializers.FloatField(allow_null=True)
    distance_m = serializers.FloatField(allow_null=True)
    approximate = serializers.BooleanField(
        help_text="Part of the way is off the road graph: straight line at 30 km/h"
    )
    needs = serializers.ListField(child=serializers.CharField())
    meets_needs = serializers.BooleanField()
    needs_met = serializers.ListField(child=serializers.CharField())
    needs_missing = serializers.ListField(child=serializers.CharField())
    on_diversion = serializers.BooleanField()
    diversion_reason = serializers.CharField(allow_null=True)
    suitable = serializers.BooleanField(
        help_text="False: a specialist hospital that does not take this patient (age, sex)"
    )
    fit_note = serializers.CharField(
        allow_null=True, help_text="Why it is unsuitable, or what to check (age/sex unknown)"
    )


class BreakGlassSerializer(serializers.Serializer):  # type: ignore[type-arg]
    reason = serializers.CharField(max_length=1000, trim_whitespace=False, allow_blank=True)


class BreakGlassLookupSerializer(BreakGlassSerializer):
    temp_identifier = serializers.CharField(
        max_length=40,
        allow_blank=True,
        help_text="The patient's temporary id, as the crew reads it out (GH-2026-ABC234)",
    )


class BreakGlassReadSerializer(serializers.Serializer):  # type: ignore[type-arg]
    """A record read under a break-glass grant, with the grant that allows it."""

    grant = serializers.IntegerField()
    expires_at = serializers.DateTimeField(help_text="The read ends then; ask again after")
    minutes = serializers.IntegerField(help_text="BREAK_GLASS_MINUTES")
    encounter = EncounterDetailSerializer()


# --- Outcome back to EMS -------------------------------------------------------------------


class OutcomeInputSerializer(serializers.Serializer):  # type: ignore[type-arg]
    """The ED's outcome of a patient; handoff.services.outcome checks each field's meaning."""

    diagnosis_text = serializers.CharField(max_length=200, required=False, allow_blank=True)
    diagnosis_icd10 = serializers.CharField(
        max_length=10, required=False, allow_blank=True, help_text="ICD-10 code, like I21.0"
    )
    ed_disposition = serializers.ChoiceField(
        choices=Disposition.choices, help_text="NEMSIS eOutcome.01 (NUBC code)"
    )
    hospital_disposition = serializers.ChoiceField(
        choices=HOSPITAL_DISPOSITIONS, required=False, allow_blank=True, help_text="eOutcome.02"
    )
    admitted_unit = serializers.CharField(max_length=80, required=False, allow_blank=True)
    transfer_facility = serializers.CharField(max_length=160, required=False, allow_blank=True)
    pathway = serializers.ChoiceField(
        choices=OutcomePathway.choices, required=False, allow_blank=True
    )
    balloon_at = serializers.CharField(
        required=False, allow_blank=True, allow_null=True, help_text="ISO 8601, STEMI pathway"
    )
    needle_at = serializers.CharField(
        required=False, allow_blank=True, allow_null=True, help_text="ISO 8601, stroke pathway"
    )


class OutcomeFieldsSerializer(serializers.Serializer):  # type: ignore[type-arg]
    diagnosis_text = serializers.CharField()
    diagnosis_icd10 = serializers.CharField()
    ed_disposition = serializers.CharField()
    ed_disposition_label = serializers.CharField()
    hospital_disposition = serializers.CharField()
    hospital_disposition_label = serializers.CharField()
    admitted_unit = serializers.CharField()
    transfer_facility = serializers.CharField()
    pathway = serializers.CharField()
    door_at = serializers.DateTimeField(allow_null=True)
    balloon_at = serializers.DateTimeField(allow_null=True)
    needle_at = serializers.DateTimeField(allow_null=True)
    door_to_treatment_minutes = serializers.FloatField(allow_null=True)
    recorded_via = serializers.CharField(help_text="ed, hl7 or fhir")
    recorded_at = serializers.DateTimeField()


class EncounterOutcomeSerializer(serializers.Serializer):  # type: ignore[type-arg]
    """One patient's outcome as the ED and the crew that brought it see it (no identity)."""

    encounter_id = serializers.UUIDField()
    temp_identifier = serializers.CharField()
    unit_call_sign = serializers.CharField()
    hospital = serializers.CharField(allow_null=True)
    arrived_at = serializers.DateTimeField(allow_null=True)
    closed_at = serializers.DateTimeField(allow_null=True)
    outcome = OutcomeFieldsSerializer(allow_null=True)
