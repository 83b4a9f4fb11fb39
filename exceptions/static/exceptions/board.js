// Ages on the board tick every second without a server round trip.
(function () {
  function age(seconds) {
    var h = Math.floor(seconds / 3600), m = Math.floor((seconds % 3600) / 60), s = seconds % 60;
    if (h >= 24) return Math.floor(h / 24) + " d " + (h % 24) + " h";
    if (h) return h + " h " + String(m).padStart(2, "0") + " m";
    return m + " m " + String(s).padStart(2, "0") + " s";
  }
  function tick() {
    var now = Date.now();
    document.querySelectorAll("time.age").forEach(function (el) {
      var at = Date.parse(el.getAttribute("datetime"));
      if (!isNaN(at)) el.textContent = age(Math.max(0, Math.floor((now - at) / 1000)));
    });
  }
  document.addEventListener("DOMContentLoaded", tick);
  document.addEventListener("htmx:afterSwap", tick);
  setInterval(tick, 1000);
})();

// Row actions are sent from #panel (outside the polled rows): the rows may be replaced by a
// refresh while the request is in flight, and htmx drops answers to elements gone from the page.
// Without JavaScript the same links and forms work as plain pages.
(function () {
  function send(method, url, values) {
    htmx.ajax(method, url, { source: "#panel", target: "#panel", swap: "innerHTML", values: values });
  }
  document.addEventListener("click", function (e) {
    if (e.target.closest("#panel [data-panel-cancel]")) {
      document.getElementById("panel").replaceChildren();
      return;
    }
    var link = e.target.closest("#board-rows a[data-panel]");
    if (!link || e.ctrlKey || e.metaKey || e.shiftKey) return;
    e.preventDefault();
    send("GET", link.getAttribute("href"));
  });
  document.addEventListener("submit", function (e) {
    var form = e.target.closest("#board-rows form[data-panel]");
    if (!form) return;
    e.preventDefault();
    send("POST", form.getAttribute("action"), Object.fromEntries(new FormData(form)));
  });
})();
