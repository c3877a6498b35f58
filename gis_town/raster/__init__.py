"""Rasters: reading, slope in true metres, exact zonal statistics, hillshade.

The toolkit's one raster package (:mod:`~gis_town.raster.reading`,
:mod:`~gis_town.raster.terrain`, :mod:`~gis_town.raster.zonal`; every name
importable from ``gis_town.raster``), shared by the abandonment-risk analysis
(:mod:`gis_town.analysis.risk`), the acceptance check (slope rule) and the
maps (offline hillshade background).

- :func:`open_raster` reads one band into a :class:`RasterData` (float array
  with ``NaN`` for nodata, affine transform, CRS) and turns every failure
  (missing, corrupt or truncated file, no CRS, rotated grid, no valid cell)
  into a :class:`~gis_town.errors.RasterError` that says what to do.
- :func:`slope_deg` computes slope in degrees by Horn's method with the
  *true* cell size in metres: for a projected DEM from its transform (and
  the CRS's unit), for a DEM in geographic coordinates (EPSG:4490, 4326) per
  row from the CRS's ellipsoid (CGCS2000 = GRS80): east-west cell size
  ``N(phi) cos(phi) dlon`` and north-south ``M(phi) dlat`` with the prime
  vertical and meridional radii of curvature ``N`` and ``M``.
- :func:`zonal_stats` gives exact, cell-coverage-weighted statistics per
  polygon with the ``exactextract`` engine: a parcel smaller than one cell
  gets that cell's value; a parcel half on a cell of 10 and half on a cell
  of 20 gets 15. It also gives the coverage-weighted share of each polygon
  above thresholds (slope > 15 / 25 degrees), and a flag and a reason per
  polygon when it lies partly or wholly outside the raster or on nodata,
  never a silent ``NaN``.
- :func:`hillshade` renders a small shaded-relief image on a Web Mercator
  grid, with its bounds in EPSG:4326, for offline map backgrounds.

Everything is vectorised over cells (numpy) or done in compiled code
(exactextract, GDAL); no Python loop runs per cell, and the loop per polygon
is exactextract's own feature iteration.
"""

from __future__ import annotations

from gis_town.raster.reading import (
    RasterData,
    as_raster,
    open_raster,
    reproject_raster,
    write_raster,
)
from gis_town.raster.terrain import cell_size_m, hillshade, slope_deg
from gis_town.raster.zonal import FLAG_LABELS, ZONAL_STATS, threshold_column, zonal_stats

__all__ = [
    "FLAG_LABELS",
    "RasterData",
    "ZONAL_STATS",
    "as_raster",
    "cell_size_m",
    "hillshade",
    "open_raster",
    "reproject_raster",
    "slope_deg",
    "threshold_column",
    "write_raster",
    "zonal_stats",
]
