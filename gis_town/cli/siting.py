"""``gis-town siting``: site selection for greenhouses, water lifting or a demonstration belt (选址)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from gis_town.cli.common import (
    add_command,
    add_town_args,
    echo,
    echo_written,
    open_town,
    print_table,
    write_rejects,
)

if TYPE_CHECKING:  # pragma: no cover
    from gis_town.runners.siting import SitingResult

#: The purposes of ``--for`` (kept here so that ``--help`` imports nothing heavy).
PURPOSES: tuple[str, ...] = ("greenhouse", "water_lift", "demo_belt")


def register(sub) -> None:
    p = add_command(
        sub,
        "siting",
        "选址 site selection: candidate land scored and ranked per village for a purpose",
        description=(
            "候选地块按坡度、距道路、距水源、面积与形状评分，排除永久基本农田/生态红线等，按村排名并说明原因 / "
            "candidate land scored from slope, distance to roads and water, size and shape, with exclusions "
            "(basic farmland, red line, ...), ranked per village with each factor's contribution. "
            "Weights, thresholds and exclusions: the config's [siting.<purpose>]."
        ),
    )
    add_town_args(p, out="reports/siting")
    p.add_argument(
        "--for", dest="purpose", choices=PURPOSES, default="greenhouse",
        help="用途 purpose: greenhouse 设施大棚, water_lift 引水上山, demo_belt 示范带 (default: greenhouse)",
    )
    p.add_argument("--dem", type=Path, default=None, help="高程 DEM GeoTIFF (default: config [rasters] dem)")
    p.add_argument("--offline", action="store_true", help="离线地图 map without web tiles")
    p.add_argument("--no-map", action="store_true", help="不生成 siting.html skip the web map")
    p.set_defaults(func=run)


def _layers(cfg) -> tuple[list[str], list[str]]:
    """(schema layers to load, other layers to read) for the run."""
    from gis_town.schema import LAYERS

    sec = cfg.siting
    names = ["villages", "roads", sec.candidates, *sec.water_layers]
    for purpose in PURPOSES:
        names += sec.purpose(purpose).exclude_layers
    names = list(dict.fromkeys(names))
    return [n for n in names if n in LAYERS], [n for n in names if n not in LAYERS]


def _extra_layers(town, names: list[str]) -> dict:
    """Layers outside the schema (wells, the pipe route) that the town has; silently none otherwise."""
    import pyogrio

    from gis_town.io.town import load_layer

    out = {}
    cfg = town.config
    for name in names:
        src = cfg.layers.get(name)
        if src is not None and src.path:
            path, layer = cfg.resolve(src.path), src.layer
        elif town.path is not None and town.path.is_file():
            have = {n for n, _ in pyogrio.list_layers(town.path)}
            if name not in have:
                continue
            path, layer = town.path, name
        else:
            continue
        gdf, _problems = load_layer(path, name, layer=layer, config=cfg)
        out[name] = gdf
    return out


def run(args: argparse.Namespace) -> int:
    """Run ``gis-town siting``: the runner's result written, printed and mapped."""
    from gis_town.cli.common import config_from_args
    from gis_town.runners.siting import run_siting

    cfg = config_from_args(args)
    schema_layers, others = _layers(cfg)
    town = open_town(args, layers=schema_layers, required=(cfg.siting.candidates,), config=cfg)
    result = run_siting(
        town, cfg, purpose=args.purpose, dem=args.dem, extra_layers=_extra_layers(town, others)
    )
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    written = _write(result, out, args.vector_format, cfg)
    if not args.no_map:
        written.append(_map(town, result, out, offline=args.offline))
    _print(result, cfg.town.name)
    echo_written([*written, write_rejects(town, out)], out)
    return 0


def _write(result: SitingResult, out: Path, vector_format: str, cfg) -> list[Path]:
    import pandas as pd

    from gis_town.io.write import write_csv, write_vector, write_xlsx
    from gis_town.reports.siting import PURPOSE_LABELS, candidate_columns, sheets

    c = result.candidates
    idc = result.id_column
    ranked_cols = candidate_columns(c, idc)
    ex_cols = candidate_columns(c, idc, excluded=True)
    paths = [
        write_csv(pd.DataFrame(result.ranked[ranked_cols]), out / "siting_ranked.csv"),
        write_csv(pd.DataFrame(result.excluded[ex_cols]), out / "siting_excluded.csv"),
        write_csv(result.villages, out / "siting_villages.csv"),
    ]
    all_cols = candidate_columns(c, idc, excluded=True) + ["rank"]
    all_cols = list(dict.fromkeys(all_cols))
    layer = c[[*all_cols, c.geometry.name]]
    paths.append(write_vector(layer, out / f"siting.{vector_format}", layer="siting", fmt=vector_format,
                              crs=cfg.town.crs))
    zh = PURPOSE_LABELS[result.purpose]
    titles = {name: f"{cfg.town.name} {zh}选址 site selection ({result.purpose}): {name}" for name in
              ("排名 ranked", "排除 excluded", "各村 villages")}
    paths.append(write_xlsx(sheets(result), out / "siting.xlsx", titles=titles))
    return [Path(p) for p in paths]


def _map(town, result: SitingResult, out: Path, *, offline: bool) -> Path:
    from gis_town.maps import save_map
    from gis_town.maps.thematic.siting import siting_map

    path = out / "siting.html"
    m = siting_map(town, result, offline=offline, html_path=path)
    save_map(m, path)
    return path


def _print(result: SitingResult, town_name: str) -> None:
    from gis_town.reports.siting import PURPOSE_LABELS, labelled, weights_text

    echo(f"评分因素与权重 factors and weights: {weights_text(result.weights_used)}")
    if result.water_layers:
        echo(f"水源图层 water layers: {', '.join(result.water_layers)}")
    if result.exclusion_layers:
        echo(f"排除图层 exclusion layers: {', '.join(result.exclusion_layers)}")
    for note in result.problems:
        echo(note)
    zh = PURPOSE_LABELS[result.purpose]
    print_table(labelled(result.villages), title=f"{town_name} {zh}选址 / site selection per village")
    top = result.ranked.sort_values("score", ascending=False).head(5)
    if len(top):
        for _, row in top.iterrows():
            reason = str(row["reason"])
            line = f"{row.get('village_name') or ''} {row[result.id_column]} {row['score']:.1f}: {reason}"
            echo(line[:120])
