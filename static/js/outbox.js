// A persistent outbox for the device protocol (docs/protocol.md, realtime/devices.py).
//
// Every item is written to localStorage BEFORE it is sent, so a reload, a crash or a lost
// link loses nothing. Items go out as {type, id, seq, data}; the server answers each with
// {"type": "ack", id, ...} after commit, or {"type": "reject", id, code, field, message}.
// A repeated id gets the first answer again and is stored once, so resending is always safe:
// after every (re)connection everything unanswered is sent again with the SAME ids.
//
//   const outbox = GoldenHour.Outbox("gh.outbox.crew", function (msg) { return conn.send(msg); }, {
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
"use strict";
window.GoldenHour = window.GoldenHour || {};
window.GoldenHour.Outbox = function (storageKey, socketSend, options) {
  const opts = options || {};
  const seqKey = opts.seqKey || storageKey + ".seq";
  // An item sent but not answered within this time is sent again (same id): a frame can be
  // lost on a socket that still looks open.
  const resendAfterMs = opts.resendAfterMs || 20000;
  let pending = [];
  let rejected = [];
  let online = false;
  let persistent = true;
  const inflight = new Map(); // id -> time sent on the current connection

  function newId() {
    if (window.crypto && typeof window.crypto.randomUUID === "function") {
      return window.crypto.randomUUID();
    }
    return Date.now().toString(36) + "-" + Math.random().toString(36).slice(2, 12) + "-" +
      Math.random().toString(36).slice(2, 12);
  }

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

  function send(item) {
    const ok = socketSend({ type: item.type, id: item.id, seq: item.seq, data: item.data });
    if (ok === false) return false;
    inflight.set(item.id, Date.now());
    return true;
  }

  function find(id) {
    for (let i = 0; i < pending.length; i += 1) {
      if (pending[i].id === id) return i;
    }
    return -1;
  }

  box.push = function (type, data) {
    const item = {
      id: newId(), type: type, seq: nextSeq(), data: data, created_at: new Date().toISOString(),
    };
    pending.push(item);
    save(); // persisted before it can leave the device
    changed("push", item);
    if (online) send(item);
    return item;
  };

  box.flush = function () {
    if (!online) return 0;
    const now = Date.now();
    let sent = 0;
    for (const item of pending.slice()) {
      const at = inflight.get(item.id);
      if (at !== undefined && now - at < resendAfterMs) continue;
      if (!send(item)) break;
      sent += 1;
    }
    return sent;
  };

  box.setOnline = function (value) {
    online = Boolean(value);
    // A new connection has seen none of our frames: everything unanswered goes again.
    inflight.clear();
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

  box.handle = function (message) {
    if (!message || typeof message.id !== "string" && typeof message.ref !== "string") return false;
    if (message.type === "ack" || message.type === "reject") {
      const index = find(message.id);
      if (index < 0) return message.type === "ack" || message.type === "reject";
      const item = pending.splice(index, 1)[0];
      inflight.delete(item.id);
      if (message.type === "ack") {
        save();
        if (typeof box.onack === "function") box.onack(item, message);
        changed("ack", item);
      } else {
        item.rejection = {
          code: message.code || "invalid", field: message.field || null,
          message: message.message || "Refused by the server.", at: new Date().toISOString(),
        };
        rejected.push(item);
        save();
        if (typeof box.onreject === "function") box.onreject(item, message);
        changed("reject", item);
      }
      return true;
    }
    if (message.type === "error" && typeof message.ref === "string") {
      const index = find(message.ref);
      if (index < 0) return false;
      if (message.code === "no_hello") {
        // Sent before this connection's hello was answered; it goes again after hello.ack.
        inflight.delete(message.ref);
        return true;
      }
      return box.handle({
        type: "reject", id: message.ref, code: message.code, field: message.field,
        message: message.message,
      });
    }
    return false;
  };

  box.count = function () { return pending.length; };
  box.pending = function () { return pending.map(function (item) { return Object.assign({}, item); }); };
  box.rejected = function () { return rejected.map(function (item) { return Object.assign({}, item); }); };
  box.isOnline = function () { return online; };
  box.isPersistent = function () { return persistent; };

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
};
