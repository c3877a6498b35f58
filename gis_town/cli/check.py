"""``gis-town check``: check farmland plots before acceptance (验收前检查).

::

    gis-town check PLOTS [--layer NAME] [--town TOWN.gpkg] [--config town.toml]
                   [--dem DEM.tif] [--ndvi NDVI.tif]
                   [--rules high_standard|reclamation|FILE] [--id-field plot_id]
                   [--write-repaired] [--format gpkg|shp]
                   [--workers N | --scheduler ADDRESS] --out DIR

PLOTS is a vector file, or ``FILE.gpkg:LAYER``. The plots are read raw
(invalid geometries reach the validity rule); context layers (roads, rivers,
red line, basic farmland, resettlement) come from the town. Writes
``check_results.csv``, ``check_summary.csv``, ``check_report.xlsx``,
``check_report.html``, ``failed_plots.gpkg`` (and ``repaired_plots.gpkg``
with ``--write-repaired``) into ``DIR``.

The check itself is :func:`gis_town.runners.check.run_check`; this module
reads the plots, writes its result (labelled by :mod:`gis_town.reports.check`)
and prints it.

``--workers N`` (a local Dask cluster of N worker processes) or ``--scheduler
ADDRESS`` (a running cluster), else the config's ``[dask]``, check the plots
per partition: the same files (:func:`gis_town.parallel.check_partitioned`).

Exit code: 0 when every plot passes, 1 when any fails (or could not be fully
checked), 2 on bad input.
"""

from __future__ import annotations

import argparse
import logging
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
from gis_town.errors import InputError, LayerError

if TYPE_CHECKING:  # pragma: no cover
    import geopandas as gpd

    from gis_town.config import TownConfig
    from gis_town.io.town import Town
    from gis_town.runners.check import CheckResult

__all__ = ["register", "run"]

log = logging.getLogger(__name__)


def register(sub) -> None:
    p = add_command(
        sub,
        "check",
        "验收前检查 check farmland plots before acceptance (high-standard, reclamation)",
    )
    p.add_argument(
        "plots",
        help="待检查地块 plots to check: a file, or FILE.gpkg:LAYER (e.g. layers/demo_town.gpkg:acceptance_plots)",
    )
    p.add_argument(
        "--layer", default=None, help="地块图层名 the plots' layer in a multi-layer file"
    )
    p.add_argument(
        "--town",
        type=Path,
        default=None,
        help="乡镇数据 town GeoPackage or folder with roads, rivers, redline, basic_farmland, resettlement "
        "(default: the plots' GeoPackage when it holds them)",
    )
    p.add_argument(
        "--config",
        type=Path,
        default=None,
        help="配置文件 town config (default: town.toml beside the town)",
    )
    p.add_argument(
        "--dem",
        type=Path,
        default=None,
        help="高程 DEM GeoTIFF (default: [rasters] dem of the config)",
    )
    p.add_argument(
        "--ndvi",
        type=Path,
        default=None,
        help="NDVI GeoTIFF (default: the config's latest [rasters] ndvi)",
    )
    p.add_argument(
        "--rules",
        default=None,
        help="规则集 rule set: high_standard, reclamation, a set named in the config, or a TOML file "
        "(default: reclamation for reclaimed plots, else high_standard)",
    )
    p.add_argument(
        "--id-field", default="plot_id", help="地块编号字段 the plots' id field (default plot_id)"
    )
    p.add_argument(
        "--write-repaired",
        action="store_true",
        help="另存修复后的几何 also write repaired_plots (make_valid), never over the input",
    )
    p.add_argument(
        "--format",
        dest="vector_format",
        choices=["gpkg", "shp"],
        default="gpkg",
        help="矢量输出格式 vector output format",
    )
    p.add_argument(
        "--scheduler",
        default=None,
        metavar="ADDRESS",
        help="Dask 调度器地址 check on a running Dask cluster (tcp://host:8786, or a scheduler .json "
        "file); default: [dask] scheduler in the config",
    )
    p.add_argument(
        "--workers",
        type=int,
        default=None,
        metavar="N",
        help="本机 Dask 工作进程数 check the plots per partition on a local Dask cluster of N worker "
        "processes; default: [dask] workers in the config, else one process",
    )
    p.add_argument("--out", type=Path, required=True, help="输出目录 output folder")
    p.set_defaults(func=run)


def _split_plots_arg(spec: str, layer: str | None) -> tuple[Path, str | None]:
    """``FILE`` or ``FILE:LAYER`` (a Windows drive letter ``C:\\`` is not a layer)."""
    path = Path(spec)
    if layer is None and not path.exists() and ":" in spec:
        head, _, tail = spec.rpartition(":")
        if head and tail and "/" not in tail and "\\" not in tail and Path(head).exists():
            return Path(head), tail
    return path, layer


def _read_plots(path: Path, layer: str | None) -> tuple[gpd.GeoDataFrame, str]:
    from gis_town.io.read import list_layers, read_layer
    from gis_town.io.validate import check_coordinates

    if path.suffix.lower() == ".gpkg" and layer is None and path.exists():
        names = [n for n, _ in list_layers(path)]
        if len(names) > 1:
            raise LayerError(
                f"文件有多个图层，请指明 / the file has several layers ({', '.join(names)}): "
                f"name one as {path}:LAYER or with --layer",
                path=str(path),
            )
    gdf = read_layer(path, layer)
    name = layer or path.stem
    if len(gdf) == 0:
        raise LayerError("图层为空 / the plots layer has no features", path=str(path), layer=name)
    check_coordinates(gdf, layer=name, path=str(path))
    return gdf, name


def _default_rules(gdf: gpd.GeoDataFrame, layer: str) -> str:
    if layer == "reclamation" or ("household_id" in gdf.columns and "project" not in gdf.columns):
        return "reclamation"
    return "high_standard"


def _town_path(args: argparse.Namespace, plots_path: Path) -> Path | None:
    if args.town is not None:
        return args.town
    if plots_path.suffix.lower() == ".gpkg":
        from gis_town.io.read import list_layers

        names = {n for n, _ in list_layers(plots_path)}
        if names & {"roads", "rivers", "redline", "basic_farmland", "resettlement"}:
            return plots_path
    return None


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return False


def _context_town(town_path: Path | None, cfg: TownConfig, rule_set) -> Town | None:
    """The town with the context layers the rule set reads; None without a town."""
    from gis_town.io.town import load_town
    from gis_town.runners.check import context_layers

    if town_path is None and not cfg.town_file and not cfg.layers:
        return None
    return load_town(town_path, cfg, layers=context_layers(rule_set))


def _guard_outputs(out: Path, plots_path: Path) -> None:
    """Refuse an ``--out`` whose outputs would overwrite the input plots."""
    from gis_town.io.write import safe_output_path

    for name in ("check_results.csv", "failed_plots.gpkg", "repaired_plots.gpkg"):
        if _same_file(safe_output_path(out, name), plots_path):
            raise InputError(
                "输出会覆盖输入 / an output would overwrite the input plots: choose another --out",
                path=str(plots_path),
            )


def _write_tables(result: CheckResult, out: Path) -> None:
    """check_results.csv and check_summary.csv."""
    from gis_town.io.write import safe_output_path, write_csv
    from gis_town.memory import release_memory

    write_csv(result.results, safe_output_path(out, "check_results.csv"))
    write_csv(result.summary, safe_output_path(out, "check_summary.csv"))
    release_memory()  # a county: the CSV writer's gigabytes of transient text


def _write_workbook(result: CheckResult, out: Path, title: str, meta: dict[str, str]) -> None:
    """check_report.xlsx: the officials' summary with sign-off lines, per plot, every result."""
    from gis_town.io.write import safe_output_path, write_xlsx
    from gis_town.memory import release_memory
    from gis_town.reports.check import workbook_sheets

    book = workbook_sheets(
        result.results,
        result.summary,
        result.rule_set,
        title=title,
        meta=meta,
        counts=result.counts,
    )
    write_xlsx(
        book["sheets"],
        safe_output_path(out, "check_report.xlsx"),
        highlight=book["highlight"],
        titles=book["titles"],
        footer_lines=book["footer_lines"],
    )
    del book
    release_memory()


def _write_html(result: CheckResult, out: Path, title: str, meta: dict[str, str]) -> None:
    """check_report.html with its SVG map of the plots that did not pass."""
    from gis_town.io.write import safe_output_path, write_text
    from gis_town.memory import release_memory
    from gis_town.reports.check import render_html, report_map_svg

    svg = report_map_svg(result)
    page = render_html(
        result.results,
        result.summary,
        result.rule_set,
        title=title,
        meta=meta,
        map_svg=svg,
        counts=result.counts,
    )
    write_text(page, safe_output_path(out, "check_report.html"))
    del svg, page
    release_memory()


def _write_layers(result: CheckResult, args: argparse.Namespace, crs) -> None:
    """failed_plots (and repaired_plots with ``--write-repaired``) in the chosen format."""
    from gis_town.io.write import safe_output_path, write_vector
    from gis_town.reports.check import failed_plots_layer, repaired_plots_layer

    ext = "shp" if args.vector_format == "shp" else "gpkg"
    write_vector(
        failed_plots_layer(result),
        safe_output_path(args.out, f"failed_plots.{ext}"),
        layer="failed_plots",
        fmt=ext,
        crs=crs,
    )
    if not args.write_repaired:
        return
    rep, n_repaired = repaired_plots_layer(result)
    write_vector(
        rep,
        safe_output_path(args.out, f"repaired_plots.{ext}"),
        layer="repaired_plots",
        fmt=ext,
        crs=crs,
    )
    echo(
        f"已修复 {n_repaired} 个无效几何（另存，不覆盖输入）/ {n_repaired} invalid geometries repaired into repaired_plots.{ext} (the input is untouched)"
    )


def _print_results(result: CheckResult) -> None:
    """The rule table, the plots that did not pass and the totals."""
    from gis_town.reports.check import FAILED_PLOTS_LABELS, RULE_TABLE_LABELS

    view = result.counts[list(RULE_TABLE_LABELS)].rename(columns=RULE_TABLE_LABELS)
    print_table(view, title="规则汇总 / rules")
    bad = result.summary.loc[result.failed_mask, list(FAILED_PLOTS_LABELS)]
    if len(bad):
        print_table(
            bad.rename(columns=FAILED_PLOTS_LABELS),
            title="未通过的地块 / plots that did not pass",
            max_rows=40,
        )
    n, n_pass, n_fail, n_inc = result.n_plots, result.n_passed, result.n_failed, result.n_incomplete
    echo(
        f"地块 {n} 个：通过 {n_pass}，不通过 {n_fail}，待补充 {n_inc} / "
        f"{n} plots: {n_pass} passed, {n_fail} failed, {n_inc} incomplete"
    )


def run(args: argparse.Namespace) -> int:
    """Run ``gis-town check`` (heavy imports here: the parser stays light)."""
    from gis_town.analysis.check import load_rule_set
    from gis_town.config import config_for
    from gis_town.reports.check import report_meta, report_title
    from gis_town.runners.check import dask_choice, run_check

    plots_path, layer = _split_plots_arg(args.plots, args.layer)
    plots, layer_name = _read_plots(plots_path, layer)
    town_path = _town_path(args, plots_path)
    cfg = config_for(town_path if town_path is not None else plots_path, args.config)
    rule_set = load_rule_set(args.rules or _default_rules(plots, layer_name), cfg)
    echo(f"规则集 rule set: {rule_set.name} ({len(rule_set.rules)} 条 rules; {rule_set.source})")
    town = _context_town(town_path, cfg, rule_set)
    cluster = dask_choice(cfg, workers=args.workers, scheduler=args.scheduler)
    if cluster is not None:
        where = cluster[0] or f"本机 local, {cluster[1]} workers"
        echo(f"Dask 分区计算 partitioned check on {where}")
    result = run_check(
        town,
        cfg,
        plots=plots,
        rules=rule_set,
        dem=args.dem,
        ndvi=args.ndvi,
        id_field=args.id_field,
        layer=layer_name,
        workers=args.workers,
        scheduler=args.scheduler,
    )
    for problem in result.problems:
        echo(problem)
    out: Path = args.out
    _guard_outputs(out, plots_path)
    t0 = time.time()
    _write_tables(result, out)
    title = report_title(cfg.town.name, rule_set)
    meta = report_meta(result, f"{plots_path}" + (f" : {layer}" if layer else ""))
    _write_workbook(result, out, title, meta)
    _write_html(result, out, title, meta)
    _write_layers(result, args, cfg.town.crs)
    if town is not None:
        write_rejects(town, out)
    _print_results(result)
    echo_written(written_since(out, t0), out)
    return 0 if result.n_passed == result.n_plots else 1
