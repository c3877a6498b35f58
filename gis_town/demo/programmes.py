"""The demo town's household and site programmes (``programmes.gpkg``), for ``progress``.

Three of the plan's programmes, each a layer whose columns are Chinese, as the
town office keeps them (``[programmes.*]`` in ``layers/town.toml`` maps them):

* ``quake_housing`` 抗震房改造: households at their settlements, stages
  摸底确认 → 开工 → 主体完工 → 竣工验收 (due by the end of September);
* ``toilets`` 卫生改厕: households with the year of an earlier renovation
  (回头看 of 问题厕所), stages 摸底 → 改造完成 → 验收 → 回头看;
* ``greenhouses`` 塑料大棚/钢拱架大棚: sites as 0.6-1.2 mu rectangles beside the
  roads, stages 规划 → 选址落实 → 土地整理 → 建成 → 种植.

Dates follow each programme's order, with a few gaps (stages not reached yet)
and one item per programme out of order (a stage dated before the one it
needs), so that the progress sheets show every state. Deterministic for a seed.
"""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

__all__ = ["PROGRAMMES", "build_monitoring", "build_programmes", "write_monitoring", "write_programmes"]

log = logging.getLogger(__name__)

_GK = "EPSG:4544"

#: layer -> (id column, stage date columns in order, first day, mean days between stages, items)
PROGRAMMES: dict[str, tuple[str, tuple[str, ...], dt.date, int, int]] = {
    "quake_housing": ("户编号", ("摸底确认", "开工", "主体完工", "竣工验收"), dt.date(2023, 2, 20), 45, 36),
    "toilets": ("户编号", ("摸底", "改造完成", "验收", "回头看"), dt.date(2023, 3, 10), 50, 80),
    "greenhouses": ("大棚编号", ("规划", "选址落实", "土地整理", "建成", "种植"), dt.date(2023, 1, 15), 40, 24),
}


def _dates(rng: np.random.Generator, n: int, stages: tuple[str, ...], first: dt.date,
           gap: int) -> pd.DataFrame:
    """Stage dates per item: each after the one before, later items stopping earlier; one out of order."""
    rows = []
    for _ in range(n):
        day = first + dt.timedelta(days=int(rng.integers(0, 40)))
        reach = len(stages) - int(rng.choice([0, 0, 0, 1, 1, 2, 3], 1)[0])  # stages this item reached
        row = {}
        for k, s in enumerate(stages):
            row[s] = day.isoformat() if k < reach else None
            day += dt.timedelta(days=int(rng.integers(gap // 2, gap * 3 // 2)))
        rows.append(row)
    df = pd.DataFrame(rows, columns=list(stages))
    j = int(rng.integers(0, n))  # one item: the second stage dated before the first
    if df.at[j, stages[0]] is not None:
        df.at[j, stages[1]] = (dt.date.fromisoformat(df.at[j, stages[0]]) - dt.timedelta(days=5)).isoformat()
    return df


def _household_points(town_gpkg: Path, rng: np.random.Generator, n: int) -> gpd.GeoDataFrame:
    """``n`` households scattered up to 150 m around the demo's settlements."""
    st = gpd.read_file(town_gpkg, layer="settlements").to_crs(_GK)
    pick = rng.integers(0, len(st), n)
    xy = shapely.get_coordinates(st.geometry.values[pick]) + rng.normal(0, 60, (n, 2)).clip(-150, 150)
    return gpd.GeoDataFrame({"村代码": st["village_id"].to_numpy()[pick]},
                            geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs=_GK)


def _greenhouse_sites(town_gpkg: Path, rng: np.random.Generator, n: int) -> gpd.GeoDataFrame:
    """``n`` greenhouse sites: 8 m wide rectangles of 0.6-1.2 mu, 20 m beside a road, in their village."""
    roads = gpd.read_file(town_gpkg, layer="roads").to_crs(_GK)
    villages = gpd.read_file(town_gpkg, layer="villages").to_crs(_GK)
    geoms, vids = [], []
    for r in rng.integers(0, len(roads), n):
        line = roads.geometry.values[r]
        p = line.interpolate(float(rng.random()), normalized=True)
        length = float(rng.uniform(0.6, 1.2)) * 10000 / 15 / 8.0
        site = shapely.box(p.x + 20, p.y, p.x + 28, p.y + length)
        geoms.append(site)
        inside = villages[villages.contains(site.centroid)]
        vids.append(inside["village_id"].iloc[0] if len(inside) else villages["village_id"].iloc[0])
    return gpd.GeoDataFrame({"村代码": vids}, geometry=geoms, crs=_GK)


def build_programmes(town_gpkg: str | Path, *, seed: int = 2023) -> dict[str, gpd.GeoDataFrame]:
    """The three programme layers (EPSG:4490, Chinese columns) built from the demo town."""
    town_gpkg = Path(town_gpkg)
    rng = np.random.default_rng(seed)
    out = {}
    for layer, (id_col, stages, first, gap, n) in PROGRAMMES.items():
        base = (_greenhouse_sites if layer == "greenhouses" else _household_points)(town_gpkg, rng, n)
        prefix = {"quake_housing": "KZ", "toilets": "GC", "greenhouses": "DP"}[layer]
        base.insert(0, id_col, [f"{prefix}{i + 1:03d}" for i in range(n)])
        dates = _dates(rng, n, stages, first, gap)
        g = pd.concat([base.reset_index(drop=True), dates], axis=1)
        if layer == "toilets":
            g["上次改厕年度"] = rng.choice([2019, 2020, 2021, None], n, p=[0.2, 0.3, 0.2, 0.3])
        if layer == "greenhouses":
            g["类型"] = rng.choice(["塑料大棚", "钢拱架大棚"], n)
        out[layer] = gpd.GeoDataFrame(g, geometry="geometry", crs=_GK).to_crs("EPSG:4490")
    return out


def write_programmes(town_gpkg: str | Path, out_path: str | Path, *, seed: int = 2023) -> Path:
    """Write :func:`build_programmes` of ``town_gpkg`` to ``out_path`` (a layer each), atomically."""
    from gis_town.io.write import write_gpkg_layers

    layers = build_programmes(town_gpkg, seed=seed)
    out_path = write_gpkg_layers(layers, out_path)
    log.info("项目台账已生成 programmes written to %s: %s", out_path,
             ", ".join(f"{k} {len(v)}" for k, v in layers.items()))
    return out_path


#: Surnames and given-name characters of the demo's synthetic household heads (no real person).
_SURNAMES = "马许何谢唐罗苟杨魏张李王刘陈赵"
_GIVEN = "生明虎玉秀俊金东成兰敏军海红英福平"


def build_monitoring(town_gpkg: str | Path, *, seed: int = 2023) -> gpd.GeoDataFrame:
    """The households under monitoring (三类户): as many per village as its ``monitored_households``,
    at its settlements, with a category, risk reasons, members and the last visit (EPSG:4490)."""
    from gis_town.analysis.monitoring import CATEGORIES, RISK_REASONS

    town_gpkg = Path(town_gpkg)
    rng = np.random.default_rng(seed + 7)
    villages = gpd.read_file(town_gpkg, layer="villages")
    per_village = dict(zip(villages["village_id"], villages["monitored_households"].fillna(0).astype(int)))
    st = gpd.read_file(town_gpkg, layer="settlements").to_crs(_GK)
    rows, geoms = [], []
    for vid, n in per_village.items():
        here = st[st["village_id"] == vid]
        for _ in range(n):
            at = here.geometry.values[int(rng.integers(0, len(here)))] if len(here) else None
            if at is None:
                continue
            geoms.append(shapely.Point(at.x + rng.normal(0, 50), at.y + rng.normal(0, 50)))
            k = int(rng.integers(1, 3))
            last = dt.date(2023, 12, 31) - dt.timedelta(days=int(rng.integers(3, 75)))
            rows.append({
                "村代码": vid,
                "户主": rng.choice(list(_SURNAMES)) + "".join(rng.choice(list(_GIVEN), 2)),
                "监测类型": rng.choice(list(CATEGORIES), p=[0.5, 0.35, 0.15]),
                "家庭人数": int(rng.integers(1, 7)),
                "风险类型": "、".join(rng.choice(list(RISK_REASONS), k, replace=False)),
                "最近走访日期": None if rng.random() < 0.05 else last.isoformat(),
            })
    g = gpd.GeoDataFrame(rows, geometry=geoms, crs=_GK)
    g.insert(0, "户编号", [f"JC{i + 1:03d}" for i in range(len(g))])
    return g.to_crs("EPSG:4490")


def write_monitoring(town_gpkg: str | Path, out_path: str | Path, *, seed: int = 2023) -> Path:
    """Write :func:`build_monitoring` to ``out_path`` (layer ``monitoring``), atomically."""
    from gis_town.io.write import write_gpkg_layers

    g = build_monitoring(town_gpkg, seed=seed)
    out_path = write_gpkg_layers({"monitoring": g}, out_path)
    log.info("监测户已生成 monitored households written to %s: %d", out_path, len(g))
    return out_path
