"""Crew device items straight into realtime.devices.item_process: whatever a tablet sends, the
answer is an ack or a typed reject, never an exception, and a reject leaves no trace but the
DeviceItem row that makes its resend answer the same way.

item_process is what the crew socket calls for every item, so an exception here is a crashed
tablet connection in the field. Examples share one database (function-scoped fixtures are not
reset between Hypothesis examples); every item carries a fresh id, so each one is new.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import Any

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dispatch.devices import CREW_ITEM_TYPES
from dispatch.models import Assignment, AssignmentTransition, UnitPosition
from handoff.models import Admission, EDMessage, Encounter, TeamActivation, VitalsSet
from realtime.devices import _ID, item_process
from realtime.models import DeviceItem, EventLog
from tests.fuzz.conftest import JSON, crew_items, unique

pytestmark = pytest.mark.django_db

DEVICE = "fuzz-tablet"
STORED = (
    UnitPosition,
    AssignmentTransition,
    Encounter,
    VitalsSet,
    EDMessage,
    TeamActivation,
    Admission,
    EventLog,
)
# Examples per test: these counts keep the module near half a minute on two cores (the bugs
# found at deeper runs are kept below as plain cases). FUZZ_DEVICE_EXAMPLES=2000 for a deep
# run by hand; the other two tests take a fifth of it.
EXAMPLES = int(os.environ.get("FUZZ_DEVICE_EXAMPLES", "500"))
FUZZ = settings(
    deadline=None,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)


def _state(world: Any) -> dict[str, Any]:
    """Everything an item could change: row counts and the world's assignment and encounter."""
    state: dict[str, Any] = {model.__name__: model.objects.count() for model in STORED}
    state["assignment"] = Assignment.objects.filter(pk=world.assignment.pk).values().get()
    state["encounter"] = Encounter.objects.filter(pk=world.encounter.pk).values().get()
    return state


def _process(world: Any, item: Any, capture: Any) -> dict[str, Any]:
    # The broadcasts run as they would after a real commit: their failure is the item's too.
    with capture(execute=True):
        return item_process(
            user=world.users["paramedic"], device_id=DEVICE, item=item, types=CREW_ITEM_TYPES
        )


def _check_answer(item: Any, answer: Any) -> None:
    assert isinstance(answer, dict), f"not a dict: {answer!r}"
    assert answer.get("type") in {"ack", "reject"}, answer
    # It goes back over the socket as JSON and is kept in DeviceItem.outcome as JSON.
    json.dumps(answer, allow_nan=False)
    item_id = item.get("id") if isinstance(item, dict) else None
    if answer["type"] == "ack":
        # The seq may be an earlier one: a generated id can repeat (an edge string that is
        # also a valid id), and a repeat is answered as it was the first time.
        assert answer["id"] == item_id
        return
    assert {"field", "message", "code"} <= set(answer), answer
    assert isinstance(answer["code"], str), answer
    assert answer["code"], answer
    assert isinstance(answer["message"], str), answer
    assert answer["message"], answer
    assert answer["field"] is None or isinstance(answer["field"], str), answer
    if isinstance(item_id, str) and answer["id"] is not None:
        assert answer["id"] == item_id, answer


def _apply_twice(world: Any, item: Any, capture: Any) -> None:
    before = _state(world)
    recorded_before = DeviceItem.objects.count()
    item_id = item.get("id") if isinstance(item, dict) else None
    # Only a well-formed id can be stored; others would not even be valid text on PostgreSQL.
    fresh = not (
        isinstance(item_id, str)
        and _ID.match(item_id)
        and DeviceItem.objects.filter(device_id=DEVICE, client_id=item_id).exists()
    )
    answer = _process(world, item, capture)
    _check_answer(item, answer)
    if fresh and answer["type"] == "ack":
        assert answer["seq"] == item["seq"], answer
    if answer["type"] == "reject":
        assert _state(world) == before, f"rejected {item!r} but changed the database"
    # Only a reject of the id or seq themselves goes unrecorded; anything else is kept once.
    assert DeviceItem.objects.count() - recorded_before in {0, 1}
    during = _state(world)
    again = _process(world, item, capture)
    assert again == answer, "a resent item must get the answer it got the first time"
    assert _state(world) == during, "a resent item must not be applied twice"


@settings(FUZZ, max_examples=max(1, EXAMPLES // 5))
@given(item=JSON)
def test_any_json_value_gets_an_ack_or_a_typed_reject(
    world, django_capture_on_commit_callbacks, item
):
    _apply_twice(world, item, django_capture_on_commit_callbacks)


@settings(FUZZ, max_examples=max(1, EXAMPLES // 5))
@given(data=st.data())
def test_any_json_as_an_item_of_a_known_type_gets_an_ack_or_a_typed_reject(
    world, django_capture_on_commit_callbacks, data
):
    kind = data.draw(st.sampled_from(sorted(CREW_ITEM_TYPES)))
    item = {"type": kind, "id": unique("any"), "seq": 1, "data": data.draw(JSON)}
    _apply_twice(world, item, django_capture_on_commit_callbacks)


@settings(FUZZ, max_examples=EXAMPLES)
@given(data=st.data())
def test_valid_and_nearly_valid_items_get_an_ack_or_a_typed_reject(
    world, django_capture_on_commit_callbacks, data
):
    item = data.draw(crew_items(world))
    _apply_twice(world, item, django_capture_on_commit_callbacks)


def _position(**changes: Any) -> dict[str, Any]:
    data = {"lat": 60.17, "lon": 24.945, "recorded_at": timezone.now().isoformat()}
    return {"type": "position", "id": unique("found"), "seq": 1, "data": {**data, **changes}}


def _on_encounter(kind: str, **data: Any) -> Callable[[Any], dict[str, Any]]:
    def build(world: Any) -> dict[str, Any]:
        payload = {"encounter": str(world.encounter.public_id), **data}
        return {"type": kind, "id": unique("found"), "seq": 1, "data": payload}

    return build


# Minimal failing inputs the fuzzers above found, kept as plain cases so that each bug has a
# test of its own (a fuzzer stops at the first bug it shrinks): each must be rejected, naming
# the field at fault.
FOUND = [
    pytest.param(lambda w: {"type": [], "id": "x1", "seq": 1, "data": {}}, "type", id="type-list"),
    pytest.param(
        lambda w: {"type": {}, "id": "x2", "seq": 1, "data": {}}, "type", id="type-object"
    ),
    pytest.param(lambda w: {**_position(), "seq": 2**63}, "seq", id="seq-over-64-bits"),
    pytest.param(lambda w: _position(lat=10**400), "lat", id="lat-beyond-float"),
    pytest.param(lambda w: _position(heading=10**400), "heading", id="heading-beyond-float"),
    pytest.param(
        lambda w: _position(recorded_at="2026-02-30T10:00:00+00:00"),
        "recorded_at",
        id="recorded-at-february-30",
    ),
    pytest.param(
        lambda w: _position(recorded_at="2026-01-01T25:00:00Z"),
        "recorded_at",
        id="recorded-at-hour-25",
    ),
    pytest.param(
        _on_encounter("encounter", fields={"birth_date": "2026-02-30"}),
        "birth_date",
        id="birth-date-february-30",
    ),
    pytest.param(
        _on_encounter("encounter", fields={"time_of_onset": "2026-02-30T10:00:00+00:00"}),
        "time_of_onset",
        id="time-of-onset-february-30",
    ),
    pytest.param(
        _on_encounter(
            "vitals",
            vitals_id="v-found",
            taken_at="2026-02-30T10:00:00+00:00",
            vitals={"heart_rate": 80},
        ),
        "taken_at",
        id="vitals-taken-at-february-30",
    ),
]


@pytest.mark.parametrize(("build", "field"), FOUND)
def test_items_the_fuzzers_found_are_rejected_naming_the_field(
    world, django_capture_on_commit_callbacks, build, field
):
    item = build(world)
    before = _state(world)
    answer = _process(world, item, django_capture_on_commit_callbacks)
    assert answer["type"] == "reject", answer
    assert answer["field"] == field, answer
    assert _state(world) == before
