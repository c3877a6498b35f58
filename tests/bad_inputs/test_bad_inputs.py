"""The bad-input suite: every command, every kind of bad input.

A file or layer that cannot be used stops the command with exit code 2 and one
clear message (file, layer, field; no traceback). A feature that cannot be
used goes to ``rejects.csv`` with its reason and the run goes on. Input files
are never modified (checksums before and after every command).
"""

from __future__ import annotations

import hashlib
import importlib.util
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
import shapely.affinity
from shapely.geometry import LineString, Point, Polygon

from gis_town.cli import main
from tests.bad_inputs.factory import X0, Y0, layers, make_town, write_raster

# command -> (argv after the town path, layers it reads)
COMMANDS = {
    "areas": (["--out", "{out}/areas.csv"], {"villages", "farmland", "zones", "basic_farmland"}),
    "patrol": (["--as-of", "2023-06-30", "--out", "{out}"], {"rivers", "patrols"}),
    "risk": (["--out", "{out}"], {"farmland", "villages", "roads", "settlements"}),
    "progress": (["--as-of", "2023-06-30", "--out", "{out}"], {"afforestation", "resettlement", "reclamation", "farmland", "zones", "roads", "villages"}),
    "map": (["--kind", "layout", "--out", "{out}/layout.html"], {"villages", "farmland", "zones", "rivers", "roads"}),
}


def _available(cmd: str) -> bool:
    return importlib.util.find_spec(f"gis_town.cli.{cmd}") is not None


def _digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


def run_cmd(cmd: str, town: Path, out: Path, capsys) -> tuple[int, str, str]:
    tail, _ = COMMANDS[cmd]
    before = _digests(town.parent)
    rc = main([cmd, str(town), *[a.format(out=out) for a in tail]])
    captured = capsys.readouterr()
    assert _digests(town.parent) == before, "an input file was modified"
    assert "Traceback" not in captured.err
    return rc, captured.out, captured.err


def _assert_no_partial(out: Path) -> None:
    if out.exists():
        assert not [p for p in out.rglob("*") if ".tmp" in p.name], "temporary files left behind"


# ---- layer-level problems: exit code 2, one message naming file/layer/field -------------------------

def _drop_field(name, field):
    return lambda: {name: layers()[name].drop(columns=[field])}


def _no_crs(name):
    return lambda: {name: layers()[name].set_crs(None, allow_override=True)}


def _swapped(name):
    def make():
        g = layers()[name]
        return {name: g.set_geometry(shapely.transform(g.geometry.values, lambda xy: xy[:, ::-1]), crs=g.crs)}
    return make


def _metres_as_degrees(name):
    return lambda: {name: layers()[name].to_crs("EPSG:4544").set_crs("EPSG:4490", allow_override=True)}


def _huge(name):
    def make():
        g = layers()[name]
        return {name: g.set_geometry(g.geometry.map(lambda geom: shapely.affinity.scale(geom, 1e12, 1e12)))}
    return make


def _empty(name):
    return lambda: {name: layers()[name].iloc[:0]}


LAYER_CASES = {
    "missing required field": ("farmland", _drop_field("farmland", "status"), "status"),
    "missing required field (rivers)": ("rivers", _drop_field("rivers", "chief"), "chief"),
    "layer without CRS": ("farmland", _no_crs("farmland"), "CRS"),
    "lat/lon swapped": ("villages", _swapped("villages"), "swapped"),
    "metres labelled as degrees": ("farmland", _metres_as_degrees("farmland"), "metres"),
    "very large coordinates": ("farmland", _huge("farmland"), "large"),
    "empty layer": ("farmland", _empty("farmland"), "no features"),
    "empty rivers layer": ("rivers", _empty("rivers"), "no features"),
}


def _pairs(cases: dict) -> list:
    """(command, case) for every command that reads the case's layer."""
    return [pytest.param(cmd, case, id=f"{cmd}-{case}") for case, spec in cases.items() for cmd in COMMANDS if spec[0] in COMMANDS[cmd][1]]


@pytest.mark.parametrize(("cmd", "case"), _pairs(LAYER_CASES))
def test_unusable_layer_exit_2(cmd, case, tmp_path, capsys):
    if not _available(cmd):
        pytest.skip(f"{cmd} not built")
    layer, make, needle = LAYER_CASES[case]
    town = make_town(tmp_path / "town", overrides=make())
    out = tmp_path / "out"
    rc, _, err = run_cmd(cmd, town, out, capsys)
    assert rc == 2, err
    assert needle.lower() in err.lower()
    assert layer in err
    assert err.strip().count("\n") < 15, "one clear message, not a wall of text"
    _assert_no_partial(out)


@pytest.mark.parametrize("cmd", list(COMMANDS))
def test_missing_file_exit_2(cmd, tmp_path, capsys):
    if not _available(cmd):
        pytest.skip(f"{cmd} not built")
    make_town(tmp_path / "town")
    rc = main([cmd, str(tmp_path / "town" / "nope.gpkg"), *[a.format(out=tmp_path / "o") for a in COMMANDS[cmd][0]]])
    err = capsys.readouterr().err
    assert rc == 2 and "not found" in err and "nope.gpkg" in err


@pytest.mark.parametrize("cmd", list(COMMANDS))
def test_truncated_geopackage_exit_2(cmd, tmp_path, capsys):
    if not _available(cmd):
        pytest.skip(f"{cmd} not built")
    town = make_town(tmp_path / "town")
    data = town.read_bytes()
    town.write_bytes(data[: len(data) // 4])
    rc, _, err = run_cmd(cmd, town, tmp_path / "out", capsys)
    assert rc == 2 and "town.gpkg" in err


@pytest.mark.parametrize("cmd", list(COMMANDS))
def test_bad_config_exit_2(cmd, tmp_path, capsys):
    if not _available(cmd):
        pytest.skip(f"{cmd} not built")
    town = make_town(tmp_path / "town", config='[town]\nname = "x"\nyear = "soon"\n[patrol]\nspeed = 3\n')
    rc, _, err = run_cmd(cmd, town, tmp_path / "out", capsys)
    assert rc == 2
    assert "town.year" in err and "patrol.speed" in err


# ---- feature-level problems: rejected with a reason, the run goes on, read = used + rejected ------------

BOWTIE_OFFSET = Polygon([(0, 0), (200, 200), (200, 0), (0, 200)])


def _farmland_with(i: int, **changes):
    def make():
        g = layers()["farmland"].copy()
        for field, value in changes.items():
            if field == "geometry":
                g = g.set_geometry(list(g.geometry.iloc[:i]) + [value] + list(g.geometry.iloc[i + 1:]), crs=g.crs)
            else:
                g[field] = g[field].astype(object)
                g.loc[g.index[i], field] = value
        return {"farmland": g}
    return make


def _gk_to_geo(geom):
    return gpd.GeoSeries([geom], crs="EPSG:4544").to_crs("EPSG:4490").iloc[0]


FEATURE_CASES = {
    "unknown status": ("farmland", _farmland_with(2, status="荒了"), "P3", "status", "rejected"),
    "duplicate id": ("farmland", _farmland_with(3, parcel_id="P1"), "P1", "parcel_id", "rejected"),
    "null geometry": ("farmland", _farmland_with(4, geometry=None), "P5", "geometry", "rejected"),
    "empty geometry": ("farmland", _farmland_with(4, geometry=Polygon()), "P5", "geometry", "rejected"),
    "point in a polygon layer (mixed types)": ("farmland", _farmland_with(5, geometry=_gk_to_geo(Point(X0 + 10, Y0 + 10))), "P6", "geometry", "rejected"),
    "bow-tie (repaired)": ("farmland", _farmland_with(6, geometry=_gk_to_geo(shapely.affinity.translate(BOWTIE_OFFSET, X0 + 100, Y0 + 750))), "P7", "geometry", "repaired"),
    "wrong field type": ("farmland", _farmland_with(7, declared_area_mu="六十亩"), "P8", "declared_area_mu", "rejected"),
    "zero-length river segment": ("rivers", lambda: {"rivers": layers()["rivers"].set_geometry(
        [_gk_to_geo(LineString([(X0, Y0), (X0, Y0)])), layers()["rivers"].geometry.iloc[1]], crs="EPSG:4490")}, "R1", "geometry", "rejected"),
    "unparseable date": ("resettlement", lambda: {"resettlement": layers()["resettlement"].assign(moved_in=["二月初", ""])}, "H1", "moved_in", "rejected"),
    "unknown destination": ("resettlement", lambda: {"resettlement": layers()["resettlement"].assign(destination=["进城", "外省"])}, "H2", "destination", "rejected"),
    "unknown afforestation kind": ("afforestation", lambda: {"afforestation": layers()["afforestation"].assign(kind=["面山绿化", "竹林"])}, "A2", "kind", "rejected"),
    "unknown chief level": ("rivers", lambda: {"rivers": layers()["rivers"].assign(chief_level=["town", "省级"])}, "R2", "chief_level", "rejected"),
}


@pytest.mark.parametrize(("cmd", "case"), _pairs(FEATURE_CASES))
def test_unusable_feature_rejected_and_run_goes_on(cmd, case, tmp_path, capsys):
    if not _available(cmd):
        pytest.skip(f"{cmd} not built")
    layer, make, fid, field, action = FEATURE_CASES[case]
    town = make_town(tmp_path / "town", overrides=make())
    out = tmp_path / "out"
    rc, stdout, err = run_cmd(cmd, town, out, capsys)
    assert rc in (0, 1), err
    rejects = pd.read_csv(out / "rejects.csv", encoding="utf-8-sig", dtype=str)
    row = rejects[(rejects["layer"] == layer) & (rejects["feature_id"] == fid) & (rejects["field"] == field)]
    assert len(row) >= 1, rejects
    assert row["action"].iloc[0] == action and row["reason"].iloc[0]
    assert "剔除 rejected" in stdout or "rejected" in stdout


def test_gbk_shapefile_town_folder_reads_chinese(tmp_path, capsys):
    """A town as a folder of GBK shapefiles without .cpg, Chinese column names mapped in the config."""
    folder = tmp_path / "shp"
    folder.mkdir()
    data = layers()
    f = data["farmland"].rename(columns={"parcel_id": "地块号", "village_id": "村代码", "status": "状态"})
    f[["地块号", "村代码", "状态", "geometry"]].to_file(folder / "farmland.shp", encoding="gbk", engine="pyogrio")
    data["villages"][["village_id", "name", "geometry"]].to_file(folder / "villages.shp", encoding="gbk", engine="pyogrio")
    for cpg in folder.glob("*.cpg"):
        cpg.unlink()
    (folder / "town.toml").write_text(
        '[layers.farmland]\nfields = { "地块号" = "parcel_id", "村代码" = "village_id", "状态" = "status" }\n', encoding="utf-8")
    assert main(["areas", str(folder), "--out", str(tmp_path / "o" / "a.csv")]) == 0
    t = pd.read_csv(tmp_path / "o" / "a.csv", encoding="utf-8-sig")
    assert "将台村" in set(t["village_name"])


def test_corrupt_geotiff_exit_2(tmp_path, capsys):
    if not _available("risk"):
        pytest.skip("risk not built")
    town = make_town(tmp_path / "town")
    dem = tmp_path / "town" / "dem.tif"
    dem.write_bytes(dem.read_bytes()[:300])
    rc, _, err = run_cmd("risk", town, tmp_path / "out", capsys)
    assert rc == 2 and "dem.tif" in err and "corrupt" in err


def test_corrupt_shapefile_exit_2(tmp_path, capsys):
    folder = tmp_path / "shp"
    folder.mkdir()
    data = layers()
    data["farmland"][["parcel_id", "village_id", "status", "geometry"]].to_file(folder / "farmland.shp", engine="pyogrio")
    shp = folder / "farmland.shp"
    shp.write_bytes(shp.read_bytes()[:150])
    rc = main(["areas", str(folder), "--out", str(tmp_path / "o" / "a.csv")])
    err = capsys.readouterr().err
    assert rc == 2 and "farmland.shp" in err and "Traceback" not in err


def test_raster_not_overlapping_exit_2(tmp_path, capsys):
    if not _available("risk"):
        pytest.skip("risk not built")
    town = make_town(tmp_path / "town")
    write_raster(tmp_path / "town" / "dem.tif", np.full((20, 20), 2000.0), x0=X0 + 100_000, y0=Y0 + 100_000)
    rc, _, err = run_cmd("risk", town, tmp_path / "out", capsys)
    assert rc == 2 and "overlap" in err.lower()


def test_unparseable_patrol_times(tmp_path, capsys):
    if not _available("patrol"):
        pytest.skip("patrol not built")
    p = layers()["patrols"].copy()
    p.loc[p.index[5], "time"] = "昨天下午"
    town = make_town(tmp_path / "town", overrides={"patrols": p})
    rc, _, err = run_cmd("patrol", town, tmp_path / "out", capsys)
    if rc == 2:
        assert "time" in err
    else:
        rej = pd.read_csv(tmp_path / "out" / "rejects.csv", encoding="utf-8-sig", dtype=str)
        assert (rej["field"] == "time").any()
