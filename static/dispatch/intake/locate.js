// Call intake, first half: the form's fields, messages to the call-taker, locating the caller
// (address, coordinates, plus code), creating the incident and offering a duplicate call to attach.
import { consoleApi } from "../console.js";
import { request } from "../../js/api.js";

const ui = consoleApi;
const form = document.getElementById("intake-form");

const result = document.getElementById("intake-result");
const recList = document.getElementById("recommendations");
const recEmpty = document.querySelector(".rec-empty");
// The incident whose ranking (or a unit's route to it) is on screen.
const picked = { incident: null };

// {status, ok, data}; data is {} when the answer had no JSON body.
function api(method, url, body) {
  return request(method, url, body).then(function (answer) {
    return { status: answer.status, ok: answer.ok, data: answer.data || {} };
  });
}

function say(text, kind) {
  result.className = "intake-result" + (kind ? " " + kind : "");
  result.replaceChildren();
  if (typeof text === "string") result.textContent = text;
  else result.appendChild(text);
}

// DRF errors are {field: [messages]}; show them with the field named.
function errorText(data) {
  if (!data || typeof data !== "object") return "The server refused the request.";
  if (data.detail) return String(data.detail);
  return Object.keys(data).filter(function (k) { return k !== "code"; }).map(function (field) {
    const value = data[field];
    const text = Array.isArray(value) ? value.join(" ") : typeof value === "object" ? errorText(value) : String(value);
    return (field === "non_field_errors" ? "" : field.replace(/_/g, " ") + ": ") + text;
  }).join(" ");
}

function button(label, className, onClick) {
  const b = document.createElement("button");
  b.type = "button";
  b.className = className || "";
  b.textContent = label;
  b.addEventListener("click", onClick);
  return b;
}

function fieldValue(name) {
  const node = form.elements.namedItem(name);
  return node ? String(node.value || "").trim() : "";
}

function baseIncident() {
  const body = {
    caller_name: fieldValue("caller_name"),
    caller_phone: fieldValue("caller_phone"),
    chief_complaint: fieldValue("chief_complaint"),
    determinant: fieldValue("priority"),
    access_notes: fieldValue("access_notes"),
    notes: fieldValue("notes"),
  };
  // Set when the call was answered from the Ringing panel (console/call_queue.js).
  const queued = fieldValue("queued_call");
  if (queued) body.queued_call = Number(queued);
  return body;
}

// After a save: reset() keeps a hidden input's value, so the queued call is cleared by hand.
function resetForm() {
  form.reset();
  const queued = form.elements.namedItem("queued_call");
  if (queued) queued.value = "";
}

// ---- locate ------------------------------------------------------------------------

function locate() {
  const lat = fieldValue("location_lat");
  const lon = fieldValue("location_lon");
  const text = fieldValue("location_text");
  if (lat && lon) {
    return Promise.resolve({ source: "map", lat: Number(lat), lon: Number(lon), text: text });
  }
  if (!text) return Promise.reject(new Error("Type an address, a place, coordinates or a plus code, or click the map."));
  return api("GET", "/api/v1/geocode/?q=" + encodeURIComponent(text) + "&limit=5").then(function (r) {
    if (!r.ok) throw new Error(errorText(r.data));
    const candidates = r.data.candidates || [];
    if (!candidates.length) {
      const near = (r.data.suggestions || []).map(function (c) { return c.label; }).slice(0, 3);
      throw new Error("No match for “" + text + "”." + (near.length ? " Nearest: " + near.join("; ") + "." : ""));
    }
    const top = candidates[0];
    const accuracy = fieldValue("location_accuracy");
    if (top.kind === "latlon" && accuracy !== "") {
      // Coordinates with an accuracy radius are the caller's phone position (AML / GPS).
      return { source: "caller_gps", lat: top.lat, lon: top.lon, accuracy_m: Number(accuracy), text: text };
    }
    if (top.kind === "latlon" || top.kind === "pluscode") {
      return { source: top.kind === "latlon" ? "latlon" : "pluscode", text: text };
    }
    // One clear answer goes straight through; otherwise the dispatcher picks.
    const clear = top.confidence >= 0.85 && (candidates.length === 1 || candidates[1].confidence < top.confidence - 0.1);
    if (clear) return { source: "address", text: top.label, lat: top.lat, lon: top.lon, confidence: top.confidence };
    return chooseCandidate(candidates);
  });
}

function chooseCandidate(candidates) {
  return new Promise(function (resolve) {
    const box = document.createElement("div");
    box.appendChild(document.createTextNode("Which place?"));
    const list = document.createElement("ol");
    list.className = "candidates";
    candidates.forEach(function (c) {
      const li = document.createElement("li");
      li.appendChild(button(c.label + " (" + Math.round(c.confidence * 100) + "%)", "candidate", function () {
        resolve({ source: "address", text: c.label, lat: c.lat, lon: c.lon, confidence: c.confidence });
      }));
      list.appendChild(li);
    });
    box.appendChild(list);
    say(box, "choose");
  });
}

// ---- create ------------------------------------------------------------------------

function create(location, extra) {
  const body = Object.assign(baseIncident(), extra || {});
  if (location) body.location = location;
  say("Saving…");
  return api("POST", "/api/v1/incidents/", body).then(function (r) {
    if (r.status === 409 && r.data.code === "duplicate") return offerDuplicates(location, r.data);
    if (!r.ok) throw new Error(errorText(r.data));
    return r.data;
  });
}

function offerDuplicates(location, data) {
  return new Promise(function (resolve, reject) {
    const box = document.createElement("div");
    box.appendChild(document.createTextNode(data.detail));
    const list = document.createElement("ul");
    (data.duplicates || []).forEach(function (d) {
      const li = document.createElement("li");
      li.appendChild(document.createTextNode("#" + d.id + " " + d.determinant + " " + d.chief_complaint + " — " + (d.address || "")));
      li.appendChild(button("Attach call to #" + d.id, "attach", function () {
        create(null, { attach_to: d.id }).then(resolve, reject);
      }));
      list.appendChild(li);
    });
    box.appendChild(list);
    box.appendChild(button("New incident anyway", "primary", function () {
      create(location, { allow_duplicate: true }).then(resolve, reject);
    }));
    say(box, "warning");
  });
}

export { api, button, create, errorText, fieldValue, form, locate, picked, recEmpty, recList, resetForm, say, ui };
