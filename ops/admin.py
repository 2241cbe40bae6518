"""The scheduler heartbeat in the admin (read-only: only the periodic job writes it)."""

from __future__ import annotations

from django.contrib import admin

from ops.models import Heartbeat


@admin.register(Heartbeat)
class HeartbeatAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("name", "last_run_at", "runner", "runs")
    readonly_fields = ("name", "last_run_at", "runner", "runs")
