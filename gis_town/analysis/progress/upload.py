"""The upload (上图入库) of accepted high-standard farmland: which parcels go, in the upload's shape.

The candidates are the farmland parcels of the projects: those tagged with a ``project``
and those lying in a construction section. A candidate goes into the upload when

1. its geometry is a non-empty polygon (geometry is repaired once, where it is read);
2. it lies in a construction section (its own ``section_id``, else the section containing
   its representative point: :func:`~gis_town.analysis.progress.construction.section_checks`);
3. it did not fail the acceptance check (验收前检查), when it was among the checked plots
   (matched by id);
4. its section reached *accepted* (竣工验收) on the as-of date
   (:func:`~gis_town.analysis.progress.construction.section_stages`: by its date, after
   *built*, and with no failed plot);
5. its land class is cropland (耕地, GB/T 21010-2017 class 01: 0101 水田, 0102 水浇地,
   0103 旱地), among the config's ``[high_standard] upload_land_uses``;
6. with ``pending_only`` (a second batch), its section is not uploaded yet.

Every candidate is in the upload or in the rejects with the first condition it fails
(:data:`REJECT_REASONS`). The upload's fields follow the names of the land survey
databases (TD/T 1016 国土调查数据库标准: ``DLBM``, ``DLMC``, ``ZLDWDM``...); its area
``DKMJ`` is ellipsoidal on CGCS2000, in mu, rounded to two decimals.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gis_town.analysis.progress.construction import _plot_sections, section_ids
from gis_town.geodesy import area_m2, m2_to_mu, to_geographic
from gis_town.schema import CROPLAND_CODES

__all__ = ["CROPLAND_CODES", "REJECT_REASONS", "UPLOAD_FIELDS", "UploadPlots", "upload_plots", "upload_summary"]

#: The upload's fields -> their Chinese names, in order.
UPLOAD_FIELDS: dict[str, str] = {
    "DKBH": "地块编号",
    "XMMC": "项目名称",
    "BDBH": "标段编号",
    "ZLDWDM": "坐落单位代码",
    "ZLDWMC": "坐落单位名称",
    "DLBM": "地类编码",
    "DLMC": "地类名称",
    "DKMJ": "地块面积(亩)",
    "YSRQ": "验收日期",
    "RKRQ": "上图入库日期",
}

#: Reject code -> reason (``{stage}``, ``{rules}``, ``{land_use}`` filled per plot), in the order tested.
REJECT_REASONS: dict[str, str] = {
    "invalid_geometry": "几何无效(空或非面)，请在GIS软件中修复 / invalid geometry (empty or not a "
                        "polygon): repair it in the GIS software",
    "no_section": "不在任何建设片区内，请核对标段编号或边界 / in no construction section: check its "
                  "section_id or boundary",
    "check_failed": "未通过验收前检查 / failed the acceptance check: {rules}",
    "not_accepted": "所在片区未竣工验收(已到: {stage}) / its section is not accepted (reached: {stage})",
    "not_cropland": "地类「{land_use}」不是上传的耕地地类 / land class {land_use!r} is not a cropland "
                    "class of the upload",
    "already_uploaded": "所在片区已上图入库，本次不再上传 / its section is uploaded already (only the "
                        "sections still to upload were asked for)",
}


@dataclass
class UploadPlots:
    """The upload and what was left out.

    Attributes
    ----------
    plots : GeoDataFrame
        :data:`UPLOAD_FIELDS`, CGCS2000 longitude/latitude (EPSG:4490), in input order.
    rejects : DataFrame
        ``plot_id``, ``project``, ``section_id``, ``reason_code``, ``reason``: one row per
        candidate left out.
    """

    plots: gpd.GeoDataFrame
    rejects: pd.DataFrame


def upload_plots(
    farmland: gpd.GeoDataFrame,
    sections: gpd.GeoDataFrame,
    stages: pd.DataFrame,
    *,
    check_failures: dict[str, str] | None = None,
    land_uses: tuple[str, ...] | list[str] = tuple(CROPLAND_CODES),
    id_field: str = "section_id",
    names: dict[str, str] | None = None,
    pending_only: bool = False,
) -> UploadPlots:
    """The accepted parcels to upload (上图入库) and the rejects, each candidate in exactly one.

    Parameters
    ----------
    farmland : GeoDataFrame
        The parcels (``parcel_id``, ``project``, ``village_id``, ``land_use``; optional
        ``land_class_code``, ``section_id``).
    sections : GeoDataFrame
        The construction sections, with ``id_field``.
    stages : DataFrame
        :func:`~gis_town.analysis.progress.construction.section_stages` of ``sections``.
    check_failures : dict, optional
        Checked plot id -> the rules it did not pass, for the plots that did not pass the
        acceptance check. None: the check did not run (the section's stage alone decides).
    land_uses : sequence of str
        The cropland classes to keep (names of :data:`CROPLAND_CODES`).
    names : dict, optional
        village_id -> village name (``ZLDWMC``).
    pending_only : bool
        Only the sections not uploaded yet (上图入库 not reached): a second batch. The others'
        parcels are rejected as ``already_uploaded``.

    Returns
    -------
    UploadPlots
    """
    geom = farmland.geometry.to_numpy()  # repaired where it was read: only the kind is tested here
    usable = ~shapely.is_missing(geom) & ~shapely.is_empty(geom) & np.isin(shapely.get_type_id(geom), (3, 6))
    sid = section_ids(sections, id_field)
    where = np.full(len(farmland), None, dtype=object)
    if usable.any():
        where[usable] = _plot_sections(sections, sid, farmland[usable], id_field)
    project = _text_column(farmland, "project")
    cand = (project != "") | (where != None)  # noqa: E711 (element-wise)
    plots, where, project, usable = farmland[cand], where[cand], project[cand], usable[cand]
    ids = _text_column(plots, "parcel_id")
    sec = stages.set_index("section_id").reindex(where).reset_index(drop=True)  # each plot's section
    own = project == ""  # an untagged parcel in a section: the section's project
    project[own] = sec["project"].fillna("").to_numpy(dtype=object)[own]
    land = _land_names(plots)
    failures = check_failures or {}
    uploaded = sec["uploaded_reached"].fillna(False).to_numpy(dtype=bool)
    tests = {
        "invalid_geometry": usable,
        "no_section": where != None,  # noqa: E711 (element-wise)
        "check_failed": ~np.isin(ids, list(failures)),
        "not_accepted": sec["accepted_reached"].fillna(False).to_numpy(dtype=bool),
        "not_cropland": np.isin(land, list(land_uses)),
        "already_uploaded": ~(pending_only & uploaded),
    }
    code = np.full(len(plots), "", dtype=object)
    for c, ok in tests.items():
        code[(code == "") & ~ok] = c
    keep = code == ""
    out = _upload_frame(plots[keep], where[keep], sec[keep], ids[keep], land[keep], names or {})
    rejects = _rejects(ids, project, where, code, land, sec["stage_reached"].fillna("").to_numpy(dtype=object),
                       failures)
    return UploadPlots(out, rejects)


def _text_column(gdf: gpd.GeoDataFrame, col: str) -> np.ndarray:
    """Column ``col`` as stripped text ('' where blank or absent)."""
    if col not in gdf.columns:
        return np.full(len(gdf), "", dtype=object)
    return gdf[col].astype("object").fillna("").astype(str).str.strip().to_numpy(dtype=object)


def _land_names(plots: gpd.GeoDataFrame) -> np.ndarray:
    """Per plot: its land class name (``land_use``, else from ``land_class_code``), '' when none."""
    names = (plots["land_use"].astype("object") if "land_use" in plots.columns
             else pd.Series([None] * len(plots), index=plots.index, dtype=object))
    if "land_class_code" in plots.columns:
        by_code = {v: k for k, v in CROPLAND_CODES.items()}
        names = names.where(names.notna(), plots["land_class_code"].astype("object").map(by_code))
    return names.fillna("").astype(str).str.strip().to_numpy(dtype=object)


def _days(dates: pd.Series) -> np.ndarray:
    """Dates as ``YYYY-MM-DD`` text ('' for none)."""
    return pd.to_datetime(dates).dt.strftime("%Y-%m-%d").fillna("").to_numpy(dtype=object)


def _upload_frame(
    plots: gpd.GeoDataFrame, where: np.ndarray, sec: pd.DataFrame, ids: np.ndarray,
    land: np.ndarray, names: dict[str, str],
) -> gpd.GeoDataFrame:
    """The kept plots in the upload's fields, EPSG:4490 (``sec``: each plot's section row)."""
    village = (plots["village_id"].astype("object").fillna("").astype(str).to_numpy()
               if "village_id" in plots.columns else np.full(len(plots), "", dtype=object))
    village = np.where(village == "", sec["village_id"].fillna("").to_numpy(dtype=object), village)
    cols = {
        "DKBH": ids.astype(str),
        "XMMC": sec["project"].to_numpy(dtype=object),
        "BDBH": where.astype(str),
        "ZLDWDM": village,
        "ZLDWMC": [names.get(v, "") for v in village],
        "DLBM": [CROPLAND_CODES[x] for x in land],
        "DLMC": land,
        "DKMJ": np.round(m2_to_mu(area_m2(plots, layer="farmland")), 2),
        "YSRQ": _days(sec["accepted"]),
        "RKRQ": np.where(sec["uploaded_reached"].fillna(False).to_numpy(dtype=bool), _days(sec["uploaded"]), ""),
    }
    return gpd.GeoDataFrame(cols, geometry=to_geographic(plots.geometry).to_numpy(), crs=4490)


def _rejects(
    ids: np.ndarray, project: np.ndarray, where: np.ndarray, code: np.ndarray, land: np.ndarray,
    stage: np.ndarray, failures: dict[str, str],
) -> pd.DataFrame:
    """One row per candidate left out, with its reason (``stage``: its section's stage reached)."""
    out = np.flatnonzero(code != "")
    reasons = [
        REJECT_REASONS[code[i]].format(stage=stage[i], rules=failures.get(ids[i]) or "?", land_use=land[i])
        for i in out
    ]
    return pd.DataFrame({
        "plot_id": ids[out], "project": project[out], "section_id": [where[i] or "" for i in out],
        "reason_code": code[out], "reason": reasons,
    })


def upload_summary(upload: UploadPlots, stages: pd.DataFrame) -> pd.DataFrame:
    """Per project: sections accepted, plots and area (mu) in the upload, of them already
    uploaded (``RKRQ``), plots rejected; a 合计 row last. Areas are the sums of ``DKMJ``
    as written (two decimals), so the rows add up to the total shown."""
    plots, rej = upload.plots, upload.rejects
    projects = list(dict.fromkeys([*stages["project"], *plots["XMMC"], *rej["project"]]))
    projects = [p for p in projects if p]
    g = plots.groupby("XMMC")
    table = pd.DataFrame({
        "project": projects,
        "accepted_sections": stages.groupby("project")["accepted_reached"].sum().reindex(projects).fillna(0),
        "plots": g.size().reindex(projects).fillna(0),
        "area_mu": g["DKMJ"].sum().reindex(projects).fillna(0.0),
        "uploaded_plots": plots[plots["RKRQ"] != ""].groupby("XMMC").size().reindex(projects).fillna(0),
        "rejected_plots": rej.groupby("project").size().reindex(projects).fillna(0),
    }).reset_index(drop=True)
    unnamed = int((rej["project"] == "").sum())
    if unnamed:
        table.loc[len(table)] = ["(无项目名称 no project)", 0, 0, 0.0, 0, unnamed]
    counts = ["accepted_sections", "plots", "uploaded_plots", "rejected_plots"]
    table[counts] = table[counts].astype("int64")
    total = {"project": "合计 total", **{c: table[c].sum() for c in [*counts, "area_mu"]}}
    table.loc[len(table)] = total
    table["area_mu"] = table["area_mu"].astype(float).round(2)
    return table
