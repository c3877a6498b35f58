"""Interactive and print maps of the town (folium underneath).

* :func:`layout_map` - the layout map (一川两线三流域布局图);
* :func:`patrol_map`, :func:`risk_map`, :func:`progress_map`,
  :func:`check_map` - thematic maps drawn from the analyses' outputs;
* :func:`make_map` - any of them by kind (``"layout"``, ``"patrol"``, ...);
* :func:`save_map` - write the HTML page atomically;
* :func:`print_map` - the same layers as an A4/A3 PNG or PDF for meetings;
* :mod:`gis_town.maps.gcj02` - WGS84 <-> GCJ-02 for Gaode tiles.

Every map returns a ``folium.Map`` (shown inline in Jupyter). See ``docs/maps.md``.
"""

from gis_town.maps.base import BASEMAPS, build_map, map_html, save_map, tianditu_key
from gis_town.maps.gcj02 import gcj02_to_wgs84, out_of_china, wgs84_to_gcj02
from gis_town.maps.layout import layout_map, layout_specs
from gis_town.maps.spec import PERSONAL_FIELDS, LayerSpec, Style

__all__ = [
    "BASEMAPS",
    "MAP_KINDS",
    "PERSONAL_FIELDS",
    "LayerSpec",
    "Style",
    "build_map",
    "check_map",
    "gcj02_to_wgs84",
    "layout_map",
    "layout_specs",
    "make_map",
    "map_html",
    "map_specs",
    "out_of_china",
    "patrol_map",
    "print_map",
    "progress_map",
    "risk_map",
    "save_map",
    "tianditu_key",
    "wgs84_to_gcj02",
]

#: Map kinds of ``gis-town map --kind``.
MAP_KINDS: tuple[str, ...] = ("layout", "patrol", "risk", "progress", "check")


def __getattr__(name: str):
    # thematic and print maps import the analyses and matplotlib: load them on first use
    if name in ("patrol_map", "risk_map", "progress_map", "check_map", "make_map", "map_specs"):
        from gis_town.maps import thematic

        return getattr(thematic, name)
    if name == "print_map":
        from gis_town.maps.printmap import print_map

        return print_map
    raise AttributeError(name)
