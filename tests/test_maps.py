"""The map module: compact safe layers, escaping, offline pages, basemaps, legends, size, print, CLI.

Data are built here (a small town in EPSG:4544 stored as EPSG:4490); the demo
town is used only by the end-to-end CLI test (skipped when absent).
"""

from __future__ import annotations

import hashlib
import html
import json
import re
import warnings
from pathlib import Path

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gis_town.errors import ConfigError, InputError
from gis_town.maps import LayerSpec, Style, build_map, map_html, save_map
from gis_town.maps.encode import encode_geometries, safe_json, simplify_layer
from gis_town.maps.offline import ASSETS, asset_text, inline_assets, remote_references
from gis_town.maps.spec import escape_series, format_series, graduated_classes, public_specs

EVIL = '<img src=x onerror="window.__pwned=1;alert(1)">'
PERSON = "承包户测试甲"  # a personal name that must vanish from public maps
HEAD = "户主测试乙"
X0, Y0 = 460_000.0, 3_940_000.0  # EPSG:4544, about 104.56E 35.6N


# --------------------------------------------------------------------------- a small town


def _gk(geoms, data) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(data, geometry=list(geoms), crs="EPSG:4544").to_crs("EPSG:4490")


def make_town(folder: Path, *, n: int = 10, evil: str = EVIL) -> Path:
    """A 1 km x 1 km town: 2 villages, n x n parcels of 100 m x 100 m (15 mu), zones, rivers, roads, points."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    size = 100.0 * n
    villages = _gk(
        [
            shapely.box(X0, Y0, X0 + size / 2, Y0 + size),
            shapely.box(X0 + size / 2, Y0, X0 + size, Y0 + size),
        ],
        {
            "village_id": ["V01", "V02"],
            "name": [evil + "村", "将台村"],
            "population": [500, 600],
            "households": [120, 150],
            "monitored_households": [5, 9],
            "leader": ["张三", "李四"],
            "collective_income_wan": [12.5, 8.0],
        },
    )
    cells, ids, vid, status, use, proj, contractor = [], [], [], [], [], [], []
    for i in range(n):
        for j in range(n):
            cells.append(
                shapely.box(X0 + i * 100, Y0 + j * 100, X0 + (i + 1) * 100, Y0 + (j + 1) * 100)
            )
            v = "V01" if i < n // 2 else "V02"
            vid.append(v)
            ids.append(f"{v}-{i:02d}{j:02d}")
            status.append("撂荒" if (i + j) % 7 == 0 else ("休耕" if (i * j) % 11 == 5 else "耕种"))
            use.append("水浇地" if j < 3 else "旱地")
            proj.append("2023年将台村高标准农田项目" if v == "V02" and j >= n // 2 else None)
            contractor.append(PERSON if (i + j) % 2 else evil)
    farmland = _gk(
        cells,
        {
            "parcel_id": ids,
            "village_id": vid,
            "status": status,
            "land_use": use,
            "crop": ["马铃薯"] * len(ids),
            "project": proj,
            "contractor": contractor,
            "ridge_coef": [0.1] * len(ids),
            "film_mulch": [True] * len(ids),
        },
    )
    third = size / 3
    zones = _gk(
        [shapely.box(X0 + k * third, Y0, X0 + (k + 1) * third, Y0 + size) for k in range(3)]
        + [
            shapely.box(X0, Y0, X0 + size, Y0 + 250),
            shapely.box(X0 + 400, Y0, X0 + 600, Y0 + size),
        ],
        {
            "zone_id": ["B1", "B2", "B3", "C0", "L1"],
            "kind": ["流域", "流域", "流域", "川区", "两线"],
            "name": [
                "甲河流域",
                evil + "流域",
                "丙河流域",
                "关川河川区示范片带",
                "某某线沿线示范片带",
            ],
            "planned_demo_mu": [np.nan, np.nan, np.nan, 100.0, 500.0],
        },
    )
    rivers = _gk(
        [
            shapely.LineString([(X0, Y0 + 120), (X0 + size, Y0 + 130)]),
            shapely.LineString([(X0 + 300, Y0 + size), (X0 + 320, Y0 + 125)]),
        ],
        {
            "segment_id": ["R1", "R2"],
            "river_name": ["关川河", evil],
            "chief": ["赵六", "钱七"],
            "chief_level": ["town", "village"],
            "village_id": ["V01", "V01"],
            "basin": ["甲河流域", "甲河流域"],
        },
    )
    roads = _gk(
        [
            shapely.LineString([(X0, Y0 + 200), (X0 + size, Y0 + 210)]),
            shapely.LineString([(X0 + 500, Y0), (X0 + 505, Y0 + size)]),
        ],
        {
            "road_id": ["D1", "D2"],
            "name": ["某某线", evil],
            "road_class": ["县道", "村道"],
            "hardened": [True, False],
            "hardened_year": [2023, None],
        },
    )
    settlements = _gk(
        [shapely.Point(X0 + 250, Y0 + 500), shapely.Point(X0 + 750, Y0 + 500)],
        {"settlement_id": ["S1", "S2"], "village_id": ["V01", "V02"], "name": ["上庄", evil]},
    )
    res = _gk(
        [
            shapely.Point(X0 + 150, Y0 + 850),
            shapely.Point(X0 + 650, Y0 + 850),
            shapely.Point(X0 + 850, Y0 + 650),
        ],
        {
            "household_id": ["H1", "H2", "H3"],
            "village_id": ["V01", "V02", "V02"],
            "head": [evil, HEAD, "周九"],
            "destination": ["进城", "乡镇", "进城"],
            "cohort": [2023, 2023, 2022],
            "agreement_signed": ["2023-03-01", "2023-03-10", "2022-03-01"],
            "housing_confirmed": ["2023-03-20", None, "2022-04-01"],
            "moved_in": ["2023-06-01", None, "2022-08-01"],
        },
    )
    path = folder / "town.gpkg"
    for name, g in [
        ("villages", villages),
        ("farmland", farmland),
        ("zones", zones),
        ("rivers", rivers),
        ("roads", roads),
        ("settlements", settlements),
        ("resettlement", res),
    ]:
        g.to_file(path, layer=name, driver="GPKG")
    return path


def add_thematic_layers(path: Path, *, evil: str = EVIL) -> Path:
    """Afforestation, reclamation, acceptance plots (one bow-tie), patrol points, red line, basic farmland."""
    aff = _gk(
        [
            shapely.box(X0 + 50, Y0 + 900, X0 + 150, Y0 + 980),
            shapely.box(X0 + 700, Y0 + 900, X0 + 800, Y0 + 990),
        ],
        {
            "plot_id": ["A1", "A2"],
            "village_id": ["V01", "V02"],
            "kind": ["面山绿化", "经济林"],
            "trees": [None, 300],
            "year": [2023, 2023],
            "planted_date": ["2023-04-01", "2023-05-01"],
            "declared_area_mu": [12.0, 20.0],
        },
    )
    affp = _gk(
        [shapely.Point(X0 + 100, Y0 + 400), shapely.Point(X0 + 900, Y0 + 300)],
        {
            "plot_id": ["P1", "P2"],
            "village_id": ["V01", "V02"],
            "kind": ["四旁植树", "四旁植树"],
            "trees": [500, 800],
            "year": [2023, 2023],
            "planted_date": ["2023-03-20", "2023-04-10"],
        },
    )
    rec = _gk(
        [
            shapely.Point(X0 + 150, Y0 + 850).buffer(15),
            shapely.Point(X0 + 850, Y0 + 650).buffer(15),
        ],
        {
            "plot_id": ["RC1", "RC2"],
            "household_id": ["H1", "H3"],
            "declared_area_mu": [1.0, 1.1],
            "reclaimed_date": ["2023-05-01", None],
        },
    )
    bow = shapely.Polygon(
        [(X0 + 610, Y0 + 610), (X0 + 690, Y0 + 690), (X0 + 690, Y0 + 610), (X0 + 610, Y0 + 690)]
    )
    acc = _gk(
        [
            shapely.box(X0 + 510, Y0 + 510, X0 + 590, Y0 + 590),
            bow,
            shapely.box(X0 + 710, Y0 + 510, X0 + 790, Y0 + 590),
        ],
        {
            "plot_id": ["Q1", evil, "Q3"],
            "project": ["2023年将台村高标准农田项目"] * 3,
            "village_id": ["V02"] * 3,
            "declared_area_mu": [9.6, 9.6, 30.0],
            "ridge_coef": [0.0, 0.0, 0.0],
            "land_use": ["旱地"] * 3,
        },
    )
    red = _gk(
        [shapely.box(X0 + 700, Y0 + 700, X0 + 1000, Y0 + 1000)],
        {"zone_id": ["RL1"], "name": ["水源地"]},
    )
    bf = _gk([shapely.box(X0, Y0, X0 + 1000, Y0 + 600)], {"zone_id": ["BF1"], "name": ["基本农田"]})
    # a walk along R1 at about 4 km/h, and a car drive-by at about 40 km/h the next day
    xs = np.linspace(X0, X0 + 1000, 40)
    walk = [shapely.Point(x, Y0 + 120 + (x - X0) * 0.01) for x in xs]
    car = [shapely.Point(x, Y0 + 125 + (x - X0) * 0.01) for x in xs]
    t0, t1 = pd.Timestamp("2023-03-05 09:00"), pd.Timestamp("2023-03-06 10:00")
    times = [t0 + pd.Timedelta(seconds=int(i * 22.5)) for i in range(40)]
    times += [t1 + pd.Timedelta(seconds=int(i * 2.3)) for i in range(40)]
    pts = _gk(walk + car, {"chief": ["赵六"] * 80, "time": times})
    for name, g in [
        ("afforestation", aff),
        ("afforestation_points", affp),
        ("reclamation", rec),
        ("acceptance_plots", acc),
        ("redline", red),
        ("basic_farmland", bf),
        ("patrols", pts),
    ]:
        g.to_file(path, layer=name, driver="GPKG")
    return path


@pytest.fixture(scope="module")
def town_path(tmp_path_factory) -> Path:
    p = make_town(tmp_path_factory.mktemp("town"))
    return add_thematic_layers(p)


@pytest.fixture(scope="module")
def town(town_path):
    from gis_town.io import load_town

    return load_town(town_path)


# --------------------------------------------------------------------------- decoding the page


def page_layers(page: str) -> dict[str, dict]:
    """The compact layers of a page, by layer name (independent of the page's JS)."""
    out = {}
    for m in re.finditer(r"GisTown\.build\([a-z_0-9]+, (\{.*?\}), (\{\"id\".*?\})\);", page):
        out[json.loads(m.group(2))["id"]] = json.loads(m.group(1))
    return out


def varints(text: str) -> list[int]:
    """Decode Google's encoded-polyline varints (written here independently of gis_town)."""
    out, result, shift = [], 0, 0
    for ch in text or "":
        b = ord(ch) - 63
        result |= (b & 0x1F) << shift
        shift += 5
        if b < 0x20:
            out.append(~(result >> 1) if result & 1 else result >> 1)
            result, shift = 0, 0
    return out


def column(d: dict, label: str) -> list[str]:
    c = d["v"][d["f"].index(label)]
    if "d" in c:
        return [c["d"][i] for i in varints(c["i"])]
    if "k" in c:
        vals, prev = [], ""
        for k, x in zip(varints(c["k"]), c["x"]):
            prev = prev.encode("utf-16-le")[: 2 * k].decode("utf-16-le") + x
            vals.append(prev)
        return vals
    return list(c["s"])


def _offsets(lengths: list[int] | None, count: int) -> list[int]:
    lengths = lengths if lengths else [1] * count
    return [0, *np.cumsum(lengths).tolist()]


def features(d: dict) -> list[list[np.ndarray]]:
    """Decode geometries: per feature, a list of vertex arrays (rings, lines or points)."""
    c = np.asarray(varints(d["c"]), dtype="int64").reshape(-1, 2)
    o = np.asarray(d["o"], dtype="int64")
    r = _offsets(varints(d["r"]), 0)
    n_rings = len(r) - 1
    if d["t"] == "P":
        p = _offsets(varints(d["p"]), n_rings)
        n_parts = len(p) - 1
    else:
        p = None
        n_parts = n_rings if d["t"] == "L" else len(c)
    g = _offsets(varints(d["g"]), n_parts)
    assert len(g) - 1 == d["nf"]
    out = []
    for i in range(len(g) - 1):
        items = []
        for q in range(g[i], g[i + 1]):
            if d["t"] == "M":
                items.append((c[q] + o) / d["m"])
                continue
            for k in range(p[q], p[q + 1]) if p is not None else [q]:
                items.append((np.cumsum(c[r[k] : r[k + 1]], axis=0) + o) / d["m"])
        out.append(items)
    return out


def label_xy(d: dict) -> np.ndarray:
    return (np.asarray(varints(d["lp"]), dtype="int64").reshape(-1, 2) + np.asarray(d["o"])) / d[
        "m"
    ]


# --------------------------------------------------------------------------- encoding


def test_encoding_round_trip_every_geometry_type():
    hole = shapely.Polygon(
        [(104.60, 35.60), (104.61, 35.60), (104.61, 35.61), (104.60, 35.61)],
        [[(104.603, 35.603), (104.604, 35.603), (104.604, 35.604)]],
    )
    multi = shapely.MultiPolygon(
        [shapely.box(104.62, 35.6, 104.63, 35.61), shapely.box(104.64, 35.6, 104.65, 35.61)]
    )
    geoms = np.array([hole, multi], dtype=object)
    d = json.loads(_to_json(encode_geometries(geoms)))
    decoded = features(d)
    assert len(decoded) == 2 and len(decoded[0]) == 2 and len(decoded[1]) == 2
    for rings, geom in zip(decoded, geoms):
        parts = list(geom.geoms) if geom.geom_type == "MultiPolygon" else [geom]
        expected = [np.asarray(r.coords)[:-1] for p in parts for r in [p.exterior, *p.interiors]]
        for got, exp in zip(rings, expected):
            np.testing.assert_allclose(got, exp, atol=0.51e-6)  # 6 decimals: about 0.1 m
    # closing vertices are not written: 4 + 3 + 4 + 4 vertices
    assert len(varints(d["c"])) == 2 * 15 and varints(d["r"]) == [4, 3, 4, 4]
    assert varints(d["p"]) == [2, 1, 1] and varints(d["g"]) == [1, 2]

    lines = np.array(
        [
            shapely.LineString([(104.6, 35.6), (104.61234567, 35.61)]),
            shapely.MultiLineString(
                [[(104.7, 35.7), (104.71, 35.71)], [(104.8, 35.8), (104.81, 35.82)]]
            ),
        ]
    )
    d = json.loads(_to_json(encode_geometries(lines)))
    dec = features(d)
    np.testing.assert_allclose(dec[0][0], [[104.6, 35.6], [104.612346, 35.61]], atol=1e-9)
    assert len(dec[1]) == 2
    np.testing.assert_allclose(dec[1][1], [[104.8, 35.8], [104.81, 35.82]], atol=1e-9)

    pts = np.array(
        [shapely.Point(104.6, 35.6), shapely.MultiPoint([(104.7, 35.7), (104.71, 35.72)])]
    )
    d = json.loads(_to_json(encode_geometries(pts)))
    dec = features(d)
    np.testing.assert_allclose(dec[0][0], [104.6, 35.6])
    np.testing.assert_allclose(np.vstack(dec[1]), [[104.7, 35.7], [104.71, 35.72]])


def test_varints_match_the_published_polyline_example():
    from gis_town.maps.encode import encode_varints

    # Google's Encoded Polyline Algorithm Format example, precision 5
    pts = np.rint(np.array([[38.5, -120.2], [40.7, -120.95], [43.252, -126.453]]) * 1e5).astype(
        "int64"
    )
    deltas = np.vstack([pts[:1], np.diff(pts, axis=0)])
    assert encode_varints(deltas.ravel()) == "_p~iF~ps|U_ulLnnqC_mqNvxq`@"
    rng = np.random.default_rng(3)
    v = np.concatenate(
        [
            rng.integers(-(2**45), 2**45, 2000),
            rng.integers(-700, 700, 2000),
            [0, -1, 2**31, -(2**31)],
        ]
    )
    assert varints(encode_varints(v)) == v.tolist()


@pytest.mark.parametrize(
    "values",
    [
        [f"62110210020000{i:03d}" for i in range(40)],  # survey ids share long prefixes
        ["𠀀𠀁甲-0001", "𠀀𠀁甲-0002", "𠀀乙-1", "x", "", "&lt;a&gt;1", "&lt;a&gt;2"]
        * 3,  # non-BMP characters
    ],
)
def test_string_columns_decode_exactly(values):
    from gis_town.maps.encode import _encode_column

    enc = json.loads(safe_json(_encode_column(pd.Series(values))))
    d = {"f": ["x"], "v": [enc]}
    assert column(d, "x") == values


def _to_json(enc: dict) -> str:
    from gis_town.maps.encode import _dumps

    return _dumps(enc)


def test_safe_json_cannot_close_a_script():
    text = safe_json({"a": "</script><script>alert(1)</script>", "b": "<!-- \u2028"})
    assert "<" not in text and ">" not in text and "\u2028" not in text
    assert json.loads(text)["a"] == "</script><script>alert(1)</script>"


def test_format_series_codes_dates_numbers():
    assert format_series(
        pd.Series(["abandoned", "cultivated"]), "status", {"status": "status"}
    ).tolist() == ["撂荒", "耕种"]
    assert format_series(pd.Series([True, False, None], dtype="boolean"), "hardened").tolist() == [
        "是",
        "否",
        "",
    ]
    assert format_series(pd.Series(pd.to_datetime(["2023-06-30", None])), "moved_in").tolist() == [
        "2023-06-30",
        "",
    ]
    assert format_series(pd.Series([15.000612, 3.5, np.nan]), "area_mu").tolist() == [
        "15",
        "3.5",
        "",
    ]
    assert format_series(pd.Series([1234.56]), "road_distance_m").tolist() == ["1,235"]
    assert escape_series(pd.Series(['<a href="x">&\'', None])).tolist() == [
        "&lt;a href=&quot;x&quot;&gt;&amp;&#x27;",
        "",
    ]


def test_graduated_classes_bins():
    cls, styles, labels = graduated_classes(
        pd.Series([10.0, 50.0, 99.9, 100.0, np.nan]),
        [-np.inf, 50, 100, np.inf],
        ["#f00", "#ff0", "#0f0"],
        unit="%",
    )
    assert cls.tolist()[:4] == [0, 1, 1, 2] and pd.isna(cls.iloc[4])
    assert labels == {0: "< 50 %", 1: "50 – 100 %", 2: "≥ 100 %"}
    assert styles[2].fill == "#0f0"


# --------------------------------------------------------------------------- the layout map


def test_layout_map_layers_values_and_legend(town):
    from gis_town.maps import layout_map

    m = layout_map(town, basemap="none")
    assert isinstance(m, folium.Map)
    page = map_html(m)
    layers = page_layers(page)
    for name in (
        "三流域 three basins",
        "一川 valley belt 川区示范片带",
        "两线 road corridor belts 沿线示范片带",
        "耕地 farmland (by land use 地类)",
        "高标准农田 high-standard farmland",
        "行政村 villages",
        "河流 rivers",
        "道路 roads",
        "居民点 settlements",
        "避险搬迁户 resettlement sites",
        "永久基本农田 permanent basic farmland",
        "生态保护红线 ecological red line",
    ):
        assert name in layers, name
    # high-standard farmland: village V02 (columns 5-9), rows 5-9 = 25 parcels, by the town's construction
    assert layers["高标准农田 high-standard farmland"]["nf"] == 25
    farm = layers["耕地 farmland (by land use 地类)"]
    assert farm["nf"] == 100 and farm["p"] == "" and farm["g"] == ""  # one ring, one part each
    # a 100 m x 100 m parcel is 15 mu (10000 / (10000/15)); ellipsoidal area differs by < 1e-4 here
    assert set(column(farm, "面积(亩)")) == {"15"}
    assert set(column(farm, "地类")) == {"水浇地", "旱地"}
    assert "耕种" in column(farm, "耕种状态") and "撂荒" in column(farm, "耕种状态")
    # the parcels' decoded geometry is the 100 m square (area within 0.5 %)
    ring = features(farm)[0][0]
    poly = gpd.GeoSeries([shapely.Polygon(ring)], crs=4490).to_crs(4544)
    assert abs(poly.area.iloc[0] - 10000.0) < 50
    # village labels, layer control, title, scale, fullscreen, measure in mu
    assert layers["行政村 villages"]["lt"][1] == "将台村"
    assert "L.control.layers(" in page and "L.control.scale(" in page
    assert (
        "L.control.fullscreen(" in page
        and "L.Control.Measure(" in page
        and '"primaryAreaUnit": "mu"' in page
    )
    assert "一川两线三流域布局图" in page
    # legend: a section for each legend layer, class labels of the categorical ones
    legend = json.loads(re.search(r"GisTown\.legend\([a-z_0-9]+, (\".*?\"), \[", page).group(1))
    for label in (
        "县道",
        "村道",
        "进城",
        "乡镇",
        "甲河流域",
        "2023年将台村高标准农田项目",
        "水浇地",
        "旱地",
    ):
        assert label in legend
    assert legend.count('data-gt-sec="') == sum(1 for _ in layers)


def test_online_map_carries_leaflet_and_plugins_inline(town):
    from gis_town.maps import layout_map

    page = map_html(layout_map(town, basemap="osm"))
    # no script or stylesheet is fetched: each packaged file is in the page
    assert "<script src=" not in page and '<link rel="stylesheet"' not in page
    assert "cdn.jsdelivr.net" not in page
    assert len(ASSETS) == 6
    for rel in ASSETS.values():
        assert asset_text(rel)[:2000] in page, rel
    for lib in ("jquery", "bootstrap", "fontawesome", "awesome-markers", "glyphicons"):
        assert lib not in page.lower()
    # only the basemap tiles need the network
    assert remote_references(page) == ["https://tile.openstreetmap.org/{z}/{x}/{y}.png"]


GAODE_TILES = [
    "https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8&x={x}&y={y}&z={z}",
    "https://webst0{s}.is.autonavi.com/appmaptile?style=6&x={x}&y={y}&z={z}",
    "https://webst0{s}.is.autonavi.com/appmaptile?style=8&x={x}&y={y}&z={z}",
]


@pytest.mark.parametrize("basemap", ["osm", "gaode", "tianditu", "none"])
def test_remote_references_are_the_basemap_tiles_only(town, monkeypatch, basemap):
    from gis_town.maps import layout_map

    key = "0123456789abcdef0123456789abcdef"
    monkeypatch.setenv("TIANDITU_KEY", key)
    page = map_html(layout_map(town, basemap=basemap))
    refs = remote_references(page)
    if basemap == "osm":
        assert refs == ["https://tile.openstreetmap.org/{z}/{x}/{y}.png"]
    elif basemap == "gaode":
        assert refs == GAODE_TILES
    elif basemap == "tianditu":
        layers = [re.search(r"/(\w+)_w/wmts\?", u).group(1) for u in refs]
        assert layers == ["vec", "cva", "img", "cia"]
        assert all(u.startswith("https://t{s}.tianditu.gov.cn/") and f"tk={key}" in u for u in refs)
    else:
        assert refs == []


def test_page_falls_back_when_tiles_fail(town, tmp_path):
    """The tile fallback is in every page, its note is static text, the hillshade is registered."""
    import rasterio
    from rasterio.transform import from_origin

    from gis_town.maps import layout_map
    from gis_town.maps.page import NO_TILES_NOTE

    dem = tmp_path / "dem.tif"
    with rasterio.open(
        dem,
        "w",
        driver="GTiff",
        width=20,
        height=20,
        count=1,
        dtype="float32",
        crs="EPSG:4544",
        transform=from_origin(X0 - 200, Y0 + 1600, 90, 90),
    ) as ds:
        ds.write((1900 + np.arange(400, dtype="float32").reshape(20, 20)), 1)
    for kw in ({}, {"dem": dem}):
        page = map_html(layout_map(town, basemap="osm", **kw))
        assert "GT.watchTiles(map);" in page and '"tileerror"' in page
        assert f"div.textContent = {json.dumps(NO_TILES_NOTE, ensure_ascii=False)};" in page
        hill = re.findall(r"(\w+)\._gtHill = (\w+);", page)
        if kw:  # the online hillshade starts hidden; the page switches it on without tiles
            assert len(hill) == 1 and hill[0][0].startswith("map_")
            assert re.search(rf"var {hill[0][1]} = L\.imageOverlay\(", page)
        else:
            assert hill == []
    assert "底图无法加载" in NO_TILES_NOTE and "could not load" in NO_TILES_NOTE


def test_offline_page_needs_no_network(town):
    from gis_town.maps import layout_map

    page = map_html(layout_map(town, basemap="osm", offline=True))
    assert "<script src=" not in page and '<link rel="stylesheet"' not in page
    assert remote_references(page) == []
    assert "tile.openstreetmap.org" not in page
    assert asset_text("leaflet/leaflet.js")[:2000] in page  # Leaflet itself is inline
    assert "url(images/" not in page and "data:image/png;base64," in page  # CSS images inlined


def test_inline_assets_refuses_unknown_remote_files():
    with pytest.raises(InputError, match="network"):
        inline_assets('<script src="https://example.com/x.js"></script>')


def test_offline_hillshade_background(town, tmp_path):
    import rasterio
    from rasterio.transform import from_origin

    dem = tmp_path / "dem.tif"
    yy, xx = np.mgrid[0:60, 0:60]
    z = (1900 + 3.0 * xx + 20 * np.sin(yy / 6.0)).astype("float32")
    with rasterio.open(
        dem,
        "w",
        driver="GTiff",
        width=60,
        height=60,
        count=1,
        dtype="float32",
        crs="EPSG:4544",
        transform=from_origin(X0 - 200, Y0 + 1600, 30, 30),
        nodata=-9999,
    ) as ds:
        ds.write(z, 1)
    from gis_town.maps import layout_map

    page = map_html(layout_map(town, basemap="none", offline=True, dem=dem))
    assert "L.imageOverlay(" in page and json.dumps("山体阴影 hillshade") in page
    m = re.search(r"L\.imageOverlay\(\"(data:image/png;base64,[^\"]+)\", (\[\[.*?\]\])", page)
    (s, w), (n, e) = json.loads(m.group(2))
    # the image covers the DEM's extent (EPSG:4544 box -> lon/lat)
    box = (
        gpd.GeoSeries([shapely.box(X0 - 200, Y0 - 200, X0 + 1600, Y0 + 1600)], crs=4544)
        .to_crs(4326)
        .total_bounds
    )
    np.testing.assert_allclose([w, s, e, n], box, atol=2e-4)
    assert remote_references(page) == []


# --------------------------------------------------------------------------- escaping


def _single_layer_page(value: str, **kw) -> str:
    gdf = gpd.GeoDataFrame(
        {"name": [value, "正常"], "kind": [value, "x"], "v": [1.5, 2.0]},
        geometry=[
            shapely.box(104.6, 35.6, 104.601, 35.601),
            shapely.box(104.601, 35.6, 104.602, 35.601),
        ],
        crs=4490,
    )
    spec = LayerSpec(
        f"图层 {value}",
        gdf,
        fields=["name", "kind", "v"],
        tooltip=["name"],
        labels={"v": f"标签 {value}"},
        category="kind",
        styles={value: Style(fill="#ff0000"), "x": Style(fill="#00ff00")},
        class_labels={value: f"类 {value}"},
        label_field="name",
    )
    return map_html(
        build_map(
            [spec], title=f"标题 {value}", subtitle=value, data_date=value, basemap="none", **kw
        )
    )


PAYLOADS = [
    "<img src=x onerror=alert(1)>",
    '"><script>alert(1)</script>',
    "</script><script>window.__pwned=1</script>",
    "${alert(document.cookie)}",
    "`${1+1}`",
    "' onmouseover='alert(1)",
    "<!--",
    "&lt;script&gt;",
    "javascript:alert(1)",
    "\u2028\u2029</ScRiPt>",
    "{{ 7*7 }}",
    "{{ ''.__class__.__mro__ }}",
    "{% for x in range(3) %}x{% endfor %}",
    "{# comment",
    "{% raw %}{{",
]


def _assert_safe(value: str) -> str:
    """Build a page with ``value`` everywhere a map shows text; assert it only ever appears escaped."""
    marked = f"ZQX{value}XQZ"
    page = _single_layer_page(marked)
    scripts = [
        m.span()
        for m in re.finditer(r"<script\b.*?</script>", page, flags=re.DOTALL | re.IGNORECASE)
    ]
    spans = list(re.finditer(r"ZQX(.*?)XQZ", page, flags=re.DOTALL))
    assert len(spans) >= 6  # layer name, legend, title, subtitle, date, labels, values
    for m in spans:
        sp = m.group(1)
        # no character that could open or close a tag or an attribute, or end a script
        assert not re.search("[<>\"']", sp), sp
        # inside a script, no line separator that ends a JS string literal either
        if any(a <= m.start() < b for a, b in scripts):
            assert "\u2028" not in sp and "\u2029" not in sp
        # every & starts an entity
        assert not re.search(r"&(?!(amp|lt|gt|quot|#x27);)", sp), sp
    n_open = len(re.findall(r"<script\b", page, flags=re.IGNORECASE))
    n_close = len(re.findall(r"</script", page, flags=re.IGNORECASE))
    assert n_open == n_close
    # the value arrives in the page's data as escaped text
    escaped = html.escape(marked, quote=True)
    d = next(iter(page_layers(page).values()))
    assert column(d, "名称")[0] == escaped
    assert d["lt"][0] == escaped and d["n"] == html.escape(f"图层 {marked}", quote=True)
    assert html.escape(f"标签 {marked}", quote=True) in d["f"]
    return page


@pytest.mark.parametrize("value", PAYLOADS)
def test_known_payloads_are_escaped(value):
    page = _assert_safe(value)
    if html.escape(value, quote=True) != value:
        assert value not in page
    assert "ZQX49XQZ" not in page  # a Jinja expression in data is never evaluated
    # our own scripts never use template literals, so ${...} cannot be evaluated
    from gis_town.maps.base import DECODER_JS

    assert "`" not in DECODER_JS


@settings(
    deadline=None, derandomize=True, max_examples=60, suppress_health_check=[HealthCheck.too_slow]
)
@given(
    st.one_of(
        st.text(min_size=1, max_size=40),
        st.lists(
            st.sampled_from(
                [
                    *"<>&\"'`${}/ ;=()!-%#",
                    "script",
                    "</script>",
                    "img",
                    "onerror",
                    "\u2028",
                    "<!--",
                    "{{",
                    "{%",
                ]
            ),
            min_size=1,
            max_size=12,
        ).map("".join),
        st.sampled_from(PAYLOADS),
    ).filter(lambda s: "ZQX" not in s and "XQZ" not in s and "\x00" not in s)
)
def test_arbitrary_strings_never_reach_the_page_unescaped(value):
    _assert_safe(value)


def test_layer_names_and_legend_labels_are_escaped():
    page = _single_layer_page(EVIL)
    assert EVIL not in page
    key = re.search(r'overlays :\s*\{\s*("(?:[^"\\]|\\.)*")\s*:', page).group(1)
    assert json.loads(key) == html.escape(
        f"图层 {EVIL}"
    )  # Leaflet's layer control inserts names as HTML
    legend = json.loads(re.search(r"GisTown\.legend\([a-z_0-9]+, (\".*?\"), \[", page).group(1))
    assert html.escape(f"类 {EVIL}") in legend and "<img" not in legend


def test_public_map_leaves_personal_names_out(town):
    from gis_town.maps import layout_map
    from gis_town.maps.thematic import progress_map

    full = map_html(layout_map(town, basemap="none")) + map_html(
        progress_map(town, basemap="none", as_of="2023-06-30")
    )
    assert PERSON in full and HEAD in full
    pub = map_html(layout_map(town, basemap="none", public=True))
    pub += map_html(progress_map(town, basemap="none", as_of="2023-06-30", public=True))
    assert PERSON not in pub and HEAD not in pub
    assert "承包户" not in pub and "户主" not in pub  # not even the field labels


def test_public_specs_drops_columns():
    gdf = gpd.GeoDataFrame(
        {"head": ["甲"], "contractor": ["乙"], "leader": ["丙"]},
        geometry=[shapely.Point(104.6, 35.6)],
        crs=4490,
    )
    spec = LayerSpec("x", gdf, fields=["head", "contractor", "leader"], label_field="head")
    (pub,) = public_specs([spec])
    assert list(pub.fields) == ["leader"] and pub.label_field is None
    assert "head" not in pub.gdf.columns and "contractor" not in pub.gdf.columns


# --------------------------------------------------------------------------- basemaps


def test_tianditu_needs_a_key(town, monkeypatch):
    from gis_town.maps import layout_map

    monkeypatch.delenv("TIANDITU_KEY", raising=False)
    with pytest.raises(ConfigError, match="TIANDITU_KEY"):
        layout_map(town, basemap="tianditu")


def test_tianditu_key_from_env_and_config(town, monkeypatch):
    from gis_town.maps import layout_map, tianditu_key

    key = "0123456789abcdef0123456789abcdef"
    monkeypatch.setenv("TIANDITU_KEY", key)
    page = map_html(layout_map(town, basemap="tianditu"))
    for layer in ("vec", "cva", "img", "cia"):
        assert f"/{layer}_w/wmts?" in page and f"LAYER={layer}&" in page
    assert f"tk={key}" in page and "t{s}.tianditu.gov.cn" in page
    monkeypatch.delenv("TIANDITU_KEY")
    cfg = town.config.model_copy(deep=True)
    cfg.map.tianditu_key = "fedcba9876543210fedcba9876543210"
    assert tianditu_key(cfg) == "fedcba9876543210fedcba9876543210"
    cfg.map.tianditu_key = 'abc"};alert(1)//'
    with pytest.raises(ConfigError, match="key"):
        tianditu_key(cfg)


def test_unknown_basemap_is_an_input_error(town):
    from gis_town.maps import layout_map

    with pytest.raises(InputError, match="basemap"):
        layout_map(town, basemap="google")


# --------------------------------------------------------------------------- size


def _parcels(n_side: int = 30, seed: int = 7) -> gpd.GeoDataFrame:
    """Voronoi parcels (about 0.2-2 ha, 5-8 vertices) that tile a square, in EPSG:4490."""
    rng = np.random.default_rng(seed)
    side = 60.0 * n_side
    pts = shapely.points(rng.uniform(0, side, (n_side * n_side, 2)) + [X0, Y0])
    box = shapely.box(X0, Y0, X0 + side, Y0 + side)
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(pts), extend_to=box))
    cells = shapely.intersection(cells, box)
    n = len(cells)
    gdf = gpd.GeoDataFrame(
        {
            "parcel_id": [f"V{1 + i % 12:02d}-{i:04d}" for i in range(n)],
            "status": rng.choice(["cultivated", "abandoned", "fallow"], n, p=[0.87, 0.1, 0.03]),
            "land_use": rng.choice(["水浇地", "旱地"], n),
            "crop": rng.choice(["马铃薯", "小麦", "玉米"], n),
        },
        geometry=cells,
        crs="EPSG:4544",
    ).to_crs("EPSG:4490")
    from gis_town.geodesy import area_m2, m2_to_mu

    gdf["area_mu"] = m2_to_mu(area_m2(gdf))
    return gdf


def test_bytes_per_parcel_well_below_folium_default():
    parcels = _parcels()
    fields = ["parcel_id", "status", "land_use", "crop", "area_mu"]
    spec = LayerSpec(
        "耕地",
        parcels,
        fields=fields,
        tooltip=["parcel_id"],
        category="status",
        styles={"cultivated": Style(fill="#0f0"), "abandoned": Style(fill="#f00")},
        schema_layer="farmland",
    )
    m = build_map([spec], title="t", basemap="none")
    layer = next(c for c in m._children.values() if getattr(c, "n_features", None))
    ours = layer.n_bytes / layer.n_features

    base = folium.Map(tiles=None)
    empty = len(base.get_root().render())
    fm = folium.Map(tiles=None)
    folium.GeoJson(parcels[[*fields, "geometry"]]).add_to(fm)
    theirs = (len(fm.get_root().render()) - empty) / len(parcels)
    assert ours < 150, ours
    assert theirs > 2.5 * ours, (theirs, ours)


def test_coverage_simplification_keeps_shared_borders():
    parcels = _parcels(12).to_crs(4544)
    # densify so there is something to simplify
    dense = parcels.set_geometry(shapely.segmentize(np.asarray(parcels.geometry.values), 2.0))
    simp = simplify_layer(dense.to_crs(4490), 1.0, "EPSG:4544", coverage=True).to_crs(4544)
    n_before = shapely.get_num_coordinates(np.asarray(dense.geometry.values)).sum()
    n_after = shapely.get_num_coordinates(np.asarray(simp.geometry.values)).sum()
    assert n_after < n_before / 3
    geoms = np.asarray(simp.geometry.values)
    total = shapely.area(shapely.union_all(geoms))
    assert abs(geoms_area := shapely.area(geoms).sum() - total) < 1e-3 * total, (
        geoms_area
    )  # no overlaps
    assert (
        abs(total - shapely.area(shapely.union_all(np.asarray(parcels.geometry.values))))
        < 1e-3 * total
    )  # no gaps


# --------------------------------------------------------------------------- thematic maps


def test_progress_map(town):
    from gis_town.maps.thematic import progress_map

    page = map_html(progress_map(town, basemap="none", as_of="2023-06-30"))
    layers = page_layers(page)
    hh = layers["搬迁户 households by stage reached"]
    ids = column(hh, "户编号")
    reached = dict(zip(ids, column(hh, "已到环节")))
    # by the data: H1 moved in on 2023-06-01, H2 only signed, H3 (2022 cohort) moved in 2022-08-01
    assert reached == {"H1": "入住", "H2": "协议签订", "H3": "入住"}
    assert "造林地块 afforestation plots" in layers and "四旁植树点 four-sides planting" in layers
    rec = layers["拆旧复垦地块 reclamation plots"]
    assert column(rec, "已复垦") == ["已复垦 reclaimed", "未复垦 not yet"]
    roads = layers["道路硬化 road hardening"]
    assert roads["nf"] == 2 and "截至 as of 2023-06-30" in page


def test_check_map_shows_failed_rules(town):
    from gis_town.maps.thematic import check_map

    page = map_html(check_map(town, basemap="none"))
    layers = page_layers(page)
    acc = layers["高标准农田验收地块 high-standard plots: 检查结果 check result"]
    ids = column(acc, "地块编号")
    assert html.escape(EVIL, quote=True) in ids and EVIL not in page
    res = dict(zip(ids, column(acc, "检查结果")))
    failed = dict(zip(ids, column(acc, "不通过的规则")))
    assert res[html.escape(EVIL, quote=True)] == "不通过 fail"  # the bow-tie
    assert failed[html.escape(EVIL, quote=True)] != ""
    assert "拆旧复垦地块 reclaimed plots: 检查结果 check result" in layers


def test_risk_map_every_parcel_classed(town):
    from gis_town.maps.thematic import risk_map

    page = map_html(risk_map(town, basemap="none"))
    layers = page_layers(page)
    risk = layers["撂荒风险 abandonment risk"]
    assert risk["nf"] == 100
    assert all(v in {"低", "中", "高"} for v in column(risk, "风险等级"))
    assert all(v != "" for v in column(risk, "主要因素"))


def test_patrol_map_blind_spots_and_invalid_trips(town):
    from gis_town.maps.thematic import patrol_map

    page = map_html(patrol_map(town, basemap="none", as_of="2023-06-30"))
    layers = page_layers(page)
    seg = layers["河段巡河进度 segment progress"]
    assert sorted(column(seg, "河段编码")) == ["R1", "R2"]
    gaps = layers["巡河盲区 blind spots"]
    assert column(gaps, "河段编码") == ["R2"]  # only the walk along R1 counts; R2 was never walked
    bad = layers["无效巡河轨迹 invalid trips"]
    assert bad["nf"] == 1 and "速度" in column(bad, "无效原因")[0]


# --------------------------------------------------------------------------- print


@pytest.mark.parametrize(("paper", "landscape"), [("A4", True), ("A3", False)])
def test_print_png_size_and_cjk_font(town, tmp_path, paper, landscape):
    from PIL import Image

    from gis_town.maps.layout import layout_specs
    from gis_town.maps.printmap import PAPER_MM, cjk_font, print_map

    assert cjk_font()
    out = tmp_path / "layout.png"
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        print_map(
            layout_specs(town),
            out,
            title="示范镇 布局图",
            data_date="2023-06-30",
            paper=paper,
            landscape=landscape,
            dpi=60,
            crs=town.gk_crs,
        )
    assert not [x for x in w if "missing from" in str(x.message) or "Glyph" in str(x.message)]
    wmm, hmm = PAPER_MM[paper]
    if landscape:
        wmm, hmm = hmm, wmm
    with Image.open(out) as im:
        assert abs(im.size[0] - wmm / 25.4 * 60) <= 1 and abs(im.size[1] - hmm / 25.4 * 60) <= 1


def test_print_pdf(town, tmp_path):
    from gis_town.maps.printmap import print_town_map

    out = print_town_map(town, "check", tmp_path / "check.pdf", dpi=50)
    assert out.read_bytes()[:5] == b"%PDF-"


def test_nice_scale_length():
    from gis_town.maps.printmap import _nice_length

    assert [_nice_length(x) for x in (0.9, 3, 7, 180, 2400)] == [0.5, 2.0, 5.0, 100.0, 2000.0]


# --------------------------------------------------------------------------- CLI


def _sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def test_cli_map_html_png_and_errors(town_path, tmp_path, monkeypatch, capsys):
    from gis_town.cli import main

    before = _sha(town_path)
    out = tmp_path / "maps" / "layout.html"
    assert (
        main(
            ["map", str(town_path), "--kind", "layout", "--offline", "--public", "--out", str(out)]
        )
        == 0
    )
    page = out.read_text(encoding="utf-8")
    assert remote_references(page) == [] and PERSON not in page
    assert not (tmp_path / "maps" / "rejects.csv").exists()  # nothing rejected: no header-only file
    assert (
        main(
            [
                "map",
                str(town_path),
                "--kind",
                "progress",
                "--as-of",
                "2023-06-30",
                "--dpi",
                "40",
                "--out",
                str(tmp_path / "maps" / "progress.png"),
            ]
        )
        == 0
    )
    assert (tmp_path / "maps" / "progress.png").read_bytes()[:4] == b"\x89PNG"
    assert main(["map", str(town_path), "--kind", "layout", "--out", str(tmp_path / "x.txt")]) == 2
    monkeypatch.delenv("TIANDITU_KEY", raising=False)
    capsys.readouterr()
    assert (
        main(
            [
                "map",
                str(town_path),
                "--kind",
                "layout",
                "--basemap",
                "tianditu",
                "--out",
                str(tmp_path / "t.html"),
            ]
        )
        == 2
    )
    assert "TIANDITU_KEY" in capsys.readouterr().err
    assert not (tmp_path / "t.html").exists()
    assert _sha(town_path) == before  # the input is never modified


def test_cli_every_kind_on_the_demo_town(demo_town, tmp_path):
    from gis_town.cli import main

    for kind in ("layout", "patrol", "risk", "progress", "check"):
        out = tmp_path / f"{kind}.html"
        assert main(["map", str(demo_town), "--kind", kind, "--offline", "--out", str(out)]) == 0, (
            kind
        )
        assert out.stat().st_size < 10 * 1024 * 1024
        assert remote_references(out.read_text(encoding="utf-8")) == []


def test_save_map_is_atomic(town, tmp_path, monkeypatch):
    from gis_town.maps import layout_map

    out = tmp_path / "m.html"
    out.write_text("old", encoding="utf-8")
    m = layout_map(town, basemap="none")

    def boom(*a, **k):
        raise RuntimeError("render failed")

    monkeypatch.setattr(m.get_root(), "render", boom)
    with pytest.raises(RuntimeError):
        save_map(m, out)
    assert out.read_text(encoding="utf-8") == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["m.html"]


def test_offline_local_tiles_and_orthophoto(town, tmp_path):
    import rasterio
    from PIL import Image
    from rasterio.transform import from_origin

    from gis_town.maps import layout_map
    from gis_town.maps.offline import local_tiles, raster_overlay

    tiles = tmp_path / "tiles" / "14" / "13000"
    tiles.mkdir(parents=True)
    Image.new("RGB", (256, 256), (200, 220, 200)).save(tiles / "6000.png")
    html_path = tmp_path / "m.html"
    assert local_tiles(tmp_path / "tiles", html_path) == "tiles/{z}/{x}/{y}.png"
    page = map_html(
        layout_map(
            town, basemap="osm", offline=True, tiles_dir=tmp_path / "tiles", html_path=html_path
        )
    )
    assert '"tiles/{z}/{x}/{y}.png"' in page and remote_references(page) == []
    with pytest.raises(InputError):
        local_tiles(tmp_path / "nope")

    ortho = tmp_path / "ortho.tif"
    rgb = np.zeros((3, 40, 50), dtype="uint8")
    rgb[0], rgb[1] = 180, 120
    with rasterio.open(
        ortho,
        "w",
        driver="GTiff",
        width=50,
        height=40,
        count=3,
        dtype="uint8",
        crs="EPSG:4544",
        transform=from_origin(X0, Y0 + 800, 20, 20),
    ) as ds:
        ds.write(rgb)
    uri, ((s, w), (n, e)) = raster_overlay(ortho)
    assert uri.startswith("data:image/png;base64,")
    box = (
        gpd.GeoSeries([shapely.box(X0, Y0, X0 + 1000, Y0 + 800)], crs=4544)
        .to_crs(4326)
        .total_bounds
    )
    np.testing.assert_allclose([w, s, e, n], box, atol=1e-4)
    page = map_html(layout_map(town, basemap="none", offline=True, orthophoto=ortho))
    assert json.dumps("正射影像 orthophoto") in page and remote_references(page) == []


def test_patrol_map_problems_by_state_escaped(town_path, tmp_path):
    """River problems (清四乱): open, overdue and closed each with its own symbol; every value escaped."""
    import shutil

    from gis_town.io import load_town
    from gis_town.maps.thematic import patrol_map

    path = tmp_path / "town.gpkg"
    shutil.copy(town_path, path)
    probs = _gk(
        [shapely.Point(X0 + 500, Y0 + 140), shapely.Point(X0 + 800, Y0 + 140), shapely.Point(X0 + 200, Y0 + 110)],
        {
            "problem_id": ["W1", "W2", "W3"],
            "kind": ["垃圾", "乱堆", "排污"],
            "segment_id": ["R1", "R1", "R1"],
            # as of 2023-06-30: W1 rectified 03-01 (closed), W2 reported 06-20 (open 10 days),
            # W3 reported 04-01 and never rectified (open 90 days > 30: overdue)
            "reported_date": ["2023-02-20", "2023-06-20", "2023-04-01"],
            "rectified_date": ["2023-03-01", None, None],
            "note": ["桥下垃圾", "砂石", EVIL],
        },
    )
    probs.to_file(path, layer="problems", driver="GPKG")
    page = map_html(patrol_map(load_town(path), basemap="none", as_of="2023-06-30"))
    layer = page_layers(page)["河湖问题 river problems (清四乱)"]
    assert layer["nf"] == 3
    states = column(layer, "状态")
    assert states == ["已整改 closed", "未整改 open", "逾期未整改 overdue"]
    # one style per state, told apart by fill and size
    per_state = {s: layer["st"][i] for s, i in zip(states, varints(layer["s"]))}
    fills = {s: st["fillColor"] for s, st in per_state.items()}
    assert len(set(fills.values())) == 3
    radius = {s: layer["rad"][i] for s, i in zip(states, varints(layer["s"]))}
    assert radius["逾期未整改 overdue"] > radius["未整改 open"]
    # W1 was walked past on 03-05 (the walk along R1, 15 m from it), after its rectification
    assert column(layer, "回头看 revisit")[0].startswith("整改后已巡")
    assert EVIL not in page
    assert column(layer, "备注")[2] == html.escape(EVIL, quote=True)


def _rgb(hex_colour: str) -> tuple[int, int, int]:
    h = hex_colour.lstrip("#")
    return int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16)


def _luminance(hex_colour: str) -> float:
    """WCAG relative luminance (sRGB linearised), written here independently of matplotlib."""
    lin = [(c / 255) / 12.92 if c / 255 <= 0.04045 else ((c / 255 + 0.055) / 1.055) ** 2.4 for c in _rgb(hex_colour)]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def test_project_colours_are_told_apart_and_the_same_in_every_map():
    from gis_town.maps.colors import qualitative
    from gis_town.maps.layout import project_styles

    colours = qualitative(5)
    gaps = [sum((a - b) ** 2 for a, b in zip(_rgb(x), _rgb(y))) ** 0.5
            for i, x in enumerate(colours) for y in colours[i + 1:]]
    assert min(gaps) > 80  # the old greens (#2d6a4f, #40916c, #1b4332 ...) were 30-60 apart
    names = ["2023年张家岔村高标准农田建设项目", "2023年柳家河村高标准农田建设项目", "2023年石峡村高标准农田建设项目"]
    a = project_styles(names)
    b = project_styles(list(reversed(names)) + [None, ""])  # another map, another row order
    assert {k: s.fill for k, s in a.items()} == {k: s.fill for k, s in b.items()}
    assert len({s.fill for s in a.values()}) == 3


def test_ordered_classes_run_from_light_to_dark():
    from gis_town.maps.colors import ordered

    ramp = ordered(11)
    lum = [_luminance(c) for c in ramp]
    assert all(x > y for x, y in zip(lum, lum[1:])), lum
    assert lum[0] / lum[-1] > 10  # the ends are far apart; neighbours still differ
    assert min(x - y for x, y in zip(lum, lum[1:])) > 0.01
