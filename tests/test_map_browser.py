"""The maps in a real browser: Debian's headless Chromium driven by Playwright.

Checks that panes and legend render, the layer control toggles layers and
their legend sections, no console errors, escaping holds (a village named
``<img src=x onerror=...>`` runs nothing), offline pages load nothing from
the network and online pages nothing but tiles (every request that is not
``file:`` or ``data:`` is recorded and aborted). A screenshot of each map is
saved under ``tests/screenshots/``. The demo town's maps, as ``make demo``
writes them, are opened in ``tests/test_map_offline.py``.

Needs ``/usr/bin/chromium`` (Debian package ``chromium``) and a CJK font
(``fonts-noto-cjk``) for readable screenshots; skipped when Chromium is absent.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely

from tests.test_maps import EVIL, X0, Y0, add_thematic_layers, make_town

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
REPO = Path(__file__).resolve().parents[1]
SHOTS = REPO / "tests" / "screenshots"

if not CHROMIUM.exists():
    pytest.skip(
        "headless Chromium not installed (apt-get install chromium)", allow_module_level=True
    )
sync_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


class Opened:
    """A page opened with the network blocked, and what happened while it loaded.

    ``requests`` are the URLs refused (anything not ``file:``, ``data:``,
    ``about:`` or ``blob:``); ``refused_notes`` the browser's console lines
    about those refusals ("Failed to load resource" naming a refused URL);
    ``errors`` every other console error and uncaught exception.
    """

    def __init__(self, browser, path: Path, *, width: int = 1280, height: int = 820) -> None:
        self.requests: list[str] = []
        self.refused_notes: list[str] = []
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.page = browser.new_page(viewport={"width": width, "height": height})
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))
        self.page.on("dialog", self._dialog)
        self.page.route("**/*", self._route)
        t0 = time.perf_counter()
        self.page.goto(path.resolve().as_uri())
        self.page.wait_for_function(
            "window.GisTown && GisTown.map && GisTown.legendControl !== undefined", timeout=30000
        )
        self.open_s = time.perf_counter() - t0

    def _console(self, m) -> None:
        if m.type != "error":
            return
        url = (m.location or {}).get("url", "")
        if m.text.startswith("Failed to load resource") and url in self.requests:
            self.refused_notes.append(url)
        else:
            self.errors.append(m.text)

    def _dialog(self, d) -> None:
        self.dialogs.append(d.message)
        d.dismiss()

    def _route(self, route) -> None:
        url = route.request.url
        if url.startswith(("file:", "data:", "about:", "blob:")):
            route.continue_()
        else:
            self.requests.append(url)
            route.abort()

    def js(self, code: str, arg=None):
        return self.page.evaluate(code, arg)

    def click_latlng(self, lat: float, lon: float, *, hover: bool = False) -> None:
        x, y = self.js(
            "([a, b]) => { const p = GisTown.map.latLngToContainerPoint([a, b]); return [p.x, p.y]; }",
            [lat, lon],
        )
        box = self.page.locator(".leaflet-container").first.bounding_box()
        if hover:  # Leaflet's canvas drops a mousemove within 32 ms of the last one: end on a late one
            self.page.mouse.move(box["x"] + x + 1, box["y"] + y)
            time.sleep(0.05)
            self.page.mouse.move(box["x"] + x, box["y"] + y)
        else:
            self.page.mouse.click(box["x"] + x, box["y"] + y)

    def no_harm(self) -> None:
        assert self.dialogs == [], self.dialogs
        assert self.js("window.__pwned === undefined")
        assert self.js("document.querySelectorAll('img[src=\"x\"]').length") == 0

    def screenshot(self, name: str) -> Path:
        SHOTS.mkdir(parents=True, exist_ok=True)
        out = SHOTS / f"{name}.png"
        self.page.screenshot(path=str(out))
        return out

    def close(self) -> None:
        self.page.close()


@pytest.fixture(scope="module")
def maps(tmp_path_factory) -> dict[str, Path]:
    """Maps of a small town whose village, river, road and plot names carry script payloads."""
    from gis_town.io import load_town
    from gis_town.maps import layout_map, make_map, save_map

    folder = tmp_path_factory.mktemp("browser")
    town = load_town(add_thematic_layers(make_town(folder / "town")))
    out = {}
    out["layout_offline"] = save_map(
        layout_map(town, basemap="osm", offline=True), folder / "layout_offline.html"
    )
    out["layout_online"] = save_map(layout_map(town, basemap="osm"), folder / "layout_online.html")
    for kind in ("patrol", "risk", "progress", "check"):
        m = make_map(town, kind, as_of="2023-06-30", basemap="none", offline=True)
        out[f"{kind}_offline"] = save_map(m, folder / f"{kind}_offline.html")
    return out


@pytest.mark.parametrize(
    "name",
    ["layout_offline", "patrol_offline", "risk_offline", "progress_offline", "check_offline"],
)
def test_offline_map_renders_with_the_network_blocked(browser, maps, name):
    o = Opened(browser, maps[name])
    try:
        assert o.requests == [], o.requests  # nothing left the machine
        assert o.errors == [], o.errors
        # panes and the canvas renderer drew something
        assert o.js("document.querySelectorAll('.leaflet-overlay-pane canvas').length") == 1
        painted = o.js("""() => {
            let n = 0;
            for (const c of document.querySelectorAll('.leaflet-pane canvas')) {
                const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                for (let i = 3; i < d.length; i += 4 * 97) { if (d[i] > 0) { n++; } }
            }
            return n; }""")
        assert painted > 50
        # legend, title, layer control, scale, fullscreen, measure
        assert o.page.locator(".gt-legend").is_visible()
        assert len(o.page.locator(".gt-legend .gt-sec").all()) >= 2
        assert o.page.locator(".gt-title").is_visible()
        assert "数据日期" in o.page.locator(".gt-title").inner_text()
        assert o.page.locator(".leaflet-control-layers-overlays input").count() >= 3
        assert o.page.locator(".leaflet-control-scale-line").first.is_visible()
        assert o.page.locator(".leaflet-control-zoom-fullscreen").count() == 1
        assert o.page.locator(".leaflet-control-measure").count() == 1
        o.no_harm()
        o.screenshot(f"test_{name}")
    finally:
        o.close()


def test_layer_control_toggles_layer_and_legend(browser, maps):
    o = Opened(browser, maps["layout_offline"])
    try:
        name = "道路 roads"
        row = o.page.locator(".leaflet-control-layers-overlays label", has_text=name)
        sec = o.js(
            "() => { const m = GisTown.map; return Object.keys(GisTown.layers).indexOf('道路 roads'); }"
        )
        assert sec >= 0
        assert o.js("GisTown.map.hasLayer(GisTown.layers['道路 roads'])")
        legend_row = o.page.locator(".gt-legend .gt-sec", has_text=name)
        assert legend_row.is_visible()
        row.locator("input").click()
        assert not o.js("GisTown.map.hasLayer(GisTown.layers['道路 roads'])")
        assert not legend_row.is_visible()
        row.locator("input").click()
        assert o.js("GisTown.map.hasLayer(GisTown.layers['道路 roads'])")
        assert legend_row.is_visible()
        # a layer hidden at start (farmland) can be switched on, with its legend
        farm = o.page.locator(".leaflet-control-layers-overlays label", has_text="耕地 farmland")
        assert not o.js("GisTown.map.hasLayer(GisTown.layers['耕地 farmland (by land use 地类)'])")
        farm.locator("input").click()
        assert o.js("GisTown.map.hasLayer(GisTown.layers['耕地 farmland (by land use 地类)'])")
        assert o.page.locator(".gt-legend .gt-sec", has_text="耕地 farmland").is_visible()
        assert o.errors == []
    finally:
        o.close()


def _lonlat(x: float, y: float) -> tuple[float, float]:
    p = gpd.GeoSeries([shapely.Point(x, y)], crs=4544).to_crs(4490).iloc[0]
    return p.y, p.x


def test_escaping_holds_in_tooltips_popups_labels_and_legend(browser, maps):
    o = Opened(browser, maps["layout_offline"])
    try:
        lat, lon = _lonlat(X0 + 150, Y0 + 650)  # inside the village named with the payload
        o.click_latlng(lat, lon, hover=True)
        o.page.wait_for_selector(".leaflet-tooltip", timeout=5000)
        tip = o.page.locator(".leaflet-tooltip").first.text_content()
        assert EVIL in tip  # shown as text
        o.click_latlng(lat, lon)
        o.page.wait_for_selector(".leaflet-popup-content", timeout=5000)
        popup = o.page.locator(".leaflet-popup-content")
        assert EVIL in popup.text_content()
        assert popup.locator("img").count() == 0
        assert "名称" in popup.text_content() and "村代码" in popup.text_content()
        labels = o.page.locator(".gt-label span").all_text_contents()
        assert any(EVIL in t for t in labels)
        assert EVIL in o.page.locator(".gt-legend").text_content()  # basin named with the payload
        time.sleep(0.3)  # give any injected handler the chance to run
        o.no_harm()
        assert o.errors == []
        o.screenshot("test_escaping_popup")
    finally:
        o.close()


def test_check_map_popup_lists_failed_rules(browser, maps):
    o = Opened(browser, maps["check_offline"])
    try:
        lat, lon = _lonlat(X0 + 680, Y0 + 650)  # inside the bow-tie plot, whose id is the payload
        o.click_latlng(lat, lon)
        o.page.wait_for_selector(".leaflet-popup-content", timeout=5000)
        text = o.page.locator(".leaflet-popup-content").text_content()
        assert "不通过 fail" in text and "不通过的规则" in text and EVIL in text
        o.no_harm()
    finally:
        o.close()


def test_js_decoder_matches_the_data(browser, maps, tmp_path):
    from gis_town.io import load_town

    o = Opened(browser, maps["layout_offline"])
    try:
        got = o.js("""() => {
            const g = GisTown.layers['耕地 farmland (by land use 地类)'];
            return g.getLayers().filter(l => l._gi !== undefined).map(l => [l._gi, l.getLatLngs()[0].map(p => [p.lng, p.lat])]);
        }""")
    finally:
        o.close()
    town = load_town(next(Path(maps["layout_offline"]).parent.glob("town/town.gpkg")))
    farm = town.layers["farmland"]
    assert len(got) == len(farm)
    for gi, ring in got:
        exp = shapely.get_coordinates(farm.geometry.iloc[gi])[:-1]
        np.testing.assert_allclose(np.asarray(ring), exp, atol=0.51e-6)


def test_js_decodes_front_coded_and_dictionary_columns(browser, tmp_path):
    from gis_town.maps import LayerSpec, build_map, save_map

    ids = [f"62110210020000{i:03d}" for i in range(30)] + [
        "𠀀𠀁甲-0001",
        "𠀀𠀁甲-0002",
        "𠀀乙-1",
        EVIL,
    ]
    n = len(ids)
    gdf = gpd.GeoDataFrame(
        {"parcel_id": ids, "status": ["cultivated", "abandoned"] * (n // 2)},
        geometry=[
            shapely.box(104.6 + i * 1e-3, 35.6, 104.6009 + i * 1e-3, 35.6009) for i in range(n)
        ],
        crs=4490,
    )
    spec = LayerSpec("地块 parcels", gdf, fields=["parcel_id", "status"], schema_layer="farmland")
    path = save_map(
        build_map([spec], title="t", basemap="none", offline=True), tmp_path / "cols.html"
    )
    o = Opened(browser, path)
    try:
        got = o.js("""() => {
            const g = GisTown.layers['地块 parcels'];
            const d = g._gtData;
            return [d.v[0].s, d.v[1].i.map(k => d.v[1].d[k])];
        }""")
        assert '"k":"' in path.read_text(encoding="utf-8")  # the ids were front-coded
        import html

        assert got[0] == [html.escape(v, quote=True) for v in ids]
        assert got[1] == ["耕种", "撂荒"] * (n // 2)
        o.no_harm()
        assert o.errors == []
    finally:
        o.close()


def test_online_map_asks_only_for_tiles_and_says_when_they_fail(browser, maps):
    from gis_town.maps.page import NO_TILES_NOTE

    o = Opened(browser, maps["layout_online"])
    try:
        o.page.wait_for_selector(".gt-note", state="visible", timeout=15000)
        # Leaflet and the plugins are inline: the only requests are OpenStreetMap tiles
        assert o.requests, "the online map asked for no tiles"
        for url in o.requests:
            assert re.fullmatch(r"https://tile\.openstreetmap\.org/\d+/\d+/\d+\.png", url), url
        assert o.errors == [], o.errors
        assert o.page.locator(".gt-note").inner_text() == NO_TILES_NOTE
        # the layers drew on the light background, the broken tiles are hidden
        assert (
            o.js("getComputedStyle(GisTown.map.getContainer()).backgroundColor")
            == "rgb(247, 246, 242)"
        )
        assert o.js("getComputedStyle(GisTown.map.getPane('tilePane')).visibility") == "hidden"
        o.no_harm()
    finally:
        o.close()


def test_patrol_map_names_each_segment_on_hover(browser, maps):
    """Hovering the middle of each river segment shows its id and river name (escaped)."""
    import pyogrio

    town = maps["patrol_offline"].parent / "town"
    gpkg = next(town.glob("*.gpkg"))
    assert "rivers" in pyogrio.list_layers(gpkg)[:, 0]
    rivers = gpd.read_file(gpkg, layer="rivers").to_crs(4490)
    assert len(rivers) >= 2
    o = Opened(browser, maps["patrol_offline"])
    try:
        for seg in rivers.itertuples():
            mid = seg.geometry.interpolate(0.5, normalized=True)
            want = (str(seg.segment_id), str(seg.river_name))
            tips: list[str] = []
            for _ in range(3):  # a busy machine may miss one mouse move: hover again
                o.page.mouse.move(0, 0)  # leave the last segment: its tooltip closes
                o.click_latlng(mid.y, mid.x, hover=True)
                deadline = time.perf_counter() + 3.0
                while time.perf_counter() < deadline:
                    tips = o.page.locator(".leaflet-tooltip").all_text_contents()
                    if any(all(w in t for w in want) for t in tips):
                        break
                    time.sleep(0.1)
                else:
                    continue
                break
            assert any(all(w in t for w in want) for t in tips), (want, tips)
        o.no_harm()
    finally:
        o.close()
