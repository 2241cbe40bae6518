// Every control of the record wired once (wireControls): the keypad, the vitals and
// patient forms, medications, treatment, tabs, destination and the ED thread.
import { clock } from "../../js/dom.js";
import { BEFAST, DEST_REFRESH_MS, NUMERIC, SHORT } from "./vocabulary.js";
import { $, db, el, fieldInputs, fromHhmm, inputs, minutesAgo, outbox, root, splitList } from "./context.js";
import { addPatient, current, emptyVitalsForm, persist, persistSoon, pushFields } from "./store.js";
import { rangeText, renderVitalChecks, saveVitals, strokeItems, strokeTally } from "./vitals_form.js";
import { renderAtmist } from "./scores.js";
import { recordIntervention, recordMedication } from "./treatment.js";
import { forgetDestChoice, loadDestinations, sendDestination } from "./destination.js";
import { render, renderPatientForm, sendMessage } from "./render.js";

// ---- wiring: vitals ---------------------------------------------------------------------------
// Every control of the record: the keypad, the vitals and patient forms, medications,
// treatment, tabs, destination and the ED thread.
function wireControls() {
  let target = null;
  const touch = window.matchMedia && window.matchMedia("(pointer: coarse)").matches;
  for (const key of NUMERIC) {
    const input = inputs[key];
    if (!input) continue;
    // On a touch tablet the on-screen keypad replaces the system keyboard, which would
    // cover half the form; a hardware keyboard still types.
    if (touch) input.setAttribute("inputmode", "none");
    input.addEventListener("focus", function () {
      target = input;
      el.keypadTarget.textContent = SHORT[key] + (rangeText(key, current() ? current().vform : emptyVitalsForm()) ? " · plausible " + rangeText(key, current().vform) : "");
      for (const tile of root.querySelectorAll(".vital.active")) tile.classList.remove("active");
      input.closest(".vital").classList.add("active");
    });
    input.addEventListener("input", function () {
      const p = current();
      if (!p) return;
      p.vform.values[key] = input.value;
      persistSoon();
      renderVitalChecks(p);
    });
  }
  for (const k of root.querySelectorAll(".key")) {
    // Keep the focus (and the OS keyboard state) on the vital being typed.
    k.addEventListener("pointerdown", function (event) { event.preventDefault(); });
    k.addEventListener("click", function () {
      if (!target) {
        inputs.heart_rate.focus();
        if (k.dataset.key === "next" || k.dataset.key === "back" || k.dataset.key === "clear") return;
      }
      const action = k.dataset.key;
      if (action === "next") {
        const index = NUMERIC.indexOf(target.dataset.vitalInput);
        const next = inputs[NUMERIC[(index + 1) % NUMERIC.length]];
        next.focus();
        return;
      }
      if (action === "back") target.value = target.value.slice(0, -1);
      else if (action === "clear") target.value = "";
      else if (target.value.length < 6) target.value += action;
      target.dispatchEvent(new Event("input", { bubbles: true }));
      target.focus();
    });
  }
  el.vitalsForm.addEventListener("click", function (event) {
    const button = event.target.closest("button");
    const p = current();
    if (!button || !p || button.classList.contains("key")) return;
    const form = p.vform;
    const d = button.dataset;
    if (d.oxygen !== undefined) form.on_oxygen = d.oxygen === "true";
    else if (d.glucoseUnit) form.glucose_unit = d.glucoseUnit;
    else if (d.avpu) form.avpu = form.avpu === d.avpu ? null : d.avpu;
    else if (button === el.confusion) form.new_confusion = !form.new_confusion;
    else if (d.score && button.closest("[data-gcs]")) {
      const part = button.closest("[data-gcs]").dataset.gcs;
      const n = Number(d.score);
      if (form.gcs[part] === n) delete form.gcs[part]; else form.gcs[part] = n;
    } else if (button === el.stemi) form.stemi = !form.stemi;
    else if (d.befast) {
      const findings = Object.assign({}, p.draft.findings || {});
      const befast = Object.assign({}, findings.befast || {});
      const now = befast[d.befast];
      befast[d.befast] = now === undefined || now === null ? true : now === true ? false : null;
      findings.befast = befast;
      p.draft.findings = findings;
      p.draftTouched = true;
    } else if (button.id === "befast-normal") {
      const befast = {};
      BEFAST.forEach(function (k) { befast[k] = false; });
      p.draft.findings = Object.assign({}, p.draft.findings || {}, { befast: befast });
      p.draftTouched = true;
    } else if (d.scale) {
      form.scale = form.scale === d.scale ? null : d.scale;
      form.scale_score = null;
      form.scale_items = {};
    } else if (d.itemScore !== undefined && button.closest("[data-scale-item]")) {
      const key = button.closest("[data-scale-item]").dataset.scaleItem;
      const items = strokeItems(form);
      const n = Number(d.itemScore);
      if (items[key] === n) delete items[key]; else items[key] = n;
      const tally = strokeTally(form);
      form.scale_score = tally.complete ? tally.sum : null;
    } else if (d.scaleScore !== undefined) {
      const n = Number(d.scaleScore);
      form.scale_score = form.scale_score === n ? null : n;
      form.scale_items = {}; // a total typed in replaces the checklist
    } else if (button.id === "taken-now") {
      form.taken_at = clock(new Date().toISOString());
      el.takenAt.value = form.taken_at;
    } else return;
    persistSoon();
    render();
  });
  el.rhythm.addEventListener("change", function () {
    const p = current();
    if (p) { p.vform.rhythm = el.rhythm.value; persistSoon(); render(); }
  });
  el.takenAt.addEventListener("input", function () {
    const p = current();
    if (p) { p.vform.taken_at = el.takenAt.value; persistSoon(); }
  });
  el.vitalsForm.addEventListener("submit", function (event) {
    event.preventDefault();
    saveVitals();
  });

  // ---- wiring: patient -----------------------------------------------------------------------------
  function touched(p) { p.draftTouched = true; persistSoon(); }
  for (const key of Object.keys(fieldInputs)) {
    fieldInputs[key].addEventListener("input", function () {
      const p = current();
      if (!p) return;
      p.draft[key] = fieldInputs[key].value;
      touched(p);
      renderPatientForm(p);
      renderAtmist(p);
    });
  }
  $("p-age").addEventListener("input", function () {
    const p = current();
    if (!p) return;
    const raw = $("p-age").value.trim();
    const n = Number(raw);
    p.draft.estimated_age_years = raw && Number.isInteger(n) && n >= 0 && n <= 130 ? n : null;
    $("p-age").setAttribute("aria-invalid", raw && p.draft.estimated_age_years === null ? "true" : "false");
    touched(p);
    render();
  });
  $("p-allergies").addEventListener("input", function () {
    const p = current();
    if (p) { p.draft.allergies = splitList($("p-allergies").value); touched(p); renderPatientForm(p); renderAtmist(p); }
  });
  $("p-history").addEventListener("input", function () {
    const p = current();
    if (p) { p.draft.history = splitList($("p-history").value); touched(p); renderPatientForm(p); renderAtmist(p); }
  });
  $("nkda").addEventListener("click", function () {
    const p = current();
    if (!p) return;
    p.draft.allergies = ["No known drug allergies"];
    $("p-allergies").value = p.draft.allergies[0];
    touched(p);
    render();
  });
  let anticoag = false;
  el.medAnticoag.addEventListener("click", function () {
    anticoag = !anticoag;
    el.medAnticoag.setAttribute("aria-pressed", anticoag ? "true" : "false");
  });
  function addMedication() {
    const p = current();
    const name = el.medName.value.trim().slice(0, 120);
    if (!p || !name) return;
    p.draft.medications = (p.draft.medications || []).concat([{ name: name, anticoagulant: anticoag }]);
    el.medName.value = "";
    anticoag = false;
    el.medAnticoag.setAttribute("aria-pressed", "false");
    touched(p);
    render();
  }
  $("med-add").addEventListener("click", addMedication);
  el.medName.addEventListener("keydown", function (event) {
    if (event.key === "Enter") { event.preventDefault(); addMedication(); }
  });
  const TIME_FIELD = { lkw: ["last_known_well", "p-lkw"], onset: ["time_of_onset", "p-onset"] };
  el.patientForm.addEventListener("click", function (event) {
    const button = event.target.closest("button");
    const p = current();
    if (!button || !p) return;
    if (button.dataset.sex) {
      p.draft.sex = button.dataset.sex;
    } else if (button.dataset.timeFor) {
      const [field, id] = TIME_FIELD[button.dataset.timeFor];
      p.draft[field] = minutesAgo(Number(button.dataset.minus) || 0);
      $(id).value = clock(p.draft[field]);
    } else if (button.dataset.timeClear) {
      const [field, id] = TIME_FIELD[button.dataset.timeClear];
      p.draft[field] = null;
      $(id).value = "";
    } else return;
    touched(p);
    render();
  });
  for (const name of Object.keys(TIME_FIELD)) {
    const [field, id] = TIME_FIELD[name];
    $(id).addEventListener("change", function () {
      const p = current();
      if (!p) return;
      p.draft[field] = fromHhmm($(id).value);
      touched(p);
      render();
    });
  }
  el.patientForm.addEventListener("submit", function (event) {
    event.preventDefault();
    const p = current();
    if (!p) return;
    pushFields(p);
    persist();
    render();
  });

  // ---- wiring: treatment ------------------------------------------------------------------------
  for (const b of root.querySelectorAll("[data-intervention]")) {
    b.addEventListener("click", function () { recordIntervention(b.dataset.intervention, b.dataset.snomed || ""); });
  }
  $("tx-other").addEventListener("submit", function (event) {
    event.preventDefault();
    if (recordIntervention(el.txText.value, "")) el.txText.value = "";
  });
  $("tx-now").addEventListener("click", function () { el.txTime.value = clock(new Date().toISOString()); });
  el.mgForm.addEventListener("submit", function (event) {
    event.preventDefault();
    recordMedication();
  });

  // ---- wiring: tabs, destination, messages ------------------------------------------------
  el.add.addEventListener("click", addPatient);
  for (const t of root.querySelectorAll(".rtab")) {
    t.addEventListener("click", function () {
      db.pane = t.dataset.pane;
      persistSoon();
      if (db.pane === "destination") {
        const p = current();
        forgetDestChoice();
        el.destReason.value = "";
        loadDestinations(p);
      }
      render();
    });
  }
  $("dest-refresh").addEventListener("click", function () { loadDestinations(current()); });
  // Diversion changes reach the unit stream (`handoff.hospital.updated`, onEvent re-ranks
  // at once); the 30 s re-rank still moves the drive times on while the crew looks.
  window.setInterval(function () {
    if (db.pane !== "destination" || document.hidden || !outbox.isOnline()) return;
    loadDestinations(current());
  }, DEST_REFRESH_MS);
  el.destReason.addEventListener("change", render);
  el.destSend.addEventListener("click", sendDestination);
  el.compose.addEventListener("submit", function (event) {
    event.preventDefault();
    sendMessage(el.messageText.value);
    el.messageText.value = "";
  });
  for (const q of root.querySelectorAll("[data-quick]")) {
    q.addEventListener("click", function () { sendMessage(q.dataset.quick); });
  }
}

export { wireControls };
