"""gis_town.io.export_layers and ``gis-town export``: every layer as KML for phone map apps."""

from __future__ import annotations

import xml.etree.ElementTree as ET
import zipfile

import geopandas as gpd
import pytest

from gis_town.cli import main
from tests.test_maps import EVIL, add_thematic_layers, make_town

NS = "{http://www.opengis.net/kml/2.2}"


def _placemarks(path):
    text = zipfile.ZipFile(path).read("doc.kml") if path.suffix == ".kmz" else path.read_bytes()
    return ET.fromstring(text).iter(f"{NS}Placemark")


def _data(pm) -> dict[str, str]:
    return {d.get("name"): (d.findtext(f"{NS}value") or "") for d in pm.iter(f"{NS}Data")}


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    folder = tmp_path_factory.mktemp("export")
    town = add_thematic_layers(make_town(folder / "town"))
    out = folder / "kml"
    assert main(["-q", "export", str(town), "--out", str(out)]) == 0
    return town, out


def test_every_feature_of_every_layer_is_a_placemark(exported):
    import pyogrio

    from gis_town.schema import LAYERS

    town, out = exported
    names = [n for n in pyogrio.list_layers(town)[:, 0] if n in LAYERS]  # the town's layers
    assert {"villages", "farmland", "rivers", "patrols", "afforestation"} <= set(names)
    for name in names:
        if name == "patrols":
            assert not (out / "patrols.kml").exists()  # GPS fixes only when asked for
            continue
        gdf = gpd.read_file(town, layer=name)
        pms = list(_placemarks(out / f"{name}.kml"))
        assert len(pms) == len(gdf[gdf.geometry.notna()]), name


def test_lon_lat_coded_values_in_chinese_and_names_escaped(exported):
    town, out = exported
    farm = gpd.read_file(town, layer="farmland").to_crs(4490)
    pm = next(_placemarks(out / "farmland.kml"))
    first = pm.find(f".//{NS}coordinates").text.split()[0].split(",")
    lon, lat = float(first[0]), float(first[1])
    x0, y0, x1, y1 = farm.total_bounds
    assert x0 - 1e-6 <= lon <= x1 + 1e-6 and y0 - 1e-6 <= lat <= y1 + 1e-6
    statuses = {_data(p)["status"] for p in _placemarks(out / "farmland.kml")}
    assert statuses <= {"耕种", "撂荒", "休耕"} and statuses
    names = {p.findtext(f"{NS}name") for p in _placemarks(out / "villages.kml")}
    assert any(EVIL in (n or "") for n in names)  # read back as text: the file stays well-formed
    assert "<img" not in (out / "villages.kml").read_text(encoding="utf-8")


def test_kmz_and_chosen_layers(exported, tmp_path):
    town, _ = exported
    assert main(["-q", "export", str(town), "--format", "kmz", "--layers", "rivers,patrols",
                 "--out", str(tmp_path)]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["patrols.kmz", "rivers.kmz"]
    assert len(list(_placemarks(tmp_path / "patrols.kmz"))) == len(gpd.read_file(town, layer="patrols"))


def test_unknown_layer_is_a_usage_error(exported, tmp_path, capsys):
    town, _ = exported
    assert main(["export", str(town), "--layers", "farmland,no_such", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr()
    assert "no_such" in err.out + err.err and "it has:" in err.out + err.err
    assert not (tmp_path / "o" / "farmland.kml").exists()  # nothing written before the check
