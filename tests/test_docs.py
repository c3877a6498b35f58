"""docs/config.md documents every key of the config model."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel

from gis_town.config import TownConfig

DOC = (Path(__file__).resolve().parents[1] / "docs" / "config.md").read_text(encoding="utf-8")


def _keys(model: type[BaseModel], prefix: str = ""):
    for name, field in model.model_fields.items():
        if name == "base_dir":
            continue
        yield prefix + name
        ann = field.annotation
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            yield from _keys(ann, "")


def test_every_config_key_documented():
    missing = [k for k in _keys(TownConfig) if f"`{k}" not in DOC and f"[{k}" not in DOC and f".{k}`" not in DOC]
    assert not missing, f"undocumented config keys: {missing}"
