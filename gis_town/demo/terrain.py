"""Terrain of the demo town: outline, river network and a 30 m DEM.

Everything here works in the CGCS2000 Gauss-Kruger zone with central meridian
105E (EPSG:4544, metres). The landscape is the Loess Plateau's hilly-gully
type: a flat valley floor (川区, about 1,880-1,980 m) along the main river,
tributary valleys with steep gully walls, and terraced hill slopes rising to
ridges at about 2,250-2,350 m.

The DEM is built *from* the rivers (each river carves a valley: floor
elevation along the river plus a rise with distance from it), so rivers run
in the valley bottoms by construction.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
import shapely
from scipy import ndimage
from shapely.geometry import LineString, Polygon

log = logging.getLogger(__name__)

#: Gauss-Kruger CRS the generator works in (CGCS2000, 3-degree zone, CM 105E).
GK_CRS = "EPSG:4544"
#: Town centre in EPSG:4544 metres (about 104.60E, 35.60N), on the 30 m grid.
CENTER_X_M = 463_740.0
CENTER_Y_M = 3_941_220.0
#: DEM cell size (m).
CELL_M = 30.0
#: Rotation of the valley frame (u along the main valley, v across), degrees
#: counter-clockwise from east.
VALLEY_ANGLE_DEG = 25.0


@dataclass
class Grid:
    """A north-up raster grid in EPSG:4544.

    Attributes
    ----------
    x0_m, y1_m : float
        West edge and north edge (m).
    cell_m : float
        Cell size (m).
    ncols, nrows : int
        Raster size.
    """

    x0_m: float
    y1_m: float
    cell_m: float
    ncols: int
    nrows: int

    @property
    def transform(self):
        """Affine transform (rasterio convention)."""
        from rasterio.transform import from_origin

        return from_origin(self.x0_m, self.y1_m, self.cell_m, self.cell_m)

    @property
    def shape(self) -> tuple[int, int]:
        return (self.nrows, self.ncols)

    def centers(self) -> tuple[np.ndarray, np.ndarray]:
        """Cell-centre coordinates (m) as two 2-D arrays (x, y)."""
        xs = self.x0_m + (np.arange(self.ncols) + 0.5) * self.cell_m
        ys = self.y1_m - (np.arange(self.nrows) + 0.5) * self.cell_m
        return np.meshgrid(xs, ys)

    def index(self, x_m: np.ndarray, y_m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Row and column of the cells holding points (clipped to the grid)."""
        col = np.clip(((np.asarray(x_m) - self.x0_m) / self.cell_m).astype(int), 0, self.ncols - 1)
        row = np.clip(((self.y1_m - np.asarray(y_m)) / self.cell_m).astype(int), 0, self.nrows - 1)
        return row, col

    def sample(self, arr: np.ndarray, x_m: np.ndarray, y_m: np.ndarray) -> np.ndarray:
        """Nearest-cell values of ``arr`` at points."""
        row, col = self.index(x_m, y_m)
        return arr[row, col]


@dataclass
class River:
    """One river line of the network (main stem, tributary or gully).

    Attributes
    ----------
    name : str
        Chinese name (关川河, 石峡河, 张家沟 ...).
    kind : str
        ``main``, ``tributary`` or ``gully``.
    line : LineString
        Drawn from the mouth (downstream end) upstream, EPSG:4544.
    z0_m : float
        Water level at the mouth (m).
    gradient : float
        Rise of the bed per metre upstream.
    basin : int
        Index of the basin (0-2) the river drains, -1 for the main stem.
    parent : int
        Index of the river it flows into (-1 for the main stem).
    """

    name: str
    kind: str
    line: LineString
    z0_m: float
    gradient: float
    basin: int
    parent: int = -1
    params: dict = field(default_factory=dict)


def valley_to_gk(u_km: np.ndarray, v_km: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Convert valley-frame coordinates (km) to EPSG:4544 metres."""
    a = np.radians(VALLEY_ANGLE_DEG)
    u = np.asarray(u_km) * 1000.0
    v = np.asarray(v_km) * 1000.0
    return CENTER_X_M + u * np.cos(a) - v * np.sin(a), CENTER_Y_M + u * np.sin(a) + v * np.cos(a)


def chaikin(coords: np.ndarray, iterations: int = 3) -> np.ndarray:
    """Chaikin corner cutting of an open polyline (end points kept)."""
    pts = np.asarray(coords, dtype=float)
    for _ in range(iterations):
        if len(pts) < 3:
            return pts
        q = 0.75 * pts[:-1] + 0.25 * pts[1:]
        r = 0.25 * pts[:-1] + 0.75 * pts[1:]
        mid = np.empty((2 * (len(pts) - 1), 2))
        mid[0::2] = q
        mid[1::2] = r
        pts = np.vstack([pts[:1], mid[1:-1], pts[-1:]])
    return pts


def _meander(
    pts_m: np.ndarray, rng: np.random.Generator, amp_m: float, step_m: float
) -> np.ndarray:
    """Densify a polyline and add a smooth lateral wiggle (a meander) of about ``amp_m``."""
    line = LineString(pts_m)
    n = max(int(line.length / step_m), 4)
    d = np.linspace(0.0, line.length, n)
    p = shapely.get_coordinates(shapely.line_interpolate_point(line, d))
    tangent = np.gradient(p, axis=0)
    tangent /= np.linalg.norm(tangent, axis=1, keepdims=True)
    normal = np.column_stack([-tangent[:, 1], tangent[:, 0]])
    phase = rng.uniform(0, 2 * np.pi, 3)
    wl = rng.uniform([900, 420, 230], [1500, 700, 360])
    off = (
        amp_m * np.sin(2 * np.pi * d / wl[0] + phase[0])
        + 0.5 * amp_m * np.sin(2 * np.pi * d / wl[1] + phase[1])
        + 0.25 * amp_m * np.sin(2 * np.pi * d / wl[2] + phase[2])
    )
    # no wiggle at the ends, so confluences stay on the parent river
    taper = np.clip(np.minimum(d, d[-1] - d) / 300.0, 0.0, 1.0)
    return p + normal * (off * taper)[:, None]


def town_outline(rng: np.random.Generator) -> Polygon:
    """The town boundary: a lobed ellipse about 16 x 12 km (about 150 km²) along the valley."""
    theta = np.linspace(0, 2 * np.pi, 721)[:-1]
    r = np.ones_like(theta)
    for k, amp in ((2, 0.06), (3, 0.05), (5, 0.03), (8, 0.015), (13, 0.008)):
        r += amp * np.sin(k * theta + rng.uniform(0, 2 * np.pi))
    u = 8.2 * r * np.cos(theta)
    v = 6.0 * r * np.sin(theta)
    x, y = valley_to_gk(u, v)
    poly = Polygon(np.column_stack([x, y]))
    return shapely.make_valid(poly).buffer(0)


#: River network in the valley frame (km): name, kind, parent, basin, control
#: points from the mouth upstream. Basin 0: 石峡河 (north-west), 1: 柳家河
#: (south), 2: 大营河 (north-east).
_NETWORK: list[tuple[str, str, int, int, list[tuple[float, float]]]] = [
    (
        "关川河",
        "main",
        -1,
        -1,
        [(11.5, 0.3), (7.0, 0.0), (3.0, 0.35), (-1.0, -0.1), (-5.0, 0.25), (-11.5, -0.2)],
    ),
    (
        "石峡河",
        "tributary",
        0,
        0,
        [(-4.0, 0.0), (-4.4, 1.2), (-5.3, 2.7), (-6.0, 4.4), (-6.6, 6.6)],
    ),
    ("柳家河", "tributary", 0, 1, [(1.0, 0.0), (1.2, -1.3), (1.9, -2.8), (2.2, -4.5), (2.9, -6.5)]),
    ("大营河", "tributary", 0, 2, [(5.6, 0.0), (5.7, 1.1), (6.3, 2.6), (6.6, 4.3), (6.2, 6.5)]),
    ("张家沟", "gully", 1, 0, [(-5.3, 2.7), (-6.6, 2.6), (-8.0, 3.1), (-9.0, 3.4)]),
    ("红崖沟", "gully", 1, 0, [(-6.0, 4.4), (-4.8, 4.8), (-3.6, 5.4)]),
    ("马莲沟", "gully", 0, 0, [(-7.8, 0.0), (-8.2, 1.2), (-8.6, 2.0)]),
    ("杨家沟", "gully", 2, 1, [(1.9, -2.8), (0.5, -3.5), (-0.8, -4.6), (-1.6, -5.4)]),
    ("阳洼沟", "gully", 2, 1, [(2.2, -4.5), (3.6, -4.9), (4.6, -5.3)]),
    ("后沟", "gully", 0, 1, [(-2.6, 0.0), (-2.9, -1.4), (-3.6, -2.8), (-4.2, -3.9)]),
    ("阴山沟", "gully", 3, 2, [(6.3, 2.6), (7.6, 2.9), (8.8, 3.4)]),
    ("大湾沟", "gully", 3, 2, [(6.6, 4.3), (5.2, 4.9), (4.2, 5.2)]),
    ("刘家沟", "gully", 0, 2, [(3.2, 0.0), (3.3, 1.5), (3.6, 3.0), (3.5, 4.0)]),
    ("南岔沟", "gully", 0, 1, [(6.6, 0.0), (6.9, -1.5), (7.5, -2.9), (7.8, -3.8)]),
]

#: Valley cross-section parameters by kind: floor half-width (m), gully wall
#: height (m) and scale (m), hillside rise (m) and scale (m), bed gradient.
_SECTION = {
    "main": {
        "floor_m": 340.0,
        "wall_m": 0.0,
        "wall_scale_m": 1.0,
        "hill_m": 430.0,
        "hill_scale_m": 850.0,
        "gradient": 0.0042,
    },
    "tributary": {
        "floor_m": 80.0,
        "wall_m": 50.0,
        "wall_scale_m": 50.0,
        "hill_m": 320.0,
        "hill_scale_m": 750.0,
        "gradient": 0.019,
    },
    "gully": {
        "floor_m": 15.0,
        "wall_m": 45.0,
        "wall_scale_m": 40.0,
        "hill_m": 290.0,
        "hill_scale_m": 700.0,
        "gradient": 0.032,
    },
}


def river_network(rng: np.random.Generator) -> list[River]:
    """Build the river lines (main stem, three tributaries, gullies) with bed elevations."""
    rivers: list[River] = []
    for name, kind, parent, basin, pts in _NETWORK:
        uv = np.asarray(pts, dtype=float)
        x, y = valley_to_gk(uv[:, 0], uv[:, 1])
        ctrl = np.column_stack([x, y])
        smooth = chaikin(ctrl, 3)
        amp = {"main": 70.0, "tributary": 45.0, "gully": 30.0}[kind]
        wig = _meander(smooth, rng, amp, 30.0)
        sec = _SECTION[kind]
        if parent < 0:
            z0 = 1884.0
        else:
            par = rivers[parent]
            s = shapely.line_locate_point(par.line, shapely.Point(wig[0]))
            z0 = par.z0_m + par.gradient * float(s)
            # snap the mouth onto the parent so the network is connected
            wig[0] = shapely.get_coordinates(shapely.line_interpolate_point(par.line, s))[0]
        rivers.append(
            River(
                name=name,
                kind=kind,
                line=LineString(wig),
                z0_m=float(z0),
                gradient=sec["gradient"],
                basin=basin,
                parent=parent,
                params=dict(sec),
            )
        )
    return rivers


def make_grid(outline: Polygon, margin_m: float = 1500.0) -> Grid:
    """A 30 m grid covering ``outline`` plus a margin, aligned to whole cells."""
    minx, miny, maxx, maxy = outline.bounds
    x0 = np.floor((minx - margin_m) / CELL_M) * CELL_M
    y1 = np.ceil((maxy + margin_m) / CELL_M) * CELL_M
    x1 = np.ceil((maxx + margin_m) / CELL_M) * CELL_M
    y0 = np.floor((miny - margin_m) / CELL_M) * CELL_M
    return Grid(
        float(x0), float(y1), CELL_M, int(round((x1 - x0) / CELL_M)), int(round((y1 - y0) / CELL_M))
    )


def _smooth_noise(
    rng: np.random.Generator, shape: tuple[int, int], sigma_cells: float
) -> np.ndarray:
    """Gaussian-filtered white noise scaled to unit standard deviation."""
    f = ndimage.gaussian_filter(rng.standard_normal(shape), sigma_cells, mode="reflect")
    return f / f.std()


@dataclass
class Terrain:
    """DEM and derived rasters on one grid.

    Attributes
    ----------
    dem_m : ndarray
        Elevation (m), float64.
    slope_deg : ndarray
        Slope (degrees) from the DEM by central differences.
    floor_m : ndarray
        Elevation of the valley floor of the nearest river (m).
    river_dist_m : ndarray
        Distance to the nearest river line (m).
    river_idx : ndarray
        Index of the river whose valley each cell belongs to.
    """

    grid: Grid
    dem_m: np.ndarray
    slope_deg: np.ndarray
    floor_m: np.ndarray
    river_dist_m: np.ndarray
    river_idx: np.ndarray


def slope_deg_of(dem_m: np.ndarray, cell_m: float) -> np.ndarray:
    """Slope in degrees by central differences (Horn-like, edges one-sided)."""
    dzdy, dzdx = np.gradient(dem_m, cell_m)
    return np.degrees(np.arctan(np.hypot(dzdx, dzdy)))


def _densify(line: LineString, step_m: float) -> tuple[np.ndarray, np.ndarray]:
    """Points every ``step_m`` along ``line`` and their distance from its start."""
    s = np.linspace(0.0, line.length, max(int(np.ceil(line.length / step_m)) + 1, 2))
    return shapely.get_coordinates(shapely.line_interpolate_point(line, s)), s


def _polyline_distance(
    line: LineString, xy: np.ndarray, step_m: float = 30.0
) -> tuple[np.ndarray, np.ndarray]:
    """Distance (m) from points to ``line`` and the along-line position (m) of the nearest point.

    A KD-tree over vertices every ``step_m`` finds the nearest vertex; the exact
    projection onto its two adjacent segments refines it (vectorised).
    """
    from scipy.spatial import cKDTree

    pts, s_along = _densify(line, step_m)
    _, j = cKDTree(pts).query(xy)
    best_d = np.full(len(xy), np.inf)
    best_s = np.zeros(len(xy))
    for lo in (j - 1, j):
        a = np.clip(lo, 0, len(pts) - 2)
        p0 = pts[a]
        seg = pts[a + 1] - p0
        seg_len2 = np.maximum((seg**2).sum(axis=1), 1e-12)
        t = np.clip(((xy - p0) * seg).sum(axis=1) / seg_len2, 0.0, 1.0)
        proj = p0 + seg * t[:, None]
        d = np.hypot(*(xy - proj).T)
        s = s_along[a] + t * np.sqrt(seg_len2)
        better = d < best_d
        best_d = np.where(better, d, best_d)
        best_s = np.where(better, s, best_s)
    return best_d, best_s


def dry_gullies(
    rivers: list[River], outline: Polygon, rng: np.random.Generator, n: int = 110
) -> list[River]:
    """Short dry gullies (干沟) cut into the hillsides from the rivers' banks.

    They are not in the river layer (no water most of the year) but shape the
    terrain: they give the dissected Loess hillsides and the steep gully
    walls (> 25 degrees).
    """
    out: list[River] = []
    parents = [i for i, r in enumerate(rivers)]
    lengths = np.array([rivers[i].line.length for i in parents])
    weights = lengths / lengths.sum()
    sec = {
        "floor_m": 6.0,
        "wall_m": 35.0,
        "wall_scale_m": 30.0,
        "hill_m": 210.0,
        "hill_scale_m": 520.0,
        "gradient": 0.07,
        "far_slope": 0.2,
    }
    area = outline.buffer(1200.0)
    tries = 0
    while len(out) < n and tries < n * 5:
        tries += 1
        pi = int(rng.choice(parents, p=weights))
        par = rivers[pi]
        s0 = rng.uniform(0.08, 0.92) * par.line.length
        p0 = np.asarray(shapely.get_coordinates(shapely.line_interpolate_point(par.line, s0))[0])
        p1 = np.asarray(
            shapely.get_coordinates(
                shapely.line_interpolate_point(par.line, min(s0 + 20.0, par.line.length))
            )[0]
        )
        t = (p1 - p0) / max(np.linalg.norm(p1 - p0), 1e-9)
        side = rng.choice([-1.0, 1.0])
        nrm = side * np.array([-t[1], t[0]])
        # leave the main valley floor before the gully starts cutting in
        start_off = par.params["floor_m"] * 1.25 if par.kind == "main" else 0.0
        ang = rng.uniform(-0.6, 0.6)
        direction = nrm * np.cos(ang) + t * np.sin(ang)
        length = rng.uniform(600.0, 1700.0) if par.kind != "gully" else rng.uniform(400.0, 900.0)
        a = p0 + nrm * start_off
        b = a + direction * length
        if not shapely.contains_xy(area, *b):
            continue
        mid = a + direction * length * 0.5 + nrm * rng.uniform(-120, 120)
        pts = chaikin(np.vstack([a, mid, b]), 3)
        line = LineString(_meander(pts, rng, 25.0, 25.0))
        if any(line.distance(o.line) < 60.0 for o in rivers if o is not par) or any(
            line.distance(o.line) < 150.0 for o in out
        ):
            continue
        z0 = par.z0_m + par.gradient * s0 + (6.0 if par.kind == "main" else 0.0)
        out.append(
            River(
                name="干沟",
                kind="dry",
                line=line,
                z0_m=float(z0),
                gradient=rng.uniform(0.05, 0.09),
                basin=par.basin,
                parent=pi,
                params=dict(sec),
            )
        )
    return out


def build_terrain(grid: Grid, rivers: list[River], rng: np.random.Generator) -> Terrain:
    """Carve the DEM from the river network.

    Each river (and dry gully) gives, for every cell, a candidate surface: its
    bed elevation at the nearest point plus a rise with distance (flat floor,
    optional steep gully wall, concave hillside). The DEM is a smooth minimum
    of the candidates (ridges form where two valleys meet) plus multi-scale
    noise on the hillsides only, so valley floors stay flat.
    """
    xs, ys = grid.centers()
    xy = np.column_stack([xs.ravel(), ys.ravel()])
    n = xy.shape[0]
    floor_wobble = _smooth_noise(rng, grid.shape, 25).ravel()
    k = 18.0
    run_min = np.full(n, np.inf)  # running minimum of the candidate surfaces
    run_sum = np.zeros(n)  # sum of exp(-(c - run_min) / k): a streaming soft minimum
    floor_z = np.zeros(n)
    idx = np.zeros(n, dtype=np.int64)
    dist_real = np.full(n, np.inf)
    for i, r in enumerate(rivers):
        pts = shapely.get_coordinates(r.line)
        if r.kind == "dry":
            # a dry gully only shapes the hills within ~2 km of it
            bx0, by0 = pts.min(axis=0) - 2500.0
            bx1, by1 = pts.max(axis=0) + 2500.0
            sel = np.flatnonzero(
                (xy[:, 0] > bx0) & (xy[:, 0] < bx1) & (xy[:, 1] > by0) & (xy[:, 1] < by1)
            )
        else:
            sel = np.arange(n)
        d, s_at = _polyline_distance(r.line, xy[sel])
        p = r.params
        zf = r.z0_m + r.gradient * s_at
        floor = p["floor_m"] * (1.0 + 0.3 * floor_wobble[sel]) if r.kind == "main" else p["floor_m"]
        dd = np.maximum(d - floor, 0.0)
        c = (
            zf
            + p["wall_m"] * (1.0 - np.exp(-dd / p["wall_scale_m"]))
            + p["hill_m"] * (1.0 - np.exp(-dd / p["hill_scale_m"]))
        )
        c = c + p.get("far_slope", 0.0) * dd
        if r.kind == "main":
            # gentle cross-fall on the floor toward the river (a few metres)
            c = c + 6.0 * np.minimum(d / np.maximum(floor, 1.0), 1.0)
        m_old = run_min[sel]
        m_new = np.minimum(m_old, c)
        with np.errstate(invalid="ignore"):
            carried = np.where(np.isfinite(m_old), run_sum[sel] * np.exp(-(m_old - m_new) / k), 0.0)
        run_sum[sel] = carried + np.exp(-(c - m_new) / k)
        better = c < m_old
        idx[sel[better]] = i
        floor_z[sel[better]] = zf[better]
        run_min[sel] = m_new
        if r.kind != "dry":
            dist_real[sel] = np.minimum(dist_real[sel], d)
    dem = run_min - k * np.log(run_sum)
    above = dem - floor_z
    w = np.clip((above - 8.0) / 90.0, 0.0, 1.0)
    noise = (
        55.0 * _smooth_noise(rng, grid.shape, 20).ravel()
        + 14.0 * _smooth_noise(rng, grid.shape, 7).ravel()
        + 3.0 * _smooth_noise(rng, grid.shape, 2.5).ravel()
    )
    dem = dem + w * noise + 0.4 * _smooth_noise(rng, grid.shape, 3).ravel()
    dem = dem.reshape(grid.shape)
    return Terrain(
        grid=grid,
        dem_m=dem,
        slope_deg=slope_deg_of(dem, grid.cell_m),
        floor_m=floor_z.reshape(grid.shape),
        river_dist_m=dist_real.reshape(grid.shape),
        river_idx=idx.reshape(grid.shape),
    )
