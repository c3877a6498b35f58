"""Generate the demo town: a realistic, deterministic township near 104.6E 35.6N.

The town (关川镇, fictional) lies on the Guanchuan River (关川河) in the
Loess Plateau's hilly-gully region: a valley floor at about 1,880-1,980 m
with irrigated land, tributary valleys with steep gully walls, terraced dry
land on the hill slopes, ridges at about 2,250-2,400 m. It has 13 villages
(将台村 first), their natural villages, two main roads (关川线, 石峡线) and
village and field roads, about 5,000 farmland parcels, 40-odd river segments
with their chiefs and a year of patrol tracks, afforestation, the 2022 and
2023 resettlement cohorts with their reclaimed homesteads, one high-standard
farmland project prepared for acceptance, the planning zones 一川两线三流域,
the ecological red line, permanent basic farmland and the town development
boundary; plus a 30 m DEM and NDVI for 2022 and 2023.

Outputs (:func:`generate_demo_town`):

* ``demo_town.gpkg``: every vector layer, in EPSG:4490 (CGCS2000 lon/lat).
* ``dem.tif``: 30 m DEM, EPSG:4544 (CGCS2000 Gauss-Kruger, CM 105E), float32,
  nodata -9999.
* ``ndvi_2022.tif``, ``ndvi_2023.tif``: NDVI on the DEM's grid (EPSG:4544),
  float32, nodata -9999.
* ``ndvi_2023-06-28.tif``: a dated summer scene on the same grid, the reclaimed
  plots' first crop burnt in (:mod:`gis_town.demo.scenes`).

Conventions designed into the data
----------------------------------
* ``declared_area_mu`` of farmland, acceptance and reclamation plots is the
  *net* area (扣除田坎): ellipsoidal area x (1 - ``ridge_coef``), with noise
  of about 1-2% (a few farmland parcels blank or off by 15-30%).
* Afforestation ``declared_area_mu`` is the gross ellipsoidal area (noise
  about 1.5%); three plots are off by 8-15%.
* Resettlement records are as of 2023-12-31; blank dates are stages not done.
* Patrol times are naive local times (Asia/Shanghai); trips are separated by
  gaps of more than 30 minutes.

Planted problems (the generator's report lists them with ids; fixed for a
given seed): in ``acceptance_plots`` exactly one plot fails each rule of the
high-standard check (invalid bow-tie, overlap > 50 m² with a neighbour,
duplicate plot_id, sliver < 3 m wide, declared area 20% off, mean slope
> 15 degrees, > 500 m from any road, inside the red line, within 30 m of a
river, outside permanent basic farmland, missing declared area); in
``reclamation`` one plot each 300 m from its household, still rubble (NDVI
about 0.05 in 2023), on a > 25 degree slope, declared area 30% off, > 1 km
from any road; in ``patrols`` drive-bys at 40 km/h, 5-minute stops, tracks
crossing the river, one trip with timestamps out of order, GPS gaps, one walk
split by a 40-minute pause; in ``resettlement`` one household moved in before
its housing was confirmed.

The committed town (``layers/``, seed 2023, 5,000 parcels) plants, in
``acceptance_plots`` (project 2023年石峡村高标准农田建设项目):

* V03-0198: geometry_valid (self-intersecting bow-tie)
* V03-0086 and V03-0082: overlap (about 100 m²)
* V03-0290: duplicate_id (two rows; the second is parcel V03-0249)
* V03-0212: sliver (2.4 m wide)
* V03-0352: declared_area (20% above the net area)
* V03-0253: slope (mean above 15 degrees)
* V03-0579: road_access (more than 500 m from any road)
* V03-0115: redline (inside a water-source protection zone)
* V03-0210: river_buffer (within 30 m of a river)
* V03-0303: basic_farmland (outside permanent basic farmland)
* V03-0147: attributes (declared_area_mu missing)

and in ``reclamation``: FK-BQ2023-004 homestead (300 m from the
household), FK-BQ2023-005 ndvi (rubble, NDVI about 0.05), FK-BQ2023-002 slope
(above 25 degrees), FK-BQ2023-006 declared_area (30% off),
FK-BQ2023-001 road_access (more than 1 km from any road). Every other
plot passes the shipped ``high_standard`` and ``reclamation`` rule sets.
``demo_report.json`` beside the data lists the same for any seed.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer
from shapely.geometry import LineString, Point, Polygon

from gis_town import geodesy
from gis_town.demo import farmland as F
from gis_town.demo import landscape as L
from gis_town.demo import records as R
from gis_town.demo import terrain as T
from gis_town.demo.world import Frame, _rng, build_frame

log = logging.getLogger(__name__)

OUT_CRS = "EPSG:4490"
NODATA = -9999.0
M2_PER_MU = 10000.0 / 15.0

#: High-standard farmland projects: planned mu, in the order of village choice.
HS_PLANNED_MU = (3000.0, 2000.0, 1700.0)


def _vil_of_factory(frame: Frame):
    polys = np.asarray(frame.villages, dtype=object)
    tree = shapely.STRtree(polys)

    def vil_of(xy: np.ndarray) -> np.ndarray:
        pts = shapely.points(np.asarray(xy, dtype=float))
        idx, _ = tree.query_nearest(pts, return_distance=True, all_matches=False)
        out = np.zeros(len(pts), dtype=np.int64)
        out[idx[0]] = idx[1]
        return out

    return vil_of


def _area_mu(geoms, crs: str = T.GK_CRS) -> np.ndarray:
    """Ellipsoidal (CGCS2000) area in mu via :func:`gis_town.geodesy.area_m2`."""
    s = gpd.GeoSeries(list(geoms), crs=crs)
    return geodesy.area_m2(s) / M2_PER_MU


def _villages_table(frame: Frame, rng: np.random.Generator, names) -> pd.DataFrame:
    n = len(frame.villages)
    vids = [f"V{i + 1:02d}" for i in range(n)]
    area_km2 = np.array([v.area / 1e6 for v in frame.villages])
    valley = np.array([frame.main_floor.intersection(v).area / v.area for v in frame.villages])
    pop = np.round(area_km2 * rng.uniform(150, 230, n) * (1 + 2.0 * valley) / 10) * 10
    hh = np.round(pop / rng.uniform(3.6, 4.2, n))
    monitored = np.clip(np.round(hh * rng.uniform(0.01, 0.06, n)), 3, None)
    income = np.round(rng.uniform(10.5, 32.0, n), 1)
    low = rng.choice(n, size=3, replace=False)
    income[low] = np.round(rng.uniform(4.0, 9.5, 3), 1)
    leaders = names.people(n)
    return pd.DataFrame(
        {
            "village_id": vids,
            "name": frame.village_names,
            "population": pop.astype("int64"),
            "households": hh.astype("int64"),
            "monitored_households": monitored.astype("int64"),
            "leader": leaders,
            "collective_income_wan": income.astype(float),
        }
    )


def _basin_of_villages(frame: Frame) -> np.ndarray:
    """Basin index (0-2) of each village: the tributary system nearest its centre."""
    systems = []
    for b in range(3):
        systems.append(shapely.union_all([r.line for r in frame.rivers if r.basin == b]))
    out = []
    for v in frame.villages:
        c = v.point_on_surface()
        out.append(int(np.argmin([c.distance(s) for s in systems])))
    return np.asarray(out)


def _bowtie(poly: Polygon) -> Polygon:
    """Swap two neighbouring vertices of the shell: a self-intersecting bow-tie."""
    c = np.asarray(poly.exterior.coords)[:-1]
    k = int(np.argmax(np.hypot(*(np.roll(c, -1, axis=0) - c).T)))  # the longest edge
    j = (k + 1) % len(c)
    c[[k, j]] = c[[j, k]]
    return Polygon(np.vstack([c, c[:1]]))


def _sliver(poly: Polygon, width_m: float = 2.4) -> Polygon:
    """A strip ``width_m`` wide along the long axis of ``poly`` (inside it)."""
    rect = poly.minimum_rotated_rectangle
    c = np.asarray(rect.exterior.coords)[:4]
    e1, e2 = c[1] - c[0], c[2] - c[1]
    if np.linalg.norm(e1) < np.linalg.norm(e2):
        a, b = c[0] + e1 / 2, c[3] + e1 / 2
    else:
        a, b = c[0] + e2 / 2, c[1] + e2 / 2
    axis = LineString([a, b])
    strip = shapely.intersection(poly, axis.buffer(width_m / 2, cap_style="flat"))
    parts = [p for p in shapely.get_parts(strip) if p.geom_type == "Polygon"]
    return max(parts, key=lambda p: p.area)


def build_town(seed: int = 2023, *, n_parcels: int = 5000, patrol_scale: float = 1.0) -> dict:
    """Build every layer and raster in memory (EPSG:4544 geometries) plus a report."""
    t0 = time.perf_counter()
    frame = build_frame(seed)
    names = frame.names
    vil_of = _vil_of_factory(frame)
    log.info("框架 frame built in %.1f s", time.perf_counter() - t0)
    report: dict = {"seed": seed}

    # villages ------------------------------------------------------------
    vt = _villages_table(frame, _rng(seed, 10), names)
    vids = list(vt["village_id"])

    # resettlement households and their homesteads (carved out of the farmland)
    rng_h = _rng(seed, 11)
    res, res_xy, res_special = R.resettlement(frame, vids, rng_h, names)
    demolished = res["demolished"].notna().to_numpy()
    home_mu = rng_h.uniform(0.35, 1.4, len(res))
    homes = [R.homestead(res_xy[i], rng_h, home_mu[i]) for i in range(len(res))]
    # planted reclamation failure: a plot drawn 300 m from its household's point
    away_i = next(i for i in range(len(res)) if demolished[i] and i not in res_special.values())
    ter = frame.terrain
    for a in np.linspace(0, 2 * np.pi, 24, endpoint=False):
        q = res_xy[away_i] + 300.0 * np.array([np.cos(a), np.sin(a)])
        r_, c_ = ter.grid.index(q[:1], q[1:])
        if (
            ter.slope_deg[r_, c_][0] < 16
            and frame.extra["road_dist_m"][r_, c_][0] < 200
            and ter.river_dist_m[r_, c_][0] > 60
            and not frame.extra["red_cells"][r_, c_][0]
            and frame.outline.contains(Point(q))
        ):
            break
    homes[away_i] = R.homestead(q, rng_h, home_mu[away_i])
    carve = shapely.union_all([h.buffer(4.0) for h in homes])
    frame.cultivable = shapely.difference(frame.cultivable, carve)

    # farmland ----------------------------------------------------------------
    rng_f = _rng(seed, 6)
    faces, vil = F.parcel_geometries(frame, n_parcels, rng_f)
    slope_mean, share13 = F.zonal_means(
        faces, [ter.slope_deg, (ter.slope_deg > 13.0).astype(float)], ter.grid
    )
    fac = F.parcel_factors(frame, faces, vil, slope_mean)
    gross_mu = _area_mu(faces)

    # the acceptance project's village: enough strictly suitable land (gentle,
    # by a road, away from rivers) plus a parcel for each planted terrain
    # failure (steep, beside a river, far from roads)
    gentle = (fac.slope_mean_deg < 11.0) & (share13 < 0.01)
    # plot size bounds (mu); the cap grows for coarse test towns with few, big parcels
    cap_mu = max(25.0, 3.5 * float(np.median(gross_mu)))
    wide = (fac.width_m > 12) & (gross_mu > 1.6) & (gross_mu < cap_mu)
    steep_c = (
        wide & (fac.slope_mean_deg > 16.5) & (fac.slope_mean_deg < 23) & (fac.river_distance_m > 45)
    )
    far_pool = wide & gentle & (fac.river_distance_m > 45)

    def strict_now() -> np.ndarray:
        return gentle & wide & (fac.road_distance_m < 260.0) & (fac.river_distance_m > 45.0)

    def river_now() -> np.ndarray:
        return wide & gentle & (fac.road_distance_m < 260.0) & (fac.river_distance_m < 24.0)

    suit = pd.Series(np.where(strict_now(), gross_mu, 0.0)).groupby(vil).sum()
    # far-plot candidates: gentle parcels more than 620 m from the main and village roads
    main_roads = [r.line for r in frame.roads if r.road_class != "产业路"]
    d_main_all = np.zeros(len(faces))
    d_main_all[far_pool] = F.nearest_distance(faces[far_pool], main_roads)
    far_ok = far_pool & (d_main_all > 620.0)
    able = [
        v
        for v in suit.sort_values(ascending=False).index
        if (steep_c & (fac.road_distance_m < 260) & (vil == v)).any()
        and (river_now() & (vil == v)).any()
        and (far_ok & (vil == v)).any()
    ]
    # prefer a village whose suitable land exceeds the plan by a margin
    able.sort(key=lambda v: (suit[v] < HS_PLANNED_MU[2] * 1.12, -suit[v]))
    if not able:
        raise RuntimeError("no village can host the acceptance project; change the seed")
    acc_v = able[0]
    # the far plot: the gentle parcel farthest from the village and main roads;
    # field roads (产业路) that come within 600 m of it were never built
    cand_far = np.flatnonzero(far_ok & (vil == acc_v))
    i_far = int(cand_far[int(np.argmax(d_main_all[cand_far]))])
    if fac.road_distance_m[i_far] <= 560.0:
        frame.roads = [
            r
            for r in frame.roads
            if r.road_class != "产业路" or r.line.distance(faces[i_far]) > 600.0
        ]
        fac.road_distance_m = F.nearest_distance(faces, [r.line for r in frame.roads])
    attrs = F.parcel_attributes(frame, faces, vil, fac, vt, rng_f, names)
    net_mu = gross_mu * (1.0 - attrs["ridge_coef"].to_numpy())
    declared = np.round(net_mu * (1.0 + rng_f.normal(0.0, 0.012, len(faces))), 2)
    log.info("耕地 %d parcels in %.1f s", len(faces), time.perf_counter() - t0)

    # high-standard projects: the acceptance village, and the two villages
    # with the most gentle, accessible land for the 3000- and 2000-mu projects
    ok_hs = strict_now()
    loose = (
        (fac.slope_mean_deg < 15.0)
        & (fac.road_distance_m < 500.0)
        & (fac.river_distance_m > 30.0)
        & (fac.width_m > 8.0)
        & (gross_mu > 1.0)
        & (gross_mu < 1.2 * cap_mu)
    )
    suit_loose = pd.Series(np.where(loose, net_mu, 0.0)).groupby(vil).sum()
    top = [v for v in suit_loose.sort_values(ascending=False).index if v != acc_v][:2]
    hs_vil = [top[0], top[1], acc_v]
    project = np.full(len(faces), None, dtype=object)
    proj_names = []
    rep = shapely.get_coordinates(shapely.point_on_surface(faces))
    rng_p = _rng(seed, 12)
    hs_members: list[np.ndarray] = []
    for planned, vi in zip(HS_PLANNED_MU, hs_vil, strict=True):
        name = f"2023年{vt.loc[vi, 'name']}高标准农田建设项目"
        proj_names.append(name)
        pool = ok_hs if vi == acc_v else loose
        cand = np.flatnonzero(pool & (vil == vi) & (project == None))  # noqa: E711
        centre = rep[cand[int(np.argmax(net_mu[cand]))]]
        order = cand[np.argsort(np.hypot(*(rep[cand] - centre).T))]
        goal = planned * rng_p.uniform(0.975, 0.995)
        cum = np.cumsum(net_mu[order])
        members = order[: int(np.searchsorted(cum, goal)) + 1]
        hs_members.append(members)
        project[members] = name
    report["high_standard"] = {
        n: {"planned_mu": p, "village_id": vids[v]}
        for n, p, v in zip(proj_names, HS_PLANNED_MU, hs_vil, strict=True)
    }

    # acceptance plots: the 1700-mu project, with one planted failure per rule
    acc_name = proj_names[2]
    acc_vil = hs_vil[2]
    members = list(hs_members[2])
    in_vil = np.flatnonzero((vil == acc_vil) & (project == None))  # noqa: E711
    centre = rep[members].mean(axis=0)
    near = in_vil[np.argsort(np.hypot(*(rep[in_vil] - centre).T))]
    planted: dict[str, str] = {}
    base_ok = lambda i: fac.width_m[i] > 12 and 1.5 < net_mu[i] < cap_mu  # noqa: E731

    def pick(cond) -> int:
        for i in near:
            if cond(i) and base_ok(i) and project[i] is None:
                project[i] = acc_name
                members.append(int(i))
                return int(i)
        raise RuntimeError("no parcel for a planted failure")

    i_steep = pick(
        lambda i: (
            16.5 < fac.slope_mean_deg[i] < 23.0
            and fac.road_distance_m[i] < 260
            and fac.river_distance_m[i] > 45
        )
    )
    project[i_far] = acc_name
    members.append(i_far)
    i_river = pick(
        lambda i: gentle[i] and fac.road_distance_m[i] < 260 and fac.river_distance_m[i] < 24
    )
    members_arr = np.asarray(members)
    # the red-line plot: a member near the project's edge; the water-source zone around it
    base_members = np.asarray([m for m in members if m not in (i_steep, i_far, i_river)])
    dist_c = np.hypot(*(rep[base_members] - centre).T)
    special = {i_steep, i_far, i_river}
    for cand_red in base_members[np.argsort(-dist_c)][2:]:
        red_geom = faces[cand_red]
        c = red_geom.centroid
        radius = max(np.hypot(*(np.asarray(red_geom.exterior.coords) - [c.x, c.y]).T)) + 25.0
        water_source = Point(c.x, c.y).buffer(radius, 32)
        clash = [m for m in members if m != cand_red and faces[m].intersects(water_source)]
        if not special.intersection(clash) and len(clash) <= 4:
            i_red = int(cand_red)
            break
    for m in clash:
        project[m] = None
    members = [m for m in members if m not in clash]
    rest = [m for m in members if m not in (i_steep, i_far, i_river, i_red)]
    rng_a = _rng(seed, 13)
    rng_a.shuffle(rest)
    # overlap: a big plot with a long shared edge to another member
    i_over, i_over_nb, over_w = -1, -1, 0.0
    mem_set = set(members)
    for m in rest:
        if net_mu[m] < 8:
            continue
        for nb in rest:
            if nb == m or nb not in mem_set:
                continue
            shared = shapely.intersection(faces[m].boundary, faces[nb].boundary).length
            if shared > 45.0:
                i_over, i_over_nb, over_w = m, nb, 100.0 / shared
                break
        if i_over >= 0:
            break
    others = [m for m in rest if m not in (i_over, i_over_nb)]
    i_bow, i_dup_a, i_dup_b, i_sliver, i_area, i_bf, i_missing = others[:7]
    acc_idx = np.asarray(members)
    acc_geom = faces[acc_idx].copy()
    acc_pid = attrs["parcel_id"].to_numpy()[acc_idx].copy()
    acc_decl = declared[acc_idx].astype(float).copy()
    acc_ridge = attrs["ridge_coef"].to_numpy()[acc_idx]
    pos = {int(m): k for k, m in enumerate(acc_idx)}
    acc_geom[pos[i_bow]] = _bowtie(faces[i_bow])
    grow = shapely.intersection(faces[i_over_nb], faces[i_over].buffer(over_w))
    acc_geom[pos[i_over]] = shapely.union(faces[i_over], grow)
    acc_pid[pos[i_dup_b]] = acc_pid[pos[i_dup_a]]
    strip = _sliver(faces[i_sliver])
    acc_geom[pos[i_sliver]] = strip
    acc_decl[pos[i_sliver]] = round(float(_area_mu([strip])[0]) * (1 - acc_ridge[pos[i_sliver]]), 2)
    acc_decl[pos[i_area]] = round(float(net_mu[i_area]) * 1.2, 2)
    acc_decl[pos[i_missing]] = np.nan
    declared[i_area] = acc_decl[pos[i_area]]
    declared[i_missing] = np.nan
    pid = attrs["parcel_id"].to_numpy()
    planted = {
        "invalid_geometry": pid[i_bow],
        "overlap": f"{pid[i_over]} (overlaps {pid[i_over_nb]} by about 100 m²)",
        "duplicate_id": f"{pid[i_dup_a]} (also given to parcel {pid[i_dup_b]})",
        "sliver": pid[i_sliver],
        "declared_area": pid[i_area],
        "steep": pid[i_steep],
        "far_from_road": pid[i_far],
        "in_redline": pid[i_red],
        "near_river": pid[i_river],
        "outside_basic_farmland": pid[i_bf],
        "missing_declared_area": pid[i_missing],
    }
    report["acceptance_planted"] = planted
    report["acceptance_project"] = acc_name
    members_arr = acc_idx

    # farmland declared-area noise elsewhere: a few blank, a few far off
    others_f = np.setdiff1d(np.arange(len(faces)), members_arr)
    blank = rng_f.choice(others_f, size=max(1, len(faces) // 150), replace=False)
    declared[blank] = np.nan
    off = rng_f.choice(np.setdiff1d(others_f, blank), size=max(1, len(faces) // 200), replace=False)
    declared[off] = np.round(net_mu[off] * rng_f.choice([0.7, 0.8, 1.15, 1.3], size=off.size), 2)
    # parcels in a project were brought back into cultivation
    in_proj = np.asarray([p is not None for p in project])
    st = attrs["status"].to_numpy().copy()
    revive = in_proj & (st != "耕种")
    st[revive] = "耕种"
    attrs["status"] = st
    last = attrs["last_cultivated_year"].to_numpy().copy()
    last[revive] = 2023
    attrs["last_cultivated_year"] = last
    crop = attrs["crop"].to_numpy().copy()
    crop[revive] = "马铃薯"
    attrs["crop"] = crop
    attrs["declared_area_mu"] = declared
    attrs["project"] = project
    farmland = gpd.GeoDataFrame(attrs, geometry=list(faces), crs=T.GK_CRS)
    farmland = farmland[
        [
            "parcel_id",
            "village_id",
            "status",
            "land_use",
            "crop",
            "declared_area_mu",
            "project",
            "last_cultivated_year",
            "film_mulch",
            "group",
            "contractor",
            "ridge_coef",
            "geometry",
        ]
    ]

    acceptance = gpd.GeoDataFrame(
        {
            "plot_id": acc_pid,
            "project": acc_name,
            "village_id": vids[acc_vil],
            "declared_area_mu": acc_decl,
            "ridge_coef": acc_ridge.astype(float),
            "land_use": attrs["land_use"].to_numpy()[acc_idx],
        },
        geometry=list(acc_geom),
        crs=T.GK_CRS,
    )

    # rivers and patrols ------------------------------------------------------
    seg = R.river_segments(frame, vids, _rng(seed, 14), names)
    rivers = gpd.GeoDataFrame(
        seg[
            [
                "segment_id",
                "river_name",
                "chief",
                "chief_id",
                "chief_level",
                "basin",
                "village_id",
                "annual_patrol_target",
            ]
        ].copy(),
        geometry=list(seg["line"]),
        crs=T.GK_CRS,
    )
    pat, pat_xy, pat_info = R.patrol_points(frame, seg, _rng(seed, 15), scale=patrol_scale)
    patrols = gpd.GeoDataFrame(pat, geometry=shapely.points(pat_xy), crs=T.GK_CRS)
    patrols.insert(0, "point_id", [f"P{i + 1:06d}" for i in range(len(patrols))])
    report["patrol_profiles"] = pat_info["profiles"]
    report["patrol_planted"] = {k: v[:5] for k, v in pat_info["planted"].items()}
    log.info("巡河 %d patrol points in %.1f s", len(patrols), time.perf_counter() - t0)

    # zones -------------------------------------------------------------------
    basin_v = _basin_of_villages(frame)
    basin_names = ["石峡河流域", "柳家河流域", "大营河流域"]
    zone_rows = [
        {
            "zone_id": "Z1",
            "kind": "valley",
            "name": "关川河川区示范片带",
            "geometry": shapely.intersection(frame.main_floor.buffer(60.0), frame.outline),
        }
    ]
    for k, r in enumerate([r for r in frame.roads if r.road_class in ("县道", "乡道")]):
        zone_rows.append(
            {
                "zone_id": f"Z{2 + k}",
                "kind": "corridor",
                "name": f"{r.name}沿线示范片带",
                "geometry": shapely.intersection(r.line.buffer(500.0), frame.outline),
            }
        )
    for b in range(3):
        members_b = [frame.villages[i] for i in range(len(frame.villages)) if basin_v[i] == b]
        geom = shapely.coverage_union_all(members_b) if members_b else Polygon()
        zone_rows.append(
            {"zone_id": f"Z{4 + b}", "kind": "basin", "name": basin_names[b], "geometry": geom}
        )
    zones = gpd.GeoDataFrame(zone_rows, crs=T.GK_CRS)
    # planned demonstration area: about the film-mulched farmland in each zone
    fm = farmland[farmland["film_mulch"] & (farmland["status"] == "耕种")]
    fm_rep = fm.geometry.representative_point()
    planned = []
    rng_z = _rng(seed, 16)
    for geom in zones.geometry:
        inside = fm_rep.within(geom).to_numpy()
        mu = float(fm["declared_area_mu"].fillna(0).to_numpy()[inside].sum())
        planned.append(float(np.round(mu * rng_z.uniform(0.92, 1.06) / 50.0) * 50.0))
    zones["planned_demo_mu"] = planned
    zones = zones[["zone_id", "kind", "name", "planned_demo_mu", "geometry"]]
    vil_basin = {vids[i]: basin_names[basin_v[i]] for i in range(len(vids))}
    main_rows = rivers["basin"] == "关川河干流"
    rivers.loc[main_rows, "basin"] = rivers.loc[main_rows, "village_id"].map(vil_basin)

    # roads -------------------------------------------------------------------
    rng_r = _rng(seed, 17)
    road_rows = []
    vroad_idx = [i for i, r in enumerate(frame.roads) if r.road_class == "村道"]
    froad_idx = [i for i, r in enumerate(frame.roads) if r.road_class == "产业路"]
    for i in vroad_idx:
        r = frame.roads[i]
        u = rng_r.random()
        r.hardened, r.hardened_year = (
            (True, int(rng_r.integers(2014, 2023))) if u < 0.6 else (False, None)
        )
    for i in froad_idx:
        r = frame.roads[i]
        if rng_r.random() < 0.08:
            r.hardened, r.hardened_year = True, int(rng_r.integers(2019, 2023))
    # the year's hardening: unhardened village and field roads until about 12.4 km
    pool = [i for i in vroad_idx + froad_idx if not frame.roads[i].hardened]
    rng_r.shuffle(pool)
    km = 0.0
    for i in pool:
        if km > 12.0:
            break
        r = frame.roads[i]
        if r.line.length > 3000:
            continue
        r.hardened, r.hardened_year = True, 2023
        km += r.line.length / 1000.0
    report["roads_hardened_2023_km"] = round(km, 2)
    for k, r in enumerate(frame.roads):
        road_rows.append(
            {
                "road_id": f"R{k + 1:03d}",
                "name": r.name,
                "road_class": r.road_class,
                "hardened": bool(r.hardened),
                "hardened_year": r.hardened_year,
                "geometry": r.line,
            }
        )
    roads = gpd.GeoDataFrame(road_rows, crs=T.GK_CRS)
    roads["hardened_year"] = roads["hardened_year"].astype("Int64")
    roads = gpd.GeoDataFrame(roads, geometry="geometry", crs=T.GK_CRS)

    # red line, basic farmland, development boundary ----------------------------
    acc_union = shapely.union_all([faces[m] for m in acc_idx if m != i_red])
    red_rows = []
    for k, p in enumerate(frame.redline_hills):
        g = shapely.difference(p, acc_union.buffer(30.0))
        red_rows.append(
            {"zone_id": f"HX{k + 1:02d}", "name": "水土保持生态保护红线", "geometry": g}
        )
    red_rows.append(
        {
            "zone_id": f"HX{len(red_rows) + 1:02d}",
            "name": f"{vt.loc[acc_vil, 'name']}饮用水水源地保护区",
            "geometry": water_source,
        }
    )
    redline = gpd.GeoDataFrame(red_rows, crs=T.GK_CRS)

    good = (
        (farmland["status"].to_numpy() != "撂荒")
        & (fac.slope_mean_deg < 20.0)
        & (fac.area_m2 > 600.0)
    )
    bf = shapely.union_all(list(faces[good])).buffer(15.0).buffer(-12.0)
    bf = shapely.union(bf, acc_union.buffer(3.0))
    bf = shapely.difference(bf, faces[i_bf].buffer(2.0))
    bf = shapely.difference(bf, shapely.union_all(redline.geometry.values[:-1]))
    bf = shapely.simplify(bf, 3.0)
    bf_parts = [p for p in shapely.get_parts(bf) if p.geom_type == "Polygon" and p.area > 2000.0]
    bf_vil = vil_of(shapely.get_coordinates(shapely.point_on_surface(bf_parts)))
    basic = gpd.GeoDataFrame(
        {
            "zone_id": [f"JB{k + 1:04d}" for k in range(len(bf_parts))],
            "name": [f"{vt.loc[v, 'name']}永久基本农田" for v in bf_vil],
        },
        geometry=bf_parts,
        crs=T.GK_CRS,
    )
    dev = gpd.GeoDataFrame(
        {"zone_id": ["KF01"], "name": ["关川镇城镇开发边界"]},
        geometry=[frame.dev_boundary],
        crs=T.GK_CRS,
    )

    # afforestation ---------------------------------------------------------
    rng_z = _rng(seed, 18)
    plots, sites, _ = R.afforestation(frame, faces, vil_of, rng_z)
    aff_rows = []
    for k, p in enumerate(plots):
        year = 2023 if rng_z.random() < 0.78 else 2022
        autumn = rng_z.random() < 0.3
        md = (dt.date(year, 10, 10) if autumn else dt.date(year, 3, 15)) + dt.timedelta(
            days=int(rng_z.integers(0, 45))
        )
        aff_rows.append(
            {
                "plot_id": f"ZL{year}-{k + 1:03d}",
                "village_id": vids[p["village"]],
                "kind": p["kind"],
                "year": year,
                "planted_date": md.isoformat(),
                "geometry": p["geom"],
            }
        )
    aff = gpd.GeoDataFrame(aff_rows, crs=T.GK_CRS)
    mu = _area_mu(aff.geometry)
    decl = mu * (1 + rng_z.normal(0, 0.015, len(aff)))
    off_i = rng_z.choice(len(aff), size=3, replace=False)
    decl[off_i] = mu[off_i] * rng_z.choice([0.86, 0.9, 1.09, 1.15], size=3)
    aff["declared_area_mu"] = np.round(decl, 2)
    trees = np.where(
        aff["kind"] == "经济林", np.round(mu * rng_z.uniform(40, 56, len(aff))), np.nan
    )
    aff["trees"] = pd.array([None if np.isnan(t) else int(t) for t in trees], dtype="Int64")
    aff = aff[
        [
            "plot_id",
            "village_id",
            "kind",
            "trees",
            "year",
            "planted_date",
            "declared_area_mu",
            "geometry",
        ]
    ]
    report["afforestation_declared_off"] = list(aff["plot_id"].to_numpy()[off_i])
    site_rows = []
    for k, s in enumerate(sites):
        year = 2023 if rng_z.random() < 0.85 else 2022
        md = dt.date(year, 3, 20) + dt.timedelta(days=int(rng_z.integers(0, 50)))
        site_rows.append(
            {
                "plot_id": f"SP{year}-{k + 1:03d}",
                "village_id": vids[s["village"]],
                "kind": "四旁植树",
                "trees": int(rng_z.integers(80, 700)),
                "year": year,
                "planted_date": md.isoformat(),
                "declared_area_mu": None,
                "geometry": Point(s["xy"]),
            }
        )
    aff_pts = gpd.GeoDataFrame(site_rows, crs=T.GK_CRS)
    aff_pts["trees"] = aff_pts["trees"].astype("Int64")
    aff_pts["declared_area_mu"] = aff_pts["declared_area_mu"].astype(float)

    # resettlement and reclamation ---------------------------------------------
    resettle = gpd.GeoDataFrame(res, geometry=shapely.points(res_xy), crs=T.GK_CRS)
    rec_idx = np.flatnonzero(demolished)
    rec_geom = [homes[i] for i in rec_idx]
    slope_rec = F.zonal_mean(
        np.asarray(rec_geom, dtype=object), frame.terrain.slope_deg, frame.terrain.grid
    )
    ridge_rec = np.round(np.clip(0.05 + (slope_rec - 5.0) / 20.0 * 0.13, 0.0, 0.18), 2)
    ridge_rec[slope_rec < 5] = 0.0
    rec_net = _area_mu(rec_geom) * (1 - ridge_rec)
    rec_decl = np.round(rec_net * (1 + rng_h.normal(0, 0.01, len(rec_idx))), 2)
    reclaimed_ok = [
        k
        for k, i in enumerate(rec_idx)
        if res.loc[i, "reclaimed"] is not None and i not in res_special.values() and i != away_i
    ]
    k_rubble, k_off = reclaimed_ok[0], reclaimed_ok[1]
    rec_decl[k_off] = round(float(rec_net[k_off]) * 1.3, 2)
    reclamation = gpd.GeoDataFrame(
        {
            "plot_id": [f"FK-{res.loc[i, 'household_id']}" for i in rec_idx],
            "household_id": list(res["household_id"].to_numpy()[rec_idx]),
            "declared_area_mu": rec_decl,
            "reclaimed_date": list(res["reclaimed"].to_numpy()[rec_idx]),
            "ridge_coef": ridge_rec.astype(float),
        },
        geometry=rec_geom,
        crs=T.GK_CRS,
    )
    hid = res["household_id"].to_numpy()
    report["reclamation_planted"] = {
        "away_from_household": f"FK-{hid[away_i]}",
        "rubble": f"FK-{hid[rec_idx[k_rubble]]}",
        "steep": f"FK-{hid[res_special['steep']]}"
        if "steep" in res_special and demolished[res_special["steep"]]
        else None,
        "declared_area": f"FK-{hid[rec_idx[k_off]]}",
        "far_from_road": f"FK-{hid[res_special['far']]}"
        if "far" in res_special and demolished[res_special["far"]]
        else None,
    }
    report["resettlement_out_of_order"] = hid[res_special["out_of_order"]]

    # settlements and villages ---------------------------------------------------
    s = frame.settlements
    setl_rows = []
    counter: dict[int, int] = {}
    for k in range(len(s.xy)):
        v = int(s.village[k])
        counter[v] = counter.get(v, 0) + 1
        setl_rows.append(
            {
                "settlement_id": f"{vids[v]}-S{counter[v]}",
                "village_id": vids[v],
                "name": s.names[k],
                "geometry": Point(s.xy[k]),
            }
        )
    settlements = gpd.GeoDataFrame(setl_rows, crs=T.GK_CRS)
    villages = gpd.GeoDataFrame(vt, geometry=list(frame.villages), crs=T.GK_CRS)

    # rasters ---------------------------------------------------------------
    ndvi = _ndvi(frame, farmland, aff, reclamation, rec_idx, k_rubble, res, _rng(seed, 19))
    log.info("生成 built in %.1f s", time.perf_counter() - t0)
    layers = {
        "villages": villages,
        "settlements": settlements,
        "farmland": farmland,
        "rivers": rivers,
        "patrols": patrols,
        "afforestation": aff,
        "afforestation_points": aff_pts,
        "resettlement": resettle,
        "reclamation": reclamation,
        "acceptance_plots": acceptance,
        "zones": zones,
        "roads": roads,
        "redline": redline,
        "basic_farmland": basic,
        "dev_boundary": dev,
    }
    return {
        "layers": layers,
        "dem": frame.terrain.dem_m,
        "ndvi": ndvi,
        "grid": frame.terrain.grid,
        "report": report,
    }


def _ndvi(
    frame: Frame, farmland, aff, reclamation, rec_idx, k_rubble, res, rng: np.random.Generator
) -> dict[int, np.ndarray]:
    """NDVI for 2022 and 2023 on the DEM grid: drawn at 10 m, averaged to 30 m (mixed pixels)."""
    g = frame.terrain.grid
    fine = T.Grid(g.x0_m, g.y1_m, g.cell_m / 3, g.ncols * 3, g.nrows * 3)
    t = frame.terrain
    slope = np.kron(t.slope_deg, np.ones((3, 3)))
    rdist = np.kron(t.river_dist_m, np.ones((3, 3)))
    base = (
        0.16
        + 0.06 * np.exp(-rdist / 400.0)
        - 0.002 * np.clip(slope - 20, 0, None)
        + 0.03 * T._smooth_noise(rng, fine.shape, 6)
    )
    out = {}
    status = farmland["status"].to_numpy()
    land = farmland["land_use"].to_numpy()
    last = farmland["last_cultivated_year"].to_numpy()
    mulch = farmland["film_mulch"].to_numpy()
    n = len(farmland)
    crop_v = (
        np.where(land == "旱地", rng.normal(0.48, 0.06, n), rng.normal(0.62, 0.05, n))
        + 0.03 * mulch
    )
    grass = rng.normal(0.22, 0.04, n)
    # burn once: parcel index per fine cell, and the masks of roads, water and houses
    pidx = L.rasterize(farmland.geometry, fine, values=np.arange(n), fill=-1, dtype="int32")
    in_parcel = pidx >= 0
    roads = L.rasterize([r.buffer(4.0) for r in frame_roads(frame)], fine) > 0
    water = (
        L.rasterize([r.line.buffer(6.0 if r.kind == "main" else 2.5) for r in frame.rivers], fine)
        > 0
    )
    houses = (
        L.rasterize(
            [
                Point(p).buffer(r)
                for p, r in zip(frame.settlements.xy, frame.settlements.radius_m, strict=True)
            ],
            fine,
        )
        > 0
    )
    for year in (2022, 2023):
        arr = base + 0.015 * rng.standard_normal(fine.shape)
        val = np.where(last >= year, crop_v, grass)
        val = np.where((status == "休耕") & (year == 2023), rng.normal(0.12, 0.02, n), val)
        arr = np.where(
            in_parcel,
            np.clip(val, -1, 1)[np.maximum(pidx, 0)] + 0.02 * rng.standard_normal(fine.shape),
            arr,
        )
        fy = aff["year"].to_numpy() <= year
        if fy.any():
            av = np.where(aff["kind"].to_numpy()[fy] == "经济林", 0.52, 0.45) + rng.normal(
                0, 0.04, fy.sum()
            )
            arr_a = L.rasterize(aff.geometry[fy], fine, values=av, fill=np.nan, dtype="float32")
            arr = np.where(np.isnan(arr_a), arr, arr_a)
        # homesteads: houses until reclaimed; reclaimed plots are sown (one stays rubble)
        rv = np.full(len(reclamation), 0.08)
        if year == 2023:
            done = reclamation["reclaimed_date"].notna().to_numpy()
            rv = np.where(done, rng.normal(0.4, 0.04, len(rv)), 0.08)
            rv[k_rubble] = 0.05
        arr_r = L.rasterize(
            reclamation.geometry, fine, values=rv, fill=np.nan, dtype="float32", all_touched=True
        )
        arr = np.where(np.isnan(arr_r), arr, arr_r)
        if year == 2023:
            # the rubble plot: bare ground and broken walls around it too (残垣断壁)
            rubble = L.rasterize(
                [reclamation.geometry.iloc[k_rubble].buffer(20.0)], fine, all_touched=True
            )
            arr = np.where(rubble > 0, 0.05 + 0.01 * rng.standard_normal(fine.shape), arr)
        arr = np.where(roads, 0.07, arr)
        arr = np.where(water, -0.05, arr)
        arr = np.where(houses, 0.1 + 0.05 * rng.random(fine.shape), arr)
        coarse = arr.reshape(g.nrows, 3, g.ncols, 3).mean(axis=(1, 3))
        out[year] = np.clip(coarse, -1, 1).astype("float32")
    return out


def frame_roads(frame: Frame) -> list[LineString]:
    return [r.line for r in frame.roads]


# --------------------------------------------------------------------------- writing


def _to_out(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    tr = Transformer.from_crs(T.GK_CRS, OUT_CRS, always_xy=True)
    geoms = shapely.transform(
        np.asarray(gdf.geometry.values, dtype=object),
        lambda xy: np.column_stack(tr.transform(xy[:, 0], xy[:, 1])),
    )
    return gpd.GeoDataFrame(gdf.drop(columns=gdf.geometry.name), geometry=list(geoms), crs=OUT_CRS)


def _write_raster(arr: np.ndarray, grid: T.Grid, path: Path) -> None:
    import rasterio

    from gis_town.io.write import atomic_path

    with (
        atomic_path(path) as tmp,
        rasterio.open(
            tmp,
            "w",
            driver="GTiff",
            width=grid.ncols,
            height=grid.nrows,
            count=1,
            dtype="float32",
            crs=T.GK_CRS,
            transform=grid.transform,
            nodata=NODATA,
            compress="deflate",
            predictor=3,
            tiled=True,
            blockxsize=256,
            blockysize=256,
        ) as dst,
    ):
        dst.write(arr.astype("float32"), 1)


def generate_demo_town(
    out_dir: Path, *, seed: int = 2023, n_parcels: int = 5000, patrol_scale: float = 1.0
) -> dict[str, Path]:
    """Write the demo town into ``out_dir``.

    Parameters
    ----------
    out_dir : Path
        Output folder (created if missing).
    seed : int, default 2023
        Random seed; the same seed gives the same content.
    n_parcels : int, default 5000
        Approximate number of farmland parcels (smaller is faster, for tests).
    patrol_scale : float, default 1.0
        Share of the year's patrols to generate (1.0 = every trip).

    Returns
    -------
    dict of str -> Path
        ``town`` (the GeoPackage), ``previous`` (last year's survey),
        ``problems`` (the river problems), ``programmes`` (抗震房, 改厕, 大棚), ``monitoring`` (三类户),
        ``high_standard`` (the high-standard construction sections), ``dem``, ``ndvi_2022``, ``ndvi_2023``,
        ``ndvi_2023-06-28`` (the summer scene of the reclaimed plots' first crop, :mod:`gis_town.demo.scenes`),
        ``visits_filled`` (the visit list as the villages sent it back) and
        ``report`` (a JSON file listing planted problems and design numbers).
    """
    import pyogrio

    from gis_town.demo.high_standard import write_sections
    from gis_town.demo.previous import write_previous_survey
    from gis_town.demo.problems import write_river_problems
    from gis_town.demo.programmes import write_monitoring, write_programmes
    from gis_town.demo.scenes import write_summer_scene
    from gis_town.demo.visits import write_filled_visits
    from gis_town.io.write import atomic_path, write_text

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    town = build_town(seed, n_parcels=n_parcels, patrol_scale=patrol_scale)
    gpkg = out_dir / "demo_town.gpkg"
    with atomic_path(gpkg) as tmp:
        for name, gdf in town["layers"].items():
            out = _to_out(gdf)
            pyogrio.write_dataframe(out, tmp, layer=name, driver="GPKG", append=tmp.exists())
    paths = {"town": gpkg}
    paths["previous"] = write_previous_survey(gpkg, out_dir / "demo_town_2022.gpkg")
    paths["problems"] = write_river_problems(gpkg, out_dir / "river_problems.gpkg")
    paths["programmes"] = write_programmes(gpkg, out_dir / "programmes.gpkg")
    paths["monitoring"] = write_monitoring(gpkg, out_dir / "monitoring.gpkg")
    paths["high_standard"] = write_sections(gpkg, out_dir / "high_standard.gpkg")
    _write_raster(town["dem"], town["grid"], out_dir / "dem.tif")
    paths["dem"] = out_dir / "dem.tif"
    for year, arr in town["ndvi"].items():
        p = out_dir / f"ndvi_{year}.tif"
        _write_raster(arr, town["grid"], p)
        paths[f"ndvi_{year}"] = p
    paths["ndvi_2023-06-28"] = write_summer_scene(gpkg, paths["ndvi_2023"], out_dir / "ndvi_2023-06-28.tif")
    paths["visits_filled"] = write_filled_visits(gpkg, out_dir / "visits_filled.xlsx")
    report = town["report"]
    report["layer_counts"] = {k: int(len(v)) for k, v in town["layers"].items()}
    paths["report"] = write_text(
        json.dumps(report, ensure_ascii=False, indent=2, default=str) + "\n",
        out_dir / "demo_report.json",
    )
    log.info("示范镇已生成 demo town written to %s", out_dir)
    return paths
