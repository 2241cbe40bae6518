// The centre stream's consistency: the snapshot applied, events in sequence with one resync at
// a time on a gap, and the "seen" acknowledgement back to the server.
import { state, unitList } from "./state.js";
import { fitFirstLoad } from "./map.js";
import { removeUnit, setPresence, updateUnitCounts, upsertUnit } from "./units.js";
import { removeHospital, upsertHospital } from "./hospitals.js";
import { removeIncident, updateIncidentCounts, upsertIncident } from "./incidents.js";
import { applyAidSnapshot } from "./mutual_aid.js";
import { socket } from "./messages.js";

// ---- socket ----------------------------------------------------------------------------

function applySnapshot(data) {
  const units = Array.isArray(data.units) ? data.units : [];
  const hospitals = Array.isArray(data.hospitals) ? data.hospitals : [];
  const unitIds = new Set(units.map(function (u) { return String(u.id); }));
  Array.from(state.units.keys()).forEach(function (id) { if (!unitIds.has(id)) removeUnit(id); });
  unitList.querySelectorAll("li[data-unit-id]").forEach(function (li) {
    if (!unitIds.has(li.dataset.unitId)) li.remove();
  });
  units.forEach(upsertUnit);
  // Tablets online when the snapshot was taken; events keep it current from here on.
  if (Array.isArray(data.presence)) {
    const online = new Map(data.presence.map(function (p) { return [String(p.unit_id), p.device_id]; }));
    Array.from(state.presence.keys()).forEach(function (id) { if (!online.has(id)) setPresence(id, null); });
    online.forEach(function (device, id) { setPresence(id, device || "tablet"); });
  }
  const hospitalIds = new Set(hospitals.map(function (h) { return String(h.id); }));
  Array.from(state.hospitals.keys()).forEach(function (id) { if (!hospitalIds.has(id)) removeHospital(id); });
  hospitals.forEach(upsertHospital);
  if (Array.isArray(data.incidents)) {
    const incidentIds = new Set(data.incidents.map(function (i) { return String(i.id); }));
    Array.from(state.incidents.keys()).forEach(function (id) { if (!incidentIds.has(id)) removeIncident(id); });
    data.incidents.forEach(upsertIncident);
  }
  applyAidSnapshot(data.aid_requests);
  updateUnitCounts();
  updateIncidentCounts();
  if (!state.fitted) fitFirstLoad();
}

// Events of the centre stream carry a sequence number: drop repeats, and on a gap ask the
// server for what was missed (it answers from its event log, or with a fresh snapshot).
// One resync at a time: every event of a batch frame behind a gap would ask again.
const RESYNC_EVERY_MS = 20000;
const RESYNC_TIMEOUT_MS = 10000;

function resync(reason) {
  if (!socket || state.seq == null) return;
  if (state.resyncing && Date.now() - state.resyncing.at < RESYNC_TIMEOUT_MS) return;
  if (socket.send({ type: "resync", since: state.seq })) state.resyncing = { reason: reason, at: Date.now() };
}

function inSequence(msg) {
  if (msg.type === "dispatch.board.snapshot") {
    state.seq = typeof msg.seq === "number" ? msg.seq : 0;
    state.resyncing = null;
    return true;
  }
  if (msg.type === "replay") return false;
  if (typeof msg.seq !== "number" || state.seq == null) return true;
  if (msg.seq <= state.seq) return false;
  // For a late console the server merges consecutive position events into one that covers
  // seq_from..seq (realtime/fanout.py); it follows on if its range starts at or before ours.
  const first = typeof msg.seq_from === "number" ? msg.seq_from : msg.seq;
  if (first > state.seq + 1) {
    resync("gap");
    return false;
  }
  state.seq = msg.seq;
  return true;
}

// Flow control (realtime/fanout.py): the server holds back a console that has not confirmed
// what it was sent for over 2 s and merges its positions meanwhile, so a slow console gets
// the newest places instead of a growing backlog. Sent at most every 500 ms, and again for
// a frame of repeats: the server counts those frames as unconfirmed too.
const SEEN_EVERY_MS = 500;
const seen = { at: 0, timer: null };
function sendSeenSoon() {
  if (!socket || seen.timer !== null) return;
  seen.timer = setTimeout(function () {
    seen.timer = null;
    if (state.seq != null && socket.send({ type: "seen", seq: state.seq })) seen.at = Date.now();
  }, Math.max(0, seen.at + SEEN_EVERY_MS - Date.now()));
}

export { RESYNC_EVERY_MS, applySnapshot, inSequence, resync, sendSeenSoon };
