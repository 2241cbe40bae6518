// The vitals form: instant range feedback from the server's vocabulary, GCS, the stroke
// scale items, loading a patient's draft, and a set saved as an outbox item.
import { clock, uuid } from "../../js/dom.js";
import { BEFAST, LVO_THRESHOLD, NUMERIC, SHORT, STROKE_ITEMS } from "./vocabulary.js";
import { $, SPEC, STROKE, el, fieldInputs, fmt, fromHhmm, inputs, make, outbox } from "./context.js";
import { current, emptyVitalsForm, persist, pushFields } from "./store.js";
import { render } from "./render.js";

// ---- vitals: instant range feedback ------------------------------------------------------
function specFor(key) { return SPEC[key] || null; }
function unitFor(key, form) {
  if (key === "blood_glucose") return form.glucose_unit;
  if (key === "etco2") return "mmHg";
  const spec = specFor(key);
  return spec ? spec.unit : "";
}
function rangeText(key, form) {
  const spec = specFor(key);
  if (!spec || spec.min === null || spec.max === null) return "";
  const unit = unitFor(key, form);
  const factor = spec.units && spec.units[unit] ? spec.units[unit] : 1;
  return fmt(spec.min / factor) + "–" + fmt(spec.max / factor) + (key === "pain_score" ? "" : " " + unit);
}
// {value, state: "empty"|"ok"|"extreme"|"bad", message}
function check(key, raw, form) {
  const text = String(raw || "").trim().replace(",", ".");
  if (!text) return { value: null, state: "empty", message: "" };
  const spec = specFor(key);
  if (!/^\d+(\.\d+)?$/.test(text)) return { value: null, state: "bad", message: "Not a number" };
  const value = Number(text);
  if (spec && spec.kind === "integer" && !Number.isInteger(value)) {
    return { value: null, state: "bad", message: "Whole number only" };
  }
  if (!spec) return { value: value, state: "ok", message: "" };
  const unit = unitFor(key, form);
  const base = value * (spec.units && spec.units[unit] ? spec.units[unit] : 1);
  if ((spec.min !== null && base < spec.min) || (spec.max !== null && base > spec.max)) {
    return { value: value, state: "bad", message: "Outside plausible " + rangeText(key, form) };
  }
  if (spec.flag_below !== null && base < spec.flag_below) {
    return { value: value, state: "extreme", message: "Extreme: will be flagged" };
  }
  if (spec.flag_above !== null && base > spec.flag_above) {
    return { value: value, state: "extreme", message: "Extreme: will be flagged" };
  }
  return { value: value, state: "ok", message: "" };
}
function checkAll(form) {
  const results = {};
  for (const key of NUMERIC) results[key] = check(key, form.values[key], form);
  const sbp = results.systolic_bp;
  const dbp = results.diastolic_bp;
  if (sbp.value !== null && dbp.value !== null && sbp.state !== "bad" && dbp.state !== "bad" && dbp.value > sbp.value) {
    sbp.state = dbp.state = "bad";
    sbp.message = dbp.message = "DBP above SBP: swapped?";
  }
  return results;
}
function renderVitalChecks(p) {
  const form = p.vform;
  const results = checkAll(form);
  for (const key of NUMERIC) {
    const tile = inputs[key] && inputs[key].closest(".vital");
    if (!tile) continue;
    const r = results[key];
    tile.classList.toggle("bad", r.state === "bad");
    tile.classList.toggle("extreme", r.state === "extreme");
    tile.classList.toggle("filled", r.state !== "empty");
    inputs[key].setAttribute("aria-invalid", r.state === "bad" ? "true" : "false");
    const hint = tile.querySelector(".v-hint");
    hint.textContent = r.message || rangeText(key, form);
    const unit = tile.querySelector(".v-unit");
    if (unit) unit.textContent = key === "pain_score" ? "0–10" : unitFor(key, form);
  }
  return results;
}

// ---- vitals: the form ----------------------------------------------------------------------
function setPressed(selector, predicate) {
  for (const button of el.vitalsForm.querySelectorAll(selector)) {
    button.setAttribute("aria-pressed", predicate(button) ? "true" : "false");
  }
}
function gcsTotal(form) {
  const g = form.gcs;
  if (g.gcs_eye && g.gcs_verbal && g.gcs_motor) return g.gcs_eye + g.gcs_verbal + g.gcs_motor;
  return null;
}
function renderVitalsControls(p) {
  const form = p.vform;
  setPressed("[data-oxygen]", function (b) { return (b.dataset.oxygen === "true") === form.on_oxygen; });
  setPressed("[data-glucose-unit]", function (b) { return b.dataset.glucoseUnit === form.glucose_unit; });
  setPressed("[data-avpu]", function (b) { return b.dataset.avpu === form.avpu; });
  el.confusion.setAttribute("aria-pressed", form.new_confusion ? "true" : "false");
  for (const row of el.vitalsForm.querySelectorAll("[data-gcs]")) {
    const chosen = form.gcs[row.dataset.gcs];
    for (const b of row.querySelectorAll("[data-score]")) {
      b.setAttribute("aria-pressed", Number(b.dataset.score) === chosen ? "true" : "false");
    }
  }
  const total = gcsTotal(form);
  const g = form.gcs;
  if (total !== null) {
    el.gcsTotal.textContent = "GCS " + total + "  (E" + g.gcs_eye + " V" + g.gcs_verbal + " M" + g.gcs_motor + ")";
  } else {
    const need = ["E", "V", "M"].filter(function (_, i) { return !g[["gcs_eye", "gcs_verbal", "gcs_motor"][i]]; });
    el.gcsTotal.textContent = "GCS —  needs " + need.join(", ");
  }
  el.gcsTotal.classList.toggle("low", total !== null && total <= 8);
  el.rhythm.value = form.rhythm || "";
  el.stemi.setAttribute("aria-pressed", form.stemi ? "true" : "false");
  // BE-FAST lives on the encounter (findings), shared by every set.
  const befast = (p.draft.findings && p.draft.findings.befast) || {};
  for (const b of el.vitalsForm.querySelectorAll("[data-befast]")) {
    const v = befast[b.dataset.befast];
    b.dataset.state = v === true ? "positive" : v === false ? "negative" : "";
    b.querySelector(".befast-state").textContent = v === true ? "POSITIVE" : v === false ? "normal" : "—";
  }
  setPressed("[data-scale]", function (b) { return b.dataset.scale === form.scale; });
  renderStrokeItems(form);
  el.scaleScores.replaceChildren();
  if (form.scale && STROKE[form.scale]) {
    const range = STROKE[form.scale];
    for (let n = range[0]; n <= range[1]; n += 1) {
      const b = make("button", "seg seg-num", String(n));
      b.type = "button";
      b.dataset.scaleScore = String(n);
      b.setAttribute("aria-pressed", form.scale_score === n ? "true" : "false");
      el.scaleScores.append(b);
    }
  }
  const positives = BEFAST.filter(function (k) { return befast[k] === true; });
  let hint = positives.length ? "BE-FAST positive (" + positives.join(", ") + "): suspected stroke — record last known well. " : "";
  const lvo = LVO_THRESHOLD[form.scale];
  if (lvo !== undefined && form.scale_score !== null) {
    hint += form.scale_score >= lvo ? form.scale + " ≥ " + lvo + ": possible large-vessel occlusion → thrombectomy centre." : form.scale + " < " + lvo + ".";
  }
  el.scaleHint.textContent = hint;
  el.scaleHint.classList.toggle("alert", /≥/.test(hint) || positives.length > 0);
  if (document.activeElement !== el.takenAt) el.takenAt.value = form.taken_at || "";
}
// The item-by-item checklist of the chosen scale; the total is theirs once every item
// is scored. The "total only" row stays for a score taken by someone else.
function strokeItems(form) {
  if (!form.scale_items || typeof form.scale_items !== "object") form.scale_items = {};
  return form.scale_items;
}
function strokeTally(form) {
  const items = STROKE_ITEMS[form.scale] || [];
  const chosen = strokeItems(form);
  let sum = 0;
  const missing = [];
  for (const item of items) {
    if (typeof chosen[item[0]] === "number") sum += chosen[item[0]];
    else missing.push(item[1]);
  }
  return { sum: sum, missing: missing, started: items.length - missing.length > 0, complete: items.length > 0 && !missing.length };
}
function renderStrokeItems(form) {
  el.scaleItems.replaceChildren();
  const items = STROKE_ITEMS[form.scale] || [];
  const chosen = strokeItems(form);
  for (const item of items) {
    const row = make("div", "scale-item");
    row.dataset.scaleItem = item[0];
    row.append(make("span", "scale-item-label", item[1]));
    const buttons = make("div", "scale-item-scores");
    for (const option of item[2]) {
      const b = make("button", "seg seg-item");
      b.type = "button";
      b.dataset.itemScore = String(option[0]);
      b.setAttribute("aria-pressed", chosen[item[0]] === option[0] ? "true" : "false");
      b.append(make("b", "", String(option[0])), make("small", "", option[1]));
      buttons.append(b);
    }
    row.append(buttons);
    el.scaleItems.append(row);
  }
  el.scaleFallback.hidden = !form.scale;
  const range = STROKE[form.scale];
  const tally = strokeTally(form);
  let text = "";
  if (form.scale && tally.complete) text = form.scale + " " + tally.sum + " / " + range[1];
  else if (form.scale && tally.started) text = form.scale + " " + tally.sum + " so far · needs " + tally.missing.join(", ");
  else if (form.scale && form.scale_score !== null) text = form.scale + " " + form.scale_score + " / " + range[1] + " (total only)";
  else if (form.scale) text = form.scale + " — score each item";
  el.scaleTotal.textContent = text;
  const lvo = LVO_THRESHOLD[form.scale];
  el.scaleTotal.classList.toggle("alert", form.scale_score !== null && lvo !== undefined && form.scale_score >= lvo);
}
function loadForms(p) {
  for (const key of NUMERIC) if (inputs[key]) inputs[key].value = p ? p.vform.values[key] || "" : "";
  if (!p) return;
  const d = p.draft;
  for (const key of Object.keys(fieldInputs)) fieldInputs[key].value = d[key] || "";
  $("p-age").value = d.estimated_age_years === null || d.estimated_age_years === undefined ? "" : String(d.estimated_age_years);
  $("p-allergies").value = (d.allergies || []).join(", ");
  $("p-history").value = (d.history || []).join(", ");
  $("p-lkw").value = clock(d.last_known_well);
  $("p-onset").value = clock(d.time_of_onset);
  el.vitalsProblem.textContent = "";
}

function collectVitals(p) {
  const form = p.vform;
  const results = checkAll(form);
  const bad = NUMERIC.filter(function (k) { return results[k].state === "bad"; });
  if (bad.length) {
    return { error: "Check " + bad.map(function (k) { return SHORT[k] + " (" + results[k].message + ")"; }).join(", ") + "." };
  }
  const vitals = {};
  for (const key of NUMERIC) {
    if (results[key].value !== null) vitals[key] = results[key].value;
  }
  if ("blood_glucose" in vitals) vitals.blood_glucose_unit = form.glucose_unit;
  if ("etco2" in vitals) vitals.etco2_unit = "mmHg";
  if (form.avpu) vitals.avpu = form.avpu;
  if (form.new_confusion) vitals.new_confusion = true;
  for (const part of ["gcs_eye", "gcs_verbal", "gcs_motor"]) if (form.gcs[part]) vitals[part] = form.gcs[part];
  if (form.rhythm) vitals.cardiac_rhythm = form.rhythm;
  if (form.scale && form.scale_score !== null) {
    vitals.stroke_scale_score = form.scale_score;
    vitals.stroke_scale_type = form.scale;
  }
  const measured = Object.keys(vitals).length > 0;
  if (!measured && !form.stemi) return { error: "Enter at least one vital sign." };
  // Air or oxygen is a NEWS2 parameter of its own: always say which.
  vitals.on_oxygen = form.on_oxygen;
  if (form.stemi) vitals.ecg_stemi = true;
  return { vitals: vitals };
}
function saveVitals() {
  const p = current();
  if (!p) return;
  const tally = strokeTally(p.vform);
  if (p.vform.scale && tally.started && !tally.complete && p.vform.scale_score === null) {
    el.vitalsProblem.textContent = p.vform.scale + " not finished: score " + tally.missing.join(", ") + ", or clear the scale.";
    return;
  }
  const collected = collectVitals(p);
  if (collected.error) {
    el.vitalsProblem.textContent = collected.error;
    return;
  }
  pushFields(p, ["findings", "last_known_well"]);
  const takenAt = fromHhmm(p.vform.taken_at) || new Date().toISOString();
  const vitalsId = uuid();
  outbox.push("vitals", { encounter: p.id, vitals_id: vitalsId, taken_at: takenAt, vitals: collected.vitals });
  p.vitals.push({ client_id: vitalsId, taken_at: takenAt, values: collected.vitals, status: "pending" });
  const keep = { on_oxygen: p.vform.on_oxygen, glucose_unit: p.vform.glucose_unit, scale: p.vform.scale };
  p.vform = Object.assign(emptyVitalsForm(), keep);
  el.vitalsProblem.textContent = "";
  loadForms(p);
  persist();
  render();
}

export { loadForms, rangeText, renderVitalChecks, renderVitalsControls, saveVitals, strokeItems, strokeTally };
