"""Generated messages through the real ASGI application: crew, ED and dispatcher sockets.

Every frame a client sends gets exactly one typed answer (`ack`, `reject`, `error`,
`hello.ack`, or a snapshot/replay for `resync`), and the socket stays open: an exception in a
consumer closes a crew tablet's or an ED board's connection in the middle of a call.

To count answers, each generated frame is followed by a sentinel, an unknown message type
whose `error` echoes its id: everything the socket sends for the frame arrives before that.
Events of the screen's stream (an assignment moved by a `status` item, say) may arrive in
between and are not answers. Each example opens its own connection, so a crash found in one
cannot spill into the next and Hypothesis can shrink it.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

import pytest
from channels.testing import WebsocketCommunicator
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from config.asgi import application
from tests.fuzz.conftest import JSON, crew_items, unique

pytestmark = pytest.mark.django_db(transaction=True)

FUZZ = settings(
    deadline=None,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
ANSWER_TYPES = {"ack", "reject", "error", "hello.ack", "replay"}


@dataclass(frozen=True)
class Frame:
    """A raw WebSocket frame: text that may not be JSON, or bytes."""

    text: str | None = None
    data: bytes | None = None


def _is_answer(message: dict[str, Any]) -> bool:
    kind = message.get("type")
    return kind in ANSWER_TYPES or (isinstance(kind, str) and kind.endswith(".snapshot"))


def _check_shape(answer: dict[str, Any]) -> None:
    if answer["type"] == "error":
        assert set(answer) == {"type", "code", "field", "message", "ref"}, answer
        assert isinstance(answer["code"], str), answer
        assert isinstance(answer["message"], str), answer
    elif answer["type"] == "reject":
        assert {"id", "code", "field", "message"} <= set(answer), answer
        assert isinstance(answer["code"], str), answer
        assert isinstance(answer["message"], str), answer


async def _send(socket: WebsocketCommunicator, message: Any) -> None:
    if isinstance(message, Frame):
        # Straight to the application: the test client refuses empty text frames itself.
        key = "text" if message.text is not None else "bytes"
        await socket.send_input(
            {"type": "websocket.receive", key: message.text if key == "text" else message.data}
        )
    else:
        await socket.send_to(text_data=json.dumps(message))


async def _receive(socket: WebsocketCommunicator) -> dict[str, Any]:
    """The next JSON message; a consumer that crashed raises its own exception here at once
    (waiting on the output queue alone would sit out the timeout first)."""
    queued = asyncio.ensure_future(socket.output_queue.get())
    await asyncio.wait({queued, socket.future}, timeout=5, return_when=asyncio.FIRST_COMPLETED)
    if not queued.done():
        queued.cancel()
        if socket.future.done():
            socket.future.result()
        raise AssertionError("no answer within 5 s")
    out = queued.result()
    assert out["type"] == "websocket.send", f"the socket closed: {out!r}"
    return json.loads(out["text"])  # type: ignore[no-any-return]


async def _converse(path: str, token: str, hello: str | None, messages: list[Any]) -> list[Any]:
    """Open `path`, optionally say hello, send each message; return the answers per message."""
    socket = WebsocketCommunicator(
        application,
        path,
        headers=[
            (b"origin", b"http://127.0.0.1:8000"),
            (b"host", b"127.0.0.1:8000"),
            (b"authorization", f"Token {token}".encode()),
        ],
    )
    connected, _ = await socket.connect()
    assert connected
    try:
        assert _is_answer(await _receive(socket))  # the snapshot
        if hello is not None:
            await socket.send_json_to({"type": "hello", "device_id": hello})
            assert (await _receive(socket))["type"] == "hello.ack"
        answers = []
        for message in messages:
            sentinel = unique("sentinel")
            await _send(socket, message)
            await socket.send_json_to({"type": "fuzz.sentinel", "id": sentinel})
            received = []
            while True:
                out = await _receive(socket)
                if out.get("type") == "error" and out.get("ref") == sentinel:
                    break
                received.append(out)
            answers.append([out for out in received if _is_answer(out)])
        return answers
    finally:
        if not socket.future.done():
            await socket.disconnect()


def _exchange(loop: Any, path: str, token: str, hello: str | None, messages: list[Any]) -> None:
    answers = loop.run_until_complete(_converse(path, token, hello, messages))
    for message, got in zip(messages, answers, strict=True):
        assert len(got) == 1, f"{message!r} got {len(got)} answers: {got!r}"
        _check_shape(got[0])


@pytest.fixture
def loop():
    """One event loop for all the examples of a test, driven from the sync Hypothesis body."""
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


FRAMES = st.builds(Frame, text=st.text(max_size=40)) | st.builds(Frame, data=st.binary(max_size=40))
CONTROL = st.fixed_dictionaries(
    {"type": st.sampled_from(["resync", "hello", "subscribe", "ping"])},
    optional={"since": JSON, "device_id": JSON, "id": JSON, "seq": JSON},
)
SCREEN_MESSAGES = JSON | CONTROL | FRAMES


def crew_messages(world: Any) -> st.SearchStrategy[Any]:
    return crew_items(world) | SCREEN_MESSAGES


@settings(FUZZ, max_examples=120)
@given(data=st.data())
def test_crew_socket_answers_every_frame_once_and_stays_open(world, loop, data):
    messages = data.draw(st.lists(crew_messages(world), min_size=1, max_size=4))
    # Most conversations say hello (items need it); some go straight to items.
    hello = data.draw(st.sampled_from([unique("fuzz-tab"), unique("fuzz-tab"), None]))
    _exchange(loop, "/ws/crew/", world.tokens["paramedic"], hello, messages)


@settings(FUZZ, max_examples=40)
@given(messages=st.lists(SCREEN_MESSAGES, min_size=1, max_size=4))
def test_ed_board_socket_answers_every_frame_once_and_stays_open(world, loop, messages):
    _exchange(loop, "/ws/ed/", world.tokens["ed_nurse"], None, messages)


@settings(FUZZ, max_examples=40)
@given(messages=st.lists(SCREEN_MESSAGES, min_size=1, max_size=4))
def test_dispatcher_socket_answers_every_frame_once_and_stays_open(world, loop, messages):
    _exchange(loop, "/ws/dispatch/", world.tokens["dispatcher"], None, messages)


# Minimal failing inputs the fuzzers above found, kept as plain cases so that each bug has a
# test of its own (a fuzzer stops at the first bug it shrinks). Each must get one typed answer.
FOUND = [
    pytest.param("/ws/crew/", {"type": [], "id": "x", "seq": 1}, id="crew-item-type-is-a-list"),
    pytest.param("/ws/crew/", {"type": {}, "id": "x", "seq": 1}, id="crew-item-type-is-an-object"),
    pytest.param("/ws/crew/", Frame(text=""), id="crew-empty-text-frame"),
    pytest.param("/ws/crew/", Frame(data=b"{}"), id="crew-binary-frame"),
    pytest.param("/ws/ed/", Frame(data=b"{}"), id="ed-binary-frame"),
    pytest.param("/ws/dispatch/", Frame(text=""), id="dispatch-empty-text-frame"),
]


@pytest.mark.parametrize(("path", "message"), FOUND)
def test_frames_the_fuzzers_found_get_one_typed_answer(world, loop, path, message):
    role = {"/ws/crew/": "paramedic", "/ws/ed/": "ed_nurse", "/ws/dispatch/": "dispatcher"}[path]
    hello = unique("fuzz-tab") if path == "/ws/crew/" else None
    _exchange(loop, path, world.tokens[role], hello, [message])
