// The ED board's break-glass screen (issue 22): an ED clinician opens a patient whose record
// this board does not show, by the temporary id the crew or another ED reads out, giving a
// reason. POST /api/v1/break-glass/ checks the reason before it says anything about the id,
// logs the grant and mails the administrators; the record it answers is shown read-only until
// the grant's expiry, then removed from the page.
//
// Loaded beside the board's entry module (board.js), sharing only js/dom.js and js/api.js.
// Every value from the server is set with textContent, never parsed as HTML.

import { csrfToken } from "../js/api.js";
import { clock, el } from "../js/dom.js";

const ENDPOINT = "/api/v1/break-glass/";
const TICK_MS = 1000;

const SEX_LABEL = { male: "Male", female: "Female", other: "Other", unknown: "Sex unknown" };
const SENDER_LABEL = { crew: "Crew", ed: "ED" };

const root = document.getElementById("break-glass");

function two(n) {
  return (n < 10 ? "0" : "") + n;
}

function mmss(totalSeconds) {
  const s = Math.max(0, Math.floor(totalSeconds));
  return two(Math.floor(s / 60)) + ":" + two(s % 60);
}

// A "label: value" line; nothing when the value is empty (an unknown is said so explicitly).
function line(parent, label, value, className) {
  if (value === undefined || value === null || value === "") return;
  const p = el("p", "bg-line" + (className ? " " + className : ""));
  p.append(el("span", "k", label), document.createTextNode(" "), el("span", "v", value));
  parent.append(p);
}

function list(values) {
  return (values || []).map(String).join(", ");
}

// The server's clock decides the expiry: the answer's Date header gives the skew.
function skewFrom(response) {
  const date = Date.parse(response.headers.get("Date") || "");
  return Number.isNaN(date) ? 0 : date - Date.now();
}

// DRF and config/api.py answer {field: [message], code}; each message already names its field.
function fieldErrors(status, data) {
  const out = {};
  if (data && typeof data === "object") {
    if (typeof data.detail === "string") out.form = data.detail;
    Object.keys(data).forEach((field) => {
      if (field === "code" || field === "detail") return;
      const value = data[field];
      const text = Array.isArray(value) ? value.join(" ") : String(value);
      out[field] = text.toLowerCase().startsWith(field.toLowerCase()) ? text : field + ": " + text;
    });
  }
  if (!Object.keys(out).length || (status === 403 && !out.form)) {
    out.form = status === 403
      ? "Only ED clinicians of a hospital may use break-glass access."
      : "The server refused this (" + status + ").";
  }
  return out;
}

function start(section) {
  const toggle = section.querySelector("#break-glass-toggle");
  const panel = section.querySelector("#break-glass-panel");
  const form = section.querySelector("#break-glass-form");
  const idInput = section.querySelector("#break-glass-temp-id");
  const reasonInput = section.querySelector("#break-glass-reason");
  const submit = section.querySelector("#break-glass-submit");
  const cancel = section.querySelector("#break-glass-cancel");
  const ended = section.querySelector("#break-glass-ended");
  const record = section.querySelector("#break-glass-record");
  const reasonMin = Number(section.dataset.reasonMin) || 10;

  // Only one grant's record is on screen at a time.
  let current = null; // {expiresAt, skewMs, timer, countdown}

  function showErrors(errors) {
    let first = null;
    form.querySelectorAll("[data-error-for]").forEach((slot) => {
      const name = slot.dataset.errorFor;
      const text = errors[name] || "";
      slot.textContent = text;
      slot.hidden = !text;
      const input = form.elements.namedItem(name);
      if (input && input.setAttribute) input.setAttribute("aria-invalid", text ? "true" : "false");
      if (text && !first) first = input && input.focus ? input : null;
    });
    // A field the form has no slot for still gets said, with its name.
    const unknown = Object.keys(errors).filter((k) => !form.querySelector('[data-error-for="' + k + '"]'));
    if (unknown.length) {
      const slot = form.querySelector('[data-error-for="form"]');
      slot.textContent = unknown.map((k) => errors[k]).join("; ");
      slot.hidden = false;
    }
    if (first) first.focus();
  }

  function setOpen(open) {
    panel.hidden = !open;
    toggle.setAttribute("aria-expanded", open ? "true" : "false");
    if (open) idInput.focus();
  }

  function endRead(message) {
    if (current) {
      clearInterval(current.timer);
      current = null;
    }
    record.replaceChildren();
    record.hidden = true;
    delete section.dataset.grant;
    form.hidden = false;
    ended.textContent = message || "";
    ended.hidden = !message;
  }

  function tick() {
    if (!current) return;
    const left = (current.expiresAt - (Date.now() + current.skewMs)) / 1000;
    if (left <= 0) {
      endRead(
        "Break-glass access ended at " + clock(current.expiresAt) +
        ": the record is no longer shown. Break glass again, with a reason, if you still need it."
      );
      return;
    }
    current.countdown.textContent = mmss(left) + " left";
  }

  function renderRecord(body, skewMs) {
    const detail = body.encounter || {};
    const expiresAt = Date.parse(body.expires_at);
    record.replaceChildren();

    const banner = el("header", "bg-banner");
    const title = el("h3", "bg-title", "Break-glass read \u00b7 " + (detail.temp_identifier || ""));
    title.id = "break-glass-record-title";
    const expiry = el("p", "bg-expiry");
    expiry.append(
      el("span", "bg-logged", "Logged and reported to the administrators (grant #" + body.grant + "). Read-only."),
      document.createTextNode(" "),
      el("span", "bg-until", "Access until " + clock(expiresAt)),
      document.createTextNode(" \u00b7 ")
    );
    const countdown = el("span", "bg-countdown");
    countdown.setAttribute("aria-live", "off");
    expiry.append(countdown);
    const close = el("button", "bg-close", "Close record");
    close.type = "button";
    close.addEventListener("click", () => {
      endRead("Record closed. The grant stays logged; it ends at " + clock(expiresAt) + ".");
    });
    banner.append(title, expiry, close);
    record.append(banner);

    const patient = el("section", "bg-part");
    patient.append(el("h4", null, "Patient"));
    const family = detail.family_name || "";
    const given = detail.given_name || "";
    line(patient, "Name", family || given ? [family, given].filter(Boolean).join(", ") : "not known", "bg-name");
    const age = detail.age_years != null ? detail.age_years + " y" : detail.age_text || "age unknown";
    line(patient, "Age \u00b7 sex", age + " \u00b7 " + (SEX_LABEL[detail.sex] || detail.sex || ""));
    line(patient, "Born", detail.birth_date);
    line(patient, "Hospital record", detail.mrn);
    line(patient, "Unit", detail.unit ? detail.unit.call_sign : "");
    line(patient, "Record opened", clock(detail.created_at));
    line(patient, "Status", detail.status === "closed" ? "closed" : "open");
    record.append(patient);

    const clinical = el("section", "bg-part");
    clinical.append(el("h4", null, "ATMIST"));
    line(clinical, "Complaint", detail.chief_complaint || "not recorded", "bg-complaint");
    line(clinical, "Impression", detail.working_impression);
    line(clinical, "Onset", clock(detail.time_of_onset));
    line(clinical, "Last known well", clock(detail.last_known_well));
    line(clinical, "Mechanism", detail.mechanism, "bg-mechanism");
    line(clinical, "Injuries", detail.injuries, "bg-injuries");
    line(clinical, "Allergies", (detail.allergies || []).length ? list(detail.allergies) : "none recorded", "bg-allergies");
    const meds = (detail.medications || []).map((m) => m.name + (m.anticoagulant ? " (anticoagulant)" : ""));
    line(clinical, "Home medications", meds.join(", "), "bg-meds");
    line(clinical, "History", list(detail.history), "bg-history");
    const given_ = (detail.treatment || []).map((t) => clock(t.at) + " " + t.text);
    line(clinical, "Given", given_.join(", "), "bg-treatment");
    record.append(clinical);

    const vitals = el("section", "bg-part");
    vitals.append(el("h4", null, "Vitals"));
    const sets = detail.vitals || [];
    if (!sets.length) vitals.append(el("p", "bg-none", "No vitals recorded"));
    const ol = el("ol", "bg-vitals");
    sets.forEach((set) => {
      const li = el("li");
      const values = Object.keys(set.values || {}).map((k) => k.replace(/_/g, " ") + " " + set.values[k]);
      const news = set.news2_total == null ? "NEWS2 not scored" : "NEWS2 " + set.news2_total + (set.news2_risk ? " (" + set.news2_risk + ")" : "");
      li.append(el("span", "bg-at", clock(set.taken_at)), document.createTextNode(" "), el("span", "bg-news", news),
        document.createTextNode(" \u00b7 "), el("span", "bg-values", values.join(", ")));
      ol.append(li);
    });
    if (sets.length) vitals.append(ol);
    record.append(vitals);

    const thread = el("section", "bg-part");
    thread.append(el("h4", null, "Messages between crew and ED"));
    const messages = detail.messages || [];
    if (!messages.length) thread.append(el("p", "bg-none", "No messages"));
    const mol = el("ol", "bg-messages");
    messages.forEach((m) => {
      const li = el("li");
      li.append(el("span", "bg-at", clock(m.sent_at) + " " + (SENDER_LABEL[m.sender] || m.sender)), document.createTextNode(" "), el("span", "bg-text", m.text));
      mol.append(li);
    });
    if (messages.length) thread.append(mol);
    record.append(thread);

    if (current) clearInterval(current.timer);
    current = { expiresAt, skewMs, countdown, timer: setInterval(tick, TICK_MS) };
    section.dataset.grant = String(body.grant);
    section.dataset.expiresAt = body.expires_at;
    form.hidden = true;
    ended.hidden = true;
    record.hidden = false;
    tick();
    title.tabIndex = -1;
    title.focus();
  }

  async function open(event) {
    event.preventDefault();
    showErrors({});
    const reason = reasonInput.value;
    submit.disabled = true;
    let response;
    try {
      response = await fetch(ENDPOINT, {
        method: "POST",
        credentials: "same-origin",
        headers: {
          "Content-Type": "application/json",
          Accept: "application/json",
          "X-CSRFToken": csrfToken(),
        },
        body: JSON.stringify({ temp_identifier: idInput.value, reason: reason }),
      });
    } catch (err) {
      submit.disabled = false;
      showErrors({ form: "Could not reach the server; try again." });
      return;
    }
    submit.disabled = false;
    const text = await response.text();
    let data = null;
    try {
      data = text ? JSON.parse(text) : null;
    } catch (err) {
      data = null;
    }
    if (!response.ok) {
      showErrors(fieldErrors(response.status, data));
      return;
    }
    // The reason stays on the server (administrators only); not left lying in the page.
    reasonInput.value = "";
    idInput.value = "";
    renderRecord(data, skewFrom(response));
  }

  toggle.addEventListener("click", () => setOpen(panel.hidden));
  cancel.addEventListener("click", () => {
    showErrors({});
    setOpen(false);
  });
  form.addEventListener("submit", open);
  reasonInput.setAttribute("minlength", String(reasonMin));
  section.dataset.ready = "true";
}

if (root) start(root);
