// The crew tablet: the current assignment, its route, status buttons and GPS reporting.
//
// Everything the crew does goes through the persistent outbox (static/js/outbox.js), so it
// survives a lost link or a reload and is applied once. The unit stream is followed by
// sequence number: the page starts from the server-rendered state at the stream head, the
// socket connects with ?since=<last seq>, a gap asks for a resync, and a periodic resync
// heals a last event that the channel layer dropped (nothing later would reveal that gap).
// This entry module publishes the tablet's API, starts the patient record, the stream and
// GPS; the modules under dispatch/tablet/ own the rest. Every module it imports is in the
// service worker's precache (dispatch/assets.py).
import { startRecord } from "./record.js";
import { el, hospitals, listeners, state, unitId } from "./tablet/state.js";
import { outbox } from "./tablet/crew_outbox.js";
import { alertNewAssignment, alerts } from "./tablet/alerts.js";
import { effectiveStatus } from "./tablet/assignment_view.js";
import { mapState } from "./tablet/route_map.js";
import { render } from "./tablet/screen.js";
import { startLive } from "./tablet/live.js";
import { wireGps } from "./tablet/gps.js";
import { startOutcomes } from "./tablet/outcomes.js";

// ---- start -----------------------------------------------------------------------------
// What the patient record (record.js) builds on; also window.GoldenHour.tablet, the hook the
// browser tests read.
const tabletApi = {
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
// The past patients' outcomes (outcome feedback); `refresh` for the browser tests.
tabletApi.outcomes = startOutcomes();
window.GoldenHour = window.GoldenHour || {};
window.GoldenHour.tablet = tabletApi;
startRecord(tabletApi);

startLive();
wireGps();
alertNewAssignment(state.assignment);

window.addEventListener("resize", function () {
  if (!mapState.map) return;
  mapState.map.invalidateSize();
  const bounds = mapState.layer ? mapState.layer.getBounds() : null;
  if (bounds && bounds.isValid()) mapState.map.fitBounds(bounds, { padding: [36, 36], maxZoom: 15 });
});
render();
