"""The upload's files (上图入库): the plots as GeoPackage, GBK shapefile and coordinate file, the workbook.

:func:`write_upload` writes into a folder, each file atomically:

* ``high_standard_upload.gpkg`` and ``high_standard_upload.shp`` (GBK, ``.cpg``, CGCS2000
  ``.prj``): the plots with :data:`~gis_town.analysis.progress.upload.UPLOAD_FIELDS`, in
  CGCS2000 longitude/latitude (EPSG:4490);
* ``high_standard_upload.txt``: the boundary points (界址点坐标文件,
  :func:`gis_town.io.coordinates.write_boundary_txt`) in the Gauss-Kruger zone;
* ``upload_rejects.csv``: the plots left out, with their reasons;
* ``high_standard_upload.kmz``: the plots for phone map apps (奥维互动地图, 两步路), fields under
  their Chinese names, to check them in the field;
* ``upload_summary.xlsx``: per project (合计 last), the plots, the rejects and the sections.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from gis_town.analysis.progress.upload import UPLOAD_FIELDS

if TYPE_CHECKING:  # pragma: no cover
    from gis_town.runners.upload import UploadResult

__all__ = ["REJECT_HEADERS", "REJECT_LABELS", "SUMMARY_HEADERS", "UPLOAD_NAME", "write_upload"]

#: The stem of the upload's files.
UPLOAD_NAME = "high_standard_upload"

#: Summary columns -> headers.
SUMMARY_HEADERS: dict[str, str] = {
    "project": "项目 project",
    "accepted_sections": "验收片区 accepted",
    "plots": "上传地块 plots",
    "area_mu": "面积(亩) area_mu",
    "uploaded_plots": "已入库 uploaded",
    "rejected_plots": "未上传 left out",
}

#: Reject columns -> headers.
REJECT_HEADERS: dict[str, str] = {
    "plot_id": "地块编号 plot_id",
    "project": "项目 project",
    "section_id": "标段 section_id",
    "reason_code": "代码 reason_code",
    "reason": "原因 reason",
}

#: Reject code -> a short label for the console and the workbook.
REJECT_LABELS: dict[str, str] = {
    "invalid_geometry": "几何无效 invalid geometry",
    "no_section": "不在建设片区 in no section",
    "check_failed": "未通过验收前检查 failed the check",
    "not_accepted": "片区未竣工验收 section not accepted",
    "not_cropland": "非耕地地类 not cropland",
    "already_uploaded": "已上图入库 uploaded already",
}

_SECTION_HEADERS: dict[str, str] = {
    "section_id": "标段 section_id",
    "project": "项目 project",
    "village_name": "村 village",
    "area_mu": "面积(亩) area_mu",
    "stage_reached": "已到阶段 stage reached",
    "check_state_label": "验收前检查 check",
    "note": "说明 note",
}


def write_upload(result: UploadResult, out_dir: str | Path, *, producer: str = "") -> list[Path]:
    """Write the upload's files (module docstring) into ``out_dir``; returns their paths."""
    from gis_town.io.coordinates import write_boundary_txt
    from gis_town.io.kml_write import write_kml_layer
    from gis_town.io.write import write_csv, write_vector, write_xlsx

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    plots = result.upload.plots
    written = [
        write_vector(plots, out / f"{UPLOAD_NAME}.gpkg", layer=UPLOAD_NAME, fmt="gpkg"),
        write_vector(plots, out / f"{UPLOAD_NAME}.shp", fmt="shp"),
        write_boundary_txt(plots, out / f"{UPLOAD_NAME}.txt", id_field="DKBH", name_field="XMMC",
                           class_field="DLBM", producer=producer, date=result.as_of.date()),
        write_csv(result.upload.rejects, out / "upload_rejects.csv"),
        write_kml_layer(plots.rename(columns=UPLOAD_FIELDS), out / f"{UPLOAD_NAME}.kmz",
                        layer="高标准农田上图入库地块", id_field=UPLOAD_FIELDS["DKBH"]),
    ]
    table = pd.DataFrame(plots.drop(columns=plots.geometry.name)).rename(
        columns={k: f"{v} {k}" for k, v in UPLOAD_FIELDS.items()})
    sections = result.stages[list(_SECTION_HEADERS)].rename(columns=_SECTION_HEADERS)
    written.append(write_xlsx(
        {
            "汇总 summary": result.summary.rename(columns=SUMMARY_HEADERS),
            "上传地块 plots": table,
            "未上传 rejects": result.upload.rejects.rename(columns=REJECT_HEADERS),
            "建设片区 sections": sections,
        },
        out / "upload_summary.xlsx",
        titles={"汇总 summary": f"{producer} 高标准农田上图入库 upload of accepted plots, 截至 as of "
                                f"{result.as_of:%Y-%m-%d}"},
    ))
    return written
