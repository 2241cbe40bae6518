"""Handoff services: every state rule and refusal, and the scores they store."""

import re
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from handoff.clinical import gcs, news2, qsofa, score_change, shock_index, vitals_trend
from handoff.models import Admission, AdmissionStatus, Encounter, EncounterStatus, VitalsSet
from handoff.services import HandoffError
from handoff.services.board import (
    crew_message_send,
    ed_acknowledge,
    ed_assign_bay,
    ed_message_send,
    ed_status_set,
)
from handoff.services.destination import destination_set
from handoff.services.encounters import encounter_close, encounter_open, encounter_update
from handoff.services.handover import admission_reconcile, patient_arrived, transfer_of_care_confirm
from handoff.services.treatment import intervention_record, medication_record
from handoff.services.vitals import vitals_record
from realtime.models import EventLog
from tests import factories

pytestmark = pytest.mark.django_db

NORMAL = {"heart_rate": 80, "respiratory_rate": 16, "systolic_bp": 130, "spo2": 97}


def vitals(user, encounter, client_id="v1", **values):
    return vitals_record(
        user=user, encounter_id=encounter.pk, data=values or NORMAL, client_id=client_id
    )


def test_open_gives_a_temporary_identifier_and_takes_the_complaint_from_the_incident(encounter):
    assert re.fullmatch(r"GH-\d{4}-[A-HJ-NP-Z2-9]{6}", encounter.temp_identifier)
    assert encounter.temp_identifier.startswith(f"GH-{timezone.now().year}-")
    assert encounter.chief_complaint == "chest pain"
    assert encounter.status == EncounterStatus.OPEN


def test_several_patients_per_assignment_and_a_repeated_public_id_opens_once(paramedic, assignment):
    first = encounter_open(user=paramedic, assignment_id=assignment.pk)
    second = encounter_open(user=paramedic, assignment_id=assignment.pk)
    again = encounter_open(user=paramedic, assignment_id=assignment.pk, public_id=first.public_id)
    assert first.pk != second.pk
    assert again.pk == first.pk
    assert Encounter.objects.filter(assignment=assignment).count() == 2


@pytest.mark.parametrize("who", ["other_crew", "dispatcher", "ed_nurse", "admin", "outsider"])
def test_only_the_assigned_crew_opens_an_encounter(request, assignment, who):
    with pytest.raises(PermissionDenied):
        encounter_open(user=request.getfixturevalue(who), assignment_id=assignment.pk)


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"sex": "x"}, "sex"),
        ({"estimated_age_years": 200}, "estimated_age_years"),
        (
            {"medications": [{"name": "warfarin", "anticoagulant": "yes"}]},
            "medications[0].anticoagulant",
        ),
        ({"findings": {"cardiac_arest": True}}, "findings.cardiac_arest"),
        ({"last_known_well": "2020-01-01T10:00"}, "last_known_well"),
        ({"nickname": "x"}, "nickname"),
    ],
)
def test_update_refuses_bad_fields_by_name(paramedic, encounter, data, field):
    with pytest.raises(HandoffError) as refused:
        encounter_update(user=paramedic, encounter_id=encounter.pk, data=data)
    assert refused.value.field == field


def test_out_of_range_vital_names_field_and_range_and_stores_nothing(paramedic, encounter):
    with pytest.raises(HandoffError) as refused:
        vitals(paramedic, encounter, heart_rate=400, spo2=97)
    assert refused.value.field == "heart_rate"
    assert "0-300" in refused.value.message
    assert not VitalsSet.objects.exists()


def test_extreme_vital_is_stored_and_flagged(paramedic, encounter):
    stored = vitals(paramedic, encounter, heart_rate=220, spo2=60)
    assert {f["field"] for f in stored.flags} >= {"heart_rate", "spo2"}
    assert stored.heart_rate == 220


def test_scores_stored_match_the_clinical_core_on_a_worked_example(paramedic, encounter):
    first = {"heart_rate": 95, "respiratory_rate": 20, "systolic_bp": 118, "spo2": 95}
    vitals(paramedic, encounter, "v1", **first, avpu="A", temperature=37.0, on_oxygen=False)
    second = {
        "heart_rate": 118,
        "respiratory_rate": 24,
        "systolic_bp": 98,
        "diastolic_bp": 60,
        "spo2": 93,
        "temperature": 38.4,
        "on_oxygen": True,
        "gcs_eye": 4,
        "gcs_verbal": 4,
        "gcs_motor": 6,
        "avpu": "A",
        "new_confusion": True,
    }
    stored = vitals_record(user=paramedic, encounter_id=encounter.pk, data=second, client_id="v2")
    expected = news2(second)
    # RR 24 -> 2, SpO2 93 -> 2, oxygen -> 2, SBP 98 -> 2, HR 118 -> 2, confusion -> 3, 38.4 -> 1
    assert expected.total == 14
    assert (
        (stored.news2_total, stored.news2_risk) == (expected.total, expected.risk) == (14, "high")
    )
    assert stored.news2_missing == []
    assert stored.gcs_total == gcs(4, 4, 6) == 14
    assert stored.shock_index == shock_index(118, 98).value == 1.2
    assert stored.qsofa_score == qsofa(24, 98, gcs=14, altered_mentation=True).score == 3
    previous = {**first, "avpu": "A", "temperature": 37.0, "on_oxygen": False}
    assert stored.trend == vitals_trend(previous, second)
    assert stored.trend["heart_rate"] == 23
    change = score_change(news2(previous), expected)
    assert stored.news2_change["delta"] == change.delta
    assert stored.news2_change["direction"] == "up"
    assert {f["field"] for f in stored.flags} >= {"shock_index", "qsofa"}


def test_spo2_scale_2_chosen_once_holds_for_later_sets(paramedic, encounter):
    vitals(paramedic, encounter, "v1", spo2=90, spo2_scale=2, on_oxygen=False)
    later = vitals(paramedic, encounter, "v2", spo2=90, on_oxygen=False)
    assert later.spo2_scale == 2
    assert later.news2_total == news2({"spo2": 90, "on_oxygen": False}, spo2_scale=2).total


def test_a_repeated_vitals_id_is_stored_once(paramedic, encounter):
    first = vitals(paramedic, encounter, "same")
    again = vitals(paramedic, encounter, "same")
    assert again.pk == first.pk
    assert VitalsSet.objects.count() == 1


def test_a_repeated_vitals_id_with_other_values_is_a_conflict_naming_the_client_id(
    paramedic, encounter
):
    vitals(paramedic, encounter, "same")
    with pytest.raises(HandoffError) as refused:
        vitals(paramedic, encounter, "same", heart_rate=130)
    assert (refused.value.code, refused.value.field) == ("client_id_conflict", "client_id")
    assert "heart_rate" in refused.value.message
    assert VitalsSet.objects.count() == 1


def test_closed_encounter_refuses_vitals(paramedic, encounter):
    encounter_close(user=paramedic, encounter_id=encounter.pk)
    with pytest.raises(HandoffError) as refused:
        vitals(paramedic, encounter)
    assert refused.value.code == "closed"
    assert not VitalsSet.objects.exists()


@pytest.mark.parametrize("who", ["other_crew", "ed_nurse", "dispatcher", "admin", "outsider"])
def test_only_the_crew_records_vitals(request, encounter, who):
    with pytest.raises(PermissionDenied):
        vitals(request.getfixturevalue(who), encounter)


def test_unknown_destination_is_refused_naming_the_hospital(paramedic, encounter):
    with pytest.raises(HandoffError) as refused:
        destination_set(
            user=paramedic, encounter_id=encounter.pk, hospital_id=99999, reason="closest"
        )
    assert refused.value.field == "hospital"


def test_destination_needs_an_edisposition_20_reason(paramedic, encounter, hospital):
    with pytest.raises(HandoffError) as refused:
        destination_set(
            user=paramedic, encounter_id=encounter.pk, hospital_id=hospital.pk, reason="vibes"
        )
    assert refused.value.field == "reason"


def test_destination_pre_registers_and_a_new_choice_moves_the_admission(
    paramedic, routed, hospital, assignment
):
    admission = Admission.objects.get(encounter=routed)
    assert admission.hospital == hospital
    assert admission.temp_identifier == routed.temp_identifier
    assert admission.status == AdmissionStatus.PRE_REGISTERED
    assignment.refresh_from_db()
    assert assignment.destination_id == hospital.pk
    other = factories.HospitalFactory()
    destination_set(
        user=paramedic, encounter_id=routed.pk, hospital_id=other.pk, reason="diversion"
    )
    admission.refresh_from_db()
    assert admission.hospital == other
    removed = EventLog.objects.get(
        stream=f"handoff.ed.{hospital.pk}", type="handoff.encounter.removed"
    )
    assert removed.data["temp_identifier"] == routed.temp_identifier


def test_ed_of_another_hospital_cannot_acknowledge(routed, other_ed):
    with pytest.raises(PermissionDenied):
        ed_acknowledge(user=other_ed, encounter_id=routed.pk)


def test_ed_acknowledgement_reaches_the_crew_tablet(routed, ed_nurse, unit):
    ed_acknowledge(user=ed_nurse, encounter_id=routed.pk)
    ed_acknowledge(user=ed_nurse, encounter_id=routed.pk)
    routed.refresh_from_db()
    assert routed.ed_acknowledged_by == ed_nurse
    acks = EventLog.objects.filter(
        stream=f"dispatch.unit.{unit.pk}", type="handoff.ed.acknowledged"
    )
    assert acks.count() == 1


def test_bay_and_messages_both_ways(paramedic, routed, ed_nurse, unit, hospital):
    ed_assign_bay(user=ed_nurse, encounter_id=routed.pk, bay="Resus 2")
    crew_message_send(user=paramedic, encounter_id=routed.pk, text="ETA 5", client_id="m1")
    crew_message_send(user=paramedic, encounter_id=routed.pk, text="ETA 5", client_id="m1")
    ed_message_send(user=ed_nurse, encounter_id=routed.pk, text="Resus 2 ready")
    assert routed.messages.count() == 2
    for stream in (f"handoff.ed.{hospital.pk}", f"dispatch.unit.{unit.pk}"):
        assert EventLog.objects.filter(stream=stream, type="handoff.message.created").count() == 2
    with pytest.raises(PermissionDenied):
        ed_message_send(user=paramedic, encounter_id=routed.pk, text="x")


def test_a_message_needs_a_destination(paramedic, encounter):
    with pytest.raises(HandoffError) as refused:
        crew_message_send(user=paramedic, encounter_id=encounter.pk, text="hello")
    assert refused.value.field == "destination"


def test_transfer_of_care_needs_arrival_then_both_confirmations(paramedic, routed, ed_nurse):
    with pytest.raises(HandoffError) as refused:
        transfer_of_care_confirm(user=paramedic, encounter_id=routed.pk)
    assert refused.value.code == "invalid_transition"
    patient_arrived(user=paramedic, encounter_id=routed.pk)
    # Arrived 17 minutes ago: the offload time is measured from eTimes.11.
    arrived = timezone.now() - timedelta(minutes=17)
    Encounter.objects.filter(pk=routed.pk).update(arrived_at=arrived)
    crew_side = transfer_of_care_confirm(user=paramedic, encounter_id=routed.pk)
    assert crew_side.transfer_of_care_at is None
    assert crew_side.status == EncounterStatus.OPEN
    done = transfer_of_care_confirm(user=ed_nurse, encounter_id=routed.pk)
    assert done.transfer_of_care_at is not None
    assert done.status == EncounterStatus.CLOSED
    expected = (done.transfer_of_care_at - arrived).total_seconds()
    assert abs(done.offload_seconds - expected) <= 1
    assert 17 * 60 <= done.offload_seconds < 17 * 60 + 10
    assert Admission.objects.get(encounter=routed).status == AdmissionStatus.HANDED_OVER


def test_arrival_needs_a_destination(paramedic, encounter):
    with pytest.raises(HandoffError) as refused:
        patient_arrived(user=paramedic, encounter_id=encounter.pk)
    assert refused.value.field == "destination"


def test_reconcile_links_the_mrn_once(routed, ed_nurse, other_ed, paramedic):
    with pytest.raises(PermissionDenied):
        admission_reconcile(user=paramedic, encounter_id=routed.pk, mrn="A-1")
    with pytest.raises(PermissionDenied):
        admission_reconcile(user=other_ed, encounter_id=routed.pk, mrn="A-1")
    with pytest.raises(HandoffError) as bad:
        admission_reconcile(user=ed_nurse, encounter_id=routed.pk, mrn="no spaces")
    assert bad.value.field == "mrn"
    admission_reconcile(user=ed_nurse, encounter_id=routed.pk, mrn="HUS-123")
    admission_reconcile(user=ed_nurse, encounter_id=routed.pk, mrn="HUS-123")
    with pytest.raises(HandoffError) as conflict:
        admission_reconcile(user=ed_nurse, encounter_id=routed.pk, mrn="HUS-999")
    assert conflict.value.code == "conflict"
    assert Admission.objects.get(encounter=routed).status == AdmissionStatus.RECONCILED


def test_ed_status_diversion_needs_a_reason_and_reaches_every_dispatch_centre(
    ed_nurse, hospital, centre
):
    other_centre = factories.DispatchCentreFactory()
    with pytest.raises(HandoffError) as refused:
        ed_status_set(user=ed_nurse, hospital_id=hospital.pk, status="diversion")
    assert refused.value.field == "reason"
    ed_status_set(user=ed_nurse, hospital_id=hospital.pk, status="diversion", reason="CT down")
    hospital.refresh_from_db()
    assert (hospital.ed_status, hospital.diversion_reason) == ("diversion", "CT down")
    for c in (centre, other_centre):
        event = EventLog.objects.get(
            stream=f"dispatch.center.{c.pk}", type="handoff.hospital.updated"
        )
        assert event.data["diversion_reason"] == "CT down"
    ed_status_set(user=ed_nurse, hospital_id=hospital.pk, status="open")
    hospital.refresh_from_db()
    assert (hospital.ed_status, hospital.diversion_reason) == ("open", "")


def test_ed_status_reaches_the_tablets_of_units_on_a_job_only(ed_nurse, hospital, assignment):
    idle = factories.UnitFactory(centre=assignment.unit.centre)
    ed_status_set(user=ed_nurse, hospital_id=hospital.pk, status="diversion", reason="CT down")
    [event] = EventLog.objects.filter(
        stream=f"dispatch.unit.{assignment.unit_id}", type="handoff.hospital.updated"
    )
    # The hospital's state only: nothing of any patient on the unit's job.
    assert event.data == {
        "id": hospital.pk,
        "name": hospital.name,
        "lat": hospital.lat,
        "lon": hospital.lon,
        "capabilities": hospital.capabilities,
        "ed_status": "diversion",
        "diversion_reason": "CT down",
    }
    assert not EventLog.objects.filter(stream=f"dispatch.unit.{idle.pk}").exists()


@pytest.mark.parametrize("who", ["other_ed", "paramedic", "dispatcher", "admin", "outsider"])
def test_only_the_hospitals_ed_staff_set_its_status(request, hospital, who):
    with pytest.raises(PermissionDenied):
        ed_status_set(user=request.getfixturevalue(who), hospital_id=hospital.pk, status="open")


def test_closing_after_arrival_is_refused(paramedic, routed):
    patient_arrived(user=paramedic, encounter_id=routed.pk)
    with pytest.raises(HandoffError) as refused:
        encounter_close(user=paramedic, encounter_id=routed.pk)
    assert refused.value.code == "invalid_transition"


def test_treatment_is_recorded_once_and_shown_on_the_board_row(paramedic, routed):
    intervention_record(user=paramedic, encounter_id=routed.pk, client_id="i1", text="IV access")
    medication_record(
        user=paramedic,
        encounter_id=routed.pk,
        client_id="m1",
        name="aspirin",
        dose=300,
        unit="mg",
        route="PO",
    )
    medication_record(
        user=paramedic,
        encounter_id=routed.pk,
        client_id="m1",
        name="aspirin",
        dose=300,
        unit="mg",
        route="PO",
    )
    with pytest.raises(HandoffError) as refused:
        medication_record(
            user=paramedic, encounter_id=routed.pk, client_id="m2", name="morphine", dose=5
        )
    assert refused.value.field == "unit"
    row = EventLog.objects.filter(type="handoff.encounter.updated").last().data
    assert [t["text"] for t in row["treatment"]] == ["IV access", "aspirin 300 mg PO"]
