"""The first crop of reclaimed plots (拆旧复垦 种植夏粮): does each plot show a crop in its first season?

The town's 2023 plan wants the resettled households' demolished-and-reclaimed
homestead plots sown with summer grain. :func:`first_crop` reads dated NDVI
scenes over each reclaimed plot and tells, per plot, whether its first
summer-grain window (``[reclamation] first_crop_window``) shows a crop;
:func:`first_crop_summary` gives the summary rows per cohort (搬迁年度).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from gis_town.analysis.progress.fields import _dates, _require
from gis_town.analysis.progress.status import _fmt_date, parse_as_of
from gis_town.config import TownConfig
from gis_town.errors import RasterError
from gis_town.geodesy import area_m2, m2_to_mu
from gis_town.raster import RasterData, zonal_stats

__all__ = [
    "FIRST_CROP_COLUMNS",
    "FIRST_CROP_STATES",
    "crop_plots",
    "first_crop",
    "first_crop_summary",
]

log = logging.getLogger(__name__)

#: Plot state code -> label (Chinese / English).
FIRST_CROP_STATES: dict[str, str] = {
    "cropped": "已种植 cropped",
    "no_crop": "未见作物 no crop",
    "no_scene": "无影像 no scene",
    "not_due": "未到季 not yet due",
}

#: Columns of :func:`first_crop`'s table (``village_id`` and ``village_name`` when the plots have them).
FIRST_CROP_COLUMNS: tuple[str, ...] = (
    "plot_id",
    "household_id",
    "cohort",
    "village_id",
    "village_name",
    "area_mu",
    "reclaimed_date",
    "season",
    "window_start",
    "window_end",
    "scene_date",
    "ndvi_mean",
    "state",
    "state_label",
    "note",
)

#: Cohort shown for plots whose household is not in the resettlement layer.
UNMATCHED = "(未匹配 unmatched)"

_LAYER = "reclamation"


def crop_plots(
    reclamation: gpd.GeoDataFrame, households: pd.DataFrame, names: Mapping[str, str] | None = None
) -> gpd.GeoDataFrame:
    """The reclaimed plots with their household's cohort and village, ready for :func:`first_crop`.

    ``reclaimed_date`` is the plot's own date, else its household's ``reclaimed`` date
    (as the reclaimed-area table counts it); ``cohort`` is the household's (搬迁年度),
    :data:`UNMATCHED` for a plot whose household is not in ``households``.
    """
    _require(reclamation, ("plot_id", "household_id"), _LAYER)
    info = households.drop_duplicates("household_id").set_index("household_id")
    hh_id = reclamation["household_id"].astype("object")
    own = _dates(reclamation, "reclaimed_date", _LAYER, "plot_id")
    hh_date = pd.to_datetime(hh_id.map(info["reclaimed"]))
    village = hh_id.map(info["village_id"]).astype("object").fillna("")
    out = gpd.GeoDataFrame(
        {
            "plot_id": reclamation["plot_id"].astype("object"),
            "household_id": hh_id,
            "cohort": hh_id.map(info["cohort"]).astype("object").fillna(UNMATCHED),
            "village_id": village,
            "reclaimed_date": own.where(own.notna(), hh_date).astype("datetime64[ns]"),
        },
        geometry=reclamation.geometry,
        crs=reclamation.crs,
    )
    out["village_name"] = out["village_id"].map(lambda v: (names or {}).get(v, ""))
    order = np.lexsort((out["plot_id"].astype(str).to_numpy(), out["cohort"].astype(str).to_numpy()))
    return out.iloc[order].reset_index(drop=True)


def _seasons(reclaimed: pd.Series, config: TownConfig) -> pd.DataFrame:
    """Per plot, its first window: the first whose start is on or after the reclaimed date."""
    start_md, end_md = config.reclamation.first_crop_window
    years = reclaimed.dt.year
    start_same = pd.to_datetime(years.astype("Int64").astype("string") + f"-{start_md}", errors="coerce")
    season = (years + (reclaimed > start_same).astype(int)).astype("Int64")
    text = season.astype("string")
    return pd.DataFrame(
        {
            "season": season,
            "window_start": pd.to_datetime(text + f"-{start_md}", errors="coerce"),
            "window_end": pd.to_datetime(text + f"-{end_md}", errors="coerce"),
        },
        index=reclaimed.index,
    )


def _scene_means(
    plots: gpd.GeoDataFrame, windows: pd.DataFrame, scenes: dict[pd.Timestamp, str | Path | RasterData]
) -> pd.DataFrame:
    """Plot x scene table of coverage-weighted mean NDVI, for the scenes inside each plot's window.

    NaN where the scene is outside the plot's window, or does not cover the plot
    (outside the raster, nodata), or cannot be read (missing file: logged, the
    plots then have no scene rather than stopping the whole progress report).
    """
    means = pd.DataFrame(np.nan, index=plots.index, columns=list(scenes), dtype="float64")
    for day, raster in scenes.items():
        inside = (windows["window_start"] <= day) & (day <= windows["window_end"])
        inside = inside.fillna(False).to_numpy(dtype=bool)
        if not inside.any():
            continue
        try:
            z = zonal_stats(plots.loc[inside], raster, stats=("mean",), layer=_LAYER)
        except RasterError as exc:
            log.warning("影像 %s 无法使用 / scene %s not used (unreadable, or covers no reclaimed plot): %s",
                        _fmt_date(day), _fmt_date(day), exc)
            continue
        means.loc[z.index, day] = z["mean"].to_numpy(dtype="float64")
    return means


def _best_scene(means: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Per plot, the date and value of its highest scene mean (NaT, NaN when none)."""
    n = len(means)
    values = means.to_numpy(dtype="float64")
    if values.shape[1] == 0:
        return np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]"), np.full(n, np.nan)
    has = ~np.isnan(values).all(axis=1)
    pick = np.argmax(np.where(np.isnan(values), -np.inf, values), axis=1)
    days = np.asarray(means.columns, dtype="datetime64[ns]")[pick]
    return (np.where(has, days, np.datetime64("NaT")).astype("datetime64[ns]"),
            np.where(has, values[np.arange(n), pick], np.nan))


def _note(state: str, row, min_ndvi: float, window: str, in_window: str) -> str:
    if state == "not_due" and pd.isna(row.season):
        return "统计日尚未复垦 / not reclaimed by the as-of date"
    if state == "not_due":
        return f"{int(row.season)}年夏粮窗口({window})未结束 / the {int(row.season)} window is not over"
    if state == "no_scene" and not in_window:
        return f"{int(row.season)}年窗口({window})内没有影像 / no scene dated in the window"
    if state == "no_scene":
        return (f"窗口内影像 {in_window} 未覆盖该地块或无法读取 / the window's scene(s) {in_window} "
                "do not cover the plot or could not be read (see the log)")
    verdict = "达到" if state == "cropped" else "低于"
    return (f"{_fmt_date(row.scene_date)} 影像 NDVI {row.ndvi_mean:.2f} {verdict}阈值 {min_ndvi:.2f} / "
            f"mean NDVI {row.ndvi_mean:.2f} {'>=' if state == 'cropped' else '<'} {min_ndvi:.2f}")


def first_crop(
    plots: gpd.GeoDataFrame,
    scenes: Mapping[str | dt.date | pd.Timestamp, str | Path | RasterData],
    *,
    config: TownConfig,
    as_of: str | dt.date | pd.Timestamp,
) -> pd.DataFrame:
    """Whether each reclaimed plot shows a crop in its first summer-grain season (种植夏粮).

    With the window ``[reclamation] first_crop_window`` = (S, E) as MM-DD and a
    plot reclaimed on R, its season is the first year Y whose window start
    S(Y) is on or after R (reclaimed 2022-10-12 or 2023-03-01: 2023; 2023-08-20:
    2024); its window is [S(Y), E(Y)], both days included. For every scene dated
    d in the window and on or before ``as_of``, the plot's mean NDVI is the
    exact, coverage-weighted zonal mean (:func:`gis_town.raster.zonal_stats`,
    polygons brought to the raster's CRS)::

        m_d = sum_i(c_i * v_i) / sum_i(c_i)      (c_i: share of cell i inside the plot, v_i: NDVI, unitless)

    and the plot's value is the best scene of its window, ``ndvi_mean = max_d m_d``
    (``scene_date`` its date): one cloud-free scene showing the crop is enough.

    State on ``as_of`` (``state``, Chinese in ``state_label``):

    * ``not_due`` 未到季: not reclaimed by ``as_of`` (no date, or a later one), or
      ``as_of`` < E(Y) (the window is not over; the best scene so far is shown);
    * ``cropped`` 已种植: ``ndvi_mean >= first_crop_min_ndvi``;
    * ``no_crop`` 未见作物: below it;
    * ``no_scene`` 无影像: the window is over and no scene of it covers the plot.

    Parameters
    ----------
    plots : GeoDataFrame
        Reclaimed plots with a CRS: ``plot_id`` and ``reclaimed_date`` (NaT when
        not reclaimed); ``household_id``, ``cohort``, ``village_id``,
        ``village_name`` kept when present (:func:`crop_plots` builds them).
    scenes : mapping date -> NDVI raster
        Dated NDVI scenes (path or :class:`~gis_town.raster.RasterData`, any CRS);
        scenes dated after ``as_of`` are not used.
    config : TownConfig
        ``reclamation.first_crop_window`` and ``reclamation.first_crop_min_ndvi``.
    as_of : date or "YYYY-MM-DD"

    Returns
    -------
    DataFrame
        One row per plot, :data:`FIRST_CROP_COLUMNS`: ``area_mu`` the ellipsoidal
        area (CGCS2000, :func:`gis_town.geodesy.area_m2`) in mu, ``season`` (year),
        ``window_start``/``window_end``, ``scene_date``, ``ndvi_mean``, ``state``,
        ``state_label`` and a Chinese / English ``note``.
    """
    as_of = parse_as_of(as_of)
    _require(plots, ("plot_id", "reclaimed_date"), _LAYER)
    rc = config.reclamation
    plots = plots.reset_index(drop=True)
    used = {pd.Timestamp(d).normalize(): r for d, r in scenes.items() if pd.Timestamp(d) <= as_of}
    given = _dates(plots, "reclaimed_date", _LAYER, "plot_id")
    win = _seasons(given.where(given <= as_of), config)  # reclaimed after as_of: not yet
    scene_date, ndvi_mean = _best_scene(_scene_means(plots, win, dict(sorted(used.items()))))
    out = pd.DataFrame({c: plots[c].to_numpy() for c in FIRST_CROP_COLUMNS[:5] if c in plots.columns})
    out["area_mu"] = m2_to_mu(area_m2(plots, layer=_LAYER))
    out["reclaimed_date"] = given.to_numpy()
    for col in win.columns:
        out[col] = win[col].to_numpy()
    # a year, like the cohort: whole numbers or blank, never "2,023"
    out["season"] = pd.Series([None if pd.isna(y) else int(y) for y in win["season"]], dtype="object")
    out["scene_date"] = scene_date
    out["ndvi_mean"] = ndvi_mean
    has = ~np.isnan(ndvi_mean)
    over = (out["window_end"] <= as_of).fillna(False).to_numpy(dtype=bool)
    state = np.select(
        [~over, ~has, out["ndvi_mean"].to_numpy() >= rc.first_crop_min_ndvi],
        ["not_due", "no_scene", "cropped"],
        "no_crop",
    )
    out["state"] = state
    out["state_label"] = out["state"].map(FIRST_CROP_STATES)
    window = "–".join(rc.first_crop_window)
    days = list(used)
    out["note"] = [
        _note(s, r, rc.first_crop_min_ndvi, window,
              "、".join(_fmt_date(d) for d in days if r.window_start <= d <= r.window_end))
        for s, r in zip(state, out.itertuples())
    ]
    return out[[c for c in FIRST_CROP_COLUMNS if c in out.columns]]


def first_crop_summary(table: pd.DataFrame, config: TownConfig) -> list[dict]:
    """Summary rows of :func:`first_crop`, one per cohort: plots cropped of the plots due.

    ``done`` = plots ``cropped``, ``target`` = plots due (window over: cropped, no_crop,
    no_scene), ``share_pct`` = done / target x 100. Status: ``not_due`` when no plot is
    due, ``behind`` when a due plot shows no crop, ``no_data`` when only scenes are
    missing, ``done`` when every due plot is cropped.
    """
    rows = []
    rc = config.reclamation
    cohorts = table["cohort"] if "cohort" in table.columns else pd.Series("", index=table.index)
    for cohort, t in table.groupby(cohorts.astype(str), sort=True):
        n = t["state"].value_counts()
        cropped, no_crop, no_scene = (int(n.get(k, 0)) for k in ("cropped", "no_crop", "no_scene"))
        due = cropped + no_crop + no_scene
        waiting = t["state"].eq("not_due") & t["window_end"].notna()
        ends = t.loc[t["state"] != "not_due", "window_end"] if due else t.loc[waiting, "window_end"]
        status = ("not_due" if not due else "behind" if no_crop
                  else "no_data" if no_scene else "done")
        rows.append({
            "topic": "避险搬迁 resettlement",
            "item": f"首季种植 first crop ({cohort}年度 cohort)",
            "unit": "处 plots",
            "done": cropped,
            "target": due if due else np.nan,
            "target_pct": 100.0 if due else np.nan,
            "share_pct": 100.0 * cropped / due if due else np.nan,
            "due_date": _fmt_date(ends.max() if due else ends.min()) if len(ends) else "",
            "status": status,
            "note": (f"{cropped}/{due} 处已种植 cropped; {no_crop} 未见作物 no crop; {no_scene} 无影像 no scene; "
                     f"{int(n.get('not_due', 0))} 未到季 not yet due (夏粮窗口 window "
                     f"{'–'.join(rc.first_crop_window)}, NDVI ≥ {rc.first_crop_min_ndvi:.2f})"),
        })
    return rows
