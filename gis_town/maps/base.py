"""The map frame every gis_town map is built on (folium underneath).

:func:`build_map` turns a list of :class:`~gis_town.maps.spec.LayerSpec` into
a :class:`TownMap` (a ``folium.Map``) with

* a basemap: OpenStreetMap (default), Tianditu (天地图, vector and imagery with
  labels; key from ``TIANDITU_KEY`` or ``[map] tianditu_key``), Gaode (高德,
  GCJ-02: every overlay coordinate is shifted) or none; offline maps draw a
  DEM hillshade, an orthophoto or a local tile folder instead;
* each layer in the compact encoding of :mod:`gis_town.maps.encode` on the
  canvas renderer, with hover tooltips and click popups built from escaped
  values and Chinese field labels;
* a layer control, a legend for every categorical or graduated layer (its
  section hides with its layer), a title with the data date, a scale bar,
  full-screen and measure tools (in Chinese, areas in mu);
* a fallback when the basemap tiles cannot load (no network, a blocked host):
  the page hides them, shows the DEM hillshade if the map has one (otherwise a
  plain light background) and a small note in Chinese and English
  (:data:`gis_town.maps.page.NO_TILES_NOTE`); the layers draw either way.

Nothing from the data reaches the page unescaped: values, field labels,
layer names, legend labels and the title are HTML-escaped in Python, and the
JSON is written so that it cannot close its ``<script>``.

Every page carries Leaflet, the plugins and their CSS inline
(:func:`gis_town.maps.offline.inline_assets`), so only basemap tiles may need
the network. Offline maps (``offline=True``) have no tile layer at all and
load nothing from the network: their background is a local tile folder, an
orthophoto or the DEM hillshade.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
from collections.abc import Sequence
from pathlib import Path

import branca.element as be
import folium
import geopandas as gpd
from folium.map import Layer
from folium.plugins import Fullscreen, MeasureControl
from jinja2 import Template

from gis_town import settings
from gis_town.config import TownConfig
from gis_town.errors import ConfigError, InputError
from gis_town.geodesy import pick_gk_crs, to_geographic
from gis_town.io.write import write_text
from gis_town.maps import offline as _offline
from gis_town.maps import tiles as _tiles
from gis_town.maps.encode import (
    bounds_lonlat,
    display_simplify,
    encode_layer,
    safe_json,
    simplify_layer,
)
from gis_town.maps.gcj02 import wgs84_to_gcj02
from gis_town.maps.page import DECODER_JS, NO_TILES_NOTE, PAGE_CSS
from gis_town.maps.spec import LayerSpec, Style, escape, escape_name, public_specs

__all__ = [
    "BASEMAPS",
    "DECODER_JS",
    "CompactLayer",
    "Legend",
    "NO_TILES_NOTE",
    "PAGE_CSS",
    "TownFigure",
    "TownMap",
    "build_map",
    "map_html",
    "save_map",
    "tianditu_key",
]

log = logging.getLogger(__name__)

#: Basemap choices: osm (default), tianditu, gaode (GCJ-02), none.
BASEMAPS: tuple[str, ...] = ("osm", "tianditu", "gaode", "none")


class TownFigure(be.Figure):
    """The page: a branca Figure whose HTML carries Leaflet and the plugins inline.

    Parameters
    ----------
    offline : bool
        The map uses no tiles (recorded for :attr:`TownMap.offline`; the
        scripts are inlined either way).
    title : str, optional
        The page title (plain text; escaped here).
    """

    def __init__(self, *, offline: bool = False, title: str | None = None, **kwargs) -> None:
        super().__init__(title=escape(title) if title else None, **kwargs)
        self.offline = offline
        self.header.add_child(be.Element(f"<style>{PAGE_CSS}</style>"), name="gt_css")
        self.header.add_child(be.Element(f"<script>{DECODER_JS}</script>"), name="gt_js")

    def render(self, **kwargs) -> str:
        """The page's HTML, Leaflet, the plugins and their CSS inlined."""
        return _offline.inline_assets(super().render(**kwargs))


class TownMap(folium.Map):
    """A ``folium.Map`` that loads only Leaflet (no jQuery, Bootstrap or web fonts).

    Use :func:`build_map` to make one. ``offline`` is the page's setting. The
    CDN URLs below only name the packaged files: :class:`TownFigure` replaces
    them by the files' content, so the page never fetches them.
    """

    default_js = [("leaflet", _offline.CDN["leaflet_js"])]
    default_css = [("leaflet_css", _offline.CDN["leaflet_css"])]

    @property
    def offline(self) -> bool:
        """True when the map uses no basemap tiles (nothing is fetched from the network)."""
        root = self.get_root()
        return bool(getattr(root, "offline", False))

    def page(self) -> str:
        """The full HTML page."""
        return self.get_root().render()


class _Fullscreen(Fullscreen):
    default_js = [("Control.Fullscreen.js", _offline.CDN["fullscreen_js"])]
    default_css = [("Control.FullScreen.css", _offline.CDN["fullscreen_css"])]


class _Measure(MeasureControl):
    default_js = [("leaflet_measure_js", _offline.CDN["measure_js"])]
    default_css = [("leaflet_measure_css", _offline.CDN["measure_css"])]


class _RawScript(be.Element):
    """A ``<script>`` in the page header whose code is inserted as it is (never read as a template)."""

    _template = Template("<script>{{ this.code }}</script>")

    def __init__(self, code: str) -> None:
        super().__init__()
        self.code = code


class _Script(be.MacroElement):
    """A script run in the map's script block, in the order added."""

    _template = Template("{% macro script(this, kwargs) %}{{ this.code }}{% endmacro %}")

    def __init__(self, code: str) -> None:
        super().__init__()
        self._name = "GisTownScript"
        self.code = code


class CompactLayer(Layer):
    """A map layer in the compact encoding (see :mod:`gis_town.maps.encode`).

    Parameters
    ----------
    data_json : str
        The encoded layer (safe inside ``<script>``).
    name : str
        Layer name for the layer control (plain text; escaped here).
    label_class : str
        CSS class of its text labels.
    """

    _template = Template(
        "{% macro script(this, kwargs) %}"
        "var {{ this.get_name() }} = GisTown.build({{ this._parent.get_name() }}, {{ this.data_json }}, "
        "{{ this.opts_json }});"
        "{% endmacro %}"
    )

    def __init__(
        self, data_json: str, name: str, *, show: bool = True, label_class: str = ""
    ) -> None:
        super().__init__(name=escape_name(name), overlay=True, control=True, show=show)
        self._name = "CompactLayer"
        self.plain_name = name
        self.data_json = data_json
        self.opts_json = safe_json({"id": escape(name), "labelClass": label_class})


class TileGroup(Layer):
    """Several tile layers switched as one base layer (e.g. Tianditu imagery + its labels)."""

    _template = Template(
        "{% macro script(this, kwargs) %}"
        "var {{ this.get_name() }} = L.layerGroup(["
        "{% for t in this.tiles %}L.tileLayer({{ t[0] }}, {{ t[1] }}){{ ',' if not loop.last }}{% endfor %}"
        "]);"
        "{% endmacro %}"
    )

    def __init__(
        self,
        tiles: Sequence[tuple[str, dict]],
        name: str,
        *,
        overlay: bool = False,
        show: bool = True,
    ) -> None:
        super().__init__(name=escape_name(name), overlay=overlay, control=True, show=show)
        self._name = "TileGroup"
        self.tiles = [(safe_json(url), safe_json(opts)) for url, opts in tiles]


class BackgroundImage(Layer):
    """An image overlay (hillshade, orthophoto) in the background pane.

    A ``hillshade`` is registered on its map (``map._gtHill``): the page
    switches it on when the basemap tiles cannot load.
    """

    _template = Template(
        "{% macro script(this, kwargs) %}"
        "var {{ this.get_name() }} = L.imageOverlay({{ this.url }}, {{ this.bounds }}, "
        "{pane: 'gtBackground', interactive: false, opacity: {{ this.opacity }}});"
        "{% if this.hillshade %}{{ this._parent.get_name() }}._gtHill = {{ this.get_name() }};{% endif %}"
        "{% endmacro %}"
    )

    def __init__(
        self,
        data_uri: str,
        bounds,
        name: str,
        *,
        opacity: float = 1.0,
        show: bool = True,
        hillshade: bool = False,
    ) -> None:
        super().__init__(name=escape_name(name), overlay=True, control=True, show=show)
        self._name = "BackgroundImage"
        self.url = safe_json(data_uri)
        self.bounds = safe_json(
            [[float(bounds[0][0]), float(bounds[0][1])], [float(bounds[1][0]), float(bounds[1][1])]]
        )
        self.opacity = float(opacity)
        self.hillshade = bool(hillshade)


_COLOR_RE = re.compile(r"^(#[0-9a-fA-F]{3,8}|[a-zA-Z]{3,20})$")


def _css_color(value: str | None, default: str = "#888888") -> str:
    return value if value and _COLOR_RE.match(value) else default


def _swatch(kind: str, style: Style) -> str:
    c = _css_color(style.color)
    f = _css_color(style.fill, "transparent") if style.fill else "transparent"
    if kind == "line":
        border = "dashed" if style.dash else "solid"
        w = max(1, min(6, round(style.weight)))
        return f'<span class="gt-ln" style="border-top:{w}px {border} {c}"></span>'
    if kind == "point":
        return f'<span class="gt-pt" style="background:{f};border:1.5px solid {c}"></span>'
    op = max(0.0, min(1.0, style.fill_opacity))
    border = "dashed" if style.dash else "solid"
    bw = max(1, min(3, round(style.weight)))
    return (
        f'<span class="gt-sw" style="background:{f};opacity:{max(op, 0.35):.2f};'
        f'border:{bw}px {border} {c}"></span>'
    )


def legend_html(specs: Sequence[tuple[int, LayerSpec]]) -> str:
    """The legend's HTML: one section per layer, every label escaped."""
    parts = []
    for idx, spec in specs:
        kind = spec.kind
        rows = []
        classes = spec.classes()
        if classes:
            for c in classes:
                rows.append(
                    f'<div class="gt-row">{_swatch(kind, spec.style_of(c))}{escape(spec.class_label(c))}</div>'
                )
            present = spec.gdf[spec.category].dropna()
            if (~present.isin(classes)).any() or spec.gdf[spec.category].isna().any():
                rows.append(f'<div class="gt-row">{_swatch(kind, spec.style)}其他 other</div>')
            parts.append(
                f'<div class="gt-sec" data-gt-sec="{idx}"><div class="gt-h">{escape(spec.name)}</div>{"".join(rows)}</div>'
            )
        else:
            parts.append(
                f'<div class="gt-sec" data-gt-sec="{idx}"><div class="gt-row">{_swatch(kind, spec.style)}'
                f"{escape(spec.name)}</div></div>"
            )
    return "".join(parts)


class Legend(be.MacroElement):
    """The legend control, linked to its layers (a section hides with its layer)."""

    _template = Template(
        "{% macro script(this, kwargs) %}"
        "GisTown.legend({{ this._parent.get_name() }}, {{ this.html_json }}, ["
        "{% for lyr, idx in this.links %}[{{ lyr.get_name() }}, {{ idx }}]{{ ',' if not loop.last }}{% endfor %}"
        "]);"
        "{% endmacro %}"
    )

    def __init__(self, html: str, links: Sequence[tuple[Layer, int]]) -> None:
        super().__init__()
        self._name = "GisTownLegend"
        self.html_json = safe_json(html)
        self.links = list(links)


def tianditu_key(config: TownConfig | None = None) -> str:
    """The Tianditu key: env ``TIANDITU_KEY``, else ``[map] tianditu_key``.

    Raises
    ------
    ConfigError
        When no key is set, or the key is not alphanumeric.
    """
    key = os.environ.get("TIANDITU_KEY") or (
        config.map.tianditu_key if config is not None else None
    )
    if not key:
        raise ConfigError(
            "天地图底图需要密钥 / the Tianditu basemap needs a key: set the environment variable "
            "TIANDITU_KEY, or tianditu_key under [map] in town.toml (a free key: 天地图开发者控制台 "
            "console.tianditu.gov.cn); or choose --basemap osm, gaode or none"
        )
    key = key.strip()
    if not re.fullmatch(r"[0-9A-Za-z]{8,64}", key):
        raise ConfigError(
            "天地图密钥格式不对 / the Tianditu key should be 8-64 letters and digits (a 32-character hex string); "
            f"got {len(key)} characters with other symbols: copy it again from the Tianditu console"
        )
    return key


def _tianditu(layer: str, key: str) -> tuple[str, dict]:
    url = (
        f"https://t{{s}}.tianditu.gov.cn/{layer}_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0"
        f"&LAYER={layer}&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={{z}}&TILEROW={{y}}"
        f"&TILECOL={{x}}&tk={key}"
    )
    return url, {
        "subdomains": "01234567",
        "maxZoom": 18,
        "attribution": "&copy; 天地图 Tianditu (国家地理信息公共服务平台)",
    }


def _add_basemap(m: TownMap, basemap: str, config: TownConfig | None) -> None:
    if basemap == "osm":
        folium.TileLayer(
            "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
            attr='&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors',
            name=escape_name("OpenStreetMap 街道图"),
            max_zoom=19,
        ).add_to(m)
    elif basemap == "tianditu":
        key = tianditu_key(config)
        TileGroup(
            [_tianditu("vec", key), _tianditu("cva", key)], "天地图 矢量 Tianditu vector"
        ).add_to(m)
        TileGroup(
            [_tianditu("img", key), _tianditu("cia", key)],
            "天地图 影像 Tianditu imagery",
            show=False,
        ).add_to(m)
    elif basemap == "gaode":
        attr = "&copy; 高德地图 AutoNavi (GCJ-02)"
        TileGroup(
            [
                (
                    "https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8&x={x}&y={y}&z={z}",
                    {"subdomains": "1234", "maxZoom": 18, "attribution": attr},
                )
            ],
            "高德 街道图 Gaode streets",
        ).add_to(m)
        TileGroup(
            [
                (
                    "https://webst0{s}.is.autonavi.com/appmaptile?style=6&x={x}&y={y}&z={z}",
                    {"subdomains": "1234", "maxZoom": 18, "attribution": attr},
                ),
                (
                    "https://webst0{s}.is.autonavi.com/appmaptile?style=8&x={x}&y={y}&z={z}",
                    {"subdomains": "1234", "maxZoom": 18, "attribution": attr},
                ),
            ],
            "高德 影像 Gaode imagery",
            show=False,
        ).add_to(m)
    elif basemap != "none":
        raise InputError(
            f"未知底图 / unknown basemap {basemap!r}: expected one of {', '.join(BASEMAPS)}"
        )


def _shift_bounds(bounds, gcj02: bool):
    if not gcj02:
        return bounds
    (s, w), (n, e) = bounds
    lon, lat = wgs84_to_gcj02([w, e], [s, n])
    return [[float(lat[0]), float(lon[0])], [float(lat[1]), float(lon[1])]]


def _format_date(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, (dt.date, dt.datetime)):
        return value.strftime("%Y-%m-%d")
    return str(value)


def build_map(
    specs: Sequence[LayerSpec],
    *,
    title: str,
    data_date: dt.date | str | None = None,
    subtitle: str | None = None,
    basemap: str | None = None,
    offline: bool = False,
    public: bool = False,
    config: TownConfig | None = None,
    dem: str | Path | None = None,
    orthophoto: str | Path | None = None,
    tiles_dir: str | Path | None = None,
    html_path: str | Path | None = None,
    simplify_m: float | None = None,
    gk_crs=None,
    decimals: int = settings.MAP_COORD_DECIMALS,
    tiles_above: int | None = None,
    tiles_out: str | Path | None = None,
) -> TownMap:
    """Build an interactive map from layer specs.

    Parameters
    ----------
    specs : sequence of LayerSpec
        Layers, drawn in this order (polygons below lines below points).
    title : str
        Title shown on the map and as the page title.
    data_date : date or str, optional
        The data's date, shown under the title (default: the config's
        ``town.data_date``).
    subtitle : str, optional
        Extra line under the title (e.g. "截至 2023-06-30").
    basemap : {"osm", "tianditu", "gaode", "none"}, optional
        Default: the config's ``[map] basemap`` (osm). ``gaode`` shifts every
        overlay coordinate to GCJ-02.
    offline : bool
        Use no web tiles (nothing is fetched): the background is ``tiles_dir``,
        ``orthophoto`` or a hillshade of ``dem`` (the first given). Leaflet and
        the plugins are inline in every page, offline or not.
    public : bool
        Leave personal names out (:data:`gis_town.maps.spec.PERSONAL_FIELDS`).
    config : TownConfig, optional
        The town config (basemap, Tianditu key, simplification, data date).
    dem, orthophoto, tiles_dir : path, optional
        Offline backgrounds. Online, ``dem`` adds a hillshade overlay (shown
        at start with ``basemap="none"``, and switched on by the page when
        the basemap tiles cannot load).
    html_path : path, optional
        Where the page will be saved (local tile URLs are made relative to it).
    simplify_m : float, optional
        Simplification tolerance in metres (default ``[map] simplify_m``; 0 given
        here: none at all, not even for display); polygon coverages keep their shared borders. Without it, a
        line layer or a named polygon coverage kept in the page (villages) of more than
        :data:`~gis_town.settings.MAP_DISPLAY_VERTICES` vertices is simplified
        for display to half a pixel two zooms closer than the first view
        (:func:`~gis_town.maps.encode.display_simplify`; a county's villages:
        about 8 m).
    gk_crs : CRS, optional
        Gauss-Kruger zone for simplification (picked from the data if omitted).
    decimals : int
        Decimals of a degree kept (6: about 0.1 m).
    tiles_above : int, optional
        Polygon coverage layers (parcels) with more features than this are
        written as vector tiles beside the page instead of into it, when the
        page has a place (``html_path`` or ``tiles_out``; a map shown only in
        Jupyter keeps every layer in the page)
        (:mod:`gis_town.maps.tiles`; default ``[map] tiles_above`` when the
        config has it, else :data:`~gis_town.maps.tiles.TILES_ABOVE`, or 0
        when ``tiles_out`` is given).
    tiles_out : path, optional
        Folder for the tiles (default ``<page>_tiles`` beside ``html_path``).

    Returns
    -------
    TownMap
        A ``folium.Map`` (shown inline in Jupyter; save with :func:`save_map`).

    Raises
    ------
    ConfigError
        Tianditu chosen without a key.
    InputError
        Unknown basemap.
    """
    cfg = config or TownConfig()
    basemap = (basemap or cfg.map.basemap).lower()
    if basemap not in BASEMAPS:
        raise InputError(
            f"未知底图 / unknown basemap {basemap!r}: expected one of {', '.join(BASEMAPS)}"
        )
    gcj = basemap == "gaode"
    if public:
        specs = public_specs(specs)
    tol = cfg.map.simplify_m if simplify_m is None else simplify_m
    data_date = data_date if data_date is not None else cfg.town.data_date

    # lon/lat copies (simplified in metres first where asked)
    frames: list[gpd.GeoDataFrame] = []
    non_empty = [s.gdf for s in specs if len(s.gdf)]
    if tol and tol > 0 and gk_crs is None and non_empty:
        gk_crs = pick_gk_crs(non_empty[0])
    for spec in specs:
        gdf = spec.gdf[[*spec.columns_used(), spec.gdf.geometry.name]]
        if tol and tol > 0 and spec.kind in ("polygon", "line"):
            gdf = simplify_layer(gdf, tol, gk_crs, coverage=spec.coverage)
        elif simplify_m != 0 and _display_simplified(spec) and len(gdf):  # a county's villages: display detail
            gk = gk_crs if gk_crs is not None else pick_gk_crs(gdf)
            gdf, _ = display_simplify(gdf, gk, coverage=spec.kind == "polygon")
        frames.append(to_geographic(gdf, layer=spec.name))

    fig = TownFigure(offline=offline, title=title)
    m = TownMap(
        location=None,
        tiles=None,
        prefer_canvas=True,
        control_scale=False,
        zoom_start=12,
        max_zoom=20,
    )
    fig.add_child(m)
    _Script(
        f"GisTown.panes({m.get_name()}); "
        f"L.control.scale({{imperial: false, maxWidth: 160, position: 'bottomleft'}}).addTo({m.get_name()});"
    ).add_to(m)

    if offline:
        if tiles_dir is not None:
            url = _offline.local_tiles(tiles_dir, html_path)
            folium.TileLayer(
                url,
                attr=escape("本地瓦片 local tiles"),
                name=escape_name("本地瓦片 local tiles"),
                max_zoom=20,
            ).add_to(m)
        elif orthophoto is not None:
            uri, b = _offline.raster_overlay(orthophoto)
            BackgroundImage(uri, _shift_bounds(b, gcj), "正射影像 orthophoto").add_to(m)
        elif dem is not None:
            uri, b = _offline.hillshade_overlay(dem)
            BackgroundImage(
                uri, _shift_bounds(b, gcj), "山体阴影 hillshade", opacity=0.55, hillshade=True
            ).add_to(m)
        else:
            log.warning(
                "离线地图没有底图：请给出 DEM、影像或瓦片目录 / offline map without a background: give a DEM, orthophoto or tile folder"
            )
    else:
        _add_basemap(m, basemap, cfg)
        if dem is not None:
            uri, b = _offline.hillshade_overlay(dem)
            BackgroundImage(
                uri,
                _shift_bounds(b, gcj),
                "山体阴影 hillshade",
                opacity=0.45,
                show=basemap == "none",
                hillshade=True,
            ).add_to(m)

    legend_items: list[tuple[int, LayerSpec]] = []
    links: list[tuple[Layer, int]] = []
    if tiles_above is None:  # [map] tiles_above once the config has it
        tiles_above = getattr(cfg.map, "tiles_above", None)
    if tiles_above is None:
        tiles_above = 0 if tiles_out is not None else _tiles.TILES_ABOVE
    tiled = False
    for i, (spec, frame) in enumerate(zip(specs, frames)):
        big = _tiles.is_tileable(spec) and _count_drawn(frame) > tiles_above
        if big and html_path is None and tiles_out is None:  # a notebook's map: no folder
            log.info(
                "图层 %s 要素较多，可写成矢量瓦片 / layer %s is large: give html_path or tiles_out "
                "to write it as vector tiles beside the page",
                spec.name,
                spec.name,
            )
            big = False
        if big:
            folder = _tiles.tiles_folder(html_path, tiles_out)
            key = f"{i:02d}_{spec.schema_layer or 'layer'}"
            tileset = _tiles.write_tiles(spec, frame, folder, key, gcj02=gcj)
            layer = _tiles.TiledLayer(tileset, spec, html_path)
            layer.add_to(m)
            tiled = True
        else:
            data, n = encode_layer(spec, frame, decimals=decimals, gcj02=gcj)
            label_class = {"zones": "gt-zone", "villages": "gt-village"}.get(
                spec.schema_layer or "", ""
            )
            layer = CompactLayer(data, spec.name, show=spec.show, label_class=label_class)
            layer.add_to(m)
            layer.n_features = n
            layer.n_bytes = len(data.encode("utf-8"))
        if spec.legend:
            legend_items.append((i, spec))
            links.append((layer, i))
    if legend_items:
        Legend(legend_html(legend_items), links).add_to(m)
    if tiled:
        fig.header.add_child(
            _RawScript(_offline.asset_text(_tiles.PLUGIN_ASSET)), name="gt_tiles_plugin"
        )
        fig.header.add_child(_RawScript(_tiles.TILES_JS), name="gt_tiles_js")

    date_s = _format_date(data_date)
    lines = [escape(title)]
    small = []
    if subtitle:
        small.append(escape(subtitle))
    if date_s:
        small.append(f"数据日期 data date: {escape(date_s)}")
    if basemap == "gaode" and not offline:
        small.append("高德底图：叠加图层已转为 GCJ-02 / overlays shifted to GCJ-02")
    title_html = lines[0] + "".join(f"<small>{s}</small>" for s in small)
    _Script(
        f"GisTown.title({m.get_name()}, {safe_json(title_html)}); GisTown.finish({m.get_name()});"
    ).add_to(m)

    _Fullscreen(
        position="topleft", title="全屏 Full screen", title_cancel="退出全屏 Exit full screen"
    ).add_to(m)
    _Measure(
        position="topleft",
        primary_length_unit="meters",
        secondary_length_unit="kilometers",
        primary_area_unit="mu",
        secondary_area_unit="sqmeters",
        localization="cn",
        units={"mu": {"factor": settings.MU_PER_M2, "display": "亩 mu", "decimals": 2}},
    ).add_to(m)
    folium.LayerControl(position="topright", collapsed=False).add_to(m)

    b = bounds_lonlat(frames)
    if b is not None:
        w, s, e, n = b
        (s, w), (n, e) = _shift_bounds([[s, w], [n, e]], gcj)
        m.fit_bounds([[s, w], [n, e]], padding=(10, 10))
    return m


def _display_simplified(spec: LayerSpec) -> bool:
    """Simplified for display when large: a named polygon coverage kept in the page (villages), lines (rivers)."""
    if spec.kind == "line":
        return True
    return spec.kind == "polygon" and spec.coverage and not _tiles.is_tileable(spec)


def _count_drawn(frame: gpd.GeoDataFrame) -> int:
    """Features with a geometry (what a layer draws)."""
    g = frame.geometry
    return int((~(g.isna() | g.is_empty)).sum())


def map_html(m: folium.Map) -> str:
    """The full HTML page of a map (Leaflet, plugins and CSS inline)."""
    return m.get_root().render()


def save_map(m: folium.Map, path: str | Path) -> Path:
    """Write the map's page atomically (UTF-8). Returns the path."""
    path = Path(path)
    page = map_html(m)
    write_text(page, path)
    log.info("写出地图 wrote map %s (%.1f KB)", path, len(page.encode("utf-8")) / 1024)
    return path
