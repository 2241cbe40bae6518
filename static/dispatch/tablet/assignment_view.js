// The assignment card: its status as the crew will see it once the outbox is through, the
// outbox and refusal lines, the status buttons, the route's steps.
import { clock } from "../../js/dom.js";
import { MANEUVER_ARROW, NEXT, STATUS_LABEL, STATUS_TIME, el, hospitals, state } from "./state.js";
import { outbox } from "./crew_outbox.js";
import { renderMap } from "./route_map.js";
import { pressStatus } from "./screen.js";

// ---- derived view state -------------------------------------------------------------------
function pendingFor(assignment, type) {
  if (!assignment) return [];
  return outbox.pending().filter(function (item) {
    return item.type === type && item.data.assignment_id === assignment.id;
  });
}
function effectiveStatus(assignment) {
  const pending = pendingFor(assignment, "status");
  return pending.length ? pending[pending.length - 1].data.status : assignment.status;
}
function effectiveDestination(assignment) {
  let destination = assignment.destination_id;
  for (const item of pendingFor(assignment, "status")) {
    if (item.data.destination) destination = item.data.destination;
  }
  return destination;
}

function minutes(seconds) {
  if (seconds === null || seconds === undefined) return "—";
  return seconds < 60 ? "< 1 min" : Math.round(seconds / 60) + " min";
}
function metres(value) {
  if (value === null || value === undefined) return "—";
  return value < 1000 ? Math.round(value) + " m" : (value / 1000).toFixed(1) + " km";
}
function describe(item) {
  if (item.type === "status") return STATUS_LABEL[item.data.status] || item.data.status;
  if (item.type === "acknowledge") return "Acknowledge";
  if (item.type === "position") return "GPS position";
  if (item.type === "encounter") return "Patient details";
  if (item.type === "vitals") return "Vitals";
  if (item.type === "message") return "Message to the ED";
  if (item.type === "destination") return "Destination";
  return item.type;
}

// ---- rendering ------------------------------------------------------------------------------
function renderOutbox() {
  const pending = outbox.pending();
  const count = pending.length;
  const positions = pending.filter(function (item) { return item.type === "position"; }).length;
  let text = count === 0 ? "All sent" : count + (count === 1 ? " item" : " items") + " waiting to send";
  if (count > 0 && positions > 0) text += " (" + positions + " GPS)";
  // The server said it is busy (a `retry` or `backoff`): the items wait here and go again.
  if (count > 0 && outbox.pausedFor() > 0) text += " · server busy, sending again shortly";
  if (!outbox.isPersistent()) text += " · NOT SAVED on this tablet";
  el.outboxState.textContent = text;
  el.outboxState.dataset.count = String(count);
  el.outboxState.classList.toggle("waiting", count > 0);
  el.outboxState.classList.toggle("unsaved", !outbox.isPersistent());
}

function renderRejections() {
  const rejected = outbox.rejected();
  el.rejections.hidden = rejected.length === 0;
  el.rejections.replaceChildren();
  for (const item of rejected) {
    const row = document.createElement("div");
    row.className = "rejection";
    row.setAttribute("role", "alert");
    const text = document.createElement("p");
    const what = document.createElement("strong");
    what.textContent = "Not accepted: " + describe(item) + ". ";
    text.append(what, item.rejection.message);
    if (item.rejection.field) {
      const field = document.createElement("span");
      field.className = "rejection-field";
      field.textContent = " (" + item.rejection.field + ")";
      text.append(field);
    }
    const dismiss = document.createElement("button");
    dismiss.type = "button";
    dismiss.className = "btn btn-small";
    dismiss.textContent = "Dismiss";
    dismiss.addEventListener("click", function () { outbox.dismiss(item.id); });
    row.append(text, dismiss);
    el.rejections.append(row);
  }
}

function statusButton(label, to, kind) {
  const button = document.createElement("button");
  button.type = "button";
  button.className = "btn btn-" + kind;
  button.dataset.to = to;
  button.textContent = label;
  return button;
}

function renderButtons(a, status) {
  el.buttons.replaceChildren();
  // Pressed but not yet acknowledged by the server: shown until the ack arrives.
  for (const item of pendingFor(a, "status")) {
    const button = statusButton(describe(item) + " · sending…", item.data.status, "sending");
    button.disabled = true;
    button.setAttribute("aria-busy", "true");
    el.buttons.append(button);
  }
  const destination = el.destination.value;
  for (const step of NEXT[status] || []) {
    const confirming = state.confirming === step.to;
    const button = statusButton(confirming ? step.confirm : step.label, step.to, step.kind);
    if (confirming) button.classList.add("confirming");
    if (step.needsDestination && !destination) {
      button.disabled = true;
      button.title = "Choose the destination hospital first";
    }
    button.addEventListener("click", function () { pressStatus(a, step); });
    el.buttons.append(button);
  }
}

function renderAssignment() {
  const a = state.assignment;
  el.idle.hidden = Boolean(a);
  el.card.hidden = !a;
  el.idleNote.textContent = state.idleNote;
  if (!a) return;
  const incident = a.incident || {};
  const status = effectiveStatus(a);
  el.determinant.textContent = incident.determinant || "";
  el.determinant.className = "determinant det-" + (incident.determinant || "none");
  el.responseMode.textContent = incident.response_mode === "lights_sirens" ? "Lights & sirens" : "No lights or sirens";
  el.responseMode.classList.toggle("urgent", incident.response_mode === "lights_sirens");
  const since = status === a.status ? a[STATUS_TIME[status]] : null;
  el.assignmentStatus.textContent = (STATUS_LABEL[status] || status) + (since ? " since " + clock(since) : "");
  el.complaint.textContent = incident.chief_complaint || "Incident #" + incident.id;
  // The address as the dispatcher chose it; beside it, where on the road to stop.
  el.address.textContent = incident.address || (incident.lat !== undefined ? incident.lat.toFixed(5) + ", " + incident.lon.toFixed(5) : "");
  const stopStreet = (incident.road_street || "").trim();
  const stopGap = typeof incident.road_distance_m === "number" ? incident.road_distance_m : null;
  el.stopPoint.hidden = !stopStreet && stopGap === null;
  el.stopPoint.textContent = "Stop: " + (stopStreet || "the road point on the map") +
    (stopGap !== null ? " · " + metres(stopGap) + " from the address" : "");
  const access = (incident.access_notes || "").trim();
  el.accessNotes.textContent = access || "No access notes";
  el.accessBox.classList.toggle("empty", !access);
  el.notes.textContent = incident.notes || "";
  el.notes.hidden = !incident.notes;
  const route = a.route;
  // Drive time and distance to the scene mean nothing once the crew is there.
  const driving = status === "dispatched" || status === "en_route";
  el.etaBox.hidden = el.distanceBox.hidden = !driving;
  el.eta.textContent = minutes(route ? route.duration_s : a.eta_s);
  el.distance.textContent = metres(route ? route.distance_m : a.distance_m);
  const destination = effectiveDestination(a);
  const hospital = destination ? hospitals[String(destination)] : null;
  el.destinationName.textContent = destination ? (hospital ? hospital.name : "Hospital #" + destination) : "—";

  const acknowledged = Boolean(a.acknowledged_at);
  const ackPending = pendingFor(a, "acknowledge").length > 0;
  el.ack.hidden = acknowledged;
  el.ack.disabled = ackPending;
  el.ack.textContent = ackPending ? "Acknowledged · sending…" : "Acknowledge";
  el.ack.classList.toggle("btn-sending", ackPending);
  el.picker.hidden = status !== "on_scene";
  renderButtons(a, status);
  renderSteps(route);
  renderMap(a, hospital);
}

function renderSteps(route) {
  el.steps.replaceChildren();
  const steps = route && Array.isArray(route.steps) ? route.steps : [];
  el.steps.hidden = el.stepsTitle.hidden = steps.length === 0;
  for (const step of steps) {
    const li = document.createElement("li");
    const arrow = document.createElement("span");
    arrow.className = "step-arrow";
    arrow.setAttribute("aria-hidden", "true");
    arrow.textContent = MANEUVER_ARROW[step.maneuver] || "↑";
    const text = document.createElement("span");
    text.className = "step-text";
    const street = step.street || "unnamed road";
    const verb = step.maneuver === "depart" ? "Start on" : step.maneuver.charAt(0).toUpperCase() + step.maneuver.slice(1) + " onto";
    text.textContent = verb + " " + street;
    const distance = document.createElement("span");
    distance.className = "step-distance";
    distance.textContent = metres(step.distance_m);
    li.append(arrow, text, distance);
    el.steps.append(li);
  }
}

export { effectiveStatus, pendingFor, renderAssignment, renderOutbox, renderRejections };
