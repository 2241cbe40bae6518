"""The admin: messages read-only and audited, the body and the key secrets never shown."""

from __future__ import annotations

import pytest
from django.urls import reverse

from audit.models import AuditEvent
from exchange.models import InboundMessage, OutboundMessage
from tests.exchange.conftest import SECRET, handoff_message, post

pytestmark = pytest.mark.django_db


def test_messages_are_listed_read_only_and_the_listing_is_audited(
    client, admin, peer, receiving_hospital, django_capture_on_commit_callbacks
):
    post(client, handoff_message())
    post(client, b"{broken")
    client.force_login(admin)
    url = reverse("admin:exchange_inboundmessage_changelist")
    with django_capture_on_commit_callbacks(execute=True):  # reads are recorded on commit
        response = client.get(url)
    assert response.status_code == 200
    assert response.content.count(b"rejected") >= 1
    assert AuditEvent.objects.filter(
        action="list", object_type="exchange_inbound", actor_id=admin.pk
    ).exists()
    kept = InboundMessage.objects.filter(status="accepted").get()
    change = reverse("admin:exchange_inboundmessage_change", args=[kept.pk])
    assert client.get(change).status_code == 200
    assert client.post(change, {}).status_code == 403


def test_the_peer_page_never_shows_a_key_secret(client, admin, peer):
    client.force_login(admin)
    response = client.get(reverse("admin:exchange_peer_change", args=[peer.pk]))
    assert response.status_code == 200
    assert b"k_test" in response.content
    assert SECRET.encode() not in response.content
    assert peer.keys.get().secret_encrypted.encode() not in response.content


def test_an_outbound_message_page_leaves_out_the_record(client, admin, peer, routed_here):
    outbound = OutboundMessage.objects.create(
        peer=peer, event="patient-handoff", encounter=routed_here,
        body='{"secret-marker": "Virtanen"}', created_at=routed_here.created_at,
    )  # fmt: skip
    client.force_login(admin)
    response = client.get(reverse("admin:exchange_outboundmessage_change", args=[outbound.pk]))
    assert response.status_code == 200
    assert b"secret-marker" not in response.content
