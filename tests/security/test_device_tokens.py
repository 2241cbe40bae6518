"""Attacks on device tokens (issue 24, items 3 and 8), over HTTP and WebSocket against the
real ASGI application: a key read from the admin or the database, an expired, revoked or
deactivated user's token replayed, and sockets left streaming after the credential ended."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import connection
from django.utils import timezone

from accounts import services
from accounts.models import DeviceToken
from audit.models import AuditEvent
from config.asgi import application
from tests import factories

ORIGIN = (b"origin", b"http://127.0.0.1:8000")
HOST = (b"host", b"127.0.0.1:8000")
# "Within seconds": the channel layer carries the close at once; this is the test's patience.
CLOSE_WITHIN_S = 3.0


def _socket(path: str, key: str) -> WebsocketCommunicator:
    return WebsocketCommunicator(
        application, path, headers=[ORIGIN, HOST, (b"authorization", f"Token {key}".encode())]
    )


async def _closed_with(communicator: WebsocketCommunicator, within_s: float) -> int | None:
    """The close code the server sent within `within_s` (frames before it are skipped)."""
    deadline = time.monotonic() + within_s
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        try:
            output = await communicator.receive_output(timeout=left)
        except TimeoutError:
            return None
        if output["type"] == "websocket.close":
            return int(output.get("code", 1000))


async def _still_open(communicator: WebsocketCommunicator) -> bool:
    """Whether the socket is open a second later: no close sent, and it still answers.

    (A timed-out receive_output would cancel the application, so the queue is read as is.)
    """
    await asyncio.sleep(1.0)
    while not communicator.output_queue.empty():
        if communicator.output_queue.get_nowait()["type"] == "websocket.close":
            return False
    await communicator.send_to(text_data="{not json")
    for _ in range(20):
        output = await communicator.receive_output(timeout=CLOSE_WITHIN_S)
        if output["type"] == "websocket.close":
            return False
        if '"error"' in output.get("text", ""):
            return True
    return False


def _expire(key: str) -> None:
    token = DeviceToken.objects.get(key_hash=services.key_hash(key))
    now = timezone.now()
    DeviceToken.objects.filter(pk=token.pk).update(
        created_at=now - timedelta(days=2), expires_at=now - timedelta(seconds=1)
    )


def _revoke(key: str) -> None:
    token = DeviceToken.objects.get(key_hash=services.key_hash(key))
    services.device_token_revoke(token_id=token.pk, revoked_by=None)


def _deactivate(user: Any) -> None:
    user.is_active = False
    user.save()


# --- The key is never shown again and never stored -----------------------------------------


@pytest.mark.django_db
def test_the_admin_pages_never_show_a_key(client, admin, paramedic):
    key = factories.device_token(paramedic)
    token = DeviceToken.objects.get(user=paramedic)
    client.force_login(admin)
    for url in (
        "/admin/accounts/devicetoken/",
        f"/admin/accounts/devicetoken/{token.pk}/change/",
        "/admin/accounts/devicetoken/add/",
        f"/admin/accounts/user/{paramedic.pk}/change/",
    ):
        page = client.get(url)
        assert page.status_code == 200, url
        body = page.content.decode()
        assert key not in body, url
        assert key.split("_", 2)[2] not in body, url
        assert token.key_hash not in body, url
    assert token.prefix in client.get("/admin/accounts/devicetoken/").content.decode()


@pytest.mark.django_db
def test_the_admin_shows_a_new_key_once_on_the_answer_and_never_after(client, admin, paramedic):
    client.force_login(admin)
    answer = client.post(
        "/admin/accounts/devicetoken/add/",
        {"user": paramedic.pk, "label": "avl box 7", "days": "30"},
    )
    assert answer.status_code == 200
    assert "no-store" in answer["Cache-Control"]
    token = DeviceToken.objects.get(user=paramedic)
    assert token.label == "avl box 7"
    assert timedelta(days=29) < token.expires_at - token.created_at <= timedelta(days=30)
    key = answer.context["key"]
    assert key.startswith(token.prefix + "_")
    assert services.key_hash(key) == token.key_hash
    assert answer.content.decode().count(key) == 1
    # Not in a message (cookie or session) waiting for the next page, nor on any later page.
    assert all(key not in morsel.value for morsel in client.cookies.values())
    for url in ("/admin/accounts/devicetoken/", f"/admin/accounts/devicetoken/{token.pk}/change/"):
        assert key not in client.get(url).content.decode()
    assert client.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Token {key}").status_code == 200


@pytest.mark.django_db
def test_the_admin_refuses_a_token_for_an_inactive_user_naming_the_field(client, admin, paramedic):
    paramedic.is_active = False
    paramedic.save()
    client.force_login(admin)
    answer = client.post("/admin/accounts/devicetoken/add/", {"user": paramedic.pk, "days": ""})
    assert answer.status_code == 200
    assert "user" in answer.context["adminform"].form.errors
    assert not DeviceToken.objects.exists()


@pytest.mark.django_db
def test_the_admin_cannot_edit_or_delete_a_token_only_revoke_it(client, admin, paramedic):
    key = factories.device_token(paramedic)
    token = DeviceToken.objects.get(user=paramedic)
    client.force_login(admin)
    edited = client.post(
        f"/admin/accounts/devicetoken/{token.pk}/change/", {"user": admin.pk, "label": "x"}
    )
    assert edited.status_code == 403
    assert client.get(f"/admin/accounts/devicetoken/{token.pk}/delete/").status_code == 403
    revoked = client.post(
        "/admin/accounts/devicetoken/",
        {"action": "revoke", "_selected_action": [token.pk]},
    )
    assert revoked.status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert token.revoked_by == admin
    assert client.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Token {key}").status_code == 401


@pytest.mark.django_db(transaction=True)
def test_the_database_holds_no_raw_key(paramedic):
    key = factories.device_token(paramedic)
    secret = key.split("_", 2)[2]
    found = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            quoted = connection.ops.quote_name(table)
            cursor.execute(f"SELECT * FROM {quoted}")  # noqa: S608
            for row in cursor.fetchall():
                if any(isinstance(value, str) and secret in value for value in row):
                    found.append(table)
    assert found == []


@pytest.mark.django_db
def test_issuing_and_revoking_are_in_the_audit_chain(admin, paramedic):
    issued = services.device_token_issue(user=paramedic, created_by=admin, label="box")
    services.device_token_revoke(token_id=issued.token.pk, revoked_by=admin)
    rows = AuditEvent.objects.filter(object_type="device_token", object_id=str(issued.token.pk))
    assert [(r.action, r.actor_id) for r in rows.order_by("seq")] == [
        ("device_token_issue", admin.pk),
        ("device_token_revoke", admin.pk),
    ]
    assert all(issued.key not in str(r.detail) for r in rows)
    assert rows[0].detail["prefix"] == issued.token.prefix


# --- Ended tokens are refused over HTTP -------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("end", [_expire, _revoke, "deactivate", "unknown"])
def test_an_ended_token_is_refused_over_http(client, paramedic, end):
    key = factories.device_token(paramedic)
    assert client.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Token {key}").status_code == 200
    if end == "deactivate":
        _deactivate(paramedic)
    elif end == "unknown":
        key = key[:-4] + "AAAA"
    else:
        end(key)
    refused = client.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Token {key}")
    assert refused.status_code == 401
    assert refused["WWW-Authenticate"] == "Token"


# --- Ended tokens are refused on a socket, and open sockets close --------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("end", [_expire, _revoke, "deactivate"])
async def test_an_ended_token_is_refused_on_a_socket(paramedic, end):
    key = await database_sync_to_async(factories.device_token)(paramedic)
    if end == "deactivate":
        await database_sync_to_async(_deactivate)(paramedic)
    else:
        await database_sync_to_async(end)(key)
    communicator = _socket("/ws/crew/", key)
    connected, code = await communicator.connect()
    assert not connected
    assert code == 4401
    await communicator.disconnect()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("end", [_revoke, "deactivate"])
async def test_revoking_or_deactivating_closes_the_open_socket_within_seconds(paramedic, end):
    key = await database_sync_to_async(factories.device_token)(paramedic)
    communicator = _socket("/ws/crew/", key)
    connected, _ = await communicator.connect()
    assert connected
    assert (await communicator.receive_json_from())["type"] == "dispatch.unit.snapshot"
    if end == "deactivate":
        await database_sync_to_async(_deactivate)(paramedic)
    else:
        await database_sync_to_async(end)(key)
    assert await _closed_with(communicator, CLOSE_WITHIN_S) == 4401
    await communicator.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_revoking_one_token_leaves_the_units_other_token_open(paramedic):
    key = await database_sync_to_async(factories.device_token)(paramedic)
    other = await database_sync_to_async(factories.device_token)(paramedic)
    kept = _socket("/ws/crew/", other)
    assert (await kept.connect())[0]
    await kept.receive_json_from()
    await database_sync_to_async(_revoke)(key)
    assert await _still_open(kept)
    await kept.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_a_socket_closes_when_its_token_expires(paramedic):
    key = await database_sync_to_async(factories.device_token)(paramedic)
    await database_sync_to_async(
        lambda: DeviceToken.objects.filter(key_hash=services.key_hash(key)).update(
            expires_at=timezone.now() + timedelta(seconds=1.5)
        )
    )()
    communicator = _socket("/ws/crew/", key)
    assert (await communicator.connect())[0]
    assert await _closed_with(communicator, 1.5 + CLOSE_WITHIN_S) == 4401
    await communicator.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_a_revocation_the_layer_does_not_carry_is_found_by_the_recheck(paramedic, settings):
    # A revocation from another process without a shared channel layer (manage.py next to
    # the in-memory layer): only the socket's own re-check of the database can see it.
    settings.DEVICE_TOKEN_RECHECK_SECONDS = 1
    key = await database_sync_to_async(factories.device_token)(paramedic)
    communicator = _socket("/ws/crew/", key)
    assert (await communicator.connect())[0]
    await communicator.receive_json_from()
    await database_sync_to_async(
        lambda: DeviceToken.objects.filter(key_hash=services.key_hash(key)).update(
            revoked_at=timezone.now()
        )
    )()
    assert await _closed_with(communicator, 1 + CLOSE_WITHIN_S) == 4401
    await communicator.disconnect()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("role", "path"), [("dispatcher", "/ws/dispatch/"), ("ed_nurse", "/ws/ed/")]
)
async def test_logout_closes_the_sessions_open_socket_within_seconds(
    async_client, dispatcher, ed_nurse, role, path
):
    user = {"dispatcher": dispatcher, "ed_nurse": ed_nurse}[role]
    await async_client.aforce_login(user)
    cookie = f"sessionid={async_client.cookies['sessionid'].value}".encode()
    communicator = WebsocketCommunicator(
        application, path, headers=[ORIGIN, HOST, (b"cookie", cookie)]
    )
    assert (await communicator.connect())[0]
    await communicator.receive_json_from()
    logged_out = await async_client.post("/logout/")
    assert logged_out.status_code == 302
    assert await _closed_with(communicator, CLOSE_WITHIN_S) == 4401
    await communicator.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_logout_of_one_session_leaves_another_session_of_the_user_open(
    async_client, client, dispatcher
):
    from django.test import AsyncClient

    other = AsyncClient()
    await other.aforce_login(dispatcher)
    cookie = f"sessionid={other.cookies['sessionid'].value}".encode()
    kept = WebsocketCommunicator(
        application, "/ws/dispatch/", headers=[ORIGIN, HOST, (b"cookie", cookie)]
    )
    assert (await kept.connect())[0]
    await kept.receive_json_from()
    await async_client.aforce_login(dispatcher)
    await async_client.post("/logout/")
    assert await _still_open(kept)
    await kept.disconnect()


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["dispatcher", "paramedic", "ed_nurse", "outsider", "staff", None])
def test_only_administrators_reach_the_device_token_admin(
    client, dispatcher, paramedic, ed_nurse, outsider, who
):
    key = factories.device_token(paramedic)
    token = DeviceToken.objects.get(user=paramedic)
    users = {
        "dispatcher": dispatcher,
        "paramedic": paramedic,
        "ed_nurse": ed_nurse,
        "outsider": outsider,
        # Staff without the device-token permissions.
        "staff": factories.AdminFactory(is_superuser=False),
    }
    if who is not None:
        client.force_login(users[who])
    for url in (
        "/admin/accounts/devicetoken/",
        f"/admin/accounts/devicetoken/{token.pk}/change/",
        "/admin/accounts/devicetoken/add/",
    ):
        page = client.get(url)
        assert page.status_code in {302, 403}, (who, url)
        assert key not in page.content.decode()
    issued = client.post("/admin/accounts/devicetoken/add/", {"user": paramedic.pk})
    assert issued.status_code in {302, 403}
    revoked = client.post(
        "/admin/accounts/devicetoken/", {"action": "revoke", "_selected_action": [token.pk]}
    )
    assert revoked.status_code in {302, 403}
    assert DeviceToken.objects.filter(revoked_at__isnull=True).count() == 1
