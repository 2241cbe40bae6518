// The record's data: the stored record (localStorage) and its drafts, patients and what the
// server said of them (absorb), REST reads, adding a patient and pushing its fields.
import { uuid } from "../../js/dom.js";
import { KEY, activeAssignment, cfg, clone, db, outbox } from "./context.js";
import { loadForms } from "./vitals_form.js";
import { render } from "./render.js";
import { awaitingHandover } from "./handover.js";

// ---- persistent state ----------------------------------------------------------------------
function load() {
  try {
    const raw = window.localStorage.getItem(KEY);
    const parsed = raw ? JSON.parse(raw) : null;
    if (parsed && parsed.patients && Array.isArray(parsed.order)) return parsed;
  } catch (ignored) { /* unreadable: start empty, the server still has what it acked */ }
  return { patients: {}, order: [], current: null, pane: "vitals" };
}
let saveTimer = null;
function persist() {
  clearTimeout(saveTimer);
  saveTimer = null;
  try { window.localStorage.setItem(KEY, JSON.stringify(db)); } catch (ignored) { /* full */ }
}
function persistSoon() {
  if (saveTimer === null) saveTimer = setTimeout(persist, 400);
}

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


// Patients of finished calls leave the tablet once nothing of theirs waits to be sent.
// Keep the record on a page hide, and take in what the server sent with the page.
function startStore() {
  window.addEventListener("pagehide", persist);
  (cfg.encounters || []).forEach(function (detail) { absorb(detail, true); });
}

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

export { absorb, addPatient, current, emptyVitalsForm, getJson, load, patient, patientsOf, persist, persistSoon, prune, pushFields, refresh, startStore, unsaved, upsertMessage };
