"""Closing the open sockets of a credential that ended (token revoked or expired, logout,
user deactivated).

Every screen's socket joins, besides its streams, the channel-layer groups of the
credential it was opened with (realtime.consumers.ScreenConsumer): its device token's or its
session's, and its user's. Sending `auth.ended` to one of them closes those sockets with 4401
within the channel layer's latency. A process the layer does not reach (a management command
next to an in-memory layer) is covered by each socket's own periodic re-check
(DEVICE_TOKEN_RECHECK_SECONDS).
"""

from __future__ import annotations

import hashlib
import logging

from channels.layers import get_channel_layer

from config.aio import run_from_sync

logger = logging.getLogger(__name__)

AUTH_ENDED = "auth.ended"


def token_group(token_id: int) -> str:
    return f"auth.token.{token_id}"


def session_group(session_key: str) -> str:
    # The session key itself is a credential: only a digest of it goes into group names
    # (Redis keys, logs).
    digest = hashlib.sha256(session_key.encode()).hexdigest()[:40]
    return f"auth.session.{digest}"


def user_group(user_id: int) -> str:
    return f"auth.user.{user_id}"


async def aclose_sockets(groups: list[str], reason: str) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    for group in groups:
        await layer.group_send(group, {"type": AUTH_ENDED, "reason": reason})


def close_sockets(groups: list[str], reason: str) -> None:
    """Tell every socket in `groups` to close with 4401; failures are only logged (the
    sockets' re-check closes them later)."""
    try:
        run_from_sync(aclose_sockets, groups, reason)
    except Exception:
        logger.exception("closing the sockets of an ended credential failed; re-check follows")
