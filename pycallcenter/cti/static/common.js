// Shared by the agent desktop and the supervisor console: the CTI WebSocket (the session cookie
// authenticates it), requests with ids, and small DOM helpers. Plain JavaScript, no build step.
"use strict";
var Desk = (function () {
  var ws = null, seq = 0, waiting = {}, handlers = [], opened = [];
  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    for (var k in attrs || {}) e.setAttribute(k, attrs[k]);
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function $(id) { return document.getElementById(id); }
  function mmss(s) {
    if (s === null || s === undefined) return "-";
    s = Math.round(s); var m = Math.floor(s / 60), r = s % 60; return m + ":" + (r < 10 ? "0" : "") + r;
  }
  function log(text, cls) {
    var box = $("log"); if (!box) return;
    var line = el("div", {"class": cls || ""}, new Date().toLocaleTimeString() + "  " + text);
    box.insertBefore(line, box.firstChild);
    while (box.childNodes.length > 200) box.removeChild(box.lastChild);
  }
  // send a command; the promise resolves with the reply or rejects with the error frame
  function request(cmd, fields) {
    var id = "q" + (++seq), msg = Object.assign({}, fields || {}, {cmd: cmd, id: id});
    return new Promise(function (resolve, reject) {
      waiting[id] = {resolve: resolve, reject: reject};
      ws.send(JSON.stringify(msg));
    });
  }
  // a button's command: errors are shown on the status line and in the log, never thrown away silently
  function act(cmd, fields) {
    return request(cmd, fields).then(function (r) { status(cmd + ": ok"); return r; }, function (e) {
      status(cmd + ": " + e.code + " " + e.message, true); log(cmd + " refused: " + e.code + " " + e.message, "bad");
      throw e;
    });
  }
  function status(text, bad) {
    var s = $("status"); if (!s) return;
    s.textContent = text; s.className = bad ? "bad" : "";
  }
  function connect() {
    ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws");
    ws.onopen = function () { status("connected"); opened.forEach(function (f) { f(); }); };
    ws.onmessage = function (e) {
      var m = JSON.parse(e.data);
      if ((m.type === "reply" || m.type === "error") && waiting[m.id]) {
        var w = waiting[m.id]; delete waiting[m.id];
        if (m.type === "reply") w.resolve(m); else w.reject(m);
        return;
      }
      if (m.type === "error" && m.code === "not_authenticated") { location.href = "/"; return; }
      if (m.type === "event") handlers.forEach(function (h) { h(m); });
    };
    ws.onclose = function () { status("disconnected; reconnecting", true); setTimeout(connect, 2000); };
  }
  // The browser phone (docs/cti.md "Browser phone"): the server has /phone.js only when the centre has
  // [webrtc] enabled, so the page mounts the widget in box when the script loads and leaves box hidden
  // (and ready uncalled) when it does not. ready(phone) gets the PyccPhone instance.
  function phone(box, ready) {
    var s = el("script", {src: "/phone.js"});
    s.onload = function () {
      box.hidden = false;
      var p = PyccPhone.mount(box.querySelector("[data-csrf]"));
      document.body.setAttribute("data-phone", "yes");
      p.root.addEventListener("pycc-phone", function (e) {
        var m = e.detail;
        log("browser phone: " + m.event + (m.caller ? " " + m.caller : "") + (m.cause ? " cause " + m.cause : ""));
      });
      ready(p);
    };
    s.onerror = function () { document.body.setAttribute("data-phone", "no"); };
    document.head.appendChild(s);
  }
  // a bug in a page shows on its event log (and as data-error for tests) instead of leaving it silently stale
  window.addEventListener("error", function (e) {
    log("page error: " + e.message, "bad"); document.body.setAttribute("data-error", e.message);
  });
  return {el: el, $: $, mmss: mmss, log: log, request: request, act: act, status: status, connect: connect,
          phone: phone, on: function (h) { handlers.push(h); }, opened: function (f) { opened.push(f); }};
})();
