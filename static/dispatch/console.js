"use strict";
(function () {
  function row(unitId) { return document.querySelector('#units tr[data-unit-id="' + unitId + '"]'); }
  function setPresence(unitId, text) {
    const tr = row(unitId);
    if (tr) tr.querySelector(".presence").textContent = text;
  }
  window.GoldenHour.connect("/ws/dispatch/", {
    message: function (msg) {
      if (msg.type === "dispatch.unit.online") setPresence(msg.data.unit_id, "online (" + msg.data.device_id + ")");
      if (msg.type === "dispatch.unit.offline") setPresence(msg.data.unit_id, "offline");
    },
  });
})();
