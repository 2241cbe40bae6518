"""The event log (every event a screen shows, by stream and sequence) and the device items."""

from __future__ import annotations

from typing import Any

from django.db import models


class StreamSequence(models.Model):
    """The last sequence number handed out on one event stream (locked to take the next)."""

    stream = models.CharField(max_length=100, unique=True)
    last_seq = models.PositiveBigIntegerField(default=0)

    class Meta:
        # The table it had in the config app (state moved in realtime/migrations/0001).
        db_table = "config_streamsequence"

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
        # The table it had in the config app (state moved in realtime/migrations/0001).
        db_table = "config_eventlog"
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


class DeviceItem(models.Model):
    """One item a device sent, by the device's own id for it: stored once, answered the same.

    A tablet resends what it has not seen acknowledged; this row makes the resend harmless.
    """

    device_id = models.CharField(max_length=64)
    client_id = models.CharField(max_length=64)
    seq = models.PositiveBigIntegerField(help_text="The device's sequence number for the item")
    type = models.CharField(max_length=32)
    user = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    accepted = models.BooleanField()
    outcome = models.JSONField(help_text="The acknowledgement or rejection that was sent")
    received_at = models.DateTimeField()

    class Meta:
        # The table it had in the config app (state moved in realtime/migrations/0001).
        db_table = "config_deviceitem"
        constraints = [
            models.UniqueConstraint(
                fields=["device_id", "client_id"], name="deviceitem_device_client_unique"
            )
        ]
        indexes = [models.Index(fields=["device_id", "seq"], name="deviceitem_device_seq_idx")]

    def __str__(self) -> str:
        return f"{self.device_id}/{self.client_id}"
