// The destination: hospitals ranked for the patient, the warning for an unsuited one, the
// choice sent with its reason.
import { clock } from "../../js/dom.js";
import { el, make, outbox, tablet } from "./context.js";
import { current, getJson, persist, persistSoon } from "./store.js";
import { render } from "./render.js";

function driveText(row) {
  if (row.drive_time_s === null || row.drive_time_s === undefined) return "drive time unknown";
  const min = Math.max(1, Math.round(row.drive_time_s / 60));
  return (row.approximate ? "≈ " : "") + min + " min" + (row.distance_m ? " · " + (row.distance_m / 1000).toFixed(1) + " km" : "") + (row.approximate ? " (approx.)" : "");
}
let destChoice = null;
// A new visit to the destination pane starts without a choice.
function forgetDestChoice() { destChoice = null; }
function renderDestinations(p) {
  el.destList.replaceChildren();
  let rows = p.destRows;
  if (!rows) {
    // Offline (or not on the server yet): every hospital, unranked, still choosable.
    rows = tablet.hospitalIds().map(function (id) {
      return { hospital: { id: Number(id), name: tablet.hospitalName(id) }, drive_time_s: null, offline: true };
    });
  }
  // Specialist hospitals that do not take this patient (a man at the women's hospital) are
  // not offered; the note says which and why.
  const unsuitable = rows.filter(function (row) { return row.suitable === false; });
  rows = rows.filter(function (row) { return row.suitable !== false; });
  el.destNote.textContent = p.destError || (p.destRows ? "Ranked by drive time and the care this patient needs" + (p.destAt ? " · updated " + clock(p.destAt) : "") + "." +
    (unsuitable.length ? " Not listed: " + unsuitable.map(function (row) { return row.hospital.name + " (" + row.fit_note + ")"; }).join("; ") + "." : "") : "Loading ranked hospitals…");
  rows.forEach(function (row, index) {
    const li = make("li");
    const b = make("button", "dest-option");
    b.type = "button";
    b.dataset.hospitalId = String(row.hospital.id);
    const chosen = destChoice === row.hospital.id;
    b.setAttribute("aria-pressed", chosen ? "true" : "false");
    if (row.on_diversion) b.classList.add("diversion");
    if (row.meets_needs === false) b.classList.add("lacks");
    const head = make("span", "dest-name", (row.offline ? "" : index + 1 + ". ") + row.hospital.name);
    const eta = make("span", "dest-eta", row.offline ? "no ETA offline" : driveText(row));
    b.append(head, eta);
    const notes = make("span", "dest-notes");
    if (row.on_diversion) notes.append(make("span", "tag tag-bad", "ON DIVERSION" + (row.diversion_reason ? ": " + row.diversion_reason : "")));
    (row.needs_met || []).forEach(function (n) { notes.append(make("span", "tag tag-ok", "✓ " + n)); });
    (row.needs_missing || []).forEach(function (n) { notes.append(make("span", "tag tag-warn", "✗ no " + n)); });
    if (row.fit_note) notes.append(make("span", "tag tag-warn", "? " + row.fit_note));
    if (p.dest && p.dest.hospital_id === row.hospital.id && p.dest.status !== "rejected") notes.append(make("span", "tag tag-current", "current destination"));
    if (notes.childNodes.length) b.append(notes);
    b.addEventListener("click", function () {
      destChoice = row.hospital.id;
      if (!el.destReason.value) {
        if (row.on_diversion) el.destReason.value = "";
        else if (index === 0 && (row.needs || []).length) el.destReason.value = "regional_specialty";
        else if (index === 0) el.destReason.value = "closest";
      }
      render();
    });
    li.append(b);
    el.destList.append(li);
  });
  renderDestinationWarning(p, rows);
  const already = p.dest && p.dest.status !== "rejected" && p.dest.hospital_id === destChoice &&
    p.dest.reason === el.destReason.value;
  el.destSend.disabled = !(destChoice && el.destReason.value) || Boolean(already);
  const dest = p.dest;
  el.destCurrent.textContent = dest ? "Current: " + (tablet.hospitalName(dest.hospital_id) || "#" + dest.hospital_id) + (dest.status === "pending" ? " (sending…)" : "") : "";
}
// What the hospital chosen (or already sent) lacks for this patient, in the server's words
// once it has the destination (device ack `warnings`, detail `destination_warnings`), and
// from the ranked row before that, so the crew sees it before pressing "Send".
function renderDestinationWarning(p, rows) {
  let lines = [];
  let source = "ranking";
  const current = p.dest && p.dest.status !== "rejected" ? p.dest.hospital_id : null;
  const shown = destChoice || current;
  const row = rows.find(function (r) { return r.hospital.id === shown; });
  if (shown && shown === current && p.dest.status === "set") {
    lines = p.destWarnings || (p.srv && p.srv.destination_id === shown && p.srv.destination_warnings) || [];
    source = "server";
  } else if (row) {
    const name = row.hospital.name;
    lines = (row.needs_missing || []).map(function (n) {
      return name + " has no " + n + " care: its team will not be activated there.";
    });
    if (row.suitable === false && row.fit_note) lines.push(name + " does not take this patient: " + row.fit_note + ".");
  }
  if (row && row.on_diversion) lines = ["On diversion" + (row.diversion_reason ? ": " + row.diversion_reason : "") + "."].concat(lines);
  el.destWarning.replaceChildren();
  lines.forEach(function (text) { el.destWarning.append(make("p", "", "⚠ " + text)); });
  el.destWarning.hidden = !lines.length;
  el.destWarning.dataset.source = source;
}
function loadDestinations(p) {
  if (!p) return;
  if (!outbox.isOnline()) {
    p.destError = "Offline: hospitals without drive times. Ranking returns with the link.";
    render();
    return;
  }
  if (!p.opened) {
    p.destError = "The record is still on its way to the server; ranking follows.";
    render();
    return;
  }
  getJson("/api/v1/encounters/" + p.id + "/destinations/").then(function (rows) {
    p.destRows = rows;
    p.destAt = new Date().toISOString();
    p.destError = "";
    persistSoon();
    render();
  }).catch(function () {
    p.destError = "Could not rank hospitals just now; all hospitals are listed.";
    render();
  });
}
function sendDestination() {
  const p = current();
  const reason = el.destReason.value;
  if (!p || !destChoice || !reason) return;
  outbox.push("destination", { encounter: p.id, hospital_id: destChoice, reason: reason });
  p.dest = { hospital_id: destChoice, reason: reason, status: "pending" };
  p.destWarnings = null;
  if (p.srv) p.srv.acknowledged_at = p.srv.destination_id === destChoice ? p.srv.acknowledged_at : null;
  tablet.chooseDestination(destChoice);
  persist();
  render();
}

export { forgetDestChoice, loadDestinations, renderDestinations, sendDestination };
