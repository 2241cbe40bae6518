// A persistent outbox for the device protocol (docs/protocol.md, realtime/devices.py).
//
// Every item is written to localStorage BEFORE it is sent, so a reload, a crash or a lost
// link loses nothing. Items go out as {type, id, seq, data}; the server answers each with
// {"type": "ack", id, ...} after commit, or {"type": "reject", id, code, field, message}.
// A repeated id gets the first answer again and is stored once, so resending is always safe:
// after every (re)connection everything unanswered is sent again with the SAME ids.
//
// When more than one item is waiting they go as one {"type": "batch", "items": [...]} frame
// (at most maxBatchItems), answered by {"type": "answers", "answers": [{...answer, index}]}
// (possibly split over several such frames). An answer {"type": "retry", id, code,
// retry_after_ms} means the server did NOT take the item: it stays here and goes again,
// in seq order, once retry_after_ms has passed. {"type": "backoff", retry_after_ms} pauses
// sending for that long.
//
// One frame is in flight at a time: the server refuses the rest of a frame from a refused
// item on, and an item sent behind a refused one could be taken before it (a status that
// needs the one before it would then be rejected for good).
//
//   const outbox = Outbox("gh.outbox.crew", function (msg) { return conn.send(msg); }, {
//     onchange: function (box) { ... box.count() ... },
//     onack: function (item, answer) { ... },
//     onreject: function (item, answer) { ... },
//   });
//   outbox.push("status", {assignment_id: 7, status: "en_route"});
//   outbox.setOnline(true);     // after hello.ack: resends everything pending, in seq order
//   outbox.handle(message);     // feed every socket message; true when it was an answer
//   outbox.setOnline(false);    // on close: items stay queued until the next hello.ack
//
// socketSend(message) must return false when it could not send (a socket that is not open);
// any other return value counts as sent.
import { uuid } from "./dom.js";

export function Outbox(storageKey, socketSend, options) {
  const opts = options || {};
  const seqKey = opts.seqKey || storageKey + ".seq";
  // A frame sent but not answered within this time is sent again (same ids): a frame can be
  // lost on a socket that still looks open.
  const resendAfterMs = opts.resendAfterMs || 20000;
  let maxBatch = opts.maxBatchItems || 200;
  let pending = [];
  let rejected = [];
  let online = false;
  let persistent = true;
  const inflight = new Map(); // id -> time sent on the current connection
  // The frame in flight: the ids it carried, in order (an answer's `index` points here), and
  // those still unanswered.
  let frame = null;
  let pausedUntil = 0;
  let pauseTimer = null;
  let flushQueued = false;

  function read(key, fallback) {
    try {
      const raw = window.localStorage.getItem(key);
      return raw === null ? fallback : JSON.parse(raw);
    } catch (ignored) {
      return fallback;
    }
  }

  function load() {
    const stored = read(storageKey, null);
    pending = stored && Array.isArray(stored.pending) ? stored.pending : [];
    rejected = stored && Array.isArray(stored.rejected) ? stored.rejected : [];
    pending.sort(function (a, b) { return a.seq - b.seq; });
  }

  function save() {
    try {
      window.localStorage.setItem(storageKey, JSON.stringify({ pending: pending, rejected: rejected }));
      persistent = true;
    } catch (ignored) {
      // Storage full or disabled: keep working from memory, and say so on the screen.
      persistent = false;
    }
  }

  function nextSeq() {
    const seq = (Number(read(seqKey, 0)) || 0) + 1;
    try { window.localStorage.setItem(seqKey, String(seq)); } catch (ignored) { persistent = false; }
    return seq;
  }

  const box = {
    onchange: opts.onchange || null,
    onack: opts.onack || null,
    onreject: opts.onreject || null,
  };

  function changed(reason, item) {
    if (typeof box.onchange === "function") box.onchange(box, reason, item || null);
  }

  function wire(item) {
    return { type: item.type, id: item.id, seq: item.seq, data: item.data };
  }

  function sendFrame(items) {
    const message = items.length === 1 ? wire(items[0]) : { type: "batch", items: items.map(wire) };
    if (socketSend(message) === false) return false;
    const now = Date.now();
    const ids = items.map(function (item) { return item.id; });
    ids.forEach(function (id) { inflight.set(id, now); });
    frame = { order: ids, open: new Set(ids), sentAt: now };
    return true;
  }

  function find(id) {
    for (let i = 0; i < pending.length; i += 1) {
      if (pending[i].id === id) return i;
    }
    return -1;
  }

  function answered(id) {
    inflight.delete(id);
    if (frame) {
      frame.open.delete(id);
      if (frame.open.size === 0) {
        frame = null;
        queueFlush();
      }
    }
  }

  // Items pushed in one go (a burst of the record's fields) leave together, as one batch.
  function queueFlush() {
    if (flushQueued) return;
    flushQueued = true;
    Promise.resolve().then(function () {
      flushQueued = false;
      box.flush();
    });
  }

  function pause(ms) {
    const wait = Number(ms);
    if (!Number.isFinite(wait) || wait <= 0) return;
    const until = Date.now() + Math.min(wait, 300000);
    if (until <= pausedUntil) return;
    pausedUntil = until;
    if (pauseTimer !== null) clearTimeout(pauseTimer);
    pauseTimer = setTimeout(function () {
      pauseTimer = null;
      changed("resume");
      box.flush();
    }, until - Date.now());
    changed("pause");
  }

  box.push = function (type, data) {
    const item = {
      id: uuid(), type: type, seq: nextSeq(), data: data, created_at: new Date().toISOString(),
    };
    pending.push(item);
    save(); // persisted before it can leave the device
    changed("push", item);
    if (online) queueFlush();
    return item;
  };

  box.flush = function () {
    if (!online) return 0;
    const now = Date.now();
    if (now < pausedUntil) return 0; // the pause's timer flushes when it ends
    if (frame) {
      if (now - frame.sentAt < resendAfterMs) return 0;
      // No answer for too long: that frame is taken for lost, and everything unanswered
      // goes again from the first, in seq order.
      frame = null;
      inflight.clear();
    }
    const due = pending.filter(function (item) { return !inflight.has(item.id); }).slice(0, maxBatch);
    if (!due.length || !sendFrame(due)) return 0;
    return due.length;
  };

  box.setOnline = function (value) {
    online = Boolean(value);
    // A new connection has seen none of our frames: everything unanswered goes again.
    inflight.clear();
    frame = null;
    changed(online ? "online" : "offline");
    if (online) box.flush();
  };

  box.noteServerSeq = function (serverSeq) {
    // After storage was cleared the device would reuse sequence numbers the server has seen.
    const last = Number(read(seqKey, 0)) || 0;
    if (Number.isInteger(serverSeq) && serverSeq > last) {
      try { window.localStorage.setItem(seqKey, String(serverSeq)); } catch (ignored) { persistent = false; }
    }
  };

  // One answer (alone, or one of an `answers` frame). Returns the item it settled and how,
  // or null; the caller saves and reports once per frame.
  function settle(message, index) {
    let id = typeof message.id === "string" ? message.id : null;
    if (message.type === "error") id = typeof message.ref === "string" ? message.ref : null;
    if (id === null && frame && Number.isInteger(index)) id = frame.order[index] || null;
    if (id === null) return null;
    const at = find(id);
    if (message.type === "retry") {
      // Not taken: it keeps its place, and the pause holds everything after it too.
      pause(message.retry_after_ms);
      answered(id);
      return at < 0 ? null : { item: pending[at], how: "retry" };
    }
    if (message.type === "error" && message.code === "no_hello") {
      // Sent before this connection's hello was answered; it goes again after hello.ack.
      pause(1000);
      answered(id);
      return null;
    }
    if (at < 0) {
      answered(id);
      return null;
    }
    const item = pending.splice(at, 1)[0];
    answered(id);
    if (message.type === "ack") return { item: item, how: "ack", answer: message };
    item.rejection = {
      code: message.code || "invalid", field: message.field || null,
      message: message.message || "Refused by the server.", at: new Date().toISOString(),
    };
    rejected.push(item);
    return { item: item, how: "reject", answer: message };
  }

  function report(outcome) {
    if (outcome.how === "ack" && typeof box.onack === "function") box.onack(outcome.item, outcome.answer);
    if (outcome.how === "reject" && typeof box.onreject === "function") box.onreject(outcome.item, outcome.answer);
  }

  const ANSWER_TYPES = new Set(["ack", "reject", "retry", "error"]);
  // Errors that refuse a whole frame; none of its items is answered on its own.
  const FRAME_REFUSALS = new Set(["too_many_items", "too_large", "too_deep"]);

  box.handle = function (message) {
    if (!message || typeof message.type !== "string") return false;
    if (message.type === "backoff") {
      pause(message.retry_after_ms);
      return true;
    }
    if (message.type === "answers") {
      if (!Array.isArray(message.answers)) return false;
      const outcomes = [];
      message.answers.forEach(function (answer, position) {
        if (!answer || !ANSWER_TYPES.has(answer.type)) return;
        const outcome = settle(answer, Number.isInteger(answer.index) ? answer.index : position);
        if (outcome) outcomes.push(outcome);
      });
      if (outcomes.some(function (o) { return o.how !== "retry"; })) save();
      outcomes.forEach(report);
      if (outcomes.length) changed("answers");
      return true;
    }
    if (message.type === "error" && typeof message.ref !== "string") {
      if (!FRAME_REFUSALS.has(message.code) || !frame) return false;
      if (frame.order.length > 1) {
        // The frame was refused whole (nothing of it taken): send it again in smaller ones.
        maxBatch = Math.max(1, Math.floor(frame.order.length / 2));
        frame.order.forEach(function (id) { inflight.delete(id); });
        frame = null;
        queueFlush();
        return true;
      }
      // One item alone that the server cannot read (too large, nested too deep): refused for
      // good, shown to the crew, and the items after it go on; it would block them for ever.
      const alone = settle(message, 0);
      if (!alone) return false;
      save();
      report(alone);
      changed(alone.how, alone.item);
      return true;
    }
    if (!ANSWER_TYPES.has(message.type)) return false;
    if (message.type === "error" && find(message.ref) < 0) return false;
    if (message.type !== "error" && typeof message.id !== "string" && message.type !== "retry") return false;
    const outcome = settle(message, frame && frame.order.length === 1 ? 0 : null);
    if (outcome) {
      if (outcome.how !== "retry") save();
      report(outcome);
      changed(outcome.how, outcome.item);
    }
    return true;
  };

  box.count = function () { return pending.length; };
  box.pending = function () { return pending.map(function (item) { return Object.assign({}, item); }); };
  box.rejected = function () { return rejected.map(function (item) { return Object.assign({}, item); }); };
  box.isOnline = function () { return online; };
  box.isPersistent = function () { return persistent; };
  // How long sending is still paused after a `retry` or `backoff` (0 when it is not).
  box.pausedFor = function () { return Math.max(0, pausedUntil - Date.now()); };

  box.dismiss = function (id) {
    const before = rejected.length;
    rejected = rejected.filter(function (item) { return item.id !== id; });
    if (rejected.length !== before) {
      save();
      changed("dismiss");
    }
  };

  load();
  setInterval(function () {
    if (online && pending.length) box.flush();
  }, Math.max(1000, Math.floor(resendAfterMs / 2)));
  // Another tab of the same screen shares the queue; follow its writes.
  window.addEventListener("storage", function (event) {
    if (event.key === storageKey) {
      load();
      changed("storage");
    }
  });
  return box;
}
