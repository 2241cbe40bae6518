// The crew's past patients and what became of them ("outcome feedback", issue 19): the
// patients this unit brought to an ED in the last CREW_OUTCOME_FEEDBACK_DAYS, each with the
// hospital's diagnosis and disposition once recorded. Read-only, outcome fields only (the
// closed record stays closed); the server audits every read. Refreshed while online.
import { clock, escapeHtml } from "../../js/dom.js";
import { request } from "../../js/api.js";

const REFRESH_MS = 120000;
const section = document.getElementById("past-patients");
const list = document.getElementById("outcome-list");

function when(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  return d.toLocaleDateString([], { day: "numeric", month: "short" }) + " " + clock(iso);
}

function outcomeHtml(o) {
  if (!o) return '<p class="outcome-pending">Outcome not recorded yet</p>';
  const diagnosis = [o.diagnosis_text, o.diagnosis_icd10 ? "(" + o.diagnosis_icd10 + ")" : ""].filter(Boolean).join(" ");
  const parts = ['<p class="outcome-diagnosis">' + escapeHtml(diagnosis) + "</p>"];
  let disposition = o.ed_disposition_label;
  if (o.admitted_unit) disposition += " \u00b7 " + o.admitted_unit;
  if (o.transfer_facility) disposition += " \u00b7 " + o.transfer_facility;
  if (o.hospital_disposition_label) disposition += " \u2192 " + o.hospital_disposition_label;
  parts.push('<p class="outcome-disposition">' + escapeHtml(disposition) + "</p>");
  if (o.door_to_treatment_minutes != null) {
    const what = o.pathway === "stemi" ? "Door-to-balloon" : "Door-to-needle";
    parts.push('<p class="outcome-time">' + escapeHtml(what + " " + o.door_to_treatment_minutes + " min") + "</p>");
  }
  return parts.join("");
}

function render(rows) {
  section.hidden = rows.length === 0;
  list.innerHTML = rows.map(function (row) {
    return '<li class="past-patient" data-encounter-id="' + escapeHtml(row.encounter_id) + '">' +
      '<p class="past-head"><span class="temp-id">' + escapeHtml(row.temp_identifier) + "</span> " +
      '<span class="past-where">' + escapeHtml((row.hospital || "") + " \u00b7 " + when(row.arrived_at)) + "</span></p>" +
      outcomeHtml(row.outcome) + "</li>";
  }).join("");
}

function refresh() {
  if (!section || !list || !navigator.onLine) return Promise.resolve();
  return request("GET", "/api/v1/crew/outcomes/").then(function (answer) {
    if (answer.ok && Array.isArray(answer.data)) render(answer.data);
  }, function () { /* offline: keep what is shown */ });
}

export function startOutcomes() {
  refresh();
  setInterval(refresh, REFRESH_MS);
  window.addEventListener("online", refresh);
  return { refresh: refresh };
}
