from django.contrib import admin

from config.models import Heartbeat


@admin.register(Heartbeat)
class HeartbeatAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("name", "last_run_at", "runner", "runs")
    readonly_fields = ("name", "last_run_at", "runner", "runs")
