"""The shared shape of every screen's WebSocket: authenticate, check access, join, snapshot.

Live events reach a screen through its process's fan-out hub (realtime.fanout), not through a
channel-layer membership of its own; a screen's own memberships are only its credential's
groups (below), which carry nothing but the order to close.

Close codes (docs/protocol.md): 4401 not logged in, 4403 logged in but not allowed here, 1009
a frame larger than DEVICE_MAX_FRAME_BYTES (an `error` with code `too_large` says so first).

A socket also ends with 4401 when the credential it was opened with ends: its device token is
revoked or expires, its session is logged out, its user is deactivated. It joins the
channel-layer groups of that credential (accounts.sockets), closes at its token's expiry, and
re-checks the credential every DEVICE_TOKEN_RECHECK_SECONDS.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from accounts import sockets as auth_sockets
from audit.context import bind_scope
from realtime.events import EVENT_VERSION
from realtime.fanout import Subscriber, get_hub

logger = logging.getLogger(__name__)

CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_TOO_LARGE = 1009
# Resync requests per socket: a burst, then one per interval (each reads the event log).
RESYNC_BURST = 5
RESYNC_EVERY_S = 2.0
# What decode_json returns for a frame nested deeper than Python's json can follow.
TOO_DEEP = object()

# (user, logged events) -> the events as that user may see them now; applied in order.
ReplayFilter = Callable[[Any, list[dict[str, Any]]], list[dict[str, Any]]]
_REPLAY_FILTERS: list[ReplayFilter] = []


def register_replay_filter(fn: ReplayFilter) -> None:
    """Have every screen's replay pass through `fn` (sync, runs in a database thread).

    An app whose events name something access can end for registers one in its
    AppConfig.ready, so every process that serves sockets has it before the first replay.
    """
    if fn not in _REPLAY_FILTERS:
        _REPLAY_FILTERS.append(fn)


def envelope(
    event_type: str, *, stream: str, data: dict[str, Any], seq: int | None = None
) -> dict[str, Any]:
    """Wrap a payload in the `{type, v, stream, seq, ts, data}` envelope (docs/protocol.md).

    Presence events are not logged and carry `seq: null`; logged events carry their stream
    sequence so a screen can detect a gap.
    """
    return {
        "type": event_type,
        "v": EVENT_VERSION,
        "stream": stream,
        "seq": seq,
        "ts": timezone.now().isoformat(),
        "data": data,
    }


def rejection(
    code: str, message: str, *, field: str | None = None, ref: Any = None
) -> dict[str, Any]:
    """A typed rejection of one client message; it names the field and the reason."""
    return {"type": "error", "code": code, "field": field, "message": message, "ref": ref}


class ScreenConsumer(AsyncJsonWebsocketConsumer):  # type: ignore[misc]
    """A screen's socket. Subclasses say how to resolve the scope and what to snapshot."""

    groups_joined: list[str]
    subscriptions: list[Subscriber]
    auth_groups: list[str]

    async def dispatch(self, message: dict[str, Any]) -> None:
        # Channels' own dispatch first runs close_old_connections through sync_to_async for
        # every message: a hop onto the one thread that also runs the ingest ticks, so each
        # frame a device sends waited for the tick in progress before it was even read. Every
        # database call here goes through database_sync_to_async, which closes old connections
        # itself, before and after.
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    def resolve(self, user: Any) -> Any:
        """Return the object this user's screen follows, or raise PermissionDenied (sync)."""
        raise PermissionDenied

    def group_names_for(self, target: Any) -> list[str]:
        raise PermissionDenied

    def snapshot(self, target: Any) -> dict[str, Any]:
        return {}

    async def connect(self) -> None:
        # The consumer's task lives as long as the connection: its reads are audited with
        # this client address and connection request id.
        bind_scope(self.scope, "ws")
        self.groups_joined = []
        self.subscriptions = []
        self.auth_groups = []
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        try:
            self.target = await database_sync_to_async(self.resolve)(user)
        except PermissionDenied:
            await self.close(code=CLOSE_FORBIDDEN)
            return
        await self._watch_credential(user)
        hub = get_hub()
        for group in self.group_names_for(self.target):
            # Subscribed (paused) before reading, so an event committed meanwhile arrives live
            # as well, after the catch-up; the client drops what its sequence already holds.
            self.subscriptions.append(await hub.subscribe(group, self._send_text))
            self.groups_joined.append(group)
        await self.accept()
        await self.send_catch_up(self._since_from_query())
        for subscription in self.subscriptions:
            await subscription.resume()
        await self.connected()

    async def _send_text(self, text: str) -> None:
        await self.send(text_data=text)

    @property
    def stream(self) -> str:
        """The logged stream this screen follows (its first group)."""
        return self.groups_joined[0]

    def _since_from_query(self) -> int | None:
        from urllib.parse import parse_qs

        raw = parse_qs(self.scope.get("query_string", b"").decode()).get("since", [""])[0]
        return int(raw) if raw.isdigit() else None

    async def send_catch_up(self, since: int | None) -> None:
        """The missed events after `since`, or a snapshot when there is no usable `since`."""
        from realtime.events import events_since

        if since is not None:
            replay = await database_sync_to_async(events_since)(stream=self.stream, since=since)
            if replay.events is not None:
                await self.send_json(
                    {"type": "replay", "stream": self.stream, "since": since, "head": replay.head}
                )
                visible = await database_sync_to_async(self.replayable)(replay.events)
                for event in visible:
                    await self.send_json(event)
                return
        await self.send_json(await database_sync_to_async(self._snapshot_with_head)())

    def replayable(self, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The logged events as this user may see them now (sync; subclasses narrow it).

        The log keeps what was sent; access can end since (an encounter closed, the ED's
        window after handoff passed). Each filter an app registered (register_replay_filter)
        replaces an event the user may no longer see by a `stream.skipped` marker with the
        same seq, so the client's sequence stays whole.
        """
        for visible in _REPLAY_FILTERS:
            events = visible(self.scope["user"], events)
        return events

    def _snapshot_with_head(self) -> dict[str, Any]:
        from realtime.events import stream_head

        # The head is read first: an event committed after it is at most sent twice (once in
        # the snapshot, once live), never lost; the client's sequence check drops the repeat.
        head = stream_head(self.stream)
        snapshot = self.snapshot(self.target)
        snapshot["seq"] = head
        return snapshot

    async def on_resync(self, content: dict[str, Any]) -> None:
        """A client saw a gap in sequence: send what it missed (or a snapshot).

        Each one reads the event log (or builds a snapshot), so a socket may ask RESYNC_BURST
        times at once and then once per RESYNC_EVERY_S; beyond that it is told to wait."""
        since = content.get("since")
        if not self.subscriptions:
            return
        wait_s = self._resync_wait()
        if wait_s > 0:
            await self.send_json(
                {
                    **rejection(
                        "rate_limited",
                        f"Too many resync requests; ask again in {wait_s:.1f} s.",
                        field="since",
                    ),
                    "retry_after_ms": round(wait_s * 1000),
                }
            )
            return
        # Live frames wait until the replay is out, so they never overtake it.
        async with self.subscriptions[0].hold():
            await self.send_catch_up(since if isinstance(since, int) and since >= 0 else None)

    def _resync_wait(self) -> float:
        """Take a token of the socket's resync bucket; 0, or the seconds until one is due."""
        now = time.monotonic()
        tokens, at = getattr(self, "_resync_bucket", (float(RESYNC_BURST), now))
        tokens = min(float(RESYNC_BURST), tokens + (now - at) / RESYNC_EVERY_S)
        if tokens < 1.0:
            self._resync_bucket = (tokens, now)
            return (1.0 - tokens) * RESYNC_EVERY_S
        self._resync_bucket = (tokens - 1.0, now)
        return 0.0

    async def on_seen(self, content: dict[str, Any]) -> None:
        """The screen has applied everything up to `seq` (flow control, realtime.fanout)."""
        seq = content.get("seq")
        if isinstance(seq, int) and not isinstance(seq, bool) and self.subscriptions:
            await self.subscriptions[0].seen(seq)

    async def connected(self) -> None:
        """Hook run after the snapshot was sent."""

    async def answers_in_order(self) -> None:
        """Hook awaited before answering a frame at once: a socket whose earlier frames are
        answered later (device items, after their tick) waits for those answers first."""

    async def disconnect(self, code: int) -> None:
        hub = get_hub()
        for subscription in getattr(self, "subscriptions", []):
            hub.unsubscribe(subscription)
        self.subscriptions = []
        watcher = getattr(self, "_credential_watch", None)
        if watcher is not None:
            watcher.cancel()
        if self.channel_layer is not None:
            for group in getattr(self, "auth_groups", []):
                with contextlib.suppress(Exception):
                    await self.channel_layer.group_discard(group, self.channel_name)
        self.auth_groups = []

    # --- The credential's end closes the socket ------------------------------------------

    def _credential(self, user: Any) -> tuple[Any, str | None]:
        """The device token this socket was opened with (or None), and its session key."""
        credential = self.scope.get("device_token")
        if credential is not None:
            return credential, None
        session = self.scope.get("session")
        return None, getattr(session, "session_key", None) if session is not None else None

    async def _watch_credential(self, user: Any) -> None:
        credential, session_key = self._credential(user)
        groups = [auth_sockets.user_group(user.pk)]
        if credential is not None:
            groups.append(auth_sockets.token_group(credential.token_id))
        elif session_key:
            groups.append(auth_sockets.session_group(session_key))
        self.auth_groups = groups
        await self._join_auth_groups()
        self._credential_watch = asyncio.create_task(
            self._credential_loop(user.pk, credential, session_key)
        )

    async def _join_auth_groups(self) -> None:
        if self.channel_layer is None:
            return
        for group in self.auth_groups:
            try:
                await self.channel_layer.group_add(group, self.channel_name)
            except Exception as exc:  # the layer is down: the re-check still closes it
                logger.debug("socket could not join %s: %s", group, type(exc).__name__)

    async def _credential_loop(
        self, user_id: int, credential: Any, session_key: str | None
    ) -> None:
        from accounts.services import device_token_still_valid, session_still_valid

        every = float(settings.DEVICE_TOKEN_RECHECK_SECONDS)
        while True:
            wait = every
            if credential is not None:
                # Closed at the token's expiry itself, not at the next re-check after it.
                left = (credential.expires_at - timezone.now()).total_seconds()
                wait = max(0.0, min(every, left))
            await asyncio.sleep(wait)
            try:
                if credential is not None:
                    valid = await database_sync_to_async(device_token_still_valid)(
                        credential.token_id
                    )
                elif session_key:
                    valid = await database_sync_to_async(session_still_valid)(session_key, user_id)
                else:
                    valid = True
            except Exception:  # the database is away: keep the socket, ask again later
                logger.exception("credential re-check failed")
                continue
            if not valid:
                await self.auth_ended({"reason": "ended"})
                return
            # channels_redis forgets a group membership after a day: renew it.
            await self._join_auth_groups()

    async def auth_ended(self, message: dict[str, Any]) -> None:
        """The credential of this socket ended (accounts.sockets): close as not logged in."""
        watcher = getattr(self, "_credential_watch", None)
        if watcher is not None and watcher is not asyncio.current_task():
            watcher.cancel()
        await self.close(code=CLOSE_UNAUTHENTICATED)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if content is TOO_DEEP:
            await self.send_json(
                rejection(
                    "too_deep",
                    "The frame is JSON nested too deep to read; nothing of it was taken. "
                    "Send its items one by one.",
                    field=None,
                )
            )
            return
        if not isinstance(content, dict) or not isinstance(content.get("type"), str):
            await self.send_json(
                rejection(
                    "invalid",
                    "Each message must be a JSON object with a string 'type'.",
                    field="type",
                )
            )
            return
        handler = getattr(self, "on_" + content["type"].replace(".", "_"), None)
        if handler is None:
            await self.send_json(
                rejection(
                    "unknown_type",
                    f"Unknown message type {content['type']!r}.",
                    field="type",
                    ref=content.get("id"),
                )
            )
            return
        await handler(content)

    async def receive(
        self, text_data: str | None = None, bytes_data: bytes | None = None, **kwargs: Any
    ) -> None:
        # Channels raises on an empty or binary frame and the socket dies; answer it instead.
        if not text_data:
            await self.answers_in_order()
            await self.send_json(
                rejection("invalid", "Send JSON objects as text frames.", field=None)
            )
            return
        limit = settings.DEVICE_MAX_FRAME_BYTES
        if len(text_data) * 4 > limit and len(text_data.encode("utf-8")) > limit:
            size = len(text_data.encode("utf-8"))
            await self.answers_in_order()
            await self.send_json(
                rejection(
                    "too_large",
                    f"The frame is {size} bytes; the limit is {limit}. Send fewer items per batch.",
                    field=None,
                )
            )
            await self.close(code=CLOSE_TOO_LARGE)
            return
        await super().receive(text_data=text_data, **kwargs)

    async def decode_json(self, text_data: str) -> Any:
        import json

        try:
            return json.loads(text_data)
        except ValueError:
            # Returned as a marker that receive_json turns into a typed rejection.
            return None
        except RecursionError:
            # JSON nested deeper than the interpreter's stack: the frame cannot be read at all,
            # so it is refused whole (the client sends its items one by one, and refuses the
            # one that still cannot be read) instead of closing the socket with 1011.
            return TOO_DEEP
