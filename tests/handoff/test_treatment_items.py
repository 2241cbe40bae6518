"""The tablet's treatment items (ATMIST Treatment) through the device protocol."""

from datetime import timedelta

import pytest
from django.utils import timezone

from audit.models import AuditEvent
from dispatch.devices import CREW_ITEM_TYPES
from handoff.models import Intervention, MedicationGiven
from handoff.services import HandoffError
from handoff.services.encounters import encounter_close
from handoff.services.treatment import intervention_record, medication_record
from realtime.devices import item_process
from realtime.models import DeviceItem

pytestmark = pytest.mark.django_db

DEVICE = "tab-1"


def _send(user, kind, item_id, data, seq=1):
    return item_process(
        user=user,
        device_id=DEVICE,
        item={"type": kind, "id": item_id, "seq": seq, "data": data},
        types=CREW_ITEM_TYPES,
    )


def _minutes_ago(n):
    return (timezone.now() - timedelta(minutes=n)).isoformat()


def _intervention(encounter, **extra):
    data = {
        "encounter": str(encounter.public_id),
        "intervention_id": "iv-1",
        "performed_at": _minutes_ago(3),
        "text": "IV access",
        "snomed_code": "392230005",
    }
    data.update(extra)
    return data


def _medication(encounter, **extra):
    data = {
        "encounter": str(encounter.public_id),
        "medication_id": "med-1",
        "given_at": _minutes_ago(2),
        "name": "aspirin",
        "dose": 300,
        "dose_unit": "mg",
        "route": "PO",
    }
    data.update(extra)
    return data


def test_an_intervention_is_stored_once_however_often_it_is_sent(paramedic, encounter):
    data = _intervention(encounter)
    first = _send(paramedic, "intervention", "item-1", data)
    assert first["type"] == "ack"
    assert first["intervention_id"] == "iv-1"
    again = _send(paramedic, "intervention", "item-1", data)
    assert again == first
    # The same record under a new item id (outbox rebuilt): still one.
    other = _send(paramedic, "intervention", "item-2", data, seq=2)
    assert other["type"] == "ack"
    assert other["intervention_id"] == "iv-1"
    [stored] = Intervention.objects.filter(encounter=encounter)
    assert stored.text == "IV access"
    assert stored.code == "392230005"
    assert stored.recorded_by == paramedic


def test_a_medication_is_stored_once_however_often_it_is_sent(paramedic, encounter):
    data = _medication(encounter)
    first = _send(paramedic, "medication", "item-1", data)
    assert first["type"] == "ack"
    assert first["medication_id"] == "med-1"
    assert _send(paramedic, "medication", "item-1", data) == first
    assert _send(paramedic, "medication", "item-2", data, seq=2)["type"] == "ack"
    [stored] = MedicationGiven.objects.filter(encounter=encounter)
    assert (stored.name, stored.dose, stored.unit, stored.route) == ("aspirin", 300, "mg", "PO")


def test_without_their_own_id_the_same_record_is_still_stored_once(paramedic, encounter):
    data = _intervention(encounter)
    del data["intervention_id"]
    med = _medication(encounter)
    del med["medication_id"]
    assert _send(paramedic, "intervention", "a", data)["type"] == "ack"
    assert _send(paramedic, "intervention", "b", data, seq=2)["type"] == "ack"
    assert _send(paramedic, "medication", "c", med, seq=3)["type"] == "ack"
    assert _send(paramedic, "medication", "d", med, seq=4)["type"] == "ack"
    assert Intervention.objects.count() == 1
    assert MedicationGiven.objects.count() == 1


def test_treatment_shows_in_the_encounters_atmist(paramedic, encounter):
    from handoff.selectors import encounter_detail

    _send(paramedic, "intervention", "a", _intervention(encounter, text="Oxygen"))
    _send(paramedic, "medication", "b", _medication(encounter), seq=2)
    encounter.refresh_from_db()
    texts = [t["text"] for t in encounter_detail(encounter)["treatment"]]
    assert texts == ["Oxygen", "aspirin 300 mg PO"]


@pytest.mark.parametrize(
    ("kind", "change", "field"),
    [
        ("intervention", {"performed_at": "yesterday"}, "performed_at"),
        ("intervention", {"performed_at": "2026-01-01T10:00:00"}, "performed_at"),
        ("intervention", {"performed_at": "2099-01-01T10:00:00+00:00"}, "performed_at"),
        ("intervention", {"performed_at": None}, "performed_at"),
        ("intervention", {"text": None}, "text"),
        ("intervention", {"text": "   "}, "text"),
        ("intervention", {"text": "x" * 201}, "text"),
        ("intervention", {"snomed_code": "IV"}, "snomed_code"),
        ("intervention", {"intervention_id": "bad id!"}, "intervention_id"),
        ("intervention", {"encounter": "nope"}, "encounter"),
        ("medication", {"given_at": "12:30"}, "given_at"),
        ("medication", {"given_at": None}, "given_at"),
        ("medication", {"name": None}, "name"),
        ("medication", {"name": ""}, "name"),
        ("medication", {"dose": "300"}, "dose"),
        ("medication", {"dose": -1}, "dose"),
        ("medication", {"dose_unit": None}, "dose_unit"),
        ("medication", {"dose_unit": 5}, "dose_unit"),
        ("medication", {"route": "x" * 40}, "route"),
        ("medication", {"medication_id": 7}, "medication_id"),
    ],
)
def test_a_bad_item_is_rejected_naming_the_field_and_stores_nothing(
    paramedic, encounter, kind, change, field
):
    data = _intervention(encounter) if kind == "intervention" else _medication(encounter)
    data.update(change)
    answer = _send(paramedic, kind, "bad-1", data)
    assert answer["type"] == "reject"
    assert answer["field"] == field
    assert answer["message"]
    assert not Intervention.objects.exists()
    assert not MedicationGiven.objects.exists()
    assert DeviceItem.objects.get(client_id="bad-1").accepted is False
    # The rejection is final: the same id is answered the same way.
    assert _send(paramedic, kind, "bad-1", data) == answer


@pytest.mark.parametrize("kind", ["intervention", "medication"])
def test_a_closed_encounter_takes_no_treatment(paramedic, encounter, kind):
    encounter_close(user=paramedic, encounter_id=encounter.pk)
    data = _intervention(encounter) if kind == "intervention" else _medication(encounter)
    answer = _send(paramedic, kind, "late-1", data)
    assert answer["type"] == "reject"
    assert answer["field"] == "encounter"
    assert not Intervention.objects.exists()
    assert not MedicationGiven.objects.exists()


@pytest.mark.parametrize("kind", ["intervention", "medication"])
def test_another_units_crew_cannot_record_treatment(other_crew, encounter, kind):
    data = _intervention(encounter) if kind == "intervention" else _medication(encounter)
    answer = _send(other_crew, kind, "x-1", data)
    assert answer["type"] == "reject"
    assert answer["field"] == "encounter"
    assert not Intervention.objects.exists()
    assert not MedicationGiven.objects.exists()


@pytest.mark.parametrize(
    ("record", "first", "resend", "differs"),
    [
        (
            intervention_record,
            {"text": "IV access", "code": "392230005"},
            {"text": "IO access", "code": "392230005"},
            "text",
        ),
        (
            medication_record,
            {"name": "aspirin", "dose": 300, "unit": "mg", "route": "PO"},
            {"name": "aspirin", "unit": "mg", "route": "PO"},
            "dose",
        ),
    ],
)
def test_a_resend_returns_the_stored_row_and_a_changed_one_is_refused_naming_the_field(
    paramedic, encounter, record, first, resend, differs
):
    stored = record(user=paramedic, encounter_id=encounter.pk, client_id="t-1", **first)
    # No time sent again: the stored time stands (the first one defaulted to now).
    again = record(user=paramedic, encounter_id=encounter.pk, client_id="t-1", **first)
    assert again.pk == stored.pk
    with pytest.raises(HandoffError) as refused:
        record(user=paramedic, encounter_id=encounter.pk, client_id="t-1", **resend)
    assert (refused.value.code, refused.value.field) == ("client_id_conflict", "client_id")
    assert f"differs in {differs})" in refused.value.message
    assert type(stored).objects.filter(encounter=encounter).count() == 1
    assert (
        AuditEvent.objects.filter(action=record.__name__, object_id=encounter.public_id).count()
        == 1
    )
