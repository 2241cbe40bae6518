// The ED's actions on a card (acknowledge, messages, activations, handover, the ED status form),
// each a REST call whose answer comes back to every board as an event.
import { uuid } from "../../js/dom.js";
import { state, statusForm } from "./state.js";
import { api, encounterUrl, showError } from "./format.js";
import { addMessage, renderCard, reorder, upsertRow } from "./cards.js";
import { applyHospital, patchActivation } from "./updates.js";

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
    busy(button, api("POST", encounterUrl(id, "messages"), { text: text, client_id: uuid() }))
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

export { syncReasonField, wireCard };
