"""The access matrix of docs/security.md, generated from the URL resolver and the socket routes.

Every `/api/v1/` route and method, every screen and every WebSocket path is called by every
subject: the four roles in scope, anonymous, and the three outsiders (crew of another unit,
ED staff of another hospital, dispatcher of another centre). The expectations below are the
matrix; a route that is not in them fails `test_every_route_has_an_expectation`, so a new
endpoint cannot ship without someone deciding who may call it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib import admin as django_admin
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from config.asgi import application, websocket_urlpatterns
from dispatch.models import (
    Call,
    Incident,
    IncidentTransfer,
    MutualAidAgreement,
    MutualAidRequest,
    QueuedCall,
    UnitPosition,
)
from handoff.models import (
    Admission,
    EDMessage,
    Encounter,
    HospitalOutcome,
    InboundMessage,
    Intervention,
    MedicationGiven,
    TeamActivation,
    VitalsSet,
)
from handoff.services.board import crew_message_send
from handoff.services.destination import destination_set
from handoff.services.encounters import encounter_close, encounter_open
from handoff.services.vitals import vitals_record
from tests import factories
from tests.handoff.conftest import make_assignment

# --- Subjects -------------------------------------------------------------------------------

D, C, E, A = "dispatcher", "paramedic", "ed_nurse", "admin"
ANON = "anonymous"
OC, OE, OD = "other_crew", "other_ed", "other_dispatcher"
SUBJECTS = (D, C, E, A, ANON, OC, OE, OD)

# How a subject is answered: allowed, allowed but only their own organisation's data (the
# response must not show the world's objects), or denied.
ALLOW, OWN, DENY = "allow", "own", "deny"

ROUTING = {D: ALLOW, C: ALLOW, OD: ALLOW, OC: ALLOW}
AUTHENTICATED = {s: ALLOW for s in (D, C, E, A, OC, OE, OD)}

# (url name, method) -> the subjects that are not denied; everyone else must be denied.
API: dict[tuple[str, str], dict[str, str]] = {
    ("api-me", "get"): AUTHENTICATED,
    # Dispatch: the dispatcher's own centre; outsiders see only their own centre's lists.
    ("incident-list", "get"): {D: ALLOW, OD: OWN},
    ("incident-list", "post"): {D: ALLOW, OD: OWN},
    ("incident-duplicates", "get"): {D: ALLOW, OD: OWN},
    ("incident-detail", "get"): {D: ALLOW},
    ("incident-recommendations", "get"): {D: ALLOW},
    ("incident-assignments", "get"): {D: ALLOW},
    ("incident-assignments", "post"): {D: ALLOW},
    ("incident-upgrade", "post"): {D: ALLOW},
    ("incident-close", "post"): {D: ALLOW},
    # Across centres: a transfer is proposed by the incident's centre and decided by the
    # centre it is proposed to; both see it listed (what and where, never the callers).
    ("incident-transfer", "post"): {D: ALLOW},
    ("transfer-list", "get"): {D: ALLOW, OD: OWN},
    ("transfer-accept", "post"): {OD: ALLOW},
    ("transfer-refuse", "post"): {OD: ALLOW},
    ("transfer-withdraw", "post"): {D: ALLOW},
    ("assignment-replace", "post"): {D: ALLOW},
    # Mutual aid: the world's request asks D's centre (the lender) for one of its units for
    # a partner's incident. The requesting centre asks and withdraws; only the lender decides.
    # No subject here dispatches for the partner, so nobody may withdraw.
    ("incident-mutual-aid", "post"): {D: ALLOW},
    ("mutual-aid-accept", "post"): {D: ALLOW},
    ("mutual-aid-refuse", "post"): {D: ALLOW},
    ("mutual-aid-withdraw", "post"): {},
    ("assignment-transition", "post"): {D: ALLOW, C: ALLOW},
    ("assignment-acknowledge", "post"): {C: ALLOW},
    ("assignment-divert", "post"): {D: ALLOW, C: ALLOW},
    ("unit-list", "get"): {D: ALLOW, OD: OWN},
    ("unit-status", "post"): {D: ALLOW, C: ALLOW},
    ("unit-positions", "post"): {C: ALLOW},
    ("unit-position", "post"): {D: ALLOW},
    # The call queue: the telephony system rings and ends calls with its centre's token,
    # never a session (every subject here is refused with 401); a dispatcher of the call's
    # centre answers (another centre's only once the call is offered to it).
    ("call-queue", "post"): {},
    ("call-queue-end", "post"): {},
    ("call-queue-answer", "post"): {D: ALLOW},
    # Handoff: crew of the unit while the encounter is open, staff of the destination ED.
    ("assignment-encounters", "get"): {C: ALLOW},
    ("assignment-encounters", "post"): {C: ALLOW},
    ("encounter-detail", "get"): {C: ALLOW, E: ALLOW},
    ("encounter-detail", "patch"): {C: ALLOW},
    ("encounter-close", "post"): {C: ALLOW},
    # Break-glass: any ED clinician, with a reason (reported to the administrators).
    ("encounter-break-glass", "post"): {E: ALLOW, OE: ALLOW},
    # The same by the temporary id (own ED: 409, not needed; another hospital's: granted).
    ("break-glass", "post"): {E: ALLOW, OE: ALLOW},
    ("encounter-vitals", "get"): {C: ALLOW, E: ALLOW},
    ("encounter-vitals", "post"): {C: ALLOW},
    ("encounter-interventions", "post"): {C: ALLOW},
    ("encounter-medications", "post"): {C: ALLOW},
    ("encounter-destinations", "get"): {C: ALLOW},
    ("encounter-destination", "post"): {C: ALLOW},
    ("encounter-acknowledge", "post"): {E: ALLOW},
    ("encounter-bay", "post"): {E: ALLOW},
    ("encounter-arrival", "post"): {C: ALLOW, E: ALLOW},
    ("encounter-transfer", "post"): {C: ALLOW, E: ALLOW},
    ("encounter-reconcile", "post"): {E: ALLOW},
    ("encounter-ed-close", "post"): {E: ALLOW},
    ("encounter-messages", "get"): {C: ALLOW, E: ALLOW},
    ("encounter-messages", "post"): {C: ALLOW, E: ALLOW},
    ("encounter-fhir", "get"): {C: ALLOW, E: ALLOW},
    ("encounter-hl7", "get"): {C: ALLOW, E: ALLOW},
    # NEMSIS 3.5.1 EMSDataSet: the same readers as the FHIR and HL7 documents.
    ("encounter-nemsis", "get"): {C: ALLOW, E: ALLOW},
    ("activation-acknowledge", "post"): {E: ALLOW},
    # Outcome back to EMS: the receiving ED records it; its crew reads it (and, once closed,
    # the crew that brought the patient, outcome fields only: "outcome feedback").
    ("encounter-outcome", "get"): {C: ALLOW, E: ALLOW},
    ("encounter-outcome", "put"): {E: ALLOW},
    ("crew-outcomes", "get"): {C: ALLOW, OC: OWN},
    # The hospital system's outcome messages: its inbound token only, never a session.
    ("inbound-hl7", "post"): {},
    ("inbound-fhir-encounter", "put"): {},
    ("inbound-fhir-encounter", "post"): {},
    ("ed-incoming", "get"): {E: ALLOW, OE: OWN},
    ("ed-recent", "get"): {E: ALLOW, OE: OWN},
    ("hospital-ed-status", "post"): {E: ALLOW},
    # Peer deployments: authenticated by a peer key's signature, never by a session, so
    # every subject here (no signature) is refused with 401.
    ("exchange-messages", "post"): {},
    # Routing and geocoding: the road network, no patient data; senders and drivers only.
    ("routing-snap", "get"): ROUTING,
    ("routing-rank", "post"): ROUTING,
    ("routing-route", "post"): ROUTING,
    ("routing-isochrone", "post"): ROUTING,
    ("routing-coverage", "post"): ROUTING,
    ("geocode", "get"): ROUTING,
    ("geocode-reverse", "get"): ROUTING,
}

SCREENS: dict[str, dict[str, str]] = {
    "dispatch:console": {D: ALLOW, OD: OWN},
    "dispatch:tablet": {C: ALLOW, OC: OWN},
    "handoff:board": {E: ALLOW, OE: OWN},
    "dispatch:report": {D: ALLOW, OD: OWN},
    # The shared map (roads, stations, hospitals, landmarks), not centre or patient data:
    # the console and the tablet draw it when tiles cannot load.
    "dispatch:map-roads": {D: ALLOW, OD: ALLOW, C: ALLOW, OC: ALLOW},
    "dispatch:map-places": {D: ALLOW, OD: ALLOW, C: ALLOW, OC: ALLOW},
    # The tablet app's worker and manifest: file names only, fetched before any login.
    "dispatch:tablet-sw": {s: ALLOW for s in SUBJECTS},
    "dispatch:tablet-manifest": {s: ALLOW for s in SUBJECTS},
}

SOCKETS: dict[str, dict[str, str]] = {
    "/ws/dispatch/": {D: ALLOW, OD: OWN},
    "/ws/crew/": {C: ALLOW, OC: OWN},
    "/ws/ed/": {E: ALLOW, OE: OWN},
}

# Routes whose view needs the road graph to answer at all (not just to validate).
NEEDS_MAP = {"incident-recommendations", "encounter-destinations", "dispatch:map-roads"}

DENIED = {401, 403, 404}
GRANTED_ERRORS = {400, 409, 422}


# --- Routes from the resolver ---------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    name: str
    route: str
    method: str


def _walk(patterns: list[Any], prefix: str, namespace: str) -> Iterator[tuple[str, str, Any]]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from _walk(pattern.url_patterns, prefix + str(pattern.pattern), inner)
        elif isinstance(pattern, URLPattern) and pattern.name:
            yield prefix + str(pattern.pattern), namespace + pattern.name, pattern.callback


def _methods(callback: Any) -> list[str]:
    view_class = getattr(callback, "cls", None) or getattr(callback, "view_class", None)
    if view_class is None:
        return ["get"]
    return [m for m in ("get", "post", "put", "patch", "delete") if hasattr(view_class, m)]


def api_routes() -> list[Route]:
    return [
        Route(name, route, method)
        for route, name, callback in _walk(get_resolver().url_patterns, "", "")
        if route.startswith("api/v1/")
        for method in _methods(callback)
    ]


def screen_routes() -> list[Route]:
    return [
        Route(name, route, "get")
        for route, name, _ in _walk(get_resolver().url_patterns, "", "")
        if route.startswith(("dispatch/", "ed/"))
    ]


def socket_paths() -> list[str]:
    return ["/" + str(p.pattern) for p in websocket_urlpatterns]


def test_every_route_has_an_expectation():
    found_api = {(r.name, r.method) for r in api_routes()}
    assert found_api - API.keys() == set(), "new API route(s) missing from the access matrix"
    assert API.keys() - found_api == set(), "the matrix names routes that no longer exist"
    found_screens = {r.name for r in screen_routes()}
    assert found_screens == SCREENS.keys()
    assert set(socket_paths()) == SOCKETS.keys()


def test_the_admin_shows_patient_data_only_read_only_and_audited():
    """Administrators see operations (issue #18) but edit only reference data: every model
    with patient or caller data in the admin is view-only and audited; positions stay out."""
    from audit.admin_base import AuditedReadOnlyAdmin

    patient_models = {
        Incident,
        Call,
        Encounter,
        VitalsSet,
        Intervention,
        MedicationGiven,
        TeamActivation,
        EDMessage,
        Admission,
        HospitalOutcome,
        InboundMessage,
    }
    registry = django_admin.site._registry
    for model in patient_models & set(registry):
        assert isinstance(registry[model], AuditedReadOnlyAdmin), model.__name__
    assert {Incident, Call, Encounter, VitalsSet} <= set(registry)
    assert UnitPosition not in registry


# --- The world every case runs in ----------------------------------------------------------

MARKER_COMPLAINT = "MARKER-COMPLAINT-4471"
MARKER_CALL_SIGN = "MARKER-UNIT-4471"


@dataclass
class World:
    users: dict[str, Any]
    incident: Any
    assignment: Any
    unit: Any
    hospital: Any
    other_hospital: Any
    encounter: Any
    activation: Any
    transfer: Any
    aid_request: Any
    queued_call: Any

    @property
    def markers(self) -> list[str]:
        return [MARKER_COMPLAINT, MARKER_CALL_SIGN, self.encounter.temp_identifier]


def build_world() -> World:
    """An incident of the dispatcher's centre, assigned to the paramedic's unit, with one
    patient bound for the nurse's hospital: vitals, an activation and a message."""
    centre = factories.DispatchCentreFactory()
    unit = factories.UnitFactory(
        home_station=factories.StationFactory(centre=centre), call_sign=MARKER_CALL_SIGN
    )
    hospital = factories.HospitalFactory()
    users = {
        D: factories.DispatcherFactory(dispatch_centre=centre),
        C: factories.CrewFactory(unit=unit),
        E: factories.EDStaffFactory(hospital=hospital),
        A: factories.AdminFactory(),
        OC: factories.CrewFactory(),
        OE: factories.EDStaffFactory(),
        OD: factories.DispatcherFactory(),
    }
    assignment = make_assignment(unit, users[D])
    incident = assignment.incident
    incident.chief_complaint = MARKER_COMPLAINT
    incident.save(update_fields=["chief_complaint"])
    Call.objects.create(
        incident=incident,
        caller_name="Caller Name",
        caller_phone="+358401112233",
        received_at=timezone.now(),
        taken_by=users[D],
    )
    encounter = encounter_open(
        user=users[C],
        assignment_id=assignment.pk,
        data={"family_name": "Virtanen", "findings": {"cardiac_arrest": True}},
    )
    encounter = destination_set(
        user=users[C], encounter_id=encounter.pk, hospital_id=hospital.pk, reason="closest"
    )
    vitals_record(
        user=users[C],
        encounter_id=encounter.pk,
        data={"heart_rate": 120, "respiratory_rate": 24, "systolic_bp": 95, "spo2": 92},
        client_id="world-v1",
        device_id="world-tablet",
    )
    crew_message_send(user=users[C], encounter_id=encounter.pk, text="ETA 5")
    activation = TeamActivation.objects.filter(encounter=encounter).order_by("pk").first()
    # A second call of the centre, proposed to the other dispatcher's centre.
    waiting = Incident.objects.create(
        **{
            f: getattr(incident, f)
            for f in (
                *("determinant", "response_mode", "location_source", "lat", "lon"),
                *("confidence", "road_lat", "road_lon", "road_distance_m", "created_by"),
            )
        },
        centre=centre,
        chief_complaint="fall at home",
        call_received_at=timezone.now(),
        created_at=timezone.now(),
    )
    transfer = IncidentTransfer.objects.create(
        incident=waiting,
        from_centre=centre,
        to_centre=users[OD].dispatch_centre,
        reason="in their area",
        proposed_at=timezone.now(),
        proposed_by=users[D],
    )
    partner = factories.DispatchCentreFactory()
    MutualAidAgreement.objects.create(centre_a=centre, centre_b=partner)
    spare = factories.UnitFactory(home_station=factories.StationFactory(centre=centre))
    partner_dispatcher = factories.DispatcherFactory(dispatch_centre=partner)
    partner_incident = make_assignment(
        factories.UnitFactory(home_station=factories.StationFactory(centre=partner)),
        partner_dispatcher,
    ).incident
    aid_request = MutualAidRequest.objects.create(
        incident=partner_incident,
        unit=spare,
        requesting_centre=partner,
        lending_centre=centre,
        requested_at=timezone.now(),
        requested_by=partner_dispatcher,
    )
    queued_call = QueuedCall.objects.create(
        centre=centre, caller_phone="+358401112244", received_at=timezone.now()
    )
    return World(
        users=users,
        incident=incident,
        assignment=assignment,
        unit=unit,
        hospital=hospital,
        other_hospital=factories.HospitalFactory(),
        encounter=encounter,
        activation=activation,
        transfer=transfer,
        aid_request=aid_request,
        queued_call=queued_call,
    )


def _kwargs(route: str, world: World) -> dict[str, Any]:
    values = {
        "incident_id": world.incident.pk,
        "assignment_id": world.assignment.pk,
        "unit_id": world.unit.pk,
        "hospital_id": world.hospital.pk,
        "activation_id": world.activation.pk,
        "public_id": world.encounter.public_id,
        "transfer_id": world.transfer.pk,
        "aid_request_id": world.aid_request.pk,
        "call_id": world.queued_call.pk,
    }
    return {name: values[name] for name in re.findall(r"<(?:\w+:)?(\w+)>", route)}


def _now() -> str:
    return timezone.now().isoformat()


# Bodies valid enough that the view reaches its service, which holds the last access check;
# an empty body would be refused by validation (400) before it and read as "allowed".
BODIES: dict[tuple[str, str], Callable[[World], Any]] = {
    ("incident-duplicates", "get"): lambda w: {"lat": w.incident.lat, "lon": w.incident.lon},
    ("incident-assignments", "post"): lambda w: {"unit_ids": [w.unit.pk]},
    ("assignment-transition", "post"): lambda w: {"status": "at_destination"},
    ("incident-upgrade", "post"): lambda w: {"accept": False},
    ("incident-close", "post"): lambda w: {"disposition": "cancelled"},
    ("incident-transfer", "post"): lambda w: {"to_centre": w.users[OD].dispatch_centre.code},
    ("transfer-refuse", "post"): lambda w: {"note": "not ours"},
    ("assignment-replace", "post"): lambda w: {"unit_id": w.unit.pk},
    ("incident-mutual-aid", "post"): lambda w: {"unit_id": w.aid_request.unit_id},
    ("mutual-aid-refuse", "post"): lambda w: {"note": "needed here"},
    ("assignment-divert", "post"): lambda w: {"destination": w.other_hospital.pk},
    ("unit-status", "post"): lambda w: {"status": "out_of_service", "reason": "test"},
    ("unit-position", "post"): lambda w: {"lat": 60.1699, "lon": 24.9384},
    ("unit-positions", "post"): lambda w: {
        "device_id": "matrix-tablet",
        "positions": [{"id": "fix-1", "lat": 60.17, "lon": 24.94, "recorded_at": _now()}],
    },
    ("assignment-encounters", "post"): lambda w: {"given_name": "Second"},
    ("encounter-detail", "patch"): lambda w: {"chief_complaint": "changed"},
    ("encounter-vitals", "post"): lambda w: {"client_id": "matrix-v2", "vitals": {"spo2": 95}},
    ("encounter-interventions", "post"): lambda w: {"client_id": "i1", "text": "IV access"},
    ("encounter-medications", "post"): lambda w: {"client_id": "m1", "name": "aspirin"},
    ("encounter-destination", "post"): lambda w: {
        "hospital": w.hospital.pk,
        "reason": "closest",
    },
    ("encounter-bay", "post"): lambda w: {"bay": "Resus 1"},
    ("encounter-reconcile", "post"): lambda w: {"mrn": "MRN-1"},
    ("encounter-ed-close", "post"): lambda w: {"reason": "went elsewhere"},
    ("encounter-outcome", "put"): lambda w: {
        "diagnosis_text": "NSTEMI",
        "ed_disposition": "09",
        "admitted_unit": "Cardiology",
    },
    ("encounter-break-glass", "post"): lambda w: {"reason": "unconscious, prior ED visit?"},
    ("break-glass", "post"): lambda w: {
        "temp_identifier": w.encounter.temp_identifier,
        "reason": "unconscious, prior ED visit?",
    },
    ("encounter-messages", "post"): lambda w: {"text": "hello"},
    ("hospital-ed-status", "post"): lambda w: {"status": "diversion", "reason": "full"},
    ("geocode", "get"): lambda w: {"q": ""},
}


def _client(world: World, subject: str) -> Client:
    client = Client()
    if subject != ANON:
        client.force_login(world.users[subject])
    return client


def _call(client: Client, method: str, url: str, body: Any) -> Any:
    if method == "get":
        return client.get(url, body or {})
    return getattr(client, method)(url, json.dumps(body or {}), content_type="application/json")


def _assert_outcome(response: Any, expected: str, subject: str, world: World) -> None:
    code = response.status_code
    where = f"{subject} got {code}: {response.content[:300]!r}"
    if expected == DENY:
        if subject == ANON and code == 302:
            assert response["Location"].startswith(reverse("login")), where
        else:
            assert code in DENIED, where
        return
    assert 200 <= code < 300 or code in GRANTED_ERRORS, where
    if expected == OWN:
        body = response.content.decode(errors="replace")
        for marker in world.markers:
            assert marker not in body, f"{subject} sees {marker} of another organisation"


def _cases(routes: list[Route]) -> Iterator[Any]:
    for route in routes:
        for subject in SUBJECTS:
            yield pytest.param(route, subject, id=f"{route.name}-{route.method}-{subject}")


@pytest.fixture(scope="class")
def world(django_db_setup: Any, django_db_blocker: Any) -> Iterator[World]:
    """One world for all HTTP cases, built once: each case rolls its writes back."""
    with django_db_blocker.unblock(), transaction.atomic():
        yield build_world()
        transaction.set_rollback(True)


@pytest.fixture
def case_world(world: World) -> World:
    # The django_db mark gives each case a savepoint inside the class's transaction, so a
    # case that closes the encounter or diverts the unit does not change the next one.
    return world


@pytest.mark.django_db
class TestHttp:
    @pytest.mark.parametrize(("route", "subject"), list(_cases(api_routes())))
    def test_api_access(self, request, case_world, route, subject):
        key = (route.name, route.method)
        assert key in API, f"{key} has no row in the access matrix"
        if route.name in NEEDS_MAP:
            request.getfixturevalue("road_map")
        world = case_world
        values = _kwargs(route.route, world)
        url = "/" + re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(values[m[1]]), route.route)
        body = BODIES.get(key, lambda w: None)(world)
        response = _call(_client(world, subject), route.method, url, body)
        _assert_outcome(response, API[key].get(subject, DENY), subject, world)

    @pytest.mark.parametrize(("route", "subject"), list(_cases(screen_routes())))
    def test_screen_access(self, request, case_world, route, subject):
        assert route.name in SCREENS, f"{route.name} has no row in the access matrix"
        if route.name in NEEDS_MAP:
            request.getfixturevalue("road_map")
        response = _client(case_world, subject).get(reverse(route.name))
        _assert_outcome(response, SCREENS[route.name].get(subject, DENY), subject, case_world)


# --- WebSockets -----------------------------------------------------------------------------

ORIGIN = (b"origin", b"http://127.0.0.1:8000")


async def _socket(world: World, subject: str, path: str) -> tuple[Any, bool, Any]:
    headers = [ORIGIN, (b"host", b"127.0.0.1:8000")]
    if subject != ANON:
        client = Client()
        await sync_to_async(client.force_login)(world.users[subject])
        headers.append((b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode()))
    communicator = WebsocketCommunicator(application, path, headers=headers)
    connected, code = await communicator.connect()
    return communicator, connected, code


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("subject", SUBJECTS)
@pytest.mark.parametrize("path", socket_paths())
async def test_socket_access(path, subject):
    assert path in SOCKETS, f"{path} has no row in the access matrix"
    world = await sync_to_async(build_world)()
    expected = SOCKETS[path].get(subject, DENY)
    communicator, connected, code = await _socket(world, subject, path)
    try:
        if expected == DENY:
            assert not connected
            assert code == (4401 if subject == ANON else 4403)
            return
        assert connected, f"{subject} refused with {code}"
        snapshot = json.dumps(await communicator.receive_json_from(timeout=5))
        if expected == OWN:
            for marker in world.markers:
                assert marker not in snapshot
    finally:
        await communicator.disconnect()


# --- Cells where the code disagrees with the matrix (docs/security.md, "Known gaps") --------
# These fail until the code is fixed; they are the matrix's word, not the code's.


@pytest.mark.django_db
@pytest.mark.parametrize("export", ["fhir", "hl7", "nemsis"])
def test_crew_cannot_export_the_record_after_the_encounter_closes(client, export):
    world = build_world()
    encounter_close(user=world.users[C], encounter_id=world.encounter.pk)
    client.force_login(world.users[C])
    response = client.get(f"/api/v1/encounters/{world.encounter.public_id}/{export}/")
    assert response.status_code == 403, response.content[:200]


async def _messages(communicator: Any) -> list[dict[str, Any]]:
    received = []
    while not await communicator.receive_nothing(timeout=0.3):
        received.append(await communicator.receive_json_from())
    return received


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_crew_socket_replay_does_not_resend_closed_encounters():
    world = await sync_to_async(build_world)()
    await sync_to_async(encounter_close)(user=world.users[C], encounter_id=world.encounter.pk)
    communicator, connected, _ = await _socket(world, C, "/ws/crew/?since=0")
    try:
        assert connected
        replayed = json.dumps(await _messages(communicator))
        assert world.encounter.temp_identifier not in replayed
    finally:
        await communicator.disconnect()


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_crew_of_another_unit_cannot_read_device_item_answers_by_reusing_a_device_id():
    world = await sync_to_async(build_world)()
    tablet, connected, _ = await _socket(world, C, "/ws/crew/")
    assert connected
    await _messages(tablet)
    await tablet.send_json_to({"type": "hello", "device_id": "tablet-of-unit-a"})
    item = {
        "type": "encounter",
        "id": "item-0001",
        "seq": 1,
        "data": {"encounter": str(world.encounter.public_id), "fields": {"age_text": "70"}},
    }
    await tablet.send_json_to(item)
    answers = json.dumps(await _messages(tablet))
    await tablet.disconnect()
    assert world.encounter.temp_identifier in answers
    intruder, connected, _ = await _socket(world, OC, "/ws/crew/")
    assert connected
    try:
        await _messages(intruder)
        await intruder.send_json_to({"type": "hello", "device_id": "tablet-of-unit-a"})
        await intruder.send_json_to({**item, "data": {}})
        answers = json.dumps(await _messages(intruder))
        assert world.encounter.temp_identifier not in answers
    finally:
        await intruder.disconnect()
