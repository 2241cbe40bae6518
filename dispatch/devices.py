"""Device items of the crew tablet and AVL boxes: positions, status changes, acknowledgements.

Each handler translates the item's data and calls one service; domain refusals become typed
rejections that name the field (docs/protocol.md).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.exceptions import ObjectDoesNotExist, PermissionDenied
from django.utils.dateparse import parse_datetime

from dispatch import access, services
from realtime.devices import BatchItem, ItemRejected, ItemType, item_number


def _time(data: dict[str, Any], name: str) -> datetime:
    raw = data.get(name)
    try:
        parsed = parse_datetime(raw) if isinstance(raw, str) else None
    except ValueError:  # well-formed but impossible, like February 30th
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        raise ItemRejected(name, f"{name} must be an ISO 8601 time with a time zone.")
    return parsed


def _int(data: dict[str, Any], name: str) -> int:
    value = data.get(name)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ItemRejected(name, f"{name} must be an integer id.")
    return value


def _assignment(user: Any, data: dict[str, Any]) -> Any:
    assignment_id = _int(data, "assignment_id")
    try:
        return access.access_assignment(user, assignment_id)
    except (ObjectDoesNotExist, PermissionDenied):
        raise ItemRejected(
            "assignment_id", f"No assignment {assignment_id} of your unit."
        ) from None


def _domain(call: Any) -> Any:
    try:
        return call()
    except services.DispatchError as exc:
        raise ItemRejected(exc.field, exc.message, exc.code) from None


def _fix(device_id: str, data: dict[str, Any]) -> services.Fix:
    return services.Fix(
        client_id=str(data.get("fix_id") or f"{device_id}:{data.get('recorded_at')}")[:64],
        lat=item_number(data, "lat"),  # type: ignore[arg-type]
        lon=item_number(data, "lon"),  # type: ignore[arg-type]
        recorded_at=_time(data, "recorded_at"),
        heading=item_number(data, "heading", required=False),
        speed_mps=item_number(data, "speed_mps", required=False),
        accuracy_m=item_number(data, "accuracy_m", required=False),
    )


def position(user: Any, device_id: str, data: dict[str, Any]) -> dict[str, Any]:
    """One GPS fix of the crew's unit."""
    [result] = services.unit_positions_record(
        unit_id=user.unit_id, device_id=device_id, fixes=[_fix(device_id, data)]
    )
    if result.status == "rejected":
        raise ItemRejected(result.field, result.message)
    return {}


def positions(items: list[BatchItem]) -> None:
    """The GPS fixes of an ingest tick, of every unit at once (set-based)."""
    batches: list[tuple[int, str, list[services.Fix]]] = []
    parsed: list[BatchItem] = []
    for item in items:
        try:
            fix = _fix(item.device_id, item.data)
        except ItemRejected as exc:
            item.reject(exc.field, exc.message, exc.code)
            continue
        batches.append((item.user.unit_id, item.device_id, [fix]))
        parsed.append(item)
    for item, [result] in zip(
        parsed, services.units_positions_record(batches=batches), strict=True
    ):
        if result.status == "rejected":
            item.reject(result.field, result.message)
        else:
            item.accept({})


def status(user: Any, device_id: str, data: dict[str, Any]) -> dict[str, Any]:
    """Move the crew's assignment on (en route, on scene, transporting, ...)."""
    assignment = _assignment(user, data)
    to_status = data.get("status")
    if not isinstance(to_status, str):
        raise ItemRejected("status", "status must be a string.")
    destination = data.get("destination")
    if destination is not None and (
        isinstance(destination, bool) or not isinstance(destination, int)
    ):
        raise ItemRejected("destination", "destination must be a hospital id.")
    note = data.get("note", "")
    updated = _domain(
        lambda: services.assignment_transition(
            user=user,
            assignment_id=assignment.pk,
            to_status=to_status,
            device_id=device_id,
            destination_id=destination,
            note=note if isinstance(note, str) else "",
        )
    )
    return {"assignment_id": updated.pk, "status": updated.status}


def acknowledge(user: Any, device_id: str, data: dict[str, Any]) -> dict[str, Any]:
    """The crew has seen the assignment."""
    assignment = _assignment(user, data)
    _domain(
        lambda: services.assignment_acknowledge(
            user=user, assignment_id=assignment.pk, device_id=device_id
        )
    )
    return {"assignment_id": assignment.pk}


DISPATCH_ITEM_TYPES = {
    item.name: item
    for item in (
        ItemType("position", position, batch=positions, deferred=True),
        ItemType("status", status),
        ItemType("acknowledge", acknowledge),
    )
}
# Every item the crew socket takes: dispatch's, then those the apps built on dispatch
# register (handoff's encounter, vitals, message, destination items share the socket).
CREW_ITEM_TYPES: dict[str, ItemType] = dict(DISPATCH_ITEM_TYPES)


def register_crew_items(types: dict[str, ItemType]) -> None:
    """Add an app's item types to the crew socket (in its AppConfig.ready).

    A name already taken by another handler is refused: two apps cannot both own an item.
    """
    for name, item in types.items():
        if CREW_ITEM_TYPES.get(name, item) is not item:
            raise ValueError(f"The crew item type {name!r} is registered twice.")
    CREW_ITEM_TYPES.update(types)
