"""Maps a leader opens on a phone (390x844, as from WeChat) and on a desktop (1400x900), in headless Chromium.

The demo's layout and patrol maps (the most crowded) must show the title, the
layer control and the legend without overlapping each other, and leave the
map's centre free (the element at the centre is the map itself, not a
control). On a phone the legend and the layer list start collapsed and open
with a tap.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.test_map_browser import Opened, browser  # noqa: F401  (the module's fixture)

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "layers" / "demo_town.gpkg"
SIZES = {"phone": (390, 844), "laptop": (1280, 820), "desktop": (1400, 900)}

BOXES_JS = """() => {
  const box = (sel) => { const e = document.querySelector(sel); if (!e) return null;
    const r = e.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; };
  const c = document.querySelector('.leaflet-container').getBoundingClientRect();
  const mid = document.elementFromPoint(c.left + c.width / 2, c.top + c.height / 2);
  return {title: box('.gt-title'), layers: box('.leaflet-control-layers'), legend: box('.gt-legend'),
          zoom: box('.leaflet-control-zoom'), centre_in_map: !!(mid && !mid.closest('.leaflet-control, .gt-title')
            && mid.closest('.leaflet-container')),
          phone: document.querySelector('.leaflet-container').classList.contains('gt-phone'),
          legend_collapsed: document.querySelector('.gt-legend').classList.contains('gt-collapsed'),
          layers_open: document.querySelector('.leaflet-control-layers').classList.contains('leaflet-control-layers-expanded'),
          width: c.width};
}"""


def _overlap(a, b) -> bool:
    return a is not None and b is not None and a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


@pytest.fixture(scope="module")
def maps(tmp_path_factory) -> dict[str, Path]:
    from gis_town.cli import main

    folder = tmp_path_factory.mktemp("phone_maps")
    out = {}
    for kind in ("layout", "patrol"):
        out[kind] = folder / f"{kind}.html"
        assert main(["-q", "map", str(DEMO), "--kind", kind, "--out", str(out[kind])]) == 0
    return out


@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize("kind", ["layout", "patrol"])
def test_title_controls_and_legend_do_not_overlap(browser, maps, kind, size):  # noqa: F811
    w, h = SIZES[size]
    page = Opened(browser, maps[kind], width=w, height=h)
    try:
        b = page.js(BOXES_JS)
        assert b["phone"] is (size == "phone")
        for x, y in (("title", "layers"), ("title", "legend"), ("layers", "legend"), ("title", "zoom")):
            assert not _overlap(b[x], b[y]), (x, y, b)
        assert b["centre_in_map"], b
        assert b["title"][2] <= b["width"] + 1 and b["title"][0] >= -1  # the title fits the screen
        if size == "phone":
            assert b["legend_collapsed"] and not b["layers_open"]
            page.page.click(".gt-legend-toggle")
            assert not page.js("() => document.querySelector('.gt-legend').classList.contains('gt-collapsed')")
        else:  # laptop and desktop: both open
            assert not b["legend_collapsed"] and b["layers_open"]
        page.screenshot(f"{kind}_{size}")
    finally:
        page.page.close()


LABELS_JS = """() => Array.from(document.querySelectorAll('.gt-label span')).map((s) => {
  const r = s.getBoundingClientRect();
  return {text: s.textContent, shown: getComputedStyle(s).visibility !== 'hidden' && r.width > 0,
          box: [r.left, r.top, r.right, r.bottom], zone: s.parentNode.className.includes('gt-zone')};
})"""


@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_labels_never_collide_at_any_zoom(browser, maps, size):  # noqa: F811
    """The demo's zone and village labels (石峡河流域 over 石峡线沿线示范片带 before): no two shown
    labels overlap at the opening zoom or after zooming in and out; zone labels win a collision."""
    w, h = SIZES[size]
    page = Opened(browser, maps["layout"], width=w, height=h)
    try:
        for step in (0, 1, -2):
            if step:
                page.js(f"() => {{ GisTown.map.setZoom(GisTown.map.getZoom() + {step}, {{animate: false}}); }}")
                page.page.wait_for_timeout(300)
            labels = page.js(LABELS_JS)
            shown = [lab for lab in labels if lab["shown"]]
            assert shown, "no label shown"
            for i, a in enumerate(shown):
                for b in shown[i + 1:]:
                    assert not _overlap(a["box"], b["box"]), (step, a["text"], b["text"])
            hidden = [lab for lab in labels if not lab["shown"] and lab["box"][2] > lab["box"][0]]
            for lab in hidden:  # each hidden label would have collided with a shown one
                assert any(_overlap(lab["box"], s["box"]) or _near(lab["box"], s["box"]) for s in shown), lab
    finally:
        page.page.close()


def _near(a, b, gap: float = 2.0) -> bool:
    return a[0] < b[2] + gap and b[0] < a[2] + gap and a[1] < b[3] + gap and b[1] < a[3] + gap
