"""Device items of the crew tablet for the handoff: encounter, vitals, message, destination.

Each handler translates the item's data and calls one service; domain refusals become typed
rejections naming the field. Encounters are named by their `public_id`, which the tablet
may generate itself, so a record started offline can carry vitals before the server has
seen it (items are applied in sequence order).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

from django.core.exceptions import ObjectDoesNotExist, PermissionDenied

from config.devices import ItemRejected, ItemType
from handoff import access, services
from handoff.models import Encounter


def _domain(call: Callable[[], Any]) -> Any:
    try:
        return call()
    except services.HandoffError as exc:
        raise ItemRejected(exc.field, exc.message, exc.code) from None
    except PermissionDenied as exc:
        raise ItemRejected("encounter", str(exc) or "Not yours.", "forbidden") from None


def _uuid(data: dict[str, Any], name: str = "encounter") -> UUID:
    raw = data.get(name)
    try:
        return UUID(str(raw)) if isinstance(raw, str) else UUID("")
    except ValueError:
        raise ItemRejected(name, f"{name} must be the encounter's UUID.") from None


def _encounter(user: Any, data: dict[str, Any]) -> Encounter:
    public_id = _uuid(data)
    try:
        return access.access_crew_encounter(user, public_id)
    except ObjectDoesNotExist:
        raise ItemRejected("encounter", f"No encounter {public_id}.", "unknown") from None
    except PermissionDenied:
        raise ItemRejected(
            "encounter", "Not an open encounter of your unit.", "forbidden"
        ) from None


def _string(data: dict[str, Any], name: str, *, required: bool = True) -> str:
    value = data.get(name, None if required else "")
    if not isinstance(value, str):
        raise ItemRejected(name, f"{name} must be a string.")
    return value


def encounter(user: Any, device_id: str, data: dict[str, Any]) -> dict[str, Any]:
    """Open an encounter (first time its id is seen) or update it: `{encounter,
    assignment_id, fields: {...}}`."""
    public_id = _uuid(data)
    changes = data.get("fields", {})
    if not isinstance(changes, dict):
        raise ItemRejected("fields", "fields must be an object.")
    existing = Encounter.objects.filter(public_id=public_id).first()
    if existing is None:
        assignment_id = data.get("assignment_id")
        if isinstance(assignment_id, bool) or not isinstance(assignment_id, int):
            raise ItemRejected("assignment_id", "assignment_id must be an integer id.")
        try:
            opened = _domain(
                lambda: services.encounter_open(
                    user=user, assignment_id=assignment_id, public_id=public_id, data=changes
                )
            )
        except ObjectDoesNotExist:
            raise ItemRejected(
                "assignment_id", f"No assignment {assignment_id}.", "unknown"
            ) from None
        return {"encounter": str(opened.public_id), "temp_identifier": opened.temp_identifier}
    target = _encounter(user, data)
    updated = _domain(
        lambda: services.encounter_update(user=user, encounter_id=target.pk, data=changes)
    )
    return {"encounter": str(updated.public_id), "temp_identifier": updated.temp_identifier}


def vitals(user: Any, device_id: str, data: dict[str, Any]) -> dict[str, Any]:
    """One vitals set: `{encounter, vitals_id, taken_at, vitals: {...}}`."""
    target = _encounter(user, data)
    values = data.get("vitals")
    if not isinstance(values, dict):
        raise ItemRejected("vitals", "vitals must be an object.")
    client_id = str(data.get("vitals_id") or f"{device_id}:{data.get('taken_at')}")[:64]
    stored = _domain(
        lambda: services.vitals_record(
            user=user,
            encounter_id=target.pk,
            data=values,
            client_id=client_id,
            device_id=device_id,
            taken_at=data.get("taken_at"),
        )
    )
    return {
        "vitals_id": stored.client_id,
        "news2_total": stored.news2_total,
        "news2_risk": stored.news2_risk,
        "flags": stored.flags,
    }


def message(user: Any, device_id: str, data: dict[str, Any]) -> dict[str, Any]:
    """A message to the receiving ED: `{encounter, message_id, text}`."""
    target = _encounter(user, data)
    text = _string(data, "text")
    message_id = _string(data, "message_id", required=False)
    sent = _domain(
        lambda: services.crew_message_send(
            user=user, encounter_id=target.pk, text=text, client_id=message_id
        )
    )
    return {"message_id": sent.pk}


def destination(user: Any, device_id: str, data: dict[str, Any]) -> dict[str, Any]:
    """Choose the receiving hospital: `{encounter, hospital_id, reason}` (eDisposition.20)."""
    target = _encounter(user, data)
    hospital_id = data.get("hospital_id")
    if isinstance(hospital_id, bool) or not isinstance(hospital_id, int):
        raise ItemRejected("hospital", "hospital_id must be an integer id.")
    reason = _string(data, "reason")
    updated = _domain(
        lambda: services.destination_set(
            user=user, encounter_id=target.pk, hospital_id=hospital_id, reason=reason
        )
    )
    return {"encounter": str(updated.public_id), "hospital_id": updated.destination_id}


HANDOFF_ITEM_TYPES = {
    item.name: item
    for item in (
        ItemType("encounter", encounter),
        ItemType("vitals", vitals),
        ItemType("message", message),
        ItemType("destination", destination),
    )
}
