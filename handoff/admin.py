from django.contrib import admin

from handoff.models import Hospital


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
