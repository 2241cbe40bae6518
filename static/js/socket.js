// A WebSocket that reconnects with capped back-off and reports its state on the page.
//
// connect(path, handlers): `path` is a string, or a function returning one, called before
// every (re)connection (so a screen can add `?since=<last seq>`). Handlers, all optional:
// open(socket), message(msg, socket), close(event). A `batch` frame (several events of one
// stream, docs/protocol.md) reaches `message` as its events, one by one.
// Option `watchOnline: true`: when the browser reports it is offline the socket is dropped at
// once and no reconnection is tried until it is back online (Chrome keeps a dead socket
// "open" for minutes after the network goes away, and any send into it is lost).
// Returns {send(obj) -> bool (false when not connected), reconnect(), isOpen()}.
export function connect(path, handlers) {
  const indicator = document.getElementById("connection");
  const watchOnline = Boolean(handlers.watchOnline);
  let delay = 500;
  let socket = null;
  let timer = null;
  function show(text, ok) {
    if (indicator) {
      indicator.textContent = text;
      indicator.classList.toggle("offline", !ok);
    }
  }
  function browserOffline() {
    return watchOnline && navigator.onLine === false;
  }
  function schedule() {
    if (timer !== null) return;
    timer = setTimeout(function () { timer = null; open(); }, delay);
    delay = Math.min(delay * 2, 10000);
  }
  function abandon(current) {
    // Detach first: the old socket's late events must not reach the screen or reschedule.
    current.onopen = current.onmessage = current.onclose = current.onerror = null;
    try { current.close(); } catch (ignored) { /* already closed */ }
  }
  function lost(event) {
    socket = null;
    if (handlers.close) handlers.close(event || { code: 1006 });
    if (browserOffline()) {
      show("Offline", false);
      return;
    }
    show("Connection lost, retrying…", false);
    schedule();
  }
  function open() {
    if (browserOffline()) {
      show("Offline", false);
      return;
    }
    const scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    const target = typeof path === "function" ? path() : path;
    const current = new WebSocket(scheme + window.location.host + target);
    socket = current;
    current.onopen = function () {
      delay = 500;
      show("Live", true);
      if (handlers.open) handlers.open(current);
    };
    current.onmessage = function (event) {
      const message = JSON.parse(event.data);
      if (!handlers.message) return;
      // The server sends the events of one stream that fall in one tick as one frame.
      if (message && message.type === "batch" && Array.isArray(message.events)) {
        message.events.forEach(function (inner) { handlers.message(inner, current); });
        return;
      }
      handlers.message(message, current);
    };
    current.onclose = function (event) {
      if (event.code === 4401) {
        window.location.assign("/login/?next=" + encodeURIComponent(window.location.pathname));
        return;
      }
      lost(event);
    };
  }
  function reconnect() {
    if (timer !== null) { clearTimeout(timer); timer = null; }
    delay = 500;
    if (socket) {
      const current = socket;
      abandon(current);
      lost({ code: 4000 });
      // lost() scheduled a retry after the back-off; when online, go now instead.
      if (timer !== null) { clearTimeout(timer); timer = null; }
    }
    open();
  }
  if (watchOnline) {
    window.addEventListener("offline", function () {
      if (timer !== null) { clearTimeout(timer); timer = null; }
      if (socket) {
        abandon(socket);
        lost({ code: 4000 });
      } else {
        show("Offline", false);
      }
    });
    window.addEventListener("online", function () {
      if (!socket || socket.readyState > 1) reconnect();
    });
  }
  open();
  return {
    send: function (obj) {
      if (socket && socket.readyState === 1) {
        socket.send(JSON.stringify(obj));
        return true;
      }
      return false;
    },
    reconnect: reconnect,
    isOpen: function () { return Boolean(socket && socket.readyState === 1); },
  };
}
