// Due countdowns tick without reloading (the server's label is the starting point).
(function () {
  function tick() {
    document.querySelectorAll("time[data-due]").forEach(function (el) {
      if (el.dataset.paused) return;
      var s = (Date.parse(el.dataset.due) - Date.now()) / 1000, m = Math.floor(Math.abs(s) / 60);
      var t = m >= 60 ? Math.floor(m / 60) + " h " + (m % 60) + " min" : m + " min";
      el.textContent = s >= 0 ? "due in " + t : "overdue " + t;
      el.parentElement.classList.toggle("warn", s < 0);
    });
  }
  setInterval(tick, 15000);
})();
