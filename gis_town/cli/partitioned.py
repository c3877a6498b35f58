"""``gis-town areas`` and ``gis-town patrol`` on the partitioned (Dask) path.

Not commands of their own: :func:`gis_town.cli.areas.run` and
:func:`gis_town.cli.patrol.run` hand over to :func:`run_areas_partitioned` /
:func:`patrol_partitioned` when a scheduler or a worker count is given on
the command line (``--scheduler ADDRESS`` / ``--workers N``) or in the
config's ``[dask]`` section. The outputs (CSV, xlsx, rejects.csv, the
printed tables) are the same files as the one-process run writes; the large
layer (farmland, patrol points) is read, validated and analysed in the
workers (:func:`gis_town.parallel.areas_report`,
:func:`gis_town.parallel.analyze_patrols`), the small layers are loaded here.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from gis_town.cli.common import config_from_args, echo, print_table, write_rejects
from gis_town.config import TownConfig
from gis_town.errors import LayerError
from gis_town.io.town import load_town
from gis_town.io.write import write_csv, write_xlsx
from gis_town.parallel.sources import layer_source as _layer_source
from gis_town.parallel.sources import merge_layer_report as _merge_layer_report

__all__ = ["dask_options", "dask_requested", "patrol_partitioned", "run_areas_partitioned"]

#: Layers of ``gis-town areas``, in the order the one-process run loads them.
_AREA_LAYERS = ["villages", "farmland", "zones", "basic_farmland"]


def dask_options(
    args: argparse.Namespace, config: TownConfig | None = None
) -> tuple[str | None, int | None]:
    """``(scheduler, workers)`` from the command line, else from the config's ``[dask]``."""
    cfg = config if config is not None else config_from_args(args)
    scheduler = getattr(args, "scheduler", None) or cfg.dask.scheduler
    workers = getattr(args, "workers", None)
    if workers is None:
        workers = cfg.dask.workers
    return scheduler, workers


def dask_requested(args: argparse.Namespace, config: TownConfig | None = None) -> bool:
    """True when the command line or the config asks for Dask (a scheduler or a worker count)."""
    scheduler, workers = dask_options(args, config)
    return bool(scheduler) or workers is not None


def _open_partitioned(args: argparse.Namespace, name: str, small: list[str], **load):
    """The config, the cluster to use, the small layers loaded here, and where the large one is.

    Returns ``(cfg, scheduler, workers, town, path, layer, read_options)``.
    """
    cfg = config_from_args(args)
    scheduler, workers = dask_options(args, cfg)
    town_path = Path(args.town)
    if not town_path.exists():
        raise LayerError(
            "文件不存在 / town file or folder not found: check the path", path=str(town_path)
        )
    town = load_town(town_path, cfg, layers=small, **load)
    path, layer, opts = _layer_source(town_path, cfg, name)
    where = scheduler or f"本机 local, {workers} workers"
    echo(f"Dask 分区计算 partitioned run on {where}: {path}")
    return cfg, scheduler, workers, town, path, layer, opts


def patrol_partitioned(args: argparse.Namespace):
    """``gis-town patrol``'s analysis with the patrol points processed per partition.

    Kept for callers of the old CLI helper: the work is
    :func:`gis_town.runners.patrol.run_patrol`'s. Returns the town (rivers and
    villages loaded; the patrols' problems and counts merged in) and the
    :class:`~gis_town.analysis.patrol.PatrolResult`.
    """
    from gis_town.runners.patrol import run_patrol

    cfg = config_from_args(args)
    scheduler, workers = dask_options(args, cfg)
    town = load_town(Path(args.town), cfg, layers=["rivers", "villages"], required=("rivers",))
    res = run_patrol(town, cfg, as_of=args.as_of, scheduler=scheduler, workers=workers)
    return town, res


def run_areas_partitioned(args: argparse.Namespace) -> int:
    """``gis-town areas`` with the farmland processed per partition on a Dask cluster."""
    from gis_town.parallel import areas_report, client_for
    from gis_town.reports.areas import zh_columns as _zh

    cfg, scheduler, workers, town, fpath, flayer, opts = _open_partitioned(
        args, "farmland", [n for n in _AREA_LAYERS if n != "farmland"]
    )
    with client_for(scheduler, workers):
        rep = areas_report(
            fpath,
            villages=town.layers.get("villages"),
            zones=town.layers.get("zones"),
            basic_farmland=town.layers.get("basic_farmland"),
            by=args.by,
            read_options=opts,
            npartitions=cfg.dask.partitions,
            layer=flayer,
            path=str(fpath),
        )
    _merge_layer_report(town, "farmland", rep.problems, rep.counts, _AREA_LAYERS)
    echo(f"{rep.partitions} 个分区 partitions")

    out_csv: Path = args.out
    if out_csv.suffix.lower() != ".csv":
        out_csv = out_csv / "areas.csv"
    base = out_csv.with_suffix("")
    sheets: dict[str, pd.DataFrame] = {}
    main = rep.main
    write_csv(main, out_csv)
    sheets["村-状态 villages"] = _zh(main)
    print_table(main, title=f"耕地面积 farmland area by village and {args.by} (亩 mu, 公顷 ha)")
    if rep.by_project is not None:
        t = rep.by_project
        write_csv(t, base.with_name(base.name + "_by_project.csv"))
        sheets["项目 projects"] = _zh(t)
        print_table(t, title="按项目 by project")
    if rep.by_zone is not None:
        t = rep.by_zone
        write_csv(t, base.with_name(base.name + "_by_zone.csv"))
        sheets["分区 zones"] = _zh(t)
        print_table(t, title="按规划分区 by planning zone (每类单独合计 one total per kind)")
    if rep.basic_farmland is not None:
        t = rep.basic_farmland
        write_csv(t, base.with_name(base.name + "_basic_farmland.csv"))
        sheets["基本农田 basic farmland"] = _zh(t)
    xlsx = write_xlsx(
        sheets,
        out_csv.with_suffix(".xlsx"),
        titles={k: f"{town.config.town.name} 耕地面积统计 ({k})" for k in sheets},
    )
    write_rejects(town, out_csv.parent)
    echo(f"已写出 wrote {out_csv} and {xlsx}")
    return 0
