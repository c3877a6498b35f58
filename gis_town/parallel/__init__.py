"""The opt-in Dask path: partitioned GeoParquet, the same analyses per partition.

A township has about 5,000 parcels, a county a million, a province's land
survey tens of millions. One machine runs a county comfortably (see
``benchmarks/README.md``); beyond it, the layers are stored as *partitioned
GeoParquet* (one folder per layer, ``part.00000.parquet`` ...), sorted along a
Hilbert curve so that each partition covers a compact patch of land, and the
analyses run per partition on a Dask cluster (:mod:`dask.distributed`, with
:mod:`dask_geopandas` for reading).

The partitioned path runs the *same* functions as the single-machine path
(:func:`gis_town.io.validate.validate_layer`,
:func:`gis_town.analysis.areas.parcel_areas`,
:func:`gis_town.analysis.overlay.area_by_zone`,
:func:`gis_town.raster.zonal_stats`,
:func:`gis_town.analysis.patrol.patrol_trips`) on each partition, and combines the
results in the driver:

- area totals: each partition returns its *partial sums* (parcels and m² per
  group); the driver adds them up and balances once
  (:func:`gis_town.analysis.areas.group_totals` with ``count_column``), so the
  balanced table equals the single-machine one (sums within float tolerance);
- validation: each partition is validated with
  :func:`~gis_town.io.validate.validate_layer`; duplicate ids *across*
  partitions are found beforehand from the id column alone, and the problems
  table carries global row numbers, in the single-machine order;
- overlay and zonal statistics: per-parcel results are concatenated (rows
  renumbered to global positions); the small layers (zones, villages) are
  sent to each worker once;
- patrol coverage: the points of each group of chiefs are validated, split
  into trips and matched in one task
  (:func:`gis_town.analysis.patrol.patrol_trips`); the driver joins the
  trips and builds the tables (:func:`~gis_town.analysis.patrol.patrol_report`);
- abandonment risk (:func:`risk_scored`): factors per partition, the
  quantile normalisation over the whole layer, scores per partition;
- plan progress (:func:`plan_progress`): the overlay of each partition with
  the zones and the project parcels in the workers, the tables in the driver;
- the acceptance check (:func:`check_partitioned`): per-plot rules per
  partition, overlaps from one global index of the plots' boxes, duplicate
  ids over the whole layer.

Ellipsoidal areas are measured per partition at the centre one process
measures the whole batch at, so the results are the one-process ones to the
last bit.

Dask is opt-in: without a scheduler or a worker count, nothing here starts a
cluster (:func:`client_for` yields ``None`` and the per-partition work runs in
the calling process). ``dask``, ``distributed`` and ``dask-geopandas`` are
imported only when used (``pip install "gis-town[dask]"``).

Modules: :mod:`~gis_town.parallel.cluster` (the client),
:mod:`~gis_town.parallel.storage` (partitioned GeoParquet),
:mod:`~gis_town.parallel.sources` (inputs as partitions, their validation),
:mod:`~gis_town.parallel.areas`, :mod:`~gis_town.parallel.patrol`,
:mod:`~gis_town.parallel.risk`, :mod:`~gis_town.parallel.progress` and
:mod:`~gis_town.parallel.check` (the per-topic scheduling). Every name below
is importable from here.

Functions
---------
:func:`client_for`
    Context manager: an existing scheduler by address, a local cluster of N
    worker processes, or ``None`` (one process).
:func:`hilbert_index`, :func:`hilbert_sort`
    Spatial sort keys (vectorised).
:func:`write_partitioned`, :func:`read_partitioned`, :func:`is_geoparquet`
    Partitioned GeoParquet storage.
:func:`partitions`
    Any input (dask frame, GeoDataFrame, GeoParquet folder, GeoPackage...) as
    a list of lazy partitions.
:func:`parcel_areas`, :func:`group_totals`, :func:`area_totals`,
:func:`zone_totals`, :func:`basic_farmland_totals`, :func:`area_by_zone`,
:func:`zonal_stats`, :func:`validate_partitioned`, :func:`areas_report`,
:func:`analyze_patrols`, :func:`risk_scored`, :func:`farmland_progress`,
:func:`plan_progress`, :func:`check_partitioned`
    The analyses, partitioned.
"""

from __future__ import annotations

from gis_town.parallel.areas import (
    AreasReport,
    area_by_zone,
    area_totals,
    areas_report,
    basic_farmland_totals,
    group_totals,
    parcel_areas,
    zonal_stats,
    zone_totals,
)
from gis_town.parallel.check import check_partitioned
from gis_town.parallel.cluster import client_for
from gis_town.parallel.patrol import _chief_groups, analyze_patrols  # noqa: F401 (tests)
from gis_town.parallel.progress import farmland_progress, plan_progress
from gis_town.parallel.risk import risk_scored
from gis_town.parallel.sources import (
    Partitions,
    layer_source,
    merge_layer_report,
    partitions,
    validate_partitioned,
)
from gis_town.parallel.storage import (
    ROWS_PER_PARTITION,
    hilbert_index,
    hilbert_sort,
    is_geoparquet,
    read_partitioned,
    write_partitioned,
)

__all__ = [
    "AreasReport",
    "Partitions",
    "ROWS_PER_PARTITION",
    "analyze_patrols",
    "area_by_zone",
    "area_totals",
    "areas_report",
    "basic_farmland_totals",
    "check_partitioned",
    "client_for",
    "farmland_progress",
    "group_totals",
    "hilbert_index",
    "hilbert_sort",
    "is_geoparquet",
    "layer_source",
    "merge_layer_report",
    "parcel_areas",
    "partitions",
    "plan_progress",
    "read_partitioned",
    "risk_scored",
    "validate_partitioned",
    "write_partitioned",
    "zonal_stats",
    "zone_totals",
]
