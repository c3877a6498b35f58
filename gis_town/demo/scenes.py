"""The demo town's dated summer scene (``ndvi_2023-06-28.tif``): the first crop of reclaimed plots.

The town's 2023 plan wants the 2022 resettled households' reclaimed homestead
plots sown with summer grain (种植夏粮). This scene is the 2023 NDVI
(``ndvi_2023.tif``, same grid, nodata kept) with the reclaimed plots due a crop
in the 2023 summer-grain window (reclaimed on or before its start, 05-15 by
default: the whole 2022 cohort and the 2023 cohort's April plots) burnt in:

* every such plot sown: NDVI about 0.45-0.55 over each 30 m cell it touches;
* :data:`BARE_PLOTS` plots of the 2022 cohort left bare (NDVI about 0.10), so
  that ``gis-town progress`` reports them as 未见作物 no crop and the cohort behind.

The bare plots are drawn with a fixed seed among the 2022 plots that share no
cell with another reclaimed plot; the same inputs give the same file.
"""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from gis_town.config import ReclamationSection

__all__ = ["BARE_PLOTS", "SCENE_DATE", "build_summer_scene", "write_summer_scene"]

log = logging.getLogger(__name__)

#: Date of the demo's summer scene (inside the default window 05-15 to 07-31).
SCENE_DATE = dt.date(2023, 6, 28)
#: Plots of the 2022 cohort left bare in the scene.
BARE_PLOTS = 3
_SEED = 20230628
_COHORT = 2022


def _due_plots(gpkg: Path) -> gpd.GeoDataFrame:
    """The reclaimed plots whose first summer-grain window holds :data:`SCENE_DATE`, with their cohort."""
    import pyogrio

    plots = pyogrio.read_dataframe(gpkg, layer="reclamation")
    households = pyogrio.read_dataframe(gpkg, layer="resettlement", read_geometry=False)
    info = households.drop_duplicates("household_id").set_index("household_id")
    own = pd.to_datetime(plots["reclaimed_date"], errors="coerce")
    reclaimed = own.where(own.notna(), pd.to_datetime(plots["household_id"].map(info["reclaimed"]), errors="coerce"))
    start, _ = ReclamationSection().window(SCENE_DATE.year)
    plots["cohort"] = plots["household_id"].map(info["cohort"])
    due = reclaimed.notna() & (reclaimed <= pd.Timestamp(start))
    return plots.loc[due.to_numpy()].sort_values("plot_id").reset_index(drop=True)


def build_summer_scene(
    plots: gpd.GeoDataFrame, base: np.ndarray, transform, crs, nodata: float
) -> tuple[np.ndarray, list[str]]:
    """The scene on ``base``'s grid and the ids of the bare plots.

    Parameters
    ----------
    plots : GeoDataFrame
        The plots due a crop (:func:`_due_plots`), with ``plot_id`` and ``cohort``.
    base : ndarray
        The 2023 NDVI (float32), ``nodata`` where there is no value.
    transform, crs
        The grid's affine transform and CRS.
    nodata : float

    Returns
    -------
    (ndarray, list of str)
    """
    from rasterio.features import rasterize

    rng = np.random.default_rng(_SEED)
    g = plots.to_crs(crs.to_wkt() if hasattr(crs, "to_wkt") else crs)
    shape = base.shape
    index = [
        rasterize([(geom, 1)], out_shape=shape, transform=transform, all_touched=True, dtype="uint8") > 0
        for geom in g.geometry
    ]
    touched = np.sum(index, axis=0) if index else np.zeros(shape)
    lonely = [i for i, m in enumerate(index)
              if plots["cohort"].iloc[i] == _COHORT and (touched[m] == 1).all()]
    bare = set(rng.choice(lonely, size=min(BARE_PLOTS, len(lonely)), replace=False).tolist())
    out = base.astype("float32").copy()
    for i, mask in enumerate(index):  # sown first, the bare plots last (they win shared cells)
        if i not in bare:
            out[mask] = rng.uniform(0.45, 0.55) + rng.normal(0.0, 0.01, int(mask.sum()))
    for i in sorted(bare):
        out[index[i]] = rng.normal(0.10, 0.01) + rng.normal(0.0, 0.005, int(index[i].sum()))
    out = np.where(base == nodata, nodata, np.clip(out, -1, 1)).astype("float32")
    return out, sorted(plots["plot_id"].iloc[sorted(bare)].tolist())


def write_summer_scene(gpkg: str | Path, ndvi_2023_tif: str | Path, out_tif: str | Path) -> Path:
    """Write the demo's summer scene (:data:`SCENE_DATE`) from the town and its 2023 NDVI.

    Parameters
    ----------
    gpkg : path
        The demo town (layers ``reclamation`` and ``resettlement``).
    ndvi_2023_tif : path
        The 2023 NDVI; the scene has its grid, CRS, nodata and creation options.
    out_tif : path
        The scene to write (``layers/ndvi_2023-06-28.tif``).

    Returns
    -------
    Path
        ``out_tif``.
    """
    import rasterio

    from gis_town.io.write import atomic_path

    out_tif = Path(out_tif)
    with rasterio.open(ndvi_2023_tif) as src:
        base = src.read(1)
        profile = src.profile
    scene, bare = build_summer_scene(_due_plots(Path(gpkg)), base, profile["transform"],
                                     profile["crs"], profile["nodata"])
    profile.update(compress="deflate", predictor=3)
    with atomic_path(out_tif) as tmp, rasterio.open(tmp, "w", **profile) as dst:
        dst.write(scene, 1)
    log.info("夏粮影像 summer scene %s written to %s (bare plots: %s)", SCENE_DATE, out_tif, ", ".join(bare))
    return out_tif
