// The crew tablet's configuration, page elements and state: the unit, its assignment and the
// stream position (remembered for an offline reload), GPS state, the hospitals on the page,
// and the listeners (the patient record) that hear the tablet's events.
import { uuid } from "../../js/dom.js";

const root = document.getElementById("tablet");
const unitId = root.dataset.unitId;
const stream = "dispatch.unit." + unitId;
const KEY = "gh.crew." + unitId;

// The service worker (templates/dispatch/tablet_sw.js) keeps the page and its files so the
// tablet reloads with no network; the outbox and the record are in localStorage.
if ("serviceWorker" in navigator && root.dataset.swUrl) {
  navigator.serviceWorker.register(root.dataset.swUrl, { scope: root.dataset.swScope })
    .catch(function () { /* no offline copy (private window, http on a non-local host) */ });
}
const RESYNC_EVERY_MS = 30000;
const POSITION_EVERY_MS = 10000;
// watchPosition stays silent while the fix does not change (a parked ambulance), and the
// centre then sees the unit as stale: ask for a fresh fix when none went out for this long
// (CREW_POSITION_HEARTBEAT_SECONDS, docs/protocol.md).
const HEARTBEAT_MS = Math.max(10, Number(root.dataset.positionHeartbeatS) || 30) * 1000;
const STILL_MPS = 1;
const STILL_METRES = 25;
const CONFIRM_MS = 4000;
const ACTIVE = ["dispatched", "en_route", "on_scene", "transporting", "at_destination"];
const UNIT_STATUS_FOR = {
  dispatched: "dispatched", en_route: "en_route", on_scene: "on_scene",
  transporting: "transporting", at_destination: "at_destination",
  cleared: "available", cancelled: "available",
};
const UNIT_LABEL = {
  available: "Available", dispatched: "Dispatched", en_route: "En route", on_scene: "On scene",
  transporting: "Transporting", at_destination: "At destination",
  out_of_service: "Out of service",
};
const STATUS_LABEL = {
  dispatched: "Dispatched", en_route: "En route", on_scene: "On scene",
  transporting: "Transporting", at_destination: "At destination", cleared: "Cleared",
  cancelled: "Cancelled",
};
const STATUS_TIME = {
  dispatched: "notified_at", en_route: "en_route_at", on_scene: "on_scene_at",
  transporting: "left_scene_at", at_destination: "at_destination_at",
};
// The crew's next steps per assignment status (the server's TRANSITIONS, as the crew sees
// them); `confirm` asks for a second tap, as a bump on the road must not cancel a call.
const NEXT = {
  dispatched: [
    { to: "en_route", label: "En route", kind: "go" },
    { to: "cancelled", label: "Cancel", kind: "danger", confirm: "Tap again to cancel" },
  ],
  en_route: [{ to: "on_scene", label: "On scene", kind: "go" }],
  on_scene: [
    { to: "transporting", label: "Transporting", kind: "go", needsDestination: true },
    { to: "cleared", label: "Clear (no transport)", kind: "plain", confirm: "Tap again to clear" },
  ],
  // `then` tells the patient record (record.js): at the ED, each patient is marked arrived.
  transporting: [{ to: "at_destination", label: "At destination", kind: "go", then: "arrived" }],
  at_destination: [{ to: "cleared", label: "Clear — available", kind: "go" }],
};
const MANEUVER_ARROW = {
  depart: "⬤", continue: "↑", "slight right": "↗", "slight left": "↖",
  "turn right": "→", "turn left": "←", "u-turn": "↩",
};

const $ = function (id) { return document.getElementById(id); };
const el = {
  unitStatus: $("unit-status"), outboxState: $("outbox-state"), rejections: $("rejections"),
  idle: $("idle"), idleNote: $("idle-note"), card: $("assignment"),
  determinant: $("determinant"), responseMode: $("response-mode"),
  assignmentStatus: $("assignment-status"), complaint: $("complaint"), address: $("address"),
  stopPoint: $("stop-point"), alertBanner: $("alert-banner"), alertSound: $("alert-sound"),
  alertSoundState: $("alert-sound-state"),
  accessBox: $("access-box"), accessNotes: $("access-notes"), notes: $("incident-notes"),
  eta: $("eta"), distance: $("distance"), etaBox: $("eta-box"), distanceBox: $("distance-box"),
  stepsTitle: $("steps-title"), destinationName: $("destination-name"),
  ack: $("ack-button"), picker: $("destination-picker"), destination: $("destination"),
  buttons: $("status-buttons"), steps: $("steps"), map: $("route-map"),
  gpsToggle: $("gps-toggle"), gpsState: $("gps-state"),
};

function store(key, value) {
  try { window.localStorage.setItem(key, JSON.stringify(value)); } catch (ignored) { /* full */ }
}
function recall(key, fallback) {
  try {
    const raw = window.localStorage.getItem(key);
    return raw === null ? fallback : JSON.parse(raw);
  } catch (ignored) {
    return fallback;
  }
}
// A stable id per browser, so the centre sees which tablet of the unit is online.
let deviceId = window.localStorage.getItem("gh.deviceId");
if (!deviceId || !/^[A-Za-z0-9._:-]{1,64}$/.test(deviceId)) {
  deviceId = "tablet-" + uuid();
  window.localStorage.setItem("gh.deviceId", deviceId);
}

// ---- state -----------------------------------------------------------------------------
const initial = JSON.parse($("tablet-initial").textContent || "null");
const remembered = recall(KEY + ".state", null);
const state = {
  seq: 0, unit: null, assignment: null, idleNote: "",
  helloAcked: false, resyncPending: false, confirming: null, gpsNote: "",
};
// The page is rendered at the stream head, except when it is the service worker's saved
// copy (an offline reload): that holds the assignment of when it was saved, and what this
// tablet applied since is in the remembered state. The higher sequence is the newer state.
const start = remembered && (!initial || Number(remembered.seq) > Number(initial.seq)) ?
  remembered : initial;
if (start) {
  state.seq = Number(start.seq) || 0;
  state.unit = start.unit || null;
  state.assignment = start.assignment || null;
}
const gps = {
  watch: null, lastPush: 0, error: "", asking: false, last: null, previous: null, lastFixClock: 0,
};
function remember() {
  store(KEY + ".state", { seq: state.seq, unit: state.unit, assignment: state.assignment });
}
remember();

const hospitals = {};
for (const option of el.destination.options) {
  if (option.value) {
    hospitals[option.value] = {
      name: option.textContent, lat: parseFloat(option.dataset.lat), lon: parseFloat(option.dataset.lon),
    };
  }
}

// ---- hooks for the patient record (static/dispatch/record.js) ------------------------------
// The record shares this page's outbox and unit stream; it listens rather than owning them.
const listeners = [];
function emit(name) {
  const args = Array.prototype.slice.call(arguments, 1);
  for (const listener of listeners) {
    if (typeof listener[name] !== "function") continue;
    try {
      listener[name].apply(null, args);
    } catch (error) {
      console.error("tablet listener failed:", name, error && error.message);
    }
  }
}

export { ACTIVE, CONFIRM_MS, HEARTBEAT_MS, KEY, MANEUVER_ARROW, NEXT, POSITION_EVERY_MS, RESYNC_EVERY_MS, STATUS_LABEL, STATUS_TIME, STILL_METRES, STILL_MPS, UNIT_LABEL, UNIT_STATUS_FOR, deviceId, el, emit, gps, hospitals, listeners, recall, remember, root, state, store, stream, unitId };
