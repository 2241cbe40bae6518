"""The screens on the regional-scale protocol, in a real browser against the live server.

The dispatcher console merges `dispatch.units.moved` into its map, confirms what it applied
with `seen`, follows merged events (`seq_from`..`seq`) and says when its data is late; the
crew tablet's outbox sends what waits as one `batch` frame, clears items on `answers` and
keeps an item the server answered `retry` until it may send it again.

Positions go through the live server's REST endpoint (the test process's channel layer does
not reach daphne). Frames that only a busy server would send (a merged event, a late one, a
`retry`) are put into the page's real socket, or answered in place of the server by a
WebSocket route, so each test stays short.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest

from dispatch import events
from realtime.events import stream_head
from realtime.models import DeviceItem, EventLog
from tests import factories
from tests.browser.server import post_json
from tests.factories import device_token

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CONSOLE = "/dispatch/"
TABLET = "/dispatch/tablet/"
TIMEOUT_MS = 10_000
KAMPPI = (60.16930, 24.93860)
HAKANIEMI = (60.17830, 24.95050)
SENATE_SQUARE = (60.16940, 24.95200)

# Records what the page sends on its sockets and keeps the sockets, so a test can hand the
# page a frame as if the server had sent it.
SOCKET_SPY = """
(() => {
  const Real = window.WebSocket;
  window.__sockets = [];
  window.__sent = [];
  window.__received = [];
  const send = Real.prototype.send;
  Real.prototype.send = function (data) {
    try { window.__sent.push({ at: Date.now(), msg: JSON.parse(data) }); } catch (e) { /* bin */ }
    return send.call(this, data);
  };
  function Spy(url, protocols) {
    const socket = protocols === undefined ? new Real(url) : new Real(url, protocols);
    window.__sockets.push(socket);
    socket.addEventListener("message", function (event) {
      window.__received.push(JSON.parse(event.data));
    });
    return socket;
  }
  Spy.prototype = Real.prototype;
  Object.assign(Spy, { CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3 });
  window.WebSocket = Spy;
  window.__deliver = function (frame) {
    const socket = window.__sockets[window.__sockets.length - 1];
    socket.onmessage({ data: JSON.stringify(frame) });
  };
})();
"""

MARKER_OF = """(callSign) => {
  let found = null;
  window.GoldenHour.console.map.eachLayer(function (layer) {
    if (layer.options && layer.options.title === callSign && layer.getLatLng) {
      const p = layer.getLatLng();
      found = [p.lat, p.lng];
    }
  });
  return found;
}"""

# True once the unit's marker is on the map (`where` null), or at `where`.
MARKER_AT = (
    "([callSign, where]) => { const p = ("
    + MARKER_OF
    + ")(callSign); return p !== null && (where === null ||"
    " (Math.abs(p[0] - where[0]) < 1e-6 && Math.abs(p[1] - where[1]) < 1e-6)); }"
)


def _post_fix(base_url: str, unit, token: str, where: tuple[float, float], n: int) -> None:
    answer = post_json(
        base_url,
        f"/api/v1/units/{unit.pk}/positions/",
        token,
        {
            "device_id": "avl-test",
            "positions": [
                {
                    "id": f"avl-test:{n}",
                    "lat": where[0],
                    "lon": where[1],
                    "recorded_at": datetime.now(UTC).isoformat(),
                    "heading": 45.0 + n,
                    "speed_mps": 12.5,
                    "accuracy_m": 4.0,
                }
            ],
        },
    )
    assert [r["status"] for r in answer["results"]] == ["stored"]


@pytest.fixture
def fleet(centre, dispatcher):
    """A unit at its station (Kamppi) with a crew member and an API token of the crew."""
    station = factories.StationFactory(centre=centre, lat=KAMPPI[0], lon=KAMPPI[1])
    unit = factories.UnitFactory(home_station=station)
    crew = factories.CrewFactory(unit=unit)
    token = device_token(crew)
    return unit, crew, token


@pytest.fixture
def console(browser_context, browser_login, dispatcher, fleet):
    unit = fleet[0]
    browser_context.add_init_script(SOCKET_SPY)
    page = browser_login(browser_context, dispatcher, CONSOLE)
    page.locator("#connection", has_text="Live").wait_for(timeout=TIMEOUT_MS)
    page.wait_for_function(MARKER_AT, arg=[unit.call_sign, None], timeout=TIMEOUT_MS)
    # The page draws the units it was rendered with at once; frames handed to it must come
    # after the socket's snapshot, which would reset them.
    page.wait_for_function(
        "() => window.__received.some((m) => m.type === 'dispatch.board.snapshot')",
        timeout=TIMEOUT_MS,
    )
    return page


def _marker(page, unit) -> list[float]:
    return page.evaluate(MARKER_OF, unit.call_sign)


def _deliver(page, unit, frame: dict) -> list[float]:
    """Hand the console a frame as if the server had sent it; its marker right after."""
    return page.evaluate(
        "([frame, callSign]) => { window.__deliver(frame); return (" + MARKER_OF + ")(callSign); }",
        [frame, unit.call_sign],
    )


def _near(a, b) -> bool:
    return abs(a[0] - b[0]) < 1e-6 and abs(a[1] - b[1]) < 1e-6


def _sent(page, kind: str) -> list[dict]:
    return page.evaluate(
        "(kind) => window.__sent.filter((s) => s.msg.type === kind)"
        ".map((s) => Object.assign({at: s.at}, s.msg))",
        kind,
    )


def _moved(centre, unit, seq: int, where, *, seq_from: int | None = None, ago_s: float = 0):
    event = {
        "type": "dispatch.units.moved",
        "v": 1,
        "stream": events.centre_group(centre.pk),
        "seq": seq,
        "ts": (datetime.now(UTC) - timedelta(seconds=ago_s)).isoformat(),
        "data": {
            "units": [
                {
                    "id": unit.pk,
                    "lat": where[0],
                    "lon": where[1],
                    "heading": 90.0,
                    "speed_mps": 10.0,
                    "last_fix_at": datetime.now(UTC).isoformat(),
                    "position_source": "fix",
                    "position_stale": False,
                }
            ]
        },
    }
    if seq_from is not None:
        event["seq_from"] = seq_from
    return event


def test_console_moves_the_units_marker_when_a_units_moved_event_arrives(
    console, live_server_url, centre, fleet
):
    unit, _, token = fleet
    assert _near(_marker(console, unit), KAMPPI)

    _post_fix(live_server_url, unit, token, HAKANIEMI, 1)

    console.wait_for_function(MARKER_AT, arg=[unit.call_sign, HAKANIEMI], timeout=TIMEOUT_MS)
    shown = console.evaluate(f"window.GoldenHour.console.unit({unit.pk})")
    assert shown["position_source"] == "fix"
    assert shown["heading"] == 46.0
    assert shown["speed_mps"] == 12.5
    assert shown["last_fix_at"] is not None
    assert shown["position_stale"] is False
    assert shown["call_sign"] == unit.call_sign  # merged into the unit, not replacing it
    # The server sent it as the tick's position event, not as a unit update.
    assert EventLog.objects.filter(
        stream=events.centre_group(centre.pk), type="dispatch.units.moved"
    ).exists()


def test_console_confirms_what_it_applied_with_seen_at_most_every_half_second(
    console, live_server_url, centre, fleet
):
    unit, _, token = fleet
    places = [HAKANIEMI, SENATE_SQUARE, KAMPPI, HAKANIEMI, SENATE_SQUARE, KAMPPI]
    for n, where in enumerate(places, start=1):
        _post_fix(live_server_url, unit, token, where, n)
    head = stream_head(events.centre_group(centre.pk))
    assert head >= len(places)

    console.wait_for_function(
        "(head) => window.__sent.some((s) => s.msg.type === 'seen' && s.msg.seq === head)",
        arg=head,
        timeout=TIMEOUT_MS,
    )
    seen = _sent(console, "seen")
    seqs = [message["seq"] for message in seen]
    assert seqs == sorted(seqs)
    gaps = [later["at"] - earlier["at"] for earlier, later in itertools.pairwise(seen)]
    # setTimeout may fire a few ms early against Date.now(); 500 ms is the rule.
    assert all(gap >= 480 for gap in gaps), gaps
    assert _near(_marker(console, unit), places[-1])


def test_console_applies_a_merged_event_and_drops_repeats_and_asks_again_on_a_gap(
    console, centre, fleet
):
    unit = fleet[0]
    head = stream_head(events.centre_group(centre.pk))

    # Three position events merged by the server for a late screen: one event, seqs +1..+3.
    merged = _moved(centre, unit, head + 3, HAKANIEMI, seq_from=head + 1)
    assert _near(_deliver(console, unit, merged), HAKANIEMI)
    assert _near(
        _deliver(console, unit, _moved(centre, unit, head + 4, SENATE_SQUARE)), SENATE_SQUARE
    )
    # A repeat of a seq inside the merged range changes nothing.
    assert _near(_deliver(console, unit, _moved(centre, unit, head + 2, KAMPPI)), SENATE_SQUARE)
    assert _sent(console, "resync") == []

    # A real gap is not applied; the console asks for what it missed after +4 (read at once:
    # the server answers that resync with a snapshot, which puts the unit back).
    assert _near(_deliver(console, unit, _moved(centre, unit, head + 7, KAMPPI)), SENATE_SQUARE)
    assert [m["since"] for m in _sent(console, "resync")] == [head + 4]


def test_console_says_when_map_data_is_late_and_hides_it_when_fresh(console, centre, fleet):
    unit = fleet[0]
    head = stream_head(events.centre_group(centre.pk))
    late = console.locator("#data-late")
    assert late.is_hidden()

    _deliver(console, unit, _moved(centre, unit, head + 1, HAKANIEMI, ago_s=12))
    late.wait_for(state="visible", timeout=3_000)
    assert re.fullmatch(r"Map data is 1[2-4] s late", late.inner_text()), late.inner_text()

    _deliver(console, unit, _moved(centre, unit, head + 2, SENATE_SQUARE))
    late.wait_for(state="hidden", timeout=3_000)


# ---- the crew tablet's outbox -----------------------------------------------------------------


class CrewLink:
    """A WebSocket route between the tablet and the real server that logs every frame and
    can answer a frame itself instead of passing it on (as a busy server would)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.from_page: list[tuple[float, dict]] = []
        self.from_server: list[dict] = []
        self.intercept = None  # callable(message, page, server) -> True when it answered
        self.page = None

    def route(self, ws) -> None:
        self.page = ws
        server = ws.connect_to_server()

        def page_said(text):
            message = json.loads(text)
            with self.lock:
                self.from_page.append((time.monotonic(), message))
            if self.intercept is not None and self.intercept(message, ws, server):
                return
            server.send(text)

        def server_said(text):
            with self.lock:
                self.from_server.append(json.loads(text))
            ws.send(text)

        ws.on_message(page_said)
        server.on_message(server_said)

    def to_page(self, message: dict) -> None:
        """Send the tablet a frame as if the server had sent it."""
        self.page.send(json.dumps(message))

    def item_frames(self) -> list[tuple[float, dict]]:
        with self.lock:
            return [
                (at, m)
                for at, m in self.from_page
                if m.get("type") == "batch" or m.get("type") == "position"
            ]


def _ids(frame: dict) -> list[str]:
    items = frame["items"] if frame["type"] == "batch" else [frame]
    return [item["id"] for item in items]


PUSH_FIXES = """(n) => {
  const ids = [];
  for (let i = 0; i < n; i += 1) {
    ids.push(window.GoldenHour.tablet.outbox.push("position", {
      lat: 60.1700 + i / 10000, lon: 24.9400, recorded_at: new Date().toISOString(),
      heading: null, speed_mps: null, accuracy_m: 5,
    }).id);
  }
  return ids;
}"""


@pytest.fixture
def tablet(browser_context, browser_login, fleet):
    link = CrewLink()
    browser_context.route_web_socket(re.compile(r"/ws/crew/"), link.route)
    page = browser_login(browser_context, fleet[1], TABLET)
    page.locator("#connection", has_text="Live").wait_for(timeout=TIMEOUT_MS)
    page.wait_for_function("() => window.GoldenHour.tablet.outbox.isOnline()", timeout=TIMEOUT_MS)
    return page, link


def test_tablet_sends_waiting_items_as_one_batch_and_clears_them_on_answers(tablet):
    page, link = tablet
    ids = page.evaluate(PUSH_FIXES, 3)

    page.locator("#outbox-state", has_text="All sent").wait_for(timeout=TIMEOUT_MS)
    frames = [m for _, m in link.item_frames()]
    assert len(frames) == 1
    assert frames[0]["type"] == "batch"
    assert [item["id"] for item in frames[0]["items"]] == ids
    seqs = [item["seq"] for item in frames[0]["items"]]
    assert seqs == sorted(seqs)
    [answers] = [m for m in link.from_server if m.get("type") == "answers"]
    assert [a["index"] for a in answers["answers"]] == [0, 1, 2]
    assert DeviceItem.objects.filter(client_id__in=ids, accepted=True).count() == 3


def test_tablet_keeps_items_answered_retry_and_sends_them_again_in_order_after_the_wait(
    tablet,
):
    page, link = tablet
    wait_ms = 1500
    refused: list[float] = []

    def refuse_all_but_the_first(message, ws, server):
        # The server took the first item of the first batch and refused the rest (a full
        # ingest queue refuses a frame from one item on): two `answers` frames.
        if refused or message.get("type") != "batch":
            return False
        first, *rest = message["items"]
        server.send(json.dumps({"type": "batch", "items": [first]}))
        retry = [
            {
                "type": "retry",
                "id": item["id"],
                "code": "busy",
                "retry_after_ms": wait_ms,
                "message": "The server is full.",
                "index": index,
            }
            for index, item in enumerate(rest, start=1)
        ]
        refused.append(time.monotonic())
        ws.send(json.dumps({"type": "answers", "answers": retry}))
        return True

    link.intercept = refuse_all_but_the_first
    ids = page.evaluate(PUSH_FIXES, 3)

    page.locator("#outbox-state", has_text="2 items waiting to send").wait_for(timeout=TIMEOUT_MS)
    assert [item["id"] for item in page.evaluate("window.GoldenHour.tablet.outbox.pending()")] == (
        ids[1:]
    )
    assert "server busy" in page.locator("#outbox-state").inner_text()

    page.locator("#outbox-state", has_text="All sent").wait_for(timeout=TIMEOUT_MS)
    frames = link.item_frames()
    assert [_ids(m) for _, m in frames] == [ids, ids[1:]]
    assert frames[1][0] - refused[0] >= wait_ms / 1000 - 0.05
    assert DeviceItem.objects.filter(client_id__in=ids, accepted=True).count() == 3


def test_tablet_resends_a_single_item_answered_retry_once_the_wait_is_over(tablet):
    page, link = tablet
    wait_ms = 1200
    refused: list[float] = []

    def rate_limit_once(message, ws, server):
        if refused or message.get("type") != "position":
            return False
        refused.append(time.monotonic())
        ws.send(
            json.dumps(
                {
                    "type": "retry",
                    "id": message["id"],
                    "code": "rate_limited",
                    "retry_after_ms": wait_ms,
                    "message": "Over 50 items/s for this device.",
                }
            )
        )
        return True

    link.intercept = rate_limit_once
    [item_id] = page.evaluate(PUSH_FIXES, 1)
    page.locator("#outbox-state", has_text="1 item waiting to send").wait_for(timeout=TIMEOUT_MS)
    page.locator("#outbox-state", has_text="All sent").wait_for(timeout=TIMEOUT_MS)

    frames = link.item_frames()
    assert [_ids(m) for _, m in frames] == [[item_id], [item_id]]
    assert frames[1][0] - refused[0] >= wait_ms / 1000 - 0.05
    assert DeviceItem.objects.filter(client_id=item_id, accepted=True).count() == 1


def test_tablet_holds_new_items_while_the_server_asks_it_to_back_off(tablet):
    page, link = tablet
    wait_ms = 1500
    told_at = time.monotonic()
    link.to_page(
        {
            "type": "backoff",
            "reason": "busy",
            "retry_after_ms": wait_ms,
            "message": "The server is busy: answers are late; slow down.",
        }
    )
    # Pushed once the page has taken the backoff in (an outbox without pausedFor ignores it).
    page.wait_for_function(
        "() => { const box = window.GoldenHour.tablet.outbox;"
        " return typeof box.pausedFor !== 'function' || box.pausedFor() > 0; }",
        timeout=TIMEOUT_MS,
    )
    [item_id] = page.evaluate(PUSH_FIXES, 1)
    page.locator("#outbox-state", has_text="All sent").wait_for(timeout=TIMEOUT_MS)

    [(sent_at, frame)] = link.item_frames()
    assert _ids(frame) == [item_id]
    assert sent_at - told_at >= wait_ms / 1000 - 0.1
    assert DeviceItem.objects.filter(client_id=item_id, accepted=True).count() == 1


def test_tablet_refuses_an_item_the_server_cannot_read_and_sends_the_rest(tablet):
    # A poison item (here JSON nested too deep to read, on the way to the server) is refused
    # whole with its frame; the tablet sends the frame's items one by one, shows the one that is
    # still refused to the crew (a fix: by the GPS switch), and the rest, and whatever comes
    # after, are stored.
    page, link = tablet
    # 5,000 deep is past what the server can read (about 1,000); Playwright's relay of the
    # socket does not pass a 100,000-deep frame on (tests/fuzz/test_poison_items.py sends that).
    deep = "[" * 5_000 + "]" * 5_000

    def poisoned(item):
        # The second of PUSH_FIXES's three fixes (lat 60.1701) is the poison.
        return abs(item.get("data", {}).get("lat", 0) - 60.1701) < 1e-7

    def poison_it(message, ws, server):
        items = message["items"] if message.get("type") == "batch" else [message]
        if not any(poisoned(item) for item in items):
            return False
        marked = [{**item, "data": "POISON"} if poisoned(item) else item for item in items]
        frame = {"type": "batch", "items": marked} if message["type"] == "batch" else marked[0]
        server.send(json.dumps(frame).replace('"POISON"', deep))
        return True

    link.intercept = poison_it
    ids = page.evaluate(PUSH_FIXES, 3)
    # A refused fix is shown by the GPS switch (the crew cannot act on it otherwise).
    page.locator("#gps-state", has_text="fix refused").wait_for(timeout=TIMEOUT_MS)
    assert "nested too deep" in page.locator("#gps-toggle").evaluate(
        "(box) => box.parentElement.title"
    )
    page.locator("#outbox-state", has_text="All sent").wait_for(timeout=TIMEOUT_MS)
    [after] = page.evaluate(PUSH_FIXES, 1)
    page.locator("#outbox-state", has_text="All sent").wait_for(timeout=TIMEOUT_MS)

    stored = set(DeviceItem.objects.filter(accepted=True).values_list("client_id", flat=True))
    assert {ids[0], ids[2], after} <= stored
    assert ids[1] not in stored
    # The socket was never closed for it.
    page.locator("#connection", has_text="Live").wait_for(timeout=TIMEOUT_MS)
    errors = [m for m in link.from_server if m.get("type") == "error"]
    assert errors
    assert all(m["code"] == "too_deep" for m in errors)
