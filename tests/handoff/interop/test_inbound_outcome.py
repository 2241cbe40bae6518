"""The hospital system sends the outcome in: HL7 v2 ADT^A03 answered with an ACK, a FHIR
Encounter update answered with an OperationOutcome. Good messages record the outcome; a
malformed one, an unknown encounter or another hospital's patient changes nothing, is kept
for inspection and is answered naming the field."""

from datetime import timedelta

import hl7
import pytest
from django.core.management import call_command

from audit.models import AuditEvent
from handoff.interop.hl7 import validate
from handoff.models import HospitalOutcome, InboundMessage
from handoff.services.inbound import inbound_token_issue, inbound_token_revoke
from tests import factories
from tests.handoff.conftest import arrive

pytestmark = pytest.mark.django_db

HL7_URL = "/api/v1/inbound/hl7/"
FHIR_URL = "/api/v1/inbound/fhir/Encounter"
ENCOUNTER_SYSTEM = "urn:golden-hour:encounter"


@pytest.fixture
def arrived(paramedic, routed):
    return arrive(paramedic, routed, hours_ago=1)


@pytest.fixture
def token(hospital):
    return inbound_token_issue(hospital=hospital, label="test HIS")


def a03(
    visit="",
    *,
    disposition="09",
    location="Cardiology ward 4",
    dg1="I21.0^Acute transmural MI of anterior wall^I10",
    kind="ADT^A03^ADT_A03",
    control="HIS0001",
    pid3="",
):
    pv1 = ["PV1", "1", "E"] + [""] * 50
    pv1[36] = disposition
    pv1[37] = location
    if visit:
        pv1[50] = f"{visit}^^^GOLDEN_HOUR^VN"
    segments = [
        f"MSH|^~\\&|HIS|HOSP|GOLDEN_HOUR|GOLDENHOUR|20261207120000||{kind}|{control}|P|2.5",
        "EVN|A03|20261207120000",
        f"PID|1||{pid3 or 'MRN77^^^HOSP^MR'}||UNKNOWN^^^^^^U",
        "|".join(pv1).rstrip("|"),
    ]
    if dg1:
        segments.append(f"DG1|1||{dg1}||20261207120000|F")
    return "\r".join(segments) + "\r"


def _post_hl7(client, body, token):
    return client.post(
        HL7_URL, body, content_type="application/hl7-v2", HTTP_AUTHORIZATION=f"Bearer {token}"
    )


def _ack(response):
    # Every answer is a valid v2.5 ACK (hl7apy, strict), whatever it says.
    validate(response.content.decode())
    message = hl7.parse(response.content.decode().replace("\n", "\r"))
    msa = message.segment("MSA")
    err = message.segment("ERR") if "ERR" in {str(s[0]) for s in message} else None
    return str(msa[1]), str(msa[2]), err


def test_a03_records_the_outcome_and_acks_aa(client, arrived, token):
    response = _post_hl7(client, a03(arrived.temp_identifier), token)
    assert response.status_code == 200, response.content
    code, control, err = _ack(response)
    assert (code, control, err) == ("AA", "HIS0001", None)
    outcome = HospitalOutcome.objects.get(encounter=arrived)
    assert outcome.ed_disposition == "09"
    assert outcome.admitted_unit == "Cardiology ward 4"
    assert outcome.diagnosis_icd10 == "I21.0"
    assert outcome.source == "hl7"
    assert InboundMessage.objects.get().status == "accepted"
    assert AuditEvent.objects.filter(action="outcome_record", detail__source="hl7").count() == 1


def test_a03_found_by_the_pid3_temporary_identifier(client, arrived, token):
    pid3 = f"{arrived.temp_identifier}^^^GOLDEN_HOUR&urn:golden-hour:temp-id&URI^PT"
    response = _post_hl7(client, a03(pid3=pid3, disposition="1", location="", dg1=""), token)
    # Disposition "1" is table 0112's 01 without its zero; no diagnosis: refused by name.
    code, _, err = _ack(response)
    assert code == "AE"
    assert str(err[2]) == "DG1^1^3"
    response = _post_hl7(
        client, a03(pid3=pid3, disposition="1", location="", dg1="^Chest wall pain"), token
    )
    assert _ack(response)[0] == "AA"
    assert HospitalOutcome.objects.get().ed_disposition == "01"


@pytest.mark.parametrize(
    ("kwargs", "ack_code", "location", "error_code"),
    [
        ({"disposition": "99"}, "AE", "PV1^1^36", "103"),
        ({"disposition": ""}, "AE", "PV1^1^36", "101"),
        ({"location": ""}, "AE", "PV1^1^37", "102"),
        ({"dg1": "I21.0^MI^SNM"}, "AE", "DG1^1^3", "103"),
        ({"dg1": "21X^MI^I10"}, "AE", "DG1^1^3", "102"),
        ({"kind": "ADT^A08^ADT_A01"}, "AR", "MSH^1^9", "200"),
        ({"control": ""}, "AR", "MSH^1^10", "101"),
    ],
)
def test_bad_a03_is_refused_naming_the_field_and_kept(
    client, arrived, token, kwargs, ack_code, location, error_code
):
    response = _post_hl7(client, a03(arrived.temp_identifier, **kwargs), token)
    assert response.status_code == 400
    code, _, err = _ack(response)
    assert code == ack_code
    assert str(err[2]) == location
    assert str(err[3]).split("^")[0] == error_code
    assert not HospitalOutcome.objects.exists()
    kept = InboundMessage.objects.get()
    assert kept.status == "rejected"
    assert kept.error_field == location.replace("^1^", "-")
    assert kept.body.startswith("MSH")


def test_garbage_is_refused_with_ar(client, token):
    response = _post_hl7(client, "hello", token)
    assert response.status_code == 400
    assert _ack(response)[0] == "AR"
    assert InboundMessage.objects.get().body == "hello"


def test_a03_for_an_unknown_or_another_hospitals_encounter_is_the_same_ae(
    client, paramedic, arrived, token
):
    other = factories.HospitalFactory()
    other_token = inbound_token_issue(hospital=other)
    for body, credential in (
        (a03("GH-2026-NOSUCH"), token),
        (a03(arrived.temp_identifier), other_token),
    ):
        response = _post_hl7(client, body, credential)
        code, _, err = _ack(response)
        assert code == "AE"
        assert str(err[2]) == "PV1^1^50"
        assert str(err[3]).startswith("204")
        assert "No encounter sent to this hospital" in str(err[8])
    assert not HospitalOutcome.objects.exists()


def test_a03_before_arrival_changes_nothing(client, routed, token):
    response = _post_hl7(client, a03(routed.temp_identifier), token)
    assert _ack(response)[0] == "AE"
    assert not HospitalOutcome.objects.exists()


@pytest.mark.parametrize("header", [None, "Bearer ghin_wrong", "Token x"])
def test_inbound_needs_the_hospitals_token(client, ed_nurse, arrived, header):
    client.force_login(ed_nurse)  # a session is not a hospital credential
    extra = {"HTTP_AUTHORIZATION": header} if header else {}
    response = client.post(
        HL7_URL, a03(arrived.temp_identifier), content_type="text/plain", **extra
    )
    assert response.status_code == 401
    assert not InboundMessage.objects.exists()


def test_a_revoked_token_is_refused_and_the_command_prints_a_token_once(
    client, hospital, arrived, capsys
):
    call_command("hospital_inbound_token", hospital.code, "--label", "HIS")
    printed = capsys.readouterr().out.strip().splitlines()[-1]
    assert printed.startswith("ghin_")
    assert printed not in str(list(hospital.inbound_tokens.values()))
    assert _post_hl7(client, a03(arrived.temp_identifier), printed).status_code == 200
    inbound_token_revoke(token_id=hospital.inbound_tokens.get().pk)
    assert _post_hl7(client, a03(arrived.temp_identifier), printed).status_code == 401


# --- FHIR Encounter --------------------------------------------------------------------------


def encounter_resource(public_id, *, code="hosp", system=None, status="finished", icd="I63.9"):
    return {
        "resourceType": "Encounter",
        "id": "his-enc-1",
        "status": status,
        "identifier": [{"system": ENCOUNTER_SYSTEM, "value": str(public_id)}],
        "contained": [
            {
                "resourceType": "Condition",
                "id": "dx",
                "code": {
                    "coding": [{"system": "http://hl7.org/fhir/sid/icd-10", "code": icd}],
                    "text": "Ischaemic stroke",
                },
            }
        ],
        "diagnosis": [{"condition": {"reference": "#dx"}, "rank": 1}],
        "hospitalization": {
            "dischargeDisposition": {
                "coding": [
                    {
                        "system": system
                        or "http://terminology.hl7.org/CodeSystem/discharge-disposition",
                        "code": code,
                    }
                ]
            },
            "destination": {"display": "University Hospital Stroke Centre"},
        },
    }


def _put_fhir(client, resource, token):
    import json

    return client.put(
        FHIR_URL,
        json.dumps(resource) if not isinstance(resource, str) else resource,
        content_type="application/fhir+json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )


def test_fhir_encounter_records_a_transfer(client, arrived, token):
    response = _put_fhir(client, encounter_resource(arrived.public_id), token)
    assert response.status_code == 200, response.content
    assert response.json()["resourceType"] == "OperationOutcome"
    outcome = HospitalOutcome.objects.get()
    assert outcome.ed_disposition == "02"
    assert outcome.source == "fhir"
    assert outcome.transfer_facility == "University Hospital Stroke Centre"
    assert (outcome.diagnosis_icd10, outcome.diagnosis_text) == ("I63.9", "Ischaemic stroke")


def test_fhir_nubc_code_is_taken_as_is(client, arrived, token):
    resource = encounter_resource(
        arrived.public_id, code="20", system="https://www.nubc.org/patient-discharge"
    )
    del resource["hospitalization"]["destination"]
    assert _put_fhir(client, resource, token).status_code == 200
    assert HospitalOutcome.objects.get().ed_disposition == "20"


@pytest.mark.parametrize(
    ("change", "expression"),
    [
        ({"code": "alt-home"}, "Encounter.hospitalization.dischargeDisposition"),
        ({"system": "http://example.org/x"}, "Encounter.hospitalization.dischargeDisposition"),
        ({"status": "in-progress"}, "Encounter.status"),
        ({"icd": "stroke"}, "Encounter.diagnosis"),
    ],
)
def test_bad_fhir_encounter_is_refused_naming_the_element(
    client, arrived, token, change, expression
):
    response = _put_fhir(client, encounter_resource(arrived.public_id, **change), token)
    assert response.status_code == 400
    issue = response.json()["issue"][0]
    assert issue["severity"] == "error"
    assert issue["expression"] == [expression]
    assert not HospitalOutcome.objects.exists()
    assert InboundMessage.objects.get().status == "rejected"


def test_fhir_malformed_json_and_wrong_resource(client, token):
    assert _put_fhir(client, "{not json", token).status_code == 400
    assert _put_fhir(client, {"resourceType": "Patient"}, token).status_code == 400
    assert InboundMessage.objects.filter(status="rejected").count() == 2


def test_fhir_unknown_or_another_hospitals_encounter_is_not_found(client, arrived, token):
    other_token = inbound_token_issue(hospital=factories.HospitalFactory())
    response = _put_fhir(client, encounter_resource(arrived.public_id), other_token)
    assert response.status_code == 404
    assert response.json()["issue"][0]["code"] == "not-found"
    missing = encounter_resource("0c6f1f6e-3a47-4a52-9c55-000000000000")
    assert _put_fhir(client, missing, token).status_code == 404
    assert not HospitalOutcome.objects.exists()


def test_inbound_update_keeps_the_eds_treatment_time(client, ed_nurse, arrived, token):
    from handoff.services.outcome import outcome_record

    needle = arrived.arrived_at + timedelta(minutes=35)
    outcome_record(
        user=ed_nurse,
        encounter_id=arrived.pk,
        data={
            "diagnosis_text": "Stroke",
            "ed_disposition": "09",
            "admitted_unit": "Stroke unit",
            "pathway": "stroke",
            "needle_at": needle.isoformat(),
        },
    )
    assert _put_fhir(client, encounter_resource(arrived.public_id), token).status_code == 200
    outcome = HospitalOutcome.objects.get()
    assert outcome.ed_disposition == "02"
    assert outcome.needle_at == needle
