"""Shared pieces of the subcommands: options, loading the town, summaries, tables.

Printing happens here and in the command modules only, through
:data:`gis_town.cli.console.console` (``-q`` hides it); the library logs.
This module imports only the standard library at import time (building the
parser must not import pandas or geopandas); the rest is imported when used.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from gis_town.cli.console import console, display_width, terminal_width

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from gis_town.config import TownConfig
    from gis_town.io.town import Town

__all__ = [
    "add_command",
    "add_town_args",
    "config_from_args",
    "echo",
    "echo_written",
    "format_table",
    "open_town",
    "print_table",
    "write_rejects",
]


def add_command(sub, name: str, help_text: str, description: str | None = None) -> argparse.ArgumentParser:
    """Add a subcommand that also accepts -v/-q/--debug after its name."""
    p = sub.add_parser(name, help=help_text, description=description or help_text)
    p.add_argument("-v", "--verbose", action="count", default=argparse.SUPPRESS, help="更多日志 more log output")
    p.add_argument("-q", "--quiet", action="count", default=argparse.SUPPRESS, help="只显示错误 only errors")
    p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="显示完整堆栈 show tracebacks")
    return p


def add_town_args(
    p: argparse.ArgumentParser,
    *,
    out: str | None = "reports",
    town_required: bool = True,
    vector_format: bool = True,
    dask: bool = True,
) -> None:
    """Add the town path, ``--config``, (optionally) ``--out``, and the vector ``--format`` and Dask
    options (``--scheduler``, ``--workers``) unless the command writes no layers or runs in one process."""
    p.add_argument(
        "town", nargs=None if town_required else "?", type=Path,
        help="乡镇数据 (GeoPackage 或文件夹) / the town GeoPackage or folder of layers",
    )
    p.add_argument("--config", type=Path, default=None, help="配置文件 town config (TOML/YAML); default: town.toml beside the town")
    if out is not None:
        p.add_argument("--out", type=Path, default=Path(out), help=f"输出目录 output folder (default: {out})")
    if vector_format:
        p.add_argument("--format", dest="vector_format", choices=["gpkg", "shp", "kml", "kmz"], default="gpkg",
                       help="矢量输出格式 vector output format: gpkg (default), shp (GBK, for ArcGIS 10.x/MapGIS/CASS), "
                            "kml or kmz (奥维互动地图, 两步路 and other phone apps)")
    if not dask:
        return
    p.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="Dask 调度器地址 run on an existing Dask cluster (tcp://host:8786, or a scheduler "
                        ".json file); default: [dask] scheduler in the config. Opt-in (areas, patrol)")
    p.add_argument("--workers", type=int, default=None, metavar="N",
                   help="本机 Dask 工作进程数 run on a local Dask cluster of N worker processes; default: "
                        "[dask] workers in the config, else one process (areas, patrol)")


def config_from_args(args: argparse.Namespace) -> TownConfig:
    """The config named by ``--config``, or found beside the town, or defaults."""
    from gis_town.config import config_for

    return config_for(getattr(args, "town", None), getattr(args, "config", None))


def open_town(
    args: argparse.Namespace,
    *,
    layers=None,
    required: tuple[str, ...] = (),
    config: TownConfig | None = None,
) -> Town:
    """Load the town named on the command line (with ``config``, when the caller has it already)."""
    from gis_town.io.town import load_town

    cfg = config if config is not None else config_from_args(args)
    return load_town(args.town, cfg, layers=layers, required=required)


def echo(text: str = "") -> None:
    """Print a line of user-facing output (hidden with ``-q``)."""
    console.echo(text)


def echo_written(paths, folder: Path | None = None) -> None:
    """Say what was written, one way for every command: the folder as given, its full path, the names.

    ``已写出 wrote 3 个文件 files to reports/risk (/home/u/reports/risk): risk.csv, risk.gpkg, ...``.
    ``paths`` may hold None (a file not written); ``folder`` defaults to their common folder.
    """
    import os

    paths = [Path(p) for p in paths if p is not None]
    if not paths:
        return
    if folder is None:
        folder = Path(os.path.commonpath([str(p.parent) for p in paths]))
    full = "" if folder.is_absolute() else f" ({folder.resolve()})"
    names = []
    for p in paths:
        try:
            names.append(str(p.relative_to(folder)))
        except ValueError:
            names.append(str(p))
    echo(f"已写出 wrote {len(paths)} 个文件 files to {folder}{full}: {', '.join(names)}")


def written_since(folder: Path, t0: float) -> list[Path]:
    """The files under ``folder`` written at or after ``t0`` (``time.time()``), in name order.

    For :func:`echo_written` when a command writes more files than it returns.
    """
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith(".")
                  and p.stat().st_mtime >= t0 - 1.0)


def write_rejects(town: Town, out_dir: Path, *, extra: pd.DataFrame | None = None) -> Path | None:
    """Write ``rejects.csv`` when a feature was rejected or repaired; print the feature accounting.

    With nothing to report no file is written (a header-only file in every
    output folder tells a clerk nothing), a ``rejects.csv`` left by an earlier
    run in ``out_dir`` is removed so it cannot be mistaken for this run's, and
    the console says so. Returns the path written, or None.
    """
    import pandas as pd

    from gis_town.io.write import write_csv

    problems = town.problems if extra is None or not len(extra) else pd.concat([town.problems, extra], ignore_index=True)
    path: Path | None = Path(out_dir) / "rejects.csv"
    if len(problems):
        write_csv(problems, path)
    else:
        path.unlink(missing_ok=True)  # our own output of an earlier run, never an input
        path = None
    counts = town.counts.rename(columns={
        "layer": "图层 layer", "read": "读入 read", "used": "使用 used",
        "repaired": "修复 repaired", "rejected": "剔除 rejected",
    })
    if console.enabled():
        echo(format_table(counts, title="要素统计 / feature accounting"))
    n_rej = int(town.counts["rejected"].sum()) if len(town.counts) else 0
    if n_rej:
        echo(f"有 {n_rej} 个要素被剔除，原因见 / {n_rej} features rejected, reasons in {path}")
    elif path is None:
        echo("没有剔除或修复的要素，未写 rejects.csv / nothing rejected or repaired: no rejects.csv written")
    return path


_width = display_width  # columns on a terminal (CJK count double)


def _fmt(v: object, count: bool = False) -> str:
    if v is None or (isinstance(v, float) and v != v):
        return ""
    if isinstance(v, float):
        return f"{v:,.0f}" if count and v == round(v) else f"{v:,.2f}"
    return str(v)


def _count_cells(frame: pd.DataFrame) -> list[list[bool]]:
    """Which cells are counts (shown without decimals): whole numbers in a column that is
    not a measure (areas, lengths, money, scores keep two decimals), in every row of a
    column of whole numbers and in the rows whose unit is a count (户, 株: :func:`count_rows`)."""
    import numpy as np

    from gis_town.io.write import count_rows, is_measure

    rows = count_rows(frame)
    cells = []
    for c in frame.columns:
        s = frame[c]
        if s.dtype.kind != "f" or is_measure(str(c)):
            cells.append(np.zeros(len(frame), dtype=bool))
            continue
        v = s.to_numpy(dtype="float64", na_value=np.nan)
        whole = bool(np.all(np.isnan(v) | (v == np.round(v))))
        cells.append(np.ones(len(frame), dtype=bool) if whole else rows)
    return [list(r) for r in zip(*cells)] if cells else [[] for _ in range(len(frame))]


def _fit_columns(widths: list[int], max_width: int) -> int:
    """How many leading columns fit in ``max_width`` (two spaces between; at least one)."""
    used, n = 0, 0
    for w in widths:
        if n and used + 2 + w > max_width:
            break
        used += w + (2 if n else 0)
        n += 1
    return max(n, 1)


def _cut(text: str, width: int) -> str:
    """``text`` cut to ``width`` columns, ending in … when cut."""
    if _width(text) <= width:
        return text
    out = ""
    for ch in text:
        if _width(out + ch) > width - 1:
            break
        out += ch
    return out + "…"


def format_table(
    df: pd.DataFrame, *, title: str | None = None, max_rows: int = 60, max_width: int | None = None
) -> str:
    """Format a DataFrame as an aligned text table (CJK characters count double).

    Columns that do not fit in ``max_width`` (default: the terminal's width,
    :func:`gis_town.cli.console.terminal_width`)
    are left off the screen and named below the table: the files hold them all.
    """
    frame = df.head(max_rows)
    cols = [str(c) for c in frame.columns]
    counts = _count_cells(frame)
    rows = [[_fmt(v, k) for v, k in zip(r, ks)] for r, ks in zip(frame.itertuples(index=False, name=None), counts)]
    widths = [max([_width(c)] + [_width(r[j]) for r in rows]) for j, c in enumerate(cols)]
    limit = max_width or terminal_width()
    shown = _fit_columns(widths, limit)
    hidden = cols[shown:]
    cols, widths, rows = cols[:shown], widths[:shown], [r[:shown] for r in rows]
    if shown == 1 and widths[0] > limit:  # one column wider than the screen: cut its cells
        cols, rows = [_cut(cols[0], limit)], [[_cut(r[0], limit)] for r in rows]
        widths = [limit]

    def line(cells: list[str]) -> str:
        out = []
        for cell, w in zip(cells, widths):
            pad = " " * (w - _width(cell))
            out.append(pad + cell if cell[:1].isdigit() or cell[:1] == "-" else cell + pad)
        return "  ".join(out).rstrip()

    parts = [title] if title else []
    parts += [line(cols), "  ".join("-" * w for w in widths)] + [line(r) for r in rows]
    if len(df) > max_rows:
        parts.append(f"... ({len(df) - max_rows} more rows)")
    if hidden:
        parts.append(f"... (另有 {len(hidden)} 列见输出文件 / {len(hidden)} more columns in the output files)")
    return "\n".join(parts)


def print_table(df: pd.DataFrame, *, title: str | None = None, max_rows: int = 60) -> None:
    """Print :func:`format_table` (nothing to format with ``-q``)."""
    if console.enabled():
        echo(format_table(df, title=title, max_rows=max_rows))
