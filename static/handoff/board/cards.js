// The cards on the board: drawing a card from its row, its message thread, the order of the
// incoming and recent lists, and the audited read of a patient's record.
import { clock, escapeHtml } from "../../js/dom.js";
import { CREW_STATUS, DETAIL_EVERY_MS, RISK_LABEL, RISK_ORDER, countEl, emptyEl, listEl, recentEl, recentSection, state } from "./state.js";
import { api, encounterUrl, mmss, parseTime } from "./format.js";
import { activationsHtml, complaintHtml, identityHtml, news2Html, recordHtml, setHtml, skeleton, sparkline, vitalsHtml } from "./card_html.js";
import { alertFor, noteActivations } from "./alerts.js";
import { removeRow, tickCard } from "./updates.js";
import { renderOutcome } from "./outcome.js";

function renderCard(card) {
  const row = card.row;
  const el = card.el;
  const q = function (sel) { return el.querySelector(sel); };
  const closed = row.status === "closed";
  el.dataset.risk = row.acuity || "none";
  el.classList.toggle("handed-over", Boolean(row.transfer_of_care_at) || closed);
  el.classList.toggle("arrived", Boolean(row.arrived_at));
  renderOutcome(el, row);
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
  if (row.arrived_at) etaClock = "at " + clock(row.arrived_at);
  else if (crew === "at_destination") etaClock = "at the door";
  else if (!row.eta_counts_down && row.eta_drive_seconds != null) {
    etaClock = "ETA from leaving ~" + Math.max(1, Math.round(row.eta_drive_seconds / 60)) + " min";
  } else if (!row.eta_counts_down) etaClock = row.eta_at ? "not on the road yet" : "not known";
  else if (row.eta_at) etaClock = approx + clock(row.eta_at);
  q(".eta-clock").textContent = etaClock;
  tickCard(el);

  const ack = q(".ack-patient");
  ack.disabled = Boolean(row.acknowledged_at) || closed;
  ack.textContent = row.acknowledged_at
    ? "Acknowledged " + clock(row.acknowledged_at) : "Acknowledge patient";
  ack.classList.toggle("done", Boolean(row.acknowledged_at));
  q(".assign-bay").textContent = row.bay ? "Change bay" : "Assign bay";
  q(".bay-input").placeholder = row.bay ? "Bay " + row.bay : "Bay, e.g. Resus 2";
  q(".bay-form").hidden = closed;
  const arrived = q(".mark-arrived");
  arrived.disabled = Boolean(row.arrived_at) || closed;
  arrived.textContent = row.arrived_at ? "Arrived " + clock(row.arrived_at) : "Arrived";
  arrived.classList.toggle("done", Boolean(row.arrived_at));
  const handover = q(".confirm-handover");
  handover.disabled = !row.arrived_at || Boolean(row.ed_confirmed_at) || closed;
  handover.title = row.arrived_at ? "" : "Record the arrival first";
  handover.textContent = row.ed_confirmed_at ? "ED confirmed" : "Confirm handover";
  handover.classList.toggle("done", Boolean(row.ed_confirmed_at));
  const parts = [];
  if (row.transfer_of_care_at) {
    parts.push("Handed over " + clock(row.transfer_of_care_at) +
      (row.offload_seconds != null ? " \u00b7 offload " + mmss(row.offload_seconds) : ""));
  } else if (row.arrived_at) {
    parts.push("Crew " + (row.crew_confirmed_at ? "\u2713 " + clock(row.crew_confirmed_at) : "not yet"));
    parts.push("ED " + (row.ed_confirmed_at ? "\u2713 " + clock(row.ed_confirmed_at) : "not yet"));
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
    q(".handover-state").textContent = "Closed by the ED " + clock(row.closed_at) + ": " + row.closed_reason;
  }
}

function renderMessages(card) {
  const items = Array.from(card.messages.values()).sort(function (a, b) {
    return (parseTime(a.sent_at) || 0) - (parseTime(b.sent_at) || 0) || a.id - b.id;
  });
  const ol = card.el.querySelector(".messages");
  setHtml(ol, items.length ? items.map(function (m) {
    return '<li class="message from-' + escapeHtml(m.sender) + '" data-message-id="' + escapeHtml(m.id) + '">' +
      '<span class="msg-meta">' + (m.sender === "ed" ? "ED" : "Crew") + " " + escapeHtml(clock(m.sent_at)) + "</span> " +
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

export { addMessage, renderCard, reorder, upsertRow };
