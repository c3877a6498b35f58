"""Display simplification of large layers kept in the page (a county's villages and rivers).

The tolerance is half a pixel two zooms closer than the first view, computed
here from Web Mercator's pixel size; the simplified villages stay a coverage
(union area equals the sum of areas: no overlaps; the union has no holes: no
gaps), every village keeps its row and name, the town's own layer is not
touched, small layers are left as they are, and in Chromium the labels of a
simplified layer still show, escaped.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely

from gis_town import settings
from gis_town.maps.encode import display_simplify, display_tolerance_m, fit_zoom
from tests.test_maps import EVIL, X0, Y0

#: Web Mercator metres per pixel at zoom 0 on the equator: the equator's length / 256.
EQUATOR_M = 40_075_016.685578488


def wiggly_villages(nx: int = 3, ny: int = 3, k: int = 60, step: float = 10.0) -> gpd.GeoDataFrame:
    """nx x ny villages of k x k cells of ``step`` m whose borders zigzag (shared vertices, EPSG:4544)."""
    rng = np.random.default_rng(7)
    gx = X0 + np.arange(nx * k + 1) * step
    gy = Y0 + np.arange(ny * k + 1) * step
    xx, yy = np.meshgrid(gx, gy, indexing="ij")
    jitter = rng.uniform(-0.002 * step, 0.002 * step, size=(2, *xx.shape))
    jitter[:, [0, -1], :] = 0.0  # the outer frame stays straight
    jitter[:, :, [0, -1]] = 0.0
    px, py = xx + jitter[0], yy + jitter[1]
    geoms, names = [], []
    for i in range(nx):
        for j in range(ny):
            a, b, c, d = i * k, (i + 1) * k, j * k, (j + 1) * k
            ring = (
                [(px[q, c], py[q, c]) for q in range(a, b)]
                + [(px[b, q], py[b, q]) for q in range(c, d)]
                + [(px[q, d], py[q, d]) for q in range(b, a, -1)]
                + [(px[a, q], py[a, q]) for q in range(d, c, -1)]
            )
            geoms.append(shapely.Polygon(ring))
            names.append(f"{EVIL}村{i}{j}" if (i, j) == (1, 1) else f"测试村{i}{j}")
    gdf = gpd.GeoDataFrame(
        {"village_id": [f"V{n:02d}" for n in range(len(geoms))], "name": names},
        geometry=geoms,
        crs="EPSG:4544",
    )
    assert shapely.is_valid(np.asarray(gdf.geometry.values)).all()
    return gdf


def test_fit_zoom_is_the_zoom_where_the_bounds_fit():
    # 1/1024 of the world's width fits 256 px at zoom 10, not at 11
    w = 360.0 / 1024 * 0.99
    assert fit_zoom((0.0, -0.001, w, 0.001), (256, 256)) == 10
    assert fit_zoom((0.0, -0.001, w, 0.001), (500, 256)) == 10
    assert fit_zoom((0.0, -0.001, w, 0.001), (520, 256)) == 11
    # the height decides when it is the tighter one
    assert fit_zoom((0.0, -0.001, 0.002, 0.001), (256, 1)) < 10


def test_display_tolerance_is_half_a_pixel_two_zooms_closer():
    bounds = (104.0, 35.0, 104.9, 35.8)  # about a county
    z = fit_zoom(bounds, settings.MAP_VIEW_PX) + 2
    lat = math.radians(35.4)
    want = 0.5 * EQUATOR_M / 256 * math.cos(lat) / 2**z
    assert display_tolerance_m(bounds) == pytest.approx(want, rel=1e-12)
    assert 1.0 < want < 20.0
    assert display_tolerance_m(bounds, px=1.0, zooms=0) == pytest.approx(want * 2 * 4, rel=1e-12)


def test_simplified_villages_stay_a_coverage_and_keep_their_names():
    gk = wiggly_villages()
    lonlat = gk.to_crs(4490)
    before = lonlat.copy()
    n0 = int(shapely.get_num_coordinates(np.asarray(gk.geometry.values)).sum())
    out, tol = display_simplify(lonlat, "EPSG:4544", max_vertices=1000)
    assert tol > 0
    assert list(out["name"]) == list(before["name"]) and list(out.index) == list(before.index)
    assert out.crs == lonlat.crs
    assert all(a.equals_exact(b, 0) for a, b in zip(lonlat.geometry, before.geometry))
    s = np.asarray(out.to_crs(4544).geometry.values)
    assert not shapely.is_empty(s).any() and shapely.is_valid(s).all()
    n1 = int(shapely.get_num_coordinates(s).sum())
    assert n1 < n0 / 3
    areas = shapely.area(s)
    union = shapely.union_all(s)
    assert union.area == pytest.approx(areas.sum(), rel=1e-9)  # no overlaps
    assert union.geom_type == "Polygon" and len(union.interiors) == 0  # no gaps
    orig = shapely.area(np.asarray(gk.geometry.values))
    # each village moves by at most the tolerance along its borders
    assert np.all(np.abs(areas - orig) < 4 * 600 * tol)
    assert (
        shapely.hausdorff_distance(shapely.union_all(np.asarray(gk.geometry.values)), union)
        <= tol * 1.01
    )


def test_small_layers_are_left_as_they_are():
    gdf = wiggly_villages(1, 2, k=5).to_crs(4490)
    out, tol = display_simplify(gdf, "EPSG:4544")
    assert out is gdf and tol == 0.0
    assert settings.MAP_DISPLAY_VERTICES >= 100_000


def _spec(gdf):
    from gis_town.maps.spec import LayerSpec, Style

    return LayerSpec(
        "行政村 villages",
        gdf,
        fields=["village_id", "name"],
        tooltip=["name"],
        style=Style(color="#343a40", weight=1.8, fill="#ffffff", fill_opacity=0.0),
        label_field="name",
        schema_layer="villages",
        coverage=True,
    )


def _page_vertices(page: str) -> int:
    """Vertices in the page's first layer (rings are written open: one vertex fewer each)."""
    import json
    import re

    from gis_town.maps.encode import decode_varints

    blob = re.search(r"GisTown\.build\(\w+, (\{.*?\}), \{\"id\"", page).group(1)
    d = json.loads(blob)
    return len(decode_varints(d["c"])) // 2


def test_the_map_draws_large_villages_simplified_and_small_ones_as_given(monkeypatch, tmp_path):
    from gis_town.maps.base import build_map, map_html

    gdf = wiggly_villages().to_crs(4490)
    n0 = int(shapely.get_num_coordinates(np.asarray(gdf.geometry.values)).sum())
    kept = build_map([_spec(gdf)], title="t", offline=True)  # under the default limit
    assert _page_vertices(map_html(kept)) == n0 - len(gdf)  # one ring a village, written open
    monkeypatch.setattr(settings, "MAP_DISPLAY_VERTICES", 1000)
    page = map_html(build_map([_spec(gdf)], title="t", offline=True))
    assert _page_vertices(page) < n0 / 3
    assert int(shapely.get_num_coordinates(np.asarray(gdf.geometry.values)).sum()) == n0
    exact = map_html(build_map([_spec(gdf)], title="t", offline=True, simplify_m=0))  # 0: none at all
    assert _page_vertices(exact) == n0 - len(gdf)


@pytest.mark.browser
def test_simplified_villages_show_their_names_escaped_in_chromium(monkeypatch, tmp_path):
    from tests.test_map_browser import CHROMIUM, CHROMIUM_ARGS, Opened

    if not CHROMIUM.exists():
        pytest.skip("headless Chromium not installed")
    sync_api = pytest.importorskip("playwright.sync_api")
    from gis_town.maps.base import build_map, save_map

    monkeypatch.setattr(settings, "MAP_DISPLAY_VERTICES", 1000)
    gdf = wiggly_villages().to_crs(4490)
    n0 = int(shapely.get_num_coordinates(np.asarray(gdf.geometry.values)).sum())
    path = save_map(build_map([_spec(gdf)], title="t", offline=True), Path(tmp_path) / "v.html")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        o = Opened(b, path)
        try:
            labels = o.page.locator(".gt-label span").all_text_contents()
            assert sorted(labels) == sorted(gdf["name"])  # every village named, as text
            visible = o.js(
                "() => [...document.querySelectorAll('.gt-label span')]"
                ".filter(s => s.style.visibility !== 'hidden' && s.getBoundingClientRect().width > 0).length"
            )
            assert visible >= 1
            drawn = o.js(
                "() => { let v = 0; GisTown.layers['行政村 villages'].eachLayer(l => "
                "{ if (l._latlngs) { l._latlngs.flat(3).forEach(() => v++); } }); return v; }"
            )
            assert 9 * 4 <= drawn < n0 / 3
            time.sleep(0.3)
            o.no_harm()
            assert o.errors == []
        finally:
            o.close()
            b.close()


_SHOWN_JS = """() => [...document.querySelectorAll('.gt-label span')]
  .filter(s => getComputedStyle(s.parentNode).display !== 'none')
  .map(s => { const r = s.getBoundingClientRect(); return [s.textContent, r.left, r.top, r.right, r.bottom]; })"""


def _overlaps(boxes) -> int:
    n = 0
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            n += a[1] < b[3] and a[3] > b[1] and a[2] < b[4] and a[4] > b[2]
    return n


@pytest.mark.browser
def test_a_short_drag_keeps_the_canvas_and_labels_never_overlap(tmp_path):
    """A drag that ends inside the drawn margin redraws nothing; a long pan redraws; shown labels never overlap."""
    from tests.test_map_browser import CHROMIUM, CHROMIUM_ARGS, Opened

    if not CHROMIUM.exists():
        pytest.skip("headless Chromium not installed")
    sync_api = pytest.importorskip("playwright.sync_api")
    from gis_town.maps.base import build_map, save_map
    from gis_town.maps.page import CANVAS_PAD

    gdf = wiggly_villages(k=8).to_crs(4490)
    path = save_map(build_map([_spec(gdf)], title="t", offline=True), Path(tmp_path) / "d.html")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        o = Opened(b, path, width=1000, height=700)
        try:
            o.js(
                "() => { const r = GisTown.layers['行政村 villages'].getLayers()[0]._renderer;"
                " window.__redraws = 0; const f = r._update;"
                " r._update = function () { window.__redraws++; return f.apply(this, arguments); }; }"
            )
            c0 = o.js("() => GisTown.map.getCenter()")
            box = o.page.locator(".leaflet-container").first.bounding_box()
            x, y = box["x"] + 500, box["y"] + 350
            step = 1000 * CANVAS_PAD * 0.8 / 10  # 80% of the margin, in 10 moves
            o.page.mouse.move(x, y)
            o.page.mouse.down()
            for k in range(1, 11):
                o.page.mouse.move(x - step * k, y)
            o.page.mouse.up()
            o.page.wait_for_timeout(300)
            assert o.js("() => GisTown.map.getCenter()") != c0
            assert o.js("() => window.__redraws") == 0
            o.js("() => GisTown.map.panBy([1000, 0], {animate: false})")
            o.page.wait_for_timeout(300)
            assert o.js("() => window.__redraws") >= 1
            z0 = o.js("() => GisTown.map.getZoom()")
            hidden = []
            for z in (
                z0,
                z0 - 2,
                z0 - 4,
                z0,
            ):  # each zoom: shown labels apart, the rest out of layout
                o.js(
                    "([c, z]) => GisTown.map.setView([c.lat, c.lng], z, {animate: false})", [c0, z]
                )
                o.page.wait_for_timeout(300)
                shown = o.js(_SHOWN_JS)
                assert shown and _overlaps(shown) == 0
                hidden.append(len(gdf) - len(shown))
            assert hidden[2] > hidden[0] == hidden[3]  # names crowd out as the map zooms out
            assert o.js("() => document.querySelectorAll('.gt-label span').length") == len(gdf)
            o.no_harm()
            assert o.errors == []
        finally:
            o.close()
            b.close()
