"""Validation: layer-level errors stop; feature-level problems are rejected or repaired, never lost."""

from __future__ import annotations

import geopandas as gpd
import pytest
from shapely.geometry import LineString, Point, Polygon, box

from gis_town.errors import CRSError, FieldError, LayerError
from gis_town.io.validate import validate_layer

BOWTIE = Polygon([(104.60, 35.60), (104.61, 35.61), (104.61, 35.60), (104.60, 35.61)])


def farmland(**over):
    data = {
        "parcel_id": ["P1", "P2", "P3", "P4"],
        "village_id": ["V1"] * 4,
        "status": ["耕种", "撂荒", "fallow", "cultivated"],
        "declared_area_mu": ["1.5", 2.0, None, "3"],
    }
    data.update(over.pop("data", {}))
    geoms = over.pop("geometry", [box(104.6 + i * 0.01, 35.6, 104.605 + i * 0.01, 35.605) for i in range(4)])
    return gpd.GeoDataFrame(data, geometry=geoms, crs=over.pop("crs", "EPSG:4490"))


def test_clean_layer_normalises_codes_and_types():
    used, problems = validate_layer(farmland(), "farmland")
    assert len(used) == 4 and len(problems) == 0
    assert list(used["status"]) == ["cultivated", "abandoned", "fallow", "cultivated"]
    assert used["declared_area_mu"].iloc[0] == pytest.approx(1.5)


def test_feature_problems_are_rejected_with_reasons():
    gdf = farmland(
        data={"parcel_id": ["P1", "P1", "P3", "P4"], "status": ["耕种", "耕种", "荒了", "耕种"], "declared_area_mu": [1, 2, 3, "abc"]},
    )
    used, problems = validate_layer(gdf, "farmland")
    assert list(used["parcel_id"]) == ["P1"]
    rej = problems[problems.action == "rejected"].set_index("row")
    assert "duplicate id" in rej.loc[1, "reason"]
    assert rej.loc[2, "field"] == "status" and "荒了" in rej.loc[2, "reason"]
    assert rej.loc[3, "field"] == "declared_area_mu"
    assert len(used) + len(rej) == len(gdf)


def test_invalid_geometry_is_repaired_with_geos_reason():
    geoms = [BOWTIE, box(104.62, 35.6, 104.63, 35.61), None, Polygon()]
    used, problems = validate_layer(farmland(geometry=geoms), "farmland")
    assert list(used["parcel_id"]) == ["P1", "P2"]
    assert used.geometry.is_valid.all()
    rep = problems[problems.action == "repaired"]
    assert len(rep) == 1 and "Self-intersection" in rep["reason"].iloc[0]
    assert (problems.action == "rejected").sum() == 2


def test_wrong_geometry_type_is_rejected():
    geoms = [box(104.6, 35.6, 104.61, 35.61), Point(104.6, 35.6), LineString([(104.6, 35.6), (104.7, 35.7)]), box(104.7, 35.6, 104.71, 35.61)]
    used, problems = validate_layer(farmland(geometry=geoms), "farmland")
    assert len(used) == 2 and set(problems["row"]) == {1, 2}


def test_zero_length_river_segment_rejected():
    rivers = gpd.GeoDataFrame(
        {"segment_id": ["S1", "S2"], "river_name": ["关川河"] * 2, "chief": ["张三", "李四"], "chief_level": ["镇级", "村级"]},
        geometry=[LineString([(104.6, 35.6), (104.6, 35.6)]), LineString([(104.6, 35.6), (104.61, 35.6)])],
        crs="EPSG:4490",
    )
    used, problems = validate_layer(rivers, "rivers")
    assert list(used["segment_id"]) == ["S2"]
    assert "zero-length" in problems["reason"].iloc[0]
    assert list(used["chief_level"]) == ["village"]


def test_missing_fields_reported_all_at_once():
    gdf = farmland().drop(columns=["village_id", "status"])
    with pytest.raises(FieldError) as err:
        validate_layer(gdf, "farmland", path="x.gpkg")
    assert "village_id" in str(err.value) and "status" in str(err.value) and "x.gpkg" in str(err.value)


def test_empty_layer_and_missing_crs():
    with pytest.raises(LayerError, match="no features"):
        validate_layer(farmland().iloc[:0], "farmland")
    with pytest.raises(CRSError, match="no CRS"):
        validate_layer(farmland().set_crs(None, allow_override=True), "farmland")


def test_swapped_lat_lon_detected():
    gdf = farmland()
    swapped = gdf.set_geometry(gdf.geometry.map(lambda g: Polygon([(y, x) for x, y in g.exterior.coords])))
    with pytest.raises(CRSError, match="swapped"):
        validate_layer(swapped, "farmland")


def test_metres_labelled_as_degrees_detected():
    gdf = farmland().to_crs("EPSG:4544").set_crs("EPSG:4490", allow_override=True)
    with pytest.raises(CRSError, match="look like metres"):
        validate_layer(gdf, "farmland")


def test_degrees_labelled_as_metres_detected():
    gdf = farmland().set_crs("EPSG:4544", allow_override=True)
    with pytest.raises(CRSError, match="look like degrees"):
        validate_layer(gdf, "farmland")


def test_huge_coordinates_rejected():
    gdf = farmland(geometry=[box(1e300, 1e300, 2e300, 2e300)] * 4, crs="EPSG:4544")
    with pytest.raises(CRSError, match="absurdly large"):
        validate_layer(gdf, "farmland")


def _geos_polygon_cases(realdata):
    import xml.etree.ElementTree as ET

    from shapely import wkt

    cases = []
    for name in ("TestValid.xml", "TestValid2.xml", "TestIsValid.xml"):
        for case in ET.parse(realdata / "geos-xmltester" / name).getroot().iter("case"):
            a, op = case.find("a"), case.find("test/op")
            if a is None or op is None or op.get("name") != "isValid":
                continue
            text = a.text.strip()
            if not text.upper().startswith(("POLYGON", "MULTIPOLYGON")):
                continue
            try:
                g = wkt.loads(text)
            except Exception:  # a few cases are deliberately unparseable
                continue
            cases.append((g, op.text.strip().lower() == "true"))
    return cases


def test_every_geos_validity_case_is_caught(realdata):
    """Each invalid polygon of the GEOS validity suite is repaired or rejected; nothing is lost."""
    import shapely

    cases = _geos_polygon_cases(realdata)
    n = len(cases)
    assert n > 100 and sum(not ok for _, ok in cases) > 40
    # the cases are planar, at arbitrary coordinates: normalise each into a small box near the town
    placed = []
    for g, _ in cases:
        if g.is_empty:
            placed.append(g)
            continue
        minx, miny, maxx, maxy = g.bounds
        size = max(maxx - minx, maxy - miny) or 1.0
        g2 = shapely.affinity.translate(g, -minx, -miny)
        placed.append(shapely.affinity.translate(shapely.affinity.scale(g2, 1e-3 / size, 1e-3 / size, origin=(0, 0)), 104.6, 35.6))
    expected_valid = [ok for _, ok in cases]
    gdf = gpd.GeoDataFrame(
        {"parcel_id": [f"G{i}" for i in range(n)], "village_id": ["V1"] * n, "status": ["耕种"] * n},
        geometry=placed, crs="EPSG:4490",
    )
    used, problems = validate_layer(gdf, "farmland")
    assert used.geometry.is_valid.all()
    assert len(used) + int((problems.action == "rejected").sum()) == n
    flagged = set(problems["row"])
    for i, ok in enumerate(expected_valid):
        if not ok and not placed[i].is_empty:
            assert i in flagged, f"case {i} expected invalid but not flagged"


# ---- the geometry clean-up (gis_town.io.geometry) ---------------------------------------------------

import numpy as np  # noqa: E402
import shapely  # noqa: E402
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from gis_town.io.geometry import conform_to_layer, sanitize_geometries  # noqa: E402
from tests.fuzz.sources import degenerate_line, degenerate_polygon  # noqa: E402

SQ = "104.60 35.60, 104.601 35.60, 104.601 35.601, 104.60 35.601, 104.60 35.60"
SQ_AREA = 0.001 * 0.001  # square degrees


def _wkt(texts):
    return [shapely.from_wkt(t) for t in texts]


def _by_id(problems):
    return problems.set_index("feature_id")


def test_structural_oddities_repaired_or_rejected_with_reasons():
    geoms = _wkt([
        f"POLYGON (({SQ}), EMPTY)",                                             # P1 empty interior ring
        f"MULTIPOLYGON ((({SQ})), EMPTY)",                                      # P2 empty part
        "POLYGON ((104.6 35.6, 104.601 35.6, 104.601 35.6, 104.601 35.6, 104.601 35.601, 104.6 35.6))",  # P3 repeated
        "POLYGON ((104.6 35.6, NaN 35.6, 104.601 35.601, 104.6 35.6))",          # P4 NaN
    ])
    used, problems = validate_layer(farmland(geometry=geoms), "farmland")
    p = _by_id(problems)
    assert p.loc["P1", "action"] == "repaired" and "empty interior ring" in p.loc["P1", "reason"]
    assert p.loc["P2", "action"] == "repaired" and "empty part" in p.loc["P2", "reason"]
    assert p.loc["P3", "action"] == "repaired" and "2 repeated point" in p.loc["P3", "reason"]
    assert p.loc["P4", "action"] == "rejected" and "NaN" in p.loc["P4", "reason"]
    assert list(used["parcel_id"]) == ["P1", "P2", "P3"]
    g = used.set_index("parcel_id").geometry
    assert shapely.get_num_interior_rings(g["P1"]) == 0 and g["P1"].area == pytest.approx(SQ_AREA)
    assert g["P2"].geom_type == "MultiPolygon" and len(g["P2"].geoms) == 1
    assert shapely.get_num_coordinates(g["P3"]) == 4  # 6 as given, 2 repeated
    assert len(problems) == 4  # one row per feature


def test_infinite_coordinate_costs_one_feature_not_the_layer():
    geoms = [box(104.6 + i * 0.01, 35.6, 104.605 + i * 0.01, 35.605) for i in range(3)]
    geoms.append(shapely.from_wkt("POLYGON ((104.6 35.6, inf 35.6, 104.601 35.601, 104.6 35.6))"))
    used, problems = validate_layer(farmland(geometry=geoms), "farmland")
    assert len(used) == 3 and problems["feature_id"].tolist() == ["P4"]


def test_geometry_collection_split_by_layer_type():
    geoms = _wkt([
        f"GEOMETRYCOLLECTION (POLYGON (({SQ})), LINESTRING (104.6 35.6, 104.7 35.7), POINT (104.6 35.6))",
        "GEOMETRYCOLLECTION (POINT (104.6 35.6), LINESTRING (104.6 35.6, 104.7 35.7))",
        f"GEOMETRYCOLLECTION (GEOMETRYCOLLECTION (POLYGON (({SQ}))), POLYGON EMPTY)",
        f"POLYGON (({SQ}))",
    ])
    used, problems = validate_layer(farmland(geometry=geoms), "farmland")
    p = _by_id(problems)
    assert p.loc["P1", "action"] == "repaired"
    assert "kept 1 Polygon" in p.loc["P1", "reason"] and "dropped 2 (LineString, Point)" in p.loc["P1", "reason"]
    assert p.loc["P2", "action"] == "rejected" and "no Polygon" in p.loc["P2", "reason"]
    assert p.loc["P3", "action"] == "repaired"
    g = used.set_index("parcel_id").geometry
    assert g["P1"].geom_type == "Polygon" and g["P1"].area == pytest.approx(SQ_AREA)
    assert g["P3"].geom_type == "Polygon" and g["P3"].area == pytest.approx(SQ_AREA)


def test_collection_of_lines_kept_in_a_line_layer():
    gdf = gpd.GeoDataFrame(
        {"segment_id": ["R1"], "river_name": ["关川河"], "chief": ["张"], "chief_level": ["town"]},
        geometry=_wkt(["GEOMETRYCOLLECTION (LINESTRING (104.6 35.6, 104.7 35.6), POINT (104.6 35.6), "
                       "LINESTRING (104.7 35.6, 104.7 35.7))"]), crs="EPSG:4490")
    used, problems = validate_layer(gdf, "rivers")
    assert used.geometry.iloc[0].geom_type == "MultiLineString"
    assert used.geometry.iloc[0].length == pytest.approx(0.2)
    assert problems["action"].tolist() == ["repaired"]


def test_short_interior_ring_rejected():
    geoms = [box(104.6 + i * 0.01, 35.6, 104.605 + i * 0.01, 35.605) for i in range(3)]
    geoms.append(shapely.from_wkt(f"POLYGON (({SQ}), (104.6002 35.6002, 104.6005 35.6005, 104.6002 35.6002))"))
    used, problems = validate_layer(farmland(geometry=geoms), "farmland")
    assert problems["feature_id"].tolist() == ["P4"] and problems["action"].tolist() == ["rejected"]
    assert "fewer than 4" in problems["reason"].iloc[0]


def test_repair_and_read_fix_make_one_row():
    bow = shapely.from_wkt("POLYGON ((104.6 35.6, 104.61 35.61, 104.61 35.61, 104.61 35.6, 104.6 35.61, 104.6 35.6))")
    used, problems = validate_layer(farmland(geometry=[bow] + [box(104.7, 35.6, 104.71, 35.61)] * 3,
                                             data={"parcel_id": ["P1", "P2", "P3", "P4"]}), "farmland")
    rows = problems[problems["feature_id"] == "P1"]
    assert len(rows) == 1 and rows["action"].iloc[0] == "repaired"
    assert "repeated point" in rows["reason"].iloc[0] and "Self-intersection" in rows["reason"].iloc[0]
    assert used.geometry.iloc[0].area == pytest.approx(2 * 0.25 * 0.01 * 0.01)  # two triangles of the bow-tie


def test_clean_layer_keeps_its_geometry_array():
    gdf = farmland()
    used, problems = validate_layer(gdf, "farmland")
    assert len(problems) == 0
    assert all(a is b for a, b in zip(used.geometry.values, gdf.geometry.values))


@settings(max_examples=150, derandomize=True, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(texts=st.lists(st.one_of(degenerate_polygon(), degenerate_line()), min_size=1, max_size=6))
def test_cleaned_geometries_are_safe_for_geos(texts):
    """Whatever comes in, what comes out is None or a valid, non-empty, 2-D geometry of the layer's
    type, without empty rings or parts, repeated points or rings under 4 points."""
    geoms = np.array([shapely.from_wkt(t) for t in texts], dtype=object)
    for allowed in (("Polygon", "MultiPolygon"), ("LineString", "MultiLineString")):
        arr, notes = sanitize_geometries(geoms)
        arr = conform_to_layer(arr, allowed, notes)
        for g, action in zip(arr, notes.action):
            if g is None:
                assert action == "rejected"
                continue
            assert g.geom_type in allowed and g.is_valid and not g.is_empty and not shapely.has_z(g)
            xy = shapely.get_coordinates(g)
            assert np.isfinite(xy).all()
            for part in shapely.get_parts(g):
                assert not part.is_empty
                rings = [part.exterior, *part.interiors] if part.geom_type == "Polygon" else [part]
                for r in rings:
                    c = shapely.get_coordinates(r)
                    assert len(c) >= (4 if part.geom_type == "Polygon" else 2)
                    assert (np.diff(c, axis=0) != 0).any(axis=1).all(), "repeated point left"
