"""One runner per topic: the only code that turns a town and its config into analysis calls.

``run_areas``, ``run_patrol``, ``run_risk``, ``run_progress``, ``run_upload`` and
``run_check`` each take ``(town, config=None, **options)`` and return the
topic's result. They decide which rasters, tracks and as-of date an
analysis gets, and whether it runs in one process or on Dask, so that a
missing input is handled once, the same way for every caller: the CLI, the
maps (which only draw a result), the demo and the notebooks.
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import Any

__all__ = ["TOPICS", "has_runner", "run_topic"]

#: The topics with a runner (module ``gis_town.runners.<topic>``, function ``run_<topic>``).
TOPICS: tuple[str, ...] = ("areas", "patrol", "risk", "progress", "upload", "check")


def has_runner(topic: str) -> bool:
    """True when ``gis_town.runners.<topic>`` exists."""
    return topic in TOPICS and importlib.util.find_spec(f"gis_town.runners.{topic}") is not None


def run_topic(topic: str, town, config=None, **options: Any):
    """Run the runner of ``topic`` (``run_<topic>(town, config, **options)``)."""
    module = importlib.import_module(f"gis_town.runners.{topic}")
    return getattr(module, f"run_{topic}")(town, config, **options)


def __getattr__(name: str):  # run_areas, run_patrol, ...: imported on first use
    if name.startswith("run_") and name[4:] in TOPICS:
        return getattr(importlib.import_module(f"gis_town.runners.{name[4:]}"), name)
    raise AttributeError(name)
