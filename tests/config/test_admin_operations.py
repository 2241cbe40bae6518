"""Operations in the admin: incidents, calls, assignments, encounters and vitals are visible,
patient records cannot be edited there, and every page that shows them is audited."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from audit.models import AuditEvent
from dispatch.models import Assignment, Call, Incident
from handoff.models import Encounter, VitalsSet
from handoff.services.encounters import encounter_open
from handoff.services.vitals import vitals_record
from tests import factories
from tests.handoff.conftest import PATIENT, make_assignment

pytestmark = pytest.mark.django_db

PATIENT_MODELS = [Incident, Call, Assignment, Encounter, VitalsSet]


@pytest.fixture
def record(unit, dispatcher, paramedic):
    """An incident with a call, its assignment, an encounter with one vitals set."""
    assignment = make_assignment(unit, dispatcher)
    Call.objects.create(
        incident=assignment.incident,
        caller_name="Matti Meikäläinen",
        caller_phone="+358401234567",
        received_at=assignment.notified_at,
        taken_by=dispatcher,
    )
    encounter = encounter_open(user=paramedic, assignment_id=assignment.pk, data=PATIENT)
    vitals = vitals_record(
        user=paramedic, encounter_id=encounter.pk, client_id="v-1", data={"heart_rate": 96}
    )
    return {
        Incident: assignment.incident,
        Call: Call.objects.get(incident=assignment.incident),
        Assignment: assignment,
        Encounter: encounter,
        VitalsSet: vitals,
    }


@pytest.fixture
def get(client, django_capture_on_commit_callbacks):
    """GET a page as a request would run: reads are audited once the transaction commits."""

    def fetch(url):
        with django_capture_on_commit_callbacks(execute=True):
            return client.get(url)

    return fetch


def _url(model, view, *args):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def _audit_rows():
    return AuditEvent.objects.order_by("seq")


def _expected_id(model, record):
    if model in (Encounter, VitalsSet):
        return "encounter", str(record[Encounter].public_id)
    return "incident", str(record[Incident].pk)


@pytest.mark.parametrize("model", PATIENT_MODELS, ids=lambda m: m.__name__)
def test_admin_list_page_renders_and_is_audited(client, get, admin, record, model):
    client.force_login(admin)
    before = _audit_rows().count()
    response = get(_url(model, "changelist"))
    assert response.status_code == 200
    rows = list(_audit_rows()[before:])
    assert len(rows) == 1
    [row] = rows
    object_type, object_id = _expected_id(model, record)
    assert (row.action, row.object_type, row.actor_id) == ("list", object_type, admin.pk)
    assert row.detail["via"] == "admin"
    assert row.detail["ids"] == [object_id]
    # No add button and no bulk actions on patient records.
    page = response.content.decode()
    assert _url(model, "add") not in page
    assert 'name="action"' not in page


@pytest.mark.parametrize("model", PATIENT_MODELS, ids=lambda m: m.__name__)
def test_admin_record_page_is_view_only_and_audited(client, get, admin, record, model):
    client.force_login(admin)
    obj = record[model]
    before = _audit_rows().count()
    response = get(_url(model, "change", obj.pk))
    assert response.status_code == 200
    page = response.content.decode()
    assert 'name="_save"' not in page
    [row] = list(_audit_rows()[before:])
    object_type, object_id = _expected_id(model, record)
    assert (row.action, row.object_type, row.object_id) == ("read", object_type, object_id)
    assert row.detail == {
        "via": "admin",
        "record": model._meta.model_name,
        "id": obj.pk,
        "path": _url(model, "change", obj.pk),
    }


def test_the_encounter_page_shows_the_patient_record(client, admin, record):
    client.force_login(admin)
    response = client.get(_url(Encounter, "change", record[Encounter].pk))
    page = response.content.decode()
    assert PATIENT["family_name"] in page
    # The vitals set, inline: its heart rate in the heart-rate column.
    assert re.search(r'class="field-heart_rate"[^>]*>\s*(<p>)?\s*96\s*<', page), page


@pytest.mark.parametrize("model", PATIENT_MODELS, ids=lambda m: m.__name__)
def test_nothing_can_be_edited_added_or_deleted_on_patient_records(client, admin, record, model):
    client.force_login(admin)
    obj = record[model]
    assert client.post(_url(model, "change", obj.pk), {}).status_code == 403
    assert client.get(_url(model, "add")).status_code == 403
    assert client.post(_url(model, "delete", obj.pk), {"post": "yes"}).status_code == 403
    assert model.objects.filter(pk=obj.pk).exists()


def test_encounter_unchanged_after_a_post_to_its_admin_page(client, admin, record):
    client.force_login(admin)
    encounter = record[Encounter]
    client.post(_url(Encounter, "change", encounter.pk), {"family_name": "Changed"})
    encounter.refresh_from_db()
    assert encounter.family_name == PATIENT["family_name"]


@pytest.mark.parametrize("model", PATIENT_MODELS, ids=lambda m: m.__name__)
def test_non_staff_users_are_refused_and_nothing_is_audited(client, get, record, model, outsider):
    obj = record[model]
    for user in (outsider, factories.CrewFactory(), factories.EDStaffFactory()):
        client.force_login(user)
        before = _audit_rows().count()
        for url in (_url(model, "changelist"), _url(model, "change", obj.pk)):
            response = get(url)
            assert response.status_code == 302
            assert response["Location"].startswith(reverse("admin:login"))
        assert _audit_rows().count() == before
