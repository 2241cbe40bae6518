"use strict";
(function () {
  window.GoldenHour.connect("/ws/ed/", {
    message: function (msg) {
      if (msg.type === "handoff.board.snapshot") {
        document.getElementById("ed-status").textContent = msg.data.hospital.ed_status;
      }
    },
  });
})();
