"""The ED card shows each vital's latest value with its own time: a partial set does not
hide the blood pressure taken a minute earlier."""

from datetime import timedelta

import pytest
from django.utils import timezone

from audit.models import AuditEvent
from handoff import selectors
from handoff.models import Encounter
from handoff.services.encounters import encounter_update
from handoff.services.vitals import vitals_record

pytestmark = pytest.mark.django_db


def _set(user, encounter, client_id, minutes_ago, **values):
    taken = (timezone.now() - timedelta(minutes=minutes_ago)).isoformat()
    return vitals_record(
        user=user, encounter_id=encounter.pk, data=values, client_id=client_id, taken_at=taken
    )


def test_each_vital_keeps_its_newest_value_and_time(paramedic, routed):
    full = _set(
        paramedic, routed, "v1", 3, heart_rate=120, systolic_bp=90, diastolic_bp=60, spo2=91
    )
    partial = _set(paramedic, routed, "v2", 1, heart_rate=112)
    row = selectors.board_row(Encounter.objects.get(pk=routed.pk))
    latest = row["latest_values"]
    assert latest["heart_rate"] == {"value": 112, "at": partial.taken_at.isoformat()}
    assert latest["systolic_bp"] == {
        "value": 90,
        "diastolic": 60,
        "at": full.taken_at.isoformat(),
    }
    assert latest["spo2"]["value"] == 91
    assert "diastolic_bp" not in latest
    # The newest set alone would have shown no blood pressure at all.
    assert "systolic_bp" not in row["latest_vitals"]["values"]


def test_the_incoming_list_carries_the_same_latest_values(paramedic, routed, hospital):
    _set(paramedic, routed, "v1", 4, blood_glucose=4.2, blood_glucose_unit="mmol/L")
    _set(paramedic, routed, "v2", 2, heart_rate=80)
    [row] = selectors.ed_incoming_list(hospital_id=hospital.pk)
    assert row["latest_values"]["blood_glucose"]["unit"] == "mmol/L"
    assert row["latest_values"]["heart_rate"]["value"] == 80


def test_names_medications_and_history_reach_the_receiving_ed_audited_and_no_one_else(
    client, paramedic, ed_nurse, other_ed, routed, django_capture_on_commit_callbacks
):
    encounter_update(
        user=paramedic,
        encounter_id=routed.pk,
        data={
            "medications": [{"name": "warfarin", "anticoagulant": True}],
            "history": ["atrial fibrillation"],
        },
    )
    row = selectors.board_row(Encounter.objects.get(pk=routed.pk))
    assert "family_name" not in row
    assert "history" not in row
    client.force_login(ed_nurse)
    with django_capture_on_commit_callbacks(execute=True):
        detail = client.get(f"/api/v1/encounters/{routed.public_id}/").json()
    assert (detail["family_name"], detail["given_name"]) == ("Virtanen", "Aino")
    assert detail["medications"] == [{"name": "warfarin", "anticoagulant": True}]
    assert detail["history"] == ["atrial fibrillation"]
    assert AuditEvent.objects.filter(
        actor=ed_nurse, action="read", object_id=str(routed.public_id)
    ).exists()
    client.force_login(other_ed)
    assert client.get(f"/api/v1/encounters/{routed.public_id}/").status_code == 403
