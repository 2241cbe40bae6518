// Failed hospital deliveries on the console: `handoff.delivery.failed` of the centre stream
// (the job's ids, the hospital, the message and the receiver's reason; never the patient),
// listed under "Hospital deliveries" and marked on the incident's row until it is closed or
// a later message of the same channel is delivered (`handoff.delivery.delivered`).
import { el } from "../../js/dom.js";
import { state } from "./state.js";

const list = document.getElementById("delivery-alerts");
const section = document.getElementById("delivery-section");
const failures = new Map(); // incident id -> the newest failure

function failureText(f) {
  const what = f.outcome === "failed" ? "Hospital system could not be reached with the pre-arrival message: "
    : f.outcome === "not_sent" ? "Pre-arrival message not sent to the hospital system: "
    : "Hospital system rejected the pre-arrival message: ";
  return what + (f.reason || "no reason given");
}

// The line a row of the incident list carries (incidents.js calls it on every rebuild).
function deliveryBadge(incidentId) {
  const f = failures.get(String(incidentId));
  if (!f) return null;
  // Short on the row (the reason is in "Hospital deliveries" and in the title).
  const badge = el("span", "badge delivery-failed", (f.outcome === "rejected" ? "Delivery rejected: " : "Delivery failed: ") + f.hospital);
  badge.title = failureText(f) + " (" + f.call_sign + ", " + f.channel + " " + f.message + ")";
  return badge;
}

function render() {
  if (!list) return;
  list.replaceChildren();
  failures.forEach(function (f) {
    const li = el("li", "delivery-alert");
    li.dataset.incidentId = String(f.incident_id);
    li.dataset.assignmentId = String(f.assignment_id);
    li.append(el("span", "delivery-job", "Incident #" + f.incident_id + " · " + f.call_sign + " → " + f.hospital + " · " + f.channel + " " + f.message));
    li.append(el("span", "delivery-reason", failureText(f)));
    list.append(li);
  });
  if (section) section.hidden = failures.size === 0;
}

function applyDeliveryFailure(f) {
  if (!f || typeof f.incident_id !== "number") return;
  failures.set(String(f.incident_id), f);
  render();
  const entry = state.incidents.get(String(f.incident_id));
  if (entry && entry.li) {
    const old = entry.li.querySelector(".delivery-failed");
    const badge = deliveryBadge(f.incident_id);
    if (old) old.replaceWith(badge); else entry.li.appendChild(badge);
  }
}

// A later message of the same channel got through (`handoff.delivery.delivered`): the
// failure shown for the incident is cleared from the list and its row.
function applyDeliveryDelivered(d) {
  if (!d || typeof d.incident_id !== "number") return;
  const f = failures.get(String(d.incident_id));
  if (!f || f.channel !== d.channel || f.hospital_id !== d.hospital_id) return;
  failures.delete(String(d.incident_id));
  render();
  const entry = state.incidents.get(String(d.incident_id));
  const badge = entry && entry.li ? entry.li.querySelector(".delivery-failed") : null;
  if (badge) badge.remove();
}

export { applyDeliveryDelivered, applyDeliveryFailure, deliveryBadge };
