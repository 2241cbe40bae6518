// The patient record on the crew tablet: patients, vitals, ATMIST, treatment, destination,
// ED thread.
//
// Every write is a device item in the tablet's persistent outbox (encounter, vitals,
// destination, message, intervention, medication; docs/handoff.md, docs/protocol.md), so the record works offline and each item is
// applied once: a patient's UUID is made here, before the server has seen it, and the
// outbox sends items in order, so vitals never overtake the encounter they belong to.
// The plausible ranges come from the server's vocabulary (record-initial) for instant
// feedback; the server still judges every set and its refusal is shown with its field.
// Scores (NEWS2, GCS, shock index, qSOFA) are the server's, shown once it has the set.
// The record is kept in localStorage so a reload or a dead battery swap loses nothing.
// Nothing here logs patient details to the console.
//
// This entry module (startRecord, called by tablet.js with the tablet's API) reads the
// context, takes in the stored and served record, wires the controls and listens to the
// tablet; the modules under dispatch/record/ own the rest.
import { initContext, tablet } from "./record/context.js";
import { current, patient, patientsOf, persistSoon, prune, refresh, startStore } from "./record/store.js";
import { loadForms } from "./record/vitals_form.js";
import { render } from "./record/render.js";
import { wireControls } from "./record/controls.js";
import { onAck, onEvent, onReject } from "./record/answers.js";
import { markArrived, renderHandover } from "./record/handover.js";

// ---- start -----------------------------------------------------------------------------
function startRecord(theTablet) {
  if (!initContext(theTablet)) return;
  startStore();
  wireControls();
  tablet.listen({
    ack: onAck,
    reject: onReject,
    event: onEvent,
    online: refresh,
    render: function () {
      prune();
      render();
    },
  });
  // After the record's own render, so the handover controls sit on what it drew.
  tablet.listen({
    arrived: function (assignment) { markArrived(assignment); },
    ack: function (item, answer) {
      if (item.type === "status" && item.data.status === "cleared") {
        patientsOf({ id: item.data.assignment_id }).forEach(function (x) { x.clearedAt = Date.now(); });
        persistSoon();
        return;
      }
      const p = patient(item.data && item.data.encounter);
      if (!p) return;
      if (item.type === "arrival") {
        p.srv = Object.assign({}, p.srv || {}, { arrived_at: answer.arrived_at });
      } else if (item.type === "transfer") {
        p.handoverSent = "acked";
        p.srv = Object.assign({}, p.srv || {}, {
          crew_confirmed_at: answer.crew_confirmed_at,
          transfer_of_care_at: answer.transfer_of_care_at,
        });
      }
      persistSoon();
    },
    reject: function (item) {
      const p = patient(item.data && item.data.encounter);
      if (!p || (item.type !== "transfer" && item.type !== "arrival")) return;
      const r = item.rejection || {};
      if (item.type === "transfer") p.handoverSent = null;
      if (item.type === "arrival") p.arrivalSent = false;
      p.handoverProblem = (item.type === "transfer" ? "Handover refused: " : "Arrival refused: ") + (r.message || "");
      persistSoon();
    },
    render: renderHandover,
  });
  if (current()) loadForms(current());
}

export { startRecord };
