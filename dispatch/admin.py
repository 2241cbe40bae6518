from typing import Any

from django.contrib import admin

from config.admin import AuditedReadOnlyAdmin, ReadOnlyInline
from dispatch.models import Assignment, Call, DispatchCentre, Incident, Station, Unit


@admin.register(DispatchCentre)
class DispatchCentreAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("name", "code")
    search_fields = ("name", "code")


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
