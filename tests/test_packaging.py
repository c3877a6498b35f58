"""environment.yml (conda) stays in step with pyproject.toml (pip)."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from gis_town.config import tomllib

REPO = Path(__file__).resolve().parents[1]
# pip names whose conda-forge package has another name or is split
_CONDA_NAMES = {"dask[distributed]": ["dask", "distributed"], "tomli": []}


def _name(req: str) -> str:
    return re.split(r"[<>=;! ]", req, maxsplit=1)[0].strip().lower()


def test_environment_yml_matches_pyproject():
    py = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    reqs = list(py["dependencies"]) + [r for extra in py["optional-dependencies"].values() for r in extra]
    env = yaml.safe_load((REPO / "environment.yml").read_text(encoding="utf-8"))
    conda = {_name(d) for d in env["dependencies"] if isinstance(d, str)}
    missing = []
    for req in reqs:
        name = _name(req)
        for conda_name in _CONDA_NAMES.get(name, [name]):
            if conda_name not in conda:
                missing.append(conda_name)
    assert not missing, f"in pyproject.toml but not in environment.yml: {missing}"
