// The "Ringing" panel: the emergency calls waiting in the centre's queue (its own, and its
// partners' rolled over to it), oldest first, each with a live age and an Answer button.
// Kept current by the board snapshot and `dispatch.call_queue.updated` events; answering
// opens the intake form with the caller's number (docs/centres.md). Text only.
import { el } from "../../js/dom.js";
import { request } from "../../js/api.js";
import { readList } from "./format.js";
import { on } from "./messages.js";

const panel = document.getElementById("call-queue");
const list = document.getElementById("call-queue-list");
const count = document.getElementById("call-queue-count");
const notice = document.getElementById("call-queue-notice");

// id -> {data, li, ageNode, base: seconds ringing when the data came, at: Date.now() then}.
// The age counts on from the server's age_s, so the browser's clock skew does not matter.
const calls = new Map();

function ageText(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const m = Math.floor(s / 60);
  return m + ":" + String(s % 60).padStart(2, "0");
}

function currentAge(entry) {
  return entry.base + (Date.now() - entry.at) / 1000;
}

function say(text, kind) {
  notice.textContent = text || "";
  notice.className = "call-queue-notice" + (kind ? " " + kind : "");
  notice.hidden = !text;
}

// DRF's {field: [messages]} or {detail}: the message only (the field is "status" here).
function refusal(data) {
  if (!data || typeof data !== "object") return "The server refused the answer.";
  if (data.detail) return String(data.detail);
  const messages = [];
  Object.keys(data).forEach(function (key) {
    if (key !== "code" && Array.isArray(data[key])) messages.push(data[key].join(" "));
  });
  return messages.join(" ") || "The server refused the answer.";
}

function openIntake(call) {
  const form = document.getElementById("intake-form");
  if (!form) return;
  const phone = form.elements.namedItem("caller_phone");
  if (phone) phone.value = call.caller_phone || "";
  // The incident saved from this form records the call as rung at received_at, linked.
  const queued = form.elements.namedItem("queued_call");
  if (queued) queued.value = String(call.id);
  const complaint = form.elements.namedItem("chief_complaint");
  if (complaint) complaint.focus();
}

function answer(id, buttonNode) {
  buttonNode.disabled = true;
  request("POST", "/api/v1/call-queue/" + encodeURIComponent(id) + "/answer/", {})
    .then(function (r) {
      if (r.ok && r.data) {
        removeCall(id);
        const from = r.data.offered_to && r.data.centre ? " (rolled over from " + r.data.centre.name + ")" : "";
        say("Answered" + from + ": " + (r.data.caller_phone || "number withheld") + ".", "ok");
        openIntake(r.data);
        return;
      }
      // 409: someone was first (or the caller hung up); the event takes it off the list too.
      if (r.status === 409) removeCall(id);
      else buttonNode.disabled = false;
      say(refusal(r.data), "error");
    })
    .catch(function () {
      buttonNode.disabled = false;
      say("The answer did not reach the server; try again.", "error");
    });
}

function render(entry) {
  const call = entry.data;
  const li = entry.li || el("li", "queued-call");
  li.replaceChildren();
  li.dataset.callId = String(call.id);
  li.dataset.receivedAt = call.received_at || "";
  // On the partner's console the call is another centre's, rolled over; on its own
  // centre's console it is still ours, and also ringing at the partner.
  const own = Boolean(call.centre) && String(call.centre.id) === panel.dataset.centreId;
  const rolled = Boolean(call.offered_to) && !own;
  const offeredAway = Boolean(call.offered_to) && own;
  li.classList.toggle("rolled-over", Boolean(rolled));
  const main = el("div", "queued-call-main");
  main.appendChild(el("span", "queued-call-phone", call.caller_phone || "Number withheld"));
  entry.ageNode = el("span", "queued-call-age", ageText(currentAge(entry)));
  main.appendChild(entry.ageNode);
  li.appendChild(main);
  const meta = el("div", "queued-call-meta");
  if (call.line) meta.appendChild(el("span", "queued-call-line", "Line " + call.line));
  if (rolled) meta.appendChild(el("span", "queued-call-from", "Rolled over from " + call.centre.name));
  if (offeredAway) meta.appendChild(el("span", "queued-call-offered", "Also offered to " + call.offered_to.name));
  li.appendChild(meta);
  const b = el("button", "primary queued-call-answer", "Answer");
  b.type = "button";
  b.addEventListener("click", function () { answer(call.id, b); });
  li.appendChild(b);
  entry.li = li;
}

function place(entry) {
  // Oldest first: by received time, then id.
  const key = (entry.data.received_at || "") + "#" + String(entry.data.id).padStart(12, "0");
  entry.li.dataset.sortKey = key;
  const next = Array.prototype.find.call(list.children, function (other) {
    return other !== entry.li && (other.dataset.sortKey || "") > key;
  });
  if (next) list.insertBefore(entry.li, next);
  else list.appendChild(entry.li);
}

function updateCount() {
  count.textContent = String(calls.size);
  panel.hidden = calls.size === 0 && notice.hidden;
  panel.classList.toggle("has-calls", calls.size > 0);
}

function removeCall(id) {
  const entry = calls.get(String(id));
  if (!entry) return;
  if (entry.li) entry.li.remove();
  calls.delete(String(id));
  updateCount();
}

function upsertCall(call) {
  if (!call || call.id == null) return;
  if (call.status !== "ringing") {
    removeCall(call.id);
    return;
  }
  const id = String(call.id);
  const entry = calls.get(id) || { li: null };
  entry.data = call;
  entry.base = Number(call.age_s) || 0;
  entry.at = Date.now();
  calls.set(id, entry);
  render(entry);
  place(entry);
  updateCount();
}

function applyQueue(queue) {
  const ids = new Set(queue.map(function (c) { return String(c.id); }));
  Array.from(calls.keys()).forEach(function (id) { if (!ids.has(id)) removeCall(id); });
  queue.forEach(upsertCall);
  updateCount();
}

function tick() {
  calls.forEach(function (entry) {
    if (entry.ageNode) entry.ageNode.textContent = ageText(currentAge(entry));
  });
}

function startCallQueue() {
  if (!panel || !list) return;
  applyQueue(readList("initial-call-queue"));
  on("dispatch.board.snapshot", function (msg) {
    const data = msg.data || {};
    if (Array.isArray(data.call_queue)) applyQueue(data.call_queue);
  });
  on("dispatch.call_queue.updated", function (msg) { upsertCall(msg.data || {}); });
  setInterval(tick, 1000);
}

export { startCallQueue, upsertCall };
