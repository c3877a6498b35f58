"""Vector tiles for large polygon layers (issue 17): the archive, its packed copy, the page.

Hand-made parcels: a 20 x 15 grid of 90 m x 90 m squares on a 100 m pitch in
a Gauss-Kruger CRS (EPSG:4544), the western half 旱地 (pure red fill), the
eastern half 水浇地 (pure blue). The map is built with a threshold below the
layer's 300 parcels, so the layer is written as tiles; the tests check the
archive with GDAL (every parcel in it, classes as built), the packed pieces
(they join to the archive byte for byte), the page (no parcel value in the
HTML, the plugin inlined), and in headless Chromium with every request that
is not ``file:`` or ``data:`` refused: all 300 parcels decoded in the tiles on
screen, red and blue pixels covering the area the squares take on screen
(computed here from their corners), an escaped tooltip and popup, and the
layer control switching the layer and its legend section off and on.
"""

from __future__ import annotations

import base64
import html
import json
import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from gis_town.maps import tiles as T
from gis_town.maps.base import CompactLayer, build_map, save_map
from gis_town.maps.spec import LayerSpec, Style

X0, Y0 = 460_000.0, 3_940_000.0  # EPSG:4544, about 104.56E 35.6N
NX, NY, PITCH, SIDE = 20, 15, 100.0, 90.0
EVIL = '<img src=x onerror="window.__pwned=1">'
RED, BLUE = "#ff0000", "#0000ff"


def parcels() -> gpd.GeoDataFrame:
    cells, ids, use = [], [], []
    for i in range(NX):
        for j in range(NY):
            x, y = X0 + i * PITCH, Y0 + j * PITCH
            cells.append(shapely.box(x, y, x + SIDE, y + SIDE))
            ids.append(f"P{i:02d}{j:02d}" + (EVIL if (i, j) == (3, 4) else ""))
            use.append("旱地" if i < NX // 2 else "水浇地")
    return gpd.GeoDataFrame({"parcel_id": ids, "land_use": use}, geometry=cells, crs=4544)


def spec(gdf: gpd.GeoDataFrame | None = None) -> LayerSpec:
    return LayerSpec(
        "耕地 farmland (by land use 地类)",
        parcels() if gdf is None else gdf,
        fields=["parcel_id", "land_use"],
        tooltip=["parcel_id", "land_use"],
        category="land_use",
        styles={
            "旱地": Style(color=RED, fill=RED, weight=0.5, fill_opacity=1.0),
            "水浇地": Style(color=BLUE, fill=BLUE, weight=0.5, fill_opacity=1.0),
        },
        schema_layer="farmland",
        coverage=True,
    )


@pytest.fixture(scope="module")
def tiled(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("tiled")
    page = folder / "farm.html"
    m = build_map([spec()], title="矢量瓦片 tiles", offline=True, html_path=page, tiles_above=100)
    save_map(m, page)
    return page


def test_small_layers_stay_in_the_page_and_large_ones_become_tiles(tmp_path):
    page = tmp_path / "p.html"
    m = build_map([spec()], title="t", offline=True, html_path=page, tiles_above=300)
    assert any(isinstance(c, CompactLayer) for c in m._children.values())  # 300 is not above 300
    assert not (tmp_path / "p_tiles").exists()
    m = build_map([spec()], title="t", offline=True, html_path=page, tiles_above=299)
    layers = [c for c in m._children.values() if isinstance(c, T.TiledLayer)]
    assert len(layers) == 1 and layers[0].n_features == NX * NY
    assert (tmp_path / "p_tiles" / "00_farmland.pmtiles").is_file()
    # --tiles-out alone tiles every eligible layer
    out = tmp_path / "elsewhere"
    m = build_map([spec()], title="t", offline=True, html_path=page, tiles_out=out)
    assert (out / "00_farmland.pmtiles").is_file()


def test_only_unlabelled_polygon_coverages_are_tileable():
    s = spec()
    assert T.is_tileable(s)
    s2 = LayerSpec("v", parcels(), fields=["parcel_id"], label_field="parcel_id", coverage=True)
    assert not T.is_tileable(s2)
    s3 = LayerSpec("p", parcels(), fields=["parcel_id"], coverage=False)
    assert not T.is_tileable(s3)
    pts = parcels().set_geometry(parcels().centroid)
    assert not T.is_tileable(LayerSpec("pts", pts, fields=["parcel_id"], coverage=True))


def test_tile_zooms():
    # 0.26 deg wide (a town): fits at zoom 12 on 1280 px, tiles from 10
    assert T.tile_zooms((104.5, 35.5, 104.76, 35.6)) == (10, 14)
    # a county, 1.2 deg: fits at 10, but no lower than MAX_ZOOM - 5
    assert T.tile_zooms((104.0, 35.0, 105.2, 36.0)) == (9, 14)
    # a village: one zoom
    assert T.tile_zooms((104.56, 35.6, 104.58, 35.61)) == (14, 14)


def test_archive_holds_every_parcel_with_its_class(tiled):
    import pyogrio

    archive = tiled.parent / "farm_tiles" / "00_farmland.pmtiles"
    assert archive.read_bytes()[:7] == b"PMTiles"
    df = pyogrio.read_dataframe(archive)  # the highest zoom: parcels cut at tile edges
    assert set(df.columns) == {"mvt_id", "gt_class", "gt_id", "geometry"}  # no values in tiles
    by_id = df.groupby("gt_id")["gt_class"].first()
    assert sorted(by_id.index) == list(range(NX * NY))
    # rows in the layer's order (i outer, j inner): the western half is class 1 (旱地)
    west = by_id.index < (NX // 2) * NY
    assert set(by_id[west]) == {1} and set(by_id[~west]) == {2}
    # every piece of a parcel lies within its square (lon/lat back to EPSG:4544)
    gk = df.set_crs(3857, allow_override=True).to_crs(4544)
    for gid, geom in zip(gk["gt_id"], gk.geometry):
        i, j = divmod(int(gid), NY)
        x, y = X0 + i * PITCH, Y0 + j * PITCH
        assert shapely.box(x - 1, y - 1, x + SIDE + 1, y + SIDE + 1).contains(geom)


def test_values_blocks_hold_the_escaped_values_by_row(tiled):
    from gis_town.maps.encode import decode_varints

    text = (tiled.parent / "farm_tiles" / "00_farmland" / "a00000.js").read_text(encoding="utf-8")
    m = re.fullmatch(r'GisTown\.tileAttrs\("00_farmland",0,(.*)\);\n', text, flags=re.S)
    assert m
    cols = json.loads(m.group(1))["v"]

    def column(c):
        if "d" in c:
            return [c["d"][k] for k in decode_varints(c["i"])]
        if "k" in c:
            out, prev = [], ""
            for k, x in zip(decode_varints(c["k"]), c["x"]):
                prev = prev[:k] + x
                out.append(prev)
            return out
        return c["s"]

    ids, uses = column(cols[0]), column(cols[1])
    assert len(ids) == NX * NY
    assert ids[3 * NY + 4] == "P0304" + html.escape(EVIL, quote=True)
    assert ids[0] == "P0000" and uses[0] == "旱地" and uses[-1] == "水浇地"
    assert "<img" not in text


def test_pieces_join_to_the_archive(tiled):
    folder = tiled.parent / "farm_tiles"
    data = (folder / "00_farmland.pmtiles").read_bytes()
    pieces = sorted((folder / "00_farmland").glob("0*.js"))
    assert len(pieces) == -(-len(data) // T.CHUNK_BYTES)
    joined = b""
    for i, p in enumerate(pieces):
        m = re.fullmatch(
            r'GisTown\.tileChunk\("00_farmland",(\d+),"([A-Za-z0-9+/=]*)"\);\n', p.read_text()
        )
        assert m and int(m.group(1)) == i
        joined += base64.b64decode(m.group(2))
    assert joined == data


def test_page_carries_the_plugin_but_no_parcel_values(tiled):
    from gis_town.maps.offline import remote_references

    page = tiled.read_text(encoding="utf-8")
    assert "protomapsL" in page and "GisTown.tiled(" in page
    assert "P0304" not in page and "__pwned" not in page
    assert '"dir":"farm_tiles/00_farmland"' in page  # relative: page and folder copy together
    assert remote_references(page) == []


def test_small_page_has_no_plugin(tmp_path):
    page = tmp_path / "p.html"
    save_map(build_map([spec()], title="t", offline=True, html_path=page), page)
    assert "protomapsL" not in page.read_text(encoding="utf-8")


# --------------------------------------------------------------------------- browser

#: Pixels of pure red and pure blue on the tile canvases of the tiled pane.
COLOUR_JS = """() => {
  let red = 0, blue = 0;
  for (const c of document.querySelectorAll('.leaflet-gtTiled-pane canvas')) {
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    for (let i = 0; i < d.length; i += 4) {
      if (d[i] > 220 && d[i + 1] < 30 && d[i + 2] < 30) red++;
      else if (d[i + 2] > 220 && d[i] < 30 && d[i + 1] < 30) blue++;
    }
  }
  return [red, blue];
}"""

#: Screen area (CSS px) of every square of one half, from its corners.
AREA_JS = """(boxes) => {
  let a = 0;
  for (const [s, w, n, e] of boxes) {
    const p = GisTown.map.latLngToContainerPoint([s, w]), q = GisTown.map.latLngToContainerPoint([n, e]);
    a += Math.abs(q.x - p.x) * Math.abs(q.y - p.y);
  }
  return a;
}"""


def _in_chromium(page_path, check) -> None:
    """Open ``page_path`` in headless Chromium (network refused) at 1280 x 820 and run ``check``."""
    from tests.test_map_browser import CHROMIUM, CHROMIUM_ARGS, Opened

    if not CHROMIUM.exists():
        pytest.skip("headless Chromium not installed")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            check(Opened(browser, page_path, width=1280, height=820))
        finally:
            browser.close()


@pytest.mark.browser
def test_tiled_map_draws_its_parcels_with_the_network_refused(tiled):
    _in_chromium(tiled, _check_page)


def _wait_drawn(o) -> None:
    o.page.wait_for_function(
        "() => { const l = Object.values(GisTown.tiledLayers)[0];"
        " return l._map && !l.isLoading() && GisTown.tiledDrawn(l).features > 0; }",
        timeout=20000,
    )
    o.page.wait_for_timeout(200)


def _check_page(o) -> None:
    name = "耕地 farmland (by land use 地类)"
    _wait_drawn(o)
    assert o.requests == [] and o.errors == [], (o.requests, o.errors)
    drawn = o.js("() => GisTown.tiledDrawn(Object.values(GisTown.tiledLayers)[0])")
    assert drawn["features"] == NX * NY

    # red and blue cover what the squares take on screen
    lonlat = parcels().to_crs(4326)
    west = lonlat[lonlat["land_use"] == "旱地"].geometry.bounds
    east = lonlat[lonlat["land_use"] == "水浇地"].geometry.bounds
    boxes = lambda b: b[["miny", "minx", "maxy", "maxx"]].to_numpy().tolist()  # noqa: E731
    want_red, want_blue = o.js(AREA_JS, boxes(west)), o.js(AREA_JS, boxes(east))
    dpr = o.js("window.devicePixelRatio")
    red, blue = o.js(COLOUR_JS)
    assert want_red > 50_000  # the grid fills much of the screen
    assert abs(red / dpr**2 - want_red) < 0.12 * want_red, (red, want_red)
    assert abs(blue / dpr**2 - want_blue) < 0.12 * want_blue, (blue, want_blue)
    o.screenshot("tiled_farmland")

    # tooltip and popup of the parcel whose id carries HTML: shown as text, nothing runs
    b = lonlat.geometry.iloc[3 * NY + 4].centroid
    o.click_latlng(b.y, b.x, hover=True)
    o.page.wait_for_selector(".gt-tip", timeout=5000)
    tip = o.page.locator(".gt-tip").inner_text()
    assert tip == f"P0304{EVIL} · 旱地", tip
    o.click_latlng(b.y, b.x)
    o.page.wait_for_selector(".gt-popup", timeout=5000)
    assert EVIL in o.page.locator(".gt-popup").inner_text()
    assert "&lt;img" in o.js("document.querySelector('.gt-popup').innerHTML")
    o.no_harm()
    o.page.keyboard.press("Escape")
    o.js("GisTown.map.closePopup()")

    # the layer control switches the layer and its legend section
    box = o.page.locator(".leaflet-control-layers-overlays label", has_text=name)
    sec = o.page.locator('.gt-legend [data-gt-sec="0"]')
    assert sec.is_visible()
    box.locator("input").click()
    o.page.wait_for_timeout(300)
    assert not o.js("GisTown.map.hasLayer(Object.values(GisTown.tiledLayers)[0])")
    assert o.js(COLOUR_JS) == [0, 0]
    assert not sec.is_visible()
    box.locator("input").click()
    _wait_drawn(o)
    red2, _ = o.js(COLOUR_JS)
    assert abs(red2 / dpr**2 - want_red) < 0.12 * want_red
    assert sec.is_visible()
    assert o.errors == [] and o.requests == []
    o.close()


def test_map_command_writes_tiles_beside_the_page(tmp_path, capsys):
    from gis_town.cli import main
    from tests.test_maps import make_town

    town = make_town(tmp_path / "town", n=10)  # 100 parcels
    out = tmp_path / "maps" / "layout.html"
    assert (
        main(["map", str(town), "--kind", "layout", "--tiles-above", "50", "--out", str(out)]) == 0
    )
    folder = out.parent / "layout_tiles"
    archives = sorted(p.name for p in folder.glob("*.pmtiles"))
    assert len(archives) >= 1 and any("farmland" in a for a in archives)
    assert "layout_tiles" in capsys.readouterr().out
    page = out.read_text(encoding="utf-8")
    assert "GisTown.tiled(" in page and '"dir":"layout_tiles/' in page
    # below the threshold nothing is tiled
    out2 = tmp_path / "maps" / "small.html"
    assert main(["-q", "map", str(town), "--kind", "layout", "--out", str(out2)]) == 0
    assert not (out.parent / "small_tiles").exists()


def test_a_map_without_a_place_for_tiles_keeps_its_parcels_in_the_page():
    m = build_map([spec()], title="t", offline=True, tiles_above=10)  # a notebook's map
    assert any(isinstance(c, CompactLayer) for c in m._children.values())
    assert not any(isinstance(c, T.TiledLayer) for c in m._children.values())


# --------------------------------------------------------------------------- overview

#: A wider grid for the overview: 40 x 30 squares of 300 m on a 400 m pitch (16 km x 12 km),
#: three classes in stripes and spots, one class label carrying HTML.
OX, OY, OPITCH, OSIDE = 40, 30, 400.0, 300.0
DRY_LABEL = "旱地 <b>dry</b>"


def wide_parcels() -> gpd.GeoDataFrame:
    cells, ids, use = [], [], []
    for i in range(OX):
        for j in range(OY):
            x, y = X0 + i * OPITCH, Y0 + j * OPITCH
            cells.append(shapely.box(x, y, x + OSIDE, y + OSIDE))
            ids.append(f"W{i:02d}{j:02d}")
            use.append(
                "水田" if (i * 7 + j * 3) % 11 == 0 else ("旱地" if i < OX // 2 else "水浇地")
            )
    return gpd.GeoDataFrame({"parcel_id": ids, "land_use": use}, geometry=cells, crs=4544)


def wide_spec() -> LayerSpec:
    s = spec(wide_parcels())
    styles = dict(s.styles)
    styles["水田"] = Style(color="#00ff00", fill="#00ff00", weight=0.5, fill_opacity=1.0)
    return LayerSpec(
        s.name,
        s.gdf,
        fields=s.fields,
        tooltip=s.tooltip,
        category="land_use",
        styles=styles,
        class_labels={"旱地": DRY_LABEL},
        schema_layer="farmland",
        coverage=True,
    )


@pytest.fixture()
def small_overview(monkeypatch):
    """Overviews for layers of a thousand features: above 100, parcels from zoom 14."""
    from gis_town.maps import overview as ov

    monkeypatch.setattr(ov, "OVERVIEW_ABOVE", 100)
    monkeypatch.setattr(ov, "PARCELS_PER_TILE", 40)
    return ov


def _geodesic_mu(gdf: gpd.GeoDataFrame) -> pd.Series:
    """Each parcel's area in mu, from pyproj's geodesic area on the CGCS2000 ellipsoid."""
    import pyproj

    geod = pyproj.Geod(a=6378137.0, rf=298.257222101)
    ll = gdf.to_crs(4490)
    m2 = [abs(geod.geometry_area_perimeter(g)[0]) for g in ll.geometry]
    return pd.Series(m2, index=gdf.index) / (10000.0 / 15.0)


def test_overview_keeps_each_class_total_area_and_count(small_overview):
    ov = small_overview
    gdf = wide_parcels()
    index = {"旱地": 1, "水浇地": 2, "水田": 3}
    cls = gdf["land_use"].map(index).to_numpy()
    merc = gdf.to_crs(3857)
    base = ov.dissolve(merc, cls, ov.cell_size(14))
    want_mu = _geodesic_mu(gdf).groupby(cls).sum()
    got_mu = base.groupby("gt_class")["gt_area"].sum()
    assert sorted(got_mu.index) == [1, 2, 3]
    for c in (1, 2, 3):
        assert got_mu[c] == pytest.approx(want_mu[c], rel=1e-6)
    assert (
        base.groupby("gt_class")["gt_n"].sum().to_dict() == pd.Series(cls).value_counts().to_dict()
    )
    assert len(base) < len(gdf) / 3  # dissolved: far fewer shapes than parcels
    # the shapes cover the parcels of their class exactly (areas in EPSG:4544, metres)
    shapes = base.to_crs(4544)
    for c in (1, 2, 3):
        want = gdf.geometry[cls == c].area.sum()
        assert shapes.geometry[shapes["gt_class"] == c].area.sum() == pytest.approx(want, rel=1e-6)
    # a level drops nothing at a zoom where each square is many pixels, and stays within 1 %
    lv = ov.level(base, 13)
    assert len(lv) == len(base)
    lv_area = lv.to_crs(4544).geometry.area.sum()
    assert lv_area == pytest.approx(gdf.geometry.area.sum(), rel=0.01)
    # no two shapes of a level overlap (a class drawn over another would hide it)
    assert shapely.union_all(lv.geometry.values).area == pytest.approx(
        lv.geometry.area.sum(), rel=1e-6
    )


def test_overview_level_drops_what_is_smaller_than_a_pixel(small_overview):
    ov = small_overview
    big = shapely.box(0, 0, 20_000, 20_000).difference(shapely.box(5_000, 5_000, 5_010, 5_010))
    spot = shapely.box(30_000, 0, 30_010, 10)
    base = gpd.GeoDataFrame(
        {"gt_class": [1, 2], "gt_id": [0, 1], "gt_area": [1.0, 2.0], "gt_n": [1, 1]},
        geometry=[shapely.MultiPolygon([big, spot]), shapely.box(5_000, 5_000, 5_010, 5_010)],
        crs=3857,
    )
    lv = ov.level(base, 10)  # a pixel is 76 m: the 10 m hole and spot go
    assert list(lv["gt_id"]) == [0, 1]
    g = lv.geometry.iloc[0]
    assert g.geom_type == "Polygon" and len(g.interiors) == 0
    assert g.area == pytest.approx(20_000**2, rel=1e-6)
    # a shape with nothing but small parts keeps its largest (scattered parcels stay seen)
    sq = lv.geometry.iloc[1]
    assert sq.area > 0 and shapely.box(5_000, 5_000, 5_010, 5_010).buffer(1e-6).contains(sq)
    assert len(ov.level(base, 20)) == 2  # a pixel of 0.07 m: everything stays


def test_overview_levels_and_zooms():
    from gis_town.maps import overview as ov

    assert ov.overview_levels(9, 13) == [(6, 9), (10, 10), (11, 11), (12, 12)]
    assert ov.overview_levels(10, 10) == []
    # a million parcels over 50 km x 50 km (Web Mercator metres at 35.6 N: 61 km x 61 km)
    b = np.array([0.0, 0.0, 61_000.0, 61_000.0])
    assert ov.parcel_zoom(b, 1_000_000, 9, 14) == 13
    assert ov.parcel_zoom(b, 10_000, 9, 14) == 10
    assert ov.parcel_zoom(b, 1_000, 9, 14) == 9


def _header_zooms(path: Path) -> tuple[int, int]:
    """(min, max) zoom from a PMTiles v3 header (bytes 100 and 101)."""
    head = path.read_bytes()[:127]
    assert head[:7] == b"PMTiles" and head[7] == 3
    return head[100], head[101]


@pytest.fixture()
def wide_page(tmp_path, small_overview) -> Path:
    page = tmp_path / "wide.html"
    m = build_map(
        [wide_spec()], title="概览 overview", offline=True, html_path=page, tiles_above=100
    )
    save_map(m, page)
    return page


def test_overview_archives_beside_the_parcels(wide_page):
    import pyogrio

    folder = wide_page.parent / "wide_tiles"
    lo, hi = T.tile_zooms(wide_parcels().to_crs(4326).total_bounds)
    assert _header_zooms(folder / "00_farmland.pmtiles") == (14, 14)  # parcels only where visible
    levels = sorted(folder.glob("00_farmland_o*.pmtiles"), key=lambda p: int(p.stem.split("_o")[1]))
    assert [int(p.stem.split("_o")[1]) for p in levels] == list(range(lo, 14))
    assert _header_zooms(levels[0]) == (max(0, lo - 3), lo)
    for p in levels[1:]:
        z = int(p.stem.split("_o")[1])
        assert _header_zooms(p) == (z, z)
    df = pyogrio.read_dataframe(levels[-1])
    assert {"gt_class", "gt_id", "gt_area", "gt_n"} <= set(df.columns)
    assert df.groupby("gt_id")["gt_n"].first().sum() == OX * OY
    # each level is packed like the parcels (the pieces join to the archive)
    for p in levels:
        pieces = sorted((folder / p.stem).glob("0*.js"))
        joined = b"".join(
            base64.b64decode(re.search(r',"([A-Za-z0-9+/=]*)"\);', q.read_text()).group(1))
            for q in pieces
        )
        assert joined == p.read_bytes()
    page = wide_page.read_text(encoding="utf-8")
    assert '"ov":[{"key":"00_farmland_o' in page
    assert html.escape(DRY_LABEL, quote=True) in page and DRY_LABEL not in page
    assert "W0000" not in page


@pytest.mark.browser
def test_overview_drawn_at_the_first_view_and_parcels_closer_in(wide_page):
    _in_chromium(wide_page, _check_overview)


#: The farmland layer's state once every tile in view is drawn.
DRAWN_JS = (
    "() => { const l = Object.values(GisTown.tiledLayers)[0];"
    " if (!l._map || l.isLoading()) return null; return GisTown.tiledDrawn(l); }"
)


def _drawn(o, ok) -> dict:
    o.page.wait_for_function(
        f"() => {{ const d = ({DRAWN_JS})(); return d && ({ok}); }}", timeout=20000
    )
    o.page.wait_for_timeout(200)
    return o.js(DRAWN_JS)


def _check_overview(o) -> None:
    d = _drawn(o, "d.overview > 0")
    assert o.requests == [] and o.errors == [], (o.requests, o.errors)
    # the first view is the overview: dissolved shapes standing for every parcel, none drawn alone
    assert o.js("GisTown.map.getZoom()") <= 13
    assert d["features"] == 0 and d["overviewParcels"] == OX * OY and d["overview"] < OX * OY / 3

    # each class's colour covers what its squares take on screen (fill only, no outlines)
    lonlat = wide_parcels().to_crs(4326)
    boxes = lambda b: b[["miny", "minx", "maxy", "maxx"]].to_numpy().tolist()  # noqa: E731
    dry = lonlat[lonlat["land_use"] == "旱地"]
    want_red = o.js(AREA_JS, boxes(dry.geometry.bounds))
    want_blue = o.js(AREA_JS, boxes(lonlat[lonlat["land_use"] == "水浇地"].geometry.bounds))
    dpr = o.js("window.devicePixelRatio")
    red, blue = o.js(COLOUR_JS)
    assert want_red > 20_000
    assert abs(red / dpr**2 - want_red) < 0.15 * want_red, (red, want_red)
    assert abs(blue / dpr**2 - want_blue) < 0.15 * want_blue, (blue, want_blue)
    o.screenshot("tiled_overview")

    # the overview's tooltip and popup: class (its label escaped), area, parcels
    c = dry.geometry.iloc[len(dry) // 2].centroid
    o.click_latlng(c.y, c.x, hover=True)
    o.page.wait_for_selector(".gt-tip", timeout=5000)
    tip = o.page.locator(".gt-tip").inner_text()
    assert re.fullmatch(re.escape(DRY_LABEL) + r" · [\d,]+\.\d 亩 · \d+ 块", tip), tip
    assert o.js("document.querySelectorAll('.gt-tip b').length") == 0
    o.click_latlng(c.y, c.x)
    o.page.wait_for_selector(".gt-popup", timeout=5000)
    text = o.page.locator(".gt-popup").inner_text()
    assert DRY_LABEL in text and "overview" in text
    o.no_harm()
    o.js("GisTown.map.closePopup()")

    # closer in, the parcels themselves, with their own tooltip
    o.js("([a, b]) => { GisTown.map.setView([a, b], 15, {animate: false}); }", [c.y, c.x])
    d = _drawn(o, "d.features > 0")
    assert 0 < d["features"] < OX * OY
    o.page.mouse.move(5, 5)
    o.click_latlng(c.y, c.x, hover=True)
    o.page.wait_for_function(
        "() => { const t = document.querySelector('.gt-tip'); return t && /^W\\d{4} · /.test(t.innerText); }",
        timeout=5000,
    )
    assert o.errors == [] and o.requests == []
    o.close()
