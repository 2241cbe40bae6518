// The unit stream: the crew socket with hello, in-sequence events with resync on a gap, the
// snapshot after a long absence, and the periodic resync.
import { connect } from "../../js/socket.js";
import { ACTIVE, RESYNC_EVERY_MS, STATUS_LABEL, deviceId, el, emit, hospitals, remember, state, stream } from "./state.js";
import { outbox } from "./crew_outbox.js";
import { alertNewAssignment } from "./alerts.js";
import { render } from "./screen.js";

// ---- the unit stream ---------------------------------------------------------------------------
function finish(a) {
  state.idleNote = "Last call " + (STATUS_LABEL[a.status] || a.status).toLowerCase() + ": " +
    ((a.incident && (a.incident.address || a.incident.chief_complaint)) || "#" + a.id) + ".";
  state.assignment = null;
  el.destination.value = "";
}

function applyAssignment(data) {
  const current = state.assignment;
  if (ACTIVE.indexOf(data.status) >= 0) {
    if (!current || current.id !== data.id) state.idleNote = "";
    state.assignment = data;
    if (!current || current.id !== data.id) alertNewAssignment(data);
  } else if (current && current.id === data.id) {
    finish(data);
  }
}

// An ED opened or went on diversion: the hospital picker says so at once.
function applyHospital(data) {
  if (!data || data.id === undefined) return;
  const key = String(data.id);
  const option = Array.prototype.find.call(el.destination.options, function (o) { return o.value === key; });
  const hospital = hospitals[key];
  if (!option || !hospital) return;
  const name = typeof data.name === "string" ? data.name : hospital.name.replace(/ — ON DIVERSION$/, "");
  hospital.name = name + (data.ed_status === "diversion" ? " — ON DIVERSION" : "");
  option.textContent = hospital.name;
  option.dataset.edStatus = data.ed_status || "";
}

let connection = null;

function startLive() {
  connection = connect(function () { return "/ws/crew/?since=" + state.seq; }, {
    watchOnline: true,
    open: function (socket) {
      socket.send(JSON.stringify({ type: "hello", device_id: deviceId }));
    },
    message: onMessage,
    close: function () {
      state.helloAcked = false;
      state.resyncPending = false;
      outbox.setOnline(false);
    },
  });
  setInterval(function () {
    if (state.helloAcked) resync();
  }, RESYNC_EVERY_MS);
}

function resync() {
  if (!connection || state.resyncPending) return;
  if (connection.send({ type: "resync", since: state.seq })) state.resyncPending = true;
}

function onEvent(event) {
  if (event.seq <= state.seq) return; // already applied (replay overlap, snapshot race)
  // An event the server merged for a late screen covers seq_from..seq (docs/protocol.md).
  const first = typeof event.seq_from === "number" ? event.seq_from : event.seq;
  if (first > state.seq + 1) {
    // A missed event: ask for everything after the last one applied; the replay brings this one too.
    resync();
    return;
  }
  state.seq = event.seq;
  if (event.type.indexOf("dispatch.assignment.") === 0) applyAssignment(event.data);
  if (event.type === "handoff.hospital.updated") applyHospital(event.data);
  remember();
  if (event.type.indexOf("handoff.") === 0) emit("event", event);
  render();
}

function onMessage(message) {
  if (outbox.handle(message)) return;
  switch (message.type) {
    case "hello.ack":
      state.helloAcked = true;
      outbox.noteServerSeq(message.last_seq);
      outbox.setOnline(true);
      emit("online");
      return;
    case "replay":
      state.resyncPending = false;
      return;
    case "dispatch.unit.snapshot":
      // Sent when the server cannot replay from our sequence: it resets the sequence.
      state.resyncPending = false;
      state.seq = Number(message.seq) || 0;
      state.unit = Object.assign({}, message.data);
      delete state.unit.assignment;
      if (message.data.assignment) {
        applyAssignment(message.data.assignment);
      } else if (state.assignment && (message.data.status === "available" || message.data.status === "out_of_service")) {
        finish(Object.assign({}, state.assignment, { status: "cleared" }));
      }
      remember();
      emit("online");
      render();
      return;
    default:
      if (message.stream === stream && typeof message.seq === "number") onEvent(message);
  }
}

export { connection, finish, startLive };
