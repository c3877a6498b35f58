"""``-q`` prints only errors; Python warnings are logged at their level, never printed raw (issue 13)."""

from __future__ import annotations

import logging
import re
import subprocess
import sys
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import Polygon, box

from gis_town.cli import main
from gis_town.cli.console import Console, log_level, routed_warnings, warning_level

REPO = Path(__file__).resolve().parent.parent
DEMO = REPO / "layers" / "demo_town.gpkg"

#: A warning as Python prints it: "path/file.py:123: RuntimeWarning: ..."
RAW_WARNING = re.compile(r"\.py:\d+: \w*Warning")


def _cli(*argv: str, cwd: Path = REPO) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "gis_town", *argv],
        capture_output=True,
        text=True,
        encoding="utf-8",
        errors="replace",
        cwd=str(cwd),
        check=False,
    )


@pytest.fixture
def nan_town(tmp_path) -> Path:
    """A town whose third parcel has a NaN coordinate (shapely warns reading it: from_wkb)."""
    path = tmp_path / "town.gpkg"
    crs = "EPSG:4544"
    gpd.GeoDataFrame(
        {"village_id": ["V1"], "name": ["将台村"]},
        geometry=[box(500_000, 3_940_000, 501_000, 3_941_000)],
        crs=crs,
    ).to_file(path, layer="villages")
    with np.errstate(invalid="ignore"):  # shapely warns building it, too
        nan_poly = Polygon([(500_600, 3_940_000), (np.nan, 3_940_000), (500_700, 3_940_100), (500_600, 3_940_000)])
    gpd.GeoDataFrame(
        {"parcel_id": ["P1", "P2", "P3"], "village_id": ["V1"] * 3, "status": ["耕种", "撂荒", "耕种"]},
        geometry=[box(500_000, 3_940_000, 500_100, 3_940_100), box(500_200, 3_940_000, 500_300, 3_940_050), nan_poly],
        crs=crs,
    ).to_file(path, layer="farmland")
    return path


def test_quiet_areas_prints_nothing(tmp_path):
    """The issue's test: a successful command with -q prints nothing at all, and exits 0."""
    if not DEMO.exists():
        pytest.skip("demo town not generated")
    r = _cli("-q", "areas", str(DEMO), "--out", str(tmp_path / "areas.csv"))
    assert r.returncode == 0, r.stderr
    assert r.stdout == "" and r.stderr == ""
    assert (tmp_path / "areas.csv").exists() and (tmp_path / "areas.xlsx").exists()
    assert not (tmp_path / "rejects.csv").exists()  # nothing rejected in the demo town: no header-only file


def test_quiet_after_the_command_name_too(nan_town, tmp_path, capsys):
    assert main(["areas", str(nan_town), "-q", "--out", str(tmp_path / "a.csv")]) == 0
    out, err = capsys.readouterr()
    assert out == "" and err == ""


def test_without_quiet_the_output_is_unchanged(nan_town, tmp_path, capsys):
    assert main(["areas", str(nan_town), "--out", str(tmp_path / "a.csv")]) == 0
    out, err = capsys.readouterr()
    assert "耕地面积 farmland area by village" in out and "将台村" in out
    assert "要素统计 / feature accounting" in out and "剔除 rejected" in out
    assert "已写出 wrote" in out
    assert "WARNING: farmland: 1 个要素被剔除" in err  # our own warning, at WARNING


def test_quiet_still_shows_errors(tmp_path, capsys):
    assert main(["-q", "areas", str(tmp_path / "nope.gpkg")]) == 2
    out, err = capsys.readouterr()
    assert out == "" and "错误 error" in err and "not found" in err


def test_warning_input_shows_no_raw_warning(nan_town, tmp_path):
    """Shapely's RuntimeWarning on the NaN coordinate is not printed raw; -v shows it as a log line."""
    r = _cli("areas", str(nan_town), "--out", str(tmp_path / "a.csv"))
    assert r.returncode == 0, r.stderr
    assert not RAW_WARNING.search(r.stderr), r.stderr
    assert "RuntimeWarning" not in r.stderr  # numeric noise: below the default level
    assert "1 个要素被剔除" in r.stderr  # our own warning is there
    q = _cli("-q", "areas", str(nan_town), "--out", str(tmp_path / "b.csv"))
    assert q.returncode == 0 and q.stdout == "" and q.stderr == ""
    v = _cli("-v", "areas", str(nan_town), "--out", str(tmp_path / "c.csv"))
    assert v.returncode == 0 and not RAW_WARNING.search(v.stderr), v.stderr
    if "RuntimeWarning" in v.stderr:  # when the reader still warns: one INFO line naming shapely
        assert re.search(r"^INFO: \w+ \(\w+\.py:\d+\): RuntimeWarning: ", v.stderr, re.M), v.stderr


def _warn(category: type[Warning], text: str, filename: str) -> None:
    warnings.warn_explicit(text, category, filename, 1, registry={})


@pytest.mark.parametrize(
    ("category", "text", "filename", "level"),
    [
        (RuntimeWarning, "invalid value encountered in from_wkb", "/x/site-packages/shapely/io.py", logging.INFO),
        (RuntimeWarning, "divide by zero encountered in divide", "/x/gis_town/raster.py", logging.INFO),
        (RuntimeWarning, "Mean of empty slice", "/x/site-packages/numpy/lib/_nanfunctions_impl.py", logging.INFO),
        (FutureWarning, "the default will change", "/x/site-packages/pandas/core/frame.py", logging.DEBUG),
        (DeprecationWarning, "use @ not *", "/x/site-packages/rasterio/windows.py", logging.DEBUG),
        (UserWarning, "our own caveat", str(REPO / "gis_town" / "geodesy.py"), logging.WARNING),
        (UserWarning, "a library's caveat", "/x/site-packages/pyogrio/raw.py", logging.WARNING),
    ],
)
def test_warning_levels(category, text, filename, level):
    assert warning_level(category, text, filename) == level


def test_routed_warnings_log_one_line_and_restore(capsys):
    from gis_town.cli.console import configure

    configure(verbose=1)  # INFO: numeric noise visible
    before = warnings.showwarning
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        with routed_warnings():
            _warn(RuntimeWarning, "invalid value encountered in from_wkb", "/x/site-packages/shapely/io.py")
            _warn(FutureWarning, "developer note", "/x/site-packages/pandas/core/frame.py")
        assert warnings.showwarning is before
    err = capsys.readouterr().err
    assert "INFO: shapely (io.py:1): RuntimeWarning: invalid value encountered in from_wkb" in err
    assert "developer note" not in err  # DEBUG: only with -vv
    assert not RAW_WARNING.search(err)
    configure(quiet=1)
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        with routed_warnings():
            _warn(UserWarning, "our own caveat", str(REPO / "gis_town" / "geodesy.py"))
    assert capsys.readouterr().err == ""  # -q: nothing below ERROR
    configure()


def test_console_levels(capsys):
    c = Console()
    c.echo("shown")
    c.set_level(logging.ERROR)
    c.echo("hidden")
    c.error("an error")
    c.set_level(logging.CRITICAL)  # capped: errors always shown
    c.error("still shown")
    out, err = capsys.readouterr()
    assert out == "shown\n" and err == "an error\nstill shown\n"
    assert log_level() == logging.WARNING and log_level(quiet=1) == logging.ERROR
    assert log_level(verbose=1) == logging.INFO and log_level(verbose=5) == logging.DEBUG


@pytest.mark.slow
def test_quiet_demo_prints_nothing(tmp_path):
    """``gis-town -q demo``: every step quiet too (the demo passes -q on to each)."""
    if not DEMO.exists():
        pytest.skip("demo town not generated")
    r = _cli("-q", "demo", "--town", str(DEMO), "--reports", str(tmp_path / "r"), "--maps", str(tmp_path / "m"),
             cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout == "" and r.stderr == ""
    assert (tmp_path / "r" / "areas.csv").exists() and (tmp_path / "m" / "layout.html").exists()
