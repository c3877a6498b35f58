"""A tiny benchmark harness: measure a workload, compare it with its baseline, print one table.

Every ``benchmarks/bench_<topic>.py`` uses the same three pieces:

- :func:`measure` runs a function (by default in a forked child process, so
  each workload starts from the same memory and its peak is its own) and
  returns a :class:`Measurement`: wall time (s), peak resident memory (MB,
  the process and its children, e.g. Dask workers), features and features/s.
- :func:`compare` turns "ours" and "baseline" measurements into table
  :class:`Row` s with the ratio (baseline wall time / ours) and the target.
- :func:`print_table` prints rows; :func:`versions` records GEOS, GDAL, PROJ
  and the library versions (printed with every table).

A topic benchmark defines ``main(size: str = "town") -> list[Row]`` and ends
with ``if __name__ == "__main__": bench_cli(main)``; ``benchmarks/run.py``
imports every ``main`` and prints one table.

Sizes: ``"town"`` (about 5,000 parcels, scale 0.005), ``"county"`` (1,000,000
parcels, scale 1), or a number: a fraction of the county (``"0.1"``).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import math
import os
import platform
import resource
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "SIZES",
    "Measurement",
    "Row",
    "bench_cli",
    "compare",
    "format_table",
    "measure",
    "print_table",
    "print_versions",
    "scale_of",
    "size_label",
    "versions",
]

#: Named sizes and their scale (fraction of the 1,000,000-parcel county).
SIZES: dict[str, float] = {"town": 0.005, "county": 1.0}

BENCH_DIR = Path(__file__).resolve().parent


def scale_of(size: str | float) -> float:
    """Scale factor of a size: ``"town"`` -> 0.005, ``"county"`` -> 1.0, ``"0.1"`` -> 0.1."""
    if isinstance(size, (int, float)):
        return float(size)
    if size in SIZES:
        return SIZES[size]
    try:
        value = float(size)
    except ValueError:
        raise ValueError(
            f"unknown size {size!r}: use town, county or a fraction of the county (e.g. 0.1)"
        ) from None
    if not 0 < value <= 100:
        raise ValueError(f"scale must be in (0, 100], got {value}")
    return value


def size_label(size: str | float) -> str:
    """``"town"``, ``"county"`` or ``"county x0.1"`` for a fraction."""
    if isinstance(size, str) and size in SIZES:
        return size
    s = scale_of(size)
    for name, v in SIZES.items():
        if math.isclose(s, v):
            return name
    return f"county x{s:g}"


# --------------------------------------------------------------------------- memory


def _rss_tree_mb(pid: int) -> float:
    """Resident memory (MB) of a process and all its descendants (0 if unknown)."""
    try:
        import psutil
    except ImportError:  # pragma: no cover
        return 0.0
    try:
        p = psutil.Process(pid)
        procs = [p, *p.children(recursive=True)]
    except psutil.Error:
        return 0.0
    total = 0
    for q in procs:
        with contextlib.suppress(psutil.Error):
            total += q.memory_info().rss
    return total / 2**20


class _PeakSampler:
    """Sample the RSS of this process and its children every ``interval_s`` in a thread."""

    def __init__(self, interval_s: float = 0.05) -> None:
        self.interval_s = interval_s
        self.peak_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        pid = os.getpid()
        t0 = time.perf_counter()
        while not self._stop.is_set():
            self.peak_mb = max(self.peak_mb, _rss_tree_mb(pid))
            # sample often at first, then less (long runs: the sampler's own cost stays small)
            self._stop.wait(
                self.interval_s if time.perf_counter() - t0 < 5 else 4 * self.interval_s
            )

    def __enter__(self) -> _PeakSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak_mb = max(self.peak_mb, _rss_tree_mb(os.getpid()))


def _maxrss_self_mb() -> float:
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kb / 2**20 if sys.platform == "darwin" else kb / 1024


# --------------------------------------------------------------------------- measure


@dataclass
class Measurement:
    """One timed run.

    Attributes
    ----------
    wall_s : float
        Wall-clock time of the function, seconds.
    peak_rss_mb : float
        Peak resident memory of the process running it and its children
        (Dask workers, subprocesses), MB. In a forked child this includes the
        interpreter and the libraries already imported (about 200-300 MB).
    features : int or None
        Features processed (parcels, points...), for the throughput.
    value : Any
        What the function returned (keep it small: it is pickled back).
    """

    wall_s: float
    peak_rss_mb: float
    features: int | None = None
    value: Any = None

    @property
    def features_per_s(self) -> float | None:
        """Throughput, features per second."""
        if not self.features or self.wall_s <= 0:
            return None
        return self.features / self.wall_s


def _run_here(fn: Callable[..., Any], args, kwargs) -> tuple[float, float, Any]:
    with _PeakSampler() as sampler:
        t0 = time.perf_counter()
        value = fn(*args, **kwargs)
        wall = time.perf_counter() - t0
    return wall, max(sampler.peak_mb, _maxrss_self_mb()), value


def measure(
    fn: Callable[..., Any],
    *args: Any,
    features: int | None = None,
    isolate: bool = True,
    **kwargs: Any,
) -> Measurement:
    """Run ``fn(*args, **kwargs)`` once and measure wall time and peak memory.

    Parameters
    ----------
    fn : callable
        The workload. Its return value comes back in ``Measurement.value``
        (it must be picklable when ``isolate``; return summaries, not data).
    features : int, optional
        Number of features processed, for features/s. When omitted and ``fn``
        returns a dict with ``"features"``, that is used.
    isolate : bool, default True
        Run in a forked child process (POSIX) so that the peak memory is the
        workload's own and nothing it allocates survives it. Falls back to
        the current process where ``fork`` is not available (Windows).

    Returns
    -------
    Measurement

    Raises
    ------
    RuntimeError
        When the workload failed in the child (its traceback is in the message).
    """
    import multiprocessing as mp

    if isolate and "fork" in mp.get_all_start_methods():
        ctx = mp.get_context("fork")
        recv, send = ctx.Pipe(duplex=False)

        def child() -> None:
            try:
                out = ("ok", _run_here(fn, args, kwargs))
            except BaseException:
                out = ("error", traceback.format_exc())
            try:
                send.send(out)
            except Exception:
                send.send(("error", "result not picklable:\n" + traceback.format_exc()))
            send.close()

        proc = ctx.Process(target=child, daemon=False)
        proc.start()
        send.close()
        try:
            status, payload = recv.recv()
        except EOFError:
            proc.join()
            raise RuntimeError(
                f"benchmark {getattr(fn, '__name__', fn)} died (exit code {proc.exitcode}); "
                "out of memory?"
            ) from None
        proc.join()
        if status != "ok":
            raise RuntimeError(f"benchmark {getattr(fn, '__name__', fn)} failed:\n{payload}")
        wall, peak, value = payload
    else:
        wall, peak, value = _run_here(fn, args, kwargs)
    if features is None and isinstance(value, dict) and "features" in value:
        features = int(value["features"])
    return Measurement(wall_s=wall, peak_rss_mb=peak, features=features, value=value)


# --------------------------------------------------------------------------- rows


@dataclass
class Row:
    """One line of the benchmark table.

    ``ratio`` is the baseline's wall time divided by this row's (so > 1 means
    faster than the baseline); the baseline's own row has ratio 1.
    """

    workload: str
    size: str
    impl: str
    wall_s: float | None
    peak_mb: float | None
    features: int | None
    ratio: float | None = None
    target: str = ""
    met: bool | None = None
    note: str = ""

    @property
    def per_s(self) -> float | None:
        """Features per second."""
        if not self.features or not self.wall_s:
            return None
        return self.features / self.wall_s

    def as_dict(self) -> dict[str, Any]:
        """Plain dict (with ``per_s``), for JSON."""
        d = dataclasses.asdict(self)
        d["per_s"] = self.per_s
        return d


def compare(
    workload: str,
    size: str | float,
    ours: Measurement,
    baseline: Measurement | None = None,
    *,
    ours_name: str = "gis_town",
    baseline_name: str = "baseline",
    target_s: float | None = None,
    target_ratio: float | None = None,
    target_mb: float | None = None,
    note: str = "",
    baseline_note: str = "",
) -> list[Row]:
    """Rows for one workload: ours (with the ratio and the target) and the baseline.

    Parameters
    ----------
    target_s : float, optional
        Our wall time must be below this (s).
    target_ratio : float, optional
        Our speed-up over the baseline must be at least this.
    target_mb : float, optional
        Our peak memory must be below this (MB).
    """
    label = size_label(size)
    ratio = None
    if baseline is not None and ours.wall_s > 0:
        ratio = baseline.wall_s / ours.wall_s
    targets, met = [], []
    if target_s is not None:
        targets.append(f"< {target_s:g} s")
        met.append(ours.wall_s < target_s)
    if target_ratio is not None:
        targets.append(f">= {target_ratio:g}x")
        met.append(ratio is not None and ratio >= target_ratio)
    if target_mb is not None:
        targets.append(f"< {target_mb / 1024:g} GB")
        met.append(ours.peak_rss_mb < target_mb)
    rows = [
        Row(
            workload,
            label,
            ours_name,
            ours.wall_s,
            ours.peak_rss_mb,
            ours.features,
            ratio,
            ", ".join(targets),
            all(met) if met else None,
            note,
        )
    ]
    if baseline is not None:
        rows.append(
            Row(
                workload,
                label,
                baseline_name,
                baseline.wall_s,
                baseline.peak_rss_mb,
                baseline.features,
                1.0,
                "",
                None,
                baseline_note,
            )
        )
    return rows


# --------------------------------------------------------------------------- printing


def _si(v: float | None) -> str:
    if v is None:
        return ""
    for unit, div in (("M", 1e6), ("k", 1e3)):
        if abs(v) >= div:
            return f"{v / div:.2f}{unit}"
    return f"{v:.0f}"


def _num(v: float | None, fmt: str) -> str:
    return "" if v is None or (isinstance(v, float) and math.isnan(v)) else format(v, fmt)


COLUMNS = (
    "workload",
    "size",
    "implementation",
    "wall s",
    "peak MB",
    "features",
    "features/s",
    "ratio",
    "target",
    "met",
    "note",
)


def _cells(r: Row) -> list[str]:
    met = "" if r.met is None else ("yes" if r.met else "NO")
    return [
        r.workload,
        r.size,
        r.impl,
        _num(r.wall_s, ".2f"),
        _num(r.peak_mb, ",.0f"),
        _si(r.features),
        _si(r.per_s),
        "" if r.ratio is None else f"{r.ratio:.1f}x",
        r.target,
        met,
        r.note,
    ]


def format_table(rows: Iterable[Row], *, markdown: bool = False) -> str:
    """Format rows as an aligned text table, or as a Markdown table."""
    body = [_cells(r) for r in rows]
    if markdown:
        lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "|".join("---" for _ in COLUMNS) + "|"]
        lines += ["| " + " | ".join(c.replace("|", "/") for c in cells) + " |" for cells in body]
        return "\n".join(lines)
    widths = [max([len(c)] + [len(b[j]) for b in body]) for j, c in enumerate(COLUMNS)]
    numeric = {3, 4, 5, 6, 7}

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            c.rjust(w) if j in numeric else c.ljust(w)
            for j, (c, w) in enumerate(zip(cells, widths))
        ).rstrip()

    out = [line(COLUMNS), "  ".join("-" * w for w in widths)]
    out += [line(b) for b in body]
    return "\n".join(out)


def print_table(rows: Iterable[Row], *, title: str | None = None, markdown: bool = False) -> None:
    """Print :func:`format_table` (with a title line)."""
    if title:
        print(title)
    print(format_table(list(rows), markdown=markdown), flush=True)


# --------------------------------------------------------------------------- versions


def versions() -> dict[str, str]:
    """GEOS, GDAL, PROJ and library versions, with the machine (cores, memory)."""
    out: dict[str, str] = {"python": platform.python_version()}
    try:
        import shapely

        out["GEOS"] = shapely.geos_version_string
        out["shapely"] = shapely.__version__
    except ImportError:  # pragma: no cover
        pass
    try:
        import pyogrio

        out["GDAL"] = pyogrio.__gdal_version_string__
        out["pyogrio"] = pyogrio.__version__
    except ImportError:  # pragma: no cover
        pass
    try:
        import pyproj

        out["PROJ"] = pyproj.proj_version_str
        out["pyproj"] = pyproj.__version__
    except ImportError:  # pragma: no cover
        pass
    for mod in (
        "geopandas",
        "numpy",
        "pandas",
        "pyarrow",
        "fiona",
        "rasterio",
        "exactextract",
        "rasterstats",
        "dask",
        "distributed",
        "dask_geopandas",
    ):
        try:
            m = __import__(mod)
            out[mod] = str(getattr(m, "__version__", "?"))
        except Exception:
            continue
    with contextlib.suppress(Exception):
        import fiona

        out["GDAL (fiona)"] = fiona.__gdal_version__
    out["cpus"] = str(os.cpu_count())
    with contextlib.suppress(Exception):
        import psutil

        out["memory GB"] = f"{psutil.virtual_memory().total / 2**30:.1f}"
    out["machine"] = f"{platform.system()} {platform.machine()}"
    return out


def format_versions(v: dict[str, str] | None = None) -> str:
    """One line: ``GEOS 3.14.1 | GDAL 3.12.4 | PROJ 9.5.1 | shapely 2.2.0 | ...``."""
    v = v or versions()
    first = [k for k in ("GEOS", "GDAL", "PROJ") if k in v]
    rest = [k for k in v if k not in first]
    return " | ".join(f"{k} {v[k]}" for k in first + rest)


def print_versions() -> None:
    """Print :func:`format_versions`."""
    print(format_versions(), flush=True)


# --------------------------------------------------------------------------- CLI


def bench_cli(main: Callable[[str], list[Row]], argv: Sequence[str] | None = None) -> int:
    """Command line of a topic benchmark: ``--size town|county|both|<fraction>``, ``--json FILE``.

    Runs ``main(size)`` for each size, prints the versions and one table.
    """
    p = argparse.ArgumentParser(description=(main.__module__ or "") + " benchmark")
    p.add_argument(
        "--size",
        default="town",
        help="town (about 5,000 parcels), county (1,000,000), both, or a fraction "
        "of the county such as 0.1",
    )
    p.add_argument("--json", type=Path, default=None, help="also write the rows as JSON")
    p.add_argument("--markdown", action="store_true", help="print a Markdown table")
    ns = p.parse_args(argv)
    sizes = ["town", "county"] if ns.size == "both" else [ns.size]
    rows: list[Row] = []
    for size in sizes:
        scale_of(size)  # validate early
        rows.extend(main(size))
    print_versions()
    print_table(rows, markdown=ns.markdown)
    if ns.json:
        write_json(rows, ns.json)
    return 0


def write_json(rows: Iterable[Row], path: Path) -> None:
    """The rows and the library versions as JSON (``--json``)."""
    path.write_text(
        json.dumps(
            {"versions": versions(), "rows": [r.as_dict() for r in rows]},
            ensure_ascii=False,
            indent=1,
        ),
        encoding="utf-8",
    )
