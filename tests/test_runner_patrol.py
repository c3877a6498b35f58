"""The patrol runner: ``gis-town patrol``, ``gis-town map --kind patrol`` and the library agree.

Every caller goes through :func:`gis_town.runners.patrol.run_patrol`, so a
segment's patrol count and coverage in ``patrol_segments.csv`` are what the
map shows for it, and the map's progress classes follow from those numbers.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gis_town.cli import main
from gis_town.io.town import load_town
from gis_town.maps.thematic import map_specs
from gis_town.reports.patrol import PROGRESS_CLASS_LABELS, progress_classes
from gis_town.runners.patrol import run_patrol

REPO = Path(__file__).resolve().parents[1]
TRACKS = REPO / "layers" / "delivered" / "巡河轨迹"

#: Columns the map's segment layer shows, compared with the CSV's.
SHOWN = ["patrols", "patrols_ytd", "target", "due_patrols", "progress", "covered_fraction"]


def _read_segments(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, encoding="utf-8-sig").set_index("segment_id")


def _segment_layer(specs) -> pd.DataFrame:
    (layer,) = [s for s in specs if s.name.startswith("河段巡河进度")]
    return pd.DataFrame(layer.gdf.drop(columns=layer.gdf.geometry.name)).set_index("segment_id")


@pytest.fixture(scope="module")
def cli_outputs(demo_town, tmp_path_factory):
    """``gis-town patrol`` and ``gis-town map --kind patrol`` on the demo town (one run each)."""
    out = tmp_path_factory.mktemp("patrol_runner")
    assert main(["-q", "patrol", str(demo_town), "--out", str(out / "patrol")]) == 0
    assert (
        main(["-q", "map", str(demo_town), "--kind", "patrol", "--out", str(out / "map.html")]) == 0
    )
    return out


def test_cli_segments_equal_the_maps(demo_town, cli_outputs):
    csv = _read_segments(cli_outputs / "patrol" / "patrol_segments.csv")
    town = load_town(demo_town, layers=["rivers", "villages", "roads", "patrols"])
    specs, _title, subtitle = map_specs(town, "patrol", result=run_patrol(town, keep_points=True))
    shown = _segment_layer(specs)
    assert sorted(shown.index) == sorted(csv.index)
    for col in SHOWN:
        np.testing.assert_allclose(
            shown.loc[csv.index, col].to_numpy(dtype=float),
            csv[col].to_numpy(dtype=float),
            rtol=1e-9,
            err_msg=col,
        )
    # one segment by hand: the CSV's numbers, the map's pop-up values
    sid = csv["patrols_ytd"].idxmax()
    assert shown.loc[sid, "patrols_ytd"] == csv.loc[sid, "patrols_ytd"] > 0
    assert shown.loc[sid, "covered_fraction"] == pytest.approx(csv.loc[sid, "covered_fraction"])
    # the map's classes are the report's numbers classed, not a re-run of the analysis
    assert (shown["progress_class"] == progress_classes(csv.reset_index()).to_numpy()).all()
    assert set(shown["progress_class"].dropna()) <= set(PROGRESS_CLASS_LABELS)
    due = csv["due_share"].iloc[0]
    assert subtitle.endswith(f"应完成 due {due:.0%}")
    html = (cli_outputs / "map.html").read_text(encoding="utf-8")
    assert subtitle.split("；")[0] in html  # the CLI's map has the same date


def test_progress_class_from_the_segment_numbers():
    seg = pd.DataFrame(
        {
            "due_share": [0.7] * 5,
            "target": [10.0, 10.0, 10.0, 10.0, np.nan],
            "patrols_ytd": [3, 5, 7, 10, 2],
        }
    )
    # 3 < 0.5 * 7 due; 5 < 7 due; 7 == due; 10 == the year's target; no target
    assert progress_classes(seg).tolist() == [0, 1, 2, 3, pd.NA]


def _some_tracks(folder: Path) -> Path:
    """A few delivered track files: a broken one, a trip exported twice, ten others."""
    if not TRACKS.is_dir():
        pytest.skip("delivered tracks not generated")
    files = sorted(TRACKS.rglob("*.km[lz]"))[:10]
    files += [*TRACKS.rglob("未知_损坏.kml"), *TRACKS.rglob("冯平强_重复导出.kmz")]
    files += list(TRACKS.rglob("冯平强_202305150851.kml"))
    folder.mkdir()
    for f in dict.fromkeys(files):
        shutil.copy(f, folder / f.name)
    return folder


def test_runner_with_tracks_joins_their_rejects_and_counts(demo_town, tmp_path):
    tracks = _some_tracks(tmp_path / "tracks")
    town = load_town(demo_town, layers=["rivers", "villages"], required=("rivers",))
    n_layers = len(town.counts)
    res = run_patrol(town, as_of="2023-12-31", tracks=tracks)
    # the tracks' counts row joins the town's, then the river problems' ([layers.problems] of town.toml)
    assert len(town.counts) == n_layers + 2
    assert list(town.counts["layer"].iloc[-2:]) == ["patrols (tracks)", "problems"]
    tracks_row = town.counts.iloc[-2]
    assert tracks_row["rejected"] > 0 and tracks_row["used"] == res.summary["points"]
    files = res.problems[res.problems["field"] == "file"]
    assert any("未知_损坏.kml" in str(v) for v in files["feature_id"])  # the broken file
    assert (res.problems["field"] == "trip_id").any()  # the trip exported twice, counted once
    # the CLI writes the same rows to rejects.csv
    out = tmp_path / "out"
    argv = ["-q", "patrol", str(demo_town), "--tracks", str(tracks), "--as-of", "2023-12-31"]
    assert main([*argv, "--out", str(out)]) == 0
    rejects = pd.read_csv(out / "rejects.csv", encoding="utf-8-sig")
    assert (rejects["field"] == "file").sum() == len(files)
    seg = _read_segments(out / "patrol_segments.csv")
    np.testing.assert_allclose(
        res.segments.set_index("segment_id").loc[seg.index, "covered_fraction"],
        seg["covered_fraction"],
    )


def test_patrol_map_without_a_result_calls_the_runner(demo_town, monkeypatch):
    import gis_town.runners.patrol as runner

    town = load_town(demo_town, layers=["rivers", "villages", "patrols"])
    calls = []
    real = runner.run_patrol

    def spy(*args, **kwargs):
        calls.append(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(runner, "run_patrol", spy)
    specs, *_ = map_specs(town, "patrol", as_of="2023-06-30")
    assert calls == [{"as_of": "2023-06-30", "tracks": None, "keep_points": True}]
    assert len(_segment_layer(specs))


def test_cli_patrol_does_not_write_beside_the_town(demo_town, tmp_path):
    town = tmp_path / "town"
    town.mkdir()
    shutil.copy(demo_town, town / "demo_town.gpkg")
    before = sorted(p.name for p in town.iterdir())
    assert main(["-q", "patrol", str(town / "demo_town.gpkg"), "--out", str(tmp_path / "o")]) == 0
    assert sorted(p.name for p in town.iterdir()) == before
    written = sorted(p.name for p in (tmp_path / "o").iterdir())
    assert [n for n in written if re.match(r"patrol_.*\.csv$", n)] == [
        "patrol_chiefs.csv",
        "patrol_invalid_trips.csv",
        "patrol_periods.csv",
        "patrol_segments.csv",
        "patrol_trips.csv",
        "patrol_villages.csv",
    ]


def test_patrol_map_names_segments_and_styles_blind_spots(demo_town, cli_outputs):
    town = load_town(demo_town, layers=["rivers", "villages", "roads", "patrols"])
    specs, _title, _sub = map_specs(town, "patrol", result=run_patrol(town, keep_points=True))
    by_name = {s.name.split(" ")[0]: s for s in specs}
    seg = by_name["河段巡河进度"]
    # hover: the segment's id, river and chief (and the true share), not only a colour
    assert {"segment_id", "river_name", "chief"} <= set(seg.tooltip)
    assert {"segment_id", "river_name", "chief"} <= set(seg.fields)
    csv = _read_segments(cli_outputs / "patrol" / "patrol_segments.csv")
    sid = csv["patrols_ytd"].idxmax()
    row = seg.gdf.set_index("segment_id").loc[sid]
    p, t = int(csv.loc[sid, "patrols_ytd"]), csv.loc[sid, "target"]
    assert row["progress_text"] == f"{p}/{t:g} ({100 * p / t:.0f}%)"  # the true share, not capped
    # labels: "id river chief" at each segment's middle, in a layer turned on when zoomed in
    names = by_name["河段名称"]
    assert names.label_field == "name_label" and not names.show
    label = names.gdf.set_index("segment_id").loc[sid, "name_label"]
    assert label == f"{sid} {csv.loc[sid, 'river_name']} {csv.loc[sid, 'chief']}"
    # blind spots: a thick solid line (no dotted black tick) with its length, and a ring marker
    gaps = by_name["巡河盲区"]
    assert "length_m" in gaps.fields and "length_m" in gaps.gdf.columns
    assert "gap_text" in gaps.tooltip and gaps.style.dash is None and gaps.style.weight >= 6
    g0 = gaps.gdf.iloc[0]
    assert g0["gap_text"] == f"盲区 blind spot {g0['length_m']:,.0f} 米 m"
    marks = by_name["巡河盲区位置"]
    assert marks.kind == "point" and len(marks.gdf) == len(gaps.gdf)
    html = (cli_outputs / "map.html").read_text(encoding="utf-8")
    assert label in html and g0["gap_text"] in html


def test_patrol_map_names_are_escaped(demo_town):
    town = load_town(demo_town, layers=["rivers", "villages", "roads", "patrols"])
    res = run_patrol(town, keep_points=True)
    res.segments.loc[0, "river_name"] = "<b>河</b>"
    res.segments.loc[0, "chief"] = '"&'
    from gis_town.maps.base import map_html
    from gis_town.maps.thematic.patrol import patrol_map

    page = map_html(patrol_map(town, result=res, basemap="none"))
    assert "<b>河</b>" not in page
    assert "&lt;b&gt;河&lt;/b&gt;" in page
