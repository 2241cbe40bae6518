// The console's small helpers: status and priority labels, times as text, sorted list
// insertion and selection, and the rule that a REST answer never overwrites a newer socket copy.
import { clock, readJson } from "../../js/dom.js";
import { STATUS_LABELS, state } from "./state.js";

// ---- helpers ---------------------------------------------------------------------------

function cssToken(value) {
  return String(value == null ? "" : value).toLowerCase().replace(/[^a-z0-9_-]/g, "");
}

function statusLabel(status) {
  if (STATUS_LABELS[status]) return STATUS_LABELS[status];
  const text = String(status || "unknown").replace(/_/g, " ");
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function hasPosition(item) {
  return item && Number.isFinite(Number(item.lat)) && Number.isFinite(Number(item.lon)) &&
    item.lat !== null && item.lon !== null;
}

// MPDS determinant levels: Echo/Delta red, Charlie orange, Bravo yellow, Alpha/Omega blue.
function priorityColour(priority) {
  const p = String(priority || "").trim().toLowerCase().charAt(0);
  if (p === "e" || p === "d") return "red";
  if (p === "c") return "orange";
  if (p === "b") return "yellow";
  return "blue";
}

function priorityLabel(priority) {
  const p = String(priority || "").trim();
  return p ? p.charAt(0).toUpperCase() + p.slice(1).toLowerCase() : "—";
}

function sinceText(iso) {
  if (!iso) return "no GPS fix yet";
  const then = Date.parse(iso);
  if (!Number.isFinite(then)) return "";
  const s = Math.max(0, Math.round((Date.now() - then) / 1000));
  if (s < 60) return "fix " + s + " s ago";
  if (s < 3600) return "fix " + Math.round(s / 60) + " min ago";
  return "fix " + dayClock(iso);
}

function dayClock(iso) {
  const d = new Date(iso);
  if (!Number.isFinite(d.getTime())) return "";
  return d.getDate() + "." + (d.getMonth() + 1) + ". " + clock(iso);
}

// "manual, 14:02 by Anna Virtanen": a dispatcher's change by hand (radio report).
function manualText(at, by) {
  return "manual" + (at ? ", " + clock(at) : "") + (by ? " by " + by : "");
}

// What a dispatcher may set by hand (dispatch/services.py unit_status_options): without an
// assignment in or out of service; with one, the assignment's next state.
const STATUS_BY_HAND = {
  available: ["out_of_service"],
  out_of_service: ["available"],
  dispatched: ["en_route"],
  en_route: ["on_scene"],
  on_scene: ["transporting", "available"],
  transporting: ["at_destination"],
  at_destination: ["available"],
};

// The list a template embedded (initial units, hospitals, incidents); [] when unreadable.
function readList(id) {
  const value = readJson(id);
  return Array.isArray(value) ? value : [];
}

function insertSorted(list, li, key) {
  const items = Array.prototype.slice.call(list.children);
  const next = items.find(function (other) {
    return other !== li && (other.dataset.sortKey || "").localeCompare(key, undefined, { numeric: true }) > 0;
  });
  li.dataset.sortKey = key;
  if (next) list.insertBefore(li, next);
  else list.appendChild(li);
}

function select(li) {
  document.querySelectorAll(".item-list > li.selected").forEach(function (node) {
    node.classList.remove("selected");
  });
  if (li) li.classList.add("selected");
}

// No stale copies: a REST answer (a position or status set by hand, an upgrade) is only as
// new as the moment the server wrote it, and the socket may have brought a newer copy of the
// same unit or incident while it travelled (the crew pressed Clear meanwhile). The answer is
// applied only when no socket copy of it arrived since the request was sent; otherwise the
// socket's copy stands, and the event of the change itself follows on the socket.
function touch(kind, id) {
  const key = kind + ":" + id;
  state.touched.set(key, (state.touched.get(key) || 0) + 1);
}

function answerIsNewest(kind, id) {
  const key = kind + ":" + id;
  const before = state.touched.get(key) || 0;
  const epoch = state.touched.get("snapshot:") || 0;
  return function () {
    return (state.touched.get(key) || 0) === before && (state.touched.get("snapshot:") || 0) === epoch;
  };
}

export { STATUS_BY_HAND, answerIsNewest, cssToken, hasPosition, insertSorted, manualText, priorityColour, priorityLabel, readList, select, sinceText, statusLabel, touch };
