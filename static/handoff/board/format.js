// The ED board's small helpers: the server's clock, times and numbers as text, and its REST
// call with refusals worded for the board (which field, and why).
import { request } from "../../js/api.js";
import { state } from "./state.js";

// ---- helpers ---------------------------------------------------------------------------

function now() {
  return Date.now() + state.skewMs;
}

function parseTime(iso) {
  if (!iso) return null;
  const t = Date.parse(iso);
  return Number.isNaN(t) ? null : t;
}

function two(n) { return (n < 10 ? "0" : "") + n; }

function mmss(totalSeconds) {
  const s = Math.max(0, Math.floor(totalSeconds));
  const m = Math.floor(s / 60);
  const r = s % 60;
  return (m < 10 ? "0" : "") + m + ":" + (r < 10 ? "0" : "") + r;
}

function fmtNumber(value) {
  if (typeof value !== "number") return String(value);
  return Number.isInteger(value) ? String(value) : String(Math.round(value * 10) / 10);
}

// ---- REST ------------------------------------------------------------------------------

// The parsed answer; a refusal rejects with an Error worded for the board (and its status).
function api(method, url, body) {
  return request(method, url, body).then(
    function (answer) {
      if (!answer.ok) {
        const error = new Error(errorText(answer.status, answer.data));
        error.status = answer.status;
        throw error;
      }
      return answer.data;
    },
    function () {
      throw new Error("Could not reach the server; try again.");
    }
  );
}

// DRF and config/api.py answer {field: [message], code}; say which field and why.
function errorText(status, data) {
  if (data && typeof data === "object") {
    if (typeof data.detail === "string") return data.detail;
    const parts = [];
    Object.keys(data).forEach(function (field) {
      if (field === "code") return;
      const value = data[field];
      const text = Array.isArray(value) ? value.join(" ") : String(value);
      const named = field === "non_field_errors" || text.toLowerCase().indexOf(field.toLowerCase()) === 0;
      parts.push(named ? text : field + ": " + text);
    });
    if (parts.length) return parts.join("; ");
  }
  if (status === 403) return "Not allowed for your account.";
  if (status === 404) return "This patient is no longer on this board.";
  return "The server refused this (" + status + ").";
}

function showError(slot, text) {
  if (!slot) return;
  slot.textContent = text || "";
  slot.hidden = !text;
}

function encounterUrl(id, action) {
  return "/api/v1/encounters/" + encodeURIComponent(id) + "/" + action + "/";
}

export { api, encounterUrl, fmtNumber, mmss, now, parseTime, showError, two };
