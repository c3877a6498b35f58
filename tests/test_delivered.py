"""The demo town as delivered (三调 .gdb, KML/GPX trips, xlsx ledger, DEM tiles) gives the GeoPackage town's answers."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from gis_town.cli import main
from gis_town.demo.delivered import village_code, write_delivered_town
from tests.demo_files import copy_demo

REPO = Path(__file__).resolve().parents[1]
LAYERS = REPO / "layers"


@pytest.fixture(scope="module")
def towns(tmp_path_factory):
    root = tmp_path_factory.mktemp("delivered")
    copy_demo(root)
    info = write_delivered_town(root / "demo_town.gpkg", root / "delivered")
    return root, info


def _run(argv: list[str]) -> int:
    return main(["-q", *argv])


def test_areas_agree_per_village(towns, tmp_path):
    root, info = towns
    assert _run(["areas", str(root / "demo_town.gpkg"), "--out", str(tmp_path / "a" / "areas.csv")]) == 0
    assert _run(["areas", str(info["gdb"]), "--out", str(tmp_path / "b" / "areas.csv")]) == 0
    a = pd.read_csv(tmp_path / "a" / "areas.csv", dtype={"village_id": str})
    b = pd.read_csv(tmp_path / "b" / "areas.csv", dtype={"village_id": str})
    # GeoPackage: per village and status; survey: every parcel cultivated. Gross area per village agrees.
    ga = a[a["village_id"] != "合计"].groupby("village_id")[["parcels", "area_mu"]].sum()
    ga.index = [village_code(v) for v in ga.index]
    gb = b[b["village_id"] != "合计"].groupby("village_id")[["parcels", "area_mu"]].sum()
    pd.testing.assert_series_equal(ga["parcels"], gb["parcels"], check_names=False)
    # each status row is rounded to 0.01 mu: up to three rows per village on the GeoPackage side
    assert (ga["area_mu"] - gb["area_mu"]).abs().max() <= 0.03
    assert a.loc[a["village_id"] == "合计", "area_mu"].iloc[0] == b.loc[b["village_id"] == "合计", "area_mu"].iloc[0]
    check = pd.read_csv(tmp_path / "b" / "areas_survey_check.csv")
    assert len(check) == 2  # the two parcels edited after the survey


def test_patrol_from_a_folder_of_trips_agrees(towns, tmp_path):
    root, info = towns
    assert _run(["patrol", str(root / "demo_town.gpkg"), "--out", str(tmp_path / "a")]) == 0
    assert _run(["patrol", str(info["gdb"]), "--tracks", str(info["tracks"]), "--out", str(tmp_path / "b")]) == 0
    a = pd.read_csv(tmp_path / "a" / "patrol_segments.csv").set_index("segment_id").sort_index()
    b = pd.read_csv(tmp_path / "b" / "patrol_segments.csv").set_index("segment_id").sort_index()
    cols = [c for c in ("patrols", "covered_m", "blind_spots") if c in a.columns]
    assert cols
    pd.testing.assert_frame_equal(a[cols], b[cols], check_exact=False, rtol=1e-6)
    rejects = pd.read_csv(tmp_path / "b" / "rejects.csv")
    dup = rejects[rejects["reason"].str.contains("重复导入")]
    assert len(dup) == 1 and info["duplicate"] in dup["reason"].iloc[0]
    assert (rejects["feature_id"] == info["broken"]).sum() == 1


def test_progress_from_the_xlsx_ledger_agrees(towns, tmp_path):
    root, info = towns
    assert _run(["progress", str(root / "demo_town.gpkg"), "--as-of", "2023-06-30", "--out", str(tmp_path / "a")]) == 0
    assert _run(["progress", str(info["gdb"]), "--as-of", "2023-06-30", "--out", str(tmp_path / "b")]) == 0
    def town_rows(path: Path) -> pd.DataFrame:
        t = pd.read_csv(path)
        t = t[~t["scope"].str.startswith("村")]  # village ids differ: V01 vs the survey's 19-digit code
        return t.sort_values(["cohort", "scope", "destination", "stage"], na_position="first").reset_index(drop=True)

    a, b = town_rows(tmp_path / "a" / "resettlement.csv"), town_rows(tmp_path / "b" / "resettlement.csv")
    cols = ["cohort", "scope", "destination", "stage", "households", "done", "share_pct"]
    assert len(a) > 10
    pd.testing.assert_frame_equal(a[cols], b[cols])
    assert a["done"].sum() > 0


def test_dem_tiles_and_ndvi_bands_are_used_by_risk(towns, tmp_path):
    root, info = towns
    assert _run(["risk", str(info["gdb"]), "--out", str(tmp_path / "r")]) == 0
    factors = pd.read_csv(tmp_path / "r" / "risk_factors.csv").set_index("factor")
    n = len(pd.read_csv(tmp_path / "r" / "risk.csv"))
    # slope from the virtual mosaic of four DEM tiles, NDVI computed from red and NIR bands: every parcel
    assert factors.loc["slope_mean_deg", "parcels_with_value"] == n > 5000
    assert factors.loc["ndvi_mean", "parcels_with_value"] == n


def test_upload_from_the_survey_agrees(towns, tmp_path):
    import geopandas as gpd

    root, info = towns
    assert _run(["upload", str(root / "demo_town.gpkg"), "--out", str(tmp_path / "a")]) == 0
    assert _run(["upload", str(info["gdb"]), "--out", str(tmp_path / "b")]) == 0
    a = gpd.read_file(tmp_path / "a" / "high_standard_upload.gpkg").set_index("DKBH")
    b = gpd.read_file(tmp_path / "b" / "high_standard_upload.gpkg").set_index("DKBH")
    # the survey town has no acceptance plots: 石峡's sections count accepted by their dates there
    checked = a["XMMC"].str.contains("石峡")
    assert set(a.index[~checked]) == set(b.index[~b["XMMC"].str.contains("石峡")])
    same = a.index[~checked]
    assert (a.loc[same, "DKMJ"] - b.loc[same, "DKMJ"]).abs().max() <= 0.01
    assert (a.loc[same, "DLBM"] == b.loc[same, "DLBM"]).all()
