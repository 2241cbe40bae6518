// The ED thread, home medications, the patient form, and the record's whole render.
import { clock, uuid } from "../../js/dom.js";
import { RECORD_STATUSES } from "./vocabulary.js";
import { activeAssignment, db, el, make, outbox, root, tablet } from "./context.js";
import { current, patientsOf, persist, persistSoon, unsaved } from "./store.js";
import { renderVitalChecks, renderVitalsControls } from "./vitals_form.js";
import { renderAtmist, renderHistory, renderPanes, renderScores, renderTabs } from "./scores.js";
import { renderAck, renderTreatment } from "./treatment.js";
import { renderDestinations } from "./destination.js";

function renderThread(p) {
  el.thread.replaceChildren();
  if (!p.messages.length) {
    el.thread.append(make("li", "thread-empty", "No messages. The ED sees this thread on its board once you choose it as destination."));
  }
  p.messages.forEach(function (m) {
    const li = make("li", "msg msg-" + m.sender + " msg-" + (m.status || "sent"));
    li.append(make("span", "msg-who", (m.sender === "ed" ? "ED" : "Crew") + " · " + clock(m.sent_at) + (m.status === "pending" ? " · sending…" : m.status === "rejected" ? " · NOT SENT" : "")));
    li.append(make("span", "msg-text", m.text));
    el.thread.append(li);
  });
  if (db.pane === "ed") p.unread = 0;
  el.unread.hidden = !p.unread;
  el.unread.textContent = p.unread ? String(p.unread) : "";
}
function sendMessage(text) {
  const p = current();
  const clean = (text || "").trim();
  if (!p || !clean) return;
  const id = uuid();
  outbox.push("message", { encounter: p.id, message_id: id, text: clean });
  p.messages.push({ client_id: id, sender: "crew", text: clean, sent_at: new Date().toISOString(), status: "pending" });
  persist();
  render();
}

function renderMeds(p) {
  el.meds.replaceChildren();
  (p.draft.medications || []).forEach(function (m, index) {
    const li = make("li", "med" + (m.anticoagulant ? " med-anticoag" : ""));
    li.append(make("span", "med-name", m.name));
    if (m.anticoagulant) li.append(make("span", "tag tag-bad", "ANTICOAGULANT"));
    const remove = make("button", "btn btn-small med-remove", "Remove");
    remove.type = "button";
    remove.addEventListener("click", function () {
      p.draft.medications.splice(index, 1);
      p.draftTouched = true;
      persistSoon();
      render();
    });
    li.append(remove);
    el.meds.append(li);
  });
}
function renderPatientForm(p) {
  for (const b of el.patientForm.querySelectorAll("[data-sex]")) b.setAttribute("aria-pressed", b.dataset.sex === p.draft.sex ? "true" : "false");
  renderMeds(p);
  const problem = p.problem;
  if (problem) {
    el.patientState.textContent = "Not accepted: " + problem.message + (problem.field ? " (" + problem.field + ")" : "");
    el.patientState.className = "patient-state bad";
  } else {
    const waiting = outbox.pending().some(function (item) { return item.type === "encounter" && item.data.encounter === p.id; });
    el.patientState.textContent = unsaved(p) ? "Unsaved changes" : waiting ? "Saved on the tablet · sending…" : p.opened ? "Saved" : "";
    el.patientState.className = "patient-state" + (unsaved(p) ? " unsaved" : "");
  }
}

// The newest pre-arrival message the destination's system refused (or never took), shown while
// the patient still goes there.
function renderDelivery(p) {
  const f = p.srv && p.srv.delivery_failure;
  const current = f && (!p.srv.destination_id || p.srv.destination_id === f.hospital_id);
  el.delivery.hidden = !current;
  if (!current) return;
  el.delivery.textContent = (f.outcome === "failed"
    ? "Hospital system could not be reached with the pre-arrival message: "
    : f.outcome === "not_sent" ? "Pre-arrival message not sent to the hospital system: "
    : "Hospital system rejected the pre-arrival message: ") + (f.reason || "no reason given") +
    " (" + f.hospital + ", " + f.channel + " " + f.message + ", " + clock(f.failed_at) + "). Tell the ED by phone or in the chat.";
}

function render() {
  const a = activeAssignment();
  const status = tablet.status();
  root.hidden = !a;
  document.body.classList.toggle("record-first", Boolean(a) && RECORD_STATUSES.indexOf(status) >= 0);
  if (!a) return;
  const list = patientsOf(a);
  const p = current();
  el.empty.hidden = list.length > 0;
  el.body.hidden = !p;
  renderTabs(list, p);
  if (!p) return;
  renderPanes();
  renderVitalChecks(p);
  renderVitalsControls(p);
  renderHistory(p);
  renderScores(p);
  renderAtmist(p);
  renderTreatment(p);
  renderAck(p);
  renderPatientForm(p);
  renderThread(p);
  renderDelivery(p);
  if (db.pane === "destination") renderDestinations(p);
}

export { render, renderPatientForm, sendMessage };
