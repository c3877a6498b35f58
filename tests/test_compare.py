"""``gis-town compare``: two surveys of hand-made rectangles, every change class of known area.

The OLD and NEW surveys are rectangles in the Gauss-Kruger zone (EPSG:4544),
400 m apart, with ids renumbered between the years (A.. last year, N.. this
year): one parcel unchanged but digitised 0.2 m east (noise), one split in
two, two merged into one that is abandoned now, one re-cultivated, one
still abandoned, one fallow -> cultivated, one lost, one new, one
lengthened by 10 m. The expected area of each class is the geodesic area
(:class:`pyproj.Geod`, on the CGCS2000 ellipsoid) of the rectangles that
make it, computed here; the comparison must give it within 1%.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import openpyxl
import pandas as pd
import pytest
import shapely
from pyproj import Geod, Transformer

from gis_town.analysis.compare import compare_surveys, village_change_summary
from gis_town.cli import main

GK = "EPSG:4544"
X0, Y0 = 463_000.0, 3_941_000.0
SHIFT = 0.2  # m: the digitising noise of parcel 1
MU = 10_000 / 15
EVIL = '<img src=x onerror="window.__pwned=1">'

_TO_LONLAT = Transformer.from_crs(GK, "EPSG:4490", always_xy=True)
_GEOD = Geod(a=6378137.0, rf=298.257222101)  # CGCS2000


def _rect(site: int, x0: float, y0: float, w: float, h: float) -> shapely.Polygon:
    """A w x h m rectangle at (x0, y0) m from the corner of site ``site`` (sites 400 m apart)."""
    bx, by = X0 + 400.0 * (site % 5), Y0 + 400.0 * (site // 5)
    return shapely.box(bx + x0, by + y0, bx + x0 + w, by + y0 + h)


def geodesic_m2(poly: shapely.Polygon) -> float:
    """The polygon's area on the CGCS2000 ellipsoid, from its corners in lon/lat (pyproj.Geod)."""
    x, y = np.asarray(poly.exterior.coords).T
    lon, lat = _TO_LONLAT.transform(x, y)
    return abs(_GEOD.polygon_area_perimeter(lon, lat)[0])


# (old id, old status, rectangle) and (new id, new status, rectangle)
OLD = [
    ("A01", "cultivated", _rect(0, 0, 0, 100, 50)),  # 1 unchanged, new one 0.2 m east
    ("A02", "cultivated", _rect(1, 0, 0, 100, 80)),  # 2 split in two
    ("A03", "cultivated", _rect(2, 0, 0, 60, 40)),  # 3 merged with A04 ...
    ("A04", "cultivated", _rect(2, 60, 0, 60, 40)),  # ... into N04, abandoned now
    ("A05", "abandoned", _rect(3, 0, 0, 80, 50)),  # 4 re-cultivated
    ("A06", "abandoned", _rect(4, 0, 0, 70, 70)),  # 5 still abandoned
    ("A07", "fallow", _rect(5, 0, 0, 90, 40)),  # 6 fallow -> cultivated
    ("A08", "cultivated", _rect(6, 0, 0, 50, 50)),  # 7 lost
    ("A09", "cultivated", _rect(8, 0, 0, 100, 50)),  # 9 lengthened by 10 m
]
NEW = [
    ("N01", "cultivated", _rect(0, SHIFT, 0, 100, 50)),
    ("N02", "cultivated", _rect(1, 0, 0, 100, 30)),
    ("N03", "cultivated", _rect(1, 0, 30, 100, 50)),
    ("N04", "abandoned", _rect(2, 0, 0, 120, 40)),
    ("N05", "cultivated", _rect(3, 0, 0, 80, 50)),
    ("N06", "abandoned", _rect(4, 0, 0, 70, 70)),
    ("N07", "cultivated", _rect(5, 0, 0, 90, 40)),
    ("N08", "cultivated", _rect(7, 0, 0, 60, 30)),  # 8 new
    ("N09", "cultivated", _rect(8, 0, 0, 100, 60)),
]


def _expected_m2() -> dict[str, float]:
    g = {k: geodesic_m2(p) for k, _, p in OLD} | {k: geodesic_m2(p) for k, _, p in NEW}
    overlap1 = geodesic_m2(_rect(0, SHIFT, 0, 100 - SHIFT, 50))
    return {
        "unchanged": overlap1 + g["N02"] + g["N03"] + g["A09"],
        "newly_abandoned": g["A03"] + g["A04"],
        "recultivated": g["A05"],
        "still_abandoned": g["A06"],
        "other_status_change": g["A07"],
        "lost": g["A08"],
        "new": g["N08"] + geodesic_m2(_rect(8, 0, 50, 100, 10)),
    }


def _layer(rows, villages=("V01", "V02")) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "parcel_id": [r[0] for r in rows],
            "village_id": [villages[0] if int(r[0][1:]) <= 4 else villages[1] for r in rows],
            "status": [r[1] for r in rows],
        },
        geometry=[r[2] for r in rows],
        crs=GK,
    ).to_crs("EPSG:4490")


@pytest.fixture(scope="module")
def tables():
    return compare_surveys(_layer(OLD), _layer(NEW), gk_crs=GK)


def test_each_change_class_area_is_the_geodesic_area(tables):
    got = tables.pieces.groupby("change")["area_m2"].sum()
    for cls, m2 in _expected_m2().items():
        assert got.get(cls, 0.0) == pytest.approx(m2, rel=0.01), cls
        assert got.get(cls, 0.0) == pytest.approx(m2, rel=1e-5), cls  # in fact far closer
    mu = tables.pieces.groupby("change")["area_mu"].sum()
    assert mu["lost"] == pytest.approx(_expected_m2()["lost"] / MU, rel=1e-5)


def test_split_parcel_old_id_paired_with_both_new_ids(tables):
    p = tables.pieces
    rows = p[p["old_parcel_id"] == "A02"]
    assert sorted(rows["new_parcel_id"]) == ["N02", "N03"]
    assert set(rows["geometry_change"]) == {"split"}
    assert set(rows["change"]) == {"unchanged"}


def test_merged_parcel_and_its_class(tables):
    p = tables.pieces
    rows = p[p["new_parcel_id"] == "N04"]
    assert sorted(rows["old_parcel_id"]) == ["A03", "A04"]
    assert set(rows["geometry_change"]) == {"merged"}
    assert set(rows["change"]) == {"newly_abandoned"}


def test_ids_are_matched_by_geometry_never_by_id(tables):
    p = tables.pieces
    pairs = set(zip(p["old_parcel_id"].fillna(""), p["new_parcel_id"].fillna("")))
    assert ("A01", "N01") in pairs and ("A05", "N05") in pairs and ("A09", "N09") in pairs
    assert ("A08", "") in pairs and ("", "N08") in pairs  # lost, new
    assert not any(o and n and o[1:] != n[1:] and o not in ("A02", "A03", "A04") for o, n in pairs)


def test_lost_new_and_reshaped_rows(tables):
    p = tables.pieces
    lost = p[p["change"] == "lost"]
    assert lost["old_parcel_id"].tolist() == ["A08"] and lost["new_parcel_id"].isna().all()
    assert lost["new_status"].isna().all()
    new = p[p["change"] == "new"].sort_values("new_parcel_id")
    assert new["new_parcel_id"].tolist() == ["N08", "N09"]  # N09: its 10 m extension
    assert new.loc[new["new_parcel_id"] == "N09", "geometry_change"].item() == "reshaped"
    assert p.loc[(p["old_parcel_id"] == "A09") & p["new_parcel_id"].notna(), "geometry_change"].item() == "reshaped"
    assert p.loc[p["old_parcel_id"] == "A06", "geometry_change"].item() == "same"


def test_slivers_ignored_and_counted(tables):
    p = tables.pieces
    # the 0.2 m strips of parcel 1 (10 m² each, 0.2% of the parcel) are not rows
    assert len(p[(p["old_parcel_id"] == "A01") | (p["new_parcel_id"] == "N01")]) == 1
    assert tables.slivers == 2
    assert tables.sliver_m2 == pytest.approx(2 * geodesic_m2(_rect(0, 0, 0, SHIFT, 50)), rel=1e-4)
    assert (p["area_m2"] > 10).all()
    # raising the threshold floor above 10 m² changes nothing; lowering it to 0 keeps the strips
    loose = compare_surveys(_layer(OLD), _layer(NEW), gk_crs=GK, sliver_share=0.0, sliver_min_m2=0.0)
    assert loose.slivers == 0
    assert len(loose.pieces) == len(p) + 2


def test_totals_reconcile_with_both_surveys(tables):
    p = tables.pieces
    old_total = sum(geodesic_m2(r[2]) for r in OLD)
    new_total = sum(geodesic_m2(r[2]) for r in NEW)
    assert tables.old_m2 == pytest.approx(old_total, rel=1e-6)
    assert tables.new_m2 == pytest.approx(new_total, rel=1e-6)
    old_side = p.loc[p["old_parcel_id"].notna(), "area_m2"].sum()
    new_side = p.loc[p["new_parcel_id"].notna(), "area_m2"].sum()
    assert old_side + tables.sliver_m2 / 2 == pytest.approx(old_total, abs=1e-3)  # crumbs: 1e-4 m²
    assert new_side + tables.sliver_m2 / 2 == pytest.approx(new_total, abs=1e-3)


def test_village_summary_balanced_to_the_total(tables):
    s = village_change_summary(tables.pieces)
    body, total = s.iloc[:-1], s.iloc[-1]
    assert total["village_id"] == "合计 total"
    cols = [c for c in s.columns if c.endswith("_mu")]
    cents = (s[cols] * 100).round().astype("int64")
    for c in cols:  # each column adds up to the total row, to the cent
        assert cents[c].iloc[:-1].sum() == cents[c].iloc[-1], c
    classes = [c for c in cols if c != "total_mu"]
    assert (cents[classes].iloc[:-1].sum(axis=1) == cents["total_mu"].iloc[:-1]).all()
    assert round(float(total["total_mu"]), 2) == round(sum(_expected_m2().values()) / MU, 2)
    assert total["lost_mu"] == pytest.approx(_expected_m2()["lost"] / MU, abs=0.006)
    assert body["pieces"].sum() == total["pieces"] == len(tables.pieces)


def test_balanced_summary_on_many_small_pieces():
    rng = np.random.default_rng(3)
    n = 500
    pieces = pd.DataFrame({
        "village_id": rng.choice(["V1", "V2", "V3", "V4"], n),
        "change": rng.choice(["unchanged", "lost", "new", "newly_abandoned"], n),
        "area_mu": rng.uniform(0.001, 0.02, n),
    })
    s = village_change_summary(pieces)
    cols = [c for c in s.columns if c.endswith("_mu")]
    cents = (s[cols] * 100).round().astype("int64")
    assert (cents.iloc[:-1].sum() == cents.iloc[-1]).all()
    assert cents["total_mu"].iloc[-1] == round(pieces["area_mu"].sum() * 100)
    for cls in ("lost", "new"):  # the class totals are the rounded class sums
        assert cents[f"{cls}_mu"].iloc[-1] == round(pieces.loc[pieces["change"] == cls, "area_mu"].sum() * 100)


def test_touching_neighbours_and_identical_parcels_are_not_pieces():
    a = _layer([("A1", "cultivated", _rect(0, 0, 0, 50, 50)), ("A2", "cultivated", _rect(0, 50, 0, 50, 50))])
    b = _layer([("N1", "cultivated", _rect(0, 0, 0, 50, 50)), ("N2", "cultivated", _rect(0, 50, 0, 50, 50))])
    t = compare_surveys(a, b, gk_crs=GK)
    assert sorted(zip(t.pieces["old_parcel_id"], t.pieces["new_parcel_id"])) == [("A1", "N1"), ("A2", "N2")]
    assert set(t.pieces["geometry_change"]) == {"same"} and t.slivers == 0


# --------------------------------------------------------------------------- the command


def _write_town(folder: Path, rows, *, evil: bool = False) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "town.gpkg"
    farm = _layer(rows)
    farm["contractor"] = [EVIL if evil and r[0] == "N04" else "户" for r in rows]
    farm.to_file(path, layer="farmland")
    villages = gpd.GeoDataFrame(
        {"village_id": ["V01", "V02"], "name": [EVIL + "村" if evil else "甲村", "乙村"],
         "leader": ["李", "王"]},
        geometry=[shapely.box(X0 - 50, Y0 - 50, X0 + 1950, Y0 + 350),
                  shapely.box(X0 - 50, Y0 + 350, X0 + 1950, Y0 + 800)],
        crs=GK,
    ).to_crs("EPSG:4490")
    villages.to_file(path, layer="villages")
    (folder / "town.toml").write_text('[town]\nname = "测试镇"\ndata_date = 2023-12-31\n', encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    base = tmp_path_factory.mktemp("compare")
    old = _write_town(base / "y2022", OLD)
    new = _write_town(base / "y2023", NEW, evil=True)
    out = base / "out"
    rc = main(["-q", "compare", str(old), str(new), "--out", str(out), "--old-date", "2022-12-31",
               "--offline", "--no-print"])
    assert rc == 0
    return out


def test_changes_csv_classes_and_ids(run_dir):
    df = pd.read_csv(run_dir / "changes.csv", dtype={"old_parcel_id": str, "new_parcel_id": str})
    assert list(df.columns[:7]) == ["old_parcel_id", "new_parcel_id", "village_id", "old_status",
                                    "new_status", "change", "geometry_change"]
    by = df.groupby("change")["area_mu"].sum()
    for cls, m2 in _expected_m2().items():
        assert by[cls] == pytest.approx(m2 / MU, rel=0.01), cls
    assert sorted(df.loc[df["old_parcel_id"] == "A02", "new_parcel_id"]) == ["N02", "N03"]
    assert set(df.loc[df["new_parcel_id"] == "N04", "geometry_change"]) == {"merged"}


def test_workbook_headers_dates_and_number_formats(run_dir):
    wb = openpyxl.load_workbook(run_dir / "changes.xlsx")
    ws = wb["变化明细 changes"]
    heads = [c.value for c in ws[3]]
    assert "上期地块编码 old_parcel_id" in heads and "面积(亩) area_mu" in heads
    assert all(re.search(r"[\u4e00-\u9fff]", h) and re.search(r"[a-z]", h) for h in heads)
    k = heads.index("面积(亩) area_mu")
    assert isinstance(ws.cell(4, k + 1).value, float) and ws.cell(4, k + 1).number_format == "#,##0.00"
    ws = wb["两期调查 surveys"]
    heads = [c.value for c in ws[3]]
    k = heads.index("数据日期 data_date")
    cell = ws.cell(4, k + 1)
    assert cell.value.date().isoformat() == "2022-12-31" and cell.number_format == "yyyy-mm-dd"
    assert ws.cell(5, k + 1).value.date().isoformat() == "2023-12-31"
    ws = wb["新增撂荒 newly abandoned"]
    heads = [c.value for c in ws[3]]
    assert "地块编码 parcel" in heads and "上期地块编码 old_parcel_id" in heads
    row = {h: c.value for h, c in zip(heads, ws[4])}
    assert row["地块编码 parcel"] == "N04" and row["上期地块编码 old_parcel_id"] == "A03;A04"
    ws = wb["各村汇总 by village"]
    heads = [c.value for c in ws[3]]
    assert "新增撂荒(亩) newly_abandoned_mu" in heads


def test_newly_abandoned_visit_list(run_dir):
    df = pd.read_csv(run_dir / "newly_abandoned.csv")
    assert df["parcel_id"].tolist() == ["N04"]
    assert df["area_mu"].item() == pytest.approx(_expected_m2()["newly_abandoned"] / MU, rel=1e-4)
    assert "A03" in df["reason"].item() and "耕种" in df["reason"].item()
    for ext in ("xlsx", "kml", "gpx"):
        assert (run_dir / f"newly_abandoned.{ext}").is_file()
    kml = (run_dir / "newly_abandoned.kml").read_text(encoding="utf-8")
    assert "N04" in kml and "<img" not in kml


def test_change_map_classes_escaped_and_offline(run_dir):
    from tests.test_maps import page_layers

    page = (run_dir / "changes.html").read_text(encoding="utf-8")
    assert EVIL not in page and "<img src=x" not in page
    # Leaflet and its plugins inline: no script or style sheet from the network
    assert not re.search(r"""<(script|link)\b[^>]*(src|href)\s*=\s*["']?https?://""", page, flags=re.IGNORECASE)
    assert "tile.openstreetmap" not in page  # --offline: no tiles either
    layers = page_layers(page)
    names = [json.loads(json.dumps(k)) for k in layers]
    assert any("耕地变化" in n for n in names)
    assert any("耕地减少" in n for n in names) and any("新增撂荒" in n for n in names)
    # every class of the legend is there (Chinese with English beside)
    for word in ("未变化 unchanged", "新增撂荒 newly_abandoned", "耕地减少(非农化/非粮化) lost", "新增耕地 new"):
        assert word in page


@pytest.mark.browser
def test_change_map_draws_offline_in_a_browser(run_dir):
    if not Path("/usr/bin/chromium").exists():
        pytest.skip("headless Chromium not installed (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    from tests.test_map_browser import CHROMIUM, CHROMIUM_ARGS, Opened
    from tests.test_map_offline import DRAWN_JS

    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            o = Opened(b, run_dir / "changes.html")
            drawn = o.js(DRAWN_JS)
            o.no_harm()
            assert o.requests == [] and o.errors == [], (o.requests, o.errors)
            o.close()
        finally:
            b.close()
    changes = next(v for k, v in drawn.items() if "耕地变化" in k)
    assert changes["decoded"] == changes["drawn"] == 12  # every piece of the two surveys
    lost = next(v for k, v in drawn.items() if "耕地减少" in k)
    assert lost["drawn"] == 1


def test_demo_town_exit_0(tmp_path):
    repo = Path(__file__).resolve().parents[1]
    out = tmp_path / "x"
    rc = main(["-q", "compare", str(repo / "layers" / "demo_town_2022.gpkg"),
               str(repo / "layers" / "demo_town.gpkg"), "--out", str(out), "--no-print"])
    assert rc == 0
    df = pd.read_csv(out / "changes.csv")
    assert {"unchanged", "newly_abandoned", "recultivated", "lost", "new"} <= set(df["change"])
    assert {"split", "merged"} <= set(df["geometry_change"])
    v = pd.read_csv(out / "changes_villages.csv")
    assert round(v["total_mu"].iloc[:-1].sum(), 2) == round(v["total_mu"].iloc[-1], 2)


@pytest.mark.parametrize("case", ["missing", "no_farmland"])
def test_bad_input_exit_2_with_a_chinese_and_english_message(tmp_path, capsys, case):
    new = _write_town(tmp_path / "new", NEW)
    if case == "missing":
        old = tmp_path / "nowhere.gpkg"
    else:
        old = tmp_path / "old" / "roads.gpkg"
        old.parent.mkdir()
        _layer(OLD)[["parcel_id", "geometry"]].to_file(old, layer="villages")
    rc = main(["compare", str(old), str(new), "--out", str(tmp_path / "out")])
    assert rc == 2
    err = capsys.readouterr().err
    assert str(old.name) in err
    assert re.search(r"[\u4e00-\u9fff]", err) and re.search(r"[A-Za-z]{4,}", err)
    assert ("not found" in err) if case == "missing" else ("farmland" in err)
    assert "Traceback" not in err


# --------------------------------------------------------------------------- the Dask path


def _grid_surveys(n: int = 16) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Two surveys of an n x n grid of 50 m parcels: splits, merges, noise, status changes, lost, new."""
    rng = np.random.default_rng(11)
    cell = 50.0
    old_rows, new_rows = [], []
    for r in range(n):
        for c in range(n):
            x, y = X0 + c * cell, Y0 + r * cell
            k = r * n + c
            st = rng.choice(["cultivated", "abandoned", "fallow"], p=[0.7, 0.2, 0.1])
            old_rows.append((f"A{k:04d}", st, shapely.box(x, y, x + cell, y + cell)))
            roll = rng.random()
            new_st = rng.choice(["cultivated", "abandoned"]) if rng.random() < 0.2 else st
            dx = 0.15 if r % 3 == 0 else 0.0  # digitising noise in some rows
            if roll < 0.08:  # split
                new_rows.append((f"N{k:04d}a", new_st, shapely.box(x + dx, y, x + dx + 20, y + cell)))
                new_rows.append((f"N{k:04d}b", new_st, shapely.box(x + dx + 20, y, x + cell, y + cell)))
            elif roll < 0.12:
                continue  # lost
            elif roll < 0.16 and c % 2 == 0 and c + 1 < n:  # merged with the right neighbour (reshaped)
                new_rows.append((f"N{k:04d}m", new_st, shapely.box(x, y, x + 1.6 * cell, y + cell)))
            else:
                new_rows.append((f"N{k:04d}", new_st, shapely.box(x + dx, y, x + dx + cell, y + cell)))
    new_rows.append(("N9999", "cultivated", shapely.box(X0 - 200, Y0, X0 - 120, Y0 + 60)))  # new
    new_rows = list(dict((r[0], r) for r in new_rows).values())
    old = gpd.GeoDataFrame({"parcel_id": [r[0] for r in old_rows], "village_id": "V01",
                            "status": [r[1] for r in old_rows]},
                           geometry=[r[2] for r in old_rows], crs=GK).to_crs("EPSG:4490")
    new = gpd.GeoDataFrame({"parcel_id": [r[0] for r in new_rows], "village_id": "V01",
                            "status": [r[1] for r in new_rows]},
                           geometry=[r[2] for r in new_rows], crs=GK).to_crs("EPSG:4490")
    return old, new


def _assert_same(a, b) -> None:
    pa, pb = a.pieces, b.pieces
    pd.testing.assert_frame_equal(pd.DataFrame(pa.drop(columns=pa.geometry.name)),
                                  pd.DataFrame(pb.drop(columns=pb.geometry.name)), check_exact=True)
    assert shapely.equals_exact(pa.geometry.values, pb.geometry.values, 0).all()
    assert (a.slivers, a.sliver_m2, a.old_m2, a.new_m2) == (b.slivers, b.sliver_m2, b.old_m2, b.new_m2)


@pytest.fixture(scope="module")
def dask_client():
    pytest.importorskip("dask_geopandas")
    pytest.importorskip("distributed")
    from gis_town import parallel as par

    with par.client_for(workers=2, processes=False) as c:
        yield c


@pytest.mark.parametrize("parts", [2, 7])
def test_dask_path_gives_the_one_process_result(dask_client, parts):
    from gis_town.parallel.compare import compare_surveys as partitioned

    old, new = _grid_surveys()
    one = compare_surveys(old, new, gk_crs=GK)
    assert {"split", "merged", "reshaped"} <= set(one.pieces["geometry_change"])
    assert {"lost", "new", "newly_abandoned", "recultivated"} <= set(one.pieces["change"])
    assert one.slivers > 0
    _assert_same(one, partitioned(old, new, gk_crs=GK, npartitions=parts))


def test_dask_path_without_a_cluster_and_on_the_hand_made_surveys():
    pytest.importorskip("dask_geopandas")
    from gis_town.parallel.compare import compare_surveys as partitioned

    old, new = _layer(OLD), _layer(NEW)
    _assert_same(compare_surveys(old, new, gk_crs=GK), partitioned(old, new, gk_crs=GK, npartitions=3))


def test_cli_workers_2_writes_the_same_changes(run_dir, tmp_path):
    pytest.importorskip("distributed")
    base = run_dir.parent
    out = tmp_path / "dask"
    rc = main(["-q", "compare", str(base / "y2022" / "town.gpkg"), str(base / "y2023" / "town.gpkg"),
               "--out", str(out), "--old-date", "2022-12-31", "--no-map", "--workers", "2"])
    assert rc == 0
    for name in ("changes.csv", "changes_villages.csv", "newly_abandoned.csv"):
        assert (out / name).read_bytes() == (run_dir / name).read_bytes(), name


def test_lost_farmland_named_by_the_new_survey_land_class(tmp_path):
    """NEW a 三调 database: the lost parcel is under a 0702 农村宅基地 parcel of DLTB."""
    gdb = tmp_path / "三调.gdb"
    farm = [r[2] for r in NEW]
    dltb = gpd.GeoDataFrame(
        {"BSM": [str(k) for k in range(len(farm) + 1)], "DLBM": ["0103"] * len(farm) + ["0702"],
         "DLMC": ["旱地"] * len(farm) + ["农村宅基地"], "ZLDWDM": "V01", "TBMJ": 0.0, "KCXS": 0.0},
        geometry=[*farm, _rect(6, -5, -5, 60, 60)], crs=GK,
    ).to_crs("EPSG:4490")
    dltb.to_file(gdb, layer="DLTB", driver="OpenFileGDB")
    gpd.GeoDataFrame({"ZLDWDM": ["V01"], "ZLDWMC": ["甲村"]}, geometry=[shapely.box(X0 - 50, Y0 - 50, X0 + 2000, Y0 + 800)],
                     crs=GK).to_crs("EPSG:4490").to_file(gdb, layer="CJDCQ", driver="OpenFileGDB")
    old = _write_town(tmp_path / "old", OLD)
    rc = main(["-q", "compare", str(old), str(gdb), "--out", str(tmp_path / "out"), "--no-map"])
    assert rc == 0
    df = pd.read_csv(tmp_path / "out" / "changes.csv", dtype=str)
    lost = df[df["change"] == "lost"]
    assert lost[["old_parcel_id", "new_land_class", "new_land_class_name"]].values.tolist() == [
        ["A08", "0702", "农村宅基地"]]
    assert df.loc[df["change"] != "lost", "new_land_class"].isna().all()
