// git exp report: the page's behaviour.  Every value from the repository is data: the DOM is
// built with createElement and textContent only, never from HTML text.
(function () {
  "use strict";

  var DATA = JSON.parse(document.getElementById("report-data").textContent);
  var ROWS = DATA.rows;
  var PARAMS = DATA.params;
  var METRICS = DATA.metrics;
  var CHANGES = DATA.changes || {};
  var HISTORIES = DATA.histories || {};  // sha -> metric -> [at, count] or [at, count, steps at] in POINTS
  var POINTS = null;  // DataView over DATA.points (base64 of little-endian float64), decoded when first drawn
  var MAX_DIMS = 12;  // params in the parallel-coordinates view (those that vary first)
  var PAGE = 250;  // table rows drawn until "show all" (laying out 1k rows took longer than the rest)
  var DEFAULT_CURVES = 5;

  ROWS.forEach(function (row, i) { row._i = i; });
  var hasTags = ROWS.some(function (r) { return r.tags && r.tags.length; });
  var hasNote = ROWS.some(function (r) { return r.note; });

  var state = { key: "created", desc: true, filter: "", status: "", selected: new Set(), focused: null, shown: ROWS,
                all: false };

  // -- helpers ---------------------------------------------------------------------------
  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (k) {
        if (k === "text") node.textContent = attrs[k];
        else if (k === "className") node.className = attrs[k];
        else node.setAttribute(k, attrs[k]);
      });
    }
    (children || []).forEach(function (c) { if (c != null) node.appendChild(typeof c === "string" ? document.createTextNode(c) : c); });
    return node;
  }

  function isNum(v) { return typeof v === "number" && isFinite(v); }

  function fmt(v) {
    if (v === null || v === undefined) return "–";
    if (typeof v === "number") return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(6)));
    if (typeof v === "boolean") return v ? "true" : "false";
    if (typeof v === "object") return JSON.stringify(v);
    return String(v);
  }

  function safeUrl(text) {  // only http(s) links: a javascript: or data: URL stays text
    if (typeof text !== "string") return null;
    try {
      var url = new URL(text);
      return url.protocol === "https:" || url.protocol === "http:" ? url.href : null;
    } catch (e) { return null; }
  }

  function value(row, key) {
    if (key === "tags") return row.tags && row.tags.length ? row.tags.join(" ") : null;
    return row[key];
  }

  function compare(a, b) {  // numbers by value, text naturally; missing values last either way
    var an = a === null || a === undefined, bn = b === null || b === undefined;
    if (an || bn) return an === bn ? 0 : (an ? 1 : -1);
    if (isNum(a) && isNum(b)) return a - b;
    return fmt(a).localeCompare(fmt(b), undefined, { numeric: true });
  }

  function short(key) { return key.replace(/^(params|metrics)\./, ""); }

  // -- the table -------------------------------------------------------------------------
  var COLUMNS = [{ key: "_select", label: "", nosort: true }, { key: "label", label: "name" },
                 { key: "status", label: "status" }, { key: "created", label: "created" },
                 { key: "duration", label: "duration" }, { key: "executor", label: "executor" }];
  if (hasTags) COLUMNS.push({ key: "tags", label: "tags" });
  if (hasNote) COLUMNS.push({ key: "note", label: "note" });
  METRICS.forEach(function (k) { COLUMNS.push({ key: k, label: k, group: "metrics" }); });
  PARAMS.forEach(function (k) { COLUMNS.push({ key: k, label: k, group: "params" }); });

  var searchText = ROWS.map(function (row) {
    var parts = [row.label, row.status, row.executor, row.message, row.note, row.command, row.sha];
    if (row.tags) parts = parts.concat(row.tags);
    PARAMS.concat(METRICS).forEach(function (k) { if (row[k] !== undefined) parts.push(k + "=" + fmt(row[k])); });
    return parts.filter(function (p) { return p !== null && p !== undefined; }).join("\n").toLowerCase();
  });

  function buildHead() {
    var tr = el("tr");
    COLUMNS.forEach(function (col) {
      var th = el("th", { text: col.label, "data-key": col.key, title: col.label });
      if (col.group) th.className = "group-" + col.group;
      if (col.nosort) th.classList.add("nosort");
      else th.addEventListener("click", function () { sortBy(col.key); });
      tr.appendChild(th);
    });
    document.querySelector("#table thead").appendChild(tr);
  }

  function sortBy(key) {
    if (state.key === key) state.desc = !state.desc;
    else { state.key = key; state.desc = false; }
    renderTable();
  }

  function visibleRows() {
    var words = state.filter.toLowerCase().split(/\s+/).filter(Boolean);
    var out = ROWS.filter(function (row) {
      if (state.status && row.status !== state.status) return false;
      var text = searchText[row._i];
      return words.every(function (w) { return text.indexOf(w) >= 0; });
    });
    var key = state.key, sign = state.desc ? -1 : 1;
    out.sort(function (a, b) {
      var av = value(a, key), bv = value(b, key);
      var an = av === null || av === undefined, bn = bv === null || bv === undefined;
      if (an || bn) return an === bn ? a._i - b._i : (an ? 1 : -1);
      return sign * compare(av, bv) || a._i - b._i;
    });
    return out;
  }

  function cell(row, col) {
    var td = el("td");
    var v = value(row, col.key);
    if (col.key === "_select") {
      var box = el("input", { type: "checkbox", "aria-label": "select " + row.label });
      box.checked = state.selected.has(row._i);
      box.addEventListener("change", function () {
        if (box.checked) state.selected.add(row._i); else state.selected.delete(row._i);
        drawCurves();
      });
      td.appendChild(box);
    } else if (col.key === "label") {
      var button = el("button", { type: "button", className: "name", text: row.label, title: row.sha });
      button.addEventListener("click", function () { focus(row); });
      td.appendChild(button);
    } else if (col.key === "status") {
      td.textContent = fmt(v);
      td.className = "status-" + String(v).replace(/[^a-z]/g, "");
    } else if (col.key === "duration") {
      td.textContent = isNum(v) ? v.toFixed(1) + "s" : fmt(v);
      td.className = "num";
    } else if (col.key === "created") {
      td.textContent = typeof v === "string" ? v.replace("T", " ").replace(/:\d\d\+00:00$/, "Z") : fmt(v);
    } else if (col.key === "executor") {
      td.textContent = v ? String(v) + " " : "";
      var url = safeUrl(row.run_url);
      if (url) td.appendChild(el("a", { href: url, target: "_blank", rel: "noopener noreferrer", text: "run ↗" }));
      else if (!v) td.textContent = "–";
    } else if (col.key === "tags") {
      (row.tags || []).forEach(function (t) { td.appendChild(el("span", { className: "tag", text: String(t) })); });
    } else {
      td.textContent = fmt(v);
      if (isNum(v)) td.className = "num";
      if (typeof v === "string" && v.length > 40) td.title = v;
    }
    return td;
  }

  function renderTable() {
    state.shown = visibleRows();
    var body = document.querySelector("#table tbody");
    var fragment = document.createDocumentFragment();
    var drawn = state.all ? state.shown : state.shown.slice(0, PAGE);
    drawn.forEach(function (row) {
      var tr = el("tr", { "data-i": String(row._i) });
      if (state.focused === row._i) tr.className = "focused";
      COLUMNS.forEach(function (col) { tr.appendChild(cell(row, col)); });
      fragment.appendChild(tr);
    });
    body.replaceChildren(fragment);
    document.querySelectorAll("#table thead th").forEach(function (th) {
      if (th.getAttribute("data-key") === state.key) th.setAttribute("aria-sort", state.desc ? "descending" : "ascending");
      else th.removeAttribute("aria-sort");
    });
    var count = document.getElementById("count");
    count.textContent = state.shown.length + " of " + ROWS.length + " shown";
    if (drawn.length < state.shown.length) {
      count.textContent += " (the first " + drawn.length + " in the table) ";
      var more = el("button", { type: "button", id: "show-all", text: "Show all" });
      more.addEventListener("click", function () { state.all = true; renderTable(); });
      count.appendChild(more);
    }
  }

  // -- plots -----------------------------------------------------------------------------
  var EMBED = { actions: false, ast: true, renderer: "svg", mode: "vega-lite" };
  var CANVAS_FROM = 500;  // marks: more are drawn on a canvas (an SVG element each costs layout time)

  function embed(target, spec, canvas, mode) {
    var node = document.getElementById(target);
    var options = Object.assign({}, EMBED, canvas ? { renderer: "canvas" } : {}, mode ? { mode: mode } : {});
    return vegaEmbed(node, spec, options).catch(function (err) {
      node.replaceChildren(el("p", { className: "hint", text: "could not draw: " + err }));
      console.error(err);
    });
  }

  function say(target, text) {
    document.getElementById(target).replaceChildren(el("p", { className: "hint", text: text }));
    return Promise.resolve();
  }

  function axis(values) {  // a parallel-coordinates axis: where each value sits in [0, 1]
    var present = values.filter(function (v) { return v !== null && v !== undefined; });
    if (present.every(isNum)) {
      var lo = Math.min.apply(null, present), hi = Math.max.apply(null, present);
      return { pos: function (v) { return isNum(v) ? (hi > lo ? (v - lo) / (hi - lo) : 0.5) : null; },
               ends: [fmt(lo), fmt(hi)], distinct: hi > lo ? 2 : 1 };
    }
    var levels = Array.from(new Set(present.map(fmt))).sort(function (a, b) { return a.localeCompare(b, undefined, { numeric: true }); });
    return { pos: function (v) {
               if (v === null || v === undefined) return null;
               var k = levels.indexOf(fmt(v));
               return levels.length > 1 ? k / (levels.length - 1) : 0.5;
             }, ends: [levels[0] || "", levels[levels.length - 1] || ""], distinct: levels.length };
  }

  function drawParams() {
    var metric = document.getElementById("metric").value;
    var view = document.getElementById("view").value;
    document.getElementById("x-wrap").style.display = view === "scatter" ? "" : "none";
    if (!metric) return say("params-plot", "No metrics to plot: none of these experiments has a metrics file.");
    var rows = state.shown.filter(function (r) { return r[metric] !== undefined && r[metric] !== null; });
    if (!rows.length) return say("params-plot", "None of the experiments shown has " + metric + ".");
    if (view === "scatter") return drawScatter(rows, metric);
    var dims = PARAMS.map(function (k) { return { key: k, axis: axis(rows.map(function (r) { return r[k]; })) }; })
      .filter(function (d) { return d.axis.distinct > 0; });
    var varying = dims.filter(function (d) { return d.axis.distinct > 1; });
    dims = (varying.length ? varying : dims).slice(0, MAX_DIMS);
    dims.push({ key: metric, axis: axis(rows.map(function (r) { return r[metric]; })) });
    // Drawn with Vega itself: one path per experiment, computed here (Vega-Lite would make a
    // line per experiment a sub-flow of its own, or N x axes rule items: 4.5 and 1.2 s at 1k)
    var step = 110, height = 320, width = step * (dims.length - 1);
    var lines = rows.map(function (row) {
      var path = "", pen = false;
      dims.forEach(function (d, k) {
        var y = d.axis.pos(row[d.key]);
        if (y === null) { pen = false; return; }
        path += (pen ? "L" : "M") + (k * step) + "," + ((1 - y) * height).toFixed(1);
        pen = true;
      });
      var tip = { experiment: row.label };
      tip[short(metric)] = fmt(row[metric]);
      return { name: row.label, m: row[metric], path: path, tip: tip };
    });
    var axes = dims.map(function (d, k) {
      return { x: k * step, label: short(d.key), lo: d.axis.ends[0], hi: d.axis.ends[1] };
    });
    var text = function (y, field, baseline, extra) {
      return { type: "text", from: { data: "axes" }, encode: { update: Object.assign({
        x: { field: "x" }, y: { value: y }, text: { field: field }, baseline: { value: baseline }, align: { value: "center" },
        fontSize: { value: 10 }, fill: { value: "#59636e" } }, extra || {}) } };
    };
    return embed("params-plot", {
      width: width, height: height, padding: { left: 40, right: 40, top: 34, bottom: 20 }, autosize: "pad",
      data: [{ name: "lines", values: lines }, { name: "axes", values: axes }],
      scales: [{ name: "color", type: "linear", domain: { data: "lines", field: "m" }, range: { scheme: "viridis" }, zero: false }],
      marks: [
        { type: "rule", from: { data: "axes" }, encode: { update: {
          x: { field: "x" }, y: { value: 0 }, y2: { value: height }, stroke: { value: "#d1d9e0" } } } },
        { type: "path", name: "experiments", from: { data: "lines" }, encode: { update: {
          path: { field: "path" }, stroke: { scale: "color", field: "m" }, strokeWidth: { value: 1.5 }, strokeOpacity: { value: 0.7 },
          tooltip: { field: "tip" } } } },
        Object.assign(text(-20, "label", "bottom", { fontSize: { value: 11 }, fill: { value: "#1f2328" }, fontWeight: { value: "bold" } }),
                      { name: "axis-names" }),
        text(-4, "hi", "bottom"),
        text(height + 4, "lo", "top")
      ],
      legends: [{ stroke: "color", title: short(metric), gradientLength: 200 }]
    }, lines.length > CANVAS_FROM, "vega");
  }

  function drawScatter(rows, metric) {
    var param = document.getElementById("x-param").value;
    if (!param) return say("params-plot", "No params to plot against: none of these experiments has a params file.");
    var points = rows.filter(function (r) { return r[param] !== undefined && r[param] !== null; })
      .map(function (r) { return { name: r.label, x: isNum(r[param]) ? r[param] : fmt(r[param]), y: r[metric], status: r.status }; });
    if (!points.length) return say("params-plot", "None of the experiments shown has both " + param + " and " + metric + ".");
    var numeric = points.every(function (p) { return isNum(p.x); });
    return embed("params-plot", {
      width: 520, height: 320, data: { values: points },
      mark: { type: "point", filled: true, size: 70, opacity: 0.8 },
      encoding: {
        x: { field: "x", type: numeric ? "quantitative" : "nominal", title: param, scale: numeric ? { zero: false } : undefined },
        y: { field: "y", type: "quantitative", title: metric, scale: { zero: false } },
        color: { field: "status", type: "nominal" },
        tooltip: [{ field: "name", title: "experiment" }, { field: "x", title: param }, { field: "y", title: metric }]
      }
    });
  }

  function points() {
    if (!POINTS) {
      var text = atob(DATA.points || "");
      var bytes = new Uint8Array(text.length);
      for (var i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
      POINTS = new DataView(bytes.buffer);
    }
    return POINTS;
  }

  // [steps, values] of one experiment's metric (a value NaN in the array: null, a gap), or null
  function series(sha, metric) {
    var entry = (HISTORIES[sha] || {})[metric];
    if (!entry) return null;
    var view = points(), at = entry[0], count = entry[1], stepsAt = entry.length > 2 ? entry[2] : -1;
    var steps = new Array(count), values = new Array(count);
    for (var k = 0; k < count; k++) {
      var value = view.getFloat64((at + k) * 8, true);
      values[k] = value === value ? value : null;
      steps[k] = stepsAt < 0 ? k : view.getFloat64((stepsAt + k) * 8, true);
    }
    return [steps, values];
  }

  function curveRows() {
    var chosen = ROWS.filter(function (r) { return state.selected.has(r._i); });
    if (!chosen.length) chosen = state.shown.filter(function (r) { return HISTORIES[r.sha]; }).slice(0, DEFAULT_CURVES);
    return chosen;
  }

  function fillCurveMetrics(rows) {
    var select = document.getElementById("curve-metric");
    var names = new Set();
    rows.forEach(function (r) { Object.keys(HISTORIES[r.sha] || {}).forEach(function (k) { names.add(k); }); });
    var wanted = Array.from(names).sort();
    var current = select.value;
    if (wanted.join("\n") !== Array.from(select.options).map(function (o) { return o.value; }).join("\n")) {
      select.replaceChildren.apply(select, wanted.map(function (k) { return el("option", { value: k, text: k }); }));
      if (wanted.indexOf(current) >= 0) select.value = current;
    }
  }

  function drawCurves() {
    var rows = curveRows();
    fillCurveMetrics(rows);
    var metric = document.getElementById("curve-metric").value;
    if (!metric) {
      return say("curves-plot", Object.keys(HISTORIES).length
        ? "The experiments chosen have no step metrics."
        : "No step metrics: none of these experiments has a metrics.jsonl.");
    }
    var values = [];
    rows.forEach(function (r) {
      var found = series(r.sha, metric);  // [steps, values]
      if (found) found[0].forEach(function (step, k) { values.push({ exp: r.label, step: step, value: found[1][k] }); });
    });
    if (!values.length) return say("curves-plot", "None of the experiments chosen has " + metric + " over steps.");
    return embed("curves-plot", {
      width: 620, height: 300, data: { values: values },
      mark: { type: "line", point: values.length <= 400, strokeWidth: 1.8 },
      encoding: {
        x: { field: "step", type: "quantitative", title: "step" },
        y: { field: "value", type: "quantitative", title: metric, scale: { zero: false } },
        color: { field: "exp", type: "nominal", title: "experiment" },
        tooltip: [{ field: "exp", title: "experiment" }, { field: "step" }, { field: "value", title: metric }]
      }
    });
  }

  // -- one experiment against its baseline ------------------------------------------------
  function delta(before, after) {
    if (!isNum(before) || !isNum(after)) return "";
    var d = after - before;
    return " (" + (d >= 0 ? "+" : "") + fmt(d) + ")";
  }

  function focus(row) {
    state.focused = row._i;
    document.querySelectorAll("#table tbody tr.focused").forEach(function (tr) { tr.classList.remove("focused"); });
    var tr = document.querySelector('#table tbody tr[data-i="' + row._i + '"]');
    if (tr) tr.classList.add("focused");
    var body = document.getElementById("detail-body");
    var parts = [el("h3", { text: row.label })];
    var facts = [["commit", row.sha], ["baseline", row.baseline || "(none: a root commit)"], ["status", row.status],
                 ["created", row.created], ["duration", isNum(row.duration) ? row.duration.toFixed(1) + "s" : null],
                 ["command", row.command], ["executor", row.executor], ["message", row.message],
                 ["tags", row.tags && row.tags.length ? row.tags.join(", ") : null], ["note", row.note],
                 ["unreadable", row.errors ? row.errors.join("; ") : null]];
    var dl = el("dl");
    facts.forEach(function (f) {
      if (f[1] === null || f[1] === undefined || f[1] === "") return;
      dl.appendChild(el("dt", { text: f[0] }));
      dl.appendChild(el("dd", { text: String(f[1]) }));
    });
    var url = safeUrl(row.run_url);
    if (url) {
      dl.appendChild(el("dt", { text: "CI run" }));
      dl.appendChild(el("dd", null, [el("a", { href: url, target: "_blank", rel: "noopener noreferrer", text: url })]));
    }
    parts.push(dl);
    var change = CHANGES[row.sha];
    if (!change) {
      parts.push(el("p", { className: "hint", text: row.baseline ? "No changes recorded." : "No baseline to compare with." }));
    } else {
      if (change.values.length) {
        var table = el("table", { className: "values" }, [el("tr", null, [el("th", { text: "key" }), el("th", { text: "baseline" }), el("th", { text: "this experiment" })])]);
        change.values.forEach(function (c) {
          table.appendChild(el("tr", null, [el("td", { text: c.key }), el("td", { text: fmt(c.baseline) }),
                                            el("td", { text: fmt(c.experiment) + delta(c.baseline, c.experiment) })]));
        });
        parts.push(el("h4", { text: "Params and metrics that differ" }), table);
      } else {
        parts.push(el("p", { className: "hint", text: "Params and metrics: the same as the baseline's." }));
      }
      var files = el("table", { className: "files" });
      change.files.forEach(function (f) {
        files.appendChild(el("tr", null, [
          el("td", { text: f[0] }),
          f[1] === null ? el("td", { text: "binary" }) : el("td", { className: "added", text: "+" + f[1] }),
          f[2] === null ? el("td") : el("td", { className: "deleted", text: "−" + f[2] })]));
      });
      parts.push(el("h4", { text: change.files.length + (change.more_files ? " of " + (change.files.length + change.more_files) : "") + " changed file" + (change.files.length === 1 ? "" : "s") }), files);
      if (change.patch) {
        var pre = el("pre", { className: "patch" });
        change.patch.split("\n").forEach(function (line) {
          var kind = /^(diff --git|index |--- |\+\+\+ |new file|deleted file|old mode|new mode)/.test(line) ? "meta"
            : line[0] === "+" ? "add" : line[0] === "-" ? "del" : line.slice(0, 2) === "@@" ? "hunk" : "";
          pre.appendChild(kind ? el("span", { className: kind, text: line + "\n" }) : document.createTextNode(line + "\n"));
        });
        parts.push(pre);
      }
      if (change.patch_note) parts.push(el("p", { className: "hint", text: "Patch: " + change.patch_note }));
    }
    body.replaceChildren.apply(body, parts);
  }

  // -- start -----------------------------------------------------------------------------
  function options(id, keys, label) {
    var select = document.getElementById(id);
    keys.forEach(function (k) { select.appendChild(el("option", { value: k, text: label ? label(k) : k })); });
  }

  document.getElementById("title").textContent = DATA.title;
  document.getElementById("summary").textContent = ROWS.length + " experiment" + (ROWS.length === 1 ? "" : "s") +
    " · " + PARAMS.length + " params · " + METRICS.length + " metrics · generated " + DATA.generated;
  document.getElementById("footer").textContent = "Written by " + DATA.version +
    " with Vega-Lite " + (window.vegaLite ? vegaLite.version : "?") + ". Opens offline: everything is in this file.";
  options("status", Array.from(new Set(ROWS.map(function (r) { return r.status; }))).filter(Boolean).sort());
  options("metric", METRICS);
  options("x-param", PARAMS);
  buildHead();
  renderTable();

  var redraw = null;
  function later() {  // typing in the filter redraws the plots once it pauses
    clearTimeout(redraw);
    redraw = setTimeout(function () { drawParams(); drawCurves(); }, 250);
  }
  document.getElementById("filter").addEventListener("input", function (e) { state.filter = e.target.value; renderTable(); later(); });
  document.getElementById("status").addEventListener("change", function (e) { state.status = e.target.value; renderTable(); later(); });
  document.getElementById("metric").addEventListener("change", drawParams);
  document.getElementById("view").addEventListener("change", drawParams);
  document.getElementById("x-param").addEventListener("change", drawParams);
  document.getElementById("curve-metric").addEventListener("change", drawCurves);
  document.getElementById("clear-selection").addEventListener("click", function () {
    state.selected.clear();
    document.querySelectorAll("#table tbody input[type=checkbox]").forEach(function (b) { b.checked = false; });
    drawCurves();
  });

  Promise.all([drawParams(), drawCurves()]).then(function () {
    document.body.setAttribute("data-ready", "1");
  });
})();
