"""The demo town's physical and administrative frame (EPSG:4544 metres).

:func:`build_frame` makes the outline, rivers and DEM, the villages and
their settlements, the road network, the ecological red line, the town
development boundary and the cultivable-land mask that farmland parcels
later tile.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
import shapely
from scipy import ndimage
from shapely.geometry import LineString, Point, Polygon

from gis_town.demo import landscape as L
from gis_town.demo import terrain as T
from gis_town.demo.names import NameMaker

log = logging.getLogger(__name__)

#: Cultivable land aimed at (m²): about 45,000 mu (30 km²) in a 155 km² town.
CULTIVABLE_TARGET_M2 = 30.0e6


@dataclass
class Frame:
    """Everything the layers are cut from; geometries in EPSG:4544."""

    seed: int
    outline: Polygon
    rivers: list[T.River]
    terrain: T.Terrain
    villages: list[Polygon]
    village_names: list[str]
    settlements: L.Settlements
    main_floor: Polygon
    roads: list[L.RoadFeature]
    redline_hills: list[Polygon]
    dev_boundary: Polygon
    cultivable: shapely.Geometry
    homesteads: list[Polygon] = field(default_factory=list)
    names: NameMaker | None = None
    extra: dict = field(default_factory=dict)


def _rng(seed: int, stream: int) -> np.random.Generator:
    """An independent random stream per part, so changing one part leaves the others."""
    return np.random.default_rng([seed, stream])


def _road_cost(
    terrain: T.Terrain,
    outline: Polygon,
    *,
    slope_scale_deg: float,
    river_penalty: float,
    wobble: np.ndarray,
) -> np.ndarray:
    """Travel cost per metre: grows with slope squared; rivers are crossed reluctantly."""
    g = terrain.grid
    cost = 1.0 + (terrain.slope_deg / slope_scale_deg) ** 2
    cost = cost + river_penalty * (terrain.river_dist_m < 35.0)
    xs, ys = g.centers()
    outside = ~shapely.contains_xy(outline.buffer(400.0), xs, ys)
    cost = cost + 20.0 * outside
    # a little roughness so paths on even ground wander instead of running straight
    return cost * np.exp(0.25 * wobble)


def build_roads(
    terrain: T.Terrain,
    outline: Polygon,
    rivers: list[T.River],
    villages: list[Polygon],
    setl: L.Settlements,
    names: list[str],
    cultivable_cells: np.ndarray,
    rng: np.random.Generator,
) -> list[L.RoadFeature]:
    """Two main roads, village roads to every settlement and field roads into the farmland.

    Roads follow least-cost paths on the DEM grid (cost rising with slope),
    traced as a branching tree from the existing network, then smoothed.
    """
    g = terrain.grid
    roads: list[L.RoadFeature] = []
    used = np.zeros(g.nrows * g.ncols, dtype=bool)
    wobble = T._smooth_noise(rng, g.shape, 3)

    # 关川线 (county road) along the valley: from the south-west end to the north-east end of the grid
    cost_main = _road_cost(terrain, outline, slope_scale_deg=2.5, river_penalty=40.0, wobble=wobble)
    cost_main = cost_main + 2.0 * np.clip((terrain.river_dist_m - 220.0) / 200.0, 0, None) ** 2 * (
        terrain.river_idx == 0
    )
    gg = L.GridGraph.build(g, cost_main)
    main = rivers[0].line
    a = np.asarray(shapely.get_coordinates(main.interpolate(0.03, normalized=True)))
    b = np.asarray(shapely.get_coordinates(main.interpolate(0.97, normalized=True)))
    src = gg.cell_of(a + np.array([[0.0, 250.0]]))
    dst = gg.cell_of(b + np.array([[0.0, 250.0]]))
    _, pred = gg.shortest_tree(src)
    path = L.trace_paths(gg, pred, dst, used)[0]
    roads.append(
        L.RoadFeature(
            L.smooth_path(gg.cell_xy(path)), "关川线", "县道", hardened=True, hardened_year=2011
        )
    )

    # 石峡线 (township road) up the 石峡河 valley to the town's north-west edge
    trib = rivers[1].line
    head = np.asarray(shapely.get_coordinates(trib.interpolate(0.98, normalized=True)))
    cost_t = _road_cost(terrain, outline, slope_scale_deg=3.0, river_penalty=40.0, wobble=wobble)
    cost_t = cost_t + 3.0 * np.clip((terrain.river_dist_m - 80.0) / 80.0, 0, None) ** 2 * (
        terrain.river_idx == 1
    )
    gg_t = L.GridGraph.build(g, cost_t)
    _, pred = gg_t.shortest_tree(np.flatnonzero(used))
    path = L.trace_paths(gg_t, pred, gg_t.cell_of(head), used)[0]
    roads.append(
        L.RoadFeature(
            L.smooth_path(gg_t.cell_xy(path[::-1])),
            "石峡线",
            "乡道",
            hardened=True,
            hardened_year=2016,
        )
    )

    # village roads (村道) to every settlement
    cost_v = _road_cost(terrain, outline, slope_scale_deg=9.0, river_penalty=25.0, wobble=wobble)
    gg_v = L.GridGraph.build(g, cost_v)
    dist, pred = gg_v.shortest_tree(np.flatnonzero(used))
    targets = gg_v.cell_of(setl.xy)
    order = np.argsort(-dist[targets])
    paths = L.trace_paths(gg_v, pred, targets[order], used)
    vil_of_target = setl.village[order]
    for p_cells, vi, si in zip(paths, vil_of_target, order, strict=False):
        line = L.smooth_path(gg_v.cell_xy(p_cells))
        roads.append(
            L.RoadFeature(line, f"{names[vi]}{setl.names[si]}道路", "村道", village=int(vi))
        )

    # field roads (产业路) into the farmland: targets spread over the cultivable cells
    xs, ys = g.centers()
    cell_ids = np.flatnonzero(cultivable_cells.ravel())
    cxy = np.column_stack([xs.ravel()[cell_ids], ys.ravel()[cell_ids]])
    key = np.floor(cxy / 650.0).astype(np.int64)
    _, first = np.unique(key[:, 0] * 100000 + key[:, 1], return_index=True)
    tcells = cell_ids[np.sort(first)]
    keep = rng.random(tcells.size) < 0.7  # some farmland is left far from any road
    tcells = tcells[keep]
    dist, pred = gg_v.shortest_tree(np.flatnonzero(used))
    tcells = tcells[np.isfinite(dist[tcells]) & (dist[tcells] > 250.0)]
    order = np.argsort(-dist[tcells])
    paths = L.trace_paths(gg_v, pred, tcells[order], used)
    txy = gg_v.cell_xy(tcells[order])
    vil_idx = _village_of(txy, villages)
    counters: dict[int, int] = {}
    for p_cells, vi in zip(paths, vil_idx, strict=False):
        if len(p_cells) < 4:
            continue
        counters[vi] = counters.get(vi, 0) + 1
        line = L.smooth_path(gg_v.cell_xy(p_cells))
        roads.append(
            L.RoadFeature(line, f"{names[vi]}产业路{counters[vi]}号", "产业路", village=int(vi))
        )
    return roads


def _village_of(xy: np.ndarray, villages: list[Polygon]) -> np.ndarray:
    """Index of the village containing each point (nearest village when outside all)."""
    out = np.full(len(xy), -1, dtype=np.int64)
    pts = shapely.points(xy)
    for i, v in enumerate(villages):
        out[shapely.contains(v, pts)] = i
    miss = np.flatnonzero(out < 0)
    if miss.size:
        d = np.stack([shapely.distance(v, pts[miss]) for v in villages])
        out[miss] = np.argmin(d, axis=0)
    return out


def build_frame(seed: int) -> Frame:
    """Build the town's frame (everything except parcels and activity records)."""
    names = NameMaker(_rng(seed, 1))
    rng_t = _rng(seed, 2)
    outline = T.town_outline(rng_t)
    rivers = T.river_network(rng_t)
    network = rivers + T.dry_gullies(rivers, outline, rng_t)
    grid = T.make_grid(outline)
    terrain = T.build_terrain(grid, network, rng_t)
    log.info("地形 terrain: %d x %d cells", grid.ncols, grid.nrows)

    rng_v = _rng(seed, 3)
    seeds = L.village_seeds(outline, rivers, rng_v)
    villages = L.tile_polygon(outline, seeds)
    # village 0 must be a valley village (将台村): seeds 0-3 are the valley ones
    vnames = L.village_names_for(len(villages))
    main_floor = L.valley_floor_polygon(terrain, outline)
    setl = L.place_settlements(villages, terrain, main_floor, rng_v, names)

    # the ecological red line on the hilltops: the highest, roughest ground
    xs, ys = grid.centers()
    inside = shapely.contains_xy(outline, xs, ys)
    thr = np.quantile(terrain.dem_m[inside], 0.92)
    high = inside & (terrain.dem_m > thr)
    high = ndimage.binary_opening(ndimage.binary_closing(high, iterations=2), iterations=2)
    lab, n = ndimage.label(high)
    sizes = ndimage.sum(high, lab, index=np.arange(1, n + 1)) * grid.cell_m**2
    keep_labels = 1 + np.flatnonzero(sizes > 0.4e6)
    high = np.isin(lab, keep_labels)
    red = L.smooth_polygons(L.polygonize_mask(high, grid), simplify_m=20.0)
    red = shapely.intersection(red, outline)
    redline_hills = [
        p for p in shapely.get_parts(red) if p.geom_type == "Polygon" and p.area > 0.3e6
    ]

    # town development boundary around the town seat, on the valley floor
    sx, sy = setl.xy[setl.seat]
    rect = L.rotated_rect(sx, sy, 1900.0, 900.0, np.radians(T.VALLEY_ANGLE_DEG))
    dev = shapely.intersection(rect, main_floor.buffer(60.0)).buffer(40.0).buffer(-40.0)
    dev = shapely.intersection(dev, outline)
    if dev.geom_type != "Polygon":
        dev = max(shapely.get_parts(dev), key=lambda p: p.area)

    # cultivable cells: slope < 25 (with some steeper edges), inside the town,
    # away from rivers, settlements and (mostly) the red line; the rest of the
    # hills stay grass and shrub so the area matches the target
    rng_m = _rng(seed, 4)
    setl_r = np.zeros(grid.shape, dtype=bool)
    for (px, py), r in zip(setl.xy, setl.radius_m, strict=True):
        setl_r |= (xs - px) ** 2 + (ys - py) ** 2 < (r + 20.0) ** 2
    slope_s = ndimage.uniform_filter(terrain.slope_deg, 3)
    base = inside & (slope_s < 24.0) & (terrain.river_dist_m > 25.0) & ~setl_r
    red_keep = high & (
        T._smooth_noise(rng_m, grid.shape, 4) > 0.9
    )  # a little farmland stays in the red line
    base &= ~high | red_keep
    in_floor = shapely.contains_xy(main_floor, xs, ys)
    blob = T._smooth_noise(rng_m, grid.shape, 5) + 0.045 * (slope_s - 12.0)
    hill = base & ~in_floor
    need = CULTIVABLE_TARGET_M2 / grid.cell_m**2 - np.count_nonzero(base & in_floor)
    hill_vals = np.sort(blob[hill])
    k = int(np.clip(need, 0, hill_vals.size - 1))
    cut = hill_vals[k] if hill_vals.size else 0.0
    cultivable_cells = base & (in_floor | (blob < cut))
    cultivable_cells = ndimage.binary_opening(cultivable_cells, iterations=1)

    rng_r = _rng(seed, 5)
    roads = build_roads(terrain, outline, rivers, villages, setl, vnames, cultivable_cells, rng_r)

    road_cells = L.rasterize([r.line for r in roads], grid, all_touched=True) > 0
    road_dist = ndimage.distance_transform_edt(~road_cells) * grid.cell_m
    cult = L.smooth_polygons(L.polygonize_mask(cultivable_cells, grid), simplify_m=12.0)
    cult = shapely.intersection(cult, outline)
    holes = [
        shapely.buffer(r.line, 6.0 if r.road_class in ("县道", "乡道") else 3.5) for r in roads
    ]
    holes += [shapely.buffer(r.line, 20.0 if r.kind == "main" else 8.0) for r in rivers]
    holes += [Point(p).buffer(r, 24) for p, r in zip(setl.xy, setl.radius_m, strict=True)]
    cult = shapely.difference(cult, shapely.union_all(holes))
    return Frame(
        seed=seed,
        outline=outline,
        rivers=rivers,
        terrain=terrain,
        villages=villages,
        village_names=vnames,
        settlements=setl,
        main_floor=main_floor,
        roads=roads,
        redline_hills=redline_hills,
        dev_boundary=dev,
        cultivable=cult,
        names=names,
        extra={
            "network": network,
            "cultivable_cells": cultivable_cells,
            "red_cells": high,
            "road_dist_m": road_dist,
        },
    )


__all__ = ["Frame", "build_frame", "LineString"]
