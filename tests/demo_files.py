"""The demo town's files, copied for a test that writes beside them."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

LAYERS = Path(__file__).resolve().parents[1] / "layers"

#: What ``layers/town.toml`` names, besides the rasters: the town, its river problems, programmes,
#: monitored households and high-standard farmland sections.
DEMO_FILES = (
    "demo_town.gpkg",
    "town.toml",
    "river_problems.gpkg",
    "programmes.gpkg",
    "monitoring.gpkg",
    "high_standard.gpkg",
)


def copy_demo(dest: Path, *, rasters: bool = True) -> Path:
    """Copy the demo town, its config, the files the config names and (optionally) its rasters.

    Parameters
    ----------
    dest : Path
        An existing folder (a test's ``tmp_path``).
    rasters : bool
        Also copy ``dem.tif`` and ``ndvi_*.tif``.

    Returns
    -------
    Path
        The copied GeoPackage.
    """
    if not (LAYERS / "demo_town.gpkg").exists():
        pytest.skip("demo town not generated: run `python -m gis_town generate`")
    files = [LAYERS / f for f in DEMO_FILES]
    if rasters:
        files += [LAYERS / "dem.tif", *sorted(LAYERS.glob("ndvi_*.tif"))]
    for path in files:
        shutil.copy(path, dest / path.name)
    return dest / "demo_town.gpkg"
