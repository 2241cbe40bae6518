// Incidents handed between centres (jurisdiction by area): the "Transfers" panel lists the
// proposals this centre made (Withdraw) and those made to it (Accept / Refuse with a
// reason), from the snapshot's `transfers` and `dispatch.transfer.updated`. A proposal shows
// what and where, never who called: the callers come with the incident once accepted.
import { el } from "../../js/dom.js";
import { state } from "./state.js";
import { priorityLabel } from "./format.js";
import { postJson } from "./unit_popup.js";

const section = document.getElementById("transfer-section");
const list = document.getElementById("transfer-list");
const count = document.getElementById("transfer-count");
const centreId = section ? Number(section.dataset.centreId) : null;
const transfers = new Map(); // transfer id -> summary (open ones only)
const results = new Map(); // transfer id -> the last answer's text, shown once under the row

state.centres = state.centres || [];

function incoming(t) { return t.to_centre && t.to_centre.id === centreId; }

function decide(t, decision, note, button) {
  button.disabled = true;
  postJson("/api/v1/transfers/" + t.id + "/" + decision + "/", { note: note || "" }).then(function (data) {
    applyTransfer(data);
    results.set(String(t.id), decision === "accept" ? "Incident #" + t.incident_id + " is now yours."
      : decision === "refuse" ? "Refused: it stays with " + t.from_centre.name + "."
      : "Withdrawn: the incident stays here.");
    render();
  }, function (err) {
    results.set(String(t.id), err.message);
    button.disabled = false;
    render();
  });
}

function row(t) {
  const li = el("li", "transfer " + (incoming(t) ? "transfer-in" : "transfer-out"));
  li.dataset.transferId = String(t.id);
  li.dataset.incidentId = String(t.incident_id);
  const head = incoming(t)
    ? "From " + t.from_centre.name + ": incident #" + t.incident_id
    : "Incident #" + t.incident_id + " → " + t.to_centre.name;
  li.append(el("span", "transfer-head", head));
  li.append(el("span", "badge prio", priorityLabel(t.determinant)));
  li.append(el("span", "transfer-what", t.chief_complaint + (t.calls > 1 ? " (" + t.calls + " calls)" : "")));
  li.append(el("span", "transfer-where", (t.address || "") + (t.stop ? " · stop at " + t.stop : "")));
  li.append(el("span", "transfer-reason muted", t.reason));
  const actions = el("div", "transfer-actions");
  if (incoming(t)) {
    const accept = el("button", "primary", "Accept");
    accept.type = "button";
    accept.dataset.transferAction = "accept";
    accept.addEventListener("click", function () { decide(t, "accept", "", accept); });
    const reason = el("input", "transfer-refuse-reason");
    reason.type = "text";
    reason.maxLength = 200;
    reason.placeholder = "Reason to refuse";
    reason.setAttribute("aria-label", "Reason to refuse incident #" + t.incident_id);
    const refuse = el("button", "", "Refuse");
    refuse.type = "button";
    refuse.dataset.transferAction = "refuse";
    refuse.addEventListener("click", function () {
      if (!reason.value.trim()) {
        results.set(String(t.id), "Say why the transfer is refused.");
        render();
        return;
      }
      decide(t, "refuse", reason.value, refuse);
    });
    actions.append(accept, reason, refuse);
  } else {
    const withdraw = el("button", "", "Withdraw");
    withdraw.type = "button";
    withdraw.dataset.transferAction = "withdraw";
    withdraw.addEventListener("click", function () { decide(t, "withdraw", "", withdraw); });
    actions.append(el("span", "muted", "Waiting for " + t.to_centre.name), withdraw);
  }
  li.append(actions);
  return li;
}

function render() {
  if (!list) return;
  list.replaceChildren();
  Array.from(transfers.values()).sort(function (a, b) { return a.id - b.id; }).forEach(function (t) {
    const li = row(t);
    const text = results.get(String(t.id));
    if (text) li.append(el("p", "action-result", text));
    list.append(li);
  });
  // Decided ones leave the list; their answer stays readable in the panel's last line.
  results.forEach(function (text, id) {
    if (!transfers.has(id)) list.append(el("li", "transfer-done action-result", text));
  });
  if (count) count.textContent = String(transfers.size);
  if (section) section.hidden = transfers.size === 0 && results.size === 0;
}

function applyTransfer(t) {
  if (!t || t.id == null) return;
  const id = String(t.id);
  if (t.status === "proposed") transfers.set(id, t);
  else {
    if (transfers.has(id) && !results.has(id)) {
      results.set(id, "Incident #" + t.incident_id + ": transfer " + t.status +
        (t.decision_note ? " (" + t.decision_note + ")" : "") + ".");
    }
    transfers.delete(id);
  }
  render();
}

// The snapshot's transfers replace what the panel knew; its centres fill the incident
// popup's "Transfer to" choice.
function applyTransfers(rows, centres) {
  if (Array.isArray(centres)) state.centres = centres;
  if (!Array.isArray(rows)) return;
  transfers.clear();
  rows.forEach(function (t) { if (t.status === "proposed") transfers.set(String(t.id), t); });
  render();
}

// The line an incident row carries while it is proposed to another centre (incidents.js).
function transferBadge(incident) {
  if (!incident.transfer) return null;
  const badge = el("span", "badge transfer-proposed", "transfer to " + incident.transfer.to_centre.name + " proposed");
  badge.title = incident.transfer.reason || "";
  return badge;
}

export { applyTransfer, applyTransfers, transferBadge };
