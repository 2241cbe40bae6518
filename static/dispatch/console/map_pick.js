// Map clicks: the caller's location pin for the intake form, a unit's position picked by hand,
// and the hooks other code registers for a click.
import { L, state } from "./state.js";
import { map } from "./map.js";
import { setUnitPosition, stopUnitPick } from "./unit_popup.js";

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

export { onMapClick };
