// The board's alerts: a tone (unless silenced on this screen) and a spoken announcement for a
// new patient or an activation.
import { SILENCE_KEY, liveEl, state } from "./state.js";

// ---- alerts: a sound and an announcement for a new patient or activation -----------------

let audio = null;
function beep(kind) {
  const Ctx = window.AudioContext || window.webkitAudioContext;
  if (!Ctx) return false;
  try {
    audio = audio || new Ctx();
    if (audio.state === "suspended") audio.resume();
    // Two short tones; an activation is higher and repeated, so the two are told apart.
    const tones = kind === "activation" ? [988, 988, 988] : [660, 880];
    tones.forEach(function (hz, i) {
      const osc = audio.createOscillator();
      const gain = audio.createGain();
      const at = audio.currentTime + i * 0.22;
      osc.frequency.value = hz;
      gain.gain.setValueAtTime(0.0001, at);
      gain.gain.exponentialRampToValueAtTime(0.3, at + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, at + 0.18);
      osc.connect(gain).connect(audio.destination);
      osc.start(at);
      osc.stop(at + 0.2);
    });
    return true;
  } catch (err) {
    return false;
  }
}

// A browser plays sound only after the page was touched once: unlock it on the first tap.
function unlockAudioOnFirstTap() {
  document.addEventListener("pointerdown", function () {
    const Ctx = window.AudioContext || window.webkitAudioContext;
    if (silenced() || !Ctx) return;
    try {
      audio = audio || new Ctx();
      audio.resume();
    } catch (err) { /* no audio on this screen */ }
  }, { once: true });
}

function silenced() {
  try { return window.localStorage.getItem(SILENCE_KEY) === "1"; } catch (err) { return false; }
}

function alertFor(kind, text) {
  const sound = !silenced();
  if (sound) beep(kind);
  // Screen readers and the wall board hear it either way; silence stops the sound only.
  liveEl.textContent = text;
  const entry = { kind: kind, text: text, sound: sound, at: new Date().toISOString() };
  state.alerts.push(entry);
  if (state.alerts.length > 50) state.alerts.shift();
  document.dispatchEvent(new CustomEvent("gh:ed-alert", { detail: entry }));
}

function noteActivations(row, isNew) {
  (row.activations || []).forEach(function (a) {
    const key = String(a.id);
    if (state.seenActivations.has(key)) return;
    state.seenActivations.add(key);
    if (state.primed && !isNew && !a.acknowledged_at) {
      alertFor("activation", "Activation proposed: " + (a.kind_label || a.kind) + " for " + row.temp_identifier);
    }
  });
}

export { alertFor, noteActivations, silenced, unlockAudioOnFirstTap };
