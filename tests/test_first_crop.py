"""The first crop of reclaimed plots (拆旧复垦 种植夏粮) against answers computed by hand.

A hand-made NDVI grid (EPSG:4544, 30 m cells, two dated scenes with known values)
and plots with known reclamation dates: each plot's season, best scene, mean NDVI
(coverage-weighted, worked out cell by cell below) and state; the config's checks;
and the demo town, whose summer scene leaves some 2022 plots bare.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
from rasterio.transform import from_origin
from shapely.geometry import box

from gis_town.analysis.progress import first_crop
from gis_town.analysis.progress.first_crop import FIRST_CROP_STATES, first_crop_summary
from gis_town.cli import main
from gis_town.config import TownConfig, load_config
from gis_town.errors import ConfigError
from tests.demo_files import copy_demo

GK = "EPSG:4544"
X0, Y0, CELL = 463_000.0, 3_940_000.0, 30.0
NODATA = -9999.0
A_DAY, B_DAY = dt.date(2023, 6, 28), dt.date(2023, 7, 20)


def _scene(path: Path, columns: dict[tuple[int, int], float]) -> Path:
    """A 10 x 10 NDVI grid: ``columns`` maps (first, last) column -> value (every row)."""
    arr = np.full((10, 10), NODATA, dtype="float32")
    for (c0, c1), v in columns.items():
        arr[:, c0 : c1 + 1] = v
    with rasterio.open(path, "w", driver="GTiff", width=10, height=10, count=1, dtype="float32",
                       crs=GK, transform=from_origin(X0, Y0, CELL, CELL), nodata=NODATA) as dst:
        dst.write(arr, 1)
    return path


@pytest.fixture
def scenes(tmp_path) -> dict[dt.date, Path]:
    """Scene A (06-28): columns 0-4 at 0.5, 5-9 at 0.1. Scene B (07-20): 0-4 at 0.2, 5-7 at 0.6, 8-9 at 0.08."""
    return {
        A_DAY: _scene(tmp_path / "a.tif", {(0, 4): 0.5, (5, 9): 0.1}),
        B_DAY: _scene(tmp_path / "b.tif", {(0, 4): 0.2, (5, 7): 0.6, (8, 9): 0.08}),
    }


def _cells(c0: float, c1: float, r0: float, r1: float):
    """A box from column c0 to c1 and row r0 to r1 (cell units, rows down from the top)."""
    return box(X0 + c0 * CELL, Y0 - r1 * CELL, X0 + c1 * CELL, Y0 - r0 * CELL)


#: plot -> (geometry, reclaimed date)
PLOTS = {
    "P1": (_cells(0, 2, 0, 2), "2022-10-12"),  # 4 cells of A 0.5 / B 0.2
    "P2": (_cells(5, 7, 0, 2), "2023-03-01"),  # A 0.1 / B 0.6
    "P3": (_cells(8, 10, 0, 2), "2023-05-15"),  # the window's first day: still 2023; A 0.1, B 0.08
    "P4": (_cells(4, 5.5, 3, 5), "2023-01-20"),  # column 4 whole, column 5 half (worked out below)
    "P5": (_cells(0, 2, 6, 8), "2023-08-20"),  # after the 2023 window: 2024
    "P6": (_cells(2, 4, 6, 8), None),  # not reclaimed
    "P7": (_cells(5, 7, 6, 8), "2024-01-05"),  # reclaimed after the as-of date
    "P8": (box(X0 + 5000, Y0 - 5000, X0 + 5060, Y0 - 4940), "2023-02-01"),  # off the scenes
}
AS_OF = "2023-12-31"


def _plots() -> gpd.GeoDataFrame:
    ids = list(PLOTS)
    return gpd.GeoDataFrame(
        {"plot_id": ids, "household_id": [f"H{i}" for i in ids], "cohort": 2022,
         "reclaimed_date": pd.to_datetime([PLOTS[i][1] for i in ids])},
        geometry=[PLOTS[i][0] for i in ids], crs=GK,
    ).to_crs("EPSG:4490")


def _by_id(table: pd.DataFrame) -> pd.DataFrame:
    return table.set_index("plot_id")


def test_states_seasons_and_best_scene(scenes):
    t = _by_id(first_crop(_plots(), scenes, config=TownConfig(), as_of=AS_OF))
    # P4: 2 cells wholly inside (column 4) and 2 half inside (column 5), weights 1, 1, 0.5, 0.5
    p4_a = (2 * 1.0 * 0.5 + 2 * 0.5 * 0.1) / (2 * 1.0 + 2 * 0.5)  # 0.3667
    p4_b = (2 * 1.0 * 0.2 + 2 * 0.5 * 0.6) / (2 * 1.0 + 2 * 0.5)  # 0.3333
    expected = {  # plot: (season, scene, ndvi, state)
        "P1": (2023, A_DAY, 0.5, "cropped"),
        "P2": (2023, B_DAY, 0.6, "cropped"),
        "P3": (2023, A_DAY, 0.1, "no_crop"),  # the higher of 0.1 and 0.08
        "P4": (2023, A_DAY, max(p4_a, p4_b), "cropped"),
        "P5": (2024, None, None, "not_due"),
        "P6": (None, None, None, "not_due"),
        "P7": (None, None, None, "not_due"),
        "P8": (2023, None, None, "no_scene"),
    }
    for pid, (season, scene, ndvi, state) in expected.items():
        row = t.loc[pid]
        assert row["state"] == state, pid
        assert row["state_label"] == FIRST_CROP_STATES[state]
        assert (pd.isna(row["season"]) if season is None else row["season"] == season), pid
        if scene is None:
            assert pd.isna(row["scene_date"]) and pd.isna(row["ndvi_mean"]), pid
        else:
            assert row["scene_date"] == pd.Timestamp(scene), pid
            assert row["ndvi_mean"] == pytest.approx(ndvi, abs=1e-4), pid
    assert t.loc["P1", "window_start"] == pd.Timestamp("2023-05-15")
    assert t.loc["P1", "window_end"] == pd.Timestamp("2023-07-31")
    assert "2023-06-28" in t.loc["P8", "note"]  # the scene that does not cover it
    assert (t.loc["P1", "area_mu"] == pytest.approx(4 * CELL * CELL / (10000 / 15), rel=2e-3))


def test_window_open_no_scene_and_later_scenes(scenes):
    plots = _plots()
    # the window's last day counts in full: the window is over, scene B is used
    t = _by_id(first_crop(plots, scenes, config=TownConfig(), as_of="2023-07-31"))
    assert t.loc["P2", "state"] == "cropped" and t.loc["P2", "scene_date"] == pd.Timestamp(B_DAY)
    # before its end the window is open: not due, the best scene so far shown, B (later) unused
    t = _by_id(first_crop(plots, scenes, config=TownConfig(), as_of="2023-07-10"))
    assert set(t["state"]) == {"not_due"}
    assert t.loc["P2", "ndvi_mean"] == pytest.approx(0.1, abs=1e-4)
    # no scene at all: every plot whose window is over has none
    t = _by_id(first_crop(plots, {}, config=TownConfig(), as_of=AS_OF))
    assert list(t.index[t["state"] == "no_scene"]) == ["P1", "P2", "P3", "P4", "P8"]
    assert "no scene dated in the window" in t.loc["P1", "note"]


def test_threshold_and_window_from_the_config(scenes):
    cfg = TownConfig.model_validate({"reclamation": {"first_crop_min_ndvi": 0.55,
                                                     "first_crop_window": ["06-01", "06-30"]}})
    t = _by_id(first_crop(_plots(), scenes, config=cfg, as_of=AS_OF))
    assert t.loc["P1", "state"] == "no_crop"  # 0.5 < 0.55
    assert t.loc["P2", "state"] == "no_crop"  # B (07-20) is outside 06-01..06-30: only A's 0.1
    assert t.loc["P3", "season"] == 2023  # 05-15 is before 06-01


def test_summary_rows(scenes):
    t = first_crop(_plots(), scenes, config=TownConfig(), as_of=AS_OF)
    (row,) = first_crop_summary(t, TownConfig())
    due = t["state"].isin(["cropped", "no_crop", "no_scene"])
    assert row["done"] == (t["state"] == "cropped").sum() and row["target"] == due.sum()
    assert row["share_pct"] == pytest.approx(100 * row["done"] / row["target"])
    assert row["status"] == "behind" and "2022" in row["item"]
    t2 = first_crop(_plots(), scenes, config=TownConfig(), as_of="2023-07-10")
    assert first_crop_summary(t2, TownConfig())[0]["status"] == "not_due"


@pytest.mark.parametrize(
    "toml, key",
    [
        ('[reclamation]\nfirst_crop_window = ["07-31", "05-15"]\n', "reclamation.first_crop_window"),
        ('[reclamation]\nfirst_crop_window = ["5-15", "07-31"]\n', "reclamation.first_crop_window"),
        ('[reclamation]\nfirst_crop_window = ["02-30", "07-31"]\n', "reclamation.first_crop_window"),
        ("[reclamation]\nfirst_crop_min_ndvi = 1.2\n", "reclamation.first_crop_min_ndvi"),
        ("[reclamation]\nfirst_crop_min_ndvi = 0\n", "reclamation.first_crop_min_ndvi"),
        ('[rasters]\nndvi_scenes = { "2023-02-30" = "a.tif" }\n', "rasters.ndvi_scenes"),
    ],
)
def test_config_errors_name_the_key(tmp_path, toml, key):
    (tmp_path / "town.toml").write_text(toml, encoding="utf-8")
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        load_config(tmp_path / "town.toml")


def test_scene_paths_by_date(tmp_path):
    (tmp_path / "town.toml").write_text(
        '[rasters]\nndvi_scenes = { "2023-07-20" = "b.tif", "2023-06-28" = "s/a.tif" }\n', encoding="utf-8")
    cfg = load_config(tmp_path / "town.toml")
    assert cfg.ndvi_scene_paths() == {A_DAY: tmp_path.resolve() / "s" / "a.tif",
                                      B_DAY: tmp_path.resolve() / "b.tif"}
    assert TownConfig().ndvi_scene_paths() == {}


def test_demo_bare_plots_are_reported_no_crop(tmp_path):
    """The demo's summer scene, rebuilt, is the shipped one; its bare 2022 plots are the no_crop ones."""
    from gis_town.demo.scenes import BARE_PLOTS, write_summer_scene

    town = copy_demo(tmp_path)
    rebuilt = write_summer_scene(town, tmp_path / "ndvi_2023.tif", tmp_path / "again.tif")
    with rasterio.open(rebuilt) as a, rasterio.open(tmp_path / "ndvi_2023-06-28.tif") as b:
        assert np.array_equal(a.read(1), b.read(1)) and a.profile == b.profile
    assert main(["-q", "progress", str(town), "--as-of", AS_OF, "--out", str(tmp_path / "out")]) in (0, 1)
    t = pd.read_csv(tmp_path / "out" / "first_crop.csv", dtype={"cohort": str})
    c22 = t[t["cohort"] == "2022"]
    assert (c22["state"] == "no_crop").sum() == BARE_PLOTS
    assert (c22.loc[c22["state"] == "no_crop", "ndvi_mean"] < 0.2).all()
    assert (c22.loc[c22["state"] == "cropped", "ndvi_mean"].between(0.44, 0.56)).all()
    assert set(c22["state"]) == {"cropped", "no_crop"}
    s = pd.read_csv(tmp_path / "out" / "summary.csv")
    row = s[s["item"] == "首季种植 first crop (2022年度 cohort)"].iloc[0]
    assert row["status"] == "behind"
    assert row["done"] == (c22["state"] == "cropped").sum() and row["target"] == len(c22)
