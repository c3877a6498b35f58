"""The siting runner (选址): a town, its config and a purpose to a ranked candidate list.

:func:`run_siting` decides which candidates, DEM, roads, water sources and
exclusion layers the site selection reads for a purpose (``greenhouse``,
``water_lift``, ``demo_belt``) and what happens when one is missing: a
configured DEM that does not exist stops the run (exit 2 through the CLI); a
water or exclusion layer the town lacks is skipped and said in ``problems``.
The CLI writes and prints what it returns; the siting map draws it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import pandas as pd

from gis_town.config import TownConfig
from gis_town.errors import InputError

__all__ = ["SitingResult", "candidate_id_column", "run_siting"]

log = logging.getLogger(__name__)


@dataclass
class SitingResult:
    """The site selection of a town for one purpose (columns: ``docs/siting.md``).

    Attributes
    ----------
    purpose : str
        ``greenhouse``, ``water_lift`` or ``demo_belt``.
    candidates : GeoDataFrame
        Every candidate: factors, ``suit_*``/``points_*``, ``score``, ``reason``,
        ``excluded``, ``exclusion``, ``rank`` (within its village; NA when excluded).
    ranked : GeoDataFrame
        The candidates not excluded with ``rank <= top_per_village``, by village and rank.
    excluded : GeoDataFrame
        The excluded candidates with their ``exclusion``.
    villages : DataFrame
        Per village: candidates, suitable, excluded, best score, suitable area (mu).
    id_column : str
        The candidates' id column.
    problems : list of str
        What the reader should know: inputs missing, factors left out.
    dem : Path or None
    water_layers, exclusion_layers : list of str
        The layers actually used.
    weights_used : dict of str -> float
        Each scored factor's share of the weight.
    """

    purpose: str
    candidates: gpd.GeoDataFrame
    ranked: gpd.GeoDataFrame
    excluded: gpd.GeoDataFrame
    villages: pd.DataFrame
    id_column: str
    problems: list[str] = field(default_factory=list)
    dem: Path | None = None
    water_layers: list[str] = field(default_factory=list)
    exclusion_layers: list[str] = field(default_factory=list)
    weights_used: dict[str, float] = field(default_factory=dict)


def candidate_id_column(gdf: gpd.GeoDataFrame) -> str | None:
    """``parcel_id`` when present, else the first ``*_id`` column other than ``village_id``."""
    if "parcel_id" in gdf.columns:
        return "parcel_id"
    ids = [c for c in gdf.columns if str(c).endswith("_id") and c != "village_id"]
    return ids[0] if ids else None


def _dem(cfg: TownConfig, dem: Path | str | None) -> Path | None:
    from gis_town.runners.risk import _existing

    given = dem is not None
    dem = dem if given else cfg.dem_path()
    return _existing(dem, "DEM", given) if dem is not None else None


def run_siting(
    town,
    config: TownConfig | None = None,
    *,
    purpose: str = "greenhouse",
    dem: Path | str | None = None,
    extra_layers: dict[str, gpd.GeoDataFrame] | None = None,
) -> SitingResult:
    """Candidates of ``town`` scored, excluded and ranked per village for ``purpose``.

    Parameters
    ----------
    town : Town
        With the candidate layer (``[siting] candidates``, default ``farmland``);
        ``roads``, water layers, exclusion layers and ``villages`` when present.
    config : TownConfig, optional
        Default: the town's own (``[siting]``, ``[rasters] dem``).
    purpose : str
        ``greenhouse``, ``water_lift`` or ``demo_belt``.
    dem : path, optional
        Elevation raster; default ``config.dem_path()`` (None there too: no slope factor).
    extra_layers : dict, optional
        Layers not in the town's schema (wells, the pipe route), by name.

    Returns
    -------
    SitingResult

    Raises
    ------
    ConfigError
        Unknown purpose, or no weighted factor can be computed.
    RasterError
        A DEM given or configured that does not exist.
    """
    from gis_town.analysis.siting import (
        exclusions,
        rank_per_village,
        siting_factors,
        siting_score,
    )

    cfg = config or town.config
    sec = cfg.siting
    p = sec.purpose(purpose)
    layers = {**town.layers, **(extra_layers or {})}
    if sec.candidates not in layers:
        raise InputError(
            f"没有候选地块图层 / candidate layer {sec.candidates!r} not found: add it to the town, or set "
            "[siting] candidates to a polygon layer of the town"
        )
    cand = layers[sec.candidates].reset_index(drop=True)
    id_col = candidate_id_column(cand)
    if id_col is None:
        id_col = "candidate_id"
        cand = cand.assign(candidate_id=[f"C{i + 1:05d}" for i in range(len(cand))])
    problems: list[str] = []
    dem_path = _dem(cfg, dem)
    if dem_path is None:
        problems.append("注意: 未提供 DEM，无坡度因素 / note: no DEM given: no slope factor")
    water = {k: layers[k] for k in sec.water_layers if k in layers and len(layers[k])}
    missing_water = [k for k in sec.water_layers if k not in water]
    if missing_water:
        problems.append(
            f"注意: 没有这些水源图层，未计入 / note: water layers not in the town, skipped: {', '.join(missing_water)}"
        )
    roads = layers.get("roads")
    if roads is None:
        problems.append("注意: 没有道路图层 / note: no roads layer: no road-distance factor")
    factors = siting_factors(cand, dem=dem_path, roads=roads, water=water, gk_crs=town.gk_crs)
    scored = siting_score(factors, p)
    zones = {k: layers[k] for k in p.exclude_layers if k in layers}
    missing_zones = [k for k in p.exclude_layers if k not in zones]
    if missing_zones:
        problems.append(
            f"注意: 没有这些排除图层，未检查 / note: exclusion layers not in the town, not checked: "
            f"{', '.join(missing_zones)}"
        )
    ex = exclusions(scored, p, zones=zones)
    for col in ex.columns:
        scored[col] = ex[col].to_numpy()
    scored["rank"] = rank_per_village(scored, id_column=id_col).array
    scored = _with_village_names(scored, layers.get("villages"))
    return SitingResult(
        purpose=purpose,
        candidates=scored,
        ranked=_ranked(scored, sec.top_per_village),
        excluded=scored[scored["excluded"]].copy(),
        villages=village_table(scored),
        id_column=id_col,
        problems=problems,
        dem=dem_path,
        water_layers=list(water),
        exclusion_layers=list(zones),
        weights_used=dict(scored.attrs.get("weights_used", {})),
    )


def _with_village_names(scored: gpd.GeoDataFrame, villages: gpd.GeoDataFrame | None) -> gpd.GeoDataFrame:
    if villages is None or "village_id" not in scored.columns or "name" not in villages.columns:
        return scored
    names = pd.Series(
        villages["name"].astype("string").to_numpy(), index=villages["village_id"].astype("string").to_numpy()
    )
    names = names[~names.index.duplicated()]
    scored["village_name"] = scored["village_id"].astype("string").map(names).to_numpy()
    return scored


def _ranked(scored: gpd.GeoDataFrame, top: int) -> gpd.GeoDataFrame:
    keep = scored[scored["rank"].notna() & (scored["rank"] <= top)]
    by = ["village_id", "rank"] if "village_id" in keep.columns else ["rank"]
    return keep.sort_values(by, kind="stable").copy()


def village_table(scored: pd.DataFrame) -> pd.DataFrame:
    """Per village: ``candidates``, ``suitable`` (not excluded), ``excluded``, ``best_score``,
    ``suitable_mu``; a total row (``village_id`` 合计) last."""
    df = pd.DataFrame(
        {
            "village_id": scored["village_id"].astype("string").fillna("")
            if "village_id" in scored.columns
            else "",
            "ok": ~scored["excluded"].to_numpy(dtype=bool),
            "score": pd.to_numeric(scored["score"], errors="coerce"),
            "area_mu": pd.to_numeric(scored["area_mu"], errors="coerce"),
        }
    )
    if "village_name" in scored.columns:
        df["village_name"] = scored["village_name"].astype("string").to_numpy()
    rows = []
    for vid, g in df.groupby("village_id", sort=True):
        ok = g[g["ok"]]
        rows.append(
            {
                "village_id": vid,
                "village_name": g["village_name"].iloc[0] if "village_name" in g.columns else None,
                "candidates": len(g),
                "suitable": len(ok),
                "excluded": int((~g["ok"]).sum()),
                "best_score": float(ok["score"].max()) if len(ok) else float("nan"),
                "suitable_mu": float(ok["area_mu"].sum()),
            }
        )
    ok = df[df["ok"]]
    rows.append(
        {
            "village_id": "合计",
            "village_name": "全镇 town",
            "candidates": len(df),
            "suitable": len(ok),
            "excluded": int((~df["ok"]).sum()),
            "best_score": float(ok["score"].max()) if len(ok) else float("nan"),
            "suitable_mu": float(ok["area_mu"].sum()),
        }
    )
    return pd.DataFrame(rows)
