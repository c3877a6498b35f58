"""gis_town: township spatial planning toolkit for rural China (乡镇国土空间规划工具箱).

Layers and schemas (:mod:`gis_town.schema`, :mod:`gis_town.io`), survey-grade
geodesy (:mod:`gis_town.geodesy`), the town config (:mod:`gis_town.config`),
one module per analysis (:mod:`gis_town.analysis`), maps (:mod:`gis_town.maps`)
and the CLI (:mod:`gis_town.cli`).

The names below are imported on first use (``gis_town.load_town`` imports
geopandas then), so that ``import gis_town`` and ``gis-town --help`` stay fast.
"""

from __future__ import annotations

import importlib
import logging
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

logging.getLogger(__name__).addHandler(logging.NullHandler())

#: Public name -> the module it comes from (imported lazily, PEP 562).
_LAZY: dict[str, str] = {
    "GisTownError": "gis_town.errors",
    "InputError": "gis_town.errors",
    "TownConfig": "gis_town.config",
    "load_config": "gis_town.config",
    "Town": "gis_town.io",
    "load_town": "gis_town.io",
    "read_layer": "gis_town.io",
}

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from gis_town.config import TownConfig, load_config
    from gis_town.errors import GisTownError, InputError
    from gis_town.io import Town, load_town, read_layer

__all__ = ["GisTownError", "InputError", "Town", "TownConfig", "__version__", "load_config", "load_town", "read_layer"]


def __getattr__(name: str) -> Any:
    """Import a public name (or a subpackage such as ``gis_town.io``) on first access."""
    module = _LAZY.get(name)
    if module is not None:
        value = getattr(importlib.import_module(module), name)
        globals()[name] = value
        return value
    if name.startswith("_"):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    try:
        return importlib.import_module(f"{__name__}.{name}")
    except ModuleNotFoundError as exc:
        if exc.name != f"{__name__}.{name}":
            raise
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
