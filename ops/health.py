"""GET /healthz: is every part the screens depend on usable right now?"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Callable
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from ops.models import Heartbeat

CHANNEL_TIMEOUT_S = 2.0
CELERY_TIMEOUT_S = 2.0


def check_database() -> dict[str, Any]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return {"vendor": connection.vendor}


async def _channel_round_trip() -> None:
    layer = get_channel_layer()
    if layer is None:
        raise RuntimeError("no channel layer is configured")
    # The default prefix: channels_redis reads one prefix per process at a time, and a
    # consumer's receive holds it (see realtime.fanout.Hub._start).
    channel = await layer.new_channel()
    nonce = secrets.token_hex(8)
    await layer.send(channel, {"type": "healthz.ping", "nonce": nonce})
    message = await asyncio.wait_for(layer.receive(channel), CHANNEL_TIMEOUT_S)
    if message.get("nonce") != nonce:
        raise RuntimeError("the channel layer returned a different message")


def check_channel_layer() -> dict[str, Any]:
    async_to_sync(_channel_round_trip)()
    backend = settings.CHANNEL_LAYERS["default"]["BACKEND"].rsplit(".", 1)[-1]
    return {"backend": backend}


def check_celery() -> dict[str, Any]:
    from config.celery import app
    from ops.tasks import ping

    beat = Heartbeat.objects.filter(name="scheduler").first()
    scheduler = {
        "last_run_at": beat.last_run_at.isoformat() if beat else None,
        "age_s": round((timezone.now() - beat.last_run_at).total_seconds(), 1) if beat else None,
    }
    if settings.CELERY_EMBEDDED:
        if ping.apply().get() != "pong":
            raise RuntimeError("the in-process ping task did not answer")
        return {"mode": "embedded", "scheduler": scheduler}
    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=CELERY_TIMEOUT_S)
    replies = app.control.ping(timeout=CELERY_TIMEOUT_S)
    if not replies:
        raise RuntimeError("the broker answers but no worker replied to a ping")
    return {
        "mode": "broker",
        "workers": sorted(name for reply in replies for name in reply),
        "scheduler": scheduler,
    }


def check_road_graph() -> dict[str, Any]:
    from routing.services import network_status

    return network_status()


class DegradedError(Exception):
    """A part that works but is past its capacity: reported, the answer stays 200."""

    def __init__(self, message: str, detail: dict[str, Any]) -> None:
        super().__init__(message)
        self.detail = detail


def check_realtime() -> dict[str, Any]:
    """This process's device ingest and screen fan-out (docs/events.md, "Back-pressure").

    Busy (more items waiting than INGEST_BUSY_ITEMS: devices are told to back off) or
    screens held back for lag make the part "degraded": usable, but late.
    """
    from realtime.fanout import hubs_status
    from realtime.ingest import ingestors_status

    ingest = ingestors_status()
    fanout = hubs_status()
    detail = {"ingest": ingest, "fanout": fanout}
    busy = [i for i in ingest if i["state"] != "ok"]
    lagging = sum(h["lagging"] for h in fanout)
    if busy:
        waiting = sum(i["queued_items"] for i in busy)
        raise DegradedError(
            f"device ingest is busy: {waiting} items waiting, devices told to back off", detail
        )
    if lagging:
        raise DegradedError(f"{lagging} screens are held back for lag", detail)
    return detail


CHECKS: dict[str, Callable[[], dict[str, Any]]] = {
    "database": check_database,
    "channel_layer": check_channel_layer,
    "celery": check_celery,
    "road_graph": check_road_graph,
    "realtime": check_realtime,
}


@login_not_required
@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """200 when every part is usable (status "degraded" when one is late); 503 naming the
    parts that are not usable."""
    parts: dict[str, Any] = {}
    failing: list[str] = []
    degraded: list[str] = []
    for name, check in CHECKS.items():
        started = time.perf_counter()
        try:
            detail = check()
            parts[name] = {"ok": True, **detail}
        except DegradedError as exc:
            parts[name] = {"ok": True, "degraded": str(exc), **exc.detail}
            degraded.append(name)
        except Exception as exc:  # a health check reports every failure, whatever its kind
            parts[name] = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
            failing.append(name)
        parts[name]["ms"] = round((time.perf_counter() - started) * 1000, 1)
    status = "failing" if failing else "degraded" if degraded else "ok"
    body: dict[str, Any] = {"status": status, "failing": failing, "degraded": degraded}
    if _may_see_parts(request):
        body["parts"] = parts
    return JsonResponse(body, status=200 if not failing else 503)


def _may_see_parts(request: HttpRequest) -> bool:
    """The parts' details (versions, hosts, queue sizes, error texts) are for staff and for a
    monitor presenting HEALTHZ_TOKEN; anyone else gets the status and the failing names."""
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated and user.is_staff:
        return True
    token = settings.HEALTHZ_TOKEN
    given = request.headers.get("Authorization", "")
    return bool(token) and secrets.compare_digest(given.encode(), f"Bearer {token}".encode())
