// The board's live stream: the ED socket, the in-sequence rule with resync on a gap, and the
// dispatch of each event to the code that applies it.
import { connect } from "../../js/socket.js";
import { RESYNC_EVERY_MS, state } from "./state.js";
import { parseTime } from "./format.js";
import { addMessage, reorder, upsertRow } from "./cards.js";
import { applyHospital, applySnapshot, patchActivation, removeRow } from "./updates.js";

// ---- socket ----------------------------------------------------------------------------

let socket = null;

// The console's rule (static/dispatch/console/live.js): apply the event that follows on, drop
// repeats, ask for what was missed on a gap (once: every event of a batch frame behind the
// gap would ask again); a snapshot resets the position. An event the server merged for a
// late screen covers seq_from..seq (realtime/fanout.py).
let resyncAskedAt = 0;
function resync() {
  if (!socket || state.seq == null || Date.now() - resyncAskedAt < 10000) return;
  if (socket.send({ type: "resync", since: state.seq })) resyncAskedAt = Date.now();
}

function inSequence(msg) {
  if (msg.type === "handoff.board.snapshot") {
    state.seq = typeof msg.seq === "number" ? msg.seq : 0;
    resyncAskedAt = 0;
    return true;
  }
  if (msg.type === "replay") {
    resyncAskedAt = 0;
    return false;
  }
  if (typeof msg.seq !== "number" || state.seq == null) return true;
  if (msg.seq <= state.seq) return false;
  const first = typeof msg.seq_from === "number" ? msg.seq_from : msg.seq;
  if (first > state.seq + 1) {
    resync();
    return false;
  }
  state.seq = msg.seq;
  return true;
}

function handleMessage(msg) {
  if (!msg || typeof msg.type !== "string") return;
  // The countdown runs on the server's clock. Only a snapshot's `ts` is "now": replayed
  // events carry the time they were logged.
  if (msg.type === "handoff.board.snapshot" && typeof msg.ts === "string") {
    const server = parseTime(msg.ts);
    if (server != null) state.skewMs = server - Date.now();
  }
  if (!inSequence(msg)) return;
  const data = msg.data || {};
  switch (msg.type) {
    case "handoff.board.snapshot":
      applySnapshot(data);
      break;
    case "handoff.encounter.updated":
      upsertRow(data);
      break;
    case "handoff.encounter.removed":
      removeRow(data.encounter_id);
      break;
    case "handoff.activation.proposed":
    case "handoff.activation.escalated":
    case "handoff.activation.acknowledged":
      patchActivation(data);
      break;
    case "handoff.message.created":
      addMessage(data);
      break;
    case "handoff.hospital.updated":
      applyHospital(data);
      break;
    default:
      break;
  }
  reorder();
}

function startLive() {
  socket = connect(function () {
    return state.seq == null ? "/ws/ed/" : "/ws/ed/?since=" + state.seq;
  }, { message: handleMessage });
  // The channel layer may drop the last event of a quiet spell and nothing later would show
  // the gap; asking every 20 s costs one replay header when nothing was missed.
  setInterval(resync, RESYNC_EVERY_MS);
}

export { startLive };
