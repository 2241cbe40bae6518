"""The handover finishes: arrival from "At destination", both confirmations (the crew still
allowed for a while after "Clear"), the card leaving the incoming list, the ED's close with a
reason, and the offload time reaching the report."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from audit.models import AuditEvent
from dispatch.devices import CREW_ITEM_TYPES
from dispatch.models import AssignmentStatus
from dispatch.reports import response_report
from handoff import selectors
from handoff.models import Encounter, EncounterStatus
from handoff.services.destination import destination_set
from handoff.services.encounters import encounter_open
from handoff.services.handover import patient_arrived, transfer_of_care_confirm
from realtime.devices import item_process
from realtime.models import EventLog
from tests import factories
from tests.handoff.conftest import arrive, make_assignment

pytestmark = pytest.mark.django_db

DEVICE = "tab-1"


def _send(user, kind, data, item_id="i1", seq=1):
    return item_process(
        user=user,
        device_id=DEVICE,
        item={"type": kind, "id": item_id, "seq": seq, "data": data},
        types=CREW_ITEM_TYPES,
    )


def _clear(encounter, *, minutes_ago=1):
    assignment = encounter.assignment
    assignment.status = AssignmentStatus.CLEARED
    assignment.cleared_at = timezone.now() - timedelta(minutes=minutes_ago)
    assignment.save(update_fields=["status", "cleared_at"])
    encounter.refresh_from_db()
    return encounter


@pytest.fixture
def arrived(paramedic, routed):
    return arrive(paramedic, routed)


def test_at_destination_item_marks_the_patient_arrived_once(paramedic, ed_nurse, routed):
    patient_arrived(user=ed_nurse, encounter_id=routed.pk)
    first = Encounter.objects.get(pk=routed.pk).arrived_at
    answer = _send(paramedic, "arrival", {"encounter": str(routed.public_id)})
    assert answer["type"] == "ack"
    # The ED recorded the arrival first: its time stays.
    assert Encounter.objects.get(pk=routed.pk).arrived_at == first
    assert answer["arrived_at"] == first.isoformat()


def test_both_confirm_then_the_card_leaves_the_incoming_list_with_the_offload_time(
    paramedic, ed_nurse, arrived, hospital
):
    assert [r["encounter_id"] for r in selectors.ed_incoming_list(hospital_id=hospital.pk)] == [
        str(arrived.public_id)
    ]
    answer = _send(paramedic, "transfer", {"encounter": str(arrived.public_id)})
    assert answer["type"] == "ack"
    assert answer["crew_confirmed_at"] is not None
    assert answer["transfer_of_care_at"] is None
    done = transfer_of_care_confirm(user=ed_nurse, encounter_id=arrived.pk)
    assert done.status == EncounterStatus.CLOSED
    assert done.offload_seconds is not None
    assert done.offload_seconds == int((done.transfer_of_care_at - done.arrived_at).total_seconds())
    assert selectors.ed_incoming_list(hospital_id=hospital.pk) == []
    [recent] = selectors.ed_recent_list(hospital_id=hospital.pk)
    assert recent["encounter_id"] == str(arrived.public_id)
    assert recent["offload_seconds"] == done.offload_seconds
    last = EventLog.objects.filter(stream=f"handoff.ed.{hospital.pk}").order_by("-seq").first()
    assert last.type == "handoff.encounter.updated"
    assert last.data["transfer_of_care_at"] is not None


def test_the_crew_may_confirm_the_handover_shortly_after_clearing(paramedic, ed_nurse, arrived):
    transfer_of_care_confirm(user=ed_nurse, encounter_id=arrived.pk)
    _clear(arrived, minutes_ago=5)
    answer = _send(paramedic, "transfer", {"encounter": str(arrived.public_id)})
    assert answer["type"] == "ack", answer
    done = Encounter.objects.get(pk=arrived.pk)
    assert done.transfer_of_care_at is not None
    assert done.crew_confirmed_by == paramedic


def test_after_clearing_the_crew_may_confirm_and_nothing_more(client, paramedic, arrived):
    _clear(arrived)
    client.force_login(paramedic)
    base = f"/api/v1/encounters/{arrived.public_id}/"
    assert client.get(base).status_code == 403
    refused = client.post(
        base + "vitals/", {"client_id": "v9", "vitals": {"heart_rate": 80}}, "application/json"
    )
    assert refused.status_code == 403
    assert client.post(base + "messages/", {"text": "hi"}, "application/json").status_code == 403
    response = client.post(base + "transfer/")
    assert response.status_code == 200
    assert response.json()["crew_confirmed_at"] is not None


def test_the_crew_grace_after_clearing_is_bounded(client, paramedic, arrived, settings):
    settings.CREW_HANDOVER_MINUTES_AFTER_CLEAR = 30
    _clear(arrived, minutes_ago=31)
    client.force_login(paramedic)
    assert client.post(f"/api/v1/encounters/{arrived.public_id}/transfer/").status_code == 403
    rejected = _send(paramedic, "transfer", {"encounter": str(arrived.public_id)})
    assert (rejected["type"], rejected["field"]) == ("reject", "encounter")
    assert Encounter.objects.get(pk=arrived.pk).crew_confirmed_at is None


@pytest.mark.parametrize("who", ["other_crew", "other_ed", "dispatcher", "admin", "outsider"])
def test_only_the_transporting_crew_and_the_receiving_ed_confirm(client, request, arrived, who):
    _clear(arrived)
    user = request.getfixturevalue(who)
    client.force_login(user)
    assert client.post(f"/api/v1/encounters/{arrived.public_id}/transfer/").status_code == 403
    with pytest.raises(PermissionDenied):
        transfer_of_care_confirm(user=user, encounter_id=arrived.pk)


def test_crew_of_the_same_unit_on_its_next_call_sees_the_cleared_patient_no_more(
    client, paramedic, dispatcher, arrived, unit
):
    _clear(arrived)
    make_assignment(unit, dispatcher, status=AssignmentStatus.EN_ROUTE)
    client.force_login(paramedic)
    assert client.get(f"/api/v1/encounters/{arrived.public_id}/").status_code == 403


def test_the_ed_closes_a_card_that_will_never_be_confirmed_with_a_reason(
    client, ed_nurse, routed, hospital, unit
):
    client.force_login(ed_nurse)
    url = f"/api/v1/encounters/{routed.public_id}/ed-close/"
    missing = client.post(url, {"reason": "  "}, "application/json")
    assert missing.status_code == 400
    assert "reason" in missing.json()
    assert client.post(url, {}, "application/json").json().keys() >= {"reason"}
    assert Encounter.objects.get(pk=routed.pk).status == EncounterStatus.OPEN
    response = client.post(url, {"reason": "Crew took the patient to Jorvi"}, "application/json")
    assert response.status_code == 200
    row = response.json()
    assert (row["status"], row["closed_reason"]) == ("closed", "Crew took the patient to Jorvi")
    closed = Encounter.objects.get(pk=routed.pk)
    assert closed.closed_by == ed_nurse
    assert closed.transfer_of_care_at is None
    assert closed.offload_seconds is None
    audit = AuditEvent.objects.get(action="ed_close", object_id=str(routed.public_id))
    assert audit.actor == ed_nurse
    assert "Jorvi" not in str(audit.detail)
    for stream in (f"handoff.ed.{hospital.pk}", f"dispatch.unit.{unit.pk}"):
        event = EventLog.objects.filter(stream=stream).order_by("-seq").first()
        assert (event.type, event.data["status"]) == ("handoff.encounter.updated", "closed")
    assert selectors.ed_incoming_list(hospital_id=hospital.pk) == []
    again = client.post(url, {"reason": "twice"}, "application/json")
    assert again.status_code == 409


@pytest.mark.parametrize("who", ["paramedic", "other_ed", "other_crew", "dispatcher", "outsider"])
def test_only_the_receiving_ed_closes_a_card(client, request, routed, who):
    client.force_login(request.getfixturevalue(who))
    response = client.post(
        f"/api/v1/encounters/{routed.public_id}/ed-close/", {"reason": "x"}, "application/json"
    )
    assert response.status_code == 403
    assert Encounter.objects.get(pk=routed.pk).status == EncounterStatus.OPEN


def test_the_report_shows_apot_median_and_90th_percentile(paramedic, dispatcher, centre, unit):
    hospital = factories.HospitalFactory()
    nurse = factories.EDStaffFactory(hospital=hospital)
    offloads = [600, 900, 1200, 2400]
    for seconds in offloads:
        assignment = make_assignment(unit, dispatcher)
        encounter = encounter_open(user=paramedic, assignment_id=assignment.pk)
        destination_set(
            user=paramedic, encounter_id=encounter.pk, hospital_id=hospital.pk, reason="closest"
        )
        patient_arrived(user=paramedic, encounter_id=encounter.pk)
        transfer_of_care_confirm(user=paramedic, encounter_id=encounter.pk)
        transfer_of_care_confirm(user=nurse, encounter_id=encounter.pk)
        arrived_at = timezone.now() - timedelta(seconds=seconds)
        Encounter.objects.filter(pk=encounter.pk).update(
            arrived_at=arrived_at, offload_seconds=seconds
        )
        assignment.status = AssignmentStatus.CLEARED
        assignment.save(update_fields=["status"])
    now = timezone.now()
    report = response_report(
        centre_id=centre.pk, since=now - timedelta(days=1), until=now + timedelta(days=1)
    )
    apot = next(s for s in report.intervals if s.key == "apot_s")
    assert (apot.n, apot.median, apot.p90) == (4, "15:00", "40:00")
    compliance = next(c for c in report.compliance if "APOT" in c.measure)
    assert (compliance.n, compliance.achieved, compliance.met) == (4, "40:00", False)
