// The new-assignment alert: a tone (Web Audio), vibration and the banner, once per assignment
// per tablet, with the crew's mute switch.
import { ACTIVE, KEY, el, recall, state, store } from "./state.js";
import { pendingFor } from "./assignment_view.js";

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

export { alertNewAssignment, alerts, renderAlerts };
