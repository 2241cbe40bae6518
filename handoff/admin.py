from typing import Any, ClassVar

from django.contrib import admin

from config.admin import AuditedReadOnlyAdmin, ReadOnlyInline
from handoff.models import (
    Admission,
    EDMessage,
    Encounter,
    Hospital,
    Intervention,
    MedicationGiven,
    TeamActivation,
    VitalsSet,
)


@admin.register(Hospital)
class HospitalAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = (
        "name",
        "code",
        "ed_status",
        "diversion_reason",
        "address",
        "fhir_endpoint",
        "hl7_host",
        "hl7_port",
    )
    list_filter = ("ed_status",)
    search_fields = ("name", "code", "address")
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "name",
                    "code",
                    "address",
                    ("lat", "lon"),
                    "capabilities",
                    ("ed_status", "diversion_reason", "ed_status_changed_at"),
                )
            },
        ),
        (
            "Delivery (FHIR, HL7 v2 over MLLP)",
            {"fields": ("fhir_endpoint", ("hl7_host", "hl7_port"))},
        ),
    )


class _EncounterRecordAdmin(AuditedReadOnlyAdmin):
    """A part of a patient record, kept in its encounter's audit trail."""

    audit_object_type = "encounter"
    list_select_related: ClassVar[tuple[str, ...]] = ("encounter",)
    search_fields = ("=encounter__temp_identifier",)

    def audit_object_id(self, obj: Any) -> Any:
        return obj.encounter.public_id


class VitalsInline(ReadOnlyInline):
    model = VitalsSet
    fields = ("taken_at", "heart_rate", "respiratory_rate", "systolic_bp", "spo2", "news2_total")


class MedicationInline(ReadOnlyInline):
    model = MedicationGiven
    fields = ("given_at", "name", "dose", "unit", "route")


class InterventionInline(ReadOnlyInline):
    model = Intervention
    fields = ("performed_at", "text", "code")


@admin.register(Encounter)
class EncounterAdmin(AuditedReadOnlyAdmin):
    audit_object_type = "encounter"
    # The list names no patient: a temporary identifier, where and when.
    list_display = ("temp_identifier", "status", "destination", "created_at", "arrived_at")
    list_filter = ("status", "destination")
    list_select_related = ("destination",)
    search_fields = ("=temp_identifier", "=public_id")
    date_hierarchy = "created_at"
    inlines = (VitalsInline, MedicationInline, InterventionInline)

    def audit_object_id(self, obj: Any) -> Any:
        return obj.public_id


@admin.register(VitalsSet)
class VitalsSetAdmin(_EncounterRecordAdmin):
    list_display = ("id", "encounter", "taken_at", "news2_total", "news2_risk")


@admin.register(MedicationGiven)
class MedicationGivenAdmin(_EncounterRecordAdmin):
    list_display = ("id", "encounter", "given_at", "name")


@admin.register(Intervention)
class InterventionAdmin(_EncounterRecordAdmin):
    list_display = ("id", "encounter", "performed_at")


@admin.register(TeamActivation)
class TeamActivationAdmin(_EncounterRecordAdmin):
    list_display = ("id", "encounter", "kind", "proposed_at", "acknowledged_at")


@admin.register(EDMessage)
class EDMessageAdmin(_EncounterRecordAdmin):
    list_display = ("id", "encounter", "sender", "sent_at")


@admin.register(Admission)
class AdmissionAdmin(_EncounterRecordAdmin):
    list_display = ("temp_identifier", "hospital", "status", "created_at")
    list_select_related: ClassVar[tuple[str, ...]] = ("encounter", "hospital")
