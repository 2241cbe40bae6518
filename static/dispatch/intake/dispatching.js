// Dispatching a ranked unit, the selected unit's route on the map, and the live ETAs of units
// on their way, recomputed from their positions.
import { api, button, errorText, picked, say, ui } from "./locate.js";
import { confirmOverride, drawIncidentHead, previewRoute, rerankSoon, routeFor, shown } from "./ranking.js";

function dispatchUnit(incident, rec, btn, override) {
  const idle = override ? "Dispatch anyway" : "Dispatch";
  btn.disabled = true;
  btn.dataset.inflight = "1";
  btn.textContent = "Dispatching…";
  const body = { unit_ids: [rec.unit_id], device_id: "console" };
  if (override) body.override = true;
  api("POST", "/api/v1/incidents/" + incident.id + "/assignments/", body)
    .then(function (r) {
      if (r.status === 409 && r.data.code === "override_required") {
        // The ranking changed since the list was drawn: ask, as for an excluded row.
        const reason = (r.data.override || []).join(" ");
        const updated = Object.assign({}, rec, { excluded: reason });
        btn.replaceWith(button("Dispatch anyway", "dispatch-anyway", function (event) {
          event.stopPropagation();
          confirmOverride(incident, updated, event.currentTarget);
        }));
        say(reason, "warning");
        return;
      }
      if (!r.ok) throw new Error(errorText(r.data));
      btn.textContent = "Dispatched";
      const anyway = r.data[0].override_reason ? " (sent anyway: " + r.data[0].override_reason + ")" : "";
      const eta = r.data[0].eta_s != null ? ", ETA " + ui.mmss(r.data[0].eta_s) : "";
      say(rec.call_sign + " dispatched to #" + incident.id + eta + anyway + ".", "ok");
      previewRoute(rec.unit_id, incident);
    })
    .catch(function (err) {
      btn.disabled = false;
      btn.textContent = idle;
      say(err.message, "error");
    })
    .then(function () { btn.dataset.inflight = ""; });
}

// ---- the selected unit's route ----------------------------------------------------

function activeIncidentOf(unitId) {
  let found = null;
  document.querySelectorAll("#incident-list li[data-incident-id]").forEach(function (li) {
    const incident = ui.incident(li.dataset.incidentId);
    if (!found && incident && Array.isArray(incident.assignments) && incident.assignments.some(function (a) {
      return a.unit_id === Number(unitId) && (a.status === "dispatched" || a.status === "en_route");
    })) found = incident;
  });
  return found;
}

const unitList = document.getElementById("unit-list");
if (unitList) {
  unitList.addEventListener("click", function (event) {
    const li = event.target.closest("li[data-unit-id]");
    if (!li) return;
    const incident = activeIncidentOf(li.dataset.unitId);
    if (incident) {
      picked.incident = incident;
      previewRoute(Number(li.dataset.unitId), incident);
    } else {
      ui.clearRoute();
    }
  });
}

// ---- live ETAs ---------------------------------------------------------------------
// Each unit on its way gets its ETA recomputed from its live position, at most every 5 s.
const lastEta = new Map();

function followUnit(unit) {
  if (!unit || (unit.status !== "dispatched" && unit.status !== "en_route")) return;
  const now = Date.now();
  if (now - (lastEta.get(unit.id) || 0) < 5000) return;
  lastEta.set(unit.id, now);
  document.querySelectorAll("#incident-list li[data-incident-id]").forEach(function (li) {
    const incident = ui.incident(li.dataset.incidentId);
    if (!incident || !Array.isArray(incident.assignments)) return;
    const assignment = incident.assignments.find(function (a) {
      return a.unit_id === unit.id && (a.status === "dispatched" || a.status === "en_route");
    });
    if (!assignment) return;
    routeFor(unit.id, incident).then(function (route) {
      if (!route) return;
      // Only the ETA goes back: the copy read before the request may be older by now.
      ui.setLiveEta(incident.id, assignment.id, route.duration_s);
      if (picked.incident && picked.incident.id === incident.id) {
        ui.showRoute(route.geometry, unit.call_sign + " · " + ui.mmss(route.duration_s));
      }
    });
  });
}

ui.on("dispatch.unit.updated", function (msg) {
  followUnit(msg.data);
  rerankSoon();
});
ui.on("dispatch.incident.updated", function (msg) {
  if (shown.id == null || !msg.data || msg.data.id !== shown.id) return;
  const incident = ui.incident(shown.id);
  if (incident) drawIncidentHead(incident);
  rerankSoon();
});
// A partner's unit asked for (or lent, or refused) leaves or rejoins the ranking.
ui.on("dispatch.aid.updated", function () { rerankSoon(); });
// Positions come once per tick for every unit that moved, with only the fields a fix
// changes; the console has merged them already, so the whole unit is read from it.
ui.on("dispatch.units.moved", function (msg) {
  const units = msg.data && Array.isArray(msg.data.units) ? msg.data.units : [];
  units.forEach(function (moved) { followUnit(ui.unit(moved.id)); });
  if (units.length) rerankSoon();
});

export { dispatchUnit };
