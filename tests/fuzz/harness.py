"""Fuzz towns and the subprocess runner.

A fuzz town is the bad-input suite's tiny valid town with fuzz geometries
added to every polygon layer (farmland, villages, zones, afforestation,
reclamation, and the check's plots) and line layer (rivers, roads), each in
a 40 m cell of the town's 2 x 1 km. Every command runs in a subprocess: a
native crash (a signal) fails the test instead of killing pytest.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pyogrio.raw
import shapely
from pyproj import Transformer

from tests.bad_inputs.factory import CRS_GK, X0, Y0, layers, make_town
from tests.fuzz.sources import CELL, Case

REPO = Path(__file__).resolve().parents[2]
POLYGON_LAYERS = ("farmland", "villages", "zones", "afforestation", "reclamation")
LINE_LAYERS = ("rivers", "roads")
FUZZ_LAYERS = POLYGON_LAYERS + LINE_LAYERS
_COLS, _ROWS = 48, 24  # cells of CELL metres over the town's 2000 x 1000 m
_TO_GEO = Transformer.from_crs(CRS_GK, "EPSG:4490", always_xy=True)

#: command -> argv after the program name ({town}, {plots}, {out} filled in) and what it must write
COMMANDS: dict[str, tuple[list[str], list[str]]] = {
    "areas": (["areas", "{town}", "--out", "{out}/areas.csv"], ["areas.csv"]),
    "patrol": (["patrol", "{town}", "--as-of", "2023-06-30", "--out", "{out}"], ["patrol_segments.csv"]),
    "risk": (["risk", "{town}", "--out", "{out}"], ["risk.csv"]),
    "progress": (["progress", "{town}", "--as-of", "2023-06-30", "--out", "{out}"], ["progress.xlsx"]),
    "upload": (["upload", "{town}", "--as-of", "2023-12-31", "--out", "{out}"], ["upload_rejects.csv"]),
    "check_high_standard": (["check", "{plots}:plots", "--town", "{town}", "--rules", "high_standard", "--out", "{out}"],
                            ["check_results.csv", "check_summary.csv", "check_report.html"]),
    "check_reclamation": (["check", "{plots}:reclamation_plots", "--town", "{town}", "--rules", "reclamation",
                           "--out", "{out}"], ["check_results.csv", "check_summary.csv", "check_report.html"]),
    "map_web": (["map", "{town}", "--kind", "layout", "--out", "{out}/layout.html"], ["layout.html"]),
    "map_web_progress": (["map", "{town}", "--kind", "progress", "--as-of", "2023-06-30", "--out", "{out}/progress.html"],
                         ["progress.html"]),
    "map_print": (["map", "{town}", "--kind", "layout", "--out", "{out}/layout.png", "--dpi", "60"], ["layout.png"]),
    "info": (["info", "{town}"], []),
    "export_kml": (["export", "{town}", "--out", "{out}"], ["farmland.kml"]),
}


#: Layers given no point geometries: the afforestation layer accepts points *and* polygons, and
#: a progress map of both ends in an internal error (gis_town.maps.spec.geometry_kind: "mixed
#: geometry families"); tested on its own (test_mixed_afforestation_progress_map).
POINTLESS = ("afforestation",)


def _has_points(g) -> bool:
    if g is None:
        return False
    todo = [g]
    while todo:
        h = todo.pop()
        t = shapely.get_type_id(h)
        if t in (0, 4):
            return True
        if t == 7:
            todo.extend(shapely.get_parts(h))
    return False


def cell_origin(k: int) -> tuple[float, float]:
    """GK origin (m) of fuzz cell ``k`` (cells wrap round the town)."""
    k %= _COLS * _ROWS
    return X0 + (k % _COLS) * (2000.0 / _COLS), Y0 + (k // _COLS) * (1000.0 / _ROWS)


def place(g, k: int):
    """Fit a geometry into fuzz cell ``k`` (scaled down when larger), in EPSG:4490."""
    if g is None or g.is_empty:
        return g
    xy = shapely.get_coordinates(g)
    fin = xy[np.isfinite(xy).all(axis=1)]
    if len(fin) == 0:
        return g
    minx, miny = fin.min(axis=0)
    size = float((fin.max(axis=0) - fin.min(axis=0)).max())
    s = CELL / size if size > CELL else 1.0
    ox, oy = cell_origin(k)

    def fn(c: np.ndarray) -> np.ndarray:
        x = (c[:, 0] - minx) * s + ox
        y = (c[:, 1] - miny) * s + oy
        lon, lat = _TO_GEO.transform(x, y)
        return np.column_stack([lon, lat])

    return shapely.transform(g, fn)


_NUM = re.compile(r"-?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?")


def _place_wkt(text: str, k: int) -> str:
    """Place a (2-D) curve's WKT text into cell ``k``: its numbers rewritten pairwise."""
    nums = np.array([float(v) for v in _NUM.findall(text)])
    if len(nums) == 0 or len(nums) % 2:
        return text
    xy = nums.reshape(-1, 2)
    lo = xy.min(axis=0)
    size = float((xy.max(axis=0) - lo).max())
    s = CELL / size if size > CELL else 1.0
    ox, oy = cell_origin(k)
    lon, lat = _TO_GEO.transform((xy[:, 0] - lo[0]) * s + ox, (xy[:, 1] - lo[1]) * s + oy)
    flat = iter(np.column_stack([lon, lat]).ravel().tolist())
    return _NUM.sub(lambda _m: repr(next(flat)), text)


def _curve_wkb(texts: list[str], folder: Path) -> list[bytes]:
    """ISO WKB of curve WKT, made by GDAL (the CSV driver reads a WKT column)."""
    csv = folder / "curves.csv"
    pd.DataFrame({"WKT": texts, "k": range(len(texts))}).to_csv(csv, index=False)
    _meta, table = pyogrio.raw.read_arrow(csv)
    col = table.column(table.num_columns - 1).to_numpy(zero_copy_only=False)
    csv.unlink()
    return list(col)


@dataclass
class FuzzTown:
    """A written fuzz town: the GeoPackage, the check's plots file, and which case is which feature."""

    town: Path
    plots: Path
    names: dict[str, str]  # feature id -> case name


def _fuzz_rows(name: str, base: gpd.GeoDataFrame, geoms: list, ids: list[str]) -> gpd.GeoDataFrame:
    from gis_town.schema import LAYERS

    tmpl = base.iloc[[0] * len(geoms)].reset_index(drop=True)
    tmpl[LAYERS[name].id_field if name in LAYERS else "plot_id"] = ids
    return gpd.GeoDataFrame(tmpl.drop(columns=base.geometry.name), geometry=gpd.GeoSeries(geoms), crs=base.crs)


def _write(gdf: gpd.GeoDataFrame, path: Path, layer: str, curves: list[bytes], curve_ids: list[str], id_field: str) -> None:
    gdf.to_file(path, layer=layer, engine="pyogrio", geometry_type="Unknown")
    if curves:
        cols = [c for c in gdf.columns if c != gdf.geometry.name and gdf[c].dtype == object]
        tmpl = gdf.iloc[0]
        data = [np.array(curve_ids if c == id_field else [tmpl[c]] * len(curves), dtype=object) for c in cols]
        pyogrio.raw.write(path, geometry=np.array(curves, dtype=object), field_data=data, fields=cols, layer=layer,
                          driver="GPKG", geometry_type="Unknown", crs="EPSG:4490", append=True)


def build_town(folder: Path, cases: list[Case], *, start: int = 0,
               layers_only: tuple[str, ...] | None = None) -> FuzzTown:
    """Write a fuzz town with every case in every fuzz layer (or ``layers_only``) and as check plots."""
    from gis_town.schema import LAYERS

    folder.mkdir(parents=True, exist_ok=True)
    base = layers()
    shapes = [c for c in cases if c.geom is not None]
    curves = [c for c in cases if c.geom is None]
    placed = [place(c.geom, start + k) for k, c in enumerate(shapes)]
    curve_wkb = _curve_wkb([_place_wkt(c.curve_wkt, start + len(shapes) + k) for k, c in enumerate(curves)], folder) if curves else []
    names = {}
    overrides: dict[str, gpd.GeoDataFrame] = {}
    for name in FUZZ_LAYERS:
        ids = [f"F{k:05d}" for k in range(len(shapes))]
        names.update({i: c.name for i, c in zip(ids, shapes)})
        if layers_only is not None:
            keep = list(range(len(placed))) if name in layers_only else []
        else:
            keep = [k for k, g in enumerate(placed) if name not in POINTLESS or not _has_points(g)]
        fuzz = _fuzz_rows(name, base[name], [placed[k] for k in keep], [ids[k] for k in keep])
        overrides[name] = pd.concat([base[name], fuzz], ignore_index=True)
    gpkg = make_town(folder, overrides={n: None for n in FUZZ_LAYERS})
    curve_ids = [f"C{k:05d}" for k in range(len(curves))]
    names.update({i: c.name for i, c in zip(curve_ids, curves)})
    for name in FUZZ_LAYERS:
        _write(overrides[name], gpkg, name, curve_wkb, curve_ids, LAYERS[name].id_field)
    _write_construction(gpkg, placed, curve_wkb, curve_ids)
    plots = folder / "plots.gpkg"
    farm = overrides["farmland"].rename(columns={"parcel_id": "plot_id"})
    _write(farm, plots, "plots", curve_wkb, curve_ids, "plot_id")
    _write(overrides["reclamation"], plots, "reclamation_plots", curve_wkb, curve_ids, "plot_id")
    return FuzzTown(gpkg, plots, names)


def _write_construction(gpkg: Path, placed: list, curves: list[bytes], curve_ids: list[str]) -> None:
    """High-standard sections for progress and upload: one accepted section over the whole town
    (no acceptance plots: its date counts, so every fuzz parcel reaches the upload's writers) and
    every fuzz geometry as a section of its own."""
    stages = {"project": "P", "village_id": "V1", "planned": "2023-01-01", "started": "2023-02-01",
              "built": "2023-03-01", "accepted": "2023-04-01", "uploaded": None}
    whole = shapely.box(X0, Y0, X0 + 2000.0, Y0 + 1000.0)
    lon, lat = _TO_GEO.transform(*np.asarray(whole.exterior.coords).T)
    sections = gpd.GeoDataFrame(
        {"section_id": ["S-ALL", *(f"F{k:05d}" for k in range(len(placed)))], **stages},
        geometry=[shapely.Polygon(np.column_stack([lon, lat])), *placed], crs="EPSG:4490",
    )
    sections = sections.astype({c: object for c in sections.columns if c != "geometry"})  # _write's text columns
    _write(sections, gpkg, "high_standard_sections", curves, curve_ids, "section_id")


@dataclass
class Run:
    """One finished command."""

    command: str
    argv: list[str]
    returncode: int
    stdout: str
    stderr: str
    out: Path


#: address-space limit of a fuzz run: a GEOS blow-up fails fast instead of waking the OOM killer
MEMORY_LIMIT = 6 * 1024**3


def _limit_memory() -> None:  # pragma: no cover - runs in the child
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def run_command(command: str, town: FuzzTown, out: Path, *, timeout: float = 300) -> Run:
    """Run one gis-town command in a subprocess."""
    argv, _ = COMMANDS[command]
    args = [a.format(town=town.town, plots=town.plots, out=out) for a in argv]
    env = {**os.environ, "PYTHONFAULTHANDLER": "1", "MPLBACKEND": "Agg"}
    proc = subprocess.run([sys.executable, "-m", "gis_town", *args], capture_output=True, text=True,
                          cwd=REPO, timeout=timeout, env=env, preexec_fn=_limit_memory if os.name == "posix" else None)
    return Run(command, args, proc.returncode, proc.stdout, proc.stderr, out)


def assert_survived(run: Run) -> None:
    """Exit 0, 1 or 2, never a signal or exit 3, no traceback; reports written on 0 and 1."""
    tail = run.stderr[-3000:]
    assert run.returncode >= 0, f"{run.command} killed by signal {-run.returncode}\n{tail}"
    assert run.returncode in (0, 1, 2), f"{run.command} exit {run.returncode}\n{tail}"
    assert "Traceback" not in run.stderr, f"{run.command}: traceback\n{tail}"
    if run.returncode == 2 and run.command == "map_print" and ("font" in tail.lower() or "字体" in tail):
        return  # print maps need a CJK font: shipped by the package soon (exit 2 meanwhile)
    if run.returncode in (0, 1):
        for name in COMMANDS[run.command][1]:
            assert (run.out / name).exists(), f"{run.command}: {name} not written\n{tail}"
