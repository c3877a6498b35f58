"""Package-wide constants and defaults.

Everything a town may want to change lives in the town config
(:mod:`gis_town.config`); this module holds physical constants and the
defaults of the toolkit itself (as ``osmnx.settings`` does).
"""

from __future__ import annotations

#: Square metres in one mu (亩): 1 mu = 10000/15 m², exactly.
M2_PER_MU: float = 10000.0 / 15.0
#: Square metres in one hectare (公顷).
M2_PER_HA: float = 10000.0
#: Mu in one square metre (= 0.0015 exactly).
MU_PER_M2: float = 15.0 / 10000.0

#: CGCS2000 geographic CRS (国家2000坐标系).
CGCS2000: str = "EPSG:4490"
#: CGCS2000 ellipsoid semi-major axis (m) and inverse flattening.
CGCS2000_A: float = 6378137.0
CGCS2000_RF: float = 298.257222101

#: Local time zone for times that carry none (river-chief app, village records).
LOCAL_TZ: str = "Asia/Shanghai"

#: Track files read from a folder given as ``--tracks`` (searched recursively).
TRACK_SUFFIXES: tuple[str, ...] = (".csv", ".txt", ".gpx", ".kml", ".kmz")
#: The chief's name in a track file's name when the file itself does not say
#: (a regular expression whose first group is the name: the text before the
#: first ``_``, as in ``张三_20230601.kml``); ``[patrol] chief_from_filename``.
TRACK_CHIEF_PATTERN: str = r"^([^_]+)_"

#: Default names of the town's files.
DEFAULT_TOWN_FILE: str = "demo_town.gpkg"
CONFIG_FILE_NAMES: tuple[str, ...] = ("town.toml", "town.yaml", "town.yml")

#: Encoding assumed for shapefiles written by Chinese GIS software without ``.cpg``.
CHINESE_LEGACY_ENCODING: str = "gbk"

#: Default output vector format ("gpkg" or "shp").
DEFAULT_VECTOR_FORMAT: str = "gpkg"

#: Longitude distance (degrees) beyond a Gauss-Kruger zone's central meridian
#: past which a warning is logged (a 3-degree zone spans +-1.5 degrees).
GK_ZONE_WARN_DEG: float = 2.0

#: Coordinates are rounded to this many decimals of a degree in web maps (~0.1 m).
MAP_COORD_DECIMALS: int = 6

#: A polygon coverage kept in a web map's page (villages with their names) with
#: more vertices than this is simplified for display
#: (:func:`gis_town.maps.encode.display_simplify`): Leaflet projects, clips and
#: redraws every vertex after each drag and zoom. A town's layers stay below it.
MAP_DISPLAY_VERTICES: int = 100_000

#: The display simplification's tolerance: this many pixels ...
MAP_DISPLAY_PX: float = 0.5

#: ... at this many zooms closer than the one that fits the layer in
#: :data:`MAP_VIEW_PX` (borders stay within half a pixel there, one pixel a
#: zoom closer).
MAP_DISPLAY_ZOOMS: int = 2

#: The screen (width, height in CSS pixels) the first view is planned for.
MAP_VIEW_PX: tuple[int, int] = (1400, 900)

#: Features :func:`gis_town.raster.zonal_stats` hands to exactextract at a
#: time: the cells of one block are held in memory (a 1,000,000-parcel county
#: on a 5 m DEM touches about 100 million cells; one block of 50,000 parcels,
#: about 80 MB of them). Results do not depend on it.
ZONAL_BLOCK_FEATURES: int = 50_000

#: Plots the acceptance check (:func:`gis_town.analysis.check.run_rules`,
#: :func:`~gis_town.analysis.check.summarize`) turns into text at a time: the
#: messages are built and ordered one block of plots at a time, so the
#: transient copies stay one block's size. Results do not depend on it.
CHECK_BLOCK_PLOTS: int = 100_000

#: Results (plot x rule rows) up to which ``check_report.xlsx`` lists every
#: result in its details sheet; above it (a county-wide check), the first this
#: many of those that did not pass (every result stays in ``check_results.csv``,
#: every plot in the workbook's plots sheet).
CHECK_DETAIL_ROWS: int = 200_000

#: Vertices per piece when a large zone (a county's river buffers, the red
#: line) is cut into pieces before intersecting it with parcels
#: (:func:`gis_town.analysis.overlay.subdivide`). Results do not depend on it.
SUBDIVIDE_MAX_VERTICES: int = 256
