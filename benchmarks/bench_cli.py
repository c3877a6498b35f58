"""Benchmark: ``gis-town areas`` as a whole process, against a plain geopandas script.

What a planner waits for: the command from start to finish, interpreter
start, imports, reading, validation, ellipsoidal areas, totals and writing
(CSV, xlsx, rejects) included. Each side runs in a subprocess of its own,
``REPEAT`` times (interleaved, after one warm-up run of each for the file
cache); the row gives the median wall time and the largest peak memory
(the child process's own high-water mark).

- **gis-town areas (farmland + villages)**: ``python -m gis_town -q areas
  TOWN`` on a town folder holding only the synthetic county's farmland and
  villages (:mod:`county`, linked from ``county-<scale>/gpkg``), so the
  command computes what the baseline computes: totals per village and
  status.
- **baseline**: a plain geopandas script (:data:`BASELINE`): ``read_file``,
  ``to_crs("EPSG:4544")``, ``.area``, ``groupby``, ``to_csv``; planar
  Gauss-Kruger areas (the command's are ellipsoidal, CGCS2000).
- **gis-town areas (whole town)**: the same command on the full
  ``county-<scale>/gpkg`` town, which also has planning zones and basic
  farmland, so it also intersects every parcel with them (true
  intersection, two more tables). No baseline: the script does none of it.
- **gis-town --help**: the start-up alone (building the parser imports no
  analysis, map, geopandas...), against ``python -c "import geopandas"``.

Target (issue 13): the areas command at least as fast as the baseline
(ratio >= 1) from 200,000 parcels (``--size 0.2``); on a 5,000-parcel town
both take under a second and the fixed costs (the validated config, the
xlsx) make the command about 0.2 s slower.

Run::

    python benchmarks/bench_cli.py --size 0.2     # 200,000 parcels (the issue's figure)
    python benchmarks/bench_cli.py --size town    # ~5,000 parcels
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import Measurement, Row, bench_cli, compare
from county import County, make_county

#: Whole-process runs per side (the median is reported).
REPEAT = 5

#: The issue's target applies from this many parcels (smaller towns: start-up dominates).
TARGET_FROM = 200_000

#: The plain geopandas script of the baseline (argv: farmland GeoPackage, output CSV).
BASELINE = """\
import sys
import geopandas as gpd

gdf = gpd.read_file(sys.argv[1])
gdf = gdf.to_crs("EPSG:4544")
gdf["area_mu"] = gdf.area * 0.0015
table = gdf.groupby(["village_id", "status"])["area_mu"].sum()
table.to_csv(sys.argv[2])
"""

_REPO = Path(__file__).resolve().parent.parent


def _link_or_copy(src: Path, dst: Path) -> None:
    if dst.exists():
        return
    try:
        os.link(src, dst)
    except OSError:  # another file system, or no hard links (Windows FAT): copy
        shutil.copy2(src, dst)


def farmland_town(c: County) -> Path:
    """A town folder with only the county's farmland and villages (and its town.toml), cached."""
    src = c.town_dir("gpkg")
    town = c.root / "cli_farmland"
    town.mkdir(exist_ok=True)
    for name in ("farmland.gpkg", "villages.gpkg", "town.toml"):
        _link_or_copy(src / name, town / name)
    return town


def _hwm_mb(pid: int) -> float:
    """The peak resident memory so far (``VmHWM``, MB) of a running process; NaN if unknown."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except (OSError, ValueError):
        pass
    return float("nan")


def run_process(argv: Sequence[str]) -> Measurement:
    """Run one whole process (``python ARGV``): its wall time and its own peak memory.

    The peak is the child's own high-water mark (``VmHWM``, read every 20 ms
    while it runs; Linux only, NaN elsewhere), not this harness's.

    Raises
    ------
    RuntimeError
        On a non-zero exit code, or when a ``-q`` run printed anything.
    """
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen([sys.executable, *argv], stdout=out, stderr=err, cwd=str(_REPO))
        peak = float("nan")
        while proc.poll() is None:
            hwm = _hwm_mb(proc.pid)
            peak = hwm if hwm == hwm else peak
            time.sleep(0.02)
        wall = time.perf_counter() - t0
        out.seek(0)
        err.seek(0)
        stdout, stderr = (f.read().decode("utf-8", "replace") for f in (out, err))
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} exited with {proc.returncode}:\n{stderr[-2000:]}")
    if "-q" in argv and (stdout.strip() or stderr.strip()):
        raise RuntimeError(f"{' '.join(argv)} printed with -q:\n{(stdout + stderr)[:500]}")
    return Measurement(wall_s=wall, peak_rss_mb=peak)


def timed(
    sides: dict[str, list[str]], *, repeat: int = REPEAT, features: int | None = None
) -> dict[str, Measurement]:
    """Median wall time (and the largest peak memory) of whole-process runs, interleaved.

    Parameters
    ----------
    sides : dict
        ``{name: argv}`` (without the interpreter).
    repeat : int
        Timed runs per side, after one untimed warm-up run of each.
    features : int, optional
        Features processed, for the throughput.

    Returns
    -------
    dict
        ``{name: Measurement}``; ``value`` holds every run's wall time.
    """
    for argv in sides.values():
        run_process(argv)  # warm-up: the file cache, the .pyc files
    runs: dict[str, list[Measurement]] = {name: [] for name in sides}
    for _ in range(repeat):
        for name, argv in sides.items():
            runs[name].append(run_process(argv))
    return {
        name: Measurement(
            wall_s=statistics.median(m.wall_s for m in ms),
            peak_rss_mb=max(m.peak_rss_mb for m in ms),
            features=features,
            value=[round(m.wall_s, 3) for m in ms],
        )
        for name, ms in runs.items()
    }


def main(size: str = "town") -> list[Row]:
    """Run the whole-process comparisons at ``size`` and return the table rows."""
    c = make_county(size, parts=["vector"])
    n = c.counts["farmland"]
    tmp = Path(tempfile.mkdtemp(prefix="gis_town_bench_cli_"))
    try:
        script = tmp / "baseline.py"
        script.write_text(BASELINE, encoding="utf-8")
        m = timed(
            {
                "ours": ["-m", "gis_town", "-q", "areas", str(farmland_town(c)), "--out", str(tmp / "a" / "areas.csv")],
                "full": ["-m", "gis_town", "-q", "areas", str(c.town_dir("gpkg")), "--out", str(tmp / "f" / "areas.csv")],
                "base": [str(script), str(c.gpkg("farmland")), str(tmp / "base.csv")],
                "help": ["-m", "gis_town", "--help"],
                "import": ["-c", "import geopandas"],
            },
            features=n,
        )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    note = f"median of {REPEAT} whole-process runs"
    workload = "gis-town areas, whole process"
    rows = compare(
        workload,
        size,
        m["ours"],
        m["base"],
        ours_name="gis-town -q areas (farmland + villages)",
        baseline_name="python script: read_file+to_crs+area+groupby",
        target_ratio=1.0 if n >= TARGET_FROM else None,
        note=f"{note}; ellipsoidal areas, validation, CSV + xlsx + rejects",
        baseline_note=f"{note}; planar Gauss-Kruger areas",
    )
    rows += compare(
        workload,
        size,
        m["full"],
        None,
        ours_name="gis-town -q areas (whole town: + zones, basic farmland)",
        note=f"{note}; also intersects every parcel with zones and basic farmland (2 more tables)",
    )
    start = compare(
        "start-up",
        size,
        m["help"],
        m["import"],
        ours_name="gis-town --help",
        baseline_name='python -c "import geopandas"',
        note=f"{note}; building the parser imports no analysis, map or geopandas",
    )
    for r in start:
        r.features = None
    return rows + start


if __name__ == "__main__":
    raise SystemExit(bench_cli(main))
