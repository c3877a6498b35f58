"""Every map ``make demo`` writes draws with no network (issue 13), in headless Chromium.

The demo town's five maps (layout, patrol, risk, progress, check) are written
exactly as ``gis-town demo`` writes them (``gis-town map TOWN --kind KIND
--out KIND.html``: default basemap, online) and with ``--offline``, into a
temporary folder. Each is opened with every request that is not ``file:`` or
``data:`` refused, and must

* draw every feature of every layer: the features Leaflet decoded and placed
  on the canvas, counted per layer in the page, equal the non-empty features
  of the map's source layers (``map_specs`` on the town, computed here);
* paint the canvas (non-transparent pixels), and paint nothing once its
  layers are removed;
* log no console error (the browser's "Failed to load resource" lines for
  the tile requests the test itself refused are set aside, and each must
  name a refused tile URL);
* online: ask for nothing but basemap tiles, and show the no-tiles note on a
  light background; offline: ask for nothing, show no note.

The fallback onto the DEM hillshade, and its undoing when tiles load again,
are checked on a map built with a DEM (the Python API passes the config's).
"""

from __future__ import annotations

import html
import io
import re
from pathlib import Path

import pytest

from tests.test_map_browser import Opened, browser  # noqa: F401  (the module's fixture)

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "layers" / "demo_town.gpkg"
KINDS = ("layout", "patrol", "risk", "progress", "check")
OSM_TILE = re.compile(r"https://tile\.openstreetmap\.org/\d+/\d+/\d+\.png")
LIGHT = "rgb(247, 246, 242)"

#: Per layer of the page: shown at start, features decoded, features drawn on the canvas
#: (hidden layers are switched on to be counted, then off again).
DRAWN_JS = """() => {
  const m = GisTown.map, out = {};
  for (const [name, g] of Object.entries(GisTown.layers)) {
    const shown = m.hasLayer(g);
    if (!shown) { m.addLayer(g); }
    const decoded = new Set(), drawn = new Set();
    for (const l of g.getLayers()) {
      if (l._gi === undefined) { continue; }  // text labels
      decoded.add(l._gi);
      if (l._map && (l._parts ? l._parts.length > 0 : !l._empty())) { drawn.add(l._gi); }
    }
    if (!shown) { m.removeLayer(g); }
    out[name] = {shown: shown, decoded: decoded.size, drawn: drawn.size,
                 maxGi: decoded.size ? Math.max(...decoded) : -1};
  }
  return out;
}"""

#: Non-transparent pixels of the vector canvas (every 7th pixel sampled).
PAINTED_JS = """() => {
  const c = document.querySelector('.leaflet-overlay-pane canvas');
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let n = 0;
  for (let i = 3; i < d.length; i += 4 * 7) { if (d[i] > 0) { n++; } }
  return n;
}"""


@pytest.fixture(scope="module")
def demo_maps(tmp_path_factory) -> dict[tuple[str, str], Path]:
    """The demo's maps, written by the ``map`` command as ``gis-town demo`` runs it."""
    if not DEMO.exists():
        pytest.skip("demo town not generated: run `python -m gis_town generate`")
    from gis_town.cli import main

    folder = tmp_path_factory.mktemp("demo_maps")
    out = {}
    for mode in ("online", "offline"):
        for kind in KINDS:
            path = folder / mode / f"{kind}.html"
            flag = ["--offline"] if mode == "offline" else []
            assert main(["-q", "map", str(DEMO), "--kind", kind, *flag, "--out", str(path)]) == 0
            out[kind, mode] = path
    return out


@pytest.fixture(scope="module")
def expected() -> dict[str, dict[str, tuple[int, bool]]]:
    """Per map kind and layer (escaped name, the page's key): (non-empty features, shown at start)."""
    if not DEMO.exists():
        pytest.skip("demo town not generated")
    from gis_town.io import load_town
    from gis_town.maps import map_specs

    town = load_town(DEMO)
    out = {}
    for kind in KINDS:
        specs, _, _ = map_specs(town, kind)
        out[kind] = {
            html.escape(s.name, quote=True): (
                int((~(s.gdf.geometry.isna() | s.gdf.geometry.is_empty)).sum()),
                bool(s.show),
            )
            for s in specs
        }
    return out


@pytest.mark.parametrize("mode", ["online", "offline"])
@pytest.mark.parametrize("kind", KINDS)
def test_demo_map_draws_every_layer_with_the_network_refused(
    browser,  # noqa: F811
    demo_maps,
    expected,
    kind,
    mode,
):
    from gis_town.maps.page import NO_TILES_NOTE

    o = Opened(browser, demo_maps[kind, mode], width=1400, height=900)
    try:
        if mode == "online":
            o.page.wait_for_selector(".gt-note", state="visible", timeout=15000)
            assert o.page.locator(".gt-note").inner_text() == NO_TILES_NOTE
            assert o.requests, "the online map asked for no tiles"
            bad = [u for u in o.requests if not OSM_TILE.fullmatch(u)]
            assert bad == [], bad  # Leaflet, plugins and CSS are inline: only tiles were asked for
            assert set(o.refused_notes) <= set(o.requests)
            bg = o.js("getComputedStyle(GisTown.map.getContainer()).backgroundColor")
            assert bg == LIGHT
            assert o.js("getComputedStyle(GisTown.map.getPane('tilePane')).visibility") == "hidden"
        else:
            o.page.wait_for_timeout(300)
            assert o.requests == [], o.requests
            assert o.page.locator(".gt-note").count() == 0
            assert o.js("!!GisTown.map._gtHill && GisTown.map.hasLayer(GisTown.map._gtHill)")
        assert o.errors == [], o.errors

        drawn = o.js(DRAWN_JS)
        want = expected[kind]
        assert set(drawn) == set(want)
        for name, (n, shown) in want.items():
            got = drawn[name]
            assert got["shown"] == shown, name
            assert (got["decoded"], got["maxGi"], got["drawn"]) == (n, n - 1, n), name
        assert sum(n for n, _ in want.values()) > 0

        painted = o.js(PAINTED_JS)
        assert painted > 1000, painted
        o.screenshot(f"demo_{kind}_{mode}")
        o.js("() => { for (const g of Object.values(GisTown.layers)) GisTown.map.removeLayer(g); }")
        o.page.wait_for_timeout(50)
        assert o.js(PAINTED_JS) == 0  # the painted pixels were the layers'
        o.no_harm()
    finally:
        o.close()


class Served(Opened):
    """A page whose OpenStreetMap tiles are served (a plain PNG) once ``serve`` is set."""

    def __init__(self, browser, path: Path, *, serve: bool) -> None:  # noqa: F811
        from PIL import Image

        buf = io.BytesIO()
        Image.new("RGB", (256, 256), (170, 200, 230)).save(buf, format="PNG")
        self.tile = buf.getvalue()
        self.serve = serve
        self.served: list[str] = []
        super().__init__(browser, path)

    def _route(self, route) -> None:
        url = route.request.url
        if self.serve and OSM_TILE.fullmatch(url):
            self.served.append(url)
            route.fulfill(status=200, content_type="image/png", body=self.tile)
        else:
            super()._route(route)


@pytest.fixture(scope="module")
def dem_map(tmp_path_factory) -> Path:
    """The demo's patrol map from the Python API: OpenStreetMap tiles, the DEM hillshade off."""
    if not DEMO.exists():
        pytest.skip("demo town not generated")
    from gis_town.io import load_town
    from gis_town.maps import make_map, save_map

    town = load_town(DEMO, layers=["villages", "rivers", "patrols", "roads"])
    m = make_map(town, "patrol", basemap="osm")
    return save_map(m, tmp_path_factory.mktemp("dem_map") / "patrol.html")


def _hillshade_on(o: Opened) -> bool:
    return o.js("GisTown.map.hasLayer(GisTown.map._gtHill)")


def test_tiles_that_load_leave_the_map_as_built(browser, dem_map):  # noqa: F811
    from gis_town.maps.page import TILE_ERROR_MS

    o = Served(browser, dem_map, serve=True)
    try:
        o.page.wait_for_function("GisTown.map._gtTiles.loaded > 0", timeout=10000)
        o.page.wait_for_timeout(TILE_ERROR_MS + 300)
        assert o.served and o.requests == []
        assert o.page.locator(".gt-note").count() == 0
        assert not _hillshade_on(o)
        assert o.js("getComputedStyle(GisTown.map.getPane('tilePane')).visibility") == "visible"
        assert o.errors == []
    finally:
        o.close()


def test_failed_tiles_switch_the_hillshade_on_and_tiles_that_return_undo_it(
    browser,  # noqa: F811
    dem_map,
):
    o = Served(browser, dem_map, serve=False)
    try:
        o.page.wait_for_selector(".gt-note", state="visible", timeout=15000)
        assert _hillshade_on(o)
        img = o.js("""() => {
            const el = GisTown.map._gtHill.getElement();
            return [el.parentElement === GisTown.map.getPane('gtBackground'), el.complete,
                    el.naturalWidth, getComputedStyle(el).display];
        }""")
        assert img[0] and img[1] and img[2] > 100 and img[3] != "none", img
        box = o.page.locator(
            ".leaflet-control-layers-overlays label", has_text="山体阴影 hillshade"
        )
        assert box.locator("input").is_checked()  # the layer control follows
        assert o.errors == [] and set(o.refused_notes) <= set(o.requests)

        o.serve = True  # the network comes back: new tiles load when the view changes
        o.js("() => { GisTown.map.setZoom(GisTown.map.getZoom() + 1, {animate: false}); }")
        o.page.wait_for_selector(".gt-note", state="detached", timeout=10000)
        assert o.served
        assert not _hillshade_on(o)
        assert not box.locator("input").is_checked()
        assert o.js("getComputedStyle(GisTown.map.getPane('tilePane')).visibility") == "visible"
        assert o.errors == []
    finally:
        o.close()


def test_demo_layout_with_tiled_parcels_draws_every_parcel_offline(
    browser,  # noqa: F811
    expected,
    tmp_path,
):
    """``gis-town map --offline --tiles-out DIR``: the parcels come from tiles beside the page.

    Every farmland parcel of the demo town (counted from ``map_specs`` above)
    is in the tiles the page read at its first view, with the network refused
    and the page opened from its folder (``file://``); the other layers stay
    in the page and draw as before.
    """
    from gis_town.cli import main

    out = tmp_path / "layout.html"
    tiles = tmp_path / "layout_tiles"
    assert (
        main(
            [
                "-q",
                "map",
                str(DEMO),
                "--kind",
                "layout",
                "--offline",
                "--tiles-out",
                str(tiles),
                "--out",
                str(out),
            ]
        )
        == 0
    )
    assert sorted(p.suffix for p in tiles.iterdir() if p.is_file()) == [".pmtiles", ".pmtiles"]
    want = expected["layout"]
    o = Opened(browser, out, width=1400, height=900)
    try:
        tiled = o.js("Object.keys(GisTown.tiledLayers)")
        assert len(tiled) == 2 and all(name in want for name in tiled)
        for name in tiled:
            n, shown = want[name]
            o.js("(n) => { GisTown.map.addLayer(GisTown.tiledLayers[n]); }", name)
            o.page.wait_for_function(
                "(n) => { const l = GisTown.tiledLayers[n]; return !l.isLoading() && "
                "GisTown.tiledDrawn(l).features > 0; }",
                arg=name,
                timeout=30000,
            )
            o.page.wait_for_timeout(300)
            got = o.js("(n) => GisTown.tiledDrawn(GisTown.tiledLayers[n]).features", name)
            assert got == n, (name, got, n)
        painted = o.js("""() => {
          let n = 0;
          for (const c of document.querySelectorAll('.leaflet-gtTiled-pane canvas')) {
            const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
            for (let i = 3; i < d.length; i += 4 * 7) { if (d[i] > 0) { n++; } }
          }
          return n;
        }""")
        assert painted > 1000, painted
        others = o.js(DRAWN_JS)
        for name, got in others.items():
            assert got["decoded"] == want[name][0], name
        assert o.requests == [] and o.errors == [], (o.requests, o.errors)
        o.screenshot("demo_layout_tiled")
    finally:
        o.close()
