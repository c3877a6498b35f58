"""Tests of gis_town.analysis.overlay against independent answers."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import Polygon, box

from gis_town.analysis.overlay import area_by_zone, inside_outside, subdivide, totals_by_zone
from gis_town.errors import CRSError, FieldError
from gis_town.geodesy import area_m2, geodesic_area_m2, m2_to_mu

GK = "EPSG:4544"  # CGCS2000 3-degree Gauss-Kruger, CM 105E
X0, Y0 = 463_000.0, 3_940_000.0  # about 104.6E 35.6N


def _gk(geoms, **cols) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(cols, geometry=list(geoms), crs=GK)


def _geo(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    return gdf.to_crs("EPSG:4490")


@pytest.fixture
def layout():
    """Two basins tiling a 2 km x 1 km block (split at x = X0 + 1000) and a corridor band."""
    basins = _gk(
        [box(X0, Y0, X0 + 1000, Y0 + 1000), box(X0 + 1000, Y0, X0 + 2000, Y0 + 1000)],
        zone_id=["B1", "B2"],
        kind=["basin", "basin"],
        name=["东河流域", "西河流域"],
    )
    corridor = _gk(
        [box(X0 + 800, Y0, X0 + 1300, Y0 + 1000)], zone_id=["C1"], kind=["corridor"], name=["沿线"]
    )
    zones = pd.concat([basins, corridor], ignore_index=True)
    parcels = _gk(
        [
            box(X0 + 100, Y0 + 100, X0 + 200, Y0 + 200),  # P1: inside B1 only
            box(X0 + 900, Y0 + 300, X0 + 1200, Y0 + 400),  # P2: crosses B1/B2, inside C1
            box(X0 + 1500, Y0 + 500, X0 + 1600, Y0 + 550),  # P3: inside B2 only
            box(X0 + 2100, Y0 + 100, X0 + 2200, Y0 + 200),  # P4: outside all zones
            box(X0 + 1250, Y0 + 600, X0 + 1350, Y0 + 700),  # P5: inside B2, crosses C1 edge
        ],
        parcel_id=["P1", "P2", "P3", "P4", "P5"],
        film_mulch=[True, False, True, None, True],
    )
    return _geo(parcels), _geo(zones)


def test_split_parcel_adds_up_within_one_kind(layout):
    parcels, zones = layout
    pieces = area_by_zone(parcels, zones)
    basins = pieces[pieces["kind"] == "basin"]
    p2 = basins[basins["parcel_id"] == "P2"]
    assert sorted(p2["zone_id"]) == ["B1", "B2"]
    own = geodesic_area_m2(parcels[parcels.parcel_id == "P2"])[0]
    assert p2["area_m2"].sum() == pytest.approx(own, rel=1e-4)  # within 0.01 %
    # split 100 m : 200 m of a 300 m x 100 m parcel (GK areas are ~planar here; shares exact to 1e-4)
    assert p2.set_index("zone_id")["share"]["B1"] == pytest.approx(1 / 3, rel=1e-4)
    assert p2.set_index("zone_id")["share"]["B2"] == pytest.approx(2 / 3, rel=1e-4)


def test_pieces_against_geodesic_reference(layout):
    parcels, zones = layout
    pieces = area_by_zone(parcels, zones, pieces=True)
    assert isinstance(pieces, gpd.GeoDataFrame)
    # independent reference: pyproj.Geod on each piece geometry built by hand
    zg = dict(zip(zones.zone_id, zones.geometry))
    pg = dict(zip(parcels.parcel_id, parcels.geometry))
    for row in pieces.itertuples():
        ref_geom = shapely.intersection(pg[row.parcel_id], zg[row.zone_id])
        ref = geodesic_area_m2(gpd.GeoSeries([ref_geom], crs="EPSG:4490"))[0]
        assert row.area_m2 == pytest.approx(ref, rel=1e-7), (row.parcel_id, row.zone_id)
    pairs = set(zip(pieces.parcel_id, pieces.zone_id))
    assert pairs == {
        ("P1", "B1"),
        ("P2", "B1"),
        ("P2", "B2"),
        ("P2", "C1"),
        ("P3", "B2"),
        ("P5", "B2"),
        ("P5", "C1"),
    }
    whole = dict(zip(zip(pieces.parcel_id, pieces.zone_id), pieces.whole))
    assert whole[("P1", "B1")] and whole[("P2", "C1")] and whole[("P5", "B2")]
    assert not whole[("P2", "B1")] and not whole[("P5", "C1")]
    # P5 crosses C1 at x = X0+1300: 50 m of 100 m inside
    p5c = pieces[(pieces.parcel_id == "P5") & (pieces.zone_id == "C1")]["share"].iloc[0]
    assert p5c == pytest.approx(0.5, rel=1e-4)


def test_equals_geopandas_overlay(layout):
    parcels, zones = layout
    ours = area_by_zone(parcels, zones)
    ref = gpd.overlay(parcels, zones, how="intersection", keep_geom_type=True)
    ref["area_m2"] = area_m2(ref)
    ref = ref[ref["area_m2"] > 0]
    merged = ours.merge(
        ref[["parcel_id", "zone_id", "area_m2"]],
        on=["parcel_id", "zone_id"],
        how="outer",
        suffixes=("", "_gpd"),
    )
    assert len(merged) == len(ours) == len(ref)
    np.testing.assert_allclose(merged["area_m2"], merged["area_m2_gpd"], rtol=1e-9)


def test_equals_geopandas_overlay_random():
    """Irregular parcels (Voronoi cells) against irregular overlapping zones."""
    rng = np.random.default_rng(5)
    pts = shapely.points(rng.uniform(X0, X0 + 3000, 400), rng.uniform(Y0, Y0 + 3000, 400))
    frame = box(X0, Y0, X0 + 3000, Y0 + 3000)
    cells = shapely.intersection(
        shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(pts))), frame
    )
    parcels = _geo(_gk(cells, parcel_id=[f"P{i:03d}" for i in range(len(cells))]))
    zones = _geo(
        _gk(
            [
                Polygon(
                    [
                        (X0 - 100, Y0 - 100),
                        (X0 + 1600, Y0 - 100),
                        (X0 + 1700, Y0 + 1500),
                        (X0 + 1400, Y0 + 3100),
                        (X0 - 100, Y0 + 3100),
                    ]
                ),
                Polygon(
                    [
                        (X0 + 1600, Y0 - 100),
                        (X0 + 3100, Y0 - 100),
                        (X0 + 3100, Y0 + 3100),
                        (X0 + 1400, Y0 + 3100),
                        (X0 + 1700, Y0 + 1500),
                    ]
                ),
                shapely.buffer(shapely.LineString([(X0, Y0 + 500), (X0 + 3000, Y0 + 2500)]), 300),
            ],
            zone_id=["Z1", "Z2", "Z3"],
            kind=["basin", "basin", "corridor"],
        )
    )
    ours = area_by_zone(parcels, zones)
    assert ours["whole"].mean() > 0.5  # most parcels take the fast path
    ref = gpd.overlay(parcels, zones, how="intersection", keep_geom_type=True)
    ref["area_m2"] = area_m2(ref)
    ref = ref[ref["area_m2"] > 0]
    merged = ours.merge(
        ref[["parcel_id", "zone_id", "area_m2"]],
        on=["parcel_id", "zone_id"],
        how="outer",
        suffixes=("", "_gpd"),
    )
    assert merged["area_m2"].notna().all() and merged["area_m2_gpd"].notna().all()
    np.testing.assert_allclose(merged["area_m2"], merged["area_m2_gpd"], rtol=1e-8)
    # the two basins tile the block: every parcel's basin pieces add up to its own area
    basin = ours[ours["kind"] == "basin"].groupby("parcel_row")["area_m2"].sum()
    own = geodesic_area_m2(parcels)
    np.testing.assert_allclose(basin.to_numpy(), own[basin.index.to_numpy()], rtol=1e-4)
    assert len(basin) == len(parcels)


def test_totals_by_zone_and_kind(layout):
    parcels, zones = layout
    pieces = area_by_zone(parcels, zones, parcel_columns=["parcel_id", "film_mulch"])
    own = dict(zip(parcels.parcel_id, geodesic_area_m2(parcels)))
    tot = totals_by_zone(pieces, parts={"film": "film_mulch"}).set_index("zone_id")
    # B1: all of P1 + 1/3 of P2; film only on P1
    assert tot.loc["B1", "area_m2"] == pytest.approx(own["P1"] + own["P2"] / 3, rel=1e-4)
    assert tot.loc["B1", "film_area_m2"] == pytest.approx(own["P1"], rel=1e-6)
    assert tot.loc["B1", "parcels"] == 2
    assert tot.loc["B1", "area_mu"] == pytest.approx(tot.loc["B1", "area_m2"] * 0.0015)
    # C1: all of P2 (no film) + half of P5 (film)
    assert tot.loc["C1", "film_area_m2"] == pytest.approx(own["P5"] / 2, rel=1e-4)
    by_kind = totals_by_zone(pieces, "kind").set_index("kind")
    inside = own["P1"] + own["P2"] + own["P3"] + own["P5"]
    assert by_kind.loc["basin", "area_m2"] == pytest.approx(inside, rel=1e-4)
    with pytest.raises(FieldError):
        totals_by_zone(pieces, parts={"x": "no_such"})


def test_inside_outside_counts_overlaps_once():
    zones = _geo(
        _gk(
            [box(X0, Y0, X0 + 100, Y0 + 100), box(X0 + 50, Y0, X0 + 150, Y0 + 100)],
            zone_id=["A", "B"],
        )
    )
    parcels = _geo(
        _gk(
            [box(X0 + 25, Y0 + 25, X0 + 175, Y0 + 75), box(X0 + 300, Y0, X0 + 310, Y0 + 10)],
            parcel_id=["X", "Y"],
        )
    )
    res = inside_outside(parcels, zones, zones_layer="basic_farmland").set_index("parcel_id")
    # X: 150 m x 50 m, covered from x=25 to x=150 -> 125/150 inside
    assert res.loc["X", "inside_share"] == pytest.approx(125 / 150, rel=1e-4)
    assert res.loc["X", "inside_m2"] + res.loc["X", "outside_m2"] == pytest.approx(
        res.loc["X", "area_m2"]
    )
    assert res.loc["Y", "inside_m2"] == 0.0 and res.loc["Y", "outside_mu"] == pytest.approx(
        m2_to_mu(res.loc["Y", "area_m2"])
    )


def test_crs_mismatch_and_missing(layout):
    parcels, zones = layout
    a = area_by_zone(parcels, zones)
    b = area_by_zone(parcels, zones.to_crs(GK))
    np.testing.assert_allclose(a["area_m2"], b["area_m2"], rtol=1e-7)
    with pytest.raises(CRSError):
        area_by_zone(parcels.set_crs(None, allow_override=True), zones)
    with pytest.raises(FieldError, match="nope"):
        area_by_zone(parcels, zones, parcel_columns=["nope"])


def test_null_geometry_and_touching_only():
    zones = _geo(_gk([box(X0, Y0, X0 + 100, Y0 + 100)], zone_id=["Z"]))
    parcels = _geo(
        _gk(
            [box(X0 + 100, Y0, X0 + 200, Y0 + 100), box(X0, Y0, X0 + 10, Y0 + 10)],
            parcel_id=["T", "I"],
        )
    )
    parcels.loc[len(parcels)] = {"parcel_id": "N", "geometry": None}
    res = area_by_zone(parcels, zones)
    assert list(res["parcel_id"]) == ["I"]  # touching-only T dropped, null N skipped
    assert res["whole"].iloc[0]


def test_id_shorthand_carries_only_the_ids(layout):
    parcels, zones = layout
    res = area_by_zone(parcels, zones, zone_id="zone_id", parcel_id="parcel_id")
    assert [
        c
        for c in res.columns
        if c not in {"parcel_row", "zone_row", "area_m2", "parcel_area_m2", "share", "whole"}
    ] == [
        "parcel_id",
        "zone_id",
    ]


def test_subdivide_tiles_a_big_polygon_exactly():
    # a river corridor: a 2,000-vertex meander buffered by 30 m, with a hole (an island)
    t = np.linspace(0, 40 * np.pi, 2000)
    line = shapely.linestrings(t * 100.0, 400.0 * np.sin(t / 3.0))
    corridor = shapely.difference(
        shapely.buffer(line, 30.0), shapely.Point(100.0 * 3 * np.pi / 2, -400.0).buffer(10.0)
    )
    pieces = subdivide(np.array([corridor, None, shapely.Polygon()]), max_vertices=64)
    assert len(pieces) > 20
    assert (shapely.get_num_coordinates(pieces) <= 64).all()
    assert (shapely.get_type_id(pieces) == 3).all()
    assert shapely.area(pieces).sum() == pytest.approx(corridor.area, rel=1e-9)
    assert shapely.union_all(pieces).symmetric_difference(corridor).area < 1e-6 * corridor.area
    # the pieces do not overlap: the union's area is their sum
    assert shapely.union_all(pieces).area == pytest.approx(shapely.area(pieces).sum(), rel=1e-9)
    small = box(0, 0, 1, 1)
    assert subdivide(np.array([small]))[0].equals(small)  # small polygons pass through


def test_inside_outside_does_not_depend_on_the_subdivision(monkeypatch):
    from gis_town import settings

    t = np.linspace(0, 6 * np.pi, 600)
    river = shapely.linestrings(X0 + t * 60.0, Y0 + 300.0 * np.sin(t))
    zones = gpd.GeoDataFrame(geometry=[shapely.buffer(river, 30.0)], crs=GK)
    parcels = gpd.GeoDataFrame(
        geometry=[box(X0 + x, Y0 + y, X0 + x + 40, Y0 + y + 40) for x in range(0, 1100, 50)
                  for y in range(-350, 350, 50)],
        crs=GK,
    ).to_crs(4490)
    monkeypatch.setattr(settings, "SUBDIVIDE_MAX_VERTICES", 10**9)
    whole = inside_outside(parcels, zones)
    monkeypatch.setattr(settings, "SUBDIVIDE_MAX_VERTICES", 16)
    cut = inside_outside(parcels, zones)
    assert (whole["inside_m2"] > 0).sum() > 20 and (whole["inside_share"] == 1).sum() > 0
    # the same areas up to the ellipsoidal area's own precision (1e-6: pieces are measured in
    # a differently centred equal-area projection, where lon/lat edges bend differently)
    pd.testing.assert_frame_equal(whole, cut, rtol=1e-6, atol=1e-3)
