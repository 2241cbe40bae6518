// The outcome form on a card (issue 19, "outcome back to EMS"): once the patient has arrived,
// the ED records diagnosis (text, ICD-10), disposition (NEMSIS eOutcome.01 codes, from the
// page's "outcome-vocabulary") and the STEMI / stroke treatment time; the server checks each
// field and names the one it refuses. The crew that brought the patient sees the result.
import { escapeHtml, readJson } from "../../js/dom.js";
import { api, encounterUrl, showError } from "./format.js";

const vocabulary = readJson("outcome-vocabulary") || { dispositions: [], transfers: [] };

function optionsHtml() {
  return '<option value="">Disposition…</option>' + vocabulary.dispositions.map(function (d) {
    return '<option value="' + escapeHtml(d[0]) + '">' + escapeHtml(d[0] + " · " + d[1]) + "</option>";
  }).join("");
}

function outcomeHtml() {
  return '<details class="outcome-box" hidden><summary class="outcome-summary">Record outcome</summary>' +
    '<form class="outcome-form" autocomplete="off" novalidate>' +
    '<input class="outcome-diagnosis" type="text" maxlength="200" aria-label="Diagnosis" placeholder="Diagnosis">' +
    '<input class="outcome-icd10" type="text" maxlength="10" aria-label="ICD-10 code" placeholder="ICD-10, e.g. I21.0">' +
    '<select class="outcome-disposition" aria-label="Disposition">' + optionsHtml() + "</select>" +
    '<input class="outcome-where" type="text" maxlength="160" aria-label="Ward, unit or facility" placeholder="Ward / unit (admitted) or facility (transferred)">' +
    '<select class="outcome-pathway" aria-label="Pathway"><option value="">No time-critical pathway</option>' +
    '<option value="stemi">STEMI: balloon time</option><option value="stroke">Stroke: needle time</option></select>' +
    '<input class="outcome-time" type="datetime-local" step="60" aria-label="Balloon or needle time" hidden>' +
    '<button type="submit" class="save-outcome">Save outcome</button>' +
    '<span class="field-error" data-error-for="outcome" hidden></span>' +
    '<p class="outcome-saved" role="status"></p></form></details>';
}

function body(q) {
  const disposition = q(".outcome-disposition").value;
  const where = q(".outcome-where").value.trim();
  const pathway = q(".outcome-pathway").value;
  const time = q(".outcome-time").value;
  const data = {
    diagnosis_text: q(".outcome-diagnosis").value.trim(),
    diagnosis_icd10: q(".outcome-icd10").value.trim(),
    ed_disposition: disposition,
    pathway: pathway,
  };
  // The one place field goes where the disposition says: a ward when admitted, else the
  // facility of a transfer (the server refuses it anywhere else, naming the field).
  if (where) data[disposition === "09" ? "admitted_unit" : "transfer_facility"] = where;
  if (pathway && time) {
    const when = new Date(time);
    data[pathway === "stemi" ? "balloon_at" : "needle_at"] = Number.isNaN(when.getTime()) ? time : when.toISOString();
  }
  return data;
}

function savedText(outcome) {
  if (!outcome) return "";
  let text = "Recorded: " + outcome.ed_disposition_label;
  if (outcome.door_to_treatment_minutes != null) text += " · door-to-treatment " + outcome.door_to_treatment_minutes + " min";
  return text;
}

// Opening the form reads what is recorded (an audited read), so a correction starts from it.
function localInput(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  const pad = function (n) { return (n < 10 ? "0" : "") + n; };
  return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) + "T" + pad(d.getHours()) + ":" + pad(d.getMinutes());
}

function fill(q, outcome) {
  // Never over what the nurse has started typing while the answer was on its way.
  if (!outcome || q(".outcome-diagnosis").value || q(".outcome-disposition").value) return;
  q(".outcome-diagnosis").value = outcome.diagnosis_text || "";
  q(".outcome-icd10").value = outcome.diagnosis_icd10 || "";
  q(".outcome-disposition").value = outcome.ed_disposition || "";
  q(".outcome-where").value = outcome.admitted_unit || outcome.transfer_facility || "";
  q(".outcome-pathway").value = outcome.pathway || "";
  q(".outcome-time").value = localInput(outcome.balloon_at || outcome.needle_at);
  q(".outcome-time").hidden = !outcome.pathway;
  q(".outcome-saved").textContent = savedText(outcome);
}

function wireOutcome(li, id) {
  const q = function (sel) { return li.querySelector(sel); };
  q(".outcome-box").addEventListener("toggle", function () {
    if (!q(".outcome-box").open) return;
    api("GET", encounterUrl(id, "outcome")).then(function (answer) {
      fill(q, answer && answer.outcome);
    }, function (err) {
      showError(q('[data-error-for="outcome"]'), err.message);
    });
  });
  q(".outcome-pathway").addEventListener("change", function () {
    q(".outcome-time").hidden = !q(".outcome-pathway").value;
  });
  q(".outcome-form").addEventListener("submit", function (event) {
    event.preventDefault();
    const slot = q('[data-error-for="outcome"]');
    const button = q(".save-outcome");
    showError(slot, "");
    if (!q(".outcome-disposition").value) {
      showError(slot, "ed_disposition: choose the disposition.");
      return;
    }
    button.disabled = true;
    api("PUT", encounterUrl(id, "outcome"), body(q)).then(function (answer) {
      q(".outcome-saved").textContent = savedText(answer && answer.outcome);
    }, function (err) {
      showError(slot, err.message);
    }).finally(function () { button.disabled = false; });
  });
}

// The form appears once the patient is at the ED (the outcome follows the door time).
function renderOutcome(li, row) {
  const box = li.querySelector(".outcome-box");
  if (box) box.hidden = !row.arrived_at;
}

export { outcomeHtml, renderOutcome, wireOutcome };
