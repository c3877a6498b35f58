"""Loading a whole town: GeoPackage, folder of shapefiles, config field mappings, accounting."""

from __future__ import annotations

import geopandas as gpd
import pytest
from shapely.geometry import box

from gis_town.config import parse_config
from gis_town.errors import LayerError
from gis_town.io.town import load_town


def _villages():
    return gpd.GeoDataFrame({"village_id": ["V1", "V2"], "name": ["将台村", "关川村"]},
                            geometry=[box(104.6, 35.6, 104.62, 35.62), box(104.62, 35.6, 104.64, 35.62)], crs="EPSG:4490")


def _farmland():
    return gpd.GeoDataFrame(
        {"parcel_id": ["P1", "P2", "P2"], "village_id": ["V1", "V2", "V2"], "status": ["耕种", "撂荒", "耕种"]},
        geometry=[box(104.601, 35.601, 104.602, 35.602), box(104.621, 35.601, 104.622, 35.602), box(104.623, 35.601, 104.624, 35.602)],
        crs="EPSG:4490",
    )


def test_gpkg_town_with_accounting(tmp_path):
    path = tmp_path / "town.gpkg"
    _villages().to_file(path, layer="villages")
    _farmland().to_file(path, layer="farmland")
    town = load_town(path)
    assert set(town.layers) == {"villages", "farmland"}
    c = town.counts.set_index("layer")
    assert c.loc["farmland", "read"] == 3 and c.loc["farmland", "used"] == 2 and c.loc["farmland", "rejected"] == 1
    assert (c["read"] == c["used"] + c["rejected"]).all()
    assert town.problems.iloc[0]["feature_id"] == "P2"
    assert town.gk_crs.to_epsg() == 4544
    with pytest.raises(LayerError, match="rivers"):
        town.layer("rivers")


def test_folder_of_gbk_shapefiles_with_chinese_columns(tmp_path):
    folder = tmp_path / "exchange"
    folder.mkdir()
    v = _villages().rename(columns={"village_id": "村代码", "name": "村名"})
    v.to_file(folder / "村界.shp", encoding="gbk", engine="pyogrio")
    (folder / "村界.cpg").unlink(missing_ok=True)
    f = _farmland().iloc[:2].rename(columns={"parcel_id": "地块号", "village_id": "村代码", "status": "状态"})
    f.to_crs("EPSG:4544").to_file(folder / "farmland.shp", encoding="gbk", engine="pyogrio")
    (folder / "farmland.cpg").unlink(missing_ok=True)
    (folder / "farmland.prj").unlink()
    cfg = parse_config({
        "layers": {
            "villages": {"path": "村界.shp", "fields": {"村代码": "village_id", "村名": "name"}},
            "farmland": {"crs": "EPSG:4544", "fields": {"地块号": "parcel_id", "村代码": "village_id", "状态": "status"}},
        }
    }, path=folder / "town.toml")
    town = load_town(folder, cfg)
    assert list(town.layer("villages")["name"]) == ["将台村", "关川村"]
    assert list(town.layer("farmland")["status"]) == ["cultivated", "abandoned"]


def test_required_layer_missing(tmp_path):
    path = tmp_path / "town.gpkg"
    _villages().to_file(path, layer="villages")
    with pytest.raises(LayerError, match="farmland"):
        load_town(path, required=("farmland",))


def test_odd_geometries_counted_once_in_the_accounting(tmp_path):
    """The empty-ring polygon of issue 15 and a collection: repaired at read, counted, in the problems."""
    import shapely

    path = tmp_path / "town.gpkg"
    _villages().to_file(path, layer="villages")
    f = _farmland().iloc[:2].copy()
    ring = "104.601 35.601, 104.602 35.601, 104.601 35.602, 104.601 35.601"
    f = f.set_geometry([shapely.from_wkt(f"POLYGON (({ring}), EMPTY)"),
                        shapely.from_wkt(f"GEOMETRYCOLLECTION (POLYGON (({ring})), POINT (104.6 35.6))")], crs=f.crs)
    f.to_file(path, layer="farmland", engine="pyogrio", geometry_type="Unknown")
    town = load_town(path)
    c = town.counts.set_index("layer").loc["farmland"]
    assert (c["read"], c["used"], c["repaired"], c["rejected"]) == (2, 2, 2, 0)
    prob = town.problems[town.problems["layer"] == "farmland"].set_index("feature_id")
    assert "empty interior ring" in prob.loc["P1", "reason"]
    assert "GeometryCollection split" in prob.loc["P2", "reason"]
    g = town.layers["farmland"].geometry
    assert list(g.geom_type) == ["Polygon", "Polygon"]
    assert g.area.tolist() == pytest.approx([0.5 * 0.001 * 0.001] * 2)  # the triangle, twice
    assert "geometry_fixes" not in town.layers["farmland"].attrs
