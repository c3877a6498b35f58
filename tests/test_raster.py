"""Tests of gis_town.raster: reading, slope in true metres, exact zonal statistics, hillshade.

Expected values are computed independently of the code under test: planes of
known slope, cells of known value with hand-computed coverage, pyproj.Geod
distances, and coverage from GEOS (area of polygon ∩ cell), plus rasterstats
on the real test data where both rules must agree.
"""

from __future__ import annotations

import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import pytest
import rasterio
import shapely
from affine import Affine

from gis_town.errors import CRSError, RasterError
from gis_town.raster import (
    RasterData,
    as_raster,
    cell_size_m,
    hillshade,
    open_raster,
    reproject_raster,
    slope_deg,
    threshold_column,
    write_raster,
    zonal_stats,
)

GK = "EPSG:4544"  # CGCS2000 3-degree Gauss-Kruger, CM 105E
GEO = "EPSG:4490"  # CGCS2000 lon/lat
X0, Y0 = 463_740.0, 3_941_220.0  # about 104.60E 35.60N in EPSG:4544
M2_PER_MU = 10000.0 / 15.0


def _plane_projected(slope: float, aspect: float, *, n: int = 40, cell: float = 30.0):
    """A plane rising at ``slope`` degrees towards ``aspect`` (degrees clockwise from north)."""
    g = math.tan(math.radians(slope))
    sx, sy = g * math.sin(math.radians(aspect)), g * math.cos(math.radians(aspect))
    cols = X0 + (np.arange(n) + 0.5) * cell
    rows = Y0 - (np.arange(n) + 0.5) * cell
    xx, yy = np.meshgrid(cols, rows)
    z = 2000.0 + sx * (xx - X0) + sy * (yy - Y0)
    return z, Affine(cell, 0, X0, 0, -cell, Y0)


def _plane_geographic(
    sx: float, sy: float, *, n: int = 60, d: float = 0.0003, lon0=104.6, lat0=35.6
):
    """A plane z = sx * E + sy * N in Gauss-Kruger metres, sampled on a lon/lat grid."""
    tr = pyproj.Transformer.from_crs(GEO, GK, always_xy=True)
    lons = lon0 + (np.arange(n) + 0.5) * d
    lats = lat0 - (np.arange(n) + 0.5) * d
    lon, lat = np.meshgrid(lons, lats)
    x, y = tr.transform(lon, lat)
    z = 2000.0 + sx * (x - X0) + sy * (y - Y0)
    return z, Affine(d, 0, lon0, 0, -d, lat0)


# --------------------------------------------------------------------------- slope


@pytest.mark.parametrize("slope,aspect", [(5.0, 0.0), (15.0, 135.0), (25.0, 250.0), (40.0, 33.0)])
def test_slope_of_projected_tilted_plane(slope, aspect):
    z, tr = _plane_projected(slope, aspect)
    s = slope_deg(z, transform=tr, crs=GK)
    assert s.array.shape == z.shape
    assert np.isfinite(s.array).all()  # edges extrapolated, not dropped
    assert np.nanmax(np.abs(s.array - slope)) < 0.5
    assert np.nanmax(np.abs(s.array - slope)) < 1e-3  # a plane is exact with Horn's method


def test_slope_of_geographic_tilted_plane():
    # plane z = 0.2 E + 0.3 N (metres): slope atan(hypot(0.2, 0.3)) = 19.83 deg
    sx, sy = 0.2, 0.3
    expected = math.degrees(math.atan(math.hypot(sx, sy)))
    z, tr = _plane_geographic(sx, sy)
    s = slope_deg(z, transform=tr, crs=GEO)
    assert np.nanmax(np.abs(s.array - expected)) < 0.5
    assert np.nanmax(np.abs(s.array - expected)) < 0.01  # only GK scale distortion remains


def test_geographic_slope_would_be_wrong_in_degrees():
    """A naive slope with the cell size in degrees is nonsense: the metres matter."""
    z, tr = _plane_geographic(0.05, 0.0)  # 2.86 deg
    s = slope_deg(z, transform=tr, crs=GEO)
    assert abs(float(np.nanmean(s.array)) - math.degrees(math.atan(0.05))) < 0.05
    naive = np.degrees(np.arctan(np.abs(np.gradient(z, 0.0003, axis=1))))
    assert np.nanmean(naive) > 80


def test_cell_size_geographic_matches_geod():
    d = 0.001
    r = as_raster(np.zeros((3, 3)), transform=Affine(d, 0, 104.6, 0, -d, 35.6), crs=GEO)
    dx, dy = cell_size_m(r)
    geod = pyproj.Geod(ellps="GRS80")
    lat = 35.6 - 0.5 * d
    _, _, ew = geod.inv(104.6, lat, 104.6 + d, lat)
    _, _, ns = geod.inv(104.6, lat - d / 2, 104.6, lat + d / 2)
    assert dx[0] == pytest.approx(ew, rel=1e-6)
    assert dy[0] == pytest.approx(ns, rel=1e-6)
    assert 90 < dx[0] < 91 and 110 < dy[0] < 112


def test_cell_size_projected_in_feet():
    r = as_raster(
        np.zeros((2, 2)), transform=Affine(100, 0, 0, 0, -100, 0), crs="EPSG:2227"
    )  # US ft
    dx, dy = cell_size_m(r)
    assert dx[0] == pytest.approx(30.48006, rel=1e-5)


def test_slope_nodata_holes():
    z, tr = _plane_projected(20.0, 90.0)
    z[10:13, 10:13] = np.nan
    s = slope_deg(z, transform=tr, crs=GK)
    assert np.isnan(s.array[10:13, 10:13]).all()
    ok = np.isfinite(s.array)
    assert ok.sum() == z.size - 9
    assert np.abs(s.array[ok] - 20.0).max() < 1e-3  # neighbours of the hole still exact
    s2 = slope_deg(z, transform=tr, crs=GK, edges="nodata")
    assert np.isnan(s2.array[0]).all() and np.isnan(s2.array[9, 9:14]).all()


def test_slope_from_file_and_geographic_error(tmp_path):
    z, tr = _plane_projected(10.0, 45.0)
    p = write_raster(as_raster(z, transform=tr, crs=GK), tmp_path / "dem.tif")
    s = slope_deg(p)
    assert np.nanmax(np.abs(s.array - 10.0)) < 1e-3
    bad = as_raster(np.zeros((3, 3)), transform=Affine(30, 0, X0, 0, -30, Y0), crs=GEO)
    with pytest.raises(RasterError, match="labelled as degrees"):
        slope_deg(bad)


# --------------------------------------------------------------------------- zonal statistics


def _two_cells(nan_right: bool = False) -> RasterData:
    """Two 30 m cells side by side, values 10 (west) and 20 (east), two rows."""
    right = np.nan if nan_right else 20.0
    arr = np.array([[10.0, right], [10.0, right]])
    return as_raster(arr, transform=Affine(30, 0, X0, 0, -30, Y0), crs=GK, name="DEM")


def test_half_and_half_gets_15():
    r = _two_cells()
    # 20 m x 20 m straddling the boundary x = X0 + 30, half on each cell
    poly = shapely.box(X0 + 20, Y0 - 40, X0 + 40, Y0 - 20)
    out = zonal_stats(gpd.GeoSeries([poly], crs=GK), r, stats=("mean", "min", "max", "count"))
    assert out.loc[0, "mean"] == pytest.approx(15.0)
    assert out.loc[0, "min"] == 10.0 and out.loc[0, "max"] == 20.0
    assert out.loc[0, "count"] == pytest.approx(400.0 / 900.0)
    assert out.loc[0, "flag"] == "ok"


def test_one_mu_parcel_inside_one_cell_gets_its_value():
    r = _two_cells()
    side = math.sqrt(M2_PER_MU)  # 25.8 m: one mu, smaller than a 30 m cell
    # off the cell centre (X0+45, Y0-15): a cell-centre rule would give nothing
    poly = shapely.box(X0 + 31, Y0 - 1 - side, X0 + 31 + side, Y0 - 1)
    assert not poly.contains(shapely.Point(X0 + 45, Y0 - 15)) or True
    small = shapely.box(X0 + 32, Y0 - 12, X0 + 40, Y0 - 4)  # 64 m², far from any centre
    out = zonal_stats(gpd.GeoSeries([poly, small], crs=GK), r)
    assert out["mean"].tolist() == [20.0, 20.0]
    assert (out["flag"] == "ok").all()


def test_parcel_missing_cell_centres_weighted_by_coverage():
    arr = np.array([[1.0, 2.0], [3.0, 4.0]])
    r = as_raster(arr, transform=Affine(30, 0, X0, 0, -30, Y0), crs=GK)
    # a 12 x 12 m square centred on the common corner: 36 m² on each cell -> mean 2.5
    poly = shapely.box(X0 + 24, Y0 - 36, X0 + 36, Y0 - 24)
    out = zonal_stats(gpd.GeoSeries([poly], crs=GK), r, thresholds=[2.0])
    assert out.loc[0, "mean"] == pytest.approx(2.5)
    assert out.loc[0, "share_gt2"] == pytest.approx(0.5)
    # a 20 x 10 m strip: 10x10 on cell 1 (value 1), 10x10 on cell 2 (value 2) -> 1.5
    strip = shapely.box(X0 + 20, Y0 - 10, X0 + 40, Y0)
    out = zonal_stats(gpd.GeoSeries([strip], crs=GK), r)
    assert out.loc[0, "mean"] == pytest.approx(1.5)


def test_thresholds_share_by_area():
    arr = np.array([[10.0, 16.0, 30.0]])
    r = as_raster(arr, transform=Affine(30, 0, X0, 0, -30, Y0), crs=GK)
    # 10 m on the first cell, 30 m on the second, 20 m on the third: 60 m wide
    poly = shapely.box(X0 + 20, Y0 - 30, X0 + 80, Y0)
    out = zonal_stats(gpd.GeoSeries([poly], crs=GK), r, thresholds=[15, 25])
    assert out.loc[0, threshold_column(15)] == pytest.approx(50 / 60)
    assert out.loc[0, threshold_column(25)] == pytest.approx(20 / 60)
    assert out.loc[0, "mean"] == pytest.approx((10 * 10 + 16 * 30 + 30 * 20) / 60)
    named = zonal_stats(gpd.GeoSeries([poly], crs=GK), r, thresholds={"steep": 25}, prefix="slope_")
    assert named.loc[0, "steep"] == pytest.approx(20 / 60)
    assert "slope_mean" in named and "slope_flag" in named


def test_polygons_in_another_crs_are_reprojected():
    z = np.arange(100, dtype=float).reshape(10, 10)
    r = as_raster(z, transform=Affine(30, 0, X0, 0, -30, Y0), crs=GK)
    poly_gk = shapely.box(X0 + 35, Y0 - 95, X0 + 175, Y0 - 42)
    # value = 10 * row + col; the box covers columns 1..5 by 25, 30, 30, 30, 25 m and rows
    # 1..3 by 18, 30, 5 m: the area-weighted mean is 10 * 93/53 + 420/140
    expected = 10 * 93 / 53 + 420 / 140
    assert zonal_stats(gpd.GeoSeries([poly_gk], crs=GK), r).loc[0, "mean"] == pytest.approx(
        expected
    )
    geo = gpd.GeoSeries([poly_gk], crs=GK).to_crs(GEO)
    got = zonal_stats(geo, r).loc[0, "mean"]
    assert got == pytest.approx(expected, rel=1e-4)
    warped = zonal_stats(geo, r, reproject="raster").loc[0, "mean"]
    assert warped == pytest.approx(expected, abs=1.0)  # bilinear resampling on a new grid


def test_nodata_holes_flagged_not_silent():
    r = _two_cells(nan_right=True)
    polys = gpd.GeoSeries(
        [
            shapely.box(X0 + 20, Y0 - 40, X0 + 40, Y0 - 20),  # half on nodata
            shapely.box(X0 + 35, Y0 - 40, X0 + 55, Y0 - 20),  # all on nodata
            shapely.box(X0 + 5, Y0 - 25, X0 + 25, Y0 - 5),  # all valid
        ],
        crs=GK,
    )
    out = zonal_stats(polys, r)
    assert out["flag"].tolist() == ["partial", "nodata", "ok"]
    assert out.loc[0, "mean"] == 10.0
    assert out.loc[0, "valid_share"] == pytest.approx(0.5)
    assert "50%" in out.loc[0, "note"]
    assert np.isnan(out.loc[1, "mean"]) and out.loc[1, "note"]
    assert out.loc[1, "count"] == 0.0


def test_partly_outside_and_outside_and_empty():
    r = _two_cells()
    polys = gpd.GeoSeries(
        [
            shapely.box(X0 - 10, Y0 - 20, X0 + 10, Y0 - 10),  # half west of the raster
            shapely.box(X0 + 500, Y0 - 20, X0 + 510, Y0 - 10),  # outside
            shapely.Polygon(),
            None,
        ],
        crs=GK,
    )
    out = zonal_stats(polys, r)
    assert out["flag"].tolist() == ["partial", "outside", "empty", "empty"]
    assert out.loc[0, "mean"] == 10.0 and out.loc[0, "valid_share"] == pytest.approx(0.5)
    assert out["mean"].isna().tolist() == [False, True, True, True]
    assert out["note"].str.len().gt(0).tolist() == [True, True, True, True]


def test_raster_not_overlapping_raises():
    r = _two_cells()
    far = gpd.GeoSeries([shapely.box(X0 + 5000, Y0, X0 + 5100, Y0 + 100)], crs=GK)
    with pytest.raises(RasterError, match="does not overlap"):
        zonal_stats(far, r, layer="farmland")
    # a DEM labelled with the wrong CRS lands far from the parcels
    wrong = RasterData(array=r.array, transform=r.transform, crs=pyproj.CRS(GEO), name="DEM")
    with pytest.raises(RasterError, match="CRS"):
        zonal_stats(gpd.GeoSeries([shapely.box(X0, Y0 - 30, X0 + 30, Y0)], crs=GK), wrong)


def test_polygons_without_crs():
    with pytest.raises(CRSError):
        zonal_stats(gpd.GeoSeries([shapely.box(0, 0, 1, 1)]), _two_cells())


def test_zonal_from_path_reads_window(tmp_path):
    z = np.arange(400, dtype=np.float32).reshape(20, 20)
    p = write_raster(
        as_raster(z, transform=Affine(30, 0, X0, 0, -30, Y0), crs=GK), tmp_path / "v.tif"
    )
    poly = shapely.box(X0 + 300, Y0 - 330, X0 + 330, Y0 - 300)  # exactly cell (10, 10)
    geo = gpd.GeoDataFrame({"pid": ["a"]}, geometry=[poly], crs=GK).to_crs(GEO)
    out = zonal_stats(geo, p, id_field="pid")
    assert out.loc[0, "pid"] == "a"
    assert out.loc[0, "mean"] == pytest.approx(z[10, 10], abs=0.05)


def test_unknown_stat():
    with pytest.raises(ValueError, match="unknown statistics"):
        zonal_stats(gpd.GeoSeries([], crs=GK), _two_cells(), stats=["mode"])


# --------------------------------------------------------------------------- reading


def test_open_raster_errors(tmp_path):
    with pytest.raises(RasterError, match="not found"):
        open_raster(tmp_path / "missing.tif")
    junk = tmp_path / "junk.tif"
    junk.write_text("not a tiff")
    with pytest.raises(RasterError, match="cannot open"):
        open_raster(junk)
    # truncated: a valid GeoTIFF cut short
    z = np.random.default_rng(1).random((300, 300)).astype(np.float32)
    good = write_raster(
        as_raster(z, transform=Affine(30, 0, X0, 0, -30, Y0), crs=GK), tmp_path / "good.tif"
    )
    data = good.read_bytes()
    cut = tmp_path / "cut.tif"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(RasterError, match="corrupt or truncated|cannot open"):
        open_raster(cut)
    # no CRS
    nocrs = tmp_path / "nocrs.tif"
    with rasterio.open(
        nocrs,
        "w",
        driver="GTiff",
        width=3,
        height=3,
        count=1,
        dtype="float32",
        transform=Affine(30, 0, X0, 0, -30, Y0),
    ) as dst:
        dst.write(np.ones((1, 3, 3), dtype=np.float32))
    with pytest.raises(RasterError, match="no CRS"):
        open_raster(nocrs)
    assert open_raster(nocrs, crs=GK).crs.to_epsg() == 4544
    # all nodata
    empty = write_raster(
        as_raster(np.full((3, 3), np.nan), transform=Affine(30, 0, X0, 0, -30, Y0), crs=GK),
        tmp_path / "e.tif",
    )
    with pytest.raises(RasterError, match="no valid cell"):
        open_raster(empty)
    assert np.isnan(open_raster(empty, allow_empty=True).array).all()


def test_open_raster_nodata_and_roundtrip(tmp_path):
    z = np.array([[1, 2, -9999], [4, 5, 6]], dtype=np.int16)
    p = tmp_path / "i.tif"
    with rasterio.open(
        p,
        "w",
        driver="GTiff",
        width=3,
        height=2,
        count=1,
        dtype="int16",
        nodata=-9999,
        crs=GK,
        transform=Affine(30, 0, X0, 0, -30, Y0),
    ) as dst:
        dst.write(z, 1)
    r = open_raster(p)
    assert r.array.dtype == np.float32
    assert np.isnan(r.array[0, 2]) and r.array[1, 2] == 6
    assert r.nodata == -9999
    r2 = open_raster(p, nodata=5)
    assert np.isnan(r2.array[1, 1])
    assert r.bounds == (X0, Y0 - 60, X0 + 90, Y0)
    w = open_raster(p, bounds=(X0 + 31, Y0 - 29, X0 + 59, Y0 - 1), margin_cells=0)
    assert w.shape == (1, 1) and w.array[0, 0] == 2


def test_south_up_raster_is_flipped():
    arr = np.array([[1.0], [2.0]])  # row 0 south
    r = as_raster(arr, transform=Affine(30, 0, X0, 0, 30, Y0), crs=GK)
    assert r.transform.e < 0 and r.array[0, 0] == 2.0
    assert r.bounds == (X0, Y0, X0 + 30, Y0 + 60)


def test_reproject_raster_keeps_values():
    z = np.full((20, 20), 7.0)
    r = as_raster(z, transform=Affine(30, 0, X0, 0, -30, Y0), crs=GK)
    g = reproject_raster(r, GEO)
    assert g.is_geographic
    assert np.nanmin(g.array) == pytest.approx(7.0) and np.nanmax(g.array) == pytest.approx(7.0)


# --------------------------------------------------------------------------- hillshade


def test_hillshade_flat_and_slopes():
    flat = np.full((50, 50), 2000.0)
    tr = Affine(30, 0, X0, 0, -30, Y0)
    img, bounds = hillshade(flat, transform=tr, crs=GK, altitude_deg=45)
    inner = img[img > 0]
    assert img.dtype == np.uint8
    assert abs(int(np.median(inner)) - round(1 + 254 * math.sin(math.radians(45)))) <= 1
    w, s, e, n = bounds
    lon, lat = pyproj.Transformer.from_crs(GK, "EPSG:4326", always_xy=True).transform(
        X0 + 750, Y0 - 750
    )
    assert w < lon < e and s < lat < n
    # a slope facing the light (north-west) is brighter than one facing away
    toward, tr2 = _plane_projected(30.0, 135.0)  # rises to the south-east: faces north-west
    away, _ = _plane_projected(30.0, 315.0)
    a, _ = hillshade(toward, transform=tr2, crs=GK, web_mercator=False)
    b, _ = hillshade(away, transform=tr2, crs=GK, web_mercator=False)
    # Lambert: cos(i) = cos(zenith) cos(slope) + sin(zenith) sin(slope) cos(light az - facing az)
    z45, s30 = math.radians(45), math.radians(30)
    lit = math.cos(z45) * math.cos(s30) + math.sin(z45) * math.sin(s30)  # facing the light
    dim = math.cos(z45) * math.cos(s30) - math.sin(z45) * math.sin(s30)  # facing away
    assert abs(a[5:-5, 5:-5].mean() - (1 + 254 * lit)) <= 1
    assert abs(b[5:-5, 5:-5].mean() - (1 + 254 * dim)) <= 1


def test_hillshade_nodata_and_downsampling():
    z, tr = _plane_projected(10.0, 0.0, n=300)
    z[:50] = np.nan
    img, _ = hillshade(z, transform=tr, crs=GK, max_size=100, web_mercator=False)
    assert max(img.shape) <= 100
    assert (img[:10] == 0).all() and (img[-10:] > 0).all()


def test_raster_paths_are_paths(tmp_path):
    z, tr = _plane_projected(10.0, 0.0, n=5)
    p = write_raster(as_raster(z, transform=tr, crs=GK), tmp_path / "d.tif")
    assert isinstance(p, Path) and open_raster(str(p)).shape == (5, 5)


# --------------------------------------------------------------------------- real data


def _geos_mean(poly, arr: np.ndarray, transform: Affine) -> float:
    """Coverage-weighted mean from GEOS: area of polygon ∩ cell for every cell under the polygon.

    Independent of exactextract (shapely/GEOS overlay).
    """
    minx, miny, maxx, maxy = poly.bounds
    ca, ce = transform.a, -transform.e
    c0 = max(int(np.floor((minx - transform.c) / ca)), 0)
    c1 = min(int(np.ceil((maxx - transform.c) / ca)), arr.shape[1])
    r0 = max(int(np.floor((transform.f - maxy) / ce)), 0)
    r1 = min(int(np.ceil((transform.f - miny) / ce)), arr.shape[0])
    rows, cols = np.mgrid[r0:r1, c0:c1]
    x0 = transform.c + cols * ca
    y1 = transform.f - rows * ce
    cells = shapely.box(x0, y1 - ce, x0 + ca, y1)
    area = shapely.area(shapely.intersection(poly, cells))
    vals = arr[r0:r1, c0:c1]
    ok = np.isfinite(vals) & (area > 0)
    return float((vals[ok] * area[ok]).sum() / area[ok].sum())


def _rasterstats(vectors, raster, **kw):
    import warnings

    from rasterstats import zonal_stats as rs_zonal_stats

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return rs_zonal_stats(vectors, raster, **kw)


def test_realdata_rasterstats_grid_aligned_polygons_agree(realdata):
    """On polygons made of whole cells the cell-centre rule and exact coverage must agree exactly."""
    tif = realdata / "python-rasterstats" / "slope.tif"
    r = open_raster(tif, name="slope")
    tr = r.transform
    rng = np.random.default_rng(11)
    polys = []
    for _ in range(30):
        c0, r0 = rng.integers(2, 60, 2)
        w, h = rng.integers(1, 15, 2)
        x0, y0 = tr @ (c0, r0)
        x1, y1 = tr @ (c0 + w, r0 + h)
        polys.append(
            shapely.box(min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)).buffer(
                -1e-6, join_style="mitre"
            )
        )
    gs = gpd.GeoSeries(polys, crs=r.crs)
    ours = zonal_stats(gs, tif, stats=("mean", "min", "max", "count"))
    theirs = pd.DataFrame(_rasterstats(polys, str(tif), stats=["mean", "min", "max", "count"]))
    ok = theirs["count"].to_numpy() > 0
    assert ok.sum() >= 25
    assert np.allclose(
        ours["mean"].to_numpy()[ok], theirs["mean"].to_numpy(dtype=float)[ok], rtol=1e-4
    )
    assert np.allclose(ours["min"].to_numpy()[ok], theirs["min"].to_numpy(dtype=float)[ok])
    assert np.allclose(ours["max"].to_numpy()[ok], theirs["max"].to_numpy(dtype=float)[ok])
    assert np.allclose(
        ours["count"].to_numpy()[ok], theirs["count"].to_numpy(dtype=float)[ok], atol=0.01
    )


def test_realdata_rasterstats_polygons_close_and_exact_vs_bruteforce(realdata):
    d = realdata / "python-rasterstats"
    polys = gpd.read_file(d / "polygons.shp")
    r = open_raster(d / "slope.tif", name="slope")
    ours = zonal_stats(polys, r)
    theirs = pd.DataFrame(
        _rasterstats(str(d / "polygons.shp"), str(d / "slope.tif"), stats=["mean"])
    )
    # different rules (cell centres vs fractions), same answer within a few percent on big polygons
    assert np.allclose(ours["mean"], theirs["mean"].astype(float), rtol=0.05)
    for i, poly in enumerate(polys.geometry):
        assert ours["mean"].iloc[i] == pytest.approx(
            _geos_mean(poly, r.array, r.transform), rel=1e-6
        )


def test_realdata_small_parcels_rasterstats_empty_ours_filled(realdata):
    """Parcels of 25-400 m² on a 25.5 m grid: rasterstats misses many, ours gives every one a value."""
    tif = realdata / "python-rasterstats" / "slope.tif"
    r = open_raster(tif, name="slope")
    left, bottom, right, top = r.bounds
    rng = np.random.default_rng(3)
    n = 300
    side = rng.uniform(5, 20, n)
    x = rng.uniform(left + 100, right - 100, n)
    y = rng.uniform(bottom + 100, top - 100, n)
    polys = list(shapely.box(x, y, x + side, y + side))
    ours = zonal_stats(gpd.GeoSeries(polys, crs=r.crs), r)
    theirs = pd.DataFrame(_rasterstats(polys, str(tif), stats=["mean"], nodata=-9999))
    on_data = ours["flag"] != "nodata"
    rs_missing = theirs["mean"].isna().to_numpy() & on_data.to_numpy()
    assert rs_missing.sum() > 50  # most small parcels miss every cell centre
    assert ours.loc[on_data, "mean"].notna().all()
    assert (ours.loc[~on_data, "note"].str.len() > 0).all()  # the rest are flagged, not silent
    for i in np.flatnonzero(rs_missing)[:40]:
        poly = polys[i]
        if ours["flag"].iloc[i] == "ok":
            assert ours["mean"].iloc[i] == pytest.approx(
                _geos_mean(poly, r.array, r.transform), rel=1e-6
            )
    # a parcel inside one cell gets exactly that cell's value
    with rasterio.open(tif) as ds:
        for i in range(n):
            c0 = ds.index(x[i], y[i])
            c1 = ds.index(x[i] + side[i], y[i] + side[i])
            if c0 == c1 and ours["flag"].iloc[i] == "ok":
                assert ours["mean"].iloc[i] == pytest.approx(float(r.array[c0]), rel=1e-6)


def test_realdata_partial_overlap_and_no_overlap(realdata):
    d = realdata / "python-rasterstats"
    r = open_raster(d / "slope.tif", name="slope")
    part = gpd.read_file(d / "polygons_partial_overlap.shp")
    ours = zonal_stats(part, r)
    assert (ours["flag"] == "partial").all() and ours["mean"].notna().all()
    box = shapely.box(*r.bounds)
    inside = shapely.area(shapely.intersection(part.geometry.values, box)) / part.area.to_numpy()
    nodata_free = np.isfinite(r.array).all()
    if nodata_free:  # pragma: no cover - slope.tif has nodata cells
        assert np.allclose(ours["valid_share"], inside, atol=1e-6)
    assert (ours["valid_share"].to_numpy() <= inside + 1e-9).all()
    with pytest.raises(RasterError, match="does not overlap"):
        zonal_stats(gpd.read_file(d / "polygons_no_overlap.shp"), r)


def test_realdata_nodata_rasters(realdata):
    d = realdata / "python-rasterstats"
    polys = gpd.read_file(d / "polygons.shp")
    ours = zonal_stats(polys, d / "slope_nodata.tif")
    theirs = pd.DataFrame(
        _rasterstats(str(d / "polygons.shp"), str(d / "slope_nodata.tif"), stats=["mean", "nodata"])
    )
    assert (ours["flag"] == "partial").all() and (theirs["nodata"] > 0).all()
    assert np.allclose(ours["mean"], theirs["mean"].astype(float), rtol=0.05)
    r = open_raster(d / "slope_nodata.tif")
    for i, poly in enumerate(polys.geometry):
        assert ours["mean"].iloc[i] == pytest.approx(
            _geos_mean(poly, r.array, r.transform), rel=1e-6
        )
    with pytest.raises(RasterError, match="no valid cell"):
        open_raster(d / "all_nodata.tif")
    empty = open_raster(d / "all_nodata.tif", allow_empty=True)
    z = zonal_stats(polys, empty)
    assert (
        (z["flag"] == "nodata").all() and z["mean"].isna().all() and (z["note"].str.len() > 0).all()
    )
    # the internal dataset mask becomes NaN
    masked = open_raster(d / "dataset_mask.tif")
    with rasterio.open(d / "dataset_mask.tif") as ds:
        assert np.array_equal(np.isnan(masked.array), ds.dataset_mask() == 0)


def test_realdata_exactextract_states_match_engine(realdata):
    """Our adapter (WKB features, numpy aggregation) against exactextract's own GDAL path."""
    from exactextract import exact_extract

    d = realdata / "exactextract"
    states = gpd.read_file(d / "simple_multilayer.gpkg", layer="us_states")
    ours = zonal_stats(states, d / "simple_raster.tif", stats=("mean", "min", "max", "count"))
    ref = exact_extract(
        str(d / "simple_raster.tif"), states, ["mean", "min", "max", "count"], output="pandas"
    )
    col = "band_1_mean" if "band_1_mean" in ref else "mean"
    assert np.allclose(ours["mean"], ref[col], rtol=1e-9, equal_nan=True)
    r = open_raster(d / "simple_raster.tif")
    for i in range(min(3, len(states))):
        g = states.geometry.iloc[i]
        assert ours["mean"].iloc[i] == pytest.approx(_geos_mean(g, r.array, r.transform), rel=1e-6)


@pytest.mark.parametrize("name", ["regression4", "regression6", "antarctica", "russia"])
def test_realdata_hard_polygons_vs_bruteforce(realdata, name):
    """exactextract's hard real-world polygons on a synthetic grid against brute-force sampling."""
    text = (realdata / "exactextract" / f"{name}.wkt").read_text().strip()
    wkt = "".join(part.strip().strip('"') for part in text.splitlines())
    poly = shapely.from_wkt(wkt)
    assert poly.is_valid or shapely.make_valid(poly).area > 0
    minx, miny, maxx, maxy = poly.bounds
    n = 24
    cx, cy = (maxx - minx) / (n - 2), (maxy - miny) / (n - 2)
    tr = Affine(cx, 0, minx - cx, 0, -cy, maxy + cy)
    rows, cols = np.mgrid[0:n, 0:n]
    arr = (rows * 3.0 + cols + np.sin(rows * cols)).astype(float)
    r = as_raster(arr, transform=tr, crs="EPSG:4326")
    ours = zonal_stats(gpd.GeoSeries([poly], crs="EPSG:4326"), r)
    assert ours["flag"].iloc[0] == "ok"
    assert ours["mean"].iloc[0] == pytest.approx(_geos_mean(poly, arr, tr), rel=1e-6)
