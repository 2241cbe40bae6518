// Dispatcher console: live map (Leaflet), unit / incident / hospital lists, socket updates.
// Exposes window.GoldenHour.console for the intake and dispatch code that builds on it.
"use strict";
(function () {
  const GH = (window.GoldenHour = window.GoldenHour || {});
  const mapEl = document.getElementById("map");
  if (!mapEl || typeof window.L === "undefined") return;
  const L = window.L;

  const DEFAULT_CENTRE = [60.1699, 24.9384]; // used only until the first data or roads arrive
  const TILE_ERRORS_BEFORE_FALLBACK = 3;
  const TILE_TIMEOUT_MS = 6000; // a blackholed tile server neither loads nor errors for long
  const OSM_ATTRIBUTION =
    '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors';
  const STATUS_LABELS = {
    available: "Available",
    dispatched: "Dispatched",
    en_route: "En route",
    on_scene: "On scene",
    transporting: "Transporting",
    at_destination: "At destination",
    out_of_service: "Out of service",
  };

  const unitList = document.getElementById("unit-list");
  const incidentList = document.getElementById("incident-list");
  const hospitalList = document.getElementById("hospital-list");

  const state = {
    units: new Map(), // id -> {data, marker, li}
    hospitals: new Map(),
    incidents: new Map(),
    presence: new Map(), // unit id -> device id (online) ; absent = offline
    stacks: new Map(), // rounded position -> unit ids standing there (a station's fleet)
    roadsLayer: null,
    fitted: false,
    userMoved: false,
    seq: null, // last sequence number applied from the centre stream
    route: null,
    pick: null,
    clickHandlers: [],
    messageHandlers: new Map(),
    lastPopupClose: 0,
    unitPick: null, // unit id while the dispatcher picks its position on the map
  };

  // ---- helpers ---------------------------------------------------------------------------

  function escapeHtml(value) {
    return String(value == null ? "" : value).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text != null) node.textContent = text;
    return node;
  }

  function cssToken(value) {
    return String(value == null ? "" : value).toLowerCase().replace(/[^a-z0-9_-]/g, "");
  }

  function statusLabel(status) {
    if (STATUS_LABELS[status]) return STATUS_LABELS[status];
    const text = String(status || "unknown").replace(/_/g, " ");
    return text.charAt(0).toUpperCase() + text.slice(1);
  }

  function hasPosition(item) {
    return item && Number.isFinite(Number(item.lat)) && Number.isFinite(Number(item.lon)) &&
      item.lat !== null && item.lon !== null;
  }

  // MPDS determinant levels: Echo/Delta red, Charlie orange, Bravo yellow, Alpha/Omega blue.
  function priorityColour(priority) {
    const p = String(priority || "").trim().toLowerCase().charAt(0);
    if (p === "e" || p === "d") return "red";
    if (p === "c") return "orange";
    if (p === "b") return "yellow";
    return "blue";
  }

  function priorityLabel(priority) {
    const p = String(priority || "").trim();
    return p ? p.charAt(0).toUpperCase() + p.slice(1).toLowerCase() : "—";
  }

  function sinceText(iso) {
    if (!iso) return "no GPS fix yet";
    const then = Date.parse(iso);
    if (!Number.isFinite(then)) return "";
    const s = Math.max(0, Math.round((Date.now() - then) / 1000));
    if (s < 60) return "fix " + s + " s ago";
    if (s < 3600) return "fix " + Math.round(s / 60) + " min ago";
    return "fix " + dayClock(iso);
  }

  // 24-hour clock whatever the browser's locale: "14:02".
  function clock(iso) {
    const d = new Date(iso);
    if (!Number.isFinite(d.getTime())) return "";
    return String(d.getHours()).padStart(2, "0") + ":" + String(d.getMinutes()).padStart(2, "0");
  }

  function dayClock(iso) {
    const d = new Date(iso);
    if (!Number.isFinite(d.getTime())) return "";
    return d.getDate() + "." + (d.getMonth() + 1) + ". " + clock(iso);
  }

  // "manual, 14:02 by Anna Virtanen": a dispatcher's change by hand (radio report).
  function manualText(at, by) {
    return "manual" + (at ? ", " + clock(at) : "") + (by ? " by " + by : "");
  }

  // What a dispatcher may set by hand (dispatch/services.py unit_status_options): without an
  // assignment in or out of service; with one, the assignment's next state.
  const STATUS_BY_HAND = {
    available: ["out_of_service"],
    out_of_service: ["available"],
    dispatched: ["en_route"],
    en_route: ["on_scene"],
    on_scene: ["transporting", "available"],
    transporting: ["at_destination"],
    at_destination: ["available"],
  };

  function readJson(id) {
    const node = document.getElementById(id);
    if (!node) return [];
    try {
      const value = JSON.parse(node.textContent);
      return Array.isArray(value) ? value : [];
    } catch (err) {
      return [];
    }
  }

  function insertSorted(list, li, key) {
    const items = Array.prototype.slice.call(list.children);
    const next = items.find(function (other) {
      return other !== li && (other.dataset.sortKey || "").localeCompare(key, undefined, { numeric: true }) > 0;
    });
    li.dataset.sortKey = key;
    if (next) list.insertBefore(li, next);
    else list.appendChild(li);
  }

  function select(li) {
    document.querySelectorAll(".item-list > li.selected").forEach(function (node) {
      node.classList.remove("selected");
    });
    if (li) li.classList.add("selected");
  }

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
  const offlineMap = window.GHRoadMap.attach(map, {
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

  const csrfInput = document.querySelector("input[name=csrfmiddlewaretoken]");

  function postJson(url, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: {
        "Content-Type": "application/json", Accept: "application/json",
        "X-CSRFToken": csrfInput ? csrfInput.value : "",
      },
      body: JSON.stringify(body),
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        if (response.ok) return data;
        const text = Object.keys(data).filter(function (k) { return k !== "code"; }).map(function (k) {
          const v = data[k];
          return (k === "detail" || k === "non_field_errors" ? "" : k.replace(/_/g, " ") + ": ") +
            (Array.isArray(v) ? v.join(" ") : String(v));
        }).join(" ");
        throw new Error(text || "The server refused the change (" + response.status + ").");
      });
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
    return postJson("/api/v1/units/" + unitId + "/position/", body).then(function (unit) {
      upsertUnit(unit);
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
        postJson("/api/v1/units/" + unitId + "/status/", { status: choice.value }).then(function (unit) {
          upsertUnit(unit);
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
    state.units.forEach(function (entry) { if (entry.data.status === "available") available += 1; });
    if (count) {
      count.textContent = String(state.units.size);
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

  // ---- hospitals -------------------------------------------------------------------------

  const LABEL_LINE_PX = 18;
  const SQUARE_HALF_PX = 11;
  const LABEL_GAP_PX = 14; // from the square's centre to the label's left edge
  const LABEL_CHAR_PX = 6.6; // 11px semibold, generous so estimates never undershoot

  function hospitalIcon(h, labelShift, labelLeft) {
    const shift = labelShift ? ' style="top:' + labelShift + 'px"' : "";
    const side = labelLeft ? " left" : "";
    return L.divIcon({
      className: "gh-marker",
      iconSize: null,
      html:
        '<div class="hospital-marker is-' + cssToken(h.ed_status) + '"><span class="sq">H</span>' +
        '<span class="label' + side + '"' + shift + ">" + escapeHtml(h.name) + "</span></div>",
    });
  }

  // Hospital campuses sit close together (Meilahti has three); push a label down until it
  // clears the labels already placed and every hospital square, so names stay readable.
  function declutterHospitalLabels() {
    const entries = Array.from(state.hospitals.values()).filter(function (e) { return e.marker; });
    entries.sort(function (a, b) { return Number(b.data.lat) - Number(a.data.lat); });
    const points = entries.map(function (e) { return map.latLngToContainerPoint(e.marker.getLatLng()); });
    const boxes = points.map(function (p) {
      return { x0: p.x - SQUARE_HALF_PX, x1: p.x + SQUARE_HALF_PX, y0: p.y - SQUARE_HALF_PX, y1: p.y + SQUARE_HALF_PX };
    });
    function overlaps(a, b) {
      return a.x0 < b.x1 && b.x0 < a.x1 && a.y0 < b.y1 && b.y0 < a.y1;
    }
    const size = map.getSize();
    const mapRect = mapEl.getBoundingClientRect();
    const controls = Array.prototype.map.call(
      mapEl.querySelectorAll(".leaflet-control"),
      function (node) {
        const r = node.getBoundingClientRect();
        return { x0: r.left - mapRect.left, x1: r.right - mapRect.left, y0: r.top - mapRect.top, y1: r.bottom - mapRect.top };
      }
    );
    function blocked(label, i) {
      if (label.x0 < 0 || label.x1 > size.x) return true;
      if (controls.some(function (box) { return overlaps(label, box); })) return true;
      return boxes.some(function (box, j) { return j !== i && overlaps(label, box); });
    }
    entries.forEach(function (entry, i) {
      const p = points[i];
      const width = 8 + LABEL_CHAR_PX * String(entry.data.name || "").length;
      function candidate(attempt) {
        const shift = Math.floor(attempt / 2) * LABEL_LINE_PX;
        const left = attempt % 2 === 1;
        const x0 = left ? p.x - LABEL_GAP_PX - width : p.x + LABEL_GAP_PX;
        return {
          shift: shift, left: left,
          box: { x0: x0, x1: x0 + width, y0: p.y + shift - LABEL_LINE_PX / 2, y1: p.y + shift + LABEL_LINE_PX / 2 },
        };
      }
      // Right of the square, then left of it, then the same one line lower, and so on;
      // when nothing is free, right of the square as usual.
      let chosen = null;
      for (let attempt = 0; attempt < 24 && !chosen; attempt += 1) {
        const c = candidate(attempt);
        if (!blocked(c.box, i)) chosen = c;
      }
      if (!chosen) chosen = candidate(0);
      const shift = chosen.shift;
      const left = chosen.left;
      boxes.push(chosen.box);
      if (entry.labelShift !== shift || entry.labelLeft !== left || entry.iconStale) {
        entry.labelShift = shift;
        entry.labelLeft = left;
        entry.iconStale = false;
        entry.marker.setIcon(hospitalIcon(entry.data, shift, left));
      }
    });
  }
  map.on("moveend", declutterHospitalLabels);

  function hospitalPopup(h) {
    const diversion = h.ed_status === "diversion";
    const caps = Array.isArray(h.capabilities) && h.capabilities.length
      ? h.capabilities.join(", ").replace(/_/g, " ") : "general";
    return (
      "<h4>" + escapeHtml(h.name) + "</h4>" +
      '<p>ED: <span class="badge ed-' + cssToken(h.ed_status) + '">' +
      (diversion ? "On diversion" : escapeHtml(h.ed_status || "unknown")) + "</span></p>" +
      (diversion && h.diversion_reason ? "<p><strong>Reason:</strong> " + escapeHtml(h.diversion_reason) + "</p>" : "") +
      "<p>Capabilities: " + escapeHtml(caps) + "</p>"
    );
  }

  function upsertHospital(h) {
    if (!h || h.id == null) return;
    const id = String(h.id);
    let entry = state.hospitals.get(id);
    if (!entry) {
      entry = { data: h, marker: null, li: null };
      state.hospitals.set(id, entry);
    }
    entry.data = Object.assign({}, entry.data, h);
    const data = entry.data;
    if (hasPosition(data)) {
      const latlng = [Number(data.lat), Number(data.lon)];
      if (!entry.marker) {
        entry.marker = L.marker(latlng, { icon: hospitalIcon(data, 0, false), zIndexOffset: 0, keyboard: false, title: data.name })
          .bindPopup(function () { return hospitalPopup(entry.data); })
          .addTo(hospitalLayer);
        entry.marker.on("click", function () { select(entry.li); });
      } else {
        entry.marker.setLatLng(latlng);
        entry.iconStale = true;
        if (entry.marker.isPopupOpen()) entry.marker.setPopupContent(hospitalPopup(data));
      }
      declutterHospitalLabels();
    }
    if (hospitalList) {
      let li = entry.li || hospitalList.querySelector('li[data-hospital-id="' + CSS.escape(id) + '"]');
      if (!li) li = el("li", "hospital");
      li.tabIndex = 0;
      li.dataset.hospitalId = id;
      li.dataset.edStatus = data.ed_status || "";
      li.replaceChildren();
      li.appendChild(el("span", "hospital-name", data.name));
      li.appendChild(el("span", "badge ed-" + cssToken(data.ed_status),
        data.ed_status === "diversion" ? "Diversion" : data.ed_status || "unknown"));
      if (data.ed_status === "diversion" && data.diversion_reason) {
        li.appendChild(el("span", "hospital-reason", data.diversion_reason));
      }
      entry.li = li;
      insertSorted(hospitalList, li, String(data.name || ""));
    }
  }

  function removeHospital(id) {
    const key = String(id);
    const entry = state.hospitals.get(key);
    if (!entry) return;
    if (entry.marker) hospitalLayer.removeLayer(entry.marker);
    if (entry.li) entry.li.remove();
    state.hospitals.delete(key);
    declutterHospitalLabels();
  }

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
      incidentActions(incident) +
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
      rows +
      '<div class="close-row"><select class="disposition" aria-label="Disposition">' +
      DISPOSITIONS.map(function (d) { return '<option value="' + d[0] + '">' + escapeHtml(d[1]) + "</option>"; }).join("") +
      '</select> <button type="button" data-incident-action="close" data-incident-id="' + id + '">Close incident</button></div>' +
      '<p class="action-result" role="status"></p></div>';
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
        entry.marker.on("click", function () { select(entry.li); });
      } else {
        entry.marker.setLatLng(latlng);
        entry.marker.setIcon(incidentIcon(data));
        if (entry.marker.isPopupOpen()) entry.marker.setPopupContent(incidentPopup(data));
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
      request = post("/api/v1/incidents/" + incidentId + "/upgrade/", { accept: true, determinant: button.dataset.determinant })
        .then(function (data) { upsertIncident(data); return "Upgraded to " + priorityLabel(data.determinant) + "."; });
    } else if (action === "cancel") {
      request = post("/api/v1/assignments/" + button.dataset.assignmentId + "/transition/", { status: "cancelled", note: "cancelled by dispatch", device_id: "console" })
        .then(function (data) { return data.call_sign + " cancelled."; });
    } else if (action === "replace") {
      const row = button.closest(".assignment-actions");
      const choice = row ? row.querySelector("select.replace-unit") : null;
      request = post("/api/v1/assignments/" + button.dataset.assignmentId + "/replace/", { unit_id: Number(choice.value), device_id: "console" })
        .then(function (data) { return data.call_sign + " dispatched instead."; });
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

  // ---- map clicks: locate the caller ------------------------------------------------------

  function onMapClick(callback) {
    if (typeof callback !== "function") return function () {};
    state.clickHandlers.push(callback);
    return function () {
      state.clickHandlers = state.clickHandlers.filter(function (fn) { return fn !== callback; });
    };
  }

  const latInput = document.getElementById("location_lat");
  const lonInput = document.getElementById("location_lon");
  const pickHint = document.getElementById("location-pick");
  const pickDefault = pickHint ? pickHint.textContent : "";

  function setPick(lat, lon) {
    if (state.pick) map.removeLayer(state.pick);
    state.pick = null;
    if (latInput) latInput.value = lat == null ? "" : lat.toFixed(6);
    if (lonInput) lonInput.value = lon == null ? "" : lon.toFixed(6);
    if (pickHint) {
      pickHint.textContent = lat == null ? pickDefault : "Pin at " + lat.toFixed(5) + ", " + lon.toFixed(5);
      pickHint.classList.toggle("picked", lat != null);
    }
    if (lat == null) return;
    state.pick = L.marker([lat, lon], {
      icon: L.divIcon({ className: "gh-marker pick-marker", iconSize: null, html: '<div class="cross"></div>' }),
      interactive: false,
      zIndexOffset: 2000,
    }).addTo(map);
  }

  map.on("click", function (event) {
    const lat = event.latlng.lat;
    const lon = event.latlng.lng;
    // Placing a unit by hand: this click is its position, not the caller's.
    if (state.unitPick) {
      const unitId = state.unitPick;
      stopUnitPick();
      setUnitPosition(unitId, { lat: Number(lat.toFixed(6)), lon: Number(lon.toFixed(6)) });
      return;
    }
    // A click that only closed a popup is not a location.
    if (Date.now() - state.lastPopupClose < 250) return;
    setPick(lat, lon);
    state.clickHandlers.forEach(function (fn) { fn(lat, lon); });
  });

  const form = document.getElementById("intake-form");
  if (form) form.addEventListener("reset", function () { setPick(null, null); });
  // ---- socket ----------------------------------------------------------------------------

  function applySnapshot(data) {
    const units = Array.isArray(data.units) ? data.units : [];
    const hospitals = Array.isArray(data.hospitals) ? data.hospitals : [];
    const unitIds = new Set(units.map(function (u) { return String(u.id); }));
    Array.from(state.units.keys()).forEach(function (id) { if (!unitIds.has(id)) removeUnit(id); });
    unitList.querySelectorAll("li[data-unit-id]").forEach(function (li) {
      if (!unitIds.has(li.dataset.unitId)) li.remove();
    });
    units.forEach(upsertUnit);
    // Tablets online when the snapshot was taken; events keep it current from here on.
    if (Array.isArray(data.presence)) {
      const online = new Map(data.presence.map(function (p) { return [String(p.unit_id), p.device_id]; }));
      Array.from(state.presence.keys()).forEach(function (id) { if (!online.has(id)) setPresence(id, null); });
      online.forEach(function (device, id) { setPresence(id, device || "tablet"); });
    }
    const hospitalIds = new Set(hospitals.map(function (h) { return String(h.id); }));
    Array.from(state.hospitals.keys()).forEach(function (id) { if (!hospitalIds.has(id)) removeHospital(id); });
    hospitals.forEach(upsertHospital);
    if (Array.isArray(data.incidents)) {
      const incidentIds = new Set(data.incidents.map(function (i) { return String(i.id); }));
      Array.from(state.incidents.keys()).forEach(function (id) { if (!incidentIds.has(id)) removeIncident(id); });
      data.incidents.forEach(upsertIncident);
    }
    updateUnitCounts();
    updateIncidentCounts();
    if (!state.fitted) fitFirstLoad();
  }

  // Events of the centre stream carry a sequence number: drop repeats, and on a gap ask the
  // server for what was missed (it answers from its event log, or with a fresh snapshot).
  // One resync at a time: every event of a batch frame behind a gap would ask again.
  const RESYNC_EVERY_MS = 20000;
  const RESYNC_TIMEOUT_MS = 10000;
  let resyncing = null; // {reason: "gap" | "timer" | "probe", at} until its answer comes

  function resync(reason) {
    if (!socket || state.seq == null) return;
    if (resyncing && Date.now() - resyncing.at < RESYNC_TIMEOUT_MS) return;
    if (socket.send({ type: "resync", since: state.seq })) resyncing = { reason: reason, at: Date.now() };
  }

  function inSequence(msg) {
    if (msg.type === "dispatch.board.snapshot") {
      state.seq = typeof msg.seq === "number" ? msg.seq : 0;
      resyncing = null;
      return true;
    }
    if (msg.type === "replay") return false;
    if (typeof msg.seq !== "number" || state.seq == null) return true;
    if (msg.seq <= state.seq) return false;
    // For a late console the server merges consecutive position events into one that covers
    // seq_from..seq (realtime/fanout.py); it follows on if its range starts at or before ours.
    const first = typeof msg.seq_from === "number" ? msg.seq_from : msg.seq;
    if (first > state.seq + 1) {
      resync("gap");
      return false;
    }
    state.seq = msg.seq;
    return true;
  }

  // Flow control (realtime/fanout.py): the server holds back a console that has not confirmed
  // what it was sent for over 2 s and merges its positions meanwhile, so a slow console gets
  // the newest places instead of a growing backlog. Sent at most every 500 ms, and again for
  // a frame of repeats: the server counts those frames as unconfirmed too.
  const SEEN_EVERY_MS = 500;
  const seen = { at: 0, timer: null };
  function sendSeenSoon() {
    if (!socket || seen.timer !== null) return;
    seen.timer = setTimeout(function () {
      seen.timer = null;
      if (state.seq != null && socket.send({ type: "seen", seq: state.seq })) seen.at = Date.now();
    }, Math.max(0, seen.at + SEEN_EVERY_MS - Date.now()));
  }

  // ---- is the map's data late? -----------------------------------------------------------
  // From the envelope's server time (`ts`) against this browser's clock, corrected by the
  // offset the snapshot showed (clock skew plus its delivery time, lowered by any quicker
  // delivery since). Late: the last live event applied came more than LATE_MS after the
  // server sent it; or units were reporting and a resync on a timer found events the live
  // feed never brought; or units were reporting and nothing at all came for SILENT_MS.
  const LATE_MS = 5000;
  const SILENT_MS = 15000; // above the tablets' 10 s between fixes (tablet.js)
  const PROBE_SILENT_MS = 12000;
  const REPORTING_MS = 60000;
  const lateEl = document.getElementById("data-late");
  const live = {
    offset: null, // browser clock minus server clock (ms)
    lastTs: null, // server time of the last event applied
    delay: 0, // how long after its server time the last live event was applied
    lastFrameAt: Date.now(), // anything at all from the server
    lastMovedAt: 0, // positions applied: units are reporting
    replayHead: null, // events up to this seq come from a replay (catch-up), not live
    broken: false, // a timed resync found events the live feed had not brought
    quietConfirmed: false, // a timed resync found nothing missing since the last positions
    probedAt: 0,
  };

  function noteReplay(msg) {
    const reason = resyncing ? resyncing.reason : "timer";
    resyncing = null;
    const head = typeof msg.head === "number" ? msg.head : null;
    live.replayHead = head;
    // After a gap the live feed evidently works; only a resync asked on a timer tells
    // whether it is whole.
    if (reason === "gap" || head === null || state.seq == null) return;
    if (head <= state.seq) {
      live.broken = false;
      live.delay = 0;
      live.quietConfirmed = true;
    } else {
      live.broken = true;
    }
  }

  function noteTiming(msg) {
    const ts = typeof msg.ts === "string" ? Date.parse(msg.ts) : NaN;
    if (!Number.isFinite(ts)) return;
    const sample = Date.now() - ts;
    if (msg.type === "dispatch.board.snapshot") {
      live.offset = sample;
      live.lastTs = ts;
      live.delay = 0;
      live.broken = false;
      live.replayHead = null;
      return;
    }
    if (live.offset === null || sample < live.offset) live.offset = sample;
    live.lastTs = ts;
    const replayed = typeof msg.seq === "number" && live.replayHead !== null && msg.seq <= live.replayHead;
    if (!replayed) {
      live.delay = sample - live.offset;
      if (live.delay <= LATE_MS) live.broken = false;
    }
  }

  function lateText() {
    if (!socket || !socket.isOpen() || live.lastTs === null || live.offset === null) return "";
    const now = Date.now();
    const age = now - live.offset - live.lastTs;
    const silent = now - live.lastFrameAt;
    const reporting = now - live.lastMovedAt < REPORTING_MS;
    if (live.delay > LATE_MS || (reporting && live.broken && age > LATE_MS)) {
      return "Map data is " + Math.round(age / 1000) + " s late";
    }
    if (reporting && !live.quietConfirmed && silent > SILENT_MS) {
      return "No map updates for " + Math.round(silent / 1000) + " s";
    }
    return "";
  }

  function watchLateness() {
    const now = Date.now();
    const silent = now - live.lastFrameAt;
    const reporting = now - live.lastMovedAt < REPORTING_MS;
    // Ask the server rather than guess: its answer says whether anything is missing (and
    // brings it), so a quiet fleet is not reported late and a dead feed is healed sooner.
    const unsure = (live.delay > LATE_MS && silent > 3000) ||
      (reporting && !live.quietConfirmed && silent > PROBE_SILENT_MS);
    if (unsure && now - live.probedAt > 5000) {
      live.probedAt = now;
      resync("probe");
    }
    if (!lateEl) return;
    const text = lateText();
    if (lateEl.textContent !== text) lateEl.textContent = text;
    lateEl.hidden = !text;
  }

  function handleMessage(msg) {
    if (!msg || typeof msg.type !== "string") return;
    live.lastFrameAt = Date.now();
    if (msg.type === "replay") noteReplay(msg);
    if (typeof msg.seq === "number") sendSeenSoon();
    if (!inSequence(msg)) return;
    noteTiming(msg);
    const data = msg.data || {};
    switch (msg.type) {
      case "dispatch.board.snapshot":
        applySnapshot(data);
        break;
      case "dispatch.unit.online":
        setPresence(data.unit_id, data.device_id || "tablet");
        break;
      case "dispatch.unit.offline":
        setPresence(data.unit_id, null);
        break;
      case "dispatch.unit.updated":
        upsertUnit(data);
        break;
      case "dispatch.units.moved":
        moveUnits(Array.isArray(data.units) ? data.units : []);
        live.lastMovedAt = Date.now();
        live.quietConfirmed = false;
        break;
      case "dispatch.incident.created":
      case "dispatch.incident.updated":
        upsertIncident(data);
        break;
      case "handoff.hospital.updated":
        upsertHospital(data);
        break;
      default:
        break;
    }
    const extra = state.messageHandlers.get(msg.type);
    if (extra) extra.forEach(function (fn) { fn(msg); });
  }

  function on(type, callback) {
    if (!state.messageHandlers.has(type)) state.messageHandlers.set(type, []);
    state.messageHandlers.get(type).push(callback);
  }

  // ---- start -----------------------------------------------------------------------------

  readJson("initial-hospitals").forEach(upsertHospital);
  readJson("initial-units").forEach(upsertUnit);
  readJson("initial-incidents").forEach(upsertIncident);
  updateIncidentCounts();
  fitFirstLoad();
  startBaseMap();

  const socket = GH.connect ? GH.connect("/ws/dispatch/", {
    message: handleMessage,
    open: function () {
      // A new connection starts with a snapshot, which sets the clock offset afresh.
      resyncing = null;
      live.offset = null;
      live.lastFrameAt = Date.now();
    },
  }) : null;
  if (socket) {
    // The channel layer may drop the last event of a quiet spell and nothing later would show
    // the gap; asking every 20 s costs one replay header when nothing was missed.
    setInterval(function () { resync("timer"); }, RESYNC_EVERY_MS);
    setInterval(watchLateness, 1000);
  }

  GH.console = {
    map: map,
    socket: socket,
    upsertUnit: upsertUnit,
    removeUnit: removeUnit,
    upsertHospital: upsertHospital,
    upsertIncident: upsertIncident,
    setLiveEta: setLiveEta,
    removeIncident: removeIncident,
    showRoute: showRoute,
    clearRoute: clearRoute,
    onMapClick: onMapClick,
    on: on,
    incident: function (id) { const e = state.incidents.get(String(id)); return e ? e.data : null; },
    unit: function (id) { const e = state.units.get(String(id)); return e ? e.data : null; },
    mmss: mmss,
  };
})();
