"""Benchmark: farmland area totals by village and status, reading included.

Workload: read the farmland and villages of the synthetic county
(:mod:`county`), compute every parcel's area and the totals per village and
status, as ``gis-town areas`` does.

- **gis_town** (GeoPackage): :func:`gis_town.io.load_town` (pyogrio with
  Arrow, and validation: ids, codes, geometry) ->
  :func:`gis_town.analysis.areas.parcel_areas` (ellipsoidal CGCS2000 area,
  gross and net of terrace ridges) -> :func:`~gis_town.analysis.areas.area_totals`
  (balanced 强制调平 totals in mu and ha).
- **gis_town** (GeoParquet): the same from the partitioned GeoParquet copy.
- **baseline**: what a planner writes with plain geopandas:
  ``gpd.read_file`` -> ``to_crs("EPSG:4544")`` -> ``.area`` -> ``groupby``.
  Planar Gauss-Kruger areas are off by the zone's scale error (about 1e-4
  at 60 km from the central meridian); the note column gives each side's
  largest relative error against the geodesic area (pyproj.Geod, on a sample).

Target (issue 8): 1,000,000 parcels in under 20 s, reading included.

Run::

    python benchmarks/bench_areas.py --size town      # ~5,000 parcels
    python benchmarks/bench_areas.py --size county    # 1,000,000 parcels
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import Row, bench_cli, compare, measure
from county import make_county

TARGET_S = 20.0
_SAMPLE = 2000


def ours(town_dir: str) -> dict:
    """gis_town: load (validated), ellipsoidal areas, balanced totals by village and status."""
    from gis_town.analysis.areas import area_totals, parcel_areas
    from gis_town.io import load_town

    town = load_town(town_dir, layers=["villages", "farmland"], required=("farmland",))
    farmland = parcel_areas(town.layer("farmland"))
    table = area_totals(farmland, town.layers.get("villages"), by=["status"])
    return {
        "features": int(town.counts.loc[town.counts.layer == "farmland", "read"].iloc[0]),
        "rows": len(table) - 1,
        "total_mu": float(table["area_mu"].iloc[-1]),
        "sample_m2": farmland["area_m2"].to_numpy()[:: max(1, len(farmland) // _SAMPLE)].tolist(),
    }


def baseline(gpkg: str) -> dict:
    """Plain geopandas: read_file, to_crs (Gauss-Kruger), .area, groupby."""
    import geopandas as gpd

    gdf = gpd.read_file(gpkg)
    gdf = gdf.to_crs("EPSG:4544")
    gdf["area_mu"] = gdf.area * 0.0015
    table = gdf.groupby(["village_id", "status"])["area_mu"].sum()
    return {
        "features": len(gdf),
        "rows": len(table),
        "total_mu": float(table.sum()),
        "sample_m2": (gdf["area_mu"].to_numpy()[:: max(1, len(gdf) // _SAMPLE)] / 0.0015).tolist(),
    }


def _geodesic_sample(gpkg: Path, n: int) -> np.ndarray:
    """pyproj.Geod areas (m²) of the same sample of parcels (every k-th)."""
    import pyogrio

    from gis_town.geodesy import geodesic_area_m2

    gdf = pyogrio.read_dataframe(gpkg, columns=["parcel_id"], use_arrow=True)
    return geodesic_area_m2(gdf.iloc[:: max(1, n // _SAMPLE)])


def main(size: str = "town") -> list[Row]:
    """Run the workload at ``size`` and return the table rows."""
    c = make_county(size, parts=["vector"])
    n = c.counts["farmland"]
    gp = measure(ours, str(c.town_dir("gpkg")), features=n)
    pq = measure(ours, str(c.town_dir("parquet")), features=n)
    base = measure(baseline, str(c.gpkg("farmland")), features=n)
    ref = _geodesic_sample(c.gpkg("farmland"), n)

    def err(m) -> str:
        s = np.asarray(m.value["sample_m2"])
        return f"{np.max(np.abs(s - ref) / ref):.0e}"

    agree = abs(gp.value["total_mu"] - pq.value["total_mu"]) <= 1e-6 * gp.value["total_mu"]
    workload = "area totals by village (read incl.)"
    rows = compare(
        workload,
        size,
        gp,
        base,
        ours_name="gis_town (GeoPackage)",
        baseline_name="geopandas to_crs+area+groupby",
        target_s=TARGET_S,
        note=f"area error {err(gp)}, {gp.value['rows']} rows, balanced",
        baseline_note=f"area error {err(base)}",
    )
    rows[1:1] = compare(
        workload,
        size,
        pq,
        base,
        ours_name="gis_town (GeoParquet)",
        target_s=TARGET_S,
        note=f"area error {err(pq)}" + ("" if agree else " (TOTAL DIFFERS)"),
    )[:1]
    return rows


if __name__ == "__main__":
    raise SystemExit(bench_cli(main))
