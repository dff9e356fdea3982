"use strict";
// wakeshim report page: draws the report embedded in #report-data.
// Plain DOM and SVG, no libraries, nothing fetched. Every section copes with
// its part of the report being absent or empty, and caps what it draws so a
// large report stays responsive.
(function () {
  var LIMITS = {
    groups: 200,      // pending groups drawn (after sorting)
    edges: 100,       // wake edges in the table
    graphEdges: 12,   // wake edges in the graph
    worst: 50,        // worst latencies listed
    taskIds: 24,      // task ids listed per waker
    polls: 6000,      // poll bars drawn in the timeline window
    wakes: 1500,      // wake arrows drawn in the timeline window
    verdicts: 500,    // rows per verdict table
    chains: 100       // chains listed
  };
  var SVGNS = "http://www.w3.org/2000/svg";

  // ---------- helpers ----------
  function arr(v) { return Array.isArray(v) ? v : []; }
  function num(v) { return typeof v === "number" && isFinite(v) ? v : 0; }
  function has(v) { return typeof v === "number" && isFinite(v); }
  function str(v) { return v === undefined || v === null ? "" : String(v); }

  function el(tag, attrs, children) {
    var e = document.createElement(tag);
    setAttrs(e, attrs);
    append(e, children);
    return e;
  }
  function svg(tag, attrs, children) {
    var e = document.createElementNS(SVGNS, tag);
    setAttrs(e, attrs);
    append(e, children);
    return e;
  }
  function setAttrs(e, attrs) {
    if (!attrs) return;
    for (var k in attrs) {
      if (!Object.prototype.hasOwnProperty.call(attrs, k)) continue;
      var v = attrs[k];
      if (v === undefined || v === null || v === false) continue;
      if (k === "text") e.textContent = v;
      else if (k === "onclick") e.addEventListener("click", v);
      else e.setAttribute(k, v);
    }
  }
  function append(e, children) {
    if (children === undefined || children === null) return;
    if (!Array.isArray(children)) children = [children];
    children.forEach(function (c) {
      if (c === undefined || c === null || c === false) return;
      e.appendChild(typeof c === "string" || typeof c === "number" ? document.createTextNode(String(c)) : c);
    });
  }
  function title(text) { return svg("title", { text: text }); }

  function fmtInt(n) {
    n = Math.round(num(n));
    var s = String(Math.abs(n)), out = "";
    while (s.length > 3) { out = "," + s.slice(-3) + out; s = s.slice(0, -3); }
    return (n < 0 ? "-" : "") + s + out;
  }
  function sig3(x) {
    if (x >= 100) return x.toFixed(0);
    if (x >= 10) return x.toFixed(1).replace(/\.0$/, "");
    return x.toFixed(2).replace(/\.?0+$/, "");
  }
  // fmtDur renders nanoseconds with three significant digits.
  function fmtDur(ns) {
    if (!has(ns)) return "–";
    var a = Math.abs(ns), sign = ns < 0 ? "-" : "";
    if (a === 0) return "0";
    if (a < 1e3) return sign + a.toFixed(0) + "ns";
    if (a < 1e6) return sign + sig3(a / 1e3) + "µs";
    if (a < 1e9) return sign + sig3(a / 1e6) + "ms";
    if (a < 60e9) return sign + sig3(a / 1e9) + "s";
    var m = Math.floor(a / 60e9), s = Math.round((a - m * 60e9) / 1e9);
    if (m < 60) return sign + m + "m" + (s ? s + "s" : "");
    var h = Math.floor(m / 60);
    return sign + h + "h" + (m % 60 ? (m % 60) + "m" : "");
  }
  function fmtBytes(b) {
    b = num(b);
    if (b < 1024) return b + " B";
    var u = ["KB", "MB", "GB", "TB"], i = -1;
    do { b /= 1024; i++; } while (b >= 1024 && i < u.length - 1);
    return sig3(b) + " " + u[i];
  }
  function fmtPct(x) { return (100 * x).toFixed(x < 0.1 ? 1 : 0) + "%"; }
  // fmtNumber renders a finding's number by its name: *_ns as a duration.
  function fmtNumber(key, v) {
    if (typeof v !== "number") return typeof v === "object" ? JSON.stringify(v) : str(v);
    if (/^(ts|since|start|end)_ns$/.test(key)) return "@" + fmtDur(v);
    if (/_ns$/.test(key)) return fmtDur(v);
    if (/(ratio|share|frac)/.test(key) && v <= 1) return fmtPct(v);
    if (Math.floor(v) === v) return fmtInt(v);
    return String(Math.round(v * 1000) / 1000);
  }

  function section(id) {
    var s = document.getElementById(id);
    return s.querySelector(".body") || s;
  }
  function empty(text) { return el("div", { "class": "empty", text: text }); }
  function note(text) { return el("div", { "class": "note", text: text }); }

  // hue gives a stable colour for a name.
  function hue(name) {
    var h = 2166136261;
    for (var i = 0; i < name.length; i++) { h ^= name.charCodeAt(i); h = Math.imul(h, 16777619); }
    return (h >>> 0) % 360;
  }
  function colour(name) { return "hsl(" + hue(name) + ",55%,62%)"; }

  // topFrame is the first frame of a stack a reader would look at: the
  // innermost one outside the runtime and the standard library's
  // synchronisation, else the innermost.
  function topFrame(frames) {
    for (var i = 0; i < frames.length; i++) {
      var f = str(frames[i]);
      if (!/^(runtime\.|sync\.|internal\/|time\.Sleep|\[)/.test(f)) return f;
    }
    return frames.length ? str(frames[0]) : "";
  }
  // gName names goroutine id as "gN NAME", once: names from the report
  // may already start with "gN".
  function gName(id, name) {
    name = str(name);
    if (id === undefined || id === null || id === "") return name || "?";
    var g = "g" + id;
    if (name === g || name.indexOf(g + " ") === 0) return name;
    return name ? g + " " + name : g;
  }
  function funcName(frame) { return str(frame).split(" ")[0]; }
  // reasonText shows a wait reason as words ("chan_receive": "chan receive").
  function reasonText(r) { return str(r).replace(/_/g, " "); }

  // ---------- sortable table ----------
  // table draws rows (objects) under columns; a click on a header sorts by
  // it; expand(row) returns a node shown under a row when it is clicked.
  function table(cols, rows, opts) {
    opts = opts || {};
    var limit = opts.limit || rows.length;
    var sortCol = opts.sort || null, desc = opts.desc !== false;
    var open = {};
    var tbl = el("table", { "class": opts.cls || "" });
    var thead = el("thead"), tbody = el("tbody");
    var hr = el("tr");
    var ths = cols.map(function (c) {
      var th = el("th", { "class": (c.num ? "num " : "") + (c.sort ? "sortable" : ""), text: c.label, title: c.help || null, "data-col": c.key });
      if (c.sort) th.addEventListener("click", function () {
        if (sortCol === c.key) desc = !desc; else { sortCol = c.key; desc = c.num !== false && !!c.num; }
        draw();
      });
      hr.appendChild(th);
      return th;
    });
    thead.appendChild(hr);
    tbl.appendChild(thead);
    tbl.appendChild(tbody);
    var foot = note("");
    var filterText = "";

    function draw() {
      var col = null;
      cols.forEach(function (c, i) {
        ths[i].classList.remove("sorted-asc", "sorted-desc");
        if (c.key === sortCol) { col = c; ths[i].classList.add(desc ? "sorted-desc" : "sorted-asc"); }
      });
      var view = rows.slice();
      if (filterText && opts.filter) view = view.filter(function (r) { return opts.filter(r).toLowerCase().indexOf(filterText) >= 0; });
      if (col) {
        view.sort(function (a, b) {
          var x = col.sort(a), y = col.sort(b), d = x < y ? -1 : x > y ? 1 : 0;
          if (d === 0) d = a._i - b._i; else if (desc) d = -d;
          return d;
        });
      }
      while (tbody.firstChild) tbody.removeChild(tbody.firstChild);
      view.slice(0, limit).forEach(function (r) {
        var tr = el("tr", { "class": opts.expand ? "group" : null, "data-i": r._i });
        cols.forEach(function (c, i) {
          var td = el("td", { "class": (c.num ? "num" : "") + (opts.expand && i === 0 ? " tw" : "") });
          append(td, c.cell(r));
          tr.appendChild(td);
        });
        tbody.appendChild(tr);
        if (opts.expand) {
          var detail = null;
          var toggle = function () {
            if (detail) { tbody.removeChild(detail); detail = null; tr.classList.remove("open"); delete open[r._i]; return; }
            detail = el("tr", { "class": "detail" }, el("td", { colspan: cols.length }, opts.expand(r)));
            tbody.insertBefore(detail, tr.nextSibling);
            tr.classList.add("open");
            open[r._i] = true;
          };
          tr.addEventListener("click", toggle);
          if (open[r._i]) { delete open[r._i]; toggle(); }
        }
      });
      var shown = Math.min(limit, view.length);
      foot.textContent = view.length > shown ? "showing " + shown + " of " + fmtInt(view.length) + (col ? " (by " + col.label.toLowerCase() + ")" : "") :
        (filterText ? fmtInt(view.length) + " of " + fmtInt(rows.length) + " match" : "");
    }
    rows.forEach(function (r, i) { r._i = i; });
    draw();
    var wrap = el("div");
    if (opts.filter) {
      var inp = el("input", { type: "search", placeholder: opts.filterHint || "filter", "aria-label": "filter", "class": "filter" });
      inp.addEventListener("input", function () { filterText = inp.value.trim().toLowerCase(); draw(); });
      wrap.appendChild(el("div", { "class": "tl-controls" }, inp));
    }
    // A long table scrolls in its box, under its header, beside the filter.
    wrap.appendChild(opts.scroll ? el("div", { "class": "scroll" }, tbl) : tbl);
    wrap.appendChild(foot);
    return wrap;
  }

  // ---------- sections ----------
  function drawInputs(R) {
    var ins = arr(R.inputs);
    var box = document.getElementById("inputs");
    if (!ins.length) { box.textContent = "no inputs listed"; return; }
    box.textContent = ins.map(function (i) {
      return str(i.path) + (i.kind ? " (" + i.kind + (has(i.bytes) ? ", " + fmtBytes(i.bytes) : "") + ")" : "");
    }).join(" · ");
  }

  function drawSummary(R) {
    var lat = R.latency || {};
    var cards = [
      ["span", "trace span", fmtDur(R.span_ns)],
      ["records", "records", fmtInt(R.records)],
      ["wakes", "wakes", fmtInt(R.wakes_total)],
      ["pending", "pending waits", fmtInt(R.pending_total)],
      ["groups", "wait stacks", fmtInt(arr(R.pending).length)],
      ["still", "still blocked at end", fmtInt(arr(R.pending).reduce(function (s, g) { return s + num(g.still_blocked); }, 0))],
      ["lat-p50", "wake→run p50", fmtDur(lat.p50_ns)],
      ["lat-p99", "wake→run p99", fmtDur(lat.p99_ns)],
      ["lat-max", "wake→run max", fmtDur(lat.max_ns)],
      ["workers", "Ps", fmtInt(arr(R.workers).length)],
      ["findings", "findings", fmtInt(arr(R.findings).length)]
    ];
    var box = document.querySelector("#summary .cards");
    cards.forEach(function (c) {
      box.appendChild(el("div", { "class": "card", "data-k": c[0] }, [el("div", { "class": "v", text: c[2] }), el("div", { "class": "k", text: c[1] })]));
    });
  }

  // openGroup opens pending group i (its index in the report) and shows it.
  function openGroup(i) {
    var tr = document.querySelector('#pending tr.group[data-i="' + i + '"]');
    if (!tr) {
      var f = document.querySelector("#pending input.filter");
      if (f && f.value) { f.value = ""; f.dispatchEvent(new Event("input")); tr = document.querySelector('#pending tr.group[data-i="' + i + '"]'); }
    }
    if (!tr) return;
    if (!tr.classList.contains("open")) tr.click();
    tr.scrollIntoView();
  }

  function drawConfig(R) {
    var c = R.config;
    if (!c || typeof c !== "object") return;
    var parts = [];
    if (has(c.stuck_ns)) parts.push("stuck ≥ " + fmtDur(c.stuck_ns));
    if (has(c.herd_count)) parts.push("herd ≥ " + fmtInt(c.herd_count) + " wakes" + (has(c.herd_window_ns) ? " in " + fmtDur(c.herd_window_ns) : ""));
    if (has(c.slow_wake_ns)) parts.push("slow wake ≥ " + fmtDur(c.slow_wake_ns));
    if (has(c.queue_goroutines)) parts.push("queue ≥ " + fmtInt(c.queue_goroutines) + " goroutines");
    if (parts.length) section("findings").appendChild(el("div", { "class": "note thresholds", text: "Thresholds: " + parts.join(", ") + "." }));
  }

  function drawWarnings(R) {
    var ws = arr(R.warnings);
    if (!ws.length) return;
    var box = document.getElementById("warnings");
    box.appendChild(el("ul", { "class": "warnings" }, ws.map(function (w) { return el("li", { text: str(w) }); })));
  }

  function drawFindings(R) {
    var box = section("findings"), fs = arr(R.findings);
    if (!fs.length) { box.appendChild(empty("No findings: nothing crossed the report's thresholds.")); return; }
    var ul = el("ul", { "class": "findings" });
    fs.forEach(function (f) {
      var sev = str(f.severity).toLowerCase() || "info";
      var nums = el("div", { "class": "nums" });
      var ns = f.numbers && typeof f.numbers === "object" ? f.numbers : {};
      Object.keys(ns).forEach(function (k) { nums.appendChild(el("span", { text: k + " " + fmtNumber(k, ns[k]) })); });
      ul.appendChild(el("li", { "class": "finding sev-" + sev.replace(/[^a-z]/g, ""), "data-kind": str(f.kind) }, [
        el("span", { "class": "sev", text: sev }),
        f.kind ? el("span", { "class": "kind", text: str(f.kind) }) : null,
        el("span", { "class": "text", text: str(f.text) }),
        has(ns.group) && arr(R.pending)[ns.group] ? el("a", { href: "#pending", "class": "goto-group", text: " show group", onclick: function (ev) {
          ev.preventDefault();
          openGroup(ns.group);
        } }) : null,
        nums.childNodes.length ? nums : null
      ]));
    });
    box.appendChild(ul);
  }

  function drawPending(R) {
    var box = section("pending"), gs = arr(R.pending).filter(function (g) { return g && typeof g === "object"; });
    if (!gs.length) { box.appendChild(empty("No goroutine was pending for longer than the threshold.")); return; }
    var maxTotal = gs.reduce(function (m, g) { return Math.max(m, num(g.total_ns)); }, 0) || 1;
    var cols = [
      { key: "reason", label: "Reason", sort: function (g) { return str(g.reason); }, cell: function (g) { return el("span", { "class": "reason-tag", title: str(g.reason), text: reasonText(g.reason) || "?" }); } },
      { key: "stack", label: "Stack (innermost first)", sort: function (g) { return topFrame(arr(g.frames)); }, cell: function (g) {
        var fr = arr(g.frames);
        return el("span", { "class": "stack-top", title: fr.map(str).join("\n") }, fr.length ? funcName(topFrame(fr)) + (fr.length > 1 ? " (+" + (fr.length - 1) + ")" : "") : "(no stack)");
      } },
      { key: "count", label: "Count", num: true, sort: function (g) { return num(g.count); }, cell: function (g) { return fmtInt(g.count); } },
      { key: "gs", label: "Gs", num: true, help: "distinct goroutines", sort: function (g) { return num(g.goroutines); }, cell: function (g) { return has(g.goroutines) ? fmtInt(g.goroutines) : "–"; } },
      { key: "total", label: "Total", num: true, sort: function (g) { return num(g.total_ns); }, cell: function (g) {
        return [el("span", { "class": "bar", style: "width:" + Math.max(1, Math.round(40 * num(g.total_ns) / maxTotal)) + "px" }), " ", fmtDur(g.total_ns)];
      } },
      { key: "p50", label: "p50", num: true, sort: function (g) { return num(g.p50_ns); }, cell: function (g) { return fmtDur(g.p50_ns); } },
      { key: "p99", label: "p99", num: true, sort: function (g) { return num(g.p99_ns); }, cell: function (g) { return fmtDur(g.p99_ns); } },
      { key: "max", label: "Max", num: true, sort: function (g) { return num(g.max_ns); }, cell: function (g) { return fmtDur(g.max_ns); } },
      { key: "still", label: "Still blocked", num: true, help: "waits not ended when the records end", sort: function (g) { return num(g.still_blocked); }, cell: function (g) {
        return num(g.still_blocked) ? el("span", { "class": "badge", text: fmtInt(g.still_blocked) }) : "";
      } },
      { key: "waker", label: "Top waker", sort: function (g) { var w = arr(g.wakers)[0]; return w ? str(w.name) : ""; }, cell: function (g) {
        var w = arr(g.wakers)[0];
        return w ? el("span", { "class": "small" }, str(w.name) + " ×" + fmtInt(w.count)) : el("span", { "class": "muted small", text: "–" });
      } }
    ];
    box.appendChild(note("Blocked goroutines grouped by wait reason and stack; click a row for its stack and its wakers."));
    box.appendChild(table(cols, gs, {
      sort: "total", desc: true, limit: LIMITS.groups, cls: "pending-table",
      filter: function (g) { return str(g.reason) + "\n" + arr(g.frames).join("\n") + "\n" + arr(g.wakers).map(function (w) { return str(w.name); }).join("\n"); },
      filterHint: "filter by function, file, reason or waker",
      expand: pendingDetail, scroll: true
    }));
  }

  function pendingDetail(g) {
    var fr = arr(g.frames);
    var ol = el("ol", { "class": "frames" });
    fr.forEach(function (f) { ol.appendChild(el("li", { "class": "frame", text: str(f) })); });
    var ws = arr(g.wakers);
    var wl = el("ul", { "class": "wakers" });
    ws.forEach(function (w) {
      var ids = arr(w.task_ids);
      var idText = ids.length ? " — g" + ids.slice(0, LIMITS.taskIds).join(", g") + (ids.length > LIMITS.taskIds ? " … (+" + (ids.length - LIMITS.taskIds) + ")" : "") : "";
      wl.appendChild(el("li", { "class": "waker" }, [el("b", { text: "×" + fmtInt(w.count) }), " " + str(w.name) + (has(w.total_ns) ? " (" + fmtDur(w.total_ns) + ")" : ""), el("span", { "class": "muted", text: idText })]));
    });
    var facts = [];
    if (has(g.goroutines)) facts.push(fmtInt(g.goroutines) + " goroutine" + (g.goroutines === 1 ? "" : "s"));
    if (has(g.max_at_once)) facts.push("at most " + fmtInt(g.max_at_once) + " blocked at once");
    if (num(g.still_blocked)) facts.push(fmtInt(g.still_blocked) + " still blocked at the end");
    return el("div", { "class": "group-detail" }, [
      facts.length ? el("div", { "class": "note facts", text: facts.join(" · ") }) : null,
      el("h3", { text: "Stack" }),
      g.reason ? el("div", { "class": "frames reason", text: "[" + reasonText(g.reason) + "] blocked in" + (fr.length ? ":" : " a goroutine with no stack recorded") }) : null,
      fr.length ? ol : (g.reason ? null : empty("no stack recorded for these waits")),
      el("h3", { text: "Woken by" }), ws.length ? wl : empty(num(g.still_blocked) ? "no waker: still blocked at the end" : "no waker recorded")
    ]);
  }

  function drawWakes(R) {
    var box = section("wakes"), es = arr(R.wakes).filter(function (e) { return e && typeof e === "object"; });
    if (!es.length) { box.appendChild(empty("No wake events in the records.")); return; }
    var sorted = es.slice().sort(function (a, b) { return num(b.count) - num(a.count); });
    var grid = el("div", { "class": "two" });
    grid.appendChild(el("div", null, [el("h3", { text: "Top edges" }), wakeGraph(sorted.slice(0, LIMITS.graphEdges))]));
    var cols = [
      { key: "waker", label: "Waker", sort: function (e) { return str(e.waker); }, cell: function (e) { return el("span", { "class": "small", title: edgeSide(e.waker_location, e.waker_tasks), text: str(e.waker) }); } },
      { key: "woken", label: "Woken", sort: function (e) { return str(e.woken); }, cell: function (e) { return el("span", { "class": "small", title: edgeSide(e.woken_location, e.woken_tasks), text: str(e.woken) }); } },
      { key: "count", label: "Wakes", num: true, sort: function (e) { return num(e.count); }, cell: function (e) { return fmtInt(e.count); } },
      { key: "p50", label: "Run p50", num: true, help: "wake → run latency", sort: function (e) { return num((e.latency || {}).p50_ns); }, cell: function (e) { return fmtDur((e.latency || {}).p50_ns); } },
      { key: "p99", label: "Run p99", num: true, sort: function (e) { return num((e.latency || {}).p99_ns); }, cell: function (e) { return fmtDur((e.latency || {}).p99_ns); } },
      { key: "max", label: "Run max", num: true, sort: function (e) { return num((e.latency || {}).max_ns); }, cell: function (e) { return fmtDur((e.latency || {}).max_ns); } }
    ];
    grid.appendChild(el("div", null, [el("h3", { text: "Edges" }), table(cols, es, { sort: "count", desc: true, limit: LIMITS.edges, cls: "wakes-table", scroll: true })]));
    box.appendChild(grid);
  }

  function edgeSide(loc, tasks) {
    var parts = [];
    if (loc) parts.push(str(loc));
    if (has(tasks)) parts.push(fmtInt(tasks) + " goroutine" + (tasks === 1 ? "" : "s"));
    return parts.join("\n") || null;
  }

  // wakeGraph draws the top edges as a two-column graph: wakers on the
  // left, woken goroutines on the right, a curve per edge as thick as its
  // share of the wakes.
  function wakeGraph(edges) {
    var left = [], right = [], li = {}, ri = {};
    edges.forEach(function (e) {
      var a = str(e.waker), b = str(e.woken);
      if (!(a in li)) { li[a] = left.length; left.push(a); }
      if (!(b in ri)) { ri[b] = right.length; right.push(b); }
    });
    var rowH = 26, W = 600, nodeW = 230, pad = 6;
    var H = Math.max(left.length, right.length) * rowH + pad * 2;
    var max = edges.reduce(function (m, e) { return Math.max(m, num(e.count)); }, 1);
    var g = svg("svg", { "class": "chart wake-graph", viewBox: "0 0 " + W + " " + H, width: W, height: H, role: "img", "aria-label": "wake graph" });
    function y(i) { return pad + i * rowH + rowH / 2; }
    edges.forEach(function (e) {
      var y1 = y(li[str(e.waker)]), y2 = y(ri[str(e.woken)]), x1 = nodeW, x2 = W - nodeW;
      var w = 1 + 9 * num(e.count) / max;
      g.appendChild(svg("path", { "class": "edge", d: "M" + x1 + "," + y1 + " C" + (x1 + 60) + "," + y1 + " " + (x2 - 60) + "," + y2 + " " + x2 + "," + y2, "stroke-width": w.toFixed(1) },
        title(str(e.waker) + " → " + str(e.woken) + ": " + fmtInt(e.count) + " wakes" + (e.latency ? ", run p50 " + fmtDur(e.latency.p50_ns) + ", p99 " + fmtDur(e.latency.p99_ns) : ""))));
    });
    function node(name, x, yy, anchor) {
      var label = name.length > 32 ? name.slice(0, 31) + "…" : name;
      return svg("g", { "class": "gnode" }, [
        svg("rect", { "class": "node", x: x, y: yy - rowH / 2 + 3, width: nodeW - 4, height: rowH - 6, rx: 4 }),
        svg("text", { "class": "node-label", x: anchor === "end" ? x + nodeW - 10 : x + 6, y: yy + 4, "text-anchor": anchor, text: label }),
        title(name)
      ]);
    }
    left.forEach(function (n, i) { g.appendChild(node(n, 0, y(i), "end")); });
    right.forEach(function (n, i) { g.appendChild(node(n, W - nodeW + 4, y(i), "start")); });
    return g;
  }

  function drawLatency(R) {
    var box = section("latency"), L = R.latency;
    if (!L || !num(L.count)) { box.appendChild(empty("No wake was followed by a run of the woken goroutine in the records.")); return; }
    box.appendChild(el("p", { "class": "lat-summary" }, fmtInt(L.count) + " wakes: p50 " + fmtDur(L.p50_ns) + ", p99 " + fmtDur(L.p99_ns) + ", max " + fmtDur(L.max_ns) + " from the wake to the woken goroutine's next run."));
    var grid = el("div", { "class": "two" });
    var hb = arr(L.histogram);
    grid.appendChild(el("div", null, [el("h3", { text: "Histogram" }), hb.length ? histogram(hb) : empty("no histogram in the report")]));
    var worst = arr(L.worst).slice(0, LIMITS.worst);
    var wbox = el("div", null, el("h3", { text: "Worst cases" }));
    if (!worst.length) wbox.appendChild(empty("none listed"));
    else {
      var T = R.timeline || {};
      var cols = [
        { key: "lat", label: "Latency", num: true, sort: function (w) { return num(w.latency_ns); }, cell: function (w) { return fmtDur(w.latency_ns); } },
        { key: "ts", label: "At", num: true, sort: function (w) { return num(w.ts_ns); }, cell: function (w) {
          var inTL = has(T.start_ns) && has(T.end_ns) && num(w.ts_ns) >= T.start_ns && num(w.ts_ns) <= T.end_ns;
          if (!inTL) return "@" + fmtDur(w.ts_ns);
          return el("a", { href: "#timeline", "class": "goto", title: "show in the timeline", onclick: function (ev) {
            ev.preventDefault();
            if (timelineShow) timelineShow(num(w.ts_ns), num(w.latency_ns));
          } }, "@" + fmtDur(w.ts_ns));
        } },
        { key: "waker", label: "Waker", sort: function (w) { return str(w.waker); }, cell: function (w) { return el("span", { "class": "small", text: str(w.waker) }); } },
        { key: "woken", label: "Woken", sort: function (w) { return str(w.woken); }, cell: function (w) { return el("span", { "class": "small", text: has(w.task_id) ? gName(w.task_id, w.woken) : str(w.woken) }); } }
      ];
      wbox.appendChild(table(cols, worst, { sort: "lat", desc: true, cls: "worst-table", scroll: true }));
    }
    grid.appendChild(wbox);
    box.appendChild(grid);
  }

  // drawPauses shows a fleet's stop-the-world pauses (report -from):
  // by instance and reason, then the longest. A file's report has none.
  function drawPauses(R) {
    var P = R.pauses;
    if (!P || typeof P !== "object") return;
    var box = section("latency");
    var pb = el("div", { "class": "pauses" }, el("h3", { text: "Stop-the-world pauses" }));
    pb.appendChild(el("p", null, fmtInt(P.count) + " pauses, " + fmtDur(P.total_ns) + " in all, max " + fmtDur(P.max_ns) + ", on " +
      fmtInt(P.instances) + " of " + fmtInt(P.of_instances) + " instance(s)."));
    var byCols = [
      { key: "inst", label: "Instance", sort: function (g) { return str(g.instance); }, cell: function (g) { return str(g.instance); } },
      { key: "reason", label: "Reason", sort: function (g) { return str(g.reason); }, cell: function (g) { return str(g.reason); } },
      { key: "count", label: "Count", num: true, sort: function (g) { return num(g.count); }, cell: function (g) { return fmtInt(g.count); } },
      { key: "total", label: "Total", num: true, sort: function (g) { return num(g.total_ns); }, cell: function (g) { return fmtDur(g.total_ns); } },
      { key: "max", label: "Max", num: true, sort: function (g) { return num(g.max_ns); }, cell: function (g) { return fmtDur(g.max_ns); } }
    ];
    pb.appendChild(table(byCols, arr(P.by_instance), { sort: "total", desc: true, cls: "pause-table", scroll: true }));
    var longCols = [
      { key: "dur", label: "Pause", num: true, sort: function (l) { return num(l.duration_ns); }, cell: function (l) { return fmtDur(l.duration_ns); } },
      { key: "ts", label: "At", num: true, sort: function (l) { return num(l.ts_ns); }, cell: function (l) { return "@" + fmtDur(l.ts_ns); } },
      { key: "inst", label: "Instance", sort: function (l) { return str(l.instance); }, cell: function (l) { return str(l.instance); } },
      { key: "reason", label: "Reason", sort: function (l) { return str(l.reason); }, cell: function (l) { return str(l.reason); } }
    ];
    var longest = arr(P.longest);
    if (longest.length) {
      pb.appendChild(el("h3", { text: "The longest pauses" }));
      pb.appendChild(table(longCols, longest, { sort: "dur", desc: true, cls: "pause-longest", scroll: true }));
    }
    box.appendChild(pb);
  }

  // histogram draws one bar per bucket: buckets are log-scaled by the
  // report (each bound a multiple of the last), so equal widths give a log
  // time axis. A bucket without a finite bound is the overflow one.
  function histogram(buckets) {
    var W = 560, H = 220, left = 44, bottom = 40, top = 10;
    var n = buckets.length, bw = (W - left - 4) / n;
    var max = buckets.reduce(function (m, b) { return Math.max(m, num(b.count)); }, 0) || 1;
    var g = svg("svg", { "class": "chart histogram", viewBox: "0 0 " + W + " " + H, width: W, height: H, role: "img", "aria-label": "latency histogram" });
    var ph = H - top - bottom;
    [0, 0.5, 1].forEach(function (f) {
      var yy = top + ph * (1 - f);
      g.appendChild(svg("line", { "class": "axis", x1: left, x2: W, y1: yy, y2: yy }));
      g.appendChild(svg("text", { x: left - 4, y: yy + 4, "text-anchor": "end", text: fmtInt(max * f) }));
    });
    var prev = 0, every = Math.ceil(n / 12);
    buckets.forEach(function (b, i) {
      var c = num(b.count), h = c ? Math.max(1, ph * c / max) : 0;
      var x = left + 2 + i * bw;
      var bound = has(b.le_ns) && b.le_ns > 0 ? b.le_ns : null;
      var label = bound === null ? "+∞" : "≤" + fmtDur(bound);
      g.appendChild(svg("rect", { "class": "hbar", x: x.toFixed(1), y: (top + ph - h).toFixed(1), width: Math.max(1, bw - 2).toFixed(1), height: h.toFixed(1), "data-count": c },
        title((bound === null ? "> " + fmtDur(prev) : fmtDur(prev) + " – " + fmtDur(bound)) + ": " + fmtInt(c) + " wakes")));
      if (i % every === 0 || i === n - 1) {
        g.appendChild(svg("text", { x: (x + bw / 2).toFixed(1), y: H - bottom + 14, "text-anchor": "middle", text: label }));
      }
      if (bound !== null) prev = bound;
    });
    g.appendChild(svg("text", { x: left + (W - left) / 2, y: H - 6, "text-anchor": "middle", text: "wake → run (log-scaled buckets)" }));
    return g;
  }

  function drawWorkers(R) {
    var box = section("workers"), ws = arr(R.workers);
    var q = arr(R.queue);
    if (!ws.length && !q.length) { box.appendChild(empty("No P activity in the records.")); return; }
    var grid = el("div", { "class": "two" });
    if (ws.length) {
      var cols = [
        { key: "worker", label: "P", num: true, sort: function (w) { return num(w.worker); }, cell: function (w) { return "P" + str(w.worker); } },
        { key: "busy", label: "Busy", num: true, sort: function (w) { return num(w.busy_ns); }, cell: function (w) { return fmtDur(w.busy_ns); } },
        { key: "parked", label: "Parked", num: true, sort: function (w) { return num(w.parked_ns); }, cell: function (w) { return fmtDur(w.parked_ns); } },
        { key: "share", label: "Busy share", sort: function (w) { var t = num(w.busy_ns) + num(w.parked_ns); return t ? num(w.busy_ns) / t : 0; }, cell: function (w) {
          var t = num(w.busy_ns) + num(w.parked_ns), f = t ? num(w.busy_ns) / t : 0;
          return [el("span", { "class": "bar", style: "width:" + Math.round(80 * f) + "px" }), " ", fmtPct(f)];
        } },
        { key: "polls", label: "Polls", num: true, sort: function (w) { return num(w.polls); }, cell: function (w) { return fmtInt(w.polls); } }
      ];
      if (ws.some(function (w) { return num(w.instances) > 0; })) {
        // A fleet's: each P number summed over the instances that have it.
        cols.push({ key: "on", label: "Instances", num: true, help: "the instances with this P, their times summed", sort: function (w) { return num(w.instances); }, cell: function (w) { return fmtInt(w.instances); } });
      }
      grid.appendChild(el("div", null, [el("h3", { text: "Busy and parked time" }), table(cols, ws, { sort: "worker", desc: false, cls: "workers-table" })]));
    }
    var bi = arr(R.workers_by_instance);
    if (bi.length) {
      var share = function (w) { var t = num(w.span_ns) * num(w.ps); return t ? num(w.busy_ns) / t : 0; };
      var icols = [
        { key: "instance", label: "Instance", sort: function (w) { return str(w.instance); }, cell: function (w) { return str(w.instance); } },
        { key: "ps", label: "Ps", num: true, sort: function (w) { return num(w.ps); }, cell: function (w) { return fmtInt(w.ps); } },
        { key: "busy", label: "Busy", num: true, sort: function (w) { return num(w.busy_ns); }, cell: function (w) { return fmtDur(w.busy_ns); } },
        { key: "share", label: "Busy share", help: "busy time over the Ps' time (Ps × the time covered)", sort: share, cell: function (w) {
          var f = share(w);
          return [el("span", { "class": "bar", style: "width:" + Math.round(80 * Math.min(f, 1)) + "px" }), " ", fmtPct(f)];
        } },
        { key: "parked", label: "Parked", num: true, sort: function (w) { return num(w.parked_ns); }, cell: function (w) { return fmtDur(w.parked_ns); } },
        { key: "polls", label: "Polls", num: true, sort: function (w) { return num(w.polls); }, cell: function (w) { return fmtInt(w.polls); } },
        { key: "span", label: "Covered", num: true, help: "the time the instance's records cover", sort: function (w) { return num(w.span_ns); }, cell: function (w) { return fmtDur(w.span_ns); } }
      ];
      grid.appendChild(el("div", null, [el("h3", { text: "By instance" }), table(icols, bi, { sort: "share", cls: "workers-instances" })]));
    }
    grid.appendChild(el("div", null, [el("h3", { text: "Global run queue" }), q.length ? queueChart(q, R) : empty("no run-queue samples")]));
    box.appendChild(grid);
  }

  function queueChart(q, R) {
    var W = 560, H = 160, left = 36, bottom = 22, top = 8;
    var t0 = num(q[0].ts_ns), t1 = num(q[q.length - 1].ts_ns);
    if (has(R.span_ns) && R.span_ns > t1) t1 = R.span_ns;
    if (t1 <= t0) t1 = t0 + 1;
    var max = q.reduce(function (m, s) { return Math.max(m, num(s.global_q)); }, 0) || 1;
    var x = function (t) { return left + (W - left - 4) * (t - t0) / (t1 - t0); };
    var y = function (v) { return top + (H - top - bottom) * (1 - v / max); };
    var g = svg("svg", { "class": "chart queue", viewBox: "0 0 " + W + " " + H, width: W, height: H, role: "img", "aria-label": "run queue depth" });
    [0, 1].forEach(function (f) {
      g.appendChild(svg("line", { "class": "axis", x1: left, x2: W, y1: y(max * f), y2: y(max * f) }));
      g.appendChild(svg("text", { x: left - 4, y: y(max * f) + 4, "text-anchor": "end", text: fmtInt(max * f) }));
    });
    // Sampled at most once per pixel column: the largest sample wins, so spikes stay.
    var pts = [], lastX = -1;
    q.forEach(function (s) {
      var xx = Math.round(x(num(s.ts_ns))), v = num(s.global_q);
      if (xx === lastX) { if (v > pts[pts.length - 1][1]) pts[pts.length - 1][1] = v; return; }
      pts.push([xx, v]); lastX = xx;
    });
    var d = pts.map(function (p, i) { return (i ? "H" + p[0] + "V" : "M" + p[0] + ",") + y(p[1]).toFixed(1); }).join("");
    g.appendChild(svg("path", { "class": "qline", d: d }, title(fmtInt(q.length) + " samples, max " + fmtInt(max))));
    g.appendChild(svg("text", { x: left, y: H - 6, text: "@" + fmtDur(t0) }));
    g.appendChild(svg("text", { x: W - 4, y: H - 6, "text-anchor": "end", text: "@" + fmtDur(t1) }));
    return g;
  }

  // ---------- still blocked at the end: verdicts ----------
  // The report's verdicts on the goroutines still blocked when the records
  // end (docs/report.md, "Verdicts"): a badge each, coloured by verdict,
  // the evidence as its tooltip and beside it; the idle service goroutines
  // in a collapsed section of their own, summed by function.
  var VERDICTS = ["leaked", "deadlocked", "suspect", "idle"];

  function verdictBadge(v) {
    var kind = str(v.verdict) || "?";
    var sev = str(v.severity);
    var ev = arr(v.evidence).map(str);
    return el("span", {
      "class": "verdict v-" + kind.replace(/[^a-z]/g, "") + (sev ? " sev-" + sev.replace(/[^a-z]/g, "") : ""),
      title: (sev ? sev + ": " : "") + (ev.length ? ev.join("\n") : "no evidence given"),
      "data-verdict": kind, tabindex: "0", text: kind
    });
  }

  function drawVerdicts(R) {
    var sec = document.getElementById("verdicts");
    if (!Array.isArray(R.verdicts) && !(R.verdict_summary && typeof R.verdict_summary === "object")) {
      sec.hidden = true; // a report from before the verdicts
      return;
    }
    var box = section("verdicts");
    var vs = arr(R.verdicts).filter(function (v) { return v && typeof v === "object"; });
    var S = R.verdict_summary && typeof R.verdict_summary === "object" ? R.verdict_summary : {};
    var P = S.leak_profile && typeof S.leak_profile === "object" ? S.leak_profile : null;
    if (!vs.length) box.appendChild(empty("No goroutine was still blocked when the records end."));
    else {
      // A fleet's report (wakeshim report -from) has one verdict per
      // verdict and stack over its instances: goroutines, instances, of.
      var fleet = vs.some(function (v) { return num(v.of_instances) > 0; });
      var counts = {};
      vs.forEach(function (v) { counts[str(v.verdict)] = (counts[str(v.verdict)] || 0) + (fleet ? num(v.goroutines) : 1); });
      var parts = VERDICTS.map(function (k) { return fmtInt(has(S[k]) ? S[k] : counts[k] || 0) + " " + k; });
      var total = 0;
      VERDICTS.forEach(function (k) { total += has(S[k]) ? num(S[k]) : counts[k] || 0; });
      if (!fleet) total = vs.length;
      box.appendChild(el("p", { "class": "verdict-summary" }, fmtInt(total) + " goroutine" + (total === 1 ? "" : "s") +
        (fleet ? " still blocked at the end of the instances' records, in " + fmtInt(vs.length) + " group" + (vs.length === 1 ? "" : "s") + " by verdict and stack: " :
          " still blocked when the records end: ") + parts.join(", ") + (has(S.warnings) ? " (" + fmtInt(S.warnings) + " warning" + (S.warnings === 1 ? "" : "s") + ")" : "") + "."));
      var onText = function (v) {
        return arr(v.instances).map(function (c) { return str(c.instance) + (num(c.goroutines) > 1 ? " ×" + fmtInt(c.goroutines) : ""); }).join(", ");
      };
      var gCols = fleet ? [
        { key: "goroutines", label: "Goroutines", num: true, sort: function (v) { return num(v.goroutines); }, cell: function (v) { return fmtInt(v.goroutines); } },
        { key: "on", label: "On", num: true, help: "on how many of the instances", sort: function (v) { return arr(v.instances).length; }, cell: function (v) {
          return el("span", { "class": "on-instances", title: onText(v), text: fmtInt(arr(v.instances).length) + " of " + fmtInt(v.of_instances) });
        } }
      ] : [
        { key: "g", label: "G", num: true, sort: function (v) { return num(v.task_id); }, cell: function (v) { return "g" + str(v.task_id); } }
      ];
      var cols = [
        { key: "verdict", label: "Verdict", sort: function (v) { var i = VERDICTS.indexOf(str(v.verdict)); return (i < 0 ? 9 : i) * 2 + (v.severity === "warning" ? 0 : 1); }, cell: verdictBadge }
      ].concat(gCols, [

        { key: "reason", label: "Reason", sort: function (v) { return str(v.reason); }, cell: function (v) { return el("span", { "class": "reason-tag", text: reasonText(v.reason) || "?" }); } },
        { key: "blocked", label: fleet ? "Longest" : "Blocked", num: true, help: fleet ? "the longest blocked of the group, to the end of its instance's records" : "blocked for, to the end of the records", sort: function (v) { return num(v.blocked_ns); }, cell: function (v) { return fmtDur(v.blocked_ns); } },
        { key: "name", label: "Goroutine", sort: function (v) { return str(v.name); }, cell: function (v) {
          var name = str(v.name) || gName(v.task_id, v.func);
          if (fleet) name = str(v.instance) + " g" + str(v.task_id) + " " + name;
          return el("span", { "class": "small", title: v.created_at ? "created at " + str(v.created_at) : null, text: name });
        } },
        { key: "evidence", label: "Evidence", cell: function (v) { return el("span", { "class": "evidence", text: (fleet ? "on " + onText(v) + "; " : "") + arr(v.evidence).map(str).join("; ") }); } }
      ]);
      var opts = function (cls) {
        return { sort: "verdict", desc: false, limit: LIMITS.verdicts, cls: "verdicts-table " + cls, expand: verdictDetail,
          filter: function (v) { return [str(v.verdict), str(v.name), str(v.reason)].concat(arr(v.frames).map(str), arr(v.evidence).map(str)).join("\n"); },
          filterHint: "filter by verdict, function, file or evidence" };
      };
      var loud = vs.filter(function (v) { return v.verdict !== "idle"; });
      var idle = vs.filter(function (v) { return v.verdict === "idle"; });
      if (loud.length) {
        box.appendChild(note(fleet ? "Each group's verdict, with the evidence of its goroutine blocked longest (hover a badge) and the instances it is on; click a row for its stack." :
          "Each goroutine's verdict, with the evidence it rests on (hover a badge); click a row for its stack."));
        box.appendChild(table(cols, loud, opts("loud")));
      }
      if (idle.length) {
        var byFunc = arr(S.idle_by_func).filter(function (f) { return f && typeof f === "object"; });
        if (!byFunc.length) {
          var m = {};
          idle.forEach(function (v) { var f = str(v.func) || str(v.name); m[f] = (m[f] || 0) + (fleet ? num(v.goroutines) : 1); });
          byFunc = Object.keys(m).map(function (f) { return { func: f, count: m[f] }; }).sort(function (a, b) { return b.count - a.count; });
        }
        var n = has(S.idle) ? S.idle : idle.length;
        var sum = "idle service goroutines: " + fmtInt(n) + ", by function: " +
          byFunc.slice(0, 8).map(function (f) { return str(f.func) + " ×" + fmtInt(f.count) + (num(f.instances) > 0 ? " on " + fmtInt(f.instances) : ""); }).join(", ") + (byFunc.length > 8 ? ", …" : "");
        box.appendChild(el("details", { "class": "idle-verdicts" }, [
          el("summary", { text: sum }),
          note("Service loops waiting for work (woken before from this same wait, or waiting on the network, a timer, a signal): information, not alarms."),
          table(cols, idle, opts("idle"))
        ]));
      }
    }
    if (P) {
      var files = arr(P.files).map(str);
      box.appendChild(el("p", { "class": "leak-profile", text: P.note ? str(P.note) :
        "goroutineleak profile" + (files.length === 1 ? "" : "s") + ": " + files.join(", ") + ": " + fmtInt(P.named) + " leaked goroutine(s) named, " + fmtInt(P.matched) + " of them blocked at the end of the records." }));
    }
  }

  function verdictDetail(v) {
    var fr = arr(v.frames);
    var ol = el("ol", { "class": "frames" });
    fr.forEach(function (f) { ol.appendChild(el("li", { "class": "frame", text: str(f) })); });
    var facts = [];
    if (has(v.since_ns)) facts.push("blocked since @" + fmtDur(v.since_ns));
    if (has(v.woken_here)) facts.push("woken " + fmtInt(v.woken_here) + "× before from this wait");
    if (has(v.wakes)) facts.push(fmtInt(v.wakes) + " wake" + (v.wakes === 1 ? "" : "s") + " in all");
    if (v.created_at) facts.push("created at " + str(v.created_at));
    if (arr(v.instances).length) facts.push("the longest blocked: " + str(v.instance) + " g" + str(v.task_id) + "; on " + arr(v.instances).map(function (c) { return str(c.instance) + " ×" + fmtInt(c.goroutines); }).join(", "));
    if (Array.isArray(v.cycle) && v.cycle.length) facts.push("cycle: g" + v.cycle.join(" → g"));
    if (v.proof && typeof v.proof === "object") facts.push("proof: " + str(v.proof.file) + " (" + str(v.proof.form) + ", matched by " + str(v.proof.matched_by) + ")");
    return el("div", { "class": "verdict-detail" }, [
      facts.length ? el("div", { "class": "note facts", text: facts.join(" · ") }) : null,
      el("ul", { "class": "evidence" }, arr(v.evidence).map(function (e) { return el("li", { text: str(e) }); })),
      fr.length ? ol : empty("no stack recorded"),
      has(v.group) && v.group >= 0 && arr(R.pending)[v.group] ? el("a", { href: "#pending", "class": "goto-group", text: "show its group", onclick: function (ev) {
        ev.preventDefault(); ev.stopPropagation(); openGroup(v.group);
      } }) : null
    ]);
  }

  // ---------- wake chains ----------
  // A button per chain of the report (the longest waits); the selected
  // one is drawn in a panel with a row per goroutine of the chain over the
  // wait's window: a bar per link coloured by its kind and labelled with
  // its share of the wait, an arrow per wake from the waker's row to the
  // goroutine it woke, the roots summed above.
  var KINDS = {
    woken: { label: "blocked, then woken", fill: "#cbd5e0", dark: true },
    cpu: { label: "CPU", fill: "#2f855a" },
    scheduler: { label: "scheduler delay", fill: "#dd6b20" },
    network: { label: "network", fill: "#2b6cb0" },
    syscall: { label: "syscall", fill: "#6b46c1" },
    timer: { label: "timer", fill: "#d69e2e", dark: true },
    unknown: { label: "unknown", fill: "#a0aec0", dark: true }
  };
  function kindOf(k) { return KINDS[k] ? k : "unknown"; }

  // pctText is a percentage as the text report writes it: "<1%" below 1,
  // else a whole number, a tie to the even one as Go's strconv rounds.
  function pctText(p) {
    p = num(p);
    if (p === 0) return "0%";
    if (p < 1) return "<1%";
    var r = Math.round(p);
    if (r - p === 0.5 && r % 2 === 1) r -= 1;
    return r + "%";
  }
  // rootsText is analyze.RootsText: "71% CPU in main.compute, 20% network,
  // 9% scheduler delay" (at most n parts, the rest as "other").
  function rootsText(roots, n) {
    var parts = [], rest = 0, shown = 0;
    arr(roots).forEach(function (r, i) {
      var p = num(r.percent);
      if (shown === n || (i > 0 && p < 1)) { rest += p; return; }
      shown++;
      parts.push(pctText(p) + " " + (r.kind === "cpu" ? "CPU in " + str(r.func) : r.kind === "scheduler" ? "scheduler delay" : str(r.kind)));
    });
    if (rest > 0) parts.push(pctText(rest) + " other");
    return parts.join(", ");
  }
  // shareText labels a link: its share of the wait, as a duration and a
  // percentage of the wait.
  function shareText(share, wait) {
    return fmtDur(num(share)) + " (" + (num(wait) > 0 ? pctText(100 * num(share) / num(wait)) : "–") + ")";
  }
  // leafFunc is the innermost frame outside the runtime, its package path
  // dropped (analyze.ShortFunc).
  function leafFunc(frames) {
    frames = arr(frames);
    if (!frames.length) return "(no stack)";
    var f = str(frames[0]);
    for (var i = 0; i < frames.length; i++) if (str(frames[i]).indexOf("runtime.") !== 0) { f = str(frames[i]); break; }
    var fn = funcName(f), b = fn.indexOf("["), j = fn.lastIndexOf("/");
    if (b >= 0 && b < j) j = fn.lastIndexOf("/", b);
    return j >= 0 ? fn.slice(j + 1) : fn;
  }
  function linkText(l) {
    var d = fmtDur(l.share_ns), at = leafFunc(l.frames);
    switch (l.kind) {
      case "cpu": return "ran " + d + " on P" + str(l.worker) + (arr(l.frames).length ? ", then blocked in " + reasonText(l.reason) + " at " + at : "");
      case "scheduler": return "was runnable " + d + ", not running: scheduler delay" + (num(l.global_q_max) > 0 ? ", global run queue up to " + fmtInt(l.global_q_max) : "");
      case "timer": return l.reason === "sleep" ? "slept " + d + " at " + at + " (timer)" : "waited " + d + " in " + reasonText(l.reason) + " at " + at + ", ended by a timer";
      case "network": return "waited " + d + " on the network at " + at;
      case "syscall": return "was in a syscall " + d + " at " + at;
      case "woken": return "was blocked " + d + " in " + reasonText(l.reason) + " at " + at + ", woken by " + gName(l.waker_task_id, l.waker);
      default: return d + " unknown" + (l.note ? ": " + str(l.note) : "");
    }
  }
  function chainHead(c) {
    // A fleet's chain (report -from) is of one instance: named first.
    return (c.instance ? str(c.instance) + " " : "") + gName(c.task_id, c.name) + " waited " + fmtDur(c.wait_ns) + " in " + (reasonText(c.reason) || "an unknown wait") + " at " + leafFunc(c.frames);
  }

  var chainSelect = null;

  function drawChains(R) {
    var sec = document.getElementById("chains");
    if (!Array.isArray(R.chains)) { sec.hidden = true; return; } // a report from before the chains
    var box = section("chains");
    var cs = R.chains.filter(function (c) { return c && typeof c === "object"; });
    if (!cs.length) { box.appendChild(empty("No wake chains in the report: no wait that ended was long enough.")); return; }
    box.appendChild(note("The longest waits that ended, and who kept each waiting: pick one to draw its chain, a row per goroutine over the wait, a bar per link (its share of the wait), an arrow per wake."));
    if (num(R.chains_of_instances) > 0) {
      // A fleet's: the longest over its instances, each of one of them.
      var on = {}, order = [];
      cs.forEach(function (c) { var k = str(c.instance); if (!(k in on)) { on[k] = 0; order.push(k); } on[k]++; });
      order.sort(function (x, y) { return on[y] - on[x]; });
      box.appendChild(el("p", { "class": "chains-on", text: "On " + fmtInt(order.length) + " of " + fmtInt(R.chains_of_instances) + " instance(s): " +
        order.map(function (k) { return k + (on[k] > 1 ? " ×" + fmtInt(on[k]) : ""); }).join(", ") + "." }));
    }
    var list = el("ol", { "class": "chain-list", "aria-label": "wake chains" });
    var view = el("div", { "class": "chain-view", id: "chain-view", "aria-live": "polite" });
    var buttons = [];
    cs.slice(0, LIMITS.chains).forEach(function (c, i) {
      var b = el("button", { type: "button", "class": "chain-pick", "data-i": i, "aria-pressed": "false", "aria-controls": "chain-view" }, [
        el("span", { "class": "wait", text: fmtDur(c.wait_ns) }),
        " " + chainHead(c).replace(/ waited \S+/, " waited") + " (@" + fmtDur(c.start_ns) + ")",
        el("span", { "class": "roots", text: "roots: " + rootsText(c.roots, 4) })
      ]);
      b.addEventListener("click", function () { select(i); });
      buttons.push(b);
      list.appendChild(el("li", null, b));
    });
    box.appendChild(list);
    if (cs.length > LIMITS.chains) box.appendChild(note("showing " + LIMITS.chains + " of " + fmtInt(cs.length) + " chains (the longest)"));
    box.appendChild(view);
    function select(i) {
      buttons.forEach(function (b, j) { b.setAttribute("aria-pressed", j === i ? "true" : "false"); });
      while (view.firstChild) view.removeChild(view.firstChild);
      view.setAttribute("data-chain", i);
      append(view, chainView(cs[i], R));
    }
    chainSelect = select;
    select(0);
  }

  function chainView(c, R) {
    var links = arr(c.links).filter(function (l) { return l && typeof l === "object"; });
    var start = num(c.start_ns), end = num(c.end_ns);
    if (!(end > start)) end = start + 1;
    var wait = num(c.wait_ns) || end - start;
    var out = [];
    out.push(el("h3", { "class": "chain-head", text: chainHead(c) + " (@" + fmtDur(c.start_ns) + " – @" + fmtDur(c.end_ns) + ")" +
      (num(c.waker_task_id) ? ", woken by " + gName(c.waker_task_id, c.waker) : "") }));
    out.push(el("p", { "class": "chain-roots", text: "roots: " + rootsText(c.roots, 4) }));
    var acts = el("div", { "class": "tl-controls" });
    if (has(c.group) && c.group >= 0 && arr(R.pending)[c.group]) acts.appendChild(el("button", { type: "button", text: "show its group", onclick: function () { openGroup(c.group); } }));
    var T = R.timeline || {};
    if (timelineShow && has(T.start_ns) && has(T.end_ns) && start < T.end_ns && end > T.start_ns)
      acts.appendChild(el("button", { type: "button", text: "show in the timeline", onclick: function () { timelineShow(start, end - start); } }));
    if (acts.childNodes.length) out.push(acts);

    // Rows: the goroutine that waited, then each goroutine of the chain in
    // the order the walk met it, then wakers the links name but do not walk.
    var rows = [], rowOf = {};
    function addRow(id, name) {
      var k = str(id);
      if (k in rowOf) { if (!rows[rowOf[k]].name && name) rows[rowOf[k]].name = str(name); return; }
      rowOf[k] = rows.length;
      rows.push({ id: id, name: str(name), links: [] });
    }
    addRow(c.task_id, c.name);
    links.forEach(function (l) { addRow(l.task_id, l.name); });
    if (num(c.waker_task_id)) addRow(c.waker_task_id, c.waker);
    links.forEach(function (l) { if (l.kind === "woken" && num(l.waker_task_id)) addRow(l.waker_task_id, l.waker); });

    var W = 1200, left = 230, right = 12, top = 28, barH = 16, lineH = 13, charW = 6.1;
    var sx = (W - left - right) / (end - start);
    var x = function (t) { return left + (Math.min(end, Math.max(start, t)) - start) * sx; };
    // Lay out each row: a label inside its bar when it fits, else on the
    // first line under the row where it does not overlap another. Links
    // under 1% of the wait that do not fit in their bar and lie within a
    // few pixels of each other share one label, their count and summed
    // share ("5 links, 12µs (<1%)"); each link's own share is in its bar's
    // tooltip and in the list under the chart.
    var items = [{ wait: true, row: 0, s: start, e: end, text: "waited " + fmtDur(wait) }];
    links.forEach(function (l, i) { items.push({ link: l, i: i, row: rowOf[str(l.task_id)], s: num(l.start_ns), e: num(l.end_ns), text: shareText(l.share_ns, wait) }); });
    var tags = []; // the labels: {row, x0, x1, text, inside, links: [i...]}
    rows.forEach(function (r) { r.lines = []; r.small = []; });
    items.forEach(function (it) {
      var x0 = x(it.s), x1 = x(it.e), w = it.text.length * charW;
      it.x0 = x0; it.w = Math.max(1, x1 - x0);
      if (it.wait) { tags.push({ row: 0, wait: true, x0: Math.max(left, W - right - w), w: w, text: it.text }); return; }
      if (x1 - x0 >= w + 8) { tags.push({ row: it.row, inside: true, lx: (x0 + x1) / 2, text: it.text, links: [it.i], dark: KINDS[kindOf(it.link.kind)].dark }); return; }
      if (100 * num(it.link.share_ns) < wait) { rows[it.row].small.push(it); return; }
      tags.push({ row: it.row, x0: x0, w: w, text: it.text, links: [it.i] });
    });
    rows.forEach(function (r, ri) {
      var sm = r.small.sort(function (p, q) { return p.x0 - q.x0 || p.i - q.i; }), k = 0;
      while (k < sm.length) {
        var run = [sm[k]], reach = sm[k].x0 + sm[k].w;
        for (k++; k < sm.length && sm[k].x0 <= reach + 12; k++) { run.push(sm[k]); reach = Math.max(reach, sm[k].x0 + sm[k].w); }
        var text = run[0].text;
        if (run.length > 1) {
          var sum = run.reduce(function (t, it) { return t + num(it.link.share_ns); }, 0);
          text = run.length + " links, " + shareText(sum, wait);
        }
        tags.push({ row: ri, x0: run[0].x0, w: text.length * charW, text: text, links: run.map(function (it) { return it.i; }).sort(function (p, q) { return p - q; }), small: true });
      }
    });
    tags.forEach(function (t) {
      if (t.inside) return;
      var r = rows[t.row], lx = t.wait ? t.x0 : Math.min(Math.max(left, t.x0), W - right - t.w);
      for (var k = 0; ; k++) {
        if (k === r.lines.length) r.lines.push([]);
        var ok = r.lines[k].every(function (s) { return lx + t.w + 8 <= s[0] || lx >= s[1] + 8; });
        if (ok) { r.lines[k].push([lx, lx + t.w]); t.line = k; t.lx = lx; break; }
      }
    });
    var y = top;
    rows.forEach(function (r) { r.y = y; r.h = 4 + barH + r.lines.length * lineH + 6; y += r.h; });
    var H = y + 4;
    var g = svg("svg", { "class": "chart chain-svg", viewBox: "0 0 " + W + " " + H, width: W, height: H, role: "img",
      "aria-label": "wake chain of " + gName(c.task_id, c.name) + ": " + links.length + " links over " + fmtDur(wait) });
    g.appendChild(svg("defs", null, svg("marker", { id: "chain-arrow", viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" },
      svg("path", { d: "M0,0 L10,5 L0,10 z", fill: "#d0452f" }))));
    var ticks = 6;
    for (var i = 0; i <= ticks; i++) {
      var t = start + (end - start) * i / ticks, xx = x(t);
      g.appendChild(svg("line", { "class": "axis", x1: xx, x2: xx, y1: top - 6, y2: H - 2 }));
      g.appendChild(svg("text", { x: xx, y: top - 10, "text-anchor": i === 0 ? "start" : i === ticks ? "end" : "middle", text: i === 0 ? "@" + fmtDur(t) : "+" + fmtDur(t - start) }));
    }
    rows.forEach(function (r) {
      g.appendChild(svg("rect", { "class": "chain-row-bg", x: left, y: r.y + 2, width: W - left - right, height: r.h - 4, "data-task": str(r.id) }));
      var label = gName(r.id, r.name);
      g.appendChild(svg("text", { "class": "chain-row-label", x: left - 6, y: r.y + 4 + barH / 2 + 4, "text-anchor": "end" },
        [label.length > 36 ? label.slice(0, 35) + "…" : label, title(label)]));
    });
    var bars = svg("g", { "class": "chain-bars" }), labels = svg("g", { "class": "chain-labels" });
    items.forEach(function (it) {
      var by = rows[it.row].y + 4;
      if (it.wait) {
        bars.appendChild(svg("rect", { "class": "chain-bar k-wait", x: it.x0.toFixed(2), y: by, width: it.w.toFixed(2), height: barH },
          title(chainHead(c) + " (@" + fmtDur(c.start_ns) + " – @" + fmtDur(c.end_ns) + ")")));
        return;
      }
      var l = it.link, k = kindOf(l.kind);
      bars.appendChild(svg("rect", { "class": "chain-bar k-" + k, x: it.x0.toFixed(2), y: by, width: Math.max(1, it.w).toFixed(2), height: barH, fill: KINDS[k].fill,
        "data-link": it.i, "data-kind": str(l.kind), "data-task": str(l.task_id) },
        title(gName(l.task_id, l.name) + " " + linkText(l) + "\n" + shareText(l.share_ns, wait) + " of the wait, @" + fmtDur(l.start_ns) + " – @" + fmtDur(l.end_ns) + (l.depth ? ", depth " + l.depth : ""))));
    });
    tags.forEach(function (t) {
      var by = rows[t.row].y + 4;
      var ly = t.inside ? by + barH / 2 + 4 : by + barH + (t.line + 1) * lineH - 2;
      if (t.wait) { labels.appendChild(svg("text", { "class": "wait-label", x: t.lx.toFixed(1), y: ly, text: t.text })); return; }
      var txt = svg("text", { "class": "share" + (t.inside ? " inside" + (t.dark ? " dark" : "") : "") + (t.links.length > 1 ? " merged" : ""),
        x: t.lx.toFixed(1), y: ly, "text-anchor": t.inside ? "middle" : "start", "data-links": t.links.join(","), text: t.text });
      labels.appendChild(t.links.length === 1 ? txt : svg("g", { "class": "merged-label" }, [txt,
        title(t.links.map(function (i) { return gName(links[i].task_id, links[i].name) + " " + linkText(links[i]) + ": " + shareText(links[i].share_ns, wait); }).join("\n"))]));
    });
    g.appendChild(bars);
    // Arrows: the wake that ended the wait, and each woken link's wake, at
    // the wake's time from the waker's row to the row of the goroutine it
    // woke (from above the rows when the waker has none).
    var wakes = [];
    if (num(c.waker_task_id)) wakes.push({ from: c.waker_task_id, fromName: c.waker, to: c.task_id, toName: c.name, ts: end });
    links.forEach(function (l) { if (l.kind === "woken") wakes.push({ from: l.waker_task_id, fromName: l.waker, to: l.task_id, toName: l.name, ts: num(l.end_ns) }); });
    var arrows = svg("g", { "class": "chain-wakes" });
    wakes.forEach(function (w) {
      var xx = x(w.ts), to = rows[rowOf[str(w.to)]], fromRow = num(w.from) ? rows[rowOf[str(w.from)]] : null;
      var y1 = fromRow ? fromRow.y + 4 + barH / 2 : top - 2;
      var down = !fromRow || fromRow.y < to.y;
      var y2 = down ? to.y + 3 : to.y + 5 + barH;
      var bend = xx - 16;
      arrows.appendChild(svg("path", { "class": "chain-wake", d: "M" + xx.toFixed(1) + "," + y1.toFixed(1) + " C" + bend.toFixed(1) + "," + y1.toFixed(1) + " " + bend.toFixed(1) + "," + y2.toFixed(1) + " " + xx.toFixed(1) + "," + y2.toFixed(1),
        "marker-end": "url(#chain-arrow)", "data-from": str(w.from), "data-to": str(w.to) },
        title((num(w.from) ? gName(w.from, w.fromName) : "the runtime") + " woke " + gName(w.to, w.toName) + " @" + fmtDur(w.ts))));
    });
    g.appendChild(arrows);
    g.appendChild(labels);
    out.push(el("div", { "class": "scroll-x" }, g));

    var legend = el("div", { "class": "legend" });
    Object.keys(KINDS).forEach(function (k) { legend.appendChild(el("span", null, [el("i", { style: "background:" + KINDS[k].fill }), KINDS[k].label])); });
    legend.appendChild(el("span", null, [el("i", { style: "background:#d0452f" }), "wake"]));
    out.push(legend);

    // The same chain as text, a line per link, indented by depth.
    var ol = el("ol", { "class": "chain-links" });
    links.forEach(function (l, i) {
      var k = kindOf(l.kind), K = KINDS[k];
      ol.appendChild(el("li", { "data-link": i, style: "padding-left:" + (Math.max(0, num(l.depth) - 1) * 18) + "px" }, [
        el("span", { "class": "kind-tag" + (K.dark ? " dark" : ""), style: "background:" + K.fill, text: str(l.kind) || "unknown" }),
        gName(l.task_id, l.name) + " " + linkText(l),
        el("span", { "class": "share-text", text: shareText(l.share_ns, wait) })
      ]));
    });
    out.push(ol);
    if (c.truncated) out.push(note("The chain was cut at its link limit: the roots above still count the rest."));
    return out;
  }

  // ---------- timeline ----------
  var timelineShow = null;

  function drawTimeline(R) {
    var box = section("timeline"), T = R.timeline;
    var polls = T ? arr(T.polls) : [], wakes = T ? arr(T.wakes) : [];
    if (!T || (!polls.length && !wakes.length)) { box.appendChild(empty("No timeline in the report.")); return; }
    var start = has(T.start_ns) ? T.start_ns : Math.min.apply(null, polls.map(function (p) { return num(p.start_ns); }));
    var end = has(T.end_ns) ? T.end_ns : Math.max.apply(null, polls.map(function (p) { return num(p.end_ns); }));
    if (!(end > start)) end = start + 1;

    // Lanes: every P seen in the polls, the wakes' targets and the workers list.
    var laneSet = {};
    polls.forEach(function (p) { laneSet[num(p.worker)] = true; });
    wakes.forEach(function (w) { if (has(w.target_worker) && w.target_worker >= 0) laneSet[w.target_worker] = true; });
    arr(R.workers).forEach(function (w) { if (has(w.worker)) laneSet[w.worker] = true; });
    var lanes = Object.keys(laneSet).map(Number).sort(function (a, b) { return a - b; });
    var laneIdx = {};
    lanes.forEach(function (p, i) { laneIdx[p] = i; });

    // Each task's polls in time order, to find where a waker ran and when
    // the woken goroutine ran next.
    var byTask = {};
    polls.forEach(function (p) { var k = str(p.task_id); (byTask[k] = byTask[k] || []).push(p); });
    Object.keys(byTask).forEach(function (k) { byTask[k].sort(function (a, b) { return num(a.start_ns) - num(b.start_ns); }); });
    function firstFrom(list, t) { // index of the first poll ending at or after t
      var lo = 0, hi = list.length;
      while (lo < hi) { var m = (lo + hi) >> 1; if (num(list[m].end_ns) < t) lo = m + 1; else hi = m; }
      return lo;
    }
    function wakerPoll(w) {
      var list = byTask[str(w.waker_task_id)];
      if (!list) return null;
      var i = firstFrom(list, num(w.ts_ns));
      return i < list.length && num(list[i].start_ns) <= num(w.ts_ns) ? list[i] : null;
    }
    function nextRun(w) {
      var list = byTask[str(w.woken_task_id)];
      if (!list) return null;
      for (var i = firstFrom(list, num(w.ts_ns)); i < list.length; i++) if (num(list[i].start_ns) >= num(w.ts_ns)) return list[i];
      return null;
    }
    var names = {};
    polls.forEach(function (p) { if (p.name) names[str(p.task_id)] = str(p.name); });
    function gname(id, fallback) { return gName(id, names[str(id)] || fallback); }

    var controls = el("div", { "class": "tl-controls" });
    var from = el("input", { type: "text", "aria-label": "window start", title: "window start (e.g. 12.5ms)" });
    var to = el("input", { type: "text", "aria-label": "window end", title: "window end" });
    var apply = el("button", { type: "button", text: "show" });
    var out = el("button", { type: "button", text: "zoom out" });
    var reset = el("button", { type: "button", text: "whole window" });
    var info = el("span", { "class": "muted tl-info" });
    append(controls, ["window", from, "to", to, apply, out, reset, info]);
    if (T.instance) box.appendChild(el("p", { "class": "tl-instance", text: "The window of instance " + str(T.instance) + ": of the windows the instances shipped (each load's 100ms with the most wakes), the one with the most wakes (of those overlapping -window, when given). Its goroutines are that instance's." }));
    box.appendChild(note("The report's window of the Ps: a bar per poll (a goroutine running on a P), a red arrow per wake from where the waker ran to where the woken goroutine next ran. Drag across the chart to zoom; hover for details."));
    if (T.truncated) box.appendChild(el("div", { "class": "note truncated", text: "The report kept part of this window's polls and wakes (the longest polls, the first wakes): a narrower -window shows all." }));
    box.appendChild(controls);
    var holder = el("div", { "class": "tl-holder" });
    box.appendChild(holder);
    var legend = el("div", { "class": "legend" });
    box.appendChild(legend);

    var W = 1200, left = 56, right = 8, top = 22, laneH = 22, gap = 6;
    var H = top + lanes.length * (laneH + gap) + 8;
    var view = [start, end];

    function parseDur(s, dflt) {
      var m = /^\s*@?\s*([0-9.]+)\s*(ns|us|µs|ms|s)?\s*$/.exec(s);
      if (!m) return dflt;
      var mult = { ns: 1, us: 1e3, "µs": 1e3, ms: 1e6, s: 1e9 }[m[2] || "ms"];
      var v = parseFloat(m[1]) * mult;
      return isFinite(v) ? v : dflt;
    }

    function render() {
      var a = view[0], b = view[1];
      from.value = fmtDur(a); to.value = fmtDur(b);
      while (holder.firstChild) holder.removeChild(holder.firstChild);
      var sx = (W - left - right) / (b - a);
      var x = function (t) { return left + (t - a) * sx; };
      var laneY = function (p) { return top + laneIdx[p] * (laneH + gap); };
      var g = svg("svg", { "class": "chart timeline-svg", viewBox: "0 0 " + W + " " + H, width: W, height: H, role: "img", "aria-label": "timeline of Ps" });
      var defs = svg("defs", null, svg("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 6, markerHeight: 6, orient: "auto-start-reverse" },
        svg("path", { d: "M0,0 L10,5 L0,10 z", fill: "#d0452f" })));
      g.appendChild(defs);
      // Axis ticks.
      var ticks = 8;
      for (var i = 0; i <= ticks; i++) {
        var t = a + (b - a) * i / ticks, xx = x(t);
        g.appendChild(svg("line", { "class": "axis", x1: xx, x2: xx, y1: top - 4, y2: H - 4 }));
        g.appendChild(svg("text", { x: xx, y: top - 8, "text-anchor": i === 0 ? "start" : i === ticks ? "end" : "middle", text: "@" + fmtDur(t) }));
      }
      var lanesG = svg("g", { "class": "lanes" });
      lanes.forEach(function (p) {
        lanesG.appendChild(svg("rect", { "class": "lane-bg", x: left, y: laneY(p), width: W - left - right, height: laneH }));
        lanesG.appendChild(svg("text", { "class": "lane-label", x: left - 6, y: laneY(p) + laneH / 2 + 4, "text-anchor": "end", text: "P" + p }));
      });
      g.appendChild(lanesG);

      // Polls in view; when there are too many, the longest are drawn.
      var inView = polls.filter(function (p) { return num(p.end_ns) >= a && num(p.start_ns) <= b && (num(p.worker) in laneIdx); });
      var drawn = inView;
      if (inView.length > LIMITS.polls) drawn = inView.slice().sort(function (p, q) { return (num(q.end_ns) - num(q.start_ns)) - (num(p.end_ns) - num(p.start_ns)); }).slice(0, LIMITS.polls);
      var pollsG = svg("g", { "class": "polls" });
      var seenNames = {};
      drawn.forEach(function (p) {
        var s = Math.max(a, num(p.start_ns)), e = Math.min(b, num(p.end_ns));
        var name = str(p.name) || gName(p.task_id, "");
        seenNames[name] = (seenNames[name] || 0) + 1;
        pollsG.appendChild(svg("rect", { "class": "poll", x: x(s).toFixed(2), y: laneY(num(p.worker)) + 2, width: Math.max(0.8, (e - s) * sx).toFixed(2), height: laneH - 4, fill: colour(name), "data-task": str(p.task_id) },
          title(gName(p.task_id, p.name) + "\nP" + str(p.worker) + " @" + fmtDur(p.start_ns) + " – @" + fmtDur(p.end_ns) + " (" + fmtDur(num(p.end_ns) - num(p.start_ns)) + ")")));
      });
      g.appendChild(pollsG);

      // Wake arrows: from the waker's lane (or above the lanes when the
      // waker was not running on a P, e.g. the network poller or a timer)
      // at the wake, to the woken goroutine's next run.
      var wIn = wakes.filter(function (w) { return num(w.ts_ns) >= a && num(w.ts_ns) <= b; });
      // Over the cap, an even sample across the window (not the first ones,
      // which would crowd into its start).
      var wDrawn = wIn;
      if (wIn.length > LIMITS.wakes) {
        wDrawn = [];
        for (var k = 0; k < LIMITS.wakes; k++) wDrawn.push(wIn[Math.floor(k * wIn.length / LIMITS.wakes)]);
      }
      var wakesG = svg("g", { "class": "wakes" });
      wDrawn.forEach(function (w) {
        var wp = wakerPoll(w), run = nextRun(w);
        var x1 = x(num(w.ts_ns));
        var y1 = wp && (num(wp.worker) in laneIdx) ? laneY(num(wp.worker)) + laneH / 2 : top - 2;
        var toLane = run && (num(run.worker) in laneIdx) ? num(run.worker) : (has(w.target_worker) && w.target_worker in laneIdx ? w.target_worker : null);
        var x2 = run ? x(Math.min(num(run.start_ns), b + (b - a))) : x1;
        var y2 = toLane === null ? top + 6 : laneY(toLane) + laneH / 2;
        if (Math.abs(y2 - y1) < 1 && Math.abs(x2 - x1) < 1) y1 -= laneH / 2 + 2;
        var mid = (x1 + x2) / 2, bend = Math.abs(y2 - y1) < 1 ? -laneH : 0;
        var d = "M" + x1.toFixed(1) + "," + y1.toFixed(1) + " Q" + mid.toFixed(1) + "," + ((y1 + y2) / 2 + bend).toFixed(1) + " " + x2.toFixed(1) + "," + y2.toFixed(1);
        wakesG.appendChild(svg("path", { "class": "wake", d: d, "marker-end": "url(#arrow)" },
          title("wake @" + fmtDur(w.ts_ns) + ": " + gname(w.waker_task_id, w.waker) + " → " + gname(w.woken_task_id, w.woken) +
            (run ? "\nran @" + fmtDur(run.start_ns) + " on P" + str(run.worker) + ", " + fmtDur(num(run.start_ns) - num(w.ts_ns)) + " after the wake" : "\nno run of the woken goroutine in the window") +
            (wp ? "" : "\nwaker not on a P"))));
      });
      g.appendChild(wakesG);

      // Drag to zoom.
      var brush = null, x0 = 0;
      function svgX(ev) {
        var r = g.getBoundingClientRect();
        return (ev.clientX - r.left) * W / r.width;
      }
      g.addEventListener("mousedown", function (ev) {
        x0 = Math.max(left, svgX(ev));
        brush = svg("rect", { "class": "brush", x: x0, y: top, width: 0, height: H - top - 4 });
        g.appendChild(brush);
        ev.preventDefault();
      });
      g.addEventListener("mousemove", function (ev) {
        if (!brush) return;
        var x1 = Math.min(W - right, Math.max(left, svgX(ev)));
        brush.setAttribute("x", Math.min(x0, x1)); brush.setAttribute("width", Math.abs(x1 - x0));
      });
      function endBrush(ev) {
        if (!brush) return;
        var x1 = Math.min(W - right, Math.max(left, svgX(ev)));
        g.removeChild(brush); brush = null;
        if (Math.abs(x1 - x0) < 4) return;
        var t0 = a + (Math.min(x0, x1) - left) / sx, t1 = a + (Math.max(x0, x1) - left) / sx;
        view = [t0, t1]; render();
      }
      g.addEventListener("mouseup", endBrush);
      g.addEventListener("mouseleave", function () { if (brush) { g.removeChild(brush); brush = null; } });
      holder.appendChild(g);

      var parts = [fmtInt(drawn.length) + (drawn.length < inView.length ? " of " + fmtInt(inView.length) + " (the longest)" : "") + " polls",
        fmtInt(wDrawn.length) + (wDrawn.length < wIn.length ? " of " + fmtInt(wIn.length) + " (a sample)" : "") + " wakes"];
      info.textContent = parts.join(", ") + (drawn.length < inView.length || wDrawn.length < wIn.length ? ": zoom in for all" : "");
      while (legend.firstChild) legend.removeChild(legend.firstChild);
      Object.keys(seenNames).sort(function (p, q) { return seenNames[q] - seenNames[p]; }).slice(0, 10).forEach(function (n) {
        legend.appendChild(el("span", null, [el("i", { style: "background:" + colour(n) }), n.length > 48 ? n.slice(0, 47) + "…" : n]));
      });
      legend.appendChild(el("span", null, [el("i", { style: "background:#d0452f" }), "wake"]));
    }
    apply.addEventListener("click", function () {
      var a = parseDur(from.value, view[0]), b = parseDur(to.value, view[1]);
      if (b > a) { view = [Math.max(start, a), Math.min(end, b)]; if (view[1] <= view[0]) view = [start, end]; render(); }
    });
    out.addEventListener("click", function () {
      var m = (view[0] + view[1]) / 2, h = (view[1] - view[0]);
      view = [Math.max(start, m - h), Math.min(end, m + h)]; render();
    });
    reset.addEventListener("click", function () { view = [start, end]; render(); });
    timelineShow = function (ts, lat) {
      // The wake, the wait and as much again on each side.
      var pad = Math.max(lat, (end - start) / 1000, 1000);
      view = [Math.max(start, ts - pad), Math.min(end, ts + lat + pad)];
      render();
      document.getElementById("timeline").scrollIntoView();
    };
    render();
  }

  // ---------- main ----------
  var R;
  try {
    R = JSON.parse(document.getElementById("report-data").textContent);
  } catch (e) {
    document.getElementById("app").insertBefore(el("p", { "class": "err", text: "The report embedded in this page does not parse: " + e.message }), document.getElementById("app").firstChild);
    throw e;
  }
  if (!R || typeof R !== "object") R = {};
  drawInputs(R);
  var failed = 0;
  [["summary", drawWarnings], ["summary", drawSummary], ["findings", drawFindings], ["findings", drawConfig], ["verdicts", drawVerdicts], ["pending", drawPending],
    ["wakes", drawWakes],
    ["latency", drawLatency], ["latency", drawPauses], ["workers", drawWorkers], ["timeline", drawTimeline], ["chains", drawChains]].forEach(function (s) {
    try { s[1](R); } catch (e) {
      failed++;
      section(s[0]).appendChild(el("p", { "class": "err", text: "This section could not be drawn: " + e.message }));
      console.error("wakeshim report: " + s[0] + ": " + (e && e.stack || e));
    }
  });
  document.body.setAttribute("data-ready", failed ? "errors" : "ok");
})();
