"""The outbox: must-happen work, one row per task (docs/events.md, "The outbox")."""

from __future__ import annotations

from django.db import models


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
        # The table it had in the config app (state moved in outbox/migrations/0001).
        db_table = "config_outboxtask"
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="outboxtask_due_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.kind}:{self.key} ({self.status})"
