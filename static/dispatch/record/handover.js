// The handover: arrival with "At destination", the crew's transfer-of-care confirmation,
// and the controls for it.
import { clock } from "../../js/dom.js";
import { HANDOVER_AFTER_CLEAR_MS, activeAssignment, db, el, make, outbox, root, tablet } from "./context.js";
import { current, patient, patientsOf, persist } from "./store.js";
import { render } from "./render.js";

// ---- the handover: arrival with "At destination", the crew's transfer-of-care confirmation
// Both go through the outbox ("arrival", "transfer" items), so they survive a lost link.
// A patient at the ED whose handover the crew has not confirmed stays on the tablet after
// "Clear" for as long as the server still accepts the confirmation.
// The server's CREW_HANDOVER_MINUTES_AFTER_CLEAR, from the page (60, its default, only for
// a page saved before the server sent it); past it the server refuses, so the control goes.
let handoverTimer = null;
function awaitingHandover(p) {
  if (!p || p.closed || !p.srv || (p.srv.status && p.srv.status === "closed")) return false;
  if (p.srv.crew_confirmed_at || p.handoverSent === "acked") return false;
  if (!(p.srv.arrived_at || p.arrivalSent)) return false;
  return !p.clearedAt || Date.now() - p.clearedAt < HANDOVER_AFTER_CLEAR_MS;
}
function markArrived(assignment) {
  let sent = false;
  patientsOf(assignment).forEach(function (p) {
    const bound = (p.srv && p.srv.destination_id) || (p.dest && p.dest.status !== "rejected" && p.dest.hospital_id);
    if (!bound || p.closed || (p.srv && p.srv.arrived_at) || p.arrivalSent) return;
    outbox.push("arrival", { encounter: p.id });
    p.arrivalSent = true;
    sent = true;
  });
  if (sent) persist();
}
function confirmHandover(p) {
  if (!p || p.handoverSent) return;
  outbox.push("transfer", { encounter: p.id });
  p.handoverSent = "pending";
  p.handoverProblem = "";
  persist();
  render();
  renderHandover();
}
function handoverText(p) {
  const srv = p.srv || {};
  if (srv.transfer_of_care_at) return "Handed over " + clock(srv.transfer_of_care_at);
  const crew = srv.crew_confirmed_at ? "crew ✓ " + clock(srv.crew_confirmed_at)
    : p.handoverSent === "pending" ? "crew confirmation sending…" : "crew not yet";
  const ed = srv.ed_confirmed_at ? "ED ✓ " + clock(srv.ed_confirmed_at) : "ED not yet";
  return "Handover: " + crew + " · " + ed;
}
function handoverControl(p, host, label) {
  const box = make("div", "handover-box");
  box.dataset.encounter = p.id;
  if (label) box.append(make("p", "handover-who", label));
  box.append(make("p", "handover-state", handoverText(p)));
  const srv = p.srv || {};
  if (!srv.crew_confirmed_at && !srv.transfer_of_care_at && p.handoverSent !== "acked") {
    const button = make("button", "handover-confirm go", "Confirm handover to the ED");
    button.type = "button";
    button.disabled = Boolean(p.handoverSent);
    button.addEventListener("click", function () { confirmHandover(p); });
    box.append(button);
  }
  if (p.handoverProblem) box.append(make("p", "handover-problem", p.handoverProblem));
  host.append(box);
}
let pendingEl = null;
function renderHandover() {
  const a = activeAssignment();
  const p = a ? current() : null;
  for (const old of el.ackBox.querySelectorAll(".handover-box")) old.remove();
  if (p && a && (tablet.status() === "at_destination" || (p.srv && p.srv.arrived_at) || p.arrivalSent) && !p.closed) {
    handoverControl(p, el.ackBox, "");
  }
  // After "Clear": the patients still to hand over, outside the (hidden) record.
  const waiting = db.order.map(patient).filter(function (x) {
    if (!x || (a && x.assignment_id === a.id)) return false;
    // Cleared while this screen was away (a snapshot, another tablet): count from now.
    if (!x.clearedAt) x.clearedAt = Date.now();
    return awaitingHandover(x);
  });
  if (!pendingEl) {
    pendingEl = make("section", "handover-pending");
    pendingEl.id = "handover-pending";
    pendingEl.setAttribute("aria-label", "Handovers to confirm");
    root.parentNode.insertBefore(pendingEl, root);
  }
  pendingEl.replaceChildren();
  pendingEl.hidden = waiting.length === 0;
  // Take each one off when its time is up, even if nothing else redraws the screen then.
  clearTimeout(handoverTimer);
  handoverTimer = null;
  const ends = waiting.map(function (x) { return x.clearedAt + HANDOVER_AFTER_CLEAR_MS; });
  if (ends.length) {
    handoverTimer = setTimeout(renderHandover, Math.max(0, Math.min.apply(null, ends) - Date.now()) + 50);
  }
  waiting.forEach(function (x) {
    handoverControl(x, pendingEl, "Patient " + ((x.srv && x.srv.temp_identifier) || "") + " at the ED");
  });
}

export { awaitingHandover, markArrived, renderHandover };
