// The hospitals on the console: markers with decluttered labels, popups, the list.
import { el, escapeHtml } from "../../js/dom.js";
import { L, hospitalList, mapEl, state } from "./state.js";
import { cssToken, hasPosition, insertSorted, select } from "./format.js";
import { hospitalLayer, map } from "./map.js";

// ---- hospitals -------------------------------------------------------------------------

const LABEL_LINE_PX = 18;
const SQUARE_HALF_PX = 11;
const LABEL_GAP_PX = 14; // from the square's centre to the label's left edge
const LABEL_CHAR_PX = 6.6; // 11px semibold, generous so estimates never undershoot

function hospitalIcon(h, labelShift, labelLeft) {
  const shift = labelShift ? ' style="top:' + labelShift + 'px"' : "";
  const side = labelLeft ? " left" : "";
  return L.divIcon({
    className: "gh-marker",
    iconSize: null,
    html:
      '<div class="hospital-marker is-' + cssToken(h.ed_status) + '"><span class="sq">H</span>' +
      '<span class="label' + side + '"' + shift + ">" + escapeHtml(h.name) + "</span></div>",
  });
}

// Hospital campuses sit close together (Meilahti has three); push a label down until it
// clears the labels already placed and every hospital square, so names stay readable.
function declutterHospitalLabels() {
  const entries = Array.from(state.hospitals.values()).filter(function (e) { return e.marker; });
  entries.sort(function (a, b) { return Number(b.data.lat) - Number(a.data.lat); });
  const points = entries.map(function (e) { return map.latLngToContainerPoint(e.marker.getLatLng()); });
  const boxes = points.map(function (p) {
    return { x0: p.x - SQUARE_HALF_PX, x1: p.x + SQUARE_HALF_PX, y0: p.y - SQUARE_HALF_PX, y1: p.y + SQUARE_HALF_PX };
  });
  function overlaps(a, b) {
    return a.x0 < b.x1 && b.x0 < a.x1 && a.y0 < b.y1 && b.y0 < a.y1;
  }
  const size = map.getSize();
  const mapRect = mapEl.getBoundingClientRect();
  const controls = Array.prototype.map.call(
    mapEl.querySelectorAll(".leaflet-control"),
    function (node) {
      const r = node.getBoundingClientRect();
      return { x0: r.left - mapRect.left, x1: r.right - mapRect.left, y0: r.top - mapRect.top, y1: r.bottom - mapRect.top };
    }
  );
  function blocked(label, i) {
    if (label.x0 < 0 || label.x1 > size.x) return true;
    if (controls.some(function (box) { return overlaps(label, box); })) return true;
    return boxes.some(function (box, j) { return j !== i && overlaps(label, box); });
  }
  entries.forEach(function (entry, i) {
    const p = points[i];
    const width = 8 + LABEL_CHAR_PX * String(entry.data.name || "").length;
    function candidate(attempt) {
      const shift = Math.floor(attempt / 2) * LABEL_LINE_PX;
      const left = attempt % 2 === 1;
      const x0 = left ? p.x - LABEL_GAP_PX - width : p.x + LABEL_GAP_PX;
      return {
        shift: shift, left: left,
        box: { x0: x0, x1: x0 + width, y0: p.y + shift - LABEL_LINE_PX / 2, y1: p.y + shift + LABEL_LINE_PX / 2 },
      };
    }
    // Right of the square, then left of it, then the same one line lower, and so on;
    // when nothing is free, right of the square as usual.
    let chosen = null;
    for (let attempt = 0; attempt < 24 && !chosen; attempt += 1) {
      const c = candidate(attempt);
      if (!blocked(c.box, i)) chosen = c;
    }
    if (!chosen) chosen = candidate(0);
    const shift = chosen.shift;
    const left = chosen.left;
    boxes.push(chosen.box);
    if (entry.labelShift !== shift || entry.labelLeft !== left || entry.iconStale) {
      entry.labelShift = shift;
      entry.labelLeft = left;
      entry.iconStale = false;
      entry.marker.setIcon(hospitalIcon(entry.data, shift, left));
    }
  });
}
map.on("moveend", declutterHospitalLabels);

function hospitalPopup(h) {
  const diversion = h.ed_status === "diversion";
  const caps = Array.isArray(h.capabilities) && h.capabilities.length
    ? h.capabilities.join(", ").replace(/_/g, " ") : "general";
  return (
    "<h4>" + escapeHtml(h.name) + "</h4>" +
    '<p>ED: <span class="badge ed-' + cssToken(h.ed_status) + '">' +
    (diversion ? "On diversion" : escapeHtml(h.ed_status || "unknown")) + "</span></p>" +
    (diversion && h.diversion_reason ? "<p><strong>Reason:</strong> " + escapeHtml(h.diversion_reason) + "</p>" : "") +
    "<p>Capabilities: " + escapeHtml(caps) + "</p>"
  );
}

function upsertHospital(h) {
  if (!h || h.id == null) return;
  const id = String(h.id);
  let entry = state.hospitals.get(id);
  if (!entry) {
    entry = { data: h, marker: null, li: null };
    state.hospitals.set(id, entry);
  }
  entry.data = Object.assign({}, entry.data, h);
  const data = entry.data;
  if (hasPosition(data)) {
    const latlng = [Number(data.lat), Number(data.lon)];
    if (!entry.marker) {
      entry.marker = L.marker(latlng, { icon: hospitalIcon(data, 0, false), zIndexOffset: 0, keyboard: false, title: data.name })
        .bindPopup(function () { return hospitalPopup(entry.data); })
        .addTo(hospitalLayer);
      entry.marker.on("click", function () { select(entry.li); });
    } else {
      entry.marker.setLatLng(latlng);
      entry.iconStale = true;
      if (entry.marker.isPopupOpen()) entry.marker.setPopupContent(hospitalPopup(data));
    }
    declutterHospitalLabels();
  }
  if (hospitalList) {
    let li = entry.li || hospitalList.querySelector('li[data-hospital-id="' + CSS.escape(id) + '"]');
    if (!li) li = el("li", "hospital");
    li.tabIndex = 0;
    li.dataset.hospitalId = id;
    li.dataset.edStatus = data.ed_status || "";
    li.replaceChildren();
    li.appendChild(el("span", "hospital-name", data.name));
    li.appendChild(el("span", "badge ed-" + cssToken(data.ed_status),
      data.ed_status === "diversion" ? "Diversion" : data.ed_status || "unknown"));
    if (data.ed_status === "diversion" && data.diversion_reason) {
      li.appendChild(el("span", "hospital-reason", data.diversion_reason));
    }
    entry.li = li;
    insertSorted(hospitalList, li, String(data.name || ""));
  }
}

function removeHospital(id) {
  const key = String(id);
  const entry = state.hospitals.get(key);
  if (!entry) return;
  if (entry.marker) hospitalLayer.removeLayer(entry.marker);
  if (entry.li) entry.li.remove();
  state.hospitals.delete(key);
  declutterHospitalLabels();
}

export { removeHospital, upsertHospital };
