"""``gis-town map``: interactive (HTML) and print (PNG/PDF) maps of the town.

::

    gis-town map TOWN --kind layout|patrol|risk|progress|check
                 [--basemap osm|tianditu|gaode|none] [--offline] [--public]
                 [--as-of YYYY-MM-DD] [--tracks FILE] [--dem DEM.tif]
                 [--orthophoto IMG.tif] [--tiles DIR] [--simplify M]
                 [--tiles-above N] [--tiles-out DIR]
                 [--paper A4|A3] [--dpi 300] --out FILE.html|.png|.pdf

``.html`` writes the interactive map; ``.png`` / ``.pdf`` the print version
(A4/A3, 300 dpi, CJK font). ``--offline`` inlines Leaflet and its plugins and
draws a hillshade of the DEM (or ``--orthophoto`` / ``--tiles``) instead of
web tiles. ``--public`` leaves personal names out. ``--basemap tianditu``
needs a key in ``TIANDITU_KEY`` or ``[map] tianditu_key``. Parcel layers
with more than ``--tiles-above N`` features (default
:data:`gis_town.maps.tiles.TILES_ABOVE`), or every parcel layer with
``--tiles-out DIR``, are written as vector tiles beside the page
(``FILE_tiles/`` by default); copy that folder with the page.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from gis_town.cli.common import (
    add_command,
    add_town_args,
    config_from_args,
    echo,
    open_town,
    print_table,
    write_rejects,
)
from gis_town.errors import InputError

__all__ = ["KIND_LAYERS", "register", "run"]

log = logging.getLogger(__name__)

#: Town layers each map kind reads.
KIND_LAYERS: dict[str, list[str]] = {
    "layout": [
        "villages",
        "zones",
        "farmland",
        "rivers",
        "roads",
        "settlements",
        "resettlement",
        "redline",
        "basic_farmland",
        "dev_boundary",
    ],
    "patrol": ["villages", "rivers", "roads", "patrols"],
    "risk": ["villages", "farmland", "roads", "settlements"],
    "progress": [],  # the progress runner's own: gis_town.runners.progress.progress_layers(config)
    "check": [
        "villages",
        "rivers",
        "roads",
        "redline",
        "basic_farmland",
        "resettlement",
        "reclamation",
    ],
}
_REQUIRED = {
    "layout": (),
    "patrol": ("rivers",),
    "risk": ("farmland",),
    "progress": (),
    "check": (),
}


def register(sub) -> None:
    p = add_command(
        sub,
        "map",
        "地图 interactive (HTML) and print (PNG/PDF) maps: layout, patrol, risk, progress, check",
        description=(
            "一川两线三流域布局图与专题图 (巡河、撂荒风险、计划进度、验收检查)：HTML 交互地图或 A4/A3 打印版 / "
            "the layout map and thematic maps as an interactive HTML page or a print-ready PNG/PDF"
        ),
    )
    add_town_args(p, out=None)
    p.add_argument(
        "--kind",
        choices=["layout", "patrol", "risk", "progress", "check"],
        default="layout",
        help="地图类型 map kind (default layout)",
    )
    p.add_argument(
        "--basemap",
        choices=["osm", "tianditu", "gaode", "none"],
        default=None,
        help="底图 basemap (default: config [map] basemap, osm); gaode shifts overlays to GCJ-02; "
        "tianditu needs TIANDITU_KEY",
    )
    p.add_argument(
        "--offline",
        action="store_true",
        help="离线地图 offline: Leaflet inline, DEM hillshade background, no network needed",
    )
    p.add_argument(
        "--public",
        action="store_true",
        help="公开版：去除户主、承包户姓名 leave personal names out",
    )
    p.add_argument(
        "--as-of", default=None, help="截止日期 as-of date YYYY-MM-DD (patrol, progress)"
    )
    p.add_argument(
        "--tracks",
        type=Path,
        default=None,
        help="巡河轨迹文件或文件夹 patrol tracks: a CSV/GPX/KML/KMZ file or a folder of them (patrol map)",
    )
    p.add_argument(
        "--dem",
        type=Path,
        default=None,
        help="高程 DEM for the hillshade (default: config [rasters] dem)",
    )
    p.add_argument(
        "--orthophoto",
        type=Path,
        default=None,
        help="正射影像 orthophoto GeoTIFF as offline background",
    )
    p.add_argument(
        "--tiles",
        type=Path,
        default=None,
        help="本地瓦片目录 local {z}/{x}/{y}.png tile folder (offline)",
    )
    p.add_argument(
        "--simplify",
        type=float,
        default=None,
        metavar="M",
        help="简化容差(米) simplification tolerance in metres (default: config [map] simplify_m; "
             "0: none, not even the display simplification of a county's villages)",
    )
    p.add_argument(
        "--tiles-above",
        type=int,
        default=None,
        metavar="N",
        help="地块超过 N 个的图层写成矢量瓦片 parcel layers with more than N features become vector "
        "tiles beside the page (default 50000)",
    )
    p.add_argument(
        "--tiles-out",
        type=Path,
        default=None,
        metavar="DIR",
        help="矢量瓦片目录 folder for the vector tiles; given alone, every parcel layer is tiled "
        "(default FILE_tiles beside the page)",
    )
    p.add_argument(
        "--paper", choices=["A4", "A3"], default="A4", help="纸张 paper for PNG/PDF (default A4)"
    )
    p.add_argument("--dpi", type=int, default=300, help="分辨率 print resolution (default 300)")
    p.add_argument(
        "--out", type=Path, required=True, help="输出文件 output file: .html, .png or .pdf"
    )
    p.set_defaults(func=run)


def _map_options(kind: str, args: argparse.Namespace) -> dict:
    """The runner options a map of ``kind`` takes from the command line."""
    if kind == "patrol":
        return {"as_of": args.as_of, "tracks": args.tracks, "keep_points": True}
    if kind == "progress":
        return {"as_of": args.as_of}
    return {}


def _result(kind: str, town, args: argparse.Namespace):
    """The topic's result from its runner (the map only draws it); None for the layout map."""
    from gis_town.runners import run_topic

    if kind == "layout":
        return None
    return run_topic(kind, town, town.config, **_map_options(kind, args))


def _echo_tiles(m) -> None:
    """Say where the vector tiles went (they must be copied with the page)."""
    sets = [c.tileset for c in m._children.values() if getattr(c, "tileset", None) is not None]
    if not sets:
        return
    folder = sets[0].archive.parent
    mb = sum(t.archive_bytes + t.packed_bytes for t in sets) / 1024 / 1024
    echo(
        f"矢量瓦片 vector tiles: {folder} ({len(sets)} layers, {mb:.2f} MB; "
        "与网页一起复制 copy this folder with the page)"
    )


def run(args: argparse.Namespace) -> int:
    """Run ``gis-town map``: open the town, build the layers of the kind, write a print or web map."""
    from gis_town.maps.thematic import map_specs

    out: Path = args.out
    if out.suffix.lower() not in (".html", ".htm", ".png", ".pdf"):
        raise InputError(
            f"输出文件须为 .html、.png 或 .pdf / --out must end in .html, .png or .pdf, got {out.name!r}"
        )
    town = _open_map_town(args)
    specs, title, subtitle = map_specs(
        town, args.kind, as_of=args.as_of, result=_result(args.kind, town, args)
    )
    dem = _dem(args, town.config)
    if out.suffix.lower() in (".png", ".pdf"):
        _write_print_map(args, town, specs, title, subtitle, dem)
    else:
        _write_web_map(args, town, specs, title, subtitle, dem)
    write_rejects(town, out.parent)
    return 0


def _open_map_town(args: argparse.Namespace):
    """The town with the layers the map kind reads (progress: the progress runner's own)."""
    kind = args.kind
    layers = list(KIND_LAYERS[kind])
    required = _REQUIRED[kind]
    if kind == "patrol" and args.tracks is None:
        required = ("rivers", "patrols")
    cfg = config_from_args(args)
    if kind == "progress":  # what the runner reads, the acceptance check's context included
        from gis_town.runners.progress import progress_layers

        layers = progress_layers(cfg)
    return open_town(args, layers=layers, required=required, config=cfg)


def _dem(args: argparse.Namespace, cfg) -> Path | None:
    """``--dem``, else the config's DEM when its file exists (a warning when it does not)."""
    dem = args.dem if args.dem is not None else cfg.dem_path()
    if dem is not None and not Path(dem).is_file():
        if args.dem is not None:
            raise InputError("DEM 文件不存在 / DEM file not found: check --dem", path=str(dem))
        log.warning("配置中的 DEM 不存在 / the config's DEM %s does not exist: no hillshade", dem)
        dem = None
    return dem


def _write_print_map(args: argparse.Namespace, town, specs, title: str, subtitle, dem) -> None:
    """The PNG or PDF print map."""
    from gis_town.maps.layout import town_data_date
    from gis_town.maps.printmap import print_map, town_map_number

    cfg, out = town.config, args.out
    print_map(
        specs, out, title=title, subtitle=subtitle, data_date=town_data_date(town), paper=args.paper,
        dpi=args.dpi, crs=town.gk_crs, dem=dem, public=args.public, town_name=cfg.town.name,
        producer=cfg.map.producer, map_number=town_map_number(cfg.town.name, args.kind, town_data_date(town)),
    )
    echo(
        f"已写出打印版地图 wrote print map {out} ({args.paper}, {args.dpi} dpi, {out.stat().st_size / 1024:.0f} KB)"
    )


def _write_web_map(args: argparse.Namespace, town, specs, title: str, subtitle, dem) -> None:
    """The web map, and its table of layers (features, KB) and tiles."""
    import pandas as pd

    from gis_town.maps import save_map
    from gis_town.maps.layout import town_map

    cfg, out = town.config, args.out
    m = town_map(
        town, specs, title, subtitle=subtitle, basemap=args.basemap, offline=args.offline,
        public=args.public,
        dem=dem if (args.offline or (args.basemap or cfg.map.basemap) == "none") else None,
        orthophoto=args.orthophoto, tiles_dir=args.tiles, html_path=out, simplify_m=args.simplify,
        tiles_above=args.tiles_above, tiles_out=args.tiles_out,
    )
    save_map(m, out)
    rows = [
        {"图层 layer": child.plain_name, "要素 features": child.n_features, "KB": round(child.n_bytes / 1024, 1)}
        for child in m._children.values() if getattr(child, "n_features", None) is not None
    ]
    if rows:
        print_table(pd.DataFrame(rows), title=title)
    _echo_tiles(m)
    mode = "离线 offline" if args.offline else "在线 online"
    echo(
        f"已写出地图 wrote map {out} ({out.stat().st_size / 1024 / 1024:.2f} MB, {mode}"
        f"{', 公开版 public' if args.public else ''})"
    )
