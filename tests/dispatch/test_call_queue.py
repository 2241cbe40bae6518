"""The emergency-call queue (issue #19): the telephony system rings and ends calls with its
centre's token, a dispatcher answers (first answer wins), and a call not answered within
the agreement's rollover time is offered to the partner centre."""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connections
from django.test import Client
from django.utils import timezone

from accounts.services import key_hash
from audit.models import AuditEvent
from dispatch import events, selectors, services
from dispatch.models import CentreTelephonyToken, MutualAidAgreement, QueuedCall
from realtime.models import EventLog
from tests import factories

pytestmark = pytest.mark.django_db

QUEUED = "dispatch.call_queue.updated"
PHONE = "+358 40 123 4567"


def _post(path, body=None, token=None, client=None):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    return (client or Client()).post(
        path, json.dumps(body or {}), content_type="application/json", **headers
    )


def _ring(token, phone=PHONE, line="trunk-1"):
    return _post("/api/v1/call-queue/", {"caller_phone": phone, "line": line}, token)


@pytest.fixture
def token(centre):
    return services.telephony_token_issue(centre=centre, label="CTI")


@pytest.fixture
def partner():
    return factories.DispatchCentreFactory(name="Partner Centre", code="partner")


@pytest.fixture
def partner_dispatcher(partner):
    return factories.DispatcherFactory(dispatch_centre=partner)


def _agreement(one, other, rollover_seconds=30, **extra):
    low, high = sorted([one, other], key=lambda c: c.pk)
    return MutualAidAgreement.objects.create(
        centre_a=low, centre_b=high, rollover_seconds=rollover_seconds, **extra
    )


def _ringing(centre, *, seconds_ago=0.0, phone=PHONE):
    return services.queued_call_ring(
        centre=centre,
        caller_phone=phone,
        line="trunk-1",
        received_at=timezone.now() - timedelta(seconds=seconds_ago),
    )


def _events(centre):
    return list(
        EventLog.objects.filter(stream=events.centre_group(centre.pk), type=QUEUED).order_by("seq")
    )


# --- The telephony credential and ringing ---------------------------------------------------


def test_the_token_command_prints_the_token_once_and_keeps_only_its_hash(centre):
    out = StringIO()
    call_command("centre_telephony_token", centre.code, "--label", "CTI", stdout=out)
    token = out.getvalue().strip().splitlines()[-1]
    assert token.startswith("ghtel_")
    row = CentreTelephonyToken.objects.get(centre=centre)
    assert row.key_hash == key_hash(token)
    assert token not in json.dumps(list(CentreTelephonyToken.objects.values()), default=str)
    assert _ring(token).status_code == 201


def test_ringing_needs_the_centres_telephony_token(centre, dispatcher, token):
    assert _ring(None).status_code == 401
    assert _ring("ghtel_not-a-token").status_code == 401
    # A dispatcher's session is not the telephony system.
    session = Client()
    session.force_login(dispatcher)
    answer = _post("/api/v1/call-queue/", {"caller_phone": PHONE}, client=session)
    assert answer.status_code == 401
    assert QueuedCall.objects.count() == 0


def test_a_revoked_token_is_refused_at_once(centre, token):
    row = CentreTelephonyToken.objects.get(centre=centre)
    call_command("centre_telephony_token", "--revoke", str(row.pk), stdout=StringIO())
    assert _ring(token).status_code == 401


def test_a_ring_puts_a_ringing_call_in_the_tokens_centre_queue(centre, token):
    answer = _ring(token)
    assert answer.status_code == 201, answer.content
    body = answer.json()
    call = QueuedCall.objects.get(pk=body["id"])
    assert (call.centre, call.status, call.caller_phone, call.line) == (
        centre,
        "ringing",
        PHONE,
        "trunk-1",
    )
    assert body["centre"]["code"] == centre.code
    assert body["offered_to"] is None


def test_a_withheld_number_rings_with_an_empty_phone(token):
    answer = _ring(token, phone="")
    assert answer.status_code == 201
    assert QueuedCall.objects.get().caller_phone == ""


@pytest.mark.parametrize(
    ("body", "field", "text"),
    [
        ({"caller_phone": "call me"}, "caller_phone", "digits"),
        ({"caller_phone": "12"}, "caller_phone", "3 to 15 digits"),
        ({"caller_phone": "+3584012345678901"}, "caller_phone", "it has 16"),
        ({"caller_phone": "040+123"}, "caller_phone", "leading +"),
        ({"caller_phone": "1" * 33}, "caller_phone", "32 characters"),
        ({"caller_phone": "040\x001234"}, "caller_phone", ""),
        ({"caller_phone": 358401234567}, None, None),
        ({}, "caller_phone", "required"),
        ({"caller_phone": PHONE, "line": "trunk;DROP"}, "line", "letters"),
        ({"caller_phone": PHONE, "queue": "x"}, "queue", "Unknown field"),
    ],
)
def test_bad_ring_input_is_refused_naming_the_field(token, body, field, text):
    answer = _post("/api/v1/call-queue/", body, token)
    if field is None:
        # A number sent as a JSON number is read as its digits (DRF's CharField): accepted.
        assert answer.status_code == 201
        return
    assert answer.status_code == 400, answer.content
    assert field in answer.json()
    assert text in json.dumps(answer.json())
    assert QueuedCall.objects.count() == 0


# --- Answering ------------------------------------------------------------------------------


def test_a_dispatcher_answers_and_gets_the_phone_and_the_answer_is_audited(
    centre, dispatcher, token
):
    call_id = _ring(token).json()["id"]
    client = Client()
    client.force_login(dispatcher)
    answer = _post(f"/api/v1/call-queue/{call_id}/answer/", client=client)
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert body["status"] == "answered"
    assert body["caller_phone"] == PHONE
    assert body["answered_by_centre"]["code"] == centre.code
    call = QueuedCall.objects.get(pk=call_id)
    assert call.answered_by == dispatcher
    assert call.answered_at is not None
    assert AuditEvent.objects.filter(
        actor=dispatcher, action="queued_call_answer", object_id=str(call_id)
    ).exists()


def test_a_later_answer_is_refused_with_who_answered_and_when(centre, dispatcher, token):
    second = factories.DispatcherFactory(dispatch_centre=centre)
    call_id = _ring(token).json()["id"]
    first_client, second_client = Client(), Client()
    first_client.force_login(dispatcher)
    second_client.force_login(second)
    assert _post(f"/api/v1/call-queue/{call_id}/answer/", client=first_client).status_code == 200
    answer = _post(f"/api/v1/call-queue/{call_id}/answer/", client=second_client)
    assert answer.status_code == 409
    answered_at = timezone.localtime(QueuedCall.objects.get(pk=call_id).answered_at)
    assert answer.json()["status"] == [
        f"This call was answered by {centre.name} at {answered_at:%H:%M:%S}."
    ]
    assert answer.json()["code"] == "already_answered"
    assert QueuedCall.objects.get(pk=call_id).answered_by == dispatcher


def test_another_centre_cannot_answer_a_call_not_offered_to_it(
    centre, token, partner, partner_dispatcher
):
    call_id = _ring(token).json()["id"]
    client = Client()
    client.force_login(partner_dispatcher)
    assert _post(f"/api/v1/call-queue/{call_id}/answer/", client=client).status_code == 404
    assert QueuedCall.objects.get(pk=call_id).status == "ringing"


@pytest.mark.django_db(transaction=True)
def test_two_centres_answering_at_once_the_first_wins(centre, dispatcher, partner):
    partner_dispatcher = factories.DispatcherFactory(dispatch_centre=partner)
    _agreement(centre, partner, rollover_seconds=10)
    call = _ringing(centre, seconds_ago=20)
    assert services.queued_calls_roll_over() == 1
    barrier = threading.Barrier(2)
    results: dict[str, str] = {}

    def answer(user):
        try:
            barrier.wait(timeout=10)
            services.queued_call_answer(user=user, call_id=call.pk)
            results[user.username] = "answered"
        except services.DispatchError as exc:
            results[user.username] = exc.code
        finally:
            connections.close_all()

    threads = [threading.Thread(target=answer, args=(u,)) for u in (dispatcher, partner_dispatcher)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(results.values()) == ["already_answered", "answered"]
    call.refresh_from_db()
    winner = next(name for name, result in results.items() if result == "answered")
    assert call.status == "answered"
    assert call.answered_by.username == winner
    assert AuditEvent.objects.filter(action="queued_call_answer").count() == 1


# --- Rollover ---------------------------------------------------------------------------------


def test_a_call_rolls_over_to_the_partner_after_the_agreements_seconds(
    centre, partner, partner_dispatcher
):
    _agreement(centre, partner, rollover_seconds=30)
    now = timezone.now()
    call = services.queued_call_ring(
        centre=centre, caller_phone=PHONE, received_at=now - timedelta(seconds=20)
    )
    assert services.queued_calls_roll_over(now=now) == 0
    later = now + timedelta(seconds=11)
    assert services.queued_calls_roll_over(now=later) == 1
    call.refresh_from_db()
    assert call.offered_to == partner
    assert call.offered_at == later
    # Idempotent: run again (a second scheduler), nothing more is offered or announced.
    assert services.queued_calls_roll_over(now=later + timedelta(seconds=2)) == 0
    assert len(_events(partner)) == 1
    # Now the partner's dispatcher may answer it.
    answered = services.queued_call_answer(user=partner_dispatcher, call_id=call.pk)
    assert answered.status == "answered"
    assert AuditEvent.objects.get(action="queued_call_answer").detail["rolled_over"] is True


def test_the_rollover_works_both_ways_of_an_agreement(centre, partner):
    _agreement(centre, partner, rollover_seconds=5)
    call = _ringing(partner, seconds_ago=6)
    assert services.queued_calls_roll_over() == 1
    call.refresh_from_db()
    assert call.offered_to == centre


@pytest.mark.parametrize(
    "agreement",
    [None, {"rollover_seconds": None}, {"rollover_seconds": 5, "active": False}],
    ids=["no-agreement", "rollover-empty", "agreement-inactive"],
)
def test_no_rollover_without_an_active_agreement_with_a_time(centre, partner, agreement):
    if agreement is not None:
        _agreement(centre, partner, **agreement)
    call = _ringing(centre, seconds_ago=3600)
    assert services.queued_calls_roll_over() == 0
    call.refresh_from_db()
    assert call.offered_to is None
    assert _events(partner) == []


def test_answered_and_abandoned_calls_do_not_roll_over(centre, dispatcher, partner):
    _agreement(centre, partner, rollover_seconds=5)
    answered = _ringing(centre, seconds_ago=60)
    services.queued_call_answer(user=dispatcher, call_id=answered.pk)
    abandoned = _ringing(centre, seconds_ago=60)
    services.queued_call_end(centre=centre, call_id=abandoned.pk)
    assert services.queued_calls_roll_over() == 0


def test_the_partner_with_the_shortest_rollover_gets_the_call(centre, partner):
    slower = factories.DispatchCentreFactory()
    _agreement(centre, slower, rollover_seconds=10)
    _agreement(centre, partner, rollover_seconds=20)
    fast = _agreement(partner, slower, rollover_seconds=99)
    assert fast.pk
    call = _ringing(centre, seconds_ago=25)
    assert services.queued_calls_roll_over() == 1
    call.refresh_from_db()
    assert call.offered_to == slower


def test_the_rollover_runs_in_the_schedule_every_two_seconds(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["call-queue-roll-over"]
    assert entry["task"] == "dispatch.tasks.queued_calls_roll_over"
    assert entry["schedule"] == 2.0


def test_the_scheduled_task_offers_the_call(centre, partner):
    from dispatch.tasks import queued_calls_roll_over

    _agreement(centre, partner, rollover_seconds=5)
    _ringing(centre, seconds_ago=6)
    assert queued_calls_roll_over.apply().get() == 1


# --- Events and the board ------------------------------------------------------------------


def test_events_reach_the_centres_that_may_answer_with_the_phone(centre, dispatcher, partner):
    third = factories.DispatchCentreFactory()
    _agreement(centre, partner, rollover_seconds=5)
    call = _ringing(centre, seconds_ago=6)
    [rang] = _events(centre)
    assert rang.data["id"] == call.pk
    assert rang.data["status"] == "ringing"
    assert rang.data["caller_phone"] == PHONE
    assert rang.data["centre"] == {"id": centre.pk, "code": centre.code, "name": centre.name}
    assert rang.data["age_s"] >= 6
    # The partner hears nothing of a call that is not offered to it.
    assert _events(partner) == []

    services.queued_calls_roll_over()
    [offered_here] = _events(centre)[1:]
    [offered_there] = _events(partner)
    for event in (offered_here, offered_there):
        assert event.data["offered_to"]["code"] == partner.code
        assert event.data["caller_phone"] == PHONE
        assert event.data["offered_age_s"] is not None

    services.queued_call_answer(user=dispatcher, call_id=call.pk)
    answered_here = _events(centre)[-1]
    answered_there = _events(partner)[-1]
    for event in (answered_here, answered_there):
        assert event.data["status"] == "answered"
        # Nobody else may answer it now: the number stays with the dispatcher who did.
        assert event.data["caller_phone"] is None
        assert event.data["answered_by_centre"]["code"] == centre.code
    assert EventLog.objects.filter(stream=events.centre_group(third.pk)).count() == 0


def test_the_board_snapshot_lists_the_ringing_calls_the_centre_may_answer(centre, partner):
    _agreement(centre, partner, rollover_seconds=5)
    own = _ringing(centre, seconds_ago=1)
    theirs_offered = _ringing(partner, seconds_ago=10)
    theirs_young = _ringing(partner, seconds_ago=1)
    ended = _ringing(centre, seconds_ago=2)
    services.queued_call_end(centre=centre, call_id=ended.pk)
    services.queued_calls_roll_over()
    board = selectors.dispatch_board_snapshot(centre_id=centre.pk)
    assert [c["id"] for c in board["call_queue"]] == [theirs_offered.pk, own.pk]
    assert all(c["caller_phone"] == PHONE for c in board["call_queue"])
    partner_board = selectors.dispatch_board_snapshot(centre_id=partner.pk)
    assert [c["id"] for c in partner_board["call_queue"]] == [theirs_offered.pk, theirs_young.pk]


@pytest.mark.django_db(transaction=True)
def test_the_console_page_is_a_read_of_each_ringing_call(client, centre, dispatcher):
    call = _ringing(centre)
    client.force_login(dispatcher)
    assert client.get("/dispatch/").status_code == 200
    assert AuditEvent.objects.filter(
        actor=dispatcher,
        action="read",
        object_type="queued_call",
        object_id=str(call.pk),
        detail__via="page",
    ).exists()


# --- Hanging up ------------------------------------------------------------------------------


def test_a_caller_hanging_up_abandons_a_ringing_call(centre, dispatcher, token):
    call_id = _ring(token).json()["id"]
    answer = _post(f"/api/v1/call-queue/{call_id}/end/", token=token)
    assert answer.status_code == 200, answer.content
    assert answer.json()["status"] == "abandoned"
    call = QueuedCall.objects.get(pk=call_id)
    assert call.status == "abandoned"
    assert call.ended_at is not None
    assert _events(centre)[-1].data["status"] == "abandoned"
    # Repeated by the telephony system: nothing changes.
    again = _post(f"/api/v1/call-queue/{call_id}/end/", token=token)
    assert again.status_code == 200
    assert QueuedCall.objects.get(pk=call_id).ended_at == call.ended_at
    # Answering it now says the caller hung up.
    with pytest.raises(services.DispatchError) as refused:
        services.queued_call_answer(user=dispatcher, call_id=call_id)
    assert refused.value.code == "call_ended"
    assert "hung up" in refused.value.message


def test_an_answered_call_that_ends_keeps_its_answer(centre, dispatcher, token):
    call_id = _ring(token).json()["id"]
    services.queued_call_answer(user=dispatcher, call_id=call_id)
    assert _post(f"/api/v1/call-queue/{call_id}/end/", token=token).status_code == 200
    call = QueuedCall.objects.get(pk=call_id)
    assert call.status == "answered"
    assert call.ended_at is not None


def test_ending_needs_the_token_of_the_calls_centre(centre, token, partner):
    call_id = _ring(token).json()["id"]
    assert _post(f"/api/v1/call-queue/{call_id}/end/").status_code == 401
    other = services.telephony_token_issue(centre=partner)
    assert _post(f"/api/v1/call-queue/{call_id}/end/", token=other).status_code == 404
    assert QueuedCall.objects.get(pk=call_id).status == "ringing"


# --- From the queue to the incident ----------------------------------------------------------

SENATE_SQUARE = {"source": "map", "lat": 60.16940, "lon": 24.95200}


def _intake(client, queued_call, **extra):
    body = {
        "caller_phone": PHONE,
        "chief_complaint": "chest pain",
        "determinant": "DELTA",
        "location": SENATE_SQUARE,
        "allow_duplicate": True,
        "queued_call": queued_call,
        **extra,
    }
    return _post("/api/v1/incidents/", body, client=client)


def test_the_incident_recorded_from_an_answered_call_is_linked_and_dated_from_the_ring(
    road_map, centre, dispatcher
):
    queued = _ringing(centre, seconds_ago=40)
    services.queued_call_answer(user=dispatcher, call_id=queued.pk)
    client = Client()
    client.force_login(dispatcher)
    answer = _intake(client, queued.pk)
    assert answer.status_code == 201, answer.content
    queued.refresh_from_db()
    assert queued.call is not None
    assert queued.call.incident_id == answer.json()["id"]
    assert queued.call.received_at == queued.received_at
    assert queued.call.incident.call_received_at == queued.received_at
    # The same queued call cannot be recorded twice.
    again = _intake(client, queued.pk)
    assert again.status_code == 400
    assert "already recorded" in again.json()["queued_call"][0]


def test_a_call_attached_to_an_open_incident_is_linked_too(road_map, centre, dispatcher):
    client = Client()
    client.force_login(dispatcher)
    first = _intake(client, None)
    assert first.status_code == 400  # null is not an id
    incident_id = _post(
        "/api/v1/incidents/",
        {"chief_complaint": "chest pain", "determinant": "DELTA", "location": SENATE_SQUARE},
        client=client,
    ).json()["id"]
    queued = _ringing(centre, seconds_ago=5)
    services.queued_call_answer(user=dispatcher, call_id=queued.pk)
    answer = _post(
        "/api/v1/incidents/",
        {
            "chief_complaint": "still not breathing",
            "determinant": "ECHO",
            "attach_to": incident_id,
            "queued_call": queued.pk,
        },
        client=client,
    )
    assert answer.status_code == 201, answer.content
    queued.refresh_from_db()
    assert queued.call.incident_id == incident_id


def test_a_queued_call_someone_else_answered_is_not_yours_to_record(road_map, centre, dispatcher):
    other = factories.DispatcherFactory(dispatch_centre=centre)
    queued = _ringing(centre)
    services.queued_call_answer(user=other, call_id=queued.pk)
    client = Client()
    client.force_login(dispatcher)
    answer = _intake(client, queued.pk)
    assert answer.status_code == 400
    assert answer.json()["queued_call"] == [f"No call {queued.pk} answered by you in the queue."]
    queued.refresh_from_db()
    assert queued.call is None
