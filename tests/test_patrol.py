"""River patrol coverage (gis_town.analysis.patrol, gis-town patrol).

Every expected value is computed by hand from the geometry of the test data
(a straight 1,000 m segment and a track along its first 600 m cover 0.60 of it),
never taken from the code's output.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.ops import substring

from gis_town.analysis import patrol as P
from gis_town.cli import main
from gis_town.config import PatrolSection, TownConfig
from gis_town.errors import CRSError, InputError

GK = "EPSG:4544"  # CGCS2000 Gauss-Kruger CM 105E
X0, Y0 = 500_000.0, 3_940_000.0  # about 105.0E 35.6N, the town's valley


def river(coords_list, ids=None, **cols) -> gpd.GeoDataFrame:
    """River segments in EPSG:4544 from coordinate lists relative to (X0, Y0)."""
    geoms = []
    for coords in coords_list:
        if isinstance(coords, shapely.Geometry):
            geoms.append(shapely.affinity.translate(coords, X0, Y0))
        else:
            geoms.append(shapely.LineString([(X0 + x, Y0 + y) for x, y in coords]))
    n = len(geoms)
    data = {
        "segment_id": ids or [f"S{i + 1}" for i in range(n)],
        "river_name": ["关川河"] * n,
        "chief": ["张三"] * n,
        "chief_level": ["village"] * n,
    }
    data.update(cols)
    return gpd.GeoDataFrame(data, geometry=geoms, crs=GK)


def track(xy, *, start="2023-05-10 08:00", step_s=10.0, chief="张三", **cols) -> gpd.GeoDataFrame:
    """GPS fixes at (X0+x, Y0+y), one every ``step_s`` seconds from ``start`` (local time)."""
    xy = np.asarray(xy, dtype=float)
    t = pd.Timestamp(start) + pd.to_timedelta(np.arange(len(xy)) * step_s, unit="s")
    data = {"chief": chief, "time": t}
    data.update(cols)
    return gpd.GeoDataFrame(data, geometry=gpd.points_from_xy(X0 + xy[:, 0], Y0 + xy[:, 1]), crs=GK)


def walk_x(x_from, x_to, *, y=0.0, speed_ms=0.8, step_s=10.0, **kw) -> gpd.GeoDataFrame:
    """Walk along y = const from x_from to x_to at ``speed_ms``."""
    n = int(round(abs(x_to - x_from) / (speed_ms * step_s))) + 1
    xs = np.linspace(x_from, x_to, n)
    return track(np.column_stack([xs, np.full(n, y)]), step_s=step_s, **kw)


def run(points, rivers, *, as_of="2023-07-01", **patrol):
    cfg = TownConfig()
    for k, v in patrol.items():
        setattr(cfg.patrol, k, v)
    return P.analyze_patrols(points, rivers, config=cfg, as_of=as_of)


STRAIGHT_1000 = [[(0, 0), (1000, 0)]]


# --------------------------------------------------------------------------- the proofs


def test_600m_walk_along_1000m_segment_covers_060():
    # 600 m at 0.8 m/s = 12.5 min (a valid walk); expected cover 600 / 1000
    res = run(walk_x(0, 600), river(STRAIGHT_1000))
    seg = res.segments.iloc[0]
    assert seg["length_m"] == pytest.approx(1000.0, abs=1e-6)
    assert seg["covered_fraction"] == pytest.approx(0.60, abs=0.01)
    assert bool(res.trips["valid"].iloc[0])
    assert seg["patrols"] == 1  # 0.60 >= min_cover_share 0.60
    gaps = res.gaps
    assert len(gaps) == 1
    assert gaps["from_m"].iloc[0] == pytest.approx(600, abs=10)
    assert gaps["length_m"].iloc[0] == pytest.approx(400, abs=10)


@pytest.mark.parametrize("tolerance_m, covers", [(50, False), (100, True)])
def test_track_80m_off_the_river(tolerance_m, covers):
    res = run(walk_x(0, 1000, y=80.0), river(STRAIGHT_1000), tolerance_m=tolerance_m)
    seg = res.segments.iloc[0]
    if covers:
        assert seg["covered_fraction"] == pytest.approx(1.0, abs=0.01)
        assert seg["patrols"] == 1
    else:
        assert seg["covered_fraction"] == 0.0
        assert seg["patrols"] == 0
        trip = res.trips.iloc[0]
        assert not trip["valid"] and trip["too_far"]
        assert trip["nearest_river_m"] == pytest.approx(80.0, abs=0.01)


def test_car_speed_track_is_invalid_and_not_counted():
    # 40 km/h = 11.1 m/s for 15 min along a 10 km river: long enough, far too fast
    rv = river([[(0, 0), (10_000, 0)]])
    res = run(walk_x(0, 10_000, speed_ms=40 / 3.6), rv)
    trip = res.trips.iloc[0]
    assert trip["duration_min"] == pytest.approx(15.0, abs=0.2)
    assert trip["too_fast"] and not trip["valid"]
    assert trip["speed_kmh"] == pytest.approx(40.0, rel=0.02)
    assert res.segments["patrols"].iloc[0] == 0
    assert res.segments["covered_fraction"].iloc[0] == 0.0
    assert "too_fast" in res.invalid_trips["reason"].iloc[0]


def test_drive_then_stand_by_the_river_is_too_fast():
    # a token patrol: drive 2 km at 40 km/h (3 min), then stand by the river for 20 minutes
    rng = np.random.default_rng(3)
    drive = walk_x(0, 2000, speed_ms=40 / 3.6)
    xy = np.column_stack([2000 + rng.normal(0, 4, 121), rng.normal(0, 4, 121)])
    stand = track(xy, start=str(drive["time"].iloc[-1] + pd.Timedelta(seconds=10)))
    res = run(pd.concat([drive, stand], ignore_index=True), river([[(0, 0), (2500, 0)]]))
    trip = res.trips.iloc[0]
    assert trip["duration_min"] > 20
    assert trip["too_fast"] and not trip["valid"]
    assert res.segments["patrols"].iloc[0] == 0


def test_one_gps_jump_does_not_make_a_walk_too_fast():
    walk = walk_x(0, 800)
    xy = shapely.get_coordinates(walk.geometry.values)
    xy[40] = (xy[40, 0] - X0, 2000.0)  # one fix 2 km off
    xy[:, 0] -= X0
    xy[np.arange(len(xy)) != 40, 1] = 0.0
    res = run(track(xy), river(STRAIGHT_1000))
    assert bool(res.trips["valid"].iloc[0]), res.trips["reason"].iloc[0]


def test_walk_drive_walk_outing_is_valid_and_the_drive_covers_nothing():
    # walk segment A (1 km, 20 min), drive 3 km along segment C at 36 km/h (5 min), walk B (1 km)
    rv = river(
        [[(0, 0), (1000, 0)], [(1000, 0), (4000, 0)], [(4000, 0), (5000, 0)]],
        ids=["A", "C", "B"],
    )
    walk_a = walk_x(0, 1000, start="2023-05-10 08:00")  # 0.8 m/s: 20.8 min
    drive = walk_x(1000, 4000, speed_ms=10.0, start="2023-05-10 08:21")  # 5 min
    walk_b = walk_x(4000, 5000, start="2023-05-10 08:26:10")
    pts = pd.concat([walk_a, drive.iloc[1:], walk_b.iloc[1:]], ignore_index=True)
    res = run(pts, rv)
    assert len(res.trips) == 1
    trip = res.trips.iloc[0]
    assert trip["speed_kmh"] > 15  # the drive is seen...
    assert trip["fast_share"] < 0.5 and trip["valid"]  # ...but most of the outing is a walk
    seg = res.segments.set_index("segment_id")
    assert seg.loc["A", "patrols"] == 1 and seg.loc["B", "patrols"] == 1
    assert seg.loc["C", "patrols"] == 0 and seg.loc["C", "covered_fraction"] < 0.05


def test_crossing_track_does_not_count():
    # walk 1 km straight across the river (perpendicular), at walking speed
    ys = np.arange(-500, 501, 8.0)
    xy = np.column_stack([np.full(len(ys), 500.0), ys])
    res = run(track(xy), river(STRAIGHT_1000))
    assert bool(res.trips["valid"].iloc[0])  # a fine walk...
    seg = res.segments.iloc[0]
    assert seg["patrols"] == 0  # ...but not a patrol of this segment
    assert seg["covered_fraction"] < 0.01


def test_two_trips_count_twice_cover_once():
    pts = pd.concat(
        [
            walk_x(0, 700, start="2023-05-10 08:00"),
            walk_x(700, 0, start="2023-05-11 16:00", chief="李四"),
        ],
        ignore_index=True,
    )
    res = run(pts, river(STRAIGHT_1000))
    seg = res.segments.iloc[0]
    assert seg["patrols"] == 2  # whoever walked it
    assert seg["own_patrols"] == 1  # 张三's segment
    assert seg["covered_fraction"] == pytest.approx(0.70, abs=0.01)  # not 1.40
    assert seg["covered_m"] == pytest.approx(700, abs=10)


@pytest.mark.parametrize("crs", ["EPSG:4490", "EPSG:4326", "EPSG:4544"])
def test_same_answer_whatever_the_input_crs(crs):
    bent = [[(0, 0), (400, 0), (700, 300), (700, 900)]]  # 400 + 424.26 + 600 m
    length = 400 + np.hypot(300, 300) + 600
    rv = river(bent).to_crs(crs)
    along = shapely.LineString([(X0 + x, Y0 + y) for x, y in bent[0]])
    d = np.arange(0, 1000.0, 8.0)  # first 1,000 m, 8 m per fix
    pts = shapely.get_coordinates(shapely.line_interpolate_point(along, d))
    walk = track(pts - [X0, Y0]).to_crs(crs)
    res = run(walk, rv)
    seg = res.segments.iloc[0]
    assert seg["length_m"] == pytest.approx(length, rel=1e-4)
    assert seg["covered_fraction"] == pytest.approx(992 / length, abs=0.005)
    assert seg["patrols"] == 1
    assert res.summary["gk_crs"] == "EPSG:4544"


# --------------------------------------------------------------------------- trips


def test_trips_split_by_time_gap_and_by_trip_id():
    a = walk_x(0, 600, start="2023-05-10 08:00")
    b = walk_x(600, 0, start="2023-05-10 09:00")  # 47.5 min after a ends: > 30 min gap
    c = walk_x(0, 600, start="2023-05-10 09:30")  # 17.5 min after b ends: same trip as b
    pts, _ = P.prepare_points(pd.concat([a, b, c], ignore_index=True))
    trips = P.split_trips(pts, trip_gap_min=30)
    assert trips["trip"].nunique() == 2
    with_id = pd.concat(
        [a.assign(trip_id="T1"), b.assign(trip_id="T2"), c.assign(trip_id="T2")], ignore_index=True
    )
    pts, _ = P.prepare_points(with_id)
    trips = P.split_trips(pts, trip_gap_min=30)
    assert trips.groupby("trip")["trip_id"].first().astype(str).tolist() == ["T1", "T2"]


def test_out_of_order_timestamps_flag_the_trip():
    walk = walk_x(0, 800)
    t = walk["time"].to_numpy().copy()
    t[[10, 11]] = t[[11, 10]]
    walk["time"] = t
    res = run(walk, river(STRAIGHT_1000))
    trip = res.trips.iloc[0]
    assert trip["out_of_order"] and not trip["valid"]


def test_token_stop_is_too_short():
    rng = np.random.default_rng(1)
    # 5 minutes standing by the river
    stop5 = track(np.column_stack([500 + rng.normal(0, 4, 31), rng.normal(0, 4, 31)]))
    # 20 minutes standing by the river: long enough, but GPS jitter is not a walk
    stop20 = track(
        np.column_stack([500 + rng.normal(0, 4, 121), rng.normal(0, 4, 121)]),
        start="2023-05-11 08:00",
    )
    res = run(pd.concat([stop5, stop20], ignore_index=True), river(STRAIGHT_1000))
    assert res.trips["too_short"].tolist() == [True, True]
    assert res.trips["duration_min"].round(1).tolist() == [5.0, 20.0]
    # the jittery path itself is long; the simplified length is not
    assert res.trips["path_length_m"].iloc[1] > 300
    assert res.trips["length_m"].iloc[1] < 300


def test_line_tracks_with_start_and_end_time():
    line = shapely.LineString([(X0, Y0 + 5), (X0 + 600, Y0 + 5)])
    pts = gpd.GeoDataFrame(
        {
            "chief": ["张三"],
            "start_time": [pd.Timestamp("2023-05-10 08:00")],
            "end_time": [pd.Timestamp("2023-05-10 08:15")],
            "point_id": ["L1"],
        },
        geometry=[line],
        crs=GK,
    )
    res = run(pts, river(STRAIGHT_1000))
    trip = res.trips.iloc[0]
    assert trip["duration_min"] == pytest.approx(15.0)
    assert trip["valid"]
    assert res.segments["covered_fraction"].iloc[0] == pytest.approx(0.60, abs=0.01)


# --------------------------------------------------------------------------- linear referencing


def test_match_points_agree_with_shapely_line_locate_point():
    rng = np.random.default_rng(7)
    s = np.linspace(0, 4000, 300)
    line = shapely.LineString(np.column_stack([s, 200 * np.sin(s / 300)]))
    rv = river([line])
    seg_geom = rv.geometry.iloc[0]
    d = rng.uniform(0, line.length, 2000)
    base = shapely.get_coordinates(shapely.line_interpolate_point(seg_geom, d))
    xy = base + rng.normal(0, 15, base.shape)
    pts = pd.DataFrame({"x_m": xy[:, 0], "y_m": xy[:, 1]})
    segs = P.prepare_rivers(rv, gk_crs=GK)
    m = P.match_points(pts, segs, tolerance_m=50)
    geoms = shapely.points(xy[m["point"]])
    expect_d = shapely.distance(seg_geom, geoms)
    expect_m = shapely.line_locate_point(seg_geom, geoms)
    assert np.allclose(m["distance_m"], expect_d, atol=1e-6)
    # positions agree except where two stretches are equally near (then either is right)
    assert np.mean(np.abs(m["m"] - expect_m) < 1e-6) > 0.99
    # every point within 50 m is matched
    all_d = shapely.distance(seg_geom, shapely.points(xy))
    assert set(m["point"]) == set(np.flatnonzero(all_d <= 50))


def test_blind_spot_geometries_are_the_uncovered_substrings():
    coords = [(0, 0), (300, 0), (300, 400), (900, 400)]  # 1,300 m with two bends
    rv = river([coords])
    line = rv.geometry.iloc[0]
    d1 = np.arange(0, 250.1, 8.0)  # 0..248 m, a fix every 20 s (10.3 min)
    d2 = np.r_[np.arange(800, 1300, 8.0), 1300.0]  # 800..1300 m, a fix every 10 s
    walk1 = track(
        shapely.get_coordinates(shapely.line_interpolate_point(line, d1)) - [X0, Y0], step_s=20
    )
    walk2 = track(
        shapely.get_coordinates(shapely.line_interpolate_point(line, d2)) - [X0, Y0],
        start="2023-05-11 08:00",
    )
    res = run(pd.concat([walk1, walk2], ignore_index=True), rv, min_trip_length_m=200)
    gaps = res.gaps
    assert len(gaps) == 1
    g = gaps.iloc[0]
    assert g["from_m"] == pytest.approx(248, abs=0.01)
    assert g["to_m"] == pytest.approx(800, abs=0.01)
    expected = substring(line, 248, 800)
    assert g.geometry.hausdorff_distance(expected) < 1e-6
    assert g.geometry.length == pytest.approx(552, abs=0.01)
    assert res.segments["covered_fraction"].iloc[0] == pytest.approx((248 + 500) / 1300, abs=1e-6)


def test_walk_over_two_consecutive_segments_covers_both_fully():
    rv = river([[(0, 0), (1000, 0)], [(1000, 0), (2000, 0)]], chief=["张三", "李四"])
    res = run(walk_x(0, 2000), rv)
    assert res.segments["covered_fraction"].tolist() == pytest.approx([1.0, 1.0], abs=1e-6)
    assert res.segments["patrols"].tolist() == [1, 1]
    assert len(res.gaps) == 0


def test_cutting_across_a_meander_does_not_cover_the_loop():
    # a U-shaped bend: 400 m up, 100 m across, 400 m down; the walker crosses its 100 m neck
    rv = river([[(0, 0), (0, 400), (100, 400), (100, 0)]])
    pts = np.column_stack([np.linspace(0, 100, 6), np.zeros(6)])  # 20 m steps across the neck
    walk = track(np.vstack([pts, pts[::-1], pts, pts[::-1]] * 20), step_s=25)
    res = run(walk, rv, min_trip_length_m=0)
    assert res.segments["covered_fraction"].iloc[0] < 0.15  # at most the ends near the neck


def test_multilinestring_segment_chainage():
    geom = shapely.MultiLineString([[(0, 0), (500, 0)], [(600, 0), (1100, 0)]])
    rv = river([geom])
    res = run(walk_x(600, 1100, speed_ms=0.5), rv)
    seg = res.segments.iloc[0]
    assert seg["length_m"] == pytest.approx(1000)
    assert seg["covered_fraction"] == pytest.approx(0.5, abs=0.01)
    gap = res.gaps.iloc[0]
    assert (gap["from_m"], gap["to_m"]) == pytest.approx((0.0, 500.0), abs=0.01)


def test_merge_intervals():
    key = np.array([1, 1, 1, 2, 2, 1])
    lo = np.array([0.0, 5.0, 20.0, 0.0, 3.0, 9.0])
    hi = np.array([6.0, 10.0, 30.0, 1.0, 4.0, 12.0])
    k, a, b = P.merge_intervals(key, lo, hi)
    assert k.tolist() == [1, 1, 2, 2]
    assert a.tolist() == [0.0, 20.0, 0.0, 3.0]
    assert b.tolist() == [12.0, 30.0, 1.0, 4.0]


# --------------------------------------------------------------------------- schedule and periods


def test_milestone_share_is_the_plan_schedule():
    days_to_jun30 = (dt.date(2023, 6, 30) - dt.date(2023, 1, 1)).days + 1  # 181
    days_jul_sep = (dt.date(2023, 9, 30) - dt.date(2023, 6, 30)).days  # 92
    got = P.milestone_share(
        [
            dt.date(2023, 1, 1),
            dt.date(2023, 6, 30),
            dt.date(2023, 7, 1),
            dt.date(2023, 8, 15),
            dt.date(2023, 9, 30),
            dt.date(2023, 12, 31),
            dt.date(2024, 6, 30),
        ]
    )
    expected = [
        0.7 * 1 / days_to_jun30,
        0.7,
        0.7 + 0.3 * 1 / days_jul_sep,
        0.7 + 0.3 * (dt.date(2023, 8, 15) - dt.date(2023, 6, 30)).days / days_jul_sep,
        1.0,
        1.0,
        0.7,
    ]
    assert got == pytest.approx(expected)


def test_on_track_against_the_milestone():
    # target 10 a year: by June 30, 7 are due
    rv = river(STRAIGHT_1000, annual_patrol_target=[10])
    walks = [walk_x(0, 1000, start=f"2023-06-{d:02d} 08:00") for d in range(1, 8)]
    res = run(pd.concat(walks, ignore_index=True), rv, as_of="2023-06-30")
    seg = res.segments.iloc[0]
    assert seg["target"] == 10 and seg["patrols_ytd"] == 7
    assert seg["progress"] == pytest.approx(0.7)
    assert seg["due_share"] == pytest.approx(0.7)
    assert bool(seg["on_track"])
    res = run(pd.concat(walks[:6], ignore_index=True), rv, as_of="2023-06-30")
    assert not bool(res.segments["on_track"].iloc[0])


def test_local_time_puts_a_0700_july_1_patrol_in_july():
    walk = walk_x(0, 1000, start="2023-06-30 23:00")
    # the app stored UTC: 2023-06-30 23:00 UTC is 2023-07-01 07:00 in Shanghai
    walk["time"] = walk["time"].dt.tz_localize("UTC")
    res = run(walk, river(STRAIGHT_1000), as_of="2023-07-31")
    assert res.trips["date"].iloc[0] == pd.Timestamp("2023-07-01")
    assert str(res.trips["start_time"].iloc[0]) == "2023-07-01 07:00:00+08:00"
    q = res.periods.set_index("period")["patrols"]
    assert q["2023Q2"] == 0 and q["2023Q3"] == 1
    assert res.segments["patrols_q3"].iloc[0] == 1


def test_naive_string_times_are_local():
    walk = walk_x(0, 1000, start="2023-07-01 07:00")
    walk["time"] = walk["time"].dt.strftime("%Y-%m-%d %H:%M:%S")  # a GeoPackage may give strings
    res = run(walk, river(STRAIGHT_1000), as_of="2023-07-31")
    assert res.trips["date"].iloc[0] == pd.Timestamp("2023-07-01")


def test_quarter_periods():
    got = P.quarter_periods(dt.date(2023, 8, 15))
    assert got == [
        ("2023Q1", dt.date(2023, 1, 1), dt.date(2023, 3, 31)),
        ("2023Q2", dt.date(2023, 4, 1), dt.date(2023, 6, 30)),
        ("2023Q3", dt.date(2023, 7, 1), dt.date(2023, 8, 15)),
        ("2023YTD", dt.date(2023, 1, 1), dt.date(2023, 8, 15)),
    ]


def test_any_date_range():
    walks = pd.concat(
        [walk_x(0, 1000, start="2023-03-05 08:00"), walk_x(0, 1000, start="2023-05-05 08:00")],
        ignore_index=True,
    )
    cfg = TownConfig()
    res = P.analyze_patrols(
        walks,
        river(STRAIGHT_1000),
        config=cfg,
        as_of="2023-06-30",
        start="2023-04-01",
        end="2023-05-31",
    )
    seg = res.segments.iloc[0]
    assert seg["patrols"] == 1  # only May's in the range
    assert seg["patrols_ytd"] == 2  # progress is always against the year
    assert seg["period"] == "2023-04-01..2023-05-31"


# --------------------------------------------------------------------------- chiefs, villages, targets


def _three_chiefs():
    rv = river(
        [[(0, 0), (1000, 0)], [(0, 2000), (1000, 2000)], [(0, 4000), (1000, 4000)]],
        chief=["张三", "李四", "王五"],
        chief_id=["C1", "C2", None],
        chief_level=["village", "village", "grid"],
        village_id=["V1", "V2", None],
        annual_patrol_target=[4, 4, None],
    )
    walks = []
    for k in range(3):  # 张三: 3 of 4 (75%), by id
        walks.append(
            walk_x(0, 1000, start=f"2023-05-{k + 1:02d} 08:00", chief="张三", chief_id="C1")
        )
    walks.append(walk_x(0, 1000, y=2000, start="2023-05-10 08:00", chief="李四"))  # 1 of 4, by name
    walks.append(
        walk_x(0, 1000, y=4000, speed_ms=8, start="2023-05-11 08:00", chief="王五")
    )  # invalid
    walks.append(
        walk_x(0, 1000, y=4000, start="2023-05-12 08:00", chief="赵六")
    )  # walks 王五's river
    return rv, pd.concat(walks, ignore_index=True)


def test_chief_table_and_red_black_list():
    rv, pts = _three_chiefs()
    res = run(pts, rv, as_of="2023-06-30", list_size=1)
    ch = res.chiefs.set_index("chief")
    # targets: from the segment (4), else from the config by level (grid: 52)
    assert ch.loc["张三", "target"] == 4 and ch.loc["王五", "target"] == 52
    assert ch.loc["张三", "patrols"] == 3 and ch.loc["张三", "progress"] == pytest.approx(0.75)
    assert ch.loc["李四", "patrols"] == 1  # matched by name (the points have no chief_id)
    assert ch.loc["王五", "patrols"] == 0 and ch.loc["王五", "invalid_trips"] == 1
    assert "too_fast" in ch.loc["王五", "invalid_reasons"]
    assert ch.loc["赵六", "segments"] == 0 and pd.isna(ch.loc["赵六", "rank"])
    # due by June 30: 70% -> 2.8 of 4: 张三 on track, 李四 behind
    assert bool(ch.loc["张三", "on_track"]) and not bool(ch.loc["李四", "on_track"])
    assert (
        ch.loc["张三", "rank"] == 1
        and ch.loc["张三", "list"] == "red"
        and ch.loc["张三", "list_label"] == "红榜"
    )
    assert ch.loc["王五", "rank"] == 3 and ch.loc["王五", "list"] == "black"
    assert ch.loc["李四", "list"] == ""  # list_size 1
    # 王五's segment was patrolled by 赵六: it counts for the segment, not for 王五
    seg = res.segments.set_index("segment_id")
    assert seg.loc["S3", "patrols"] == 1 and seg.loc["S3", "own_patrols"] == 0


def test_village_table_uses_segment_then_chief_village():
    rv = river(
        [[(0, 0), (1000, 0)], [(0, 2000), (1000, 2000)], [(0, 4000), (1000, 4000)]],
        chief=["张三", "张三", "李四"],
        village_id=["V1", None, "V2"],
        annual_patrol_target=[2, 2, 2],
    )
    pts = pd.concat(
        [walk_x(0, 1000, y=2000), walk_x(0, 1000, y=4000, chief="李四", start="2023-05-12 08:00")],
        ignore_index=True,
    )
    villages = gpd.GeoDataFrame(
        {"village_id": ["V1", "V2"], "name": ["关川村", "将台村"]},
        geometry=[shapely.box(0, 0, 1, 1)] * 2,
        crs=GK,
    )
    res = P.analyze_patrols(pts, rv, config=TownConfig(), as_of="2023-06-30", villages=villages)
    v = res.villages.set_index("village_id")
    assert v.loc["V1", "segments"] == 2  # S2 has no village: it is its chief's (张三: V1)
    assert v.loc["V1", "target"] == 4 and v.loc["V1", "patrols"] == 1
    assert v.loc["V2", "patrols"] == 1 and v.loc["V2", "village_name"] == "将台村"
    assert v.loc["V1", "length_km"] == pytest.approx(2.0)


# --------------------------------------------------------------------------- bad input


def test_points_without_crs_raise():
    walk = walk_x(0, 600).set_crs(None, allow_override=True)
    with pytest.raises(CRSError):
        run(walk, river(STRAIGHT_1000))
    with pytest.raises(CRSError):
        run(walk_x(0, 600), river(STRAIGHT_1000).set_crs(None, allow_override=True))


def test_points_without_time_or_chief_are_rejected_not_lost():
    walk = walk_x(0, 800)
    walk["time"] = walk["time"].astype(object)
    walk.loc[3, "time"] = None
    walk.loc[5, "chief"] = None
    res = run(walk, river(STRAIGHT_1000))
    assert len(res.problems) == 2
    assert set(res.problems["field"]) == {"time", "chief"}
    assert res.summary["points"] + len(res.problems) == len(walk)


def test_milestones_config_is_validated():
    with pytest.raises(ValueError):
        PatrolSection(milestones=[("09-30", 1.0), ("06-30", 0.7)])
    with pytest.raises(ValueError):
        PatrolSection(milestones=[("6/30", 0.7)])


# --------------------------------------------------------------------------- CLI


def _write_town(path: Path, patrols: gpd.GeoDataFrame | None = None) -> Path:
    rv, pts = _three_chiefs()
    rv.to_crs("EPSG:4490").to_file(path, layer="rivers", driver="GPKG")
    pts = pts if patrols is None else patrols
    pts = pts.to_crs("EPSG:4490")
    pts["point_id"] = [f"P{i}" for i in range(len(pts))]
    pts["time"] = pts["time"].dt.strftime("%Y-%m-%d %H:%M:%S")
    pts.to_file(path, layer="patrols", driver="GPKG")
    return path


REQUIRED_SEGMENT_COLUMNS = [
    "segment_id",
    "river_name",
    "chief",
    "chief_level",
    "patrols",
    "target",
    "progress",
    "covered_fraction",
    "on_track",
]


def test_cli_patrol_end_to_end(tmp_path, capsys):
    town = _write_town(tmp_path / "town.gpkg")
    out = tmp_path / "out"
    assert main(["patrol", str(town), "--as-of", "2023-06-30", "--out", str(out)]) == 0
    for name in (
        "patrol_segments.csv",
        "patrol_chiefs.csv",
        "patrol_invalid_trips.csv",
        "patrol_gaps.gpkg",
        "patrol_villages.csv",
        "patrol_periods.csv",
        "patrol_report.xlsx",
    ):
        assert (out / name).exists(), name
    seg = pd.read_csv(out / "patrol_segments.csv", encoding="utf-8-sig")
    assert list(seg.columns[:3]) == ["segment_id", "river_name", "chief"]
    assert set(REQUIRED_SEGMENT_COLUMNS) <= set(seg.columns)
    s = seg.set_index("segment_id")
    assert s.loc["S1", "patrols"] == 3 and s.loc["S1", "target"] == 4
    assert s.loc["S1", "covered_fraction"] == pytest.approx(1.0, abs=0.01)
    inv = pd.read_csv(out / "patrol_invalid_trips.csv", encoding="utf-8-sig")
    assert len(inv) == 1 and "too_fast" in inv["reason"].iloc[0]
    gaps = gpd.read_file(out / "patrol_gaps.gpkg", layer="patrol_gaps")
    assert gaps.crs.to_epsg() == 4490 and len(gaps) == 0  # every segment was walked end to end
    text = capsys.readouterr().out
    assert "红黑榜" in text and "S1" in text


def test_cli_patrol_with_tracks_csv(tmp_path):
    town = _write_town(tmp_path / "town.gpkg")
    walk = walk_x(0, 600, chief="张三").to_crs("EPSG:4326")
    xy = shapely.get_coordinates(walk.geometry.values)
    csv = tmp_path / "tracks.csv"
    pd.DataFrame(
        {
            "经度": xy[:, 0],
            "纬度": xy[:, 1],
            "时间": walk["time"].dt.strftime("%Y/%m/%d %H:%M:%S"),
            "河长": "张三",
        }
    ).to_csv(csv, index=False, encoding="gbk")
    before = csv.read_bytes()
    out = tmp_path / "out"
    assert (
        main(
            ["patrol", str(town), "--tracks", str(csv), "--as-of", "2023-06-30", "--out", str(out)]
        )
        == 0
    )
    assert csv.read_bytes() == before  # the input is never modified
    seg = pd.read_csv(out / "patrol_segments.csv", encoding="utf-8-sig").set_index("segment_id")
    assert seg.loc["S1", "covered_fraction"] == pytest.approx(0.60, abs=0.01)
    assert seg.loc["S2", "patrols"] == 0  # the town's own patrols layer was not used
    gaps = gpd.read_file(out / "patrol_gaps.gpkg")
    assert len(gaps) == 3


BAD_CSVS = {
    "bad_time": "lon,lat,time,chief\n105.0,35.6,2023-05-01 08:00,张三\n105.0,35.6,not a time,张三\n",
    "missing_columns": "lon,lat,chief\n105.0,35.6,张三\n",
    "empty": "",
    "header_only": "lon,lat,time,chief\n",
    "no_crs": "x,y,time,chief\n500000,3940000,2023-05-01 08:00,张三\n",
}


@pytest.mark.parametrize("case", sorted(BAD_CSVS))
def test_cli_bad_tracks_exit_2_and_write_nothing(tmp_path, capsys, case):
    town = _write_town(tmp_path / "town.gpkg")
    bad = tmp_path / f"{case}.csv"
    bad.write_text(BAD_CSVS[case], encoding="utf-8")
    out = tmp_path / "out"
    assert main(["patrol", str(town), "--tracks", str(bad), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert str(bad) in err
    if case == "bad_time":
        assert "row 3" in err and "time" in err
    assert not out.exists() or not any(out.iterdir())


def test_cli_gpx_without_track_exit_2(tmp_path, capsys):
    town = _write_town(tmp_path / "town.gpkg")
    gpx = tmp_path / "waypoints.gpx"
    gpx.write_text(
        '<?xml version="1.0"?><gpx version="1.1" creator="t" xmlns="http://www.topografix.com/GPX/1/1">'
        '<wpt lat="35.6" lon="105.0"><name>桥</name></wpt></gpx>',
        encoding="utf-8",
    )
    out = tmp_path / "out"
    assert main(["patrol", str(town), "--tracks", str(gpx), "--out", str(out)]) == 2
    assert "no track" in capsys.readouterr().err
    assert not out.exists()


def test_cli_patrols_layer_with_mixed_time_zones(tmp_path):
    # a GeoPackage whose time strings mix local times, +08:00 and Z (UTC): all are the same walk
    walk = walk_x(0, 800)
    t = walk["time"]
    walk["time"] = [
        (v - pd.Timedelta(hours=8)).strftime("%Y-%m-%dT%H:%M:%SZ")
        if i % 3 == 0
        else v.strftime("%Y-%m-%d %H:%M:%S") + ("+08:00" if i % 3 == 1 else "")
        for i, v in enumerate(t)
    ]
    walk["point_id"] = [f"P{i}" for i in range(len(walk))]
    town = tmp_path / "town.gpkg"
    river(STRAIGHT_1000).to_file(town, layer="rivers", driver="GPKG")
    walk.to_file(town, layer="patrols", driver="GPKG")
    out = tmp_path / "out"
    assert main(["patrol", str(town), "--as-of", "2023-06-30", "--out", str(out)]) == 0
    trips = pd.read_csv(out / "patrol_trips.csv", encoding="utf-8-sig")
    assert len(trips) == 1 and bool(trips["valid"].iloc[0])
    assert trips["start_time"].iloc[0] == "2023-05-10 08:00:00+08:00"


def test_cli_town_without_patrols_exit_2(tmp_path):
    rv, _ = _three_chiefs()
    town = tmp_path / "town.gpkg"
    rv.to_file(town, layer="rivers", driver="GPKG")
    assert main(["patrol", str(town), "--out", str(tmp_path / "out")]) == 2
    with pytest.raises(SystemExit) as exc:  # a usage error: argparse exits with 2
        main(["patrol", str(town), "--as-of", "30/06/2023", "--out", str(tmp_path / "out")])
    assert exc.value.code == 2


def test_analysis_rejects_inverted_period():
    with pytest.raises(InputError):
        P.analyze_patrols(
            walk_x(0, 600),
            river(STRAIGHT_1000),
            as_of="2023-06-30",
            start="2023-06-01",
            end="2023-05-01",
        )


def _covered_by_hand(town, trips: pd.DataFrame, segment_id: str, pc: PatrolSection) -> float:
    """A segment's covered share from its chief's valid trips, one step at a time (shapely).

    Two consecutive fixes of a valid trip within the tolerance of the segment
    cover the stretch between their positions along it, unless the step is
    faster than the speed limit or its along-river length exceeds the step
    plus twice the tolerance; the covered share is the union over the trips.
    """
    gk = town.gk_crs
    seg = town.layer("rivers").to_crs(gk).set_index("segment_id").loc[segment_id]
    line = seg.geometry
    pts = town.layer("patrols").to_crs(gk)
    pts = pts[pts["chief_id"] == seg["chief_id"]]
    times = pd.DatetimeIndex(pts["time"]).tz_localize("Asia/Shanghai")
    pieces = []
    valid = trips[trips["valid"] & (trips["chief_id"] == seg["chief_id"])]
    for start, end in zip(pd.to_datetime(valid["start_time"]), pd.to_datetime(valid["end_time"])):
        trip = pts[(times >= start) & (times <= end)].assign(
            t=times[(times >= start) & (times <= end)]
        )
        trip = trip.sort_values("t", kind="stable")
        xy = shapely.get_coordinates(trip.geometry.values)
        t = (trip["t"] - trip["t"].iloc[0]).dt.total_seconds().to_numpy()
        for i in range(len(trip) - 1):
            a, b = shapely.Point(xy[i]), shapely.Point(xy[i + 1])
            if line.distance(a) > pc.tolerance_m or line.distance(b) > pc.tolerance_m:
                continue
            step, dt_s = a.distance(b), t[i + 1] - t[i]
            if step > pc.max_speed_kmh / 3.6 * dt_s and step > 0:
                continue
            ma, mb = line.project(a), line.project(b)
            if abs(mb - ma) <= step + 2 * pc.tolerance_m:
                pieces.append((min(ma, mb), max(ma, mb)))
    covered, reach = 0.0, -np.inf
    for lo, hi in sorted(pieces):
        covered += max(0.0, hi - max(lo, reach))
        reach = max(reach, hi)
    return covered / line.length


def test_cli_on_demo_town(demo_town, tmp_path):
    from gis_town.io.town import load_town

    out = tmp_path / "out"
    assert main(["patrol", str(demo_town), "--out", str(out)]) == 0
    seg = pd.read_csv(out / "patrol_segments.csv", encoding="utf-8-sig")
    assert set(REQUIRED_SEGMENT_COLUMNS) <= set(seg.columns)
    assert seg["covered_fraction"].between(0, 1).all()
    assert (out / "patrol_gaps.gpkg").exists()
    # one partly covered segment, by hand from the points and the valid trips of patrol_trips.csv
    town = load_town(demo_town, layers=["rivers", "patrols"])
    trips = pd.read_csv(out / "patrol_trips.csv", encoding="utf-8-sig")
    seg = seg.set_index("segment_id")
    part = seg[(seg["covered_fraction"] > 0.05) & (seg["covered_fraction"] < 0.95)]
    sid = part.index[0] if len(part) else seg["covered_fraction"].idxmax()
    by_hand = _covered_by_hand(town, trips, sid, town.config.patrol)
    assert seg.loc[sid, "covered_fraction"] == pytest.approx(by_hand, abs=1e-6)
    assert seg.loc[sid, "covered_m"] == pytest.approx(by_hand * seg.loc[sid, "length_m"], abs=0.01)


# --------------------------------------------------------------------------- true share, ranking rule


def test_progress_is_the_true_share_and_met_flags_the_target():
    # target 2, three full walks by 2023-05-03: 3 of 2 is 150 %, not capped at 100 %
    rv = river(STRAIGHT_1000, annual_patrol_target=[2])
    pts = pd.concat(
        [walk_x(0, 1000, start=f"2023-05-0{k + 1} 08:00") for k in range(3)], ignore_index=True
    )
    res = run(pts, rv, as_of="2023-06-30")
    seg = res.segments.iloc[0]
    assert seg["patrols_ytd"] == 3 and seg["progress"] == pytest.approx(1.5)
    assert bool(seg["met"]) and bool(seg["on_track"])
    ch = res.chiefs.set_index("chief").loc["张三"]
    assert ch["progress"] == pytest.approx(1.5) and bool(ch["met"])
    # one walk: 1 of 2, due 70 % (1.4): neither met nor on track
    res1 = run(pts.iloc[: len(pts) // 3], rv, as_of="2023-06-30")
    s1 = res1.segments.iloc[0]
    assert s1["progress"] == pytest.approx(0.5) and not bool(s1["met"]) and not bool(s1["on_track"])


def _chiefs(rows):
    """Hand-made chief rows: (chief, patrols, target, covered_fraction, invalid_share, on_track)."""
    df = pd.DataFrame(
        rows, columns=["chief", "patrols", "target", "covered_fraction", "invalid_share", "on_track"]
    )
    df["progress"] = df["patrols"] / df["target"]
    df["on_track"] = df["on_track"].astype("boolean")
    return df


def test_red_list_ranks_by_the_true_share_not_coverage_decimals():
    # the case: 28 of 24 (117 %) and 50 of 48 (104 %), both past the target; with the
    # share capped at 100 % coverage decimals decided; now the share does
    df = _chiefs(
        [
            ("甲", 50, 48, 0.999, 0.0, True),  # 104 %, best coverage
            ("乙", 28, 24, 0.951, 0.0, True),  # 117 %
            ("丙", 65, 52, 0.900, 0.0, True),  # 125 %
            ("丁", 10, 52, 0.990, 0.0, False),  # 19 %
            ("戊", 20, 52, 0.990, 0.0, False),  # 38 %
        ]
    )
    out = P.rank_red_black(df, list_size=2).set_index("chief")
    assert out["rank"].to_dict() == {"丙": 1, "乙": 2, "甲": 3, "戊": 4, "丁": 5}
    assert sorted(out.index[out["list"] == "red"]) == sorted(["丙", "乙"])
    assert sorted(out.index[out["list"] == "black"]) == sorted(["丁", "戊"])


def test_ranking_compares_whole_percent_as_shown_and_never_splits_a_tie():
    # 甲 and 乙 both show 100 % progress and 97 % coverage (0.9701 vs 0.9749): the hidden
    # decimals decide nothing, they share rank 1, and a red list of 1 takes both
    df = _chiefs(
        [
            ("甲", 24, 24, 0.9701, 0.0, True),
            ("乙", 24, 24, 0.9749, 0.0, True),
            ("丙", 24, 24, 0.9749, 0.10, True),  # same shown share and coverage, more invalid
            ("丁", 12, 24, 0.50, 0.0, False),
        ]
    )
    out = P.rank_red_black(df, list_size=1).set_index("chief")
    assert out.loc["甲", "rank"] == 1 and out.loc["乙", "rank"] == 1 and out.loc["丙", "rank"] == 3
    assert set(out.index[out["list"] == "red"]) == {"甲", "乙"}
    assert out.loc["丙", "list"] == "" and out.loc["丁", "list"] == "black"
    # coverage then decides, in whole percent: 98 % beats 97 %
    df.loc[df["chief"] == "乙", "covered_fraction"] = 0.9751
    out = P.rank_red_black(df, list_size=1).set_index("chief")
    assert out.loc["乙", "rank"] == 1 and out.loc["甲", "rank"] == 2
    assert list(out.index[out["list"] == "red"]) == ["乙"]


def test_printed_views_show_the_true_share_and_met():
    from gis_town.reports.patrol import red_black_view, segment_view

    seg = pd.DataFrame(
        {
            "segment_id": ["HD21"],
            "river_name": ["杨家沟"],
            "chief": ["张玉强"],
            "patrols_ytd": [65],
            "target": [52.0],
            "progress": [65 / 52],
            "met": pd.array([True], dtype="boolean"),
            "covered_fraction": [1.0],
            "on_track": pd.array([True], dtype="boolean"),
        }
    )
    v = segment_view(seg)
    assert v["进度 progress"].iloc[0] == "125%" and v["完成 met"].iloc[0] == "是 yes"
    ch = _chiefs([("张玉强", 65, 52, 1.0, 0.0, True)]).assign(
        list="red", rank=1, chief_level="grid", invalid_trips=0, met=True
    )
    assert red_black_view(ch)["进度 progress"].iloc[0] == "125%"


# --------------------------------------------------------------------------- reasons that add up


def test_invalid_reason_counts_are_trips_with_the_reason_and_add_up():
    rv = river(STRAIGHT_1000, annual_patrol_target=[4])
    pts = pd.concat(
        [
            walk_x(0, 1000, start="2023-05-01 08:00"),  # valid
            walk_x(0, 1000, speed_ms=8, start="2023-05-02 08:00"),  # too fast (and short: 2 min)
            walk_x(0, 100, start="2023-05-03 08:00"),  # too short only (2 min, 100 m)
        ],
        ignore_index=True,
    )
    res = run(pts, rv, as_of="2023-06-30")
    s = res.summary
    inv = res.invalid_trips
    assert s["invalid_trips"] == len(inv) == 2
    for k, v in s["invalid_by_reason"].items():  # trips with this reason
        assert v == int(inv[k].sum())
    assert sum(s["invalid_only_reason"].values()) + s["invalid_several_reasons"] == 2
    n_flags = inv[list(P.REASONS)].sum(axis=1)
    assert s["invalid_several_reasons"] == int((n_flags > 1).sum())
    # the chief's reasons: Chinese, English beside it, the code, and the trips with it
    reasons = res.chiefs.set_index("chief").loc["张三", "invalid_reasons"]
    assert "时间或距离过短 too short (too_short): 2" in reasons


def test_console_reason_lines_say_trips_with_this_reason():
    from gis_town.cli.patrol import _reason_lines

    s = {
        "invalid_trips": 77,
        "invalid_by_reason": {"too_fast": 37, "too_short": 76, "too_far": 0, "out_of_order": 1},
        "invalid_only_reason": {"too_fast": 0, "too_short": 39, "too_far": 0, "out_of_order": 1},
        "invalid_several_reasons": 37,
    }
    text = "\n".join(_reason_lines(s))
    assert "速度过快(非步行) too fast for walking: 含此原因 trips with this reason 37" in text
    assert "时间或距离过短 too short: 含此原因 trips with this reason 76" in text
    assert "远离河道" not in text  # no trips with it: not listed
    assert "40 + 多个原因 37 = 无效 invalid 77" in text
