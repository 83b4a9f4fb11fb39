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
