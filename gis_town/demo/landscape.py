"""Villages, settlements, roads and the cultivable land of the demo town (EPSG:4544 metres)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
import shapely
from rasterio import features as rio_features
from scipy import ndimage, sparse
from scipy.sparse import csgraph
from shapely.geometry import LineString, MultiPoint, Point, Polygon

from gis_town.demo.names import VILLAGE_NAMES, NameMaker
from gis_town.demo.terrain import Grid, River, Terrain, chaikin, valley_to_gk

log = logging.getLogger(__name__)


# --------------------------------------------------------------------------- villages


def tile_polygon(outline: Polygon, seeds: np.ndarray) -> list[Polygon]:
    """Voronoi tiling of ``outline`` by ``seeds``, noded so neighbours share exact edges.

    The Voronoi edges and the outline are noded together and polygonized; each
    face goes to its nearest seed (the Voronoi rule), so the pieces tile the
    outline without gaps or overlaps.
    """
    edges = shapely.voronoi_polygons(
        MultiPoint(seeds), extend_to=outline.buffer(5000.0), only_edges=True
    )
    # node the whole edges with the outline (no pre-clipping: clipped ends may
    # miss the boundary by a rounding error and leave dangles)
    lines = shapely.union_all([edges, outline.boundary])
    faces = np.asarray(shapely.get_parts(shapely.polygonize(shapely.get_parts(lines))))
    rep = shapely.point_on_surface(faces)
    inside = shapely.contains(outline, rep)
    faces, rep = faces[inside], rep[inside]
    rxy = shapely.get_coordinates(rep)
    owner = np.argmin(((rxy[:, None, :] - seeds[None, :, :]) ** 2).sum(axis=2), axis=1)
    out = []
    for i in range(len(seeds)):
        parts = faces[owner == i]
        out.append(shapely.coverage_union_all(parts) if len(parts) else Polygon())
    return out


def village_seeds(outline: Polygon, rivers: list[River], rng: np.random.Generator) -> np.ndarray:
    """Seeds of 14 villages: four on the main valley (川区四村), ten in the hills."""
    u = np.array([-6.2, -2.5, 1.3, 4.9])
    v = np.array([0.1, -0.1, 0.15, -0.05])
    vx, vy = valley_to_gk(u, v)
    seeds = [np.column_stack([vx, vy])]
    main = rivers[0].line
    minx, miny, maxx, maxy = outline.bounds
    hill: list[np.ndarray] = []
    shrunk = outline.buffer(-1200.0)
    tries = 0
    while len(hill) < 10 and tries < 20000:
        tries += 1
        p = np.array([rng.uniform(minx, maxx), rng.uniform(miny, maxy)])
        if not shapely.contains_xy(shrunk, *p):
            continue
        if main.distance(Point(p)) < 1500.0:
            continue
        others = np.vstack([seeds[0]] + hill) if hill else seeds[0]
        if np.min(np.hypot(*(others - p).T)) < 2450.0:
            continue
        hill.append(p)
    return np.vstack([seeds[0], np.asarray(hill)])


# --------------------------------------------------------------------------- raster helpers


def rasterize(
    geoms, grid: Grid, values=None, *, all_touched: bool = False, fill: float = 0, dtype="int32"
) -> np.ndarray:
    """Burn geometries into ``grid`` (value 1, or ``values`` per geometry)."""
    geoms = list(geoms)
    if values is None:
        shapes = ((g, 1) for g in geoms if g is not None and not g.is_empty)
    else:
        shapes = (
            (g, v) for g, v in zip(geoms, values, strict=True) if g is not None and not g.is_empty
        )
    return rio_features.rasterize(
        shapes,
        out_shape=grid.shape,
        transform=grid.transform,
        fill=fill,
        all_touched=all_touched,
        dtype=dtype,
    )


def _chaikin_closed(ring: np.ndarray, iterations: int = 2) -> np.ndarray:
    pts = np.asarray(ring, dtype=float)[:-1]
    for _ in range(iterations):
        nxt = np.roll(pts, -1, axis=0)
        q = 0.75 * pts + 0.25 * nxt
        r = 0.25 * pts + 0.75 * nxt
        pts = np.empty((2 * len(q), 2))
        pts[0::2] = q
        pts[1::2] = r
    return np.vstack([pts, pts[:1]])


def smooth_polygons(
    geom: shapely.Geometry, *, simplify_m: float = 10.0, min_area_m2: float = 2000.0
) -> shapely.Geometry:
    """Round off the staircase of raster-derived polygons (simplify, then corner cutting)."""
    out = []
    for part in shapely.get_parts(shapely.simplify(geom, simplify_m, preserve_topology=True)):
        if part.geom_type != "Polygon" or part.area < min_area_m2:
            continue
        shell = _chaikin_closed(np.asarray(part.exterior.coords))
        holes = [
            _chaikin_closed(np.asarray(h.coords))
            for h in part.interiors
            if Polygon(h).area > min_area_m2 / 4
        ]
        out.append(shapely.make_valid(Polygon(shell, holes)))
    if not out:
        return Polygon()
    polys = [p for g in out for p in shapely.get_parts(g) if p.geom_type == "Polygon"]
    return shapely.union_all(polys)


def polygonize_mask(mask: np.ndarray, grid: Grid, *, simplify_m: float = 0.0) -> shapely.Geometry:
    """Polygons of the True cells of ``mask`` (one geometry), optionally simplified."""
    polys = [
        shapely.geometry.shape(g)
        for g, v in rio_features.shapes(mask.astype("uint8"), mask=mask, transform=grid.transform)
        if v == 1
    ]
    if not polys:
        return Polygon()
    geom = shapely.union_all(polys)
    if simplify_m > 0:
        geom = shapely.make_valid(shapely.simplify(geom, simplify_m, preserve_topology=True))
        geom = shapely.union_all([g for g in shapely.get_parts(geom) if g.geom_type == "Polygon"])
    return geom


# --------------------------------------------------------------------------- settlements


@dataclass
class Settlements:
    """Natural villages (自然村): points, names, owning village, footprint radius (m)."""

    xy: np.ndarray
    names: list[str]
    village: np.ndarray
    radius_m: np.ndarray
    is_main: np.ndarray
    seat: int = -1  #: index of the town seat (镇政府驻地)


def place_settlements(
    villages: list[Polygon],
    terrain: Terrain,
    main_floor: Polygon,
    rng: np.random.Generator,
    names: NameMaker,
) -> Settlements:
    """Place 3-6 natural villages per village on gentle land near water, spaced apart.

    The first of each village holds the village committee (村委会). The town
    seat is the main settlement of the second valley village. 将台村 gets a
    hill hamlet named 尹家山 (the plan's potato demonstration base).
    """
    g = terrain.grid
    xs, ys = g.centers()
    xy_all = np.column_stack([xs.ravel(), ys.ravel()])
    slope = terrain.slope_deg.ravel()
    rdist = terrain.river_dist_m.ravel()
    in_floor = shapely.contains_xy(main_floor, xy_all[:, 0], xy_all[:, 1])
    pts, nm, vil, rad, main = [], [], [], [], []
    seat = -1
    for vi, poly in enumerate(villages):
        inside = shapely.contains_xy(poly.buffer(-150.0), xy_all[:, 0], xy_all[:, 1])
        ok = inside & (slope < 9.0) & (rdist > 60.0)
        cand = np.flatnonzero(ok)
        if cand.size == 0:
            cand = np.flatnonzero(inside)
        score = np.exp(-rdist[cand] / 500.0) * np.exp(-slope[cand] / 4.0) + 0.3 * in_floor[cand]
        area_km2 = poly.area / 1e6
        n = int(np.clip(round(area_km2 / 2.4) + rng.integers(-1, 2), 3, 6))
        chosen: list[int] = []
        order = cand[np.argsort(-(score + rng.uniform(0, 0.25, cand.size)))]
        for c in order:
            if len(chosen) >= n:
                break
            if chosen and np.min(np.hypot(*(xy_all[chosen] - xy_all[c]).T)) < 900.0:
                continue
            chosen.append(int(c))
        for k, c in enumerate(chosen):
            pts.append(xy_all[c])
            vil.append(vi)
            main.append(k == 0)
            rad.append(rng.uniform(110.0, 170.0) if k == 0 else rng.uniform(60.0, 110.0))
            nm.append(names.hamlet())
        if vi == 1:
            seat = len(pts) - len(chosen)
    # 将台村 is village index 0 by construction; give it the hill hamlet 尹家山
    poly0 = villages[0]
    inside0 = shapely.contains_xy(poly0.buffer(-200.0), xy_all[:, 0], xy_all[:, 1])
    hill = np.flatnonzero(inside0 & ~in_floor & (slope > 6.0) & (slope < 13.0) & (rdist > 500.0))
    if hill.size:
        far = hill[
            np.argsort(
                -np.min(
                    np.hypot(
                        xy_all[hill, 0, None] - np.asarray(pts)[None, :, 0],
                        xy_all[hill, 1, None] - np.asarray(pts)[None, :, 1],
                    ),
                    axis=1,
                )
            )
        ]
        c = int(far[min(len(far) - 1, int(rng.integers(0, max(1, len(far) // 10))))])
        pts.append(xy_all[c])
        vil.append(0)
        main.append(False)
        rad.append(70.0)
        nm.append("尹家山")
    rad_arr = np.asarray(rad)
    if seat >= 0:
        rad_arr[seat] = 330.0
        nm[seat] = "关川镇区"
    return Settlements(np.asarray(pts), nm, np.asarray(vil), rad_arr, np.asarray(main), seat)


# --------------------------------------------------------------------------- roads


@dataclass
class RoadFeature:
    """One road line with its attributes (before the CRS change)."""

    line: LineString
    name: str
    road_class: str
    village: int = -1
    hardened: bool = False
    hardened_year: int | None = None


@dataclass
class GridGraph:
    """8-neighbour graph over the DEM cells weighted by a travel cost."""

    grid: Grid
    matrix: sparse.csr_matrix
    cost: np.ndarray = field(repr=False)

    @classmethod
    def build(cls, grid: Grid, cost: np.ndarray) -> GridGraph:
        """Edges between neighbouring cells, weight = step length x mean cost."""
        nr, nc = grid.shape
        idx = np.arange(nr * nc).reshape(nr, nc)
        rows, cols, wts = [], [], []
        c = cost
        for dr, dc in ((0, 1), (1, 0), (1, 1), (1, -1)):
            r0, r1 = 0, nr - dr
            c0, c1 = max(0, -dc), nc - max(0, dc)
            a = idx[r0:r1, c0:c1]
            b = idx[r0 + dr : r1 + dr, c0 + dc : c1 + dc]
            step = grid.cell_m * (np.sqrt(2.0) if dr and dc else 1.0)
            w = step * 0.5 * (c.ravel()[a.ravel()] + c.ravel()[b.ravel()])
            rows.append(a.ravel())
            cols.append(b.ravel())
            wts.append(w)
        r = np.concatenate(rows + cols)
        q = np.concatenate(cols + rows)
        w = np.concatenate(wts + wts)
        m = sparse.csr_matrix((w, (r, q)), shape=(nr * nc, nr * nc))
        return cls(grid, m, cost)

    def shortest_tree(self, sources: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Distances and predecessors from the nearest of ``sources`` (cell indices)."""
        dist, pred, _src = csgraph.dijkstra(
            self.matrix,
            directed=False,
            indices=np.asarray(sources),
            return_predecessors=True,
            min_only=True,
        )
        return dist, pred

    def cell_xy(self, cells: np.ndarray) -> np.ndarray:
        """Centre coordinates of cell indices."""
        r, c = np.divmod(np.asarray(cells), self.grid.ncols)
        return np.column_stack(
            [
                self.grid.x0_m + (c + 0.5) * self.grid.cell_m,
                self.grid.y1_m - (r + 0.5) * self.grid.cell_m,
            ]
        )

    def cell_of(self, xy: np.ndarray) -> np.ndarray:
        """Cell indices of points."""
        r, c = self.grid.index(xy[:, 0], xy[:, 1])
        return r * self.grid.ncols + c


def smooth_path(xy: np.ndarray) -> LineString:
    """Turn a staircase of cell centres into a plausible road line."""
    line = LineString(xy)
    if len(xy) > 2:
        line = shapely.simplify(line, 12.0)
        pts = chaikin(shapely.get_coordinates(line), 2)
        line = LineString(pts)
    return line


def trace_paths(
    graph: GridGraph, pred: np.ndarray, targets: np.ndarray, used: np.ndarray
) -> list[np.ndarray]:
    """Trace each target back along ``pred`` until it meets a used cell; longest first.

    ``used`` (bool per cell) is updated, so later paths join earlier ones (a
    branching network, not parallel roads).
    """
    paths = []
    for t in targets:
        cells = [int(t)]
        cur = int(t)
        while pred[cur] >= 0 and not used[cur]:
            cur = int(pred[cur])
            cells.append(cur)
        if len(cells) < 2:
            continue
        used[np.asarray(cells)] = True
        paths.append(np.asarray(cells))
    return paths


# --------------------------------------------------------------------------- misc geometry


def valley_floor_polygon(terrain: Terrain, outline: Polygon) -> Polygon:
    """The main valley floor (川区): cells of the main river's valley with slope < 6 degrees."""
    floor = (
        (terrain.river_idx == 0)
        & (terrain.slope_deg < 6.0)
        & ((terrain.dem_m - terrain.floor_m) < 15.0)
    )
    floor = ndimage.binary_opening(ndimage.binary_closing(floor, iterations=3), iterations=2)
    lab, n = ndimage.label(floor)
    if n > 1:
        sizes = ndimage.sum(floor, lab, index=np.arange(1, n + 1))
        floor = lab == (1 + int(np.argmax(sizes)))
    geom = polygonize_mask(floor, terrain.grid, simplify_m=25.0)
    geom = shapely.intersection(geom, outline)
    parts = [p for p in shapely.get_parts(geom) if p.geom_type == "Polygon"]
    return max(parts, key=lambda p: p.area) if parts else Polygon()


def rotated_rect(cx: float, cy: float, w: float, h: float, angle_rad: float) -> Polygon:
    """A ``w`` x ``h`` rectangle centred on (cx, cy) rotated by ``angle_rad``."""
    c, s = np.cos(angle_rad), np.sin(angle_rad)
    pts = np.array([[-w / 2, -h / 2], [w / 2, -h / 2], [w / 2, h / 2], [-w / 2, h / 2]])
    rot = pts @ np.array([[c, s], [-s, c]])
    return Polygon(rot + np.array([cx, cy]))


def village_names_for(n: int) -> list[str]:
    """Village names: 将台村 first (a valley village), then the pool in order."""
    return list(VILLAGE_NAMES[:n])
