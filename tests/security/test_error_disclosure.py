"""Attacks through error answers, and on what a dispatcher is shown (issue 22, "Trust").

The house answers 404 for an id that does not exist and 403 for someone else's
(handoff.access, docs/security.md "Access matrix"). Encounters are addressed by a random
UUID (`public_id`), so the 403 tells only someone already holding the id that it exists;
the test holds the house to that: the 403 is one fixed sentence, the same for every
outsider and every patient, naming no patient, hospital or unit, and the 404 says nothing
either. A request with a broken body from someone without access is refused for access, not
for its content, so no validation message about the record reaches them. A dispatcher's
answers, REST and socket, carry the job, never the clinical record.
"""

from __future__ import annotations

import json
import uuid

import pytest
from asgiref.sync import sync_to_async
from django.urls import reverse

from handoff.models import Encounter
from handoff.services.board import crew_message_send
from handoff.services.encounters import encounter_open
from handoff.services.vitals import vitals_record
from tests.security.attack import (
    OUTSIDERS,
    as_json,
    attack_world,
    client_for,
    frames,
    leaked,
    open_socket,
)
from tests.security.test_access_matrix import ANON, C, D, World

pytestmark = pytest.mark.django_db

# Clinical text seeded on the world's patient: the dispatcher must never receive it.
CLINICAL = {
    "mechanism": "MARKER-MECHANISM-5512",
    "injuries": "MARKER-INJURIES-5512",
    "working_impression": "MARKER-IMPRESSION-5512",
}
MESSAGE = "MARKER-MESSAGE-5512"


@pytest.fixture
def world() -> World:
    return attack_world()


def _detail(public_id) -> str:
    return f"/api/v1/encounters/{public_id}/"


# Each record route an outsider may try, with a body broken in ways that would make a
# validation error name fields and echo values if it were answered before the access check.
BROKEN = [
    ("get", "", None),
    ("patch", "", {"family_name": 12, "age_text": "x" * 5000, "no_such_field": "Virtanen"}),
    ("post", "vitals/", {"client_id": "bad id !", "vitals": {"spo2": "Virtanen"}}),
    ("post", "messages/", {"text": "\x00" * 3}),
    ("post", "interventions/", {"client_id": "", "text": ""}),
    ("post", "destination/", {"hospital": "Virtanen", "reason": 7}),
    ("post", "bay/", {"bay": ["Virtanen"]}),
    ("post", "reconcile/", {"mrn": {"x": 1}}),
    ("get", "fhir/", None),
    ("get", "hl7/", None),
]


def _call(client, method: str, url: str, body):
    if method == "get":
        return client.get(url)
    return getattr(client, method)(url, json.dumps(body), content_type="application/json")


@pytest.mark.parametrize(("method", "suffix", "body"), BROKEN, ids=lambda v: str(v)[:20])
@pytest.mark.parametrize("subject", OUTSIDERS)
def test_an_outsider_is_refused_for_access_before_any_validation(
    world, subject, method, suffix, body
):
    client = client_for(world, subject)
    response = _call(client, method, _detail(world.encounter.public_id) + suffix, body)
    text = response.content.decode(errors="replace")
    assert response.status_code in {401, 403}, (subject, suffix, response.status_code, text)
    assert leaked(world, text) == []
    for name in ("family_name", "age_text", "spo2", "hospital", "mrn", "no_such_field"):
        assert name not in text, f"{subject} was told about field {name}: {text}"
    assert world.hospital.name not in text
    assert "MARKER-UNIT-4471" not in text


@pytest.mark.parametrize("subject", [s for s in OUTSIDERS if s != ANON])
def test_the_403_is_one_sentence_for_every_outsider_and_patient_and_the_404_says_nothing(
    world, subject
):
    client = client_for(world, subject)
    forbidden = client.get(_detail(world.encounter.public_id))
    # Another patient, with another name.
    second = encounter_open(
        user=world.users[C], assignment_id=world.assignment.pk, data={"family_name": "Korhonen"}
    )
    forbidden_too = client.get(_detail(second.public_id))
    missing = client.get(_detail(uuid.uuid4()))
    assert forbidden.status_code == 403
    assert forbidden.content == forbidden_too.content
    assert missing.status_code in {403, 404}
    for response in (forbidden, missing):
        text = response.content.decode()
        assert leaked(world, text) == []
        assert "Korhonen" not in text
        assert second.temp_identifier not in text
        assert str(world.encounter.public_id) not in text


def test_the_403_sentence_is_the_same_across_outsider_kinds(world):
    bodies = {
        subject: client_for(world, subject).get(_detail(world.encounter.public_id)).content
        for subject in OUTSIDERS
        if subject != ANON
    }
    assert len(set(bodies.values())) == 1, bodies


def test_the_rightful_crews_validation_error_names_the_field(world):
    """The control: the same broken body from the crew is answered on its content."""
    response = _call(
        client_for(world, C), "patch", _detail(world.encounter.public_id), {"no_such_field": 1}
    )
    assert response.status_code == 400
    assert "no_such_field" in response.content.decode()


# --- A dispatcher sees only what dispatch needs ------------------------------------------


def _seed_clinical(world: World) -> None:
    Encounter.objects.filter(pk=world.encounter.pk).update(**CLINICAL)
    crew_message_send(user=world.users[C], encounter_id=world.encounter.pk, text=MESSAGE)


def _clinical_in(text: str) -> list[str]:
    marks = [*CLINICAL.values(), MESSAGE, "Virtanen", "ETA 5", "respiratory_rate", "spo2"]
    return [mark for mark in marks if mark in text]


def test_the_dispatchers_rest_answers_hold_no_clinical_record(world):
    _seed_clinical(world)
    client = client_for(world, D)
    urls = [
        "/api/v1/incidents/",
        f"/api/v1/incidents/{world.incident.pk}/",
        f"/api/v1/incidents/{world.incident.pk}/assignments/",
        "/api/v1/units/",
        reverse("dispatch:console"),
        reverse("dispatch:report"),
    ]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        assert _clinical_in(response.content.decode()) == [], url
    # The control: the dispatcher does see the job.
    detail = client.get(f"/api/v1/incidents/{world.incident.pk}/").content.decode()
    assert "MARKER-COMPLAINT-4471" in detail


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_the_dispatchers_socket_holds_no_clinical_record():
    world = await sync_to_async(attack_world)()
    await sync_to_async(_seed_clinical)(world)
    for number, path in enumerate(("/ws/dispatch/", "/ws/dispatch/?since=0")):
        console, connected, _ = await open_socket(world, D, path)
        assert connected
        try:
            text = "\n".join(await frames(console))
            # Live: the crew keeps recording; the console hears of the job, not the record.
            await sync_to_async(vitals_record)(
                user=world.users[C],
                encounter_id=world.encounter.pk,
                data={"heart_rate": 130, "spo2": 88},
                client_id=f"attack-{number}",
            )
            await sync_to_async(crew_message_send)(
                user=world.users[C], encounter_id=world.encounter.pk, text=MESSAGE + "-live"
            )
            text += "\n".join(await frames(console, quiet_s=1.0))
        finally:
            await console.disconnect()
        assert _clinical_in(text) == [], (path, _clinical_in(text))
        assert "MARKER-COMPLAINT-4471" in text or path.endswith("since=0"), as_json(text[:300])
