"""GET /api/v1/encounters/{id}/nemsis/: the EMSDataSet for the encounter's crew and its
receiving ED, like the FHIR and HL7 documents; outsiders refused, every read audited, and
a record that is not complete yet refused naming what it lacks."""

from __future__ import annotations

import uuid

import pytest
from lxml import etree

from audit.models import AuditEvent
from tests.handoff.interop.nemsis_encounters import stemi_patient, treated_on_scene

pytestmark = pytest.mark.django_db
N = {"n": "http://www.nemsis.org"}


@pytest.fixture
def handed_over(paramedic, ed_nurse, hospital, dispatcher, unit):
    return stemi_patient(
        crew=paramedic, ed_nurse=ed_nurse, hospital=hospital, dispatcher=dispatcher, unit=unit
    )


def _url(encounter) -> str:
    return f"/api/v1/encounters/{encounter.public_id}/nemsis/"


def test_the_receiving_ed_downloads_the_record_and_the_read_is_audited(
    client, ed_nurse, handed_over, django_capture_on_commit_callbacks
):
    client.force_login(ed_nurse)
    before = AuditEvent.objects.filter(actor=ed_nurse, action="read").count()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.get(_url(handed_over))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/xml")
    tree = etree.fromstring(response.content)
    pcr = tree.find(".//n:PatientCareReport", N)
    assert pcr.get("UUID") == str(handed_over.public_id)
    assert tree.findtext(".//n:eRecord.01", namespaces=N) == str(handed_over.public_id)
    after = AuditEvent.objects.filter(actor=ed_nurse, action="read").order_by("seq")
    assert after.count() == before + 1
    assert (after.last().object_type, after.last().object_id) == (
        "encounter",
        str(handed_over.public_id),
    )


@pytest.mark.parametrize("who", ["dispatcher", "other_ed", "other_crew", "admin", "outsider"])
def test_outsiders_cannot_download_the_record(
    client, request, handed_over, who, django_capture_on_commit_callbacks
):
    user = request.getfixturevalue(who)
    client.force_login(user)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.get(_url(handed_over))
    assert response.status_code in {403, 404}
    assert b"EMSDataSet" not in response.content
    assert not AuditEvent.objects.filter(actor=user, action="read").exists()


def test_anonymous_is_refused(client, handed_over):
    response = client.get(_url(handed_over))
    assert response.status_code in {302, 401, 403}


def test_an_unknown_encounter_is_not_found(client, ed_nurse):
    client.force_login(ed_nurse)
    response = client.get(f"/api/v1/encounters/{uuid.uuid4()}/nemsis/")
    assert response.status_code == 404


def test_a_record_whose_unit_has_not_cleared_is_refused_naming_the_field(
    client, paramedic, dispatcher, unit
):
    encounter = treated_on_scene(crew=paramedic, dispatcher=dispatcher, unit=unit, clear=False)
    client.force_login(paramedic)
    response = client.get(_url(encounter))
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "incomplete"
    assert "assignment.cleared_at (eTimes.13)" in body
    assert "clears" in body["assignment.cleared_at (eTimes.13)"][0]
