// Dispatcher console: live map (Leaflet), unit / incident / hospital lists, socket updates.
// This entry module draws the first data, starts the map and the stream, and exports
// consoleApi (also window.GoldenHour.console) for intake.js. The modules under
// dispatch/console/ own the rest (docs/architecture.md, "Front end").
import { GH, state } from "./console/state.js";
import { readList } from "./console/format.js";
import { fitFirstLoad, map, startBaseMap } from "./console/map.js";
import { removeUnit, upsertUnit } from "./console/units.js";
import { upsertHospital } from "./console/hospitals.js";
import { putActions } from "./console/hand.js";
import { incidentActions, mmss, removeIncident, setLiveEta, updateIncidentCounts, upsertIncident } from "./console/incidents.js";
import { clearRoute, incidentAction, showRoute } from "./console/incident_actions.js";
import { onMapClick } from "./console/map_pick.js";
import { applyDeliveryFailure } from "./console/deliveries.js";
import { applyTransfers } from "./console/transfers.js";
import { on, socket, startLive } from "./console/messages.js";
import { requestAid } from "./console/mutual_aid.js";
import { startCallQueue } from "./console/call_queue.js";

// ---- start -----------------------------------------------------------------------------

applyTransfers(readList("initial-transfers"), readList("initial-centres"));
readList("initial-hospitals").forEach(upsertHospital);
readList("initial-units").forEach(upsertUnit);
readList("initial-incidents").forEach(upsertIncident);
readList("initial-delivery-failures").forEach(applyDeliveryFailure);
updateIncidentCounts();
fitFirstLoad();
startBaseMap();
startCallQueue();

startLive();

// What intake.js builds on; also the hook the browser tests read (window.GoldenHour.console).
const consoleApi = {
  map: map,
  socket: socket,
  upsertUnit: upsertUnit,
  removeUnit: removeUnit,
  upsertHospital: upsertHospital,
  upsertIncident: upsertIncident,
  setLiveEta: setLiveEta,
  incidentActions: incidentActions,
  putIncidentActions: function (holder, incident, again) { putActions(holder, incidentActions(incident), again); },
  incidentAction: incidentAction,
  removeIncident: removeIncident,
  showRoute: showRoute,
  clearRoute: clearRoute,
  onMapClick: onMapClick,
  on: on,
  incident: function (id) { const e = state.incidents.get(String(id)); return e ? e.data : null; },
  unit: function (id) { const e = state.units.get(String(id)); return e ? e.data : null; },
  mmss: mmss,
  requestAid: requestAid,
};
GH.console = consoleApi;

export { consoleApi };
