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
