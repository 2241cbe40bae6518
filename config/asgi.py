"""The ASGI application: HTTP and WebSockets in one router, served by daphne."""

from __future__ import annotations

import os
import sys

from django.core.asgi import get_asgi_application

from config.env import EnvError

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# Django must be set up before anything imports models (the consumers do).
try:
    django_asgi_app = get_asgi_application()
except EnvError as exc:
    sys.exit(f"Configuration error: {exc}")

from channels.auth import AuthMiddlewareStack
from channels.routing import ProtocolTypeRouter, URLRouter
from django.urls import path

from config.ws_auth import TokenAuthMiddleware
from config.ws_origin import SameOriginValidator
from dispatch.consumers import CrewConsumer, DispatcherConsumer
from handoff.consumers import EDBoardConsumer

websocket_urlpatterns = [
    path("ws/dispatch/", DispatcherConsumer.as_asgi()),
    path("ws/crew/", CrewConsumer.as_asgi()),
    path("ws/ed/", EDBoardConsumer.as_asgi()),
]

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        # Origin check first: a page on a foreign site (or another port or scheme of this one)
        # must not ride a logged-in user's cookie.
        "websocket": SameOriginValidator(
            AuthMiddlewareStack(TokenAuthMiddleware(URLRouter(websocket_urlpatterns)))
        ),
    }
)
