"""gis_town: township spatial planning toolkit for rural China (乡镇国土空间规划工具箱).

Layers and schemas (:mod:`gis_town.schema`, :mod:`gis_town.io`), survey-grade
geodesy (:mod:`gis_town.geodesy`), the town config (:mod:`gis_town.config`),
one module per analysis (:mod:`gis_town.analysis`), maps (:mod:`gis_town.maps`)
and the CLI (:mod:`gis_town.cli`).
"""

from __future__ import annotations

import logging

__version__ = "0.1.0"

logging.getLogger(__name__).addHandler(logging.NullHandler())

from gis_town.config import TownConfig, load_config  # noqa: E402
from gis_town.errors import GisTownError, InputError  # noqa: E402
from gis_town.io import Town, load_town, read_layer  # noqa: E402

__all__ = ["GisTownError", "InputError", "Town", "TownConfig", "__version__", "load_config", "load_town", "read_layer"]
