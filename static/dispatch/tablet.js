"use strict";
(function () {
  // A stable id per browser, so the centre sees which tablet of the unit is online.
  let deviceId = window.localStorage.getItem("gh.deviceId");
  if (!deviceId) {
    deviceId = "tablet-" + (window.crypto.randomUUID ? window.crypto.randomUUID() : String(Date.now()));
    window.localStorage.setItem("gh.deviceId", deviceId);
  }
  window.GoldenHour.connect("/ws/crew/", {
    open: function (socket) { socket.send(JSON.stringify({ type: "hello", device_id: deviceId })); },
    message: function (msg) {
      if (msg.type === "dispatch.unit.snapshot") {
        document.getElementById("unit-status").textContent = msg.data.status.replace("_", " ");
      }
    },
  });
})();
