"""Who read or wrote which record, from where, in which request: over HTTP, WebSocket and the
device protocol, in the same transaction as the change it records."""

import pytest
from django.db import transaction

from audit.models import AuditEvent
from handoff.services import HandoffError
from handoff.services.board import ed_acknowledge
from handoff.services.encounters import encounter_update
from handoff.services.handover import admission_reconcile

pytestmark = pytest.mark.django_db

REQUEST_ID = "req-0123456789abcdef"


def events(**filters):
    return list(AuditEvent.objects.filter(**filters).order_by("seq"))


@pytest.mark.parametrize("reader", ["ed_nurse", "paramedic"])
def test_encounter_read_over_http_is_audited(
    request, client, routed, reader, django_capture_on_commit_callbacks
):
    user = request.getfixturevalue(reader)
    client.force_login(user)
    with django_capture_on_commit_callbacks(execute=True):
        answer = client.get(
            f"/api/v1/encounters/{routed.public_id}/",
            REMOTE_ADDR="192.0.2.10",
            HTTP_X_REQUEST_ID=REQUEST_ID,
        )
    assert answer.status_code == 200
    assert answer["X-Request-ID"] == REQUEST_ID
    [event] = events(action="read")
    assert event.actor == user
    assert event.actor_username == user.username
    assert event.role == user.role
    assert (event.object_type, event.object_id) == ("encounter", str(routed.public_id))
    assert event.request_id == REQUEST_ID
    assert event.client_address == "192.0.2.10"
    assert event.channel == "http"
    assert event.detail == {"path": f"/api/v1/encounters/{routed.public_id}/"}
    assert event.at.utcoffset().total_seconds() == 0


def test_refused_read_is_not_a_read(client, routed, outsider, django_capture_on_commit_callbacks):
    client.force_login(outsider)
    with django_capture_on_commit_callbacks(execute=True):
        assert client.get(f"/api/v1/encounters/{routed.public_id}/").status_code == 403
    assert not events(action="read")


def test_malformed_request_id_is_replaced(client, ed_nurse, routed):
    client.force_login(ed_nurse)
    answer = client.get(f"/api/v1/encounters/{routed.public_id}/", HTTP_X_REQUEST_ID="a b<c>")
    assert answer["X-Request-ID"] != "a b<c>"
    assert len(answer["X-Request-ID"]) == 32


@pytest.mark.parametrize(
    ("trusted", "expected"), [(0, "192.0.2.10"), (1, "198.51.100.7"), (2, "203.0.113.5")]
)
def test_forwarded_for_is_believed_only_from_trusted_proxies(
    settings, client, ed_nurse, routed, trusted, expected, django_capture_on_commit_callbacks
):
    settings.AUDIT_TRUSTED_PROXY_COUNT = trusted
    client.force_login(ed_nurse)
    with django_capture_on_commit_callbacks(execute=True):
        client.get(
            f"/api/v1/encounters/{routed.public_id}/",
            REMOTE_ADDR="192.0.2.10",
            HTTP_X_FORWARDED_FOR="10.9.9.9, 203.0.113.5, 198.51.100.7",
        )
    assert events(action="read")[0].client_address == expected


def test_service_writes_its_audit_row_with_the_change(ed_nurse, routed):
    before = AuditEvent.objects.count()
    ed_acknowledge(user=ed_nurse, encounter_id=routed.pk)
    [event] = events(seq__gt=before)
    assert (event.action, event.actor, event.role) == ("ed_acknowledge", ed_nurse, "ed_staff")
    assert event.object_id == str(routed.public_id)
    assert event.channel == "system"


def test_rolled_back_service_leaves_no_audit_row(ed_nurse, routed):
    before = AuditEvent.objects.count()

    def acknowledge_then_fail():
        with transaction.atomic():
            ed_acknowledge(user=ed_nurse, encounter_id=routed.pk)
            assert AuditEvent.objects.count() == before + 1
            raise RuntimeError("the request failed after the service")

    with pytest.raises(RuntimeError):
        acknowledge_then_fail()
    assert AuditEvent.objects.count() == before
    with pytest.raises(HandoffError):
        admission_reconcile(user=ed_nurse, encounter_id=routed.pk, mrn="bad mrn!")
    assert AuditEvent.objects.count() == before


def test_writes_record_field_names_never_values(paramedic, encounter):
    encounter_update(user=paramedic, encounter_id=encounter.pk, data={"given_name": "Zebulon"})
    event = events(action="update")[-1]
    assert event.detail == {"fields": ["given_name"]}
    create = events(action="create")[0]
    assert create.detail == {"fields": ["chief_complaint", "family_name", "given_name"]}


def test_incident_caller_data_reads_and_writes_are_audited(
    client, dispatcher, paramedic, assignment, django_capture_on_commit_callbacks
):
    client.force_login(dispatcher)
    with django_capture_on_commit_callbacks(execute=True):
        answer = client.get(f"/api/v1/incidents/{assignment.incident_id}/", REMOTE_ADDR="::1")
    assert answer.status_code == 200
    [event] = events(object_type="incident")
    assert (event.action, event.actor, event.client_address) == ("read", dispatcher, "::1")
