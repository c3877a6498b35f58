"""Reading patrol tracks from CSV and GPX (gis_town.io.tracks)."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest

from gis_town.errors import CRSError, FieldError, InputError, LayerError
from gis_town.io import read_layer, validate_layer
from gis_town.io.tracks import read_tracks, to_local_time

SH = "Asia/Shanghai"

GPX_HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n<gpx version="1.1" creator="河长制APP" xmlns="http://www.topografix.com/GPX/1/1">'


def _gpx(body: str, author: str | None = "张三") -> str:
    meta = f"<metadata><author><name>{author}</name></author></metadata>" if author else ""
    return f"{GPX_HEAD}{meta}{body}</gpx>"


def _trk(points: list[tuple[float, float, str | None]], name: str | None = None) -> str:
    pts = "".join(
        f'<trkpt lat="{lat}" lon="{lon}">' + (f"<time>{t}</time>" if t else "") + "</trkpt>"
        for lon, lat, t in points
    )
    nm = f"<name>{name}</name>" if name else ""
    return f"<trk>{nm}<trkseg>{pts}</trkseg></trk>"


def _sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --------------------------------------------------------------------------- CSV


def test_csv_english_headers_utf8(tmp_path):
    p = tmp_path / "t.csv"
    p.write_text(
        "lon,lat,time,chief,trip_id\n104.61,35.58,2023-07-01 07:00:00,张三,A1\n104.62,35.59,2023-07-01 07:00:10,张三,A1\n",
        encoding="utf-8",
    )
    before = _sha(p)
    g = read_tracks(p)
    assert _sha(p) == before
    assert len(g) == 2 and g.crs.to_epsg() == 4326
    assert str(g["time"].dtype) == f"datetime64[ns, {SH}]"
    assert g["time"].iloc[0] == pd.Timestamp("2023-07-01 07:00", tz=SH)  # naive = local time
    assert g.geometry.x.tolist() == [104.61, 104.62]
    assert g["chief"].tolist() == ["张三", "张三"] and g["trip_id"].tolist() == ["A1", "A1"]
    assert g["row"].tolist() == [2, 3]  # line numbers in the file


@pytest.mark.parametrize("encoding", ["gbk", "utf-8-sig", "utf-8"])
def test_csv_chinese_headers_any_encoding(tmp_path, encoding):
    p = tmp_path / "巡河.csv"
    text = "经度,纬度,时间,河长,河长编号\n104.61,35.58,2023年7月1日 7时5分,李四,C02\n104.611,35.581,2023/7/1 7:05:10,李四,C02\n"
    p.write_bytes(text.encode(encoding))
    g = read_tracks(p)
    assert g["chief"].iloc[0] == "李四" and g["chief_id"].iloc[0] == "C02"
    assert g["time"].tolist() == [
        pd.Timestamp("2023-07-01 07:05", tz=SH),
        pd.Timestamp("2023-07-01 07:05:10", tz=SH),
    ]


def test_csv_times_with_zones_and_epochs_are_converted(tmp_path):
    p = tmp_path / "t.csv"
    p.write_text(
        "lon,lat,time,chief\n"
        "104.6,35.6,2023-06-30T23:00:00Z,张三\n"
        "104.6,35.6,2023-07-01T07:00:00+08:00,张三\n"
        "104.6,35.6,2023-06-30 23:00 UTC,张三\n",
        encoding="utf-8",
    )
    g = read_tracks(p)
    assert (g["time"] == pd.Timestamp("2023-07-01 07:00", tz=SH)).all()
    # 1688166000 s after 1970-01-01 UTC = 2023-06-30 23:00 UTC
    t = to_local_time(pd.Series([1688166000, 1688166000000]))
    assert (t == pd.Timestamp("2023-07-01 07:00", tz=SH)).all()


def test_to_local_time_coerce_mode():
    t = to_local_time(
        pd.Series(["2023-07-01 07:00", "不是时间", "", "2023-06-30T23:00Z"]), errors="coerce"
    )
    assert t.isna().tolist() == [False, True, True, False]
    assert t.iloc[0] == t.iloc[3] == pd.Timestamp("2023-07-01 07:00", tz=SH)


def test_csv_projected_xy_needs_a_crs(tmp_path):
    p = tmp_path / "xy.csv"
    p.write_text("x,y,time,chief\n500000,3940000,2023-05-01 08:00,张三\n", encoding="utf-8")
    with pytest.raises(CRSError) as e:
        read_tracks(p)
    assert str(p) in str(e.value) and "EPSG:4544" in str(e.value)
    g = read_tracks(p, crs="EPSG:4544")
    assert g.crs.to_epsg() == 4544 and g.geometry.x.iloc[0] == 500000


def test_csv_metres_in_lonlat_columns_is_a_crs_error(tmp_path):
    p = tmp_path / "t.csv"
    p.write_text("lon,lat,time,chief\n500000,3940000,2023-05-01 08:00,张三\n", encoding="utf-8")
    with pytest.raises(CRSError):
        read_tracks(p)


def test_csv_unparseable_time_names_file_row_field(tmp_path):
    p = tmp_path / "bad.csv"
    p.write_text(
        "lon,lat,time,chief\n104.6,35.6,2023-05-01 08:00,张三\n104.6,35.6,2023-05-01 08:00,张三\n104.6,35.6,昨天上午,张三\n",
        encoding="utf-8",
    )
    with pytest.raises(FieldError) as e:
        read_tracks(p)
    msg = str(e.value)
    assert str(p) in msg and "row 4" in msg and "time" in msg and "昨天上午" in msg
    assert e.value.field == "time" and e.value.feature_id == 4
    assert isinstance(e.value, InputError)


def test_csv_blank_time_is_an_error(tmp_path):
    p = tmp_path / "t.csv"
    p.write_text("lon,lat,time,chief\n104.6,35.6,,张三\n", encoding="utf-8")
    with pytest.raises(FieldError, match="row 2"):
        read_tracks(p)


def test_csv_bad_coordinate(tmp_path):
    p = tmp_path / "t.csv"
    p.write_text(
        "lon,lat,time,chief\n104.6,35.6,2023-05-01 08:00,张三\n104.6E,35.6,2023-05-01 08:01,张三\n",
        encoding="utf-8",
    )
    with pytest.raises(FieldError) as e:
        read_tracks(p)
    assert "row 3" in str(e.value) and e.value.field == "lon"


def test_csv_missing_columns(tmp_path):
    p = tmp_path / "t.csv"
    p.write_text("经度,纬度,备注\n104.6,35.6,x\n", encoding="utf-8")
    with pytest.raises(FieldError) as e:
        read_tracks(p)
    msg = str(e.value)
    assert "time" in msg and "chief" in msg and "备注" in msg and str(p) in msg


@pytest.mark.parametrize("text", ["", "   \n", "lon,lat,time,chief\n"])
def test_csv_empty(tmp_path, text):
    p = tmp_path / "empty.csv"
    p.write_text(text, encoding="utf-8")
    with pytest.raises(LayerError) as e:
        read_tracks(p)
    assert str(p) in str(e.value)


def test_missing_file_and_unknown_type(tmp_path):
    with pytest.raises(LayerError):
        read_tracks(tmp_path / "nope.csv")
    p = tmp_path / "t.kml"
    p.write_text("<kml/>", encoding="utf-8")
    with pytest.raises(LayerError):
        read_tracks(p)


def test_read_layer_dispatches_csv_and_validates_as_patrols(tmp_path):
    p = tmp_path / "t.csv"
    p.write_text(
        "lon,lat,time,chief\n104.6,35.6,2023-05-01 08:00,张三\n104.7,35.6,2023-05-01 08:10,张三\n",
        encoding="utf-8",
    )
    g = read_layer(p, crs="EPSG:4490")
    assert g.crs.to_epsg() == 4490
    used, problems = validate_layer(g, "patrols", path=str(p))
    assert len(used) == 2 and len(problems) == 0


# --------------------------------------------------------------------------- GPX


def test_gpx_times_are_utc_converted_to_local(tmp_path):
    p = tmp_path / "trip.gpx"
    p.write_text(
        _gpx(
            _trk(
                [(104.61, 35.58, "2023-06-30T23:00:00Z"), (104.612, 35.58, "2023-06-30T23:00:10Z")]
            )
            + _trk([(104.62, 35.58, "2023-07-02T01:00:00Z")])
        ),
        encoding="utf-8",
    )
    g = read_tracks(p)
    assert g.crs.to_epsg() == 4326 and len(g) == 3
    # 23:00 UTC on June 30 is 07:00 on July 1 in Shanghai: a July patrol
    assert g["time"].iloc[0] == pd.Timestamp("2023-07-01 07:00", tz=SH)
    assert g["chief"].unique().tolist() == ["张三"]
    assert g["trip_id"].tolist() == ["trip-1", "trip-1", "trip-2"]
    assert np.allclose(g.geometry.y, 35.58)


def test_gpx_naive_times_are_utc_and_chief_from_track_name(tmp_path):
    p = tmp_path / "t.gpx"
    p.write_text(
        _gpx(_trk([(104.61, 35.58, "2023-06-30T23:00:00")], name="王五"), author=None),
        encoding="utf-8",
    )
    g = read_tracks(p)
    assert g["time"].iloc[0] == pd.Timestamp("2023-07-01 07:00", tz=SH)
    assert g["chief"].iloc[0] == "王五"


def test_gpx_without_track(tmp_path):
    p = tmp_path / "wpt.gpx"
    p.write_text(_gpx('<wpt lat="35.6" lon="104.6"><name>桥</name></wpt>'), encoding="utf-8")
    with pytest.raises(LayerError) as e:
        read_tracks(p)
    assert "no track" in str(e.value) and str(p) in str(e.value)


def test_gpx_point_without_time(tmp_path):
    p = tmp_path / "t.gpx"
    p.write_text(
        _gpx(_trk([(104.61, 35.58, "2023-06-30T23:00:00Z"), (104.62, 35.58, None)])),
        encoding="utf-8",
    )
    with pytest.raises(FieldError) as e:
        read_tracks(p)
    assert e.value.field == "time" and "1-1-2" in str(e.value)


def test_gpx_without_chief(tmp_path):
    p = tmp_path / "t.gpx"
    p.write_text(
        _gpx(_trk([(104.61, 35.58, "2023-06-30T23:00:00Z")]), author=None), encoding="utf-8"
    )
    with pytest.raises(FieldError, match="chief"):
        read_tracks(p)


@pytest.mark.parametrize("text", ["", "<gpx><trk>"])
def test_gpx_empty_or_broken(tmp_path, text):
    p = tmp_path / "t.gpx"
    p.write_text(text, encoding="utf-8")
    with pytest.raises(LayerError):
        read_tracks(p)
