"""Benchmark: the upload of accepted high-standard plots (上图入库), selection and files.

Workload: the farmland of the synthetic county (:mod:`county`) and construction sections
made here (a grid of 10 x 10 sections over the county, seeded dates: about 60% accepted), as
``gis-town upload`` does without the acceptance check (timed in ``bench_check.py``).

- **gis_town**: :func:`~gis_town.analysis.progress.construction.section_stages` ->
  :func:`~gis_town.analysis.progress.upload.upload_plots` (each parcel to its section by
  its representative point, every candidate in the upload or the rejects with its reason,
  ellipsoidal CGCS2000 areas in mu to two decimals).
- **baseline**: plain geopandas: ``representative_point`` -> ``sjoin(predicate="within")``
  -> merge the accepted flag -> filter cropland -> ``to_crs("EPSG:4544").area`` (planar) ->
  ``to_crs(4490)``; no reasons for what is left out.
- **files**: :func:`gis_town.reports.upload.write_upload` (GeoPackage, GBK shapefile,
  boundary-point txt, rejects, workbook) of the selection.

Both sides read the parcels from GeoParquet. The notes give the uploaded parcels both agree
on, and on how many the baseline's planar area (rounded to 0.01 mu) differs from the ellipsoidal one.

Run::

    python benchmarks/bench_upload.py --size town
    python benchmarks/bench_upload.py --size county
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import Row, bench_cli, compare, measure
from county import make_county

_GRID = 10
_AS_OF = "2023-12-31"


def make_sections(farmland_path: Path, out: Path) -> Path:
    """A 10 x 10 grid of sections over the parcels' extent, with seeded stage dates (cached)."""
    if out.exists():
        return out
    import geopandas as gpd
    import shapely

    minx, miny, maxx, maxy = gpd.read_parquet(farmland_path, columns=["geometry"]).total_bounds
    xs, ys = np.linspace(minx, maxx, _GRID + 1), np.linspace(miny, maxy, _GRID + 1)
    boxes = [shapely.box(xs[i], ys[j], xs[i + 1], ys[j + 1]) for j in range(_GRID) for i in range(_GRID)]
    rng = np.random.default_rng(17)
    reached = rng.integers(2, 6, len(boxes))  # stages reached: 2..5 of 5
    days = ["2023-02-01", "2023-03-01", "2023-07-01", "2023-09-01", "2023-10-15"]
    cols = {s: [days[k] if k < r else None for r in reached]
            for k, s in enumerate(("planned", "started", "built", "accepted", "uploaded"))}
    gdf = gpd.GeoDataFrame({"section_id": [f"S{k:03d}" for k in range(len(boxes))],
                            "project": [f"项目{k // 10}" for k in range(len(boxes))], **cols},
                           geometry=boxes, crs=4490)
    gdf.to_file(out, driver="GPKG")
    return out


def ours(farmland_dir: str, sections_path: str) -> dict:
    """gis_town: section stages, then every candidate to the upload or the rejects."""
    import geopandas as gpd
    import pandas as pd

    from gis_town.analysis.progress.construction import section_stages
    from gis_town.analysis.progress.upload import upload_plots
    from gis_town.io.read import read_layer

    farmland = read_layer(farmland_dir)
    sections = gpd.read_file(sections_path)
    stages = section_stages(sections, as_of=pd.Timestamp(_AS_OF), names={})
    res = upload_plots(farmland, sections, stages)
    return {"features": len(farmland), "ids": res.plots["DKBH"].tolist(),
            "mu": res.plots["DKMJ"].to_numpy().tolist(), "rejects": len(res.rejects)}


def baseline(farmland_dir: str, sections_path: str) -> dict:
    """Plain geopandas: sjoin of representative points, accepted and cropland, planar area."""
    import geopandas as gpd
    import pandas as pd

    farmland = gpd.read_parquet(farmland_dir)
    sections = gpd.read_file(sections_path)
    accepted = sections[pd.to_datetime(sections["accepted"]) <= pd.Timestamp(_AS_OF)]
    pts = gpd.GeoDataFrame(farmland[["parcel_id", "land_use"]], geometry=farmland.representative_point(),
                           crs=farmland.crs)
    hit = gpd.sjoin(pts, accepted[["section_id", "project", "geometry"]], predicate="within")
    hit = hit[hit["land_use"].isin(["水田", "水浇地", "旱地"])]
    up = farmland.loc[hit.index]
    up = up.assign(DKMJ=(up.to_crs("EPSG:4544").area * 0.0015).round(2)).to_crs(4490)
    return {"features": len(farmland), "ids": up["parcel_id"].tolist(), "mu": up["DKMJ"].to_numpy().tolist()}


def write_files(farmland_dir: str, sections_path: str) -> dict:
    """The upload's files of ours' selection (GeoPackage, GBK shapefile, txt, rejects, workbook)."""
    import geopandas as gpd
    import pandas as pd

    from gis_town.analysis.progress.construction import section_stages
    from gis_town.analysis.progress.upload import upload_plots, upload_summary
    from gis_town.io.read import read_layer
    from gis_town.reports.upload import write_upload
    from gis_town.runners.upload import UploadResult

    farmland = read_layer(farmland_dir)
    sections = gpd.read_file(sections_path)
    day = pd.Timestamp(_AS_OF)
    stages = section_stages(sections, as_of=day, names={})
    res = upload_plots(farmland, sections, stages)
    with tempfile.TemporaryDirectory() as tmp:
        paths = write_upload(UploadResult(day, res, upload_summary(res, stages), stages, False), tmp)
        size_mb = sum(p.stat().st_size for p in Path(tmp).iterdir()) / 1e6
    return {"features": len(res.plots), "files": len(paths), "mb": size_mb}


def main(size: str = "town") -> list[Row]:
    """Run the workloads at ``size`` and return the table rows."""
    c = make_county(size, parts=["vector"])
    n = c.counts["farmland"]
    sections = make_sections(c.parquet("farmland"), c.root / "upload_sections.gpkg")
    args = (str(c.parquet("farmland")), str(sections))
    a = measure(ours, *args, features=n)
    b = measure(baseline, *args, features=n)
    f = measure(write_files, *args)
    ours_mu = dict(zip(a.value["ids"], a.value["mu"], strict=True))
    base_mu = dict(zip(b.value["ids"], b.value["mu"], strict=True))
    both = set(ours_mu) & set(base_mu)
    differ = sum(abs(base_mu[k] - ours_mu[k]) >= 0.005 for k in both)
    rows = compare(
        "upload: accepted plots selected (上图入库)", size, a, b,
        baseline_name="geopandas sjoin+filter+to_crs().area",
        note=f"{len(ours_mu):,} uploaded, {a.value['rejects']:,} rejected with reasons; "
             f"{len(both):,} agreed with the baseline",
        baseline_note=f"{len(base_mu):,} uploaded, no reasons; planar DKMJ off by 0.01 mu or more on "
                      f"{differ:,}",
    )
    rows += compare("upload: files written (gpkg, GBK shp, txt, xlsx)", size, f,
                    note=f"{f.value['features']:,} plots, {f.value['files']} files, {f.value['mb']:.1f} MB "
                         "(selection included)")
    return rows


if __name__ == "__main__":
    raise SystemExit(bench_cli(main))
