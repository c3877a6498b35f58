"""``gis-town info``: what is in a file: layers, geometry, counts, CRS, encoding, sample rows, problems."""

from __future__ import annotations

import argparse
from pathlib import Path

from gis_town.cli.common import add_command, echo, format_table
from gis_town.errors import InputError
from gis_town.schema import LAYERS


def register(sub) -> None:
    p = add_command(sub, "info", "查看数据文件 show a file's layers, CRS, encoding, rows and problems")
    p.add_argument("path", type=Path, help="GeoPackage, Shapefile, GeoJSON, GeoParquet, CSV or GPX")
    p.add_argument("--layer", default=None, help="只看一个图层 only this layer")
    p.add_argument("--encoding", default=None, help="属性编码 attribute encoding (detected when omitted)")
    p.add_argument("--rows", type=int, default=3, help="显示行数 rows to show (default 3)")
    p.set_defaults(func=run)


def describe(path: Path, layer: str | None, *, encoding: str | None = None, rows: int = 3) -> str:
    """Describe one layer of a file as text."""
    import pandas as pd

    from gis_town.io.read import detect_encoding, read_layer
    from gis_town.io.validate import validate_layer

    gdf = read_layer(path, layer, encoding=encoding)
    enc = encoding or gdf.attrs.get("encoding") or detect_encoding(path) or "utf-8"
    gtypes = ", ".join(sorted(gdf.geom_type.dropna().unique())) or "(none)"
    crs = gdf.crs.to_string() if gdf.crs is not None else "无坐标系 NONE"
    lines = [
        f"== 图层 layer: {layer or path.stem}",
        f"   几何 geometry: {gtypes}; 要素数 features: {len(gdf)}",
        f"   坐标系 CRS: {crs}",
        f"   编码 encoding: {enc}",
    ]
    if len(gdf):
        lines.append(f"   范围 bounds: {', '.join(f'{v:.6f}' for v in gdf.total_bounds)}")
        sample = pd.DataFrame(gdf.drop(columns=gdf.geometry.name)).head(rows)
        lines.append(format_table(sample.astype(str)))
    name = layer or path.stem
    if name in LAYERS:
        try:
            _, problems = validate_layer(gdf, name, path=str(path))
            if len(problems):
                lines.append(f"   问题 problems ({len(problems)}):")
                lines.append(format_table(problems[["feature_id", "field", "action", "reason"]].astype(str), max_rows=20))
            else:
                lines.append("   校验通过 validation: no problems")
        except InputError as exc:
            lines.append(f"   图层不可用 layer unusable: {exc.message}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """Run ``gis-town info``."""
    from gis_town.io.read import list_layers

    layers = [args.layer] if args.layer else [n for n, _ in list_layers(args.path)]
    echo(f"文件 file: {args.path}")
    multi = args.path.suffix.lower() == ".gpkg"
    for name in layers:
        echo(describe(args.path, name if multi or args.layer else None, encoding=args.encoding, rows=args.rows))
    return 0
