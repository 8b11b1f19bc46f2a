/* mediagrid deadline-miss report: draws every <figure class="plot"> from the JSON in #report-data.
   Plain SVG, no library: the page must render offline and stay small. When every plot has drawn without
   an exception, <body data-rendered="ok"> tells a headless browser (and the tests) that the page is good;
   any error anywhere turns it into "error" and is written into #render-errors. */
(function () {
  "use strict";
  var errors = [];
  window.addEventListener("error", function (e) { fail(e.message || String(e)); });
  function fail(message) {
    errors.push(message);
    document.body.dataset.rendered = "error";
    var box = document.getElementById("render-errors");
    if (box) { box.hidden = false; box.textContent = "Report rendering errors:\n" + errors.join("\n"); }
  }

  var NS = "http://www.w3.org/2000/svg";
  var OUTCOMES = ["met", "degraded", "dropped", "missed"];
  var PALETTE = ["#1f6feb", "#e8590c", "#0ca678", "#ae3ec9", "#f59f00", "#1098ad", "#d6336c", "#5c940d"];
  var data = JSON.parse(document.getElementById("report-data").textContent);

  function css(name) { return getComputedStyle(document.documentElement).getPropertyValue(name).trim(); }
  function outcomeColor(o) { return css("--" + o); }
  function seriesColor(i) { return i === 0 ? css("--ink") : PALETTE[(i - 1) % PALETTE.length]; }

  function el(tag, attrs, parent, text) {
    var node = document.createElementNS(NS, tag);
    for (var k in attrs) { if (attrs[k] !== undefined && attrs[k] !== null) node.setAttribute(k, attrs[k]); }
    if (text !== undefined) node.textContent = text;
    if (parent) parent.appendChild(node);
    return node;
  }
  function html(tag, cls, parent, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined) node.textContent = text;
    if (parent) parent.appendChild(node);
    return node;
  }
  function escapeHtml(s) {
    return String(s).replace(/[&<>"]/g, function (c) { return {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"}[c]; });
  }

  function fmtMs(v) {
    if (v === null || v === undefined) return "–";
    var a = Math.abs(v);
    return (a >= 100 ? v.toFixed(0) : a >= 10 ? v.toFixed(1) : a >= 1 ? v.toFixed(2) : v.toFixed(3)) + " ms";
  }
  function fmtTick(v) {
    var a = Math.abs(v);
    if (a === 0) return "0";
    if (a >= 1000) return (v / 1000).toFixed(a >= 10000 ? 0 : 1) + "k";
    if (a >= 1) return String(+v.toFixed(2));
    return String(+v.toPrecision(2));
  }
  function fmtPct(p, digits) {
    if (p === 0) return "0%";
    var d = digits !== undefined ? digits : (p >= 0.1 ? 1 : p >= 0.001 ? 2 : 4);
    return (p * 100).toFixed(d) + "%";
  }
  function fmtCount(n) { return n.toLocaleString("en-US"); }
  /* Elapsed time: seconds for short runs, m:ss up to two hours, h:mm beyond (one style per axis). */
  function timeUnit(span) { return span < 120 ? 1 : span < 7200 ? 60 : 3600; }
  function fmtTime(s, unit) {
    unit = unit || timeUnit(s);
    var pad = function (n) { return (n < 10 ? "0" : "") + n; };
    if (unit === 1) return +s.toFixed(1) + " s";
    var total = Math.round(s);
    if (unit === 60) return Math.floor(total / 60) + ":" + pad(total % 60);
    return Math.floor(total / 3600) + ":" + pad(Math.floor(total % 3600 / 60)) + " h";
  }
  function fmtWidth(w) { return w < 60 ? +w.toFixed(1) + " s" : w < 3600 ? +(w / 60).toFixed(1) + " min" : +(w / 3600).toFixed(1) + " h"; }
  function timeTicks(span) {
    var unit = timeUnit(span);
    return linear(0, span / unit, 0, 1).ticks(10).map(function (v) { return v * unit; });
  }

  /* Scales: a function from data to pixels, with ticks() and invert(). */
  function linear(d0, d1, r0, r1) {
    if (d1 === d0) d1 = d0 + 1;
    var f = function (v) { return r0 + (v - d0) / (d1 - d0) * (r1 - r0); };
    f.invert = function (px) { return d0 + (px - r0) / (r1 - r0) * (d1 - d0); };
    f.ticks = function (n) {
      var step = Math.pow(10, Math.floor(Math.log10((d1 - d0) / n)));
      var err = (d1 - d0) / n / step;
      step *= err >= 7.5 ? 10 : err >= 3.5 ? 5 : err >= 1.5 ? 2 : 1;
      var out = [];
      for (var v = Math.ceil(d0 / step) * step; v <= d1 + step * 1e-9; v += step) out.push(+v.toPrecision(12));
      return out;
    };
    return f;
  }
  function log(d0, d1, r0, r1) {
    var l0 = Math.log10(d0), l1 = Math.log10(d1);
    var f = function (v) { return r0 + (Math.log10(Math.max(v, d0 / 10)) - l0) / (l1 - l0) * (r1 - r0); };
    f.invert = function (px) { return Math.pow(10, l0 + (px - r0) / (r1 - r0) * (l1 - l0)); };
    f.ticks = function () {
      var out = [], mults = (l1 - l0) > 4 ? [1] : [1, 2, 5];
      for (var e = Math.floor(l0); e <= Math.ceil(l1); e++) {
        mults.forEach(function (m) { var v = m * Math.pow(10, e); if (v >= d0 * 0.999 && v <= d1 * 1.001) out.push(+v.toPrecision(6)); });
      }
      return out;
    };
    return f;
  }

  /* A drawing area as wide as its figure (redrawn when the window resizes), with an inner plot rectangle. */
  function canvas(fig, width, height, margin) {
    width = Math.max(320, Math.round(fig.clientWidth || width));  // 1 unit = 1 px: same text size in every plot
    var svg = el("svg", {viewBox: "0 0 " + width + " " + height, width: width, height: height, role: "img"}, fig);
    var g = el("g", {transform: "translate(" + margin.left + "," + margin.top + ")"}, svg);
    return {svg: svg, g: g, w: width - margin.left - margin.right, h: height - margin.top - margin.bottom,
            margin: margin, width: width, height: height};
  }
  function xAxis(c, scale, ticks, fmt, label, y0) {
    var y = y0 === undefined ? c.h : y0;
    var g = el("g", {"class": "axis"}, c.g);
    ticks.forEach(function (t) {
      var x = scale(t);
      el("line", {"class": "gridline", x1: x, x2: x, y1: 0, y2: y}, g);
      el("text", {x: x, y: y + 16, "text-anchor": "middle"}, g, fmt(t));
    });
    el("line", {x1: 0, x2: c.w, y1: y, y2: y}, g);
    if (label) el("text", {x: c.w, y: y + 34, "text-anchor": "end"}, g, label);
  }
  function yAxis(c, scale, ticks, fmt, label) {
    var g = el("g", {"class": "axis"}, c.g);
    ticks.forEach(function (t) {
      var y = scale(t);
      el("line", {"class": "gridline", x1: 0, x2: c.w, y1: y, y2: y}, g);
      el("text", {x: -8, y: y + 4, "text-anchor": "end"}, g, fmt(t));
    });
    if (label) el("text", {x: -c.margin.left + 4, y: -18, "text-anchor": "start"}, g, label);
  }
  function deadlineX(c, x, deadline, y0, y1) {
    el("line", {"class": "deadline", x1: x, x2: x, y1: y0, y2: y1}, c.g);
    var flip = x + 120 > c.w;  // near the right edge the label goes on the line's left
    el("text", {"class": "deadline-label", x: flip ? x - 5 : x + 5, y: y0 + 12, "text-anchor": flip ? "end" : "start"},
       c.g, "deadline " + fmtMs(deadline));
  }
  function empty(c, message) {
    el("text", {"class": "empty", x: c.w / 2, y: c.h / 2, "text-anchor": "middle"}, c.g, message);
  }

  var tip = html("div", "tip", document.body);
  function showTip(evt, content) {
    tip.innerHTML = content;
    tip.style.display = "block";
    var x = evt.clientX + 16, y = evt.clientY + 16, r = tip.getBoundingClientRect();
    if (x + r.width > window.innerWidth - 8) x = evt.clientX - r.width - 16;
    if (y + r.height > window.innerHeight - 8) y = evt.clientY - r.height - 16;
    tip.style.left = x + "px";
    tip.style.top = y + "px";
  }
  function hideTip() { tip.style.display = "none"; }
  /* Mouse position in the plot's own coordinates (the SVG is scaled by its viewBox). */
  function localX(c, evt) {
    var r = c.svg.getBoundingClientRect();
    return (evt.clientX - r.left) * c.width / r.width - c.margin.left;
  }
  function segmented(parent, options, current, onPick) {
    var seg = html("span", "seg", parent);
    options.forEach(function (o) {
      var b = html("button", o[0] === current ? "on" : "", seg, o[1]);
      b.type = "button";
      b.addEventListener("click", function () {
        Array.prototype.forEach.call(seg.children, function (n) { n.className = ""; });
        b.className = "on";
        onPick(o[0]);
      });
    });
  }

  /* Latency CDF per series, deadline drawn; x log or linear, y cumulative share or tail (share >= x). */
  var cdfState = {x: "log", y: "cdf", hidden: {}};  // outside drawCdf: the choices survive a redraw
  function drawCdf(fig) {
    var series = data.series.filter(function (s) { return s.cdf; });
    var state = cdfState;
    var controls = html("div", "controls", fig);
    var holder = html("div", "", fig);
    var legend = html("div", "legend", fig);
    segmented(controls, [["log", "log latency"], ["linear", "linear latency"]], state.x, function (v) { state.x = v; redraw(); });
    segmented(controls, [["cdf", "cumulative"], ["tail", "tail (log)"]], state.y, function (v) { state.y = v; redraw(); });
    series.forEach(function (s) {
      var i = data.series.indexOf(s);
      var item = html("span", state.hidden[s.name] ? "off" : "", legend);
      item.innerHTML = '<i style="border-color:' + seriesColor(i) + '"></i>' + escapeHtml(s.label) +
        ' <span class="mono">p99 ' + fmtMs(s.p99) + "</span>";
      item.addEventListener("click", function () { state.hidden[s.name] = !state.hidden[s.name]; item.classList.toggle("off"); redraw(); });
    });
    if (data.compare) {
      var dash = html("span", "", legend);
      dash.innerHTML = '<i class="dash" style="border-color:' + css("--muted") + '"></i>dashed: base run';
    }
    function redraw() {
      holder.textContent = "";
      var c = canvas(holder, 960, 410, {top: 36, right: 24, bottom: 44, left: 62});
      if (!series.length) { empty(c, "no per-item latencies (events.jsonl missing or empty)"); return; }
      var lo = Infinity, hi = data.deadline_ms;
      series.forEach(function (s) {
        [s.cdf, s.base_cdf].forEach(function (d) {
          if (d) d.x.forEach(function (v) { if (v > 0 && v < lo) lo = v; if (v > hi) hi = v; });
        });
      });
      if (!isFinite(lo)) lo = hi / 1000;
      var x = state.x === "log" ? log(Math.pow(10, Math.floor(Math.log10(lo))), hi * 1.3, 0, c.w) : linear(0, hi * 1.05, 0, c.w);
      var tail = state.y === "tail";
      var floor = 1 / Math.max.apply(null, series.map(function (s) { return s.count; }).concat([10])) / 2;
      var y = tail ? log(Math.pow(10, Math.floor(Math.log10(floor))), 1, c.h, 0) : linear(0, 1, c.h, 0);
      xAxis(c, x, x.ticks(9), fmtTick, "latency (ms)");
      var yt = tail ? y.ticks() : [0, 0.25, 0.5, 0.75, 1];
      yAxis(c, y, yt, function (v) { return v >= 0.01 ? (v * 100).toFixed(0) + "%" : String(+(v * 100).toPrecision(2)) + "%"; },
            tail ? "share of items at or above the latency" : "share of items at or below the latency");
      [[0.5, "p50"], [0.99, "p99"], [0.999, "p99.9"]].forEach(function (g) {
        var yy = y(tail ? 1 - g[0] : g[0]);
        if (yy < 0 || yy > c.h || (!tail && g[0] === 0.999)) return;
        el("line", {x1: 0, x2: c.w, y1: yy, y2: yy, stroke: css("--muted"), "stroke-dasharray": "2 4", "stroke-width": 1}, c.g);
        el("text", {"class": "guide", x: 4, y: yy - 4}, c.g, g[1]);
      });
      function path(d) {
        var parts = [], prev = tail ? 1 : 0;
        for (var k = 0; k < d.x.length; k++) {
          var px = x(Math.max(d.x[k], 1e-9)).toFixed(1);
          var now = tail ? Math.max(1 - d.p[k], 0) : d.p[k];
          parts.push((k ? "L" : "M") + px + "," + y(prev).toFixed(1));
          if (!(tail && now === 0)) parts.push("L" + px + "," + y(now).toFixed(1));
          prev = now;
        }
        return parts.join("");
      }
      var clip = "clip-cdf-" + Math.random().toString(36).slice(2);
      el("rect", {x: 0, y: 0, width: c.w, height: c.h}, el("clipPath", {id: clip}, el("defs", {}, c.svg)));
      var lines = el("g", {"clip-path": "url(#" + clip + ")"}, c.g);
      series.slice().reverse().forEach(function (s) {
        if (state.hidden[s.name]) return;
        var i = data.series.indexOf(s), color = seriesColor(i), width = i === 0 ? 3 : 2;
        if (s.base_cdf) el("path", {d: path(s.base_cdf), fill: "none", stroke: color, "stroke-width": width - 0.5,
                                    "stroke-dasharray": "6 4", opacity: 0.6}, lines);
        el("path", {d: path(s.cdf), fill: "none", stroke: color, "stroke-width": width, "stroke-linejoin": "round"}, lines);
      });
      deadlineX(c, x(data.deadline_ms), data.deadline_ms, 0, c.h);
      var cross = el("line", {"class": "crosshair", y1: 0, y2: c.h, visibility: "hidden"}, c.g);
      el("rect", {x: 0, y: 0, width: c.w, height: c.h, fill: "transparent"}, c.g)
        .addEventListener("mousemove", function (evt) {
          var px = Math.max(0, Math.min(c.w, localX(c, evt))), at = x.invert(px);
          cross.setAttribute("x1", px); cross.setAttribute("x2", px); cross.setAttribute("visibility", "visible");
          var rows = ["<b>" + fmtMs(at) + "</b> " + (tail ? "share of items at or above" : "share of items at or below")];
          series.forEach(function (s) {
            if (state.hidden[s.name]) return;
            var share = shareBelow(s.cdf, at);
            rows.push('<i style="background:' + seriesColor(data.series.indexOf(s)) + '"></i>' + escapeHtml(s.label) + ": " +
                      fmtPct(tail ? 1 - share : share) + (s.base_cdf ? " (base " + fmtPct(tail ? 1 - shareBelow(s.base_cdf, at) : shareBelow(s.base_cdf, at)) + ")" : ""));
          });
          showTip(evt, rows.join("<br>"));
        });
      c.svg.addEventListener("mouseleave", function () { cross.setAttribute("visibility", "hidden"); hideTip(); });
    }
    redraw();
  }
  function shareBelow(d, at) {
    var lo = 0, hi = d.x.length;
    while (lo < hi) { var mid = (lo + hi) >> 1; if (d.x[mid] <= at) lo = mid + 1; else hi = mid; }
    return lo ? d.p[lo - 1] : 0;
  }

  /* Two panels on one time axis: per-bin p99 / max latency against the deadline, and the bad outcomes. */
  function drawTimeline(fig) {
    var t = data.timeline;
    var c = canvas(fig, 960, 430, {top: 34, right: 24, bottom: 44, left: 62});
    if (!t) { empty(c, "no per-item outcomes (events.jsonl missing or empty)"); return; }
    var bins = t.counts.met.length, span = bins * t.bin_s;
    var x = linear(0, span, 0, c.w), bw = c.w / bins;
    var topH = 150, gap = 46, botY = topH + gap, botH = c.h - botY;
    var peak = data.deadline_ms;
    t.max_ms.forEach(function (v) { if (v !== null && v > peak) peak = v; });
    var yl = linear(0, peak * 1.08, topH, 0);
    yAxis(c, yl, yl.ticks(4), fmtTick, "end-to-end latency per " + fmtWidth(t.bin_s) + " (ms)");
    function line(values, attrs) {
      var d = "", pen = false;
      values.forEach(function (v, i) {
        if (v === null) { pen = false; return; }
        var px = (i + 0.5) * bw;
        d += (pen ? "L" : "M") + px.toFixed(1) + "," + yl(v).toFixed(1);
        pen = true;
      });
      attrs.d = d; attrs.fill = "none";
      return el("path", attrs, c.g);
    }
    line(t.max_ms, {stroke: css("--accent-light"), "stroke-width": 1.5});
    line(t.p99_ms, {stroke: css("--accent"), "stroke-width": 2});
    var dy = yl(data.deadline_ms);
    el("line", {"class": "deadline", x1: 0, x2: c.w, y1: dy, y2: dy}, c.g);
    el("text", {"class": "deadline-label", x: c.w - 4, y: dy - 5, "text-anchor": "end"}, c.g, "deadline " + fmtMs(data.deadline_ms));

    var bad = ["missed", "dropped", "degraded"], top = 0;
    for (var i = 0; i < bins; i++) {
      top = Math.max(top, t.counts.missed[i] + t.counts.dropped[i] + t.counts.degraded[i]);
    }
    var yb = linear(0, Math.max(top, 1) * 1.05, c.h, botY);
    el("text", {x: -c.margin.left + 4, y: botY - 10}, c.g, "items per " + fmtWidth(t.bin_s) + " that missed, were dropped or degraded");
    var ticks = yb.ticks(4).filter(function (v) { return v === Math.round(v); });
    ticks.forEach(function (v) {
      var yy = yb(v);
      el("line", {"class": "gridline", x1: 0, x2: c.w, y1: yy, y2: yy}, c.g);
      el("text", {x: -8, y: yy + 4, "text-anchor": "end"}, c.g, fmtTick(v));
    });
    var bars = el("g", {}, c.g), pad = bw > 4 ? bw * 0.15 : 0;
    for (i = 0; i < bins; i++) {
      var base = c.h;
      bad.forEach(function (o) {
        var n = t.counts[o][i];
        if (!n) return;
        var h = c.h - yb(n);
        el("rect", {x: i * bw + pad / 2, y: base - h, width: Math.max(bw - pad, 0.8), height: h, fill: outcomeColor(o)}, bars);
        base -= h;
      });
    }
    if (!top) empty({g: c.g, w: c.w, h: botY + c.h}, "every item met its deadline");
    var unit = timeUnit(span);
    xAxis(c, x, timeTicks(span), function (v) { return fmtTime(v, unit); }, "time since the run started (items by origin time)");
    var legend = html("div", "legend", fig);
    legend.innerHTML = bad.map(function (o) { return '<span><i class="box" style="background:' + outcomeColor(o) + '"></i>' + o + "</span>"; }).join("") +
      '<span><i style="border-color:' + css("--accent") + '"></i>p99 per bin</span>' +
      '<span><i style="border-color:' + css("--accent-light") + '"></i>max per bin</span>';
    var band = el("rect", {"class": "hoverband", y: 0, height: c.h, width: Math.max(bw, 2), visibility: "hidden"}, c.g);
    el("rect", {x: 0, y: 0, width: c.w, height: c.h, fill: "transparent"}, c.g)
      .addEventListener("mousemove", function (evt) {
        var k = Math.max(0, Math.min(bins - 1, Math.floor(localX(c, evt) / bw)));
        band.setAttribute("x", k * bw); band.setAttribute("visibility", "visible");
        var total = OUTCOMES.reduce(function (a, o) { return a + t.counts[o][k]; }, 0);
        var rows = ["<b>" + fmtTime(k * t.bin_s, unit) + " – " + fmtTime((k + 1) * t.bin_s, unit) + "</b>: " + fmtCount(total) + " items"];
        bad.forEach(function (o) { rows.push('<i style="background:' + outcomeColor(o) + '"></i>' + o + ": " + fmtCount(t.counts[o][k])); });
        rows.push("p99 " + fmtMs(t.p99_ms[k]) + " · max " + fmtMs(t.max_ms[k]));
        showTip(evt, rows.join("<br>"));
      });
    c.svg.addEventListener("mouseleave", function () { band.setAttribute("visibility", "hidden"); hideTip(); });
  }

  /* One 100% bar per series: how its items ended. */
  function drawOutcomes(fig) {
    var rows = data.series, rowH = 40;
    var c = canvas(fig, 560, 40 + rows.length * rowH + 30, {top: 34, right: 80, bottom: 24, left: 110});
    var x = linear(0, 1, 0, c.w);
    OUTCOMES.forEach(function (o, i) {
      el("rect", {x: i * 85, y: -28, width: 11, height: 11, rx: 2, fill: outcomeColor(o)}, c.g);
      el("text", {x: i * 85 + 16, y: -18}, c.g, o);
    });
    el("text", {x: c.w + 8, y: -18}, c.g, "miss rate");
    rows.forEach(function (s, r) {
      var y = r * rowH + 4, at = 0;
      el("text", {"class": r === 0 ? "title" : "", x: -10, y: y + 18, "text-anchor": "end"}, c.g, s.label);
      if (!s.count) { el("text", {x: 0, y: y + 18}, c.g, "no items"); return; }
      var widths = OUTCOMES.map(function (o) { return s[o] ? Math.max(s[o] / s.count * c.w, 2) : 0; });
      var scale = c.w / widths.reduce(function (a, b) { return a + b; }, 0);
      OUTCOMES.forEach(function (o, i) {
        if (!s[o]) return;
        var w = widths[i] * scale;
        var rect = el("rect", {x: at, y: y, width: w, height: 26, fill: outcomeColor(o)}, c.g);
        el("title", {}, rect, s.label + ": " + o + " " + fmtCount(s[o]) + " of " + fmtCount(s.count) + " (" + fmtPct(s[o] / s.count) + ")");
        if (w > 46) el("text", {"class": "inside", x: at + w / 2, y: y + 17, "text-anchor": "middle"}, c.g, fmtPct(s[o] / s.count, 1));
        at += w;
      });
      el("text", {"class": "value", x: c.w + 8, y: y + 18, fill: s.miss_rate > 0 ? css("--red") : null}, c.g, fmtPct(s.miss_rate));
    });
  }

  /* Per series: p50 and p99 as bars against the deadline, with the share of the budget that p99 uses. */
  function drawBudget(fig) {
    var rows = data.series.filter(function (s) { return s.p99 !== null; }), rowH = 40;
    var c = canvas(fig, 560, 40 + Math.max(rows.length, 1) * rowH + 40, {top: 34, right: 24, bottom: 40, left: 110});
    if (!rows.length) { empty(c, "no items"); return; }
    var hi = data.deadline_ms;
    rows.forEach(function (s) { hi = Math.max(hi, s.p99); });
    var x = linear(0, hi * 1.1, 0, c.w), h = rows.length * rowH;
    xAxis(c, x, x.ticks(6), fmtTick, "ms", h);
    [["p99", css("--accent-light")], ["p50", css("--accent")], ["p99 over deadline", css("--red")]].forEach(function (k, i) {
      el("rect", {x: i * 90, y: -28, width: 11, height: 11, rx: 2, fill: k[1]}, c.g);
      el("text", {x: i * 90 + 16, y: -18}, c.g, k[0]);
    });
    rows.forEach(function (s, r) {
      var y = r * rowH + 6, over = s.p99 > s.deadline;
      el("text", {"class": r === 0 ? "title" : "", x: -10, y: y + 16, "text-anchor": "end"}, c.g, s.label);
      var p99 = el("rect", {x: 0, y: y, width: Math.max(x(s.p99), 1), height: 22, rx: 3, fill: over ? css("--red") : css("--accent-light")}, c.g);
      el("title", {}, p99, s.label + ": p99 " + fmtMs(s.p99) + " = " + fmtPct(s.p99 / s.deadline, 0) + " of the " + fmtMs(s.deadline) + " deadline");
      var p50 = el("rect", {x: 0, y: y + 5, width: Math.max(x(s.p50), 1), height: 12, rx: 2, fill: css("--accent")}, c.g);
      el("title", {}, p50, s.label + ": p50 " + fmtMs(s.p50));
      var share = s.p99 / s.deadline;
      var label = "p50 " + fmtMs(s.p50) + " · p99 " + fmtMs(s.p99) + " (" + (share > 0 && share < 0.01 ? "<1%" : fmtPct(share, 0)) + ")";
      var lx = x(s.p99) + 6, anchor = "start";
      if (lx > c.w - 230) { lx = x(s.p99) - 6; anchor = "end"; }
      el("text", {"class": over && anchor === "end" ? "inside" : "value", x: lx, y: y + 15, "text-anchor": anchor}, c.g, label);
    });
    deadlineX(c, x(data.deadline_ms), data.deadline_ms, -14, h);
  }

  /* Kafka counters as bars; lag when the app reported it. */
  function drawKafka(fig) {
    var k = data.kafka;
    var keys = [["consumed", "consumed"], ["produced", "produced"], ["committed", "committed"],
                ["dead_lettered", "dead-lettered"]];
    if (k.lag !== undefined && k.lag !== null) keys.push(["lag", "lag"]);
    var rowH = 28, c = canvas(fig, 960, keys.length * rowH + 12, {top: 6, right: 200, bottom: 6, left: 110});
    var hi = Math.max.apply(null, keys.map(function (kk) { return k[kk[0]] || 0; }));
    var x = linear(0, Math.max(hi, 1) * 1.02, 0, c.w);
    keys.forEach(function (kk, r) {
      var v = k[kk[0]] || 0, y = r * rowH;
      var color = kk[0] === "dead_lettered" ? css("--dropped") : kk[0] === "lag" ? css("--degraded") : css("--accent");
      el("text", {x: -10, y: y + 15, "text-anchor": "end"}, c.g, kk[1]);
      el("rect", {x: 0, y: y + 2, width: Math.max(x(v), v ? 2 : 0), height: 18, rx: 3, fill: color}, c.g);
      var share = kk[0] === "dead_lettered" && k.consumed ? " (" + fmtPct(v / k.consumed) + " of consumed)" : "";
      el("text", {"class": "value", x: x(v) + 6, y: y + 15}, c.g, fmtCount(v) + share);
    });
    if (!hi) el("text", {"class": "empty", x: c.w / 2, y: c.h / 2 + 5, "text-anchor": "middle"}, c.g, "no Kafka traffic in this run");
  }

  function snapshots() {
    Array.prototype.forEach.call(document.querySelectorAll(".snapshots img"), function (img) {
      img.addEventListener("click", function () { img.parentNode.classList.toggle("big"); });
    });
  }

  var DRAW = {cdf: drawCdf, timeline: drawTimeline, outcomes: drawOutcomes, budget: drawBudget, kafka: drawKafka};
  var figures = document.querySelectorAll("figure.plot");
  function drawAll() {
    var drawn = 0;
    Array.prototype.forEach.call(figures, function (fig) {
      fig.textContent = "";
      try {
        DRAW[fig.dataset.plot](fig);
        if (!fig.querySelector("svg")) throw new Error("drew nothing");
        fig.dataset.drawn = "yes";
        drawn++;
      } catch (e) {
        fig.dataset.drawn = "error";
        fail(fig.dataset.plot + ": " + (e && e.stack ? e.stack : e));
      }
    });
    return drawn;
  }
  var drawn = drawAll(), width = window.innerWidth, pending = null;
  window.addEventListener("resize", function () {
    clearTimeout(pending);
    pending = setTimeout(function () { if (window.innerWidth !== width) { width = window.innerWidth; drawAll(); } }, 150);
  });
  snapshots();
  document.body.dataset.plots = String(drawn);
  if (!errors.length) document.body.dataset.rendered = drawn === figures.length ? "ok" : "error";
})();
