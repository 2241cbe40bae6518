"""Operational records of the system itself (not patient or dispatch data)."""

from __future__ import annotations

from typing import Any

from django.db import models


class Heartbeat(models.Model):
    """The last run of a periodic job, so /healthz can tell the scheduler is alive."""

    name = models.CharField(max_length=64, unique=True)
    last_run_at = models.DateTimeField()
    runner = models.CharField(max_length=200, blank=True)
    runs = models.PositiveBigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.name} @ {self.last_run_at:%Y-%m-%d %H:%M:%S}"


class StreamSequence(models.Model):
    """The last sequence number handed out on one event stream (locked to take the next)."""

    stream = models.CharField(max_length=100, unique=True)
    last_seq = models.PositiveBigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.stream}#{self.last_seq}"


class EventLog(models.Model):
    """Every event a screen shows, recorded in the transaction of the change it describes.

    The channel layer may drop messages; this table does not, so a screen that missed events
    asks for them by sequence (docs/events.md).
    """

    stream = models.CharField(max_length=100)
    seq = models.PositiveBigIntegerField()
    type = models.CharField(max_length=64)
    v = models.PositiveSmallIntegerField(default=1)
    data = models.JSONField()
    ts = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["stream", "seq"], name="eventlog_stream_seq_unique")
        ]
        indexes = [models.Index(fields=["stream", "seq"], name="eventlog_stream_seq_idx")]

    def __str__(self) -> str:
        return f"{self.stream}#{self.seq} {self.type}"

    def envelope(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "v": self.v,
            "stream": self.stream,
            "seq": self.seq,
            "ts": self.ts.isoformat(),
            "data": self.data,
        }
