"""Patrol tracks as phone apps export them: KML/KMZ files, folders of mixed files, trips exported twice."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gis_town.errors import FieldError, LayerError
from gis_town.io.tracks import chief_from_filename, read_tracks

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "layers" / "demo_town.gpkg"

KML_HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<kml xmlns="http://www.opengis.net/kml/2.2" xmlns:gx="http://www.google.com/kml/ext/2.2" '
    'xmlns:atom="http://www.w3.org/2005/Atom"><Document>'
)
KML_TAIL = "</Document></kml>"


def gx_track(whens: list[str], lonlat: list[tuple[float, float]], *, chief: str | None = None) -> str:
    ext = (
        f'<ExtendedData><Data name="河长"><value>{chief}</value></Data></ExtendedData>' if chief else ""
    )
    body = "".join(f"<when>{w}</when>" for w in whens)
    body += "".join(f"<gx:coord>{x!r} {y!r} 2000</gx:coord>" for x, y in lonlat)
    return f"<Placemark><name>巡河</name>{ext}<gx:Track>{body}</gx:Track></Placemark>"


def write_kml(path: Path, placemarks: str, *, author: str | None = None) -> Path:
    head = KML_HEAD + (f"<atom:author><atom:name>{author}</atom:name></atom:author>" if author else "")
    path.write_text(head + placemarks + KML_TAIL, encoding="utf-8")
    return path


def test_gx_track_times_and_chief_from_extended_data(tmp_path):
    f = write_kml(
        tmp_path / "trip.kml",
        gx_track(
            ["2023-06-01T00:00:00Z", "2023-06-01T00:10:00Z"],
            [(104.6, 35.6), (104.61, 35.6)],
            chief="王五",
        ),
    )
    pts = read_tracks(f)
    assert list(pts["chief"]) == ["王五", "王五"]
    # 00:00 UTC is 08:00 Beijing time
    assert pts["time"].iloc[0] == pd.Timestamp("2023-06-01 08:00", tz="Asia/Shanghai")
    assert pts.geometry.x.tolist() == [104.6, 104.61] and str(pts.crs) == "EPSG:4326"
    assert pts["trip_id"].nunique() == 1


def test_linestring_with_timespan_interpolates_by_distance(tmp_path):
    # three fixes on a meridian: 0, 1 and 3 km north; 30 minutes in all
    lat0 = 35.6
    dlat = 1000.0 / 110_950.0  # about 1 km of latitude at 35.6 N
    coords = f"104.6,{lat0} 104.6,{lat0 + dlat} 104.6,{lat0 + 3 * dlat}"
    pm = (
        "<Placemark><TimeSpan><begin>2023-06-01T08:00:00+08:00</begin>"
        "<end>2023-06-01T08:30:00+08:00</end></TimeSpan>"
        f"<LineString><coordinates>{coords}</coordinates></LineString></Placemark>"
    )
    pts = read_tracks(write_kml(tmp_path / "李四_0601.kml", pm))
    assert set(pts["chief"]) == {"李四"}  # from the file name
    minutes = (pts["time"] - pts["time"].iloc[0]).dt.total_seconds().to_numpy() / 60
    assert minutes == pytest.approx([0.0, 10.0, 30.0], abs=0.05)
    assert pts["time_interpolated"].all()


def test_timestamped_points_and_kmz(tmp_path):
    pms = "".join(
        f"<Placemark><TimeStamp><when>2023-06-01T08:0{i}:00</when></TimeStamp>"
        f"<Point><coordinates>104.6{i},35.6,0</coordinates></Point></Placemark>"
        for i in range(3)
    )
    kml = tmp_path / "doc.kml"
    write_kml(kml, pms, author="赵六")
    kmz = tmp_path / "x.kmz"
    with zipfile.ZipFile(kmz, "w") as z:
        z.write(kml, "doc.kml")
    pts = read_tracks(kmz)
    assert len(pts) == 3 and set(pts["chief"]) == {"赵六"}
    # no zone: Beijing time, as for CSV files
    assert pts["time"].iloc[0] == pd.Timestamp("2023-06-01 08:00", tz="Asia/Shanghai")


def test_chief_from_filename_pattern():
    assert chief_from_filename("a/张三_20230601.kml") == "张三"
    assert chief_from_filename("20230601.kml") is None
    assert chief_from_filename("巡河-王五-0601.gpx", r"^巡河-([^-]+)-") == "王五"


@pytest.mark.parametrize(
    "text, error",
    [
        ("", LayerError),
        ("<kml><Document>", LayerError),
        (KML_HEAD + "<Placemark><Point><coordinates>104,35</coordinates></Point></Placemark>" + KML_TAIL, LayerError),
        (
            KML_HEAD
            + "<Placemark><LineString><coordinates>104,35 104.1,35</coordinates></LineString></Placemark>"
            + KML_TAIL,
            FieldError,
        ),
        (KML_HEAD + gx_track(["2023-06-01T08:00:00"], [(104.6, 35.6)]) + KML_TAIL, FieldError),  # no chief
        (KML_HEAD + gx_track(["昨天"], [(104.6, 35.6)], chief="甲") + KML_TAIL, FieldError),
    ],
    ids=["empty", "broken", "no-times", "line-no-timespan", "no-chief", "bad-time"],
)
def test_bad_kml_names_the_problem(tmp_path, text, error):
    f = tmp_path / "trip.kml"
    f.write_text(text, encoding="utf-8")
    with pytest.raises(error) as exc:
        read_tracks(f)
    assert "trip.kml" in str(exc.value)


# --------------------------------------------------------------------------- the demo town as KML trips


@pytest.fixture(scope="module")
def kml_folder(tmp_path_factory):
    """The demo's trips as a phone app exports them (the demo town as delivered), one exported twice, one broken."""
    import geopandas as gpd

    from gis_town.demo.delivered import demo_trips, write_trip_kml

    folder = tmp_path_factory.mktemp("tracks")
    trips = demo_trips(gpd.read_file(DEMO, layer="patrols"))
    files = []
    for i, trip in enumerate(trips):
        start = pd.to_datetime(trip["time"]).min()
        sub = folder / ("2023上半年" if start.month <= 6 else "2023下半年")
        name = f"{trip['chief'].iloc[0]}_{start:%Y%m%d%H%M}_{i}.kml"
        files.append(write_trip_kml(sub / name, trip, utc=i % 2 == 1, chief_in_file=i % 3 != 0))
    chief = trips[5]["chief"].iloc[0]
    with zipfile.ZipFile(folder / f"{chief}_重复导出.kmz", "w") as z:
        z.write(files[5], "doc.kml")
    (folder / "坏文件_0601.kml").write_text("<kml><Document><Placemark>", encoding="utf-8")
    return folder, len(trips), f"{chief}_重复导出-1", len(trips[5])


def _coverage(points) -> pd.DataFrame:
    from gis_town.analysis.patrol import analyze_patrols
    from gis_town.io import load_town

    town = load_town(DEMO, layers=["rivers", "villages"], required=("rivers",))
    res = analyze_patrols(points, town.layer("rivers"), config=town.config, gk_crs=town.gk_crs)
    return res.segments.set_index("segment_id").sort_index()


def test_kml_folder_gives_the_same_coverage_as_the_geopackage(kml_folder):
    from gis_town.io import load_town
    from gis_town.io.validate import validate_layer

    folder, n_trips, dup_trip, dup_fixes = kml_folder
    raw = read_tracks(folder)
    rejects = raw.attrs["rejects"]
    assert set(rejects["feature_id"]) == {"坏文件_0601.kml", dup_trip}
    assert "重复导入" in rejects.loc[rejects["feature_id"] == dup_trip, "reason"].iloc[0]
    assert raw["trip_id"].nunique() == n_trips  # the copy counted once
    assert raw.attrs["n_read"] == len(raw) + dup_fixes
    points, problems = validate_layer(raw, "patrols", path=str(folder))
    assert len(problems) == 0 and len(points) == len(raw)

    gpkg = load_town(DEMO, layers=["patrols"], required=("patrols",)).layer("patrols")
    assert len(points) == len(gpkg)
    a, b = _coverage(gpkg), _coverage(points)
    cols = [c for c in ("patrols", "covered_m", "coverage", "blind_spots") if c in a.columns]
    assert cols and len(a) == len(b)
    pd.testing.assert_frame_equal(a[cols], b[cols], check_exact=False, rtol=1e-9)
    assert np.asarray(a["patrols"]).sum() > 0
