"""Survey-grade areas and Gauss-Kruger zones, against independent numbers."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pyproj
import pytest
from shapely.geometry import Polygon, box

from gis_town import geodesy, settings
from gis_town.errors import CRSError

GEOD = pyproj.Geod(a=6378137.0, rf=298.257222101)


def _parcels_far_from_cm() -> gpd.GeoDataFrame:
    """Parcels built in EPSG:4544 about 100 km east of CM 105E (x ~ 600 km), stored in EPSG:4490."""
    rng = np.random.default_rng(0)
    geoms = []
    for _ in range(40):
        x0 = 600_000 + rng.uniform(-3000, 3000)
        y0 = 3_950_000 + rng.uniform(-3000, 3000)
        w, h = rng.uniform(20, 200, 2)
        # an irregular quadrilateral, a few mu to a few dozen
        geoms.append(Polygon([(x0, y0), (x0 + w, y0 + 5), (x0 + w - 7, y0 + h), (x0 - 3, y0 + h * 0.9)]))
    gk = gpd.GeoDataFrame({"parcel_id": [f"P{k}" for k in range(40)]}, geometry=geoms, crs="EPSG:4544")
    return gk


def _geod_area(gdf_4490: gpd.GeoDataFrame) -> np.ndarray:
    return np.array([abs(GEOD.geometry_area_perimeter(g)[0]) for g in gdf_4490.geometry])


def test_area_matches_geodesic_far_from_central_meridian():
    gk = _parcels_far_from_cm()
    stored = gk.to_crs("EPSG:4490")
    ref = _geod_area(stored)
    got = geodesy.area_m2(stored)
    np.testing.assert_allclose(got, ref, rtol=1e-6)
    # planar Gauss-Kruger area is off by ~1.2e-4 (scale factor^2) at 100 km and must fail this test
    planar = stored.to_crs("EPSG:4544").area.to_numpy()
    assert np.max(np.abs(planar / ref - 1)) > 1e-4


@pytest.mark.parametrize("crs", ["EPSG:4490", "EPSG:4326", "EPSG:4544", "EPSG:4523", "EPSG:4507"])
def test_area_independent_of_input_crs(crs):
    gk = _parcels_far_from_cm()
    ref = _geod_area(gk.to_crs("EPSG:4490"))
    np.testing.assert_allclose(geodesy.area_m2(gk.to_crs(crs)), ref, rtol=1e-6)


def test_area_of_large_polygon_close_to_geodesic():
    # a 0.2 x 0.2 degree cell (about 18 x 22 km)
    g = gpd.GeoDataFrame(geometry=[box(104.5, 35.5, 104.7, 35.7).segmentize(0.01)], crs="EPSG:4490")
    np.testing.assert_allclose(geodesy.area_m2(g), _geod_area(g), rtol=1e-6)


def test_mu_and_ha_conversions():
    assert geodesy.m2_to_mu(10000 / 15) == pytest.approx(1.0)
    assert geodesy.m2_to_ha(10000) == pytest.approx(1.0)
    assert geodesy.mu_to_m2(15) == pytest.approx(10000)
    assert settings.M2_PER_MU * settings.MU_PER_M2 == pytest.approx(1.0)


def test_null_geometry_gives_nan_area():
    g = gpd.GeoDataFrame(geometry=[box(104.6, 35.6, 104.601, 35.601), None], crs="EPSG:4490")
    a = geodesy.area_m2(g)
    assert a[0] > 0 and np.isnan(a[1])


@pytest.mark.parametrize(
    ("lon", "epsg", "epsg_prefixed"),
    [(104.6, 4544, 4523), (105.0, 4544, 4523), (103.4, 4543, 4522), (116.4, 4548, 4527), (87.6, 4538, 4517)],
)
def test_gk_zone_choice(lon, epsg, epsg_prefixed):
    assert geodesy.gk_crs(lon).to_epsg() == epsg
    assert geodesy.gk_crs(lon, zone_prefix=True).to_epsg() == epsg_prefixed
    cm = pyproj.CRS.from_epsg(epsg).to_dict().get("lon_0")
    assert abs(cm - lon) <= 1.5


def test_gk_outside_china_is_an_error():
    with pytest.raises(CRSError):
        geodesy.gk_crs(10.0)


def test_length_in_gk_metres():
    # a north-south line of 0.01 degree latitude at 35.6N: geodesic length from pyproj.Geod
    line = gpd.GeoDataFrame(geometry=gpd.GeoSeries.from_wkt(["LINESTRING (104.6 35.6, 104.6 35.61)"]), crs="EPSG:4490")
    ref = GEOD.line_length([104.6, 104.6], [35.6, 35.61])
    assert geodesy.length_m(line)[0] == pytest.approx(ref, rel=2e-4)


def test_missing_crs_is_a_clear_error():
    g = gpd.GeoDataFrame(geometry=[box(0, 0, 1, 1)])
    with pytest.raises(CRSError, match="no CRS"):
        geodesy.area_m2(g)
