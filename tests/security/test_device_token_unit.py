"""A device token bound to a unit acts as that unit only (issue 22, "bound to a unit"), over
HTTP and WebSocket against the real ASGI application: a box bound to unit A posts no fix or
item for unit B, not even after its account is moved to B."""

from __future__ import annotations

import io

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from accounts import services
from accounts.models import DeviceToken
from config.asgi import application
from dispatch.models import UnitPosition
from tests import factories

ORIGIN = (b"origin", b"http://127.0.0.1:8000")
HOST = (b"host", b"127.0.0.1:8000")


def _fixes(fix_id: str = "f-1") -> dict:
    return {
        "device_id": "avl-1",
        "positions": [
            {
                "id": fix_id,
                "lat": 60.17,
                "lon": 24.945,
                "recorded_at": timezone.now().isoformat(),
            }
        ],
    }


def _position_item(item_id: str, seq: int) -> dict:
    return {
        "type": "position",
        "id": item_id,
        "seq": seq,
        "data": {
            "lat": 60.17,
            "lon": 24.945,
            "recorded_at": timezone.now().isoformat(),
            "fix_id": item_id,
        },
    }


@pytest.fixture
def other_unit(unit):
    return factories.UnitFactory(home_station=unit.home_station)


def _move(user, unit) -> None:
    user.unit = unit
    user.save(update_fields=["unit"])


@pytest.mark.django_db
def test_a_token_cannot_be_issued_for_a_unit_its_user_does_not_crew(paramedic, other_unit):
    with pytest.raises(services.DeviceTokenError) as refused:
        services.device_token_issue(user=paramedic, created_by=None, unit=other_unit)
    assert refused.value.field == "unit"
    assert not DeviceToken.objects.exists()


@pytest.mark.django_db
def test_the_command_issues_a_token_bound_to_a_unit_by_call_sign(paramedic, unit):
    out, err = io.StringIO(), io.StringIO()
    call_command(
        "device_token", "issue", "--user", paramedic.username, "--unit", unit.call_sign,
        stdout=out, stderr=err,
    )  # fmt: skip
    token = DeviceToken.objects.get()
    assert token.unit_id == unit.pk
    assert unit.call_sign in err.getvalue()
    listing = io.StringIO()
    call_command("device_token", "list", stdout=listing)
    assert unit.call_sign in listing.getvalue()
    with pytest.raises(CommandError, match="--unit"):
        call_command("device_token", "issue", "--user", paramedic.username, "--unit", "NOPE")


@pytest.mark.django_db
def test_the_admin_shows_and_checks_the_unit(client, admin, paramedic, unit, other_unit):
    client.force_login(admin)
    refused = client.post(
        "/admin/accounts/devicetoken/add/",
        {"user": paramedic.pk, "unit": other_unit.pk, "label": "box"},
    )
    assert refused.status_code == 200
    assert "not crew of that unit" in refused.content.decode()
    assert not DeviceToken.objects.exists()
    issued = client.post(
        "/admin/accounts/devicetoken/add/", {"user": paramedic.pk, "unit": unit.pk, "label": "box"}
    )
    assert issued.status_code == 200
    assert DeviceToken.objects.get().unit_id == unit.pk
    listing = client.get("/admin/accounts/devicetoken/")
    assert unit.call_sign in listing.content.decode()


@pytest.mark.django_db
def test_a_bound_token_posts_fixes_for_its_unit_and_is_refused_for_another(
    client, paramedic, unit, other_unit
):
    key = factories.device_token(paramedic, unit=unit)
    auth = {"HTTP_AUTHORIZATION": f"Token {key}"}
    own = client.post(f"/api/v1/units/{unit.pk}/positions/", _fixes(), "application/json", **auth)
    assert own.status_code == 200, own.content
    other = client.post(
        f"/api/v1/units/{other_unit.pk}/positions/", _fixes("f-2"), "application/json", **auth
    )
    assert other.status_code == 403
    assert not UnitPosition.objects.filter(unit=other_unit).exists()


@pytest.mark.django_db
def test_a_bound_token_acts_for_no_unit_once_its_user_is_moved(client, paramedic, unit, other_unit):
    bound = factories.device_token(paramedic, unit=unit)
    unbound = factories.device_token(paramedic)
    _move(paramedic, other_unit)
    refused = client.post(
        f"/api/v1/units/{other_unit.pk}/positions/",
        _fixes(),
        "application/json",
        HTTP_AUTHORIZATION=f"Token {bound}",
    )
    assert refused.status_code == 401
    assert not UnitPosition.objects.filter(unit=other_unit).exists()
    # An unbound token follows its account, as before.
    assert client.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Token {unbound}").status_code == 200


async def _device_socket(key: str) -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(
        application,
        "/ws/crew/",
        headers=[ORIGIN, HOST, (b"authorization", f"Token {key}".encode())],
    )
    return communicator


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_a_bound_token_posts_no_fix_for_another_unit_over_the_socket(
    paramedic, unit, other_unit
):
    key = await database_sync_to_async(factories.device_token)(paramedic, unit=unit)
    await database_sync_to_async(_move)(paramedic, other_unit)
    communicator = await _device_socket(key)
    connected, code = await communicator.connect()
    if connected:  # accepted only to be told why: it must close as not logged in
        output = await communicator.receive_output(timeout=3)
        assert output["type"] == "websocket.close"
        code = output.get("code")
    assert code == 4401
    await communicator.disconnect()
    count = await database_sync_to_async(UnitPosition.objects.filter(unit=other_unit).count)()
    assert count == 0


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_moving_the_account_closes_the_bound_tokens_open_socket(
    paramedic, unit, other_unit, settings
):
    settings.DEVICE_TOKEN_RECHECK_SECONDS = 0.2
    key = await database_sync_to_async(factories.device_token)(paramedic, unit=unit)
    communicator = await _device_socket(key)
    connected, _ = await communicator.connect()
    assert connected
    await communicator.receive_json_from()  # snapshot
    await communicator.send_json_to({"type": "hello", "device_id": "avl-1"})
    await communicator.receive_json_from()
    await communicator.send_json_to(_position_item("p-1", 1))
    ack = await communicator.receive_json_from(timeout=5)
    assert ack["type"] == "ack"
    await database_sync_to_async(_move)(paramedic, other_unit)
    closed = None
    for _ in range(50):
        output = await communicator.receive_output(timeout=5)
        if output["type"] == "websocket.close":
            closed = output.get("code")
            break
    assert closed == 4401
    await communicator.disconnect()
    count = await database_sync_to_async(UnitPosition.objects.filter(unit=other_unit).count)()
    assert count == 0
