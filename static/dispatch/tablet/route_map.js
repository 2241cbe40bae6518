// The tablet's route map: Leaflet with tiles or the offline road layer (js/roadmap.js), the
// route, the incident and the destination.
import { attach, baseMap } from "../../js/roadmap.js";
import { el, root } from "./state.js";

// ---- map (only when Leaflet is present; the route line needs no tiles) ---------------------
// Leaflet puts a string tooltip in as HTML; a name from the server goes in as text.
function textTooltip(text) {
  const node = document.createElement("span");
  node.textContent = text;
  return node;
}
const mapState = { map: null, layer: null, key: null };
function renderMap(a, hospital) {
  if (!window.L || !el.map) {
    if (el.map) el.map.hidden = true;
    return;
  }
  const incident = a.incident || {};
  const coords = a.route && a.route.geometry ? a.route.geometry.coordinates : [];
  const key = a.id + ":" + coords.length + ":" + (coords[0] || []).join(",") + ":" +
    (hospital ? hospital.name : "");
  if (!mapState.map) {
    mapState.map = window.L.map(el.map, { zoomControl: true, attributionControl: true });
    // Tiles, or the road graph with street names and places when they cannot load.
    const offline = attach(mapState.map, {
      roadsUrl: root.dataset.roadsUrl, placesUrl: root.dataset.placesUrl,
    });
    baseMap(mapState.map, root.dataset.tileUrl, offline, function () {
      el.map.classList.add("no-tiles");
    });
  }
  mapState.map.invalidateSize();
  if (mapState.key === key) return;
  mapState.key = key;
  if (mapState.layer) mapState.layer.remove();
  const layer = window.L.featureGroup();
  if (coords.length > 1) {
    const line = coords.map(function (c) { return [c[1], c[0]]; });
    window.L.polyline(line, { color: "#ffffff", weight: 11, opacity: 0.9 }).addTo(layer);
    window.L.polyline(line, { color: "#1f5fd6", weight: 6, opacity: 1 }).addTo(layer);
    window.L.circleMarker(line[0], {
      radius: 9, color: "#ffffff", weight: 3, fillColor: "#1f5fd6", fillOpacity: 1,
    }).bindTooltip("You").addTo(layer);
  }
  if (typeof incident.lat === "number" && typeof incident.lon === "number") {
    window.L.circleMarker([incident.lat, incident.lon], {
      radius: 12, color: "#ffffff", weight: 3, fillColor: "#c62828", fillOpacity: 1,
    }).bindTooltip("Incident").addTo(layer);
  }
  if (hospital && isFinite(hospital.lat) && isFinite(hospital.lon)) {
    window.L.circleMarker([hospital.lat, hospital.lon], {
      radius: 12, color: "#ffffff", weight: 3, fillColor: "#5a2385", fillOpacity: 1,
    }).bindTooltip(textTooltip(hospital.name), { permanent: true, direction: "right" }).addTo(layer);
  }
  layer.addTo(mapState.map);
  mapState.layer = layer;
  const bounds = layer.getBounds();
  if (bounds.isValid()) mapState.map.fitBounds(bounds, { padding: [36, 36], maxZoom: 15 });
}

export { mapState, renderMap };
