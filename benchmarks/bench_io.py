"""Benchmark: reading and writing GeoPackage and GeoParquet.

The farmland parcels of the synthetic county (:mod:`county`), and the patrol
GPS points.

- **read GeoPackage**: ``gis_town.io.read_layer`` (pyogrio with Arrow) vs
  ``geopandas.read_file(engine="fiona")`` (row by row, the older default).
- **write GeoPackage**: ``pyogrio.write_dataframe(use_arrow=True)`` and
  ``gis_town.io.write_vector`` (atomic, pyogrio) vs
  ``GeoDataFrame.to_file(engine="fiona")``.
- **read GeoParquet**: ``gis_town.io.read_layer`` on the partitioned folder
  (pyarrow) vs the fiona GeoPackage read (what switching the storage gives).
- **write GeoParquet**: ``gis_town.parallel.write_partitioned`` (Hilbert
  sort + partitions, zstd) vs the fiona GeoPackage write.
- **read patrol points** (10 million at county size): GeoParquet and
  GeoPackage with Arrow vs fiona.

fiona takes minutes on the county's files: with ``--size county`` its rows
run on a sample of the features (``skip/max_features``, every read and
write on the same number of features as the fiona run is then scaled to the
full count); the note column says so.

Run::

    python benchmarks/bench_io.py --size town
    python benchmarks/bench_io.py --size county
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import Measurement, Row, bench_cli, compare, measure
from county import make_county

#: Most features fiona handles per run (more are extrapolated linearly).
FIONA_MAX = 50_000


def read_gis_town(path: str) -> dict:
    from gis_town.io import read_layer

    gdf = read_layer(path)
    return {"features": len(gdf)}


def read_fiona(path: str, max_features: int | None = None) -> dict:
    import geopandas as gpd

    gdf = gpd.read_file(path, engine="fiona", rows=max_features)
    return {"features": len(gdf)}


def read_pyogrio_arrow(path: str) -> dict:
    import pyogrio

    gdf = pyogrio.read_dataframe(path, use_arrow=True)
    return {"features": len(gdf)}


def _load(path: str, max_features: int | None):
    import pyogrio

    return pyogrio.read_dataframe(path, use_arrow=True, max_features=max_features)


def write_fiona(src: str, out: str, max_features: int | None = None) -> dict:
    gdf = _load(src, max_features)
    import time

    t0 = time.perf_counter()
    gdf.to_file(out, layer="farmland", driver="GPKG", engine="fiona")
    return {"features": len(gdf), "write_s": time.perf_counter() - t0}


def write_pyogrio_arrow(src: str, out: str, max_features: int | None = None) -> dict:
    import time

    import pyogrio

    gdf = _load(src, max_features)
    t0 = time.perf_counter()
    pyogrio.write_dataframe(gdf, out, layer="farmland", driver="GPKG", use_arrow=True)
    return {"features": len(gdf), "write_s": time.perf_counter() - t0}


def write_gis_town(src: str, out: str, max_features: int | None = None) -> dict:
    import time

    from gis_town.io import write_vector

    gdf = _load(src, max_features)
    t0 = time.perf_counter()
    write_vector(gdf, Path(out), layer="farmland")
    return {"features": len(gdf), "write_s": time.perf_counter() - t0}


def write_parquet(src: str, out: str, max_features: int | None = None) -> dict:
    import time

    from gis_town.parallel import write_partitioned

    gdf = _load(src, max_features)
    t0 = time.perf_counter()
    write_partitioned(gdf, out)
    return {"features": len(gdf), "write_s": time.perf_counter() - t0}


def _write_only(m: Measurement, n_full: int) -> Measurement:
    """The write part of a measurement (the read of the input is not counted), scaled to ``n_full``."""
    f = n_full / m.value["features"]
    return Measurement(
        wall_s=m.value["write_s"] * f, peak_rss_mb=m.peak_rss_mb, features=n_full, value=m.value
    )


def _scaled(m: Measurement, n_full: int) -> Measurement:
    f = n_full / m.features
    return Measurement(
        wall_s=m.wall_s * f, peak_rss_mb=m.peak_rss_mb, features=n_full, value=m.value
    )


def main(size: str = "town") -> list[Row]:
    """Run the I/O workloads at ``size`` and return the table rows."""
    c = make_county(size, parts=["vector", "patrols"])
    n = c.counts["farmland"]
    gpkg = str(c.gpkg("farmland"))
    sample = n if n <= FIONA_MAX else FIONA_MAX
    sampled = sample < n
    fnote = f"fiona on {sample:,} features, scaled x{n / sample:.1f}" if sampled else ""
    rows: list[Row] = []

    # reading the parcels
    ours = measure(read_gis_town, gpkg, features=n)
    arrow = measure(read_pyogrio_arrow, gpkg, features=n)
    fio = measure(read_fiona, gpkg, sample if sampled else None, features=sample)
    fio = _scaled(fio, n) if sampled else fio
    rows += compare(
        "read GeoPackage (parcels)",
        size,
        ours,
        fio,
        ours_name="gis_town read_layer (pyogrio+Arrow)",
        baseline_name="geopandas read_file (fiona)",
        baseline_note=fnote,
    )
    rows[1:1] = compare(
        "read GeoPackage (parcels)", size, arrow, fio, ours_name="pyogrio use_arrow=True"
    )[:1]
    pq = measure(read_gis_town, str(c.parquet("farmland")), features=n)
    rows += compare(
        "read GeoParquet (parcels)",
        size,
        pq,
        fio,
        ours_name="gis_town read_layer (GeoParquet)",
        baseline_name="geopandas read_file GPKG (fiona)",
        baseline_note=fnote,
    )

    # writing the parcels (the timing excludes reading the input)
    tmp = Path(tempfile.mkdtemp(prefix="bench_io_", dir=c.root))
    try:
        k = sample if sampled else None
        w_fiona = _write_only(measure(write_fiona, gpkg, str(tmp / "fiona.gpkg"), k), n)
        w_arrow = _write_only(measure(write_pyogrio_arrow, gpkg, str(tmp / "arrow.gpkg"), None), n)
        w_ours = _write_only(measure(write_gis_town, gpkg, str(tmp / "ours.gpkg"), None), n)
        w_pq = _write_only(measure(write_parquet, gpkg, str(tmp / "farmland.parquet"), None), n)
        size_mb = {
            p.name: (
                sum(f.stat().st_size for f in p.rglob("*")) if p.is_dir() else p.stat().st_size
            )
            / 2**20
            for p in tmp.iterdir()
        }
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    rows += compare(
        "write GeoPackage (parcels)",
        size,
        w_arrow,
        w_fiona,
        ours_name="pyogrio use_arrow=True",
        baseline_name="to_file (fiona)",
        note="peak MB includes reading the input",
        baseline_note=fnote,
    )
    rows[-1:-1] = compare(
        "write GeoPackage (parcels)",
        size,
        w_ours,
        w_fiona,
        ours_name="gis_town write_vector (atomic)",
    )[:1]
    rows += compare(
        "write GeoParquet (parcels)",
        size,
        w_pq,
        w_fiona,
        ours_name="gis_town write_partitioned (Hilbert)",
        baseline_name="to_file GPKG (fiona)",
        note=f"{size_mb.get('farmland.parquet', 0):.0f} MB vs GPKG "
        f"{size_mb.get('arrow.gpkg', 0):.0f} MB",
        baseline_note=fnote,
    )

    # reading the patrol points
    npts = c.counts["patrols"]
    psample = min(npts, FIONA_MAX * 2)
    p_pq = measure(read_gis_town, str(c.parquet("patrols")), features=npts)
    p_gp = measure(read_pyogrio_arrow, str(c.gpkg("patrols")), features=npts)
    p_fio = measure(
        read_fiona, str(c.gpkg("patrols")), psample if psample < npts else None, features=psample
    )
    p_fio = _scaled(p_fio, npts) if psample < npts else p_fio
    pnote = f"fiona on {psample:,} points, scaled x{npts / psample:.1f}" if psample < npts else ""
    rows += compare(
        "read patrol points",
        size,
        p_pq,
        p_fio,
        ours_name="gis_town read_layer (GeoParquet)",
        baseline_name="geopandas read_file GPKG (fiona)",
        baseline_note=pnote,
    )
    rows[-1:-1] = compare(
        "read patrol points", size, p_gp, p_fio, ours_name="pyogrio use_arrow=True (GPKG)"
    )[:1]
    return rows


if __name__ == "__main__":
    raise SystemExit(bench_cli(main))
