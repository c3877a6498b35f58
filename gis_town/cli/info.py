"""``gis-town info``: what is in a file: layers, geometry, counts, CRS, encoding, sample rows, problems."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from gis_town.cli.common import add_command, echo, format_table
from gis_town.errors import GisTownError, InputError
from gis_town.schema import LAYERS

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd


def register(sub) -> None:
    p = add_command(sub, "info", "查看数据文件 show a file's layers, CRS, encoding, rows and problems")
    p.add_argument("path", type=Path, help="GeoPackage, File Geodatabase (.gdb), Shapefile, GeoJSON, GeoParquet, CSV, GPX, KML, or a folder of them")
    p.add_argument("--layer", default=None, help="只看一个图层 only this layer")
    p.add_argument("--encoding", default=None, help="属性编码 attribute encoding (detected when omitted)")
    p.add_argument("--rows", type=int, default=3, help="显示行数 rows to show (default 3)")
    p.add_argument("--files", dest="rows_folder", type=int, default=60,
                   help="文件夹: 列出的文件数 for a folder: files listed (default 60)")
    p.set_defaults(func=run)


def describe(
    path: Path,
    layer: str | None,
    *,
    encoding: str | None = None,
    rows: int = 3,
    becomes: str | None = None,
    options: dict | None = None,
) -> str:
    """Describe one layer of a file as text.

    ``becomes`` is the town layer it is read as, with the read ``options``
    (field mapping, filter) of :func:`gis_town.io.town.read_options`.
    """
    import pandas as pd

    from gis_town.io.read import detect_encoding, read_layer
    from gis_town.io.validate import validate_layer

    options = dict(options or {})
    if encoding:
        options["encoding"] = encoding
    gdf = read_layer(path, layer, **options)
    enc = encoding or gdf.attrs.get("encoding") or detect_encoding(path) or "utf-8"
    gtypes = ", ".join(sorted(gdf.geom_type.dropna().unique())) or "(none)"
    crs = gdf.crs.to_string() if gdf.crs is not None else "无坐标系 NONE"
    name = becomes or layer or path.stem
    lines = [
        f"== 图层 layer: {layer or path.stem}",
        f"   几何 geometry: {gtypes}; 要素数 features: {len(gdf)}",
        f"   坐标系 CRS: {crs}",
        f"   编码 encoding: {enc}",
    ]
    if name in LAYERS:
        lines.insert(1, f"   作为乡镇图层 read as town layer: {name} {LAYERS[name].label}")
    if gdf.crs is None:
        lines.append(
            "   警告 warning: 没有坐标系，所有分析都会拒绝此图层 / no CRS: every analysis will refuse this "
            "layer; add a .prj, or set crs in the town config ([layers.NAME] crs = \"EPSG:4490\")"
        )
    if len(gdf):
        lines.append(f"   范围 bounds: {', '.join(f'{v:.6f}' for v in gdf.total_bounds)}")
        sample = pd.DataFrame(gdf.drop(columns=gdf.geometry.name)).head(rows)
        lines.append(format_table(sample.astype(str)))
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


#: Files ``info`` describes when given a folder.
_FOLDER_FILES = (".gpkg", ".shp", ".geojson", ".json", ".parquet", ".csv", ".gpx", ".kml", ".kmz")


def _describe_folder(folder: Path, args: argparse.Namespace) -> int:
    """A folder as the office received it: one line per layer (features, geometry, CRS), the
    unreadable files with their reason; then ``info FILE`` tells more of one. Exit 2 when a file
    cannot be read (all the others are still listed)."""
    import pandas as pd

    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in _FOLDER_FILES)
    gdbs = sorted(p for p in folder.rglob("*.gdb") if p.is_dir())
    echo(f"文件夹 folder: {folder} ({len(files)} 个数据文件 data files, {len(gdbs)} 个 .gdb)")
    if not files and not gdbs:
        raise InputError(
            f"文件夹中没有可读的数据文件 / no data file in the folder: expected {', '.join(_FOLDER_FILES)} or a .gdb",
            path=str(folder),
        )
    rows, bad, skipped = [], [], []
    for path in [*gdbs, *files]:
        try:
            rows += _inventory(path, folder)
        except GisTownError as exc:
            # a .json or .csv that is no table of features is some other document: skipped, not an error
            if path.suffix.lower() in (".json", ".csv"):
                skipped.append((path, "不是空间数据表 not a table of features"))
            else:
                bad.append((path, exc.message))
    table = pd.DataFrame(rows)
    if len(table) > args.rows_folder:  # a folder of hundreds of tracks: one line per sub-folder and kind
        table = _by_folder(table)
    echo(format_table(table, title="数据文件 data files", max_rows=args.rows_folder))
    for title, items in (("跳过(不是空间数据) skipped, not spatial data", skipped),
                         ("无法读取的文件 unreadable files", bad)):
        if items:
            echo(f"{title} ({len(items)}):")
            for path, reason in items:
                echo(f"   {path.relative_to(folder)}: {reason}")
    echo(f"详细信息 details of one file: gis-town info {folder / 'FILE'}")
    return 2 if bad else 0  # bad input: the files named above


def _by_folder(table: pd.DataFrame) -> pd.DataFrame:
    """The inventory grouped by sub-folder and file type: files, features, geometry types, CRSs."""
    import pandas as pd

    t = table.assign(
        folder=[str(Path(f).parent) for f in table["文件 file"]],
        kind=[Path(f).suffix.lower() for f in table["文件 file"]],
    )
    g = t.groupby(["folder", "kind"], sort=True)
    return pd.DataFrame({
        "文件夹 folder": [k[0] for k in g.groups],
        "类型 type": [k[1] for k in g.groups],
        "文件数 files": g["文件 file"].nunique().to_numpy(),
        "要素数 features": g["要素数 features"].sum(min_count=1).to_numpy(),
        "坐标系 CRS": g["坐标系 CRS"].agg(lambda s: ", ".join(sorted({str(v) for v in s if v}))).to_numpy(),
    })


def _inventory(path: Path, folder: Path) -> list[dict]:
    """One row per layer of ``path``: features, geometry, CRS (raises LayerError when unreadable)."""
    import pyogrio

    from gis_town.io.read import list_layers

    out = []
    for name, geom in list_layers(path):
        crs, n = "", None
        if path.suffix.lower() not in (".csv", ".parquet", ".gpx"):
            try:
                info = pyogrio.read_info(path, layer=name)
                crs, n = info.get("crs") or "无 NONE", info.get("features")
            except Exception:  # the layer list was readable: show what we have
                pass
        out.append({"文件 file": str(path.relative_to(folder)), "图层 layer": name, "几何 geometry": geom,
                    "要素数 features": n, "坐标系 CRS": crs})
    return out


def run(args: argparse.Namespace) -> int:
    """Run ``gis-town info``."""
    from gis_town.io.read import list_layers
    from gis_town.io.survey import is_file_gdb, survey_layers
    from gis_town.io.town import read_options

    if args.path.is_dir() and not is_file_gdb(args.path):
        return _describe_folder(args.path, args)
    names = [n for n, _ in list_layers(args.path)]
    layers = [args.layer] if args.layer else names
    echo(f"文件 file: {args.path}")
    multi = args.path.suffix.lower() == ".gpkg" or is_file_gdb(args.path)
    survey = {v: k for k, v in survey_layers(args.path, names).items()} if is_file_gdb(args.path) else {}
    cfg = None
    if survey:
        from gis_town.config import config_for

        cfg = config_for(args.path)
        echo("三调数据库 / third land survey database: " + ", ".join(f"{k} → {v}" for k, v in survey.items()))
    for name in layers:
        town_layer = survey.get(name)
        options = read_options(cfg, town_layer) if cfg is not None and town_layer in cfg.layers else None
        if options:
            options = {k: v for k, v in options.items() if k in ("fields", "defaults", "mapping", "where", "crs")}
        echo(describe(args.path, name if multi or args.layer else None, encoding=args.encoding,
                      rows=args.rows, becomes=town_layer, options=options))
    return 0
