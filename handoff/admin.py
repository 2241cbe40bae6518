from typing import Any, ClassVar

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from audit.admin_base import AuditedReadOnlyAdmin, ReadOnlyInline
from handoff.endpoints import (
    DECIDE_PERMISSION,
    EndpointChangeError,
    endpoint_change_decide,
    endpoint_change_request,
)
from handoff.models import (
    DELIVERY_FIELDS,
    Admission,
    BreakGlassGrant,
    EDMessage,
    Encounter,
    EndpointChange,
    EndpointChangeStatus,
    Hospital,
    HospitalOutcome,
    InboundMessage,
    Intervention,
    MedicationGiven,
    TeamActivation,
    VitalsSet,
)


def _pending_change(hospital: Hospital) -> EndpointChange | None:
    return EndpointChange.objects.filter(
        hospital=hospital, status=EndpointChangeStatus.PENDING
    ).first()


class HospitalAdminForm(forms.ModelForm):  # type: ignore[type-arg]
    """The allow-lists are checked by Hospital.clean; this adds the one-request-at-a-time rule."""

    # A typed host without a scheme means https, the only scheme an endpoint may have.
    fhir_endpoint = forms.URLField(
        max_length=300,
        required=False,
        assume_scheme="https",
        help_text=Hospital._meta.get_field("fhir_endpoint").help_text,
    )

    class Meta:
        model = Hospital
        fields = "__all__"  # noqa: DJ007 - the admin's fieldsets choose what is shown

    def clean(self) -> dict[str, Any] | None:
        cleaned = super().clean()
        asked = any(name in self.changed_data for name in DELIVERY_FIELDS)
        if asked and self.instance.pk is not None:
            waiting = _pending_change(self.instance)
            if waiting is not None:
                self.add_error(
                    "fhir_endpoint",
                    f"Endpoint change #{waiting.pk} of this hospital is waiting for approval: "
                    "approve or reject it first.",
                )
        return cleaned


@admin.register(Hospital)
class HospitalAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Hospitals; a change of the delivery endpoints becomes an EndpointChange request that
    another administrator must approve (handoff.endpoints) before anything is sent there."""

    form = HospitalAdminForm
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
            {
                "fields": (
                    "fhir_endpoint",
                    ("hl7_host", "hl7_port"),
                    ("hl7_receiving_application", "hl7_receiving_facility"),
                    "endpoint_change_waiting",
                ),
                "description": "A change of the FHIR endpoint or the HL7 host and port takes "
                "effect only once another administrator approves it (Endpoint changes). Hosts "
                "must be in HANDOFF_FHIR_ALLOWED_HOSTS (https only) and HANDOFF_HL7_ALLOWED_HOSTS.",
            },
        ),
    )
    readonly_fields = ("endpoint_change_waiting",)

    @admin.display(description="Change waiting for approval")
    def endpoint_change_waiting(self, obj: Hospital | None) -> str:
        waiting = _pending_change(obj) if obj is not None and obj.pk else None
        if waiting is None:
            return "-"
        url = reverse("admin:handoff_endpointchange_change", args=[waiting.pk])
        return format_html('<a href="{}">Change #{}</a>', url, waiting.pk)

    def save_model(self, request: HttpRequest, obj: Hospital, form: Any, change: bool) -> None:
        requested = {name: getattr(obj, name) for name in DELIVERY_FIELDS}
        asked = any(name in form.changed_data for name in DELIVERY_FIELDS)
        if asked:
            # The live endpoints stay as they are; the form's values become a request.
            blank: dict[str, Any] = {"fhir_endpoint": "", "hl7_host": "", "hl7_port": None}
            live = Hospital.objects.filter(pk=obj.pk).values(*DELIVERY_FIELDS).first()
            for name in DELIVERY_FIELDS:
                setattr(obj, name, (live or blank)[name])
            fields = getattr(request, "_audit_changed_fields", [])
            request._audit_changed_fields = [  # type: ignore[attr-defined]
                name for name in fields if name not in DELIVERY_FIELDS
            ]
        super().save_model(request, obj, form, change)
        if not asked:
            return
        try:
            pending = endpoint_change_request(user=request.user, hospital_id=obj.pk, **requested)
        except EndpointChangeError as error:
            self.message_user(request, f"Endpoints not changed: {error.message}", messages.ERROR)
            return
        self.message_user(
            request,
            f"The new delivery endpoints wait for another administrator's approval (endpoint "
            f"change #{pending.pk}); until then deliveries go to the current ones.",
            messages.WARNING,
        )


@admin.register(EndpointChange)
class EndpointChangeAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Requests to change a hospital's delivery endpoints: approved or rejected here, by an
    administrator other than the requester; never edited or deleted (they are history)."""

    list_display = (
        "id",
        "hospital",
        "status",
        "fhir_endpoint",
        "hl7_host",
        "hl7_port",
        "requested_by",
        "requested_at",
        "decided_by",
        "decided_at",
    )
    list_filter = ("status",)
    list_select_related = ("hospital", "requested_by", "decided_by")
    readonly_fields = (
        "hospital",
        "status",
        "old_fhir_endpoint",
        "fhir_endpoint",
        "old_hl7_host",
        "hl7_host",
        "old_hl7_port",
        "hl7_port",
        "requested_by",
        "requested_at",
        "decided_by",
        "decided_at",
    )
    actions = ("approve_changes", "reject_changes")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_decide_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(DECIDE_PERMISSION)

    def _decide(
        self, request: HttpRequest, queryset: QuerySet[EndpointChange], approve: bool
    ) -> None:
        for change_id in queryset.order_by("pk").values_list("pk", flat=True):
            try:
                change = endpoint_change_decide(
                    user=request.user, change_id=change_id, approve=approve
                )
            except EndpointChangeError as error:
                self.message_user(request, error.message, messages.ERROR)
                continue
            request._audit_changed_fields = ["status", "decided_by", "decided_at"]  # type: ignore[attr-defined]
            self.log_change(request, change, [{"changed": {"fields": ["status"]}}])
            verb = "approved: deliveries now go there" if approve else "rejected"
            self.message_user(request, f"Endpoint change #{change.pk} {verb}.", messages.SUCCESS)

    @admin.action(description="Approve the selected endpoint changes", permissions=["decide"])
    def approve_changes(self, request: HttpRequest, queryset: QuerySet[EndpointChange]) -> None:
        self._decide(request, queryset, approve=True)

    @admin.action(description="Reject the selected endpoint changes", permissions=["decide"])
    def reject_changes(self, request: HttpRequest, queryset: QuerySet[EndpointChange]) -> None:
        self._decide(request, queryset, approve=False)


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


@admin.register(BreakGlassGrant)
class BreakGlassGrantAdmin(AuditedReadOnlyAdmin):
    """Break-glass reads to review (the reason may name the patient: an audited read)."""

    audit_object_type = "encounter"
    list_display = ("id", "user", "encounter", "created_at", "expires_at", "reviewed_by")
    list_filter = ("reviewed_at",)
    list_select_related: ClassVar[tuple[str, ...]] = ("user", "encounter", "reviewed_by")
    actions = ("mark_reviewed",)

    def audit_object_id(self, obj: Any) -> Any:
        return obj.encounter.public_id

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        # Only the review action: grants are history, never edited or deleted.
        return admin.ModelAdmin.get_actions(self, request)

    @admin.action(description="Mark the selected break-glass reads reviewed")
    def mark_reviewed(self, request: HttpRequest, queryset: QuerySet[BreakGlassGrant]) -> None:
        from handoff.services.break_glass import break_glass_review

        count = break_glass_review(
            grant_ids=list(queryset.values_list("pk", flat=True)), reviewed_by=request.user
        )
        self.message_user(request, f"{count} break-glass read(s) marked reviewed.")


@admin.register(HospitalOutcome)
class HospitalOutcomeAdmin(_EncounterRecordAdmin):
    list_display = ("encounter", "hospital", "ed_disposition", "pathway", "source", "updated_at")
    list_select_related: ClassVar[tuple[str, ...]] = ("encounter", "hospital")


@admin.register(InboundMessage)
class InboundMessageAdmin(AuditedReadOnlyAdmin):
    """What hospitals sent in (the body may name the patient: an audited read); a refused
    message is here with the element at fault, for the interface teams to fix."""

    audit_object_type = "inbound_message"
    list_display = ("id", "hospital", "kind", "status", "error_field", "received_at")
    list_filter = ("status", "kind", "hospital")
    list_select_related: ClassVar[tuple[str, ...]] = ("hospital",)

    def audit_object_id(self, obj: Any) -> Any:
        return obj.pk
