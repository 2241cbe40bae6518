// Each message of the centre stream to the code that applies it, the extra handlers other
// modules register (on), and the socket itself.
import { connect } from "../../js/socket.js";
import { state } from "./state.js";
import { touch } from "./format.js";
import { moveUnits, setPresence, upsertUnit } from "./units.js";
import { upsertHospital } from "./hospitals.js";
import { removeIncident, upsertIncident } from "./incidents.js";
import { applyTransfer, applyTransfers } from "./transfers.js";
import { applyDeliveryDelivered, applyDeliveryFailure } from "./deliveries.js";
import { upsertAid } from "./mutual_aid.js";
import { RESYNC_EVERY_MS, applySnapshot, inSequence, resync, sendSeenSoon } from "./live.js";
import { live, noteReplay, noteTiming, watchLateness } from "./lateness.js";

function handleMessage(msg) {
  if (!msg || typeof msg.type !== "string") return;
  live.lastFrameAt = Date.now();
  if (msg.type === "replay") noteReplay(msg);
  if (typeof msg.seq === "number") sendSeenSoon();
  if (!inSequence(msg)) return;
  noteTiming(msg);
  const data = msg.data || {};
  switch (msg.type) {
    case "dispatch.board.snapshot":
      touch("snapshot", "");
      applyTransfers(data.transfers, data.centres);
      applySnapshot(data);
      break;
    case "dispatch.unit.online":
      setPresence(data.unit_id, data.device_id || "tablet");
      break;
    case "dispatch.unit.offline":
      setPresence(data.unit_id, null);
      break;
    case "dispatch.unit.updated":
      touch("unit", data.id);
      upsertUnit(data);
      break;
    case "dispatch.units.moved":
      (Array.isArray(data.units) ? data.units : []).forEach(function (u) { if (u) touch("unit", u.id); });
      moveUnits(Array.isArray(data.units) ? data.units : []);
      live.lastMovedAt = Date.now();
      live.quietConfirmed = false;
      break;
    case "dispatch.incident.created":
    case "dispatch.incident.updated":
      touch("incident", data.id);
      upsertIncident(data);
      break;
    case "dispatch.incident.transferred":
      touch("incident", data.id);
      removeIncident(data.id);
      break;
    case "dispatch.transfer.updated":
      applyTransfer(data);
      break;
    case "handoff.hospital.updated":
      upsertHospital(data);
      break;
    case "dispatch.aid.updated":
      upsertAid(data);
      break;
    case "handoff.delivery.failed":
      applyDeliveryFailure(data);
      break;
    case "handoff.delivery.delivered":
      applyDeliveryDelivered(data);
      break;
    default:
      break;
  }
  const extra = state.messageHandlers.get(msg.type);
  if (extra) extra.forEach(function (fn) { fn(msg); });
}

function on(type, callback) {
  if (!state.messageHandlers.has(type)) state.messageHandlers.set(type, []);
  state.messageHandlers.get(type).push(callback);
}

let socket = null;

function startLive() {
  socket = connect("/ws/dispatch/", {
    message: handleMessage,
    open: function () {
      // A new connection starts with a snapshot, which sets the clock offset afresh.
      state.resyncing = null;
      live.offset = null;
      live.lastFrameAt = Date.now();
    },
  });
  // The channel layer may drop the last event of a quiet spell and nothing later would show
  // the gap; asking every 20 s costs one replay header when nothing was missed.
  setInterval(function () { resync("timer"); }, RESYNC_EVERY_MS);
  setInterval(watchLateness, 1000);
}

export { on, socket, startLive };
