"""Fixtures and strategies of the fuzz tests: no API throttling, a small world whose ids the
fuzzers use, arbitrary JSON, and crew device items that are valid or nearly so."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.utils import timezone
from hypothesis import strategies as st
from rest_framework.throttling import SimpleRateThrottle

from dispatch.models import Assignment, Incident
from handoff.models import Encounter, TeamActivation
from handoff.services.destination import destination_set
from handoff.services.encounters import encounter_open
from handoff.services.vitals import vitals_record
from tests import factories
from tests.factories import device_token
from tests.handoff.conftest import PATIENT, make_assignment

# Vitals that score NEWS2 high enough to propose a deterioration team activation.
HIGH_NEWS2 = {
    "heart_rate": 135,
    "respiratory_rate": 28,
    "systolic_bp": 88,
    "spo2": 90,
    "on_oxygen": True,
    "avpu": "V",
    "temperature": 39.5,
}


@pytest.fixture(autouse=True)
def _no_throttle(monkeypatch):
    # A fuzzer sends thousands of requests per user and minute; the rate limit is not under
    # test here, and a 429 would hide whatever the request would have reached.
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", {"user": None, "anon": None})


@dataclass(frozen=True)
class World:
    """One of everything, linked: a dispatcher's incident, its crew's encounter, the ED."""

    users: dict[str, Any]
    tokens: dict[str, str]
    incident: Incident
    assignment: Assignment
    encounter: Encounter
    activation: TeamActivation
    # Another unit's assignment and encounter: real ids the paramedic must not touch.
    foreign_assignment: Assignment
    foreign_encounter: Encounter

    @property
    def path_ids(self) -> dict[str, Any]:
        """Real values for every path parameter of the API."""
        return {
            "incident_id": self.incident.pk,
            "assignment_id": self.assignment.pk,
            "unit_id": self.assignment.unit_id,
            "hospital_id": self.encounter.destination_id,
            "public_id": str(self.encounter.public_id),
            "activation_id": self.activation.pk,
        }


@pytest.fixture
def world(dispatcher, paramedic, ed_nurse, hospital) -> World:
    """An incident with an assignment of the paramedic's unit, an encounter with vitals bound
    for the ED nurse's hospital, and the team activation those vitals proposed."""
    assignment = make_assignment(paramedic.unit, dispatcher)
    encounter = encounter_open(user=paramedic, assignment_id=assignment.pk, data=PATIENT)
    vitals_record(user=paramedic, encounter_id=encounter.pk, data=HIGH_NEWS2, client_id="world-v1")
    encounter = destination_set(
        user=paramedic, encounter_id=encounter.pk, hospital_id=hospital.pk, reason="closest"
    )
    other_crew = factories.CrewFactory()
    foreign_assignment = make_assignment(other_crew.unit, dispatcher)
    foreign_encounter = encounter_open(
        user=other_crew, assignment_id=foreign_assignment.pk, data=PATIENT
    )
    users = {"dispatcher": dispatcher, "paramedic": paramedic, "ed_nurse": ed_nurse}
    return World(
        users=users,
        tokens={role: device_token(user) for role, user in users.items()},
        incident=assignment.incident,
        assignment=assignment,
        encounter=encounter,
        activation=TeamActivation.objects.filter(encounter=encounter).first(),
        foreign_assignment=foreign_assignment,
        foreign_encounter=foreign_encounter,
    )


# --- Strategies ----------------------------------------------------------------------------

# Values a careless or hostile client sends where a number or a time is expected: bounds of
# coordinates, of 64-bit columns and of floats, and times that look right but do not exist.
EDGE_NUMBERS = st.sampled_from(
    [-1, 0, -0.0, 91, -181, 361, 1e308, -1e308, 5e-324, 2**53 + 1, 2**63, -(2**63) - 1, 2**64]
) | st.just(10**400)
EDGE_TEXT = st.sampled_from(
    [
        "",
        " ",
        "\x00",
        "2026-02-30T10:00:00+00:00",
        "2026-01-01T25:00:00Z",
        "2026-01-01T10:00:00",
        "9999-12-31T23:59:59+00:00",
        "0001-01-01T00:00:00+14:00",
        "2026-02-30",
        "00000000-0000-0000-0000-000000000000",
        "NaN",
        "en_route",
        "closest",
    ]
)
# Long text is built, not listed: Hypothesis repeats a strategy's repr in every report.
LONG_TEXT = st.integers(1000, 5000).map(lambda n: "x" * n)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=24)
    | EDGE_NUMBERS
    | EDGE_TEXT
    | LONG_TEXT
)
JSON = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)

# Unique ids are counted, not drawn: a shrinking Hypothesis must not turn two distinct items
# into one repeated id, which the protocol answers from its record instead of re-applying.
_unique = itertools.count(1)


def unique(prefix: str) -> str:
    return f"{prefix}-{next(_unique)}"


def _crew_templates(world: World) -> dict[str, Callable[[Any], dict[str, Any]]]:
    """Valid data of each crew item type; a template draws which of the world's objects."""
    now = lambda: timezone.now().isoformat()  # noqa: E731 - read at draw time, not import
    assignments = st.sampled_from([world.assignment.pk, world.foreign_assignment.pk])
    own_or_foreign = st.sampled_from(
        [str(world.encounter.public_id), str(world.foreign_encounter.public_id)]
    )
    return {
        "position": lambda draw: {
            "lat": 60.1700,
            "lon": 24.9450,
            "recorded_at": now(),
            "fix_id": unique("fix"),
            "heading": 90.0,
            "speed_mps": 12.5,
            "accuracy_m": 8.0,
        },
        "status": lambda draw: {
            "assignment_id": draw(assignments),
            "status": draw(
                st.sampled_from(["en_route", "on_scene", "transporting", "at_destination"])
            ),
            "destination": world.encounter.destination_id,
            "note": "fuzz",
        },
        "acknowledge": lambda draw: {"assignment_id": draw(assignments)},
        "encounter": lambda draw: {
            "encounter": draw(own_or_foreign | st.just(str(uuid.uuid4()))),
            "assignment_id": draw(assignments),
            "fields": {
                "family_name": "Virtanen",
                "birth_date": "1950-05-01",
                "sex": "female",
                "estimated_age_years": 75,
                "time_of_onset": now(),
                "allergies": ["penicillin"],
                "medications": [{"name": "warfarin", "anticoagulant": True}],
                "findings": {"cardiac_arrest": False, "befast": {"face": True}},
            },
        },
        "vitals": lambda draw: {
            "encounter": draw(own_or_foreign),
            "vitals_id": unique("vit"),
            "taken_at": now(),
            "vitals": {
                "heart_rate": 92,
                "respiratory_rate": 18,
                "systolic_bp": 128,
                "spo2": 96,
                "on_oxygen": False,
                "avpu": "A",
                "temperature": 37.2,
            },
        },
        "message": lambda draw: {
            "encounter": draw(own_or_foreign),
            "message_id": unique("msg"),
            "text": "ETA ten minutes",
        },
        "destination": lambda draw: {
            "encounter": draw(own_or_foreign),
            "hospital_id": world.encounter.destination_id,
            "reason": "closest",
        },
    }


@st.composite
def mutated(draw: Any, template: dict[str, Any], depth: int = 0) -> dict[str, Any]:
    """The template with up to three fields dropped, nested-mutated or replaced by any JSON
    value, plus unknown extra fields. Shrinks towards the valid template."""
    out = dict(template)
    victims = draw(st.lists(st.sampled_from(sorted(template)), max_size=3, unique=True))
    for key in victims:
        action = draw(st.sampled_from(["replace", "drop", "nested"]))
        if action == "drop":
            del out[key]
        elif action == "nested" and isinstance(out[key], dict) and out[key] and depth < 2:
            out[key] = draw(mutated(out[key], depth + 1))
        else:
            out[key] = draw(JSON)
    extra = draw(st.dictionaries(st.text(max_size=10), JSON, max_size=2))
    out.update({key: value for key, value in extra.items() if key not in template})
    return out


def crew_items(world: World) -> st.SearchStrategy[dict[str, Any]]:
    """Crew items `{type, id, seq, data}` of every type: valid, or with a few fields wrong."""
    templates = _crew_templates(world)

    @st.composite
    def item(draw: Any) -> dict[str, Any]:
        kind = draw(st.sampled_from(sorted(templates)))
        data = draw(mutated(templates[kind](draw)))
        return draw(mutated({"type": kind, "id": unique("it"), "seq": next(_unique), "data": data}))

    return item()
