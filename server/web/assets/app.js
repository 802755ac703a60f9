// 证照 — small enhancements; every page works without them.
(function () {
  "use strict";
  // Confirm irreversible actions.
  document.addEventListener("click", function (e) {
    var b = e.target.closest("[data-confirm]");
    if (b && !window.confirm(b.getAttribute("data-confirm"))) e.preventDefault();
  });
  // Window page tabs: show one form at a time.
  function showTab() {
    var tabs = document.querySelectorAll(".tabs a");
    if (!tabs.length) return;
    var want = location.hash.replace("#", "");
    var current = document.querySelector(".tabs a.on");
    if (!want && current) want = current.getAttribute("href").slice(1);
    tabs.forEach(function (a) {
      var id = a.getAttribute("href").slice(1);
      a.classList.toggle("on", id === want);
      var sec = document.getElementById(id);
      if (sec) sec.hidden = id !== want;
    });
  }
  window.addEventListener("hashchange", showTab);
  document.addEventListener("DOMContentLoaded", showTab);
  // Import progress: poll until finished, then reload for the report.
  document.addEventListener("DOMContentLoaded", function () {
    var box = document.getElementById("import");
    if (!box || box.getAttribute("data-finished") === "true") return;
    var url = box.getAttribute("data-progress");
    function set(id, v) { var el = document.getElementById(id); if (el) el.textContent = v; }
    function poll() {
      fetch(url, { credentials: "same-origin" }).then(function (r) { return r.json(); }).then(function (p) {
        var bar = document.getElementById("bar");
        bar.max = p.total; bar.value = p.done;
        set("done", p.done); set("total", p.total); set("issued", p.issued);
        set("existing", p.existing); set("failed", p.failed); set("seconds", p.seconds.toFixed(1));
        if (p.finished) location.reload(); else setTimeout(poll, 500);
      }).catch(function () { setTimeout(poll, 2000); });
    }
    setTimeout(poll, 300);
  });
})();
