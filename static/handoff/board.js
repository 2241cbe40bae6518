// The ED incoming-patients board: who is coming, when, how sick, and the ED's side of the
// handoff. Rows are the server's board rows (handoff/selectors.py `board_row`); ED actions go
// through the REST API and come back to every board of the hospital as events.
"use strict";
(function () {
  const GH = window.GoldenHour || {};

  // Sickest first, the same order as handoff.selectors.RISK_ORDER.
  const RISK_ORDER = { high: 0, medium: 1, "low-medium": 2, low: 3 };
  const RISK_LABEL = { high: "High", medium: "Medium", "low-medium": "Low-medium", low: "Low" };
  const SEX_LABEL = { male: "M", female: "F", other: "Other", unknown: "" };
  // Vitals shown on every card (the rest only when recorded). Units are NEMSIS display units;
  // glucose and EtCO2 carry their own unit with the value.
  const VITALS = [
    { key: "heart_rate", label: "HR", unit: "/min", always: true },
    { key: "systolic_bp", label: "BP", unit: "mmHg", always: true },
    { key: "respiratory_rate", label: "RR", unit: "/min", always: true },
    { key: "spo2", label: "SpO\u2082", unit: "%", always: true },
    { key: "temperature", label: "Temp", unit: "\u00b0C", always: true },
    { key: "gcs_total", label: "GCS", unit: "", always: true },
    { key: "blood_glucose", label: "Glucose", unit: "mg/dL", unitKey: "blood_glucose_unit" },
    { key: "etco2", label: "EtCO\u2082", unit: "mmHg", unitKey: "etco2_unit" },
  ];
  const NEWS2_PARAMETER = {
    respiratory_rate: "resp. rate", spo2: "SpO\u2082", on_oxygen: "air/O\u2082",
    systolic_bp: "systolic BP", heart_rate: "pulse", consciousness: "consciousness",
    temperature: "temperature",
  };
  // A handed-over patient stays on the board this long, showing the offload time.
  const HANDED_OVER_VISIBLE_MS = 15 * 60 * 1000;
  const RESYNC_EVERY_MS = 20000;

  // Crew status on the card, beside the ETA (the assignment's status).
  const CREW_STATUS = {
    dispatched: "Dispatched", en_route: "En route", on_scene: "On scene",
    transporting: "Transporting", at_destination: "At the door", cleared: "Cleared",
    cancelled: "Cancelled",
  };
  // The record (names, home medications, history) is read at most this often per card:
  // every read is audited, and the live ETA changes the row every few seconds.
  const DETAIL_EVERY_MS = 30000;
  const SILENCE_KEY = "gh.ed.alerts.silenced";

  const listEl = document.getElementById("incoming-list");
  const recentEl = document.getElementById("recent-list");
  const recentSection = document.getElementById("recent-section");
  const liveEl = document.getElementById("alert-live");
  const silenceBox = document.getElementById("alert-silence");
  const wallButton = document.getElementById("wall-toggle");
  const emptyEl = document.getElementById("empty-state");
  const countEl = document.getElementById("incoming-count");
  const clockEl = document.getElementById("clock");
  const statusForm = document.getElementById("ed-status-form");
  const csrfInput = statusForm.querySelector("input[name=csrfmiddlewaretoken]");

  const state = {
    seq: null,
    hospital: null,
    isCharge: false,
    skewMs: 0,
    // encounter_id -> {row, el, messages: Map(id -> message), messagesLoaded, detail}
    cards: new Map(),
    // Alerts fire only for what arrives after the first paint (not for the patients
    // already on the board when the screen opened).
    primed: false,
    seenActivations: new Set(),
    alerts: [],
  };

  // ---- helpers ---------------------------------------------------------------------------

  function escapeHtml(value) {
    return String(value == null ? "" : value)
      .replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
      .replace(/"/g, "&quot;").replace(/'/g, "&#39;");
  }

  function readJson(id) {
    const node = document.getElementById(id);
    if (!node) return null;
    try {
      return JSON.parse(node.textContent);
    } catch (err) {
      return null;
    }
  }

  function now() {
    return Date.now() + state.skewMs;
  }

  function parseTime(iso) {
    if (!iso) return null;
    const t = Date.parse(iso);
    return Number.isNaN(t) ? null : t;
  }

  function two(n) { return (n < 10 ? "0" : "") + n; }

  // 24-hour clock whatever the browser's locale.
  function clockText(iso) {
    const t = parseTime(iso);
    if (t == null) return "";
    const d = new Date(t);
    return two(d.getHours()) + ":" + two(d.getMinutes());
  }

  function mmss(totalSeconds) {
    const s = Math.max(0, Math.floor(totalSeconds));
    const m = Math.floor(s / 60);
    const r = s % 60;
    return (m < 10 ? "0" : "") + m + ":" + (r < 10 ? "0" : "") + r;
  }

  function fmtNumber(value) {
    if (typeof value !== "number") return String(value);
    return Number.isInteger(value) ? String(value) : String(Math.round(value * 10) / 10);
  }

  function clientId() {
    if (window.crypto && typeof window.crypto.randomUUID === "function") {
      return window.crypto.randomUUID();
    }
    const bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return Array.from(bytes, function (b) { return b.toString(16).padStart(2, "0"); }).join("");
  }

  // ---- REST ------------------------------------------------------------------------------

  function api(method, url, body) {
    return fetch(url, {
      method: method,
      credentials: "same-origin",
      headers: {
        "Content-Type": "application/json",
        Accept: "application/json",
        "X-CSRFToken": csrfInput ? csrfInput.value : "",
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    }).then(
      function (response) {
        return response.text().then(function (text) {
          let data = null;
          try {
            data = text ? JSON.parse(text) : null;
          } catch (err) {
            data = null;
          }
          if (!response.ok) {
            const error = new Error(errorText(response.status, data));
            error.status = response.status;
            throw error;
          }
          return data;
        });
      },
      function () {
        throw new Error("Could not reach the server; try again.");
      }
    );
  }

  // DRF and config/api.py answer {field: [message], code}; say which field and why.
  function errorText(status, data) {
    if (data && typeof data === "object") {
      if (typeof data.detail === "string") return data.detail;
      const parts = [];
      Object.keys(data).forEach(function (field) {
        if (field === "code") return;
        const value = data[field];
        const text = Array.isArray(value) ? value.join(" ") : String(value);
        const named = field === "non_field_errors" || text.toLowerCase().indexOf(field.toLowerCase()) === 0;
        parts.push(named ? text : field + ": " + text);
      });
      if (parts.length) return parts.join("; ");
    }
    if (status === 403) return "Not allowed for your account.";
    if (status === 404) return "This patient is no longer on this board.";
    return "The server refused this (" + status + ").";
  }

  function showError(slot, text) {
    if (!slot) return;
    slot.textContent = text || "";
    slot.hidden = !text;
  }

  function encounterUrl(id, action) {
    return "/api/v1/encounters/" + encodeURIComponent(id) + "/" + action + "/";
  }

  // ---- rendering -------------------------------------------------------------------------

  function sparkline(points, second) {
    const width = 96;
    const height = 28;
    const pad = 3;
    const all = points.concat(second || []);
    if (!all.length) return "";
    const times = all.map(function (p) { return parseTime(p[0]) || 0; });
    const values = all.map(function (p) { return Number(p[1]); });
    const t0 = Math.min.apply(null, times);
    const t1 = Math.max.apply(null, times);
    let v0 = Math.min.apply(null, values);
    let v1 = Math.max.apply(null, values);
    if (v1 - v0 < 1e-9) { v0 -= 1; v1 += 1; }
    function xy(p) {
      const t = parseTime(p[0]) || 0;
      const x = t1 > t0 ? pad + ((t - t0) / (t1 - t0)) * (width - 2 * pad) : width - pad;
      const y = pad + (1 - (Number(p[1]) - v0) / (v1 - v0)) * (height - 2 * pad);
      return [Math.round(x * 10) / 10, Math.round(y * 10) / 10];
    }
    function line(series, cls) {
      if (!series || !series.length) return "";
      const coords = series.map(xy);
      const last = coords[coords.length - 1];
      const path = coords.length > 1
        ? '<polyline class="' + cls + '" points="' + coords.map(function (c) { return c.join(","); }).join(" ") + '"/>'
        : "";
      return path + '<circle class="' + cls + '-dot" cx="' + last[0] + '" cy="' + last[1] + '" r="2.6"/>';
    }
    return '<svg class="sparkline" viewBox="0 0 ' + width + " " + height + '" width="' + width +
      '" height="' + height + '" aria-hidden="true" focusable="false">' +
      line(second, "spark-line2") + line(points, "spark-line") + "</svg>";
  }

  function news2Html(row) {
    const latest = row.latest_vitals;
    if (!latest || latest.news2_total == null) {
      return '<div class="news2-badge risk-none" title="No vitals recorded yet">' +
        '<span class="news2-label">NEWS2</span><span class="news2-score">\u2013</span>' +
        '<span class="news2-risk">no vitals</span></div>';
    }
    const risk = latest.news2_risk || "low";
    const missing = (latest.news2_missing || []).map(function (key) {
      return NEWS2_PARAMETER[key] || String(key).replace(/_/g, " ");
    });
    let title = "NEWS2 " + latest.news2_total + ", " + (RISK_LABEL[risk] || risk) + " risk";
    if (missing.length) title += ". Incomplete, not scored: " + missing.join(", ");
    const change = latest.news2_change || {};
    let changeHtml = "";
    if (typeof change.delta === "number" && change.delta !== 0) {
      changeHtml = '<span class="news2-change ' + (change.delta > 0 ? "up" : "down") + '">' +
        (change.delta > 0 ? "\u25b2 +" : "\u25bc ") + change.delta + "</span>";
    }
    return '<div class="news2-badge risk-' + escapeHtml(risk) + (missing.length ? " incomplete" : "") +
      '" data-risk="' + escapeHtml(risk) + '" title="' + escapeHtml(title) + '">' +
      '<span class="news2-label">NEWS2</span>' +
      '<span class="news2-score">' + escapeHtml(latest.news2_total) + "</span>" +
      '<span class="news2-risk">' + escapeHtml(RISK_LABEL[risk] || risk) + "</span>" +
      (missing.length
        ? '<span class="news2-incomplete" title="' + escapeHtml("Not scored: " + missing.join(", ")) +
          '">incomplete: ' + escapeHtml(missing.join(", ")) + "</span>"
        : "") +
      changeHtml + "</div>";
  }

  function vitalsHtml(row) {
    const latest = row.latest_vitals;
    const values = (latest && latest.values) || {};
    const flags = (latest && latest.flags) || [];
    const trend = row.trend || {};
    const flagFor = {};
    flags.forEach(function (f) { (flagFor[f.field] = flagFor[f.field] || []).push(f.message); });
    const tiles = [];
    // Each vital's own newest reading and its time (handoff.selectors.latest_values): a
    // heart rate taken alone must not blank the blood pressure taken a minute before.
    const newest = row.latest_values || {};
    const latestAt = latest ? parseTime(latest.taken_at) : null;
    VITALS.forEach(function (spec) {
      const reading = newest[spec.key] || null;
      let value = reading ? reading.value : values[spec.key];
      if (!reading && spec.key === "gcs_total" && latest && latest.gcs_total != null) value = latest.gcs_total;
      if (!spec.always && value == null && !trend[spec.key]) return;
      const readingUnit = reading && reading.unit ? reading.unit : values[spec.unitKey];
      const unit = spec.unitKey && readingUnit ? readingUnit : spec.unit;
      // The latest set's flags describe the latest set's values only.
      const current = !reading || parseTime(reading.at) === latestAt;
      let messages = current ? flagFor[spec.key] || [] : [];
      let valueHtml;
      let spark;
      if (spec.key === "systolic_bp") {
        const dia = reading ? reading.diastolic : values.diastolic_bp;
        if (current) messages = messages.concat(flagFor.diastolic_bp || []);
        valueHtml = '<span class="value" data-vital="systolic_bp">' + escapeHtml(value == null ? "\u2013" : fmtNumber(value)) +
          '</span><span class="slash">/</span><span class="value dia" data-vital="diastolic_bp">' +
          escapeHtml(dia == null ? "\u2013" : fmtNumber(dia)) + "</span>";
        spark = sparkline(trend.systolic_bp || [], trend.diastolic_bp || []);
      } else {
        valueHtml = '<span class="value" data-vital="' + spec.key + '">' +
          escapeHtml(value == null ? "\u2013" : fmtNumber(value)) + "</span>";
        spark = sparkline(trend[spec.key] || []);
      }
      const at = reading ? clockText(reading.at) : "";
      const timeHtml = at
        ? '<span class="vital-at' + (current ? "" : " older") + '" data-vital-at="' + spec.key + '">' +
          (current ? "" : "at ") + escapeHtml(at) + "</span>"
        : "";
      const extra = spec.key === "spo2" && values.on_oxygen && current ? '<span class="vital-note">on O\u2082</span>' : "";
      const extreme = messages.length > 0;
      tiles.push(
        '<li class="vital' + (extreme ? " extreme" : "") + (value == null ? " missing" : "") +
        '" data-key="' + spec.key + '"' + (extreme ? ' title="' + escapeHtml(messages.join("; ")) + '"' : "") + ">" +
        '<span class="vital-label">' + escapeHtml(spec.label) + (unit ? ' <span class="unit">' + escapeHtml(unit) + "</span>" : "") +
        (extreme ? ' <b class="extreme-mark" aria-label="extreme">!</b>' : "") + "</span>" +
        '<span class="vital-reading">' + valueHtml + "</span>" + timeHtml +
        extra + spark + "</li>"
      );
    });
    const chips = [];
    if (values.avpu) chips.push(["AVPU " + values.avpu, false]);
    if (values.cardiac_rhythm) chips.push([values.cardiac_rhythm, false]);
    if (latest && latest.ecg_stemi) chips.push(["STEMI on 12-lead", true]);
    if (latest && latest.shock_index != null) {
      chips.push(["Shock index " + fmtNumber(latest.shock_index), Boolean(flagFor.shock_index)]);
    }
    if (latest && latest.qsofa_score != null) {
      chips.push(["qSOFA " + latest.qsofa_score + (flagFor.qsofa ? ": sepsis risk" : ""), Boolean(flagFor.qsofa)]);
    }
    const taken = latest ? '<p class="vitals-time">Vitals ' + escapeHtml(clockText(latest.taken_at)) + "</p>" : '<p class="vitals-time">No vitals yet</p>';
    return taken + '<ul class="vitals">' + tiles.join("") + "</ul>" +
      (chips.length ? '<p class="vital-chips">' + chips.map(function (c) { return '<span class="chip' + (c[1] ? " flagged" : "") + '">' + escapeHtml(c[0]) + "</span>"; }).join("") + "</p>" : "");
  }

  function activationsHtml(row) {
    const items = (row.activations || []).slice().sort(function (a, b) {
      return (a.acknowledged_at ? 1 : 0) - (b.acknowledged_at ? 1 : 0) || a.id - b.id;
    });
    if (!items.length) return "";
    return '<ul class="activations">' + items.map(function (a) {
      const escalated = !a.acknowledged_at && a.escalated_at;
      const cls = a.acknowledged_at ? "acknowledged" : escalated ? "escalated" : "pending";
      let status;
      if (a.acknowledged_at) status = "Acknowledged " + clockText(a.acknowledged_at);
      else if (escalated) status = "Escalated to the charge nurse " + clockText(a.escalated_at);
      else status = "Proposed " + clockText(a.sent_at || a.proposed_at);
      return '<li class="activation ' + cls + '" data-activation-id="' + escapeHtml(a.id) + '" data-kind="' + escapeHtml(a.kind) + '">' +
        '<span class="activation-kind">' + escapeHtml(a.kind_label || a.kind) + "</span>" +
        '<span class="activation-reason">' + escapeHtml(a.reason) + (a.capability ? " \u00b7 " + escapeHtml(a.capability) : "") + "</span>" +
        '<span class="activation-status">' + escapeHtml(status) + "</span>" +
        (a.acknowledged_at ? "" : '<button type="button" class="ack-activation" data-activation-id="' + escapeHtml(a.id) + '">Acknowledge</button>') +
        '<span class="field-error" data-error-for="activation-' + escapeHtml(a.id) + '" hidden></span>' +
        "</li>";
    }).join("") + "</ul>";
  }

  // From the record (GET encounters/<id>/, audited): shown only to staff the server lets
  // read it; never carried by the board row or its events.
  function recordHtml(detail) {
    if (!detail) return "";
    const parts = [];
    const meds = (detail.medications || []).map(function (m) {
      return m.name + (m.anticoagulant ? " (anticoagulant)" : "");
    });
    if (meds.length) parts.push('<p class="home-meds"><span class="k">Home medications</span> ' + escapeHtml(meds.join(", ")) + "</p>");
    if ((detail.history || []).length) {
      parts.push('<p class="history"><span class="k">History</span> ' + escapeHtml(detail.history.join(", ")) + "</p>");
    }
    return parts.join("");
  }

  function nameText(detail) {
    if (!detail) return "";
    const family = detail.family_name || "";
    const given = detail.given_name || "";
    if (!family && !given) return "";
    return family && given ? family + ", " + given : family || given;
  }

  function identityHtml(row, detail) {
    const bits = [];
    if (row.age_years != null) bits.push(row.age_years + " y");
    else if (row.age_text) bits.push(row.age_text);
    const sex = SEX_LABEL[row.sex];
    if (sex) bits.push(sex);
    const name = nameText(detail);
    return '<span class="temp-id">' + escapeHtml(row.temp_identifier) + "</span>" +
      (name ? '<span class="patient-name">' + escapeHtml(name) + "</span>" : "") +
      '<span class="age-sex">' + escapeHtml(bits.join(" \u00b7 ") || "age unknown") + "</span>" +
      '<span class="unit-sign" title="Ambulance unit">' + escapeHtml(row.unit ? row.unit.call_sign : "") + "</span>" +
      (row.bay ? '<span class="bay-badge">Bay ' + escapeHtml(row.bay) + "</span>" : "");
  }

  function complaintHtml(row) {
    const parts = [];
    parts.push('<p class="complaint">' + escapeHtml(row.chief_complaint || "Complaint not recorded") + "</p>");
    if (row.working_impression) parts.push('<p class="impression">Impression: ' + escapeHtml(row.working_impression) + "</p>");
    const warn = [];
    if (row.anticoagulated) warn.push('<span class="warn-anticoag">ANTICOAGULANT</span>');
    if (row.allergies && row.allergies.length) {
      warn.push('<span class="warn-allergy">Allergies: ' + escapeHtml(row.allergies.join(", ")) + "</span>");
    } else {
      warn.push('<span class="allergy-none">Allergies: none recorded</span>');
    }
    parts.push('<p class="warnings">' + warn.join("") + "</p>");
    const times = [];
    if (row.last_known_well) times.push("Last known well " + clockText(row.last_known_well));
    else if (row.time_of_onset) times.push("Onset " + clockText(row.time_of_onset));
    if (row.treatment && row.treatment.length) {
      times.push("Given: " + row.treatment.map(function (t) { return t.text; }).join(", "));
    }
    if (times.length) parts.push('<p class="treatment">' + escapeHtml(times.join(" \u00b7 ")) + "</p>");
    return parts.join("");
  }

  function skeleton(id) {
    const li = document.createElement("li");
    li.className = "incoming";
    li.dataset.encounterId = id;
    li.innerHTML =
      '<div class="col-acuity"><div class="news2-slot"></div>' +
      '<div class="eta"><span class="crew-status"></span><span class="eta-label">ETA</span><span class="eta-countdown">--:--</span><span class="eta-clock"></span></div>' +
      '<div class="news2-trend"></div></div>' +
      '<div class="col-clinical"><div class="identity"></div><div class="record-slot"></div><div class="complaint-slot"></div>' +
      '<div class="vitals-slot"></div><div class="activations-slot"></div></div>' +
      '<div class="col-actions">' +
      '<div class="action-row"><button type="button" class="ack-patient">Acknowledge patient</button>' +
      '<span class="field-error" data-error-for="acknowledge" hidden></span></div>' +
      '<form class="action-row bay-form" autocomplete="off" novalidate><input class="bay-input" type="text" maxlength="32" aria-label="Bay" placeholder="Bay, e.g. Resus 2">' +
      '<button type="submit" class="assign-bay">Assign bay</button>' +
      '<span class="field-error" data-error-for="bay" hidden></span></form>' +
      '<div class="action-row"><button type="button" class="mark-arrived">Arrived</button>' +
      '<button type="button" class="confirm-handover">Confirm handover</button>' +
      '<span class="field-error" data-error-for="arrival" hidden></span></div>' +
      '<p class="handover-state"></p>' +
      '<form class="action-row ed-close-form" autocomplete="off" novalidate><input class="close-reason" type="text" maxlength="200" aria-label="Why close without a handover" placeholder="Reason (required)">' +
      '<button type="submit" class="ed-close">Close without handover</button>' +
      '<span class="field-error" data-error-for="reason" hidden></span></form>' +
      '<form class="action-row reconcile-form" autocomplete="off" novalidate hidden><input class="mrn-input" type="text" maxlength="32" aria-label="Hospital medical record number" placeholder="Hospital MRN">' +
      '<button type="submit" class="reconcile">Reconcile MRN</button>' +
      '<span class="field-error" data-error-for="mrn" hidden></span></form>' +
      '<section class="thread" aria-label="Messages with the crew"><h3>Crew messages</h3><ol class="messages"></ol>' +
      '<form class="message-form" autocomplete="off" novalidate><input class="message-input" type="text" maxlength="1000" aria-label="Message to the crew" placeholder="Message to the crew">' +
      '<button type="submit" class="send-message">Send</button></form>' +
      '<span class="field-error" data-error-for="text" hidden></span></section>' +
      "</div>";
    wireCard(li, id);
    return li;
  }

  function setHtml(el, html) {
    // Only touch the DOM when the part changed: no flicker on a wall screen, no lost hover.
    if (el.__html !== html) {
      el.innerHTML = html;
      el.__html = html;
    }
  }

  function renderCard(card) {
    const row = card.row;
    const el = card.el;
    const q = function (sel) { return el.querySelector(sel); };
    const closed = row.status === "closed";
    el.dataset.risk = row.acuity || "none";
    el.classList.toggle("handed-over", Boolean(row.transfer_of_care_at) || closed);
    el.classList.toggle("arrived", Boolean(row.arrived_at));
    el.classList.toggle("has-escalation", (row.activations || []).some(function (a) {
      return !a.acknowledged_at && a.escalated_at;
    }));
    setHtml(q(".news2-slot"), news2Html(row));
    const newsTrend = (row.trend || {}).news2_total || [];
    setHtml(q(".news2-trend"), newsTrend.length > 1
      ? '<span class="trend-label">NEWS2 trend</span>' + sparkline(newsTrend) : "");
    setHtml(q(".identity"), identityHtml(row, card.detail));
    setHtml(q(".record-slot"), recordHtml(card.detail));
    setHtml(q(".complaint-slot"), complaintHtml(row));
    setHtml(q(".vitals-slot"), vitalsHtml(row));
    setHtml(q(".activations-slot"), activationsHtml(row));

    const countdown = q(".eta-countdown");
    const crew = row.assignment_status;
    countdown.dataset.eta = row.eta_at || "";
    countdown.dataset.arrived = row.arrived_at ? "1" : "";
    // Never a countdown while the crew is still with the patient on scene.
    countdown.dataset.counts = row.eta_counts_down ? "1" : "";
    countdown.dataset.crew = crew || "";
    const crewEl = q(".crew-status");
    crewEl.textContent = row.arrived_at ? "" : CREW_STATUS[crew] || "";
    crewEl.dataset.status = crew || "";
    crewEl.hidden = !crewEl.textContent;
    const approx = row.eta_approximate ? "\u2248 " : "";
    let etaClock = "not known";
    if (row.arrived_at) etaClock = "at " + clockText(row.arrived_at);
    else if (crew === "at_destination") etaClock = "at the door";
    else if (!row.eta_counts_down && row.eta_drive_seconds != null) {
      etaClock = "ETA from leaving ~" + Math.max(1, Math.round(row.eta_drive_seconds / 60)) + " min";
    } else if (!row.eta_counts_down) etaClock = row.eta_at ? "not on the road yet" : "not known";
    else if (row.eta_at) etaClock = approx + clockText(row.eta_at);
    q(".eta-clock").textContent = etaClock;
    tickCard(el);

    const ack = q(".ack-patient");
    ack.disabled = Boolean(row.acknowledged_at) || closed;
    ack.textContent = row.acknowledged_at
      ? "Acknowledged " + clockText(row.acknowledged_at) : "Acknowledge patient";
    ack.classList.toggle("done", Boolean(row.acknowledged_at));
    q(".assign-bay").textContent = row.bay ? "Change bay" : "Assign bay";
    q(".bay-input").placeholder = row.bay ? "Bay " + row.bay : "Bay, e.g. Resus 2";
    q(".bay-form").hidden = closed;
    const arrived = q(".mark-arrived");
    arrived.disabled = Boolean(row.arrived_at) || closed;
    arrived.textContent = row.arrived_at ? "Arrived " + clockText(row.arrived_at) : "Arrived";
    arrived.classList.toggle("done", Boolean(row.arrived_at));
    const handover = q(".confirm-handover");
    handover.disabled = !row.arrived_at || Boolean(row.ed_confirmed_at) || closed;
    handover.title = row.arrived_at ? "" : "Record the arrival first";
    handover.textContent = row.ed_confirmed_at ? "ED confirmed" : "Confirm handover";
    handover.classList.toggle("done", Boolean(row.ed_confirmed_at));
    const parts = [];
    if (row.transfer_of_care_at) {
      parts.push("Handed over " + clockText(row.transfer_of_care_at) +
        (row.offload_seconds != null ? " \u00b7 offload " + mmss(row.offload_seconds) : ""));
    } else if (row.arrived_at) {
      parts.push("Crew " + (row.crew_confirmed_at ? "\u2713 " + clockText(row.crew_confirmed_at) : "not yet"));
      parts.push("ED " + (row.ed_confirmed_at ? "\u2713 " + clockText(row.ed_confirmed_at) : "not yet"));
    }
    q(".handover-state").textContent = parts.length ? "Handover: " + parts.join(" \u00b7 ") : "";
    q(".handover-state").hidden = !parts.length;
    const reconcile = q(".reconcile-form");
    reconcile.hidden = !row.arrived_at || row.reconciled;
    if (row.reconciled) {
      q(".handover-state").hidden = false;
      if (q(".handover-state").textContent.indexOf("MRN linked") < 0) {
        q(".handover-state").textContent += (parts.length ? " \u00b7 " : "") + "MRN linked";
      }
    }
    q(".message-form").hidden = closed;
    q(".ed-close-form").hidden = closed;
    if (closed && row.closed_reason && !row.transfer_of_care_at) {
      q(".handover-state").hidden = false;
      q(".handover-state").textContent = "Closed by the ED " + clockText(row.closed_at) + ": " + row.closed_reason;
    }
  }

  function renderMessages(card) {
    const items = Array.from(card.messages.values()).sort(function (a, b) {
      return (parseTime(a.sent_at) || 0) - (parseTime(b.sent_at) || 0) || a.id - b.id;
    });
    const ol = card.el.querySelector(".messages");
    setHtml(ol, items.length ? items.map(function (m) {
      return '<li class="message from-' + escapeHtml(m.sender) + '" data-message-id="' + escapeHtml(m.id) + '">' +
        '<span class="msg-meta">' + (m.sender === "ed" ? "ED" : "Crew") + " " + escapeHtml(clockText(m.sent_at)) + "</span> " +
        '<span class="msg-text">' + escapeHtml(m.text) + "</span></li>";
    }).join("") : '<li class="message-none">No messages yet</li>');
    ol.scrollTop = ol.scrollHeight;
  }

  function addMessage(message) {
    const card = state.cards.get(String(message.encounter_id));
    if (!card) return;
    card.messages.set(String(message.id), message);
    renderMessages(card);
  }

  function loadMessages(card) {
    card.messagesLoaded = true;
    api("GET", encounterUrl(card.row.encounter_id, "messages")).then(function (rows) {
      (rows || []).forEach(function (m) { card.messages.set(String(m.id), m); });
      renderMessages(card);
    }, function () {
      card.messagesLoaded = false;
    });
  }

  // ---- state -----------------------------------------------------------------------------

  function sortKey(row) {
    const closed = row.status === "closed" ? 1 : 0;
    const risk = RISK_ORDER[row.acuity] != null ? RISK_ORDER[row.acuity] : 4;
    const eta = parseTime(row.eta_at);
    return [closed, risk, eta == null ? 1 : 0, eta == null ? 0 : eta, row.temp_identifier || ""];
  }

  function compareRows(a, b) {
    const ka = sortKey(a);
    const kb = sortKey(b);
    for (let i = 0; i < ka.length; i += 1) {
      if (ka[i] < kb[i]) return -1;
      if (ka[i] > kb[i]) return 1;
    }
    return 0;
  }

  function place(container, cards) {
    const current = Array.from(container.children);
    const same = current.length === cards.length && cards.every(function (c, i) { return current[i] === c.el; });
    if (same) return;
    // Moving a node that holds focus blurs it: keep the nurse's typing position.
    const focused = document.activeElement;
    cards.forEach(function (c) { container.appendChild(c.el); });
    Array.from(container.children).forEach(function (node) {
      if (!node.dataset || !state.cards.has(node.dataset.encounterId) ||
          cards.every(function (c) { return c.el !== node; })) node.remove();
    });
    if (focused && focused !== document.activeElement && document.contains(focused)) focused.focus();
  }

  function reorder() {
    const cards = Array.from(state.cards.values()).sort(function (a, b) { return compareRows(a.row, b.row); });
    // Handed over (or closed by the ED): out of "on their way", into the recent section,
    // newest first.
    const open = cards.filter(function (c) { return c.row.status !== "closed"; });
    const done = cards.filter(function (c) { return c.row.status === "closed"; }).sort(function (a, b) {
      return (parseTime(b.row.closed_at) || 0) - (parseTime(a.row.closed_at) || 0);
    });
    place(listEl, open);
    place(recentEl, done);
    countEl.textContent = String(open.length);
    emptyEl.hidden = open.length > 0;
    listEl.hidden = open.length === 0;
    recentSection.hidden = done.length === 0;
  }

  function upsertRow(row, options) {
    if (!row || !row.encounter_id) return;
    if (state.hospital && row.destination_id != null && row.destination_id !== state.hospital.id) {
      removeRow(row.encounter_id);
      return;
    }
    const id = String(row.encounter_id);
    let card = state.cards.get(id);
    if (card && options && options.ifNewer) {
      // A REST answer may land after a newer event: keep the newer row.
      const had = parseTime(card.row.updated_at) || 0;
      const got = parseTime(row.updated_at) || 0;
      if (got < had) return;
    }
    const isNew = !card;
    if (!card) {
      card = { row: row, el: skeleton(id), messages: new Map(), messagesLoaded: false, detail: null, detailAt: 0 };
      state.cards.set(id, card);
      renderMessages(card);
    }
    const changed = card.row.updated_at !== row.updated_at;
    card.row = row;
    noteActivations(row, isNew);
    renderCard(card);
    if (!card.messagesLoaded) loadMessages(card);
    if (isNew || changed) loadDetail(card, isNew);
    if (isNew && state.primed && row.status !== "closed") {
      alertFor("incoming", "New incoming patient " + row.temp_identifier +
        (row.unit ? ", " + row.unit.call_sign : "") + (row.acuity ? ", " + (RISK_LABEL[row.acuity] || row.acuity) + " risk" : ""));
    }
  }

  // ---- the record: name, home medications, history (audited reads) ------------------------

  function loadDetail(card, force) {
    // A card that left the board is not read again (every read is audited).
    if (state.cards.get(String(card.row.encounter_id)) !== card) return;
    if (card.row.status === "closed" && card.detail) return;
    const wait = DETAIL_EVERY_MS - (Date.now() - card.detailAt);
    if (!force && wait > 0) {
      if (!card.detailTimer) {
        card.detailTimer = setTimeout(function () { card.detailTimer = null; loadDetail(card, true); }, wait);
      }
      return;
    }
    card.detailAt = Date.now();
    api("GET", "/api/v1/encounters/" + encodeURIComponent(card.row.encounter_id) + "/").then(function (detail) {
      if (!detail || state.cards.get(String(card.row.encounter_id)) !== card) return;
      card.detail = {
        family_name: detail.family_name, given_name: detail.given_name,
        medications: detail.medications || [], history: detail.history || [],
      };
      renderCard(card);
    }, function () { /* not allowed or gone: the row stays without the record */ });
  }

  // ---- alerts: a sound and an announcement for a new patient or activation -----------------

  let audio = null;
  function beep(kind) {
    const Ctx = window.AudioContext || window.webkitAudioContext;
    if (!Ctx) return false;
    try {
      audio = audio || new Ctx();
      if (audio.state === "suspended") audio.resume();
      // Two short tones; an activation is higher and repeated, so the two are told apart.
      const tones = kind === "activation" ? [988, 988, 988] : [660, 880];
      tones.forEach(function (hz, i) {
        const osc = audio.createOscillator();
        const gain = audio.createGain();
        const at = audio.currentTime + i * 0.22;
        osc.frequency.value = hz;
        gain.gain.setValueAtTime(0.0001, at);
        gain.gain.exponentialRampToValueAtTime(0.3, at + 0.02);
        gain.gain.exponentialRampToValueAtTime(0.0001, at + 0.18);
        osc.connect(gain).connect(audio.destination);
        osc.start(at);
        osc.stop(at + 0.2);
      });
      return true;
    } catch (err) {
      return false;
    }
  }

  function silenced() {
    try { return window.localStorage.getItem(SILENCE_KEY) === "1"; } catch (err) { return false; }
  }

  function alertFor(kind, text) {
    const sound = !silenced();
    if (sound) beep(kind);
    // Screen readers and the wall board hear it either way; silence stops the sound only.
    liveEl.textContent = text;
    const entry = { kind: kind, text: text, sound: sound, at: new Date().toISOString() };
    state.alerts.push(entry);
    if (state.alerts.length > 50) state.alerts.shift();
    document.dispatchEvent(new CustomEvent("gh:ed-alert", { detail: entry }));
  }

  function noteActivations(row, isNew) {
    (row.activations || []).forEach(function (a) {
      const key = String(a.id);
      if (state.seenActivations.has(key)) return;
      state.seenActivations.add(key);
      if (state.primed && !isNew && !a.acknowledged_at) {
        alertFor("activation", "Activation proposed: " + (a.kind_label || a.kind) + " for " + row.temp_identifier);
      }
    });
  }

  function removeRow(id) {
    const card = state.cards.get(String(id));
    if (!card) return;
    state.cards.delete(String(id));
    card.el.remove();
  }

  function patchActivation(activation) {
    const card = state.cards.get(String(activation.encounter_id));
    if (!card) return;
    const list = (card.row.activations || []).slice();
    const index = list.findIndex(function (a) { return a.id === activation.id; });
    const clean = Object.assign({}, activation);
    delete clean.resent;
    delete clean.charge;
    if (index >= 0) list[index] = Object.assign({}, list[index], clean);
    else list.push(clean);
    const key = String(activation.id);
    if (!state.seenActivations.has(key) && !activation.acknowledged_at && state.primed) {
      alertFor("activation", "Activation proposed: " + (activation.kind_label || activation.kind) +
        " for " + (activation.temp_identifier || card.row.temp_identifier));
    }
    state.seenActivations.add(key);
    card.row = Object.assign({}, card.row, { activations: list });
    renderCard(card);
  }

  function applySnapshot(data) {
    if (data.hospital) applyHospital(data.hospital);
    const incoming = data.incoming || [];
    const recent = data.recent || [];
    const keep = new Set(incoming.concat(recent).map(function (r) { return String(r.encounter_id); }));
    Array.from(state.cards.keys()).forEach(function (id) { if (!keep.has(id)) removeRow(id); });
    recent.forEach(function (row) { upsertRow(row); });
    incoming.forEach(function (row) { upsertRow(row); });
  }

  function applyHospital(hospital) {
    if (state.hospital && hospital.id !== state.hospital.id) return;
    const before = state.hospital;
    const changed = !before || before.ed_status !== hospital.ed_status ||
      before.diversion_reason !== hospital.diversion_reason;
    state.hospital = hospital;
    document.getElementById("hospital-name").textContent = hospital.name;
    const badge = document.getElementById("ed-status");
    badge.textContent = hospital.ed_status === "diversion" ? "On diversion" : "Open";
    badge.dataset.status = hospital.ed_status;
    badge.className = "ed-state ed-state-" + hospital.ed_status;
    document.getElementById("ed-reason-shown").textContent =
      hospital.ed_status === "diversion" ? hospital.diversion_reason || "" : "";
    document.body.classList.toggle("on-diversion", hospital.ed_status === "diversion");
    const select = document.getElementById("ed-status-select");
    const reasonInput = document.getElementById("diversion-reason");
    // Only a real change resets the control: a snapshot must not undo a choice being made.
    if (changed && document.activeElement !== select && document.activeElement !== reasonInput) {
      select.value = hospital.ed_status;
      reasonInput.value = hospital.diversion_reason || "";
      syncReasonField();
    }
  }

  // ---- ticking ---------------------------------------------------------------------------

  function tickCard(el) {
    const countdown = el.querySelector(".eta-countdown");
    if (!countdown) return;
    if (countdown.dataset.arrived) {
      countdown.textContent = "arrived";
      countdown.className = "eta-countdown arrived";
      return;
    }
    if (countdown.dataset.crew === "at_destination") {
      countdown.textContent = "at the door";
      countdown.className = "eta-countdown at-door";
      return;
    }
    if (!countdown.dataset.counts) {
      countdown.textContent = countdown.dataset.crew === "on_scene" ? "on scene" : "--:--";
      countdown.className = "eta-countdown not-moving";
      return;
    }
    const eta = parseTime(countdown.dataset.eta);
    if (eta == null) {
      countdown.textContent = "--:--";
      countdown.className = "eta-countdown unknown";
      return;
    }
    const left = (eta - now()) / 1000;
    if (left >= 0) {
      countdown.textContent = mmss(left);
      countdown.className = "eta-countdown" + (left < 180 ? " soon" : "");
    } else {
      countdown.textContent = "due +" + mmss(-left);
      countdown.className = "eta-countdown overdue";
    }
  }

  function tick() {
    const d = new Date(now());
    clockEl.textContent = two(d.getHours()) + ":" + two(d.getMinutes()) + ":" + two(d.getSeconds());
    state.cards.forEach(function (card, id) {
      const handedOver = parseTime(card.row.transfer_of_care_at ||
        (card.row.status === "closed" ? card.row.closed_at : null));
      if (handedOver != null && now() - handedOver > HANDED_OVER_VISIBLE_MS) {
        removeRow(id);
        return;
      }
      tickCard(card.el);
    });
    if (!state.cards.size) reorder();
  }

  // ---- actions ---------------------------------------------------------------------------

  function busy(button, promise) {
    button.disabled = true;
    button.classList.add("busy");
    return promise.finally(function () {
      button.classList.remove("busy");
    });
  }

  function encounterAction(id, button, slot, action, body) {
    showError(slot, "");
    return busy(button, api("POST", encounterUrl(id, action), body)).then(function (data) {
      if (data && data.encounter_id) upsertRow(boardFields(data), { ifNewer: true });
      reorder();
      return data;
    }, function (err) {
      showError(slot, err.message);
      const card = state.cards.get(id);
      if (card) renderCard(card);
      throw err;
    });
  }

  // REST answers carry the whole record; the board keeps only the row (never names).
  function boardFields(detail) {
    const row = Object.assign({}, detail);
    ["family_name", "given_name", "birth_date", "mrn", "estimated_age_years", "mechanism",
      "injuries", "medications", "history", "findings", "vitals", "messages"].forEach(function (k) {
      delete row[k];
    });
    return row;
  }

  function wireCard(li, id) {
    const q = function (sel) { return li.querySelector(sel); };
    q(".ack-patient").addEventListener("click", function (event) {
      encounterAction(id, event.currentTarget, q('[data-error-for="acknowledge"]'), "acknowledge").catch(function () {});
    });
    q(".bay-form").addEventListener("submit", function (event) {
      event.preventDefault();
      const input = q(".bay-input");
      const slot = q('[data-error-for="bay"]');
      if (!input.value.trim()) {
        showError(slot, "bay: name the bay.");
        return;
      }
      encounterAction(id, q(".assign-bay"), slot, "bay", { bay: input.value.trim() }).then(function () {
        input.value = "";
      }, function () {}).finally(function () { q(".assign-bay").disabled = false; });
    });
    q(".mark-arrived").addEventListener("click", function (event) {
      encounterAction(id, event.currentTarget, q('[data-error-for="arrival"]'), "arrival").catch(function () {});
    });
    q(".confirm-handover").addEventListener("click", function (event) {
      encounterAction(id, event.currentTarget, q('[data-error-for="arrival"]'), "transfer").catch(function () {});
    });
    q(".ed-close-form").addEventListener("submit", function (event) {
      event.preventDefault();
      const input = q(".close-reason");
      const slot = q('[data-error-for="reason"]');
      if (!input.value.trim()) {
        showError(slot, "reason: say why this card closes without a handover.");
        input.focus();
        return;
      }
      encounterAction(id, q(".ed-close"), slot, "ed-close", { reason: input.value.trim() }).then(function () {
        input.value = "";
      }, function () {}).finally(function () { q(".ed-close").disabled = false; });
    });
    q(".reconcile-form").addEventListener("submit", function (event) {
      event.preventDefault();
      const input = q(".mrn-input");
      const slot = q('[data-error-for="mrn"]');
      encounterAction(id, q(".reconcile"), slot, "reconcile", { mrn: input.value.trim() }).then(function () {
        input.value = "";
      }, function () {}).finally(function () { q(".reconcile").disabled = false; });
    });
    q(".message-form").addEventListener("submit", function (event) {
      event.preventDefault();
      const input = q(".message-input");
      const slot = q('[data-error-for="text"]');
      const button = q(".send-message");
      const text = input.value.trim();
      if (!text) {
        showError(slot, "text: write a message first.");
        return;
      }
      showError(slot, "");
      busy(button, api("POST", encounterUrl(id, "messages"), { text: text, client_id: clientId() }))
        .then(function (message) {
          input.value = "";
          if (message) addMessage(message);
        }, function (err) {
          showError(slot, err.message);
        }).finally(function () { button.disabled = false; });
    });
    li.addEventListener("click", function (event) {
      const button = event.target.closest("button.ack-activation");
      if (!button) return;
      const activationId = button.dataset.activationId;
      const slot = li.querySelector('[data-error-for="activation-' + activationId + '"]');
      showError(slot, "");
      busy(button, api("POST", "/api/v1/activations/" + encodeURIComponent(activationId) + "/acknowledge/"))
        .then(function (activation) {
          if (activation) patchActivation(activation);
        }, function (err) {
          button.disabled = false;
          showError(slot, err.message);
        });
    });
  }

  statusForm.addEventListener("submit", function (event) {
    event.preventDefault();
    const select = document.getElementById("ed-status-select");
    const reasonInput = document.getElementById("diversion-reason");
    const slot = document.getElementById("ed-status-error");
    const button = document.getElementById("ed-status-save");
    const status = select.value;
    const reason = reasonInput.value.trim();
    if (status === "diversion" && !reason) {
      showError(slot, "reason: say why the ED is on diversion.");
      reasonInput.focus();
      return;
    }
    showError(slot, "");
    busy(button, api("POST", "/api/v1/hospitals/" + state.hospital.id + "/ed-status/", {
      status: status,
      reason: status === "diversion" ? reason : "",
    })).then(function (hospital) {
      if (hospital) applyHospital(hospital);
    }, function (err) {
      showError(slot, err.message);
    }).finally(function () { button.disabled = false; });
  });

  function syncReasonField() {
    const diversion = document.getElementById("ed-status-select").value === "diversion";
    const reasonInput = document.getElementById("diversion-reason");
    reasonInput.hidden = !diversion;
    reasonInput.required = diversion;
  }
  document.getElementById("ed-status-select").addEventListener("change", syncReasonField);

  // ---- socket ----------------------------------------------------------------------------

  let socket = null;

  // The console's rule (static/dispatch/console.js): apply the event that follows on, drop
  // repeats, ask for what was missed on a gap (once: every event of a batch frame behind the
  // gap would ask again); a snapshot resets the position. An event the server merged for a
  // late screen covers seq_from..seq (realtime/fanout.py).
  let resyncAskedAt = 0;
  function resync() {
    if (!socket || state.seq == null || Date.now() - resyncAskedAt < 10000) return;
    if (socket.send({ type: "resync", since: state.seq })) resyncAskedAt = Date.now();
  }

  function inSequence(msg) {
    if (msg.type === "handoff.board.snapshot") {
      state.seq = typeof msg.seq === "number" ? msg.seq : 0;
      resyncAskedAt = 0;
      return true;
    }
    if (msg.type === "replay") {
      resyncAskedAt = 0;
      return false;
    }
    if (typeof msg.seq !== "number" || state.seq == null) return true;
    if (msg.seq <= state.seq) return false;
    const first = typeof msg.seq_from === "number" ? msg.seq_from : msg.seq;
    if (first > state.seq + 1) {
      resync();
      return false;
    }
    state.seq = msg.seq;
    return true;
  }

  function handleMessage(msg) {
    if (!msg || typeof msg.type !== "string") return;
    // The countdown runs on the server's clock. Only a snapshot's `ts` is "now": replayed
    // events carry the time they were logged.
    if (msg.type === "handoff.board.snapshot" && typeof msg.ts === "string") {
      const server = parseTime(msg.ts);
      if (server != null) state.skewMs = server - Date.now();
    }
    if (!inSequence(msg)) return;
    const data = msg.data || {};
    switch (msg.type) {
      case "handoff.board.snapshot":
        applySnapshot(data);
        break;
      case "handoff.encounter.updated":
        upsertRow(data);
        break;
      case "handoff.encounter.removed":
        removeRow(data.encounter_id);
        break;
      case "handoff.activation.proposed":
      case "handoff.activation.escalated":
      case "handoff.activation.acknowledged":
        patchActivation(data);
        break;
      case "handoff.message.created":
        addMessage(data);
        break;
      case "handoff.hospital.updated":
        applyHospital(data);
        break;
      default:
        break;
    }
    reorder();
  }

  // ---- start -----------------------------------------------------------------------------

  const initial = readJson("initial-board") || {};
  state.isCharge = Boolean(initial.is_charge);
  document.body.classList.toggle("charge", state.isCharge);
  listEl.innerHTML = "";
  if (initial.hospital) applyHospital(initial.hospital);
  (initial.recent || []).forEach(function (row) { upsertRow(row); });
  (initial.incoming || []).forEach(function (row) { upsertRow(row); });
  reorder();
  state.primed = true;

  // Silence (sound only), remembered on this screen.
  silenceBox.checked = silenced();
  silenceBox.addEventListener("change", function () {
    try {
      if (silenceBox.checked) window.localStorage.setItem(SILENCE_KEY, "1");
      else window.localStorage.removeItem(SILENCE_KEY);
    } catch (err) { /* private mode: the box still holds for this page */ }
  });
  // A browser plays sound only after the page was touched once: unlock it on the first tap.
  document.addEventListener("pointerdown", function () {
    const Ctx = window.AudioContext || window.webkitAudioContext;
    if (silenced() || !Ctx) return;
    try {
      audio = audio || new Ctx();
      audio.resume();
    } catch (err) { /* no audio on this screen */ }
  }, { once: true });

  // Wall-board mode: ?wall=1 (a TV in the department) or the toggle; large type, no controls.
  function setWall(on) {
    document.body.classList.toggle("wall", on);
    wallButton.textContent = on ? "Exit wall board" : "Wall board";
    wallButton.setAttribute("aria-pressed", on ? "true" : "false");
    const url = new URL(window.location.href);
    if (on) url.searchParams.set("wall", "1"); else url.searchParams.delete("wall");
    window.history.replaceState(null, "", url.pathname + url.search);
  }
  setWall(new URLSearchParams(window.location.search).get("wall") === "1");
  wallButton.addEventListener("click", function () { setWall(!document.body.classList.contains("wall")); });
  syncReasonField();
  tick();
  setInterval(tick, 1000);

  if (GH.connect) {
    socket = GH.connect(function () {
      return state.seq == null ? "/ws/ed/" : "/ws/ed/?since=" + state.seq;
    }, { message: handleMessage });
    // The channel layer may drop the last event of a quiet spell and nothing later would show
    // the gap; asking every 20 s costs one replay header when nothing was missed.
    setInterval(resync, RESYNC_EVERY_MS);
  }

  GH.edBoard = {
    state: state,
    alerts: function () { return state.alerts.slice(); },
    row: function (id) { const c = state.cards.get(String(id)); return c ? c.row : null; },
  };
})();
