// Mutual aid between neighbouring centres (docs/centres.md): the "Mutual aid"
// panel with the requests this centre received (Accept / Refuse with a reason) and the ones
// it made (their state, Withdraw), kept from the board snapshot and dispatch.aid.updated; and
// requestAid, which the ranking's "Request from <centre>" button calls. Text content only:
// every value here comes from another centre.
import { el } from "../../js/dom.js";
import { priorityLabel } from "./format.js";
import { postJson } from "./unit_popup.js";

const panel = document.getElementById("aid-section");
const incoming = document.getElementById("aid-in");
const outgoing = document.getElementById("aid-out");
const empty = document.getElementById("aid-empty");
const myCentre = panel ? Number(panel.dataset.centreId) : null;
// A decided request stays in view this long, so its outcome is read, then goes.
const DECIDED_SHOWN_MS = 120000;

const requests = new Map(); // id -> {data, li, timer}

function mmss(seconds) {
  if (seconds == null || !isFinite(seconds)) return "–";
  const s = Math.max(0, Math.round(Number(seconds)));
  return Math.floor(s / 60) + ":" + String(s % 60).padStart(2, "0");
}

function isIncoming(data) {
  return data.lending_centre && data.lending_centre.id === myCentre;
}

function stateText(data, inbound) {
  const other = inbound ? data.requesting_centre.name : data.lending_centre.name;
  if (data.status === "requested") return inbound ? "Waiting for your answer" : "Waiting for " + other;
  if (data.status === "accepted") return inbound ? "Lent" : "Accepted by " + other + " · dispatched";
  if (data.status === "refused") {
    return (inbound ? "Refused" : "Refused by " + other) + (data.decision_note ? ": " + data.decision_note : "");
  }
  if (data.status === "withdrawn") return inbound ? "Withdrawn by " + other : "Withdrawn";
  return data.status;
}

function actionButton(label, className, onClick) {
  const b = el("button", className, label);
  b.type = "button";
  b.addEventListener("click", onClick);
  return b;
}

function send(li, url, body, busyText) {
  const result = li.querySelector(".aid-result");
  li.querySelectorAll("button").forEach(function (b) { b.disabled = true; });
  if (result) result.textContent = busyText;
  return postJson(url, body).then(function (data) {
    upsertAid(data);
  }).catch(function (err) {
    li.querySelectorAll("button").forEach(function (b) { b.disabled = false; });
    if (result) result.textContent = err.message || String(err);
  });
}

function draw(entry) {
  const data = entry.data;
  const inbound = isIncoming(data);
  const li = entry.li || el("li", "aid-request");
  li.dataset.aidId = String(data.id);
  li.dataset.status = data.status;
  li.replaceChildren();
  const head = inbound
    ? data.call_sign + " for " + data.requesting_centre.name
    : data.call_sign + " from " + data.lending_centre.name;
  li.appendChild(el("span", "aid-head", head));
  li.appendChild(el("span", "aid-what", [
    priorityLabel(data.determinant), data.chief_complaint || "", data.address || data.stop || "",
  ].filter(Boolean).join(" · ")));
  li.appendChild(el("span", "aid-eta", (inbound ? "" : "#" + data.incident_id + " · ") + "ETA " + mmss(data.eta_s)));
  li.appendChild(el("span", "aid-state", stateText(data, inbound)));
  if (data.status === "requested") {
    const actions = el("div", "aid-actions");
    if (inbound) {
      const reason = el("input", "aid-reason");
      reason.type = "text";
      reason.maxLength = 200;
      reason.placeholder = "Reason, to refuse";
      reason.setAttribute("aria-label", "Reason for refusing " + data.call_sign);
      actions.appendChild(actionButton("Accept", "primary aid-accept", function () {
        send(li, "/api/v1/mutual-aid/" + data.id + "/accept/", {}, "Dispatching " + data.call_sign + "…");
      }));
      actions.appendChild(reason);
      actions.appendChild(actionButton("Refuse", "aid-refuse", function () {
        if (!reason.value.trim()) {
          li.querySelector(".aid-result").textContent = "Say why the unit cannot be lent.";
          reason.focus();
          return;
        }
        send(li, "/api/v1/mutual-aid/" + data.id + "/refuse/", { note: reason.value.trim() }, "Refusing…");
      }));
    } else {
      actions.appendChild(actionButton("Withdraw", "aid-withdraw", function () {
        send(li, "/api/v1/mutual-aid/" + data.id + "/withdraw/", undefined, "Withdrawing…");
      }));
    }
    li.appendChild(actions);
  }
  li.appendChild(el("p", "aid-result"));
  li.querySelector(".aid-result").setAttribute("role", "status");
  entry.li = li;
  const list = inbound ? incoming : outgoing;
  if (list && li.parentNode !== list) list.appendChild(li);
}

function updateEmpty() {
  if (!panel) return;
  if (empty) empty.hidden = requests.size > 0;
  if (incoming) incoming.hidden = !incoming.children.length;
  if (outgoing) outgoing.hidden = !outgoing.children.length;
  const count = document.getElementById("aid-count");
  const waiting = Array.from(requests.values()).filter(function (e) {
    return e.data.status === "requested" && isIncoming(e.data);
  }).length;
  if (count) {
    count.textContent = String(waiting);
    count.hidden = waiting === 0;
  }
}

function removeAid(id) {
  const entry = requests.get(String(id));
  if (!entry) return;
  if (entry.timer) window.clearTimeout(entry.timer);
  if (entry.li) entry.li.remove();
  requests.delete(String(id));
  updateEmpty();
}

function upsertAid(data) {
  if (!panel || !data || data.id == null || !data.lending_centre || !data.requesting_centre) return;
  const id = String(data.id);
  const entry = requests.get(id) || { data: data, li: null, timer: null };
  entry.data = data;
  requests.set(id, entry);
  draw(entry);
  if (data.status !== "requested" && !entry.timer) {
    entry.timer = window.setTimeout(function () { removeAid(id); }, DECIDED_SHOWN_MS);
  }
  updateEmpty();
}

// The snapshot lists the open requests; a decided one still in view stays until its time.
function applyAidSnapshot(list) {
  if (!Array.isArray(list)) return;
  const open = new Set(list.map(function (r) { return String(r.id); }));
  Array.from(requests.entries()).forEach(function (pair) {
    if (!open.has(pair[0]) && pair[1].data.status === "requested") removeAid(pair[0]);
  });
  list.forEach(upsertAid);
}

// The ranking's "Request from <centre>": the request goes to the partner, who accepts it.
function requestAid(incidentId, unitId) {
  return postJson("/api/v1/incidents/" + incidentId + "/mutual-aid/", { unit_id: unitId }).then(function (data) {
    upsertAid(data);
    return data;
  });
}

export { applyAidSnapshot, requestAid, upsertAid };
