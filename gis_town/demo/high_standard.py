"""The demo town's high-standard construction sections (``high_standard.gpkg``), for ``progress``.

Each of the plan's three projects is built in sections, one per 社 (group) of
the parcels tagged with the project: the section is the union of those
parcels. Columns are Chinese as a project ledger keeps them (``[high_standard]
fields`` in ``layers/town.toml`` maps them) with one date per stage
(规划设计 → 开工建设 → 完工 → 竣工验收 → 上图入库), telling three stories:

* 张家岔村 (3000 mu): every section built, accepted and uploaded but one; one
  section's acceptance is dated before its completion (out of order, flagged);
* 柳家河村 (2000 mu): three sections built, two still under construction;
* 石峡村 (1700 mu): every section built and dated accepted, but the acceptance
  check fails plots in some of them (the demo's ``acceptance_plots``), which
  are then not counted as accepted.

Deterministic: no random numbers.
"""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

import geopandas as gpd
import pandas as pd

__all__ = ["COLUMNS", "build_sections", "write_sections"]

log = logging.getLogger(__name__)

_GK = "EPSG:4544"

#: The ledger's column per field (the config's ``[high_standard] fields`` maps them back).
COLUMNS: dict[str, str] = {
    "section_id": "标段编号",
    "project": "项目名称",
    "village_id": "村代码",
    "declared_area_mu": "设计面积亩",
    "planned": "规划设计",
    "started": "开工日期",
    "built": "完工日期",
    "accepted": "验收日期",
    "uploaded": "上图入库日期",
}

_STAGES = ("planned", "started", "built", "accepted", "uploaded")


def _story(project: str, k: int, n: int) -> dict[str, dt.date | None]:
    """The stage dates of section ``k`` of ``n`` of a project (see the module docstring)."""
    day = dt.date(2023, 2, 10) + dt.timedelta(days=7 * k)
    gaps = (0, 35, 150, 40, 25)  # days from the stage before
    dates: dict[str, dt.date | None] = {}
    for s, gap in zip(_STAGES, gaps, strict=True):
        day += dt.timedelta(days=gap)
        dates[s] = day
    if "张家岔" in project:
        if k == n - 1:
            dates["uploaded"] = None
        if k == 1:  # accepted dated before it was built
            dates["accepted"] = dates["built"] - dt.timedelta(days=10)
    elif "柳家河" in project:
        dates["accepted"] = dates["accepted"] if k < 2 else None
        dates["uploaded"] = None
        if k >= 3:
            dates["built"] = dates["accepted"] = None
    else:
        dates["accepted"] = dt.date(2023, 11, 20)
        dates["uploaded"] = None
    return dates


def build_sections(town_gpkg: str | Path) -> gpd.GeoDataFrame:
    """The sections of the town's high-standard projects, in CGCS2000 (EPSG:4490)."""
    import pyogrio

    farm = pyogrio.read_dataframe(town_gpkg, layer="farmland")
    proj = farm[farm["project"].notna()].to_crs(_GK)
    rows = []
    for project, g in proj.groupby("project", sort=True):
        groups = sorted(g["group"].astype(str).unique())
        for k, grp in enumerate(groups):
            part = g[g["group"].astype(str) == grp]
            dates = _story(str(project), k, len(groups))
            rows.append({
                COLUMNS["section_id"]: f"{part['village_id'].iloc[0]}-BD{k + 1:02d}",
                COLUMNS["project"]: project,
                COLUMNS["village_id"]: part["village_id"].iloc[0],
                COLUMNS["declared_area_mu"]: round(float(part["declared_area_mu"].sum()), 2),
                **{COLUMNS[s]: (d.isoformat() if d else None) for s, d in dates.items()},
                "geometry": part.geometry.union_all(),
            })
    out = gpd.GeoDataFrame(pd.DataFrame(rows), geometry="geometry", crs=_GK)
    return out.to_crs("EPSG:4490")


def write_sections(town_gpkg: str | Path, out_path: str | Path) -> Path:
    """Write :func:`build_sections` as layer ``high_standard_sections`` of ``out_path``."""
    from gis_town.io.write import write_gpkg_layers

    g = build_sections(town_gpkg)
    out_path = write_gpkg_layers({"high_standard_sections": g}, out_path)
    log.info("高标准农田建设片区 high-standard sections: %d -> %s", len(g), out_path)
    return out_path
