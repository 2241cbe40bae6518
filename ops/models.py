"""Operational records of the system itself: when each periodic job last ran."""

from __future__ import annotations

from django.db import models


class Heartbeat(models.Model):
    """The last run of a periodic job, so /healthz can tell the scheduler is alive."""

    name = models.CharField(max_length=64, unique=True)
    last_run_at = models.DateTimeField()
    runner = models.CharField(max_length=200, blank=True)
    runs = models.PositiveBigIntegerField(default=0)

    class Meta:
        # The table it had in the config app (state moved in ops/migrations/0001).
        db_table = "config_heartbeat"

    def __str__(self) -> str:
        return f"{self.name} @ {self.last_run_at:%Y-%m-%d %H:%M:%S}"
