// Treatment: interventions and medications given, as outbox items, and the ED's
// acknowledgement shown to the crew.
import { clock, uuid } from "../../js/dom.js";
import { $, el, fromHhmm, make, outbox, tablet } from "./context.js";
import { current, persist } from "./store.js";
import { render } from "./render.js";

// ---- treatment: interventions and medications given ----------------------------------------
function medicationText(m) {
  const dose = m.dose !== null && m.dose !== undefined ? (" " + String(m.dose) + " " + (m.dose_unit || "")).replace(/\s+$/, "") : "";
  return m.name + dose + (m.route ? " " + m.route : "");
}
function sameInstant(a, b) {
  const x = new Date(a).getTime();
  return !isNaN(x) && x === new Date(b).getTime();
}
// The server's list (every tablet's entries) plus ours it does not show yet.
function treatmentOf(p) {
  const list = ((p.srv && p.srv.treatment) || []).map(function (t) {
    return { kind: t.kind, at: t.at, text: t.text, status: "saved" };
  });
  for (const local of p.treatment || []) {
    const known = list.some(function (t) { return t.kind === local.kind && t.text === local.text && sameInstant(t.at, local.at); });
    if (!known) list.push({ kind: local.kind, at: local.at, text: local.text, status: local.status, rejection: local.rejection });
  }
  list.sort(function (x, y) { return new Date(x.at).getTime() - new Date(y.at).getTime(); });
  return list;
}
function treatmentTime() {
  return fromHhmm(el.txTime.value) || new Date().toISOString();
}
function addTreatment(p, kind, data, text) {
  const id = uuid();
  const at = kind === "intervention" ? data.performed_at : data.given_at;
  const payload = Object.assign({ encounter: p.id }, data);
  payload[kind + "_id"] = id;
  outbox.push(kind, payload);
  if (!p.treatment) p.treatment = [];
  p.treatment.push({ kind: kind, client_id: id, at: at, text: text, status: "pending" });
  el.txTime.value = "";
  el.txProblem.textContent = "";
  persist();
  render();
}
function recordIntervention(text, code) {
  const p = current();
  const clean = (text || "").trim().slice(0, 200);
  if (!p || !clean) return false;
  const data = { performed_at: treatmentTime(), text: clean };
  if (code) data.snomed_code = code;
  addTreatment(p, "intervention", data, clean);
  return true;
}
function recordMedication() {
  const p = current();
  if (!p) return;
  const name = el.mgName.value.trim().slice(0, 120);
  const rawDose = el.mgDose.value.trim().replace(",", ".");
  const unit = el.mgUnit.value;
  const route = el.mgRoute.value;
  if (!name) { el.txProblem.textContent = "Name the medication."; el.mgName.focus(); return; }
  if (rawDose && !/^\d+(\.\d+)?$/.test(rawDose)) { el.txProblem.textContent = "Dose must be a number."; el.mgDose.focus(); return; }
  if (rawDose && !unit) { el.txProblem.textContent = "Choose the dose unit."; el.mgUnit.focus(); return; }
  const data = { given_at: treatmentTime(), name: name };
  if (rawDose) { data.dose = Number(rawDose); data.dose_unit = unit; }
  if (route) data.route = route;
  addTreatment(p, "medication", data, medicationText(data));
  el.mgName.value = "";
  el.mgDose.value = "";
  el.mgUnit.value = "";
  el.mgRoute.value = "";
}
function renderTreatment(p) {
  el.txList.replaceChildren();
  const list = treatmentOf(p);
  if (!list.length) {
    el.txList.append(make("li", "tx-empty", "Nothing recorded yet."));
    return;
  }
  list.slice().reverse().forEach(function (t) {
    const li = make("li", "tx-item tx-" + t.kind + " tx-" + t.status);
    li.append(make("span", "tx-at", clock(t.at)), make("span", "tx-kind", t.kind === "medication" ? "Med" : "Proc"), make("span", "tx-text", t.text));
    let state = "✓ saved";
    if (t.status === "pending") state = "sending…";
    if (t.status === "rejected") state = "REFUSED: " + (t.rejection ? t.rejection.message + (t.rejection.field ? " (" + t.rejection.field + ")" : "") : "");
    li.append(make("span", "tx-state", state));
    el.txList.append(li);
  });
}

function renderAck(p) {
  const srv = p.srv || {};
  const dest = p.dest;
  const name = dest ? tablet.hospitalName(dest.hospital_id) || "Hospital #" + dest.hospital_id : "";
  let text = "No destination yet";
  let state = "none";
  if (srv.acknowledged_at && srv.destination_id) {
    text = "ED acknowledged" + (srv.bay ? " · Bay " + srv.bay : "");
    state = "acked";
  } else if (dest && dest.status === "pending") {
    text = "Sending destination: " + name + "…";
    state = "pending";
  } else if (dest && dest.status === "rejected") {
    text = "Destination refused: " + (dest.message || "");
    state = "rejected";
  } else if (srv.destination_id || (dest && dest.status === "set")) {
    text = "Sent to " + name + " — waiting for ED acknowledgement";
    state = "waiting";
  }
  el.ack.textContent = text;
  el.ackBox.dataset.state = state;
  let detail = el.ackBox.querySelector(".ed-ack-detail");
  if (!detail) {
    detail = make("p", "ed-ack-detail");
    el.ackBox.append(detail);
  }
  const bits = [];
  if (name && state !== "none") bits.push(name);
  if (srv.eta_at && state !== "none") bits.push("ETA " + clock(srv.eta_at) + (srv.eta_approximate ? " (approx.)" : ""));
  if (state === "acked") bits.push("at " + clock(srv.acknowledged_at));
  detail.textContent = bits.join(" · ");
  detail.hidden = bits.length === 0;
}

export { addTreatment, medicationText, recordIntervention, recordMedication, renderAck, renderTreatment, treatmentOf };
