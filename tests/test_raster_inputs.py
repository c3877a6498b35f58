"""Rasters as delivered: DEM tiles mosaicked virtually, NDVI from red and NIR bands."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin

from gis_town.config import TownConfig, parse_config
from gis_town.errors import RasterError
from gis_town.io.rasters import mosaic_vrt, ndvi_from_bands

REPO = Path(__file__).resolve().parents[1]
DEM = REPO / "layers" / "dem.tif"


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("GIS_TOWN_CACHE", str(tmp_path / "cache"))


def _cut(src: Path, folder: Path) -> list[Path]:
    """The DEM cut into four tiles, as the demo town as delivered has them."""
    from gis_town.demo.delivered import cut_dem_tiles

    return cut_dem_tiles(src, folder)


def test_mosaic_of_tiles_equals_the_whole_dem(tmp_path):
    tiles = _cut(DEM, tmp_path)
    before = [t.read_bytes() for t in tiles]
    vrt = mosaic_vrt(tiles)
    assert vrt.stat().st_size < 20_000  # XML only, no copy of cells
    with rasterio.open(DEM) as a, rasterio.open(vrt) as b:
        assert (a.width, a.height) == (b.width, b.height)
        assert a.transform.almost_equals(b.transform) and a.crs == b.crs
        np.testing.assert_array_equal(a.read(1), b.read(1))
    assert [t.read_bytes() for t in tiles] == before
    assert mosaic_vrt(tiles) == vrt  # cached


def test_config_dem_list_and_errors(tmp_path):
    tiles = _cut(DEM, tmp_path)
    cfg = parse_config({"rasters": {"dem": [t.name for t in tiles]}}, path=tmp_path / "town.toml")
    with rasterio.open(cfg.dem_path()) as ds, rasterio.open(DEM) as ref:
        assert ds.shape == ref.shape
    assert TownConfig().dem_path() is None
    with pytest.raises(RasterError, match="not found"):
        mosaic_vrt([tiles[0], tmp_path / "missing.tif"])
    other = tmp_path / "utm.tif"
    with rasterio.open(tiles[0]) as ds:
        prof = ds.profile | {"crs": "EPSG:32648"}
        with rasterio.open(other, "w", **prof) as out:
            out.write(ds.read(1), 1)
    with pytest.raises(RasterError, match="different CRSs"):
        mosaic_vrt([tiles[0], other])


def _bands(tmp_path: Path, ndvi: np.ndarray, *, scale: float, offset: float) -> tuple[Path, Path]:
    """Sentinel-2-like uint16 bands whose reflectances give ``ndvi`` (red reflectance 0.1), 0 = nodata."""
    red_r = np.full(ndvi.shape, 0.1)
    nir_r = red_r * (1 + ndvi) / (1 - ndvi)
    red = np.round((red_r - offset) / scale).astype("uint16")
    nir = np.round((nir_r - offset) / scale).astype("uint16")
    red[0, 0] = 0  # no data
    prof = {"driver": "GTiff", "width": ndvi.shape[1], "height": ndvi.shape[0], "count": 1, "dtype": "uint16",
            "crs": "EPSG:32648", "transform": from_origin(500000, 3950000, 10, 10), "nodata": 0}
    paths = []
    for name, arr in (("T48_B04.tif", red), ("T48_B08.tif", nir)):
        with rasterio.open(tmp_path / name, "w", **prof) as ds:
            ds.write(arr, 1)
        paths.append(tmp_path / name)
    return paths[0], paths[1]


def test_ndvi_from_sentinel2_bands(tmp_path):
    want = np.linspace(-0.2, 0.8, 600 * 700).reshape(600, 700)
    red, nir = _bands(tmp_path, want, scale=0.0001, offset=-0.1)
    out = ndvi_from_bands(red, nir, scale=0.0001, offset=-0.1)
    with rasterio.open(out) as ds:
        got = ds.read(1)
        assert ds.crs.to_epsg() == 32648 and ds.res == (10.0, 10.0)
    assert np.isnan(got[0, 0])
    np.testing.assert_allclose(got.ravel()[1:], want.ravel()[1:], atol=2e-3)  # uint16 rounding
    # without the offset the values are wrong: the offset matters
    wrong = ndvi_from_bands(red, nir, scale=0.0001, offset=0.0, out=tmp_path / "wrong.tif")
    with rasterio.open(wrong) as ds:
        assert np.nanmax(np.abs(ds.read(1) - want)) > 0.05


def test_config_ndvi_bands(tmp_path):
    want = np.full((50, 60), 0.5)
    _bands(tmp_path, want, scale=0.0001, offset=-0.1)
    cfg = parse_config(
        {"rasters": {"ndvi": {"2023": {"red": "T48_B04.tif", "nir": "T48_B08.tif", "scale": 0.0001, "offset": -0.1},
                              "2022": "ready.tif"}}},
        path=tmp_path / "town.toml",
    )
    paths = cfg.ndvi_paths()
    assert paths[2022] == tmp_path / "ready.tif"
    with rasterio.open(paths[2023]) as ds:
        assert np.nanmean(ds.read(1)) == pytest.approx(0.5, abs=2e-3)
    bad = tmp_path / "T48_B08_20m.tif"
    with rasterio.open(tmp_path / "T48_B08.tif") as ds:
        prof = ds.profile | {"width": 30, "height": 25, "transform": from_origin(500000, 3950000, 20, 20)}
        with rasterio.open(bad, "w", **prof) as out:
            out.write(ds.read(1)[:25, :30], 1)
    with pytest.raises(RasterError, match="different grids"):
        ndvi_from_bands(tmp_path / "T48_B04.tif", bad)
