"""The dispatch REST API: who may call what, and every refusal names the field."""

import pytest
from django.utils import timezone

from dispatch import services
from dispatch.models import Incident, UnitPosition
from tests import factories
from tests.dispatch.conftest import SENATE_SQUARE

pytestmark = pytest.mark.django_db

NEW_CALL = {
    "caller_name": "Maija Meikäläinen",
    "caller_phone": "+358401234567",
    "chief_complaint": "unconscious",
    "determinant": "ECHO",
    "access_notes": "Gate 4411",
    "location": {"source": "map", "lat": SENATE_SQUARE[0], "lon": SENATE_SQUARE[1]},
}


def post(client, url, body):
    return client.post(url, body, content_type="application/json")


def test_create_list_detail_recommend_dispatch(client, dispatcher, demo_units):
    client.force_login(dispatcher)
    created = post(client, "/api/v1/incidents/", NEW_CALL)
    assert created.status_code == 201, created.json()
    incident = created.json()
    assert incident["response_mode"] == "lights_sirens"
    assert incident["call_list"][0]["caller_phone"] == "+358401234567"
    assert [i["id"] for i in client.get("/api/v1/incidents/").json()] == [incident["id"]]
    assert client.get(f"/api/v1/incidents/{incident['id']}/").json()["access_notes"] == "Gate 4411"
    recs = client.get(f"/api/v1/incidents/{incident['id']}/recommendations/").json()
    eligible = [r for r in recs if r["excluded"] is None]
    assert eligible == sorted(eligible, key=lambda r: r["eta_s"])
    assert {r["excluded"] for r in recs if r["unit_type"] == "BLS"} == {"Echo needs an ALS unit"}
    dispatched = post(
        client,
        f"/api/v1/incidents/{incident['id']}/assignments/",
        {"unit_ids": [eligible[0]["unit_id"]]},
    )
    assert dispatched.status_code == 201
    assert dispatched.json()[0]["status"] == "dispatched"
    assert len(client.get(f"/api/v1/incidents/{incident['id']}/assignments/").json()) == 1


def test_a_nearby_open_incident_is_shown_before_saving_and_the_call_can_be_attached(
    client, dispatcher, road_map
):
    client.force_login(dispatcher)
    first = post(client, "/api/v1/incidents/", NEW_CALL).json()
    again = post(client, "/api/v1/incidents/", NEW_CALL)
    assert again.status_code == 409
    assert [d["id"] for d in again.json()["duplicates"]] == [first["id"]]
    assert Incident.objects.count() == 1
    attached = post(client, "/api/v1/incidents/", {**NEW_CALL, "attach_to": first["id"]})
    assert attached.status_code == 201
    assert attached.json()["incident"]["calls"] == 2
    forced = post(client, "/api/v1/incidents/", {**NEW_CALL, "allow_duplicate": True})
    assert forced.status_code == 201
    assert Incident.objects.count() == 2


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"determinant": "PURPLE"}, "determinant"),
        ({"chief_complaint": ""}, "chief_complaint"),
        ({"location": {"source": "map", "lat": 123, "lon": 24.9}}, "location"),
        ({"location": {"source": "map", "lat": 60.15, "lon": 24.97}}, "location"),
        ({"location": {"source": "address", "text": "Qwxzv Plghtrm 999"}}, "location.text"),
        ({"location": None}, "location"),
    ],
)
def test_bad_calls_are_refused_naming_the_field(client, dispatcher, road_map, change, field):
    client.force_login(dispatcher)
    body = {k: v for k, v in {**NEW_CALL, **change}.items() if v is not None}
    response = post(client, "/api/v1/incidents/", body)
    assert response.status_code == 400, response.json()
    assert field in response.json()
    assert Incident.objects.count() == 0


def test_refused_transition_is_409_naming_the_state(client, dispatcher, demo_units, make_incident):
    client.force_login(dispatcher)
    incident = make_incident()
    [assignment] = services.assignments_create(
        user=dispatcher, incident_id=incident.pk, unit_ids=[demo_units[0].pk]
    )
    response = post(
        client, f"/api/v1/assignments/{assignment.pk}/transition/", {"status": "at_destination"}
    )
    assert response.status_code == 409
    assert "is dispatched" in response.json()["status"][0]
    ok = post(client, f"/api/v1/assignments/{assignment.pk}/transition/", {"status": "en_route"})
    assert ok.json()["status"] == "en_route"
    taken = post(
        client,
        f"/api/v1/incidents/{make_incident(where=(60.1660, 24.9450)).pk}/assignments/",
        {"unit_ids": [demo_units[0].pk]},
    )
    assert taken.status_code == 409
    assert taken.json()["code"] == "unit_unavailable"


def test_unit_status_out_of_service_and_back(client, dispatcher, demo_units):
    client.force_login(dispatcher)
    unit = demo_units[1]
    assert (
        post(client, f"/api/v1/units/{unit.pk}/status/", {"status": "out_of_service"}).json()[
            "status"
        ]
        == "out_of_service"
    )
    assert (
        post(client, f"/api/v1/units/{unit.pk}/status/", {"status": "available"}).json()["status"]
        == "available"
    )
    assert post(client, f"/api/v1/units/{unit.pk}/status/", {"status": "flying"}).status_code == 400


def test_avl_box_posts_a_batch_with_a_token(client, unit):
    device = factories.CrewFactory(unit=unit, username="avl-box-1")
    key = factories.device_token(device)
    now = timezone.now()
    body = {
        "device_id": "avl-1",
        "positions": [
            {
                "id": "f1",
                "lat": 60.17,
                "lon": 24.945,
                "recorded_at": now.isoformat(),
                "speed_mps": 12.5,
            },
            {
                "id": "f2",
                "lat": 60.171,
                "lon": 24.946,
                "recorded_at": now.isoformat(),
                "heading": 400,
            },
        ],
    }
    response = client.post(
        f"/api/v1/units/{unit.pk}/positions/",
        body,
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Token {key}",
    )
    assert response.status_code == 200
    assert response.json()["results"] == [
        {"id": "f1", "status": "stored", "field": None, "message": ""},
        {
            "id": "f2",
            "status": "rejected",
            "field": "heading",
            "message": "heading must be 0 to 359.9 degrees.",
        },
    ]
    again = client.post(
        f"/api/v1/units/{unit.pk}/positions/",
        body,
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Token {key}",
    )
    assert again.json()["results"][0]["status"] == "duplicate"
    assert UnitPosition.objects.filter(unit=unit).count() == 1


def test_positions_for_another_unit_are_forbidden(client, paramedic, demo_units):
    client.force_login(paramedic)
    other = demo_units[2]
    body = {
        "device_id": "t",
        "positions": [
            {"id": "x", "lat": 60.17, "lon": 24.94, "recorded_at": timezone.now().isoformat()}
        ],
    }
    assert post(client, f"/api/v1/units/{other.pk}/positions/", body).status_code == 403


@pytest.mark.parametrize(
    ("role", "method", "url", "allowed"),
    [
        ("ed_nurse", "get", "/api/v1/incidents/", False),
        ("paramedic", "get", "/api/v1/incidents/", False),
        ("admin", "get", "/api/v1/incidents/", False),
        ("outsider", "get", "/api/v1/incidents/{incident}/", False),
        ("outsider", "get", "/api/v1/incidents/{incident}/recommendations/", False),
        ("dispatcher", "get", "/api/v1/incidents/{incident}/", True),
        ("paramedic", "get", "/api/v1/units/", False),
        ("dispatcher", "get", "/api/v1/units/", True),
    ],
)
def test_access_by_role(
    client, request, dispatcher, demo_units, make_incident, role, method, url, allowed
):
    incident = make_incident()
    user = request.getfixturevalue(role)
    client.force_login(user)
    response = getattr(client, method)(url.format(incident=incident.pk))
    assert (response.status_code == 200) is allowed, (response.status_code, response.content[:200])
    if not allowed:
        assert response.status_code in {403, 404}


def test_the_openapi_schema_lists_the_dispatch_endpoints(client, dispatcher):
    client.force_login(dispatcher)
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    for path in (
        "/api/v1/incidents/",
        "/api/v1/incidents/{incident_id}/recommendations/",
        "/api/v1/incidents/{incident_id}/assignments/",
        "/api/v1/units/{unit_id}/status/",
        "/api/v1/units/{unit_id}/positions/",
    ):
        assert path in schema["paths"], path
