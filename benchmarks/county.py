"""County-scale synthetic data in the town schema, for the benchmarks.

One generator for every size: ``scale=1`` is a county (1,000,000 parcels
tiling 2,500 km² of land, 1,000 villages, 30 planning zones, 2,000 km of river
with their chiefs, 10 million patrol GPS points, a 10,000 x 10,000 DEM at
5 m); ``scale=0.005`` is a town (about 5,000 parcels); any fraction in
between. Everything is vectorised (numpy / shapely 2 array functions),
deterministic (fixed seed, one random stream per component) and cached under
``benchmarks/data/county-<scale>/``:

``gpkg/``
    One GeoPackage per layer (``farmland.gpkg``, ``villages.gpkg``,
    ``zones.gpkg``, ``rivers.gpkg``, ``patrols.gpkg``, ``roads.gpkg``,
    ``settlements.gpkg``, ``basic_farmland.gpkg``) and a ``town.toml``: a
    town folder that ``gis_town.io.load_town`` and ``gis-town`` read as is.
``parquet/``
    The same layers as GeoParquet: ``farmland.parquet/`` and
    ``patrols.parquet/`` partitioned (``part.NNNNN.parquet``), the small
    layers one file each; and a ``town.toml``. Parcels are sorted along a
    Hilbert curve (each partition a compact patch of land); patrol points are
    ordered by chief and time (each chief's points in one partition, chiefs
    in Hilbert order of their river), as a patrol analysis reads them.
``dem.tif``
    Float32 DEM, EPSG:4544, 5 m cells, tiled and compressed: a Loess
    Plateau valley (the main river's floor) with gullied hills.
``manifest.json``
    Scale, counts and generation times.

Coordinates: layers in CGCS2000 (EPSG:4490), generated in the Gauss-Kruger
zone CM 105E (EPSG:4544) around the demo town (104.6E, 35.6N). Attribute
values are as Chinese GIS exports write them (status 耕种/撂荒/休耕, chief
levels 县级/乡镇级/村级/网格...); the loaders normalise them.

Use from a benchmark::

    from county import make_county          # benchmarks/ on sys.path
    c = make_county("town")                  # or "county", or 0.1
    farmland = c.read("farmland")            # GeoDataFrame from GeoParquet
    c.gpkg("farmland"), c.parquet("farmland"), c.dem, c.town_dir("gpkg")

or from the shell::

    python benchmarks/county.py --size county            # all parts
    python benchmarks/county.py --size 0.1 --parts vector,dem
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import math
import os
import shutil
import sys
import time
import uuid
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from pyproj import Transformer

BENCH_DIR = Path(__file__).resolve().parent
for _p in (BENCH_DIR.parent, BENCH_DIR):  # gis_town (repo) and common.py
    if str(_p) not in sys.path:
        sys.path.insert(0, str(_p))

from gis_town.parallel import hilbert_index, write_partitioned  # noqa: E402

__all__ = ["DATA_DIR", "PARTS", "County", "Spec", "make_county"]

log = logging.getLogger("county")

#: Where generated data are cached (gitignored).
DATA_DIR = BENCH_DIR / "data"
#: Bump when the generated data change, so old caches are regenerated.
GENERATOR_VERSION = 1
SEED = 20230808
#: The parts a county is made of, generated (and cached) independently.
PARTS = ("vector", "patrols", "dem")

GK_CRS = "EPSG:4544"
GEO_CRS = "EPSG:4490"
#: Centre of the county, EPSG:4544 metres (about 104.60E, 35.60N, the demo town).
CENTER_X_M = 463_740.0
CENTER_Y_M = 3_941_220.0
PARCEL_M = 50.0  #: mean parcel spacing
CELL_M = 5.0  #: DEM cell
STEP_M = 20.0  #: river vertex spacing
SEGMENT_STEPS = 100  #: vertices per river segment - 1 (2 km segments)
ROWS_PER_PARTITION = 50_000
#: At least this many farmland partitions (so a town-size run exercises the partitioned path too)
MIN_PARTITIONS = 4
POINTS_PER_PARTITION = 500_000

_SURNAMES = list(
    "王李张刘陈杨赵马何郭牛苟魏安董闫蔺车侯汪景尹罗孙周吴徐朱胡高林郑梁谢宋唐许韩冯邓曹彭"
)
_GIVEN = list(
    "建国军明红平华强文海玉兰英福生有德成东永志学忠宝俊金春秀芳霞亮刚伟勇林晓丽敏虎彦鹏岗"
)
_HEADS = [
    *(s + "家" for s in "尹王李张赵陈杨刘马何郭牛苟魏安董闫蔺车侯汪景"),
    "上",
    "下",
    "前",
    "后",
    "大",
    "小",
    "阳",
    "阴",
    "东",
    "西",
    "南",
    "北",
    "新",
    "老",
]
_TAILS = list("山湾岔坪沟庄咀川坡台洼岘梁峁塬")
_GROUPS = ["一社", "二社", "三社", "四社", "五社", "六社", "七社", "八社"]
_CROPS = ["小麦", "玉米", "马铃薯", "胡麻", "中药材", "蔬菜"]
_LEVELS = ("county", "town", "village", "grid")
_LEVEL_ZH = {"county": "县级", "town": "乡镇级", "village": "村级", "grid": "网格"}
_LEVEL_PREFIX = {"county": "XJ", "town": "ZJ", "village": "CJ", "grid": "WG"}
_SEGMENTS_PER_CHIEF = {"county": 20, "town": 8, "village": 3, "grid": 1}
_PATROL_TARGETS = {"county": 4, "town": 12, "village": 24, "grid": 52}


# --------------------------------------------------------------------------- spec


@dataclass(frozen=True)
class Spec:
    """Sizes of a synthetic county at a scale (1.0 = the county of the issue).

    Attributes
    ----------
    scale : float
        Fraction of the 1,000,000-parcel county.
    n_side : int
        Parcels per side of the lattice (parcels = ``n_side**2``).
    n_villages, zones_per_kind, n_basic : int
        Villages; zones of each of the three kinds; basic-farmland patches.
    river_m : float
        Total river length, m.
    n_points : int
        Patrol GPS points.
    dem_side : int
        DEM cells per side (5 m cells over the same land).
    """

    scale: float
    n_side: int
    n_villages: int
    zones_per_kind: int
    n_basic: int
    river_m: float
    n_points: int
    dem_side: int

    @classmethod
    def from_scale(cls, scale: float) -> Spec:
        """The sizes at ``scale`` (areas and counts proportional to it)."""
        if not 0 < scale <= 4:
            raise ValueError(f"scale must be in (0, 4], got {scale}")
        n_side = max(8, round(1000 * math.sqrt(scale)))
        return cls(
            scale=float(scale),
            n_side=n_side,
            n_villages=max(4, round(1000 * scale)),
            zones_per_kind=max(2, round(10 * math.sqrt(scale))),
            n_basic=max(6, round(300 * scale)),
            river_m=2_000_000.0 * scale,
            n_points=max(1000, round(10_000_000 * scale)),
            dem_side=10 * n_side,
        )

    @property
    def n_parcels(self) -> int:
        return self.n_side**2

    @property
    def side_m(self) -> float:
        """Side of the (square) county, m."""
        return self.n_side * PARCEL_M

    @property
    def extent(self) -> tuple[float, float, float, float]:
        """(minx, miny, maxx, maxy) in EPSG:4544."""
        h = self.side_m / 2
        return (CENTER_X_M - h, CENTER_Y_M - h, CENTER_X_M + h, CENTER_Y_M + h)


def _rng(spec: Spec, name: str) -> np.random.Generator:
    """An independent, reproducible random stream per component."""
    return np.random.default_rng([SEED, zlib.crc32(name.encode()), round(spec.scale * 1e6)])


_TO_GEO = Transformer.from_crs(GK_CRS, GEO_CRS, always_xy=True)


def _to_geo_xy(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    lon, lat = _TO_GEO.transform(x, y)
    return np.asarray(lon), np.asarray(lat)


def _to_geo(geoms: np.ndarray) -> np.ndarray:
    return shapely.transform(
        geoms, lambda xy: np.column_stack(_TO_GEO.transform(xy[:, 0], xy[:, 1]))
    )


def _names(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` Chinese personal names (2 or 3 characters), vectorised."""
    sur = np.array(_SURNAMES)[rng.integers(len(_SURNAMES), size=n)]
    g1 = np.array(_GIVEN)[rng.integers(len(_GIVEN), size=n)]
    g2 = np.where(rng.random(n) < 0.7, np.array(_GIVEN)[rng.integers(len(_GIVEN), size=n)], "")
    return np.char.add(np.char.add(sur, g1), g2)


# --------------------------------------------------------------------------- terrain frame


def _main_river_y(spec: Spec, x: np.ndarray) -> np.ndarray:
    """The main river's centre line y(x) (EPSG:4544): a meander across the county."""
    x0, _, _, _ = spec.extent
    s = spec.side_m
    u = (np.asarray(x, dtype="float64") - x0) / s
    return CENTER_Y_M + s * (
        0.10 * np.sin(2 * np.pi * u / 0.9 + 0.7) + 0.035 * np.sin(2 * np.pi * u / 0.23 + 2.1)
    )


def _fold(u: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Reflect coordinates into [lo, hi] (a walk that leaves the county bounces back)."""
    w = hi - lo
    t = np.mod(u - lo, 2 * w)
    return lo + np.where(t > w, 2 * w - t, t)


def _displace(spec: Spec, phase: float):
    """A smooth displacement field (shared edges stay shared) to make straight boundaries organic."""
    s = spec.side_m
    a, lam = s / 130.0, s / 7.0

    def fn(xy: np.ndarray) -> np.ndarray:
        x, y = xy[:, 0], xy[:, 1]
        dx = a * (
            np.sin(2 * np.pi * y / lam + phase)
            + 0.5 * np.sin(2 * np.pi * (x + y) / (0.37 * lam) + 2 * phase)
        )
        dy = a * (
            np.sin(2 * np.pi * x / lam + 1.3 * phase)
            + 0.5 * np.sin(2 * np.pi * (x - y) / (0.41 * lam) + phase)
        )
        return np.column_stack([x + dx, y + dy])

    return fn


def _voronoi_cells(spec: Spec, seeds: np.ndarray, phase: float) -> np.ndarray:
    """Voronoi cells of ``seeds`` with organic (displaced) shared boundaries, clipped to the county."""
    x0, y0, x1, y1 = spec.extent
    pad = spec.side_m * 0.1
    outer = shapely.box(x0 - pad, y0 - pad, x1 + pad, y1 + pad)
    cells = shapely.get_parts(
        shapely.voronoi_polygons(shapely.multipoints(seeds), extend_to=outer, ordered=True)
    )
    cells = shapely.intersection(cells, outer)
    cells = shapely.segmentize(cells, spec.side_m / 300.0)
    cells = shapely.transform(cells, _displace(spec, phase))
    return shapely.intersection(cells, shapely.box(x0, y0, x1, y1))


# --------------------------------------------------------------------------- parcels and villages


@dataclass
class _Lattice:
    """The parcel lattice: corners, edge points, parcel rings (EPSG:4544 and lon/lat)."""

    X: np.ndarray
    Y: np.ndarray
    ring_gk: np.ndarray  #: (n*n, 17, 2)
    village_of_cell: np.ndarray  #: (n*n,)
    seeds: np.ndarray


def _lattice(spec: Spec) -> _Lattice:
    rng = _rng(spec, "lattice")
    n = spec.n_side
    x0, y0, _, _ = spec.extent
    w = rng.uniform(0.6, 1.4, n)
    h = rng.uniform(0.6, 1.4, n)
    X = x0 + np.concatenate([[0.0], np.cumsum(w * spec.side_m / w.sum())])
    Y = y0 + np.concatenate([[0.0], np.cumsum(h * spec.side_m / h.sum())])
    jit = 0.10 * PARCEL_M
    jx = rng.uniform(-jit, jit, (n + 1, n + 1))
    jy = rng.uniform(-jit, jit, (n + 1, n + 1))
    jx[:, [0, -1]] = 0.0  # the county's outline stays straight
    jy[[0, -1], :] = 0.0
    cx = X[None, :] + jx  # [row, col]
    cy = Y[:, None] + jy
    t = np.array([0.25, 0.5, 0.75])
    wob = 0.03 * PARCEL_M
    # horizontal edges (row r, from col c to c+1), points wobble in y
    hx = cx[:, :-1, None] + (cx[:, 1:, None] - cx[:, :-1, None]) * t
    hy = (
        cy[:, :-1, None]
        + (cy[:, 1:, None] - cy[:, :-1, None]) * t
        + rng.uniform(-wob, wob, (n + 1, n, 3))
    )
    hy[[0, -1]] = cy[[0, -1], :-1, None] + (cy[[0, -1], 1:, None] - cy[[0, -1], :-1, None]) * t
    # vertical edges (col c, from row r to r+1), points wobble in x
    vx = (
        cx[:-1, :, None]
        + (cx[1:, :, None] - cx[:-1, :, None]) * t
        + rng.uniform(-wob, wob, (n, n + 1, 3))
    )
    vx[:, [0, -1]] = cx[:-1, [0, -1], None] + (cx[1:, [0, -1], None] - cx[:-1, [0, -1], None]) * t
    vy = cy[:-1, :, None] + (cy[1:, :, None] - cy[:-1, :, None]) * t

    r = np.repeat(np.arange(n), n)
    c = np.tile(np.arange(n), n)
    ring = np.empty((n * n, 17, 2))
    # counter-clockwise: bottom-left corner, bottom edge, bottom-right, right edge, top-right,
    # top edge (reversed), top-left, left edge (reversed), closing point
    ring[:, 0, 0], ring[:, 0, 1] = cx[r, c], cy[r, c]
    ring[:, 4, 0], ring[:, 4, 1] = cx[r, c + 1], cy[r, c + 1]
    ring[:, 8, 0], ring[:, 8, 1] = cx[r + 1, c + 1], cy[r + 1, c + 1]
    ring[:, 12, 0], ring[:, 12, 1] = cx[r + 1, c], cy[r + 1, c]
    ring[:, 1:4, 0], ring[:, 1:4, 1] = hx[r, c], hy[r, c]
    ring[:, 5:8, 0], ring[:, 5:8, 1] = vx[r, c + 1], vy[r, c + 1]
    ring[:, 9:12, 0], ring[:, 9:12, 1] = hx[r + 1, c, ::-1], hy[r + 1, c, ::-1]
    ring[:, 13:16, 0], ring[:, 13:16, 1] = vx[r, c, ::-1], vy[r, c, ::-1]
    ring[:, 16] = ring[:, 0]

    from scipy.spatial import cKDTree

    vrng = _rng(spec, "villages")
    seeds = vrng.uniform(0, n, (spec.n_villages, 2))
    _, village = cKDTree(seeds).query(np.column_stack([r + 0.5, c + 0.5]))
    # number villages along a Hilbert curve, so neighbouring villages have neighbouring codes
    order = np.argsort(hilbert_index(seeds[:, 1], seeds[:, 0], bounds=(0, 0, n, n)), kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    return _Lattice(X=X, Y=Y, ring_gk=ring, village_of_cell=rank[village], seeds=seeds[order])


def _village_ids(n: int) -> np.ndarray:
    """12-digit administrative codes: Anding District 621102, town 1xx, village 2xx."""
    k = np.arange(n)
    return np.array([f"621102{100 + i // 50:03d}{200 + i % 50:03d}" for i in k])


def _village_names(n: int) -> np.ndarray:
    heads, tails = np.array(_HEADS), np.array(_TAILS)
    k = np.arange(n)
    base = np.char.add(
        np.char.add(heads[k % len(heads)], tails[(k // len(heads)) % len(tails)]), "村"
    )
    rep = np.minimum(k // (len(heads) * len(tails)), 7)
    return np.char.add(base, np.array(["", "二", "三", "四", "五", "六", "七", "八"])[rep])


def _shoelace(ring: np.ndarray) -> np.ndarray:
    x, y = ring[..., 0], ring[..., 1]
    return 0.5 * np.abs(np.sum(x[:, :-1] * y[:, 1:] - x[:, 1:] * y[:, :-1], axis=1))


def _farmland_and_villages(spec: Spec, lat: _Lattice) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    rng = _rng(spec, "farmland")
    n = spec.n_parcels
    ring = lat.ring_gk
    area_gk = _shoelace(ring)
    cxm = ring[:, :16, 0].mean(axis=1)
    cym = ring[:, :16, 1].mean(axis=1)
    order = np.argsort(hilbert_index(cxm, cym, bounds=spec.extent), kind="stable")

    # abandonment grows with distance from the valley floor (a real pattern on the Loess Plateau)
    away = np.clip(np.abs(cym - _main_river_y(spec, cxm)) / (spec.side_m / 2), 0, 1)
    u = rng.random(n)
    p_ab = 0.03 + 0.17 * away
    status = np.where(u < p_ab, "撂荒", np.where(u < p_ab + 0.05, "休耕", "耕种"))
    cultivated = status == "耕种"
    crop = np.where(
        cultivated,
        np.array(_CROPS)[rng.choice(len(_CROPS), n, p=[0.3, 0.25, 0.2, 0.1, 0.1, 0.05])],
        None,
    )
    land_use = np.array(["旱地", "水浇地", "水田"])[rng.choice(3, n, p=[0.88, 0.10, 0.02])]
    ridge = np.array([0.0, 0.048, 0.081, 0.117, 0.159])[
        rng.choice(5, n, p=[0.2, 0.3, 0.25, 0.15, 0.1])
    ]
    declared = np.round(area_gk * 0.0015 * rng.normal(1.0, 0.03, n), 2)
    last_year = np.where(
        status == "撂荒", rng.integers(2012, 2022, n), np.where(status == "休耕", 2022, 2023)
    )
    film = cultivated & np.isin(crop, ["玉米", "马铃薯"]) & (rng.random(n) < 0.6)
    pu = rng.random(n)
    project = np.where(
        pu < 0.03, "2023年高标准农田建设项目", np.where(pu < 0.05, "旱作农业示范项目", None)
    )
    contractor = _names(rng, n)
    group = np.array(_GROUPS)[rng.integers(len(_GROUPS), size=n)]

    vid_codes = _village_ids(spec.n_villages)
    village = lat.village_of_cell
    # parcel ids: village code + number within the village (in Hilbert order)
    vo = village[order]
    k_in_village = np.empty(n, dtype=np.int64)
    srt = np.argsort(vo, kind="stable")
    starts = np.searchsorted(vo[srt], np.arange(spec.n_villages))
    k_in_village[srt] = np.arange(n) - np.repeat(starts, np.bincount(vo, minlength=spec.n_villages))
    parcel_id = np.char.add(vid_codes[vo], np.char.zfill(k_in_village.astype(str), 5))

    # geometry: the rings in lon/lat (shared vertices transform identically: the tiling holds)
    lon, latd = _to_geo_xy(ring[order, :, 0].ravel(), ring[order, :, 1].ravel())
    geoms = shapely.polygons(np.stack([lon, latd], axis=-1).reshape(n, 17, 2))
    del lon, latd

    def col(a: np.ndarray) -> np.ndarray:
        return a[order]

    farmland = gpd.GeoDataFrame(
        {
            "parcel_id": parcel_id,
            "village_id": vid_codes[vo],
            "status": col(status),
            "land_use": col(land_use),
            "crop": col(crop),
            "declared_area_mu": col(declared),
            "last_cultivated_year": col(last_year).astype("int32"),
            "film_mulch": col(film),
            "group": col(group),
            "contractor": col(contractor),
            "ridge_coef": col(ridge),
            "project": col(project),
        },
        geometry=geoms,
        crs=GEO_CRS,
    )

    # villages: coverage union of their parcels (exactly the parcels' shared edges)
    geo_ring_polys = geoms  # in Hilbert order
    by_v = np.argsort(vo, kind="stable")
    bounds = np.concatenate([[0], np.cumsum(np.bincount(vo, minlength=spec.n_villages))])
    vgeoms = np.empty(spec.n_villages, dtype=object)
    for v in range(spec.n_villages):
        members = geo_ring_polys[by_v[bounds[v] : bounds[v + 1]]]
        vgeoms[v] = shapely.coverage_union_all(members) if len(members) else shapely.Polygon()
    vrng = _rng(spec, "village-attrs")
    counts = np.bincount(vo, minlength=spec.n_villages)
    population = np.maximum(50, (counts * vrng.uniform(0.8, 1.6, spec.n_villages)).round()).astype(
        int
    )
    households = np.maximum(
        15, (population / vrng.uniform(3.2, 4.2, spec.n_villages)).round()
    ).astype(int)
    villages = gpd.GeoDataFrame(
        {
            "village_id": vid_codes,
            "name": _village_names(spec.n_villages),
            "population": population,
            "households": households,
            "monitored_households": (households * vrng.uniform(0.01, 0.05, spec.n_villages))
            .round()
            .astype(int),
            "leader": _names(vrng, spec.n_villages),
            "collective_income_wan": np.round(vrng.gamma(2.0, 6.0, spec.n_villages), 2),
        },
        geometry=vgeoms,
        crs=GEO_CRS,
    )
    return farmland, villages


# --------------------------------------------------------------------------- rivers, zones, roads


@dataclass
class _Rivers:
    coords: np.ndarray  #: (n_segments, SEGMENT_STEPS + 1, 2) EPSG:4544
    river: np.ndarray  #: river index of each segment (0 = main river)
    names: list[str]


def _rivers(spec: Spec) -> _Rivers:
    rng = _rng(spec, "rivers")
    x0, y0, x1, y1 = spec.extent
    # main river: resample the meander at STEP_M along its length
    xd = np.linspace(x0, x1, int(spec.side_m / 2) + 1)
    yd = _main_river_y(spec, xd)
    s = np.concatenate([[0.0], np.cumsum(np.hypot(np.diff(xd), np.diff(yd)))])
    si = np.arange(int(s[-1] // STEP_M) + 1) * STEP_M
    if s[-1] - si[-1] > 1.0:
        si = np.append(si, s[-1])
    q_main = math.ceil((len(si) - 1) / SEGMENT_STEPS)
    # the last reach is shorter: pad it with its end point (removed from the output lines)
    si = np.concatenate([si, np.full(q_main * SEGMENT_STEPS + 1 - len(si), s[-1])])
    main = np.column_stack([np.interp(si, s, xd), np.interp(si, s, yd)])
    rivers = [main]
    total_segments = max(q_main + 1, round(spec.river_m / (STEP_M * SEGMENT_STEPS)))
    left = total_segments - q_main
    while left > 0:
        q = int(min(left, rng.integers(1, 11)))
        start = main[rng.integers(len(main))]
        heading = (np.pi / 2 if rng.random() < 0.5 else -np.pi / 2) + rng.normal(0, 0.5)
        m = q * SEGMENT_STEPS
        theta = heading + np.cumsum(rng.normal(0, 0.05, m))
        pts = start + np.concatenate(
            [
                [[0.0, 0.0]],
                np.cumsum(STEP_M * np.column_stack([np.cos(theta), np.sin(theta)]), axis=0),
            ]
        )
        pts[:, 0] = _fold(pts[:, 0], x0, x1)
        pts[:, 1] = _fold(pts[:, 1], y0, y1)
        rivers.append(pts)
        left -= q
    segs, which = [], []
    for i, pts in enumerate(rivers):
        q = (len(pts) - 1) // SEGMENT_STEPS
        idx = np.arange(q)[:, None] * SEGMENT_STEPS + np.arange(SEGMENT_STEPS + 1)[None, :]
        segs.append(pts[idx])
        which.append(np.full(q, i))
    heads = np.array(_HEADS)
    names = ["关川河"] + [
        f"{heads[(i * 7) % len(heads)]}{'沟河岔'[i % 3]}" for i in range(1, len(rivers))
    ]
    return _Rivers(coords=np.concatenate(segs), river=np.concatenate(which), names=names)


def _cell_of(spec: Spec, lat: _Lattice, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    n = spec.n_side
    c = np.clip(np.searchsorted(lat.X, x) - 1, 0, n - 1)
    r = np.clip(np.searchsorted(lat.Y, y) - 1, 0, n - 1)
    return r * n + c


def _river_layer(
    spec: Spec, lat: _Lattice, riv: _Rivers, basins: gpd.GeoDataFrame
) -> gpd.GeoDataFrame:
    rng = _rng(spec, "chiefs")
    n = len(riv.coords)
    mid = riv.coords[:, SEGMENT_STEPS // 2]
    level = np.array(_LEVELS)[rng.choice(4, n, p=[0.05, 0.15, 0.30, 0.50])]
    level[riv.river == 0] = np.where(np.arange((riv.river == 0).sum()) % 4 == 0, "county", "town")
    chief_id = np.empty(n, dtype=object)
    for lv in _LEVELS:
        idx = np.flatnonzero(level == lv)
        chief_id[idx] = [
            f"{_LEVEL_PREFIX[lv]}{k // _SEGMENTS_PER_CHIEF[lv] + 1:04d}" for k in range(len(idx))
        ]
    uniq, inv = np.unique(chief_id.astype(str), return_inverse=True)
    chief_names = _names(rng, len(uniq))[inv]
    village = lat.village_of_cell[_cell_of(spec, lat, mid[:, 0], mid[:, 1])]
    basin_of = np.full(n, "", dtype=object)
    mids = shapely.points(mid)
    tree = shapely.STRtree(basins.geometry.values)  # EPSG:4544
    pi, bi = tree.query(mids, predicate="within")
    basin_of[pi] = basins["name"].to_numpy()[bi]
    lines = _to_geo(shapely.remove_repeated_points(shapely.linestrings(riv.coords)))
    return gpd.GeoDataFrame(
        {
            "segment_id": [f"HD{k + 1:05d}" for k in range(n)],
            "river_name": np.array(riv.names)[riv.river],
            "chief": chief_names,
            "chief_id": chief_id.astype(str),
            "chief_level": np.array([_LEVEL_ZH[v] for v in level]),
            "village_id": _village_ids(spec.n_villages)[village],
            "basin": basin_of.astype(str),
            "annual_patrol_target": np.array([_PATROL_TARGETS[v] for v in level]),
        },
        geometry=lines,
        crs=GEO_CRS,
    )


def _roads_gk(spec: Spec) -> np.ndarray:
    """Two trunk roads (两线) across the county, EPSG:4544 linestrings."""
    x0, y0, x1, y1 = spec.extent
    xs = np.linspace(x0, x1, 401)
    s = spec.side_m
    out = []
    for k, (yc, ph) in enumerate(((CENTER_Y_M + 0.28 * s, 0.4), (CENTER_Y_M - 0.30 * s, 1.9))):
        ys = yc + s * (
            0.05 * np.sin(2 * np.pi * (xs - x0) / (0.8 * s) + ph)
            + 0.015 * np.sin(2 * np.pi * (xs - x0) / (0.17 * s) + k)
        )
        out.append(shapely.linestrings(np.column_stack([xs, ys])))
    return np.array(out, dtype=object)


def _strips(spec: Spec, k: int) -> np.ndarray:
    x0, y0, x1, y1 = spec.extent
    e = np.linspace(x0, x1, k + 1)
    return shapely.box(e[:-1], y0, e[1:], y1)


def _zones(spec: Spec) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """30 planning zones (一川两线三流域: valley, corridor, basin; 10 of each at county scale).

    Returns the zones (EPSG:4490) and the basins in EPSG:4544 (for the rivers' basin names).
    """
    rng = _rng(spec, "zones")
    k = spec.zones_per_kind
    x0, y0, x1, y1 = spec.extent
    s = spec.side_m
    rows = []
    # valley: the main river's floor, 1.2 km either side (scaled), cut into k reaches
    xd = np.linspace(x0, x1, 1001)
    river = shapely.linestrings(np.column_stack([xd, _main_river_y(spec, xd)]))
    floor = shapely.buffer(river, 0.024 * s, quad_segs=8)
    for i, g in enumerate(shapely.intersection(floor, _strips(spec, k))):
        rows.append(("valley", f"ZV{i + 1:02d}", f"关川河川区{i + 1}段", g))
    # corridors: both trunk roads, 300 m either side (scaled), cut into reaches
    roads = _roads_gk(spec)
    per_road = [k // 2 + k % 2, k // 2]
    j = 0
    for r, g_road in enumerate(roads):
        band = shapely.buffer(g_road, 0.006 * s, quad_segs=8)
        for g in shapely.intersection(band, _strips(spec, max(1, per_road[r]))):
            j += 1
            rows.append(("corridor", f"ZC{j:02d}", f"{'北南'[r]}线产业带{j}段", g))
    # basins: k catchments tiling the county
    seeds = np.column_stack([rng.uniform(x0, x1, k), rng.uniform(y0, y1, k)])
    basin_geoms = _voronoi_cells(spec, seeds, phase=0.9)
    basin_names = [f"{_HEADS[(3 * i + 5) % len(_HEADS)]}河流域" for i in range(k)]
    for i, g in enumerate(basin_geoms):
        rows.append(("basin", f"ZB{i + 1:02d}", basin_names[i], g))
    zh = {"valley": "一川", "corridor": "两线", "basin": "三流域"}
    gk = np.array([r[3] for r in rows], dtype=object)
    planned = np.round(shapely.area(gk) * 0.0015 * rng.uniform(0.05, 0.2, len(rows)), 0)
    zones = gpd.GeoDataFrame(
        {
            "zone_id": [r[1] for r in rows],
            "kind": [zh[r[0]] for r in rows],
            "name": [r[2] for r in rows],
            "planned_demo_mu": planned,
        },
        geometry=_to_geo(gk),
        crs=GEO_CRS,
    )
    basins = gpd.GeoDataFrame({"name": basin_names}, geometry=basin_geoms, crs=GK_CRS)
    return zones, basins


def _basic_farmland(spec: Spec) -> gpd.GeoDataFrame:
    """Permanent basic farmland (永久基本农田): about 45% of the land, in organic patches."""
    rng = _rng(spec, "basic")
    x0, y0, x1, y1 = spec.extent
    seeds = np.column_stack([rng.uniform(x0, x1, spec.n_basic), rng.uniform(y0, y1, spec.n_basic)])
    cells = _voronoi_cells(spec, seeds, phase=2.3)
    keep = rng.random(len(cells)) < 0.45
    keep[0] = True
    cells = cells[keep]
    return gpd.GeoDataFrame(
        {
            "zone_id": [f"JBNT{i + 1:04d}" for i in range(len(cells))],
            "name": [f"永久基本农田保护片{i + 1}" for i in range(len(cells))],
        },
        geometry=_to_geo(cells),
        crs=GEO_CRS,
    )


def _roads_and_settlements(
    spec: Spec, villages: gpd.GeoDataFrame
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    rng = _rng(spec, "settlements")
    trunk = _roads_gk(spec)
    centres_gk = shapely.point_on_surface(villages.to_crs(GK_CRS).geometry.values)
    # village roads: from each village centre to the nearest trunk road
    d = np.column_stack([shapely.distance(centres_gk, t) for t in trunk])
    nearest = trunk[np.argmin(d, axis=1)]
    spur = shapely.shortest_line(centres_gk, nearest)
    nv = len(villages)
    roads = gpd.GeoDataFrame(
        {
            "road_id": [f"R{i + 1:05d}" for i in range(len(trunk) + nv)],
            "name": ["北线公路", "南线公路"] + [f"{n}通村路" for n in villages["name"]],
            "road_class": ["县道"] * len(trunk) + ["村道"] * nv,
            "hardened": np.concatenate([[True] * len(trunk), rng.random(nv) < 0.8]),
            "hardened_year": np.concatenate([[2015] * len(trunk), rng.integers(2010, 2024, nv)]),
        },
        geometry=_to_geo(np.concatenate([trunk, spur])),
        crs=GEO_CRS,
    )
    # settlements: the village centre and two hamlets nearby
    xy = shapely.get_coordinates(centres_gk)
    off = rng.normal(0, PARCEL_M * 6, (nv, 2, 2))
    pts = np.concatenate([xy[:, None, :], xy[:, None, :] + off], axis=1).reshape(-1, 2)
    x0, y0, x1, y1 = spec.extent
    pts[:, 0] = np.clip(pts[:, 0], x0, x1)
    pts[:, 1] = np.clip(pts[:, 1], y0, y1)
    vids = np.repeat(villages["village_id"].to_numpy(), 3)
    hamlets = np.char.add(
        np.array(_HEADS)[rng.integers(len(_HEADS), size=nv * 3)],
        np.array(_TAILS)[rng.integers(len(_TAILS), size=nv * 3)],
    )
    names = np.where(
        np.tile([True, False, False], nv), np.repeat(villages["name"].to_numpy(), 3), hamlets
    )
    settlements = gpd.GeoDataFrame(
        {
            "settlement_id": [f"S{i + 1:06d}" for i in range(len(pts))],
            "village_id": vids,
            "name": names,
        },
        geometry=_to_geo(shapely.points(pts)),
        crs=GEO_CRS,
    )
    return roads, settlements


# --------------------------------------------------------------------------- patrols


def _patrol_points(
    spec: Spec, riv: _Rivers, rivers: gpd.GeoDataFrame
) -> Iterator[gpd.GeoDataFrame]:
    """Patrol GPS points on the river segments, yielded as partitions (by chief, then time).

    Trips: walks (70%: 0.9-1.6 m/s, a fix every 10 s, 60-100% of the segment),
    drive-bys (20%: 25-45 km/h, every 5 s) and token stops (10%: a few % of
    the segment); 4 m GPS noise and 0.2% outliers of about 150 m.
    """
    rng = _rng(spec, "patrols")
    coords = riv.coords
    n_seg = len(coords)
    seglen = np.hypot(*np.diff(coords, axis=1).transpose(2, 0, 1)).sum(axis=1)
    n_target = spec.n_points
    est = int(n_target / 120 * 1.5) + 20
    kind = rng.choice(3, est, p=[0.7, 0.2, 0.1])
    speed = np.select(
        [kind == 0, kind == 1],
        [rng.uniform(0.9, 1.6, est), rng.uniform(7.0, 12.5, est)],
        rng.uniform(0.2, 0.8, est),
    )
    interval = np.where(kind == 1, 5.0, 10.0)
    cover = np.select(
        [kind == 0, kind == 1],
        [rng.uniform(0.6, 1.0, est), rng.uniform(0.8, 1.0, est)],
        rng.uniform(0.02, 0.08, est),
    )
    seg = rng.integers(n_seg, size=est)
    npts = np.maximum(3, (cover * seglen[seg] / (speed * interval)).astype(np.int64) + 1)
    cum = np.cumsum(npts)
    k_trips = int(np.searchsorted(cum, n_target) + 1)
    kind, speed, interval, cover, seg, npts = (
        a[:k_trips] for a in (kind, speed, interval, cover, seg, npts)
    )
    npts[-1] -= int(cum[k_trips - 1] - n_target)
    d0 = rng.uniform(0, 1, k_trips) * (1 - cover) * seglen[seg]
    backward = rng.random(k_trips) < 0.5
    day = rng.integers(0, 334, k_trips)
    start = (
        np.datetime64("2023-01-01T08:00:00", "s")
        + day.astype("timedelta64[D]").astype("timedelta64[s]")
        + rng.integers(0, 9 * 3600, k_trips).astype("timedelta64[s]")
    )
    # order trips by chief (chiefs in Hilbert order of their first segment), then time
    chief_ids = rivers["chief_id"].to_numpy()
    mids = coords[:, SEGMENT_STEPS // 2]
    seg_h = hilbert_index(mids[:, 0], mids[:, 1], bounds=spec.extent)
    chief_codes, chief_inv = np.unique(chief_ids, return_inverse=True)
    chief_h = np.full(len(chief_codes), np.iinfo(np.int64).max)
    np.minimum.at(chief_h, chief_inv, seg_h)
    trip_chief = chief_inv[seg]
    order = np.lexsort((start.astype(np.int64), trip_chief, chief_h[trip_chief]))
    kind, speed, interval, cover, seg, npts, d0, backward, start, trip_chief = (
        a[order] for a in (kind, speed, interval, cover, seg, npts, d0, backward, start, trip_chief)
    )
    first_seg = np.full(len(chief_codes), n_seg)
    np.minimum.at(first_seg, chief_inv, np.arange(n_seg))
    chief_names = rivers["chief"].to_numpy()[first_seg]
    trip_first = np.concatenate([[0], np.cumsum(npts)[:-1]])
    # partitions: whole chiefs, about POINTS_PER_PARTITION points each
    chief_change = np.flatnonzero(np.diff(trip_chief) != 0) + 1
    cuts = [0]
    for b in chief_change:
        if trip_first[b] - trip_first[cuts[-1]] >= POINTS_PER_PARTITION:
            cuts.append(int(b))
    cuts.append(k_trips)
    for a, b in zip(cuts[:-1], cuts[1:]):
        t = np.arange(a, b)
        n = int(npts[t].sum())
        trip = np.repeat(t, npts[t])
        k = np.arange(n) - np.repeat(trip_first[t] - trip_first[a], npts[t])
        dist = d0[trip] + k * speed[trip] * interval[trip]
        dist = np.where(backward[trip], seglen[seg[trip]] - dist, dist)
        f = np.clip(dist / STEP_M, 0, SEGMENT_STEPS - 1e-9)
        i = f.astype(np.int64)
        frac = (f - i)[:, None]
        s_ = seg[trip]
        xy = coords[s_, i] + (coords[s_, i + 1] - coords[s_, i]) * frac
        xy += rng.normal(0, 4.0, xy.shape)
        out = rng.random(n) < 0.002
        xy[out] += rng.normal(0, 150.0, (int(out.sum()), 2))
        lon, latd = _to_geo_xy(xy[:, 0], xy[:, 1])
        time_ = (
            start[trip]
            + (k * interval[trip]).astype("timedelta64[s]")
            + rng.integers(0, 2, n).astype("timedelta64[s]")
        )
        chiefs = chief_codes[trip_chief[trip]]
        first_point = int(trip_first[a])
        yield gpd.GeoDataFrame(
            {
                "point_id": np.arange(first_point + 1, first_point + n + 1, dtype=np.int64),
                "chief": chief_names[trip_chief[trip]],
                "chief_id": chiefs,
                "time": pd.to_datetime(time_).astype("datetime64[ms]"),
                "trip_id": (trip + 1).astype(np.int64),
            },
            geometry=shapely.points(lon, latd),
            crs=GEO_CRS,
        )


# --------------------------------------------------------------------------- DEM


def _elevation(spec: Spec, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Elevation (m) of the synthetic Loess valley at EPSG:4544 points."""
    x0, _, _, _ = spec.extent
    v = np.abs(y - _main_river_y(spec, x))
    z = 1880.0 + 0.002 * (x - x0)
    z = z + 320.0 * (1.0 - np.exp(-np.maximum(v - 250.0, 0.0) / 1500.0))
    hills = np.zeros_like(z)
    # wavelengths (m), amplitudes (m), directions: slopes of 10-35 degrees on the hills
    for lam, amp, ang, ph in (
        (4000, 60, 0.3, 0.1),
        (2500, 40, 1.4, 1.7),
        (1200, 25, 2.3, 0.6),
        (700, 14, 0.9, 2.9),
        (300, 6, 2.8, 1.2),
        (150, 3, 1.9, 2.2),
    ):
        k = 2 * np.pi / lam
        hills += amp * np.sin(k * (np.cos(ang) * x + np.sin(ang) * y) + ph)
    return z + hills * (1.0 - np.exp(-v / 600.0))


def _write_dem(spec: Spec, path: Path) -> None:
    import rasterio
    from rasterio.transform import from_origin
    from rasterio.windows import Window

    n = spec.dem_side
    x0, _, _, y1 = spec.extent
    cell = spec.side_m / n
    profile = {
        "driver": "GTiff",
        "width": n,
        "height": n,
        "count": 1,
        "dtype": "float32",
        "crs": GK_CRS,
        "transform": from_origin(x0, y1, cell, cell),
        "nodata": -9999.0,
        "tiled": True,
        "blockxsize": 512,
        "blockysize": 512,
        "compress": "deflate",
        "predictor": 3,
        "zlevel": 1,
        "num_threads": "all_cpus",
        "bigtiff": "if_safer",
    }
    xs = x0 + (np.arange(n) + 0.5) * cell
    with rasterio.open(path, "w", **profile) as dst:
        step = 512
        for r0 in range(0, n, step):
            r1 = min(r0 + step, n)
            ys = y1 - (np.arange(r0, r1) + 0.5) * cell
            X, Y = np.meshgrid(xs, ys)
            dst.write(_elevation(spec, X, Y).astype("float32"), 1, window=Window(0, r0, n, r1 - r0))


# --------------------------------------------------------------------------- cache


@dataclass
class County:
    """A generated county: where its files are, and how to read them.

    Attributes
    ----------
    spec : Spec
    root : Path
        ``benchmarks/data/county-<scale>``.
    counts : dict
        Features per layer (and DEM cells).
    seconds : dict
        Generation time of each part.
    """

    spec: Spec
    root: Path
    counts: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    def gpkg(self, layer: str) -> Path:
        """The GeoPackage of one layer."""
        return self.root / "gpkg" / f"{layer}.gpkg"

    def parquet(self, layer: str) -> Path:
        """The GeoParquet of one layer (a folder of partitions for farmland and patrols)."""
        return self.root / "parquet" / f"{layer}.parquet"

    @property
    def dem(self) -> Path:
        """The DEM (EPSG:4544, 5 m)."""
        return self.root / "dem.tif"

    def town_dir(self, fmt: str = "gpkg") -> Path:
        """A town folder (one file per layer, and a ``town.toml``): ``gpkg`` or ``parquet``."""
        return self.root / fmt

    def read(
        self, layer: str, fmt: str = "parquet", columns: Sequence[str] | None = None
    ) -> gpd.GeoDataFrame:
        """Read a layer (GeoParquet by default: the fastest) into one GeoDataFrame."""
        if fmt == "parquet":
            return gpd.read_parquet(self.parquet(layer), columns=list(columns) if columns else None)
        return pyogrio.read_dataframe(self.gpkg(layer), columns=columns, use_arrow=True)


def _tag(scale: float) -> str:
    return f"county-{scale:g}"


@contextlib.contextmanager
def _lock(root: Path):
    root.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:  # Windows: no lock (run one generator at a time)
        yield
        return
    with open(root / ".lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _manifest(root: Path) -> dict:
    p = root / "manifest.json"
    if p.exists():
        try:
            return json.loads(p.read_text(encoding="utf-8"))
        except ValueError:
            return {}
    return {}


def _save_manifest(root: Path, data: dict) -> None:
    tmp = root / f".manifest.{uuid.uuid4().hex[:6]}.tmp"
    tmp.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
    os.replace(tmp, root / "manifest.json")


def _write_gpkg(gdf: gpd.GeoDataFrame | Iterator[gpd.GeoDataFrame], path: Path, layer: str) -> int:
    """Write one layer (or its chunks, appended) to a GeoPackage, atomically."""
    tmp = path.with_name(f".{path.stem}.{uuid.uuid4().hex[:6]}.gpkg")
    n = 0
    chunks = [gdf] if isinstance(gdf, gpd.GeoDataFrame) else gdf
    for i, chunk in enumerate(chunks):
        pyogrio.write_dataframe(
            chunk, tmp, layer=layer, driver="GPKG", use_arrow=True, append=i > 0
        )
        n += len(chunk)
    os.replace(tmp, path)
    return n


def _town_toml(spec: Spec) -> str:
    return (
        "# Synthetic county for the benchmarks (benchmarks/county.py); not real data.\n"
        "[town]\n"
        f'name = "合成县域 (比例 {spec.scale:g})"\n'
        f'name_en = "Synthetic county (scale {spec.scale:g})"\n'
        'crs = "EPSG:4490"\n'
        "year = 2023\n\n"
        "[rasters]\n"
        'dem = "../dem.tif"\n'
    )


def _gen_vector(spec: Spec, root: Path) -> dict[str, int]:
    t0 = time.perf_counter()
    lat = _lattice(spec)
    farmland, villages = _farmland_and_villages(spec, lat)
    log.info("parcels and villages: %.1f s", time.perf_counter() - t0)
    zones, basins = _zones(spec)
    riv = _rivers(spec)
    rivers = _river_layer(spec, lat, riv, basins)
    basic = _basic_farmland(spec)
    roads, settlements = _roads_and_settlements(spec, villages)
    layers = {
        "villages": villages,
        "farmland": farmland,
        "zones": zones,
        "rivers": rivers,
        "basic_farmland": basic,
        "roads": roads,
        "settlements": settlements,
    }
    log.info("vector layers made: %.1f s", time.perf_counter() - t0)
    (root / "gpkg").mkdir(exist_ok=True)
    (root / "parquet").mkdir(exist_ok=True)
    counts = {}
    for name, gdf in layers.items():
        counts[name] = _write_gpkg(gdf, root / "gpkg" / f"{name}.gpkg", name)
        if name == "farmland":
            # already in Hilbert order
            write_partitioned(
                gdf,
                root / "parquet" / f"{name}.parquet",
                npartitions=max(MIN_PARTITIONS, math.ceil(len(gdf) / ROWS_PER_PARTITION)),
                sort=False,
            )
        else:
            tmp = root / "parquet" / f".{name}.{uuid.uuid4().hex[:6]}.parquet"
            gdf.to_parquet(tmp, index=False, compression="zstd", write_covering_bbox=True)
            os.replace(tmp, root / "parquet" / f"{name}.parquet")
    for sub in ("gpkg", "parquet"):
        (root / sub / "town.toml").write_text(_town_toml(spec), encoding="utf-8")
    log.info("vector layers written: %.1f s", time.perf_counter() - t0)
    return counts


def _gen_patrols(spec: Spec, root: Path) -> dict[str, int]:
    lat = _lattice(spec)  # deterministic: the same rivers and chiefs as the vector part
    _, basins = _zones(spec)
    riv = _rivers(spec)
    rivers = _river_layer(spec, lat, riv, basins)
    del lat
    (root / "gpkg").mkdir(exist_ok=True)
    (root / "parquet").mkdir(exist_ok=True)
    # one partition at a time: appended to the GeoPackage, one file of the Parquet folder
    tmp_dir = root / "parquet" / f".patrols.{uuid.uuid4().hex[:6]}.parts"
    tmp_dir.mkdir()
    gpkg_tmp = root / "gpkg" / f".patrols.{uuid.uuid4().hex[:6]}.gpkg"
    n = 0
    for i, chunk in enumerate(_patrol_points(spec, riv, rivers)):
        pyogrio.write_dataframe(
            chunk, gpkg_tmp, layer="patrols", driver="GPKG", use_arrow=True, append=i > 0
        )
        chunk.to_parquet(
            tmp_dir / f"part.{i:05d}.parquet",
            index=False,
            compression="zstd",
            write_covering_bbox=True,
        )
        n += len(chunk)
    os.replace(gpkg_tmp, root / "gpkg" / "patrols.gpkg")
    dest = root / "parquet" / "patrols.parquet"
    if dest.exists():
        shutil.rmtree(dest)
    os.replace(tmp_dir, dest)
    return {"patrols": n}


def _gen_dem(spec: Spec, root: Path) -> dict[str, int]:
    tmp = root / f".dem.{uuid.uuid4().hex[:6]}.tif"
    _write_dem(spec, tmp)
    os.replace(tmp, root / "dem.tif")
    return {"dem_cells": spec.dem_side**2}


_GENERATORS = {"vector": _gen_vector, "patrols": _gen_patrols, "dem": _gen_dem}


def make_county(
    size: str | float = "town",
    *,
    parts: Sequence[str] = PARTS,
    root: Path | str | None = None,
    force: bool = False,
) -> County:
    """Generate (or reuse from the cache) a synthetic county in the town schema.

    Parameters
    ----------
    size : "town", "county" or float
        ``"town"`` (scale 0.005, about 5,000 parcels), ``"county"`` (scale 1,
        1,000,000 parcels) or a scale (fraction of the county).
    parts : sequence of {"vector", "patrols", "dem"}
        What to make: the vector layers (parcels, villages, zones, rivers,
        basic farmland, roads, settlements), the patrol points, the DEM.
        Parts already in the cache are reused.
    root : path, optional
        Cache folder (default ``benchmarks/data``).
    force : bool
        Regenerate even when cached.

    Returns
    -------
    County
        Paths and counts. At county scale the first call takes a few minutes
        (see ``manifest.json`` for the times); later calls return at once.
    """
    from common import scale_of  # benchmarks/common.py

    scale = scale_of(size)
    spec = Spec.from_scale(scale)
    unknown = set(parts) - set(PARTS)
    if unknown:
        raise ValueError(f"unknown parts {sorted(unknown)}; known: {', '.join(PARTS)}")
    base = Path(root) if root is not None else DATA_DIR
    folder = base / _tag(scale)
    with _lock(folder):
        man = _manifest(folder)
        if man.get("version") != GENERATOR_VERSION or man.get("spec") != asdict(spec):
            man = {
                "version": GENERATOR_VERSION,
                "seed": SEED,
                "spec": asdict(spec),
                "parts": {},
                "counts": {},
            }
        for part in PARTS:
            if part not in parts:
                continue
            if part in man["parts"] and not force:
                continue
            log.info("generating %s at scale %g into %s", part, scale, folder)
            t0 = time.perf_counter()
            counts = _GENERATORS[part](spec, folder)
            man["parts"][part] = {"seconds": round(time.perf_counter() - t0, 1)}
            man["counts"].update(counts)
            _save_manifest(folder, man)
            log.info("%s done in %.1f s", part, man["parts"][part]["seconds"])
    return County(
        spec=spec,
        root=folder,
        counts=dict(man["counts"]),
        seconds={k: v["seconds"] for k, v in man["parts"].items()},
    )


def main(argv: Sequence[str] | None = None) -> int:
    """``python benchmarks/county.py --size county [--parts vector,patrols,dem] [--force]``."""
    p = argparse.ArgumentParser(
        description="Generate the synthetic county for the benchmarks (cached)."
    )
    p.add_argument(
        "--size",
        "--scale",
        dest="size",
        default="town",
        help="town (about 5,000 parcels), county (1,000,000) or a fraction such as 0.1",
    )
    p.add_argument("--parts", default=",".join(PARTS), help=f"comma-separated: {', '.join(PARTS)}")
    p.add_argument("--root", type=Path, default=None, help="cache folder (default benchmarks/data)")
    p.add_argument("--force", action="store_true", help="regenerate even when cached")
    ns = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    c = make_county(
        ns.size,
        parts=[s.strip() for s in ns.parts.split(",") if s.strip()],
        root=ns.root,
        force=ns.force,
    )
    print(f"{c.root}")
    for k, v in c.counts.items():
        print(f"  {k:16s} {v:>12,}")
    for k, v in c.seconds.items():
        print(f"  {k:16s} {v:>10.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
