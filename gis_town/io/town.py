"""Loading a whole town: every layer validated, with one problems table.

A town is one GeoPackage, or a folder of files (one per layer, as county
systems exchange them), or whatever the config's ``[layers]`` section names.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import pandas as pd
from pyproj import CRS

from gis_town.config import TownConfig, config_for
from gis_town.errors import LayerError
from gis_town.geodesy import pick_gk_crs
from gis_town.io.read import list_layers, read_layer
from gis_town.io.survey import is_file_gdb
from gis_town.io.validate import PROBLEM_COLUMNS, validate_layer
from gis_town.schema import LAYERS

__all__ = ["Town", "load_layer", "load_town", "read_options", "stored_layer"]

log = logging.getLogger(__name__)

_FOLDER_SUFFIXES = (".gpkg", ".shp", ".geojson", ".json", ".parquet", ".csv", ".gpx", ".kml", ".kmz", ".xlsx")


@dataclass
class Town:
    """A loaded town: validated layers, the config, and the problems found.

    Attributes
    ----------
    path : Path or None
        The town file or folder.
    config : TownConfig
    layers : dict of str -> GeoDataFrame
        Validated layers, as read (their own CRS); absent layers are missing.
    problems : DataFrame
        Rejected and repaired features of every layer (see ``rejects.csv``).
    counts : DataFrame
        Per layer: read, used, repaired, rejected.
    """

    path: Path | None
    config: TownConfig
    layers: dict[str, gpd.GeoDataFrame] = field(default_factory=dict)
    problems: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=PROBLEM_COLUMNS))
    counts: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=["layer", "read", "used", "repaired", "rejected"]))
    _gk: CRS | None = None

    def layer(self, name: str) -> gpd.GeoDataFrame:
        """Return a layer, or raise :class:`LayerError` naming what is missing."""
        if name not in self.layers:
            raise LayerError(
                f"缺少图层 / the town has no layer {name!r} ({LAYERS[name].label}); "
                f"it has: {', '.join(self.layers) or '(none)'}",
                path=str(self.path) if self.path else None, layer=name,
            )
        return self.layers[name]

    def has(self, name: str) -> bool:
        """True when the layer is present."""
        return name in self.layers

    @property
    def gk_crs(self) -> CRS:
        """The one Gauss-Kruger zone used for lengths and distances in this run."""
        if self._gk is None:
            base = next((self.layers[n] for n in ("villages", "farmland", "rivers") if n in self.layers), None)
            if base is None:
                base = next(iter(self.layers.values()))
            self._gk = pick_gk_crs(base)
        return self._gk


def read_options(cfg: TownConfig, name: str) -> dict:
    """Keyword options of :func:`read_layer` from the config's ``[layers.NAME]`` entry."""
    src = cfg.layers.get(name)
    if src is None:
        return {}
    return {"encoding": src.encoding, "crs": src.crs, "fields": src.fields, "defaults": src.defaults,
            "mapping": src.mapping, "where": src.where, "sheet": src.sheet}


def _source(path: Path | None, name: str, cfg: TownConfig) -> tuple[Path | None, str | None, dict]:
    """Where layer ``name`` comes from: (file, layer in file, read options)."""
    src = cfg.layers.get(name)
    opts = read_options(cfg, name)
    if src is not None and src.path:
        return cfg.resolve(src.path), src.layer, opts
    if path is None:
        return None, None, opts
    if path.is_dir() and not is_file_gdb(path):
        for suf in _FOLDER_SUFFIXES:
            cand = path / f"{name}{suf}"
            if cand.exists():
                return cand, None, opts
        return None, None, opts
    layer_name = src.layer if src is not None and src.layer else name
    return path, layer_name, opts


def _missing_layer_message(name: str, town_path: Path | None, in_file: set[str]) -> str:
    """Why a required layer is missing, and the config lines that would supply it."""
    msg = f"缺少必需图层 / required layer {name!r} ({LAYERS[name].label}) not found"
    if not in_file:
        return msg + (f": expected {name}.gpkg/.shp/... in the folder, or [layers.{name}] path = \"...\" in the "
                      "town config" if town_path is not None and town_path.is_dir() else "")
    first = sorted(in_file)[0]
    msg += f"; the file has: {', '.join(sorted(in_file))}"
    if town_path is not None and is_file_gdb(town_path) and name == "farmland":
        msg += " (a 三调 database needs its parcels layer DLTB)"
    return msg + (
        f". If one of them is the {name} layer, name it in town.toml beside the file: [layers.{name}] "
        f'layer = "{first}", and map its columns: fields = {{ "源字段 source column" = "{LAYERS[name].id_field}" }}'
    )


def _place_ledger(gdf: gpd.GeoDataFrame, name: str, town: Town, *, path: Path | None, config: TownConfig) -> gpd.GeoDataFrame:
    """A ledger without coordinates placed by ``[layers.NAME] join_layer / join_on``; else ``gdf``."""
    if not gdf.attrs.get("needs_geometry"):
        return gdf
    src = config.layers.get(name)
    if src is None or src.join_layer is None:
        raise LayerError(
            f"台账没有坐标列 / the ledger has no coordinate columns (经度/纬度, lon/lat, X/Y): add them, or "
            f"place each row by another layer: [layers.{name}] join_layer = \"settlements\", "
            f"join_on = \"village_id\"",
            path=gdf.attrs.get("source"), layer=name,
        )
    other = town.layers.get(src.join_layer)
    if other is None:
        other = load_town(path, config, layers=[src.join_layer], required=(src.join_layer,)).layer(src.join_layer)
    from gis_town.io.ledger import place_by_join

    return place_by_join(gdf, other, on=src.join_on, layer=name, other_layer=src.join_layer)


def load_layer(
    path: str | Path,
    name: str,
    *,
    layer: str | None = None,
    config: TownConfig | None = None,
) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """Read and validate one layer; return (usable features, problems)."""
    gdf = read_layer(path, layer, schema_layer=name, **read_options(config or TownConfig(), name))
    return validate_layer(gdf, name, path=str(path))


def load_town(
    path: str | Path | None,
    config: TownConfig | str | Path | None = None,
    *,
    layers: list[str] | tuple[str, ...] | None = None,
    required: tuple[str, ...] = (),
) -> Town:
    """Load and validate a town's layers.

    Parameters
    ----------
    path : path or None
        The town GeoPackage or folder; None when the config names every layer
        (or its ``town_file``).
    config : TownConfig or path, optional
        The config, or its file; found beside the town when omitted.
    layers : list of str, optional
        Layers to load (default: every schema layer present).
    required : tuple of str
        Layers without which the caller cannot run (a clear error if absent).

    Raises
    ------
    LayerError, FieldError, CRSError
        A file or layer that cannot be used.
    """
    cfg = config if isinstance(config, TownConfig) else config_for(path, config)
    if path is None and cfg.town_file:
        path = cfg.resolve(cfg.town_file)
    town_path = Path(path) if path is not None else None
    if town_path is not None and not town_path.exists():
        raise LayerError("文件不存在 / town file or folder not found: check the path", path=str(town_path))
    container = town_path is not None and (town_path.is_file() or is_file_gdb(town_path))
    in_file: set[str] = {n for n, _ in list_layers(town_path)} if container else set()
    wanted = list(layers) if layers is not None else list(LAYERS)
    town = Town(path=town_path, config=cfg)
    problems, counts = [], []
    for name in wanted:
        fpath, lname, opts = _source(town_path, name, cfg)
        if fpath is None or (container and fpath == town_path and lname not in in_file):
            if name in required:
                raise LayerError(_missing_layer_message(name, town_path, in_file),
                                 path=str(town_path) if town_path else None, layer=name)
            continue
        gdf = read_layer(fpath, lname, schema_layer=name, **opts)
        gdf = _place_ledger(gdf, name, town, path=town_path, config=cfg)
        reader_rejects = gdf.attrs.get("rejects")
        used, prob = validate_layer(gdf, name, path=str(fpath))
        used.attrs.update({k: v for k, v in gdf.attrs.items() if k not in ("geometry_fixes", "rejects")})
        if reader_rejects is not None and len(reader_rejects):
            prob = pd.concat([reader_rejects, prob] if len(prob) else [reader_rejects], ignore_index=True)
        town.layers[name] = used
        problems.append(prob)
        n_read = len(gdf) + (0 if reader_rejects is None else int((reader_rejects.action == "rejected").sum()))
        counts.append({
            "layer": name, "read": n_read, "used": len(used),
            "repaired": int((prob.action == "repaired").sum()),
            "rejected": n_read - len(used),
        })
    if problems:
        town.problems = pd.concat([p for p in problems if len(p)] or [problems[0]], ignore_index=True)
    town.counts = pd.DataFrame(counts, columns=["layer", "read", "used", "repaired", "rejected"])
    return town


def read_config_layer(
    config: TownConfig,
    town_path: str | Path | None,
    *,
    path: str | None,
    layer: str,
    fields: dict[str, str] | None,
    key: str,
) -> gpd.GeoDataFrame:
    """A layer a config section names outside the schema (a programme's items, the monitoring
    ledger): its ``path`` (relative to the config; default the town's file) and ``layer``, read
    and cleaned as every layer is, its ``fields`` mapped.

    Raises
    ------
    ConfigError
        Neither the section nor the town names a file (``key`` is the section, for the message).
    LayerError
        The file or layer is missing or cannot be read.
    """
    from gis_town.errors import ConfigError

    source = config.resolve(path) if path else town_path
    if source is None:
        raise ConfigError("没有数据文件 / no file: give path", field=f"{key}.path")
    return read_layer(source, layer, fields=fields or None)


def stored_layer(town: Town, name: str) -> gpd.GeoDataFrame | None:
    """Layer ``name`` as stored in the town's GeoPackage (invalid geometries kept, for the checks
    that report them), else the validated layer of ``town``; None when the town has neither."""
    p = town.path
    is_gpkg = p is not None and Path(p).is_file() and Path(p).suffix.lower() == ".gpkg"
    if is_gpkg and name in {n for n, _ in list_layers(p)}:
        return read_layer(p, name)
    return town.layers.get(name)
