// Is the map's data late? Timing of events against the server's clock, replays, silent
// streams, and the banner that says so.
import { state } from "./state.js";
import { resync } from "./live.js";
import { socket } from "./messages.js";

// ---- is the map's data late? -----------------------------------------------------------
// From the envelope's server time (`ts`) against this browser's clock, corrected by the
// offset the snapshot showed (clock skew plus its delivery time, lowered by any quicker
// delivery since). Late: the last live event applied came more than LATE_MS after the
// server sent it; or units were reporting and a resync on a timer found events the live
// feed never brought; or units were reporting and nothing at all came for SILENT_MS.
const LATE_MS = 5000;
const SILENT_MS = 15000; // above the tablets' 10 s between fixes (dispatch/tablet/gps.js)
const PROBE_SILENT_MS = 12000;
const REPORTING_MS = 60000;
const lateEl = document.getElementById("data-late");
const live = {
  offset: null, // browser clock minus server clock (ms)
  lastTs: null, // server time of the last event applied
  delay: 0, // how long after its server time the last live event was applied
  lastFrameAt: Date.now(), // anything at all from the server
  lastMovedAt: 0, // positions applied: units are reporting
  replayHead: null, // events up to this seq come from a replay (catch-up), not live
  broken: false, // a timed resync found events the live feed had not brought
  quietConfirmed: false, // a timed resync found nothing missing since the last positions
  probedAt: 0,
};

function noteReplay(msg) {
  const reason = state.resyncing ? state.resyncing.reason : "timer";
  state.resyncing = null;
  const head = typeof msg.head === "number" ? msg.head : null;
  live.replayHead = head;
  // After a gap the live feed evidently works; only a resync asked on a timer tells
  // whether it is whole.
  if (reason === "gap" || head === null || state.seq == null) return;
  if (head <= state.seq) {
    live.broken = false;
    live.delay = 0;
    live.quietConfirmed = true;
  } else {
    live.broken = true;
  }
}

function noteTiming(msg) {
  const ts = typeof msg.ts === "string" ? Date.parse(msg.ts) : NaN;
  if (!Number.isFinite(ts)) return;
  const sample = Date.now() - ts;
  if (msg.type === "dispatch.board.snapshot") {
    live.offset = sample;
    live.lastTs = ts;
    live.delay = 0;
    live.broken = false;
    live.replayHead = null;
    return;
  }
  if (live.offset === null || sample < live.offset) live.offset = sample;
  live.lastTs = ts;
  const replayed = typeof msg.seq === "number" && live.replayHead !== null && msg.seq <= live.replayHead;
  if (!replayed) {
    live.delay = sample - live.offset;
    if (live.delay <= LATE_MS) live.broken = false;
  }
}

function lateText() {
  if (!socket || !socket.isOpen() || live.lastTs === null || live.offset === null) return "";
  const now = Date.now();
  const age = now - live.offset - live.lastTs;
  const silent = now - live.lastFrameAt;
  const reporting = now - live.lastMovedAt < REPORTING_MS;
  if (live.delay > LATE_MS || (reporting && live.broken && age > LATE_MS)) {
    return "Map data is " + Math.round(age / 1000) + " s late";
  }
  if (reporting && !live.quietConfirmed && silent > SILENT_MS) {
    return "No map updates for " + Math.round(silent / 1000) + " s";
  }
  return "";
}

function watchLateness() {
  const now = Date.now();
  const silent = now - live.lastFrameAt;
  const reporting = now - live.lastMovedAt < REPORTING_MS;
  // Ask the server rather than guess: its answer says whether anything is missing (and
  // brings it), so a quiet fleet is not reported late and a dead feed is healed sooner.
  const unsure = (live.delay > LATE_MS && silent > 3000) ||
    (reporting && !live.quietConfirmed && silent > PROBE_SILENT_MS);
  if (unsure && now - live.probedAt > 5000) {
    live.probedAt = now;
    resync("probe");
  }
  if (!lateEl) return;
  const text = lateText();
  if (lateEl.textContent !== text) lateEl.textContent = text;
  lateEl.hidden = !text;
}

export { live, noteReplay, noteTiming, watchLateness };
