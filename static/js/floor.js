// The board as people on the floor use it: the floor screen (kiosk), the stale warning,
// keyboard triage and the panel forms opened from outside the rows. No library but htmx.
(function () {
  "use strict";
  var STALE_AFTER = 10; // seconds without a successful refresh (it polls every 2 s)
  var lastOk = Date.now();
  var selected = null; // the case id picked with j/k, kept across refreshes

  function kiosk() { return document.body.classList.contains("kiosk"); }
  function rowsBox() { return document.getElementById("board-rows"); }
  function rows() { return Array.prototype.slice.call(document.querySelectorAll("#board-rows tr.case")); }

  // --- stale warning: the screen says so when its refreshes stop --------------------------
  function ago(seconds) {
    if (seconds < 90) return seconds + " s";
    var m = Math.floor(seconds / 60);
    return m < 90 ? m + " min" : Math.floor(m / 60) + " h " + (m % 60) + " min";
  }
  function staleTick() {
    var banner = document.getElementById("stale");
    if (!banner || !rowsBox()) return;
    var seconds = Math.floor((Date.now() - lastOk) / 1000);
    if (seconds >= STALE_AFTER) {
      banner.textContent = "Stale — last update " + ago(seconds) + " ago. The server is not answering; what you see may be out of date.";
      var shown = !banner.hidden;
      banner.hidden = false;
      document.body.classList.add("is-stale");
      if (!shown) fit(); // the banner takes room: fewer rows fit
    } else if (!banner.hidden) {
      banner.hidden = true;
      document.body.classList.remove("is-stale");
      fit();
    }
  }
  document.addEventListener("htmx:afterRequest", function (e) {
    var xhr = e.detail && e.detail.xhr;
    var path = (e.detail.pathInfo && e.detail.pathInfo.requestPath) || "";
    if (xhr && xhr.status >= 200 && xhr.status < 300 && path.indexOf("/board/") === 0) {
      lastOk = Date.now();
      staleTick();
    }
  });

  // --- floor screen: a clock, and rows sized to the screen with the rest summarised -------
  function clockTick() {
    var clock = document.getElementById("kiosk-clock");
    if (!clock) return;
    var now = new Date();
    clock.textContent = now.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false });
    clock.setAttribute("datetime", now.toISOString());
  }
  function fit() {
    if (!kiosk()) return;
    var box = rowsBox(), more = document.getElementById("kiosk-more");
    if (!box || !more) return;
    var body = box.querySelector("tbody");
    // Cleared exceptions (the condition is over, a person still has to close them) go last.
    rows().forEach(function (tr) { if (tr.querySelector(".cleared")) { tr.classList.add("demoted"); body.appendChild(tr); } });
    var all = rows();
    all.forEach(function (tr) { tr.hidden = false; });
    more.hidden = true;
    var total = parseInt(box.getAttribute("data-total"), 10) || all.length;
    var limit = window.innerHeight;
    if (document.documentElement.scrollHeight <= limit && total <= all.length) return;
    more.hidden = false;
    var room = limit - more.offsetHeight - 16;
    var shown = all.length;
    while (shown > 1 && all[shown - 1].getBoundingClientRect().bottom + window.scrollY > room) {
      shown -= 1;
      all[shown].hidden = true;
    }
    var hidden = total - shown;
    var worst = all.slice(shown).filter(function (tr) { return tr.classList.contains("sev-4"); }).length;
    more.textContent = hidden > 0 ? "+" + hidden + " more" + (worst ? " (" + worst + " critical)" : "") + " — less severe or newer" : "";
    more.hidden = hidden <= 0;
  }

  // --- keyboard triage: j/k move, a acknowledge, s assign, r resolve, Enter open, Esc close
  function mark() {
    rows().forEach(function (tr) {
      var on = tr.id === selected;
      tr.classList.toggle("kb-selected", on);
      if (on) tr.setAttribute("aria-selected", "true"); else tr.removeAttribute("aria-selected");
    });
  }
  function move(step) {
    var list = rows();
    if (!list.length) return;
    var at = list.findIndex(function (tr) { return tr.id === selected; });
    at = at < 0 ? (step > 0 ? 0 : list.length - 1) : Math.min(list.length - 1, Math.max(0, at + step));
    selected = list[at].id;
    mark();
    list[at].scrollIntoView({ block: "nearest" });
  }
  function current() { return selected ? document.getElementById(selected) : null; }
  function act(name) {
    var tr = current();
    if (!tr) return;
    if (name === "acknowledge") {
      var form = tr.querySelector("form[action$='/acknowledge/']");
      if (form) form.requestSubmit ? form.requestSubmit() : form.submit();
      return;
    }
    var link = tr.querySelector("a[data-panel][href*='/" + name + "/']");
    if (link) link.click();
  }
  function typing(el) {
    return el && (el.isContentEditable || /^(INPUT|SELECT|TEXTAREA)$/.test(el.tagName));
  }
  document.addEventListener("keydown", function (e) {
    if (!document.body.classList.contains("board-page") || kiosk()) return;
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    var panel = document.getElementById("panel");
    if (e.key === "Escape") {
      if (panel && panel.children.length) { panel.replaceChildren(); e.preventDefault(); var tr = current(); if (tr) tr.focus(); }
      return;
    }
    if (typing(document.activeElement) || (panel && panel.contains(document.activeElement))) return;
    if (e.key === "j") { move(1); e.preventDefault(); }
    else if (e.key === "k") { move(-1); e.preventDefault(); }
    else if (e.key === "a") { act("acknowledge"); e.preventDefault(); }
    else if (e.key === "s") { act("assign"); e.preventDefault(); }
    else if (e.key === "r") { act("resolve"); e.preventDefault(); }
    else if (e.key === "Enter" && current() && !/^(A|BUTTON|SUMMARY)$/.test(document.activeElement.tagName)) {
      var open = current().querySelector(".case-title a");
      if (open) { window.location.href = open.getAttribute("href"); e.preventDefault(); }
    } else if (e.key === "/") {
      var search = document.getElementById("top-search-q");
      if (search) { search.focus(); e.preventDefault(); }
    }
  });

  // A panel that opens moves the focus into it (keyboard users land on its first field).
  document.addEventListener("htmx:afterSwap", function (e) {
    var target = e.detail && e.detail.target;
    if (target && target.id === "panel") {
      var first = target.querySelector("select, textarea, input:not([type=hidden]), button[type=submit]");
      if (first) first.focus();
    }
    if (target && (target.id === "board-rows" || (target.closest && target.closest("#board-rows")))) {
      mark();
      fit();
    }
  });
  document.addEventListener("htmx:load", function (e) {
    if (e.detail && e.detail.elt && e.detail.elt.id === "board-rows") { mark(); fit(); }
  });

  // "Raise by hand" (and any [data-panel-open] link outside the rows) opens in the panel.
  document.addEventListener("click", function (e) {
    var link = e.target.closest("a[data-panel-open]");
    if (!link || e.ctrlKey || e.metaKey || e.shiftKey || typeof htmx === "undefined") return;
    e.preventDefault();
    htmx.ajax("GET", link.getAttribute("href"), { source: "#panel", target: "#panel", swap: "innerHTML" });
  });

  document.addEventListener("DOMContentLoaded", function () { clockTick(); fit(); });
  window.addEventListener("resize", fit);
  setInterval(function () { clockTick(); staleTick(); }, 1000);
})();
