"""handoff plugs into dispatch through dispatch.hooks, connected whenever Django is set up."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured

from dispatch import hooks
from dispatch.devices import CREW_ITEM_TYPES, DISPATCH_ITEM_TYPES, register_crew_items
from handoff import eta
from handoff.devices import HANDOFF_ITEM_TYPES
from tests import factories


@pytest.mark.django_db
def test_handoff_provides_the_hospitals_by_name_and_whether_one_exists() -> None:
    b = factories.HospitalFactory(name="B Hospital")
    a = factories.HospitalFactory(name="A Hospital")
    provided = hooks.provided()
    assert [h.pk for h in provided.hospitals()] == [a.pk, b.pk]
    assert provided.hospital_exists(a.pk)
    assert not provided.hospital_exists(b.pk + a.pk + 1)


def test_dispatch_says_clearly_when_nothing_was_provided(monkeypatch) -> None:
    monkeypatch.setattr(hooks, "_provided", None)
    with pytest.raises(ImproperlyConfigured, match="handoff"):
        hooks.provided()


def test_the_crew_socket_takes_dispatchs_items_then_handoffs() -> None:
    assert list(CREW_ITEM_TYPES) == [*DISPATCH_ITEM_TYPES, *HANDOFF_ITEM_TYPES]


def test_an_item_type_cannot_be_owned_by_two_apps() -> None:
    register_crew_items(dict(HANDOFF_ITEM_TYPES))  # the same handlers again: no change
    taken = next(iter(DISPATCH_ITEM_TYPES))
    with pytest.raises(ValueError, match=taken):
        register_crew_items({taken: next(iter(HANDOFF_ITEM_TYPES.values()))})
    assert CREW_ITEM_TYPES[taken] is DISPATCH_ITEM_TYPES[taken]


def test_dispatchs_signals_reach_the_ed_boards_eta(monkeypatch) -> None:
    calls: list[tuple[str, Any]] = []
    monkeypatch.setattr(eta, "units_moved", lambda ids: calls.append(("moved", list(ids))))
    monkeypatch.setattr(eta, "unit_changed", lambda unit_id: calls.append(("changed", unit_id)))
    hooks.units_moved.send(sender=None, unit_ids=[3, 4])
    hooks.unit_transporting.send(sender=None, unit_id=5)
    assert calls == [("moved", [3, 4]), ("changed", 5)]
