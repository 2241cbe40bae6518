"""Real processes over real Redis: two daphne servers share groups; a worker runs tasks."""

from __future__ import annotations

import asyncio
import json
import time
import uuid

import pytest
import websockets
from celery import Celery

from ops.models import Heartbeat
from tests.conftest import require_service
from tests.services import processes

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def _session_cookie(client, user) -> str:
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}"


async def _open(port: int, path: str, cookie: str):
    return await websockets.connect(
        f"ws://127.0.0.1:{port}{path}",
        origin=f"http://127.0.0.1:{port}",
        additional_headers={"Cookie": cookie},
        open_timeout=10,
    )


async def _receive(ws, wanted: str) -> dict:
    """The next message of type `wanted` (others are skipped), within 10 s."""
    async with asyncio.timeout(10):
        while True:
            message = json.loads(await ws.recv())
            if message["type"] == wanted:
                return message


@pytest.fixture
def redis_env(db):
    require_service("Redis", processes.REDIS_URL)
    prefix = f"gh-test-{uuid.uuid4().hex[:8]}"
    return processes.child_env(REDIS_URL=processes.REDIS_URL, CHANNEL_PREFIX=prefix)


def test_a_message_sent_through_one_daphne_reaches_a_client_of_another(
    client, redis_env, dispatcher, paramedic, unit
):
    from django.test import Client

    console_cookie = _session_cookie(client, dispatcher)
    tablet_cookie = _session_cookie(Client(), paramedic)

    async def scenario(port_a: int, port_b: int) -> dict:
        console = await _open(port_b, "/ws/dispatch/", console_cookie)
        tablet = await _open(port_a, "/ws/crew/", tablet_cookie)
        try:
            await _receive(console, "dispatch.board.snapshot")
            await _receive(tablet, "dispatch.unit.snapshot")
            await tablet.send(json.dumps({"type": "hello", "device_id": "tablet-a"}))
            await _receive(tablet, "hello.ack")
            return await _receive(console, "dispatch.unit.online")
        finally:
            await tablet.close()
            await console.close()

    with processes.daphne(redis_env) as port_a, processes.daphne(redis_env) as port_b:
        assert port_a != port_b
        online = asyncio.run(scenario(port_a, port_b))
    assert online["data"] == {
        "unit_id": unit.pk,
        "call_sign": unit.call_sign,
        "device_id": "tablet-a",
    }


def test_a_celery_task_runs_in_a_real_worker_over_redis(redis_env):
    broker = processes.REDIS_URL.rsplit("/", 1)[0] + "/7"
    env = {**redis_env, "CELERY_BROKER_URL": broker}
    name = f"worker-test-{uuid.uuid4().hex[:8]}"
    sender = Celery(broker=broker)
    with processes.celery_worker(env, hostname=f"{name}@%h"):
        sender.send_task("ops.tasks.heartbeat", kwargs={"name": name})
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not Heartbeat.objects.filter(name=name).exists():
            time.sleep(0.2)
    beat = Heartbeat.objects.get(name=name)
    assert beat.runs == 1


def test_healthz_at_scale_sees_redis_and_a_worker(client, redis_env, built_map_dir):
    broker = processes.REDIS_URL.rsplit("/", 1)[0] + "/8"
    env = {
        **redis_env,
        "CELERY_BROKER_URL": broker,
        "MAP_CACHE_DIR": str(built_map_dir),
        "HEALTHZ_TOKEN": "monitor-token-for-the-test",
    }
    with processes.celery_worker(env, hostname="health@%h"), processes.daphne(env) as port:
        import urllib.request

        deadline = time.monotonic() + 60
        body: dict = {}
        while time.monotonic() < deadline:
            try:
                request = urllib.request.Request(
                    f"http://127.0.0.1:{port}/healthz",
                    headers={"Authorization": "Bearer monitor-token-for-the-test"},
                )
                with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
                    body = json.loads(response.read())
                    break
            except urllib.error.HTTPError as error:  # 503 until the worker answers pings
                body = json.loads(error.read())
                time.sleep(0.5)
    assert body["status"] == "ok", body
    assert body["parts"]["channel_layer"]["backend"] == "RedisChannelLayer"
    assert body["parts"]["celery"]["mode"] == "broker"
    assert body["parts"]["celery"]["workers"]
    assert body["parts"]["database"]["vendor"] in {"sqlite", "postgresql"}
