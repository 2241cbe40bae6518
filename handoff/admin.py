from django.contrib import admin

from handoff.models import Hospital


@admin.register(Hospital)
class HospitalAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("name", "code", "ed_status", "diversion_reason", "address")
    list_filter = ("ed_status",)
    search_fields = ("name", "code", "address")
