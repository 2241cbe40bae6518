"""The outcome back to EMS: the ED records diagnosis, disposition and pathway times (each
bad field refused by name), only the receiving ED may, every write and read is audited, and
the crew that brought the patient reads the outcome fields only, within the window."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from audit.models import AuditEvent
from dispatch.models import AssignmentStatus
from handoff import access
from handoff.models import Encounter, HospitalOutcome
from handoff.services import HandoffError
from handoff.services.handover import transfer_of_care_confirm
from handoff.services.outcome import outcome_for_nemsis, outcome_record
from tests import factories
from tests.handoff.conftest import arrive

pytestmark = pytest.mark.django_db

ADMITTED = {
    "diagnosis_text": "Inferior STEMI",
    "diagnosis_icd10": "I211",
    "ed_disposition": "09",
    "admitted_unit": "Cardiac ICU",
    "pathway": "stemi",
}


@pytest.fixture
def arrived(paramedic, routed):
    # The door was two hours ago, so treatment times after it are not in the future.
    return arrive(paramedic, routed, hours_ago=2)


@pytest.fixture
def handed_over(paramedic, ed_nurse, arrived):
    transfer_of_care_confirm(user=paramedic, encounter_id=arrived.pk)
    transfer_of_care_confirm(user=ed_nurse, encounter_id=arrived.pk)
    arrived.refresh_from_db()
    assignment = arrived.assignment
    assignment.status = AssignmentStatus.CLEARED
    assignment.cleared_at = timezone.now()
    assignment.save(update_fields=["status", "cleared_at"])
    arrived.refresh_from_db()
    return arrived


def _after_door(encounter, minutes):
    return (encounter.arrived_at + timedelta(minutes=minutes)).isoformat()


def test_ed_records_the_outcome_with_the_balloon_time(ed_nurse, arrived):
    balloon = arrived.arrived_at + timedelta(minutes=62)
    outcome = outcome_record(
        user=ed_nurse,
        encounter_id=arrived.pk,
        data={**ADMITTED, "balloon_at": balloon.isoformat()},
    )
    assert outcome.diagnosis_icd10 == "I21.1"  # the dot is added
    assert outcome.ed_disposition == "09"
    assert outcome.admitted_unit == "Cardiac ICU"
    assert outcome.balloon_at == balloon
    assert outcome.needle_at is None
    assert outcome.source == "ed"
    assert outcome.recorded_by == ed_nurse
    assert outcome_for_nemsis(arrived) == {
        "eOutcome.01": "09",
        "eOutcome.02": "",
        "eOutcome.10": "I21.1",
    }
    row = AuditEvent.objects.filter(action="outcome_record").get()
    assert row.object_id == str(arrived.public_id)
    assert "balloon_at" in row.detail["fields"]
    # Field names only: the diagnosis text is not in the chain.
    assert "STEMI" not in str(row.detail)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"ed_disposition": "08"}, "ed_disposition"),
        ({"diagnosis_icd10": "21.1"}, "diagnosis_icd10"),
        ({"diagnosis_icd10": "I2"}, "diagnosis_icd10"),
        ({"diagnosis_text": "", "diagnosis_icd10": ""}, "diagnosis_text"),
        ({"admitted_unit": ""}, "admitted_unit"),
        ({"ed_disposition": "01"}, "admitted_unit"),
        ({"ed_disposition": "02", "admitted_unit": ""}, "transfer_facility"),
        (
            {"hospital_disposition": "20", "ed_disposition": "01", "admitted_unit": ""},
            "hospital_disposition",
        ),
        ({"pathway": "sepsis"}, "pathway"),
        ({"needle_at": "NOW"}, "needle_at"),
        ({"diagnosis_text": "two\nlines"}, "diagnosis_text"),
        ({"mood": "fine"}, "mood"),
    ],
)
def test_bad_outcome_is_refused_naming_the_field(ed_nurse, arrived, change, field):
    with pytest.raises(HandoffError) as caught:
        outcome_record(user=ed_nurse, encounter_id=arrived.pk, data={**ADMITTED, **change})
    assert caught.value.field == field
    assert not HospitalOutcome.objects.exists()


def test_needle_time_before_the_door_time_is_refused(ed_nurse, arrived):
    data = {
        "diagnosis_text": "Ischaemic stroke",
        "ed_disposition": "09",
        "admitted_unit": "Stroke unit",
        "pathway": "stroke",
        "needle_at": _after_door(arrived, -5),
    }
    with pytest.raises(HandoffError) as caught:
        outcome_record(user=ed_nurse, encounter_id=arrived.pk, data=data)
    assert caught.value.field == "needle_at"
    assert "door time" in caught.value.message
    outcome_record(
        user=ed_nurse, encounter_id=arrived.pk, data={**data, "needle_at": _after_door(arrived, 41)}
    )
    assert HospitalOutcome.objects.get().needle_at is not None


def test_treatment_time_must_match_the_pathway(ed_nurse, arrived):
    with pytest.raises(HandoffError) as caught:
        outcome_record(
            user=ed_nurse,
            encounter_id=arrived.pk,
            data={**ADMITTED, "needle_at": _after_door(arrived, 10)},
        )
    assert caught.value.field == "needle_at"


def test_outcome_needs_the_patient_to_have_arrived(ed_nurse, routed):
    with pytest.raises(HandoffError) as caught:
        outcome_record(user=ed_nurse, encounter_id=routed.pk, data=ADMITTED)
    assert caught.value.field == "arrived_at"
    assert caught.value.code == "invalid_transition"


def test_transfer_needs_the_facility_and_a_correction_replaces_the_outcome(ed_nurse, arrived):
    outcome_record(user=ed_nurse, encounter_id=arrived.pk, data=ADMITTED)
    outcome_record(
        user=ed_nurse,
        encounter_id=arrived.pk,
        data={
            "diagnosis_text": "Aortic dissection",
            "ed_disposition": "02",
            "transfer_facility": "University Hospital",
        },
    )
    outcome = HospitalOutcome.objects.get()
    assert outcome.ed_disposition == "02"
    assert outcome.admitted_unit == ""
    assert outcome.pathway == ""
    assert outcome.diagnosis_icd10 == ""


@pytest.mark.parametrize("who", ["paramedic", "other_ed", "dispatcher", "admin", "outsider"])
def test_only_the_receiving_ed_records_an_outcome(request, arrived, who):
    user = request.getfixturevalue(who)
    with pytest.raises(PermissionDenied):
        outcome_record(user=user, encounter_id=arrived.pk, data=ADMITTED)
    assert not HospitalOutcome.objects.exists()


# --- API ------------------------------------------------------------------------------------


def _url(encounter):
    return f"/api/v1/encounters/{encounter.public_id}/outcome/"


def test_api_put_names_the_bad_field(client, ed_nurse, arrived):
    client.force_login(ed_nurse)
    response = client.put(
        _url(arrived),
        {**ADMITTED, "balloon_at": _after_door(arrived, -1)},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "balloon_at" in response.json()
    response = client.put(_url(arrived), ADMITTED, content_type="application/json")
    assert response.status_code == 200
    body = response.json()
    assert body["outcome"]["ed_disposition_label"] == "Admitted as an inpatient to this hospital"
    assert body["outcome"]["recorded_via"] == "ed"


@pytest.mark.parametrize("who", ["paramedic", "other_ed", "dispatcher", "admin", "outsider"])
def test_api_put_is_refused_to_all_but_the_receiving_ed(client, request, arrived, who):
    client.force_login(request.getfixturevalue(who))
    response = client.put(_url(arrived), ADMITTED, content_type="application/json")
    assert response.status_code == 403
    assert not HospitalOutcome.objects.exists()


def test_crew_that_brought_the_patient_sees_the_outcome_only(
    client, paramedic, ed_nurse, handed_over, django_capture_on_commit_callbacks
):
    outcome_record(user=ed_nurse, encounter_id=handed_over.pk, data=ADMITTED)
    client.force_login(paramedic)
    # The closed record itself stays closed to the crew.
    assert client.get(f"/api/v1/encounters/{handed_over.public_id}/").status_code == 403
    with django_capture_on_commit_callbacks(execute=True):
        listed = client.get("/api/v1/crew/outcomes/").json()
    assert [row["temp_identifier"] for row in listed] == [handed_over.temp_identifier]
    assert listed[0]["outcome"]["admitted_unit"] == "Cardiac ICU"
    text = str(listed)
    assert "Virtanen" not in text
    assert "Aino" not in text
    with django_capture_on_commit_callbacks(execute=True):
        one = client.get(_url(handed_over))
    assert one.status_code == 200
    assert one.json()["outcome"]["diagnosis_icd10"] == "I21.1"
    feedback = AuditEvent.objects.filter(
        actor_id=paramedic.pk, action="read", detail__via="outcome_feedback"
    )
    assert feedback.count() == 2


def test_outcome_feedback_ends_after_the_window(client, settings, paramedic, handed_over):
    settings.CREW_OUTCOME_FEEDBACK_DAYS = 2
    Encounter.objects.filter(pk=handed_over.pk).update(
        arrived_at=timezone.now() - timedelta(days=3, minutes=20),
        closed_at=timezone.now() - timedelta(days=3),
        transfer_of_care_at=timezone.now() - timedelta(days=3),
    )
    client.force_login(paramedic)
    assert client.get("/api/v1/crew/outcomes/").json() == []
    assert client.get(_url(handed_over)).status_code == 403


@pytest.mark.parametrize("who", ["other_crew", "ed_nurse", "dispatcher", "admin", "outsider"])
def test_crew_outcome_list_is_only_the_own_units(client, request, ed_nurse, handed_over, who):
    outcome_record(user=ed_nurse, encounter_id=handed_over.pk, data=ADMITTED)
    client.force_login(request.getfixturevalue(who))
    response = client.get("/api/v1/crew/outcomes/")
    if who == "other_crew":
        assert response.status_code == 200
        assert response.json() == []
    else:
        assert response.status_code == 403


def test_crew_of_another_unit_cannot_read_the_outcome(other_crew, ed_nurse, handed_over):
    with pytest.raises(PermissionDenied):
        access.access_encounter_outcome(other_crew, handed_over.public_id)


def test_a_crew_member_moved_to_another_unit_loses_the_feedback(paramedic, handed_over):
    paramedic.unit = factories.UnitFactory()
    paramedic.save(update_fields=["unit"])
    assert access.access_crew_outcome_feedback(paramedic) == []


def test_the_response_report_counts_outcomes_and_door_to_balloon(
    client, centre, dispatcher, ed_nurse, arrived
):
    from dispatch.reports import response_report

    balloon = arrived.arrived_at + timedelta(minutes=75)
    outcome_record(
        user=ed_nurse,
        encounter_id=arrived.pk,
        data={**ADMITTED, "balloon_at": balloon.isoformat()},
    )
    now = timezone.now()
    report = response_report(
        centre_id=centre.pk, since=now - timedelta(days=1), until=now + timedelta(minutes=1)
    )
    assert report.outcomes is not None
    assert (report.outcomes.handed_over, report.outcomes.with_outcome) == (1, 1)
    assert report.outcomes.share == "100%"
    stemi, stroke = report.outcomes.pathways
    assert (stemi.n, stemi.median) == (1, "75:00")
    assert (stroke.n, stroke.median_s) == (0, None)
    client.force_login(dispatcher)
    page = client.get("/dispatch/reports/").content.decode()
    assert "STEMI door-to-balloon" in page
    assert "Cardiac ICU" not in page
    assert "Inferior STEMI" not in page
