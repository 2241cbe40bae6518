// A patient card's HTML, part by part: vitals with sparklines, NEWS2, activations, the
// record, identity and complaint, and the card's empty skeleton. Every value is escaped.
import { clock, escapeHtml } from "../../js/dom.js";
import { NEWS2_PARAMETER, RISK_LABEL, SEX_LABEL, VITALS } from "./state.js";
import { fmtNumber, parseTime } from "./format.js";
import { wireCard } from "./actions.js";
import { outcomeHtml, wireOutcome } from "./outcome.js";

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
    const at = reading ? clock(reading.at) : "";
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
  const taken = latest ? '<p class="vitals-time">Vitals ' + escapeHtml(clock(latest.taken_at)) + "</p>" : '<p class="vitals-time">No vitals yet</p>';
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
    if (a.acknowledged_at) status = "Acknowledged " + clock(a.acknowledged_at);
    else if (escalated) status = "Escalated to the charge nurse " + clock(a.escalated_at);
    else status = "Proposed " + clock(a.sent_at || a.proposed_at);
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
  if (row.last_known_well) times.push("Last known well " + clock(row.last_known_well));
  else if (row.time_of_onset) times.push("Onset " + clock(row.time_of_onset));
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
    outcomeHtml() +
    '<section class="thread" aria-label="Messages with the crew"><h3>Crew messages</h3><ol class="messages"></ol>' +
    '<form class="message-form" autocomplete="off" novalidate><input class="message-input" type="text" maxlength="1000" aria-label="Message to the crew" placeholder="Message to the crew">' +
    '<button type="submit" class="send-message">Send</button></form>' +
    '<span class="field-error" data-error-for="text" hidden></span></section>' +
    "</div>";
  wireCard(li, id);
  wireOutcome(li, id);
  return li;
}

function setHtml(el, html) {
  // Only touch the DOM when the part changed: no flicker on a wall screen, no lost hover.
  if (el.__html !== html) {
    el.innerHTML = html;
    el.__html = html;
  }
}

export { activationsHtml, complaintHtml, identityHtml, news2Html, recordHtml, setHtml, skeleton, sparkline, vitalsHtml };
