"""Shared fixtures: small real public data (skipped when absent) and the demo town."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DEMO_GPKG = REPO / "layers" / "demo_town.gpkg"


def _realdata_dir() -> Path:
    env = os.environ.get("GIS_TOWN_REALDATA")
    if env:
        return Path(env)
    return REPO.parent / "shared" / "realdata"


@pytest.fixture(scope="session")
def realdata() -> Path:
    """Folder of small real public data sets; tests using it skip when it is absent."""
    path = _realdata_dir()
    if not path.is_dir():
        pytest.skip("real test data not available (set GIS_TOWN_REALDATA)")
    return path


@pytest.fixture(scope="session")
def demo_town() -> Path:
    """The committed demo town GeoPackage (skips if it has not been generated)."""
    if not DEMO_GPKG.exists():
        pytest.skip("demo town not generated: run `python -m gis_town generate`")
    return DEMO_GPKG
