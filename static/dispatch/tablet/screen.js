// The whole screen's render, and the changes it shows: status presses (with a second tap to
// confirm), the assignment and hospitals as the server sends them.
import { CONFIRM_MS, UNIT_LABEL, UNIT_STATUS_FOR, el, emit, gps, state } from "./state.js";
import { outbox } from "./crew_outbox.js";
import { renderAlerts } from "./alerts.js";
import { effectiveStatus, pendingFor, renderAssignment, renderOutbox, renderRejections } from "./assignment_view.js";

function renderUnit() {
  let status = state.unit ? state.unit.status : "available";
  if (state.assignment) status = UNIT_STATUS_FOR[effectiveStatus(state.assignment)] || status;
  el.unitStatus.textContent = UNIT_LABEL[status] || status;
  el.unitStatus.className = "unit-status status-" + status;
}

function renderGps() {
  const on = el.gpsToggle.checked;
  let text = on ? (gps.watch !== null ? "on" : "starting") : "off";
  if (on && gps.error) text = gps.error;
  el.gpsState.textContent = text;
  el.gpsToggle.parentElement.title = on && state.gpsNote ? "GPS " + state.gpsNote :
    (gps.error === "blocked" ? "Location is blocked: allow it for this site in the browser settings" : "");
  el.gpsToggle.parentElement.classList.toggle("problem", on && Boolean(gps.error || state.gpsNote));
}

function render() {
  document.body.classList.toggle("has-assignment", Boolean(state.assignment));
  renderOutbox();
  renderRejections();
  renderUnit();
  renderAssignment();
  renderGps();
  renderAlerts();
  emit("render");
}

// ---- actions ---------------------------------------------------------------------------------
let confirmTimer = null;
function pressStatus(a, step) {
  if (step.confirm && state.confirming !== step.to) {
    state.confirming = step.to;
    clearTimeout(confirmTimer);
    confirmTimer = setTimeout(function () { state.confirming = null; render(); }, CONFIRM_MS);
    render();
    return;
  }
  state.confirming = null;
  clearTimeout(confirmTimer);
  const data = { assignment_id: a.id, status: step.to };
  if (step.needsDestination) {
    const destination = parseInt(el.destination.value, 10);
    if (!destination) return;
    data.destination = destination;
  }
  outbox.push("status", data);
  if (step.then) emit(step.then, a);
}

el.ack.addEventListener("click", function () {
  const a = state.assignment;
  if (a && !a.acknowledged_at && pendingFor(a, "acknowledge").length === 0) {
    outbox.push("acknowledge", { assignment_id: a.id });
  }
});
el.destination.addEventListener("change", render);

export { pressStatus, render, renderGps };
