"""The demo town's visit list as the villages sent it back (``visits_filled.xlsx``), for ``gis-town visits``.

Built deterministically from the demo town: the risk runner makes the visit
list on :data:`LISTED` (1 September 2023, after the summer harvest), the list
is written as ``gis-town risk`` writes it (:func:`gis_town.io.export.write_visit_list`),
and each village's sheet is filled in cell by cell as a village cadre would:

* about seven parcels in ten visited between early September and
  mid-December, dates typed in the ways Excel users type them (Excel dates,
  ``2023/10/8``, ``2023.10.8``, ``2023年10月8日``), the outcome picked from
  the drop-down or typed (``已复耕``); promised re-cultivations with a
  planned date, some before the end of the year (overdue on 31 December),
  some for the spring sowing; transfers with the cooperative, parcels that
  cannot be farmed with the reason, households not met with a note;
* five rows the check must reject (:data:`BAD_ROWS`): a parcel id typed
  wrong, a visit dated before the list was made, a year typed 2032, an
  outcome that is none of the five, a promise without a date.

The same demo town gives the same bytes: the workbook's timestamps (its
properties and the zip entries) are set to :data:`LISTED`.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["BAD_ROWS", "LISTED", "build_filled_visits", "write_filled_visits"]

log = logging.getLogger(__name__)

#: The day the demo's visit list was made (its 清单日期).
LISTED = dt.date(2023, 9, 1)

#: What the five bad rows are, in the order of the villages they are put in.
BAD_ROWS: tuple[str, ...] = (
    "unknown_parcel",
    "before_list",
    "future",
    "unknown_outcome",
    "promise_without_date",
)

_OPERATORS = ("关川富民种植专业合作社", "安定区马铃薯产业有限公司", "本村种植大户", "金源中药材合作社")
_CANNOT = ("水毁，田埂冲毁", "滑坡隐患", "坡度大于25度，退耕还林", "已被建设占用")
_NOT_MET = ("户主外出务工", "家中无人", "老人独居，子女不在")
_OUTCOMES = ("recultivated", "will_recultivate", "transferred", "cannot_farm", "not_reached")
_OUTCOME_P = (0.35, 0.25, 0.15, 0.10, 0.15)
_ZH = {"recultivated": "已复耕", "will_recultivate": "计划复耕", "transferred": "已流转",
       "cannot_farm": "无法耕种", "not_reached": "未见到人"}


class _Sheet:
    """A village sheet of the written list: its header columns and its parcel rows."""

    def __init__(self, ws):
        self.ws = ws
        heads = [c.value for c in ws[3]]
        self.col = {str(h).split(" ", 1)[0]: j for j, h in enumerate(heads, start=1) if h}
        pcol = self.col["地块编码"]
        self.rows = [r for r in range(4, ws.max_row + 1) if ws.cell(r, pcol).value]

    def put(self, r: int, **cells) -> None:
        for k, v in cells.items():
            self.ws.cell(r, self.col[k]).value = v


def _date_cell(day: dt.date, rng: np.random.Generator) -> object:
    """``day`` as a cadre types it: mostly an Excel date, else one of the usual texts."""
    k = rng.integers(0, 10)
    if k < 6:
        return dt.datetime(day.year, day.month, day.day)
    return (f"{day.year}/{day.month}/{day.day}", f"{day.year}.{day.month}.{day.day}",
            f"{day.year}年{day.month}月{day.day}日", day.isoformat())[k - 6]


def _fill_good(sheet: _Sheet, r: int, leader: str, rng: np.random.Generator) -> None:
    """One realistic filled row."""
    code = str(rng.choice(_OUTCOMES, p=_OUTCOME_P))
    day = LISTED + dt.timedelta(days=int(rng.integers(3, 110)))  # 4 Sep .. 19 Dec 2023
    outcome = f"{_ZH[code]} {code}" if rng.random() < 0.8 else _ZH[code]
    cells: dict[str, object] = {"走访日期": _date_cell(day, rng), "走访结果": outcome,
                                "走访人": leader or "村文书"}
    if code == "will_recultivate":
        planned = (day + dt.timedelta(days=int(rng.integers(20, 60))) if rng.random() < 0.5
                   else dt.date(2024, 3, 15))  # before the year's end, or the spring sowing
        cells["计划复耕日期"] = _date_cell(planned, rng)
    elif code == "transferred":
        cells["经营主体(已流转)"] = str(rng.choice(_OPERATORS))
    elif code == "cannot_farm":
        cells["无法耕种原因"] = str(rng.choice(_CANNOT))
    elif code == "not_reached":
        cells["备注"] = str(rng.choice(_NOT_MET))
    sheet.put(r, **cells)


def _fill_bad(sheet: _Sheet, r: int, kind: str, known: set[str]) -> None:
    """One of :data:`BAD_ROWS` in row ``r``."""
    good_day = dt.datetime(2023, 10, 16)
    if kind == "unknown_parcel":
        pid = str(sheet.ws.cell(r, sheet.col["地块编码"]).value)
        typo = pid[:-1] + ("8" if pid[-1] != "8" else "9")
        while typo in known:
            typo += "0"
        sheet.put(r, 地块编码=typo, 走访日期=good_day, 走访结果="已复耕 recultivated")
    elif kind == "before_list":
        sheet.put(r, 走访日期="2023-08-28", 走访结果="已复耕 recultivated")
    elif kind == "future":
        sheet.put(r, 走访日期="2032-10-15", 走访结果="已流转 transferred",
                  **{"经营主体(已流转)": _OPERATORS[0]})  # 2023 typed 2032
    elif kind == "unknown_outcome":
        sheet.put(r, 走访日期=good_day, 走访结果="已种植")
    elif kind == "promise_without_date":
        sheet.put(r, 走访日期=good_day, 走访结果="计划复耕 will_recultivate", 备注="明年种")


def build_filled_visits(town, *, seed: int = 2023, out_dir: Path | None = None) -> Path:
    """Make the demo's visit list on :data:`LISTED` and fill it in; returns the workbook written.

    Parameters
    ----------
    town : Town
        The demo town with ``villages``, ``farmland``, ``roads``, ``settlements``
        (its config's rasters are used as the risk command uses them).
    seed : int
        Random seed of the filling.
    out_dir : Path, optional
        Where the unfilled list is written (default a temporary folder); the filled
        workbook is ``visits_filled.xlsx`` there.
    """
    import openpyxl

    from gis_town.io.export import write_visit_list
    from gis_town.runners.risk import run_risk

    cfg = town.config.model_copy(deep=True)
    cfg.risk.visits = None  # the list as first made: no visit history yet
    result = run_risk(town, cfg, as_of=LISTED, validate=False)
    out_dir = Path(out_dir or tempfile.mkdtemp(prefix="gis_town_visits_"))
    paths = write_visit_list(result.visits, out_dir, town_name=cfg.town.name)
    known = set(town.layer("farmland")["parcel_id"].astype(str))
    leaders = _leaders(result.visits)
    rng = np.random.default_rng(seed)
    wb = openpyxl.load_workbook(paths["xlsx"])
    sheets = [_Sheet(ws) for ws in wb.worksheets[1:]]  # the village sheets (the first: all villages)
    for k, sheet in enumerate(sheets):
        kinds = [b for i, b in enumerate(BAD_ROWS) if i % len(sheets) == k]  # k < len(sheets)
        rows = list(sheet.rows)
        bad_rows = rows[-len(kinds):] if kinds else []  # the village's last parcels
        for r in rows[: len(rows) - len(kinds)]:
            if rng.random() < 0.7:
                _fill_good(sheet, r, leaders.get(sheet.ws.title, ""), rng)
        for r, kind in zip(bad_rows, kinds):
            _fill_bad(sheet, r, kind, known)
    filled = out_dir / "visits_filled.xlsx"
    wb.save(filled)
    return filled


def _leaders(visits: pd.DataFrame) -> dict[str, str]:
    """Sheet (village name) -> the village leader, as the list's village sheets are named."""
    out: dict[str, str] = {}
    for _, row in visits.drop_duplicates("village_id").iterrows():
        name = row.get("village_name")
        leader = row.get("leader")
        if isinstance(name, str) and isinstance(leader, str):
            out[name[:31]] = leader
    return out


def write_filled_visits(town_path: str | Path, out: str | Path, *, seed: int = 2023) -> Path:
    """Write ``visits_filled.xlsx`` for the demo town at ``town_path`` (atomically).

    The town's config (``town.toml`` beside it, else defaults) and the rasters
    beside it (``dem.tif``, ``ndvi_<year>.tif``, when the config names none) are used.
    """
    from gis_town.config import config_for
    from gis_town.io.town import load_town
    from gis_town.io.write import atomic_path

    town_path = Path(town_path)
    cfg = config_for(town_path)
    if cfg.rasters.dem is None and (town_path.parent / "dem.tif").exists():
        cfg.rasters.dem = str((town_path.parent / "dem.tif").resolve())
    if not cfg.rasters.ndvi:
        found = {int(p.stem.split("_")[-1]): str(p.resolve())
                 for p in town_path.parent.glob("ndvi_*.tif") if p.stem.split("_")[-1].isdigit()}
        if found:
            cfg.rasters.ndvi = found
    town = load_town(town_path, cfg, layers=["villages", "farmland", "roads", "settlements"],
                     required=("farmland",))
    out = Path(out)
    with tempfile.TemporaryDirectory(prefix="gis_town_visits_") as tmp:
        filled = build_filled_visits(town, seed=seed, out_dir=Path(tmp))
        with atomic_path(out) as target:
            _stable_copy(filled, target)
    log.info("写出 wrote %s (the demo's filled visit list)", out)
    return out


def _stable_copy(src: Path, dst: Path) -> None:
    """Copy the workbook ``src`` to ``dst`` with every timestamp set to :data:`LISTED`."""
    stamp = f"{LISTED.isoformat()}T00:00:00Z"
    when = (LISTED.year, LISTED.month, LISTED.day, 0, 0, 0)
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for name in zin.namelist():
            data = zin.read(name)
            if name == "docProps/core.xml":
                text = re.sub(r"(<dcterms:(?:created|modified)[^>]*>)[^<]*(<)", rf"\g<1>{stamp}\2",
                              data.decode("utf-8"))
                data = text.encode("utf-8")
            zout.writestr(zipfile.ZipInfo(name, date_time=when), data, zipfile.ZIP_DEFLATED)
