// The console's Leaflet map: its layers and legend, the first fit, and the base map (tiles,
// or the offline road layer from js/roadmap.js when tiles cannot load).
import { el } from "../../js/dom.js";
import { attach } from "../../js/roadmap.js";
import { DEFAULT_CENTRE, L, OSM_ATTRIBUTION, TILE_ERRORS_BEFORE_FALLBACK, TILE_TIMEOUT_MS, mapEl, state } from "./state.js";

// ---- map -------------------------------------------------------------------------------

const map = L.map(mapEl, { zoomControl: true, preferCanvas: false, minZoom: 3, maxZoom: 19 });
map.setView(DEFAULT_CENTRE, 14);
map.createPane("route").style.zIndex = 420;
const hospitalLayer = L.layerGroup().addTo(map);
const unitLayer = L.layerGroup().addTo(map);
const incidentLayer = L.layerGroup().addTo(map);

map.on("dragstart", function () { state.userMoved = true; });
map.on("popupclose", function () { state.lastPopupClose = Date.now(); });

const legend = L.control({ position: "bottomleft" });
let legendNote = null;
legend.onAdd = function () {
  const box = el("div", "map-legend");
  const rows = [
    ["var(--c-available)", "Available"],
    ["var(--c-committed)", "Dispatched / en route"],
    ["var(--c-on-scene)", "On scene"],
    ["var(--c-transporting)", "Transporting"],
    ["var(--c-at-destination)", "At destination"],
    ["var(--c-out-of-service)", "Out of service"],
  ];
  rows.forEach(function (row) {
    const line = el("div");
    const swatch = el("i");
    swatch.style.background = row[0];
    line.appendChild(swatch);
    line.appendChild(document.createTextNode(row[1]));
    box.appendChild(line);
  });
  const h = el("div");
  const sq = el("i", "sq");
  sq.style.background = "var(--c-at-destination)";
  h.appendChild(sq);
  h.appendChild(document.createTextNode("Hospital (red: on diversion)"));
  box.appendChild(h);
  legendNote = el("div", "note");
  legendNote.hidden = true;
  box.appendChild(legendNote);
  L.DomEvent.disableClickPropagation(box);
  return box;
};
legend.addTo(map);

function setMapNote(text) {
  if (!legendNote) return;
  legendNote.textContent = text || "";
  legendNote.hidden = !text;
}

function dataBounds(includeRoads) {
  const bounds = L.latLngBounds([]);
  [state.units, state.hospitals, state.incidents].forEach(function (items) {
    items.forEach(function (entry) {
      if (entry.marker) bounds.extend(entry.marker.getLatLng());
    });
  });
  if (includeRoads && state.roadsLayer) {
    const roads = state.roadsLayer.getBounds();
    if (roads.isValid()) bounds.extend(roads);
  }
  return bounds;
}

// Fit to everything we know on first load; roads arriving later widen the view once more,
// unless the dispatcher has already moved the map.
function fitFirstLoad() {
  if (state.userMoved) return;
  const bounds = dataBounds(true);
  if (!bounds.isValid()) return;
  map.fitBounds(bounds, { padding: [30, 30], maxZoom: 16 });
  state.fitted = true;
}

// ---- roads: the base layer when map tiles are unavailable --------------------------------

// Drawn by the shared offline layer (static/js/roadmap.js): roads, street names, places.
// Hospitals have their own live markers here, so the layer leaves them out.
const offlineMap = attach(map, {
  roadsUrl: mapEl.dataset.roadsUrl, placesUrl: mapEl.dataset.placesUrl, skipKinds: ["hospital"],
});

function loadRoads(reason) {
  mapEl.classList.add("roads-only");
  if (reason) setMapNote(reason);
  offlineMap.show().then(function (bounds) {
    state.roadsLayer = { getBounds: function () { return bounds; } };
    fitFirstLoad();
  }, function (err) {
    setMapNote(err.message || "Road map unavailable.");
  });
}

function startBaseMap() {
  const url = (mapEl.dataset.tileUrl || "").trim();
  if (!url) {
    loadRoads("Road network view (no map tiles configured)");
    return;
  }
  const tiles = L.tileLayer(url, { maxZoom: 19, attribution: OSM_ATTRIBUTION });
  let loaded = false;
  let errors = 0;
  let done = false;
  const timer = window.setTimeout(function () { if (!loaded) fallBack(); }, TILE_TIMEOUT_MS);
  function fallBack() {
    if (done) return;
    done = true;
    window.clearTimeout(timer);
    map.removeLayer(tiles);
    loadRoads("Map tiles unavailable: showing the road network");
  }
  tiles.on("tileload", function () {
    loaded = true;
    window.clearTimeout(timer);
  });
  tiles.on("tileerror", function () {
    errors += 1;
    if (!loaded && errors >= TILE_ERRORS_BEFORE_FALLBACK) fallBack();
  });
  tiles.addTo(map);
}

export { fitFirstLoad, hospitalLayer, incidentLayer, map, setMapNote, startBaseMap, unitLayer };
