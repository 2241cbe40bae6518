// Call intake to dispatch: locate (address, coordinates, plus code or a map click), create the
// incident (warning about duplicates), rank units by drive time, dispatch, and keep the ETAs of
// units on their way live as they move.
"use strict";
(function () {
  const GH = window.GoldenHour;
  const ui = GH && GH.console;
  const form = document.getElementById("intake-form");
  if (!ui || !form) return;

  const result = document.getElementById("intake-result");
  const recList = document.getElementById("recommendations");
  const recEmpty = document.querySelector(".rec-empty");
  const csrf = form.querySelector("input[name=csrfmiddlewaretoken]").value;
  let currentIncident = null;

  function api(method, url, body) {
    return fetch(url, {
      method: method,
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf, Accept: "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        return { status: response.status, ok: response.ok, data: data };
      });
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
    return {
      caller_name: fieldValue("caller_name"),
      caller_phone: fieldValue("caller_phone"),
      chief_complaint: fieldValue("chief_complaint"),
      determinant: fieldValue("priority"),
      access_notes: fieldValue("access_notes"),
      notes: fieldValue("notes"),
    };
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

  // ---- recommend and dispatch -------------------------------------------------------

  // Every unit: the ranked ones first (a stale one says how old its position is), then the
  // excluded ones with why; an available one left out (capability, off the map, no route)
  // gets "Dispatch anyway", which asks once before sending override: true.
  function showRecommendations(incident) {
    currentIncident = incident;
    recList.replaceChildren();
    if (recEmpty) recEmpty.hidden = true;
    return api("GET", "/api/v1/incidents/" + incident.id + "/recommendations/").then(function (r) {
      if (!r.ok) throw new Error(errorText(r.data));
      let firstOffered = true;
      r.data.forEach(function (rec) {
        const li = document.createElement("li");
        li.className = "rec" + (rec.excluded ? " excluded" : "") + (rec.position_stale ? " stale" : "");
        li.dataset.unitId = rec.unit_id;
        const label = document.createElement("span");
        label.className = "rec-label";
        const eta = rec.eta_s != null ? " · ETA " + ui.mmss(rec.eta_s) + " · " + (rec.distance_m / 1000).toFixed(1) + " km" : "";
        label.textContent = rec.call_sign + " · " + rec.unit_type + (rec.excluded ? " — " + rec.excluded + eta : eta);
        li.appendChild(label);
        if (rec.position_note) {
          const note = document.createElement("span");
          note.className = "rec-position" + (rec.position_stale ? " stale" : "");
          note.textContent = rec.position_note;
          li.appendChild(note);
        }
        if (!rec.excluded) {
          li.appendChild(button("Dispatch", firstOffered ? "primary dispatch" : "dispatch", function (event) {
            event.stopPropagation();
            dispatchUnit(incident, rec, event.currentTarget);
          }));
          firstOffered = false;
        } else if (rec.overridable) {
          li.appendChild(button("Dispatch anyway", "dispatch-anyway", function (event) {
            event.stopPropagation();
            confirmOverride(incident, rec, event.currentTarget);
          }));
        }
        if (!rec.excluded || rec.overridable) {
          li.addEventListener("click", function () { previewRoute(rec.unit_id, incident); });
        }
        recList.appendChild(li);
      });
      const first = r.data.find(function (rec) { return !rec.excluded; });
      if (first) previewRoute(first.unit_id, incident);
    });
  }

  // One confirmation: the button turns into "Confirm ..." naming the reason; a second click
  // sends it, anything else (Escape, 8 s) puts it back.
  function confirmOverride(incident, rec, btn) {
    if (btn.dataset.confirming === "1") {
      btn.dataset.confirming = "";
      dispatchUnit(incident, rec, btn, true);
      return;
    }
    btn.dataset.confirming = "1";
    btn.classList.add("confirming");
    btn.textContent = "Confirm: send " + rec.call_sign + " (" + rec.excluded + ")";
    window.setTimeout(function () {
      if (btn.dataset.confirming !== "1") return;
      btn.dataset.confirming = "";
      btn.classList.remove("confirming");
      btn.textContent = "Dispatch anyway";
    }, 8000);
  }

  function unitLatLon(unitId) {
    const unit = ui.unit(unitId);
    return unit && unit.lat != null ? { lat: Number(unit.lat), lon: Number(unit.lon) } : null;
  }

  function routeFor(unitId, incident) {
    const from = unitLatLon(unitId);
    if (!from) return Promise.resolve(null);
    const mode = incident.response_mode === "lights_sirens" ? "urgent" : "non_urgent";
    return api("POST", "/api/v1/routing/route/", {
      origin: from, destination: { lat: incident.road_lat, lon: incident.road_lon }, mode: mode,
    }).then(function (r) { return r.ok ? r.data : null; });
  }

  function previewRoute(unitId, incident) {
    routeFor(unitId, incident).then(function (route) {
      const unit = ui.unit(unitId);
      if (route) ui.showRoute(route.geometry, (unit ? unit.call_sign : "Unit") + " · " + ui.mmss(route.duration_s));
    });
  }

  function dispatchUnit(incident, rec, btn, override) {
    const idle = override ? "Dispatch anyway" : "Dispatch";
    btn.disabled = true;
    btn.textContent = "Dispatching…";
    const body = { unit_ids: [rec.unit_id], device_id: "console" };
    if (override) body.override = true;
    api("POST", "/api/v1/incidents/" + incident.id + "/assignments/", body)
      .then(function (r) {
        if (r.status === 409 && r.data.code === "override_required") {
          // The ranking changed since the list was drawn: ask, as for an excluded row.
          const reason = (r.data.override || []).join(" ");
          const updated = Object.assign({}, rec, { excluded: reason });
          btn.replaceWith(button("Dispatch anyway", "dispatch-anyway", function (event) {
            event.stopPropagation();
            confirmOverride(incident, updated, event.currentTarget);
          }));
          say(reason, "warning");
          return;
        }
        if (!r.ok) throw new Error(errorText(r.data));
        btn.textContent = "Dispatched";
        const anyway = r.data[0].override_reason ? " (sent anyway: " + r.data[0].override_reason + ")" : "";
        const eta = r.data[0].eta_s != null ? ", ETA " + ui.mmss(r.data[0].eta_s) : "";
        say(rec.call_sign + " dispatched to #" + incident.id + eta + anyway + ".", "ok");
        previewRoute(rec.unit_id, incident);
      })
      .catch(function (err) {
        btn.disabled = false;
        btn.textContent = idle;
        say(err.message, "error");
      });
  }

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
          form.reset();
          return showRecommendations(ui.incident(answer.incident.id) || answer.incident);
        }
        const incident = answer;
        ui.upsertIncident(incident, { ifAbsent: true });
        say("Incident #" + incident.id + " created at " + (incident.address || incident.road_street || "the map point") +
          (incident.stop ? " (stop at " + incident.stop + ")" : "") + ".", "ok");
        form.reset();
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

  // ---- the selected unit's route ----------------------------------------------------

  function activeIncidentOf(unitId) {
    let found = null;
    document.querySelectorAll("#incident-list li[data-incident-id]").forEach(function (li) {
      const incident = ui.incident(li.dataset.incidentId);
      if (!found && incident && Array.isArray(incident.assignments) && incident.assignments.some(function (a) {
        return a.unit_id === Number(unitId) && (a.status === "dispatched" || a.status === "en_route");
      })) found = incident;
    });
    return found;
  }

  const unitList = document.getElementById("unit-list");
  if (unitList) {
    unitList.addEventListener("click", function (event) {
      const li = event.target.closest("li[data-unit-id]");
      if (!li) return;
      const incident = activeIncidentOf(li.dataset.unitId);
      if (incident) {
        currentIncident = incident;
        previewRoute(Number(li.dataset.unitId), incident);
      } else {
        ui.clearRoute();
      }
    });
  }

  // ---- live ETAs ---------------------------------------------------------------------
  // Each unit on its way gets its ETA recomputed from its live position, at most every 5 s.
  const lastEta = new Map();

  function followUnit(unit) {
    if (!unit || (unit.status !== "dispatched" && unit.status !== "en_route")) return;
    const now = Date.now();
    if (now - (lastEta.get(unit.id) || 0) < 5000) return;
    lastEta.set(unit.id, now);
    document.querySelectorAll("#incident-list li[data-incident-id]").forEach(function (li) {
      const incident = ui.incident(li.dataset.incidentId);
      if (!incident || !Array.isArray(incident.assignments)) return;
      const assignment = incident.assignments.find(function (a) {
        return a.unit_id === unit.id && (a.status === "dispatched" || a.status === "en_route");
      });
      if (!assignment) return;
      routeFor(unit.id, incident).then(function (route) {
        if (!route) return;
        // Only the ETA goes back: the copy read before the request may be older by now.
        ui.setLiveEta(incident.id, assignment.id, route.duration_s);
        if (currentIncident && currentIncident.id === incident.id) {
          ui.showRoute(route.geometry, unit.call_sign + " · " + ui.mmss(route.duration_s));
        }
      });
    });
  }

  ui.on("dispatch.unit.updated", function (msg) { followUnit(msg.data); });
  // Positions come once per tick for every unit that moved, with only the fields a fix
  // changes; the console has merged them already, so the whole unit is read from it.
  ui.on("dispatch.units.moved", function (msg) {
    const units = msg.data && Array.isArray(msg.data.units) ? msg.data.units : [];
    units.forEach(function (moved) { followUnit(ui.unit(moved.id)); });
  });
})();
