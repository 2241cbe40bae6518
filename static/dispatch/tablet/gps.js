// GPS: fixes from watchPosition sent through the outbox every 10 s at most, the heartbeat
// for a parked unit, and the crew's GPS switch.
import { uuid } from "../../js/dom.js";
import { HEARTBEAT_MS, KEY, POSITION_EVERY_MS, STILL_METRES, STILL_MPS, el, gps, recall, state, store } from "./state.js";
import { outbox } from "./crew_outbox.js";
import { renderGps } from "./screen.js";

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
// The heartbeat: a fix goes out at least every HEARTBEAT_MS. The fresh fix is asked for
// ASK_TIMEOUT_MS before that is due, so the fallback below still goes out in time; the timer
// checks every second (checking every 5 s and asking only once HEARTBEAT_MS had passed let a
// parked unit go up to HEARTBEAT_MS + 10 s between fixes). First ask for a fresh fix. Chrome
// answers getCurrentPosition only with a position that is new to it, so a parked tablet's
// request times out; then a unit that was standing still is reported where it stands, at
// the current time (the old fix's own time would not make the unit current: the server
// keeps the newest fix's time). A unit that was moving is not re-reported: its GPS is lost
// (a tunnel) and the centre should see the position go stale.
const ASK_TIMEOUT_MS = Math.min(10000, HEARTBEAT_MS / 2);
const HEARTBEAT_TICK_MS = 1000;
function heartbeat() {
  if (gps.watch === null || gps.asking || !navigator.geolocation) return;
  if (Date.now() - gps.lastPush < HEARTBEAT_MS - ASK_TIMEOUT_MS) return;
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
  }, { enableHighAccuracy: true, maximumAge: 0, timeout: ASK_TIMEOUT_MS });
}
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
// The heartbeat timer and the crew's GPS switch (remembered per unit on this tablet).
function wireGps() {
  setInterval(heartbeat, HEARTBEAT_TICK_MS);
  el.gpsToggle.checked = recall(KEY + ".gps", true) !== false;
  el.gpsToggle.addEventListener("change", function () {
    store(KEY + ".gps", el.gpsToggle.checked);
    gps.error = "";
    state.gpsNote = "";
    if (el.gpsToggle.checked) startGps(); else stopGps();
    renderGps();
  });
  if (el.gpsToggle.checked) startGps();
}
function stopGps() {
  if (gps.watch !== null && navigator.geolocation) navigator.geolocation.clearWatch(gps.watch);
  gps.watch = null;
}

export { wireGps };
