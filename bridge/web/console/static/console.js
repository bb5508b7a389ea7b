// The console's one script: live mode on the events page (no inline script anywhere; the CSP forbids it).
// The rows come from the server already rendered and escaped by the same template as the table.
"use strict";
(function () {
  var table = document.getElementById("events");
  if (!table || !table.dataset.liveUrl) { return; }
  var body = document.getElementById("event-rows");
  var url = table.dataset.liveUrl;
  var period = 3000;

  function known() {
    var keys = {};
    body.querySelectorAll("tr[data-key]").forEach(function (row) { keys[row.dataset.key] = true; });
    return keys;
  }

  function merge(html) {
    var holder = document.createElement("tbody");
    holder.innerHTML = html;  // server-rendered, autoescaped rows of this same origin
    var seen = known();
    var fresh = Array.prototype.filter.call(holder.querySelectorAll("tr[data-key]"),
      function (row) { return !seen[row.dataset.key]; });
    fresh.reverse().forEach(function (row) {
      row.classList.add("fresh");
      body.insertBefore(row, body.firstChild);
    });
    var empty = document.getElementById("no-events");
    if (fresh.length && empty) { empty.remove(); }
  }

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (response) {
        if (response.status === 401) { window.location.reload(); return null; }
        return response.ok ? response.text() : null;
      })
      .then(function (html) { if (html !== null) { merge(html); } })
      .catch(function () { /* the next poll tries again */ })
      .finally(function () { window.setTimeout(poll, period); });
  }
  window.setTimeout(poll, period);
})();
