"""The audit trail: an append-only, hash-chained record of every read and write of patient
data (docs/security.md, "Audit trail").

Rows are only ever inserted by audit.services.audit_record; database triggers
(audit.triggers) refuse UPDATE and DELETE on AuditEvent, so even a bug or a stray ORM call
cannot rewrite history without first dropping a trigger.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

GENESIS_HASH = "0" * 64


class Channel(models.TextChoices):
    HTTP = "http"
    WS = "ws"
    DEVICE = "device"
    SYSTEM = "system"


class AuditEvent(models.Model):
    """Who did what to which patient-data object, when, from where, in which request.

    `hash` = SHA-256(prev_hash || canonical row), the canonical row being every other field
    (audit.chain.canonical_row). `seq` counts from 1 without gaps, so a deleted row shows as a
    gap even where the hashes of the rows around it were recomputed.
    """

    seq = models.BigIntegerField(unique=True)
    at = models.DateTimeField(help_text="UTC")
    # PROTECT: a user who appears in the trail cannot be deleted; deactivate them instead.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    # Copies taken at the time: a later rename or role change must not rewrite the past.
    actor_username = models.CharField(max_length=150, blank=True)
    role = models.CharField(max_length=16, blank=True)
    action = models.CharField(max_length=40)
    object_type = models.CharField(max_length=40)
    object_id = models.CharField(max_length=64)
    client_address = models.CharField(max_length=64, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    channel = models.CharField(max_length=8, choices=Channel.choices)
    detail = models.JSONField(default=dict, help_text="Ids and field names only, never values")
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        indexes = [
            models.Index(fields=["object_type", "object_id"], name="auditevent_object_idx"),
            models.Index(fields=["actor", "at"], name="auditevent_actor_idx"),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.actor_username or '-'} {self.action} {self.object_type}"


class AuditHead(models.Model):
    """The chain's head (one row, pk 1): locked by every append so that two writers never
    chain onto the same previous hash. It is not evidence: audit_verify checks the events and
    only compares the head with them, to notice rows deleted from the end of the log.
    """

    last_seq = models.BigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, default=GENESIS_HASH)
    updated_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"head #{self.last_seq}"
