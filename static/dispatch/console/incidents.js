// The incidents on the console: markers, popups with their actions, the list rows sorted by
// priority, call lines, location detail, assignments and their live ETAs.
import { clock, el, escapeHtml } from "../../js/dom.js";
import { L, incidentList, state } from "./state.js";
import { deliveryBadge } from "./deliveries.js";
import { transferBadge } from "./transfers.js";
import { hasPosition, insertSorted, priorityColour, priorityLabel, select, statusLabel } from "./format.js";
import { incidentLayer, map } from "./map.js";
import { showIncidentUnits } from "./incident_actions.js";
import { putActions } from "./hand.js";

// ---- incidents -------------------------------------------------------------------------

function incidentIcon(incident) {
  const colour = priorityColour(incidentPriority(incident));
  const letter = priorityLabel(incidentPriority(incident)).charAt(0);
  return L.divIcon({
    className: "gh-marker",
    iconSize: null,
    html: '<div class="incident-marker is-' + colour + '"><div class="pin"><span>' +
      escapeHtml(letter) + "</span></div></div>",
  });
}

function incidentPopup(incident) {
  return '<div class="popup-info">' + incidentPopupInfo(incident) + "</div>" + incidentActions(incident);
}

// An open popup's facts (status, units, live ETAs) update at once, its action box as
// hand.js allows.
function refreshIncidentPopup(entry) {
  const popup = entry.marker.getPopup();
  const content = popup && popup.getElement() && popup.getElement().querySelector(".leaflet-popup-content");
  const info = content && content.querySelector(".popup-info");
  if (!info) {
    entry.marker.setPopupContent(incidentPopup(entry.data));
    return;
  }
  const infoHtml = incidentPopupInfo(entry.data);
  if (info.innerHTML !== infoHtml) info.innerHTML = infoHtml;
  putActions(content, incidentActions(entry.data), function () {
    if (entry.marker && entry.marker.isPopupOpen()) refreshIncidentPopup(entry);
  });
  // Not popup.update(): that sets the whole content again. Only its size and place.
  if (popup._updateLayout && popup._updatePosition) {
    popup._updateLayout();
    popup._updatePosition();
  }
}

// The popup offers the available units as replacements: a unit's status change redraws it.
function refreshOpenIncidentPopups() {
  state.incidents.forEach(function (entry) {
    if (entry.marker && entry.marker.isPopupOpen()) refreshIncidentPopup(entry);
  });
}

function incidentPopupInfo(incident) {
  return (
    "<h4>" + escapeHtml(incident.chief_complaint || "Incident") + "</h4>" +
    '<p><span class="badge prio prio-' + priorityColour(incidentPriority(incident)) + '">' +
    escapeHtml(priorityLabel(incidentPriority(incident))) + "</span> " + escapeHtml(statusLabel(incident.status)) + "</p>" +
    (incidentPlace(incident) ? '<p class="incident-address">' + escapeHtml(incidentPlace(incident)) +
      (incident.stop ? ' <span class="muted">(stop at ' + escapeHtml(incident.stop) + ")</span>" : "") + "</p>" : "") +
    (incident.proposed_determinant ? '<p class="upgrade-proposal">A later caller reports ' +
      escapeHtml(priorityLabel(incident.proposed_determinant)) +
      ' <button type="button" data-incident-action="upgrade" data-incident-id="' + escapeHtml(incident.id) +
      '" data-determinant="' + escapeHtml(incident.proposed_determinant) + '">Upgrade to ' +
      escapeHtml(priorityLabel(incident.proposed_determinant)) + "</button></p>" : "") +
    callLines(incident) +
    (incident.access_notes ? "<p>Access: " + escapeHtml(incident.access_notes) + "</p>" : "") +
    locationDetail(incident) +
    assignmentLines(incident) +
    "<p>#" + escapeHtml(incident.id) + "</p>"
  );
}

function callLines(incident) {
  const calls = Array.isArray(incident.call_list) ? incident.call_list : [];
  if (calls.length < 2) return "";
  return '<ol class="call-lines">' + calls.map(function (c) {
    const at = c.received_at ? clock(Date.parse(c.received_at)).slice(0, 5) + " " : "";
    return "<li>" + escapeHtml(at + (c.chief_complaint || "call")) +
      (c.determinant ? " (" + escapeHtml(priorityLabel(c.determinant)) + ")" : "") + "</li>";
  }).join("") + "</ol>";
}

const DISPOSITIONS = [
  ["cancelled", "Cancelled (not needed)"], ["duplicate", "Duplicate"], ["no_patient_found", "No patient found"],
  ["treated_on_scene", "Treated on scene"], ["patient_refused", "Patient refused care"],
  ["dead_on_scene", "Dead on scene"],
];

// Act on the incident from its popup: show and add units, replace or cancel one, close.
function incidentActions(incident) {
  const id = escapeHtml(incident.id);
  const free = Array.from(state.units.values()).filter(function (e) { return e.data.status === "available"; })
    .map(function (e) { return e.data; })
    .sort(function (a, b) { return String(a.call_sign).localeCompare(String(b.call_sign)); });
  const options = free.map(function (u) {
    return '<option value="' + escapeHtml(u.id) + '">' + escapeHtml(u.call_sign) + "</option>";
  }).join("");
  const active = (Array.isArray(incident.assignments) ? incident.assignments : []).filter(function (a) {
    return a.status === "dispatched" || a.status === "en_route";
  });
  const rows = active.map(function (a) {
    const aid = escapeHtml(a.id);
    return '<div class="assignment-actions" data-assignment-id="' + aid + '">' + escapeHtml(a.call_sign) +
      ' <button type="button" data-incident-action="cancel" data-assignment-id="' + aid + '">Cancel</button>' +
      (options ? ' <select class="replace-unit" aria-label="Replacement for ' + escapeHtml(a.call_sign) + '">' + options +
        '</select> <button type="button" data-incident-action="replace" data-assignment-id="' + aid + '">Replace</button>' : "") +
      "</div>";
  }).join("");
  return '<div class="incident-actions" data-incident-id="' + id + '">' +
    '<button type="button" data-incident-action="units" data-incident-id="' + id + '">Units / add a unit</button>' +
    rows + transferRow(incident) +
    '<div class="close-row"><select class="disposition" aria-label="Disposition">' +
    DISPOSITIONS.map(function (d) { return '<option value="' + d[0] + '">' + escapeHtml(d[1]) + "</option>"; }).join("") +
    '</select> <button type="button" data-incident-action="close" data-incident-id="' + id + '">Close incident</button></div>' +
    '<p class="action-result" role="status"></p></div>';
}

// Hand the incident to another centre (the one whose area holds it), or take the proposal back.
function transferRow(incident) {
  if (incident.transfer) {
    return '<div class="transfer-row">Transfer to ' + escapeHtml(incident.transfer.to_centre.name) + " proposed " +
      '<button type="button" data-incident-action="transfer-withdraw" data-transfer-id="' +
      escapeHtml(incident.transfer.id) + '">Withdraw transfer</button></div>';
  }
  const centres = Array.isArray(state.centres) ? state.centres : [];
  const busy = (Array.isArray(incident.assignments) ? incident.assignments : []).some(function (a) {
    return a.status !== "cancelled" && a.status !== "cleared";
  });
  if (!centres.length || busy) return "";
  return '<div class="transfer-row"><select class="transfer-centre" aria-label="Centre to transfer to">' +
    centres.map(function (c) { return '<option value="' + escapeHtml(c.code) + '">' + escapeHtml(c.name) + "</option>"; }).join("") +
    '</select> <button type="button" data-incident-action="transfer" data-incident-id="' + escapeHtml(incident.id) +
    '">Transfer</button></div>';
}

const SOURCE_LABELS = {
  caller_gps: "caller's phone", address: "address", map: "map click", latlon: "coordinates", pluscode: "plus code",
};

function locationDetail(incident) {
  if (!incident.location_source) return "";
  let text = "Located by " + (SOURCE_LABELS[incident.location_source] || incident.location_source);
  if (incident.confidence != null) text += ", confidence " + Math.round(Number(incident.confidence) * 100) + "%";
  if (incident.accuracy_m != null) text += ", ±" + Math.round(Number(incident.accuracy_m)) + " m";
  let road = "";
  if (incident.road_street || incident.road_distance_m != null) {
    road = "<p>Road: " + escapeHtml(incident.road_street || "unnamed") +
      (incident.road_distance_m != null ? " (" + Math.round(Number(incident.road_distance_m)) + " m away)" : "") + "</p>";
  }
  return '<p class="muted">' + escapeHtml(text) + "</p>" + road;
}

function mmss(seconds) {
  if (seconds == null || !isFinite(seconds)) return "–";
  const s = Math.max(0, Math.round(Number(seconds)));
  return Math.floor(s / 60) + ":" + String(s % 60).padStart(2, "0");
}

function assignmentLines(incident) {
  const list = Array.isArray(incident.assignments) ? incident.assignments : [];
  const active = list.filter(function (a) { return a.status !== "cancelled" && a.status !== "cleared"; });
  if (!active.length) return "";
  return "<ul class=\"assignment-lines\">" + active.map(function (a) {
    const eta = a.live_eta_s != null ? a.live_eta_s : a.eta_s;
    return "<li>" + escapeHtml(a.call_sign) + " · " + escapeHtml(statusLabel(a.status)) +
      (a.status === "dispatched" || a.status === "en_route" ? " · ETA " + mmss(eta) : "") + "</li>";
  }).join("") + "</ul>";
}

function updateIncidentCounts() {
  const count = document.getElementById("incident-count");
  const empty = document.getElementById("incident-empty");
  if (count) count.textContent = String(state.incidents.size);
  if (empty) empty.hidden = state.incidents.size > 0;
}

// Most urgent first (Echo .. Omega), then oldest id first.
const PRIORITY_ORDER = { e: 0, d: 1, c: 2, b: 3, a: 4, o: 5 };
function incidentSortKey(incident) {
  const p = String(incidentPriority(incident)).trim().toLowerCase().charAt(0);
  const rank = p in PRIORITY_ORDER ? PRIORITY_ORDER[p] : 9;
  return rank + ":" + String(incident.id).padStart(12, "0");
}

const CLOSED_INCIDENT_STATUSES = new Set(["closed", "cancelled"]);

// The brief's shape is {priority, location_text}; the incident summary of the server says
// {determinant, address}. Accept both.
function incidentPriority(incident) {
  return incident.priority || incident.determinant || "";
}

function incidentPlace(incident) {
  return incident.location_text || incident.address || incident.road_street || "";
}

// A live ETA merged into the console's current copy only: a route answer must never write
// an older copy of the incident (its status, its units) back over a newer one.
function setLiveEta(incidentId, assignmentId, seconds) {
  const entry = state.incidents.get(String(incidentId));
  if (!entry || !Array.isArray(entry.data.assignments)) return;
  const assignments = entry.data.assignments.map(function (a) {
    if (a.id !== assignmentId || (a.status !== "dispatched" && a.status !== "en_route")) return a;
    return Object.assign({}, a, { live_eta_s: seconds });
  });
  upsertIncident(Object.assign({}, entry.data, { assignments: assignments }));
}

function upsertIncident(incident, options) {
  if (!incident || incident.id == null) return;
  // A REST answer may arrive after the socket brought a newer state of the same incident.
  if (options && options.ifAbsent && state.incidents.has(String(incident.id))) return;
  if (CLOSED_INCIDENT_STATUSES.has(incident.status)) {
    removeIncident(incident.id);
    return;
  }
  const id = String(incident.id);
  let entry = state.incidents.get(id);
  if (!entry) {
    entry = { data: incident, marker: null, li: null };
    state.incidents.set(id, entry);
  }
  const previousData = entry.data;
  entry.data = Object.assign({}, entry.data, incident);
  // Live ETAs are the console's own; a newer copy from the server keeps them.
  if (previousData && Array.isArray(previousData.assignments) && Array.isArray(entry.data.assignments)) {
    const live = new Map(previousData.assignments.map(function (a) { return [a.id, a.live_eta_s]; }));
    entry.data.assignments = entry.data.assignments.map(function (a) {
      return a.live_eta_s == null && live.get(a.id) != null && (a.status === "dispatched" || a.status === "en_route")
        ? Object.assign({}, a, { live_eta_s: live.get(a.id) }) : a;
    });
  }
  const data = entry.data;
  if (hasPosition(data)) {
    const latlng = [Number(data.lat), Number(data.lon)];
    if (!entry.marker) {
      entry.marker = L.marker(latlng, { icon: incidentIcon(data), zIndexOffset: 1000, keyboard: false })
        .bindPopup(function () { return incidentPopup(entry.data); })
        .addTo(incidentLayer);
      entry.marker.on("click", function () {
        select(entry.li);
        showIncidentUnits(entry.data);
      });
    } else {
      entry.marker.setLatLng(latlng);
      entry.marker.setIcon(incidentIcon(data));
      if (entry.marker.isPopupOpen()) refreshIncidentPopup(entry);
    }
  } else if (entry.marker) {
    incidentLayer.removeLayer(entry.marker);
    entry.marker = null;
  }
  drawLocationDetail(entry);
  const li = entry.li || el("li", "incident");
  li.tabIndex = 0;
  li.dataset.incidentId = id;
  li.dataset.priority = incidentPriority(data);
  li.dataset.status = data.status || "";
  li.replaceChildren();
  li.appendChild(el("span", "badge prio prio-" + priorityColour(incidentPriority(data)), priorityLabel(incidentPriority(data))));
  li.appendChild(el("span", "incident-cc", data.chief_complaint || "Incident #" + id));
  li.appendChild(el("span", "incident-status", statusLabel(data.status)));
  li.appendChild(el("span", "incident-loc", incidentPlace(data) || (hasPosition(data)
    ? Number(data.lat).toFixed(5) + ", " + Number(data.lon).toFixed(5) : "location unknown")));
  if (data.stop) li.appendChild(el("span", "incident-stop", "stop at " + data.stop));
  if (data.proposed_determinant) {
    li.appendChild(el("span", "badge upgrade", "upgrade to " + priorityLabel(data.proposed_determinant) + " proposed"));
  }
  const units = (Array.isArray(data.assignments) ? data.assignments : []).filter(function (a) {
    return a.status !== "cancelled" && a.status !== "cleared";
  });
  if (units.length) {
    li.appendChild(el("span", "incident-units", units.map(function (a) {
      const eta = a.live_eta_s != null ? a.live_eta_s : a.eta_s;
      return a.call_sign + " " + statusLabel(a.status) +
        (a.status === "dispatched" || a.status === "en_route" ? " ETA " + mmss(eta) : "");
    }).join(" · ")));
  }
  const delivery = deliveryBadge(id);
  if (delivery) li.appendChild(delivery);
  const transfer = transferBadge(data);
  if (transfer) li.appendChild(transfer);
  entry.li = li;
  insertSorted(incidentList, li, incidentSortKey(data));
  updateIncidentCounts();
}

// The caller's point, how sure we are of it (the accuracy circle), and where a crew can stop
// (the snapped road point, joined to the caller by a dashed line).
function drawLocationDetail(entry) {
  const data = entry.data;
  (entry.extras || []).forEach(function (layer) { incidentLayer.removeLayer(layer); });
  entry.extras = [];
  if (!hasPosition(data)) return;
  const point = [Number(data.lat), Number(data.lon)];
  if (data.accuracy_m != null && Number(data.accuracy_m) > 0) {
    entry.extras.push(L.circle(point, { radius: Number(data.accuracy_m), weight: 1, color: "#b3261e", fillOpacity: 0.06, interactive: false }));
  }
  if (data.road_lat != null && data.road_lon != null) {
    const road = [Number(data.road_lat), Number(data.road_lon)];
    entry.extras.push(L.polyline([point, road], { weight: 2, dashArray: "4 4", color: "#1d2330", interactive: false }));
    entry.extras.push(L.circleMarker(road, { radius: 4, weight: 2, color: "#1d2330", fillColor: "#fff", fillOpacity: 1 })
      .bindTooltip("Road point: " + (data.road_street || "unnamed road")));
  }
  entry.extras.forEach(function (layer) { layer.addTo(incidentLayer); });
}

function removeIncident(id) {
  const key = String(id);
  const entry = state.incidents.get(key);
  if (!entry) return;
  (entry.extras || []).forEach(function (layer) { incidentLayer.removeLayer(layer); });
  if (entry.marker) incidentLayer.removeLayer(entry.marker);
  if (entry.li) entry.li.remove();
  state.incidents.delete(key);
  updateIncidentCounts();
}

export { incidentActions, mmss, refreshOpenIncidentPopups, removeIncident, setLiveEta, updateIncidentCounts, upsertIncident };
