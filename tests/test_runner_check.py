"""``gis-town check`` and ``gis-town map --kind check`` give the same answer: both run :func:`run_check`.

On a copy of the demo town: each plot's failed rules in check_results.csv
are what the map's plot layer says for that plot (and its result is the
summary's); a configured DEM that does not exist is the same clear error
(exit 2, same message) from both commands; a DEM given as a list of tiles
reaches the map's check (it stopped with exit 3 before the runner); the
runner reads the rasters from the config and the analysis does not.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest

from gis_town.cli import main
from tests.demo_files import copy_demo
from tests.test_maps import column, page_layers

DEMO = Path(__file__).resolve().parents[1] / "layers"

#: The map's layer of the town's high-standard plots.
HS_LAYER = "高标准农田验收地块 high-standard plots: 检查结果 check result"


def _copy_demo(tmp: Path) -> Path:
    """The demo town, its config, river problems and rasters copied to ``tmp``; the copied GeoPackage."""
    return copy_demo(tmp)


def _set_dem(town: Path, value: str) -> None:
    """Point ``[rasters] dem`` of the copied config at ``value`` (TOML text)."""
    cfg = town.parent / "town.toml"
    text = cfg.read_text(encoding="utf-8")
    assert 'dem = "dem.tif"' in text
    cfg.write_text(text.replace('dem = "dem.tif"', f"dem = {value}", 1), encoding="utf-8")


@pytest.fixture(scope="module")
def outputs(tmp_path_factory):
    """The demo town (copied), its high-standard check and its check map's layers."""
    tmp = tmp_path_factory.mktemp("check")
    town = _copy_demo(tmp)
    out = tmp / "out"
    args = ["check", f"{town}:acceptance_plots", "--town", str(town), "--rules", "high_standard"]
    assert main([*args, "--out", str(out), "-q"]) == 1  # the demo's planted failures
    page = tmp / "check.html"
    assert main(["map", str(town), "--kind", "check", "--out", str(page), "-q"]) == 0
    return town, out, page_layers(page.read_text(encoding="utf-8"))


def _failed_rules_by_row(results: pd.DataFrame) -> dict[int, list[str]]:
    """Per input row, the rules that failed (in rule-set order), from check_results.csv."""
    fails = results[results["status"] == "fail"]
    out: dict[int, list[str]] = {int(r): [] for r in results["row"].unique()}
    for row, rule in zip(fails["row"], fails["rule"].astype(str)):
        out[int(row)].append(rule)
    return out


def test_map_says_for_each_plot_the_rules_check_results_csv_failed(outputs):
    town, out, layers = outputs
    results = pd.read_csv(out / "check_results.csv", dtype={"plot_id": str})
    summary = pd.read_csv(out / "check_summary.csv", dtype={"plot_id": str}, keep_default_na=False)
    plots = gpd.read_file(town, layer="acceptance_plots")
    # the map draws the plots that have a geometry, in input order
    present = [i for i, g in enumerate(plots.geometry) if g is not None and not g.is_empty]
    layer = layers[HS_LAYER]
    ids = column(layer, "地块编号")
    failed = column(layer, "不通过的规则")
    result = column(layer, "检查结果")
    assert len(ids) == len(present) == len(failed)
    by_row = _failed_rules_by_row(results)
    assert sum(bool(v) for v in by_row.values()) >= 10  # the demo plants a dozen failures
    for k, row in enumerate(present):
        assert ids[k] == summary.loc[row, "plot_id"] == str(plots.loc[row, "plot_id"])
        shown = [r for r in failed[k].split("; ") if r]
        assert shown == by_row[row], f"plot {ids[k]} (row {row})"
        assert result[k] == summary.loc[row, "result"]
    assert sum(r.startswith("不通过") for r in result) == int((summary["n_failed"] > 0).sum())


def test_map_subtitle_counts_the_plots_the_check_did_not_pass(outputs, tmp_path):
    from gis_town.io import load_town
    from gis_town.maps.thematic import check_specs
    from gis_town.runners.check import run_check

    town, out, _ = outputs
    summary = pd.read_csv(out / "check_summary.csv")
    t = load_town(town)
    result = run_check(t, t.config)
    assert result.layer == "acceptance_plots" and result.rule_set.name == "high_standard"
    assert [r.layer for r in result.more] == ["reclamation"]
    assert result.n_plots == len(summary)
    assert result.n_passed == int(summary["passed"].sum())
    assert result.dem == t.config.dem_path() and result.ndvi is not None
    specs, _, subtitle = check_specs(t, result=result)
    n_bad = sum(int(r.failed_mask.sum()) for r in result.all_results())
    n_all = sum(r.n_plots for r in result.all_results())
    assert subtitle.startswith(f"{n_bad} / {n_all} ")
    # without a result (library use) the map calls the runner: the same layers
    again, _, subtitle2 = check_specs(t)
    assert subtitle2 == subtitle and [s.name for s in again] == [s.name for s in specs]


def test_missing_configured_dem_is_the_same_error_from_check_and_map(tmp_path, capsys):
    town = _copy_demo(tmp_path)
    _set_dem(town, '"no_such_dem.tif"')
    args = ["check", f"{town}:acceptance_plots", "--town", str(town), "--rules", "high_standard"]
    assert main([*args, "--out", str(tmp_path / "out")]) == 2
    err_check = capsys.readouterr().err
    assert main(["map", str(town), "--kind", "check", "--out", str(tmp_path / "m.html")]) == 2
    err_map = capsys.readouterr().err
    assert "DEM raster not found" in err_check and "no_such_dem.tif" in err_check
    line = [x for x in err_check.splitlines() if "DEM raster not found" in x]
    assert line and line[0] in err_map.splitlines()


def test_dem_as_a_list_of_tiles_reaches_the_map_check(tmp_path):
    """Fixed: the map's check resolved ``[rasters] dem`` itself and stopped on a tile list (exit 3)."""
    from gis_town.io import load_town
    from gis_town.runners.check import run_check

    town = _copy_demo(tmp_path)
    _set_dem(town, '["dem.tif"]')
    assert main(["map", str(town), "--kind", "check", "--out", str(tmp_path / "m.html"), "-q"]) == 0
    t = load_town(town)
    result = run_check(t, t.config)
    slope = result.results[result.results["rule"].astype(str) == "slope"]
    assert (slope["status"].astype(str) != "not_checked").sum() > 0.9 * len(slope)


def test_analysis_reads_no_raster_from_the_config(tmp_path):
    """CheckContext.from_town takes the rasters as arguments; the runner picks the config's."""
    from gis_town.analysis.check import CheckContext, run_rules
    from gis_town.io import load_town
    from gis_town.runners.check import run_check

    t = load_town(_copy_demo(tmp_path))
    ctx = CheckContext.from_town(t)
    assert ctx.dem is None and ctx.ndvi is None
    plots = gpd.read_file(t.path, layer="reclamation")
    res = run_rules(plots, "reclamation", context=ctx)
    raster = res[res["kind"].astype(str).isin(["slope", "ndvi"])]
    assert (raster["status"].astype(str) == "not_checked").all()
    result = run_check(t, t.config, plots=plots, rules="reclamation", layer="reclamation")
    assert result.dem == t.config.dem_path()
    assert result.ndvi == t.config.ndvi_paths()[max(t.config.rasters.ndvi)]
    assert not any("NDVI" in p or "DEM" in p for p in result.problems)
