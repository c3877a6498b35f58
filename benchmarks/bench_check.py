"""Benchmark: the acceptance check (gis_town.analysis.check.run_rules), every rule, vs plain geopandas.

Workload (the issue's target: 100,000 plots in under 2 minutes, the default
``--size 0.1``): jittered quadrilateral plots that tile the land (shared
edges, as surveyed plots do) stored as CGCS2000 lon/lat, with planted
problems (0.5 % shifted copies that overlap a neighbour, bow-ties, slivers,
declared areas off by 20 %, blank fields), checked against context layers
(roads, rivers, ecological red line, permanent basic farmland, resettlement
households) and a 30 m DEM and NDVI raster, with every rule kind: the
``high_standard`` set plus ``homestead`` and ``ndvi`` from ``reclamation``.

Context: the demo town's layers and DEM/NDVI (``layers/demo_town.gpkg``) when
present (``--context demo``; the plots fill the villages' extent), else a
synthetic town of the same kind (``--context synthetic``).

The baseline is what a planner would write with geopandas:

- validity: ``gdf.is_valid`` / ``is_valid_reason``; duplicates: ``duplicated()``;
- areas: ``gdf.to_crs(GK).area`` (planar Gauss-Kruger, not ellipsoidal);
- overlaps: ``geopandas.sjoin(predicate="intersects")`` then
  ``geopandas.overlay(how="intersection")`` of the plots with themselves;
- slivers: area and a negative buffer; road access: ``sjoin_nearest``;
- red line, river buffer, basic farmland: ``overlay`` + ``groupby`` of areas;
- homestead: ``merge`` + ``distance``;
- slope and NDVI: slope from ``numpy.gradient`` and ``rasterstats.zonal_stats``
  (cell-centre rule) on a sample (``--raster-sample``, default 5,000 plots),
  its time scaled to all plots (the table says so). A third row gives the
  baseline's vector rules alone (without slope and NDVI).

Usage::

    python benchmarks/bench_check.py                # 100,000 plots (--size 0.1)
    python benchmarks/bench_check.py --size town    # 5,000 plots, quick
    python benchmarks/bench_check.py --size 0.1 --skip-baseline
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
import shapely
from affine import Affine

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import (
    Row,
    compare,
    measure,
    print_table,
    print_versions,
    scale_of,
    size_label,
)
from gis_town.analysis.check import (
    CheckContext,
    load_rule_set,
    parse_rule_set,
    run_rules,
    summarize,
)

GK = "EPSG:4544"
REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "layers" / "demo_town.gpkg"
CONTEXT_LAYERS = ("roads", "rivers", "redline", "basic_farmland", "resettlement")


# --------------------------------------------------------------------------- data


def make_plots(
    n: int, x0: float, y0: float, cell: float, rng: np.random.Generator
) -> gpd.GeoDataFrame:
    """``n`` jittered quadrilaterals tiling a square (GK metres) with planted problems."""
    side = int(np.ceil(np.sqrt(n)))
    cx, cy = np.meshgrid(x0 + cell * np.arange(side + 1), y0 + cell * np.arange(side + 1))
    jit = 0.25 * cell
    cx = cx + rng.uniform(-jit, jit, cx.shape)
    cy = cy + rng.uniform(-jit, jit, cy.shape)
    i, j = np.meshgrid(np.arange(side), np.arange(side))
    i, j = i.ravel()[:n], j.ravel()[:n]
    ring = np.stack(
        [
            np.stack([cx[a, b], cy[a, b]], -1)
            for a, b in ((j, i), (j, i + 1), (j + 1, i + 1), (j + 1, i), (j, i))
        ],
        axis=1,
    )
    geoms = shapely.polygons(ring)
    k = max(n // 200, 1)
    pick = rng.choice(n, size=4 * k, replace=False)
    ovl, bow, sliv, off = np.split(pick, 4)
    geoms[ovl] = shapely.transform(
        geoms[ovl], lambda xy: xy + [cell * 0.3, 0.0]
    )  # overlaps a neighbour
    c = shapely.get_coordinates(geoms[bow]).reshape(len(bow), 5, 2)
    c[:, [1, 2]] = c[:, [2, 1]]  # swap two corners: a bow-tie
    geoms[bow] = shapely.polygons(c)
    b = shapely.bounds(geoms[sliv])
    geoms[sliv] = shapely.box(b[:, 0], b[:, 1], b[:, 0] + 2.0, b[:, 3])
    ids = np.array([f"P{m:07d}" for m in range(n)], dtype=object)
    ids[rng.choice(n, size=k, replace=False)] = ids[
        rng.choice(n, size=k, replace=False)
    ]  # duplicates
    gdf = gpd.GeoDataFrame({"plot_id": ids}, geometry=geoms, crs=GK)
    area_mu = gdf.area.to_numpy() * 15.0 / 10000.0
    ridge = np.where(rng.random(n) < 0.5, rng.uniform(0.05, 0.18, n), np.nan)
    declared = area_mu * np.where(np.isnan(ridge), 1.0, 1.0 - ridge) * rng.normal(1.0, 0.01, n)
    declared[off] *= 1.2
    declared[rng.choice(n, size=k, replace=False)] = np.nan
    gdf["project"] = "2023年高标准农田项目"
    gdf["declared_area_mu"] = declared
    gdf["ridge_coef"] = ridge
    hh = np.full(n, None, dtype=object)
    sel = rng.choice(n, size=max(n // 100, 2), replace=False)
    hh[sel] = [f"H{m:06d}" for m in range(len(sel))]
    gdf["household_id"] = hh
    return gdf.to_crs("EPSG:4490"), sel


def synthetic_context(
    bounds, rng: np.random.Generator, plots_gk: gpd.GeoDataFrame, sel: np.ndarray, work: Path
) -> tuple[dict, Path, Path]:
    """Roads every ~400 m, three rivers, red-line blocks, basic farmland, households, DEM and NDVI."""
    minx, miny, maxx, maxy = bounds
    lines = []
    for y in np.arange(miny, maxy, 400.0):
        xs = np.linspace(minx - 100, maxx + 100, 60)
        lines.append(shapely.LineString(np.column_stack([xs, y + 30 * np.sin(xs / 300.0)])))
    for x in np.arange(minx, maxx, 1500.0):
        ys = np.linspace(miny - 100, maxy + 100, 60)
        lines.append(shapely.LineString(np.column_stack([x + 40 * np.sin(ys / 250.0), ys])))
    roads = gpd.GeoDataFrame(
        {"road_id": [f"R{i}" for i in range(len(lines))]}, geometry=lines, crs=GK
    )
    rivers = []
    for k in range(3):
        xs = np.linspace(minx - 200, maxx + 200, 400)
        y = miny + (k + 1) * (maxy - miny) / 4
        rivers.append(shapely.LineString(np.column_stack([xs, y + 150 * np.sin(xs / 700.0 + k)])))
    rivers = gpd.GeoDataFrame(
        {
            "segment_id": [f"S{k}" for k in range(3)],
            "river_name": "关川河",
            "chief": "张三",
            "chief_level": "村级",
        },
        geometry=rivers,
        crs=GK,
    )
    blocks = [
        shapely.box(x, y, x + 600, y + 400)
        for x, y in zip(rng.uniform(minx, maxx, 12), rng.uniform(miny, maxy, 12))
    ]
    redline = gpd.GeoDataFrame(
        {"zone_id": [f"RL{i}" for i in range(len(blocks))]}, geometry=blocks, crs=GK
    )
    w = (maxx - minx) / 6
    bf = [
        shapely.box(minx + i * w, miny - 50, minx + (i + 0.85) * w, maxy + 50).buffer(20)
        for i in range(6)
    ]
    basic = gpd.GeoDataFrame({"zone_id": [f"BF{i}" for i in range(6)]}, geometry=bf, crs=GK)
    pts = plots_gk.geometry.iloc[sel].representative_point().to_numpy()
    far = rng.random(len(sel)) < 0.1
    pts[far] = shapely.transform(pts[far], lambda xy: xy + 300.0)
    res = gpd.GeoDataFrame(
        {
            "household_id": plots_gk["household_id"].iloc[sel].to_numpy(),
            "village_id": "V1",
            "destination": "进城",
        },
        geometry=pts,
        crs=GK,
    )
    layers = {
        n: g.to_crs("EPSG:4490")
        for n, g in {
            "roads": roads,
            "rivers": rivers,
            "redline": redline,
            "basic_farmland": basic,
            "resettlement": res,
        }.items()
    }
    # DEM and NDVI, 30 m, with margin
    cell = 30.0
    left, top = minx - 600, maxy + 600
    nx, ny = int((maxx - minx + 1200) / cell) + 1, int((maxy - miny + 1200) / cell) + 1
    xx = (np.arange(nx) * cell)[None, :]
    yy = (np.arange(ny) * cell)[:, None]
    dem = 2000 + 120 * np.sin(xx / 900.0) * np.cos(yy / 700.0) + 60 * np.sin((xx + yy) / 400.0)
    ndvi = 0.45 + 0.2 * np.sin(xx / 500.0) * np.cos(yy / 300.0)
    tr = Affine(cell, 0, left, 0, -cell, top)
    paths = []
    for name, arr in (("dem", dem), ("ndvi", ndvi)):
        p = work / f"{name}.tif"
        with rasterio.open(
            p,
            "w",
            driver="GTiff",
            width=nx,
            height=ny,
            count=1,
            dtype="float32",
            crs=GK,
            transform=tr,
            nodata=-9999.0,
            tiled=True,
        ) as dst:
            dst.write(arr.astype("float32"), 1)
        paths.append(p)
    return layers, paths[0], paths[1]


def build(n: int, context: str, seed: int, work: Path, town_path: Path = DEMO):
    rng = np.random.default_rng(seed)
    if context == "demo":
        from gis_town.io.town import load_town

        town = load_town(town_path, layers=["villages", *CONTEXT_LAYERS])
        cfg = town.config
        vb = town.layer("villages").to_crs(GK).total_bounds
        cell = math.sqrt((vb[2] - vb[0]) * (vb[3] - vb[1]) / n)
        plots, sel = make_plots(n, vb[0], vb[1], cell, rng)
        layers = {k: v for k, v in town.layers.items() if k in CONTEXT_LAYERS}
        res = layers.get("resettlement")
        if res is not None and len(sel):  # link a few plots to the demo's households
            k = min(len(sel), len(res))
            plots.loc[plots.index[sel[:k]], "household_id"] = (
                res["household_id"].astype(str).to_numpy()[:k]
            )
        here = Path(town_path).parent
        dem = cfg.resolve(cfg.rasters.dem) if cfg.rasters.dem else here / "dem.tif"
        if cfg.rasters.ndvi:
            ndvi = cfg.resolve(cfg.rasters.ndvi[max(cfg.rasters.ndvi)])
        else:
            ndvi = here / "ndvi_2023.tif" if (here / "ndvi_2023.tif").exists() else None
        return plots, layers, dem, ndvi, f"demo town context, plots {cell:.0f} m"
    cell = 40.0
    side = math.ceil(math.sqrt(n))
    x0, y0 = 440_000.0, 3_930_000.0
    plots, sel = make_plots(n, x0, y0, cell, rng)
    layers, dem, ndvi = synthetic_context(
        (x0, y0, x0 + side * cell, y0 + side * cell), rng, plots.to_crs(GK), sel, work
    )
    return plots, layers, dem, ndvi, f"synthetic context, plots {cell:.0f} m"


def every_rule():
    hs = load_rule_set("high_standard")
    rc = load_rule_set("reclamation")
    rules = [r.model_dump() for r in hs.rules] + [
        r.model_dump() for r in rc.rules if r.kind in ("homestead", "ndvi")
    ]
    return parse_rule_set(rules, name="every_rule", source="high_standard + homestead + ndvi")


# --------------------------------------------------------------------------- workloads


def ours(plots, layers, dem, ndvi) -> dict:
    rs = every_rule()
    ctx = CheckContext(layers=layers, dem=dem, ndvi=ndvi)
    t = time.perf_counter()
    res = run_rules(plots, rs, context=ctx)
    summ = summarize(res)
    counts = res.groupby(["rule", "status"]).size().unstack(fill_value=0)
    return {
        "features": len(plots),
        "rules": len(rs.rules),
        "rows": len(res),
        "failed_plots": int((~summ["passed"]).sum()),
        "counts": counts.to_dict(),
        "t": time.perf_counter() - t,
    }


def _slope_deg(dem_path: Path, work: Path) -> Path:
    with rasterio.open(dem_path) as src:
        z = src.read(1, masked=True).filled(np.nan).astype("float64")
        prof = src.profile
        dx, dy = src.res
    gy, gx = np.gradient(z, dy, dx)
    slope = np.degrees(np.arctan(np.hypot(gx, gy))).astype("float32")
    out = work / "baseline_slope.tif"
    prof.update(dtype="float32", nodata=-9999.0)
    with rasterio.open(out, "w", **prof) as dst:
        dst.write(np.where(np.isfinite(slope), slope, -9999.0).astype("float32"), 1)
    return out


def baseline(plots, layers, dem, ndvi, sample: int, work: Path) -> dict:
    """What a planner writes with geopandas (see the module docstring)."""
    from rasterstats import zonal_stats

    t = {}
    t0 = time.perf_counter()
    valid = plots.is_valid
    plots.geometry[~valid].is_valid_reason()
    plots["plot_id"].duplicated(keep=False)
    t["validity+dup"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    g = plots[valid].to_crs(GK)
    g["area_m2"] = g.area
    t["areas"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    left = g[["plot_id", "geometry"]].reset_index(names="a")
    right = g[["geometry"]].reset_index(names="b")
    pairs = gpd.sjoin(left, right, predicate="intersects")
    pairs = pairs[pairs["a"] < pairs["b"]]
    ov = gpd.overlay(left, right, how="intersection", keep_geom_type=True)
    ov = ov[ov["a"] < ov["b"]]
    ov["area"] = ov.area
    ov = ov[ov["area"] > 1.0]
    t["overlaps"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    _ = (g["area_m2"] < 100) | g.buffer(-1.5).is_empty
    t["slivers"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    roads = layers["roads"].to_crs(GK)
    gpd.sjoin_nearest(g[["geometry"]], roads[["geometry"]], distance_col="d")
    t["roads"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    rivers = layers["rivers"].to_crs(GK)
    buf = gpd.GeoDataFrame(geometry=[rivers.buffer(30).union_all()], crs=GK)
    for zones in (layers["redline"].to_crs(GK), buf, layers["basic_farmland"].to_crs(GK)):
        z = gpd.GeoDataFrame(geometry=[zones.union_all()], crs=GK)
        pieces = gpd.overlay(g[["plot_id", "geometry"]], z, how="intersection")
        pieces.assign(a=pieces.area).groupby("plot_id")["a"].sum()
    t["zones"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    res = layers["resettlement"].to_crs(GK)
    m = g[g["household_id"].notna()].merge(
        res[["household_id", "geometry"]], on="household_id", suffixes=("", "_pt")
    )
    gpd.GeoSeries(m["geometry"], crs=GK).distance(gpd.GeoSeries(m["geometry_pt"], crs=GK))
    t["homestead"] = time.perf_counter() - t0

    rng = np.random.default_rng(3)
    k = min(sample, len(g)) if sample else len(g)
    sub = g.iloc[np.sort(rng.choice(len(g), size=k, replace=False))]
    with rasterio.open(dem) as src:
        dem_crs = src.crs
    sub_r = sub.to_crs(dem_crs)
    t0 = time.perf_counter()
    slope_tif = _slope_deg(Path(dem), work)
    t_slope_raster = time.perf_counter() - t0
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        zs = zonal_stats(list(sub_r.geometry.values), str(slope_tif), stats=["mean", "count"])
        if ndvi is not None:
            with rasterio.open(ndvi) as src:
                sub_n = sub.to_crs(src.crs)
            zonal_stats(list(sub_n.geometry.values), str(ndvi), stats=["mean"])
    t_rs = time.perf_counter() - t0
    t["slope+ndvi (rasterstats, scaled)"] = t_slope_raster + t_rs * len(g) / k
    missing = sum(1 for s in zs if s["mean"] is None)
    return {
        "features": len(plots),
        "steps": t,
        "wall_scaled": sum(t.values()),
        "sample": k,
        "rasterstats_no_value": missing / k,
    }


def main(
    size: str = "0.1",
    *,
    context: str = "auto",
    skip_baseline: bool = False,
    raster_sample: int = 5000,
    seed: int = 6,
    town: Path = DEMO,
):
    """Rows of the benchmark table for ``size`` (a fraction of the 1,000,000-parcel county)."""
    n = int(round(1_000_000 * scale_of(size)))
    if context == "auto":
        context = "demo" if Path(town).exists() else "synthetic"
    tmp = tempfile.TemporaryDirectory(prefix="bench_check_")
    work = Path(tmp.name)
    t = time.perf_counter()
    plots, layers, dem, ndvi, desc = build(n, context, seed, work, town)
    print(
        f"data: {len(plots):,} plots ({desc}), built in {time.perf_counter() - t:.1f} s", flush=True
    )
    m_ours = measure(ours, plots, layers, dem, ndvi, features=len(plots))
    v = m_ours.value
    print(
        f"ours: {v['rules']} rules, {v['rows']:,} result rows, {v['failed_plots']:,} plots did not pass",
        flush=True,
    )
    counts = pd.DataFrame(v["counts"]).fillna(0).astype(int)
    print(counts.to_string(), flush=True)
    m_base = None
    note_b = ""
    if not skip_baseline:
        m_base = measure(
            baseline, plots, layers, dem, ndvi, raster_sample, work, features=len(plots)
        )
        b = m_base.value
        m_base.wall_s = b["wall_scaled"]  # the raster part is scaled from its sample
        print(
            "baseline steps (s): " + ", ".join(f"{k} {s:.1f}" for k, s in b["steps"].items()),
            flush=True,
        )
        note_b = (
            f"geopandas sjoin/overlay/to_crs().area; rasterstats on {b['sample']:,} plots scaled; "
            f"{b['rasterstats_no_value']:.1%} of them got no value"
        )
    rows = compare(
        "acceptance check, every rule",
        size,
        m_ours,
        m_base,
        ours_name="gis_town run_rules",
        baseline_name="plain geopandas",
        target_s=120.0,
        note=f"{v['rules']} rules, {context} context",
        baseline_note=note_b,
    )
    if (
        m_base is not None
    ):  # the vector part of the baseline alone (no rasterstats), for a fair view
        vec = sum(v for k, v in m_base.value["steps"].items() if "rasterstats" not in k)
        rows.append(
            Row(
                "acceptance check, every rule",
                size_label(size),
                "plain geopandas, vector rules only",
                vec,
                None,
                len(plots),
                None,
                "",
                None,
                "without slope and NDVI",
            )
        )
    tmp.cleanup()
    return rows


def cli(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--size",
        default="0.1",
        help="town (5,000 plots), county (1,000,000) or a fraction of the county (default 0.1: 100,000 plots)",
    )
    ap.add_argument("--context", choices=["auto", "demo", "synthetic"], default="auto")
    ap.add_argument("--skip-baseline", action="store_true")
    ap.add_argument(
        "--raster-sample", type=int, default=5000, help="plots run through rasterstats (0: all)"
    )
    ap.add_argument("--seed", type=int, default=6)
    ap.add_argument(
        "--town",
        type=Path,
        default=DEMO,
        help="demo town GeoPackage (default layers/demo_town.gpkg)",
    )
    ns = ap.parse_args(argv)
    rows = main(
        ns.size,
        context=ns.context,
        skip_baseline=ns.skip_baseline,
        raster_sample=ns.raster_sample,
        seed=ns.seed,
        town=ns.town,
    )
    print_versions()
    print_table(rows, title=f"acceptance check ({size_label(ns.size)})")
    return 0


if __name__ == "__main__":
    sys.exit(cli())
