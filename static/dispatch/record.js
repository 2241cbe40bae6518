// The patient record on the crew tablet: patients, vitals, ATMIST, treatment, destination,
// ED thread.
//
// Every write is a device item in the tablet's persistent outbox (encounter, vitals,
// destination, message, intervention, medication; docs/handoff.md, docs/protocol.md), so the record works offline and each item is
// applied once: a patient's UUID is made here, before the server has seen it, and the
// outbox sends items in order, so vitals never overtake the encounter they belong to.
// The plausible ranges come from the server's vocabulary (record-initial) for instant
// feedback; the server still judges every set and its refusal is shown with its field.
// Scores (NEWS2, GCS, shock index, qSOFA) are the server's, shown once it has the set.
// The record is kept in localStorage so a reload or a dead battery swap loses nothing.
// Nothing here logs patient details to the console.
"use strict";
(function () {
  window.GoldenHour = window.GoldenHour || {};

  const NUMERIC = [
    "heart_rate", "respiratory_rate", "systolic_bp", "diastolic_bp", "spo2", "temperature",
    "blood_glucose", "etco2", "pain_score",
  ];
  const SHORT = {
    heart_rate: "HR", respiratory_rate: "RR", systolic_bp: "SBP", diastolic_bp: "DBP",
    spo2: "SpO₂", temperature: "Temp", blood_glucose: "Glucose", etco2: "EtCO₂",
    pain_score: "Pain", gcs_total: "GCS", consciousness: "AVPU", on_oxygen: "air/O₂",
    avpu: "AVPU", stroke_scale_score: "stroke scale", cardiac_rhythm: "rhythm",
    altered_mentation: "mentation",
  };
  const MISSING_LABEL = {
    respiratory_rate: "RR", spo2: "SpO₂", on_oxygen: "air/O₂", systolic_bp: "SBP",
    heart_rate: "HR", consciousness: "AVPU", temperature: "temp",
  };
  const RISK_LABEL = {
    low: "low risk", "low-medium": "low–medium risk", medium: "medium risk", high: "high risk",
  };
  const RISK_RESPONSE = {
    low: "ward-based response", "low-medium": "urgent review", medium: "urgent response",
    high: "emergency response",
  };
  const BEFAST = ["balance", "eyes", "face", "arm", "speech"];
  // Stroke scales item by item (docs REFERENCE.md): [key, label, [[score, meaning], ...]].
  // The total goes out as the vitals set's stroke_scale_score with stroke_scale_type.
  const STROKE_ITEMS = {
    RACE: [
      ["facial_palsy", "Facial palsy", [[0, "absent"], [1, "mild"], [2, "moderate–severe"]]],
      ["arm_motor", "Arm motor", [[0, "normal–mild"], [1, "moderate"], [2, "severe"]]],
      ["leg_motor", "Leg motor", [[0, "normal–mild"], [1, "moderate"], [2, "severe"]]],
      ["gaze", "Head & gaze deviation", [[0, "absent"], [1, "present"]]],
      ["cortical", "Aphasia (right weak) / agnosia (left weak)", [[0, "both tasks"], [1, "one task"], [2, "neither"]]],
    ],
    LAMS: [
      ["facial_droop", "Facial droop", [[0, "absent"], [1, "present"]]],
      ["arm_drift", "Arm drift", [[0, "absent"], [1, "drifts down"], [2, "falls rapidly"]]],
      ["grip", "Grip strength", [[0, "normal"], [1, "weak"], [2, "no grip"]]],
    ],
  };
  const LVO_THRESHOLD = { RACE: 5, LAMS: 4 };
  const RECORD_STATUSES = ["on_scene", "transporting", "at_destination"];
  const FUTURE_SLACK_MS = 5 * 60 * 1000;
  const DEST_REFRESH_MS = 30 * 1000;

  function start(tablet) {
    const root = document.getElementById("record");
    const initialNode = document.getElementById("record-initial");
    if (!root || !initialNode) return;
    const cfg = JSON.parse(initialNode.textContent || "{}");
    const SPEC = cfg.vitals || {};
    const STROKE = cfg.stroke_scales || { RACE: [0, 9], LAMS: [0, 5] };
    const KEY = "gh.record." + tablet.unitId;
    const outbox = tablet.outbox;

    const $ = function (id) { return document.getElementById(id); };
    const el = {
      tabs: $("patient-tabs"), add: $("add-patient"), empty: $("record-empty"), body: $("record-body"),
      vitalsForm: $("vitals-form"), patientForm: $("patient-form"), keypadTarget: $("keypad-target"),
      gcsTotal: $("gcs-total"), rhythm: $("rhythm"), stemi: $("stemi"), confusion: $("new-confusion"),
      scaleScores: $("scale-scores"), scaleHint: $("scale-hint"), takenAt: $("taken-at"),
      vitalsProblem: $("vitals-problem"), history: $("vitals-history"), patientState: $("patient-state"),
      meds: $("meds"), medName: $("med-name"), medAnticoag: $("med-anticoag"),
      destList: $("dest-list"), destNote: $("dest-note"), destReason: $("dest-reason"),
      destSend: $("dest-send"), destCurrent: $("dest-current"), destWarning: $("dest-warning"), thread: $("thread"),
      compose: $("compose"), messageText: $("message-text"), unread: $("ed-unread"),
      ack: $("ed-ack-state"), ackBox: $("ed-ack-box"), scores: $("scores"), atmist: $("atmist"),
      scaleItems: $("scale-items"), scaleTotal: $("scale-total"), scaleFallback: $("scale-fallback"),
      txTime: $("tx-time"), txText: $("tx-text"), txList: $("tx-list"), txProblem: $("tx-problem"),
      mgForm: $("med-given"), mgName: $("mg-name"), mgDose: $("mg-dose"), mgUnit: $("mg-unit"),
      mgRoute: $("mg-route"),
    };
    const inputs = {};
    for (const input of root.querySelectorAll("[data-vital-input]")) inputs[input.dataset.vitalInput] = input;
    const fieldInputs = {
      family_name: $("p-family"), given_name: $("p-given"), chief_complaint: $("p-complaint"),
      working_impression: $("p-impression"), age_text: $("p-age-text"), mechanism: $("p-mechanism"),
      injuries: $("p-injuries"),
    };

    // ---- helpers ------------------------------------------------------------------------------
    function uuid() {
      if (window.crypto && typeof window.crypto.randomUUID === "function") return window.crypto.randomUUID();
      const hex = "0123456789abcdef";
      let out = "";
      for (let i = 0; i < 32; i += 1) out += hex[Math.floor(Math.random() * 16)];
      return out.slice(0, 8) + "-" + out.slice(8, 12) + "-4" + out.slice(13, 16) + "-a" +
        out.slice(17, 20) + "-" + out.slice(20, 32);
    }
    function clone(value) { return JSON.parse(JSON.stringify(value)); }
    function make(tag, className, text) {
      const node = document.createElement(tag);
      if (className) node.className = className;
      if (text !== undefined && text !== null) node.textContent = text;
      return node;
    }
    // 24-hour HH:MM on every screen, whatever the browser's locale.
    function clock(iso) { return hhmm(iso); }
    function hhmm(iso) {
      if (!iso) return "";
      const d = new Date(iso);
      if (isNaN(d.getTime())) return "";
      return String(d.getHours()).padStart(2, "0") + ":" + String(d.getMinutes()).padStart(2, "0");
    }
    // A time of day typed on scene is today's, unless that is in the future: then yesterday's.
    function fromHhmm(value) {
      const match = /^\s*(\d{1,2})[:.]?(\d{2})\s*$/.exec(value || "");
      if (!match || Number(match[1]) > 23 || Number(match[2]) > 59) return null;
      const d = new Date();
      d.setHours(Number(match[1]), Number(match[2]), 0, 0);
      if (d.getTime() - Date.now() > FUTURE_SLACK_MS) d.setDate(d.getDate() - 1);
      return d.toISOString();
    }
    function minutesAgo(n) {
      const d = new Date(Date.now() - n * 60000);
      d.setSeconds(0, 0);
      return d.toISOString();
    }
    function fmt(number) {
      if (number === null || number === undefined || number === "") return "";
      const n = Number(number);
      return Number.isInteger(n) ? String(n) : String(Math.round(n * 10) / 10);
    }
    function splitList(text) {
      return (text || "").split(/[,;\n]/).map(function (s) { return s.trim(); }).filter(Boolean);
    }
    function activeAssignment() {
      const a = tablet.assignment();
      return a && a.id ? a : null;
    }

    // ---- persistent state ----------------------------------------------------------------------
    function load() {
      try {
        const raw = window.localStorage.getItem(KEY);
        const parsed = raw ? JSON.parse(raw) : null;
        if (parsed && parsed.patients && Array.isArray(parsed.order)) return parsed;
      } catch (ignored) { /* unreadable: start empty, the server still has what it acked */ }
      return { patients: {}, order: [], current: null, pane: "vitals" };
    }
    const db = load();
    let saveTimer = null;
    function persist() {
      clearTimeout(saveTimer);
      saveTimer = null;
      try { window.localStorage.setItem(KEY, JSON.stringify(db)); } catch (ignored) { /* full */ }
    }
    function persistSoon() {
      if (saveTimer === null) saveTimer = setTimeout(persist, 400);
    }
    window.addEventListener("pagehide", persist);

    function emptyVitalsForm() {
      return {
        values: {}, on_oxygen: false, glucose_unit: "mmol/L", avpu: null, new_confusion: false,
        gcs: {}, rhythm: "", stemi: false, scale: null, scale_score: null, scale_items: {},
        taken_at: "",
      };
    }
    function emptyDraft() {
      return {
        estimated_age_years: null, sex: "unknown", family_name: "", given_name: "",
        chief_complaint: "", working_impression: "", allergies: [], medications: [], history: [],
        last_known_well: null, age_text: "", time_of_onset: null, mechanism: "", injuries: "",
        findings: {},
      };
    }
    function draftFromDetail(d) {
      const draft = emptyDraft();
      for (const key of Object.keys(draft)) {
        if (d[key] !== undefined && d[key] !== null) draft[key] = clone(d[key]);
      }
      if (d.family_name === null) draft.family_name = "";
      if (d.given_name === null) draft.given_name = "";
      return draft;
    }
    function newPatient(id, assignmentId) {
      return {
        id: id, assignment_id: assignmentId, created_at: new Date().toISOString(), opened: false,
        srv: null, draft: emptyDraft(), saved: emptyDraft(), vform: emptyVitalsForm(), vitals: [],
        messages: [], dest: null, destRows: null, destError: "", unread: 0, problem: null,
        treatment: [],
      };
    }
    function patient(id) { return id ? db.patients[id] || null : null; }
    function patientsOf(assignment) {
      if (!assignment) return [];
      return db.order.map(patient).filter(function (p) { return p && p.assignment_id === assignment.id; });
    }
    function current() {
      const p = patient(db.current);
      const a = activeAssignment();
      if (p && a && p.assignment_id === a.id) return p;
      const list = patientsOf(a);
      db.current = list.length ? list[0].id : null;
      return list.length ? list[0] : null;
    }

    // Server data in: a board row (events) or the full detail (page, REST).
    function upsertVitals(p, summary) {
      if (!summary || !summary.client_id) return;
      const entry = Object.assign({}, summary, { status: "acked" });
      const index = p.vitals.findIndex(function (v) { return v.client_id === summary.client_id; });
      if (index >= 0) p.vitals[index] = Object.assign({}, p.vitals[index], entry);
      else p.vitals.push(entry);
      p.vitals.sort(function (x, y) { return String(x.taken_at).localeCompare(String(y.taken_at)); });
    }
    function upsertMessage(p, m) {
      let found = p.messages.find(function (x) { return x.id === m.id && m.id !== undefined; });
      if (!found && m.sender === "crew") {
        // Our own message coming back: match the one we sent (its ack may still be on the way).
        found = p.messages.find(function (x) { return x.sender === "crew" && !x.id && x.text === m.text; });
      }
      if (found) {
        Object.assign(found, { id: m.id, sent_at: m.sent_at || found.sent_at, status: "sent" });
        return false;
      }
      p.messages.push({ id: m.id, sender: m.sender, text: m.text, sent_at: m.sent_at, status: "sent" });
      p.messages.sort(function (x, y) { return String(x.sent_at).localeCompare(String(y.sent_at)); });
      return true;
    }
    function absorb(data, full) {
      const a = activeAssignment();
      let p = patient(data.encounter_id);
      if (!p) {
        if (!a || data.assignment_id !== a.id || data.status === "closed") return null;
        // A patient added from the unit's other tablet, or before this one was reset.
        p = newPatient(data.encounter_id, data.assignment_id);
        db.patients[p.id] = p;
        db.order.push(p.id);
      }
      p.opened = true;
      p.srv = Object.assign({}, p.srv || {}, data);
      const waiting = outbox.pending().some(function (item) {
        return item.type === "encounter" && item.data.encounter === p.id;
      });
      // Local edits (saved or not yet sent) win over an older server copy.
      if (!p.draftTouched && !waiting) {
        const fromServer = draftFromDetail(Object.assign({}, p.srv));
        // Names and free text travel only in the full detail; keep what we have otherwise.
        if (!full) {
          for (const key of ["family_name", "given_name", "mechanism", "injuries", "medications", "history", "findings", "estimated_age_years"]) {
            fromServer[key] = p.draft[key];
          }
        }
        p.draft = fromServer;
        p.saved = clone(fromServer);
      }
      if (Array.isArray(data.vitals)) data.vitals.forEach(function (v) { upsertVitals(p, v); });
      if (data.latest_vitals) upsertVitals(p, data.latest_vitals);
      if (Array.isArray(data.messages)) data.messages.forEach(function (m) { upsertMessage(p, m); });
      if (data.destination_id && (!p.dest || p.dest.status !== "pending")) {
        p.dest = { hospital_id: data.destination_id, reason: data.destination_reason, status: "set" };
      }
      if (data.status === "closed") p.closed = true;
      return p;
    }

    (cfg.encounters || []).forEach(function (detail) { absorb(detail, true); });

    // Patients of finished calls leave the tablet once nothing of theirs waits to be sent.
    function prune() {
      const a = activeAssignment();
      const waiting = new Set(outbox.pending().map(function (item) { return item.data && item.data.encounter; }));
      db.order = db.order.filter(function (id) {
        const p = db.patients[id];
        const keep = p && ((a && p.assignment_id === a.id) || waiting.has(id) || awaitingHandover(p));
        if (!keep) delete db.patients[id];
        return keep;
      });
    }

    // ---- server reads (REST, session cookie) -------------------------------------------------
    function getJson(url) {
      return window.fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) {
          if (!response.ok) {
            const error = new Error("HTTP " + response.status);
            error.status = response.status;
            throw error;
          }
          return response.json();
        });
    }
    function refresh() {
      const a = activeAssignment();
      if (!a || !outbox.isOnline()) return;
      getJson("/api/v1/assignments/" + a.id + "/encounters/").then(function (rows) {
        rows.forEach(function (row) { absorb(row, false); });
        return Promise.all(patientsOf(a).filter(function (p) { return p.opened; }).map(function (p) {
          return getJson("/api/v1/encounters/" + p.id + "/").then(function (detail) { absorb(detail, true); })
            .catch(function () { /* closed or gone: keep the local copy */ });
        }));
      }).then(function () { persist(); render(); }).catch(function () { /* offline: try on the next hello */ });
    }

    // ---- patients -----------------------------------------------------------------------------
    function addPatient() {
      const a = activeAssignment();
      if (!a) return;
      const p = newPatient(uuid(), a.id);
      const complaint = ((a.incident && a.incident.chief_complaint) || "").slice(0, 200);
      // The server opens the record with the incident's complaint; start from the same.
      p.draft.chief_complaint = complaint;
      p.saved.chief_complaint = complaint;
      db.patients[p.id] = p;
      db.order.push(p.id);
      db.current = p.id;
      outbox.push("encounter", { encounter: p.id, assignment_id: a.id, fields: {} });
      persist();
      loadForms(p);
      render();
    }

    function changedFields(p) {
      const changes = {};
      for (const key of Object.keys(p.draft)) {
        if (JSON.stringify(p.draft[key]) !== JSON.stringify(p.saved[key])) changes[key] = clone(p.draft[key]);
      }
      if ("family_name" in changes && !changes.family_name) changes.family_name = null;
      if ("given_name" in changes && !changes.given_name) changes.given_name = null;
      return changes;
    }
    function pushFields(p, only) {
      const changes = changedFields(p);
      const fields = {};
      for (const key of Object.keys(changes)) {
        if (!only || only.indexOf(key) >= 0) fields[key] = changes[key];
      }
      if (!Object.keys(fields).length) return false;
      const item = { encounter: p.id, fields: fields };
      if (!p.opened) item.assignment_id = p.assignment_id;
      outbox.push("encounter", item);
      for (const key of Object.keys(fields)) p.saved[key] = clone(p.draft[key]);
      if (!Object.keys(changedFields(p)).length) p.draftTouched = false;
      p.problem = null;
      return true;
    }
    function unsaved(p) {
      const changes = changedFields(p);
      delete changes.findings; // BE-FAST goes with the next vitals set
      return Object.keys(changes).length > 0;
    }

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
      $("p-lkw").value = hhmm(d.last_known_well);
      $("p-onset").value = hhmm(d.time_of_onset);
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

    // ---- rendering -------------------------------------------------------------------------------
    function latestServerSet(p) {
      for (let i = p.vitals.length - 1; i >= 0; i -= 1) {
        const v = p.vitals[i];
        if (v.status === "acked" && v.news2_total !== undefined) return v;
      }
      return null;
    }
    function latestSet(p) {
      for (let i = p.vitals.length - 1; i >= 0; i -= 1) if (p.vitals[i].status !== "rejected") return p.vitals[i];
      return null;
    }
    // The scores shown are the newest set the server scored; a newer set (still sending, or
    // partial and not scored) makes them older than the signs on screen: say so, with the time.
    // Returns that newer set, or null when the scores are the newest there are.
    function newerThanScores(p, scored) {
      if (!scored) return null;
      const since = new Date(scored.taken_at).getTime();
      let newer = null;
      for (const v of p.vitals) {
        if (v === scored || v.status === "rejected") continue;
        const at = new Date(v.taken_at).getTime();
        if (at > since && (!newer || at > new Date(newer.taken_at).getTime())) newer = v;
      }
      return newer;
    }
    function scoresAreOlder(p, scored) { return newerThanScores(p, scored) !== null; }
    function patientLabel(p, index) {
      const parts = [];
      const d = p.draft;
      if (d.estimated_age_years !== null && d.estimated_age_years !== undefined && d.estimated_age_years !== "") parts.push(d.estimated_age_years + " y");
      else if (d.age_text) parts.push(d.age_text);
      if (d.sex && d.sex !== "unknown") parts.push(d.sex === "male" ? "M" : d.sex === "female" ? "F" : "X");
      return { title: "Patient " + (index + 1) + (parts.length ? " · " + parts.join(" ") : ""), sub: p.srv && p.srv.temp_identifier ? p.srv.temp_identifier : "not on the server yet" };
    }

    function renderTabs(list, p) {
      el.tabs.replaceChildren();
      list.forEach(function (q, index) {
        const label = patientLabel(q, index);
        const b = make("button", "patient-tab");
        b.type = "button";
        b.setAttribute("role", "tab");
        b.dataset.patient = q.id;
        b.setAttribute("aria-selected", q === p ? "true" : "false");
        const latest = latestServerSet(q);
        const title = make("span", "pt-title", label.title);
        const sub = make("span", "pt-sub", label.sub);
        b.append(title, sub);
        const badges = make("span", "pt-badges");
        if (latest && latest.news2_total !== null) {
          const older = scoresAreOlder(q, latest);
          badges.append(make("span", "pt-news risk-" + (latest.news2_risk || "none") + (older ? " older" : ""),
            "NEWS2 " + latest.news2_total + (older ? " · " + clock(latest.taken_at) : "")));
        }
        if (q.srv && q.srv.acknowledged_at) badges.append(make("span", "pt-ack", "ED ✓"));
        if (badges.childNodes.length) b.append(badges);
        b.addEventListener("click", function () {
          db.current = q.id;
          loadForms(q);
          persistSoon();
          render();
        });
        el.tabs.append(b);
      });
    }

    function renderPanes() {
      const pane = db.pane || "vitals";
      for (const t of root.querySelectorAll(".rtab")) t.setAttribute("aria-selected", t.dataset.pane === pane ? "true" : "false");
      for (const node of root.querySelectorAll(".pane")) node.hidden = node.dataset.pane !== pane;
    }

    function cell(text, className) { return make("td", className || "", text); }
    function trendArrow(delta) {
      if (delta === undefined || delta === null || delta === 0) return "";
      return delta > 0 ? " ↑" : " ↓";
    }
    function renderHistory(p) {
      el.history.replaceChildren();
      if (!p.vitals.length) return;
      const table = make("table", "history-table");
      const head = make("tr");
      for (const h of ["Time", "HR", "BP", "RR", "SpO₂", "Temp", "GCS", "NEWS2", ""]) head.append(make("th", "", h));
      const thead = make("thead");
      thead.append(head);
      table.append(thead);
      const body = make("tbody");
      p.vitals.slice().reverse().forEach(function (v) {
        const values = v.values || {};
        const trend = v.trend || {};
        const row = make("tr", "set-" + v.status);
        row.append(cell(clock(v.taken_at)));
        row.append(cell(values.heart_rate !== undefined ? fmt(values.heart_rate) + trendArrow(trend.heart_rate) : "—"));
        const bp = values.systolic_bp !== undefined ? fmt(values.systolic_bp) + "/" + (values.diastolic_bp !== undefined ? fmt(values.diastolic_bp) : "–") + trendArrow(trend.systolic_bp) : "—";
        row.append(cell(bp));
        row.append(cell(values.respiratory_rate !== undefined ? fmt(values.respiratory_rate) + trendArrow(trend.respiratory_rate) : "—"));
        row.append(cell(values.spo2 !== undefined ? fmt(values.spo2) + (values.on_oxygen ? " O₂" : "") : "—"));
        row.append(cell(values.temperature !== undefined ? fmt(values.temperature) : "—"));
        const gcs = v.gcs_total !== undefined && v.gcs_total !== null ? v.gcs_total : values.gcs_total;
        row.append(cell(gcs !== undefined && gcs !== null ? String(gcs) : "—"));
        const news = v.news2_total !== undefined && v.news2_total !== null ? String(v.news2_total) : "…";
        row.append(cell(news, v.news2_risk ? "risk-text risk-" + v.news2_risk : ""));
        let state = "✓ saved";
        if (v.status === "pending") state = "sending…";
        if (v.status === "rejected") state = "REFUSED: " + (v.rejection ? v.rejection.message : "");
        row.append(cell(state, "set-state"));
        body.append(row);
      });
      table.append(body);
      el.history.append(table);
    }

    function scoreTile(label, value, note, className) {
      const box = make("div", "score " + (className || ""));
      box.append(make("span", "score-label", label), make("span", "score-value", value));
      if (note) box.append(make("span", "score-note", note));
      return box;
    }
    function renderScores(p) {
      el.scores.replaceChildren();
      const latest = latestSet(p);
      const scored = latestServerSet(p);
      if (!latest) {
        el.scores.append(make("p", "scores-empty", "No vitals yet. Scores appear when the server has the first set."));
        return;
      }
      if (latest.status === "pending") {
        el.scores.append(make("p", "scores-pending", "Latest set sending… scores follow when the server has it."));
      }
      if (!scored) return;
      const newer = newerThanScores(p, scored);
      const older = newer !== null;
      if (newer) {
        const note = make("p", "scores-older", "Scores from vitals at " + clock(scored.taken_at) +
          " — older than the latest set (" + clock(newer.taken_at) + ")" +
          (newer.status === "pending" ? ", which is still sending" : ", which the server did not score") + ".");
        note.id = "scores-older";
        el.scores.append(note);
      }
      const risk = scored.news2_risk || "none";
      const news = make("div", "news2 risk-" + risk + (older ? " older" : ""));
      news.id = "news2";
      news.append(make("span", "news2-label", "NEWS2"), make("span", "news2-total", String(scored.news2_total)));
      const riskText = make("span", "news2-risk", (RISK_LABEL[risk] || "") + (RISK_RESPONSE[risk] ? " · " + RISK_RESPONSE[risk] : ""));
      news.append(riskText);
      const change = scored.news2_change || {};
      let changeText = "";
      if (change.direction === "first") changeText = "first set";
      else if (change.direction) {
        changeText = (change.direction === "up" ? "↑ +" : change.direction === "down" ? "↓ " : "= ") +
          (change.direction === "same" ? "unchanged" : change.delta) + " since previous (was " + change.previous_total + ")";
        if (change.comparable === false) changeText += " · different parameters";
        if (change.risk_escalated) changeText += " · RISK UP";
      }
      if (changeText) news.append(make("span", "news2-change", changeText));
      const missing = (scored.news2_missing || []).map(function (k) { return MISSING_LABEL[k] || SHORT[k] || k; });
      if (missing.length) {
        const inc = make("span", "news2-incomplete", "incomplete: missing " + missing.join(", "));
        inc.id = "news2-incomplete";
        news.append(inc);
      }
      el.scores.append(news);
      const grid = make("div", "score-grid");
      const gcs = scored.gcs_total;
      grid.append(scoreTile("GCS", gcs !== null && gcs !== undefined ? String(gcs) : "—", gcs !== null && gcs <= 8 ? "airway at risk" : "", gcs !== null && gcs <= 8 ? "bad" : ""));
      const si = scored.shock_index;
      grid.append(scoreTile("Shock index", si !== null && si !== undefined ? si.toFixed(2) : "—", si >= 1 ? "≥ 1.0" : "", si >= 1 ? "bad" : ""));
      const q = scored.qsofa_score;
      grid.append(scoreTile("qSOFA", q !== null && q !== undefined ? q + "/3" : "—", q >= 2 ? "sepsis risk" : "", q >= 2 ? "bad" : ""));
      el.scores.append(grid);
      const flags = (scored.flags || []).filter(function (f) { return f.field !== "shock_index" && f.field !== "qsofa"; });
      if (flags.length) {
        const list = make("ul", "flags");
        flags.forEach(function (f) { list.append(make("li", "", "⚑ " + (SHORT[f.field] || f.field) + " " + fmt(f.value) + ": extreme")); });
        el.scores.append(list);
      }
      const activations = (p.srv && p.srv.activations) || [];
      if (activations.length) {
        const list = make("ul", "activations");
        activations.forEach(function (act) {
          list.append(make("li", act.acknowledged_at ? "acked" : "", (act.kind_label || act.kind) + " team proposed" + (act.acknowledged_at ? " · ED confirmed" : act.sent_at ? " · sent to ED" : "")));
        });
        el.scores.append(list);
      }
    }

    function vitalsLine(v) {
      const x = v.values || {};
      const parts = [];
      if (x.heart_rate !== undefined) parts.push("HR " + fmt(x.heart_rate));
      if (x.systolic_bp !== undefined) parts.push("BP " + fmt(x.systolic_bp) + (x.diastolic_bp !== undefined ? "/" + fmt(x.diastolic_bp) : ""));
      if (x.respiratory_rate !== undefined) parts.push("RR " + fmt(x.respiratory_rate));
      if (x.spo2 !== undefined) parts.push("SpO₂ " + fmt(x.spo2) + "% " + (x.on_oxygen ? "on O₂" : "on air"));
      if (x.temperature !== undefined) parts.push("T " + fmt(x.temperature) + " °C");
      const gcs = v.gcs_total !== undefined && v.gcs_total !== null ? v.gcs_total : null;
      if (gcs !== null) parts.push("GCS " + gcs);
      else if (x.avpu) parts.push("AVPU " + x.avpu);
      if (x.blood_glucose !== undefined) parts.push("BG " + fmt(x.blood_glucose) + " " + (x.blood_glucose_unit || ""));
      if (x.etco2 !== undefined) parts.push("EtCO₂ " + fmt(x.etco2));
      if (x.pain_score !== undefined) parts.push("pain " + fmt(x.pain_score) + "/10");
      if (x.cardiac_rhythm) parts.push(x.cardiac_rhythm);
      if (v.ecg_stemi || x.ecg_stemi) parts.push("STEMI on 12-lead");
      if (x.stroke_scale_type) parts.push(x.stroke_scale_type + " " + fmt(x.stroke_scale_score));
      return parts.join(" · ");
    }
    function trendLine(v) {
      const t = v.trend || {};
      const parts = [];
      for (const key of Object.keys(t)) {
        if (!t[key]) continue;
        parts.push((SHORT[key] || key) + " " + (t[key] > 0 ? "↑" : "↓") + fmt(Math.abs(t[key])));
      }
      return parts.join(", ");
    }
    function atmistRow(letter, label, text, className) {
      const dt = make("dt", "", letter);
      dt.title = label;
      const dd = make("dd", className || "");
      dd.append(make("span", "atm-label", label + " "), document.createTextNode(text || "—"));
      el.atmist.append(dt, dd);
    }
    function renderAtmist(p) {
      el.atmist.replaceChildren();
      const d = p.draft;
      const sex = { male: "male", female: "female", other: "other sex", unknown: "" }[d.sex] || "";
      let age = d.estimated_age_years !== null && d.estimated_age_years !== undefined && d.estimated_age_years !== "" ? "about " + d.estimated_age_years + " years" : d.age_text || "age unknown";
      if (d.age_text && d.estimated_age_years !== null && d.estimated_age_years !== undefined) age = d.age_text;
      atmistRow("A", "Age", [age, sex].filter(Boolean).join(", "));
      const times = [];
      if (d.time_of_onset) times.push("onset " + clock(d.time_of_onset));
      if (d.last_known_well) times.push("last known well " + clock(d.last_known_well));
      atmistRow("T", "Time", times.join(" · ") || "onset unknown");
      atmistRow("M", "Mechanism / complaint", [d.chief_complaint, d.mechanism].filter(Boolean).join(" — "));
      const befast = (d.findings && d.findings.befast) || {};
      const positives = BEFAST.filter(function (k) { return befast[k] === true; });
      const illness = [d.working_impression, d.injuries].filter(Boolean);
      if (positives.length) illness.push("BE-FAST positive: " + positives.join(", "));
      atmistRow("I", "Injuries / illness", illness.join(" — "));
      const latest = latestSet(p);
      let signs = latest ? vitalsLine(latest) : "no vitals yet";
      const scored = latestServerSet(p);
      if (scored && scored.news2_total !== null) {
        signs += " · NEWS2 " + scored.news2_total + (scored.news2_risk ? " " + scored.news2_risk : "");
        if (scoresAreOlder(p, scored)) signs += " from vitals at " + clock(scored.taken_at) + " (older than these signs)";
      }
      if (latest) {
        const trend = trendLine(latest);
        if (trend) signs += " · trend: " + trend;
        else if (p.vitals.length > 1) signs += " · stable";
      }
      atmistRow("S", "Signs", signs);
      const treatment = treatmentOf(p).filter(function (t) { return t.status !== "rejected"; })
        .map(function (t) { return (clock(t.at) ? clock(t.at) + " " : "") + t.text; });
      atmistRow("T", "Treatment", treatment.join(", ") || "none recorded");
      const anticoag = (d.medications || []).filter(function (m) { return m.anticoagulant; }).map(function (m) { return m.name; });
      const meds = (d.medications || []).map(function (m) { return m.name; });
      const extra = make("div", "atmist-extra");
      const allergies = (d.allergies || []).join(", ") || "not recorded";
      extra.append(make("p", "", "Allergies: " + allergies));
      if (anticoag.length) extra.append(make("p", "anticoag", "ANTICOAGULATED: " + anticoag.join(", ")));
      if (meds.length) extra.append(make("p", "", "Medications: " + meds.join(", ")));
      if ((d.history || []).length) extra.append(make("p", "", "History: " + d.history.join(", ")));
      el.atmist.append(extra);
    }

    // ---- treatment: interventions and medications given ----------------------------------------
    function medicationText(m) {
      const dose = m.dose !== null && m.dose !== undefined ? (" " + String(m.dose) + " " + (m.dose_unit || "")).replace(/\s+$/, "") : "";
      return m.name + dose + (m.route ? " " + m.route : "");
    }
    function sameInstant(a, b) {
      const x = new Date(a).getTime();
      return !isNaN(x) && x === new Date(b).getTime();
    }
    // The server's list (every tablet's entries) plus ours it does not show yet.
    function treatmentOf(p) {
      const list = ((p.srv && p.srv.treatment) || []).map(function (t) {
        return { kind: t.kind, at: t.at, text: t.text, status: "saved" };
      });
      for (const local of p.treatment || []) {
        const known = list.some(function (t) { return t.kind === local.kind && t.text === local.text && sameInstant(t.at, local.at); });
        if (!known) list.push({ kind: local.kind, at: local.at, text: local.text, status: local.status, rejection: local.rejection });
      }
      list.sort(function (x, y) { return new Date(x.at).getTime() - new Date(y.at).getTime(); });
      return list;
    }
    function treatmentTime() {
      return fromHhmm(el.txTime.value) || new Date().toISOString();
    }
    function addTreatment(p, kind, data, text) {
      const id = uuid();
      const at = kind === "intervention" ? data.performed_at : data.given_at;
      const payload = Object.assign({ encounter: p.id }, data);
      payload[kind + "_id"] = id;
      outbox.push(kind, payload);
      if (!p.treatment) p.treatment = [];
      p.treatment.push({ kind: kind, client_id: id, at: at, text: text, status: "pending" });
      el.txTime.value = "";
      el.txProblem.textContent = "";
      persist();
      render();
    }
    function recordIntervention(text, code) {
      const p = current();
      const clean = (text || "").trim().slice(0, 200);
      if (!p || !clean) return false;
      const data = { performed_at: treatmentTime(), text: clean };
      if (code) data.snomed_code = code;
      addTreatment(p, "intervention", data, clean);
      return true;
    }
    function recordMedication() {
      const p = current();
      if (!p) return;
      const name = el.mgName.value.trim().slice(0, 120);
      const rawDose = el.mgDose.value.trim().replace(",", ".");
      const unit = el.mgUnit.value;
      const route = el.mgRoute.value;
      if (!name) { el.txProblem.textContent = "Name the medication."; el.mgName.focus(); return; }
      if (rawDose && !/^\d+(\.\d+)?$/.test(rawDose)) { el.txProblem.textContent = "Dose must be a number."; el.mgDose.focus(); return; }
      if (rawDose && !unit) { el.txProblem.textContent = "Choose the dose unit."; el.mgUnit.focus(); return; }
      const data = { given_at: treatmentTime(), name: name };
      if (rawDose) { data.dose = Number(rawDose); data.dose_unit = unit; }
      if (route) data.route = route;
      addTreatment(p, "medication", data, medicationText(data));
      el.mgName.value = "";
      el.mgDose.value = "";
      el.mgUnit.value = "";
      el.mgRoute.value = "";
    }
    function renderTreatment(p) {
      el.txList.replaceChildren();
      const list = treatmentOf(p);
      if (!list.length) {
        el.txList.append(make("li", "tx-empty", "Nothing recorded yet."));
        return;
      }
      list.slice().reverse().forEach(function (t) {
        const li = make("li", "tx-item tx-" + t.kind + " tx-" + t.status);
        li.append(make("span", "tx-at", clock(t.at)), make("span", "tx-kind", t.kind === "medication" ? "Med" : "Proc"), make("span", "tx-text", t.text));
        let state = "✓ saved";
        if (t.status === "pending") state = "sending…";
        if (t.status === "rejected") state = "REFUSED: " + (t.rejection ? t.rejection.message + (t.rejection.field ? " (" + t.rejection.field + ")" : "") : "");
        li.append(make("span", "tx-state", state));
        el.txList.append(li);
      });
    }

    function renderAck(p) {
      const srv = p.srv || {};
      const dest = p.dest;
      const name = dest ? tablet.hospitalName(dest.hospital_id) || "Hospital #" + dest.hospital_id : "";
      let text = "No destination yet";
      let state = "none";
      if (srv.acknowledged_at && srv.destination_id) {
        text = "ED acknowledged" + (srv.bay ? " · Bay " + srv.bay : "");
        state = "acked";
      } else if (dest && dest.status === "pending") {
        text = "Sending destination: " + name + "…";
        state = "pending";
      } else if (dest && dest.status === "rejected") {
        text = "Destination refused: " + (dest.message || "");
        state = "rejected";
      } else if (srv.destination_id || (dest && dest.status === "set")) {
        text = "Sent to " + name + " — waiting for ED acknowledgement";
        state = "waiting";
      }
      el.ack.textContent = text;
      el.ackBox.dataset.state = state;
      let detail = el.ackBox.querySelector(".ed-ack-detail");
      if (!detail) {
        detail = make("p", "ed-ack-detail");
        el.ackBox.append(detail);
      }
      const bits = [];
      if (name && state !== "none") bits.push(name);
      if (srv.eta_at && state !== "none") bits.push("ETA " + clock(srv.eta_at) + (srv.eta_approximate ? " (approx.)" : ""));
      if (state === "acked") bits.push("at " + clock(srv.acknowledged_at));
      detail.textContent = bits.join(" · ");
      detail.hidden = bits.length === 0;
    }

    function driveText(row) {
      if (row.drive_time_s === null || row.drive_time_s === undefined) return "drive time unknown";
      const min = Math.max(1, Math.round(row.drive_time_s / 60));
      return (row.approximate ? "≈ " : "") + min + " min" + (row.distance_m ? " · " + (row.distance_m / 1000).toFixed(1) + " km" : "") + (row.approximate ? " (approx.)" : "");
    }
    let destChoice = null;
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

    function renderThread(p) {
      el.thread.replaceChildren();
      if (!p.messages.length) {
        el.thread.append(make("li", "thread-empty", "No messages. The ED sees this thread on its board once you choose it as destination."));
      }
      p.messages.forEach(function (m) {
        const li = make("li", "msg msg-" + m.sender + " msg-" + (m.status || "sent"));
        li.append(make("span", "msg-who", (m.sender === "ed" ? "ED" : "Crew") + " · " + clock(m.sent_at) + (m.status === "pending" ? " · sending…" : m.status === "rejected" ? " · NOT SENT" : "")));
        li.append(make("span", "msg-text", m.text));
        el.thread.append(li);
      });
      if (db.pane === "ed") p.unread = 0;
      el.unread.hidden = !p.unread;
      el.unread.textContent = p.unread ? String(p.unread) : "";
    }
    function sendMessage(text) {
      const p = current();
      const clean = (text || "").trim();
      if (!p || !clean) return;
      const id = uuid();
      outbox.push("message", { encounter: p.id, message_id: id, text: clean });
      p.messages.push({ client_id: id, sender: "crew", text: clean, sent_at: new Date().toISOString(), status: "pending" });
      persist();
      render();
    }

    function renderMeds(p) {
      el.meds.replaceChildren();
      (p.draft.medications || []).forEach(function (m, index) {
        const li = make("li", "med" + (m.anticoagulant ? " med-anticoag" : ""));
        li.append(make("span", "med-name", m.name));
        if (m.anticoagulant) li.append(make("span", "tag tag-bad", "ANTICOAGULANT"));
        const remove = make("button", "btn btn-small med-remove", "Remove");
        remove.type = "button";
        remove.addEventListener("click", function () {
          p.draft.medications.splice(index, 1);
          p.draftTouched = true;
          persistSoon();
          render();
        });
        li.append(remove);
        el.meds.append(li);
      });
    }
    function renderPatientForm(p) {
      for (const b of el.patientForm.querySelectorAll("[data-sex]")) b.setAttribute("aria-pressed", b.dataset.sex === p.draft.sex ? "true" : "false");
      renderMeds(p);
      const problem = p.problem;
      if (problem) {
        el.patientState.textContent = "Not accepted: " + problem.message + (problem.field ? " (" + problem.field + ")" : "");
        el.patientState.className = "patient-state bad";
      } else {
        const waiting = outbox.pending().some(function (item) { return item.type === "encounter" && item.data.encounter === p.id; });
        el.patientState.textContent = unsaved(p) ? "Unsaved changes" : waiting ? "Saved on the tablet · sending…" : p.opened ? "Saved" : "";
        el.patientState.className = "patient-state" + (unsaved(p) ? " unsaved" : "");
      }
    }

    function render() {
      const a = activeAssignment();
      const status = tablet.status();
      root.hidden = !a;
      document.body.classList.toggle("record-first", Boolean(a) && RECORD_STATUSES.indexOf(status) >= 0);
      if (!a) return;
      const list = patientsOf(a);
      const p = current();
      el.empty.hidden = list.length > 0;
      el.body.hidden = !p;
      renderTabs(list, p);
      if (!p) return;
      renderPanes();
      renderVitalChecks(p);
      renderVitalsControls(p);
      renderHistory(p);
      renderScores(p);
      renderAtmist(p);
      renderTreatment(p);
      renderAck(p);
      renderPatientForm(p);
      renderThread(p);
      if (db.pane === "destination") renderDestinations(p);
    }

    // ---- wiring: vitals ---------------------------------------------------------------------------
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
        form.taken_at = hhmm(new Date().toISOString());
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
        $(id).value = hhmm(p.draft[field]);
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
    $("tx-now").addEventListener("click", function () { el.txTime.value = hhmm(new Date().toISOString()); });
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
          destChoice = null;
          el.destReason.value = "";
          loadDestinations(p);
        }
        render();
      });
    }
    $("dest-refresh").addEventListener("click", function () { loadDestinations(current()); });
    // Diversion changes go to the centres' and EDs' streams, not the units': while the crew
    // looks at the destination list it is re-ranked every 30 s, so it follows them.
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

    // ---- the tablet's outbox and unit stream ----------------------------------------------------------
    function onAck(item, answer) {
      const p = patient(item.data && item.data.encounter);
      if (!p) return;
      if (item.type === "encounter") {
        p.opened = true;
        p.srv = Object.assign({}, p.srv || {}, { encounter_id: p.id, temp_identifier: answer.temp_identifier });
        p.problem = null;
      } else if (item.type === "vitals") {
        const v = p.vitals.find(function (x) { return x.client_id === item.data.vitals_id; });
        if (v && v.status !== "acked") {
          Object.assign(v, { status: "acked", news2_total: answer.news2_total, news2_risk: answer.news2_risk, flags: answer.flags || [] });
        }
      } else if (item.type === "message") {
        const m = p.messages.find(function (x) { return x.client_id === item.data.message_id; });
        if (m) Object.assign(m, { status: "sent", id: m.id || answer.message_id });
      } else if (item.type === "intervention" || item.type === "medication") {
        const id = item.data[item.type + "_id"];
        const t = (p.treatment || []).find(function (x) { return x.client_id === id; });
        if (t) t.status = "acked";
      } else if (item.type === "destination") {
        p.dest = { hospital_id: item.data.hospital_id, reason: item.data.reason, status: "set" };
        p.destWarnings = Array.isArray(answer.warnings) ? answer.warnings : [];
        if (p.srv && p.srv.destination_id !== item.data.hospital_id) {
          p.srv.destination_id = item.data.hospital_id;
          p.srv.acknowledged_at = null;
          p.srv.bay = null;
        }
        if (p.opened) loadDestinations(p);
      }
      persistSoon();
    }
    function onReject(item) {
      const p = patient(item.data && item.data.encounter);
      if (!p) return;
      const r = item.rejection || {};
      if (item.type === "encounter") {
        p.problem = { field: r.field, message: r.message };
        // What the server refused is not what it has: mark those fields unsaved again.
        for (const key of Object.keys(item.data.fields || {})) p.saved[key] = null;
      } else if (item.type === "vitals") {
        const v = p.vitals.find(function (x) { return x.client_id === item.data.vitals_id; });
        if (v) Object.assign(v, { status: "rejected", rejection: r });
        el.vitalsProblem.textContent = "Server refused the vitals of " + clock(item.data.taken_at) + ": " + r.message + (r.field ? " (" + r.field + ")" : "");
        // Put the refused set back in an empty form so it can be corrected, not retyped.
        const form = p.vform;
        if (p.id === db.current && !Object.keys(form.values).some(function (k) { return form.values[k]; })) {
          const values = item.data.vitals || {};
          for (const key of NUMERIC) if (values[key] !== undefined) form.values[key] = String(values[key]);
          loadForms(p);
          el.vitalsProblem.textContent = "Server refused the vitals of " + clock(item.data.taken_at) + ": " + r.message + (r.field ? " (" + r.field + ")" : "") + " — values are back in the form.";
        }
        const tile = inputs[r.field] && inputs[r.field].closest(".vital");
        if (tile) tile.classList.add("bad");
      } else if (item.type === "destination") {
        p.dest = { hospital_id: item.data.hospital_id, reason: item.data.reason, status: "rejected", message: r.message };
      } else if (item.type === "message") {
        const m = p.messages.find(function (x) { return x.client_id === item.data.message_id; });
        if (m) m.status = "rejected";
      } else if (item.type === "intervention" || item.type === "medication") {
        const id = item.data[item.type + "_id"];
        const t = (p.treatment || []).find(function (x) { return x.client_id === id; });
        if (t) Object.assign(t, { status: "rejected", rejection: r });
        el.txProblem.textContent = "Server refused " + (t ? t.text : item.type) + ": " + r.message + (r.field ? " (" + r.field + ")" : "");
        // A dose outside the plausible range is kept only when the crew confirms it.
        if (item.type === "medication" && r.code === "dose_unconfirmed") {
          const confirm = make("button", "btn btn-small tx-confirm-dose", "Confirm this dose and record");
          confirm.type = "button";
          confirm.addEventListener("click", function () {
            const data = Object.assign({}, item.data, { dose_confirmed: true, medication_id: uuid() });
            delete data.encounter;
            outbox.dismiss(item.id);
            addTreatment(p, "medication", data, (t ? t.text : medicationText(data)) + " (dose confirmed)");
          });
          el.txProblem.append(" ", confirm);
        }
      }
      persistSoon();
    }
    function onEvent(event) {
      const data = event.data || {};
      if (event.type === "handoff.encounter.updated") {
        absorb(data, false);
      } else if (event.type === "handoff.ed.acknowledged") {
        const p = patient(data.encounter_id);
        if (p) p.srv = Object.assign({}, p.srv || {}, { acknowledged_at: data.acknowledged_at, destination_id: data.hospital_id || (p.srv && p.srv.destination_id) });
      } else if (event.type === "handoff.message.created") {
        const p = patient(data.encounter_id);
        if (p && upsertMessage(p, data) && data.sender !== "crew" && !(db.pane === "ed" && db.current === p.id)) p.unread = (p.unread || 0) + 1;
      }
      persistSoon();
    }

    // ---- the handover: arrival with "At destination", the crew's transfer-of-care confirmation
    // Both go through the outbox ("arrival", "transfer" items), so they survive a lost link.
    // A patient at the ED whose handover the crew has not confirmed stays on the tablet after
    // "Clear" for as long as the server still accepts the confirmation.
    // The server's CREW_HANDOVER_MINUTES_AFTER_CLEAR (60 by default); past it the server
    // refuses and the refusal is shown.
    const HANDOVER_AFTER_CLEAR_MS = (cfg.handover_minutes_after_clear || 60) * 60000;
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
      if (srv.transfer_of_care_at) return "Handed over " + hhmm(srv.transfer_of_care_at);
      const crew = srv.crew_confirmed_at ? "crew ✓ " + hhmm(srv.crew_confirmed_at)
        : p.handoverSent === "pending" ? "crew confirmation sending…" : "crew not yet";
      const ed = srv.ed_confirmed_at ? "ED ✓ " + hhmm(srv.ed_confirmed_at) : "ED not yet";
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
      waiting.forEach(function (x) {
        handoverControl(x, pendingEl, "Patient " + ((x.srv && x.srv.temp_identifier) || "") + " at the ED");
      });
    }

    tablet.listen({
      ack: onAck,
      reject: onReject,
      event: onEvent,
      online: refresh,
      render: function () {
        prune();
        render();
      },
    });
    // After the record's own render, so the handover controls sit on what it drew.
    tablet.listen({
      arrived: function (assignment) { markArrived(assignment); },
      ack: function (item, answer) {
        if (item.type === "status" && item.data.status === "cleared") {
          patientsOf({ id: item.data.assignment_id }).forEach(function (x) { x.clearedAt = Date.now(); });
          persistSoon();
          return;
        }
        const p = patient(item.data && item.data.encounter);
        if (!p) return;
        if (item.type === "arrival") {
          p.srv = Object.assign({}, p.srv || {}, { arrived_at: answer.arrived_at });
        } else if (item.type === "transfer") {
          p.handoverSent = "acked";
          p.srv = Object.assign({}, p.srv || {}, {
            crew_confirmed_at: answer.crew_confirmed_at,
            transfer_of_care_at: answer.transfer_of_care_at,
          });
        }
        persistSoon();
      },
      reject: function (item) {
        const p = patient(item.data && item.data.encounter);
        if (!p || (item.type !== "transfer" && item.type !== "arrival")) return;
        const r = item.rejection || {};
        if (item.type === "transfer") p.handoverSent = null;
        if (item.type === "arrival") p.arrivalSent = false;
        p.handoverProblem = (item.type === "transfer" ? "Handover refused: " : "Arrival refused: ") + (r.message || "");
        persistSoon();
      },
      render: renderHandover,
    });
    if (current()) loadForms(current());
  }

  window.GoldenHour.record = { start: start };
})();
