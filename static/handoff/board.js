// The ED incoming-patients board: who is coming, when, how sick, and the ED's side of the
// handoff. Rows are the server's board rows (handoff/selectors.py `board_row`); ED actions go
// through the REST API and come back to every board of the hospital as events.
// This entry module paints the first rows, wires the page's controls and opens the stream;
// the modules under handoff/board/ own the rest (docs/architecture.md, "Front end").
import { readJson } from "../js/dom.js";
import { SILENCE_KEY, listEl, silenceBox, state, wallButton } from "./board/state.js";
import { reorder, upsertRow } from "./board/cards.js";
import { silenced, unlockAudioOnFirstTap } from "./board/alerts.js";
import { applyHospital, tick } from "./board/updates.js";
import { syncReasonField } from "./board/actions.js";
import { startLive } from "./board/live.js";

// ---- start -----------------------------------------------------------------------------

const initial = readJson("initial-board") || {};
state.isCharge = Boolean(initial.is_charge);
document.body.classList.toggle("charge", state.isCharge);
listEl.innerHTML = "";
if (initial.hospital) applyHospital(initial.hospital);
(initial.recent || []).forEach(function (row) { upsertRow(row); });
(initial.incoming || []).forEach(function (row) { upsertRow(row); });
reorder();
state.primed = true;

// Silence (sound only), remembered on this screen.
silenceBox.checked = silenced();
silenceBox.addEventListener("change", function () {
  try {
    if (silenceBox.checked) window.localStorage.setItem(SILENCE_KEY, "1");
    else window.localStorage.removeItem(SILENCE_KEY);
  } catch (err) { /* private mode: the box still holds for this page */ }
});
unlockAudioOnFirstTap();

// Wall-board mode: ?wall=1 (a TV in the department) or the toggle; large type, no controls.
function setWall(on) {
  document.body.classList.toggle("wall", on);
  wallButton.textContent = on ? "Exit wall board" : "Wall board";
  wallButton.setAttribute("aria-pressed", on ? "true" : "false");
  const url = new URL(window.location.href);
  if (on) url.searchParams.set("wall", "1"); else url.searchParams.delete("wall");
  window.history.replaceState(null, "", url.pathname + url.search);
}
setWall(new URLSearchParams(window.location.search).get("wall") === "1");
wallButton.addEventListener("click", function () { setWall(!document.body.classList.contains("wall")); });
syncReasonField();
tick();
setInterval(tick, 1000);

startLive();

// The browser tests read the board through this hook.
const GH = (window.GoldenHour = window.GoldenHour || {});
GH.edBoard = {
  state: state,
  alerts: function () { return state.alerts.slice(); },
  row: function (id) { const c = state.cards.get(String(id)); return c ? c.row : null; },
};
