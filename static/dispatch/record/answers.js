// What comes back: the server's acks and refusals of the record's outbox items, and the
// handoff events of the unit stream.
import { clock, uuid } from "../../js/dom.js";
import { NUMERIC } from "./vocabulary.js";
import { db, el, inputs, make, outbox } from "./context.js";
import { absorb, current, patient, persistSoon, upsertMessage } from "./store.js";
import { loadForms } from "./vitals_form.js";
import { addTreatment, medicationText } from "./treatment.js";
import { loadDestinations } from "./destination.js";

// ---- the tablet's outbox and unit stream ----------------------------------------------------------
function onAck(item, answer) {
  const p = patient(item.data && item.data.encounter);
  if (!p) return;
  if (item.type === "encounter") {
    p.opened = true;
    p.srv = Object.assign({}, p.srv || {}, { encounter_id: p.id, temp_identifier: answer.temp_identifier });
    p.problem = null;
  } else if (item.type === "vitals") {
    const v = p.vitals.find(function (x) { return x.client_id === item.data.vitals_id; });
    if (v && v.status !== "acked") {
      Object.assign(v, { status: "acked", news2_total: answer.news2_total, news2_risk: answer.news2_risk, flags: answer.flags || [] });
    }
  } else if (item.type === "message") {
    const m = p.messages.find(function (x) { return x.client_id === item.data.message_id; });
    if (m) Object.assign(m, { status: "sent", id: m.id || answer.message_id });
  } else if (item.type === "intervention" || item.type === "medication") {
    const id = item.data[item.type + "_id"];
    const t = (p.treatment || []).find(function (x) { return x.client_id === id; });
    if (t) t.status = "acked";
  } else if (item.type === "destination") {
    p.dest = { hospital_id: item.data.hospital_id, reason: item.data.reason, status: "set" };
    p.destWarnings = Array.isArray(answer.warnings) ? answer.warnings : [];
    if (p.srv && p.srv.destination_id !== item.data.hospital_id) {
      p.srv.destination_id = item.data.hospital_id;
      p.srv.acknowledged_at = null;
      p.srv.bay = null;
    }
    if (p.opened) loadDestinations(p);
  }
  persistSoon();
}
function onReject(item) {
  const p = patient(item.data && item.data.encounter);
  if (!p) return;
  const r = item.rejection || {};
  if (item.type === "encounter") {
    p.problem = { field: r.field, message: r.message };
    // What the server refused is not what it has: mark those fields unsaved again.
    for (const key of Object.keys(item.data.fields || {})) p.saved[key] = null;
  } else if (item.type === "vitals") {
    const v = p.vitals.find(function (x) { return x.client_id === item.data.vitals_id; });
    if (v) Object.assign(v, { status: "rejected", rejection: r });
    el.vitalsProblem.textContent = "Server refused the vitals of " + clock(item.data.taken_at) + ": " + r.message + (r.field ? " (" + r.field + ")" : "");
    // Put the refused set back in an empty form so it can be corrected, not retyped.
    const form = p.vform;
    if (p.id === db.current && !Object.keys(form.values).some(function (k) { return form.values[k]; })) {
      const values = item.data.vitals || {};
      for (const key of NUMERIC) if (values[key] !== undefined) form.values[key] = String(values[key]);
      loadForms(p);
      el.vitalsProblem.textContent = "Server refused the vitals of " + clock(item.data.taken_at) + ": " + r.message + (r.field ? " (" + r.field + ")" : "") + " — values are back in the form.";
    }
    const tile = inputs[r.field] && inputs[r.field].closest(".vital");
    if (tile) tile.classList.add("bad");
  } else if (item.type === "destination") {
    p.dest = { hospital_id: item.data.hospital_id, reason: item.data.reason, status: "rejected", message: r.message };
  } else if (item.type === "message") {
    const m = p.messages.find(function (x) { return x.client_id === item.data.message_id; });
    if (m) m.status = "rejected";
  } else if (item.type === "intervention" || item.type === "medication") {
    const id = item.data[item.type + "_id"];
    const t = (p.treatment || []).find(function (x) { return x.client_id === id; });
    if (t) Object.assign(t, { status: "rejected", rejection: r });
    el.txProblem.textContent = "Server refused " + (t ? t.text : item.type) + ": " + r.message + (r.field ? " (" + r.field + ")" : "");
    // A dose outside the plausible range is kept only when the crew confirms it.
    if (item.type === "medication" && r.code === "dose_unconfirmed") {
      const confirm = make("button", "btn btn-small tx-confirm-dose", "Confirm this dose and record");
      confirm.type = "button";
      confirm.addEventListener("click", function () {
        const data = Object.assign({}, item.data, { dose_confirmed: true, medication_id: uuid() });
        delete data.encounter;
        outbox.dismiss(item.id);
        addTreatment(p, "medication", data, (t ? t.text : medicationText(data)) + " (dose confirmed)");
      });
      el.txProblem.append(" ", confirm);
    }
  }
  persistSoon();
}
function onEvent(event) {
  const data = event.data || {};
  if (event.type === "handoff.encounter.updated") {
    absorb(data, false);
  } else if (event.type === "handoff.ed.acknowledged") {
    const p = patient(data.encounter_id);
    if (p) p.srv = Object.assign({}, p.srv || {}, { acknowledged_at: data.acknowledged_at, destination_id: data.hospital_id || (p.srv && p.srv.destination_id) });
  } else if (event.type === "handoff.message.created") {
    const p = patient(data.encounter_id);
    if (p && upsertMessage(p, data) && data.sender !== "crew" && !(db.pane === "ed" && db.current === p.id)) p.unread = (p.unread || 0) + 1;
  } else if (event.type === "handoff.delivery.failed") {
    // The hospital's system refused (or never took) a message about this patient.
    const p = patient(data.encounter_id);
    if (p) p.srv = Object.assign({}, p.srv || {}, { delivery_failure: data });
  } else if (event.type === "handoff.delivery.delivered") {
    // A later message of the same channel got through: the warning goes.
    const p = patient(data.encounter_id);
    const shown = p && p.srv && p.srv.delivery_failure;
    if (shown && shown.channel === data.channel && shown.hospital_id === data.hospital_id) {
      p.srv = Object.assign({}, p.srv, { delivery_failure: null });
    }
  } else if (event.type === "handoff.hospital.updated") {
    // An ED opened or went on diversion: re-rank the list the crew is looking at now.
    if (db.pane === "destination") loadDestinations(current());
  }
  persistSoon();
}

export { onAck, onEvent, onReject };
