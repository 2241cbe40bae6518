"""Replay and open sockets after access ended (issue 22, "Trust").

Each way access ends: a crew whose assignment was cleared past the handover window, an ED
whose window after the handover passed, an ED nurse moved to another hospital (and a crew
member to another unit, a dispatcher to another centre), a device token revoked or expired,
a user deactivated. For each, a replay from 0 holds nothing of the patient, and a socket
opened before the end gets nothing more: it is closed within seconds when the credential or
the organisation ended, and live events about the patient stop when only the access to that
patient ended.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.conf import settings
from django.utils import timezone

from accounts import services as account_services
from accounts.models import DeviceToken
from dispatch.models import Assignment, AssignmentStatus
from handoff.models import Encounter
from handoff.services.board import ed_acknowledge, ed_assign_bay, ed_message_send
from tests import factories
from tests.security.attack import (
    CLOSE_WITHIN_S,
    attack_world,
    closed_within,
    frames,
    leaked,
    open_socket,
    reads_of_the_world,
)
from tests.security.test_access_matrix import C, D, E, World

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]

SOCKET_OF = {C: "/ws/crew/", E: "/ws/ed/", D: "/ws/dispatch/"}


def _clear_past_the_handover_window(world: World) -> None:
    past = timezone.now() - timedelta(minutes=settings.CREW_HANDOVER_MINUTES_AFTER_CLEAR + 1)
    Assignment.objects.filter(pk=world.assignment.pk).update(
        status=AssignmentStatus.CLEARED, cleared_at=past
    )


def _hand_over_past_the_ed_window(world: World) -> None:
    past = timezone.now() - timedelta(hours=settings.ED_ACCESS_HOURS_AFTER_HANDOFF, minutes=1)
    Encounter.objects.filter(pk=world.encounter.pk).update(
        arrived_at=past, transfer_of_care_at=past
    )


def _the_ed_acts(world: World, bay: str = "Resus 2") -> None:
    """The receiving ED keeps working on the patient: events to the unit's and ED's streams.

    A colleague acts, so the subject's own move or deactivation does not stop it."""
    colleague = factories.EDStaffFactory(hospital=world.hospital)
    ed_acknowledge(user=colleague, encounter_id=world.encounter.pk)
    ed_assign_bay(user=colleague, encounter_id=world.encounter.pk, bay=bay)
    ed_message_send(user=colleague, encounter_id=world.encounter.pk, text=f"{bay} ready")


async def test_a_crew_cleared_past_the_handover_window_gets_nothing_more_of_the_patient():
    world = await sync_to_async(attack_world)()
    tablet, connected, _ = await open_socket(world, C, "/ws/crew/")
    assert connected
    try:
        await frames(tablet)
        await sync_to_async(_the_ed_acts)(world, "Resus 1")
        before = "".join(await frames(tablet))
        assert world.encounter.temp_identifier in before  # the control: it saw the patient
        await sync_to_async(_clear_past_the_handover_window)(world)
        await sync_to_async(_the_ed_acts)(world, "Resus 3")
        after = "".join(await frames(tablet, quiet_s=1.0))
        assert leaked(world, after) == [], after
    finally:
        await tablet.disconnect()
    replay, connected, _ = await open_socket(world, C, "/ws/crew/?since=0")
    assert connected
    try:
        text = "".join(await frames(replay))
        assert '"type": "replay"' in text or '"type":"replay"' in text
        assert leaked(world, text) == [], leaked(world, text)
    finally:
        await replay.disconnect()


async def test_an_ed_past_its_window_after_handover_replays_nothing_of_the_patient():
    world = await sync_to_async(attack_world)()
    await sync_to_async(_hand_over_past_the_ed_window)(world)
    board, connected, _ = await open_socket(world, E, "/ws/ed/?since=0")
    assert connected
    try:
        text = "".join(await frames(board))
        assert leaked(world, text) == [], leaked(world, text)
    finally:
        await board.disconnect()
    reads = await sync_to_async(reads_of_the_world)(world, E)
    assert ("read", "encounter", str(world.encounter.public_id)) not in reads


def _move(world: World, subject: str) -> None:
    user = world.users[subject]
    if subject == E:
        user.hospital = world.other_hospital
    elif subject == C:
        user.unit = factories.UnitFactory()
    else:
        user.dispatch_centre = factories.DispatchCentreFactory()
    user.save()


@pytest.mark.parametrize("subject", [E, C, D])
async def test_a_user_moved_to_another_organisation_has_the_old_socket_closed(subject):
    world = await sync_to_async(attack_world)()
    path = SOCKET_OF[subject]
    communicator, connected, _ = await open_socket(world, subject, path)
    assert connected
    try:
        await frames(communicator)
        await sync_to_async(_move)(world, subject)
        await sync_to_async(_the_ed_acts)(world)
        code, text = await closed_within(communicator, CLOSE_WITHIN_S)
        assert code == 4401, f"{subject}'s socket of the old organisation stayed open"
        assert leaked(world, text) == []
    finally:
        await communicator.disconnect()
    # Reconnected, the socket follows the new organisation: its replay holds nothing old.
    replay, connected, _ = await open_socket(world, subject, path + "?since=0")
    assert connected
    try:
        text = "".join(await frames(replay))
        assert leaked(world, text) == [], leaked(world, text)
    finally:
        await replay.disconnect()


@pytest.mark.parametrize("subject", [E, C, D])
async def test_a_change_that_keeps_the_organisation_leaves_the_socket_open(subject):
    """The close above is the move's doing: a name change does not close the socket."""
    world = await sync_to_async(attack_world)()
    communicator, connected, _ = await open_socket(world, subject, SOCKET_OF[subject])
    assert connected
    try:
        await frames(communicator)
        user = world.users[subject]
        user.first_name = "Renamed"
        await sync_to_async(user.save)()
        code, _ = await closed_within(communicator, 1.0)
        assert code is None
    finally:
        await communicator.disconnect()


def _end(world: World, subject: str, key: str, how: str) -> None:
    token = DeviceToken.objects.get(key_hash=account_services.key_hash(key))
    if how == "revoked":
        account_services.device_token_revoke(token_id=token.pk, revoked_by=None)
    elif how == "expired":
        now = timezone.now()
        DeviceToken.objects.filter(pk=token.pk).update(
            created_at=now - timedelta(days=2), expires_at=now - timedelta(seconds=1)
        )
    else:
        user = world.users[subject]
        user.is_active = False
        user.save()


@pytest.mark.parametrize("how", ["revoked", "expired", "deactivated"])
@pytest.mark.parametrize("subject", [C, E, D])
async def test_an_ended_token_replays_nothing_and_its_open_socket_closes(subject, how, settings):
    # An expiry is found by the socket's own timer or re-check: make that one second.
    settings.DEVICE_TOKEN_RECHECK_SECONDS = 1
    world = await sync_to_async(attack_world)()
    key = await sync_to_async(factories.device_token)(world.users[subject])
    path = SOCKET_OF[subject]
    communicator, connected, _ = await open_socket(world, subject, path, token=key)
    assert connected
    try:
        await frames(communicator)
        await sync_to_async(_end)(world, subject, key, how)
        code, text = await closed_within(communicator, CLOSE_WITHIN_S)
        assert code == 4401, f"{how} token's socket stayed open"
        await sync_to_async(_the_ed_acts)(world)
        assert leaked(world, text) == []
    finally:
        await communicator.disconnect()
    reads_before = await sync_to_async(reads_of_the_world)(world, subject)
    replay, connected, code = await open_socket(world, subject, path + "?since=0", token=key)
    assert not connected
    assert code == 4401
    await replay.disconnect()
    assert await sync_to_async(reads_of_the_world)(world, subject) == reads_before


@pytest.mark.parametrize("subject", [C, E, D])
async def test_a_deactivated_users_session_socket_closes_and_cannot_replay(subject):
    world = await sync_to_async(attack_world)()
    path = SOCKET_OF[subject]
    communicator, connected, _ = await open_socket(world, subject, path)
    assert connected
    try:
        await frames(communicator)
        user: Any = world.users[subject]
        user.is_active = False
        await sync_to_async(user.save)()
        code, _ = await closed_within(communicator, CLOSE_WITHIN_S)
        assert code == 4401
    finally:
        await communicator.disconnect()
    replay, connected, code = await open_socket(world, subject, path + "?since=0")
    assert not connected
    assert code == 4401
    await replay.disconnect()
