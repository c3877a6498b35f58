"""The page's own CSS and script: title, legend, labels, popups, the layer decoder, tile fallback.

:data:`DECODER_JS` turns the compact layers of :mod:`gis_town.maps.encode`
into Leaflet layers and draws the legend and title. It also watches the
basemap tiles: when tiles fail to load (no network, a blocked host) and none
has loaded, the tile pane is hidden, the DEM hillshade overlay is switched on
if the map has one (otherwise the plain light background shows), and a small
note (:data:`NO_TILES_NOTE`, static text set with ``textContent``) says so. A
tile that loads later undoes all three.

Nothing here comes from the data: the strings are constants of this module,
written into the script as JSON that cannot close its ``<script>``.
"""

from __future__ import annotations

from gis_town.maps.encode import safe_json

__all__ = ["CANVAS_PAD", "DECODER_JS", "NO_TILES_NOTE", "PAGE_CSS", "TILE_ERROR_MS", "TILE_WAIT_MS"]

#: The note shown on the map when its basemap tiles cannot load.
NO_TILES_NOTE = (
    "底图无法加载（无网络），图层照常显示 / basemap tiles could not load (no network): "
    "layers shown without them"
)

#: After the first tile error, how long (ms) to wait for any tile to load before falling back.
TILE_ERROR_MS = 1500

#: Map width (CSS px) at or below which the page lays itself out for a phone.
PHONE_PX = 640

#: Margin of the vector canvas on each side, as a fraction of the view (Leaflet's default 0.1).
#: A drag that ends with the view inside what was drawn keeps the canvas as it is.
CANVAS_PAD = 0.35

#: After the first tile request, how long (ms) to wait for any tile at all (a host that
#: drops requests silently never reports an error).
TILE_WAIT_MS = 12000

_FONT = '"Microsoft YaHei","PingFang SC","Noto Sans CJK SC","Noto Sans SC","WenQuanYi Micro Hei",SimHei,sans-serif'

#: Styles of the page's own elements (title, legend, labels, popups).
PAGE_CSS = (
    """
.gt-title{position:absolute;top:10px;left:50%;transform:translateX(-50%);z-index:1000;
 background:rgba(255,255,255,.92);padding:6px 16px;border-radius:4px;box-shadow:0 1px 5px rgba(0,0,0,.35);
 font:bold 17px/1.35 FONT;text-align:center;pointer-events:none;max-width:60%}
.gt-title small{display:block;font-weight:normal;font-size:12px;color:#444}
.gt-legend{background:#fff;padding:8px 10px;font:12px/1.45 FONT;max-height:55vh;overflow:auto;min-width:120px}
.gt-legend .gt-sec{margin-bottom:6px}
.gt-legend .gt-h{font-weight:bold;margin:2px 0}
.gt-legend .gt-row{white-space:nowrap}
.gt-sw{display:inline-block;width:18px;height:11px;margin-right:6px;vertical-align:middle;box-sizing:border-box}
.gt-ln{display:inline-block;width:20px;height:0;margin:0 6px 3px 0;vertical-align:middle}
.gt-pt{display:inline-block;width:10px;height:10px;border-radius:50%;margin:0 10px 0 4px;vertical-align:middle;box-sizing:border-box}
.gt-label span{position:absolute;transform:translate(-50%,-50%);white-space:nowrap;font:13px/1.2 FONT;color:#1a1a1a;
 text-shadow:0 0 3px #fff,0 0 3px #fff,0 0 2px #fff;pointer-events:none}
.gt-label.gt-zone span{font-weight:bold;color:#6a3d00}
.gt-label.gt-village span{font-size:12px;color:#333}
.gt-popup{font:12px/1.4 FONT}
.gt-popup .gt-pt-title{font-weight:bold;margin-bottom:4px}
.gt-popup table{border-collapse:collapse}
.gt-popup th{text-align:left;font-weight:normal;color:#555;padding:1px 8px 1px 0;vertical-align:top;white-space:nowrap}
.gt-popup td{padding:1px 0}
.gt-tip{font:12px/1.3 FONT}
.leaflet-control-layers{font:12px/1.5 FONT}
.gt-map.leaflet-container{background:#f7f6f2}
.gt-notiles .leaflet-tile-pane{visibility:hidden}
.gt-note{background:rgba(255,255,255,.85);padding:2px 7px;border-radius:3px;box-shadow:0 1px 3px rgba(0,0,0,.25);
 font:11px/1.4 FONT;color:#555;max-width:340px;pointer-events:none}
.gt-legend a.gt-legend-toggle{display:block;width:auto;height:auto;line-height:1.45;text-align:left;border:0;
 background:none;font-weight:bold;cursor:pointer;color:#333;text-decoration:none;user-select:none;white-space:nowrap}
.gt-legend-toggle:after{content:" \\25BE";font-weight:normal}
.gt-legend.gt-collapsed .gt-legend-toggle:after{content:" \\25B8"}
.gt-legend.gt-collapsed .gt-legend-body{display:none}
.gt-legend.gt-collapsed{min-width:0;padding:5px 8px}
/* phones (WeChat opens maps at 360-430 px): a title between the left and right controls, both collapsed */
.gt-phone .gt-title{left:54px;right:64px;transform:none;max-width:none;padding:4px 8px;font-size:14px}
.gt-phone .gt-title small{font-size:10.5px}
.gt-phone .gt-legend{max-height:38vh;font-size:11px}
.gt-phone .gt-note{max-width:200px}
"""
).replace("FONT", _FONT)

#: The page's decoder: compact layers -> Leaflet layers, legend, title, panes.
DECODER_JS = r"""
(function () {
  "use strict";
  var GT = window.GisTown = window.GisTown || {};
  GT.layers = GT.layers || {};
  GT.maps = GT.maps || [];
  // integers from an encoded-polyline varint string (zigzag sign, 5-bit groups, chars 63-126)
  GT.ints = function (str) {
    var out = [], i = 0, n = str ? str.length : 0;
    while (i < n) {
      var result = 0, mul = 1, b;
      do { b = str.charCodeAt(i++) - 63; result += (b & 31) * mul; mul *= 32; } while (b >= 32);
      out.push(result % 2 ? -(result + 1) / 2 : result / 2);
    }
    return out;
  };
  function offsets(lengths, count) {
    var o = new Array((lengths ? lengths.length : count) + 1), k;
    o[0] = 0;
    for (k = 0; k < o.length - 1; k++) { o[k + 1] = o[k] + (lengths ? lengths[k] : 1); }
    return o;
  }
  GT.columns = function (d) {
    for (var j = 0; j < d.v.length; j++) {
      var c = d.v[j];
      if (c.i !== undefined && typeof c.i === "string") { c.i = GT.ints(c.i); }
      if (c.k !== undefined) {
        var ks = GT.ints(c.k), vals = new Array(ks.length), prev = "";
        for (var k = 0; k < ks.length; k++) { prev = prev.substring(0, ks[k]) + c.x[k]; vals[k] = prev; }
        c.s = vals;
      }
    }
  };
  function col(d, j, i) { var c = d.v[j]; return c.d ? c.d[c.i[i]] : c.s[i]; }
  GT.tooltip = function (d, i) {
    var out = [];
    for (var k = 0; k < d.tf.length; k++) { var v = col(d, d.tf[k], i); if (v !== "") out.push(v); }
    return out.length ? out.join(" · ") : d.n;
  };
  GT.popup = function (d, i) {
    var h = '<div class="gt-popup"><div class="gt-pt-title">' + d.n + '</div><table>';
    for (var k = 0; k < d.pf.length; k++) {
      var j = d.pf[k];
      h += "<tr><th>" + d.f[j] + "</th><td>" + col(d, j, i) + "</td></tr>";
    }
    return h + "</table></div>";
  };
  function ring(c, d, s, e) {
    var m = d.m, ox = d.o[0], oy = d.o[1], x = 0, y = 0, out = new Array(e - s);
    for (var v = s; v < e; v++) { x += c[2 * v]; y += c[2 * v + 1]; out[v - s] = [(oy + y) / m, (ox + x) / m]; }
    return out;
  }
  // Leaflet re-clips and redraws every path of its canvas at each move end (60-130 ms for a
  // county's villages and rivers). The canvas is drawn CANVAS_PAD of the view beyond each side,
  // and a move that ends with the view still inside what was drawn keeps it as it is.
  GT.keepCanvas = function () {
    if (L.Canvas.prototype._gtKeep) { return; }
    L.Canvas.prototype._gtKeep = true;
    L.Canvas.prototype.options.padding = CANVAS_PAD;
    var events = L.Canvas.prototype.getEvents;
    L.Canvas.prototype.getEvents = function () {
      var ev = events.call(this);
      ev.moveend = this._gtMoveEnd;
      return ev;
    };
    L.Canvas.prototype._gtMoveEnd = function () {
      var map = this._map, b = this._bounds;
      if (b && !this._postponeUpdatePaths && this._zoom === map.getZoom()) {
        var seen = L.bounds(map.containerPointToLayerPoint([0, 0]),
          map.containerPointToLayerPoint(map.getSize()));
        if (b.contains(seen)) { return; }
      }
      this._update();
    };
  };
  GT.panes = function (map) {
    GT.keepCanvas();
    var z = {gtBackground: 250, gtLabels: 450};
    for (var name in z) {
      if (!map.getPane(name)) { var p = map.createPane(name); p.style.zIndex = z[name]; }
    }
    map.getPane("gtLabels").style.pointerEvents = "none";
    L.DomUtil.addClass(map.getContainer(), "gt-map");
    GT.watchTiles(map);
    GT.maps.push(map);
    GT.map = map;
    GT.order = [];
  };
  // One canvas draws every vector layer (stacked canvases would hide the lower ones from the
  // mouse), so draw order is kept here: polygons, then lines, then points, each in map order.
  GT.restack = function (map) {
    var groups = GT.order.filter(function (g) { return map.hasLayer(g); });
    groups.sort(function (a, b) { return (a._gtRank - b._gtRank) || (a._gtIdx - b._gtIdx); });
    for (var k = 0; k < groups.length; k++) { groups[k].bringToFront(); }
  };
  GT.finish = function (map) {
    GT.restack(map);
    map.on("overlayadd", function () { GT.restack(map); });
    setTimeout(function () {  // after the controls added later in the page
      GT.phone(map);
      GT.fitTitle(map);
      map.on("resize", function () { GT.fitTitle(map); });
      GT.declutter(map);
      map.on("zoomend overlayadd overlayremove resize", function () { GT.declutter(map); });
    }, 0);
  };
  // Labels that would collide are hidden: zone labels first, then villages, then the rest, each
  // kept only where it overlaps no label already kept (2 px apart); re-run at each zoom. A hidden
  // label leaves the layout (display: none): a county's 1,000 village names would otherwise be
  // restyled and hit-tested at every drag. Each label's size and offset are measured once, and
  // its place follows from its marker's position, so a re-run reads no layout.
  GT.labelRank = function (span) {
    var cls = span.parentNode.className || "";
    return cls.indexOf("gt-zone") >= 0 ? 0 : (cls.indexOf("gt-village") >= 0 ? 1 : 2);
  };
  function labelAt(map, c, s) {  // c: the container's client rect (read once: no layout in loops)
    var p = map.layerPointToContainerPoint(L.DomUtil.getPosition(s.parentNode));
    return [c.left + p.x, c.top + p.y];
  }
  GT.declutter = function (map) {
    var spans = Array.prototype.slice.call(map.getContainer().querySelectorAll(".gt-label span"));
    var fresh = spans.filter(function (s) { return s._gtBox === undefined; }), k;
    for (k = 0; k < fresh.length; k++) { fresh[k].parentNode.style.display = ""; }
    var c = map.getContainer().getBoundingClientRect();
    for (k = 0; k < fresh.length; k++) {  // one layout for all new labels
      var s0 = fresh[k], r0 = s0.getBoundingClientRect(), at = labelAt(map, c, s0);
      s0._gtBox = [r0.left - at[0], r0.top - at[1], r0.width, r0.height];
    }
    spans.sort(function (a, b) { return GT.labelRank(a) - GT.labelRank(b); });
    var kept = [];
    for (k = 0; k < spans.length; k++) {
      var s = spans[k], b = s._gtBox, p = labelAt(map, c, s);
      var r = {left: p[0] + b[0], top: p[1] + b[1], right: p[0] + b[0] + b[2], bottom: p[1] + b[1] + b[3]};
      var hit = !b[2] || kept.some(function (q) {
        return r.left < q.right + 2 && r.right > q.left - 2 && r.top < q.bottom + 2 && r.bottom > q.top - 2;
      });
      var show = b[2] && !hit ? "" : "none";
      if (s.parentNode.style.display !== show) { s.parentNode.style.display = show; }
      if (!hit) { kept.push(r); }
    }
  };
  // The title between the top-left tools and the layer list when, centred, it would run into them.
  GT.fitTitle = function (map) {
    var c = map.getContainer(), t = c.querySelector(".gt-title");
    if (!t) { return; }
    t.style.left = ""; t.style.right = ""; t.style.transform = ""; t.style.maxWidth = "";
    var box = c.getBoundingClientRect(), r = t.getBoundingClientRect();
    var lc = c.querySelector(".leaflet-top.leaflet-right"), tl = c.querySelector(".leaflet-top.leaflet-left");
    var right = lc ? lc.getBoundingClientRect().left - box.left - 8 : box.width - 10;
    var left = tl ? tl.getBoundingClientRect().right - box.left + 8 : 10;
    if (r.right - box.left > right || r.left - box.left < left) {
      t.style.left = left + "px"; t.style.right = (box.width - right) + "px";
      t.style.transform = "none"; t.style.maxWidth = "none";
    }
  };
  // A narrow screen (a phone, PHONE_PX or less): legend and layer list start collapsed (a tap opens
  // them, a tap on the map closes the layer list) and the title sits between the controls.
  GT.phone = function (map) {
    var c = map.getContainer();
    if (c.clientWidth > PHONE_PX) { return; }
    L.DomUtil.addClass(c, "gt-phone");
    var lc = c.querySelector(".leaflet-control-layers");
    if (lc) {
      L.DomUtil.removeClass(lc, "leaflet-control-layers-expanded");
      map.on("click", function () { L.DomUtil.removeClass(lc, "leaflet-control-layers-expanded"); });
    }
    var lg = c.querySelector(".gt-legend");
    if (lg) { L.DomUtil.addClass(lg, "gt-collapsed"); }
  };
  GT.build = function (map, d, o) {
    var grp = L.featureGroup(), i, k;
    var c = GT.ints(d.c), st = d.s ? GT.ints(d.s) : null;
    GT.columns(d);
    var r = offsets(GT.ints(d.r), 0);
    var nRings = r.length - 1;
    var p = d.t === "P" ? offsets(d.p ? GT.ints(d.p) : null, nRings) : null;
    var nParts = d.t === "P" ? p.length - 1 : (d.t === "L" ? nRings : c.length / 2);
    var g = offsets(d.g ? GT.ints(d.g) : null, nParts);
    var n = g.length - 1;
    for (i = 0; i < n; i++) {
      var si = st ? st[i] : 0, style = L.extend({}, d.st[si]), lyr;
      if (d.t === "P") {
        var parts = [];
        for (var q = g[i]; q < g[i + 1]; q++) {
          var rings = [];
          for (var rr = p[q]; rr < p[q + 1]; rr++) { rings.push(ring(c, d, r[rr], r[rr + 1])); }
          parts.push(rings);
        }
        lyr = L.polygon(parts.length === 1 ? parts[0] : parts, style);
      } else if (d.t === "L") {
        var lines = [];
        for (var q2 = g[i]; q2 < g[i + 1]; q2++) { lines.push(ring(c, d, r[q2], r[q2 + 1])); }
        lyr = L.polyline(lines.length === 1 ? lines[0] : lines, style);
      } else {
        style.radius = d.rad[si];
        for (var v = g[i]; v < g[i + 1]; v++) {
          var pt = L.circleMarker([(d.o[1] + c[2 * v + 1]) / d.m, (d.o[0] + c[2 * v]) / d.m], style);
          pt._gi = i; pt._gs = style; grp.addLayer(pt);
        }
        continue;
      }
      lyr._gi = i; lyr._gs = style;
      grp.addLayer(lyr);
    }
    if (d.tf.length) {
      grp.bindTooltip(function (l) { return GT.tooltip(d, l._gi); }, {sticky: true, className: "gt-tip"});
    }
    if (d.pf.length) {
      grp.bindPopup(function (l) { return GT.popup(d, l._gi); }, {maxWidth: 380});
    }
    grp.on("mouseover", function (e) {
      var l = e.layer;
      if (l && l._gs && l.setStyle) { l.setStyle({weight: (l._gs.weight || 1) + 2}); }
    });
    grp.on("mouseout", function (e) {
      var l = e.layer;
      if (l && l._gs && l.setStyle) { l.setStyle({weight: l._gs.weight}); }
    });
    if (d.lp) {
      var lp = GT.ints(d.lp);
      for (k = 0; k < d.lt.length; k++) {
        if (!d.lt[k]) { continue; }
        grp.addLayer(L.marker([(d.o[1] + lp[2 * k + 1]) / d.m, (d.o[0] + lp[2 * k]) / d.m], {
          icon: L.divIcon({className: "gt-label " + (o.labelClass || ""), html: "<span>" + d.lt[k] + "</span>", iconSize: null}),
          interactive: false, keyboard: false, pane: "gtLabels"
        }));
      }
    }
    grp._gtName = d.n;
    grp._gtData = d;
    grp._gtRank = d.t === "P" ? 0 : (d.t === "L" ? 1 : 2);
    grp._gtIdx = GT.order.length;
    GT.order.push(grp);
    GT.layers[o.id] = grp;
    return grp;
  };
  GT.legend = function (map, html, links) {
    var ctl = L.control({position: "bottomright"});
    ctl.onAdd = function () {
      var div = L.DomUtil.create("div", "gt-legend leaflet-bar");
      var head = L.DomUtil.create("a", "gt-legend-toggle", div);
      head.textContent = "图例 legend";
      head.href = "#";
      var body = L.DomUtil.create("div", "gt-legend-body", div);
      body.innerHTML = html;
      L.DomEvent.on(head, "click", function (e) {
        L.DomEvent.preventDefault(e);
        if (L.DomUtil.hasClass(div, "gt-collapsed")) { L.DomUtil.removeClass(div, "gt-collapsed"); }
        else { L.DomUtil.addClass(div, "gt-collapsed"); }
      });
      L.DomEvent.disableClickPropagation(div);
      L.DomEvent.disableScrollPropagation(div);
      return div;
    };
    ctl.addTo(map);
    function sync() {
      for (var k = 0; k < links.length; k++) {
        var el = ctl.getContainer().querySelector('[data-gt-sec="' + links[k][1] + '"]');
        if (el) { el.style.display = map.hasLayer(links[k][0]) ? "" : "none"; }
      }
    }
    map.on("overlayadd overlayremove", sync);
    sync();
    GT.legendControl = ctl;
    return ctl;
  };
  // Basemap tiles that cannot load (no network, blocked host): hide the tile pane, switch on the
  // map's hillshade (registered as map._gtHill) and show a note; a tile that loads later undoes it.
  GT.watchTiles = function (map) {
    var st = {loaded: 0, errors: 0, failed: false, autoHill: false, waiting: false, erring: false};
    map._gtTiles = st;
    function later(ms) {
      setTimeout(function () { if (!st.loaded) { GT.noTiles(map); } }, ms);
    }
    function watch(l) {
      if (!(l instanceof L.TileLayer) || l._gtWatched) { return; }
      l._gtWatched = true;
      l.on("tileloadstart", function () {
        if (!st.waiting) { st.waiting = true; later(TILE_WAIT_MS); }
      });
      l.on("tileerror", function () {
        st.errors++;
        if (!st.erring) { st.erring = true; later(TILE_ERROR_MS); }
      });
      l.on("tileload", function () {
        st.loaded++;
        if (st.failed) { GT.tilesBack(map); }
      });
    }
    map.eachLayer(watch);
    map.on("layeradd", function (e) { watch(e.layer); });
  };
  GT.noTiles = function (map) {
    var st = map._gtTiles, hill = map._gtHill;
    if (!st || st.failed || st.loaded) { return; }
    st.failed = true;
    L.DomUtil.addClass(map.getContainer(), "gt-notiles");
    if (hill && !map.hasLayer(hill)) { map.addLayer(hill); st.autoHill = true; }
    if (!st.note) {
      st.note = L.control({position: "bottomleft"});
      st.note.onAdd = function () {
        var div = L.DomUtil.create("div", "gt-note");
        div.textContent = NO_TILES_NOTE;
        return div;
      };
    }
    st.note.addTo(map);
  };
  GT.tilesBack = function (map) {
    var st = map._gtTiles;
    st.failed = false;
    L.DomUtil.removeClass(map.getContainer(), "gt-notiles");
    if (st.autoHill && map._gtHill) { map.removeLayer(map._gtHill); st.autoHill = false; }
    if (st.note) { st.note.remove(); }
  };
  GT.title = function (map, html) {
    var div = L.DomUtil.create("div", "gt-title", map.getContainer());
    div.innerHTML = html;
    return div;
  };
})();
"""

DECODER_JS = (
    DECODER_JS.replace("NO_TILES_NOTE", safe_json(NO_TILES_NOTE))
    .replace("TILE_ERROR_MS", str(int(TILE_ERROR_MS)))
    .replace("TILE_WAIT_MS", str(int(TILE_WAIT_MS)))
    .replace("PHONE_PX", str(int(PHONE_PX)))
    .replace("CANVAS_PAD", repr(float(CANVAS_PAD)))
)
