"""Area totals: rectangles of known size, balanced rounding, net areas."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pyproj
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import box

from gis_town.analysis.areas import TOTAL_LABEL, area_totals, balance, parcel_areas

GEOD = pyproj.Geod(a=6378137.0, rf=298.257222101)


def _farmland():
    # rectangles in Gauss-Kruger metres near CM 105E (tiny scale error at x=500 km: k0 = 1)
    rects = [box(500_000, 3_940_000, 500_100, 3_940_100),      # 10000 m2 = 15 mu
             box(500_200, 3_940_000, 500_300, 3_940_050),      # 5000 m2 = 7.5 mu
             box(500_400, 3_940_000, 500_400 + 200 / 3, 3_940_010),  # 666.67 m2 = 1 mu
             box(500_600, 3_940_000, 500_700, 3_940_100)]      # 15 mu
    return gpd.GeoDataFrame(
        {"parcel_id": ["a", "b", "c", "d"], "village_id": ["V1", "V1", "V2", "V2"],
         "status": ["cultivated", "abandoned", "cultivated", "cultivated"], "ridge_coef": [0.1, 0.0, None, 0.2]},
        geometry=rects, crs="EPSG:4544",
    )


def test_parcel_areas_of_known_rectangles():
    p = parcel_areas(_farmland().to_crs("EPSG:4490"))
    ref = np.array([abs(GEOD.geometry_area_perimeter(g)[0]) for g in p.geometry])
    np.testing.assert_allclose(p["area_m2"], ref, rtol=1e-6)
    np.testing.assert_allclose(p["area_mu"], [15, 7.5, 1, 15], rtol=2e-4)  # GK at the CM: k0 = 1
    np.testing.assert_allclose(p["net_area_mu"], [13.5, 7.5, 1, 12], rtol=2e-4)
    np.testing.assert_allclose(p["area_ha"], [1, 0.5, 1 / 15, 1], rtol=2e-4)


def test_area_totals_by_village_and_status():
    t = area_totals(_farmland(), None)
    assert list(t.columns[:6]) == ["village_id", "village_name", "status", "parcels", "area_mu", "area_ha"]
    rows = {(r.village_id, r.status): r for r in t.itertuples()}
    assert rows[("V1", "abandoned")].area_mu == pytest.approx(7.5, abs=0.01)
    assert rows[("V2", "cultivated")].parcels == 2
    assert rows[("V2", "cultivated")].area_mu == pytest.approx(16, abs=0.01)
    total = t.iloc[-1]
    assert total.village_id == TOTAL_LABEL and total.parcels == 4
    assert t["area_mu"].iloc[:-1].sum() == pytest.approx(total.area_mu, abs=1e-9)
    assert "net_area_mu" in t.columns and rows[("V2", "cultivated")].status_zh == "耕种"


def test_balance_example():
    # plain rounding gives 0.3 + 0.3 + 0.3 = 0.9, not the total 1.0; balancing gives the unit to the largest remainder
    vals, total = balance([0.333, 0.333, 0.334], 1)
    assert total == 1.0 and vals.tolist() == [0.3, 0.3, 0.4]


@settings(deadline=None, derandomize=True, max_examples=200)
@given(st.lists(st.floats(min_value=0, max_value=1e6, allow_nan=False), min_size=1, max_size=40), st.integers(0, 4))
def test_balance_adds_up_exactly(values, decimals):
    vals, total = balance(values, decimals)
    units = np.round(vals * 10**decimals).astype(np.int64)
    assert units.sum() == round(total * 10**decimals)
    assert np.all(np.abs(vals - np.asarray(values)) <= 10.0**-decimals + 1e-9)


def test_zone_and_basic_farmland_totals_split_parcels():
    from gis_town.analysis.areas import basic_farmland_totals, zone_totals

    f = _farmland()
    # parcel "a" (x 500000-500100) is split in half by two valley zones; a corridor overlaps everything
    zones = gpd.GeoDataFrame(
        {"zone_id": ["Z1", "Z2", "C1"], "kind": ["valley", "valley", "corridor"], "name": ["西", "东", "线"]},
        geometry=[box(499_000, 3_939_000, 500_050, 3_941_000), box(500_050, 3_939_000, 501_000, 3_941_000),
                  box(499_000, 3_939_000, 501_000, 3_941_000)],
        crs="EPSG:4544",
    )
    t = zone_totals(f, zones).set_index("zone_id")
    whole = parcel_areas(f)["area_mu"].sum()
    assert t.loc["Z1", "area_mu"] == pytest.approx(7.5, rel=2e-4)
    assert t.loc["Z2", "area_mu"] == pytest.approx(whole - 7.5, rel=2e-4)
    assert t.loc["C1", "area_mu"] == pytest.approx(whole, rel=2e-4)
    totals = t[t.index.str.startswith(TOTAL_LABEL)]
    assert len(totals) == 2  # one total per kind, never summed across kinds
    bf = gpd.GeoDataFrame({"zone_id": ["B"]}, geometry=[box(499_000, 3_939_000, 500_050, 3_941_000)], crs="EPSG:4544")
    b = basic_farmland_totals(f, bf)
    inside = b[b["inside"].str.startswith("inside")]["area_mu"].sum()
    assert inside == pytest.approx(7.5, rel=2e-4)
    assert b["area_mu"].iloc[-1] == pytest.approx(whole, abs=0.01)
    # parcel "a" is in Z1 and Z2 (one piece each): the rows count it twice, the total once, with a note
    assert t.loc["Z1", "parcels"] == 1 and t.loc["Z2", "parcels"] == 4
    valley_total = t.loc[f"{TOTAL_LABEL}(一川)"]
    assert valley_total["parcels"] == 4 and "(1)" in valley_total["note"]
    assert t.loc[f"{TOTAL_LABEL}(两线)", "parcels"] == 4 and t.loc[f"{TOTAL_LABEL}(两线)", "note"] == ""
    assert b["parcels"].iloc[-1] == 4 and "(1)" in b["note"].iloc[-1]


def test_overlapping_zones_of_a_kind_total_their_union_once():
    """Two corridors overlapping over a 100 m x 100 m parcel: 60 m strips each, 20 m shared."""
    from gis_town.analysis.areas import OVERLAP_NOTE, zone_totals

    f = gpd.GeoDataFrame({"parcel_id": ["p"], "village_id": ["V"], "status": ["cultivated"]},
                         geometry=[box(500_000, 3_940_000, 500_100, 3_940_100)], crs="EPSG:4544")
    zones = gpd.GeoDataFrame(
        {"zone_id": ["C1", "C2"], "kind": ["corridor", "corridor"], "name": ["西线", "东线"]},
        geometry=[box(499_000, 3_939_000, 500_060, 3_941_000), box(500_040, 3_939_000, 501_000, 3_941_000)],
        crs="EPSG:4544",
    )
    t = zone_totals(f, zones).set_index("zone_id")
    whole = parcel_areas(f)["area_mu"].iloc[0]  # ~15 mu: the union covers the whole parcel
    assert t.loc["C1", "area_mu"] == pytest.approx(0.6 * whole, abs=0.01)
    assert t.loc["C2", "area_mu"] == pytest.approx(0.6 * whole, abs=0.01)
    total = t.loc[f"{TOTAL_LABEL}(两线)"]
    assert total["area_mu"] == pytest.approx(whole, abs=0.01)  # not 1.2 x: the overlap once
    assert total["parcels"] == 1 and OVERLAP_NOTE in total["note"]
