"""Run every benchmark at town and/or county size and print one table.

::

    python benchmarks/run.py                      # town size, every benchmark
    python benchmarks/run.py --size county        # county size (minutes; data cached)
    python benchmarks/run.py --size both --only areas,io,dask
    python benchmarks/run.py --markdown --json out.json

Each ``benchmarks/bench_<name>.py`` is run in turn:

- one that defines ``main(size) -> list[Row]`` (see :mod:`common`) is
  called in a fresh interpreter (so every benchmark starts from the same
  small process), and its rows go into the table as they are;
- any other is run as a script (``python bench_<name>.py --size <size>``);
  its output is kept (``--verbose`` prints it), its wall time and peak memory
  (the process tree) are measured from outside, and the known figures are
  read from its output (its own timing of our side and the baseline, the
  ratio) by a small reader per benchmark below; when nothing can be read,
  the row gives the whole script's time.

The table ends with the GEOS, GDAL and PROJ versions and the machine. Rows
whose target is missed say ``NO`` in the ``met`` column; the exit code is 0
unless a benchmark failed to run.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import json
import re
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))
sys.path.insert(0, str(BENCH_DIR.parent))

from common import (  # noqa: E402
    Measurement,
    Row,
    compare,
    format_versions,
    measure,
    print_table,
    scale_of,
    size_label,
    write_json,
)

#: Order of the table (others follow alphabetically).
ORDER = ("areas", "cli", "io", "overlay", "zonal", "patrol", "check", "maps", "dask")


def discover() -> list[str]:
    """Names of the benchmarks (``bench_<name>.py``), in table order."""
    names = sorted(p.stem[len("bench_") :] for p in BENCH_DIR.glob("bench_*.py"))
    return sorted(names, key=lambda n: (ORDER.index(n) if n in ORDER else len(ORDER), n))


def _takes_size(fn: Callable) -> bool:
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        return False
    return bool(params) and params[0].name == "size"


# --------------------------------------------------------------------------- readers of script output


def _num(s: str) -> float:
    return float(s.replace(",", ""))


def _find(pattern: str, text: str, flags: int = re.M) -> re.Match | None:
    return re.search(pattern, text, flags)


def _read_overlay(out: str, size: str, proc: Measurement) -> list[Row]:
    pat = r"^\s*(gis_town[^\n]*?|geopandas[^\n]*?)\s+([\d,]+\.\d+)\s+([\d,]+\.\d+|NaN)\s+([\d,]+\.\d+)\s*$"
    found = {m.group(1).strip(): m for m in re.finditer(pat, out, re.M)}
    ours = next((m for k, m in found.items() if k.startswith("gis_town")), None)
    base = next((m for k, m in found.items() if k.startswith("geopandas")), None)
    n = _find(r"data: ([\d,]+) parcels, (\d+) zones", out)
    if ours is None or n is None:
        return []
    feats = int(_num(n.group(1)))

    def meas(m):
        peak = m.group(3)
        return Measurement(_num(m.group(2)), float("nan") if peak == "NaN" else _num(peak), feats)

    agree = _find(r"zone totals agree: max \|diff\| / largest total = ([\d.e+-]+)", out)
    return compare(
        f"parcels x {n.group(2)} zones overlay",
        size,
        meas(ours),
        meas(base) if base else None,
        ours_name="gis_town area_by_zone",
        baseline_name="geopandas.overlay + area + groupby",
        target_ratio=3.0,
        note=f"totals agree to {float(agree.group(1)):.0e}" if agree else "",
    )


def _read_zonal(out: str, size: str, proc: Measurement) -> list[Row]:
    n = _find(r"data: ([\d,]+) parcels, ([\d,]+) x ([\d,]+) raster", out)
    ours = _find(r"^ours total\s+([\d,.]+)\s", out)
    base = _find(r"^(rasterstats[^\n]*?)\s+([\d,]+\.\d+)\s+[\d,]+\s+", out)
    peak = _find(r"peak memory: process RSS ([\d,]+) MB", out)
    if not (n and ours):
        return []
    feats = int(_num(n.group(1)))
    m_ours = Measurement(
        _num(ours.group(1)), _num(peak.group(1)) if peak else proc.peak_rss_mb, feats
    )
    m_base = Measurement(_num(base.group(2)), float("nan"), feats) if base else None
    miss = _find(r"sample of [\d,]+: rasterstats [\d,]+ \(([\d.]+%)\)", out)
    sampled = base is not None and "scaled" in base.group(1)
    return compare(
        f"zonal stats, {n.group(2)}x{n.group(3)} raster",
        size,
        m_ours,
        m_base,
        ours_name="gis_town zonal_stats (exact)",
        baseline_name="rasterstats" + (" (sample, scaled)" if sampled else ""),
        target_ratio=20.0,
        note="mean/min/max/count + 2 threshold shares, reading incl.",
        baseline_note=f"{miss.group(1)} of parcels without a value" if miss else "",
    )


def _read_patrol(out: str, size: str, proc: Measurement) -> list[Row]:
    pts = _find(r"^\s*size\s+\w+: ([\d,]+) fixes, ([\d,]+) km", out)
    run = _find(r"analysis wall time\s+([\d,.]+) s", out)
    load = _find(r"load \(parquet\)\s+([\d,.]+) s", out)
    peak = _find(r"peak memory \(process RSS\)\s+([\d,]+) MB", out)
    if not (pts and run):
        return []
    feats = int(_num(pts.group(1)))
    wall = _num(run.group(1)) + (_num(load.group(1)) if load else 0.0)
    m_ours = Measurement(wall, _num(peak.group(1)) if peak else proc.peak_rss_mb, feats)
    b = _find(
        r"baseline buffer\+union\s+([\d,.]+) s\b.*? on ([\d,]+) fixes \([\d,]+ trips, ([\d.]+) %",
        out,
    )
    m_base = None
    note_b = ""
    if b:
        b_pts = _num(b.group(2))
        m_base = Measurement(_num(b.group(1)) * feats / b_pts, float("nan"), feats)
        note_b = f"on {b.group(3)} % of the trips, scaled linearly to all (it grows faster)"
    target = 60.0 if feats >= 10_000_000 else None
    return compare(
        f"patrol coverage, {pts.group(2)} km of river",
        size,
        m_ours,
        m_base,
        ours_name="gis_town analyze_patrols (reading incl.)",
        baseline_name="geopandas buffer + union",
        target_s=target,
        baseline_note=note_b,
    )


#: Readers of the scripts that print their own report (benchmark name -> reader).
READERS: dict[str, Callable[[str, str, Measurement], list[Row]]] = {
    "overlay": _read_overlay,
    "zonal": _read_zonal,
    "patrol": _read_patrol,
}


def _script_sizes(path: Path) -> set[str] | None:
    """The ``--size`` choices a script accepts (None: any)."""
    text = path.read_text(encoding="utf-8")
    m = re.search(r'"--size",\s*choices=(?:sorted\()?(?:list\()?(\w+)', text)
    if m and m.group(1) == "SIZES":
        return {"town", "county"}
    return None


def run_script(name: str, size: str, *, timeout: float, verbose: bool) -> tuple[list[Row], str]:
    """Run ``bench_<name>.py --size <size>`` and read its figures."""
    path = BENCH_DIR / f"bench_{name}.py"
    accepted = _script_sizes(path)
    if accepted is not None and size not in accepted:
        return [
            Row(
                name,
                size_label(size),
                "(skipped)",
                None,
                None,
                None,
                note=f"the script takes --size {'/'.join(sorted(accepted))} only",
            )
        ], ""
    holder: dict[str, str] = {}

    def go() -> int:
        proc = subprocess.run(
            [sys.executable, str(path), "--size", str(size)],
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=str(BENCH_DIR.parent),
        )
        holder["out"] = proc.stdout + ("\n" + proc.stderr if proc.returncode else "")
        return proc.returncode

    try:
        m = measure(go, isolate=False)
    except subprocess.TimeoutExpired:
        return [
            Row(
                name,
                size_label(size),
                "(timed out)",
                timeout,
                None,
                None,
                note=f"over {timeout:.0f} s",
            )
        ], ""
    out = holder.get("out", "")
    if verbose:
        print(out, flush=True)
    if m.value != 0:
        tail = " | ".join(out.strip().splitlines()[-3:])
        return [
            Row(name, size_label(size), "(failed)", m.wall_s, m.peak_rss_mb, None, note=tail[:200])
        ], out
    rows: list[Row] = []
    reader = READERS.get(name)
    if reader is not None:
        try:
            rows = reader(out, size, m)
        except Exception:  # a changed report: fall back to the whole script's figures
            rows = []
    if not rows:
        rows = [
            Row(
                name,
                size_label(size),
                f"bench_{name}.py (whole script)",
                m.wall_s,
                m.peak_rss_mb,
                None,
                note="data generation included; see the script's own report",
            )
        ]
    return rows, out


def run_module(name: str, size: str, *, timeout: float, verbose: bool) -> list[Row]:
    """Call ``bench_<name>.main(size)`` in a fresh interpreter and read its rows back.

    A fresh process per benchmark: each starts from the same small memory
    (the workloads fork from it, so their peak memory is their own) and
    nothing one benchmark leaves behind reaches the next.
    """
    import tempfile

    with tempfile.TemporaryDirectory(prefix="bench_run_") as tmp:
        out = Path(tmp) / "rows.json"
        proc = subprocess.run(
            [sys.executable, str(Path(__file__).resolve()), "--child", name, str(size), str(out)],
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=str(BENCH_DIR.parent),
        )
        if verbose:
            print(proc.stdout, flush=True)
        if proc.returncode != 0 or not out.exists():
            tail = " | ".join((proc.stdout + proc.stderr).strip().splitlines()[-3:])
            return [Row(name, size_label(size), "(failed)", None, None, None, note=tail[:200])]
        data = json.loads(out.read_text(encoding="utf-8"))
    fields = {f for f in Row.__dataclass_fields__}
    return [Row(**{k: v for k, v in r.items() if k in fields}) for r in data]


def _child(name: str, size: str, out: str) -> int:
    """``run.py --child NAME SIZE OUT``: run one benchmark's ``main(size)``, write its rows as JSON."""
    mod = importlib.import_module(f"bench_{name}")
    rows = list(mod.main(size))
    Path(out).write_text(
        json.dumps([r.as_dict() for r in rows], ensure_ascii=False), encoding="utf-8"
    )
    return 0


def run_all(
    names: list[str], sizes: list[str], *, timeout: float, verbose: bool
) -> tuple[list[Row], bool]:
    rows: list[Row] = []
    ok = True
    for size in sizes:
        for name in names:
            t0 = time.perf_counter()
            print(f"== {name} ({size_label(size)}) ...", file=sys.stderr, flush=True)
            try:
                mod = importlib.import_module(f"bench_{name}")
                if _takes_size(getattr(mod, "main", None)):
                    got = run_module(name, size, timeout=timeout, verbose=verbose)
                else:
                    got, _ = run_script(name, size, timeout=timeout, verbose=verbose)
            except Exception as exc:
                ok = False
                traceback.print_exc()
                got = [
                    Row(
                        name,
                        size_label(size),
                        "(failed)",
                        None,
                        None,
                        None,
                        note=f"{type(exc).__name__}: {exc}"[:200],
                    )
                ]
            if any(r.impl == "(failed)" for r in got):
                ok = False
            rows.extend(got)
            print(f"   {name}: {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
    return rows, ok


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--child"]:
        return _child(*argv[1:4])
    p = argparse.ArgumentParser(
        description="Run every benchmark and print one table (with GEOS/GDAL/PROJ)."
    )
    p.add_argument(
        "--size", default="town", help="town, county, both, or a fraction of the county (e.g. 0.1)"
    )
    p.add_argument(
        "--only", default=None, help="comma-separated benchmark names (areas,io,dask,overlay,...)"
    )
    p.add_argument("--skip", default=None, help="comma-separated benchmark names to leave out")
    p.add_argument("--timeout", type=float, default=3600.0, help="seconds per script benchmark")
    p.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    p.add_argument("--json", type=Path, default=None, help="also write versions and rows as JSON")
    p.add_argument("--verbose", action="store_true", help="print the scripts' own reports")
    ns = p.parse_args(argv)
    sizes = ["town", "county"] if ns.size == "both" else [ns.size]
    for s in sizes:
        scale_of(s)
    names = discover()
    if ns.only:
        want = [n.strip().removeprefix("bench_") for n in ns.only.split(",") if n.strip()]
        unknown = [n for n in want if n not in names]
        if unknown:
            p.error(f"unknown benchmark(s) {', '.join(unknown)}; have: {', '.join(names)}")
        names = [n for n in names if n in want]
    if ns.skip:
        skip = {n.strip().removeprefix("bench_") for n in ns.skip.split(",")}
        names = [n for n in names if n not in skip]
    t0 = time.perf_counter()
    rows, ok = run_all(names, sizes, timeout=ns.timeout, verbose=ns.verbose)
    print()
    print_table(
        rows,
        title=f"gis_town benchmarks ({', '.join(size_label(s) for s in sizes)}; "
        f"ratio = baseline time / this row's time)",
        markdown=ns.markdown,
    )
    print(format_versions())
    print(f"total {time.perf_counter() - t0:.0f} s")
    if ns.json:
        write_json(rows, ns.json)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
