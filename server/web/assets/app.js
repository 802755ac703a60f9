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
  // Live code (亮证码): count down to the expiry, fetch a fresh code every
  // data-refresh seconds (the page without JS shows the code it was made with).
  document.addEventListener("DOMContentLoaded", function () {
    var box = document.getElementById("live");
    if (!box) return;
    var img = document.getElementById("live-img"), left = document.getElementById("live-left"), until = document.getElementById("live-until");
    var expires = Number(box.getAttribute("data-expires")) * 1000;
    var every = Number(box.getAttribute("data-refresh")) * 1000 || 20000;
    function tick() {
      var s = Math.max(0, Math.round((expires - Date.now()) / 1000));
      left.textContent = s;
      box.classList.toggle("expired", s === 0);
    }
    function refresh() {
      fetch(box.getAttribute("data-live"), { credentials: "same-origin", cache: "no-store" }).then(function (r) {
        if (!r.ok) throw new Error(r.status);
        return r.json();
      }).then(function (c) {
        img.src = c.png;
        expires = Date.now() + c.expires_in * 1000;
        until.textContent = new Date(c.expires_at).toLocaleTimeString("zh-CN", { hour12: false, timeZone: "Asia/Shanghai" });
        tick();
        setTimeout(refresh, (c.refresh_in || 20) * 1000);
      }).catch(function () { setTimeout(refresh, 5000); });
    }
    tick();
    setInterval(tick, 1000);
    setTimeout(refresh, every);
  });
})();
