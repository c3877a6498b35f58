"""River problems to closure (清四乱, 回头看): gis_town.analysis.patrol.problems and gis_town.io.problems.

The hand-made town: two straight 1,000 m segments in EPSG:4544 (S1 along y = 0,
chief 张三; S2 along y = 2,000, chief 李四), problems at known positions, and
tracks whose dates and distances to the problems are known. Every expected
value below is worked out by hand in the comments, never read from the code.
"""

from __future__ import annotations

import datetime as dt

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Transformer

from gis_town.analysis import patrol as P
from gis_town.config import TownConfig
from gis_town.io.problems import description_pairs, load_problems, read_problem_kml
from gis_town.io.town import Town
from gis_town.io.validate import validate_layer
from gis_town.runners.patrol import run_patrol

GK = "EPSG:4544"
X0, Y0 = 500_000.0, 3_940_000.0
AS_OF = dt.date(2023, 7, 1)


def rivers() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "segment_id": ["S1", "S2"],
            "river_name": ["关川河", "杨家沟"],
            "chief": ["张三", "李四"],
            "chief_level": ["village", "village"],
            "annual_patrol_target": [2, 2],
            "village_id": ["V1", "V2"],
        },
        geometry=[
            shapely.LineString([(X0, Y0), (X0 + 1000, Y0)]),
            shapely.LineString([(X0, Y0 + 2000), (X0 + 1000, Y0 + 2000)]),
        ],
        crs=GK,
    )


def walk(y: float, start: str, chief: str, *, speed_ms: float = 0.8) -> gpd.GeoDataFrame:
    """A walk along y from x = 0 to 1,000 m, a fix every 10 s (0.8 m/s: 8 m apart, on x = 0, 8, ... 1000)."""
    n = int(round(1000 / (speed_ms * 10))) + 1
    xs = np.linspace(0, 1000, n)
    t = pd.Timestamp(start) + pd.to_timedelta(np.arange(n) * 10, unit="s")
    return gpd.GeoDataFrame(
        {"chief": chief, "time": t}, geometry=gpd.points_from_xy(X0 + xs, Y0 + y), crs=GK
    )


def tracks() -> gpd.GeoDataFrame:
    return pd.concat(
        [
            walk(0, "2023-06-10 08:00", "张三"),  # S1 after Q1's rectification (Q1 is 30 m off it)
            walk(2000, "2023-05-25 08:00", "李四"),  # S2 before Q2 was rectified (06-01)
            walk(2000, "2023-06-15 08:00", "王五", speed_ms=40 / 3.6),  # a drive-by (no segment of his): invalid
        ],
        ignore_index=True,
    )


def problems() -> gpd.GeoDataFrame:
    rows = [
        # id, kind, segment, x, y, reported, rectified
        ("Q1", "乱堆", "S1", 200, 30, "2023-05-01", "2023-05-20"),  # closed after 19 days, revisited
        ("Q2", "垃圾", "S2", 500, 2040, "2023-05-01", "2023-06-01"),  # closed after 31 days (late), not revisited
        ("Q3", "乱占", "S1", 900, 10, "2023-06-01", None),  # open 30 days: not overdue (30 > 30 is false)
        ("Q4", "排污", None, 100, 2300, "2023-05-15", None),  # nearest S2, 300 m > 200: far; open 47 days: overdue
        ("Q9", "乱建", "S2", 700, 1990, "2023-06-25", None),  # open 6 days
        ("Q5", "乱采", "S1", 300, 0, "2023-06-10", "2023-06-01"),  # rectified before reported: rejected
        ("Q6", "乱丢", "S1", 400, 0, "2023-06-10", None),  # unknown kind: rejected
        ("Q7", "垃圾", "S1", None, None, "2023-06-10", None),  # no location: rejected
        ("Q8", "垃圾", "S1", 600, 0, "2023-08-01", None),  # reported after the report date: not in the period
    ]
    geom = [shapely.Point(X0 + x, Y0 + y) if x is not None else None for *_, x, y, _r, _c in rows]
    return gpd.GeoDataFrame(
        {
            "problem_id": [r[0] for r in rows],
            "kind": [r[1] for r in rows],
            "segment_id": [r[2] for r in rows],
            "reported_date": [r[5] for r in rows],
            "rectified_date": [r[6] for r in rows],
            "reported_by": ["张三", "李四", "张三", "王五", "李四", "张三", "张三", "张三", "张三"],
            "note": ["河道内堆放建筑垃圾 <b>&</b>", None, None, None, None, None, None, None, None],
        },
        geometry=geom,
        crs=GK,
    )


@pytest.fixture(scope="module")
def result():
    town = Town(path=None, config=TownConfig(), layers={"rivers": rivers(), "patrols": tracks()})
    return run_patrol(town, as_of=AS_OF, problems=problems())


def test_bad_rows_go_to_rejects_with_their_reason(result):
    rej = result.problems[result.problems["layer"] == "problems"].set_index("feature_id")
    assert set(rej.index) == {"Q5", "Q6", "Q7"}
    assert "before reported" in rej.loc["Q5", "reason"] and rej.loc["Q5", "field"] == "rectified_date"
    assert "乱丢" in rej.loc["Q6", "reason"] and rej.loc["Q6", "field"] == "kind"
    assert rej.loc["Q7", "field"] == "geometry"
    s = result.summary
    assert s["problems_rejected"] == 1  # Q5 (the analysis' own); Q6, Q7 by the layer's validation
    assert s["problems_outside_period"] == 1  # Q8


def test_states_days_open_and_overdue(result):
    t = result.river_problems.table.set_index("problem_id")
    assert sorted(t.index) == ["Q1", "Q2", "Q3", "Q4", "Q9"]
    # closed: reported -> rectified; open: reported -> 2023-07-01
    assert t.loc["Q1", "days_open"] == 19 and t.loc["Q1", "state"] == "closed"
    assert t.loc["Q2", "days_open"] == 31 and t.loc["Q2", "closed_late"]
    assert t.loc["Q3", "days_open"] == 30 and t.loc["Q3", "state"] == "open" and not t.loc["Q3", "overdue"]
    assert t.loc["Q4", "days_open"] == 47 and t.loc["Q4", "state"] == "overdue"
    assert t.loc["Q9", "days_open"] == 6 and t.loc["Q9", "state"] == "open"
    assert t.loc["Q1", "kind"] == "dumping" and t.loc["Q1", "kind_label"] == "乱堆"


def test_snapping_to_the_segment(result):
    t = result.river_problems.table.set_index("problem_id")
    assert t.loc["Q4", "segment_id"] == "S2" and t.loc["Q4", "segment_source"] == "nearest"
    assert t.loc["Q4", "distance_m"] == pytest.approx(300.0)  # (100, 2300) to y = 2000
    assert t.loc["Q4", "far_from_river"] and "300" in t.loc["Q4", "snap_note"]
    assert t.loc["Q1", "segment_source"] == "given" and not t.loc["Q1", "far_from_river"]
    assert t.loc["Q1", "distance_m"] == pytest.approx(30.0)
    assert t.loc["Q1", "chainage_m"] == pytest.approx(200.0)
    assert t.loc["Q2", "chief"] == "李四"  # the responsible chief: the segment's


def test_counts_per_segment_and_chief(result):
    seg = result.segments.set_index("segment_id")
    # S1: Q1 closed, Q3 open -> 2, 1 open, 0 overdue, 1 closed, 1/2
    assert seg.loc["S1", ["problems", "problems_open", "problems_overdue", "problems_closed"]].tolist() == [2, 1, 0, 1]
    assert seg.loc["S1", "rectification_rate"] == pytest.approx(0.5)
    # S2: Q2 closed, Q4 overdue, Q9 open -> 3, 2 open, 1 overdue, 1 closed, 1/3
    assert seg.loc["S2", ["problems", "problems_open", "problems_overdue", "problems_closed"]].tolist() == [3, 2, 1, 1]
    assert seg.loc["S2", "rectification_rate"] == pytest.approx(1 / 3)
    ch = result.chiefs.set_index("chief")
    assert ch.loc["张三", "problems"] == 2 and ch.loc["李四", "problems"] == 3
    assert ch.loc["李四", "rectification_rate"] == pytest.approx(1 / 3)
    assert ch.loc["张三", "problems_reported"] == 2  # Q1, Q3 (Q5-Q8 rejected or outside the period)
    s = result.summary
    assert (s["problems"], s["problems_open"], s["problems_overdue"], s["problems_closed"]) == (5, 3, 1, 2)
    assert s["rectification_rate"] == pytest.approx(2 / 5)


def test_rate_decides_the_rank(result):
    ch = result.chiefs.set_index("chief")
    # both: 1 own patrol of a target of 2 (50 %), full coverage, no invalid share -> tied without problems
    assert ch.loc["张三", "progress"] == pytest.approx(0.5) and ch.loc["李四", "progress"] == pytest.approx(0.5)
    # w = 0.3: 张三 0.7 * 0.5 + 0.3 * 0.5 = 0.50; 李四 0.7 * 0.5 + 0.3 * (1/3) = 0.45
    assert ch.loc["张三", "rank_score"] == pytest.approx(0.50)
    assert ch.loc["李四", "rank_score"] == pytest.approx(0.45)
    assert (ch.loc["张三", "rank"], ch.loc["李四", "rank"]) == (1, 2)


def test_villages_get_the_counts_and_the_same_rule(result):
    v = result.villages.set_index("village_id")
    assert v.loc["V1", "problems"] == 2 and v.loc["V2", "problems"] == 3
    assert v.loc["V2", "problems_overdue"] == 1
    # V1: 0.7 * 0.5 + 0.3 * 0.5 = 0.50; V2: 0.7 * 0.5 + 0.3 * (1/3) = 0.45
    assert v.loc["V1", "rank_score"] == pytest.approx(0.50) and v.loc["V2", "rank_score"] == pytest.approx(0.45)
    assert (v.loc["V1", "rank"], v.loc["V2", "rank"]) == (1, 2)


def test_weight_zero_leaves_the_rank_as_before():
    cfg = TownConfig()
    cfg.patrol.problem_rate_weight = 0.0
    town = Town(path=None, config=cfg, layers={"rivers": rivers(), "patrols": tracks()})
    res = run_patrol(town, as_of=AS_OF, problems=problems())
    ch = res.chiefs.set_index("chief")
    assert (ch.loc["张三", "rank"], ch.loc["李四", "rank"]) == (1, 1)  # tied as without problems


def test_revisit_after_the_rectified_date(result):
    rv = result.river_problems.revisits.set_index("problem_id")
    assert sorted(rv.index) == ["Q1", "Q2"]  # closed in the period
    # Q1: 张三 walked S1 on 06-10, after 05-20, a fix at x = 200, 30 m from it
    assert bool(rv.loc["Q1", "revisited"])
    assert rv.loc["Q1", "revisit_distance_m"] == pytest.approx(30.0)
    assert pd.Timestamp(rv.loc["Q1", "revisit_date"]).date() == dt.date(2023, 6, 10)
    assert rv.loc["Q1", "revisit_chief"] == "张三"
    # Q2: the walk 40 m from it was on 05-25, before 06-01; the 06-15 drive-by is not a valid trip
    assert not bool(rv.loc["Q2", "revisited"]) and rv.loc["Q2", "revisit_note"]
    assert result.summary["revisited"] == 1 and result.summary["not_revisited"] == 1
    assert result.points is None  # kept for 回头看 only, not handed back unasked


def test_period_start_excludes_problems_closed_before_it():
    prepared, _ = P.prepare_problems(
        problems().dropna(subset=["geometry"]).iloc[:5], P.prepare_rivers(rivers(), gk_crs=GK), gk_crs=GK
    )
    st = P.problem_states(prepared, as_of=AS_OF, start=dt.date(2023, 5, 25), end=AS_OF)
    # Q1 rectified 05-20, before the period: out; Q2 rectified 06-01, closed in it
    assert sorted(st["problem_id"]) == ["Q2", "Q3", "Q4", "Q9"]
    assert st.set_index("problem_id").loc["Q2", "closed_in_period"]


def test_revisits_without_points_are_not_checked(result):
    rv = P.revisit_table(
        result.river_problems.table, result.trips, None, as_of=AS_OF, end=AS_OF, tolerance_m=50.0
    )
    assert list(rv["problem_id"]) == ["Q1", "Q2"] and rv["revisited"].isna().all()
    assert rv["revisit_note"].str.contains("not checked").all()


# --------------------------------------------------------------------------- readers


def _lonlat(x: float, y: float) -> tuple[float, float]:
    return Transformer.from_crs(GK, "EPSG:4326", always_xy=True).transform(X0 + x, Y0 + y)


def test_kml_placemarks_with_descriptions(tmp_path):
    lon1, lat1 = _lonlat(200, 30)
    lon2, lat2 = _lonlat(500, 2040)
    kml = f"""<?xml version="1.0" encoding="UTF-8"?>
<kml xmlns="http://www.opengis.net/kml/2.2"><Document>
<Placemark><name>WT-001</name>
<description><![CDATA[问题类型：乱堆<br/>河段编码：S1<br/>上报日期：2023年5月1日<br/>上报人：张三<br/>整改日期：2023.5.20<br/>照片：photos/WT-001.jpg<br/>备注：堆放砂石 &amp; 垃圾]]></description>
<Point><coordinates>{lon1},{lat1},0</coordinates></Point></Placemark>
<Placemark><name>河道垃圾</name>
<description><![CDATA[<table><tr><td>问题编号</td><td>WT-002</td></tr><tr><td>类型</td><td>垃圾</td></tr>
<tr><td>发现日期</td><td>2023-05-01 10:30</td></tr></table>]]></description>
<Point><coordinates>{lon2},{lat2}</coordinates></Point></Placemark>
<Placemark><name>WT-003</name><description>问题类型：排污
上报日期：2023-06-01</description></Placemark>
</Document></kml>"""
    path = tmp_path / "问题.kml"
    path.write_text(kml, encoding="utf-8")
    gdf = read_problem_kml(path)
    assert list(gdf["problem_id"]) == ["WT-001", "WT-002"]
    rej = gdf.attrs["rejects"]
    assert list(rej["feature_id"]) == ["WT-003"] and rej["row"].iloc[0] == 3
    first = gdf.iloc[0]
    assert first["kind"] == "乱堆" and first["segment_id"] == "S1" and first["reported_by"] == "张三"
    assert pd.Timestamp(first["reported_date"]).date() == dt.date(2023, 5, 1)
    assert pd.Timestamp(first["rectified_date"]).date() == dt.date(2023, 5, 20)
    assert first["photo"] == "photos/WT-001.jpg" and first["note"] == "堆放砂石 & 垃圾"
    assert pd.Timestamp(gdf.iloc[1]["reported_date"]).date() == dt.date(2023, 5, 1)
    used, prob = validate_layer(gdf, "problems")
    assert list(used["kind"]) == ["dumping", "garbage"] and len(prob) == 0
    back = used.to_crs(GK).geometry
    assert back.iloc[0].x == pytest.approx(X0 + 200, abs=0.01) and back.iloc[0].y == pytest.approx(Y0 + 30, abs=0.01)


def test_description_pairs_keep_times():
    assert description_pairs("上报日期: 2023-05-12 10:30<br>类型：垃圾") == {
        "上报日期": "2023-05-12 10:30",
        "类型": "垃圾",
    }


def test_xlsx_ledger_with_lon_lat(tmp_path):
    from openpyxl import Workbook

    lon, lat = _lonlat(200, 30)
    wb = Workbook()
    ws = wb.active
    ws.append(["关川镇河湖四乱问题台账"])
    ws.append(["问题编号", "问题类型", "河段编码", "经度", "纬度", "上报日期", "上报人", "整改日期", "备注"])
    ws.append(["X1", "乱采", "S1", lon, lat, "2023年5月1日", "张三", "2023-05-20", "非法采砂"])
    ws.append(["X2", "乱丢", "S1", lon, lat, "2023-05-02", "张三", None, None])  # unknown kind
    ws.append(["X3", "垃圾", "S1", None, None, "2023-05-03", "张三", None, None])  # no location
    path = tmp_path / "问题台账.xlsx"
    wb.save(path)
    cfg = TownConfig()
    used, rejects, counts = load_problems(None, cfg, path=path)
    assert list(used["problem_id"]) == ["X1"] and used["kind"].iloc[0] == "mining"
    assert pd.Timestamp(used["reported_date"].iloc[0]).date() == dt.date(2023, 5, 1)
    rej = rejects.set_index("feature_id")
    assert set(rej.index) == {"X2", "X3"}
    assert rej.loc["X2", "field"] == "kind" and rej.loc["X2", "row"] == 4  # the sheet's row number
    assert rej.loc["X3", "row"] == 5
    assert counts == {"layer": "problems", "read": 3, "used": 1, "repaired": 0, "rejected": 2}


def test_geopackage_layer_through_the_config(tmp_path):
    path = tmp_path / "river_problems.gpkg"
    problems().iloc[:5].to_file(path, layer="problems", driver="GPKG")
    (tmp_path / "town.toml").write_text('[layers.problems]\npath = "river_problems.gpkg"\n', encoding="utf-8")
    from gis_town.config import load_config

    cfg = load_config(tmp_path / "town.toml")
    used, rejects, counts = load_problems(None, cfg)
    assert len(used) == 5 and len(rejects) == 0 and counts["used"] == 5


# --------------------------------------------------------------------------- the demo town


@pytest.fixture(scope="module")
def demo_outputs(demo_town, tmp_path_factory):
    from gis_town.cli import main

    out = tmp_path_factory.mktemp("demo_patrol")
    assert main(["-q", "patrol", str(demo_town), "--out", str(out)]) == 0
    return out


def test_demo_patrol_run_shows_the_problems(demo_town, demo_outputs):
    src = gpd.read_file(demo_town.parent / "river_problems.gpkg", layer="problems")
    got = pd.read_csv(demo_outputs / "patrol_problems.csv", dtype={"problem_id": str}).set_index("problem_id")
    assert sorted(got.index) == sorted(src["problem_id"])  # all reported in 2023, none closed before it
    as_of = pd.Timestamp("2023-12-31")
    for _, p in src.iterrows():
        rep, rect = pd.Timestamp(p["reported_date"]), p["rectified_date"]
        closed = pd.notna(rect)
        days = (pd.Timestamp(rect) - rep).days if closed else (as_of - rep).days
        row = got.loc[p["problem_id"]]
        assert row["days_open"] == days
        assert row["state"] == ("closed" if closed else "overdue" if days > 30 else "open")
    assert set(got["state"]) == {"open", "overdue", "closed"}
    assert got["far_from_river"].sum() >= 1
    chiefs = pd.read_csv(demo_outputs / "patrol_chiefs.csv")
    with_p = chiefs[chiefs["problems"] > 0]
    np.testing.assert_allclose(with_p["rectification_rate"], with_p["problems_closed"] / with_p["problems"])
    assert chiefs["problems"].sum() == len(src)


def test_demo_revisits_passed_and_not(demo_town, demo_outputs):
    rv = pd.read_csv(demo_outputs / "patrol_revisits.csv", parse_dates=["rectified_date", "revisit_date"])
    assert rv["revisited"].sum() >= 1 and (~rv["revisited"]).sum() >= 1
    passed = rv[rv["revisited"]]
    assert (passed["revisit_date"] > passed["rectified_date"]).all()
    assert (passed["revisit_distance_m"] <= 50.0).all()
    # independently: some patrol fix lies within 50 m of each passed problem on a later day
    pts = gpd.read_file(demo_town, layer="patrols").to_crs(GK)
    probs = gpd.read_file(demo_town.parent / "river_problems.gpkg", layer="problems").to_crs(GK)
    probs = probs.set_index("problem_id")
    day = pd.to_datetime(pts["time"]).dt.normalize()
    for _, r in passed.iterrows():
        later = pts[(day > r["rectified_date"]).to_numpy()]
        assert later.distance(probs.loc[r["problem_id"], "geometry"]).min() <= 50.0
    from openpyxl import load_workbook

    names = load_workbook(demo_outputs / "patrol_report.xlsx", read_only=True).sheetnames
    assert "问题 problems" in names and "回头看 revisits" in names


def test_cli_reads_problems_from_a_kml(tmp_path):
    from gis_town.cli import main

    town = tmp_path / "town.gpkg"
    rivers().to_file(town, layer="rivers", driver="GPKG")
    tracks().to_file(town, layer="patrols", driver="GPKG")
    placemarks = []
    for pid, kind, x, y, rep, rect in [
        ("K1", "乱堆", 200, 30, "2023-05-01", "2023-05-20"),  # closed 19 days, 张三 walked by on 06-10
        ("K2", "排污", 100, 2300, "2023-05-15", ""),  # nearest S2, open 47 days on 07-01: overdue
    ]:
        lon, lat = _lonlat(x, y)
        lines = [f"问题类型：{kind}", f"上报日期：{rep}"] + ([f"整改日期：{rect}"] if rect else [])
        placemarks.append(
            f"<Placemark><name>{pid}</name><description>{'&lt;br/&gt;'.join(lines)}</description>"
            f"<Point><coordinates>{lon},{lat}</coordinates></Point></Placemark>"
        )
    kml = tmp_path / "事件导出.kml"
    kml.write_text(
        '<kml xmlns="http://www.opengis.net/kml/2.2"><Document>' + "".join(placemarks) + "</Document></kml>",
        encoding="utf-8",
    )
    out = tmp_path / "out"
    argv = ["-q", "patrol", str(town), "--problems", str(kml), "--as-of", "2023-07-01", "--out", str(out)]
    assert main(argv) == 0
    got = pd.read_csv(out / "patrol_problems.csv").set_index("problem_id")
    assert got.loc["K1", "state"] == "closed" and got.loc["K1", "days_open"] == 19
    assert got.loc["K2", "state"] == "overdue" and got.loc["K2", "days_open"] == 47
    assert got.loc["K2", "segment_id"] == "S2" and bool(got.loc["K2", "far_from_river"])
    rv = pd.read_csv(out / "patrol_revisits.csv").set_index("problem_id")
    assert list(rv.index) == ["K1"] and bool(rv.loc["K1", "revisited"])
    assert main([*argv[:-4], "--problems", str(tmp_path / "none.kml"), "--out", str(out)]) == 2


def test_geopackage_with_chinese_headers(tmp_path):
    path = tmp_path / "四乱问题.gpkg"
    gdf = problems().iloc[:5].rename(
        columns={"problem_id": "问题编号", "kind": "问题类型", "reported_date": "上报日期",
                 "rectified_date": "整改日期", "segment_id": "河段编码", "reported_by": "上报人"}
    )
    gdf.to_file(path, layer="问题", driver="GPKG")
    used, rejects, counts = load_problems(None, TownConfig(), path=path)
    assert sorted(used["problem_id"]) == ["Q1", "Q2", "Q3", "Q4", "Q9"] and len(rejects) == 0
    assert set(used["kind"]) == {"dumping", "garbage", "occupation", "sewage", "construction"}
    assert used.set_index("problem_id").loc["Q2", "reported_by"] == "李四"
