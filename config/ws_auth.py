"""WebSocket authentication for devices: `Authorization: Token <key>` on the handshake.

Browsers use the session cookie (AuthMiddlewareStack); devices that are not browsers (AVL
boxes, the simulator, the Python reference client) send a DRF token in a header, never in
the URL, where it would end up in access logs.
"""

from __future__ import annotations

from typing import Any

from channels.db import database_sync_to_async
from django.contrib.auth.models import AnonymousUser


@database_sync_to_async
def _user_for_token(key: str) -> Any:
    from rest_framework.authtoken.models import Token

    token = Token.objects.select_related("user").filter(key=key).first()
    if token is None or not token.user.is_active:
        return AnonymousUser()
    return token.user


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
                scope = {**scope, "user": await _user_for_token(key.strip())}
        return await self.app(scope, receive, send)
