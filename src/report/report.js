"use strict";
(function () {
  var data = JSON.parse(document.getElementById("report-data").textContent);
  var PAGE = 100;
  var root = document.getElementById("tables");

  function el(name, attrs, children) {
    var node = document.createElement(name);
    for (var key in attrs || {}) node.setAttribute(key, attrs[key]);
    (children || []).forEach(function (child) {
      node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    });
    return node;
  }
  function link(url) {
    return el("a", { href: url, rel: "noopener noreferrer nofollow" }, [url]);
  }
  var FOLD = 5;
  // A list, its items past the first few folded away under "and N more".
  function folded(items, hidden) {
    var list = el("ul", {}, items.slice(0, FOLD));
    if (items.length <= FOLD && !hidden) return list;
    var rest = items.slice(FOLD);
    var more = rest.length + (hidden || 0);
    var details = el("details", {}, [el("summary", {}, ["and " + more + " more"]), el("ul", {}, rest)]);
    if (hidden) details.appendChild(el("p", {}, [hidden + " more not listed: see the JSON report"]));
    return el("div", {}, [list, details]);
  }
  function inlinks(list, count) {
    var items = (list || []).map(function (inlink) {
      var item = el("li", {}, [link(inlink.page)]);
      if (inlink.anchor) item.appendChild(document.createTextNode(" \u201C" + inlink.anchor + "\u201D"));
      return item;
    });
    return folded(items, Math.max(0, count - items.length));
  }
  function cell(column, value) {
    var td = el("td", {});
    if (column.type === "num") td.className = "num";
    if (value === null || value === undefined) {
      td.appendChild(el("span", { "class": "empty" }, [column.type === "title" ? "(none)" : ""]));
    } else if (column.type === "url") {
      td.appendChild(link(value));
    } else if (column.type === "urls") {
      td.appendChild(folded(value.map(function (url) { return el("li", {}, [link(url)]); }), 0));
    } else if (column.type === "inlinks") {
      td.appendChild(inlinks(value[0], value[1]));
    } else {
      td.textContent = String(value);
    }
    return td;
  }
  // The value a row is sorted and filtered by, for one column.
  function key(column, value) {
    if (value === null || value === undefined) return column.type === "num" ? -1 : "";
    if (column.type === "inlinks") return value[1];
    if (column.type === "urls") return value.join(" ");
    return value;
  }

  var count = 0;
  function table(spec) {
    var id = "t-" + spec.id;
    var rows = spec.rows;
    var shown = rows.slice();
    var page = 0, sortColumn = -1, ascending = true;
    var block = el("div", { "class": "block", id: id + "-block" });
    block.appendChild(el("h3", { id: id + "-h" }, [spec.title + " (" + rows.length + ")"]));
    if (rows.length === 0) {
      block.appendChild(el("p", { "class": "empty" }, ["None."]));
      return block;
    }
    var input = el("input", { type: "search", id: id + "-filter", "aria-controls": id });
    var status = el("span", { "class": "status", "aria-live": "polite", id: id + "-status" });
    block.appendChild(el("div", { "class": "tools" }, [
      el("label", { "for": id + "-filter" }, ["Filter"]), input, status]));
    var headRow = el("tr", {});
    var headers = spec.columns.map(function (column, index) {
      var button = el("button", { type: "button" }, [column.name]);
      var th = el("th", { scope: "col", "aria-sort": "none" }, [button]);
      button.addEventListener("click", function () { sortBy(index); });
      headRow.appendChild(th);
      return th;
    });
    var body = el("tbody", {});
    var tableNode = el("table", { id: id }, [
      el("caption", { "class": "visually-hidden" }, [spec.title]), el("thead", {}, [headRow]), body]);
    block.appendChild(el("div", { "class": "scroll" }, [tableNode]));
    var prev = el("button", { type: "button", id: id + "-prev" }, ["Previous"]);
    var next = el("button", { type: "button", id: id + "-next" }, ["Next"]);
    prev.addEventListener("click", function () { page--; draw(); });
    next.addEventListener("click", function () { page++; draw(); });
    block.appendChild(el("div", { "class": "pager" }, [prev, next]));

    function draw() {
      var pages = Math.max(1, Math.ceil(shown.length / PAGE));
      page = Math.min(Math.max(page, 0), pages - 1);
      body.textContent = "";
      shown.slice(page * PAGE, page * PAGE + PAGE).forEach(function (row) {
        body.appendChild(el("tr", {}, spec.columns.map(function (column, i) { return cell(column, row[i]); })));
      });
      var first = shown.length ? page * PAGE + 1 : 0;
      status.textContent = "rows " + first + "\u2013" + Math.min(shown.length, (page + 1) * PAGE) +
        " of " + shown.length + (shown.length !== rows.length ? " (filtered from " + rows.length + ")" : "");
      prev.disabled = page === 0;
      next.disabled = page >= pages - 1;
    }
    function sortBy(index) {
      ascending = sortColumn === index ? !ascending : true;
      sortColumn = index;
      var column = spec.columns[index];
      shown.sort(function (a, b) {
        var x = key(column, a[index]), y = key(column, b[index]);
        var order = x < y ? -1 : x > y ? 1 : 0;
        return ascending ? order : -order;
      });
      headers.forEach(function (th, i) {
        th.setAttribute("aria-sort", i === index ? (ascending ? "ascending" : "descending") : "none");
      });
      page = 0;
      draw();
    }
    input.addEventListener("input", function () {
      var needle = input.value.trim().toLowerCase();
      shown = rows.filter(function (row) {
        return !needle || row.some(function (value, i) {
          return String(key(spec.columns[i], value)).toLowerCase().indexOf(needle) >= 0 ||
            (spec.columns[i].type === "inlinks" && JSON.stringify(value[0]).toLowerCase().indexOf(needle) >= 0);
        });
      });
      if (sortColumn >= 0) { ascending = !ascending; sortBy(sortColumn); } else { page = 0; draw(); }
    });
    draw();
    count++;
    return block;
  }

  function section(id, title, specs) {
    var node = el("section", { id: id, "aria-labelledby": id + "-h" }, [el("h2", { id: id + "-h" }, [title])]);
    specs.forEach(function (spec) { node.appendChild(table(spec)); });
    root.appendChild(node);
  }
  var URL_ = { name: "URL", type: "url" }, TITLE = { name: "Title", type: "title" };
  var LENGTH = { name: "Length", type: "num" }, FROM = { name: "Linked from", type: "inlinks" };
  function pages(list, extra) {
    return list.map(function (p) { return [p.url, p.title, p.length].concat(extra ? extra(p) : []); });
  }

  var titles = data.titles;
  if (titles) {
    section("titles", "Titles (" + titles.pages + " HTML pages)", [
      { id: "missing", title: "Missing title", columns: [URL_, TITLE, LENGTH], rows: pages(titles.missing) },
      { id: "empty", title: "Empty title", columns: [URL_, TITLE, LENGTH], rows: pages(titles.empty) },
      { id: "duplicate", title: "Duplicate titles",
        columns: [TITLE, { name: "Pages", type: "num" }, { name: "URLs", type: "urls" }],
        rows: titles.duplicate.map(function (d) { return [d.title, d.urls.length, d.urls]; }) },
      { id: "too_long", title: "Over " + data.settings.title_max + " characters", columns: [URL_, TITLE, LENGTH], rows: pages(titles.too_long) },
      { id: "too_short", title: "Under " + data.settings.title_min + " characters", columns: [URL_, TITLE, LENGTH], rows: pages(titles.too_short) },
      { id: "multiple", title: "More than one <title>", columns: [URL_, TITLE, LENGTH, { name: "Titles", type: "num" }],
        rows: pages(titles.multiple, function (p) { return [p.count]; }) },
      { id: "changed_by_script", title: "Changed by JavaScript",
        columns: [URL_, { name: "Rendered title", type: "title" }, LENGTH, { name: "HTML title", type: "title" }],
        rows: pages(titles.changed_by_script, function (p) { return [p.static_title]; }) },
      { id: "changed_recently", title: "Changed since " + data.settings.changed_since,
        columns: [{ name: "When", type: "text" }, URL_, { name: "From", type: "title" }, { name: "To", type: "title" },
          { name: "Changes", type: "num" }],
        rows: titles.changed_recently.map(function (c) { return [c.at, c.url, c.from, c.to, c.changes]; }) }
    ]);
  }
  var links = data.links;
  if (links) {
    function targets(list, withType) {
      return list.map(function (t) {
        return [t.url, t.status, withType ? t.content_type : t.kind, t.error, [t.inlinks, t.inlink_count]];
      });
    }
    var STATUS = { name: "Status", type: "num" }, KIND = { name: "Kind", type: "text" }, ERROR = { name: "Error", type: "text" };
    var specs = [
      { id: "broken", title: "Broken links", columns: [URL_, STATUS, KIND, ERROR, FROM], rows: targets(links.broken) },
      { id: "not_html", title: "Not HTML (200, not broken)", columns: [URL_, STATUS, { name: "Type", type: "text" }, ERROR, FROM],
        rows: targets(links.not_html, true) },
      { id: "redirects", title: "Redirects",
        columns: [URL_, { name: "Chain", type: "text" }, { name: "Final URL", type: "url" }, { name: "Hops", type: "num" },
          { name: "Problem", type: "text" }, FROM],
        rows: links.redirects.map(function (r) {
          var chain = r.chain.map(function (h) { return h.status + " " + h.url; }).join(" \u2192 ");
          var problem = r.is_loop ? "loop" : r.is_long ? "over 2 hops" : null;
          return [r.url, chain, r.final_url, r.hops, problem, [r.inlinks, r.inlink_count]];
        }) },
      { id: "robots", title: "Disallowed by robots.txt", columns: [URL_, STATUS, KIND, ERROR, FROM], rows: targets(links.robots) }
    ];
    if (links.orphans) {
      specs.push({ id: "orphans", title: "Orphans (no crawled page links to them)",
        columns: [URL_, { name: "Source", type: "text" }],
        rows: links.orphans.map(function (o) { return [o.url, o.source]; }) });
    }
    section("links", "Links", specs);
  }
  var performance = data.performance;
  if (performance) {
    var MS = { name: "ms", type: "num" }, BYTES = { name: "Bytes", type: "num" };
    section("performance", "Performance", [
      { id: "hosts", title: "Response times by host",
        columns: [{ name: "Host", type: "text" }, { name: "Pages", type: "num" }, { name: "p50 ms", type: "num" },
          { name: "p95 ms", type: "num" }, { name: "Max ms", type: "num" }],
        rows: performance.hosts.map(function (h) { return [h.host, h.pages, h.p50_ms, h.p95_ms, h.max_ms]; }) },
      { id: "slowest", title: "Slowest pages", columns: [URL_, MS, BYTES],
        rows: performance.slowest.map(function (p) { return [p.url, p.ms, p.bytes]; }) },
      { id: "largest", title: "Largest pages", columns: [URL_, BYTES, MS],
        rows: performance.largest.map(function (p) { return [p.url, p.bytes, p.ms]; }) }
    ]);
  }
  document.documentElement.setAttribute("data-tables", String(count));
})();
