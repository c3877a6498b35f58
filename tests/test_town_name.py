"""A user's own town, loaded with no config, is titled by its file's name, never the demo's."""

from __future__ import annotations

import shutil
from pathlib import Path

from gis_town.cli import main

REPO = Path(__file__).resolve().parents[1]


def test_map_title_from_the_files_name(tmp_path, capsys):
    town = tmp_path / "石峡镇.gpkg"
    shutil.copy(REPO / "layers" / "demo_town.gpkg", town)  # no town.toml beside it
    out = tmp_path / "layout.html"
    assert main(["-q", "map", str(town), "--kind", "layout", "--out", str(out)]) == 0
    page = out.read_text(encoding="utf-8")
    assert "石峡镇 一川两线三流域布局图" in page
    assert "示范镇" not in page and "关川镇（示范）" not in page
