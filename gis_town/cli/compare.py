"""``gis-town compare``: two surveys of the same town, parcel by parcel (两期耕地调查对比)."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import TYPE_CHECKING

from gis_town.cli.common import (
    add_command,
    echo,
    echo_written,
    print_table,
    write_rejects,
    written_since,
)
from gis_town.errors import InputError

if TYPE_CHECKING:  # pragma: no cover
    from gis_town.runners.compare import CompareResult


def register(sub) -> None:
    p = add_command(
        sub,
        "compare",
        "两期调查对比 compare two surveys: changes per piece, by village, newly abandoned parcels",
        description=(
            "按图形重叠(高斯-克吕格投影)匹配两期耕地地块，不按编码；每个重叠图斑一行，细碎重叠忽略 / "
            "parcels of the OLD and NEW survey matched by overlap in the Gauss-Kruger zone (never by id); "
            "one row per overlapping piece; slivers below [compare] sliver_share / sliver_min_m2 ignored. "
            "Writes changes.csv/.xlsx/.gpkg, changes_villages.csv, the newly abandoned visit list "
            "(xlsx/KML/GPX) and the change map (changes.html, changes.pdf)."
        ),
    )
    p.add_argument("old", type=Path, help="上期调查 the OLD survey (GeoPackage, folder or .gdb with farmland)")
    p.add_argument("new", type=Path, help="本期调查 the NEW survey (GeoPackage, folder or .gdb with farmland)")
    p.add_argument("--config", type=Path, default=None,
                   help="配置文件 town config (TOML/YAML); default: town.toml beside NEW")
    p.add_argument("--out", type=Path, default=Path("reports/compare"),
                   help="输出目录 output folder (default: reports/compare)")
    p.add_argument("--sliver-share", type=float, default=None,
                   help="细碎重叠占较小地块比例 sliver share of the smaller parcel (default: [compare] 0.05)")
    p.add_argument("--sliver-min-m2", type=float, default=None,
                   help="细碎重叠最小面积(平方米) sliver area floor in m² (default: [compare] 10)")
    p.add_argument("--old-date", default=None, metavar="YYYY-MM-DD",
                   help="上期数据日期 the OLD survey's date (default: [town] data_date of its own config)")
    p.add_argument("--new-date", default=None, metavar="YYYY-MM-DD",
                   help="本期数据日期 the NEW survey's date (default: [town] data_date)")
    p.add_argument("--offline", action="store_true", help="离线地图 map without web tiles")
    p.add_argument("--no-map", action="store_true", help="不画变化图 write neither changes.html nor changes.pdf")
    p.add_argument("--no-print", action="store_true", help="不出打印版 no changes.pdf (the web map only)")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="Dask 调度器地址 run the matching on an existing Dask cluster; default: [dask] scheduler")
    p.add_argument("--workers", type=int, default=None, metavar="N",
                   help="本机 Dask 工作进程数 run the matching on a local Dask cluster of N workers; "
                        "default: [dask] workers, else one process (same results either way)")
    p.set_defaults(func=run)


def _check_values(args: argparse.Namespace) -> None:
    share, floor = args.sliver_share, args.sliver_min_m2
    if share is not None and not 0 <= share < 1:
        raise InputError(f"--sliver-share 应在 0 与 1 之间 / must be in [0, 1), got {share}")
    if floor is not None and floor < 0:
        raise InputError(f"--sliver-min-m2 不能为负 / must not be negative, got {floor}")


def _date(value: str | None, option: str):
    import pandas as pd

    if value is None:
        return None
    try:
        return pd.Timestamp(value).date()
    except (ValueError, TypeError):
        raise InputError(f"{option} 应为日期 / must be a date YYYY-MM-DD, got {value!r}") from None


def _dated(cfg, date):
    """``cfg`` with ``[town] data_date`` set to ``date``."""
    return cfg.model_copy(update={"town": cfg.town.model_copy(update={"data_date": date})})


def _load(args: argparse.Namespace):
    """(config, OLD town, NEW town): each survey's farmland (and the NEW villages and roads).

    The OLD survey's date is ``--old-date``, else the ``data_date`` of a
    config of its own; a config it shares with NEW (one folder, or
    ``--config``) dates the NEW survey only.
    """
    from gis_town.config import config_for, find_config
    from gis_town.io.town import load_town

    old_date, new_date = _date(args.old_date, "--old-date"), _date(args.new_date, "--new-date")
    cfg = config_for(args.new, args.config)
    if new_date is not None:
        cfg = _dated(cfg, new_date)
    old_cfg = config_for(args.old, args.config)
    shared = args.config is not None or find_config(args.old) == find_config(args.new)
    if old_date is not None or shared:
        old_cfg = _dated(old_cfg, old_date)
    old = load_town(args.old, old_cfg, layers=["farmland"], required=("farmland",))
    new = load_town(args.new, cfg, layers=["farmland", "villages", "roads"], required=("farmland",))
    return cfg, old, new


def _survey_land(path: Path):
    """The other land classes of a 三调 database's DLTB (not 01 耕地), or None when NEW is no such database."""
    import pyogrio

    from gis_town.io.survey import FARMLAND_WHERE, is_file_gdb, survey_layers

    if not is_file_gdb(path):
        return None
    names = [str(n) for n, _ in pyogrio.list_layers(path)]
    dltb = survey_layers(path, names).get("farmland")
    if dltb is None:
        return None
    fields = {str(f).upper(): str(f) for f in pyogrio.read_info(path, layer=dltb)["fields"]}
    if "DLBM" not in fields:
        return None
    cols = [fields["DLBM"], *([fields["DLMC"]] if "DLMC" in fields else [])]
    land = pyogrio.read_dataframe(path, layer=dltb, columns=cols, where=f"NOT ({FARMLAND_WHERE})")
    return land.rename(columns={v: k for k, v in fields.items() if k in ("DLBM", "DLMC")})


def run(args: argparse.Namespace) -> int:
    """Run ``gis-town compare``: the runner's result written, printed and mapped (heavy imports here)."""
    from gis_town.runners.compare import run_compare

    _check_values(args)
    cfg, old, new = _load(args)
    kwargs = {"sliver_share": args.sliver_share, "sliver_min_m2": args.sliver_min_m2,
              "new_land": _survey_land(args.new)}
    scheduler = args.scheduler or cfg.dask.scheduler
    workers = args.workers if args.workers is not None else cfg.dask.workers
    if scheduler or workers is not None:
        from gis_town.parallel.cluster import client_for
        from gis_town.parallel.compare import compare_surveys

        echo(f"Dask 分区计算 partitioned matching on {scheduler or f'本机 local, {workers} workers'}")
        with client_for(scheduler, workers):
            result = run_compare(old, new, cfg, compare=compare_surveys, **kwargs)
    else:
        result = run_compare(old, new, cfg, **kwargs)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    _write(result, out, cfg.town.name)
    if not args.no_map:
        _maps(new, result, out, offline=args.offline, print_map=not args.no_print)
    _print(result, cfg.town.name)
    extra = old.problems.assign(layer="上期 old " + old.problems["layer"].astype(str))
    write_rejects(new, out, extra=extra)
    echo_written(written_since(out, t0), out)
    return 0


def _write(result: CompareResult, out: Path, town_name: str) -> list[Path]:
    """Write changes.csv, changes.xlsx, changes_villages.csv, changes.gpkg and the newly abandoned list."""
    import pandas as pd

    from gis_town.io.export import write_visit_list
    from gis_town.io.write import write_csv, write_vector, write_xlsx
    from gis_town.reports.compare import changes_columns, changes_sheets, changes_table, visit_frame

    paths = [write_csv(changes_table(result.pieces), out / "changes.csv")]
    paths.append(write_csv(result.villages, out / "changes_villages.csv"))
    sheets, titles = changes_sheets(result)
    paths.append(write_xlsx(sheets, out / "changes.xlsx", titles=titles))
    layer = result.pieces[[*changes_columns(result.pieces), result.pieces.geometry.name]]
    paths.append(write_vector(layer, out / "changes.gpkg", layer="changes", fmt="gpkg", crs="EPSG:4490"))
    na = result.newly_abandoned
    paths.append(write_csv(pd.DataFrame(na.drop(columns=na.geometry.name)), out / "newly_abandoned.csv"))
    if len(na):
        visits = na[[na.geometry.name]].join(visit_frame(result))
        lists = write_visit_list(visits, out, town_name=town_name, stem="newly_abandoned",
                                 title="新增撂荒走访清单 / newly abandoned parcels to visit")
        paths += [lists["xlsx"], lists["kml"], lists["gpx"]]
    return paths


def _maps(town, result: CompareResult, out: Path, *, offline: bool, print_map: bool) -> list[Path]:
    """Write the change map changes.html (and its print version changes.pdf) into ``out``."""
    from gis_town.maps import save_map
    from gis_town.maps.thematic.compare import compare_map, print_compare_map

    path = out / "changes.html"
    save_map(compare_map(town, result, offline=offline, html_path=path), path)
    paths = [path]
    if print_map:
        paths.append(print_compare_map(town, result, out / "changes.pdf", dpi=200))
    return paths


def _print(result: CompareResult, town_name: str) -> None:
    """Print the counts, the notes and the village table."""
    from gis_town.reports.compare import balance_lines, labelled

    echo(
        f"上期 old {result.old_parcels} 个地块 parcels, 本期 new {result.new_parcels} 个地块 parcels: "
        f"{len(result.pieces)} 个对比图斑 pieces"
    )
    for note in result.problems:
        echo(note)
    for line in balance_lines(result):
        echo(line)
    cols = ["village_id", "village_name", "unchanged_mu", "newly_abandoned_mu", "recultivated_mu",
            "lost_mu", "new_mu", "total_mu"]
    print_table(labelled(result.villages[cols]), title=f"{town_name} 各村耕地变化 / change by village (亩 mu)")
    echo(f"新增撂荒地块 newly abandoned parcels to visit: {len(result.newly_abandoned)}")
