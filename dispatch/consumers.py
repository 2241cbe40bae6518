"""WebSockets of the dispatcher console and the crew tablet."""

from __future__ import annotations

import re
from typing import Any

from channels.db import database_sync_to_async

from dispatch import access, events, selectors
from dispatch.devices import CREW_ITEM_TYPES
from realtime.consumers import ScreenConsumer, envelope, rejection
from realtime.devices import device_last_seq, item_process

_DEVICE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


class DispatcherConsumer(ScreenConsumer):
    """A dispatcher console: follows its centre's stream."""

    def resolve(self, user: Any) -> Any:
        return access.access_dispatcher_centre(user)

    def group_names_for(self, target: Any) -> list[str]:
        return [events.centre_group(target.pk)]

    def snapshot(self, target: Any) -> dict[str, Any]:
        return envelope(
            "dispatch.board.snapshot",
            stream=events.centre_group(target.pk),
            data=selectors.dispatch_board_snapshot(centre_id=target.pk),
        )


class CrewConsumer(ScreenConsumer):
    """A crew tablet: follows its unit's stream and tells the centre it is online."""

    device_id: str | None = None

    def resolve(self, user: Any) -> Any:
        return access.access_crew_unit(user)

    def group_names_for(self, target: Any) -> list[str]:
        return [events.unit_group(target.pk)]

    def snapshot(self, target: Any) -> dict[str, Any]:
        return envelope(
            "dispatch.unit.snapshot",
            stream=events.unit_group(target.pk),
            data=selectors.crew_snapshot(target),
        )

    async def _presence(self, verb: str) -> None:
        unit = self.target
        await self.channel_layer.group_send(
            events.centre_group(unit.centre_id),
            {
                "type": "event.forward",
                "event": envelope(
                    f"dispatch.unit.{verb}",
                    stream=events.centre_group(unit.centre_id),
                    data={
                        "unit_id": unit.pk,
                        "call_sign": unit.call_sign,
                        "device_id": self.device_id,
                    },
                ),
            },
        )

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        # Device items carry an id and a seq; everything else is a control message.
        if (
            isinstance(content, dict)
            and "seq" in content
            and isinstance(content.get("type"), str)
            and content["type"] in CREW_ITEM_TYPES
        ):
            await self.on_item(content)
            return
        await super().receive_json(content, **kwargs)

    async def on_item(self, content: dict[str, Any]) -> None:
        if self.device_id is None:
            await self.send_json(
                rejection(
                    "no_hello",
                    "Send hello with your device_id first.",
                    field="device_id",
                    ref=content.get("id"),
                )
            )
            return
        answer = await database_sync_to_async(item_process)(
            user=self.scope["user"], device_id=self.device_id, item=content, types=CREW_ITEM_TYPES
        )
        await self.send_json(answer)

    async def on_hello(self, content: dict[str, Any]) -> None:
        """A tablet names its device once per connection; the centre sees it come online."""
        device_id = content.get("device_id")
        if not isinstance(device_id, str) or not _DEVICE_ID.match(device_id):
            await self.send_json(
                rejection(
                    "invalid",
                    "device_id must be 1-64 characters of letters, digits, '.', '_', ':' or '-'.",
                    field="device_id",
                )
            )
            return
        self.device_id = device_id
        # The device learns the last item sequence the server holds, to resend what is after.
        last_seq = await database_sync_to_async(device_last_seq)(device_id, self.scope["user"])
        await self.send_json(
            {
                "type": "hello.ack",
                "device_id": device_id,
                "unit_id": self.target.pk,
                "last_seq": last_seq,
            }
        )
        await self._presence("online")

    async def disconnect(self, code: int) -> None:
        if self.device_id is not None:
            await self._presence("offline")
        await super().disconnect(code)
