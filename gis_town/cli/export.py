"""``gis-town export``: every layer of the town as KML/KMZ for phone map apps (or GeoPackage, Shapefile)."""

from __future__ import annotations

import argparse
import time

from gis_town.cli.common import (
    add_command,
    add_town_args,
    config_from_args,
    echo,
    echo_written,
    print_table,
    written_since,
)


def register(sub) -> None:
    p = add_command(
        sub,
        "export",
        "导出图层 every layer as KML/KMZ (奥维互动地图, 两步路) or GeoPackage/Shapefile",
        description=(
            "把乡镇的每个图层各写成一个文件：KML/KMZ 为经纬度、中文字段名和中文编码值，供手机地图使用 / "
            "each layer of the town in a file of its own: KML/KMZ in lon/lat with Chinese field labels and "
            "coded values in Chinese words, for phone map apps; gpkg or shp for GIS software. "
            "GPS fixes (patrols) only when named in --layers."
        ),
    )
    add_town_args(p, out="reports/export", vector_format=False, dask=False)
    p.add_argument("--format", dest="export_format", choices=["kml", "kmz", "gpkg", "shp"], default="kml",
                   help="格式 format: kml (default), kmz (zipped KML), gpkg (one file), shp (GBK)")
    p.add_argument("--layers", default=None, metavar="NAMES",
                   help="只导出这些图层 only these layers, comma-separated (villages,farmland,...); "
                        "default: every layer but patrols")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``gis-town export``: load (and validate) the town, write each layer, say what was written."""
    import pandas as pd

    from gis_town.io.export_layers import export_layers
    from gis_town.io.town import load_town

    cfg = config_from_args(args)
    names = [n.strip() for n in args.layers.split(",") if n.strip()] if args.layers else None
    town = load_town(args.town, cfg)
    t0 = time.time()
    export_layers(town.layers, args.out, fmt=args.export_format, names=names, crs=cfg.town.crs)
    shown = names or [n for n in town.layers if n != "patrols"]
    print_table(pd.DataFrame({"图层 layer": shown, "要素 features": [len(town.layers[n]) for n in shown]}),
                title=f"{cfg.town.name} 导出图层 exported layers ({args.export_format})")
    if not names and "patrols" in town.layers:
        echo("巡河轨迹点未导出(数量大) / patrols (GPS fixes) not exported: name them in --layers to include them")
    echo_written(written_since(args.out, t0), args.out)
    return 0
