"""Benchmark: map sizes, bytes per feature, build time and open time in headless Chromium.

Workloads
---------
- **layout map** of the demo town (``layers/demo_town.gpkg``; a synthetic town
  from :mod:`county` when it is absent), offline HTML:
  ``gis_town``: :func:`gis_town.maps.layout_map` + :func:`~gis_town.maps.save_map`
  (compact integer-delta coordinates at 6 decimals, only the shown fields,
  canvas renderer, Leaflet inline). **baseline**: what a planner writes with
  folium: one ``folium.GeoJson`` per layer with a ``GeoJsonTooltip`` of the
  same fields, a ``LayerControl``, ``Map.save``.
- **bytes per parcel**: the farmland layer alone, ours against folium's default
  ``GeoJson`` of the same parcels and fields (the issue quotes about 440 bytes
  a parcel; target under 150).
- **open time** in headless Chromium (Debian's ``/usr/bin/chromium``, network
  blocked): from navigation to the first frame after ``load``, ours against
  the folium page with its Leaflet inlined too (its jQuery/Bootstrap/font
  links dropped, as they would not load offline). Target: the layout map
  under 10 MB and open in under 3 s.
- **every map kind** (layout, patrol, risk, progress, check), offline: size,
  features, bytes per feature, build and open time.

- **vector tiles against the page with the parcels in it** (county sizes
  only, ``--size 0.2`` = 200,000 parcels, ``--size county`` = 1,000,000): the
  offline layout map as today (every layer in the page, compact encoding) and
  the same map with its parcel layers as vector tiles
  (:mod:`gis_town.maps.tiles`, default threshold): build + save time, bytes on
  disk (page, archive, packed pieces), time to first paint (navigation to the
  first frame after ``load``), time to switch the farmland layer on with the
  layer control until it is drawn (tiles: every tile in view loaded and
  painted), and the frame times while the map is dragged 400 px with the
  farmland on (95th percentile and worst; the goal is under 50 ms), and the
  worst frame of a 960 px drag after it (beyond the margin the page's vector
  canvas is drawn with, so that drag ends in a redraw). What the
  first view drew is noted: parcels, or at the low zooms of a large layer the
  overview's dissolved shapes and the parcels they stand for
  (:mod:`gis_town.maps.overview`).

At county sizes (``--size county`` or a fraction) the parcels come from
:mod:`county`; the folium baseline runs on a sample of at most 20,000
parcels and is scaled per parcel (said in the note), and Chromium opens
pages of at most 300,000 features.

Run::

    python benchmarks/bench_maps.py --size town
    python benchmarks/bench_maps.py --size 0.1
    GIS_TOWN_DEMO=path/to/demo_town.gpkg python benchmarks/bench_maps.py   # another town
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import Row, bench_cli, compare, measure, size_label

REPO = Path(__file__).resolve().parents[1]
DEMO = Path(os.environ.get("GIS_TOWN_DEMO", REPO / "layers" / "demo_town.gpkg"))
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
FARM_FIELDS = ["parcel_id", "village_id", "status", "land_use", "crop", "area_mu", "project"]
BASELINE_SAMPLE = 20_000
MAX_OPEN_FEATURES = 300_000
DETAILS: list[dict] = []


# --------------------------------------------------------------------------- data


def _town_source(size: str) -> tuple[str, str]:
    """(town path, description): the demo town at town size when it exists, else the synthetic county."""
    if size == "town" and DEMO.exists():
        return str(DEMO), "demo town"
    from county import make_county

    c = make_county(size, parts=("vector",))
    return str(c.town_dir("gpkg")), f"synthetic {size_label(size)}"


def _load(town_path: str, kinds=("layout",)):
    from gis_town.cli.map import KIND_LAYERS
    from gis_town.io import load_town

    layers = sorted({name for k in kinds for name in KIND_LAYERS[k]})
    return load_town(town_path, layers=layers)


# --------------------------------------------------------------------------- workloads


def ours_layout(town_path: str, out: str) -> dict:
    """gis_town: load the town, build the offline layout map, save it."""
    from gis_town.maps import layout_map, save_map

    town = _load(town_path)
    m = layout_map(town, offline=True)  # no html_path: every layer in the page, as before tiles
    save_map(m, out)
    layers = [c for c in m._children.values() if getattr(c, "n_features", None) is not None]
    farm = next((c for c in layers if c.plain_name.startswith("耕地")), None)
    return {
        "features": sum(c.n_features for c in layers),
        "bytes": Path(out).stat().st_size,
        "farm_bytes": farm.n_bytes if farm else 0,
        "farm_n": farm.n_features if farm else 0,
        "layers": [(c.plain_name, c.n_features, c.n_bytes) for c in layers],
    }


def _folium_layer(gdf, name: str, fields: list[str], show: bool = True):
    import folium

    fields = [f for f in fields if f in gdf.columns]
    data = gdf[[*fields, gdf.geometry.name]].to_crs(4326)
    for c in fields:  # folium's GeoJson needs JSON-serialisable values
        if str(data[c].dtype).startswith(("datetime", "date")):
            data[c] = data[c].astype(str)
    tip = folium.GeoJsonTooltip(fields=fields) if fields else None
    return folium.GeoJson(data, name=name, tooltip=tip, show=show)


def baseline_layout(town_path: str, out: str, sample: int | None = None) -> dict:
    """folium as a planner writes it: one GeoJson (with tooltip) per layer, LayerControl, save."""
    import folium

    from gis_town.maps.layout import layout_specs

    town = _load(town_path)
    specs = layout_specs(town)
    m = folium.Map(tiles="OpenStreetMap")
    n = 0
    for s in specs:
        gdf = s.gdf
        if sample and len(gdf) > sample:
            gdf = gdf.iloc[:sample]
        _folium_layer(gdf, s.name, list(s.fields), show=s.show).add_to(m)
        n += len(gdf)
    folium.LayerControl().add_to(m)
    m.save(out)
    return {"features": n, "bytes": Path(out).stat().st_size}


def farm_bytes_folium(town_path: str, sample: int) -> dict:
    """folium's default GeoJson of the farmland parcels with the same fields: bytes per parcel."""
    import folium

    from gis_town.maps.layout import farmland_with_area, with_village_names

    town = _load(town_path)
    farm = with_village_names(farmland_with_area(town.layer("farmland")), town)
    part = farm.iloc[:sample]
    empty = len(folium.Map(tiles=None).get_root().render().encode("utf-8"))
    m = folium.Map(tiles=None)
    folium.GeoJson(part[[c for c in FARM_FIELDS if c in part.columns] + ["geometry"]]).add_to(m)
    size = len(m.get_root().render().encode("utf-8")) - empty
    return {"features": len(part), "bytes_per_parcel": size / max(len(part), 1)}


def ours_kind(town_path: str, kind: str, out: str) -> dict:
    from gis_town.maps import make_map, save_map

    town = _load(town_path, kinds=(kind,))
    m = make_map(town, kind, offline=True)
    save_map(m, out)
    layers = [c for c in m._children.values() if getattr(c, "n_features", None) is not None]
    return {
        "features": sum(c.n_features for c in layers),
        "bytes": Path(out).stat().st_size,
        "data_bytes": sum(c.n_bytes for c in layers),
    }


def _inline_baseline(page: str) -> str:
    """The folium page with Leaflet inlined and its other CDN files dropped (they would not load offline)."""
    from gis_town.maps.offline import asset_text

    page = re.sub(
        r'<script src="[^"]*leaflet@[^"]*/leaflet\.js"></script>',
        lambda m: f"<script>{asset_text('leaflet/leaflet.js')}</script>",
        page,
    )
    page = re.sub(
        r'<link rel="stylesheet" href="[^"]*leaflet@[^"]*/leaflet\.css"/>',
        lambda m: f"<style>{asset_text('leaflet/leaflet.css')}</style>",
        page,
    )
    page = re.sub(r'<script src="https?://[^"]*"></script>', "", page)
    return re.sub(r'<link rel="stylesheet" href="https?://[^"]*"/>', "", page)


def open_times(paths: list[str], repeat: int = 3) -> list[float | None]:
    """Median seconds from navigation to the first frame after ``load``, network blocked."""
    if not CHROMIUM.exists():
        return [None] * len(paths)
    from playwright.sync_api import sync_playwright

    out: list[float | None] = []
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        for path in paths:
            times = []
            for _ in range(repeat):
                page = b.new_page(viewport={"width": 1400, "height": 900})
                page.route(
                    "**/*",
                    lambda r: (
                        r.continue_() if r.request.url.startswith(("file:", "data:")) else r.abort()
                    ),
                )
                t0 = time.perf_counter()
                page.goto(Path(path).resolve().as_uri(), wait_until="load", timeout=600_000)
                page.evaluate(
                    "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))"
                )
                times.append(time.perf_counter() - t0)
                page.close()
            times.sort()
            out.append(times[len(times) // 2])
        b.close()
    return out


# --------------------------------------------------------------------------- vector tiles

FARM_LAYER = "耕地 farmland (by land use 地类)"


def ours_layout_tiled(town_path: str, out: str) -> dict:
    """gis_town: the offline layout map with its parcel layers as vector tiles beside the page."""
    from gis_town.maps import layout_map, save_map

    town = _load(town_path)
    folder = Path(out).parent / f"{Path(out).stem}_tiles"
    m = layout_map(town, offline=True, html_path=out, tiles_out=folder)  # every parcel layer
    save_map(m, out)
    sets = [c.tileset for c in m._children.values() if getattr(c, "tileset", None) is not None]
    layers = [c for c in m._children.values() if getattr(c, "n_features", None) is not None]
    return {
        "features": sum(c.n_features for c in layers),
        "bytes": Path(out).stat().st_size,
        "archive_bytes": sum(t.archive_bytes for t in sets),
        "packed_bytes": sum(t.packed_bytes for t in sets),
        "pieces": sum(t.n_chunks for t in sets),
        "overview_bytes": sum(t.overview_bytes for t in sets),
        "overview_packed": sum(t.overview_packed_bytes for t in sets),
        "overview_pieces": sum(v["n_chunks"] for t in sets for v in t.overview),
        "tiled": [(t.key, t.n_features, t.min_zoom, t.max_zoom, t.parcel_zoom) for t in sets],
    }


def _drawn_note(drawn) -> str:
    """What the first view drew: parcels, or overview shapes and the parcels they stand for."""
    if not isinstance(drawn, dict):
        return f"{drawn:,} parcels drawn"
    if drawn["overview"]:
        return (
            f"first view: {drawn['overview']:,} overview shapes for {drawn['overviewParcels']:,} "
            f"parcels, {drawn['features']:,} parcels drawn alone"
        )
    return f"{drawn['features']:,} parcels drawn at the first view"


#: Click the layer's box in the layer control; resolve when it is drawn (ms).
_TOGGLE_JS = """async ([name, tiled]) => {
  const frames = () => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
  const m = GisTown.map;
  const lyr = tiled ? GisTown.tiledLayers[name] : GisTown.layers[name];
  const label = [...document.querySelectorAll('.leaflet-control-layers-overlays label')]
    .find(l => l.textContent.trim() === name);
  const t0 = performance.now();
  label.querySelector('input').click();
  if (tiled) {
    await new Promise(r => { if (!lyr.isLoading()) { setTimeout(r, 50); } lyr.once('load', r); });
  }
  await frames();
  const ms = performance.now() - t0;
  const drawn = tiled ? GisTown.tiledDrawn(lyr)
    : lyr.getLayers().filter(l => l._gi !== undefined && l._parts && l._parts.length).length;
  return [ms, m.hasLayer(lyr), drawn];
}"""

_FRAMES_START_JS = """() => {
  window.__frames = []; window.__stop = false; let last = performance.now();
  const f = (t) => { window.__frames.push(t - last); last = t; if (!window.__stop) requestAnimationFrame(f); };
  requestAnimationFrame(f);
}"""


def _drag_frames(page, steps: int = 25) -> tuple[float, float]:
    """Frame times (ms: 95th percentile, worst) while the map is dragged and settles.

    ``steps`` moves of (16, 6) px: 25 is a drag of 400 px (inside the margin the
    page's vector canvas is drawn with), 60 one of 960 px (beyond it: redrawn).
    """
    box = page.locator(".leaflet-container").first.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.evaluate(_FRAMES_START_JS)
    if steps > 25:  # a long drag starts from the right, so the view stays on the county
        x = box["x"] + box["width"] - 10
    page.mouse.move(x, y)
    page.mouse.down()
    for k in range(1, steps + 1):
        page.mouse.move(x - 16 * k, y - 6 * k * 25 / steps)
        page.wait_for_timeout(16)
    page.mouse.up()
    page.wait_for_timeout(1500)
    frames = sorted(page.evaluate("() => { window.__stop = true; return window.__frames; }"))
    if not frames:
        return float("nan"), float("nan")
    return frames[min(len(frames) - 1, int(0.95 * len(frames)))], frames[-1]


def paint_toggle_pan(path: str, *, tiled: bool, repeat: int = 3) -> dict:
    """Median first paint (s), farmland toggle (s) and drag frame times (ms) in Chromium, network blocked."""
    from playwright.sync_api import sync_playwright

    paints, toggles, p95s, worsts, longs, drawn = [], [], [], [], [], 0
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        for _ in range(repeat):
            page = b.new_page(viewport={"width": 1400, "height": 900})
            page.route(
                "**/*",
                lambda r: (
                    r.continue_() if r.request.url.startswith(("file:", "data:")) else r.abort()
                ),
            )
            t0 = time.perf_counter()
            page.goto(Path(path).resolve().as_uri(), wait_until="load", timeout=900_000)
            page.evaluate(
                "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))"
            )
            paints.append(time.perf_counter() - t0)
            ms, shown, drawn = page.evaluate(_TOGGLE_JS, [FARM_LAYER, tiled])
            empty = (drawn["features"] + drawn["overview"] == 0) if tiled else not drawn
            if not shown or empty:
                raise RuntimeError(f"farmland not drawn after the toggle ({path})")
            toggles.append(ms / 1000)
            p95, worst = _drag_frames(page)
            p95s.append(p95)
            worsts.append(worst)
            longs.append(_drag_frames(page, steps=60)[1])
            page.close()
        b.close()

    def med(v):
        v = sorted(v)
        return v[len(v) // 2]

    return {
        "paint_s": med(paints),
        "toggle_s": med(toggles),
        "frame_p95_ms": med(p95s),
        "frame_max_ms": med(worsts),
        "long_drag_max_ms": med(longs),
        "drawn": drawn,
    }


def _folder_bytes(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) if folder.exists() else 0


def tiled_rows(size: str, town_path: str, what: str, tmp: Path, page_out: Path, page) -> list[Row]:
    """The GeoJSON-in-page layout map against the tiled one: build, bytes, paint, toggle, pan."""
    out = tmp / "layout_tiled.html"
    tl = measure(ours_layout_tiled, town_path, str(out))
    folder = out.parent / f"{out.stem}_tiles"
    on_disk = tl.value["bytes"] + _folder_bytes(folder)
    n_farm = next((n for k, n, *_ in tl.value["tiled"] if "farmland" in k), 0)
    zooms = ", ".join(
        f"{k} z{lo}-{hi}" + (f" (parcels from z{pz}, overview below)" if pz > lo else "")
        for k, _, lo, hi, pz in tl.value["tiled"]
    )
    rows = [
        _row(
            "county map: build + save",
            size,
            "page (parcels in HTML)",
            page.wall_s,
            page.features,
            peak=page.peak_rss_mb,
            ratio=1.0,
            note=f"{what}; {page.value['bytes'] / 1e6:.1f} MB on disk",
        ),
        _row(
            "county map: build + save",
            size,
            "vector tiles",
            tl.wall_s,
            tl.features,
            peak=tl.peak_rss_mb,
            ratio=page.wall_s / tl.wall_s,
            note=f"{on_disk / 1e6:.1f} MB on disk: page {tl.value['bytes'] / 1e6:.2f} MB, archive "
            f"{tl.value['archive_bytes'] / 1e6:.1f} MB, {tl.value['pieces']} pieces "
            f"{tl.value['packed_bytes'] / 1e6:.1f} MB, overview archives "
            f"{tl.value['overview_bytes'] / 1e6:.1f} MB in {tl.value['overview_pieces']} pieces "
            f"{tl.value['overview_packed'] / 1e6:.1f} MB; {zooms}",
        ),
    ]
    if not CHROMIUM.exists():
        return rows
    results = {}
    for name, path, tiled in (("page", page_out, False), ("tiles", out, True)):
        try:
            results[name] = measure(paint_toggle_pan, str(path), tiled=tiled, isolate=False).value
        except Exception as exc:  # a page too big for the browser is a result too
            results[name] = {"error": str(exc).splitlines()[0][:80]}
    for metric, label, target in (
        ("paint_s", "county map: first paint", None),
        ("toggle_s", "county map: switch farmland on", None),
    ):
        base = results["page"].get(metric)
        for name, impl in (("page", "page (parcels in HTML)"), ("tiles", "vector tiles")):
            r = results[name]
            v = r.get(metric)
            note = r.get("error", "")
            if "frame_p95_ms" in r and metric == "toggle_s":
                note = (
                    f"{_drawn_note(r['drawn'])}; drag: frames p95 {r['frame_p95_ms']:.0f} ms, "
                    f"worst {r['frame_max_ms']:.0f} ms (goal < 50 ms); a 960 px drag: worst "
                    f"{r['long_drag_max_ms']:.0f} ms"
                )
            if name == "tiles" and metric == "toggle_s" and v is not None:
                total = v + r["paint_s"]
                note += f"; open to parcels {total:.2f} s (goal < 2 s)"
                target, met = "< 2 s to parcels", total < 2.0
            else:
                met = None
            rows.append(
                _row(
                    label,
                    size,
                    impl,
                    v,
                    n_farm,
                    ratio=(base / v) if base and v else (1.0 if name == "page" else None),
                    target=target or "",
                    met=met,
                    note=note,
                )
            )
            target = None
    return rows


# --------------------------------------------------------------------------- main


def _row(
    workload: str,
    size: str,
    impl: str,
    wall: float | None,
    feats: int | None,
    *,
    note: str = "",
    target: str = "",
    met: bool | None = None,
    ratio: float | None = None,
    peak: float | None = None,
) -> Row:
    return Row(workload, size_label(size), impl, wall, peak, feats, ratio, target, met, note)


def main(size: str = "town") -> list[Row]:
    town_path, what = _town_source(size)
    tmp = Path(tempfile.mkdtemp(prefix="bench_maps_"))
    rows: list[Row] = []

    ours_out = tmp / "layout_ours.html"
    ours = measure(ours_layout, town_path, str(ours_out))
    n_farm = ours.value["farm_n"]
    sample = BASELINE_SAMPLE if n_farm > BASELINE_SAMPLE else None
    base_out = tmp / "layout_folium.html"
    base = measure(baseline_layout, town_path, str(base_out), sample)
    mb = ours.value["bytes"] / 1e6
    target_note = "target < 10 MB" if size == "town" else "the 10 MB target is the town's"
    if sample:
        # the baseline ran on a sample of the parcels: compare throughput (features/s), not wall time
        ours_rate = ours.features / ours.wall_s
        base_rate = base.features / base.wall_s
        rows.append(
            _row(
                "layout map: build + save (offline)",
                size,
                "gis_town",
                ours.wall_s,
                ours.features,
                peak=ours.peak_rss_mb,
                ratio=ours_rate / base_rate,
                note=f"{what}; {mb:.2f} MB ({target_note}); ratio by features/s",
            )
        )
        rows.append(
            _row(
                "layout map: build + save (offline)",
                size,
                "folium GeoJson+tooltip",
                base.wall_s,
                base.features,
                peak=base.peak_rss_mb,
                ratio=1.0,
                note=f"{BASELINE_SAMPLE:,} parcels of {n_farm:,}: {base.value['bytes'] / 1e6:.2f} MB, "
                "needs the network",
            )
        )
    else:
        rows += compare(
            "layout map: build + save (offline)",
            size,
            ours,
            base,
            baseline_name="folium GeoJson+tooltip",
            note=f"{what}; {mb:.2f} MB ({target_note})",
            baseline_note=f"{base.value['bytes'] / 1e6:.2f} MB, needs the network",
        )

    # bytes per parcel
    fb = measure(farm_bytes_folium, town_path, min(n_farm, BASELINE_SAMPLE), isolate=False)
    ours_bpp = ours.value["farm_bytes"] / max(n_farm, 1)
    rows.append(
        _row(
            "bytes per parcel (farmland)",
            size,
            "gis_town",
            None,
            n_farm,
            note=f"{ours_bpp:.0f} B/parcel",
            target="< 150 B",
            met=ours_bpp < 150,
            ratio=fb.value["bytes_per_parcel"] / ours_bpp if ours_bpp else None,
        )
    )
    rows.append(
        _row(
            "bytes per parcel (farmland)",
            size,
            "folium GeoJson",
            None,
            fb.value["features"],
            note=f"{fb.value['bytes_per_parcel']:.0f} B/parcel",
            ratio=1.0,
        )
    )

    # open time
    feats = ours.value["features"]
    if feats <= MAX_OPEN_FEATURES and CHROMIUM.exists():
        base_inline = tmp / "layout_folium_inline.html"
        base_inline.write_text(
            _inline_baseline(base_out.read_text(encoding="utf-8")), encoding="utf-8"
        )
        t_ours, t_base = open_times([str(ours_out), str(base_inline)])
        rows.append(
            _row(
                "layout map: open in Chromium",
                size,
                "gis_town",
                t_ours,
                feats,
                target="< 3 s",
                met=t_ours is not None and t_ours < 3.0,
                ratio=(t_base / t_ours) if t_ours and t_base else None,
                note="canvas, network blocked",
            )
        )
        rows.append(
            _row(
                "layout map: open in Chromium",
                size,
                "folium GeoJson",
                t_base,
                base.value["features"],
                ratio=1.0,
                note="Leaflet inlined, SVG" + (f", {BASELINE_SAMPLE:,} sample" if sample else ""),
            )
        )
    else:
        rows.append(
            _row(
                "layout map: open in Chromium",
                size,
                "gis_town",
                None,
                feats,
                note="not opened (no Chromium, or more than 300,000 features)",
            )
        )

    if size != "town":
        rows += tiled_rows(size, town_path, what, tmp, ours_out, ours)

    # every map kind
    if size == "town":
        kinds = ("patrol", "risk", "progress", "check")
        outs = {}
        for kind in kinds:
            out = tmp / f"{kind}.html"
            try:
                r = measure(ours_kind, town_path, kind, str(out))
            except RuntimeError as exc:
                rows.append(
                    _row(
                        f"{kind} map: build + save",
                        size,
                        "gis_town",
                        None,
                        None,
                        note=f"failed: {str(exc).splitlines()[-1][:60]}",
                    )
                )
                continue
            outs[kind] = (out, r)
        times = open_times([str(o) for o, _ in outs.values()]) if outs else []
        for (kind, (_out, r)), t in zip(outs.items(), times):
            b = r.value["data_bytes"] / max(r.value["features"], 1)
            rows.append(
                _row(
                    f"{kind} map: build + save",
                    size,
                    "gis_town",
                    r.wall_s,
                    r.value["features"],
                    peak=r.peak_rss_mb,
                    note=f"{r.value['bytes'] / 1e6:.2f} MB, {b:.0f} B/feature, opens in "
                    + (f"{t:.2f} s" if t is not None else "n/a"),
                )
            )
    for name, n, nbytes in ours.value["layers"]:
        DETAILS.append(
            {
                "size": size_label(size),
                "layer": name,
                "features": n,
                "KB": round(nbytes / 1024, 1),
                "bytes_per_feature": round(nbytes / max(n, 1)),
            }
        )
    return rows


def _print_details() -> None:
    if not DETAILS:
        return
    print("\nlayout map layers (offline page):")
    print(f"{'size':<10} {'layer':<44} {'features':>9} {'KB':>9} {'B/feature':>10}")
    for d in DETAILS:
        print(
            f"{d['size']:<10} {d['layer']:<44} {d['features']:>9,} {d['KB']:>9,.1f} {d['bytes_per_feature']:>10}"
        )


if __name__ == "__main__":
    rc = bench_cli(main)
    _print_details()
    sys.exit(rc)
