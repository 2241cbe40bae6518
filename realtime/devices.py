"""The device protocol's server side: each item once, acknowledged after commit.

A device (crew tablet, AVL box, the simulator) sends items `{type, id, seq, data}`. The
handler for the type does the work inside a transaction together with the DeviceItem row,
so an item is either stored and recorded, or neither. A repeated id gets the answer that
was given the first time, whether that was an acknowledgement or a rejection
(docs/protocol.md).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from audit.context import AuditContext, device_item_context
from config.fields import text_problem
from realtime.models import DeviceItem

# The database stores seq as a signed 64-bit integer.
MAX_SEQ = 2**63
_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


class ItemRejected(Exception):  # noqa: N818 - a rejection, not a failure of ours
    """The item is invalid and will not become valid by resending it."""

    def __init__(self, field: str | None, message: str, code: str = "invalid") -> None:
        super().__init__(message)
        self.field = field
        self.message = message
        self.code = code


Handler = Callable[[Any, str, dict[str, Any]], dict[str, Any] | None]


@dataclass
class BatchItem:
    """One item of a batch handler's call (realtime.ingest): its sender and its data.

    The handler calls `accept(extra)` or `reject(field, message, code)` for each item it was
    given; an item it leaves unanswered is an error of the handler's.
    """

    user: Any
    device_id: str
    data: dict[str, Any]
    context: AuditContext
    answer: dict[str, Any] | None = None
    rejected: ItemRejected | None = None

    def accept(self, extra: dict[str, Any] | None = None) -> None:
        self.answer = extra or {}

    def reject(self, field: str | None, message: str, code: str = "invalid") -> None:
        self.rejected = ItemRejected(field, message, code)


BatchHandler = Callable[[list[BatchItem]], None]


@dataclass(frozen=True)
class ItemType:
    """A device item type: who may send it and the function that applies it.

    `batch`, when given, applies many items of the type in one call inside an ingest tick
    (set-based writes); `handler` is the one-item path (REST, the fallback). `deferred`
    items depend on no other item of the tick and are applied at its end (positions).
    """

    name: str
    handler: Handler
    batch: BatchHandler | None = None
    deferred: bool = False


def item_number(data: dict[str, Any], name: str, *, required: bool = True) -> float | None:
    """A finite number from an item's data, or ItemRejected naming the field.

    An integer too large for a float (10**400 in the JSON) is refused like infinity instead of
    raising OverflowError from the handler, which would answer the item retry for ever.
    """
    value = data.get(name)
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ItemRejected(name, f"{name} must be a number.")
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    if not math.isfinite(number):
        raise ItemRejected(name, f"{name} must be a finite number.")
    return number


def rejection(
    item_id: Any, field: str | None, message: str, code: str = "invalid"
) -> dict[str, Any]:
    return {"type": "reject", "id": item_id, "code": code, "field": field, "message": message}


@device_item_context
def item_process(
    *, user: Any, device_id: str, item: Any, types: dict[str, ItemType]
) -> dict[str, Any]:
    """Apply one device item and return the message to send back (ack or reject)."""
    refused = envelope_problem(item)
    if refused is not None:
        return refused
    item_id, seq = item["id"], item["seq"]
    previous = _stored_answer(device_id, item_id, user)
    if previous is not None:
        return previous
    try:
        problem = content_problem(item, types)
        if problem is not None:
            raise problem
        kind, data = types[item["type"]], item["data"]
        with transaction.atomic():
            result = kind.handler(user, device_id, data) or {}
            outcome = {"type": "ack", "id": item_id, "seq": seq, **result}
            DeviceItem.objects.create(
                device_id=device_id,
                client_id=item_id,
                seq=seq,
                type=kind.name,
                user=user,
                accepted=True,
                outcome=outcome,
                received_at=timezone.now(),
            )
        return outcome
    except ItemRejected as exc:
        outcome = rejection(item_id, exc.field, exc.message, exc.code)
    except IntegrityError:
        # The same id raced in on another connection and won; answer as it was answered.
        winner = _stored_answer(device_id, item_id, user)
        if winner is not None:
            return winner
        outcome = rejection(
            item_id, "id", "The item conflicts with one already stored.", "conflict"
        )
    try:
        with transaction.atomic():
            DeviceItem.objects.create(
                device_id=device_id,
                client_id=item_id,
                seq=seq,
                type=str(item.get("type", ""))[:32],
                user=user,
                accepted=False,
                outcome=outcome,
                received_at=timezone.now(),
            )
    except IntegrityError:
        return _stored_answer(device_id, item_id, user) or outcome
    return outcome


def envelope_problem(item: Any) -> dict[str, Any] | None:
    """The rejection of an item whose envelope is malformed (never stored), else None."""
    if not isinstance(item, dict):
        return rejection(None, None, "An item must be a JSON object.")
    item_id = item.get("id")
    if not isinstance(item_id, str) or not _ID.match(item_id):
        return rejection(
            item_id if isinstance(item_id, str) else None,
            "id",
            "id must be 1-64 characters of letters, digits, '.', '_', ':' or '-'.",
        )
    seq = item.get("seq")
    if not isinstance(seq, int) or isinstance(seq, bool) or not 0 <= seq < MAX_SEQ:
        return rejection(item_id, "seq", f"seq must be an integer from 0 to {MAX_SEQ - 1}.")
    where = _control_path(item.get("data"), "data")
    if where is not None:
        # PostgreSQL text cannot hold NUL; no field of ours has a use for it or the other
        # controls (a name keeps neither tab nor newline: the services check that).
        field, problem = where
        return rejection(item_id, field, f"Text {problem}")
    return None


def content_problem(item: dict[str, Any], types: dict[str, ItemType]) -> ItemRejected | None:
    """Why a well-formed item cannot be applied whatever the database holds (type, data)."""
    item_type = item.get("type")
    if not isinstance(item_type, str) or item_type not in types:
        return ItemRejected(
            "type", f"Unknown item type {str(item.get('type'))[:40]!r}.", "unknown_type"
        )
    if not isinstance(item.get("data"), dict):
        return ItemRejected("data", "data must be a JSON object.")
    return None


def _control_path(value: Any, path: str, depth: int = 0) -> tuple[str, str] | None:
    """The dotted name of the first string (key or value) with a control character other
    than tab or newline, and why; None when there is none."""
    if isinstance(value, str):
        problem = text_problem(value, multiline=True)
        return (path, problem) if problem else None
    if depth > 200:
        return None
    if isinstance(value, dict):
        for key, item in value.items():
            name = f"{path}.{key}"
            found = _control_path(str(key), name, depth + 1) or _control_path(item, name, depth + 1)
            if found is not None:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = _control_path(item, f"{path}[{index}]", depth + 1)
            if found is not None:
                return found
    return None


def _stored_answer(device_id: str, item_id: str, user: Any) -> dict[str, Any] | None:
    """The answer given the first time, to the same account only.

    Answers can carry record ids; someone else who says hello with this device's id and
    repeats an item id must not read them.
    """
    row = DeviceItem.objects.filter(device_id=device_id, client_id=item_id).first()
    if row is None:
        return None
    if row.user_id != user.pk:
        return rejection(item_id, "id", "This id is already used by another device.", "conflict")
    return row.outcome  # type: ignore[no-any-return]


def device_last_seq(device_id: str, user: Any) -> int:
    """The highest item sequence the server holds from this device of this account (0: none)."""
    rows = DeviceItem.objects.filter(device_id=device_id, user=user)
    value = rows.aggregate(m=Max("seq"))["m"]
    return int(value or 0)
