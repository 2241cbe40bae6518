"""Peers (other Golden Hour deployments), their signing keys, and the messages exchanged.

docs/interop.md, "Between deployments". Messages are kept for inspection, the rejected ones
too; they hold ids, digests and reasons, never the body (it may carry patient data).
"""

from __future__ import annotations

import uuid

from django.db import models


class Peer(models.Model):
    """Another deployment this one exchanges messages with.

    `station` is where the peer's ambulances are listed on this side (its centre is the one
    whose console shows the incidents they bring); needed only to receive patient records.
    """

    name = models.SlugField(max_length=40, unique=True)
    base_url = models.URLField(max_length=300, help_text="The peer's https origin (and prefix)")
    station = models.ForeignKey(
        "dispatch.Station", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField()

    def __str__(self) -> str:
        return self.name


class PeerKey(models.Model):
    """A shared HMAC-SHA256 key with one peer. Two may be active during a rotation.

    The secret must be kept (the receiver computes the same HMAC), encrypted at rest with a
    key derived from SECRET_KEY (exchange.signing); it is shown once, when created.
    """

    peer = models.ForeignKey(Peer, on_delete=models.CASCADE, related_name="keys")
    key_id = models.CharField(max_length=40, unique=True)
    secret_encrypted = models.TextField()
    created_at = models.DateTimeField()
    retired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.peer.name}/{self.key_id}"


class InboundStatus(models.TextChoices):
    ACCEPTED = "accepted"
    REJECTED = "rejected"


class InboundMessage(models.Model):
    """One request to the inbound endpoint, accepted or rejected (kept for inspection)."""

    peer = models.ForeignKey(Peer, on_delete=models.PROTECT, null=True, blank=True)
    key_id = models.CharField(max_length=40, blank=True)
    message_id = models.CharField(max_length=64, blank=True)
    event = models.CharField(max_length=64, blank=True)
    body_sha256 = models.CharField(max_length=64)
    body_bytes = models.PositiveIntegerField()
    status = models.CharField(max_length=8, choices=InboundStatus.choices)
    http_status = models.PositiveSmallIntegerField()
    # A fixed code (exchange.messages.Rejection) and the element it names: never the content.
    reason = models.CharField(max_length=40, blank=True)
    element = models.CharField(max_length=120, blank=True)
    receipt = models.JSONField(help_text="What was answered (no patient data)")
    source_encounter = models.CharField(max_length=64, blank=True)
    source_incident = models.CharField(max_length=64, blank=True)
    encounter = models.ForeignKey(
        "handoff.Encounter", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    received_at = models.DateTimeField()

    class Meta:
        ordering = ["-received_at", "-pk"]
        constraints = [
            # Idempotency: one accepted message per id and peer; a repeat gets its receipt.
            models.UniqueConstraint(
                fields=["peer", "message_id"],
                condition=models.Q(status="accepted"),
                name="inbound_one_accepted_per_message",
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=InboundStatus.values),
                name="inbound_status_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.message_id or '-'} ({self.status})"


class OutboundStatus(models.TextChoices):
    PENDING = "pending"
    ACCEPTED = "accepted"
    REJECTED = "rejected"


class OutboundMessage(models.Model):
    """One message to a peer, sent through the outbox, and the receipt it got back."""

    peer = models.ForeignKey(Peer, on_delete=models.PROTECT, related_name="outbound")
    message_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    event = models.CharField(max_length=64)
    encounter = models.ForeignKey(
        "handoff.Encounter", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # Built once when enqueued, so every retry sends the same bytes under the same id (the
    # receiver refuses one id with two contents).
    body = models.TextField()
    status = models.CharField(
        max_length=8, choices=OutboundStatus.choices, default=OutboundStatus.PENDING
    )
    http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    receipt_code = models.CharField(max_length=16, blank=True)
    receipt = models.JSONField(null=True, blank=True)
    last_error = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=OutboundStatus.values),
                name="outbound_status_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.message_id} ({self.status})"
