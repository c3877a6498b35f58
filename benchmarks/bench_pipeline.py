"""Benchmark: the whole county pipeline, command by command, as a planner runs it.

Runs the ``gis-town`` commands on the synthetic county (:mod:`county`: the
partitioned GeoParquet town ``county-<scale>/parquet``), each in a process
of its own, and reports its wall time and peak memory (the resident set of
the command and its children, Dask workers included, sampled every 50 ms).
The issue's target "the whole county pipeline under 8 GB" is about the
largest of them: the commands run one after the other, never together.

Steps (outputs to a temporary folder, deleted at the end):

1. ``gis-town areas TOWN``: validated farmland, ellipsoidal areas, totals by
   village, zone, basic farmland; xlsx, CSV, rejects;
2. ``gis-town areas TOWN --workers 2``: the same on a local Dask cluster;
3. ``gis-town patrol TOWN``: 10 million patrol points, validated, trips,
   coverage, red/black list;
4. ``gis-town patrol TOWN --workers 2``;
5. ``gis-town risk TOWN``: slope and elevation of every parcel on the
   10,000 x 10,000 DEM (exact zonal statistics), distances to roads and to
   the village's settlements, the score, the visit lists;
6. ``gis-town check TOWN/farmland.parquet --town TOWN``: the acceptance
   check (high-standard farmland rules, the DEM) of every parcel of the
   county: 1,000,000 plots x 10 rules;
7. ``gis-town map TOWN --kind layout --offline``: the offline web map of every parcel.

There is no baseline: the other benchmarks compare each analysis with the
code a planner would write; this one checks that the commands, as shipped,
fit the machine. Each step's row says whether it stayed under 8 GB.

Run::

    python benchmarks/bench_pipeline.py --size town
    python benchmarks/bench_pipeline.py --size county    # about 15 minutes
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import Row, bench_cli, measure, size_label
from county import make_county

#: The issue's memory target for the whole county pipeline (MB).
TARGET_MB = 8 * 1024


def gis_town(*argv: str) -> dict:
    """Run one ``gis-town`` command in a fresh interpreter; its exit code and last lines."""
    proc = subprocess.run(
        [sys.executable, "-m", "gis_town", "-q", *argv],
        capture_output=True,
        text=True,
        encoding="utf-8",
        errors="replace",
        check=False,
    )
    if proc.returncode not in (0, 1):  # 1: checks failed (a result, not an error)
        raise RuntimeError(
            f"gis-town {' '.join(argv)} exited with {proc.returncode}:\n{proc.stderr[-3000:]}"
        )
    return {"exit": proc.returncode}


def steps(town: Path, out: Path) -> list[tuple[str, str, list[str], str]]:
    """``(workload, implementation, argv, counted layer)`` of every step."""
    t = str(town)
    return [
        ("gis-town areas", "one process", ["areas", t, "--out", str(out / "areas1")], "farmland"),
        (
            "gis-town areas",
            "Dask, 2 workers",
            ["areas", t, "--out", str(out / "areas2"), "--workers", "2"],
            "farmland",
        ),
        ("gis-town patrol", "one process", ["patrol", t, "--out", str(out / "p1")], "patrols"),
        (
            "gis-town patrol",
            "Dask, 2 workers",
            ["patrol", t, "--out", str(out / "p2"), "--workers", "2"],
            "patrols",
        ),
        ("gis-town risk", "one process", ["risk", t, "--out", str(out / "risk")], "farmland"),
        (
            "gis-town check (every parcel)",
            "one process",
            [
                "check",
                str(town / "farmland.parquet"),
                "--town",
                t,
                "--id-field",
                "parcel_id",
                "--rules",
                "high_standard",
                "--out",
                str(out / "check"),
            ],
            "farmland",
        ),
        (
            "gis-town map --kind layout",
            "one process",
            ["map", t, "--kind", "layout", "--offline", "--out", str(out / "layout.html")],
            "farmland",
        ),
    ]


def main(size: str = "town") -> list[Row]:
    """Run every step at ``size``; one row each."""
    c = make_county(size, parts=["vector", "patrols", "dem"])
    town = c.town_dir("parquet")
    rows: list[Row] = []
    out = Path(tempfile.mkdtemp(prefix="gis_town_pipeline_"))
    try:
        for workload, impl, argv, layer in steps(town, out):
            m = measure(gis_town, *argv, features=c.counts[layer])
            ok = m.peak_rss_mb is not None and m.peak_rss_mb < TARGET_MB
            rows.append(
                Row(
                    workload=workload,
                    size=size_label(size),
                    impl=impl,
                    wall_s=m.wall_s,
                    peak_mb=m.peak_rss_mb,
                    features=m.features,
                    target="< 8 GB",
                    met=ok,
                    note="exit 1: plots failed the check" if m.value["exit"] == 1 else "",
                )
            )
    finally:
        shutil.rmtree(out, ignore_errors=True)
    return rows


if __name__ == "__main__":
    raise SystemExit(bench_cli(main))
