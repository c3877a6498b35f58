"""Bad input for the readers of data as it arrives: .gdb, KML, Excel ledgers.

Each case runs a command as a user would (``main``) and expects exit 2 with
one message naming what to fix, or exit 0 with the feature in
``rejects.csv``; never a traceback, and the inputs untouched.
``INTAKE_CASES`` also feeds docs/bad_inputs.md (``make_report``).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from gis_town.cli import main
from tests.demo_files import copy_demo

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "layers"

KML_NO_TIME = (
    '<?xml version="1.0" encoding="UTF-8"?><kml xmlns="http://www.opengis.net/kml/2.2"><Document>'
    "<Placemark><LineString><coordinates>104.58,35.60 104.59,35.61</coordinates></LineString></Placemark>"
    "</Document></kml>"
)


def _demo(tmp: Path, extra_config: str = "") -> Path:
    town = copy_demo(tmp)
    text = (DEMO / "town.toml").read_text(encoding="utf-8") + "\n" + extra_config
    (tmp / "town.toml").write_text(text, encoding="utf-8")
    return town


def _gdb_without_dltb(tmp: Path) -> list[str]:
    import geopandas as gpd
    import pyogrio
    from shapely.geometry import box

    gdb = tmp / "缺图斑.gdb"
    cj = gpd.GeoDataFrame({"ZLDWDM": ["6211021020010000000"], "ZLDWMC": ["甲村"]},
                          geometry=[box(35_460_000, 3_940_000, 35_461_000, 3_941_000)], crs="EPSG:4523")
    pyogrio.write_dataframe(cj, gdb, layer="CJDCQ", driver="OpenFileGDB")
    return ["areas", str(gdb), "--out", str(tmp / "out" / "areas.csv")]


def _kml_no_times_alone(tmp: Path) -> list[str]:
    town = _demo(tmp)
    f = tmp / "张三_0601.kml"
    f.write_text(KML_NO_TIME, encoding="utf-8")
    return ["patrol", str(town), "--tracks", str(f), "--out", str(tmp / "out")]


def _kml_no_times_in_folder(tmp: Path) -> list[str]:
    import geopandas as gpd

    from gis_town.demo.delivered import demo_trips, write_trip_kml

    town = _demo(tmp)
    trips = demo_trips(gpd.read_file(town, layer="patrols"))
    folder = tmp / "巡河"
    write_trip_kml(folder / "ok_1.kml", trips[0])
    (folder / "张三_0601.kml").write_text(KML_NO_TIME, encoding="utf-8")
    return ["patrol", str(town), "--tracks", str(folder), "--out", str(tmp / "out")]


def _ledger(tmp: Path, rows: list[list], *, merge: str | None = None) -> Path:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    for r in rows:
        ws.append(r)
    if merge:
        ws.merge_cells(merge)
    path = tmp / "台账.xlsx"
    wb.save(path)
    return path


_LEDGER_CONFIG = '[layers.resettlement]\npath = "台账.xlsx"\n'
_HEAD = ["户编号", "村代码", "安置方式", "入住", "经度", "纬度"]


def _ledger_merged_header(tmp: Path) -> list[str]:
    town = _demo(tmp, _LEDGER_CONFIG)
    _ledger(tmp, [["户编号", "村代码", "进度", None], [None, None, "入住", "拆旧"], ["H1", "V01", "2023-5-1", None]],
            merge="C1:D1")
    return ["progress", str(town), "--as-of", "2023-06-30", "--out", str(tmp / "out")]


def _ledger_empty_sheet(tmp: Path) -> list[str]:
    town = _demo(tmp, _LEDGER_CONFIG)
    _ledger(tmp, [])
    return ["progress", str(town), "--as-of", "2023-06-30", "--out", str(tmp / "out")]


def _ledger_bad_dms(tmp: Path) -> list[str]:
    town = _demo(tmp, _LEDGER_CONFIG)
    _ledger(tmp, [_HEAD, ["H1", "V01", "进城", "2023年5月1日", "104°35′10″", "35°36′00″"],
                  ["H2", "V01", "乡镇", "2023.5.2", "104度三十五分", "35.6"]])
    return ["progress", str(town), "--as-of", "2023-06-30", "--out", str(tmp / "out")]


def _ledger_no_coordinates(tmp: Path) -> list[str]:
    town = _demo(tmp, _LEDGER_CONFIG)
    _ledger(tmp, [["户编号", "村代码", "安置方式"], ["H1", "V01", "进城"]])
    return ["progress", str(town), "--as-of", "2023-06-30", "--out", str(tmp / "out")]


#: name -> (build the input and return the command line, expected exit, text the user must see)
INTAKE_CASES: dict[str, tuple[Callable[[Path], list[str]], int, str]] = {
    ".gdb without DLTB": (_gdb_without_dltb, 2, "farmland"),
    "KML track with no times (alone)": (_kml_no_times_alone, 2, "TimeSpan"),
    "KML track with no times (in a folder)": (_kml_no_times_in_folder, 0, "张三_0601.kml"),
    "xlsx ledger with merged header cells": (_ledger_merged_header, 2, "C1:D1"),
    "xlsx ledger with an empty sheet": (_ledger_empty_sheet, 2, "为空"),
    "xlsx ledger row with 度分秒 that cannot be read": (_ledger_bad_dms, 0, "104度三十五分"),
    "xlsx ledger without coordinates or join": (_ledger_no_coordinates, 2, "join_layer"),
}


def run_case(build: Callable[[Path], list[str]], tmp: Path) -> tuple[int, str, str, list[str]]:
    """Run one case; return (exit code, stdout, stderr, the command line)."""
    argv = build(tmp)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = main(argv)
    return rc, out.getvalue(), err.getvalue(), argv


def _digests(folder: Path) -> dict[str, str]:
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.rglob("*") if p.is_file()
            and "out" not in p.relative_to(folder).parts}


@pytest.mark.parametrize("name", list(INTAKE_CASES))
def test_intake_bad_input(name, tmp_path):
    build, want_rc, needle = INTAKE_CASES[name]
    rc, _out, err, argv = run_case(build, tmp_path)
    assert rc == want_rc, err
    assert "Traceback" not in err
    if want_rc == 2:
        assert needle in err and err.count("错误 error:") == 1
    else:
        rejects = pd.read_csv(Path(argv[argv.index("--out") + 1]) / "rejects.csv", dtype=str)
        assert rejects.apply(lambda r: needle in " ".join(map(str, r.values)), axis=1).any()


def test_inputs_are_not_modified(tmp_path):
    for i, (build, _rc, _needle) in enumerate(INTAKE_CASES.values()):
        folder = tmp_path / str(i)
        folder.mkdir()
        argv = build(folder)
        before = _digests(folder)
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            main(argv)
        assert _digests(folder) == before, argv
