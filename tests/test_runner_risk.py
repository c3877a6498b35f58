"""``gis-town risk`` and ``gis-town map --kind risk`` give the same answer: both run :func:`run_risk`.

On a copy of the demo town: a missing configured DEM is the same clear error
(exit 2, same message) from both commands; the risk classes of the map's
parcels are those of risk.csv, parcel by parcel, and its visit list is
visit_list.csv; and the scores and classes of risk.csv are recomputed by hand
from the factor values and the config's weights with the formula of
``docs/risk.md``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gis_town.cli import main
from tests.demo_files import copy_demo
from tests.test_maps import column, page_layers

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

DEMO = Path(__file__).resolve().parents[1] / "layers"

#: Factors where less is riskier (docs/risk.md: "1 − n for factors where less is riskier").
LESS_IS_RISKIER = {"area_mu", "ndvi_mean", "ndvi_change"}


def _copy_demo(tmp: Path) -> Path:
    """The demo town, its config, river problems and rasters copied to ``tmp``; the copied GeoPackage."""
    return copy_demo(tmp)


@pytest.fixture(scope="module")
def outputs(tmp_path_factory):
    """The demo town (copied), its risk reports and its risk map page."""
    tmp = tmp_path_factory.mktemp("risk")
    town = _copy_demo(tmp)
    out = tmp / "out"
    assert main(["risk", str(town), "--out", str(out), "-q"]) == 0
    page = tmp / "risk.html"
    assert main(["map", str(town), "--kind", "risk", "--out", str(page), "-q"]) == 0
    return tmp, out, page_layers(page.read_text(encoding="utf-8"))


def _csv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, encoding="utf-8-sig", dtype={"parcel_id": str, "village_id": str})


def test_missing_configured_dem_is_the_same_error_from_risk_and_map(tmp_path, capsys):
    town = _copy_demo(tmp_path)
    cfg = tmp_path / "town.toml"
    text = cfg.read_text(encoding="utf-8")
    assert 'dem = "dem.tif"' in text
    cfg.write_text(text.replace('dem = "dem.tif"', 'dem = "no_such_dem.tif"'), encoding="utf-8")
    capsys.readouterr()
    assert main(["risk", str(town), "--out", str(tmp_path / "out"), "-q"]) == 2
    risk_err = capsys.readouterr().err
    assert main(["map", str(town), "--kind", "risk", "--out", str(tmp_path / "m.html"), "-q"]) == 2
    map_err = capsys.readouterr().err
    assert "DEM raster not found" in risk_err and "no_such_dem.tif" in risk_err
    assert risk_err == map_err
    assert not (tmp_path / "m.html").exists()


def test_map_classes_are_the_reports_classes(outputs):
    _, out, layers = outputs
    risk = _csv(out / "risk.csv")
    parcels = layers["撂荒风险 abandonment risk"]
    assert parcels["nf"] == len(risk)
    on_map = dict(zip(column(parcels, "地块编码"), column(parcels, "风险等级")))
    in_csv = dict(zip(risk["parcel_id"], risk["risk_class_zh"]))
    assert on_map == in_csv
    assert set(in_csv.values()) == {"低", "中", "高"}
    visits = _csv(out / "visit_list.csv")
    vlayer = next(d for name, d in layers.items() if name.startswith("走访清单"))
    assert column(vlayer, "地块编码") == visits["parcel_id"].tolist()
    assert column(vlayer, "风险等级") == visits["risk_class_zh"].tolist()


def test_map_drawn_from_the_runners_result_has_its_classes(outputs):
    from gis_town.io.town import load_town
    from gis_town.maps.thematic import map_specs
    from gis_town.runners import run_topic

    tmp, out, _ = outputs
    town = load_town(
        tmp / "demo_town.gpkg", layers=["villages", "farmland", "roads", "settlements"]
    )
    result = run_topic("risk", town, town.config)
    specs, _, subtitle = map_specs(town, "risk", result=result)
    layer = next(s for s in specs if s.name == "撂荒风险 abandonment risk")
    risk = _csv(out / "risk.csv")
    drawn = dict(zip(layer.gdf["parcel_id"].astype(str), layer.gdf["risk_class"].astype(str)))
    assert drawn == dict(zip(risk["parcel_id"], risk["risk_class"]))
    assert f"高风险 high: {int((risk['risk_class'] == 'high').sum())} 块" in subtitle


def _score_by_hand(risk: pd.DataFrame, weights: dict[str, float]) -> np.ndarray:
    """docs/risk.md: robust min-max (2%/98% quantiles) per factor, then 100·Σ w·n / Σ w over present factors."""
    num = np.zeros(len(risk))
    den = np.zeros(len(risk))
    for f, w in weights.items():
        x = risk[f].to_numpy(dtype="float64")
        ok = np.isfinite(x)
        lo, hi = np.quantile(x[ok], [0.02, 0.98])
        if not hi > lo:
            lo, hi = x[ok].min(), x[ok].max()
        n = np.clip((x - lo) / (hi - lo), 0.0, 1.0)
        if f in LESS_IS_RISKIER:
            n = 1.0 - n
        num += np.where(ok, w * n, 0.0)
        den += np.where(ok, w, 0.0)
    return 100.0 * num / den


def test_score_and_class_recomputed_by_hand(outputs):
    tmp, out, _ = outputs
    cfg = tomllib.loads((tmp / "town.toml").read_text(encoding="utf-8"))["risk"]
    risk = _csv(out / "risk.csv")
    score = _score_by_hand(risk, cfg["weights"])
    np.testing.assert_allclose(risk["score"].to_numpy(dtype="float64"), score, rtol=0, atol=1e-9)
    cls = np.where(score >= cfg["high"], "high", np.where(score >= cfg["medium"], "medium", "low"))
    assert (risk["risk_class"].to_numpy() == cls).all()
    # one parcel, written out: its top factor is the largest weighted term
    row = risk.iloc[0]
    terms = {}
    for f, w in cfg["weights"].items():
        x = risk[f].to_numpy(dtype="float64")
        lo, hi = np.quantile(x, [0.02, 0.98])
        n = min(max((row[f] - lo) / (hi - lo), 0.0), 1.0)
        terms[f] = w * (1.0 - n if f in LESS_IS_RISKIER else n)
    assert row["score"] == pytest.approx(100.0 * sum(terms.values()) / sum(cfg["weights"].values()))
    assert row["top_factor"] == max(terms, key=terms.get)


def test_visit_list_columns_have_one_definition():
    from gis_town.analysis.risk import VISIT_COLUMNS, visit_list
    from gis_town.io import export
    from gis_town.reports import risk as reports

    assert reports.VISIT_COLUMNS is VISIT_COLUMNS
    assert export.VISIT_HEADERS is reports.VISIT_HEADERS
    assert list(reports.VISIT_HEADERS) == list(reports.VISIT_PRINT_COLUMNS)
    views = {*reports.VISIT_PRINT_COLUMNS, *reports.VISIT_MAP_FIELDS} - {"visit_note"}
    assert views <= set(VISIT_COLUMNS)
    assert visit_list.__module__ == "gis_town.analysis.risk.lists"


def test_public_names_importable_and_the_risk_map_imports_no_analysis():
    import ast
    import importlib

    for mod in ("gis_town.analysis.risk", "gis_town.raster"):
        m = importlib.import_module(mod)
        assert all(getattr(m, name) is not None for name in m.__all__), mod
    src = Path(importlib.import_module("gis_town.maps.thematic.risk").__file__).read_text("utf-8")
    imported = [
        n.module if isinstance(n, ast.ImportFrom) else a.name
        for n in ast.walk(ast.parse(src))
        if isinstance(n, (ast.Import, ast.ImportFrom))
        for a in n.names
    ]
    assert not [m for m in imported if m and m.startswith("gis_town.analysis")], imported


def test_abandoned_mu_per_village_is_the_area_totals(outputs):
    """Issue 21: one area per parcel, rounded once: risk_villages.csv's abandoned mu is areas.csv's."""
    tmp, out, _ = outputs
    areas_dir = tmp / "areas"
    assert main(["areas", str(tmp / "demo_town.gpkg"), "--out", str(areas_dir), "-q"]) == 0
    areas = _csv(areas_dir / "areas.csv")
    risk = _csv(out / "risk_villages.csv")
    rows, total = risk.iloc[:-1], risk.iloc[-1]
    ab = areas[areas["status"] == "abandoned"].set_index("village_id")
    mine = rows.set_index("village_id")
    assert ab["area_mu"].to_dict() == mine.loc[ab.index, "abandoned_mu"].to_dict()
    assert (mine.drop(ab.index)["abandoned_mu"] == 0).all()
    assert round(total["abandoned_mu"], 2) == round(ab["area_mu"].sum(), 2)
    assert round(total["abandoned_mu"], 2) == round(rows["abandoned_mu"].sum(), 2)
    # the town's area: the areas 合计, and each village's the sum of its rows there
    assert total["area_mu"] == areas["area_mu"].iloc[-1]
    per_village = areas.iloc[:-1].groupby("village_id")["area_mu"].sum().round(2)
    assert per_village.to_dict() == mine["area_mu"].round(2).to_dict()
    for c in ("high_mu", "medium_mu"):  # balanced: the total is the sum of the rows shown
        assert (rows[c] == rows[c].round(2)).all()
        assert round(total[c], 2) == round(rows[c].sum(), 2)
    # the same parcel's area in risk.csv as in the area totals
    from gis_town.analysis.areas import parcel_areas
    from gis_town.io.town import load_town

    parcels = parcel_areas(load_town(tmp / "demo_town.gpkg").layer("farmland"))
    scored = _csv(out / "risk.csv").set_index("parcel_id")
    np.testing.assert_array_equal(
        scored.loc[parcels["parcel_id"], "area_mu"].to_numpy(), parcels["area_mu"].to_numpy()
    )


def test_map_abandoned_class_and_visit_outline_without_fill(outputs):
    """Issue 21: parcels already abandoned are a class of their own; the visit list is an outline only."""
    from gis_town.io.town import load_town
    from gis_town.maps.thematic import map_specs
    from gis_town.runners import run_topic

    tmp, _, _ = outputs
    town = load_town(
        tmp / "demo_town.gpkg", layers=["villages", "farmland", "roads", "settlements"]
    )
    specs, _, _ = map_specs(town, "risk", result=run_topic("risk", town, town.config))
    layer = next(s for s in specs if s.name == "撂荒风险 abandonment risk")
    gdf = layer.gdf
    abandoned = gdf["status"].astype(str) == "abandoned"
    assert abandoned.any() and (gdf.loc[abandoned, layer.category] == "abandoned").all()
    assert (gdf.loc[~abandoned, layer.category] == gdf.loc[~abandoned, "risk_class"]).all()
    assert "已撂荒" in layer.class_labels["abandoned"]
    ab, high = layer.styles["abandoned"], layer.styles["high"]
    assert ab.fill and ab.fill != high.fill
    visits = next(s for s in specs if s.name.startswith("走访清单"))
    opts = visits.style.to_leaflet()
    assert opts["fill"] is False and "fillColor" not in opts and visits.style.dash
    assert visits.style.weight <= 1.0
