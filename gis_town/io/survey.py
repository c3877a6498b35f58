"""Third land survey (三调 / 年度变更调查) databases as towns, with no config.

A county hands over its survey as an ESRI File Geodatabase (a ``*.gdb``
folder) holding, among others:

* ``DLTB`` 地类图斑 (parcels of every land class): BSM 标识码, TBBH 图斑编号,
  DLBM 地类编码, DLMC 地类名称, QSDWDM/ZLDWDM 权属/坐落单位代码, ZLDWMC 坐落单位名称,
  TBMJ 图斑面积 (m², ellipsoidal), KCXS 扣除地类系数 (田坎系数), KCMJ 扣除面积,
  TBDLMJ 图斑地类面积 (net of ridges);
* ``CJDCQ`` 村级调查区 (ZLDWDM, ZLDWMC): the villages;
* ``XZQ`` 行政区 (the town boundary), and the 三区三线 layers where present
  (永久基本农田 ``YJJBNTTB``, 生态保护红线 ``STBHHX``, 城镇开发边界 ``CZKFBJ``).

:func:`survey_layers` recognises such a database and says which town layer
each of its layers becomes; :func:`survey_config` turns that into the
``[layers]`` entries a config would have, so that every command reads it
as it reads a GeoPackage town. Farmland is DLTB's classes 01xx only (0101
水田, 0102 水浇地, 0103 旱地, the land use); its status (耕种/撂荒) is not in
the survey, so every parcel counts as cultivated unless the config says
otherwise (a note says so). The database is only read.
"""

from __future__ import annotations

import logging
from pathlib import Path

from gis_town.schema import TLS_FIELD_MAP

__all__ = ["FARMLAND_WHERE", "SURVEY_LAYER_NAMES", "is_file_gdb", "survey_config", "survey_layers"]

log = logging.getLogger(__name__)

#: Town layer -> layer names it has in survey databases (matched without case).
SURVEY_LAYER_NAMES: dict[str, tuple[str, ...]] = {
    "farmland": ("DLTB", "地类图斑"),
    "villages": ("CJDCQ", "村级调查区", "CJDCQJX"),
    "boundary": ("XZQ", "行政区"),
    "basic_farmland": ("YJJBNTTB", "YJJBNT", "永久基本农田", "永久基本农田图斑"),
    "redline": ("STBHHX", "生态保护红线", "STBHHXTB"),
    "dev_boundary": ("CZKFBJ", "城镇开发边界", "KFBJ"),
}

#: Attribute filter of DLTB that keeps farmland (耕地: 0101 水田, 0102 水浇地, 0103 旱地).
FARMLAND_WHERE = "DLBM LIKE '01%'"

#: Source field -> schema field, per town layer (DLTB's is the package's TLS mapping).
_FIELDS: dict[str, dict[str, str]] = {
    "farmland": dict(TLS_FIELD_MAP),
    "villages": {"ZLDWDM": "village_id", "ZLDWMC": "name"},
    "basic_farmland": {"BSM": "zone_id"},
    "redline": {"BSM": "zone_id"},
    "dev_boundary": {"BSM": "zone_id"},
}


def is_file_gdb(path: str | Path) -> bool:
    """True for an ESRI File Geodatabase folder (``*.gdb`` holding ``.gdbtable`` files)."""
    p = Path(path)
    return p.is_dir() and (p.suffix.lower() == ".gdb" or any(p.glob("*.gdbtable")))


def survey_layers(path: str | Path, names: list[str]) -> dict[str, str]:
    """Town layer -> the database's layer, for a survey database with a ``DLTB`` layer.

    Parameters
    ----------
    path : path
        The database (for messages).
    names : list of str
        Its layer names.

    Returns
    -------
    dict
        Empty when the database has no DLTB (not a survey database).
    """
    by_upper = {n.upper(): n for n in names}
    found: dict[str, str] = {}
    for town_layer, candidates in SURVEY_LAYER_NAMES.items():
        hit = next((by_upper[c.upper()] for c in candidates if c.upper() in by_upper), None)
        if hit is not None:
            found[town_layer] = hit
    if "farmland" not in found:
        return {}
    log.info("三调数据库 / third land survey database %s: %s", path, ", ".join(f"{v}->{k}" for k, v in found.items()))
    return found


def survey_config(path: str | Path, names: list[str]) -> dict[str, dict]:
    """The ``[layers]`` entries that read a survey database as a town (empty if it is not one).

    Each entry is a dict of :class:`gis_town.config.LayerSource` fields.
    """
    found = survey_layers(path, names)
    entries: dict[str, dict] = {}
    for town_layer, layer in found.items():
        if town_layer == "boundary":
            continue  # the town's outline: not a schema layer
        entry: dict = {"path": str(path), "layer": layer, "fields": dict(_FIELDS.get(town_layer, {}))}
        if town_layer == "farmland":
            entry.update(where=FARMLAND_WHERE, defaults={"status": "cultivated"}, mapping="tls")
            entry["fields"] = {}
        if town_layer in ("basic_farmland", "redline", "dev_boundary"):
            entry["defaults"] = {}
        entries[town_layer] = entry
    if entries:
        log.warning(
            "三调图斑没有耕种状态，全部按耕种计 / the survey's parcels carry no farming status: all count "
            "as cultivated (give [layers.farmland] fields or defaults for 撂荒 parcels)"
        )
    return entries
