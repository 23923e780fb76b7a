// Minga web UI: the only script. Updates the "Who will see it" sentence of publish forms as the
// TLP, reach and sharing-group choices change. Every page works without it.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("[data-audience-table]").forEach(function (box) {
    var form = box.closest("form");
    var table = JSON.parse(box.getAttribute("data-audience-table"));
    function update() {
      var tlp = form.querySelector("input[name=tlp]:checked");
      var reach = form.querySelector("input[name=reach]:checked");
      var groups = form.querySelectorAll("input[name=group]:checked").length > 0 ? "1" : "0";
      if (!tlp || !reach) { return; }
      var key = table[tlp.value + "|" + reach.value + "|" + groups];
      box.querySelectorAll("[data-audience]").forEach(function (p) {
        p.hidden = p.getAttribute("data-audience") !== key;
      });
    }
    form.addEventListener("change", update);
    update();
  });
  var errors = document.getElementById("errors");
  if (errors) { errors.focus(); }
});
