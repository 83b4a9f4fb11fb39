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

// Compact cards: "Decide…" opens a card's decision form on demand; j/k move between cards,
// Enter opens the selected one (focus in its first field), Esc closes it. The live list
// (polled every 3 s, 204 when unchanged) waits while a card is open, so a decision being
// typed is never wiped by a refresh.
(function () {
  "use strict";
  var selected = null;
  var opened = {}; // card ids open, kept across refreshes of the list

  function cards() { return Array.prototype.slice.call(document.querySelectorAll("#task-list article.wf-task")); }
  function body(card) { return card && card.querySelector(".wf-card-body"); }
  function toggleButton(card) { return card && card.querySelector("[data-card-toggle]"); }
  function setOpen(card, open, quiet) {
    var b = body(card), t = toggleButton(card);
    if (!b || !t) return;
    b.hidden = !open;
    t.setAttribute("aria-expanded", open ? "true" : "false");
    t.textContent = open ? "Close" : "Decide…";
    card.classList.toggle("wf-open", open);
    if (open) opened[card.id] = true; else delete opened[card.id];
    if (quiet) return;
    if (open) {
      var first = b.querySelector("input:not([type=hidden]), select, textarea");
      if (first) first.focus();
    } else {
      card.focus();
    }
  }
  function anyOpen() {
    return cards().some(function (c) { var b = body(c); return b && !b.hidden && toggleButton(c); });
  }
  function mark() {
    cards().forEach(function (c) { c.classList.toggle("wf-selected", c.id === selected); });
  }
  function move(step) {
    var list = cards();
    if (!list.length) return;
    var at = list.findIndex(function (c) { return c.id === selected; });
    at = at < 0 ? (step > 0 ? 0 : list.length - 1) : Math.min(list.length - 1, Math.max(0, at + step));
    selected = list[at].id;
    mark();
    list[at].focus();
    list[at].scrollIntoView({ block: "nearest" });
  }

  document.addEventListener("click", function (e) {
    var t = e.target.closest("[data-card-toggle]");
    if (!t) return;
    var card = t.closest("article.wf-task");
    selected = card.id;
    mark();
    setOpen(card, body(card).hidden);
  });
  document.addEventListener("keydown", function (e) {
    if (!document.getElementById("task-list") || e.ctrlKey || e.metaKey || e.altKey) return;
    var el = document.activeElement;
    var typing = el && (el.isContentEditable || /^(INPUT|SELECT|TEXTAREA)$/.test(el.tagName));
    if (e.key === "Escape") {
      var open = el && el.closest && el.closest("article.wf-task");
      open = open || (selected && document.getElementById(selected));
      if (open && body(open) && !body(open).hidden && toggleButton(open)) { setOpen(open, false); e.preventDefault(); }
      return;
    }
    if (typing) return;
    if (e.key === "j") { move(1); e.preventDefault(); }
    else if (e.key === "k") { move(-1); e.preventDefault(); }
    else if (e.key === "Enter" && selected && el && el.id === selected) {
      setOpen(document.getElementById(selected), true);
      e.preventDefault();
    }
  });
  document.addEventListener("htmx:beforeRequest", function (e) {
    var elt = e.detail && e.detail.elt;
    if (elt && elt.id === "task-list" && anyOpen()) e.preventDefault(); // refresh after closing
  });
  document.addEventListener("htmx:beforeSwap", function (e) {
    // A list asked for before a card opened must not replace what is being typed in it.
    var target = e.detail && e.detail.target;
    if (target && target.id === "task-list" && anyOpen()) e.detail.shouldSwap = false;
  });
  document.addEventListener("htmx:afterSwap", function () {
    cards().forEach(function (c) {
      var b = body(c);
      if (!b || !toggleButton(c)) return;
      if (!b.hidden) opened[c.id] = true; // the server sent it open (an answer, an error)
      else if (opened[c.id]) setOpen(c, true, true); // a list refresh: keep it open
    });
    mark();
  });
})();
