// A unit's marker icon and popup, and the dispatcher's changes by hand from it (status,
// position typed or picked on the map); postJson, the console's one write call, lives here.
import { request } from "../../js/api.js";
import { escapeHtml } from "../../js/dom.js";
import { L, mapEl, state } from "./state.js";
import { STATUS_BY_HAND, answerIsNewest, cssToken, manualText, sinceText, statusLabel } from "./format.js";
import { map, setMapNote } from "./map.js";
import { upsertUnit } from "./units.js";

// ---- units -----------------------------------------------------------------------------

const STACK_SPACING_PX = 19;

function unitIcon(unit, slot) {
  // Units standing at the same point (a station) are drawn as a column, not on top of
  // each other, so every call sign stays readable.
  const offset = slot ? ' style="margin-top:' + slot * STACK_SPACING_PX + 'px"' : "";
  return L.divIcon({
    className: "gh-marker",
    iconSize: null,
    html:
      '<div class="unit-marker is-' + cssToken(unit.status) + (unit.position_stale ? " is-stale" : "") + '"' +
      offset + (unit.position_stale ? ' title="No position for over a minute"' : "") + '><span class="dot"></span>' +
      '<span class="label">' + escapeHtml(unit.call_sign) + "</span></div>",
  });
}

function unitPopup(entry) {
  const u = entry.data;
  const device = state.presence.get(String(u.id));
  const caps = Array.isArray(u.capabilities) && u.capabilities.length
    ? u.capabilities.join(", ") : "none listed";
  const options = (STATUS_BY_HAND[u.status] || []).map(function (status) {
    return '<option value="' + escapeHtml(status) + '">' + escapeHtml(statusLabel(status)) + "</option>";
  }).join("");
  const position = u.position_source === "manual"
    ? "Position " + manualText(u.last_fix_at, u.position_set_by)
    : sinceText(u.last_fix_at);
  return (
    '<div class="unit-popup" data-unit-id="' + escapeHtml(u.id) + '">' +
    "<h4>" + escapeHtml(u.call_sign) + " · " + escapeHtml(u.unit_type) + "</h4>" +
    '<p><span class="badge status-' + cssToken(u.status) + '">' + escapeHtml(statusLabel(u.status)) +
    "</span>" + (u.status_source === "manual"
      ? ' <span class="manual-note status-manual">' + escapeHtml(manualText(u.status_set_at, u.status_set_by)) + "</span>"
      : "") + "</p>" +
    "<p>Station: " + escapeHtml(u.station) + "</p>" +
    "<p>Capabilities: " + escapeHtml(caps) + "</p>" +
    "<p>Tablet: " + (device ? "online (" + escapeHtml(device) + ")" : "offline") + "</p>" +
    '<p class="position-note">' + escapeHtml(position) + "</p>" +
    (u.position_stale ? '<p class="stale-note">Position stale: no fix received recently</p>' : "") +
    // A partner's unit on mutual aid: by hand as ever, while it works this centre's incident.
    (u.lent_by ? '<p class="lent-note">Mutual aid from ' + escapeHtml(u.lent_by.name) + "</p>" : "") +
    '<div class="by-hand"><p class="by-hand-title">By hand (radio report)</p>' +
    (options
      ? '<p><select class="unit-status-choice" aria-label="New status">' + options + "</select> " +
        '<button type="button" data-action="set-status">Set status</button></p>'
      : "") +
    '<p><button type="button" data-action="pick-position">Set position on map</button></p>' +
    '<p><input type="text" class="unit-position-text" placeholder="Address or lat, lon" aria-label="Position">' +
    ' <button type="button" data-action="type-position">Set</button></p>' +
    '<p class="by-hand-result" role="status"></p></div></div>'
  );
}

// ---- a dispatcher's changes by hand -----------------------------------------------------

// The answer's body; a refusal rejects with an Error naming each field and its reason.
function postJson(url, body) {
  return request("POST", url, body).then(function (answer) {
    const data = answer.data || {};
    if (answer.ok) return data;
    const text = Object.keys(data).filter(function (k) { return k !== "code"; }).map(function (k) {
      const v = data[k];
      return (k === "detail" || k === "non_field_errors" ? "" : k.replace(/_/g, " ") + ": ") +
        (Array.isArray(v) ? v.join(" ") : String(v));
    }).join(" ");
    throw new Error(text || "The server refused the change (" + answer.status + ").");
  });
}

function byHandResult(unitId, text, kind) {
  const box = document.querySelector('.unit-popup[data-unit-id="' + CSS.escape(String(unitId)) + '"] .by-hand-result');
  if (box) {
    box.textContent = text;
    box.className = "by-hand-result" + (kind ? " " + kind : "");
  }
}

function setUnitPosition(unitId, body) {
  const newest = answerIsNewest("unit", unitId);
  return postJson("/api/v1/units/" + unitId + "/position/", body).then(function (unit) {
    if (newest()) upsertUnit(unit);
    const entry = state.units.get(String(unitId));
    if (entry && entry.marker) entry.marker.openPopup();
    byHandResult(unitId, "Position set.", "ok");
  }).catch(function (err) { byHandResult(unitId, err.message, "error"); });
}

function startUnitPick(unitId) {
  const entry = state.units.get(String(unitId));
  state.unitPick = String(unitId);
  mapEl.classList.add("picking-unit");
  setMapNote("Click the map where " + (entry ? entry.data.call_sign : "the unit") + " is (Escape cancels)");
  map.closePopup();
}

function stopUnitPick() {
  state.unitPick = null;
  mapEl.classList.remove("picking-unit");
  setMapNote(mapEl.classList.contains("roads-only") ? "Road network view" : "");
}

document.addEventListener("keydown", function (event) {
  if (event.key === "Escape" && state.unitPick) stopUnitPick();
});

map.on("popupopen", function (event) {
  const container = event.popup.getElement();
  if (!container || container.dataset.byHand) return;
  container.dataset.byHand = "1";
  container.addEventListener("click", function (click) {
    const btn = click.target.closest("button[data-action]");
    const box = click.target.closest(".unit-popup");
    if (!btn || !box) return;
    const unitId = box.dataset.unitId;
    if (btn.dataset.action === "set-status") {
      const choice = box.querySelector(".unit-status-choice");
      btn.disabled = true;
      const newest = answerIsNewest("unit", unitId);
      postJson("/api/v1/units/" + unitId + "/status/", { status: choice.value }).then(function (unit) {
        if (newest()) upsertUnit(unit);
        byHandResult(unitId, "Status set: " + statusLabel(unit.status) + ".", "ok");
      }).catch(function (err) {
        btn.disabled = false;
        byHandResult(unitId, err.message, "error");
      });
    } else if (btn.dataset.action === "pick-position") {
      startUnitPick(unitId);
    } else if (btn.dataset.action === "type-position") {
      const text = box.querySelector(".unit-position-text").value.trim();
      if (!text) { byHandResult(unitId, "Type an address or lat, lon.", "error"); return; }
      setUnitPosition(unitId, { text: text });
    }
  });
});

export { postJson, setUnitPosition, stopUnitPick, unitIcon, unitPopup };
