"""WebSocket authentication for devices: `Authorization: Token <key>` on the handshake.

Browsers use the session cookie (AuthMiddlewareStack); devices that are not browsers (AVL
boxes, the simulator, the Python reference client) send a device token (accounts.DeviceToken)
in a header, never in the URL, where it would end up in access logs. An unknown, expired or
revoked token, or one of an inactive user, leaves the scope anonymous: the consumer closes
with 4401. `scope["device_token"]` tells the consumer which token to watch (its revocation
and expiry close the socket, realtime.consumers).
"""

from __future__ import annotations

from typing import Any

from channels.db import database_sync_to_async
from django.contrib.auth.models import AnonymousUser


@database_sync_to_async
def _authenticate(key: str) -> tuple[Any, Any]:
    from accounts.services import DeviceCredential, device_token_authenticate

    found = device_token_authenticate(key)
    if found is None:
        return AnonymousUser(), None
    user, token = found
    return user, DeviceCredential(token_id=token.pk, expires_at=token.expires_at)


class TokenAuthMiddleware:
    """Sets scope["user"] from a token header when the session did not authenticate."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        user = scope.get("user")
        if user is None or not user.is_authenticated:
            headers = dict(scope.get("headers", []))
            raw = headers.get(b"authorization", b"").decode("latin-1")
            scheme, _, key = raw.partition(" ")
            if scheme.lower() == "token" and key.strip():
                user, credential = await _authenticate(key.strip())
                scope = {**scope, "user": user, "device_token": credential}
        return await self.app(scope, receive, send)
