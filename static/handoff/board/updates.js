// Applying what the server says to the cards (a row removed, an activation, a snapshot, the
// hospital's status) and the once-a-second tick of the countdowns.
import { HANDED_OVER_VISIBLE_MS, clockEl, state } from "./state.js";
import { mmss, now, parseTime, two } from "./format.js";
import { renderCard, reorder, upsertRow } from "./cards.js";
import { alertFor } from "./alerts.js";
import { syncReasonField } from "./actions.js";

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

export { applyHospital, applySnapshot, patchActivation, removeRow, tick, tickCard };
