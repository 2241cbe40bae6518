"""Peers and keys (secrets never shown), and the messages, read-only and audited."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from audit.admin_base import AuditedReadOnlyAdmin
from exchange.models import InboundMessage, OutboundMessage, Peer, PeerKey


class PeerKeyInline(admin.TabularInline):  # type: ignore[type-arg]
    model = PeerKey
    # The secret is shown once, by `manage.py exchange_peer`; never here.
    fields = ("key_id", "created_at", "retired_at")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Peer)
class PeerAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("name", "base_url", "station", "active")
    fields = ("name", "base_url", "station", "active", "created_at")
    readonly_fields = ("name", "base_url", "created_at")
    inlines = (PeerKeyInline,)

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Created by `manage.py exchange_peer add`, which checks the URL and issues the key.
        return False


@admin.register(InboundMessage)
class InboundMessageAdmin(AuditedReadOnlyAdmin):
    audit_object_type = "exchange_inbound"
    list_display = ("received_at", "peer", "message_id", "status", "http_status", "reason")
    list_filter = ("status", "reason", "peer")
    search_fields = ("=message_id",)

    def audit_object_id(self, obj: Any) -> Any:
        return obj.pk


@admin.register(OutboundMessage)
class OutboundMessageAdmin(AuditedReadOnlyAdmin):
    audit_object_type = "exchange_outbound"
    list_display = ("created_at", "peer", "message_id", "status", "receipt_code", "http_status")
    list_filter = ("status", "peer")
    search_fields = ("=message_id",)
    # The stored message is the patient record: not shown in the admin.
    exclude = ("body",)

    def audit_object_id(self, obj: Any) -> Any:
        return obj.message_id
