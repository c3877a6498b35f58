"""Print maps on a PC with no CJK font: the packaged subset of Noto Sans CJK SC is used.

The test hides every system font from matplotlib (its font list keeps only the
DejaVu fonts matplotlib ships, and no system font file is registered), as on a
fresh Windows or Linux PC without CJK fonts, then draws the demo town's layout
map. Matplotlib warns "Glyph ... missing from font(s)" for every character it
cannot draw: there must be none.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from gis_town.maps import printmap

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "layers" / "demo_town.gpkg"


def _clear_lookup_cache(fm) -> None:
    cached = getattr(fm.fontManager, "_findfont_cached", None)
    if cached is not None:
        cached.cache_clear()


@pytest.fixture
def no_system_fonts(monkeypatch):
    """Matplotlib with only its own DejaVu fonts: no CJK font anywhere."""
    from matplotlib import font_manager as fm

    own = [f for f in fm.fontManager.ttflist if "mpl-data" in Path(f.fname).as_posix()]
    assert own, "matplotlib ships DejaVu fonts"
    monkeypatch.setattr(fm.fontManager, "ttflist", list(own))
    monkeypatch.setattr(printmap, "CJK_FILES", ())
    for var in ("WINDIR", "LOCALAPPDATA"):
        monkeypatch.delenv(var, raising=False)
    _clear_lookup_cache(fm)
    printmap.cjk_font.cache_clear()
    yield
    printmap.cjk_font.cache_clear()
    _clear_lookup_cache(fm)


def test_packaged_font_covers_gb2312_and_demo_names():
    from fontTools.ttLib import TTFont

    cmap = TTFont(str(printmap.packaged_font_path()))["cmap"].getBestCmap()
    # GB 2312 level 1 starts at 啊 (0xB0A1) and level 2 ends at 齄 (0xF7FE)
    for ch in "啊齄关川镇撂荒亩河长巡复垦（）·、":
        assert ord(ch) in cmap, ch
    assert sum(1 for c in cmap if 0x4E00 <= c <= 0x9FFF) >= 6763


def test_fallback_without_system_font(no_system_fonts):
    assert printmap.cjk_font() == printmap.PACKAGED_FAMILY


def test_demo_print_map_without_system_font(no_system_fonts, tmp_path):
    from gis_town.io import load_town

    town = load_town(DEMO)
    out = tmp_path / "layout.png"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        printmap.print_town_map(town, "layout", out, dpi=60)
    missing = [str(w.message) for w in caught if "missing from font" in str(w.message)]
    assert missing == []
    assert printmap.cjk_font() == printmap.PACKAGED_FAMILY
    assert out.stat().st_size > 50_000


def test_dejavu_alone_would_miss_glyphs(no_system_fonts, tmp_path):
    """The check above can fail: with DejaVu only, Chinese text warns of missing glyphs."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(2, 1))
    fig.text(0.1, 0.5, "关川镇", fontfamily="DejaVu Sans")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig.savefig(tmp_path / "x.png")
    plt.close(fig)
    assert any("missing from font" in str(w.message) for w in caught)
