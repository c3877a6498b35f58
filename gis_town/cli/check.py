"""``gis-town check``: check farmland plots before acceptance (验收前检查).

::

    gis-town check PLOTS [--layer NAME] [--town TOWN.gpkg] [--config town.toml]
                   [--dem DEM.tif] [--ndvi NDVI.tif]
                   [--rules high_standard|reclamation|FILE] [--id-field plot_id]
                   [--write-repaired] [--format gpkg|shp] --out DIR

PLOTS is a vector file, or ``FILE.gpkg:LAYER``. The plots are read raw
(invalid geometries reach the validity rule); context layers (roads, rivers,
red line, basic farmland, resettlement) come from the town. Writes
``check_results.csv``, ``check_summary.csv``, ``check_report.xlsx``,
``check_report.html``, ``failed_plots.gpkg`` (and ``repaired_plots.gpkg``
with ``--write-repaired``) into ``DIR``.

Exit code: 0 when every plot passes, 1 when any fails (or could not be fully
checked), 2 on bad input.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from gis_town.cli.common import add_command, echo, print_table, write_rejects
from gis_town.errors import InputError, LayerError

if TYPE_CHECKING:  # pragma: no cover
    import geopandas as gpd

__all__ = ["register", "run"]

log = logging.getLogger(__name__)

#: Context layers a rule kind reads (its ``layer`` limit names the exact one).
_CONTEXT_KINDS = ("road_access", "redline", "river_buffer", "homestead", "basic_farmland")


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


def run(args: argparse.Namespace) -> int:
    """Run ``gis-town check`` (heavy imports here: the parser stays light)."""
    import geopandas as gpd
    import numpy as np
    import shapely

    from gis_town.analysis.check import (
        CheckContext,
        load_rule_set,
        prepare_plots,
        repair_geometry,
        rule_counts,
        run_rules,
        summarize,
    )
    from gis_town.analysis.check.report import failing_map_svg, render_html, workbook_sheets
    from gis_town.config import config_for
    from gis_town.io.town import load_town
    from gis_town.io.write import safe_output_path, write_csv, write_text, write_vector, write_xlsx
    from gis_town.memory import release_memory

    plots_path, layer = _split_plots_arg(args.plots, args.layer)
    plots, layer_name = _read_plots(plots_path, layer)
    town_path = _town_path(args, plots_path)
    cfg = config_for(town_path if town_path is not None else plots_path, args.config)
    rules_spec = args.rules or _default_rules(plots, layer_name)
    rule_set = load_rule_set(rules_spec, cfg)
    echo(f"规则集 rule set: {rule_set.name} ({len(rule_set.rules)} 条 rules; {rule_set.source})")

    wanted = sorted(
        {r.limits_dict().get("layer", "") for r in rule_set.rules if r.kind in _CONTEXT_KINDS}
        - {""}
    )
    town = None
    if town_path is not None or cfg.town_file or cfg.layers:
        town = load_town(town_path, cfg, layers=wanted)
        layers = dict(town.layers)
    else:
        layers = {}
        echo(
            "未给出乡镇数据 (--town)：道路、红线等规则将标为未检查 / no --town: context rules will be not_checked"
        )
    dem = args.dem if args.dem is not None else cfg.dem_path()
    ndvi = args.ndvi
    if ndvi is None and cfg.rasters.ndvi:
        ndvi = cfg.ndvi_paths()[max(cfg.rasters.ndvi)]
    for what, path in (("DEM", dem), ("NDVI", ndvi)):
        if path is not None and not Path(path).exists():
            raise InputError(
                f"{what} 文件不存在 / {what} raster not found: check --{what.lower()} or [rasters] in the config",
                path=str(path),
            )

    prepared = prepare_plots(plots, id_field=args.id_field, layer=layer_name)
    ctx = CheckContext(
        layers=layers, dem=dem, ndvi=ndvi, gk_crs=prepared.gk_crs, id_field=args.id_field
    )
    results = run_rules(prepared, rule_set, context=ctx)
    summary = summarize(results)
    counts = rule_counts(results, rule_set)

    out: Path = args.out
    for name in ("check_results.csv", "failed_plots.gpkg", "repaired_plots.gpkg"):
        if _same_file(safe_output_path(out, name), plots_path):
            raise InputError(
                "输出会覆盖输入 / an output would overwrite the input plots: choose another --out",
                path=str(plots_path),
            )
    write_csv(results, safe_output_path(out, "check_results.csv"))
    write_csv(summary, safe_output_path(out, "check_summary.csv"))
    release_memory()  # a county: the CSV writer's gigabytes of transient text

    town_name = cfg.town.name
    title = f"{town_name} {rule_set.description_zh or rule_set.name} / {rule_set.description_en or rule_set.name}"
    meta = {
        "地块 plots": f"{plots_path}" + (f" : {layer}" if layer else ""),
        "规则集 rule set": f"{rule_set.name} ({rule_set.source})",
        "DEM": str(dem) if dem else "未提供 not given",
        "NDVI": str(ndvi) if ndvi else "未提供 not given",
        "检查时间 checked at": dt.datetime.now().strftime("%Y-%m-%d %H:%M"),
    }
    book = workbook_sheets(results, summary, rule_set, title=title, meta=meta, counts=counts)
    write_xlsx(
        book["sheets"],
        safe_output_path(out, "check_report.xlsx"),
        highlight=book["highlight"],
        titles=book["titles"],
        footer_lines=book["footer_lines"],
    )
    del book
    release_memory()

    failed_mask = ~summary["passed"].to_numpy(dtype=bool)
    labels = None
    if failed_mask.sum() <= 60:  # the map labels at most 60 failing plots (a town's)
        labels = [
            f"{pid}: {rf or nc}"
            for pid, rf, nc in zip(
                summary["plot_id"].astype(str),
                summary["rules_failed"].astype(str),
                summary["rules_not_checked"].astype(str),
            )
        ]
    ctx_gk = {
        n: ctx.layer_gk(n, prepared.gk_crs)
        for n in ("basic_farmland", "redline", "rivers", "roads")
        if ctx.layer(n) is not None
    }
    svg = failing_map_svg(prepared, failed_mask, labels=labels, context=ctx_gk)
    write_text(
        render_html(
            results, summary, rule_set, title=title, meta=meta, map_svg=svg, counts=counts
        ),
        safe_output_path(out, "check_report.html"),
    )
    del results, svg  # the failed plots' layer needs the summary only
    release_memory()

    ext = "shp" if args.vector_format == "shp" else "gpkg"
    failed = prepared.gdf.loc[failed_mask].copy()
    sm = summary.loc[failed_mask]
    failed["check_result"] = sm["result"].to_numpy()
    failed["rules_failed"] = sm["rules_failed"].to_numpy()
    failed["rules_not_checked"] = sm["rules_not_checked"].to_numpy()
    failed["messages"] = sm["messages"].to_numpy()
    failed = gpd.GeoDataFrame(failed, geometry=prepared.gdf.geometry.name, crs=prepared.crs)
    write_vector(
        failed,
        safe_output_path(out, f"failed_plots.{ext}"),
        layer="failed_plots",
        fmt=ext,
        crs=cfg.town.crs,
    )
    written = [
        "check_results.csv",
        "check_summary.csv",
        "check_report.xlsx",
        "check_report.html",
        f"failed_plots.{ext}",
    ]
    if args.write_repaired:
        rep = prepared.gdf.copy()
        geom = prepared.geom
        present = ~(shapely.is_missing(geom) | shapely.is_empty(geom))
        invalid = np.zeros(len(geom), dtype=bool)
        invalid[present] = ~shapely.is_valid(geom[present])
        reasons = np.full(len(geom), "", dtype=object)
        reasons[invalid] = shapely.is_valid_reason(geom[invalid])
        rep = rep.set_geometry(gpd.GeoSeries(repair_geometry(geom), crs=prepared.crs))
        rep["geometry_repaired"] = invalid
        rep["geos_reason"] = reasons
        write_vector(
            rep,
            safe_output_path(out, f"repaired_plots.{ext}"),
            layer="repaired_plots",
            fmt=ext,
            crs=cfg.town.crs,
        )
        written.append(f"repaired_plots.{ext}")
        echo(
            f"已修复 {int(invalid.sum())} 个无效几何（另存，不覆盖输入）/ {int(invalid.sum())} invalid geometries repaired into repaired_plots.{ext} (the input is untouched)"
        )
    if town is not None:
        write_rejects(town, out)

    view = counts[["rule", "message_zh", "pass", "fail", "not_checked"]].rename(
        columns={
            "rule": "规则 rule",
            "message_zh": "说明",
            "pass": "通过 pass",
            "fail": "不通过 fail",
            "not_checked": "未检查 n/c",
        }
    )
    print_table(view, title="规则汇总 / rules")
    n = len(summary)
    n_pass = int(summary["passed"].sum())
    n_fail = int((summary["n_failed"] > 0).sum())
    bad = summary.loc[failed_mask, ["plot_id", "result", "rules_failed", "rules_not_checked"]]
    if len(bad):
        print_table(
            bad.rename(
                columns={
                    "plot_id": "地块 plot",
                    "result": "结论 result",
                    "rules_failed": "不通过 failed",
                    "rules_not_checked": "未检查 not checked",
                }
            ),
            title="未通过的地块 / plots that did not pass",
            max_rows=40,
        )
    echo(
        f"地块 {n} 个：通过 {n_pass}，不通过 {n_fail}，待补充 {n - n_pass - n_fail} / "
        f"{n} plots: {n_pass} passed, {n_fail} failed, {n - n_pass - n_fail} incomplete"
    )
    echo(f"已写出 wrote {', '.join(written)} -> {out}")
    return 0 if n_pass == n else 1
