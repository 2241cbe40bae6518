"""The handoff REST API: status codes of the whole pre-hospital-to-ED flow."""

import pytest

from handoff.models import Encounter, TeamActivation

pytestmark = pytest.mark.django_db


def post(client, url, body=None):
    return client.post(url, body or {}, content_type="application/json")


def test_crew_to_ed_flow(client, paramedic, ed_nurse, assignment, hospital):
    client.force_login(paramedic)
    created = post(
        client,
        f"/api/v1/assignments/{assignment.pk}/encounters/",
        {
            "sex": "female",
            "estimated_age_years": 70,
            "medications": [{"name": "apixaban", "anticoagulant": True}],
        },
    )
    assert created.status_code == 201, created.json()
    record = created.json()
    base = f"/api/v1/encounters/{record['encounter_id']}/"
    assert record["anticoagulated"] is True
    assert (
        client.get(f"/api/v1/assignments/{assignment.pk}/encounters/").json()[0]["temp_identifier"]
        == record["temp_identifier"]
    )
    assert (
        client.patch(
            base, {"chief_complaint": "stroke symptoms"}, content_type="application/json"
        ).status_code
        == 200
    )
    bad = post(client, base + "vitals/", {"client_id": "v1", "vitals": {"spo2": 120}})
    assert bad.status_code == 400
    assert "spo2" in bad.json()
    good = post(
        client, base + "vitals/", {"client_id": "v1", "vitals": {"heart_rate": 88, "spo2": 96}}
    )
    assert good.status_code == 201
    assert good.json()["news2_risk"] == "low"
    assert len(client.get(base + "vitals/").json()) == 1
    unknown = post(client, base + "destination/", {"hospital": 99999, "reason": "closest"})
    assert unknown.status_code == 400
    assert "hospital" in unknown.json()
    chosen = post(client, base + "destination/", {"hospital": hospital.pk, "reason": "closest"})
    assert chosen.status_code == 200
    assert chosen.json()["admission_status"] == "pre_registered"
    assert post(client, base + "messages/", {"text": "5 min out"}).status_code == 201
    assert (
        post(client, base + "interventions/", {"client_id": "i1", "text": "IV"}).status_code == 201
    )
    assert (
        post(
            client,
            base + "medications/",
            {"client_id": "m1", "name": "NaCl", "dose": 500, "unit": "mL", "route": "IV"},
        ).status_code
        == 201
    )

    client.force_login(ed_nurse)
    incoming = client.get("/api/v1/ed/incoming/").json()
    assert [row["temp_identifier"] for row in incoming] == [record["temp_identifier"]]
    assert "family_name" not in incoming[0]
    assert post(client, base + "acknowledge/").json()["acknowledged_at"]
    assert post(client, base + "bay/", {"bay": "Resus 1"}).json()["bay"] == "Resus 1"
    assert post(client, base + "messages/", {"text": "Resus 1 ready"}).json()["sender"] == "ed"
    assert post(client, base + "transfer/").status_code == 409
    assert post(client, base + "arrival/").json()["arrived_at"]
    assert post(client, base + "transfer/").json()["transfer_of_care_at"] is None
    client.force_login(paramedic)
    done = post(client, base + "transfer/")
    assert done.status_code == 200
    assert done.json()["status"] == "closed"
    assert done.json()["offload_seconds"] is not None
    assert client.get(base).status_code == 403
    assert (
        post(
            client, base + "vitals/", {"client_id": "v2", "vitals": {"heart_rate": 80}}
        ).status_code
        == 409
    )
    client.force_login(ed_nurse)
    reconciled = post(client, base + "reconcile/", {"mrn": "HUS-42"})
    assert reconciled.status_code == 200
    assert reconciled.json()["mrn"] == "HUS-42"
    assert post(client, base + "reconcile/", {"mrn": "HUS-43"}).status_code == 409


def test_activation_acknowledge_api(client, paramedic, ed_nurse, other_ed, routed):
    client.force_login(paramedic)
    base = f"/api/v1/encounters/{routed.public_id}/"
    client.patch(base, {"findings": {"cardiac_arrest": True}}, content_type="application/json")
    activation = TeamActivation.objects.get(encounter=routed)
    url = f"/api/v1/activations/{activation.pk}/acknowledge/"
    assert post(client, url).status_code == 403
    client.force_login(other_ed)
    assert post(client, url).status_code == 403
    client.force_login(ed_nurse)
    answer = post(client, url)
    assert answer.status_code == 200
    assert answer.json()["kind"] == "cardiac_arrest"
    assert answer.json()["acknowledged_at"]


def test_ed_status_api(client, ed_nurse, other_ed, hospital, dispatcher):
    url = f"/api/v1/hospitals/{hospital.pk}/ed-status/"
    client.force_login(ed_nurse)
    assert post(client, url, {"status": "diversion"}).status_code == 400
    answer = post(client, url, {"status": "diversion", "reason": "No beds"})
    assert answer.status_code == 200
    assert answer.json()["ed_status"] == "diversion"
    for user in (other_ed, dispatcher):
        client.force_login(user)
        assert post(client, url, {"status": "open"}).status_code == 403


def test_closing_twice_is_a_conflict(client, paramedic, encounter):
    client.force_login(paramedic)
    url = f"/api/v1/encounters/{encounter.public_id}/close/"
    assert post(client, url).status_code == 200
    assert post(client, url).status_code == 409
    assert Encounter.objects.get(pk=encounter.pk).status == "closed"


def test_anonymous_gets_nothing(client, routed):
    assert client.get(f"/api/v1/encounters/{routed.public_id}/").status_code in {401, 403}
