"""Tests of gis_town.analysis.progress and ``gis-town progress`` against answers computed by hand."""

from __future__ import annotations

import csv
import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import LineString, Point, box

from gis_town.analysis.progress import (
    TOTAL_ID,
    afforestation_progress,
    collective_progress,
    high_standard_progress,
    milestones_due,
    needs_attention,
    parse_as_of,
    resettlement_progress,
    road_progress,
    summary_table,
    zone_progress,
)
from gis_town.cli import main
from gis_town.config import TownConfig, parse_config
from gis_town.errors import ConfigError, FieldError, InputError
from gis_town.geodesy import geodesic_area_m2

GK = "EPSG:4544"
X0, Y0 = 463_000.0, 3_940_000.0
MU = 10000.0 / 15.0


def _geo(geoms, **cols) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(cols, geometry=list(geoms), crs=GK).to_crs("EPSG:4490")


def _mu(gdf: gpd.GeoDataFrame) -> np.ndarray:
    return geodesic_area_m2(gdf) / MU


# --------------------------------------------------------------------------- resettlement

STAGE_COLS = [
    "agreement_signed",
    "entered",
    "filed",
    "housing_confirmed",
    "contract_signed",
    "moved_in",
    "demolished",
    "self_inspected",
    "reclaimed",
    "funds_paid",
]


def _households() -> gpd.GeoDataFrame:
    """Five 2023 households; dates as text, as a village clerk types them."""
    rows = [
        # id, village, destination, head, agreement, entered, filed, housing, contract, moved, demolished, self, reclaimed, funds
        (
            "H1",
            "V1",
            "进城",
            "张三",
            "2023-03-01",
            "2023-03-10",
            "2023-03-20",
            "2023-03-25",
            "2023-03-25",
            "2023-06-15",
            "2023-06-20",
            "2023-09-01",
            "2023-10-01",
            "2023-11-01",
        ),
        # agreement exactly on the 03-31 deadline; housing exactly on the 06-30 deadline
        (
            "H2",
            "V1",
            "进城",
            "李四",
            "2023-03-31",
            "2023-03-31",
            "2023-03-31",
            "2023-06-30",
            "2023-06-30",
            "2023-07-10",
            "",
            "",
            "",
            "",
        ),
        # moved in (04-20) before housing was confirmed (05-01): dates out of order
        (
            "H3",
            "V1",
            "乡镇",
            "王五",
            "2023-03-15",
            "2023-03-15",
            "2023-03-15",
            "2023-05-01",
            "2023-05-02",
            "2023-04-20",
            "2023-08-01",
            "",
            "",
            "",
        ),
        # late agreement, nothing else
        (
            "H4",
            "V2",
            "进城",
            "赵六",
            "2023-04-02",
            "2023-04-02",
            "2023-04-02",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
        ),
        (
            "H5",
            "V2",
            "乡镇",
            "钱七",
            "2023-02-01",
            "2023-02-01",
            "2023-02-01",
            "2023-03-01",
            "2023-03-01",
            "2023-05-01",
            "2023-05-15",
            "",
            "",
            "",
        ),
    ]
    cols = ["household_id", "village_id", "destination", "head", *STAGE_COLS]
    df = pd.DataFrame(rows, columns=cols)
    df["cohort"] = 2023
    pts = [Point(X0 + 100 * i, Y0) for i in range(len(df))]
    return _geo(pts, **{c: df[c].tolist() for c in df.columns})


def _row(table, stage, scope="合计 total", **kw):
    t = table[(table["stage"] == stage) & (table["scope"] == scope)]
    for k, v in kw.items():
        t = t[t[k] == v]
    assert len(t) == 1, (stage, scope, kw)
    return t.iloc[0]


def test_milestones_due_deadline_day_counts_in_full():
    cfg = TownConfig()
    before = milestones_due(cfg, "2023-03-30").set_index("stage")
    on = milestones_due(cfg, "2023-03-31").set_index("stage")
    assert before.loc["agreement_signed", "required_share"] == 0.0
    assert before.loc["agreement_signed", "next_date"] == pd.Timestamp("2023-03-31")
    assert on.loc["agreement_signed", "required_share"] == 1.0
    assert on.loc["housing_confirmed", "required_share"] == 0.8
    assert on.loc["moved_in", "required_share"] == 0.0
    assert on.loc["moved_in", "next_share"] == 0.7
    jun = milestones_due(cfg, "2023-06-30").set_index("stage")
    assert jun.loc["housing_confirmed", "required_share"] == 1.0
    assert jun.loc["demolished", "required_share"] == 0.4


def test_resettlement_shares_by_hand_on_deadline_day():
    res = resettlement_progress(_households(), config=TownConfig(), as_of="2023-03-31")
    t = res.table
    # agreement: H1, H2 (on the deadline day), H3, H5 -> 4/5, 100 % due
    r = _row(t, "agreement_signed")
    assert (r.households, r.done, r.required_pct, r.status) == (5, 4, 100.0, "behind")
    assert r.share_pct == pytest.approx(80.0)
    # housing: H1 (03-25), H5 (03-01) -> 2/5 against 80 %
    r = _row(t, "housing_confirmed")
    assert (r.done, r.required_pct, r.status) == (2, 80.0, "behind")
    # moving in: no milestone due yet (70 % by 06-30)
    r = _row(t, "moved_in")
    assert (r.done, r.required_pct, r.status) == (0, 0.0, "not_due")
    assert r.next_date == pd.Timestamp("2023-06-30") and r.next_required_pct == pytest.approx(70.0)
    hh = res.details["resettlement_households"].set_index("household_id")
    assert "协议签订" in hh.loc["H4", "overdue"] and hh.loc["H4", "behind"]
    assert hh.loc["H2", "overdue"] == ""  # signed on the deadline day: on time
    # the day before the deadline nothing is due yet
    t0 = resettlement_progress(_households(), config=TownConfig(), as_of="2023-03-30").table
    r = _row(t0, "agreement_signed")
    assert (r.done, r.required_pct, r.status) == (3, 0.0, "not_due")


def test_resettlement_out_of_order_is_flagged_not_counted():
    res = resettlement_progress(_households(), config=TownConfig(), as_of="2023-06-30")
    t = res.table
    # housing due 100 %: H1, H2 (06-30, deadline day), H3, H5 -> 4/5
    r = _row(t, "housing_confirmed")
    assert (r.done, r.status) == (4, "behind")
    # moved in by 06-30: H1, H5; H3 moved in before housing was confirmed -> flagged, not counted
    r = _row(t, "moved_in")
    assert (r.done, r.flagged, r.required_pct, r.status) == (2, 1, 70.0, "behind")
    assert r.share_pct == pytest.approx(40.0)
    # demolished: H1, H5 -> 2/5 = 40 % against 40 %: on track
    r = _row(t, "demolished")
    assert (r.done, r.status) == (2, "on_track")
    # per destination: town (乡镇) = H3, H5 -> moved in 1/2 (H3 flagged)
    r = _row(t, "moved_in", scope="安置方式 destination", destination="town")
    assert (r.households, r.done, r.flagged) == (2, 1, 1)
    # per village: V2 = H4, H5 -> housing 1/2
    r = _row(t, "housing_confirmed", scope="村 village", village_id="V2")
    assert (r.households, r.done, r.status) == (2, 1, "behind")
    hh = res.details["resettlement_households"].set_index("household_id")
    assert "moved_in before housing_confirmed" in hh.loc["H3", "order_issue"]
    assert hh.loc["H1", "order_issue"] == "" and not hh.loc["H1", "behind"]
    assert "房源确定" in hh.loc["H4", "overdue"]
    # moving in is behind town-wide (40 % < 70 %): households not in yet are pending on it
    assert "入住" in hh.loc["H2", "pending"] and "入住" in hh.loc["H3", "pending"]
    att = needs_attention(res.details["resettlement_households"])
    # highlighted: H3 (dates out of order), H4 (housing overdue); H2 is only pending on a partial milestone
    assert list(res.details["resettlement_households"]["household_id"][att]) == ["H3", "H4"]
    assert not hh.loc["H2", "behind"]
    assert not hh.loc["H5", "behind"]


def test_resettlement_year_end_and_planned_households():
    cfg = parse_config({"targets": {"resettlement_households": 8}})
    res = resettlement_progress(_households(), config=cfg, as_of="2023-12-31")
    r = _row(res.table, "demolished")
    # 3 demolished (H1, H3, H5) of 8 planned households
    assert (r.households, r.done) == (8, 3)
    assert "planned 8" in r.note and r.status == "behind"


def test_resettlement_cohort_milestones_and_reclamation():
    hh = _households()
    hh.loc[4, "cohort"] = 2022
    cfg = parse_config(
        {
            "targets": {
                "resettlement_milestones": [
                    {"date": "06-30", "stage": "moved_in", "share": 0.5},
                    {"date": "05-31", "stage": "demolished", "share": 1.0, "cohort": 2022},
                ]
            }
        }
    )
    rec = _geo(
        [
            box(X0 + 400, Y0, X0 + 440, Y0 + 50),
            box(X0, Y0, X0 + 30, Y0 + 30),
            box(X0 + 900, Y0, X0 + 920, Y0 + 20),
        ],
        plot_id=["R5", "R1", "RX"],
        household_id=["H5", "H1", "H99"],
        reclaimed_date=["2023-05-20", "", "2023-01-01"],
        declared_area_mu=[3.0, 1.35, 0.6],
    )
    res = resettlement_progress(hh, config=cfg, as_of="2023-10-15", reclamation=rec)
    t = res.table
    r22 = _row(t, "demolished", cohort=2022)
    assert (r22.households, r22.done, r22.required_pct, r22.status) == (1, 1, 100.0, "done")
    assert set(t[t["cohort"] == 2022]["stage"]) == {"demolished"}
    r23 = _row(t, "moved_in", cohort=2023)
    # H1, H2 moved in; H3 flagged; H4 not -> 2/4 = 50 % against 50 %
    assert (r23.households, r23.done, r23.status) == (4, 2, "on_track")
    recl = res.details["reclamation"]
    tot22 = recl[(recl["cohort"] == 2022) & (recl["village_id"] == TOTAL_ID)].iloc[0]
    assert tot22.reclaimed_mu == pytest.approx(
        _mu(rec.iloc[[0]])[0], rel=1e-6
    )  # H5's plot, 40 m x 50 m
    tot23 = recl[(recl["cohort"] == 2023) & (recl["village_id"] == TOTAL_ID)].iloc[0]
    # H1's plot has no plot date; H1's reclaimed date (10-01) is before 10-15: counted
    assert tot23.reclaimed_mu == pytest.approx(_mu(rec.iloc[[1]])[0], rel=1e-6)
    assert (recl["village_id"] == "(未匹配搬迁户 unmatched household)").any()


def test_resettlement_bad_input():
    hh = _households()
    hh.loc[2, "moved_in"] = "2023-13-45"
    with pytest.raises(FieldError) as e:
        resettlement_progress(hh, config=TownConfig(), as_of="2023-06-30")
    assert (
        e.value.layer == "resettlement"
        and e.value.field == "moved_in"
        and e.value.feature_id == "H3"
    )
    hh = _households()
    hh.loc[0, "destination"] = "国外"
    with pytest.raises(FieldError, match="destination"):
        resettlement_progress(hh, config=TownConfig(), as_of="2023-06-30")
    cfg = parse_config(
        {"targets": {"resettlement_milestones": [{"date": "06-30", "stage": "moved", "share": 1}]}}
    )
    with pytest.raises(ConfigError, match="moved") as e:
        resettlement_progress(_households(), config=cfg, as_of="2023-06-30")
    assert e.value.field == "targets.resettlement_milestones[0].stage"
    cfg = parse_config(
        {
            "targets": {
                "resettlement_milestones": [{"date": "06-31", "stage": "moved_in", "share": 1}]
            }
        }
    )
    with pytest.raises(ConfigError, match="06-31"):
        resettlement_progress(_households(), config=cfg, as_of="2023-06-30")
    with pytest.raises(InputError, match="2023/06/31"):
        parse_as_of("2023/06/31")


# --------------------------------------------------------------------------- afforestation


def _afforestation():
    polys = _geo(
        [
            box(X0, Y0, X0 + 200, Y0 + 100),  # A1 hillside 20000 m2 (30 mu), declared 30
            box(
                X0, Y0 + 200, X0 + 100, Y0 + 300
            ),  # A2 economic 10000 m2 (15 mu), declared 12 (25 % off)
            box(X0, Y0 + 400, X0 + 100, Y0 + 450),  # A3 hillside, planted after the as-of date
            box(X0, Y0 + 500, X0 + 100, Y0 + 600),  # A4 hillside, 2022
            box(X0 + 500, Y0, X0 + 600, Y0 + 100),  # A5 hillside in V2, no declared area
        ],
        plot_id=["A1", "A2", "A3", "A4", "A5"],
        village_id=["V1", "V1", "V1", "V1", "V2"],
        kind=["面山绿化", "经济林", "hillside", "hillside", "面山"],
        trees=[None, 600, None, None, None],
        year=[2023, 2023, 2023, 2022, 2023],
        planted_date=["2023-04-01", "2023-04-10", "2023-10-01", "2022-04-01", ""],
        declared_area_mu=[30.0, 12.0, 7.5, 15.0, None],
    )
    points = _geo(
        [Point(X0 + 10, Y0 + 10), Point(X0 + 20, Y0 + 10), Point(X0 + 510, Y0 + 10)],
        plot_id=["T1", "T2", "T3"],
        village_id=["V1", "V1", "V2"],
        kind=["四旁植树"] * 3,
        trees=[300, None, 200],
        year=[2023, 2023, 2023],
        planted_date=["2023-03-20", "2023-03-21", "2023-03-22"],
        declared_area_mu=[None, None, None],
    )
    return polys, points


def test_afforestation_by_hand():
    polys, points = _afforestation()
    cfg = parse_config(
        {
            "targets": {
                "afforestation": {"four_sides_trees": 1000, "hillside_mu": 60, "economic_mu": 15},
                "villages": {"V1": {"hillside_mu": 30}},
            }
        }
    )
    villages = pd.DataFrame({"village_id": ["V1", "V2"], "name": ["将台村", "东川村"]})
    res = afforestation_progress(
        polys, points=points, config=cfg, as_of="2023-06-30", villages=villages
    )
    t = res.table.set_index(["village_id", "kind"])
    mu = dict(zip(polys.plot_id, _mu(polys)))
    # hillside counted: A1 (V1) and A5 (V2); A3 planted after the date, A4 is 2022
    tot = t.loc[(TOTAL_ID, "hillside")]
    assert tot.done == pytest.approx(mu["A1"] + mu["A5"], rel=1e-6)
    assert tot.target == 60 and tot.status == "in_progress"
    assert tot.share_pct == pytest.approx(100 * (mu["A1"] + mu["A5"]) / 60, rel=1e-6)
    v1 = t.loc[("V1", "hillside")]
    assert (
        v1.done == pytest.approx(mu["A1"], rel=1e-6)
        and v1.target == 30
        and v1.target_level.startswith("村")
    )
    assert v1.status == ("done" if mu["A1"] >= 30 else "in_progress")
    assert t.loc[("V2", "hillside")].status == "town_target_only"
    assert t.loc[("V1", "hillside")].village_name == "将台村"
    # trees: T1 300 + T3 200; T2 has no tree count: listed, not counted as zero silently
    assert t.loc[(TOTAL_ID, "four_sides")].done == 500
    econ = t.loc[(TOTAL_ID, "economic")]
    assert econ.done == pytest.approx(mu["A2"], rel=1e-6) and econ.declared_area_mu == 12.0
    plots = res.details["afforestation_plots"].set_index("plot_id")
    assert "differ" in plots.loc["A2", "issue"]
    assert plots.loc["A2", "diff_pct"] == pytest.approx(100 * (mu["A2"] - 12) / 12, rel=1e-6)
    assert "trees missing" in plots.loc["T2", "issue"] and not plots.loc["T2", "counted"]
    assert "A1" not in plots.index  # within the 5 % tolerance
    # after the due date (12-31) unfinished targets are behind
    late = afforestation_progress(polys, points=points, config=cfg, as_of="2023-12-31").table
    assert (
        late[(late.village_id == TOTAL_ID) & (late.kind == "four_sides")].status.iloc[0] == "behind"
    )


def test_afforestation_without_layers_is_zero_done_not_an_error():
    res = afforestation_progress(None, config=TownConfig(), as_of="2023-06-30")
    tot = res.table[res.table["village_id"] == TOTAL_ID].set_index("kind")
    assert (tot["done"] == 0).all() and (tot["status"] == "in_progress").all()
    assert len(res.details["afforestation_plots"]) == 0


def test_afforestation_unknown_kind():
    polys, _ = _afforestation()
    polys.loc[1, "kind"] = "竹林"
    with pytest.raises(FieldError) as e:
        afforestation_progress(polys, config=TownConfig(), as_of="2023-06-30")
    assert (e.value.layer, e.value.field, e.value.feature_id) == ("afforestation", "kind", "A2")


# --------------------------------------------------------------------------- zones


def test_zone_progress_split_parcel_and_kinds():
    zones = _geo(
        [
            box(X0, Y0, X0 + 1000, Y0 + 1000),
            box(X0 + 1000, Y0, X0 + 2000, Y0 + 1000),
            box(X0 + 800, Y0, X0 + 1300, Y0 + 1000),
        ],
        zone_id=["B1", "B2", "C1"],
        kind=["流域", "basin", "两线"],
        name=["东河流域", "西河流域", "沿线示范片带"],
        planned_demo_mu=[100.0, 50.0, None],
    )
    farmland = _geo(
        [
            box(X0 + 100, Y0 + 100, X0 + 200, Y0 + 200),
            box(X0 + 900, Y0 + 300, X0 + 1200, Y0 + 400),
            box(X0 + 1500, Y0 + 500, X0 + 1600, Y0 + 550),
        ],
        parcel_id=["P1", "P2", "P3"],
        status=["耕种", "撂荒", "cultivated"],
        film_mulch=["是", "否", True],
    )
    mu = dict(zip(farmland.parcel_id, _mu(farmland)))
    res = zone_progress(farmland, zones, config=TownConfig(), as_of="2023-06-30")
    t = res.table.set_index("zone_id")
    # P2 (300 m x 100 m) is split 100:200 between the two basins
    assert t.loc["B1", "area_mu"] == pytest.approx(mu["P1"] + mu["P2"] / 3, rel=1e-4)
    assert t.loc["B2", "area_mu"] == pytest.approx(mu["P3"] + 2 * mu["P2"] / 3, rel=1e-4)
    assert t.loc["B1", "film_mu"] == pytest.approx(mu["P1"], rel=1e-6)
    assert t.loc["B1", "abandoned_mu"] == pytest.approx(mu["P2"] / 3, rel=1e-4)
    assert t.loc["B1", "share_pct"] == pytest.approx(100 * mu["P1"] / 100, rel=1e-6)
    # the basins tile: they add up to the farmland inside, and to the kind's total
    basin_total = res.table[(res.table.kind == "basin") & (res.table.zone_id == TOTAL_ID)].iloc[0]
    assert t.loc["B1", "area_mu"] + t.loc["B2", "area_mu"] == pytest.approx(
        basin_total.area_mu, rel=1e-9
    )
    assert basin_total.area_mu == pytest.approx(sum(mu.values()), rel=1e-4)
    assert basin_total.planned_demo_mu == 150.0
    # the corridor is its own kind: P2 wholly inside, no planned area -> marked row
    assert t.loc["C1", "area_mu"] == pytest.approx(mu["P2"], rel=1e-6)
    assert t.loc["C1", "status"] == "no_target" and "planned_demo_mu" in t.loc["C1", "note"]
    assert needs_attention(res.table)[res.table.zone_id == "C1"].all()
    zones.loc[0, "kind"] = "湖泊"
    with pytest.raises(FieldError) as e:
        zone_progress(farmland, zones, config=TownConfig(), as_of="2023-06-30")
    assert (e.value.layer, e.value.field, e.value.feature_id) == ("zones", "kind", "B1")


# --------------------------------------------------------------------------- high-standard, roads, collective


def test_high_standard_targets_and_missing_target():
    farmland = _geo(
        [
            box(X0, Y0, X0 + 400, Y0 + 500),
            box(X0 + 400, Y0, X0 + 800, Y0 + 500),
            box(X0, Y0 + 600, X0 + 100, Y0 + 700),
            box(X0 + 900, Y0, X0 + 950, Y0 + 50),
        ],
        parcel_id=["P1", "P2", "P3", "P4"],
        village_id=["V1", "V1", "V2", "V2"],
        project=["A项目", "A项目", "B项目", None],
        declared_area_mu=[300.0, 300.0, 15.0, 4.0],
    )
    mu = _mu(farmland)
    cfg = parse_config({"targets": {"high_standard": {"A项目": 600, "C项目": 100}}})
    t = high_standard_progress(farmland, config=cfg, as_of="2023-12-31").table.set_index("project")
    assert t.loc["A项目", "tagged_mu"] == pytest.approx(mu[0] + mu[1], rel=1e-6)
    assert t.loc["A项目", "measure"] == "tagged"
    assert t.loc["A项目", "parcels"] == 2 and t.loc["A项目", "target_mu"] == 600
    assert t.loc["A项目", "status"] == ("done" if mu[0] + mu[1] >= 600 else "behind")
    assert t.loc["B项目", "status"] == "no_target" and math.isnan(t.loc["B项目", "target_mu"])
    assert t.loc["C项目", "tagged_mu"] == 0 and t.loc["C项目", "status"] == "behind"
    assert t.loc[TOTAL_ID, "target_mu"] == 700


def test_roads_hardened_this_year_by_village():
    villages = _geo(
        [
            box(X0 - 100, Y0 - 500, X0 + 1000, Y0 + 500),
            box(X0 + 1000, Y0 - 500, X0 + 4000, Y0 + 500),
        ],
        village_id=["V1", "V2"],
        name=["将台村", "东川村"],
        collective_income_wan=[12.0, 9.5],
    )
    roads = _geo(
        [
            LineString([(X0, Y0), (X0 + 3000, Y0)]),
            LineString([(X0, Y0 + 100), (X0 + 500, Y0 + 100)]),
            LineString([(X0, Y0 + 200), (X0 + 700, Y0 + 200)]),
        ],
        road_id=["R1", "R2", "R3"],
        hardened=[True, True, True],
        hardened_year=[2023, 2022, None],
    )
    cfg = parse_config(
        {"targets": {"road_hardened_km": 10, "villages": {"V2": {"road_hardened_km": 2}}}}
    )
    res = road_progress(roads, config=cfg, as_of="2023-06-30", villages=villages, gk_crs=GK)
    t = res.table.set_index("village_id")
    assert t.loc[TOTAL_ID, "hardened_km"] == pytest.approx(3.0, rel=1e-6)
    assert t.loc["V1", "hardened_km"] == pytest.approx(1.0, rel=1e-6)
    assert t.loc["V2", "hardened_km"] == pytest.approx(2.0, rel=1e-6)
    assert t.loc["V2", "status"] == "done" and t.loc["V1", "status"] == "town_target_only"
    assert t.loc[TOTAL_ID, "share_pct"] == pytest.approx(30.0, rel=1e-6)
    assert t.loc[TOTAL_ID, "status"] == "in_progress"
    assert "without hardened_year" in t.loc[TOTAL_ID, "note"]


def test_collective_share_and_missing_income():
    villages = pd.DataFrame(
        {
            "village_id": ["V1", "V2", "V3", "V4"],
            "name": ["甲村", "乙村", "丙村", "丁村"],
            "collective_income_wan": [12.0, 9.5, None, 10.0],
        }
    )
    res = collective_progress(villages, config=TownConfig(), as_of="2023-12-31")
    t = res.table.set_index("village_id")
    assert t.loc[TOTAL_ID, "share_pct"] == pytest.approx(50.0)
    assert t.loc[TOTAL_ID, "status"] == "behind"
    assert t.loc["V3", "status"] == "no_data" and t.loc["V4", "status"] == "done"
    assert res.summary.iloc[0]["note"].startswith("1 ")
    s = summary_table([res])
    assert list(s.columns)[:3] == ["topic", "item", "unit"]


# --------------------------------------------------------------------------- command line


@pytest.fixture
def small_town(tmp_path):
    path = tmp_path / "town.gpkg"
    villages = _geo(
        [
            box(X0 - 100, Y0 - 500, X0 + 1000, Y0 + 1000),
            box(X0 + 1000, Y0 - 500, X0 + 4000, Y0 + 1000),
        ],
        village_id=["V1", "V2"],
        name=["将台村", "东川村"],
        collective_income_wan=[12.0, 9.5],
    )
    villages.to_file(path, layer="villages")
    hh = _households()
    for c in STAGE_COLS:
        hh[c] = hh[c].replace("", None)
    hh.to_file(path, layer="resettlement")
    polys, points = _afforestation()
    polys["planted_date"] = polys["planted_date"].replace("", None)
    polys.to_file(path, layer="afforestation")
    points.to_file(path, layer="afforestation_points")
    _geo(
        [box(X0, Y0, X0 + 400, Y0 + 500), box(X0 + 1500, Y0, X0 + 1600, Y0 + 100)],
        parcel_id=["P1", "P2"],
        village_id=["V1", "V2"],
        status=["耕种", "撂荒"],
        project=["A项目", None],
        film_mulch=[True, False],
    ).to_file(path, layer="farmland")
    _geo(
        [
            box(X0 - 100, Y0 - 500, X0 + 1000, Y0 + 1000),
            box(X0 + 1000, Y0 - 500, X0 + 4000, Y0 + 1000),
        ],
        zone_id=["B1", "B2"],
        kind=["basin", "basin"],
        name=["东河流域", "西河流域"],
        planned_demo_mu=[100.0, 50.0],
    ).to_file(path, layer="zones")
    _geo(
        [LineString([(X0, Y0), (X0 + 3000, Y0)])],
        road_id=["R1"],
        hardened=[True],
        hardened_year=[2023],
    ).to_file(path, layer="roads")
    return path


def test_cli_progress_writes_workbook_and_csvs(small_town, tmp_path, capsys):
    out = tmp_path / "out"
    code = main(["progress", str(small_town), "--as-of", "2023-06-30", "--out", str(out)])
    assert code == 0
    for name in [
        "progress.xlsx",
        "summary.csv",
        "afforestation.csv",
        "afforestation_plots.csv",
        "resettlement.csv",
        "resettlement_households.csv",
        "high_standard.csv",
        "zones.csv",
        "roads.csv",
        "collective.csv",
    ]:
        assert (out / name).exists(), name
    assert not (out / "rejects.csv").exists()  # nothing rejected: no header-only file
    import openpyxl
    import pyogrio

    layers = {name for name, _ in pyogrio.list_layers(out / "progress.gpkg")}
    assert layers == {"progress_zones", "progress_households"}
    hh_map = gpd.read_file(out / "progress.gpkg", layer="progress_households")
    assert len(hh_map) == 5 and hh_map.crs.to_epsg() == 4490

    wb = openpyxl.load_workbook(out / "progress.xlsx")
    assert wb.sheetnames[0] == "汇总 summary"
    assert "搬迁户 households" in wb.sheetnames and "示范片带 zones" in wb.sheetnames
    ws = wb["搬迁 resettlement"]
    header = [c.value for c in ws[3]]
    assert "阶段名称 stage_label" in header and "完成率(%)=完成户数/户数 share_pct" in header
    i = header.index("完成户数 done")
    assert [h.split()[-1] for h in header[i : i + 5]] == [
        "done",
        "households",
        "share_pct",
        "required_pct",
        "required_households",
    ]
    with open(out / "resettlement.csv", encoding="utf-8-sig") as fh:
        rows = list(csv.DictReader(fh))
    moved = [r for r in rows if r["stage"] == "moved_in" and r["scope"] == "合计 total"][0]
    assert (moved["done"], moved["flagged"], moved["status"]) == ("2", "1", "behind")
    printed = capsys.readouterr().out
    assert "计划进度汇总" in printed and "H3" in printed
    assert "完成 done  户数 of all" in printed  # done, then its denominator


def test_cli_progress_bad_input_exit_2(small_town, tmp_path, capsys):
    assert (
        main(["progress", str(small_town), "--as-of", "2023-02-30", "--out", str(tmp_path / "o")])
        == 2
    )
    assert "as-of" in capsys.readouterr().err
    cfg = tmp_path / "bad.toml"
    cfg.write_text(
        '[[targets.resettlement_milestones]]\ndate = "06-30"\nstage = "moved"\nshare = 1.0\n',
        encoding="utf-8",
    )
    assert (
        main(
            [
                "progress",
                str(small_town),
                "--config",
                str(cfg),
                "--as-of",
                "2023-06-30",
                "--out",
                str(tmp_path / "o"),
            ]
        )
        == 2
    )
    err = capsys.readouterr().err
    assert "targets.resettlement_milestones[0].stage" in err


def test_cli_progress_rejected_dates_marked_in_summary(tmp_path, small_town):
    hh = gpd.read_file(small_town, layer="resettlement")
    hh.loc[0, "moved_in"] = "六月十五"
    hh.to_file(small_town, layer="resettlement", mode="w")
    out = tmp_path / "o"
    assert main(["progress", str(small_town), "--as-of", "2023-06-30", "--out", str(out)]) == 0
    summary = pd.read_csv(out / "summary.csv", encoding="utf-8-sig")
    marked = summary[summary["topic"].str.contains("data problems")]
    assert len(marked) == 1 and marked["done"].iloc[0] == 1
    rejects = pd.read_csv(out / "rejects.csv", encoding="utf-8-sig")
    assert ((rejects["feature_id"] == "H1") & (rejects["field"] == "moved_in")).any()


def test_cli_progress_demo_town(demo_town, tmp_path):
    out = tmp_path / "demo"
    assert main(["progress", str(demo_town), "--as-of", "2023-06-30", "--out", str(out)]) == 0
    summary = pd.read_csv(out / "summary.csv", encoding="utf-8-sig")
    assert summary["topic"].str.contains("resettlement").any()
    zones = pd.read_csv(out / "zones.csv", encoding="utf-8-sig")
    assert (zones["area_mu"] >= 0).all()


def _seven_households() -> pd.DataFrame:
    """Seven 2023 households, every stage before moving in done by March; five moved in by 06-30."""
    early = dict.fromkeys(
        ["agreement_signed", "entered", "filed", "housing_confirmed", "contract_signed"], ""
    )
    rows = []
    for i in range(7):
        r = {"household_id": f"S{i + 1}", "village_id": "V1", "destination": "city", "cohort": 2023}
        r.update({s: f"2023-03-0{j + 1}" for j, s in enumerate(early)})
        r["moved_in"] = "2023-05-01" if i < 5 else ""
        rows.append(r)
    return pd.DataFrame(rows)


def test_resettlement_denominators_named_and_in_order():
    """5 of 7 moved in on 06-30 against 70 %: share 5/7 = 71.43 %, due ceil(0.7 * 7) = ceil(4.9) = 5."""
    from gis_town.analysis.progress.status import SUMMARY_COLUMNS
    from gis_town.reports.progress import (
        RESETTLEMENT_HEADERS,
        SUMMARY_SHEET_HEADERS,
        resettlement_totals,
        zh_columns,
    )

    res = resettlement_progress(_seven_households(), config=TownConfig(), as_of="2023-06-30")
    t = res.table
    cols = list(t.columns)
    order = ["done", "households", "share_pct", "required_pct", "required_households"]
    assert cols[cols.index("done") : cols.index("done") + 5] == order
    r = _row(t, "moved_in")
    assert (r.done, r.households, r.required_pct, r.required_households) == (5, 7, 70.0, 5)
    assert r.share_pct == pytest.approx(100 * 5 / 7)
    assert r.status == "on_track"
    # housing due 100 % on 06-30: all 7 of 7 due, all 7 done
    r = _row(t, "housing_confirmed")
    assert (r.done, r.households, r.required_pct, r.required_households) == (7, 7, 100.0, 7)
    # demolished: 40 % of 7 = 2.8 -> 3 due, none done
    r = _row(t, "demolished")
    assert (r.done, r.households, r.required_households, r.status) == (0, 7, 3, "behind")
    # nothing due yet for self-inspection: 0 % and 0 households
    r = _row(t, "self_inspected")
    assert (r.required_pct, r.required_households, r.status) == (0.0, 0, "not_due")
    # the summary row: done, of all, share, share due, households due
    s = res.summary.set_index("item").loc["入住 moved_in (2023年度 cohort)"]
    assert list(SUMMARY_COLUMNS[3:8]) == ["done", "base", "share_pct", "target_pct", "target"]
    assert (s["done"], s["base"], s["target_pct"], s["target"]) == (5.0, 7.0, 70.0, 5.0)
    assert s["share_pct"] == pytest.approx(100 * 5 / 7)
    # workbook headers name the denominator
    header = list(zh_columns(t, RESETTLEMENT_HEADERS).columns)
    i = header.index("完成户数 done")
    assert header[i : i + 5] == [
        "完成户数 done",
        "户数(全部,分母) households",
        "完成率(%)=完成户数/户数 share_pct",
        "应完成比例(%) required_pct",
        "应完成户数 required_households",
    ]
    sh = list(zh_columns(res.summary, SUMMARY_SHEET_HEADERS).columns)
    assert sh[3:8] == [
        "完成 done",
        "分母(户数或目标) base",
        "完成率(%)=完成/分母 share_pct",
        "应完成比例(%) target_pct",
        "应完成数或目标 target",
    ]
    # console: the cohort totals, same order
    tot = resettlement_totals(t)
    assert list(tot.columns)[2:7] == [
        "完成 done",
        "户数 of all",
        "完成率% share",
        "应完成% due",
        "应完成户 due",
    ]
    moved = tot[tot["阶段 stage"] == "入住"].iloc[0]
    assert (moved["完成 done"], moved["户数 of all"], moved["应完成户 due"]) == (5, 7, 5)


def test_summary_base_is_the_target_for_annual_targets():
    """Outside resettlement the share is done / target: the denominator shown is the target."""
    from gis_town.analysis.progress.status import _summary

    s = _summary(
        [
            {
                "topic": "t",
                "item": "i",
                "unit": "亩 mu",
                "done": 30.0,
                "target": 60.0,
                "share_pct": 50.0,
                "due_date": "",
                "status": "in_progress",
                "note": "",
            }
        ]
    )
    assert (s.loc[0, "base"], s.loc[0, "target"]) == (60.0, 60.0)
    assert np.isnan(s.loc[0, "target_pct"])


def test_workbook_codes_have_their_chinese_beside(small_town, tmp_path):
    """No column of progress.xlsx holds only English codes: each code column has its label next to it."""
    import re

    import openpyxl

    out = tmp_path / "out"
    assert main(["progress", str(small_town), "--as-of", "2023-06-30", "--out", str(out)]) == 0
    wb = openpyxl.load_workbook(out / "progress.xlsx")
    code = re.compile(r"^[a-z][a-z_]*$")
    checked = 0
    for ws in wb:
        rows = list(ws.iter_rows(min_row=3, values_only=True))
        header, body = rows[0], [r for r in rows[1:] if r[0] is not None]
        for j, h in enumerate(header):
            if h is None:
                continue
            values = [r[j] for r in body if j < len(r) and r[j] not in (None, "")]
            if not values or not all(isinstance(v, str) and code.match(v) for v in values):
                continue
            field = str(h).split()[-1]
            label = header[j + 1] if j + 1 < len(header) else None
            assert label is not None and str(label).endswith(f" {field}_label"), (ws.title, h)
            labels = [r[j + 1] for r in body if r[j] not in (None, "")]
            assert all(isinstance(v, str) and re.search(r"[\u4e00-\u9fff]", v) for v in labels), (
                ws.title,
                h,
            )
            checked += 1
    assert checked >= 5  # status, stage, destination, kind, layer...
    summary = wb["汇总 summary"]
    hdr = [c.value for c in summary[3]]
    assert hdr.index("进度 status_label") == hdr.index("进度代码 status") + 1
