// Call intake to dispatch: locate (address, coordinates, plus code or a map click), create the
// incident (warning about duplicates), rank units by drive time, dispatch, and keep the ETAs of
// units on their way live as they move. Builds on the console (consoleApi from console.js).
// This entry module wires the form's submit and the map click; dispatch/intake/ owns the rest.
import { api, create, fieldValue, form, locate, resetForm, say, ui } from "./intake/locate.js";
import { showRecommendations } from "./intake/ranking.js";

// ---- submit ------------------------------------------------------------------------

ui.showRecommendations = showRecommendations;

form.addEventListener("submit", function (event) {
  event.preventDefault();
  if (!fieldValue("chief_complaint")) { say("chief complaint: say what the emergency is.", "error"); return; }
  say("Locating…");
  locate()
    .then(function (location) { return create(location); })
    .then(function (answer) {
      if (answer && answer.attached) {
        // A duplicate call: attached, with what the caller said and any upgrade proposed.
        ui.upsertIncident(answer.incident, { ifAbsent: true });
        say(answer.message, answer.proposed_determinant ? "warning" : "ok");
        resetForm();
        return showRecommendations(ui.incident(answer.incident.id) || answer.incident);
      }
      const incident = answer;
      ui.upsertIncident(incident, { ifAbsent: true });
      say("Incident #" + incident.id + " created at " + (incident.address || incident.road_street || "the map point") +
        (incident.stop ? " (stop at " + incident.stop + ")" : "") + ".", "ok");
      resetForm();
      return showRecommendations(ui.incident(incident.id) || incident);
    })
    .catch(function (err) { say(err.message || String(err), "error"); });
});

ui.onMapClick(function (lat, lon) {
  api("GET", "/api/v1/geocode/reverse/?lat=" + lat.toFixed(6) + "&lon=" + lon.toFixed(6)).then(function (r) {
    const text = form.elements.namedItem("location_text");
    if (text && !text.value && r.ok) text.value = r.data.label;
  });
});
