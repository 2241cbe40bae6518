"""Handoff reference data: receiving hospitals and their emergency departments."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models

from config.fields import ChoiceListField, coordinate_constraint, latitude_field, longitude_field
from handoff.interop.delivery import fhir_endpoint_problem, mllp_endpoint_problem


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


_HD_NAMESPACE = RegexValidator(
    r"^[A-Za-z0-9_.-]*$",
    "Use letters, digits, '_', '.' or '-' only: HL7 delimiters cannot go into MSH-5/MSH-6.",
)


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
    # MSH-5 / MSH-6 (HD namespace id, at most 20 characters in v2.5): the interface engine
    # routes on them, so they are the hospital's names for itself, not ours.
    hl7_receiving_application = models.CharField(
        max_length=20,
        blank=True,
        validators=[_HD_NAMESPACE],
        help_text="MSH-5 receiving application, as the hospital's interface engine names it "
        "(required for HL7 delivery)",
    )
    hl7_receiving_facility = models.CharField(
        max_length=20,
        blank=True,
        validators=[_HD_NAMESPACE],
        help_text="MSH-6 receiving facility; blank: the hospital code",
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

    @property
    def ed_open(self) -> bool:
        """The ED takes new patients (it is not on diversion)."""
        return self.ed_status == EDStatus.OPEN

    def clean(self) -> None:
        errors = delivery_endpoint_errors(self.fhir_endpoint, self.hl7_host, self.hl7_port)
        if self.hl7_host and not self.hl7_receiving_application:
            errors["hl7_receiving_application"] = (
                "An HL7 receiver needs its MSH-5 application name; ask the hospital's "
                "interface team."
            )
        if errors:
            raise ValidationError(errors)


DELIVERY_FIELDS = ("fhir_endpoint", "hl7_host", "hl7_port")


def delivery_endpoint_errors(
    fhir_endpoint: str, hl7_host: str, hl7_port: int | None
) -> dict[str, str]:
    """Field errors of a hospital's delivery endpoints against the settings' allow-lists."""
    errors: dict[str, str] = {}
    if fhir_endpoint:
        problem = fhir_endpoint_problem(fhir_endpoint)
        if problem is not None:
            errors["fhir_endpoint"] = f"The FHIR endpoint {problem}."
    if hl7_host or hl7_port is not None:
        if not hl7_host:
            errors["hl7_host"] = "An HL7 port needs a host."
        elif hl7_port is None:
            errors["hl7_port"] = "An HL7 host needs a port."
        else:
            problem = mllp_endpoint_problem(hl7_host, hl7_port)
            if problem is not None:
                errors["hl7_host"] = f"The HL7 receiver {problem}."
    return errors


class EndpointChangeStatus(models.TextChoices):
    PENDING = "pending", "Waiting for approval"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"


class EndpointChange(models.Model):
    """A requested change of a hospital's delivery endpoints (FHIR, HL7 MLLP).

    Two-person rule: the hospital's live endpoints change only when an administrator other
    than the requester approves (handoff.endpoints), because whoever sets the endpoint
    receives every later patient record sent to that hospital.
    """

    hospital = models.ForeignKey(
        Hospital, on_delete=models.PROTECT, related_name="endpoint_changes"
    )
    status = models.CharField(
        max_length=8, choices=EndpointChangeStatus.choices, default=EndpointChangeStatus.PENDING
    )
    # The live values when requested: approval refuses a request made against other values.
    old_fhir_endpoint = models.CharField(max_length=300, blank=True)
    old_hl7_host = models.CharField(max_length=253, blank=True)
    old_hl7_port = models.PositiveIntegerField(null=True, blank=True)
    fhir_endpoint = models.CharField(max_length=300, blank=True)
    hl7_host = models.CharField(max_length=253, blank=True)
    hl7_port = models.PositiveIntegerField(null=True, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField()
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-requested_at"]
        permissions = [
            ("decide_endpointchange", "Can approve or reject a delivery endpoint change")
        ]
        constraints = [
            # One open request per hospital: a second would be approved against stale values.
            models.UniqueConstraint(
                fields=["hospital"],
                condition=models.Q(status=EndpointChangeStatus.PENDING),
                name="endpointchange_one_pending_per_hospital",
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=EndpointChangeStatus.values),
                name="endpointchange_status_valid",
            ),
            # Decided by someone, with a time, exactly when no longer pending.
            models.CheckConstraint(
                condition=(
                    models.Q(status=EndpointChangeStatus.PENDING)
                    & models.Q(decided_by__isnull=True, decided_at__isnull=True)
                )
                | (
                    ~models.Q(status=EndpointChangeStatus.PENDING)
                    & models.Q(decided_by__isnull=False, decided_at__isnull=False)
                ),
                name="endpointchange_decided_when_not_pending",
            ),
            # The two-person rule; the requester may still withdraw (reject) their own.
            models.CheckConstraint(
                condition=~models.Q(status=EndpointChangeStatus.APPROVED)
                | ~models.Q(decided_by=models.F("requested_by")),
                name="endpointchange_approved_by_another",
            ),
            models.CheckConstraint(
                condition=(models.Q(hl7_host="") & models.Q(hl7_port__isnull=True))
                | (
                    ~models.Q(hl7_host="")
                    & models.Q(hl7_port__isnull=False, hl7_port__gte=1, hl7_port__lte=65535)
                ),
                name="endpointchange_hl7_host_and_port_together",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.hospital} endpoint change #{self.pk} ({self.status})"

    def changed_fields(self) -> list[str]:
        return [
            name for name in DELIVERY_FIELDS if getattr(self, name) != getattr(self, f"old_{name}")
        ]


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


class BreakGlassGrant(models.Model):
    """An ED clinician's time-limited read of a patient outside their normal scope.

    Made only by handoff.services.break_glass.break_glass_open, with the clinician's reason
    (free text: kept here, never in the audit chain); administrators mark it reviewed.
    """

    encounter = models.ForeignKey(
        Encounter, on_delete=models.PROTECT, related_name="break_glass_grants"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="break_glass_grants"
    )
    reason = models.TextField()
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    reviewed_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        indexes = [models.Index(fields=["user", "encounter", "expires_at"])]

    def __str__(self) -> str:
        return f"break-glass {self.pk} ({self.user_id})"


# --- Outcome back to EMS (issue 19): what the hospital found and did ---------------------


class Disposition(models.TextChoices):
    """ED disposition (NEMSIS 3.5 eOutcome.01) and hospital disposition (eOutcome.02).

    NEMSIS codes both with the NUBC UB-04 patient discharge status (FL 17), which is also
    what hospitals send in HL7 v2 PV1-36 (table 0112); the values here are those codes
    exactly, so export, A03 and FHIR map one to one (docs/interop.md, "Outcome back to EMS").
    """

    HOME = "01", "Discharged to home or self care (routine discharge)"
    SHORT_TERM_HOSPITAL = "02", "Discharged/transferred to a short-term general hospital"
    SKILLED_NURSING = "03", "Discharged/transferred to a skilled nursing facility (SNF)"
    INTERMEDIATE_CARE = "04", "Discharged/transferred to an intermediate care facility (ICF)"
    CANCER_OR_CHILDRENS = "05", "Discharged/transferred to a cancer center or children's hospital"
    HOME_HEALTH = "06", "Discharged/transferred to home under care of a home health service"
    AGAINST_ADVICE = "07", "Left against medical advice or discontinued care"
    ADMITTED = "09", "Admitted as an inpatient to this hospital"
    EXPIRED = "20", "Expired (died)"
    LAW_ENFORCEMENT = "21", "Discharged/transferred to court/law enforcement"
    STILL_PATIENT = "30", "Still a patient or expected to return for outpatient services"
    FEDERAL = "43", "Discharged/transferred to a federal health care facility"
    HOSPICE_HOME = "50", "Discharged/transferred to hospice (home)"
    HOSPICE_FACILITY = "51", "Discharged/transferred to hospice (medical facility)"
    SWING_BED = "61", "Discharged/transferred to a hospital-based swing bed"
    REHABILITATION = "62", "Discharged/transferred to an inpatient rehabilitation facility"
    LONG_TERM_CARE = "63", "Discharged/transferred to a long term care hospital (LTCH)"
    NURSING_MEDICAID = "64", "Discharged/transferred to a Medicaid-certified nursing facility"
    PSYCHIATRIC = "65", "Discharged/transferred to a psychiatric hospital or unit"
    CRITICAL_ACCESS = "66", "Discharged/transferred to a critical access hospital (CAH)"
    OTHER_INSTITUTION = "70", "Discharged/transferred to another type of health care institution"


# eOutcome.02 (hospital disposition) has every ED code but 09: "admitted as an inpatient to
# this hospital" is where the ED sent the patient, not where the hospital stay ended.
HOSPITAL_DISPOSITIONS = tuple((v, label) for v, label in Disposition.choices if v != "09")


# The dispositions that send the patient to another facility, which must then be named.
TRANSFER_DISPOSITIONS = frozenset(
    {"02", "03", "04", "05", "43", "50", "51", "62", "63", "64", "65", "66", "70"}
)


class OutcomePathway(models.TextChoices):
    """The time-critical pathway the outcome's treatment time belongs to."""

    NONE = "", "None"
    STEMI = "stemi", "STEMI: door-to-balloon"
    STROKE = "stroke", "Stroke: door-to-needle"


class OutcomeSource(models.TextChoices):
    ED = "ed", "Recorded on the ED board"
    HL7 = "hl7", "HL7 v2 ADT^A03 from the hospital"
    FHIR = "fhir", "FHIR Encounter update from the hospital"


class HospitalOutcome(models.Model):
    """The receiving hospital's outcome of one encounter: diagnosis, disposition and, for the
    STEMI and stroke pathways, the treatment time (door time is Encounter.arrived_at).

    Written only by handoff.services.outcome; the crew that brought the patient reads these
    fields (and only these) for CREW_OUTCOME_FEEDBACK_DAYS (handoff.access, "outcome
    feedback"). Field names say which NEMSIS eOutcome element they export to.
    """

    encounter = models.OneToOneField(Encounter, on_delete=models.CASCADE, related_name="outcome")
    hospital = models.ForeignKey(Hospital, on_delete=models.PROTECT, related_name="outcomes")
    diagnosis_text = models.CharField(max_length=200, blank=True, help_text="ED diagnosis")
    diagnosis_icd10 = models.CharField(
        max_length=8, blank=True, help_text="ED diagnosis, ICD-10(-CM) code (eOutcome.10)"
    )
    ed_disposition = models.CharField(
        max_length=2, choices=Disposition.choices, help_text="eOutcome.01 (NUBC code)"
    )
    hospital_disposition = models.CharField(
        max_length=2, choices=Disposition.choices, blank=True, help_text="eOutcome.02"
    )
    admitted_unit = models.CharField(
        max_length=80, blank=True, help_text="Ward or unit when admitted (09)"
    )
    transfer_facility = models.CharField(
        max_length=160, blank=True, help_text="Facility the patient was transferred to"
    )
    pathway = models.CharField(max_length=8, choices=OutcomePathway.choices, blank=True, default="")
    balloon_at = models.DateTimeField(null=True, blank=True, help_text="PCI device time")
    needle_at = models.DateTimeField(null=True, blank=True, help_text="Thrombolysis bolus time")
    source = models.CharField(max_length=8, choices=OutcomeSource.choices)
    recorded_at = models.DateTimeField()
    recorded_by = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    updated_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ed_disposition__in=Disposition.values),
                name="outcome_ed_disposition_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(hospital_disposition="")
                | models.Q(hospital_disposition__in=Disposition.values),
                name="outcome_hospital_disposition_valid",
            ),
            # One treatment time, and only the one its pathway names.
            models.CheckConstraint(
                condition=models.Q(pathway="", balloon_at__isnull=True, needle_at__isnull=True)
                | models.Q(pathway="stemi", needle_at__isnull=True)
                | models.Q(pathway="stroke", balloon_at__isnull=True),
                name="outcome_treatment_time_matches_pathway",
            ),
        ]

    def __str__(self) -> str:
        return f"outcome of {self.encounter_id}"


class HospitalInboundToken(models.Model):
    """A hospital system's credential for sending outcomes in (HL7 A03, FHIR Encounter).

    Only the SHA-256 of the token is kept; the token is shown once, by
    `manage.py hospital_inbound_token` (docs/interop.md, "Outcome back to EMS").
    """

    hospital = models.ForeignKey(Hospital, on_delete=models.CASCADE, related_name="inbound_tokens")
    key_hash = models.CharField(max_length=64, unique=True)
    label = models.CharField(max_length=80, blank=True)
    created_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"inbound token {self.pk} of {self.hospital_id}"


class InboundStatus(models.TextChoices):
    ACCEPTED = "accepted", "Accepted"
    REJECTED = "rejected", "Rejected"


class InboundMessage(models.Model):
    """Every message a hospital sent in, kept as received; a rejected one changed nothing and
    stays here for inspection with the field at fault (read-only, audited in the admin)."""

    hospital = models.ForeignKey(Hospital, on_delete=models.PROTECT, related_name="inbound")
    kind = models.CharField(max_length=8, choices=OutcomeSource.choices)
    status = models.CharField(max_length=8, choices=InboundStatus.choices)
    encounter = models.ForeignKey(
        Encounter, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    control_id = models.CharField(max_length=64, blank=True)
    error_field = models.CharField(max_length=64, blank=True)
    error = models.CharField(max_length=300, blank=True)
    body = models.TextField()
    received_at = models.DateTimeField()

    class Meta:
        ordering = ["-received_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.kind} {self.status} #{self.pk}"
