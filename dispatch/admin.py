from django.contrib import admin

from dispatch.models import DispatchCentre, Station, Unit


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
