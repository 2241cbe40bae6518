// The ranking panel: every unit for the incident in view, ranked by drive time, kept fresh as
// units move (rerankSoon), with "Dispatch anyway" for an excluded one and the incident's actions.
import { api, button, errorText, picked, recEmpty, recList, say, ui } from "./locate.js";
import { dispatchUnit } from "./dispatching.js";

// ---- recommend and dispatch -------------------------------------------------------

// Every unit: the ranked ones first (a stale one says how old its position is), then the
// excluded ones with why; an available one left out (capability, off the map, no route)
// gets "Dispatch anyway", which asks once before sending override: true. Below them the
// incident's own actions (replace or cancel a unit, close with a disposition). While shown,
// the ranking is re-fetched as units move or change status (rerankSoon), keeping the row
// the dispatcher chose.
const recIncident = document.getElementById("rec-incident");
const recActions = document.getElementById("rec-actions");
const RERANK_EVERY_MS = 2500;
const shown = {
  id: null, chosen: null, timer: null, last: 0, loading: false, again: false, signature: "", token: 0,
};

function showRecommendations(incident) {
  picked.incident = incident;
  if (shown.id !== incident.id) {
    shown.chosen = null;
    shown.signature = "";
  }
  shown.id = incident.id;
  recList.replaceChildren();
  if (recEmpty) recEmpty.hidden = true;
  drawIncidentHead(incident);
  return rank(incident, false);
}

function drawIncidentHead(incident) {
  if (recIncident) {
    recIncident.hidden = false;
    recIncident.textContent = "#" + incident.id + " · " + (incident.chief_complaint || "Incident") +
      (incident.address ? " · " + incident.address : "");
  }
  if (!recActions || !ui.putIncidentActions) return;
  // Re-drawn when the incident changes, never from under the dispatcher's hand.
  ui.putIncidentActions(recActions, incident, function () {
    const newest = shown.id != null && ui.incident(shown.id);
    if (newest) drawIncidentHead(newest);
  });
  recActions.hidden = false;
}

function hideRanking(text) {
  shown.id = null;
  shown.chosen = null;
  shown.signature = "";
  recList.replaceChildren();
  if (recIncident) { recIncident.hidden = !text; recIncident.textContent = text || ""; }
  if (recActions) { recActions.hidden = true; recActions.replaceChildren(); }
  if (recEmpty) recEmpty.hidden = Boolean(text);
}

if (recActions) {
  recActions.addEventListener("click", function (event) {
    const btn = event.target.closest("button[data-incident-action]");
    if (btn && ui.incidentAction) ui.incidentAction(btn);
  });
}

// A dispatch or an override half-confirmed is left alone: the re-ranking waits for it.
function rankingBusy() {
  return Boolean(recList.querySelector("button[data-confirming='1'], button[data-inflight='1']"));
}

function rank(incident, live) {
  // One live request at a time; a selection always asks, and only the newest answer counts.
  if (live && shown.loading) { shown.again = true; return Promise.resolve(); }
  const token = (shown.token = (shown.token || 0) + 1);
  shown.loading = true;
  shown.last = Date.now();
  return api("GET", "/api/v1/incidents/" + incident.id + "/recommendations/").then(function (r) {
    if (token !== shown.token) return;
    shown.loading = false;
    if (shown.id !== incident.id) return;
    if (!r.ok) {
      if (live) return; // closed meanwhile: its update event hides the ranking
      throw new Error(errorText(r.data));
    }
    const signature = JSON.stringify(r.data.map(function (rec) {
      return [rec.unit_id, rec.excluded || "", rec.eta_s != null ? Math.round(rec.eta_s) : null, rec.position_note || ""];
    }));
    if (live && (signature === shown.signature || rankingBusy())) return;
    shown.signature = signature;
    drawRanking(incident, r.data);
    if (live) return;
    const first = r.data.find(function (rec) { return !rec.excluded; });
    if (first) previewRoute(first.unit_id, incident);
  }, function (err) {
    if (token === shown.token) shown.loading = false;
    throw err;
  }).then(function () {
    if (shown.again) { shown.again = false; rerankSoon(); }
  });
}

function drawRanking(incident, recs) {
  recList.replaceChildren();
  let firstOffered = true;
  recs.forEach(function (rec) {
    const li = document.createElement("li");
    li.className = "rec" + (rec.excluded ? " excluded" : "") + (rec.position_stale ? " stale" : "") +
      (shown.chosen === rec.unit_id ? " chosen" : "");
    li.dataset.unitId = rec.unit_id;
    const label = document.createElement("span");
    label.className = "rec-label";
    const eta = rec.eta_s != null ? " · ETA " + ui.mmss(rec.eta_s) + " · " + (rec.distance_m / 1000).toFixed(1) + " km" : "";
    label.textContent = rec.call_sign + " · " + rec.unit_type + (rec.excluded ? " — " + rec.excluded + eta : eta);
    li.appendChild(label);
    if (rec.mutual_aid && rec.lending_centre) {
      const aid = document.createElement("span");
      aid.className = "rec-aid badge";
      aid.textContent = "Mutual aid · " + rec.lending_centre.name;
      li.appendChild(aid);
    }
    if (rec.position_note) {
      const note = document.createElement("span");
      note.className = "rec-position" + (rec.position_stale ? " stale" : "");
      note.textContent = rec.position_note;
      li.appendChild(note);
    }
    if (!rec.excluded && rec.mutual_aid && rec.lending_centre) {
      // Never a dispatch: the partner centre sends its unit once it accepts.
      li.appendChild(button("Request from " + rec.lending_centre.name, "request-aid", function (event) {
        event.stopPropagation();
        requestFromPartner(incident, rec, event.currentTarget);
      }));
    } else if (!rec.excluded) {
      li.appendChild(button("Dispatch", firstOffered ? "primary dispatch" : "dispatch", function (event) {
        event.stopPropagation();
        dispatchUnit(incident, rec, event.currentTarget);
      }));
      firstOffered = false;
    } else if (rec.overridable) {
      li.appendChild(button("Dispatch anyway", "dispatch-anyway", function (event) {
        event.stopPropagation();
        confirmOverride(incident, rec, event.currentTarget);
      }));
    }
    if (!rec.excluded || rec.overridable) {
      li.addEventListener("click", function () {
        shown.chosen = rec.unit_id;
        recList.querySelectorAll("li.rec.chosen").forEach(function (other) { other.classList.remove("chosen"); });
        li.classList.add("chosen");
        previewRoute(rec.unit_id, incident);
      });
    }
    recList.appendChild(li);
  });
}

function requestFromPartner(incident, rec, btn) {
  const idle = btn.textContent;
  btn.disabled = true;
  btn.dataset.inflight = "1";
  btn.textContent = "Requesting…";
  ui.requestAid(incident.id, rec.unit_id).then(function () {
    btn.textContent = "Requested";
    say(rec.call_sign + " requested from " + rec.lending_centre.name + " for #" + incident.id +
      "; it is dispatched when they accept (Mutual aid panel).", "ok");
  }).catch(function (err) {
    btn.disabled = false;
    btn.textContent = idle;
    say(err.message || String(err), "error");
  }).then(function () { btn.dataset.inflight = ""; });
}

// At most one re-ranking every RERANK_EVERY_MS however many units report: positions come
// every tick for every unit that moved.
function rerankSoon() {
  if (shown.id == null || shown.timer !== null) return;
  const wait = Math.max(0, shown.last + RERANK_EVERY_MS - Date.now());
  shown.timer = window.setTimeout(function () {
    shown.timer = null;
    const incident = ui.incident(shown.id);
    if (!incident) { hideRanking("Incident #" + shown.id + " is closed."); return; }
    if (rankingBusy()) { shown.last = Date.now(); rerankSoon(); return; }
    rank(incident, true).catch(function (err) { say(err.message || String(err), "error"); });
  }, wait);
}

// One confirmation: the button turns into "Confirm ..." naming the reason; a second click
// sends it, anything else (Escape, 8 s) puts it back.
function confirmOverride(incident, rec, btn) {
  if (btn.dataset.confirming === "1") {
    btn.dataset.confirming = "";
    dispatchUnit(incident, rec, btn, true);
    return;
  }
  btn.dataset.confirming = "1";
  btn.classList.add("confirming");
  btn.textContent = "Confirm: send " + rec.call_sign + " (" + rec.excluded + ")";
  window.setTimeout(function () {
    if (btn.dataset.confirming !== "1") return;
    btn.dataset.confirming = "";
    btn.classList.remove("confirming");
    btn.textContent = "Dispatch anyway";
  }, 8000);
}

function unitLatLon(unitId) {
  const unit = ui.unit(unitId);
  return unit && unit.lat != null ? { lat: Number(unit.lat), lon: Number(unit.lon) } : null;
}

function routeFor(unitId, incident) {
  const from = unitLatLon(unitId);
  if (!from) return Promise.resolve(null);
  const mode = incident.response_mode === "lights_sirens" ? "urgent" : "non_urgent";
  return api("POST", "/api/v1/routing/route/", {
    origin: from, destination: { lat: incident.road_lat, lon: incident.road_lon }, mode: mode,
  }).then(function (r) { return r.ok ? r.data : null; });
}

function previewRoute(unitId, incident) {
  routeFor(unitId, incident).then(function (route) {
    const unit = ui.unit(unitId);
    if (route) ui.showRoute(route.geometry, (unit ? unit.call_sign : "Unit") + " · " + ui.mmss(route.duration_s));
  });
}

export { confirmOverride, drawIncidentHead, previewRoute, rerankSoon, routeFor, showRecommendations, shown };
