// The units on the console: the list rows and counts, the markers (stacked where a station's
// fleet stands), position batches, presence of the crew tablets.
import { el } from "../../js/dom.js";
import { L, state, unitList } from "./state.js";
import { cssToken, hasPosition, insertSorted, manualText, select, statusLabel } from "./format.js";
import { unitLayer } from "./map.js";
import { unitIcon, unitPopup } from "./unit_popup.js";
import { refreshOpenIncidentPopups } from "./incidents.js";

function renderUnitItem(entry) {
  const u = entry.data;
  let li = entry.li || unitList.querySelector('li[data-unit-id="' + CSS.escape(String(u.id)) + '"]');
  if (!li) li = el("li", "unit");
  li.className = "unit" + (li.classList.contains("selected") ? " selected" : "");
  li.tabIndex = 0;
  li.dataset.unitId = String(u.id);
  li.dataset.status = u.status || "";
  li.replaceChildren();
  li.appendChild(el("span", "unit-callsign", u.call_sign));
  li.appendChild(el("span", "unit-type", u.unit_type));
  li.appendChild(el("span", "badge status-" + cssToken(u.status), statusLabel(u.status)));
  li.appendChild(el("span", "unit-station", u.station || ""));
  if (u.lent_by) {
    li.dataset.lentBy = String(u.lent_by.id);
    li.appendChild(el("span", "badge lent", "Mutual aid · " + u.lent_by.name));
  }
  if (u.position_stale) li.appendChild(el("span", "badge stale", "position stale"));
  if (u.status_source === "manual") {
    li.appendChild(el("span", "badge manual status-manual", "status " + manualText(u.status_set_at, u.status_set_by)));
  }
  if (u.position_source === "manual") {
    li.appendChild(el("span", "badge manual position-manual", "position " + manualText(u.last_fix_at, u.position_set_by)));
  }
  const device = state.presence.get(String(u.id));
  const presence = el("span", "presence " + (device ? "online" : "offline"), device ? "online" : "offline");
  if (device) presence.title = "Tablet " + device;
  li.appendChild(presence);
  entry.li = li;
  insertSorted(unitList, li, String(u.call_sign || ""));
}

function updateUnitCounts() {
  const count = document.getElementById("unit-count");
  const empty = document.getElementById("unit-empty");
  let available = 0;
  let own = 0;
  state.units.forEach(function (entry) {
    if (entry.data.lent_by) return; // a partner's unit on mutual aid is counted by its centre
    own += 1;
    if (entry.data.status === "available") available += 1;
  });
  if (count) {
    count.textContent = String(own);
    count.title = available + " available";
  }
  if (empty) empty.hidden = state.units.size > 0;
}

function positionKey(lat, lon) {
  return Number(lat).toFixed(5) + "," + Number(lon).toFixed(5);
}

function restack(key) {
  const ids = state.stacks.get(key);
  if (!ids) return;
  if (!ids.length) {
    state.stacks.delete(key);
    return;
  }
  ids.sort(function (a, b) {
    const ca = String(state.units.get(a).data.call_sign || "");
    const cb = String(state.units.get(b).data.call_sign || "");
    return ca.localeCompare(cb, undefined, { numeric: true });
  });
  ids.forEach(function (id, slot) {
    const entry = state.units.get(id);
    if (entry.slot !== slot) {
      entry.slot = slot;
      if (entry.marker) entry.marker.setIcon(unitIcon(entry.data, slot));
    }
  });
}

function moveInStacks(id, entry, key) {
  if (entry.posKey === key) return;
  const oldKey = entry.posKey;
  if (oldKey) {
    const ids = state.stacks.get(oldKey);
    if (ids) ids.splice(ids.indexOf(id), 1);
  }
  entry.posKey = key;
  entry.slot = -1; // forces the icon for the new position
  if (key) {
    if (!state.stacks.has(key)) state.stacks.set(key, []);
    state.stacks.get(key).push(id);
    restack(key);
  }
  if (oldKey) restack(oldKey);
}

// The unit's marker from its data: placed, moved, restyled, or removed without a position.
function placeUnit(id, entry, previous) {
  const u = entry.data;
  if (hasPosition(u)) {
    const latlng = [Number(u.lat), Number(u.lon)];
    if (!entry.marker) {
      entry.marker = L.marker(latlng, { icon: unitIcon(u, entry.slot), zIndexOffset: 500, keyboard: false, title: u.call_sign })
        .bindPopup(function () { return unitPopup(entry); })
        .addTo(unitLayer);
      entry.marker.on("click", function () { select(entry.li); });
    } else {
      entry.marker.setLatLng(latlng);
      // Positions stream often; rebuild the icon only when what it shows changes.
      if (!previous || previous.status !== u.status || previous.call_sign !== u.call_sign ||
          Boolean(previous.position_stale) !== Boolean(u.position_stale)) {
        entry.marker.setIcon(unitIcon(u, entry.slot));
      }
      if (entry.marker.isPopupOpen()) refreshPopup(entry);
    }
    moveInStacks(id, entry, positionKey(u.lat, u.lon));
  } else {
    if (entry.marker) unitLayer.removeLayer(entry.marker);
    entry.marker = null;
    moveInStacks(id, entry, null);
  }
}

// Positions stream in while the popup is open; a dispatcher typing in it keeps the text.
function refreshPopup(entry) {
  const node = entry.marker.getPopup() && entry.marker.getPopup().getElement();
  if (node && node.contains(document.activeElement) && document.activeElement.tagName !== "BUTTON") return;
  entry.marker.setPopupContent(unitPopup(entry));
}

function upsertUnit(unit) {
  if (!unit || unit.id == null) return;
  const id = String(unit.id);
  // A partner's unit whose mutual-aid assignment here ended goes back to its own centre.
  if (unit.released) {
    removeUnit(id);
    return;
  }
  let entry = state.units.get(id);
  const previous = entry ? entry.data : null;
  if (!entry) {
    entry = { data: unit, marker: null, li: null, posKey: null, slot: 0 };
    state.units.set(id, entry);
  }
  entry.data = Object.assign({}, previous || {}, unit);
  placeUnit(id, entry, previous);
  renderUnitItem(entry);
  updateUnitCounts();
  if (!previous || previous.status !== entry.data.status) refreshOpenIncidentPopups();
}

// One tick's positions (dispatch.units.moved: id, lat, lon, heading, speed_mps, last_fix_at,
// position_source, position_stale), merged as a position change in dispatch.unit.updated
// is. The list row shows none of these but the stale flag, so only that redraws it: at
// regional scale most units move in every tick.
function moveUnits(units) {
  units.forEach(function (moved) {
    if (!moved || moved.id == null) return;
    const id = String(moved.id);
    const entry = state.units.get(id);
    // A unit this console has never had whole (call sign, status) comes with a snapshot.
    if (!entry) return;
    const previous = entry.data;
    entry.data = Object.assign({}, previous, moved);
    placeUnit(id, entry, previous);
    // A device fix supersedes a manual position: the row's "manual" badge goes too.
    if (Boolean(previous.position_stale) !== Boolean(entry.data.position_stale) ||
        previous.position_source !== entry.data.position_source) renderUnitItem(entry);
  });
}

function removeUnit(id) {
  const key = String(id);
  const entry = state.units.get(key);
  if (entry) {
    if (entry.marker) unitLayer.removeLayer(entry.marker);
    if (entry.li) entry.li.remove();
    moveInStacks(key, entry, null);
    state.units.delete(key);
  }
  const stray = unitList.querySelector('li[data-unit-id="' + CSS.escape(key) + '"]');
  if (stray) stray.remove();
  updateUnitCounts();
}

function setPresence(unitId, deviceId) {
  const key = String(unitId);
  if (deviceId) state.presence.set(key, String(deviceId));
  else state.presence.delete(key);
  const entry = state.units.get(key);
  if (entry) {
    renderUnitItem(entry);
    if (entry.marker && entry.marker.isPopupOpen()) refreshPopup(entry);
  }
}

export { moveUnits, removeUnit, setPresence, updateUnitCounts, upsertUnit };
