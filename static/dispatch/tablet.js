// The crew tablet: the current assignment, its route, status buttons and GPS reporting.
//
// Everything the crew does goes through the persistent outbox (static/js/outbox.js), so it
// survives a lost link or a reload and is applied once. The unit stream is followed by
// sequence number: the page starts from the server-rendered state at the stream head, the
// socket connects with ?since=<last seq>, a gap asks for a resync, and a periodic resync
// heals a last event that the channel layer dropped (nothing later would reveal that gap).
"use strict";
(function () {
  const root = document.getElementById("tablet");
  if (!root) return;
  const unitId = root.dataset.unitId;
  const stream = "dispatch.unit." + unitId;
  const KEY = "gh.crew." + unitId;

  // The service worker (templates/dispatch/tablet_sw.js) keeps the page and its files so the
  // tablet reloads with no network; the outbox and the record are in localStorage.
  if ("serviceWorker" in navigator && root.dataset.swUrl) {
    navigator.serviceWorker.register(root.dataset.swUrl, { scope: root.dataset.swScope })
      .catch(function () { /* no offline copy (private window, http on a non-local host) */ });
  }
  const RESYNC_EVERY_MS = 30000;
  const POSITION_EVERY_MS = 10000;
  // watchPosition stays silent while the fix does not change (a parked ambulance), and the
  // centre then sees the unit as stale: ask for a fresh fix when none went out for this long
  // (CREW_POSITION_HEARTBEAT_SECONDS, docs/protocol.md).
  const HEARTBEAT_MS = Math.max(10, Number(root.dataset.positionHeartbeatS) || 30) * 1000;
  const STILL_MPS = 1;
  const STILL_METRES = 25;
  const CONFIRM_MS = 4000;
  const ACTIVE = ["dispatched", "en_route", "on_scene", "transporting", "at_destination"];
  const UNIT_STATUS_FOR = {
    dispatched: "dispatched", en_route: "en_route", on_scene: "on_scene",
    transporting: "transporting", at_destination: "at_destination",
    cleared: "available", cancelled: "available",
  };
  const UNIT_LABEL = {
    available: "Available", dispatched: "Dispatched", en_route: "En route", on_scene: "On scene",
    transporting: "Transporting", at_destination: "At destination",
    out_of_service: "Out of service",
  };
  const STATUS_LABEL = {
    dispatched: "Dispatched", en_route: "En route", on_scene: "On scene",
    transporting: "Transporting", at_destination: "At destination", cleared: "Cleared",
    cancelled: "Cancelled",
  };
  const STATUS_TIME = {
    dispatched: "notified_at", en_route: "en_route_at", on_scene: "on_scene_at",
    transporting: "left_scene_at", at_destination: "at_destination_at",
  };
  // The crew's next steps per assignment status (the server's TRANSITIONS, as the crew sees
  // them); `confirm` asks for a second tap, as a bump on the road must not cancel a call.
  const NEXT = {
    dispatched: [
      { to: "en_route", label: "En route", kind: "go" },
      { to: "cancelled", label: "Cancel", kind: "danger", confirm: "Tap again to cancel" },
    ],
    en_route: [{ to: "on_scene", label: "On scene", kind: "go" }],
    on_scene: [
      { to: "transporting", label: "Transporting", kind: "go", needsDestination: true },
      { to: "cleared", label: "Clear (no transport)", kind: "plain", confirm: "Tap again to clear" },
    ],
    // `then` tells the patient record (record.js): at the ED, each patient is marked arrived.
    transporting: [{ to: "at_destination", label: "At destination", kind: "go", then: "arrived" }],
    at_destination: [{ to: "cleared", label: "Clear — available", kind: "go" }],
  };
  const MANEUVER_ARROW = {
    depart: "⬤", continue: "↑", "slight right": "↗", "slight left": "↖",
    "turn right": "→", "turn left": "←", "u-turn": "↩",
  };

  const $ = function (id) { return document.getElementById(id); };
  const el = {
    unitStatus: $("unit-status"), outboxState: $("outbox-state"), rejections: $("rejections"),
    idle: $("idle"), idleNote: $("idle-note"), card: $("assignment"),
    determinant: $("determinant"), responseMode: $("response-mode"),
    assignmentStatus: $("assignment-status"), complaint: $("complaint"), address: $("address"),
    stopPoint: $("stop-point"), alertBanner: $("alert-banner"), alertSound: $("alert-sound"),
    alertSoundState: $("alert-sound-state"),
    accessBox: $("access-box"), accessNotes: $("access-notes"), notes: $("incident-notes"),
    eta: $("eta"), distance: $("distance"), etaBox: $("eta-box"), distanceBox: $("distance-box"),
    stepsTitle: $("steps-title"), destinationName: $("destination-name"),
    ack: $("ack-button"), picker: $("destination-picker"), destination: $("destination"),
    buttons: $("status-buttons"), steps: $("steps"), map: $("route-map"),
    gpsToggle: $("gps-toggle"), gpsState: $("gps-state"),
  };

  function store(key, value) {
    try { window.localStorage.setItem(key, JSON.stringify(value)); } catch (ignored) { /* full */ }
  }
  function recall(key, fallback) {
    try {
      const raw = window.localStorage.getItem(key);
      return raw === null ? fallback : JSON.parse(raw);
    } catch (ignored) {
      return fallback;
    }
  }
  function uuid() {
    if (window.crypto && typeof window.crypto.randomUUID === "function") return window.crypto.randomUUID();
    return Date.now().toString(36) + "-" + Math.random().toString(36).slice(2, 12);
  }

  // A stable id per browser, so the centre sees which tablet of the unit is online.
  let deviceId = window.localStorage.getItem("gh.deviceId");
  if (!deviceId || !/^[A-Za-z0-9._:-]{1,64}$/.test(deviceId)) {
    deviceId = "tablet-" + uuid();
    window.localStorage.setItem("gh.deviceId", deviceId);
  }

  // ---- state -----------------------------------------------------------------------------
  const initial = JSON.parse($("tablet-initial").textContent || "null");
  const remembered = recall(KEY + ".state", null);
  const state = {
    seq: 0, unit: null, assignment: null, idleNote: "",
    helloAcked: false, resyncPending: false, confirming: null, gpsNote: "",
  };
  // The page is rendered at the stream head; the remembered state is only a fallback.
  const start = initial || remembered;
  if (start) {
    state.seq = Number(start.seq) || 0;
    state.unit = start.unit || null;
    state.assignment = start.assignment || null;
  }
  const gps = {
    watch: null, lastPush: 0, error: "", asking: false, last: null, previous: null, lastFixClock: 0,
  };
  function remember() {
    store(KEY + ".state", { seq: state.seq, unit: state.unit, assignment: state.assignment });
  }
  remember();

  const hospitals = {};
  for (const option of el.destination.options) {
    if (option.value) {
      hospitals[option.value] = {
        name: option.textContent, lat: parseFloat(option.dataset.lat), lon: parseFloat(option.dataset.lon),
      };
    }
  }

  // ---- hooks for the patient record (static/dispatch/record.js) ------------------------------
  // The record shares this page's outbox and unit stream; it listens rather than owning them.
  const listeners = [];
  function emit(name) {
    const args = Array.prototype.slice.call(arguments, 1);
    for (const listener of listeners) {
      if (typeof listener[name] !== "function") continue;
      try {
        listener[name].apply(null, args);
      } catch (error) {
        console.error("tablet listener failed:", name, error && error.message);
      }
    }
  }

  // ---- outbox ------------------------------------------------------------------------------
  let connection = null;
  const outbox = window.GoldenHour.Outbox(KEY + ".outbox", function (message) {
    return connection ? connection.send(message) : false;
  }, {
    seqKey: "gh.device.seq",
    onack: function (item, answer) {
      // The ack can come before the assignment event: apply it now so the screen never
      // falls back to the old status in between.
      const a = state.assignment;
      if (a && item.type === "status" && answer.assignment_id === a.id && answer.status) {
        a.status = answer.status;
        if (item.data.destination) a.destination_id = item.data.destination;
        if (ACTIVE.indexOf(a.status) < 0) finish(a);
        remember();
      } else if (a && item.type === "acknowledge" && item.data.assignment_id === a.id) {
        a.acknowledged_at = a.acknowledged_at || new Date().toISOString();
        remember();
      }
      emit("ack", item, answer);
    },
    onreject: function (item) {
      emit("reject", item);
      if (item.type === "position") {
        // A refused fix is not something the crew can act on; show it by the GPS switch.
        state.gpsNote = "last fix refused: " + item.rejection.message;
        gps.error = "fix refused";
        outbox.dismiss(item.id);
      }
    },
    onchange: function () { render(); },
  });

  // ---- alerts: sound (Web Audio, nothing downloaded) and vibration for a new assignment --------
  // In a moving ambulance a silent screen change goes unseen. Each assignment alerts once per
  // tablet (a reload does not ring again); the crew can silence sound and vibration here, the
  // banner still shows.
  const alerts = {
    log: [], ctx: null,
    muted: recall("gh.alerts.muted", false) === true,
    seen: recall(KEY + ".alerted", []),
  };
  if (!Array.isArray(alerts.seen)) alerts.seen = [];
  function audioContext() {
    const Context = window.AudioContext || window.webkitAudioContext;
    if (!Context) return null;
    if (!alerts.ctx) {
      try { alerts.ctx = new Context(); } catch (ignored) { return null; }
    }
    return alerts.ctx;
  }
  // Browsers start audio only after a touch on the page: the first touch unlocks it.
  function unlockAudio() {
    if (alerts.muted) return;
    const ctx = audioContext();
    if (ctx && ctx.state === "suspended") ctx.resume().catch(function () { /* stays silent */ });
  }
  document.addEventListener("pointerdown", unlockAudio, true);
  document.addEventListener("keydown", unlockAudio, true);
  function beep() {
    const ctx = audioContext();
    if (!ctx || ctx.state !== "running") return false;
    const t0 = ctx.currentTime + 0.01;
    [0, 0.3, 0.6].forEach(function (offset, index) {
      const osc = ctx.createOscillator();
      const gain = ctx.createGain();
      osc.type = "square";
      osc.frequency.value = index === 2 ? 1175 : 880;
      gain.gain.setValueAtTime(0.0001, t0 + offset);
      gain.gain.exponentialRampToValueAtTime(0.35, t0 + offset + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, t0 + offset + 0.24);
      osc.connect(gain);
      gain.connect(ctx.destination);
      osc.start(t0 + offset);
      osc.stop(t0 + offset + 0.25);
    });
    return true;
  }
  function alertCrew(kind, text) {
    let sound = false;
    let vibrate = false;
    if (!alerts.muted) {
      sound = beep();
      if (typeof navigator.vibrate === "function") {
        try { vibrate = navigator.vibrate([400, 150, 400, 150, 400]) === true; } catch (ignored) { vibrate = false; }
      }
    }
    alerts.log.push({ kind: kind, text: text, sound: sound, vibrate: vibrate, muted: alerts.muted });
    el.alertBanner.textContent = text;
    el.alertBanner.dataset.count = String(alerts.log.length);
    el.alertBanner.hidden = false;
  }
  function alertNewAssignment(a) {
    if (!a || a.acknowledged_at || ACTIVE.indexOf(a.status) < 0 || alerts.seen.indexOf(a.id) >= 0) return;
    alerts.seen = alerts.seen.concat([a.id]).slice(-20);
    store(KEY + ".alerted", alerts.seen);
    const incident = a.incident || {};
    alertCrew("assignment", "New assignment: " +
      [incident.determinant, incident.chief_complaint, incident.address].filter(Boolean).join(" · "));
  }
  function renderAlerts() {
    el.alertSound.checked = !alerts.muted;
    el.alertSoundState.textContent = alerts.muted ? "off" : "on";
    const a = state.assignment;
    if (!a || a.acknowledged_at || pendingFor(a, "acknowledge").length) el.alertBanner.hidden = true;
  }
  el.alertSound.addEventListener("change", function () {
    alerts.muted = !el.alertSound.checked;
    store("gh.alerts.muted", alerts.muted);
    if (alerts.muted && typeof navigator.vibrate === "function") {
      try { navigator.vibrate(0); } catch (ignored) { /* nothing to stop */ }
    }
    unlockAudio();
    renderAlerts();
  });

  // ---- derived view state -------------------------------------------------------------------
  function pendingFor(assignment, type) {
    if (!assignment) return [];
    return outbox.pending().filter(function (item) {
      return item.type === type && item.data.assignment_id === assignment.id;
    });
  }
  function effectiveStatus(assignment) {
    const pending = pendingFor(assignment, "status");
    return pending.length ? pending[pending.length - 1].data.status : assignment.status;
  }
  function effectiveDestination(assignment) {
    let destination = assignment.destination_id;
    for (const item of pendingFor(assignment, "status")) {
      if (item.data.destination) destination = item.data.destination;
    }
    return destination;
  }

  function minutes(seconds) {
    if (seconds === null || seconds === undefined) return "—";
    return seconds < 60 ? "< 1 min" : Math.round(seconds / 60) + " min";
  }
  function metres(value) {
    if (value === null || value === undefined) return "—";
    return value < 1000 ? Math.round(value) + " m" : (value / 1000).toFixed(1) + " km";
  }
  // 24-hour HH:MM whatever the browser's locale (a "2:05 PM" misread costs minutes).
  function clock(iso) {
    if (!iso) return "";
    const d = new Date(iso);
    if (isNaN(d.getTime())) return "";
    return String(d.getHours()).padStart(2, "0") + ":" + String(d.getMinutes()).padStart(2, "0");
  }
  function describe(item) {
    if (item.type === "status") return STATUS_LABEL[item.data.status] || item.data.status;
    if (item.type === "acknowledge") return "Acknowledge";
    if (item.type === "position") return "GPS position";
    if (item.type === "encounter") return "Patient details";
    if (item.type === "vitals") return "Vitals";
    if (item.type === "message") return "Message to the ED";
    if (item.type === "destination") return "Destination";
    return item.type;
  }

  // ---- rendering ------------------------------------------------------------------------------
  function renderOutbox() {
    const pending = outbox.pending();
    const count = pending.length;
    const positions = pending.filter(function (item) { return item.type === "position"; }).length;
    let text = count === 0 ? "All sent" : count + (count === 1 ? " item" : " items") + " waiting to send";
    if (count > 0 && positions > 0) text += " (" + positions + " GPS)";
    // The server said it is busy (a `retry` or `backoff`): the items wait here and go again.
    if (count > 0 && outbox.pausedFor() > 0) text += " · server busy, sending again shortly";
    if (!outbox.isPersistent()) text += " · NOT SAVED on this tablet";
    el.outboxState.textContent = text;
    el.outboxState.dataset.count = String(count);
    el.outboxState.classList.toggle("waiting", count > 0);
    el.outboxState.classList.toggle("unsaved", !outbox.isPersistent());
  }

  function renderRejections() {
    const rejected = outbox.rejected();
    el.rejections.hidden = rejected.length === 0;
    el.rejections.replaceChildren();
    for (const item of rejected) {
      const row = document.createElement("div");
      row.className = "rejection";
      row.setAttribute("role", "alert");
      const text = document.createElement("p");
      const what = document.createElement("strong");
      what.textContent = "Not accepted: " + describe(item) + ". ";
      text.append(what, item.rejection.message);
      if (item.rejection.field) {
        const field = document.createElement("span");
        field.className = "rejection-field";
        field.textContent = " (" + item.rejection.field + ")";
        text.append(field);
      }
      const dismiss = document.createElement("button");
      dismiss.type = "button";
      dismiss.className = "btn btn-small";
      dismiss.textContent = "Dismiss";
      dismiss.addEventListener("click", function () { outbox.dismiss(item.id); });
      row.append(text, dismiss);
      el.rejections.append(row);
    }
  }

  function statusButton(label, to, kind) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "btn btn-" + kind;
    button.dataset.to = to;
    button.textContent = label;
    return button;
  }

  function renderButtons(a, status) {
    el.buttons.replaceChildren();
    // Pressed but not yet acknowledged by the server: shown until the ack arrives.
    for (const item of pendingFor(a, "status")) {
      const button = statusButton(describe(item) + " · sending…", item.data.status, "sending");
      button.disabled = true;
      button.setAttribute("aria-busy", "true");
      el.buttons.append(button);
    }
    const destination = el.destination.value;
    for (const step of NEXT[status] || []) {
      const confirming = state.confirming === step.to;
      const button = statusButton(confirming ? step.confirm : step.label, step.to, step.kind);
      if (confirming) button.classList.add("confirming");
      if (step.needsDestination && !destination) {
        button.disabled = true;
        button.title = "Choose the destination hospital first";
      }
      button.addEventListener("click", function () { pressStatus(a, step); });
      el.buttons.append(button);
    }
  }

  function renderAssignment() {
    const a = state.assignment;
    el.idle.hidden = Boolean(a);
    el.card.hidden = !a;
    el.idleNote.textContent = state.idleNote;
    if (!a) return;
    const incident = a.incident || {};
    const status = effectiveStatus(a);
    el.determinant.textContent = incident.determinant || "";
    el.determinant.className = "determinant det-" + (incident.determinant || "none");
    el.responseMode.textContent = incident.response_mode === "lights_sirens" ? "Lights & sirens" : "No lights or sirens";
    el.responseMode.classList.toggle("urgent", incident.response_mode === "lights_sirens");
    const since = status === a.status ? a[STATUS_TIME[status]] : null;
    el.assignmentStatus.textContent = (STATUS_LABEL[status] || status) + (since ? " since " + clock(since) : "");
    el.complaint.textContent = incident.chief_complaint || "Incident #" + incident.id;
    // The address as the dispatcher chose it; beside it, where on the road to stop.
    el.address.textContent = incident.address || (incident.lat !== undefined ? incident.lat.toFixed(5) + ", " + incident.lon.toFixed(5) : "");
    const stopStreet = (incident.road_street || "").trim();
    const stopGap = typeof incident.road_distance_m === "number" ? incident.road_distance_m : null;
    el.stopPoint.hidden = !stopStreet && stopGap === null;
    el.stopPoint.textContent = "Stop: " + (stopStreet || "the road point on the map") +
      (stopGap !== null ? " · " + metres(stopGap) + " from the address" : "");
    const access = (incident.access_notes || "").trim();
    el.accessNotes.textContent = access || "No access notes";
    el.accessBox.classList.toggle("empty", !access);
    el.notes.textContent = incident.notes || "";
    el.notes.hidden = !incident.notes;
    const route = a.route;
    // Drive time and distance to the scene mean nothing once the crew is there.
    const driving = status === "dispatched" || status === "en_route";
    el.etaBox.hidden = el.distanceBox.hidden = !driving;
    el.eta.textContent = minutes(route ? route.duration_s : a.eta_s);
    el.distance.textContent = metres(route ? route.distance_m : a.distance_m);
    const destination = effectiveDestination(a);
    const hospital = destination ? hospitals[String(destination)] : null;
    el.destinationName.textContent = destination ? (hospital ? hospital.name : "Hospital #" + destination) : "—";

    const acknowledged = Boolean(a.acknowledged_at);
    const ackPending = pendingFor(a, "acknowledge").length > 0;
    el.ack.hidden = acknowledged;
    el.ack.disabled = ackPending;
    el.ack.textContent = ackPending ? "Acknowledged · sending…" : "Acknowledge";
    el.ack.classList.toggle("btn-sending", ackPending);
    el.picker.hidden = status !== "on_scene";
    renderButtons(a, status);
    renderSteps(route);
    renderMap(a, hospital);
  }

  function renderSteps(route) {
    el.steps.replaceChildren();
    const steps = route && Array.isArray(route.steps) ? route.steps : [];
    el.steps.hidden = el.stepsTitle.hidden = steps.length === 0;
    for (const step of steps) {
      const li = document.createElement("li");
      const arrow = document.createElement("span");
      arrow.className = "step-arrow";
      arrow.setAttribute("aria-hidden", "true");
      arrow.textContent = MANEUVER_ARROW[step.maneuver] || "↑";
      const text = document.createElement("span");
      text.className = "step-text";
      const street = step.street || "unnamed road";
      const verb = step.maneuver === "depart" ? "Start on" : step.maneuver.charAt(0).toUpperCase() + step.maneuver.slice(1) + " onto";
      text.textContent = verb + " " + street;
      const distance = document.createElement("span");
      distance.className = "step-distance";
      distance.textContent = metres(step.distance_m);
      li.append(arrow, text, distance);
      el.steps.append(li);
    }
  }

  // ---- map (only when Leaflet is present; the route line needs no tiles) ---------------------
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
      const offline = window.GHRoadMap.attach(mapState.map, {
        roadsUrl: root.dataset.roadsUrl, placesUrl: root.dataset.placesUrl,
      });
      window.GHRoadMap.baseMap(mapState.map, root.dataset.tileUrl, offline, function () {
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
      }).bindTooltip(hospital.name, { permanent: true, direction: "right" }).addTo(layer);
    }
    layer.addTo(mapState.map);
    mapState.layer = layer;
    const bounds = layer.getBounds();
    if (bounds.isValid()) mapState.map.fitBounds(bounds, { padding: [36, 36], maxZoom: 15 });
  }

  function renderUnit() {
    let status = state.unit ? state.unit.status : "available";
    if (state.assignment) status = UNIT_STATUS_FOR[effectiveStatus(state.assignment)] || status;
    el.unitStatus.textContent = UNIT_LABEL[status] || status;
    el.unitStatus.className = "unit-status status-" + status;
  }

  function renderGps() {
    const on = el.gpsToggle.checked;
    let text = on ? (gps.watch !== null ? "on" : "starting") : "off";
    if (on && gps.error) text = gps.error;
    el.gpsState.textContent = text;
    el.gpsToggle.parentElement.title = on && state.gpsNote ? "GPS " + state.gpsNote :
      (gps.error === "blocked" ? "Location is blocked: allow it for this site in the browser settings" : "");
    el.gpsToggle.parentElement.classList.toggle("problem", on && Boolean(gps.error || state.gpsNote));
  }

  function render() {
    document.body.classList.toggle("has-assignment", Boolean(state.assignment));
    renderOutbox();
    renderRejections();
    renderUnit();
    renderAssignment();
    renderGps();
    renderAlerts();
    emit("render");
  }

  // ---- actions ---------------------------------------------------------------------------------
  let confirmTimer = null;
  function pressStatus(a, step) {
    if (step.confirm && state.confirming !== step.to) {
      state.confirming = step.to;
      clearTimeout(confirmTimer);
      confirmTimer = setTimeout(function () { state.confirming = null; render(); }, CONFIRM_MS);
      render();
      return;
    }
    state.confirming = null;
    clearTimeout(confirmTimer);
    const data = { assignment_id: a.id, status: step.to };
    if (step.needsDestination) {
      const destination = parseInt(el.destination.value, 10);
      if (!destination) return;
      data.destination = destination;
    }
    outbox.push("status", data);
    if (step.then) emit(step.then, a);
  }

  el.ack.addEventListener("click", function () {
    const a = state.assignment;
    if (a && !a.acknowledged_at && pendingFor(a, "acknowledge").length === 0) {
      outbox.push("acknowledge", { assignment_id: a.id });
    }
  });
  el.destination.addEventListener("change", render);

  // ---- the unit stream ---------------------------------------------------------------------------
  function finish(a) {
    state.idleNote = "Last call " + (STATUS_LABEL[a.status] || a.status).toLowerCase() + ": " +
      ((a.incident && (a.incident.address || a.incident.chief_complaint)) || "#" + a.id) + ".";
    state.assignment = null;
    el.destination.value = "";
  }

  function applyAssignment(data) {
    const current = state.assignment;
    if (ACTIVE.indexOf(data.status) >= 0) {
      if (!current || current.id !== data.id) state.idleNote = "";
      state.assignment = data;
      if (!current || current.id !== data.id) alertNewAssignment(data);
    } else if (current && current.id === data.id) {
      finish(data);
    }
  }

  function resync() {
    if (!connection || state.resyncPending) return;
    if (connection.send({ type: "resync", since: state.seq })) state.resyncPending = true;
  }

  function onEvent(event) {
    if (event.seq <= state.seq) return; // already applied (replay overlap, snapshot race)
    // An event the server merged for a late screen covers seq_from..seq (docs/protocol.md).
    const first = typeof event.seq_from === "number" ? event.seq_from : event.seq;
    if (first > state.seq + 1) {
      // A missed event: ask for everything after the last one applied; the replay brings this one too.
      resync();
      return;
    }
    state.seq = event.seq;
    if (event.type.indexOf("dispatch.assignment.") === 0) applyAssignment(event.data);
    remember();
    if (event.type.indexOf("handoff.") === 0) emit("event", event);
    render();
  }

  function onMessage(message) {
    if (outbox.handle(message)) return;
    switch (message.type) {
      case "hello.ack":
        state.helloAcked = true;
        outbox.noteServerSeq(message.last_seq);
        outbox.setOnline(true);
        emit("online");
        return;
      case "replay":
        state.resyncPending = false;
        return;
      case "dispatch.unit.snapshot":
        // Sent when the server cannot replay from our sequence: it resets the sequence.
        state.resyncPending = false;
        state.seq = Number(message.seq) || 0;
        state.unit = message.data;
        if (state.assignment && (message.data.status === "available" || message.data.status === "out_of_service")) {
          finish(Object.assign({}, state.assignment, { status: "cleared" }));
        }
        remember();
        emit("online");
        render();
        return;
      default:
        if (message.stream === stream && typeof message.seq === "number") onEvent(message);
    }
  }

  window.GoldenHour.tablet = {
    outbox: outbox,
    unitId: unitId,
    assignment: function () { return state.assignment; },
    status: function () { return state.assignment ? effectiveStatus(state.assignment) : null; },
    hospitalName: function (id) {
      const hospital = hospitals[String(id)];
      return hospital ? hospital.name.replace(/ — ON DIVERSION$/, "") : null;
    },
    hospitalIds: function () { return Object.keys(hospitals); },
    // A destination chosen in the record also readies the "Transporting" button.
    chooseDestination: function (id) {
      if (hospitals[String(id)]) {
        el.destination.value = String(id);
        render();
      }
    },
    listen: function (listener) { listeners.push(listener); },
    // What the alerts did (kind, sound, vibrate, muted), newest last: for tests and support.
    alerts: function () { return alerts.log.slice(); },
  };
  if (window.GoldenHour.record) window.GoldenHour.record.start(window.GoldenHour.tablet);

  connection = window.GoldenHour.connect(function () { return "/ws/crew/?since=" + state.seq; }, {
    watchOnline: true,
    open: function (socket) {
      socket.send(JSON.stringify({ type: "hello", device_id: deviceId }));
    },
    message: onMessage,
    close: function () {
      state.helloAcked = false;
      state.resyncPending = false;
      outbox.setOnline(false);
    },
  });
  setInterval(function () {
    if (state.helloAcked) resync();
  }, RESYNC_EVERY_MS);

  // ---- GPS ------------------------------------------------------------------------------------------
  function finite(v) { return typeof v === "number" && isFinite(v) ? v : null; }
  function pushFix(fix) {
    gps.lastPush = Date.now();
    outbox.push("position", {
      lat: fix.lat, lon: fix.lon, recorded_at: new Date(fix.at).toISOString(),
      heading: fix.heading, speed_mps: fix.speed, accuracy_m: fix.accuracy, fix_id: uuid(),
    });
  }
  function onFix(position) {
    gps.error = "";
    const now = Date.now();
    const c = position.coords;
    const fix = {
      lat: c.latitude, lon: c.longitude, at: position.timestamp || now,
      heading: finite(c.heading), speed: finite(c.speed), accuracy: finite(c.accuracy),
    };
    gps.previous = gps.last;
    gps.last = fix;
    gps.lastFixClock = now;
    if (now - gps.lastPush < POSITION_EVERY_MS) return;
    pushFix(fix);
  }
  function metresBetween(a, b) {
    const rad = Math.PI / 180;
    const x = (b.lon - a.lon) * rad * Math.cos(((a.lat + b.lat) / 2) * rad);
    const y = (b.lat - a.lat) * rad;
    return Math.sqrt(x * x + y * y) * 6371000;
  }
  // Was the unit standing still at its last fix? Its speed says so, or (no speed reported)
  // it had not moved since the fix before.
  function stationary() {
    const last = gps.last;
    if (!last) return false;
    if (last.speed !== null) return last.speed < STILL_MPS;
    return !gps.previous || metresBetween(gps.previous, last) < STILL_METRES;
  }
  // The heartbeat (HEARTBEAT_MS without a fix sent): first ask for a fresh fix. Chrome
  // answers getCurrentPosition only with a position that is new to it, so a parked tablet's
  // request times out; then a unit that was standing still is reported where it stands, at
  // the current time (the old fix's own time would not make the unit current: the server
  // keeps the newest fix's time). A unit that was moving is not re-reported: its GPS is lost
  // (a tunnel) and the centre should see the position go stale.
  function heartbeat() {
    if (gps.watch === null || gps.asking || !navigator.geolocation) return;
    if (Date.now() - gps.lastPush < HEARTBEAT_MS) return;
    gps.asking = true;
    navigator.geolocation.getCurrentPosition(function (position) {
      gps.asking = false;
      onFix(position);
    }, function (error) {
      gps.asking = false;
      if (error.code === 1) {
        onFixError(error);
      } else if (stationary()) {
        const last = gps.last;
        // The fix's own clock moved on by as much as the page's did since it came in.
        pushFix(Object.assign({}, last, { at: last.at + (Date.now() - gps.lastFixClock) }));
      } else {
        gps.error = "no fix";
        renderGps();
      }
    }, { enableHighAccuracy: true, maximumAge: 0, timeout: Math.min(10000, HEARTBEAT_MS / 2) });
  }
  setInterval(heartbeat, Math.min(HEARTBEAT_MS, 5000));
  function onFixError(error) {
    if (error.code === 1) {
      gps.error = "blocked";
      stopGps();
    } else {
      gps.error = "no fix yet";
    }
    renderGps();
  }
  function startGps() {
    if (gps.watch !== null) return;
    if (!navigator.geolocation) {
      gps.error = "unavailable";
      renderGps();
      return;
    }
    gps.watch = navigator.geolocation.watchPosition(onFix, onFixError, {
      enableHighAccuracy: true, maximumAge: 5000, timeout: 30000,
    });
    renderGps();
  }
  function stopGps() {
    if (gps.watch !== null && navigator.geolocation) navigator.geolocation.clearWatch(gps.watch);
    gps.watch = null;
  }
  el.gpsToggle.checked = recall(KEY + ".gps", true) !== false;
  el.gpsToggle.addEventListener("change", function () {
    store(KEY + ".gps", el.gpsToggle.checked);
    gps.error = "";
    state.gpsNote = "";
    if (el.gpsToggle.checked) startGps(); else stopGps();
    renderGps();
  });
  if (el.gpsToggle.checked) startGps();
  alertNewAssignment(state.assignment);

  window.addEventListener("resize", function () {
    if (!mapState.map) return;
    mapState.map.invalidateSize();
    const bounds = mapState.layer ? mapState.layer.getBounds() : null;
    if (bounds && bounds.isValid()) mapState.map.fitBounds(bounds, { padding: [36, 36], maxZoom: 15 });
  });
  render();
})();
