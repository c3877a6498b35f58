"""Farmland parcels of the demo town: geometry, attributes, abandonment, projects.

Parcels are Voronoi cells of seeds laid out like the fields they imitate:
a jittered lattice of rectangles on the valley floor, rows along the contours
on the terraced hillsides (so terrace parcels are long and narrow), noded with
the cultivable-land boundary and the village boundaries and polygonized, so
they tile the cultivable land without gaps or overlaps.

Abandonment (撂荒) is drawn from a logistic model of factors an analysis can
measure independently: mean slope, distance to the nearest road, distance to
the nearest settlement of the parcel's village, parcel size, elongation and
the village's share of monitored households (三类户), plus noise.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely
from shapely.geometry import MultiPoint

from gis_town.demo import terrain as T
from gis_town.demo.names import GROUP_LABELS, NameMaker
from gis_town.demo.world import Frame

log = logging.getLogger(__name__)

#: Terrace band height (m): one seed row per band on the hillsides.
BAND_M = 8.0


def _valley_seeds(frame: Frame, mean_area_m2: float, rng: np.random.Generator) -> np.ndarray:
    """Jittered lattice in the valley frame: fields about 1 : 2.3, long side across the valley."""
    floor = shapely.intersection(frame.main_floor, frame.cultivable)
    if floor.is_empty:
        return np.zeros((0, 2))
    a = np.radians(T.VALLEY_ANGLE_DEG)
    du = np.sqrt(mean_area_m2 / 2.3)
    dv = 2.3 * du
    minx, miny, maxx, maxy = floor.bounds
    cx, cy = (minx + maxx) / 2, (miny + maxy) / 2
    half = np.hypot(maxx - minx, maxy - miny) / 2
    uu, vv = np.meshgrid(np.arange(-half, half, du), np.arange(-half, half, dv))
    uu = uu + rng.uniform(-0.18, 0.18, uu.shape) * du
    vv = vv + rng.uniform(-0.18, 0.18, vv.shape) * dv
    x = cx + uu * np.cos(a) - vv * np.sin(a)
    y = cy + uu * np.sin(a) + vv * np.cos(a)
    keep = shapely.contains_xy(floor, x.ravel(), y.ravel())
    return np.column_stack([x.ravel()[keep], y.ravel()[keep]])


def _hill_seeds(frame: Frame, target_n: int, rng: np.random.Generator) -> np.ndarray:
    """Seed rows along contour bands on the hillsides, thinned to ``target_n`` points."""
    hill = shapely.difference(frame.cultivable, frame.main_floor)
    if hill.is_empty or target_n <= 0:
        return np.zeros((0, 2))
    minx, miny, maxx, maxy = hill.bounds
    n_cand = int(hill.area / 60.0)
    x = rng.uniform(minx, maxx, n_cand * 3)
    y = rng.uniform(miny, maxy, n_cand * 3)
    ok = shapely.contains_xy(hill, x, y)
    x, y = x[ok], y[ok]
    g = frame.terrain.grid
    # bilinear DEM so contour rows are smooth
    from scipy.ndimage import map_coordinates

    col = (x - g.x0_m) / g.cell_m - 0.5
    row = (g.y1_m - y) / g.cell_m - 0.5
    z = map_coordinates(frame.terrain.dem_m, [row, col], order=1, mode="nearest")
    frac = (z / BAND_M) % 1.0
    strip = np.abs(frac - 0.5) < 0.12
    x, y, band = x[strip], y[strip], np.floor(z[strip] / BAND_M).astype(np.int64)
    order = rng.permutation(x.size)
    x, y, band = x[order], y[order], band[order]

    def thin(spacing: float) -> np.ndarray:
        cell: dict[tuple[int, int, int], list[int]] = {}
        kept: list[int] = []
        kx = np.floor(x / spacing).astype(np.int64)
        ky = np.floor(y / spacing).astype(np.int64)
        for i in range(x.size):
            b, cx_, cy_ = int(band[i]), int(kx[i]), int(ky[i])
            close = False
            for dx in (-1, 0, 1):
                for dy in (-1, 0, 1):
                    for j in cell.get((b, cx_ + dx, cy_ + dy), ()):
                        if (x[j] - x[i]) ** 2 + (y[j] - y[i]) ** 2 < spacing * spacing:
                            close = True
                            break
                    if close:
                        break
                if close:
                    break
            if not close:
                cell.setdefault((b, cx_, cy_), []).append(i)
                kept.append(i)
        return np.asarray(kept, dtype=np.int64)

    spacing = 95.0
    kept = thin(spacing)
    for _ in range(2):
        if abs(kept.size - target_n) < 0.03 * target_n:
            break
        spacing *= kept.size / target_n
        kept = thin(spacing)
    return np.column_stack([x[kept], y[kept]])


def _tile(frame: Frame, n_seeds: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """One tiling of the cultivable land from about ``n_seeds`` seeds."""
    cult = frame.cultivable
    mean_area = cult.area / n_seeds
    vseeds = _valley_seeds(frame, mean_area * 1.25, rng)
    hseeds = _hill_seeds(frame, max(n_seeds - len(vseeds), 10), rng)
    seeds = np.vstack([vseeds, hseeds])
    edges = shapely.voronoi_polygons(
        MultiPoint(seeds),
        extend_to=shapely.box(*(np.asarray(cult.bounds) + [-2000.0, -2000.0, 2000.0, 2000.0])),
        only_edges=True,
    )
    vb = [shapely.boundary(v) for v in frame.villages]
    lines = shapely.union_all([edges, shapely.boundary(cult)] + vb)
    faces = np.asarray(shapely.get_parts(shapely.polygonize(shapely.get_parts(lines))))
    shapely.prepare(cult)
    rep = shapely.point_on_surface(faces)
    faces = faces[shapely.contains(cult, rep)]
    rep = shapely.point_on_surface(faces)
    area = shapely.area(faces)
    width = 2.0 * area / shapely.length(faces)
    keep = (area > 120.0) & (width > 4.0)
    faces, rep = faces[keep], rep[keep]
    vil = np.full(len(faces), -1)
    for i, v in enumerate(frame.villages):
        vil[shapely.contains(v, rep)] = i
    ok = vil >= 0
    log.info(
        "地块 parcels: %d seeds (valley %d) -> %d parcels", len(seeds), len(vseeds), int(ok.sum())
    )
    return faces[ok], vil[ok]


def parcel_geometries(
    frame: Frame, n_parcels: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Parcel polygons (EPSG:4544) tiling the cultivable land, and each one's village index.

    Cutting by villages, roads and holes adds pieces, so the seed count is
    calibrated (up to three tilings) until the parcel count is within 8% of
    ``n_parcels``.
    """
    base = int(rng.integers(0, 2**31))
    n_seeds = int(n_parcels * 0.9)
    faces, vil = _tile(frame, n_seeds, np.random.default_rng([base, 0]))
    for attempt in (1, 2):
        if abs(len(faces) - n_parcels) <= 0.08 * n_parcels:
            break
        n_seeds = max(10, int(round(n_seeds * n_parcels / max(len(faces), 1))))
        faces, vil = _tile(frame, n_seeds, np.random.default_rng([base, attempt]))
    return faces, vil


@dataclass
class ParcelFactors:
    """Per-parcel measures the abandonment model uses (all independently measurable)."""

    slope_mean_deg: np.ndarray
    road_distance_m: np.ndarray
    settlement_distance_m: np.ndarray
    river_distance_m: np.ndarray
    area_m2: np.ndarray
    shape_index: np.ndarray
    width_m: np.ndarray
    in_floor: np.ndarray


def zonal_means(geoms: np.ndarray, arrays: list[np.ndarray], grid: T.Grid) -> list[np.ndarray]:
    """Area-weighted means of several rasters under each polygon, in one exactextract pass."""
    import geopandas as gpd
    from exactextract import exact_extract
    from exactextract.raster import NumPyRasterSource

    x1 = grid.x0_m + grid.ncols * grid.cell_m
    y0 = grid.y1_m - grid.nrows * grid.cell_m
    srcs = [
        NumPyRasterSource(
            np.asarray(a, dtype="float64"),
            grid.x0_m,
            y0,
            x1,
            grid.y1_m,
            nodata=-9999.0,
            name=f"r{k}",
        )
        for k, a in enumerate(arrays)
    ]
    gdf = gpd.GeoDataFrame({"i": np.arange(len(geoms))}, geometry=list(geoms), crs=T.GK_CRS)
    out = exact_extract(srcs, gdf, "mean", include_cols=["i"], output="pandas").sort_values("i")
    cols = [c for c in out.columns if c != "i"]
    return [out[c].to_numpy(dtype=float) for c in cols]


def zonal_mean(geoms: np.ndarray, arr: np.ndarray, grid: T.Grid) -> np.ndarray:
    """Area-weighted mean of ``arr`` under each polygon (exactextract fractional coverage)."""
    return zonal_means(geoms, [arr], grid)[0]


def nearest_distance(geoms: np.ndarray, targets: list) -> np.ndarray:
    """Distance (m) from each geometry to the nearest of ``targets`` (STRtree nearest)."""
    tree = shapely.STRtree(np.asarray(targets, dtype=object))
    idx, dist = tree.query_nearest(geoms, return_distance=True, all_matches=False)
    out = np.full(len(geoms), np.inf)
    np.minimum.at(out, idx[0], dist)
    return out


def parcel_factors(
    frame: Frame, faces: np.ndarray, vil: np.ndarray, slope_mean_deg: np.ndarray
) -> ParcelFactors:
    """Measure each parcel: distances, size and shape (slope given)."""
    slope = slope_mean_deg
    road_d = nearest_distance(faces, [r.line for r in frame.roads])
    river_d = nearest_distance(faces, [r.line for r in frame.rivers])
    s = frame.settlements
    setl_d = np.full(len(faces), np.inf)
    for vi in np.unique(vil):
        sel = np.flatnonzero(vil == vi)
        pts = [shapely.Point(p) for p in s.xy[s.village == vi]]
        if not pts:
            pts = [shapely.Point(p) for p in s.xy]
        setl_d[sel] = nearest_distance(faces[sel], pts)
    area = shapely.area(faces)
    perim = shapely.length(faces)
    shape_index = perim / (2.0 * np.sqrt(np.pi * area))
    in_floor = shapely.contains(frame.main_floor, shapely.point_on_surface(faces))
    return ParcelFactors(
        slope, road_d, setl_d, river_d, area, shape_index, 2.0 * area / perim, in_floor
    )


def _z(a: np.ndarray) -> np.ndarray:
    return (a - a.mean()) / (a.std() + 1e-12)


#: Coefficients of the abandonment model on standardised factors.
ABANDON_COEF = {
    "slope_mean_deg": 0.95,
    "log_road_distance": 0.55,
    "settlement_distance": 0.45,
    "log_area": -0.55,
    "shape_index": 0.35,
    "monitored_share": 0.45,
}


def abandonment_status(
    f: ParcelFactors,
    monitored_share: np.ndarray,
    rng: np.random.Generator,
    *,
    target: float = 0.10,
    fallow: float = 0.03,
) -> np.ndarray:
    """Draw 耕种 / 撂荒 / 休耕 for each parcel from the logistic model plus noise."""
    lin = (
        ABANDON_COEF["slope_mean_deg"] * _z(f.slope_mean_deg)
        + ABANDON_COEF["log_road_distance"] * _z(np.log1p(f.road_distance_m))
        + ABANDON_COEF["settlement_distance"] * _z(f.settlement_distance_m)
        + ABANDON_COEF["log_area"] * _z(np.log(f.area_m2))
        + ABANDON_COEF["shape_index"] * _z(f.shape_index)
        + ABANDON_COEF["monitored_share"] * _z(monitored_share)
        + rng.normal(0.0, 1.3, f.area_m2.size)
    )
    # intercept so the expected share is the target
    lo, hi = -12.0, 4.0
    for _ in range(60):
        mid = (lo + hi) / 2
        if (1 / (1 + np.exp(-(lin + mid)))).mean() > target:
            hi = mid
        else:
            lo = mid
    p = 1 / (1 + np.exp(-(lin + lo)))
    status = np.where(rng.random(p.size) < p, "撂荒", "耕种").astype(object)
    cult = np.flatnonzero(status == "耕种")
    n_fallow = int(round(fallow * p.size))
    if n_fallow and cult.size:
        w = np.where(f.in_floor[cult], 0.4, 1.0)
        pick = rng.choice(cult, size=min(n_fallow, cult.size), replace=False, p=w / w.sum())
        status[pick] = "休耕"
    return status


def parcel_attributes(
    frame: Frame,
    faces: np.ndarray,
    vil: np.ndarray,
    f: ParcelFactors,
    villages: pd.DataFrame,
    rng: np.random.Generator,
    names: NameMaker,
) -> pd.DataFrame:
    """Every farmland field except ``project`` and ``declared_area_mu`` (set later)."""
    n = len(faces)
    vids = villages["village_id"].to_numpy()
    share = (villages["monitored_households"] / villages["households"]).to_numpy()[vil]
    status = abandonment_status(f, share, rng)
    land_use = np.where(f.in_floor, "水浇地", "旱地").astype(object)
    # irrigated patches on the tributary floors too, and a few paddies by the river
    trib_floor = (~f.in_floor) & (f.slope_mean_deg < 5.0) & (f.river_distance_m < 120.0)
    land_use[trib_floor & (rng.random(n) < 0.6)] = "水浇地"
    paddy = f.in_floor & (f.river_distance_m < 60.0) & (rng.random(n) < 0.08)
    land_use[paddy] = "水田"
    ridge = np.where(
        land_use == "旱地",
        np.clip(0.05 + (f.slope_mean_deg - 5.0) / 20.0 * 0.13 + rng.normal(0, 0.01, n), 0.05, 0.18),
        0.0,
    )
    ridge = np.round(ridge, 2)
    crops_irr = (["蔬菜", "玉米", "马铃薯", "小麦"], [0.35, 0.3, 0.2, 0.15])
    crops_dry = (
        ["马铃薯", "玉米", "小麦", "饲草", "胡麻", "中药材"],
        [0.36, 0.2, 0.18, 0.16, 0.05, 0.05],
    )
    crop = np.empty(n, dtype=object)
    irr = land_use != "旱地"
    crop[irr] = rng.choice(crops_irr[0], size=irr.sum(), p=crops_irr[1])
    crop[~irr] = rng.choice(crops_dry[0], size=(~irr).sum(), p=crops_dry[1])
    crop[status != "耕种"] = None
    mulch = np.where(
        (land_use == "旱地") & np.isin(crop, ["玉米", "马铃薯"]),
        rng.random(n) < 0.85,
        (land_use == "水浇地") & (crop == "玉米") & (rng.random(n) < 0.2),
    )
    mulch &= status == "耕种"
    last = np.full(n, 2023)
    last[status == "休耕"] = 2022
    ab = status == "撂荒"
    last[ab] = 2022 - rng.choice(
        np.arange(0, 8), size=ab.sum(), p=[0.3, 0.18, 0.14, 0.11, 0.09, 0.08, 0.05, 0.05]
    )
    # group (社): nearest settlement of the village, in order
    s = frame.settlements
    group = np.empty(n, dtype=object)
    rep = shapely.get_coordinates(shapely.point_on_surface(faces))
    for vi in np.unique(vil):
        sel = np.flatnonzero(vil == vi)
        sxy = s.xy[s.village == vi]
        d = ((rep[sel, None, :] - sxy[None, :, :]) ** 2).sum(axis=2)
        k = np.argmin(d, axis=1)
        group[sel] = [GROUP_LABELS[int(i) % len(GROUP_LABELS)] for i in k]
    # contractors: a pool of households per group, several parcels each
    contractor = np.empty(n, dtype=object)
    for key in sorted({(int(v), str(gp)) for v, gp in zip(vil, group, strict=True)}):
        sel = np.flatnonzero((vil == key[0]) & (group == key[1]))
        pool = names.people(max(2, int(np.ceil(sel.size / 3.5))))
        contractor[sel] = rng.choice(pool, size=sel.size)
    order = np.lexsort((-rep[:, 1], rep[:, 0], vil))
    pid = np.empty(n, dtype=object)
    counter: dict[int, int] = {}
    for i in order:
        counter[vil[i]] = counter.get(vil[i], 0) + 1
        pid[i] = f"{vids[vil[i]]}-{counter[vil[i]]:04d}"
    return pd.DataFrame(
        {
            "parcel_id": pid,
            "village_id": vids[vil],
            "status": status,
            "land_use": land_use,
            "crop": crop,
            "last_cultivated_year": last.astype("int64"),
            "film_mulch": mulch.astype(bool),
            "group": group,
            "contractor": contractor,
            "ridge_coef": ridge.astype(float),
        }
    )
