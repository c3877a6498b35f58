"""Every layer as KML/KMZ for phone apps: geometry, Chinese names and labelled attributes survive."""

from __future__ import annotations

import zipfile
from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest

from gis_town.geodesy import area_m2
from gis_town.io.write import write_vector

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "layers" / "demo_town.gpkg"


@pytest.mark.parametrize("layer", ["villages", "rivers", "settlements"])
@pytest.mark.parametrize("fmt", ["kml", "kmz"])
def test_layer_round_trips_through_kml(tmp_path, layer, fmt):
    gdf = gpd.read_file(DEMO, layer=layer)
    if layer == "villages":
        gdf.loc[0, "name"] = "<b>将台村</b> & 甲"  # text stays text
    path = write_vector(gdf, tmp_path / f"{layer}.{fmt}", fmt=fmt, layer=layer)
    assert path.suffix == f".{fmt}"
    if fmt == "kmz":
        with zipfile.ZipFile(path) as z:
            assert z.namelist() == ["doc.kml"]
            text = z.read("doc.kml").decode("utf-8")
    else:
        text = path.read_text(encoding="utf-8")
    assert "<b>" not in text
    back = pyogrio.read_dataframe(path)
    assert len(back) == len(gdf)
    id_col = {"villages": "village_id", "rivers": "segment_id", "settlements": "settlement_id"}[layer]
    assert set(back[id_col]) == set(gdf[id_col].astype(str))
    if layer == "villages":
        assert "&lt;b&gt;将台村&lt;/b&gt; &amp; 甲" in text
        assert back["Name"].iloc[0].startswith("<b>将台村</b> & 甲")
        a, b = area_m2(gdf, layer=layer), area_m2(back.set_crs("EPSG:4326", allow_override=True), layer=layer)
        assert b.sum() == pytest.approx(a.sum(), rel=1e-6)  # coordinates kept to 7 decimals
        assert "村代码 village_id" in text  # attributes under their Chinese labels
