// The metrics dashboard's charts (Chart.js, vendored in static/vendor/chartjs/).
// The numbers come from the page itself: a <script type="application/json" id="metrics-data">
// block the server renders (no inline code, so a strict Content-Security-Policy holds).
// After an htmx swap (filters changed, kiosk refresh) the charts are drawn again.
(function () {
  "use strict";

  var charts = [];
  var ink = "#1f2933";
  var grid = "#e4e7eb";
  var blue = "#2563eb";
  var orange = "#d97706";
  var green = "#059669";
  var red = "#c23030";

  function axis(title, extra) {
    return Object.assign(
      { beginAtZero: true, title: { display: true, text: title, color: ink }, grid: { color: grid } },
      extra || {}
    );
  }

  var builders = {
    response: function (d) {
      return {
        type: "line",
        data: {
          labels: d.response.labels,
          datasets: [
            { label: "p50 (min)", data: d.response.p50_min, borderColor: blue, backgroundColor: blue, spanGaps: true },
            { label: "p90 (min)", data: d.response.p90_min, borderColor: orange, backgroundColor: orange, spanGaps: true },
          ],
        },
        options: { scales: { y: axis("minutes") } },
      };
    },
    distribution: function (d) {
      return {
        type: "bar",
        data: {
          labels: d.distribution.labels,
          datasets: [{ label: "exceptions answered", data: d.distribution.counts, backgroundColor: blue }],
        },
        options: { scales: { y: axis("exceptions", { ticks: { precision: 0 } }) } },
      };
    },
    sla: function (d) {
      return {
        type: "bar",
        data: {
          labels: d.sla.labels,
          datasets: [
            { label: "on time (%)", data: d.sla.rate_pct, backgroundColor: green, yAxisID: "y" },
            { label: "escalations", data: d.sla.escalations, backgroundColor: red, yAxisID: "y1" },
          ],
        },
        options: {
          scales: {
            y: axis("% on time", { max: 100 }),
            y1: axis("escalations", { position: "right", grid: { drawOnChartArea: false }, ticks: { precision: 0 } }),
          },
        },
      };
    },
    pareto: function (d) {
      return {
        type: "bar",
        data: {
          labels: d.pareto.labels,
          datasets: [
            { type: "bar", label: "exceptions", data: d.pareto.counts, backgroundColor: blue, yAxisID: "y", order: 2 },
            { type: "line", label: "cumulative (%)", data: d.pareto.cumulative_pct, borderColor: orange, backgroundColor: orange, yAxisID: "y1", order: 1 },
          ],
        },
        options: {
          scales: {
            y: axis("exceptions", { ticks: { precision: 0 } }),
            y1: axis("cumulative %", { position: "right", max: 100, grid: { drawOnChartArea: false } }),
          },
        },
      };
    },
    repeats: function (d) {
      return {
        type: "bar",
        data: {
          labels: d.repeats.labels,
          datasets: [
            { type: "bar", label: "repeats", data: d.repeats.repeats, backgroundColor: red, yAxisID: "y", order: 2 },
            { type: "line", label: "repeat rate (%)", data: d.repeats.rate_pct, borderColor: ink, backgroundColor: ink, yAxisID: "y1", spanGaps: true, order: 1 },
          ],
        },
        options: {
          scales: {
            y: axis("repeats", { ticks: { precision: 0 } }),
            y1: axis("% of exceptions", { position: "right", max: 100, grid: { drawOnChartArea: false } }),
          },
        },
      };
    },
  };

  function draw() {
    charts.forEach(function (chart) { chart.destroy(); });
    charts = [];
    var source = document.getElementById("metrics-data");
    if (!source || typeof Chart === "undefined") return;
    var data = JSON.parse(source.textContent);
    var big = document.body.classList.contains("kiosk");
    Chart.defaults.font.size = big ? 18 : 13;
    Chart.defaults.color = ink;
    document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      var build = builders[canvas.dataset.chart];
      if (!build) return;
      var config = build(data);
      config.options = Object.assign(
        { responsive: true, maintainAspectRatio: false, animation: false, plugins: { legend: { position: "bottom" } } },
        config.options
      );
      charts.push(new Chart(canvas, config));
      canvas.dataset.drawn = "true"; // the browser test waits for this
    });
  }

  document.addEventListener("DOMContentLoaded", draw);
  document.addEventListener("htmx:afterSettle", function (event) {
    if (event.target && (event.target.id === "dashboard" || event.target.querySelector("#dashboard"))) draw();
  });
})();
