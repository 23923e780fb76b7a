// Minga web UI: the live panel (templates/events/_live.html). Follows /live, the signed-in
// person's stream of Server-Sent Events (only what the policy lets them see), and lists new
// items as they commit. The browser reconnects by itself, resuming with Last-Event-ID.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  var panel = document.querySelector("[data-live]");
  if (!panel || !window.EventSource) { return; }
  var list = panel.querySelector("[data-live-list]");
  var status = panel.querySelector("[data-live-status]");
  var KEEP = 20;
  function label(name) { return panel.getAttribute("data-label-" + name) || name; }
  function link(href, text) {
    var a = document.createElement("a");
    a.href = href;
    a.textContent = text;
    return a;
  }
  function describe(kind, data) {
    if (kind === "incident") {
      return [link("/incidents/" + data.incident_id, "#" + data.incident_id + " " + data.title),
              " · " + data.text];
    }
    if (kind === "job") { return [(data.source || data.kind || "") + " · " + data.status]; }
    if (kind === "notification") {
      var what = data.title || data.value;
      return [data.object_id ? link("/objects/" + data.object_id, what) : what];
    }
    var obj = data.object || {};
    var name = obj.name || obj.value || obj.pattern || data.id;
    return [link("/objects/" + data.id, name), " · " + data.type];
  }
  function show(kind, event) {
    var data = JSON.parse(event.data);
    var item = document.createElement("li");
    var tag = document.createElement("strong");
    tag.textContent = label(kind) + " ";
    item.appendChild(tag);
    describe(kind, data).forEach(function (part) {
      item.appendChild(typeof part === "string" ? document.createTextNode(part) : part);
    });
    if (data.tlp) {
      var tlp = document.createElement("span");
      tlp.className = "tlp tlp-" + String(data.tlp).replace("+", "-");
      tlp.textContent = " TLP:" + String(data.tlp).toUpperCase();
      item.appendChild(document.createTextNode(" "));
      item.appendChild(tlp);
    }
    list.insertBefore(item, list.firstChild);
    while (list.children.length > KEEP) { list.removeChild(list.lastChild); }
  }
  var source = new EventSource(panel.getAttribute("data-live"));
  ["object", "revoked", "sighting", "incident", "job", "notification"].forEach(function (kind) {
    source.addEventListener(kind, function (event) { show(kind, event); });
  });
  source.addEventListener("open", function () {
    panel.hidden = false;
    status.textContent = label("connected");
  });
  source.addEventListener("error", function () {
    if (source.readyState !== EventSource.CLOSED) { status.textContent = label("reconnecting"); }
  });
});
