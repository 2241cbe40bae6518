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
        constraints = [
            models.UniqueConstraint(
                fields=["device_id", "client_id"], name="deviceitem_device_client_unique"
            )
        ]
        indexes = [models.Index(fields=["device_id", "seq"], name="deviceitem_device_seq_idx")]

    def __str__(self) -> str:
        return f"{self.device_id}/{self.client_id}"


class OutboxTask(models.Model):
    """Work that must happen once the transaction that asked for it commits (docs/events.md).

    The row commits with the caller's change; a Celery task runs it after commit, and a
    periodic sweep sends again what was lost (broker down, worker killed). `key` makes
    enqueueing idempotent; the claim and the done mark are conditional UPDATEs, so a task
    whose side effect is a database write happens exactly once.
    """

    class Status(models.TextChoices):
        PENDING = "pending"
        CLAIMED = "claimed"
        DONE = "done"
        FAILED = "failed"

    kind = models.CharField(max_length=64)
    key = models.CharField(max_length=200, unique=True, help_text="The idempotency key")
    payload = models.JSONField(default=dict)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    max_attempts = models.PositiveIntegerField(default=10)
    lease_seconds = models.PositiveIntegerField(default=60)
    next_attempt_at = models.DateTimeField(help_text="Not run before this time (back-off)")
    resend_after = models.DateTimeField(
        help_text="A pending row still unclaimed after this was lost on its way; send again"
    )
    claimed_at = models.DateTimeField(null=True, blank=True)
    claimed_by = models.CharField(max_length=64, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=200, blank=True)
    result = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField()
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="outboxtask_due_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.kind}:{self.key} ({self.status})"
