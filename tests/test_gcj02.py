"""WGS84 -> GCJ-02 against published test vectors; overlays shifted when the Gaode basemap is chosen."""

from __future__ import annotations

import json
import re

import geopandas as gpd
import numpy as np
import pyproj
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from gis_town.maps.gcj02 import (
    gcj02_to_wgs84,
    out_of_china,
    shift_geometries_to_gcj02,
    wgs84_to_gcj02,
)

GEOD = pyproj.Geod(ellps="WGS84")


def dist_m(lon1, lat1, lon2, lat2) -> float:
    return float(GEOD.inv(lon1, lat1, lon2, lat2)[2])


# (wgs lon, wgs lat) -> (gcj lon, gcj lat)
PUBLISHED = [
    # wandergis/coordtransform README (the vector named in the issue)
    ((116.404, 39.915), (116.41024449916938, 39.91640428150164)),
    # googollee/eviltransform test suite: Shanghai, Shenzhen, Beijing
    ((121.5272106, 31.1774276), (121.531541859215, 31.17530398364597)),
    ((113.912316, 22.543847), (113.9171764808363, 22.540796131694766)),
    ((116.377817, 39.911954), (116.38404722455657, 39.91334545536069)),
]


@pytest.mark.parametrize(("wgs", "gcj"), PUBLISHED)
def test_published_vectors_within_1m(wgs, gcj):
    lon, lat = wgs84_to_gcj02(*wgs)
    assert dist_m(float(lon), float(lat), *gcj) < 1.0
    # and in fact to the last digits of the published double
    assert abs(float(lon) - gcj[0]) < 1e-9 and abs(float(lat) - gcj[1]) < 1e-9


def test_vectorised_equals_scalar():
    wgs = np.array([w for w, _ in PUBLISHED])
    lon, lat = wgs84_to_gcj02(wgs[:, 0], wgs[:, 1])
    expected = np.array([g for _, g in PUBLISHED])
    np.testing.assert_allclose(np.column_stack([lon, lat]), expected, atol=1e-9)


@pytest.mark.parametrize(
    "lonlat",
    [
        (-104.9903, 39.7392),
        (-0.1246, 51.5007),
        (139.6917, 35.6895),
        (2.35, 48.85),
        (0.0, 0.0),
        (151.2, -33.9),
    ],
)
def test_outside_china_not_shifted(lonlat):
    assert bool(out_of_china(*lonlat))
    lon, lat = wgs84_to_gcj02(*lonlat)
    assert float(lon) == lonlat[0] and float(lat) == lonlat[1]


def test_offset_size_inside_china():
    # the GCJ-02 offset is a few hundred metres everywhere in mainland China
    lons, lats = np.meshgrid(np.arange(75.0, 134.0, 4.0), np.arange(20.0, 52.0, 4.0))
    lon, lat = wgs84_to_gcj02(lons.ravel(), lats.ravel())
    d = np.array([dist_m(a, b, c, e) for a, b, c, e in zip(lons.ravel(), lats.ravel(), lon, lat)])
    assert d.min() > 20 and d.max() < 1000
    # the demo town near 104.6E 35.6N moves east by about 240 m
    x, y = wgs84_to_gcj02(104.6, 35.6)
    assert 150 < dist_m(104.6, 35.6, float(x), float(y)) < 400


@settings(deadline=None, derandomize=True, max_examples=200)
@given(st.floats(73.0, 135.0), st.floats(18.0, 53.0))
def test_inverse_round_trip(lon, lat):
    glon, glat = wgs84_to_gcj02(lon, lat)
    wlon, wlat = gcj02_to_wgs84(glon, glat)
    assert dist_m(lon, lat, float(wlon), float(wlat)) < 0.01


def test_shift_geometries_moves_every_vertex():
    poly = shapely.Polygon([(104.60, 35.60), (104.61, 35.60), (104.61, 35.61), (104.60, 35.60)])
    line = shapely.LineString([(104.6, 35.6), (104.7, 35.7)])
    gdf = gpd.GeoDataFrame({"a": [1, 2]}, geometry=[poly, line], crs="EPSG:4490")
    out = shift_geometries_to_gcj02(gdf)
    assert out.crs == gdf.crs and list(out["a"]) == [1, 2]
    for g_in, g_out in zip(gdf.geometry, out.geometry):
        a = shapely.get_coordinates(g_in)
        b = shapely.get_coordinates(g_out)
        ex, ey = wgs84_to_gcj02(a[:, 0], a[:, 1])
        np.testing.assert_allclose(b, np.column_stack([ex, ey]), atol=1e-12)
    assert gdf.geometry.iloc[0].equals(poly)  # the input is untouched


def _decode_layers(page: str) -> dict[str, dict]:
    """Independent Python decoder of the page's compact layers (mirrors the documented format)."""
    out = {}
    for m in re.finditer(r"GisTown\.build\([a-z_0-9]+, (\{.*?\}), (\{\"id\".*?\})\);", page):
        data = json.loads(m.group(1))
        opts = json.loads(m.group(2))
        out[opts["id"]] = data
    return out


def _vertices(d: dict) -> np.ndarray:
    from tests.test_maps import features

    return np.vstack([np.atleast_2d(part) for feat in features(d) for part in feat])


@pytest.mark.parametrize("basemap", ["gaode", "osm"])
def test_gaode_basemap_shifts_every_overlay_coordinate(basemap):
    from gis_town.maps import LayerSpec, build_map, map_html

    poly = shapely.Polygon(
        [(104.600, 35.600), (104.605, 35.600), (104.605, 35.604), (104.600, 35.604)]
    )
    line = shapely.LineString([(104.60, 35.601), (104.61, 35.602), (104.62, 35.606)])
    pts = [shapely.Point(104.603, 35.602), shapely.Point(104.611, 35.603)]
    specs = [
        LayerSpec(
            "面 polygons",
            gpd.GeoDataFrame({"name": ["甲"]}, geometry=[poly], crs=4490),
            fields=["name"],
            label_field="name",
        ),
        LayerSpec(
            "线 lines",
            gpd.GeoDataFrame({"name": ["乙"]}, geometry=[line], crs=4490),
            fields=["name"],
        ),
        LayerSpec(
            "点 points",
            gpd.GeoDataFrame({"name": ["丙", "丁"]}, geometry=pts, crs=4490),
            fields=["name"],
        ),
    ]
    page = map_html(build_map(specs, title="t", basemap=basemap))
    layers = _decode_layers(page)
    assert set(layers) == {"面 polygons", "线 lines", "点 points"}
    originals = {
        "面 polygons": shapely.get_coordinates(poly)[:-1],  # the closing vertex is not written
        "线 lines": shapely.get_coordinates(line),
        "点 points": shapely.get_coordinates(pts),
    }
    for name, coords in originals.items():
        got = _vertices(layers[name])
        if basemap == "gaode":
            ex, ey = wgs84_to_gcj02(coords[:, 0], coords[:, 1])
            expected = np.column_stack([ex, ey])
            # moved by hundreds of metres, and to the GCJ-02 position within 0.1 m
            assert np.all(np.abs(got - coords).max(axis=1) > 1e-3)
        else:
            expected = coords
        np.testing.assert_allclose(got, expected, atol=0.51e-6)
    # the label position moves too
    from tests.test_maps import label_xy

    lab = label_xy(layers["面 polygons"])[0]
    inside = shapely.Point(lab).within(shapely.Polygon(_vertices(layers["面 polygons"])))
    assert inside
    if basemap == "gaode":
        assert "webrd0{s}.is.autonavi.com" in page and "GCJ-02" in page
    else:
        assert "tile.openstreetmap.org" in page and "autonavi" not in page
