"""Logged events carry the temporary identifier, never the patient's identity."""

import json

import pytest

from config.models import EventLog
from handoff import services
from tests.handoff.conftest import PATIENT

pytestmark = pytest.mark.django_db


def test_no_patient_name_appears_in_any_logged_event(
    paramedic, ed_nurse, routed, hospital, settings
):
    services.encounter_update(
        user=paramedic,
        encounter_id=routed.pk,
        data={"birth_date": "1950-03-04", "findings": {"cardiac_arrest": True}},
    )
    services.vitals_record(
        user=paramedic, encounter_id=routed.pk, data={"heart_rate": 40}, client_id="v1"
    )
    services.ed_acknowledge(user=ed_nurse, encounter_id=routed.pk)
    services.crew_message_send(user=paramedic, encounter_id=routed.pk, text="on our way")
    services.patient_arrived(user=paramedic, encounter_id=routed.pk)
    services.transfer_of_care_confirm(user=paramedic, encounter_id=routed.pk)
    services.transfer_of_care_confirm(user=ed_nurse, encounter_id=routed.pk)
    services.admission_reconcile(user=ed_nurse, encounter_id=routed.pk, mrn="HUS-77")
    logged = [json.dumps(e.data) for e in EventLog.objects.all()]
    assert len(logged) > 10
    for secret in (PATIENT["family_name"], PATIENT["given_name"], "1950-03-04", "HUS-77"):
        assert not any(secret in text for text in logged), secret
