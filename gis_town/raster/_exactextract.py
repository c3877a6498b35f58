"""Adapters between numpy and the exactextract engine (imported on first use of zonal statistics).

exactextract reads features and rasters through its own source classes; these
hand it WKB geometries straight from an array (no GeoJSON round trip) and an
in-memory grid, and collect each feature's cell values and coverage fractions.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from exactextract import Operation, exact_extract
from exactextract._exactextract import Feature
from exactextract.feature import FeatureSource
from exactextract.raster import RasterSource
from exactextract.writer import Writer

__all__ = ["ADAPTERS"]


class _WkbFeature(Feature):
    """A feature holding WKB and a row number; results land in ``vals``."""

    def __init__(self, wkb: bytes | None, idx: int) -> None:
        Feature.__init__(self)
        self.wkb = wkb
        self.vals: dict[str, Any] = {"idx": idx}

    def geometry(self):
        return self.wkb

    def set_geometry_format(self) -> str:
        return "wkb"

    def get(self, name: str):
        return self.vals[name]

    def set(self, name: str, value) -> None:
        self.vals[name] = value

    def fields(self) -> list[str]:
        return list(self.vals)

    def set_geometry(self, wkb) -> None:  # geometry is never written back
        pass


class _WkbSource(FeatureSource):
    """Features straight from a WKB array (no GeoJSON round trip, unlike GeoDataFrame input)."""

    def __init__(self, wkbs: np.ndarray, rows: np.ndarray, srs_wkt: str) -> None:
        super().__init__()
        self.wkbs, self.rows, self.wkt = wkbs, rows, srs_wkt

    def count(self) -> int:
        return len(self.rows)

    def __iter__(self):
        for w, i in zip(self.wkbs, self.rows):
            yield _WkbFeature(w, int(i))

    def srs_wkt(self) -> str:
        return self.wkt


class _ArrayWriter(Writer):
    """Collects each feature's cell values, coverage fractions and total coverage by row."""

    def __init__(self, n: int) -> None:
        super().__init__()
        self.n = n
        self.values: list[np.ndarray | None] = [None] * n
        self.coverage: list[np.ndarray | None] = [None] * n
        self.cover_all = np.zeros(n)

    def add_operation(self, op) -> None:
        pass

    def add_column(self, col_name: str) -> None:
        pass

    def add_geometry(self) -> None:
        pass

    def write(self, feature) -> None:
        f = _WkbFeature(None, -1)
        feature.copy_to(f)
        v = f.vals
        i = v["idx"]
        self.values[i] = v.get("values")
        self.coverage[i] = v.get("coverage")
        c = v.get("cover_all")
        self.cover_all[i] = 0.0 if c is None else c

    def features(self):
        return self


class _ArraySource(RasterSource):
    """An in-memory grid (NaN = nodata) read window by window."""

    def __init__(self, mat: np.ndarray, extent, wkt: str, name: str = "r") -> None:
        super().__init__()
        self.mat, self.ext, self.wkt = mat, extent, wkt
        self._last = None
        self.set_name(name)

    def res(self):
        ny, nx = self.mat.shape
        return ((self.ext[2] - self.ext[0]) / nx, (self.ext[3] - self.ext[1]) / ny)

    def srs_wkt(self):
        return self.wkt

    def extent(self):
        return self.ext

    def nodata_value(self):
        return None

    def read_window(self, x0, y0, nx, ny):
        w = self.mat[y0 : y0 + ny, x0 : x0 + nx]
        self._last = w  # hold the window while exactextract reads it
        return w


#: What :func:`gis_town.raster.zonal._ee` hands out.
ADAPTERS: dict[str, Any] = {
    "Operation": Operation,
    "exact_extract": exact_extract,
    "source": _WkbSource,
    "writer": _ArrayWriter,
    "raster": _ArraySource,
}
