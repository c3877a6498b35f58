"""Vector tiles for large polygon layers: a PMTiles archive beside the page, read without a server.

A layer of a few hundred thousand parcels written into the page as the
compact encoding of :mod:`gis_town.maps.encode` makes a page of tens of
megabytes that the browser decodes whole before it shows anything. Above
:data:`TILES_ABOVE` features (``--tiles-above N``), or for every eligible
layer with ``--tiles-out DIR``, :func:`gis_town.maps.base.build_map` writes the
layer instead as vector tiles:

* **the archive**: GDAL's PMTiles driver (through :mod:`pyogrio`; Mapbox
  Vector Tiles inside, gzip-compressed, zooms :func:`tile_zooms`) writes
  ``NAME.pmtiles`` into the tiles folder beside the HTML (``<page>_tiles/``
  by default). Each tile feature holds its class (``gt_class``) and its row
  (``gt_id``); the fields its tooltip and popup show, formatted for people
  and escaped, go once into values blocks beside the pieces (``aNNNNN.js``);
* **the packed copy** the page reads (:func:`pack_archive`): the same bytes cut
  into :data:`CHUNK_BYTES` pieces, each a small script ``NAME/00012.js`` that
  hands its piece (base64) to the page. A page opened from a local folder
  (``file://``) cannot make the HTTP range requests a PMTiles reader needs,
  but it can load a ``<script>``: the page's byte source loads the pieces
  that hold the header, the directories and the tiles in view, on demand.
  No server is needed, and the folder can be copied to another PC with the
  page (the same page works over HTTP too);
* **the overview** (:mod:`gis_town.maps.overview`): a layer of more than
  :data:`~gis_town.maps.overview.OVERVIEW_ABOVE` features has its parcels
  only from the zoom at which a tile holds at most
  :data:`~gis_town.maps.overview.PARCELS_PER_TILE` of them
  (:func:`~gis_town.maps.overview.parcel_zoom`; at a county's density, zoom
  13, shown from display zoom 14). Below it, the parcels dissolved per class
  and grid cell, simplified per zoom, go into one small archive per zoom
  (``NAME_oZ.pmtiles`` and its pieces ``NAME_oZ/``): the whole-county view
  draws a few thousand shapes instead of a million parcels;
* **the page** draws the tiles with protomaps-leaflet 5.1.0 (BSD-3-Clause,
  from the npm registry, inlined like Leaflet; see ``assets/README.md``),
  whose PMTiles reader (pmtiles 4, bundled in it) gets its bytes from the
  packed pieces. Each class gets its fill and outline
  (:meth:`gis_town.maps.spec.Style`), the legend and the layer control treat
  the tiled layer like any other, and hover tooltips and click popups are
  built from the values blocks (escaped in Python), over the overview from
  its class label (escaped in Python), area and count (escaped in the page,
  :data:`TILES_JS`, ``esc``). The parcels and each overview level are
  sources of one protomaps-leaflet layer; each archive holds only its own
  zooms, so at any zoom one of them answers.

No tile encoder is written here: GDAL encodes, pmtiles and protomaps-leaflet
decode and draw.
"""

from __future__ import annotations

import base64
import contextlib
import logging
import os
import re
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from folium.map import Layer
from jinja2 import Template
from pyproj import Transformer

from gis_town.errors import InputError, OutputError
from gis_town.io.write import atomic_path
from gis_town.maps import overview as _overview_mod
from gis_town.maps.encode import fit_zoom, safe_json
from gis_town.maps.gcj02 import shift_coords_to_gcj02
from gis_town.maps.spec import (
    LayerSpec,
    Style,
    escape,
    escape_name,
    escape_series,
    format_series,
)

__all__ = [
    "CHUNK_BYTES",
    "MAX_ZOOM",
    "PLUGIN_ASSET",
    "TILES_ABOVE",
    "TILES_JS",
    "TileSet",
    "TiledLayer",
    "is_tileable",
    "pack_archive",
    "tile_zooms",
    "tiles_folder",
    "write_tiles",
]

log = logging.getLogger(__name__)

#: Polygon layers with more features than this are written as vector tiles
#: (``--tiles-above N``; the lead's ``[map] tiles_above`` when configured).
TILES_ABOVE = 50_000

#: Highest zoom with its own tiles (about 10 m a pixel at 35 deg N; the page
#: over-zooms these tiles beyond it: 4096 units a tile, about 0.5 m).
MAX_ZOOM = 14

#: The lowest zoom with tiles is at most this many levels below :data:`MAX_ZOOM`.
ZOOM_LEVELS = 5

#: Bytes of the archive in each packed piece (a base64 script of about 350 KB).
CHUNK_BYTES = 256 * 1024

#: The packaged plugin (under ``gis_town/maps/assets``).
PLUGIN_ASSET = "protomaps-leaflet/protomaps-leaflet.js"

#: Property of each tile feature holding its class (index into the layer's styles).
CLASS_FIELD = "gt_class"

#: Property of each tile feature holding its row (its values are in block ``row // ATTR_BLOCK``).
ID_FIELD = "gt_id"

#: Rows of shown values in each values script (``aNNNNN.js``).
ATTR_BLOCK = 10_000

#: The screen the page is expected on when its first view is fitted (CSS px).
_SCREEN_PX = (1280, 760)

_KEY_RE = re.compile(r"[^0-9A-Za-z_-]+")


def is_tileable(spec: LayerSpec) -> bool:
    """Whether a layer may be written as tiles: polygons of a coverage (parcels) without text labels."""
    return spec.kind == "polygon" and spec.coverage and not spec.label_field


def tiles_folder(html_path: str | Path | None, tiles_out: str | Path | None) -> Path:
    """Where the tiles go: ``tiles_out``, else ``<page>_tiles`` beside the HTML.

    Raises
    ------
    InputError
        Neither is given (a tiled layer needs a place beside the page).
    """
    if tiles_out is not None:
        return Path(tiles_out)
    if html_path is None:
        raise InputError(
            "矢量瓦片需要输出位置 / vector tiles need a place to go: give html_path (the page's path) "
            "or tiles_out (a folder)"
        )
    p = Path(html_path)
    return p.parent / f"{p.stem}_tiles"


def tile_zooms(bounds: Sequence[float], max_zoom: int = MAX_ZOOM) -> tuple[int, int]:
    """(lowest, highest) zoom of a layer's tiles.

    The page draws data zoom ``z`` at display zoom ``z + 1`` (protomaps-leaflet's
    512-pixel data tiles), so the lowest zoom is two below the zoom that fits
    the layer on screen (one zoom out from the first view still shows the
    parcels), but no more than :data:`ZOOM_LEVELS` below ``max_zoom`` (a
    county's million parcels at a lower zoom would fill one tile).
    """
    lo = fit_zoom(tuple(bounds), _SCREEN_PX) - 2
    lo = max(max_zoom - ZOOM_LEVELS, min(lo, max_zoom), 0)
    return lo, max_zoom


def _rgba(color: str | None, alpha: float) -> str:
    """``rgba(...)`` of a ``#rgb`` / ``#rrggbb`` colour (names pass through, alpha dropped)."""
    if not color:
        return "rgba(0,0,0,0)"
    c = color.strip()
    if re.fullmatch(r"#[0-9a-fA-F]{3}", c):
        c = "#" + "".join(ch * 2 for ch in c[1:])
    if re.fullmatch(r"#[0-9a-fA-F]{6}", c):
        r, g, b = (int(c[i : i + 2], 16) for i in (1, 3, 5))
        a = max(0.0, min(1.0, float(alpha)))
        return f"rgba({r},{g},{b},{a:.3g})"
    return c if re.fullmatch(r"[a-zA-Z]{3,20}", c) else "#888888"


def _paint(style: Style) -> dict:
    """A class's fill and outline for the page's polygon symbolizer."""
    return {
        "fill": _rgba(style.fill, style.fill_opacity) if style.fill else "rgba(0,0,0,0)",
        "stroke": _rgba(style.color, style.opacity),
        "width": float(style.weight),
    }


@dataclass
class TileSet:
    """One layer written as tiles: the archive, its packed copy, and what the page needs."""

    key: str
    archive: Path
    chunk_dir: Path
    n_features: int
    archive_bytes: int
    packed_bytes: int
    n_chunks: int
    min_zoom: int
    max_zoom: int
    fields: list[str] = field(default_factory=list)
    attr_bytes: int = 0
    n_attr_blocks: int = 0
    parcel_zoom: int = -1
    overview: list[dict] = field(default_factory=list)

    @property
    def overview_bytes(self) -> int:
        """Bytes of the overview archives (the packed pieces are :attr:`overview_packed_bytes`)."""
        return sum(v["archive_bytes"] for v in self.overview)

    @property
    def overview_packed_bytes(self) -> int:
        """Bytes of the overview archives' packed pieces."""
        return sum(v["packed_bytes"] for v in self.overview)

    def page_options(self, spec: LayerSpec, html_path: str | Path | None) -> dict:
        """The options :data:`TILES_JS` reads (names and labels escaped; no data values)."""
        styles = [spec.style] + [spec.style_of(c) for c in spec.classes()]
        shown = self.fields
        return {
            "key": self.key,
            "dir": _relative_url(self.chunk_dir, html_path),
            "size": self.archive_bytes,
            "chunk": CHUNK_BYTES,
            "ab": ATTR_BLOCK,
            "n": escape(spec.name),
            "id": escape(spec.name),
            "layer": self.key,
            "minz": self.min_zoom,
            "maxz": self.max_zoom,
            "paint": [_paint(s) for s in styles],
            "cls": CLASS_FIELD,
            "fid": ID_FIELD,
            "fl": [escape(spec.label(c)) for c in shown],
            "pf": [shown.index(c) for c in spec.fields if c in shown],
            "tf": [shown.index(c) for c in (spec.tooltip or []) if c in shown],
            "ov": [
                {
                    "key": v["key"],
                    "dir": _relative_url(v["chunk_dir"], html_path),
                    "size": v["archive_bytes"],
                    "z": v["max_zoom"],
                }
                for v in self.overview
            ],
            "cl": [escape(spec.name)] + [escape(spec.class_label(c)) for c in spec.classes()],
            "oa": _overview_mod.AREA_FIELD,
            "on": _overview_mod.COUNT_FIELD,
        }


def _relative_url(folder: Path, html_path: str | Path | None) -> str:
    """The folder as a URL relative to the page (so the two can be copied together), else ``file://``."""
    folder = Path(folder).resolve()
    if html_path is not None:
        base = Path(html_path).resolve().parent
        try:
            return folder.relative_to(base).as_posix()
        except ValueError:
            pass
    return folder.as_uri()


def _tile_frame(
    spec: LayerSpec, lonlat: gpd.GeoDataFrame, *, gcj02: bool
) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """The tiles' features (class, row number, geometry) and the shown fields, formatted and escaped."""
    geom = lonlat.geometry
    ok = ~(geom.isna() | geom.is_empty)
    frame = lonlat.loc[ok.to_numpy()]
    shown = [c for c in dict.fromkeys([*spec.fields, *(spec.tooltip or [])]) if c in frame.columns]
    if spec.category is not None:
        index = {c: i + 1 for i, c in enumerate(spec.classes())}
        cls = frame[spec.category].map(lambda v: index.get(v, 0)).fillna(0).astype("int32")
    else:
        cls = pd.Series(0, index=frame.index, dtype="int32")
    geoms = np.asarray(frame.geometry.values)
    if gcj02 and len(geoms):
        geoms = shapely.transform(geoms, shift_coords_to_gcj02)
    tiles = gpd.GeoDataFrame(
        {CLASS_FIELD: cls.to_numpy(), ID_FIELD: np.arange(len(frame), dtype="int32")},
        geometry=geoms,
        crs=lonlat.crs,
    )
    attrs = pd.DataFrame(
        {c: escape_series(format_series(frame[c], c, spec.codes)).to_numpy() for c in shown},
        columns=shown,
    )
    return tiles, attrs


def _attr_pieces(attrs: pd.DataFrame, key_js: str) -> Iterator[tuple[str, str]]:
    """The shown values in blocks of :data:`ATTR_BLOCK` rows: ``aNNNNN.js`` scripts for the page."""
    from gis_town.maps.encode import _dumps, _encode_column  # the page layers' column coding

    n = max(1, -(-len(attrs) // ATTR_BLOCK))
    for b in range(n):
        part = attrs.iloc[b * ATTR_BLOCK : (b + 1) * ATTR_BLOCK]
        body = _dumps({"v": [_encode_column(part[c]) for c in attrs.columns]})
        yield f"a{b:05d}.js", f"GisTown.tileAttrs({key_js},{b},{body});\n"


def write_tiles(
    spec: LayerSpec,
    lonlat: gpd.GeoDataFrame,
    folder: str | Path,
    key: str,
    *,
    gcj02: bool = False,
    max_zoom: int = MAX_ZOOM,
) -> TileSet:
    """Write one polygon layer as ``folder/KEY.pmtiles`` and its packed copy ``folder/KEY/``.

    The tiles hold each feature's class and row number; the values its
    tooltip and popup show (formatted, HTML-escaped) go once into blocks of
    :data:`ATTR_BLOCK` rows beside the pieces (``KEY/aNNNNN.js``), loaded by
    the page when the mouse is over one of their features.

    Parameters
    ----------
    spec : LayerSpec
        The layer (fields, tooltip, classes).
    lonlat : GeoDataFrame
        ``spec.gdf`` in lon/lat (EPSG:4490/4326), simplified if wanted.
    folder : path
        The tiles folder (created).
    key : str
        File name stem (letters, digits, ``_``, ``-``; others replaced).
    gcj02 : bool
        Shift coordinates to GCJ-02 (Gaode basemap).
    max_zoom : int
        Highest zoom with tiles (:data:`MAX_ZOOM`).

    Returns
    -------
    TileSet

    Raises
    ------
    OutputError
        GDAL could not write the archive, or the folder is not writable.
    """
    key = _KEY_RE.sub("_", key).strip("_") or "layer"
    folder = Path(folder)
    tiles, attrs = _tile_frame(spec, lonlat, gcj02=gcj02)
    bounds = tiles.total_bounds if len(tiles) else np.array([0.0, 0.0, 0.0, 0.0])
    minz, maxz = tile_zooms(bounds, max_zoom)
    archive = folder / f"{key}.pmtiles"
    try:
        split, levels = _overview(tiles, folder, key, minz, maxz, spec.name)
        write_archive(tiles, archive, layer=key, min_zoom=split, max_zoom=maxz, name=spec.name)
    except OSError as exc:
        raise OutputError(
            f"无法写出矢量瓦片 / cannot write vector tiles: {exc}", path=str(archive)
        ) from exc
    extra = list(_attr_pieces(attrs, safe_json(key)))
    chunk_dir, n_chunks, packed = pack_archive(archive, folder / key, key, extra=extra)
    attr_bytes = sum(len(t.encode("utf-8")) for _, t in extra)
    size = archive.stat().st_size
    log.info(
        "矢量瓦片 vector tiles %s: %d features, zoom %d-%d, %.1f MB (%d pieces), values %.1f MB",
        archive,
        len(tiles),
        split,
        maxz,
        size / 1e6,
        n_chunks,
        attr_bytes / 1e6,
    )
    return TileSet(
        key,
        archive,
        chunk_dir,
        len(tiles),
        size,
        packed - attr_bytes,
        n_chunks,
        minz,
        maxz,
        list(attrs.columns),
        attr_bytes,
        len(extra),
        split,
        levels,
    )


def _overview(
    tiles: gpd.GeoDataFrame, folder: Path, key: str, minz: int, maxz: int, name: str
) -> tuple[int, list[dict]]:
    """The zoom the parcels start at, and the overview levels below it (none for a small layer)."""
    if len(tiles) <= _overview_mod.OVERVIEW_ABOVE:
        return minz, []
    w, s, e, n = tiles.total_bounds
    to_merc = Transformer.from_crs(tiles.crs or "EPSG:4326", "EPSG:3857", always_xy=True)
    (xw, xe), (ys, yn) = to_merc.transform([w, e], [s, n])
    split = _overview_mod.parcel_zoom(np.array([xw, ys, xe, yn]), len(tiles), minz, maxz)
    if split <= minz:
        return minz, []
    return split, _overview_mod.write_levels(tiles, folder, key, lo=minz, split=split, name=name)


def write_archive(
    frame: gpd.GeoDataFrame, path: Path, *, layer: str, min_zoom: int, max_zoom: int, name: str = ""
) -> Path:
    """Write ``frame`` (lon/lat) as a PMTiles archive with GDAL's PMTiles driver, atomically."""
    import warnings

    import pyogrio

    if "PMTiles" not in pyogrio.list_drivers(write=True):
        raise OutputError(
            "GDAL 没有 PMTiles 驱动 / this GDAL has no PMTiles driver (GDAL >= 3.8 needed)",
            path=str(path),
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path, suffix=".pmtiles") as tmp, warnings.catch_warnings():
        # "tile exceeded the default maximum tile size ... encoded at lower resolution":
        # expected at the lowest zooms of a large layer
        warnings.filterwarnings("ignore", message=".*maximum tile size.*")
        pyogrio.write_dataframe(
            frame
            if frame.crs is None or frame.crs.to_epsg() in (3857, 4326)
            else frame.to_crs(4326),
            tmp,
            driver="PMTiles",
            layer=layer,
            dataset_options={
                "MINZOOM": str(min_zoom),
                "MAXZOOM": str(max_zoom),
                "NAME": name or layer,
                "DESCRIPTION": name or layer,
            },
        )
    return path


def pack_archive(
    archive: str | Path,
    chunk_dir: str | Path,
    key: str,
    *,
    extra: Sequence[tuple[str, str]] = (),
) -> tuple[Path, int, int]:
    """Cut an archive into :data:`CHUNK_BYTES` pieces, each a script the page can load from ``file://``.

    Piece ``i`` is ``chunk_dir/{i:05d}.js`` holding
    ``GisTown.tileChunk("KEY", i, "BASE64");``. The folder is replaced as a
    whole (written beside it, then renamed), so a reader never sees half of it.
    ``extra`` are more (file name, text) scripts for the same folder.

    Returns
    -------
    (chunk_dir, number of archive pieces, bytes written in all)
    """
    archive, chunk_dir = Path(archive), Path(chunk_dir)
    data = archive.read_bytes()
    chunk_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{chunk_dir.name}.", dir=chunk_dir.parent))
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o777 & ~umask)  # mkdtemp makes it private; the page's folder is not
    total = 0
    key_js = safe_json(key)
    try:
        n = max(1, -(-len(data) // CHUNK_BYTES))
        for i in range(n):
            piece = base64.b64encode(data[i * CHUNK_BYTES : (i + 1) * CHUNK_BYTES]).decode("ascii")
            text = f'GisTown.tileChunk({key_js},{i},"{piece}");\n'
            (tmp / f"{i:05d}.js").write_text(text, encoding="ascii")
            total += len(text)
        for name, text in extra:
            (tmp / name).write_text(text, encoding="utf-8")
            total += len(text.encode("utf-8"))
        old = None
        if chunk_dir.exists():
            old = chunk_dir.with_name(f".{chunk_dir.name}.old{os.getpid()}")
            os.replace(chunk_dir, old)
        os.replace(tmp, chunk_dir)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except OSError as exc:
        with contextlib.suppress(OSError):
            shutil.rmtree(tmp)
        raise OutputError(
            f"无法写出矢量瓦片 / cannot write vector tiles: {exc}", path=str(chunk_dir)
        ) from exc
    return chunk_dir, n, total


class TiledLayer(Layer):
    """A layer drawn from vector tiles (see :data:`TILES_JS`), switched like the others.

    Parameters
    ----------
    tileset : TileSet
    spec : LayerSpec
    html_path : path, optional
        Where the page is saved (the tiles URL is relative to it).
    """

    _template = Template(
        "{% macro script(this, kwargs) %}"
        "var {{ this.get_name() }} = GisTown.tiled({{ this._parent.get_name() }}, {{ this.opts_json }});"
        "{% endmacro %}"
    )

    def __init__(
        self, tileset: TileSet, spec: LayerSpec, html_path: str | Path | None = None
    ) -> None:
        super().__init__(name=escape_name(spec.name), overlay=True, control=True, show=spec.show)
        self._name = "TiledLayer"
        self.plain_name = spec.name
        self.tileset = tileset
        self.n_features = tileset.n_features
        self.n_bytes = tileset.archive_bytes
        self.opts_json = safe_json(tileset.page_options(spec, html_path))


#: The page's part for tiled layers: a byte source over the packed pieces, the
#: protomaps-leaflet layer with one paint rule per class, tooltips and popups
#: from the values blocks (escaped in Python, as every layer's), and a count of
#: what was drawn.
TILES_JS = r"""
(function () {
  "use strict";
  var GT = window.GisTown = window.GisTown || {};
  GT.tileSets = GT.tileSets || {};
  GT.tiledLayers = GT.tiledLayers || {};
  function pad(i) { return ("0000" + i).slice(-5); }
  function arrive(set, name, value) {
    set.got[name] = value;
    var w = set.waiting[name];
    delete set.waiting[name];
    if (w) { for (var j = 0; j < w.length; j++) { w[j][0](value); } }
  }
  // a piece of an archive arrives (a script written by gis_town.maps.tiles.pack_archive)
  GT.tileChunk = function (key, i, b64) {
    var set = GT.tileSets[key];
    if (!set) { return; }
    var bin = atob(b64), n = bin.length, bytes = new Uint8Array(n);
    for (var k = 0; k < n; k++) { bytes[k] = bin.charCodeAt(k); }
    arrive(set, pad(i), bytes);
  };
  // a block of shown values arrives (escaped strings in the page layers' column coding)
  GT.tileAttrs = function (key, b, d) {
    var set = GT.tileSets[key];
    if (!set) { return; }
    GT.columns(d);
    arrive(set, "a" + pad(b), d);
  };
  function load(set, name) {
    if (set.got[name]) { return Promise.resolve(set.got[name]); }
    return new Promise(function (resolve, reject) {
      if (set.waiting[name]) { set.waiting[name].push([resolve, reject]); return; }
      set.waiting[name] = [[resolve, reject]];
      var s = document.createElement("script");
      s.src = set.dir + "/" + name + ".js";
      s.onerror = function () {
        var w = set.waiting[name] || [];
        delete set.waiting[name];
        for (var j = 0; j < w.length; j++) { w[j][1](new Error("tile piece not found: " + s.src)); }
      };
      s.onload = function () { s.remove(); };
      document.head.appendChild(s);
    });
  }
  // a pmtiles Source: byte ranges of the archive from its pieces
  function source(set) {
    return {
      getKey: function () { return set.key; },
      getBytes: function (offset, length) {
        var end = Math.min(offset + length, set.size), c = set.chunk;
        var first = Math.floor(offset / c), last = Math.floor((Math.max(end, offset + 1) - 1) / c), need = [];
        for (var i = first; i <= last; i++) { need.push(load(set, pad(i))); }
        return Promise.all(need).then(function (parts) {
          var out = new Uint8Array(Math.max(0, end - offset)), pos = 0;
          for (var k = 0; k < parts.length; k++) {
            var start = (first + k) * c, a = Math.max(offset - start, 0), b = Math.min(end - start, parts[k].length);
            if (b > a) { out.set(parts[k].subarray(a, b), pos); pos += b - a; }
          }
          return {data: out.buffer};
        });
      }
    };
  }
  function archive(set) {
    // the PMTiles reader bundled in protomaps-leaflet, over our byte source
    var PM = new protomapsL.PmtilesSource(set.key + ".pmtiles", false).p.constructor;
    return new PM(source(set));
  }
  // the shown values of feature `id` (escaped in Python), in the order of `which`
  function values(set, o, id, which) {
    var b = Math.floor(id / o.ab);
    return load(set, "a" + pad(b)).then(function (d) {
      var i = id - b * o.ab, out = [];
      for (var k = 0; k < which.length; k++) {
        var c = d.v[which[k]];
        out.push([o.fl[which[k]], c.d ? c.d[c.i[i]] : c.s[i]]);
      }
      return out;
    });
  }
  function pick(lyr, latlng) {
    // the feature under the mouse: a parcel, or at low zooms a shape of the overview ({ov: true})
    if (!lyr._map) { return null; }
    var out = null;
    lyr.queryTileFeaturesDebug(latlng.lng, latlng.lat, 4).forEach(function (found, sn) {
      for (var k = found.length - 1; k >= 0 && !out; k--) {
        if (found[k].layerName === lyr._gtNames[sn]) { out = {f: found[k].feature, ov: sn !== ""}; }
      }
    });
    return out;
  }
  function esc(s) {
    return String(s).replace(/[&<>"']/g, function (c) {
      return {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c];
    });
  }
  function num(x, d) {
    // "12,345.6": fixed decimals, thousands separated (cheap enough for every mouse move)
    var v = Number(x);
    if (!isFinite(v)) { return ""; }
    var p = v.toFixed(d).split(".");
    return p[0].replace(/\B(?=(\d{3})+(?!\d))/g, ",") + (p.length > 1 ? "." + p[1] : "");
  }
  // an overview shape's rows: class, area, parcels (labels are static text, values escaped)
  function ovRows(o, f) {
    var c = f.props[o.cls] || 0;
    return [["类别 class", o.cl[c] || o.cl[0]], ["面积 area (亩)", esc(num(f.props[o.oa], 1))],
            ["地块 parcels", esc(num(f.props[o.on], 0))]];
  }
  function symbolizer(p, outline) {
    return outline ? new protomapsL.PolygonSymbolizer({fill: p.fill, stroke: p.stroke, width: p.width, opacity: 1})
      : new protomapsL.PolygonSymbolizer({fill: p.fill, width: 0, opacity: 1});
  }
  GT.tiled = function (map, o) {
    function tileSet(key, dir, size) {
      return GT.tileSets[key] = GT.tileSets[key] ||
        {key: key, dir: dir, size: size, chunk: o.chunk, got: {}, waiting: {}};
    }
    var set = tileSet(o.key, o.dir, o.size);
    if (!map.getPane("gtTiled")) { map.createPane("gtTiled").style.zIndex = 350; }
    // the parcels (source ""), and one source per overview archive; each answers at its own zooms only
    var sources = {"": {url: archive(set), maxDataZoom: o.maxz}}, names = {"": o.layer};
    (o.ov || []).forEach(function (v) {
      sources["o" + v.z] = {url: archive(tileSet(v.key, v.dir, v.size)), maxDataZoom: o.maxz};
      names["o" + v.z] = v.key;
    });
    var rules = [];
    Object.keys(sources).forEach(function (sn) {
      for (var c = 0; c < o.paint.length; c++) {
        (function (cls, p) {
          rules.push({
            dataSource: sn, dataLayer: names[sn],
            filter: function (z, f) { return (f.props[o.cls] || 0) === cls; },
            symbolizer: symbolizer(p, sn === "")
          });
        })(c, o.paint[c]);
      }
    });
    var lyr = protomapsL.leafletLayer({
      sources: sources, paintRules: rules, labelRules: [],
      attribution: "", pane: "gtTiled", maxZoom: 22
    });
    lyr._gtOpts = o;
    lyr._gtName = o.n;
    lyr._gtNames = names;
    var tip = L.tooltip({className: "gt-tip", direction: "right", offset: [12, 0]}), frame = 0, over = -1;
    function hide() { over = -1; if (map.hasLayer(tip)) { map.closeTooltip(tip); } }
    function show(latlng, text) {
      tip.setLatLng(latlng).setContent(text);
      if (!map.hasLayer(tip)) { tip.openOn(map); }
    }
    map.on("mousemove", function (e) {
      if (!lyr._map || frame) { return; }
      frame = requestAnimationFrame(function () {
        frame = 0;
        var hit = pick(lyr, e.latlng);
        if (!hit) { hide(); return; }
        if (hit.ov) {
          over = -1;
          var r = ovRows(o, hit.f);
          show(e.latlng, r[0][1] + " · " + r[1][1] + " 亩 · " + r[2][1] + " 块");
          return;
        }
        var id = hit.f.props[o.fid];
        over = id;
        values(set, o, id, o.tf).then(function (r) {
          if (over !== id) { return; }
          var parts = [];
          for (var k = 0; k < r.length; k++) { if (r[k][1] !== "") { parts.push(r[k][1]); } }
          show(e.latlng, parts.length ? parts.join(" · ") : o.n);
        });
      });
    });
    map.on("mouseout", hide);
    function popup(latlng, r, note) {
      var h = '<div class="gt-popup"><div class="gt-pt-title">' + o.n + "</div><table>";
      for (var k = 0; k < r.length; k++) { h += "<tr><th>" + r[k][0] + "</th><td>" + r[k][1] + "</td></tr>"; }
      h += "</table>" + (note ? '<div class="gt-ov-note">' + note + "</div>" : "") + "</div>";
      L.popup({maxWidth: 380}).setLatLng(latlng).setContent(h).openOn(map);
    }
    map.on("click", function (e) {
      var hit = pick(lyr, e.latlng);
      if (!hit) { return; }
      if (hit.ov) { popup(e.latlng, ovRows(o, hit.f), "概览：放大查看地块 / overview: zoom in for the parcels"); return; }
      if (!o.pf.length) { return; }
      values(set, o, hit.f.props[o.fid], o.pf).then(function (r) { popup(e.latlng, r, ""); });
    });
    map.on("overlayremove", function (e) { if (e.layer === lyr) { hide(); } });
    GT.tiledLayers[o.id] = lyr;
    return lyr;
  };
  // what a tiled layer holds in the tiles read so far (for tests and benchmarks): distinct
  // parcels, and of the overview level read most, its shapes and the parcels they stand for
  GT.tiledDrawn = function (lyr) {
    var o = lyr._gtOpts, ids = {}, n = 0, best = {overview: 0, overviewParcels: 0};
    lyr.views.forEach(function (view, sn) {
      var seen = {}, shapes = 0, parcels = 0;
      view.tileCache.cache.forEach(function (entry) {
        var feats = entry.data.get(lyr._gtNames[sn]) || [];
        for (var k = 0; k < feats.length; k++) {
          var id = feats[k].props[o.fid];
          if (sn === "") { if (!ids[id]) { ids[id] = 1; n++; } }
          else if (!seen[id]) { seen[id] = 1; shapes++; parcels += feats[k].props[o.on] || 0; }
        }
      });
      if (parcels > best.overviewParcels) { best = {overview: shapes, overviewParcels: parcels}; }
    });
    return {features: n, overview: best.overview, overviewParcels: best.overviewParcels};
  };
})();
"""
