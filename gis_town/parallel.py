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
  trips and builds the tables (:func:`~gis_town.analysis.patrol.patrol_report`).

Dask is opt-in: without a scheduler or a worker count, nothing here starts a
cluster (:func:`client_for` yields ``None`` and the per-partition work runs in
the calling process). ``dask``, ``distributed`` and ``dask-geopandas`` are
imported only when used (``pip install "gis-town[dask]"``).

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
:func:`analyze_patrols`
    The analyses, partitioned.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import shutil
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from gis_town.errors import InputError, LayerError, OutputError
from gis_town.io.validate import PROBLEM_COLUMNS
from gis_town.schema import LAYERS

__all__ = [
    "AreasReport",
    "Partitions",
    "analyze_patrols",
    "area_by_zone",
    "area_totals",
    "areas_report",
    "basic_farmland_totals",
    "client_for",
    "group_totals",
    "hilbert_index",
    "hilbert_sort",
    "is_geoparquet",
    "parcel_areas",
    "partitions",
    "read_partitioned",
    "validate_partitioned",
    "write_partitioned",
    "zonal_stats",
    "zone_totals",
]

log = logging.getLogger(__name__)

#: Default rows per partition when writing partitioned GeoParquet (about 20-60 MB of parcels).
ROWS_PER_PARTITION = 50_000

#: Label of a blank group key, as :func:`gis_town.analysis.areas.group_totals` writes it.
_BLANK = "(空 blank)"

_PARQUET_SUFFIXES = (".parquet", ".geoparquet")


# --------------------------------------------------------------------------- dask import


def _need_dask():
    try:
        import dask
        import dask_geopandas  # noqa: F401
    except ImportError as exc:  # pragma: no cover - depends on the installation
        raise InputError(
            "未安装 Dask / Dask is not installed: the partitioned path needs dask, distributed "
            f'and dask-geopandas (pip install "gis-town[dask]"); missing: {exc.name}'
        ) from None
    return dask


# --------------------------------------------------------------------------- cluster


@contextlib.contextmanager
def client_for(
    scheduler: str | None = None,
    workers: int | None = None,
    *,
    threads_per_worker: int = 1,
    processes: bool = True,
    memory_limit: str | float | None = "auto",
    dashboard: bool = False,
    timeout: str = "20s",
) -> Iterator[Any]:
    """Connect to a Dask cluster for the duration of a ``with`` block.

    Parameters
    ----------
    scheduler : str, optional
        Address of a running scheduler (``tcp://10.0.0.5:8786``, or a
        scheduler file path ending in ``.json``): use that cluster.
    workers : int, optional
        Without ``scheduler``: start a local cluster of this many workers
        (processes by default), closed at the end of the block.
    threads_per_worker : int, default 1
        Threads per local worker. GEOS and PROJ work mostly holds the GIL,
        so processes scale and threads do not.
    processes : bool, default True
        Local workers as processes (False: threads in this process, for
        small tests).
    memory_limit : str or float or None, default "auto"
        Memory limit of each local worker ("auto": the machine's memory
        divided by the workers; "4GB"; None: no limit).
    dashboard : bool, default False
        Serve the Dask dashboard of a local cluster (on a free port).
    timeout : str, default "20s"
        How long to wait for a scheduler to answer.

    Yields
    ------
    distributed.Client or None
        ``None`` when neither ``scheduler`` nor ``workers`` is given: the
        partitioned functions then run in this process, one partition at a
        time.

    Raises
    ------
    InputError
        Dask is not installed, the scheduler cannot be reached, or
        ``workers`` is not positive.
    """
    if scheduler is None and not workers:
        if workers is not None:
            raise InputError(f"工作进程数应大于 0 / --workers must be at least 1, got {workers}")
        yield None
        return
    _need_dask()
    from distributed import Client, LocalCluster

    if scheduler:
        if workers:
            log.warning(
                "已指定调度器 %s，忽略 workers=%s / a scheduler address is given: workers=%s is ignored",
                scheduler,
                workers,
                workers,
            )
        try:
            if str(scheduler).endswith(".json"):
                client = Client(scheduler_file=str(scheduler), timeout=timeout)
            else:
                client = Client(str(scheduler), timeout=timeout)
        except (OSError, TimeoutError, ValueError) as exc:
            raise InputError(
                f"无法连接 Dask 调度器 / cannot connect to the Dask scheduler at {scheduler!r}: {exc}. "
                "Start one (`dask scheduler` and `dask worker ADDRESS` on each machine), check the "
                "address and the firewall, or run without --scheduler (one process) or with "
                "--workers N (a local cluster)"
            ) from None
        try:
            log.info("使用 Dask 集群 using the Dask cluster at %s", scheduler)
            yield client
        finally:
            client.close()
        return
    if int(workers) < 1:
        raise InputError(f"工作进程数应大于 0 / --workers must be at least 1, got {workers}")
    cluster = LocalCluster(
        n_workers=int(workers),
        threads_per_worker=threads_per_worker,
        processes=processes,
        memory_limit=memory_limit if memory_limit is not None else 0,
        dashboard_address=":0" if dashboard else None,
        silence_logs=logging.ERROR,
    )
    client = Client(cluster)
    try:
        log.info("本机 Dask 集群 local Dask cluster: %d workers", int(workers))
        yield client
    finally:
        client.close()
        cluster.close()


def _has_client() -> bool:
    try:
        from distributed import default_client
    except ImportError:
        return False
    try:
        default_client()
    except ValueError:
        return False
    return True


def _compute(tasks: Sequence[Any]) -> list[Any]:
    """Compute delayed tasks: on the current Dask client, else one at a time in this process."""
    dask = _need_dask()
    if not tasks:
        return []
    if _has_client():
        return list(dask.compute(*tasks))
    return list(dask.compute(*tasks, scheduler="sync"))


# --------------------------------------------------------------------------- Hilbert


def hilbert_index(
    x: np.ndarray,
    y: np.ndarray,
    *,
    bounds: Sequence[float] | None = None,
    level: int = 16,
) -> np.ndarray:
    """Position of points along a Hilbert curve over ``bounds`` (vectorised).

    Parameters
    ----------
    x, y : array of float
        Coordinates (any CRS; the curve is laid over ``bounds``).
    bounds : (minx, miny, maxx, maxy), optional
        Extent the curve covers (default: the points' own extent).
    level : int, default 16
        Curve order: a ``2**level x 2**level`` grid (1 <= level <= 31).

    Returns
    -------
    numpy.ndarray of int64
        Hilbert distance of each point; NaN coordinates get the largest value.
    """
    if not 1 <= level <= 31:
        raise ValueError(f"level must be in 1..31, got {level}")
    x = np.asarray(x, dtype="float64")
    y = np.asarray(y, dtype="float64")
    ok = np.isfinite(x) & np.isfinite(y)
    if bounds is None:
        if ok.any():
            bounds = (x[ok].min(), y[ok].min(), x[ok].max(), y[ok].max())
        else:
            bounds = (0.0, 0.0, 1.0, 1.0)
    minx, miny, maxx, maxy = (float(b) for b in bounds)
    n = 1 << level
    sx = (n - 1) / (maxx - minx) if maxx > minx else 0.0
    sy = (n - 1) / (maxy - miny) if maxy > miny else 0.0
    xi = np.clip(np.where(ok, (x - minx) * sx, 0), 0, n - 1).astype(np.int64)
    yi = np.clip(np.where(ok, (y - miny) * sy, 0), 0, n - 1).astype(np.int64)
    d = np.zeros(x.shape, dtype=np.int64)
    s = n >> 1
    while s > 0:
        rx = (xi & s) > 0
        ry = (yi & s) > 0
        d += np.int64(s) * np.int64(s) * ((3 * rx.astype(np.int64)) ^ ry.astype(np.int64))
        # rotate the quadrant so the sub-curve has the canonical orientation
        flip = ~ry & rx
        xi = np.where(flip, n - 1 - xi, xi)
        yi = np.where(flip, n - 1 - yi, yi)
        swap = ~ry
        xi, yi = np.where(swap, yi, xi), np.where(swap, xi, yi)
        s >>= 1
    d[~ok] = np.iinfo(np.int64).max
    return d


def hilbert_sort(gdf: gpd.GeoDataFrame, *, level: int = 16) -> gpd.GeoDataFrame:
    """Return ``gdf`` sorted along a Hilbert curve of its bounding-box centres (stable)."""
    if len(gdf) == 0:
        return gdf
    b = gdf.geometry.bounds.to_numpy()
    cx = (b[:, 0] + b[:, 2]) / 2.0
    cy = (b[:, 1] + b[:, 3]) / 2.0
    order = np.argsort(hilbert_index(cx, cy, level=level), kind="stable")
    return gdf.iloc[order]


# --------------------------------------------------------------------------- storage


def is_geoparquet(path: str | Path) -> bool:
    """True for a ``.parquet`` file or a folder of partitions (named ``*.parquet`` or holding them)."""
    p = Path(path)
    if p.suffix.lower() in _PARQUET_SUFFIXES:
        return p.exists()
    return p.is_dir() and any(p.glob("*.parquet"))


def _partition_files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    return sorted(path.glob("*.parquet"))


def write_partitioned(
    data: gpd.GeoDataFrame | Iterable[gpd.GeoDataFrame],
    path: str | Path,
    *,
    rows_per_partition: int | None = ROWS_PER_PARTITION,
    npartitions: int | None = None,
    sort: bool = True,
    compression: str = "zstd",
) -> Path:
    """Write a layer as partitioned GeoParquet: a folder of ``part.NNNNN.parquet`` files.

    Written to a temporary folder beside ``path`` and renamed at the end, so
    a reader never sees half a layer; an existing folder at ``path`` is replaced.

    Parameters
    ----------
    data : GeoDataFrame or iterable of GeoDataFrame
        One layer; or the partitions themselves, written in order (for data
        too large to hold at once), each becoming one file.
    path : path
        The folder (by convention ``<layer>.parquet``).
    rows_per_partition : int, optional
        Rows per file when ``data`` is one GeoDataFrame (default 50,000).
    npartitions : int, optional
        Number of files instead (overrides ``rows_per_partition``).
    sort : bool, default True
        Sort a single GeoDataFrame along a Hilbert curve first
        (:func:`hilbert_sort`), so each partition is a compact patch of land
        and a reader filtering by bounding box skips most files.
    compression : str, default "zstd"
        Parquet compression.

    Returns
    -------
    Path
        The folder.

    Raises
    ------
    OutputError
        When the folder cannot be written.
    """
    path = Path(path)
    if isinstance(data, gpd.GeoDataFrame):
        gdf = hilbert_sort(data) if sort else data
        n = len(gdf)
        if npartitions is None:
            npartitions = max(1, math.ceil(n / max(1, rows_per_partition or n or 1)))
        npartitions = max(1, min(int(npartitions), max(n, 1)))
        edges = np.linspace(0, n, npartitions + 1).round().astype(int)
        chunks: Iterable[gpd.GeoDataFrame] = (gdf.iloc[a:b] for a, b in zip(edges[:-1], edges[1:]))
    else:
        chunks = data
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        tmp.mkdir(parents=True)
        count = 0
        for i, chunk in enumerate(chunks):
            chunk.to_parquet(
                tmp / f"part.{i:05d}.parquet",
                index=False,
                compression=compression,
                write_covering_bbox=True,
            )
            count += 1
        if count == 0:
            raise OutputError("没有要写出的分区 / nothing to write: no partitions", path=str(path))
        if path.exists():
            old = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.old")
            os.replace(path, old)
            os.replace(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise OutputError(
            f"无法写出分区 GeoParquet / cannot write partitioned GeoParquet: {exc}", path=str(path)
        ) from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    log.info("写出 wrote %s (%d partitions)", path, count)
    return path


def read_partitioned(path: str | Path, *, columns: Sequence[str] | None = None):
    """Open partitioned GeoParquet (a folder or one file) as a dask-geopandas GeoDataFrame.

    One Dask partition per file; the files' bounding boxes become the frame's
    ``spatial_partitions``. Nothing is read until computed.

    Raises
    ------
    LayerError
        When the path is missing or holds no ``.parquet`` file.
    """
    _need_dask()
    import dask_geopandas

    p = Path(path)
    files = _partition_files(p) if p.exists() else []
    if not files:
        raise LayerError(
            "找不到 GeoParquet 分区 / no GeoParquet partitions (*.parquet) here: check the path",
            path=str(p),
        )
    src = str(p) if p.is_file() else [str(f) for f in files]
    try:
        return dask_geopandas.read_parquet(src, columns=list(columns) if columns else None)
    except Exception as exc:
        raise LayerError(
            f"无法读取 GeoParquet / cannot read GeoParquet: {exc}", path=str(p)
        ) from None


# --------------------------------------------------------------------------- partitions


@dataclass
class Partitions:
    """A layer as lazy partitions (see :func:`partitions`).

    Attributes
    ----------
    parts : list of dask.delayed.Delayed
        One per partition, in the layer's order; computing one gives a
        GeoDataFrame.
    keep_index : bool
        The partitions carry the input's own index (a GeoDataFrame), rather
        than one 0..n-1 per file.
    path : str or None
        The source file or folder.
    prepare : dict
        What :func:`gis_town.io.read_layer` would apply after reading
        (``crs``, ``fields``, ``defaults``, ``mapping``), applied per partition.
    """

    parts: list[Any]
    #: partition index is meaningful (a GeoDataFrame's own index) rather than per-file 0..n-1
    keep_index: bool = False
    path: str | None = None
    prepare: dict[str, Any] = field(default_factory=dict)
    #: column -> one delayed Series per partition, reading only that column (None: use ``parts``)
    column_reader: Any = None

    def column(self, name: str) -> list[Any]:
        """The partitions' ``name`` column as delayed Series (read alone where the format allows)."""
        import dask

        if self.column_reader is not None:
            return self.column_reader(name)
        return [dask.delayed(_ids_of, pure=True)(p, name) for p in self.parts]


def _vector_slices(
    path: Path, layer: str | None, npartitions: int, encoding: str | None
) -> tuple[list[Any], Any]:
    import dask
    import pyogrio

    from gis_town.io.read import detect_encoding

    enc = encoding or detect_encoding(path)
    try:
        info = (
            pyogrio.read_info(path, layer=layer, encoding=enc)
            if enc
            else pyogrio.read_info(path, layer=layer)
        )
    except Exception as exc:
        raise LayerError(f"无法读取 / cannot read: {exc}", path=str(path), layer=layer) from None
    n = int(info["features"])
    if n < 0:  # driver cannot count quickly: one partition
        npartitions, n = 1, None
    edges = (
        [0, None]
        if n is None
        else np.linspace(0, n, max(1, min(npartitions, n or 1)) + 1).round().astype(int).tolist()
    )
    slices = [(int(a), None if b is None else int(b - a)) for a, b in zip(edges[:-1], edges[1:])]
    parts = [dask.delayed(_read_slice, pure=True)(str(path), layer, a, k, enc) for a, k in slices]

    def column(name: str) -> list[Any]:
        return [
            dask.delayed(_read_slice_column, pure=True)(str(path), layer, a, k, enc, name)
            for a, k in slices
        ]

    return parts, column


def _read_slice_column(
    path: str, layer: str | None, skip: int, count: int | None, encoding: str | None, column: str
) -> pd.Series:
    import pyogrio

    kwargs: dict[str, Any] = {"layer": layer, "skip_features": skip, "read_geometry": False}
    if count is not None:
        kwargs["max_features"] = count
    if encoding:
        kwargs["encoding"] = encoding
    try:
        df = pyogrio.read_dataframe(path, columns=[column], **kwargs)
    except Exception:
        df = pyogrio.read_dataframe(path, **kwargs)
    return _ids_of(df, column)


def _read_slice(
    path: str, layer: str | None, skip: int, count: int | None, encoding: str | None
) -> gpd.GeoDataFrame:
    import pyogrio

    kwargs: dict[str, Any] = {"layer": layer, "skip_features": skip}
    if count is not None:
        kwargs["max_features"] = count
    if encoding:
        kwargs["encoding"] = encoding
    try:
        return pyogrio.read_dataframe(path, use_arrow=True, **kwargs)
    except Exception:
        return pyogrio.read_dataframe(path, **kwargs)


def _default_npartitions() -> int:
    if _has_client():
        from distributed import default_client

        n = len(default_client().scheduler_info().get("workers", {})) or 1
        return 2 * n
    return 2


def partitions(
    data: Any,
    *,
    npartitions: int | None = None,
    layer: str | None = None,
    encoding: str | None = None,
) -> Partitions:
    """Any layer input as lazy partitions (:class:`Partitions`).

    Parameters
    ----------
    data : dask_geopandas.GeoDataFrame, GeoDataFrame, or path
        A dask frame (its partitions); a GeoDataFrame (split into
        ``npartitions`` pieces); a GeoParquet file or folder of partitions
        (read by :func:`read_partitioned`, one partition per file); or any
        other vector file (GeoPackage, Shapefile...: each partition reads its
        own slice of features with pyogrio, in the workers).
    npartitions : int, optional
        For a GeoDataFrame or a non-Parquet file (default: twice the
        cluster's workers, or 2).
    layer, encoding : str, optional
        For a non-Parquet file.
    """
    dask = _need_dask()
    import dask_geopandas

    if isinstance(data, Partitions):
        return data
    if isinstance(data, dask_geopandas.GeoDataFrame):
        return Partitions(list(data.to_delayed()), keep_index=bool(data.known_divisions))
    if isinstance(data, gpd.GeoDataFrame):
        n = npartitions or _default_npartitions()
        n = max(1, min(n, len(data) or 1))
        edges = np.linspace(0, len(data), n + 1).round().astype(int)
        parts = [dask.delayed(data.iloc[a:b]) for a, b in zip(edges[:-1], edges[1:])]
        return Partitions(parts, keep_index=True)
    if isinstance(data, (str, Path)):
        p = Path(data)
        if not p.exists():
            raise LayerError("文件不存在 / file not found: check the path", path=str(p))
        if is_geoparquet(p):

            def column(name: str) -> list[Any]:
                import pyarrow.parquet as pq

                whole = read_partitioned(p)
                if name not in pq.read_schema(_partition_files(p)[0]).names:
                    # no such column: read whole partitions (validation names what is missing)
                    return [dask.delayed(_ids_of, pure=True)(q, name) for q in whole.to_delayed()]
                only = read_partitioned(p, columns=[name])
                return [dask.delayed(_ids_of, pure=True)(q, name) for q in only.to_delayed()]

            return Partitions(
                list(read_partitioned(p).to_delayed()), path=str(p), column_reader=column
            )
        parts, column = _vector_slices(p, layer, npartitions or _default_npartitions(), encoding)
        return Partitions(parts, path=str(p), column_reader=column)
    raise TypeError(
        f"cannot partition {type(data).__name__}: expected a GeoDataFrame, dask frame or path"
    )


def _prepare(part: gpd.GeoDataFrame, opts: dict[str, Any]) -> gpd.GeoDataFrame:
    """Apply what :func:`gis_town.io.read_layer` applies after reading (CRS override, field map)."""
    if not opts:
        return part
    from gis_town.io.read import apply_field_map

    crs = opts.get("crs")
    if crs is not None:
        part = part.set_crs(crs, allow_override=True)
    return apply_field_map(
        part, fields=opts.get("fields"), defaults=opts.get("defaults"), mapping=opts.get("mapping")
    )


def _positional(part: pd.DataFrame, keep_index: bool) -> pd.DataFrame:
    return part if keep_index else part.reset_index(drop=True)


# --------------------------------------------------------------------------- validation


def _id_column(name: str, opts: dict[str, Any]) -> str:
    """Source column that becomes the layer's id after the field map."""
    return _source_column(LAYERS[name].id_field, opts)


def _ids_of(part: gpd.GeoDataFrame, column: str) -> pd.Series:
    if column in part.columns:
        return pd.Series(part[column].astype("object").to_numpy(), dtype="object")
    return pd.Series([None] * len(part), dtype="object")


@dataclass
class _Duplicates:
    """Global duplicate ids: per partition, local row -> global row of the id's first occurrence."""

    offsets: list[int]
    lengths: list[int]
    per_part: list[dict[int, int]]

    @property
    def total(self) -> int:
        return int(sum(self.lengths))


def _find_duplicates(src: Partitions, name: str) -> _Duplicates:
    """Read only the id column of every partition and find ids repeated anywhere in the layer."""

    column = _id_column(name, src.prepare)
    ids_parts = _compute(src.column(column))
    lengths = [len(s) for s in ids_parts]
    offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(int).tolist() if lengths else []
    per_part: list[dict[int, int]] = [{} for _ in ids_parts]
    if not ids_parts:
        return _Duplicates(offsets, lengths, per_part)
    ids = pd.concat(ids_parts, ignore_index=True)
    # as validate_layer: duplicated over all rows, reported for rows with an id
    no_id = ids.isna() | (ids.astype(str).str.strip() == "")
    dup = ids.duplicated(keep="first") & ~no_id
    if dup.any():
        dup_values = set(ids[dup])
        first_row: dict[Any, int] = {}
        for pos in np.flatnonzero(ids.isin(dup_values).to_numpy()):
            first_row.setdefault(ids.iloc[pos], int(pos))
        part_of = (
            np.searchsorted(np.asarray(offsets), np.flatnonzero(dup.to_numpy()), side="right") - 1
        )
        for pos, k in zip(np.flatnonzero(dup.to_numpy()), part_of):
            per_part[k][int(pos - offsets[k])] = first_row[ids.iloc[pos]]
    return _Duplicates(offsets, lengths, per_part)


def _dup_reason(first: int) -> str:
    return f"编号重复 / duplicate id (first at row {first})"


_GEOM_RANK = (
    ("空几何", 0),
    ("坐标含 NaN", 1),
    ("零长度线", 2),
    ("几何无效已修复", 3),
    ("几何无效且无法修复", 4),
    ("几何类型应为", 5),
)


def _problem_rank(prob: pd.DataFrame, name: str) -> np.ndarray:
    """Order of :func:`validate_layer`'s checks, so partitioned problems sort like single-machine ones."""
    schema = LAYERS[name]
    types = list(schema.types)
    plain_required = [f for f in schema.required if f not in schema.types and f != schema.id_field]
    ranks = np.zeros(len(prob), dtype=np.int64)
    for i, (fld, reason) in enumerate(zip(prob["field"], prob["reason"])):
        reason = str(reason)
        if fld == "geometry":
            ranks[i] = next((r for prefix, r in _GEOM_RANK if reason.startswith(prefix)), 5) * 2
        elif fld == schema.id_field and reason.startswith("缺少编号"):
            ranks[i] = 12
        elif fld == schema.id_field and reason.startswith("编号重复"):
            ranks[i] = 14
        elif fld in types:
            ranks[i] = 20 + 2 * types.index(fld) + (1 if reason.startswith("必填字段为空") else 0)
        elif fld in plain_required:
            ranks[i] = 20 + 2 * len(types) + plain_required.index(fld)
        else:
            ranks[i] = 1000
    return ranks


def _validate_part(
    part: gpd.GeoDataFrame, name: str, offset: int, dups: dict[int, int], path: str | None
) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """validate_layer on one partition, with global rows and the layer's duplicate ids."""
    from gis_town.io.validate import validate_layer

    if len(part) == 0:
        return part, pd.DataFrame(columns=PROBLEM_COLUMNS)
    id_field = LAYERS[name].id_field
    used, prob = validate_layer(part, name, path=path)
    prob = prob.copy()
    # duplicates are decided over the whole layer (dups), not within the partition
    local_dup = (prob["field"] == id_field) & prob["reason"].astype(str).str.startswith("编号重复")
    prob = prob[~local_dup]
    if dups:
        positions = pd.Series(np.arange(len(part)), index=part.index)
        used_pos = set(positions.loc[used.index].tolist())
        rejected_rows = prob.loc[prob["action"] == "rejected"].set_index("row")
        add, drop_rows, keep = [], [], np.ones(len(prob), dtype=bool)
        fids = (
            part[id_field].astype("object").to_numpy()
            if id_field in part.columns
            else [None] * len(part)
        )
        for local, first in sorted(dups.items()):
            row = {
                "layer": name,
                "feature_id": fids[local],
                "row": local,
                "field": id_field,
                "action": "rejected",
                "reason": _dup_reason(first + 0),
            }
            if local in used_pos:
                drop_rows.append(local)
                add.append(row)
            elif local in rejected_rows.index:
                fld = rejected_rows.loc[[local], "field"].iloc[0]
                if fld != "geometry":  # the id check comes before the field checks
                    keep &= ~((prob["row"] == local) & (prob["action"] == "rejected")).to_numpy()
                    add.append(row)
            else:  # rejected by the (dropped) within-partition duplicate check
                add.append(row)
        prob = prob[keep]
        if add:
            prob = pd.concat([prob, pd.DataFrame(add, columns=PROBLEM_COLUMNS)], ignore_index=True)
        if drop_rows:
            used = used[~used.index.isin(part.index[drop_rows])]
    prob["row"] = prob["row"].astype(int) + offset
    # a within-partition duplicate's reason named its local first row: rewrite with the global one
    dup_rows = (prob["field"] == id_field) & prob["reason"].astype(str).str.startswith("编号重复")
    if dup_rows.any():
        firsts = {local + offset: first for local, first in dups.items()}
        prob.loc[dup_rows, "reason"] = [_dup_reason(firsts[r]) for r in prob.loc[dup_rows, "row"]]
    return used, prob.reset_index(drop=True)


def _sort_problems(prob: pd.DataFrame, name: str) -> pd.DataFrame:
    if len(prob) == 0:
        return pd.DataFrame(columns=PROBLEM_COLUMNS)
    order = np.lexsort((prob["row"].to_numpy(dtype=np.int64), _problem_rank(prob, name)))
    return prob.iloc[order].reset_index(drop=True)[PROBLEM_COLUMNS]


def _counts_row(name: str, read: int, used: int, prob: pd.DataFrame) -> dict[str, Any]:
    return {
        "layer": name,
        "read": int(read),
        "used": int(used),
        "repaired": int((prob["action"] == "repaired").sum()) if len(prob) else 0,
        "rejected": int((prob["action"] == "rejected").sum()) if len(prob) else 0,
    }


def _check_layer(name: str, dups: _Duplicates, path: str | None) -> None:
    if dups.total == 0:
        raise LayerError("图层为空 / the layer has no features", path=path, layer=name)


def validate_partitioned(
    data: Any,
    name: str,
    *,
    npartitions: int | None = None,
    path: str | None = None,
    read_options: dict[str, Any] | None = None,
) -> tuple[gpd.GeoDataFrame, pd.DataFrame, dict[str, Any]]:
    """Validate a layer partition by partition, as :func:`gis_town.io.validate_layer` would.

    Each partition is validated where it lies; duplicate ids are found over
    the whole layer first (from the id column only). The usable features are
    gathered in the driver: use it for layers that fit in memory, and
    :func:`areas_report` (which never gathers the parcels) for the large ones.

    Returns
    -------
    (GeoDataFrame, DataFrame, dict)
        The usable features (in order), the problems (global ``row``, same
        order as the single-machine path), and the counts row
        (``layer, read, used, repaired, rejected``).
    """
    import dask

    src = partitions(data, npartitions=npartitions)
    src.prepare = dict(read_options or src.prepare)
    path = path or src.path
    dups = _find_duplicates(src, name)
    _check_layer(name, dups, path)
    tasks = [
        dask.delayed(_validate_task, pure=True)(p, name, off, d, path, src.prepare, src.keep_index)
        for p, off, d in zip(src.parts, dups.offsets, dups.per_part)
    ]
    results = _compute(tasks)
    used = pd.concat([u for u, _ in results])
    prob = _sort_problems(pd.concat([p for _, p in results], ignore_index=True), name)
    return used, prob, _counts_row(name, dups.total, len(used), prob)


def _validate_task(part, name, offset, dups, path, prepare, keep_index):
    part = _positional(_prepare(part, prepare), keep_index)
    return _validate_part(part, name, offset, dups, path)


# --------------------------------------------------------------------------- partial sums


def _area_columns(parcels: pd.DataFrame) -> list[str]:
    return ["area_m2"] + (["net_area_m2"] if "net_area_m2" in parcels.columns else [])


def _partial_sums(
    parcels: pd.DataFrame, by: Sequence[str], cols: Sequence[str] | None = None
) -> pd.DataFrame:
    """Parcels and area sums per group of one partition (the first half of ``group_totals``)."""
    cols = list(cols) if cols is not None else _area_columns(parcels)
    frame = pd.DataFrame(parcels[list(by) + cols]).copy()
    for col in by:
        frame[col] = frame[col].astype("object").where(frame[col].notna(), _BLANK)
    frame["parcels"] = 1
    return frame.groupby(list(by), sort=False, dropna=False)[["parcels", *cols]].sum().reset_index()


def _combine(partials: Iterable[pd.DataFrame], by: Sequence[str]) -> pd.DataFrame:
    """Add up partial sums from every partition."""
    frames = [p for p in partials if p is not None and len(p)]
    if not frames:
        return pd.DataFrame(columns=[*by, "parcels", "area_m2"])
    allp = pd.concat(frames, ignore_index=True)
    for col in by:
        allp[col] = allp[col].astype("object")
    value_cols = [c for c in allp.columns if c not in by]
    out = allp.groupby(list(by), sort=True, dropna=False)[value_cols].sum(min_count=1).reset_index()
    out["parcels"] = out["parcels"].astype("int64")
    return out


# --------------------------------------------------------------------------- analyses


def parcel_areas(data: Any, *, npartitions: int | None = None):
    """:func:`gis_town.analysis.areas.parcel_areas` on every partition (lazy dask-geopandas frame)."""
    _need_dask()
    import dask_geopandas

    from gis_town.analysis.areas import parcel_areas as one

    if isinstance(data, dask_geopandas.GeoDataFrame):
        ddf = data
    elif isinstance(data, gpd.GeoDataFrame):
        ddf = dask_geopandas.from_geopandas(
            data, npartitions=npartitions or _default_npartitions(), sort=False
        )
    else:
        ddf = read_partitioned(data)
    return ddf.map_partitions(one, meta=one(ddf._meta))


def _areas_task(part, by, keep_index):
    from gis_town.analysis.areas import parcel_areas as one

    part = _positional(part, keep_index)
    parcels = part if "area_m2" in part.columns else one(part)
    return _partial_sums(parcels, by)


def group_totals(
    data: Any,
    by: Sequence[str],
    *,
    decimals: int = 2,
    total_label: str | None = None,
    npartitions: int | None = None,
) -> pd.DataFrame:
    """:func:`gis_town.analysis.areas.group_totals` over partitions: partial sums, then balanced once.

    Parcels without ``area_m2`` get it from
    :func:`gis_town.analysis.areas.parcel_areas` in their partition.
    """
    import dask

    from gis_town.analysis.areas import TOTAL_LABEL
    from gis_town.analysis.areas import group_totals as finish

    src = partitions(data, npartitions=npartitions)
    parts = _compute(
        [dask.delayed(_areas_task, pure=True)(p, list(by), src.keep_index) for p in src.parts]
    )
    sums = _combine(parts, by)
    return finish(
        sums,
        list(by),
        decimals=decimals,
        total_label=total_label or TOTAL_LABEL,
        count_column="parcels",
    )


def area_totals(
    farmland: Any,
    villages: pd.DataFrame | None = None,
    *,
    by: Sequence[str] = ("status",),
    decimals: int = 2,
    npartitions: int | None = None,
) -> pd.DataFrame:
    """:func:`gis_town.analysis.areas.area_totals` over partitions (same table, balanced once).

    Parameters
    ----------
    farmland : dask frame, GeoDataFrame or path
        Validated parcels (see :func:`partitions`); partitioned GeoParquet
        for large runs.
    villages : DataFrame, optional
        Villages (for ``village_name``); small, sent to no worker.
    by : sequence of str
        Fields after ``village_id``.
    """
    import dask

    from gis_town.analysis.areas import area_totals as finish

    by = list(by)
    src = partitions(farmland, npartitions=npartitions)
    keys = ["village_id", *by]
    parts = _compute(
        [dask.delayed(_areas_task, pure=True)(p, keys, src.keep_index) for p in src.parts]
    )
    sums = _combine(parts, keys)
    return finish(sums, villages, by=by, decimals=decimals, count_column="parcels")


def _private(layer: gpd.GeoDataFrame | None) -> gpd.GeoDataFrame | None:
    """The layer with geometry objects of its own.

    The overlay prepares the zones' geometries in place (GEOS prepared
    geometries); threads of one worker share the objects a task receives, and
    preparing a geometry from two threads at once is not safe. A WKB round
    trip gives each task its own objects (exactly the same coordinates).
    """
    if layer is None:
        return None
    import shapely

    geoms = np.asarray(layer.geometry.values, dtype=object)
    return layer.set_geometry(
        gpd.GeoSeries(shapely.from_wkb(shapely.to_wkb(geoms)), index=layer.index, crs=layer.crs)
    )


def _zone_pieces_task(part, zones, keep_index, kwargs):
    from gis_town.analysis.overlay import area_by_zone as one

    part = _positional(part, keep_index)
    return len(part), one(part, _private(zones), **kwargs)


def area_by_zone(
    parcels: Any,
    zones: gpd.GeoDataFrame,
    *,
    npartitions: int | None = None,
    **kwargs: Any,
) -> pd.DataFrame | gpd.GeoDataFrame:
    """:func:`gis_town.analysis.overlay.area_by_zone` per partition, pieces concatenated.

    The zones (small) are sent to each worker once. ``parcel_row`` is the
    parcel's position in the whole layer, as in the single-machine result.
    Keyword arguments go to :func:`gis_town.analysis.overlay.area_by_zone`.
    """
    import dask

    src = partitions(parcels, npartitions=npartitions)
    z = dask.delayed(zones, pure=True)
    results = _compute(
        [
            dask.delayed(_zone_pieces_task, pure=True)(p, z, src.keep_index, kwargs)
            for p in src.parts
        ]
    )
    frames, offset = [], 0
    for n, pieces in results:
        pieces = pieces.copy()
        pieces["parcel_row"] = pieces["parcel_row"] + offset
        frames.append(pieces)
        offset += n
    if not frames:
        return pd.DataFrame(columns=["parcel_row", "zone_row", "area_m2"])
    out = pd.concat(frames, ignore_index=True)
    if isinstance(frames[0], gpd.GeoDataFrame):
        out = gpd.GeoDataFrame(out, geometry=frames[0].geometry.name, crs=frames[0].crs)
    return out


def _zone_sums_task(part, zones, keep_index):
    from gis_town.analysis.overlay import area_by_zone as one

    part = _positional(part, keep_index)
    if len(part) == 0:
        return None
    pieces = one(part, _private(zones), zone_id="zone_id")
    return _partial_sums(pieces, ["zone_id"], ["area_m2"])


def _finish_zone_totals(sums: pd.DataFrame, zones: pd.DataFrame, decimals: int) -> pd.DataFrame:
    """The second half of :func:`gis_town.analysis.areas.zone_totals`, from summed pieces."""
    from gis_town.analysis.areas import TOTAL_LABEL
    from gis_town.analysis.areas import group_totals as finish
    from gis_town.schema import code_label

    if len(sums) == 0:
        return pd.DataFrame()
    pieces = sums.merge(pd.DataFrame(zones[["zone_id", "kind", "name"]]), on="zone_id", how="left")
    tables = []
    for kind, part in pieces.groupby("kind", sort=True):
        t = finish(
            part,
            ["zone_id"],
            decimals=decimals,
            total_label=f"{TOTAL_LABEL}({code_label('zone_kind', kind)})",
            count_column="parcels",
        )
        t.insert(1, "kind", [kind] * (len(t) - 1) + [kind])
        t.insert(2, "name", t["zone_id"].map(dict(zip(zones["zone_id"], zones["name"]))).fillna(""))
        tables.append(t)
    return pd.concat(tables, ignore_index=True) if tables else pd.DataFrame()


def zone_totals(
    farmland: Any, zones: gpd.GeoDataFrame, *, decimals: int = 2, npartitions: int | None = None
) -> pd.DataFrame:
    """:func:`gis_town.analysis.areas.zone_totals` over partitions (one total per zone kind)."""
    import dask

    src = partitions(farmland, npartitions=npartitions)
    z = dask.delayed(zones, pure=True)
    parts = _compute(
        [dask.delayed(_zone_sums_task, pure=True)(p, z, src.keep_index) for p in src.parts]
    )
    return _finish_zone_totals(_combine(parts, ["zone_id"]), zones, decimals)


def _basic_rows(parcels: gpd.GeoDataFrame, basic_farmland: gpd.GeoDataFrame) -> pd.DataFrame:
    """Per parcel: the area inside and outside basic farmland (as ``basic_farmland_totals``)."""
    from gis_town.analysis.overlay import inside_outside

    io = inside_outside(parcels, basic_farmland, parcel_columns=["parcel_id", "village_id"])
    rows = pd.concat(
        [
            io.assign(area_m2=io["inside_m2"], inside="inside 基本农田内"),
            io.assign(area_m2=io["outside_m2"], inside="outside 基本农田外"),
        ]
    )
    return rows[rows["area_m2"] > 0]


def _basic_task(part, bf, keep_index):
    part = _positional(part, keep_index)
    if len(part) == 0:
        return None
    return _partial_sums(_basic_rows(part, _private(bf)), ["village_id", "inside"], ["area_m2"])


def basic_farmland_totals(
    farmland: Any,
    basic_farmland: gpd.GeoDataFrame,
    *,
    decimals: int = 2,
    npartitions: int | None = None,
) -> pd.DataFrame:
    """:func:`gis_town.analysis.areas.basic_farmland_totals` over partitions."""
    import dask

    from gis_town.analysis.areas import group_totals as finish

    src = partitions(farmland, npartitions=npartitions)
    bf = dask.delayed(basic_farmland, pure=True)
    parts = _compute(
        [dask.delayed(_basic_task, pure=True)(p, bf, src.keep_index) for p in src.parts]
    )
    return finish(
        _combine(parts, ["village_id", "inside"]),
        ["village_id", "inside"],
        decimals=decimals,
        count_column="parcels",
    )


def _zonal_task(part, raster, keep_index, kwargs):
    from gis_town.raster import zonal_stats as one

    part = _positional(part, keep_index)
    if len(part) == 0:
        return 0, None
    return len(part), one(part, raster, **kwargs)


def zonal_stats(
    polygons: Any,
    raster: str | Path,
    *,
    npartitions: int | None = None,
    **kwargs: Any,
) -> pd.DataFrame:
    """:func:`gis_town.raster.zonal_stats` per partition (each reads only its own window of the raster).

    Hilbert-sorted partitions cover compact patches, so each worker reads a
    small part of a large DEM. Keyword arguments go to
    :func:`gis_town.raster.zonal_stats`.

    Returns
    -------
    DataFrame
        Indexed like the input for a GeoDataFrame; by global row position
        (0..n-1) for a GeoParquet folder.

    Raises
    ------
    RasterError
        As :func:`gis_town.raster.zonal_stats`, when no polygon of a
        partition overlaps the raster.
    """
    import dask

    src = partitions(polygons, npartitions=npartitions)
    results = _compute(
        [
            dask.delayed(_zonal_task, pure=True)(p, str(raster), src.keep_index, kwargs)
            for p in src.parts
        ]
    )
    frames, offset = [], 0
    for n, stats in results:
        if stats is not None:
            if not src.keep_index:
                stats = stats.copy()
                stats.index = pd.RangeIndex(offset, offset + n)
            frames.append(stats)
        offset += n
    return pd.concat(frames) if frames else pd.DataFrame()


# --------------------------------------------------------------------------- patrols


def _source_column(target: str, opts: dict[str, Any]) -> str:
    """Source column that becomes ``target`` after the field map."""
    from gis_town.schema import TLS_FIELD_MAP

    rename: dict[str, str] = {}
    if opts.get("mapping") == "tls":
        rename.update(TLS_FIELD_MAP)
    rename.update(opts.get("fields") or {})
    for src, dst in rename.items():
        if dst == target:
            return src
    return target


def _chief_keys(chief: pd.Series, chief_id: pd.Series) -> set[str]:
    """The chiefs of a partition as the patrol analysis tells them apart: by id, else by name."""
    cid = chief_id.astype("string").str.strip()
    has_id = (cid.notna() & (cid != "")).to_numpy(dtype=bool)
    name = chief.astype("string").str.strip()[~has_id].dropna()
    return {f"id:{v}" for v in pd.unique(cid[has_id])} | {f"name:{v}" for v in pd.unique(name)}


def _chief_groups(src: Partitions) -> list[list[int]]:
    """Partitions grouped so that no chief has points in two groups.

    A chief's trips are split from all of the chief's points, so a chief's
    points must be processed together. Partitions written by chief (points
    sorted by chief and time, ``write_partitioned(..., sort=False)``) each
    form a group of their own; partitions sharing a chief (by ``chief_id``,
    else by name, as the analysis tells chiefs apart) are merged (union-find).
    """
    import dask

    names = src.column(_source_column("chief", src.prepare))
    ids = src.column(_source_column("chief_id", src.prepare))
    keys = _compute([dask.delayed(_chief_keys, pure=True)(a, b) for a, b in zip(names, ids)])
    k = len(src.parts)
    parent = list(range(k))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    owner: dict[str, int] = {}
    for i in range(k):
        for key in keys[i]:
            j = owner.setdefault(key, i)
            a, b = root(i), root(j)
            if a != b:
                parent[max(a, b)] = min(a, b)
    groups: dict[int, list[int]] = {}
    for i in range(k):
        groups.setdefault(root(i), []).append(i)
    return sorted(groups.values())


def _patrol_task(
    parts, offsets, dups, path, prepare, validate, segments, config, gk_crs, points_crs
):
    from gis_town.analysis.patrol import patrol_trips

    used_parts, problems, read = [], [], 0
    for part, offset, d in zip(parts, offsets, dups):
        part = _prepare(part, prepare).reset_index(drop=True)
        read += len(part)
        if validate:
            part, prob = _validate_part(part, "patrols", offset, d, path)
            problems.append(prob)
        part.index = part.index + offset  # global input rows: rejected fixes name them
        used_parts.append(part)
    used = pd.concat(used_parts) if used_parts else pd.DataFrame()
    found = None
    if len(used):
        found = patrol_trips(used, segments, config=config, gk_crs=gk_crs, points_crs=points_crs)
    prob = (
        pd.concat(problems, ignore_index=True)
        if problems
        else pd.DataFrame(columns=PROBLEM_COLUMNS)
    )
    return found, prob, read, len(used)


def analyze_patrols(
    points: Any,
    rivers: gpd.GeoDataFrame,
    *,
    config: Any = None,
    as_of: Any = None,
    start: Any = None,
    end: Any = None,
    villages: gpd.GeoDataFrame | None = None,
    gk_crs: Any = None,
    points_crs: str | None = None,
    validate: bool = True,
    read_options: dict[str, Any] | None = None,
    npartitions: int | None = None,
    layer: str | None = None,
    path: str | None = None,
):
    """:func:`gis_town.analysis.patrol.analyze_patrols` with the points processed per partition.

    The points (10 million for a county) never come to the driver: each
    task reads its partitions, validates them
    (:func:`~gis_town.io.validate.validate_layer`, duplicate point ids found
    over the whole layer first), splits trips, matches them to the river and
    returns the trips and the stretches they covered
    (:func:`~gis_town.analysis.patrol.patrol_trips`); the driver combines
    them (:func:`~gis_town.analysis.patrol.combine_trips`) and builds the
    tables (:func:`~gis_town.analysis.patrol.patrol_report`). Partitions that
    share a chief are processed together (a chief's trips need all of the
    chief's points); store patrols sorted by chief and time (the county
    benchmark's layout) and every partition is a task of its own.

    Parameters
    ----------
    points : path, GeoDataFrame or dask frame
        The ``patrols`` layer: a partitioned GeoParquet folder, any vector
        file, or a frame (see :func:`partitions`).
    rivers : GeoDataFrame
        The ``rivers`` layer (small: sent to every task).
    validate : bool, default True
        Validate each partition as :func:`gis_town.io.load_town` would.
    read_options : dict, optional
        ``[layers.patrols]`` options (``crs``, ``fields``, ``defaults``).
    npartitions, layer : optional
        For a GeoDataFrame or a GeoPackage (see :func:`partitions`).
    path : str, optional
        For messages (default: the source's path).
    Other parameters
        As :func:`gis_town.analysis.patrol.analyze_patrols`.

    Returns
    -------
    (PatrolResult, DataFrame, dict)
        The result (equal to the single-machine one), the validation
        problems (global rows, single-machine order) and the counts row
        (``layer, read, used, repaired, rejected``).
    """
    import dask

    from gis_town.analysis.patrol import combine_trips, patrol_report, prepare_rivers
    from gis_town.config import TownConfig
    from gis_town.geodesy import pick_gk_crs

    cfg = config or TownConfig()
    if gk_crs is None:
        gk_crs = pick_gk_crs(rivers, layer="rivers")
    segs = prepare_rivers(rivers, config=cfg.patrol, gk_crs=gk_crs)
    src = partitions(points, npartitions=npartitions, layer=layer)
    src.prepare = dict(read_options or src.prepare)
    path = path or src.path
    dups = _find_duplicates(src, "patrols")
    _check_layer("patrols", dups, path)
    groups = _chief_groups(src)
    log.info(
        "巡河轨迹 patrol points: %d 个分区 partitions, %d 组 groups of chiefs",
        len(src.parts),
        len(groups),
    )
    tasks = [
        dask.delayed(_patrol_task, pure=True)(
            [src.parts[i] for i in g],
            [dups.offsets[i] for i in g],
            [dups.per_part[i] for i in g],
            path,
            src.prepare,
            validate,
            segs,
            cfg.patrol,
            gk_crs,
            points_crs,
        )
        for g in groups
    ]
    results = _compute(tasks)
    found = [f for f, *_ in results if f is not None]
    if not found:
        raise LayerError(
            "巡河轨迹没有可用的点 / no usable patrol point (every point was rejected: see the rejects)",
            path=path,
            layer="patrols",
        )
    prob = _sort_problems(pd.concat([p for _, p, *_ in results], ignore_index=True), "patrols")
    counts = _counts_row(
        "patrols", sum(r for *_, r, _ in results), sum(u for *_, u in results), prob
    )
    res = patrol_report(
        combine_trips(found),
        segs,
        config=cfg,
        as_of=as_of,
        start=start,
        end=end,
        villages=villages,
        gk_crs=gk_crs,
    )
    return res, prob, counts


# --------------------------------------------------------------------------- one pass report


@dataclass
class AreasReport:
    """Everything ``gis-town areas`` writes, computed in one pass over the partitions.

    Attributes
    ----------
    main : DataFrame
        :func:`area_totals` by village and ``by``.
    by_project : DataFrame or None
        Totals per project (None when no parcel has one).
    by_zone : DataFrame or None
        :func:`zone_totals` (None without zones).
    basic_farmland : DataFrame or None
        :func:`basic_farmland_totals` (None without basic farmland).
    problems : DataFrame
        The farmland layer's rejected and repaired features (global rows).
    counts : dict
        The farmland layer's ``layer, read, used, repaired, rejected``.
    partitions : int
        Partitions processed.
    """

    main: pd.DataFrame
    by_project: pd.DataFrame | None = None
    by_zone: pd.DataFrame | None = None
    basic_farmland: pd.DataFrame | None = None
    problems: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=PROBLEM_COLUMNS))
    counts: dict[str, Any] = field(default_factory=dict)
    partitions: int = 0


def _report_task(part, name, offset, dups, path, prepare, keep_index, validate, by, zones, bf):
    from gis_town.analysis.areas import parcel_areas as one

    part = _positional(_prepare(part, prepare), keep_index)
    n_read = len(part)
    if validate:
        part, prob = _validate_part(part, name, offset, dups, path)
    else:
        prob = pd.DataFrame(columns=PROBLEM_COLUMNS)
    out: dict[str, Any] = {"read": n_read, "used": len(part), "problems": prob}
    if len(part) == 0:
        return out
    for col in by:
        if col not in part.columns:
            from gis_town.errors import FieldError

            raise FieldError(
                f"耕地图层没有此字段 / farmland has no field {col!r} to group by",
                layer="farmland",
                field=col,
            )
    parcels = part if "area_m2" in part.columns else one(part)
    out["main"] = _partial_sums(parcels, ["village_id", *by])
    if "project" in parcels.columns:
        proj = parcels[
            parcels["project"].notna() & (parcels["project"].astype(str).str.strip() != "")
        ]
        out["project"] = _partial_sums(proj, ["project"]) if len(proj) else None
    if zones is not None:
        from gis_town.analysis.overlay import area_by_zone as pieces_of

        pieces = pieces_of(parcels, _private(zones), zone_id="zone_id")
        out["zones"] = _partial_sums(pieces, ["zone_id"], ["area_m2"])
    if bf is not None:
        out["basic"] = _partial_sums(
            _basic_rows(parcels, _private(bf)), ["village_id", "inside"], ["area_m2"]
        )
    return out


def areas_report(
    farmland: Any,
    *,
    villages: pd.DataFrame | None = None,
    zones: gpd.GeoDataFrame | None = None,
    basic_farmland: gpd.GeoDataFrame | None = None,
    by: str | Sequence[str] = "status",
    decimals: int = 2,
    validate: bool = True,
    read_options: dict[str, Any] | None = None,
    npartitions: int | None = None,
    layer: str | None = None,
    path: str | None = None,
) -> AreasReport:
    """All the area tables of ``gis-town areas`` in one pass over the farmland partitions.

    Each partition is read (in its worker), validated
    (:func:`~gis_town.io.validate.validate_layer`, with the layer's duplicate
    ids found beforehand), given areas
    (:func:`~gis_town.analysis.areas.parcel_areas`), overlaid with the zones
    and basic farmland (:func:`~gis_town.analysis.overlay.area_by_zone`), and
    reduced to partial sums; the driver adds the sums up and balances each
    table once. The parcels themselves are never gathered, so the driver's
    memory does not grow with the county.

    Parameters
    ----------
    farmland : dask frame, GeoDataFrame or path
        The farmland layer *as read* (validated here when ``validate``): a
        partitioned GeoParquet folder for large runs, or a GeoPackage /
        Shapefile (each partition reads its slice of features).
    villages, zones, basic_farmland : GeoDataFrame, optional
        Validated small layers.
    by : str or sequence of str
        Fields after ``village_id`` in the main table (default ``status``).
    validate : bool, default True
        Validate the parcels (False when they are validated already).
    read_options : dict, optional
        ``encoding``, ``crs``, ``fields``, ``defaults``, ``mapping`` as in
        the town config's ``[layers.farmland]``.
    npartitions : int, optional
        Partitions for a GeoDataFrame or a non-Parquet file.
    layer : str, optional
        Layer name inside a GeoPackage.
    path : str, optional
        Source, for messages.

    Returns
    -------
    AreasReport
    """
    import dask

    from gis_town.analysis.areas import area_totals as finish_main
    from gis_town.analysis.areas import group_totals as finish

    by = [by] if isinstance(by, str) else list(by)
    opts = {k: v for k, v in (read_options or {}).items() if v is not None and v != {}}
    src = partitions(
        farmland, npartitions=npartitions, layer=layer, encoding=opts.pop("encoding", None)
    )
    src.prepare = opts
    path = path or src.path
    name = "farmland"
    if validate:
        dups = _find_duplicates(src, name)
        _check_layer(name, dups, path)
        offsets, per_part = dups.offsets, dups.per_part
    else:
        offsets, per_part = [0] * len(src.parts), [{} for _ in src.parts]
    z = dask.delayed(zones, pure=True) if zones is not None else None
    bf = dask.delayed(basic_farmland, pure=True) if basic_farmland is not None else None
    tasks = [
        dask.delayed(_report_task, pure=True)(
            p, name, off, d, path, src.prepare, src.keep_index, validate, by, z, bf
        )
        for p, off, d in zip(src.parts, offsets, per_part)
    ]
    results = _compute(tasks)
    prob = _sort_problems(pd.concat([r["problems"] for r in results], ignore_index=True), name)
    read = sum(r["read"] for r in results)
    used = sum(r["used"] for r in results)
    report = AreasReport(
        main=finish_main(
            _combine([r.get("main") for r in results], ["village_id", *by]),
            villages,
            by=by,
            decimals=decimals,
            count_column="parcels",
        ),
        problems=prob,
        counts=_counts_row(name, read, used, prob),
        partitions=len(results),
    )
    proj = [r.get("project") for r in results if r.get("project") is not None]
    if proj:
        report.by_project = finish(
            _combine(proj, ["project"]), ["project"], decimals=decimals, count_column="parcels"
        )
    if zones is not None:
        report.by_zone = _finish_zone_totals(
            _combine([r.get("zones") for r in results], ["zone_id"]), zones, decimals
        )
    if basic_farmland is not None:
        report.basic_farmland = finish(
            _combine([r.get("basic") for r in results], ["village_id", "inside"]),
            ["village_id", "inside"],
            decimals=decimals,
            count_column="parcels",
        )
    return report
