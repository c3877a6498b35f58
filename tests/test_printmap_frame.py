"""The print map's frame: a CGCS2000 graticule labelled in degrees and minutes, 制图单位 and 图号."""

from __future__ import annotations

import datetime as dt

import matplotlib
import pytest
from pyproj import Transformer

from gis_town.maps import printmap

matplotlib.use("Agg")


def test_dms_labels():
    assert printmap._dms_label(104 + 35 / 60, "E", "W") == "104°35′E"
    assert printmap._dms_label(35.6, "N", "S") == "35°36′N"
    assert printmap._dms_label(-0.5, "N", "S") == "0°30′S"


def test_graticule_ticks_sit_where_the_meridians_cross_the_frame():
    import matplotlib.pyplot as plt

    to_gk = Transformer.from_crs("EPSG:4490", "EPSG:4544", always_xy=True)
    (x0, x1), (y0, y1) = zip(to_gk.transform(104.51, 35.52), to_gk.transform(104.69, 35.68))
    fig, ax = plt.subplots()
    try:
        printmap._graticule(ax, "EPSG:4544", (x0, x1, y0, y1), "DejaVu Sans")
        n = len(ax.get_xticks())
        labels = [t.get_text() for t in ax.get_xticklabels()][:n]  # bottom (the top repeats them)
        assert labels == ["104°32′E", "104°34′E", "104°36′E", "104°38′E", "104°40′E"]  # 2′ steps over ~11′
        # independently: where the meridian 104°35′ meets the bottom edge
        from pyproj import Transformer as T

        to_geo = T.from_crs("EPSG:4544", "EPSG:4490", always_xy=True)
        xs = [x for x in ax.get_xticks()]
        lon, _ = to_geo.transform(xs[0], y0)
        assert lon == pytest.approx(104 + 32 / 60, abs=1e-6)
        m = len(ax.get_yticks())
        assert [t.get_text() for t in ax.get_yticklabels()][:m] == ["35°32′N", "35°34′N", "35°36′N", "35°38′N", "35°40′N"]
    finally:
        plt.close(fig)


def test_map_number():
    assert printmap.town_map_number("关川镇", "layout", dt.date(2023, 12, 31)) == "关川镇-layout-20231231"


def test_print_labels_that_collide_are_hidden_zone_labels_first():
    """Three labels: a village label under a zone label (hidden), and one apart (kept)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    from gis_town.maps.printmap import LABEL_GID, declutter_labels

    fig, ax = plt.subplots(figsize=(4, 4), dpi=100)
    ax.set_xlim(0, 100)
    ax.set_ylim(0, 100)
    village = ax.text(50, 50, "石峡村 village", gid=f"{LABEL_GID}1", ha="center", va="center")
    zone = ax.text(52, 51, "石峡河流域 basin", gid=f"{LABEL_GID}0", ha="center", va="center")
    apart = ax.text(50, 10, "关川村", gid=f"{LABEL_GID}1", ha="center", va="center")
    other = ax.text(50, 50, "图例 (not a label)")  # no gid: never hidden
    try:
        assert declutter_labels(ax) == 1
        assert zone.get_visible() and not village.get_visible()
        assert apart.get_visible() and other.get_visible()
    finally:
        plt.close(fig)
