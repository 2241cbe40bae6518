// Controls that are not pulled from under the dispatcher's hand: an incident's action box
// (cancel, replace, close with a disposition) in its popup and under the ranking is rebuilt
// only when it changes, and not while the pointer rests on it or one of its controls has
// focus (a click between mousedown and mouseup on a rebuilt button is lost); a choice made in
// one of its selects and the last answer it showed survive the rebuild.

// Where the pointer last was: a node rebuilt under a resting pointer is not :hover until the
// pointer moves, so the page is asked what lies under that point instead.
const pointer = { x: -1, y: -1 };
document.addEventListener("pointermove", function (event) {
  pointer.x = event.clientX;
  pointer.y = event.clientY;
}, { capture: true, passive: true });

function underHand(node) {
  if (node.contains(document.activeElement)) return true;
  const at = pointer.x >= 0 ? document.elementFromPoint(pointer.x, pointer.y) : null;
  return Boolean(at && node.contains(at));
}

// Runs `callback` once the pointer and the focus have left `node` (once, however often asked).
function whenLeft(node, callback) {
  if (node.dataset.refreshPending) return;
  node.dataset.refreshPending = "1";
  let queued = false;
  function stop() {
    document.removeEventListener("pointermove", later, true);
    document.removeEventListener("focusout", later, true);
    delete node.dataset.refreshPending;
  }
  function later() {
    if (queued) return;
    queued = true;
    setTimeout(function () {
      queued = false;
      if (node.isConnected && underHand(node)) return;
      stop();
      if (node.isConnected) callback();
    }, 0);
  }
  document.addEventListener("pointermove", later, true);
  document.addEventListener("focusout", later, true);
}

function selectKey(select) {
  const row = select.closest("[data-assignment-id]");
  return select.className + "|" + (row ? row.dataset.assignmentId : "");
}

// Put the action box `html` (one .incident-actions element) into `holder`; `again` runs when a
// rebuild held back for the dispatcher's hand may happen. Another incident's box is replaced
// at once: the controls must never act on an incident other than the one shown.
function putActions(holder, html, again) {
  const actions = holder.querySelector(".incident-actions");
  const fresh = document.createElement("div");
  fresh.innerHTML = html;
  const rebuilt = fresh.firstElementChild;
  if (!actions) {
    holder.appendChild(rebuilt);
    return;
  }
  const said = actions.querySelector(".action-result");
  const sayAgain = rebuilt.querySelector(".action-result");
  if (said && sayAgain) sayAgain.textContent = said.textContent;
  if (rebuilt.innerHTML === actions.innerHTML) return;
  const same = actions.dataset.incidentId === rebuilt.dataset.incidentId;
  if (same && underHand(actions)) {
    whenLeft(actions, again);
    return;
  }
  if (same) {
    const chosen = new Map(Array.from(actions.querySelectorAll("select")).map(function (s) {
      return [selectKey(s), s.value];
    }));
    rebuilt.querySelectorAll("select").forEach(function (s) {
      const value = chosen.get(selectKey(s));
      if (value != null && Array.from(s.options).some(function (o) { return o.value === value; })) s.value = value;
    });
  }
  actions.replaceWith(rebuilt);
}

export { putActions };
