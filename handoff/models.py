"""Handoff reference data: receiving hospitals and their emergency departments."""

from __future__ import annotations

import uuid

from django.db import models

from config.fields import ChoiceListField, coordinate_constraint, latitude_field, longitude_field


class HospitalCapability(models.TextChoices):
    """NEMSIS eDisposition.23 hospital capabilities (abridged; ../shared/REFERENCE.md)."""

    GENERAL = "general", "General hospital"
    STROKE_ACUTE_READY = "stroke_acute_ready", "Stroke centre: acute-stroke-ready"
    STROKE_PRIMARY = "stroke_primary", "Stroke centre: primary"
    STROKE_THROMBECTOMY = "stroke_thrombectomy", "Stroke centre: thrombectomy-capable"
    STROKE_COMPREHENSIVE = "stroke_comprehensive", "Stroke centre: comprehensive"
    STEMI_PCI = "stemi_pci", "STEMI: PCI-capable"
    STEMI_PCI_24_7 = "stemi_pci_24_7", "STEMI: PCI-capable 24/7"
    STEMI_NON_PCI = "stemi_non_pci", "STEMI: non-PCI"
    TRAUMA_1 = "trauma_1", "Trauma centre level 1"
    TRAUMA_2 = "trauma_2", "Trauma centre level 2"
    TRAUMA_3 = "trauma_3", "Trauma centre level 3"
    TRAUMA_4 = "trauma_4", "Trauma centre level 4"
    TRAUMA_5 = "trauma_5", "Trauma centre level 5"
    BURN = "burn", "Burn centre"
    PEDIATRIC = "pediatric", "Pediatric centre"
    NEONATAL = "neonatal", "Neonatal centre"
    OBSTETRICS = "obstetrics", "Obstetrics"
    BEHAVIOURAL_HEALTH = "behavioural_health", "Behavioural health"


class EDStatus(models.TextChoices):
    OPEN = "open", "Open"
    DIVERSION = "diversion", "On diversion"


class Hospital(models.Model):
    """A receiving hospital; its emergency department takes handoffs."""

    name = models.CharField(max_length=160, unique=True)
    code = models.SlugField(max_length=32, unique=True)
    address = models.CharField(max_length=200, blank=True)
    # The ambulance entrance of the ED, which is where drive times end.
    lat = latitude_field()
    lon = longitude_field()
    capabilities = ChoiceListField(item_choices=HospitalCapability)
    ed_status = models.CharField(max_length=16, choices=EDStatus.choices, default=EDStatus.OPEN)
    diversion_reason = models.CharField(max_length=200, blank=True)
    ed_status_changed_at = models.DateTimeField(null=True, blank=True)
    # Where the handoff is delivered (handoff/delivery_jobs.py); blank: nothing is sent.
    fhir_endpoint = models.URLField(
        max_length=300, blank=True, help_text="FHIR R4 endpoint the encounter Bundle is POSTed to"
    )
    hl7_host = models.CharField(
        max_length=253, blank=True, help_text="HL7 v2 MLLP receiver host (ADT A05/A04/A08)"
    )
    hl7_port = models.PositiveIntegerField(
        null=True, blank=True, help_text="HL7 v2 MLLP receiver port"
    )

    class Meta:
        ordering = ["name"]
        constraints = [
            coordinate_constraint("hospital"),
            # An MLLP receiver is a host and a port: one without the other cannot be used.
            models.CheckConstraint(
                condition=(models.Q(hl7_host="") & models.Q(hl7_port__isnull=True))
                | (
                    ~models.Q(hl7_host="")
                    & models.Q(hl7_port__isnull=False, hl7_port__gte=1, hl7_port__lte=65535)
                ),
                name="hospital_hl7_host_and_port_together",
            ),
            models.CheckConstraint(
                condition=models.Q(ed_status__in=EDStatus.values), name="hospital_ed_status_valid"
            ),
            # Crews choosing a destination need to know why an ED is closed to them.
            models.CheckConstraint(
                condition=~models.Q(ed_status=EDStatus.DIVERSION) | ~models.Q(diversion_reason=""),
                name="hospital_diversion_has_reason",
            ),
        ]

    def __str__(self) -> str:
        return self.name


# --- Encounters: the pre-hospital record that streams to the receiving ED ------------------


class EncounterStatus(models.TextChoices):
    OPEN = "open", "Open"
    CLOSED = "closed", "Closed"


class Sex(models.TextChoices):
    MALE = "male", "Male"
    FEMALE = "female", "Female"
    OTHER = "other", "Other"
    UNKNOWN = "unknown", "Unknown"


class DestinationReason(models.TextChoices):
    """NEMSIS eDisposition.20: reason for choosing the destination."""

    CLOSEST = "closest", "Closest facility"
    DIVERSION = "diversion", "Diversion"
    FAMILY_CHOICE = "family_choice", "Family choice"
    INSURANCE = "insurance", "Insurance status / requirement"
    LAW_ENFORCEMENT = "law_enforcement", "Law enforcement choice"
    MEDICAL_DIRECTION = "medical_direction", "On-line / on-scene medical direction"
    OTHER = "other", "Other"
    PATIENT_CHOICE = "patient_choice", "Patient's choice"
    PHYSICIAN_CHOICE = "physician_choice", "Patient's physician's choice"
    PROTOCOL = "protocol", "Protocol"
    REGIONAL_SPECIALTY = "regional_specialty", "Regional specialty center"


class Encounter(models.Model):
    """One patient of one assignment, from first contact to transfer of care at the ED.

    Identity may stay unknown for the whole handoff; `temp_identifier` is what the ED
    pre-registers the patient under until `mrn` reconciles it with the hospital record.
    """

    assignment = models.ForeignKey(
        "dispatch.Assignment", on_delete=models.PROTECT, related_name="encounters"
    )
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    status = models.CharField(
        max_length=8, choices=EncounterStatus.choices, default=EncounterStatus.OPEN
    )
    temp_identifier = models.CharField(max_length=20, unique=True)
    # Patient: every item may be unknown (unconscious, no papers). NULL is "not known",
    # which HL7/FHIR exporters must tell apart from a name that is known to be empty.
    family_name = models.CharField(max_length=100, null=True, blank=True)  # noqa: DJ001
    given_name = models.CharField(max_length=100, null=True, blank=True)  # noqa: DJ001
    sex = models.CharField(max_length=8, choices=Sex.choices, default=Sex.UNKNOWN)
    birth_date = models.DateField(null=True, blank=True)
    estimated_age_years = models.PositiveSmallIntegerField(null=True, blank=True)
    # ATMIST. Signs and treatment are not stored here: they are the vitals sets and the
    # interventions/medications, so the handoff can never disagree with the record.
    age_text = models.CharField(max_length=40, blank=True, help_text="ATMIST Age as reported")
    time_of_onset = models.DateTimeField(null=True, blank=True)
    mechanism = models.TextField(blank=True, help_text="ATMIST Mechanism / medical complaint")
    injuries = models.TextField(blank=True, help_text="ATMIST Injuries / illness found")
    chief_complaint = models.CharField(max_length=200, blank=True)
    working_impression = models.CharField(max_length=200, blank=True)
    working_impression_code = models.CharField(max_length=16, blank=True)
    allergies = models.JSONField(default=list, blank=True)
    medications = models.JSONField(default=list, blank=True, help_text="[{name, anticoagulant}]")
    history = models.JSONField(default=list, blank=True)
    # Crew findings feeding the team-activation rules (handoff.clinical.ActivationContext).
    findings = models.JSONField(default=dict, blank=True)
    last_known_well = models.DateTimeField(null=True, blank=True, help_text="eSituation.18")
    destination = models.ForeignKey(
        Hospital, on_delete=models.PROTECT, null=True, blank=True, related_name="encounters"
    )
    destination_reason = models.CharField(
        max_length=24, choices=DestinationReason.choices, blank=True, help_text="eDisposition.20"
    )
    destination_ed_status = models.CharField(
        max_length=16, choices=EDStatus.choices, blank=True, help_text="ED status when chosen"
    )
    destination_set_at = models.DateTimeField(null=True, blank=True)
    eta_at = models.DateTimeField(null=True, blank=True, help_text="Expected arrival at the ED")
    eta_approximate = models.BooleanField(default=False)
    # The live ETA (handoff.eta): the drive time from the unit's newest fix and when it was
    # computed; on scene it is "ETA from leaving", not a countdown.
    eta_drive_seconds = models.PositiveIntegerField(null=True, blank=True)
    eta_computed_at = models.DateTimeField(null=True, blank=True)
    ed_acknowledged_at = models.DateTimeField(null=True, blank=True)
    ed_acknowledged_by = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    bay = models.CharField(max_length=32, blank=True)
    arrived_at = models.DateTimeField(null=True, blank=True, help_text="eTimes.11")
    transfer_of_care_at = models.DateTimeField(null=True, blank=True, help_text="eTimes.12")
    crew_confirmed_at = models.DateTimeField(null=True, blank=True)
    crew_confirmed_by = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    ed_confirmed_at = models.DateTimeField(null=True, blank=True)
    ed_confirmed_by = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    offload_seconds = models.PositiveIntegerField(
        null=True, blank=True, help_text="APOT: eTimes.12 - eTimes.11"
    )
    mrn = models.CharField(max_length=32, blank=True, help_text="Hospital medical record number")
    reconciled_at = models.DateTimeField(null=True, blank=True)
    reconciled_by = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    closed_at = models.DateTimeField(null=True, blank=True)
    # Set when the receiving ED closed a card that will never be confirmed (why, and who).
    closed_reason = models.CharField(max_length=200, blank=True)
    closed_by = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField()
    created_by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=EncounterStatus.values),
                name="encounter_status_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(sex__in=Sex.values), name="encounter_sex_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(estimated_age_years__isnull=True)
                | models.Q(estimated_age_years__lte=130),
                name="encounter_estimated_age_plausible",
            ),
            # Transfer of care is the moment both sides have confirmed; it cannot precede
            # arrival, or the offload time would be negative.
            models.CheckConstraint(
                condition=models.Q(transfer_of_care_at__isnull=True)
                | models.Q(
                    arrived_at__isnull=False, transfer_of_care_at__gte=models.F("arrived_at")
                ),
                name="encounter_transfer_after_arrival",
            ),
            models.CheckConstraint(
                condition=models.Q(status=EncounterStatus.OPEN, closed_at__isnull=True)
                | models.Q(status=EncounterStatus.CLOSED, closed_at__isnull=False),
                name="encounter_closed_at_matches_status",
            ),
        ]
        indexes = [models.Index(fields=["destination", "status"], name="encounter_destination_idx")]

    def __str__(self) -> str:
        return self.temp_identifier


class VitalsSet(models.Model):
    """One set of vital signs (NEMSIS eVitals) with the scores computed when it was stored."""

    encounter = models.ForeignKey(Encounter, on_delete=models.CASCADE, related_name="vitals")
    client_id = models.CharField(max_length=64, help_text="The device's id for this set")
    taken_at = models.DateTimeField()
    heart_rate = models.PositiveSmallIntegerField(null=True, blank=True, help_text="eVitals.10")
    respiratory_rate = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="eVitals.14"
    )
    systolic_bp = models.PositiveSmallIntegerField(null=True, blank=True, help_text="eVitals.06")
    diastolic_bp = models.PositiveSmallIntegerField(null=True, blank=True, help_text="eVitals.07")
    spo2 = models.PositiveSmallIntegerField(null=True, blank=True, help_text="eVitals.12")
    temperature = models.FloatField(null=True, blank=True, help_text="eVitals.24, Cel")
    gcs_eye = models.PositiveSmallIntegerField(null=True, blank=True, help_text="eVitals.19")
    gcs_verbal = models.PositiveSmallIntegerField(null=True, blank=True, help_text="eVitals.20")
    gcs_motor = models.PositiveSmallIntegerField(null=True, blank=True, help_text="eVitals.21")
    gcs_total_recorded = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="eVitals.23 as entered"
    )
    blood_glucose = models.FloatField(null=True, blank=True, help_text="eVitals.18")
    blood_glucose_unit = models.CharField(max_length=8, blank=True)
    pain_score = models.PositiveSmallIntegerField(null=True, blank=True, help_text="eVitals.27")
    etco2 = models.FloatField(null=True, blank=True, help_text="eVitals.16")
    etco2_unit = models.CharField(max_length=8, blank=True)
    avpu = models.CharField(max_length=1, blank=True, help_text="eVitals.26")
    cardiac_rhythm = models.CharField(max_length=64, blank=True, help_text="eVitals.03")
    stroke_scale_score = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="eVitals.34"
    )
    stroke_scale_type = models.CharField(max_length=8, blank=True, help_text="eVitals.30")
    on_oxygen = models.BooleanField(null=True, blank=True)
    new_confusion = models.BooleanField(null=True, blank=True)
    spo2_scale = models.PositiveSmallIntegerField(null=True, blank=True)
    ecg_stemi = models.BooleanField(null=True, blank=True, help_text="STEMI on 12-lead ECG")
    # Computed by handoff.clinical when stored; kept so the ED sees what the crew saw.
    news2_total = models.PositiveSmallIntegerField(null=True, blank=True)
    news2_risk = models.CharField(max_length=12, blank=True)
    news2_missing = models.JSONField(default=list, blank=True)
    news2_change = models.JSONField(default=dict, blank=True)
    gcs_total = models.PositiveSmallIntegerField(null=True, blank=True)
    shock_index = models.FloatField(null=True, blank=True)
    qsofa_score = models.PositiveSmallIntegerField(null=True, blank=True)
    flags = models.JSONField(default=list, blank=True)
    trend = models.JSONField(default=dict, blank=True, help_text="Change since the previous set")
    recorded_by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField()
    device_id = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["taken_at", "pk"]
        # The newest sets of an encounter, read on every vitals set (handoff.selectors).
        indexes = [models.Index(fields=["encounter", "taken_at"], name="vitalsset_enc_taken_idx")]
        constraints = [
            models.UniqueConstraint(
                fields=["encounter", "client_id"], name="vitalsset_encounter_client_id_unique"
            ),
            models.CheckConstraint(
                condition=models.Q(spo2_scale__isnull=True) | models.Q(spo2_scale__in=[1, 2]),
                name="vitalsset_spo2_scale_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"vitals {self.client_id} @ {self.taken_at:%H:%M}"


class Intervention(models.Model):
    """A procedure done by the crew (ATMIST Treatment)."""

    encounter = models.ForeignKey(Encounter, on_delete=models.CASCADE, related_name="interventions")
    client_id = models.CharField(max_length=64)
    performed_at = models.DateTimeField()
    text = models.CharField(max_length=200)
    code = models.CharField(max_length=16, blank=True)
    recorded_by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["performed_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["encounter", "client_id"], name="intervention_encounter_client_unique"
            )
        ]

    def __str__(self) -> str:
        return self.text


class MedicationGiven(models.Model):
    """A medication the crew gave (ATMIST Treatment; FHIR MedicationAdministration)."""

    encounter = models.ForeignKey(
        Encounter, on_delete=models.CASCADE, related_name="medications_given"
    )
    client_id = models.CharField(max_length=64)
    given_at = models.DateTimeField()
    name = models.CharField(max_length=120)
    dose = models.FloatField(null=True, blank=True)
    unit = models.CharField(max_length=16, blank=True)
    route = models.CharField(max_length=32, blank=True)
    recorded_by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["given_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["encounter", "client_id"], name="medicationgiven_encounter_client_unique"
            ),
            models.CheckConstraint(
                condition=models.Q(dose__isnull=True) | models.Q(dose__gte=0),
                name="medicationgiven_dose_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class ActivationKind(models.TextChoices):
    """Team activations (eDisposition.24) plus the project's NEWS2 deterioration alert."""

    CARDIAC_ARREST = "cardiac_arrest", "Cardiac arrest"
    STEMI = "stemi", "STEMI"
    STROKE = "stroke", "Stroke"
    TRAUMA = "trauma", "Trauma"
    SEPSIS = "sepsis", "Sepsis"
    OBSTETRICS = "obstetrics", "Obstetrics"
    DETERIORATION = "deterioration", "Deterioration (NEWS2)"


class TeamActivation(models.Model):
    """A proposed pre-arrival team activation that an ED clinician acknowledges."""

    encounter = models.ForeignKey(Encounter, on_delete=models.CASCADE, related_name="activations")
    kind = models.CharField(max_length=16, choices=ActivationKind.choices)
    reason = models.TextField()
    capability = models.CharField(max_length=64, blank=True)
    proposed_at = models.DateTimeField()
    # When the current destination ED was told; escalation counts from here.
    sent_at = models.DateTimeField(null=True, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    escalated_at = models.DateTimeField(null=True, blank=True)
    resent_count = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["proposed_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["encounter", "kind"], name="teamactivation_once_per_kind"
            ),
            models.CheckConstraint(
                condition=models.Q(kind__in=ActivationKind.values), name="teamactivation_kind_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} for {self.encounter_id}"


class MessageSender(models.TextChoices):
    CREW = "crew", "Crew"
    ED = "ed", "ED"


class EDMessage(models.Model):
    """A short message between the crew and the receiving ED about one encounter."""

    encounter = models.ForeignKey(Encounter, on_delete=models.CASCADE, related_name="messages")
    sender = models.CharField(max_length=4, choices=MessageSender.choices)
    author = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    text = models.CharField(max_length=1000)
    sent_at = models.DateTimeField()
    client_id = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["sent_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["encounter", "client_id"],
                condition=~models.Q(client_id=""),
                name="edmessage_encounter_client_unique",
            ),
            models.CheckConstraint(
                condition=models.Q(sender__in=MessageSender.values), name="edmessage_sender_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.sender} message on {self.encounter_id}"


class AdmissionStatus(models.TextChoices):
    PRE_REGISTERED = "pre_registered", "Pre-registered"
    ARRIVED = "arrived", "Arrived"
    HANDED_OVER = "handed_over", "Handed over"
    RECONCILED = "reconciled", "Reconciled with the hospital record"


class Admission(models.Model):
    """The pre-registration in the receiving hospital's queue (HL7 ADT^A05 when notified)."""

    encounter = models.OneToOneField(Encounter, on_delete=models.CASCADE, related_name="admission")
    hospital = models.ForeignKey(Hospital, on_delete=models.PROTECT, related_name="admissions")
    temp_identifier = models.CharField(max_length=20)
    status = models.CharField(
        max_length=16, choices=AdmissionStatus.choices, default=AdmissionStatus.PRE_REGISTERED
    )
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=AdmissionStatus.values),
                name="admission_status_valid",
            )
        ]

    def __str__(self) -> str:
        return f"{self.temp_identifier} at {self.hospital_id}"
