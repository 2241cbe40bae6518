"""The inbound endpoint: a signed patient-handoff message opens the encounter here; every bad
input is refused with an OperationOutcome naming the element, kept, and changes nothing."""

from __future__ import annotations

import json
import time

import pytest

from audit.models import AuditEvent
from dispatch.models import Incident, Unit
from exchange.models import InboundMessage, InboundStatus
from exchange.services import peer_key_add, peer_key_retire
from handoff.models import Encounter
from handoff.selectors import ed_incoming_list
from tests.exchange.conftest import SECRET, handoff_message, post

pytestmark = pytest.mark.django_db


def _issue(response) -> dict:
    body = response.json()
    if body["resourceType"] == "Bundle":
        header = body["entry"][0]["resource"]
        assert header["response"]["code"] == "fatal-error"
        outcome = body["entry"][1]["resource"]
    else:
        outcome = body
    assert outcome["resourceType"] == "OperationOutcome"
    return outcome["issue"][0]


def _nothing_changed() -> None:
    assert Encounter.objects.count() == 0
    assert Incident.objects.count() == 0


def test_a_signed_handoff_opens_the_encounter_on_the_receiving_ed_board(
    client, peer, receiving_hospital
):
    message = handoff_message()
    response = post(client, message)
    assert response.status_code == 200, response.content
    receipt = response.json()
    header = receipt["entry"][0]["resource"]
    assert receipt["type"] == "message"
    assert header["response"] == {
        "identifier": message["entry"][0]["resource"]["id"],
        "code": "ok",
    }
    encounter = Encounter.objects.get()
    assert encounter.destination == receiving_hospital
    assert encounter.working_impression == "Acute ischaemic stroke"
    assert encounter.allergies == ["Penicillin", "Latex"]
    assert encounter.assignment.unit.call_sign == "peer-a:MEDIC 12"
    assert encounter.assignment.incident.determinant == "ECHO"
    rows = ed_incoming_list(hospital_id=receiving_hospital.pk)
    assert [r["encounter_id"] for r in rows] == [str(encounter.public_id)]
    # The crew's sets, re-validated and scored here: NEWS2 recomputed, not copied.
    sets = list(encounter.vitals.order_by("taken_at"))
    assert [(v.heart_rate, v.systolic_bp) for v in sets] == [(104, 102), (112, 96)]
    assert sets[1].spo2 == 91
    assert sets[1].on_oxygen is True
    # RR 24 (2) + SpO2 91 scale 1 (3) + oxygen (2) + SBP 96 (2) + HR 112 (2) + AVPU V (3)
    # + 38.4 degC (1): the sample document's own "11" is a fixture value, not trusted.
    assert sets[1].news2_total == 15
    # The crew's treatment comes too: procedures and medications given, with their times.
    assert [(i.text, i.code) for i in encounter.interventions.all()] == [
        ("12-lead ECG", "268400002")
    ]
    given = [
        (m.name, m.dose, m.unit, m.route) for m in encounter.medications_given.order_by("given_at")
    ]
    assert given == [
        ("Ondansetron", 4.0, "mg", "IV"),
        ("Oxygen", 15.0, "L/min", "non-rebreather mask"),
    ]
    kept = InboundMessage.objects.get()
    assert (kept.status, kept.encounter, kept.peer) == (InboundStatus.ACCEPTED, encounter, peer)
    created = AuditEvent.objects.filter(
        action="create", object_type="encounter", object_id=str(encounter.public_id)
    )
    assert created.count() == 1
    # The local centre's console shows the visiting unit transporting, as a local one.
    from dispatch.events import centre_group
    from realtime.models import EventLog

    unit = encounter.assignment.unit
    assert unit.status == "transporting"
    shown = EventLog.objects.filter(stream=centre_group(unit.centre_id))
    assert {e.type for e in shown} >= {"dispatch.incident.created", "dispatch.unit.updated"}
    (incident_event,) = [e.data for e in shown if e.type == "dispatch.incident.created"]
    assert incident_event["assignments"][0]["call_sign"] == "peer-a:MEDIC 12"


def test_a_later_message_with_the_same_treatment_stores_it_once(client, peer, receiving_hospital):
    assert post(client, handoff_message()).status_code == 200
    assert post(client, handoff_message()).status_code == 200
    encounter = Encounter.objects.get()
    assert encounter.interventions.count() == 1
    assert encounter.medications_given.count() == 2


def test_a_medication_without_a_time_refuses_the_message_naming_it(
    client, peer, receiving_hospital
):
    message = handoff_message()
    bundle = next(
        e["resource"] for e in message["entry"] if e["resource"]["resourceType"] == "Bundle"
    )
    for entry in bundle["entry"]:
        if entry["resource"]["resourceType"] == "MedicationAdministration":
            del entry["resource"]["effectiveDateTime"]
            break
    answer = post(client, message)
    assert answer.status_code == 400
    assert "effectiveDateTime" in json.dumps(answer.json())
    assert Encounter.objects.count() == 0


def test_a_repeat_gets_the_same_receipt_and_changes_nothing(client, peer, receiving_hospital):
    message = handoff_message()
    first = post(client, message)
    second = post(client, message)
    assert second.status_code == 200
    assert second.json() == first.json()
    assert Encounter.objects.count() == 1
    assert InboundMessage.objects.count() == 1


def test_a_replayed_message_id_with_other_content_is_409(client, peer, receiving_hospital):
    message = handoff_message()
    assert post(client, message).status_code == 200
    changed = json.loads(json.dumps(message))
    changed["timestamp"] = "2030-01-01T00:00:00+00:00"
    response = post(client, changed)
    assert response.status_code == 409
    issue = _issue(response)
    assert issue["code"] == "duplicate"
    assert issue["expression"] == ["MessageHeader.id"]
    assert Encounter.objects.count() == 1
    assert (
        InboundMessage.objects.filter(status="rejected", reason="replayed_message_id").count() == 1
    )


def test_a_later_message_about_the_same_encounter_updates_it(client, peer, receiving_hospital):
    assert post(client, handoff_message()).status_code == 200
    later = handoff_message(working_impression="Intracerebral haemorrhage")
    assert post(client, later).status_code == 200
    encounter = Encounter.objects.get()
    assert encounter.working_impression == "Intracerebral haemorrhage"


@pytest.mark.parametrize(
    ("kwargs", "status", "reason", "element"),
    [
        ({"headers": {}}, 401, "unsigned", "X-GH-Key-Id"),
        ({"key_id": "k_nobody"}, 401, "unknown_key", "X-GH-Key-Id"),
        ({"secret": "x" * 40}, 401, "bad_signature", "X-GH-Signature"),
        ({"stamp": int(time.time()) - 3600}, 401, "expired_timestamp", "X-GH-Timestamp"),
        ({"stamp": 0}, 401, "expired_timestamp", "X-GH-Timestamp"),
    ],
)
def test_a_request_not_signed_by_an_active_peer_key_is_401(
    client, peer, receiving_hospital, kwargs, status, reason, element
):
    response = post(client, handoff_message(), **kwargs)
    assert response.status_code == status
    issue = _issue(response)
    assert issue["code"] == "security"
    assert issue["expression"] == [element]
    kept = InboundMessage.objects.get()
    assert (kept.status, kept.reason, kept.http_status) == ("rejected", reason, status)
    _nothing_changed()


def test_a_signature_over_another_body_is_refused(client, peer, receiving_hospital):
    message = handoff_message()
    good = post(client, b"{}")  # any signed body, to take its headers
    assert good.status_code == 400
    from exchange import signing
    from exchange.services import INBOUND_PATH

    ts = str(int(time.time()))
    other = signing.sign(SECRET, "POST", INBOUND_PATH, ts, b"{}")
    response = post(client, message, stamp=int(ts), signature=other)
    assert response.status_code == 401
    assert _issue(response)["expression"] == ["X-GH-Signature"]
    _nothing_changed()


@pytest.mark.parametrize(
    ("mutate", "element"),
    [
        (lambda m: b"{not json", "Bundle"),
        (lambda m: {**m, "type": "document"}, "Bundle.type"),
        (lambda m: {**m, "resourceType": "Patient"}, "Bundle.resourceType"),
        (lambda m: {**m, "entry": m["entry"][1:]}, "Bundle.entry[0].resource"),
        (lambda m: {**m, "entry": []}, "Bundle.entry"),
    ],
)
def test_malformed_or_not_a_message_is_400_naming_the_element(
    client, peer, receiving_hospital, mutate, element
):
    response = post(client, mutate(handoff_message()))
    assert response.status_code == 400
    issue = _issue(response)
    assert issue["expression"] == [element]
    assert InboundMessage.objects.get().status == "rejected"
    _nothing_changed()


def _header(message):
    return message["entry"][0]["resource"]


def test_an_unknown_event_is_refused(client, peer, receiving_hospital):
    message = handoff_message()
    _header(message)["eventCoding"]["code"] = "lab-result"
    response = post(client, message)
    assert response.status_code == 400
    assert _issue(response)["expression"] == ["MessageHeader.eventCoding"]
    _nothing_changed()


def test_a_focus_outside_the_bundle_is_refused(client, peer, receiving_hospital):
    message = handoff_message()
    _header(message)["focus"] = [{"reference": "urn:uuid:elsewhere"}]
    response = post(client, message)
    assert response.status_code == 400
    assert _issue(response)["expression"] == ["MessageHeader.focus[0]"]
    _nothing_changed()


def test_a_hospital_this_side_does_not_have_is_a_fatal_error_receipt(client, peer):
    response = post(client, handoff_message())
    assert response.status_code == 400
    issue = _issue(response)
    assert issue["expression"] == ["Encounter.serviceProvider"]
    assert issue["code"] == "not-found"
    kept = InboundMessage.objects.get()
    assert (kept.status, kept.reason) == ("rejected", "unknown_hospital")
    _nothing_changed()


def test_a_message_without_the_unit_is_refused(client, peer, receiving_hospital):
    message = handoff_message()
    del _header(message)["sender"]
    response = post(client, message)
    assert response.status_code == 400
    assert _issue(response)["expression"] == ["MessageHeader.sender.identifier"]
    _nothing_changed()


def test_during_a_rotation_both_keys_are_accepted_then_the_old_one_is_not(
    client, peer, receiving_hospital
):
    new_secret = peer_key_add(peer=peer, key_id="k_new")
    assert post(client, handoff_message(), key_id="k_new", secret=new_secret).status_code == 200
    assert post(client, handoff_message()).status_code == 200  # the old key, still active
    peer_key_retire(key_id="k_test")
    response = post(client, handoff_message())
    assert response.status_code == 401
    assert _issue(response)["expression"] == ["X-GH-Key-Id"]


def test_a_third_key_retires_the_oldest(peer):
    peer_key_add(peer=peer, key_id="k_two")
    peer_key_add(peer=peer, key_id="k_three")
    active = set(peer.keys.filter(retired_at__isnull=True).values_list("key_id", flat=True))
    assert active == {"k_two", "k_three"}


def test_nothing_patient_identifying_is_logged(client, peer, receiving_hospital, caplog):
    caplog.set_level("DEBUG")
    message = handoff_message()
    post(client, message)
    del _header(message)["sender"]
    post(client, message)
    assert "Penicillin" not in caplog.text
    assert "GH-7F3K2Q" not in caplog.text
    assert "ischaemic" not in caplog.text


def _document_resource(message, kind):
    document = message["entry"][1]["resource"]
    return next(e["resource"] for e in document["entry"] if e["resource"]["resourceType"] == kind)


def test_a_field_handoff_refuses_is_named_and_nothing_is_created(client, peer, receiving_hospital):
    message = handoff_message()
    _document_resource(message, "Patient")["birthDate"] = "2999-01-01"
    response = post(client, message)
    assert response.status_code == 400
    issue = _issue(response)
    assert issue["expression"] == ["birth_date"]
    assert InboundMessage.objects.get().reason == "invalid_content"
    _nothing_changed()
    # Nor the peer's unit and its service crew, made in the same transaction.
    assert not Unit.objects.filter(call_sign__startswith="peer-a:").exists()


def test_a_focus_that_is_not_a_document_is_refused(client, peer, receiving_hospital):
    message = handoff_message()
    message["entry"][1]["resource"]["type"] = "collection"
    response = post(client, message)
    assert response.status_code == 400
    assert _issue(response)["expression"] == ["MessageHeader.focus"]
    _nothing_changed()


def test_a_peer_without_a_station_here_does_not_receive_patients(client, peer, receiving_hospital):
    peer.station = None
    peer.save()
    response = post(client, handoff_message())
    assert response.status_code == 400
    assert _issue(response)["code"] == "not-supported"
    _nothing_changed()


def test_an_implausible_vital_refuses_the_whole_message(client, peer, receiving_hospital):
    message = handoff_message()
    document = message["entry"][1]["resource"]
    for entry in document["entry"]:
        resource = entry["resource"]
        if resource["resourceType"] != "Observation":
            continue
        codes = [c["code"] for c in resource["code"].get("coding", [])]
        if "8867-4" in codes:  # heart rate
            resource["valueQuantity"]["value"] = 900
    response = post(client, message)
    assert response.status_code == 400
    assert _issue(response)["expression"] == ["heart_rate"]
    _nothing_changed()
