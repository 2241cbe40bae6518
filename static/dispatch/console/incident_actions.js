// From the incident list to the map, the incident popup's buttons (dispositions, upgrade,
// close), and the drawn route.
import { escapeHtml } from "../../js/dom.js";
import { GH, L, hospitalList, incidentList, state, unitList } from "./state.js";
import { answerIsNewest, priorityLabel, select } from "./format.js";
import { map } from "./map.js";
import { postJson } from "./unit_popup.js";
import { upsertIncident } from "./incidents.js";

// ---- list -> map -----------------------------------------------------------------------

function focusFromList(event) {
  const li = event.target.closest("li");
  if (!li) return;
  let entry = null;
  if (li.dataset.unitId) entry = state.units.get(li.dataset.unitId);
  else if (li.dataset.incidentId) entry = state.incidents.get(li.dataset.incidentId);
  else if (li.dataset.hospitalId) entry = state.hospitals.get(li.dataset.hospitalId);
  select(li);
  if (entry && entry.marker) {
    map.setView(entry.marker.getLatLng(), Math.max(map.getZoom(), 15));
    entry.marker.openPopup();
    state.userMoved = true;
  }
  // Selecting an open incident shows its ranked units and actions again (dispatch/intake/ranking.js).
  if (li.dataset.incidentId && entry) showIncidentUnits(entry.data);
}

function showIncidentUnits(incident) {
  if (GH.console && GH.console.showRecommendations) GH.console.showRecommendations(incident);
}
[unitList, incidentList, hospitalList].forEach(function (list) {
  if (!list) return;
  list.addEventListener("click", focusFromList);
  list.addEventListener("keydown", function (event) {
    if (event.key === "Enter" || event.key === " ") {
      event.preventDefault();
      focusFromList(event);
    }
  });
});

// ---- incident actions (popup buttons) ----------------------------------------------------

const post = postJson;

function incidentAction(button) {
  const box = button.closest(".incident-actions") || button.closest(".leaflet-popup-content");
  const result = box ? box.querySelector(".action-result") : null;
  const incidentId = button.dataset.incidentId || (box && box.dataset.incidentId);
  const action = button.dataset.incidentAction;
  function done(text) { if (result) result.textContent = text; }
  let request = null;
  if (action === "units") {
    const incident = state.incidents.get(String(incidentId));
    if (incident && GH.console.showRecommendations) GH.console.showRecommendations(incident.data);
    return;
  } else if (action === "upgrade") {
    const newest = answerIsNewest("incident", incidentId);
    request = post("/api/v1/incidents/" + incidentId + "/upgrade/", { accept: true, determinant: button.dataset.determinant })
      .then(function (data) {
        if (newest()) upsertIncident(data);
        return "Upgraded to " + priorityLabel(data.determinant) + ".";
      });
  } else if (action === "cancel") {
    request = post("/api/v1/assignments/" + button.dataset.assignmentId + "/transition/", { status: "cancelled", note: "cancelled by dispatch", device_id: "console" })
      .then(function (data) { return data.call_sign + " cancelled."; });
  } else if (action === "replace") {
    const row = button.closest(".assignment-actions");
    const choice = row ? row.querySelector("select.replace-unit") : null;
    request = post("/api/v1/assignments/" + button.dataset.assignmentId + "/replace/", { unit_id: Number(choice.value), device_id: "console" })
      .then(function (data) { return data.call_sign + " dispatched instead."; });
  } else if (action === "transfer") {
    const choice = box.querySelector("select.transfer-centre");
    request = post("/api/v1/incidents/" + incidentId + "/transfer/", { to_centre: choice.value })
      .then(function (data) { return "Transfer to " + data.to_centre.name + " proposed."; });
  } else if (action === "transfer-withdraw") {
    request = post("/api/v1/transfers/" + button.dataset.transferId + "/withdraw/", {})
      .then(function () { return "Transfer withdrawn; the incident stays here."; });
  } else if (action === "close") {
    const choice = box.querySelector("select.disposition");
    request = post("/api/v1/incidents/" + incidentId + "/close/", { disposition: choice.value, device_id: "console" })
      .then(function (data) { upsertIncident(data); return "Incident #" + data.id + " closed."; });
  }
  if (!request) return;
  button.disabled = true;
  request.then(done, function (err) { done(err.message); }).then(function () { button.disabled = false; });
}

// Leaflet stops clicks inside a popup from bubbling, so listen on each popup opened.
map.on("popupopen", function (event) {
  const node = event.popup.getElement();
  if (!node || node.dataset.actionsBound) return;
  node.dataset.actionsBound = "1";
  node.addEventListener("click", function (click) {
    const button = click.target.closest("button[data-incident-action]");
    if (button) incidentAction(button);
  });
});

// ---- route -----------------------------------------------------------------------------

function clearRoute() {
  if (state.route) {
    map.removeLayer(state.route);
    state.route = null;
  }
}

// Accepts a GeoJSON LineString geometry, a Feature holding one, or a FeatureCollection.
function showRoute(geojson, label) {
  clearRoute();
  if (!geojson) return null;
  const casing = L.geoJSON(geojson, {
    pane: "route", interactive: false,
    style: { color: "#ffffff", weight: 9, opacity: 0.95, lineCap: "round", lineJoin: "round" },
  });
  const line = L.geoJSON(geojson, {
    pane: "route", interactive: false,
    style: { color: "#1f65c1", weight: 5, opacity: 0.95, lineCap: "round", lineJoin: "round" },
  });
  state.route = L.featureGroup([casing, line]).addTo(map);
  const bounds = state.route.getBounds();
  if (label) {
    const coords = [];
    line.eachLayer(function (layer) {
      const pts = layer.getLatLngs();
      (Array.isArray(pts[0]) ? pts.flat() : pts).forEach(function (p) { coords.push(p); });
    });
    const middle = coords.length ? coords[Math.floor(coords.length / 2)] : bounds.getCenter();
    L.tooltip({ permanent: true, direction: "center", className: "route-label", pane: "tooltipPane" })
      .setLatLng(middle)
      .setContent(escapeHtml(label))
      .addTo(state.route);
  }
  if (bounds.isValid()) map.fitBounds(bounds, { padding: [60, 60], maxZoom: 17 });
  return state.route;
}

export { clearRoute, incidentAction, showIncidentUnits, showRoute };
