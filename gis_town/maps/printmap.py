"""Print maps for meeting materials (汇报材料): A4/A3 PNG and PDF at 300 dpi.

Drawn with matplotlib from the same :class:`~gis_town.maps.spec.LayerSpec`
layers and styles as the web map, in the town's Gauss-Kruger zone (metres,
so the scale bar is true), with a title, the data date, a legend, a scale
bar, a north arrow (pointing to true north: in a Gauss-Kruger zone it leans
from grid north by the meridian convergence) and, where a DEM is given, a
hillshade background.

Chinese text needs a CJK font: a system one where there is one (Microsoft
YaHei 微软雅黑 or SimHei 黑体 on Windows, Noto Sans CJK SC on Debian/Ubuntu,
WenQuanYi, PingFang on macOS), else the subset of Noto Sans CJK SC the package
ships (*GisTown Sans SC*: GB 2312 and every character of the package's texts,
under the SIL Open Font License), so a print map works on a PC with no CJK font
and no administrator rights (:func:`cjk_font`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import logging
import math
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import shapely

from gis_town.errors import InputError, OutputError
from gis_town.geodesy import pick_gk_crs, project_to_gk
from gis_town.io.write import atomic_path
from gis_town.maps.encode import label_points
from gis_town.maps.spec import LayerSpec, Style, public_specs

__all__ = ["LABEL_GID", "PAPER_MM", "cjk_font", "declutter_labels", "print_map", "print_town_map", "town_map_number"]

log = logging.getLogger(__name__)

#: Paper sizes (portrait width, height) in millimetres.
PAPER_MM: dict[str, tuple[float, float]] = {"A4": (210.0, 297.0), "A3": (297.0, 420.0)}

#: System CJK font families, best first.
CJK_FAMILIES: tuple[str, ...] = (
    "Microsoft YaHei",
    "SimHei",
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "Source Han Sans SC",
    "Source Han Sans CN",
    "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei",
    "PingFang SC",
    "Heiti SC",
    "DengXian",
    "SimSun",
    "Noto Sans CJK JP",
    "Droid Sans Fallback",
)

#: Font files tried when matplotlib's font cache does not know them yet
#: (``C:/Windows/Fonts`` also as ``%WINDIR%\\Fonts``, and the user's own
#: ``%LOCALAPPDATA%\\Microsoft\\Windows\\Fonts``).
CJK_FILES: tuple[str, ...] = (
    "C:/Windows/Fonts/msyh.ttc",
    "C:/Windows/Fonts/msyhbd.ttc",
    "C:/Windows/Fonts/msyh.ttf",
    "C:/Windows/Fonts/simhei.ttf",
    "C:/Windows/Fonts/Deng.ttf",
    "C:/Windows/Fonts/simsun.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/System/Library/Fonts/PingFang.ttc",
)

#: The CJK font the package ships (a subset of Noto Sans CJK SC, SIL OFL 1.1),
#: used when no system CJK font is found.
PACKAGED_FONT = "GisTownSansSC-Regular.otf"
PACKAGED_FAMILY = "GisTown Sans SC"


def _system_font_files() -> list[str]:
    files = list(CJK_FILES)
    for var, sub in (("WINDIR", "Fonts"), ("LOCALAPPDATA", "Microsoft/Windows/Fonts")):
        root = os.environ.get(var)
        if root:
            files = [f"{root}/{sub}/{name}" for name in ("msyh.ttc", "simhei.ttf")] + files
    return files


def packaged_font_path() -> Path:
    """The path of the CJK font shipped with the package (``gis_town/data/fonts``)."""
    from importlib import resources

    return Path(str(resources.files("gis_town") / "data" / "fonts" / PACKAGED_FONT))


@functools.cache
def cjk_font() -> str:
    """The name of a CJK font family matplotlib can use.

    System fonts come first (font files matplotlib's cache has not seen yet
    are registered); when there is none, the packaged *GisTown Sans SC*.

    Raises
    ------
    OutputError
        When no system CJK font exists and the packaged one cannot be read
        (a damaged installation).
    """
    from matplotlib import font_manager as fm

    seen = {Path(f.fname).name.lower() for f in fm.fontManager.ttflist}
    for path in _system_font_files():
        if Path(path).is_file() and Path(path).name.lower() not in seen:
            try:
                fm.fontManager.addfont(path)
            except Exception as exc:  # font files can be unreadable
                log.debug("cannot add font %s: %s", path, exc)
    known = {f.name for f in fm.fontManager.ttflist}
    for fam in CJK_FAMILIES:
        if fam in known:
            log.debug("print map font: %s", fam)
            return fam
    path = packaged_font_path()
    try:
        fm.fontManager.addfont(str(path))
    except Exception as exc:
        raise OutputError(
            "没有中文字体，内置字体也无法读取 / no CJK font found and the packaged font cannot be "
            f"read ({exc}): reinstall gis-town, or install a CJK font (Windows: 微软雅黑/黑体; "
            "Linux: fonts-noto-cjk)",
            path=str(path),
        ) from exc
    # one weight only: let bold text use it too (matplotlib would log a warning for each lookup)
    entry = next(f for f in fm.fontManager.ttflist if f.name == PACKAGED_FAMILY)
    fm.fontManager.ttflist.append(dataclasses.replace(entry, weight=700))
    cached = getattr(fm.fontManager, "_findfont_cached", None)  # matplotlib's lookup cache
    if cached is not None:
        cached.cache_clear()
    log.info(
        "未找到系统中文字体，使用内置字体 / no system CJK font: using the packaged %s (GB 2312)",
        PACKAGED_FAMILY,
    )
    return PACKAGED_FAMILY


#: Graticule steps tried (minutes of arc), the first giving at most 6 lines across the map.
_GRID_STEPS_MIN = (1, 2, 5, 10, 15, 30, 60, 120, 300)


def _dms_label(value: float, pos: str, neg: str) -> str:
    """``104°36′E`` (whole minutes) for a graticule line."""
    hemi = pos if value >= 0 else neg
    total = round(abs(value) * 60)
    d, m = divmod(total, 60)
    return f"{d}°{m:02d}′{hemi}"


def _grid_values(lo: float, hi: float) -> np.ndarray:
    span_min = (hi - lo) * 60
    step = next((s for s in _GRID_STEPS_MIN if span_min / s <= 6), _GRID_STEPS_MIN[-1]) / 60
    return np.arange(np.ceil(lo / step) * step, hi, step)


def _graticule(ax, crs, extent, font: str) -> None:
    """CGCS2000 meridians and parallels (whole minutes) across the map, labelled on the frame."""
    from pyproj import Transformer

    x0, x1, y0, y1 = extent
    to_geo = Transformer.from_crs(crs, "EPSG:4490", always_xy=True)
    to_map = Transformer.from_crs("EPSG:4490", crs, always_xy=True)
    xs, ys = np.meshgrid(np.linspace(x0, x1, 9), np.linspace(y0, y1, 9))
    lon, lat = to_geo.transform(xs.ravel(), ys.ravel())
    t = np.linspace(0.0, 1.0, 60)
    lat_lo, lat_hi, lon_lo, lon_hi = min(lat), max(lat), min(lon), max(lon)
    style = {"color": "#666666", "linewidth": 0.35, "linestyle": (0, (4, 3)), "zorder": 9}
    xticks, xlabels, yticks, ylabels = [], [], [], []
    for v in _grid_values(lon_lo, lon_hi):
        gx, gy = to_map.transform(np.full_like(t, v), lat_lo + t * (lat_hi - lat_lo))
        ax.plot(gx, gy, **style)
        xticks.append(float(np.interp(y0, gy, gx)))
        xlabels.append(_dms_label(v, "E", "W"))
    for v in _grid_values(lat_lo, lat_hi):
        gx, gy = to_map.transform(lon_lo + t * (lon_hi - lon_lo), np.full_like(t, v))
        ax.plot(gx, gy, **style)
        yticks.append(float(np.interp(x0, gx, gy)))
        ylabels.append(_dms_label(v, "N", "S"))
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_xticks(xticks, xlabels, fontsize=5.5, fontfamily=font)
    ax.set_yticks(yticks, ylabels, fontsize=5.5, fontfamily=font, rotation=90, va="center")
    ax.tick_params(length=2, width=0.5, pad=1.5, top=True, right=True, labeltop=True, labelright=True)
    ax.set_xlabel("")
    ax.set_ylabel("")


def _nice_length(max_m: float) -> float:
    """A round scale-bar length (1, 2 or 5 x 10^k metres) not longer than ``max_m``."""
    if max_m <= 0:
        return 1.0
    k = math.floor(math.log10(max_m))
    for f in (5, 2, 1):
        if f * 10**k <= max_m:
            return float(f * 10**k)
    return float(10 ** (k - 1) * 5)


def _mpl_dash(dash: str | None, weight: float):
    if not dash:
        return "solid"
    nums = [float(x) for x in dash.replace(",", " ").split()]
    if not nums:
        return "solid"
    return (0, tuple(n / max(weight, 0.5) for n in nums))


def _lw(style: Style) -> float:
    # CSS pixels -> points (the print is denser than a screen; keep lines fine)
    return max(0.15, style.weight * 0.55)


def _draw_layer(ax, spec: LayerSpec, gdf, font: str) -> list[tuple[str, object]]:
    """Draw one layer; return legend entries (label, handle)."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    kind = spec.kind
    entries: list[tuple[str, object]] = []
    groups: list[tuple[object, Style, np.ndarray]] = []
    if spec.category is not None:
        values = gdf[spec.category]
        classes = spec.classes()
        rest = ~values.isin(classes).to_numpy()
        for c in classes:
            groups.append((c, spec.style_of(c), (values == c).fillna(False).to_numpy()))
        if rest.any():
            groups.append((None, spec.style, rest))
    else:
        groups.append((None, spec.style, np.ones(len(gdf), dtype=bool)))
    for value, style, mask in groups:
        if not mask.any():
            continue
        part = gdf.loc[mask]
        label = (
            spec.class_label(value)
            if value is not None
            else (spec.name if spec.category is None else "其他 other")
        )
        if kind == "polygon":
            part.plot(
                ax=ax,
                facecolor=_rgba(style.fill, style.fill_opacity) if style.fill else "none",
                edgecolor=_rgba(style.color, style.opacity),
                linewidth=_lw(style),
                linestyle=_mpl_dash(style.dash, style.weight),
            )
            handle = Patch(
                facecolor=_rgba(style.fill, style.fill_opacity) if style.fill else "none",
                edgecolor=style.color,
                linewidth=max(0.6, _lw(style)),
                linestyle=_mpl_dash(style.dash, style.weight),
            )
        elif kind == "line":
            part.plot(
                ax=ax,
                color=_rgba(style.color, style.opacity),
                linewidth=_lw(style) * 1.3,
                linestyle=_mpl_dash(style.dash, style.weight),
            )
            handle = Line2D(
                [],
                [],
                color=style.color,
                linewidth=max(0.8, _lw(style) * 1.3),
                linestyle=_mpl_dash(style.dash, style.weight),
            )
        else:
            xy = shapely.get_coordinates(np.asarray(part.geometry.values))
            ax.scatter(
                xy[:, 0],
                xy[:, 1],
                s=(style.radius * 0.9) ** 2,
                c=style.fill or style.color,
                edgecolors=style.color,
                linewidths=0.5,
                zorder=5,
            )
            handle = Line2D(
                [],
                [],
                marker="o",
                linestyle="none",
                markersize=style.radius * 0.9,
                markerfacecolor=style.fill or style.color,
                markeredgecolor=style.color,
            )
        entries.append((label, handle))
    if spec.label_field and spec.label_field in gdf.columns:
        from matplotlib import patheffects

        from gis_town.maps.spec import format_series

        pts = label_points(np.asarray(gdf.geometry.values))
        xy = shapely.get_coordinates(pts)
        texts = format_series(gdf[spec.label_field], spec.label_field, spec.codes).tolist()
        size = 7.5 if spec.schema_layer == "zones" else 6.5
        weight = "bold" if spec.schema_layer == "zones" else "normal"
        for (x, y), t in zip(xy, texts):
            if t:
                ax.text(
                    x,
                    y,
                    t,
                    fontsize=size,
                    fontfamily=font,
                    fontweight=weight,
                    ha="center",
                    va="center",
                    color="#222222",
                    zorder=8,
                    clip_on=True,
                    path_effects=[patheffects.withStroke(linewidth=2.2, foreground="white")],
                    gid=f"{LABEL_GID}{0 if spec.schema_layer == 'zones' else 1}",
                )
    return entries


#: The gid of a map label: ``gt-label-0`` for zone labels (placed first), ``gt-label-1`` for the rest.
LABEL_GID = "gt-label-"


def declutter_labels(ax, *, gap_px: float = 2.0) -> int:
    """Hide the map labels of ``ax`` that would overlap one already placed; the number hidden.

    Zone labels (一川两线三流域) are placed first, then the others, each in drawing order,
    as on the web map; a label is kept when its box (``gap_px`` wider) meets no kept box.
    """
    renderer = ax.figure.canvas.get_renderer()
    labels = [t for t in ax.texts if (t.get_gid() or "").startswith(LABEL_GID)]
    labels.sort(key=lambda t: t.get_gid())  # stable: drawing order within a rank
    kept, hidden = [], 0
    for t in labels:
        box = t.get_window_extent(renderer).expanded(1.0, 1.0).padded(gap_px / 2)
        if any(box.overlaps(k) for k in kept):
            t.set_visible(False)
            hidden += 1
        else:
            kept.append(box)
    return hidden


def _rgba(color: str | None, alpha: float):
    from matplotlib.colors import to_rgba

    if not color:
        return "none"
    return to_rgba(color, alpha)


def _hillshade(ax, dem: Path, crs, extent) -> None:
    from gis_town import raster

    r = raster.open_raster(dem, name="DEM")
    r = raster.reproject_raster(r, crs)
    rows, cols = r.shape
    max_size = 3000
    k = max(1, math.ceil(max(rows, cols) / max_size))
    img, _ = raster.hillshade(r, max_size=max_size, web_mercator=False)
    left, top = r.transform.c, r.transform.f
    resx, resy = abs(r.transform.a) * k, abs(r.transform.e) * k
    h, w = img.shape
    ext = (left, left + w * resx, top - h * resy, top)
    masked = np.ma.masked_equal(img, 0)
    ax.imshow(
        masked,
        cmap="Greys_r",
        extent=ext,
        origin="upper",
        alpha=0.45,
        zorder=0,
        interpolation="bilinear",
    )
    ax.set_xlim(extent[0], extent[1])
    ax.set_ylim(extent[2], extent[3])


def _north_arrow(ax, crs, center_xy) -> None:
    """Draw a north arrow pointing to true north at the map centre."""
    from pyproj import Transformer

    fwd = Transformer.from_crs(crs, "EPSG:4490", always_xy=True)
    inv = Transformer.from_crs("EPSG:4490", crs, always_xy=True)
    lon, lat = fwd.transform(*center_xy)
    x1, y1 = inv.transform(lon, lat + 0.01)
    ang = math.atan2(x1 - center_xy[0], y1 - center_xy[1])  # radians clockwise from grid up
    bx, by, length = 0.93, 0.86, 0.07
    dx, dy = math.sin(ang) * length, math.cos(ang) * length
    ax.annotate(
        "",
        xy=(bx + dx / 2, by + dy / 2),
        xytext=(bx - dx / 2, by - dy / 2),
        xycoords="axes fraction",
        arrowprops={
            "facecolor": "black",
            "edgecolor": "black",
            "width": 3,
            "headwidth": 9,
            "headlength": 9,
        },
        zorder=10,
    )
    ax.text(
        bx + dx / 2 + 0.004,
        by + dy / 2 + 0.02,
        "N",
        transform=ax.transAxes,
        ha="center",
        va="bottom",
        fontsize=10,
        fontweight="bold",
        zorder=10,
    )


def _scale_bar(ax, font: str) -> None:
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    width = x1 - x0
    length = _nice_length(width * 0.22)
    seg = length / 4
    bx, by = x0 + width * 0.04, y0 + (y1 - y0) * 0.04
    h = (y1 - y0) * 0.008
    from matplotlib.patches import Rectangle

    for i in range(4):
        ax.add_patch(
            Rectangle(
                (bx + i * seg, by),
                seg,
                h,
                facecolor="black" if i % 2 == 0 else "white",
                edgecolor="black",
                linewidth=0.6,
                zorder=10,
            )
        )
    unit, div = ("km", 1000.0) if length >= 1000 else ("m", 1.0)
    for v in (0, length / 2, length):
        txt = f"{v / div:g}"
        ax.text(
            bx + v,
            by + h * 1.8,
            txt,
            ha="center",
            va="bottom",
            fontsize=6.5,
            zorder=10,
            fontfamily=font,
        )
    ax.text(
        bx + length + seg * 0.3,
        by,
        unit,
        ha="left",
        va="bottom",
        fontsize=6.5,
        zorder=10,
        fontfamily=font,
    )


def print_map(
    specs: Sequence[LayerSpec],
    path: str | Path,
    *,
    title: str,
    data_date: dt.date | str | None = None,
    subtitle: str | None = None,
    paper: str = "A4",
    landscape: bool = True,
    dpi: int = 300,
    crs=None,
    dem: str | Path | None = None,
    public: bool = False,
    town_name: str | None = None,
    producer: str | None = None,
    map_number: str | None = None,
) -> Path:
    """Draw layers as a print-ready PNG or PDF (by ``path``'s suffix).

    Parameters
    ----------
    specs : sequence of LayerSpec
        The same layers as the web map; those with ``shown_in_print`` are drawn.
    path : path
        ``.png`` or ``.pdf``.
    title : str
    data_date : date or str, optional
    subtitle : str, optional
    paper : {"A4", "A3"}
    landscape : bool
    dpi : int
        Raster resolution (PNG, and hillshade inside the PDF), default 300.
    crs : CRS, optional
        Projected CRS to draw in (default: the Gauss-Kruger zone of the data).
    dem : path, optional
        DEM for a hillshade background.
    public : bool
        Leave personal names out.
    town_name, producer, map_number : str, optional
        The frame's 制图单位 (``producer``, default ``town_name``) and 图号.

    Returns
    -------
    Path
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    path, fmt, paper = _checked_target(path, paper)
    if public:
        specs = public_specs(specs)
    font = cjk_font()
    drawn = [s for s in specs if s.shown_in_print and len(s.gdf)]
    if not drawn:
        raise InputError("没有可绘制的要素 / nothing to draw: every layer is empty")
    crs = crs or pick_gk_crs(drawn[0].gdf)

    w_mm, h_mm = PAPER_MM[paper]
    if landscape:
        w_mm, h_mm = h_mm, w_mm
    fig = plt.figure(figsize=(w_mm / 25.4, h_mm / 25.4), dpi=dpi)
    plt.rcParams["font.family"] = [font, "DejaVu Sans"]
    plt.rcParams["axes.unicode_minus"] = False
    ax = fig.add_axes((0.03, 0.07, 0.70, _TOP - 0.09))
    lax = fig.add_axes((0.75, 0.07, 0.23, _TOP - 0.09))
    lax.axis("off")
    try:
        projected = [(s, project_to_gk(s.gdf, crs=crs, layer=s.name)) for s in drawn]
        extent = _map_extent(fig, ax, projected)
        if dem is not None and Path(dem).is_file():
            try:
                _hillshade(ax, Path(dem), crs, extent)
            except Exception as exc:  # a broken DEM must not stop the print
                log.warning("打印版地图未画山体阴影 / no hillshade on the print map: %s", exc)
        legend = _draw_layers(ax, projected, font)
        ax.set_xlim(extent[0], extent[1])
        ax.set_ylim(extent[2], extent[3])
        log.debug("打印版地图隐藏重叠注记 / print map: %d colliding labels hidden", declutter_labels(ax))
        _graticule(ax, crs, extent, font)
        for side in ax.spines.values():
            side.set_linewidth(0.8)
        _scale_bar(ax, font)
        _north_arrow(ax, crs, ((extent[0] + extent[1]) / 2, (extent[2] + extent[3]) / 2))
        _legend(lax, legend, [s.name for s in specs], font)
        _titles(fig, title, subtitle, data_date, paper, font)
        _footer(fig, crs, font, producer=producer or town_name, map_number=map_number)
        _save(fig, path, fmt, dpi, title)
    finally:
        plt.close(fig)
    log.info("写出打印版地图 wrote print map %s", path)
    return path


#: Top of the map and legend axes (figure fraction); the title sits above.
_TOP = 0.885


def _checked_target(path: str | Path, paper: str) -> tuple[Path, str, str]:
    path = Path(path)
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in ("png", "pdf"):
        raise InputError(
            f"打印版地图须为 .png 或 .pdf / the print map must be .png or .pdf, got {path.name!r}"
        )
    paper = paper.upper()
    if paper not in PAPER_MM:
        raise InputError(f"未知纸张 / unknown paper {paper!r}: A4 or A3")
    return path, fmt, paper


def _map_extent(fig, ax, projected) -> tuple[float, float, float, float]:
    """The layers' extent padded by 4 % and widened to the axes' shape; set on ``ax``."""
    boxes = np.vstack([g.total_bounds for _, g in projected if len(g)])
    x0, y0 = boxes[:, 0].min(), boxes[:, 1].min()
    x1, y1 = boxes[:, 2].max(), boxes[:, 3].max()
    ax_w = fig.get_figwidth() * 0.70
    ax_h = fig.get_figheight() * (_TOP - 0.09)
    pad = 0.04 * max(x1 - x0, y1 - y0)
    x0, x1, y0, y1 = x0 - pad, x1 + pad, y0 - pad, y1 + pad
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    sx, sy = x1 - x0, y1 - y0
    if sx / sy > ax_w / ax_h:
        sy = sx * ax_h / ax_w
    else:
        sx = sy * ax_w / ax_h
    extent = (cx - sx / 2, cx + sx / 2, cy - sy / 2, cy + sy / 2)
    ax.set_xlim(extent[0], extent[1])
    ax.set_ylim(extent[2], extent[3])
    ax.set_aspect("equal")
    return extent


def _draw_layers(ax, projected, font: str) -> list[tuple[str, list[tuple[str, object]]]]:
    """Polygons, then lines, then points; the legend entries of the layers that have one."""
    legend: list[tuple[str, list[tuple[str, object]]]] = []
    order = {"polygon": 0, "line": 1, "point": 2}
    for spec, gdf in sorted(projected, key=lambda p: order[p[0].kind]):
        entries = _draw_layer(ax, spec, gdf, font)
        if spec.legend and entries:
            legend.append((spec.name, entries))
    return legend


def _legend(lax, legend, spec_order: list[str], font: str) -> None:
    """One legend block per layer, in the specs' order, down the legend axes."""
    legend = sorted(legend, key=lambda e: spec_order.index(e[0]) if e[0] in spec_order else 0)
    y = 1.0
    for name, entries in legend:
        if not (len(entries) == 1 and entries[0][0] == name):
            lax.text(0.0, y, name, fontsize=7.5, fontweight="bold", va="top", transform=lax.transAxes,
                     fontfamily=font)
            y -= 0.032
        leg = lax.legend(
            [h for _, h in entries], [lbl for lbl, _ in entries], loc="upper left", bbox_to_anchor=(0.0, y),
            frameon=False, fontsize=7, prop={"family": font, "size": 7}, handlelength=1.8,
            borderaxespad=0.0, labelspacing=0.35, handletextpad=0.6,
        )
        lax.add_artist(leg)
        y -= 0.03 * len(entries) + 0.018
        if y < 0.05:
            log.warning("图例过长，部分未显示 / the legend is too long for the page: some entries are cut")
            break


def _titles(fig, title: str, subtitle: str | None, data_date, paper: str, font: str) -> None:
    fig.text(0.5, 0.955, title, ha="center", va="center", fontsize=16 if paper == "A4" else 20,
             fontweight="bold", fontfamily=font)
    sub = [subtitle] if subtitle else []
    if data_date is not None:
        d = data_date.strftime("%Y-%m-%d") if isinstance(data_date, (dt.date, dt.datetime)) else str(data_date)
        sub.append(f"数据日期 data date: {d}")
    if sub:
        fig.text(0.5, 0.915, "    ".join(sub), ha="center", va="center", fontsize=9, fontfamily=font,
                 color="#333333")


def _footer(fig, crs, font: str, *, producer: str | None, map_number: str | None) -> None:
    """制图单位, 图号, date and CRS under the map."""
    from pyproj import CRS

    footer = (
        f"制图单位 made by: {producer or '—'}    图号 map no.: {map_number or '—'}    "
        f"制图日期 date: {dt.date.today():%Y-%m-%d}    坐标系 CRS: {CRS.from_user_input(crs).name}"
        "（经纬网 grid: CGCS2000）    gis_town"
    )
    fig.text(0.03, 0.035, footer, ha="left", va="center", fontsize=6.5, fontfamily=font, color="#555555")


def _save(fig, path: Path, fmt: str, dpi: int, title: str) -> None:
    try:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format=fmt, dpi=dpi, metadata={"Title": title} if fmt == "pdf" else None)
    except OSError as exc:
        raise OutputError(f"无法写出打印版地图 / cannot write the print map: {exc}", path=str(path)) from exc


def print_town_map(
    town,
    kind: str,
    path: str | Path,
    *,
    as_of: dt.date | None = None,
    public: bool = False,
    paper: str = "A4",
    dpi: int = 300,
    **kwargs,
) -> Path:
    """The print version of a town map of ``kind`` (layout, patrol, risk, progress, check).

    ``kwargs`` go to the thematic map's spec builder (e.g. ``tracks`` for patrol).
    """
    from gis_town.maps.layout import town_data_date
    from gis_town.maps.thematic import map_specs

    specs, title, subtitle = map_specs(town, kind, as_of=as_of, **kwargs)
    cfg = town.config
    dem = cfg.dem_path()
    return print_map(
        specs,
        path,
        title=title,
        subtitle=subtitle,
        data_date=town_data_date(town),
        paper=paper,
        dpi=dpi,
        crs=town.gk_crs,
        dem=dem,
        public=public,
        town_name=cfg.town.name,
        producer=cfg.map.producer,
        map_number=town_map_number(cfg.town.name, kind, town_data_date(town)),
    )


def town_map_number(town_name: str, kind: str, data_date) -> str:
    """The 图号 of a town map: town, kind and data date (``关川镇-layout-20231231``)."""
    day = data_date.strftime("%Y%m%d") if isinstance(data_date, (dt.date, dt.datetime)) else str(data_date or "")
    return "-".join(p for p in (town_name, kind, day) if p)
