"""The layout map (一川两线三流域布局图) and the plumbing shared by every town map.

The plan lays the town out as "one river valley, two lines, three basins":
the Guanchuan valley demonstration belt (一川), two demonstration belts along
the main roads (两线) and three basins (三流域). The layout map shows them as
labelled zones with the river network, roads, villages with their names,
high-standard farmland, resettlement sites and the three control lines
(ecological red line, permanent basic farmland, development boundary), each
layer switchable.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from pathlib import Path

import geopandas as gpd
import pandas as pd

from gis_town.geodesy import area_m2, m2_to_mu
from gis_town.io.town import Town
from gis_town.maps.base import TownMap, build_map
from gis_town.maps.spec import LayerSpec, Style

__all__ = [
    "PALETTE",
    "layout_map",
    "layout_specs",
    "palette_styles",
    "project_styles",
    "town_data_date",
    "town_map",
    "with_village_names",
]

log = logging.getLogger(__name__)

#: Qualitative colours (ColorBrewer Set2 / Paired, readable on print).
PALETTE: tuple[str, ...] = (
    "#66c2a5",
    "#fc8d62",
    "#8da0cb",
    "#e78ac3",
    "#a6d854",
    "#ffd92f",
    "#e5c494",
    "#b3b3b3",
    "#1f78b4",
    "#33a02c",
    "#fb9a99",
    "#cab2d6",
)




def palette_styles(
    values: Sequence[object],
    *,
    kind: str = "polygon",
    fill_opacity: float = 0.45,
    weight: float = 1.0,
    palette: Sequence[str] = PALETTE,
) -> dict[object, Style]:
    """One style per distinct value (in order), from a qualitative palette."""
    out: dict[object, Style] = {}
    for i, v in enumerate(
        dict.fromkeys(v for v in values if v is not None and v == v and str(v) != "")
    ):
        c = palette[i % len(palette)]
        if kind == "line":
            out[v] = Style(color=c, weight=weight + 1)
        elif kind == "point":
            out[v] = Style(color="#333333", fill=c, fill_opacity=0.9, weight=1, radius=6)
        else:
            out[v] = Style(color=c, fill=c, weight=weight, fill_opacity=fill_opacity)
    return out


def project_styles(projects: Sequence[object], **kwargs) -> dict[object, Style]:
    """The high-standard projects' styles, the same in every map: colour-blind-safe colours
    (:func:`gis_town.maps.colors.qualitative`) given in the projects' sorted order."""
    from gis_town.maps.colors import qualitative

    names = sorted({str(v) for v in projects if v is not None and v == v and str(v) != ""})
    styles = palette_styles(names, palette=qualitative(len(names)), **kwargs)
    return {v: styles[str(v)] for v in dict.fromkeys(projects) if str(v) in styles}


def town_data_date(town: Town) -> dt.date | None:
    """The data date of a town: ``[town] data_date``, else the town file's modification date."""
    if town.config.town.data_date is not None:
        return town.config.town.data_date
    if town.path is not None and Path(town.path).exists():
        return dt.date.fromtimestamp(Path(town.path).stat().st_mtime)
    return None


def with_village_names(
    gdf: gpd.GeoDataFrame, town: Town, column: str = "village_name"
) -> gpd.GeoDataFrame:
    """Add the village's name (``village_name``) from the villages layer by ``village_id``."""
    if column in gdf.columns or "village_id" not in gdf.columns or not town.has("villages"):
        return gdf
    names = pd.Series(
        town.layers["villages"]["name"].astype("string").to_numpy(),
        index=town.layers["villages"]["village_id"].astype("string").to_numpy(),
    )
    names = names[~names.index.duplicated()]
    out = gdf.copy()
    out[column] = out["village_id"].astype("string").map(names)
    return out


def town_map(town: Town, specs: Sequence[LayerSpec], title: str, **kwargs) -> TownMap:
    """:func:`gis_town.maps.base.build_map` with the town's config, data date, DEM and zone.

    ``kwargs`` go to ``build_map`` (basemap, offline, public, orthophoto,
    tiles_dir, html_path, simplify_m, subtitle, data_date, dem).
    """
    cfg = town.config
    kwargs.setdefault("data_date", town_data_date(town))
    if "dem" not in kwargs:
        dem = cfg.dem_path()
        kwargs["dem"] = dem if dem is not None and Path(dem).is_file() else None
        if kwargs["dem"] is None and kwargs.get("offline"):
            log.warning(
                "配置中没有 DEM，离线地图无底图 / no DEM in the config: the offline map has no background"
            )
    try:
        gk = town.gk_crs
    except Exception:
        gk = None
    return build_map(specs, title=title, config=cfg, gk_crs=gk, **kwargs)


def _zone_specs(town: Town) -> list[LayerSpec]:
    if not town.has("zones"):
        return []
    zones = town.layers["zones"]
    fields = ["zone_id", "name", "kind", "planned_demo_mu"]
    specs = []
    basins = zones[zones["kind"] == "basin"]
    if len(basins):
        specs.append(
            LayerSpec(
                "三流域 three basins",
                basins,
                fields=fields,
                tooltip=["name"],
                category="name",
                styles=palette_styles(
                    basins["name"],
                    fill_opacity=0.18,
                    weight=1.5,
                    palette=("#a6cee3", "#b2df8a", "#fdbf6f", "#cab2d6", "#ffff99"),
                ),
                label_field="name",
                schema_layer="zones",
            )
        )
    valley = zones[zones["kind"] == "valley"]
    if len(valley):
        specs.append(
            LayerSpec(
                "一川 valley belt 川区示范片带",
                valley,
                fields=fields,
                tooltip=["name"],
                style=Style(color="#e36414", fill="#f6bd60", weight=2.5, fill_opacity=0.35),
                label_field="name",
                schema_layer="zones",
            )
        )
    corridors = zones[zones["kind"] == "corridor"]
    if len(corridors):
        specs.append(
            LayerSpec(
                "两线 road corridor belts 沿线示范片带",
                corridors,
                fields=fields,
                tooltip=["name"],
                style=Style(
                    color="#c1121f", fill="#f28482", weight=2.5, fill_opacity=0.2, dash="8 5"
                ),
                label_field="name",
                schema_layer="zones",
            )
        )
    other = zones[~zones["kind"].isin(["basin", "valley", "corridor"])]
    if len(other):
        specs.append(
            LayerSpec(
                "其他分区 other zones",
                other,
                fields=fields,
                tooltip=["name"],
                style=Style(color="#555555", fill="#cccccc", fill_opacity=0.2),
                schema_layer="zones",
            )
        )
    return specs


LAND_USE_STYLES: dict[str, Style] = {
    "水浇地": Style(color="#5e9fc4", fill="#a6d0e4", weight=0.4, fill_opacity=0.7),
    "旱地": Style(color="#c9a227", fill="#f3dfa2", weight=0.4, fill_opacity=0.7),
    "水田": Style(color="#2a9d8f", fill="#8fd1c6", weight=0.4, fill_opacity=0.7),
}

ROAD_STYLES: dict[str, Style] = {
    "国道": Style(color="#9d0208", weight=4),
    "省道": Style(color="#d00000", weight=3.5),
    "县道": Style(color="#dc2f02", weight=3),
    "乡道": Style(color="#f48c06", weight=2.5),
    "村道": Style(color="#6c757d", weight=1.6),
    "产业路": Style(color="#8d6e63", weight=1.4, dash="6 4"),
}


def farmland_with_area(farmland: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Parcels with their ellipsoidal area in mu (``area_mu``)."""
    out = farmland.copy()
    out["area_mu"] = m2_to_mu(area_m2(out, layer="farmland"))
    return out


def layout_specs(town: Town) -> list[LayerSpec]:
    """The layout map's layers, bottom to top (missing town layers are skipped).

    Parameters
    ----------
    town : Town
        A loaded town (any of zones, villages, farmland, rivers, roads,
        settlements, resettlement, redline, basic_farmland, dev_boundary).
    """
    specs: list[LayerSpec] = []
    specs += _zone_specs(town)
    if town.has("farmland"):
        farm = with_village_names(farmland_with_area(town.layers["farmland"]), town)
        fields = [
            "parcel_id",
            "village_name",
            "group",
            "status",
            "land_use",
            "crop",
            "area_mu",
            "project",
            "contractor",
        ]
        uses = [
            u
            for u in LAND_USE_STYLES
            if u in set(farm.get("land_use", pd.Series(dtype="string")).dropna())
        ]
        specs.append(
            LayerSpec(
                "耕地 farmland (by land use 地类)",
                farm,
                fields=fields,
                tooltip=["parcel_id", "land_use"],
                category="land_use" if "land_use" in farm.columns else None,
                styles={u: LAND_USE_STYLES[u] for u in uses},
                style=Style(color="#999999", fill="#dddddd", weight=0.4, fill_opacity=0.6),
                show=False,
                schema_layer="farmland",
                coverage=True,
            )
        )
        if "project" in farm.columns:
            proj = farm[farm["project"].astype("string").fillna("").str.strip() != ""]
            if len(proj):
                specs.append(
                    LayerSpec(
                        "高标准农田 high-standard farmland",
                        proj,
                        fields=["parcel_id", "village_name", "project", "land_use", "area_mu"],
                        tooltip=["project"],
                        category="project",
                        styles=project_styles(proj["project"], fill_opacity=0.6, weight=0.5),
                        schema_layer="farmland",
                        coverage=True,
                    )
                )
    for name, label, style in (
        (
            "basic_farmland",
            "永久基本农田 permanent basic farmland",
            Style(color="#bc6c25", fill="#fefae0", weight=1, fill_opacity=0.35),
        ),
        (
            "redline",
            "生态保护红线 ecological red line",
            Style(color="#9d0208", fill="#e5383b", weight=1.5, fill_opacity=0.25),
        ),
        (
            "dev_boundary",
            "城镇开发边界 development boundary",
            Style(color="#7b2cbf", weight=2.5, dash="10 6"),
        ),
    ):
        if town.has(name):
            specs.append(
                LayerSpec(
                    label,
                    town.layers[name],
                    fields=["zone_id", "name"],
                    tooltip=["name"],
                    style=style,
                    show=False,
                    schema_layer=name,
                )
            )
    if town.has("villages"):
        specs.append(
            LayerSpec(
                "行政村 villages",
                town.layers["villages"],
                fields=[
                    "village_id",
                    "name",
                    "population",
                    "households",
                    "monitored_households",
                    "leader",
                    "collective_income_wan",
                ],
                tooltip=["name"],
                style=Style(color="#343a40", weight=1.8, fill="#ffffff", fill_opacity=0.0),
                label_field="name",
                schema_layer="villages",
                coverage=True,
            )
        )
    if town.has("rivers"):
        rivers = with_village_names(town.layers["rivers"], town)
        specs.append(
            LayerSpec(
                "河流 rivers",
                rivers,
                fields=[
                    "segment_id",
                    "river_name",
                    "basin",
                    "chief",
                    "chief_level",
                    "village_name",
                ],
                tooltip=["river_name"],
                style=Style(color="#1d74c4", weight=2.2),
                schema_layer="rivers",
            )
        )
    if town.has("roads"):
        roads = town.layers["roads"]
        classes = [
            c
            for c in ROAD_STYLES
            if "road_class" in roads.columns and c in set(roads["road_class"].dropna())
        ]
        specs.append(
            LayerSpec(
                "道路 roads",
                roads,
                fields=["road_id", "name", "road_class", "hardened", "hardened_year"],
                tooltip=["name", "road_class"],
                category="road_class" if "road_class" in roads.columns else None,
                styles={c: ROAD_STYLES[c] for c in classes},
                style=Style(color="#6c757d", weight=1.5),
                schema_layer="roads",
            )
        )
    if town.has("settlements"):
        specs.append(
            LayerSpec(
                "居民点 settlements",
                with_village_names(town.layers["settlements"], town),
                fields=["settlement_id", "name", "village_name"],
                tooltip=["name"],
                style=Style(
                    color="#212529", fill="#f8f9fa", weight=1.2, radius=3.5, fill_opacity=1.0
                ),
                schema_layer="settlements",
            )
        )
    if town.has("resettlement"):
        res = with_village_names(town.layers["resettlement"], town)
        specs.append(
            LayerSpec(
                "避险搬迁户 resettlement sites",
                res,
                fields=["household_id", "village_name", "head", "destination", "cohort"],
                tooltip=["household_id", "destination"],
                category="destination",
                styles={
                    "city": Style(color="#3c096c", fill="#9d4edd", radius=5.5, fill_opacity=0.95),
                    "town": Style(color="#005f73", fill="#0a9396", radius=5.5, fill_opacity=0.95),
                },
                style=Style(color="#333333", fill="#adb5bd", radius=5.5, fill_opacity=0.95),
                schema_layer="resettlement",
            )
        )
    return specs


def layout_map(town: Town, **kwargs) -> TownMap:
    """The layout map (一川两线三流域布局图) of a town as a ``folium.Map``.

    Parameters
    ----------
    town : Town
        The loaded town.
    **kwargs
        Passed to :func:`gis_town.maps.base.build_map` (``basemap``,
        ``offline``, ``public``, ``orthophoto``, ``tiles_dir``, ``simplify_m`` ...).

    Examples
    --------
    >>> from gis_town.io import load_town                      # doctest: +SKIP
    >>> m = layout_map(load_town("layers/demo_town.gpkg"))      # doctest: +SKIP
    >>> m  # shown inline in Jupyter                             # doctest: +SKIP
    """
    name = town.config.town.name
    title = f"{name} 一川两线三流域布局图 / layout map"
    return town_map(town, layout_specs(town), title, **kwargs)
