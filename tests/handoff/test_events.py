"""Logged events carry the temporary identifier, never the patient's identity."""

import json

import pytest

from handoff.services.board import crew_message_send, ed_acknowledge
from handoff.services.encounters import encounter_update
from handoff.services.handover import admission_reconcile, patient_arrived, transfer_of_care_confirm
from handoff.services.vitals import vitals_record
from realtime.models import EventLog
from tests.handoff.conftest import PATIENT

pytestmark = pytest.mark.django_db


def test_no_patient_name_appears_in_any_logged_event(
    paramedic, ed_nurse, routed, hospital, settings
):
    encounter_update(
        user=paramedic,
        encounter_id=routed.pk,
        data={"birth_date": "1950-03-04", "findings": {"cardiac_arrest": True}},
    )
    vitals_record(user=paramedic, encounter_id=routed.pk, data={"heart_rate": 40}, client_id="v1")
    ed_acknowledge(user=ed_nurse, encounter_id=routed.pk)
    crew_message_send(user=paramedic, encounter_id=routed.pk, text="on our way")
    patient_arrived(user=paramedic, encounter_id=routed.pk)
    transfer_of_care_confirm(user=paramedic, encounter_id=routed.pk)
    transfer_of_care_confirm(user=ed_nurse, encounter_id=routed.pk)
    admission_reconcile(user=ed_nurse, encounter_id=routed.pk, mrn="HUS-77")
    logged = [json.dumps(e.data) for e in EventLog.objects.all()]
    assert len(logged) > 10
    for secret in (PATIENT["family_name"], PATIENT["given_name"], "1950-03-04", "HUS-77"):
        assert not any(secret in text for text in logged), secret
