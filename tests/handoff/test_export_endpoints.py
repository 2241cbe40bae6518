"""FHIR and HL7 of an encounter, fetched by the people who may see it."""

import pytest
from hl7apy.parser import parse_message

from handoff.interop.fhir.validation import schema_issues
from handoff.services.vitals import vitals_record

pytestmark = pytest.mark.django_db


@pytest.fixture
def with_vitals(paramedic, routed):
    vitals_record(
        user=paramedic,
        encounter_id=routed.pk,
        data={"heart_rate": 118, "respiratory_rate": 24, "systolic_bp": 96, "spo2": 93},
        client_id="v1",
        device_id="tab-1",
    )
    return routed


def test_the_receiving_ed_fetches_a_valid_fhir_bundle(client, ed_nurse, with_vitals):
    client.force_login(ed_nurse)
    response = client.get(f"/api/v1/encounters/{with_vitals.public_id}/fhir/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/fhir+json")
    bundle = response.json()
    assert schema_issues(bundle) == []
    assert bundle["type"] == "document"
    codes = {
        coding["code"]
        for entry in bundle["entry"]
        if entry["resource"]["resourceType"] == "Observation"
        for coding in entry["resource"]["code"].get("coding", [])
    }
    assert {"8867-4", "9279-1", "85354-9", "2708-6"} <= codes


@pytest.mark.parametrize("trigger", ["A05", "A04", "A08"])
def test_hl7_adt_messages_parse(client, paramedic, with_vitals, trigger):
    client.force_login(paramedic)
    response = client.get(f"/api/v1/encounters/{with_vitals.public_id}/hl7/", {"trigger": trigger})
    assert response.status_code == 200
    message = parse_message(response.content.decode().replace("\n", "\r"))
    assert message.msh.msh_9.to_er7().startswith(f"ADT^{trigger}")
    assert with_vitals.temp_identifier in response.content.decode()


def test_an_unknown_trigger_is_refused_naming_it(client, paramedic, with_vitals):
    client.force_login(paramedic)
    response = client.get(f"/api/v1/encounters/{with_vitals.public_id}/hl7/", {"trigger": "A99"})
    assert response.status_code == 400
    assert "trigger" in response.json()


@pytest.mark.parametrize("who", ["dispatcher", "other_ed", "other_crew", "admin"])
def test_outsiders_cannot_fetch_the_record(client, request, with_vitals, who):
    client.force_login(request.getfixturevalue(who))
    for path in ("fhir/", "hl7/"):
        response = client.get(f"/api/v1/encounters/{with_vitals.public_id}/{path}")
        assert response.status_code in {403, 404}, (who, path)
