// The tablet's persistent outbox (js/outbox.js) and what its answers change on screen.
import { Outbox } from "../../js/outbox.js";
import { ACTIVE, KEY, emit, gps, remember, state } from "./state.js";
import { render } from "./screen.js";
import { connection, finish } from "./live.js";

// ---- outbox ------------------------------------------------------------------------------
const outbox = Outbox(KEY + ".outbox", function (message) {
  return connection ? connection.send(message) : false;
}, {
  seqKey: "gh.device.seq",
  onack: function (item, answer) {
    // The ack can come before the assignment event: apply it now so the screen never
    // falls back to the old status in between.
    const a = state.assignment;
    if (a && item.type === "status" && answer.assignment_id === a.id && answer.status) {
      a.status = answer.status;
      if (item.data.destination) a.destination_id = item.data.destination;
      if (ACTIVE.indexOf(a.status) < 0) finish(a);
      remember();
    } else if (a && item.type === "acknowledge" && item.data.assignment_id === a.id) {
      a.acknowledged_at = a.acknowledged_at || new Date().toISOString();
      remember();
    }
    emit("ack", item, answer);
  },
  onreject: function (item) {
    emit("reject", item);
    if (item.type === "position") {
      // A refused fix is not something the crew can act on; show it by the GPS switch.
      state.gpsNote = "last fix refused: " + item.rejection.message;
      gps.error = "fix refused";
      outbox.dismiss(item.id);
    }
  },
  onchange: function () { render(); },
});

export { outbox };
