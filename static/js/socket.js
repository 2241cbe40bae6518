// A WebSocket that reconnects with capped back-off and reports its state on the page.
"use strict";
window.GoldenHour = window.GoldenHour || {};
window.GoldenHour.connect = function (path, handlers) {
  const indicator = document.getElementById("connection");
  let delay = 500;
  let socket = null;
  function show(text, ok) {
    if (indicator) {
      indicator.textContent = text;
      indicator.classList.toggle("offline", !ok);
    }
  }
  function open() {
    const scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    socket = new WebSocket(scheme + window.location.host + path);
    socket.onopen = function () {
      delay = 500;
      show("Live", true);
      if (handlers.open) handlers.open(socket);
    };
    socket.onmessage = function (event) {
      const message = JSON.parse(event.data);
      if (handlers.message) handlers.message(message, socket);
    };
    socket.onclose = function (event) {
      if (event.code === 4401) {
        window.location.assign("/login/?next=" + encodeURIComponent(window.location.pathname));
        return;
      }
      show("Connection lost, retrying…", false);
      setTimeout(open, delay);
      delay = Math.min(delay * 2, 10000);
    };
  }
  open();
  return { send: function (obj) { if (socket && socket.readyState === 1) socket.send(JSON.stringify(obj)); } };
};
