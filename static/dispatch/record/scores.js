// The record's views of a patient: tabs and panes, the vitals history with trends, the
// server's scores (NEWS2, GCS, shock index, qSOFA, stroke) and ATMIST.
import { clock } from "../../js/dom.js";
import { BEFAST, MISSING_LABEL, RISK_LABEL, RISK_RESPONSE, SHORT } from "./vocabulary.js";
import { db, el, fmt, make, root } from "./context.js";
import { persistSoon } from "./store.js";
import { loadForms } from "./vitals_form.js";
import { treatmentOf } from "./treatment.js";
import { render } from "./render.js";

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
      // The server's label and reason, in words (never the stored key, "cardiac_arrest").
      const kind = act.kind_label || String(act.kind || "").replace(/_/g, " ");
      const li = make("li", act.acknowledged_at ? "acked" : "");
      li.dataset.kind = act.kind || "";
      li.append(make("span", "activation-kind", kind + " team proposed" + (act.acknowledged_at ? " · ED confirmed" : act.sent_at ? " · sent to ED" : "")));
      if (act.reason) li.append(make("span", "activation-reason", act.reason));
      list.append(li);
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

export { renderAtmist, renderHistory, renderPanes, renderScores, renderTabs };
