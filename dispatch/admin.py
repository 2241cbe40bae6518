from typing import Any

from django.contrib import admin

from audit.admin_base import AuditedReadOnlyAdmin, ReadOnlyInline
from dispatch.models import (
    Assignment,
    Call,
    DispatchCentre,
    Incident,
    IncidentTransfer,
    MutualAidAgreement,
    MutualAidRequest,
    QueuedCall,
    Station,
    Unit,
)


@admin.register(DispatchCentre)
class DispatchCentreAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("name", "code", "has_area")
    search_fields = ("name", "code")

    @admin.display(boolean=True, description="area")
    def has_area(self, obj: DispatchCentre) -> bool:
        return bool(obj.area)


@admin.register(MutualAidAgreement)
class MutualAidAgreementAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("centre_a", "centre_b", "active", "share_units", "rollover_seconds")
    list_filter = ("active",)


@admin.register(Station)
class StationAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("name", "code", "centre", "address", "lat", "lon")
    list_filter = ("centre",)
    search_fields = ("name", "code", "address")


@admin.register(Unit)
class UnitAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("call_sign", "unit_type", "status", "home_station", "centre", "last_fix_at")
    list_filter = ("centre", "unit_type", "status")
    search_fields = ("call_sign",)
    readonly_fields = ("last_lat", "last_lon", "last_fix_at")


class _IncidentRecordAdmin(AuditedReadOnlyAdmin):
    """Records kept in the incident's audit trail (callers' names and numbers, locations)."""

    audit_object_type = "incident"

    def audit_object_id(self, obj: Any) -> Any:
        return obj.incident_id


class CallInline(ReadOnlyInline):
    model = Call
    fields = ("received_at", "caller_name", "caller_phone", "notes", "taken_by")


class AssignmentInline(ReadOnlyInline):
    model = Assignment
    fields = ("unit", "status", "destination", "notified_at", "cleared_at", "cancelled_at")


@admin.register(Incident)
class IncidentAdmin(AuditedReadOnlyAdmin):
    audit_object_type = "incident"
    list_display = ("id", "determinant", "status", "centre", "created_at", "closed_at")
    list_filter = ("centre", "status", "determinant")
    list_select_related = ("centre",)
    # Ids only: searching by caller or address would read patient data for every row.
    search_fields = ("=id",)
    date_hierarchy = "created_at"
    inlines = (CallInline, AssignmentInline)

    def audit_object_id(self, obj: Any) -> Any:
        return obj.pk


@admin.register(Call)
class CallAdmin(_IncidentRecordAdmin):
    list_display = ("id", "incident", "received_at", "taken_by")
    list_select_related = ("incident", "taken_by")
    search_fields = ("=incident__id",)


@admin.register(Assignment)
class AssignmentAdmin(_IncidentRecordAdmin):
    list_display = ("id", "incident", "unit", "status", "destination", "notified_at")
    list_filter = ("status", "unit__centre")
    list_select_related = ("incident", "unit", "destination")
    search_fields = ("=incident__id", "unit__call_sign")


@admin.register(IncidentTransfer)
class IncidentTransferAdmin(_IncidentRecordAdmin):
    list_display = ("incident", "from_centre", "to_centre", "status", "proposed_at", "decided_at")
    list_filter = ("status", "from_centre", "to_centre")
    search_fields = ("=incident__id",)


@admin.register(MutualAidRequest)
class MutualAidRequestAdmin(_IncidentRecordAdmin):
    list_display = ("incident", "unit", "requesting_centre", "lending_centre", "status")
    list_filter = ("status", "lending_centre")
    search_fields = ("=incident__id",)


@admin.register(QueuedCall)
class QueuedCallAdmin(AuditedReadOnlyAdmin):
    audit_object_type = "queued_call"
    list_display = ("id", "centre", "status", "received_at", "offered_to", "answered_at")
    list_filter = ("status", "centre")
    search_fields = ("=id",)

    def audit_object_id(self, obj: Any) -> Any:
        return obj.pk
