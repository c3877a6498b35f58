"""``gis-town upload``: the accepted high-standard farmland plots for 上图入库 (upload to the province).

Writes into ``--out`` (default ``reports/upload``):

* ``high_standard_upload.gpkg`` and ``.shp`` (GBK): the plots of the sections accepted on the
  as-of date, 耕地 classes only, CGCS2000 (EPSG:4490), areas in mu to two decimals;
* ``high_standard_upload.txt``: their boundary points (界址点坐标文件, Gauss-Kruger 3-degree zone);
* ``upload_rejects.csv``: every plot of the projects left out, with its reason;
* ``upload_summary.xlsx``: per project, with 合计.

Exit code 0, or 2 on bad input (no construction sections, an unparseable date...).
See docs/upload.md.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from gis_town.cli.common import (
    add_command,
    add_town_args,
    config_from_args,
    echo,
    echo_written,
    open_town,
    print_table,
    written_since,
)

__all__ = ["register", "run"]


def register(sub) -> None:
    p = add_command(
        sub,
        "upload",
        "上图入库 accepted high-standard farmland plots for the provincial upload (shp, gpkg, 坐标 txt)",
        description=(
            "导出已竣工验收片区的耕地地块(CGCS2000, 面积亩保留两位小数)及界址点坐标文件 / the plots of the "
            "sections accepted on the as-of date, cropland classes only, in CGCS2000 with areas in mu "
            "to two decimals, and their boundary-point coordinate file (docs/upload.md)"
        ),
    )
    add_town_args(p, out="reports/upload", vector_format=False, dask=False)
    p.add_argument("--as-of", dest="as_of", default=None,
                   help="统计日期 as-of date YYYY-MM-DD (default: the config's town.data_date, else today)")
    p.add_argument("--pending", dest="pending_only", action="store_true",
                   help="只导出尚未上图入库的片区 only the sections not uploaded yet (a second batch)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``gis-town upload``: the runner selects, the report writes, this prints."""
    from gis_town.reports.upload import REJECT_LABELS, SUMMARY_HEADERS, write_upload
    from gis_town.runners.upload import run_upload, upload_layers

    cfg = config_from_args(args)
    town = open_town(args, layers=upload_layers(cfg), config=cfg)
    result = run_upload(town, town.config, as_of=args.as_of, pending_only=args.pending_only)
    out_dir: Path = args.out
    t0 = time.time()
    write_upload(result, out_dir, producer=cfg.town.name)
    print_table(result.summary.rename(columns=SUMMARY_HEADERS),
                title=f"高标准农田上图入库 upload of accepted plots, 截至 as of {result.as_of:%Y-%m-%d}")
    if not result.checked:
        echo("未运行验收前检查(无 acceptance_plots 或缺栅格)，按验收日期计 / no acceptance check ran: "
             "sections counted accepted by their dates")
    rej = result.upload.rejects
    if len(rej):
        counts = rej["reason_code"].map(REJECT_LABELS).value_counts(sort=False)
        print_table(counts.rename_axis("原因 reason").rename("地块 plots").reset_index(),
                    title=f"未上传 {len(rej)} 个地块 plots left out (见 see upload_rejects.csv)")
    echo_written(written_since(out_dir, t0), out_dir)
    return 0
