"""Any input as lazy partitions, and each partition validated as the one-process reader would."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from gis_town.errors import LayerError
from gis_town.io.validate import PROBLEM_COLUMNS
from gis_town.parallel.cluster import _compute, _has_client, _need_dask
from gis_town.parallel.storage import _partition_files, is_geoparquet, read_partitioned
from gis_town.schema import LAYERS

log = logging.getLogger(__name__)


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


def layer_source(town_path: Path, cfg, name: str) -> tuple[Path, str | None, dict]:
    """Where a (large) layer comes from, as :func:`gis_town.io.load_town` finds it.

    Parameters
    ----------
    town_path : Path
        The town file or folder.
    cfg : TownConfig
    name : str
        A schema layer (``farmland``, ``patrols``).

    Returns
    -------
    (Path, str or None, dict)
        The file, its layer name (None for GeoParquet and folders) and the
        ``[layers.<name>]`` read options.

    Raises
    ------
    LayerError
        The layer is not there.
    """
    from gis_town.io.read import list_layers
    from gis_town.io.town import _source  # the same lookup as load_town

    fpath, lname, opts = _source(town_path, name, cfg)
    present = fpath is not None and fpath.exists()
    in_file: set[str] = set()
    if present and fpath == town_path and town_path.is_file():
        in_file = {n for n, _ in list_layers(town_path)}
        present = lname in in_file
    if not present:
        raise LayerError(
            f"缺少必需图层 / required layer '{name}' ({LAYERS[name].label}) not found"
            + (f"; the file has: {', '.join(sorted(in_file))}" if in_file else ""),
            path=str(town_path),
            layer=name,
        )
    if not (fpath == town_path and town_path.is_file()):
        lname = (
            None if fpath.suffix.lower() in (".parquet", ".geoparquet") or fpath.is_dir() else lname
        )
    return fpath, lname, opts


def merge_layer_report(
    town, name: str, problems: pd.DataFrame, counts: dict, order: list[str]
) -> None:
    """Put a partitioned layer's problems and counts into the town's, in the one-process order."""
    rows = [*town.counts.to_dict("records"), counts]
    rows.sort(key=lambda r: order.index(r["layer"]))
    town.counts = pd.DataFrame(rows, columns=["layer", "read", "used", "repaired", "rejected"])
    frames = [problems if n == name else town.problems[town.problems["layer"] == n] for n in order]
    frames = [f for f in frames if len(f)]
    town.problems = (
        pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=PROBLEM_COLUMNS)
    )
