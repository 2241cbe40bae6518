"""Break-glass reads (issue 22): an ED clinician outside the patient's scope, with a reason."""

from datetime import datetime, timedelta

import pytest
from django.core import mail
from django.utils import timezone

from audit.models import AuditEvent
from handoff.models import BreakGlassGrant

REASON = "unconscious, checking a prior visit"


def _url(encounter, tail="break-glass/"):
    return f"/api/v1/encounters/{encounter.public_id}/{tail}"


def _open(client, user, encounter, reason=REASON):
    client.force_login(user)
    return client.post(_url(encounter), {"reason": reason}, content_type="application/json")


@pytest.fixture(autouse=True)
def _admins(settings):
    settings.ADMINS = [("Admin", "admin@example.org")]


@pytest.mark.django_db
def test_ed_clinician_of_another_hospital_opens_with_a_reason_and_reads(
    client, routed, other_ed, django_capture_on_commit_callbacks
):
    client.force_login(other_ed)
    assert client.get(_url(routed, "")).status_code == 403
    with django_capture_on_commit_callbacks(execute=True):
        response = _open(client, other_ed, routed)
    assert response.status_code == 201, response.content[:200]
    assert response.json()["temp_identifier"] == routed.temp_identifier
    grant = BreakGlassGrant.objects.get(user=other_ed, encounter=routed)
    assert grant.reason == REASON
    assert AuditEvent.objects.filter(action="break_glass", actor_id=other_ed.pk).exists()
    with django_capture_on_commit_callbacks(execute=True):
        assert client.get(_url(routed, "")).status_code == 200
    flagged = AuditEvent.objects.filter(action="read", actor_id=other_ed.pk)
    assert flagged.count() == 2
    assert all(e.detail["break_glass"] is True for e in flagged)
    # Only the detail view is widened, not the vitals or any write.
    assert client.get(_url(routed, "vitals/")).status_code == 403


@pytest.mark.django_db
@pytest.mark.parametrize("reason", [None, "", "   short   ", "bad\x00reason text here"])
def test_reason_missing_short_or_with_control_characters_is_400(client, routed, other_ed, reason):
    client.force_login(other_ed)
    body = {} if reason is None else {"reason": reason}
    response = client.post(_url(routed), body, content_type="application/json")
    assert response.status_code == 400
    assert "reason" in response.json()
    assert not BreakGlassGrant.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["dispatcher", "paramedic", "outsider", "other_crew"])
def test_refused_for_anyone_but_ed_staff(client, routed, request, who):
    response = _open(client, request.getfixturevalue(who), routed)
    assert response.status_code == 403
    assert not BreakGlassGrant.objects.exists()


@pytest.mark.django_db
def test_grant_expires(client, routed, other_ed):
    assert _open(client, other_ed, routed).status_code == 201
    BreakGlassGrant.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert client.get(_url(routed, "")).status_code == 403


@pytest.mark.django_db
def test_admins_are_mailed_without_patient_data(
    client, routed, other_ed, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        assert _open(client, other_ed, routed).status_code == 201
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    grant = BreakGlassGrant.objects.get()
    assert f"#{grant.pk}" in message.subject
    text = message.subject + message.body
    assert str(other_ed.pk) in text
    assert str(other_ed.hospital_id) in text
    for secret in (REASON, routed.temp_identifier, "Virtanen", str(routed.public_id)):
        assert secret not in text


@pytest.mark.django_db
def test_admin_marks_reviewed(client, routed, other_ed, admin):
    assert _open(client, other_ed, routed).status_code == 201
    grant = BreakGlassGrant.objects.get()
    client.force_login(admin)
    changelist = "/admin/handoff/breakglassgrant/"
    assert client.get(changelist).status_code == 200
    response = client.post(changelist, {"action": "mark_reviewed", "_selected_action": [grant.pk]})
    assert response.status_code == 302
    grant.refresh_from_db()
    assert grant.reviewed_by == admin
    assert grant.reviewed_at is not None
    assert AuditEvent.objects.filter(action="break_glass_review", actor_id=admin.pk).exists()


# --- By the temporary id (the ED board's break-glass screen) ----------------------------------

LOOKUP = "/api/v1/break-glass/"


def _lookup(client, user, temp_identifier, reason=REASON):
    client.force_login(user)
    return client.post(
        LOOKUP,
        {"temp_identifier": temp_identifier, "reason": reason},
        content_type="application/json",
    )


@pytest.mark.django_db
def test_lookup_by_temp_identifier_grants_and_answers_the_record_with_its_expiry(
    client, routed, other_ed, settings, django_capture_on_commit_callbacks
):
    before = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        # Read out over the phone: any case, stray spaces.
        response = _lookup(client, other_ed, f"  {routed.temp_identifier.lower()} ")
    assert response.status_code == 201, response.content[:200]
    body = response.json()
    grant = BreakGlassGrant.objects.get(user=other_ed, encounter=routed)
    assert body["grant"] == grant.pk
    assert body["minutes"] == settings.BREAK_GLASS_MINUTES
    expires = datetime.fromisoformat(body["expires_at"])
    assert expires == grant.expires_at
    assert before + timedelta(minutes=settings.BREAK_GLASS_MINUTES) <= expires
    assert body["encounter"]["encounter_id"] == str(routed.public_id)
    assert body["encounter"]["family_name"] == routed.family_name
    assert AuditEvent.objects.filter(action="break_glass", actor_id=other_ed.pk).count() == 1
    reads = AuditEvent.objects.filter(action="read", actor_id=other_ed.pk)
    assert reads.count() == 1
    detail = reads.get().detail
    assert (detail["break_glass"], detail["grant"]) == (True, grant.pk)
    assert len(mail.outbox) == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("temp_identifier", "reason", "field"),
    [
        ("GH-2026-ZZZZZZ", "short", "reason"),
        ("", REASON, "temp_identifier"),
        ("Virtanen", REASON, "temp_identifier"),
        ("GH-2026-ABC12", REASON, "temp_identifier"),
        ("GH-2026-ZZZZZZ", REASON, "temp_identifier"),
    ],
)
def test_lookup_refuses_naming_the_field_and_reveals_nothing(
    client, routed, other_ed, temp_identifier, reason, field
):
    response = _lookup(client, other_ed, temp_identifier, reason)
    assert response.status_code == 400
    body = response.json()
    assert list(body) == [field] or set(body) == {field, "code"}, body
    assert routed.temp_identifier not in response.content.decode()
    assert not BreakGlassGrant.objects.exists()
    assert not AuditEvent.objects.filter(actor_id=other_ed.pk).exists()


@pytest.mark.django_db
def test_lookup_checks_the_reason_before_saying_whether_the_id_exists(client, routed, other_ed):
    known = _lookup(client, other_ed, routed.temp_identifier, "short").json()
    unknown = _lookup(client, other_ed, "GH-2026-ZZZZZZ", "short").json()
    assert known == unknown
    assert "reason" in known


@pytest.mark.django_db
def test_a_nurse_of_the_patients_own_hospital_needs_no_break_glass(client, routed, ed_nurse):
    response = _lookup(client, ed_nurse, routed.temp_identifier)
    assert response.status_code == 409
    assert "temp_identifier" in response.json()
    assert "not needed" in response.json()["temp_identifier"][0]
    assert not BreakGlassGrant.objects.exists()
    # The same by the record's id.
    assert _open(client, ed_nurse, routed).status_code == 409
    assert client.get(_url(routed, "")).status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["dispatcher", "paramedic", "outsider", "other_crew", "admin"])
def test_lookup_refused_for_anyone_but_ed_staff(client, routed, request, who):
    response = _lookup(client, request.getfixturevalue(who), routed.temp_identifier)
    assert response.status_code == 403
    assert routed.temp_identifier not in response.content.decode()
    assert not BreakGlassGrant.objects.exists()


@pytest.mark.django_db
def test_lookup_anonymous_is_refused(client, routed):
    response = client.post(
        LOOKUP,
        {"temp_identifier": routed.temp_identifier, "reason": REASON},
        content_type="application/json",
    )
    assert response.status_code in (401, 403)
    assert not BreakGlassGrant.objects.exists()
