/* The offline map layer, shared by the dispatcher console and the crew tablet.
 *
 * When map tiles cannot load, the screens draw the road graph in service instead: roads on
 * a canvas, street names along their roads, and the region's places (stations, hospitals,
 * squares and landmarks) as labels, so the map can be read without any tile server.
 *
 *   const layer = attach(map, { roadsUrl, placesUrl, skipKinds: ["hospital"] });
 *   layer.show().then(...)   // fetch (once) and draw; resolves with the roads' bounds
 *
 * Labels are DOM markers (class gh-street-label / gh-place-label), hidden when zoomed out
 * so far that they would cover each other.
 */
import { escapeHtml } from "./dom.js";

const MAJOR = new Set(["motorway", "trunk", "primary", "secondary", "motorway_link",
  "trunk_link", "primary_link", "secondary_link"]);
const LABEL_MIN_ZOOM = 15; // street names below this zoom would overlap into a smear
const PLACE_MIN_ZOOM = 14;
const ATTRIBUTION = "Roads &copy; OpenStreetMap contributors";
const TILE_TIMEOUT_MS = 6000;
const TILE_ERRORS_BEFORE_FALLBACK = 2;

function roadStyle(feature) {
  const major = MAJOR.has(feature.properties && feature.properties.highway);
  return {
    color: major ? "#8d939e" : "#a9aeb7",
    weight: major ? 3 : 1.6,
    opacity: 0.9,
    lineCap: "round",
    lineJoin: "round",
  };
}

// Metres along a polyline of [lon, lat] (locally flat: labels need no geodesy).
function planar(coords) {
  const lat0 = coords[0][1] * Math.PI / 180;
  return coords.map(function (c) { return [c[0] * 111320 * Math.cos(lat0), c[1] * 110540]; });
}

// One label per street name: the middle of its longest drawn piece, turned along it.
function streetLabels(features) {
  const best = new Map();
  features.forEach(function (f) {
    const name = f.properties && f.properties.name;
    const coords = f.geometry && f.geometry.coordinates;
    if (!name || !coords || coords.length < 2) return;
    const xy = planar(coords);
    let length = 0;
    for (let i = 1; i < xy.length; i += 1) {
      length += Math.hypot(xy[i][0] - xy[i - 1][0], xy[i][1] - xy[i - 1][1]);
    }
    const held = best.get(name);
    if (!held || length > held.length) best.set(name, { coords: coords, xy: xy, length: length });
  });
  const labels = [];
  best.forEach(function (piece, name) {
    let half = piece.length / 2;
    for (let i = 1; i < piece.xy.length; i += 1) {
      const dx = piece.xy[i][0] - piece.xy[i - 1][0];
      const dy = piece.xy[i][1] - piece.xy[i - 1][1];
      const step = Math.hypot(dx, dy);
      if (step >= half || i === piece.xy.length - 1) {
        const t = step ? Math.min(1, half / step) : 0;
        const a = piece.coords[i - 1];
        const b = piece.coords[i];
        // Screen y grows downwards; keep the text upright (never upside down).
        let angle = -Math.atan2(dy, dx) * 180 / Math.PI;
        if (angle > 90) angle -= 180;
        if (angle < -90) angle += 180;
        labels.push({
          name: name,
          lat: a[1] + (b[1] - a[1]) * t,
          lon: a[0] + (b[0] - a[0]) * t,
          angle: angle,
        });
        break;
      }
      half -= step;
    }
  });
  return labels;
}

function fetchJson(url, accept) {
  return fetch(url, { credentials: "same-origin", headers: { Accept: accept } })
    .then(function (response) {
      if (!response.ok) {
        return response.json().catch(function () { return {}; }).then(function (body) {
          throw new Error(body.error || "Road map unavailable (" + response.status + ").");
        });
      }
      return response.json();
    });
}

function attach(map, options) {
  const L = window.L;
  const opts = options || {};
  const skip = new Set(opts.skipKinds || []);
  const container = map.getContainer();
  if (!map.getPane("gh-roads")) map.createPane("gh-roads").style.zIndex = 350;
  if (!map.getPane("gh-labels")) {
    const pane = map.createPane("gh-labels");
    pane.style.zIndex = 360;
    pane.style.pointerEvents = "none";
  }
  const renderer = L.canvas({ pane: "gh-roads", padding: 0.5 });
  const group = L.layerGroup();
  let loading = null;
  let roadsLayer = null;

  function zoomClasses() {
    const zoom = map.getZoom();
    container.classList.toggle("gh-hide-street-labels", zoom < LABEL_MIN_ZOOM);
    container.classList.toggle("gh-hide-place-labels", zoom < PLACE_MIN_ZOOM);
  }

  function label(lat, lon, html, className) {
    return L.marker([lat, lon], {
      pane: "gh-labels",
      interactive: false,
      keyboard: false,
      icon: L.divIcon({ className: className, html: html, iconSize: null }),
    });
  }

  function drawRoads(geojson) {
    roadsLayer = L.geoJSON(geojson, {
      renderer: renderer,
      pane: "gh-roads",
      style: roadStyle,
      interactive: true,
      bubblingMouseEvents: true,
      attribution: ATTRIBUTION,
    });
    roadsLayer.bindTooltip(function (layer) {
      const p = layer.feature.properties || {};
      return escapeHtml(p.name || "Unnamed " + (p.highway || "road"));
    }, { sticky: true, direction: "top", offset: [0, -6], opacity: 0.9 });
    roadsLayer.addTo(group);
    streetLabels(geojson.features || []).forEach(function (s) {
      const html = '<span style="transform:translate(-50%,-50%) rotate(' +
        s.angle.toFixed(1) + 'deg)">' + escapeHtml(s.name) + "</span>";
      label(s.lat, s.lon, html, "gh-street-label").addTo(group);
    });
  }

  function drawPlaces(body) {
    (body.places || []).forEach(function (p) {
      if (skip.has(p.kind) || !isFinite(p.lat) || !isFinite(p.lon)) return;
      const html = '<i></i><span>' + escapeHtml(p.name) + "</span>";
      label(p.lat, p.lon, html, "gh-place-label gh-place-" + p.kind).addTo(group);
    });
  }

  function show() {
    container.classList.add("gh-offline-map");
    if (!map.hasLayer(group)) group.addTo(map);
    zoomClasses();
    if (!loading) {
      const roads = fetchJson(opts.roadsUrl || "/dispatch/map/roads.geojson",
        "application/geo+json").then(drawRoads);
      // Places are a help, not a need: a failure leaves the roads drawn.
      const places = fetchJson(opts.placesUrl || "/dispatch/map/places.json",
        "application/json").then(drawPlaces, function () { return null; });
      loading = Promise.all([roads, places]).then(function () {
        return roadsLayer ? roadsLayer.getBounds() : null;
      }, function (err) {
        loading = null;
        throw err;
      });
    }
    return loading;
  }

  map.on("zoomend", zoomClasses);
  return {
    show: show,
    bounds: function () { return roadsLayer ? roadsLayer.getBounds() : null; },
  };
}

// Tiles when they load; the offline layer when there is no tile URL, when the first tiles
// fail, or when none has loaded in time (a blackholed tile server neither loads nor errors).
function baseMap(map, tileUrl, layer, onFallback) {
  const L = window.L;
  let done = false;
  function fallBack() {
    if (done) return;
    done = true;
    window.clearTimeout(timer);
    if (tiles) map.removeLayer(tiles);
    if (onFallback) onFallback();
    layer.show().catch(function () { return null; });
  }
  const url = (tileUrl || "").trim();
  let tiles = null;
  let timer = null;
  if (!url) {
    fallBack();
    return;
  }
  let loaded = false;
  let errors = 0;
  tiles = L.tileLayer(url, { maxZoom: 19, attribution: "&copy; OpenStreetMap contributors" });
  timer = window.setTimeout(function () { if (!loaded) fallBack(); }, TILE_TIMEOUT_MS);
  tiles.on("tileload", function () { loaded = true; window.clearTimeout(timer); });
  tiles.on("tileerror", function () {
    errors += 1;
    if (!loaded && errors >= TILE_ERRORS_BEFORE_FALLBACK) fallBack();
  });
  tiles.addTo(map);
}

export { attach, baseMap, streetLabels };
