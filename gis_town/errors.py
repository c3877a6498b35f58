"""Errors raised by gis_town.

One small hierarchy under :class:`GisTownError`. Input problems are also
:class:`ValueError` (as in rasterio), so callers that catch ``ValueError`` keep
working. Each error carries the context a planner needs to fix the data: the
file, the layer, the feature id and the field.

The CLI maps :class:`InputError` (and subclasses) to exit code 2.
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "CRSError",
    "GisTownError",
    "InputError",
    "LayerError",
    "FieldError",
    "RasterError",
    "OutputError",
]


class GisTownError(Exception):
    """Base class of every error raised by gis_town.

    Parameters
    ----------
    message : str
        What is wrong, what was expected, what came, and what to do.
    path, layer, feature_id, field : str, optional
        Where the problem is. Shown before the message.
    """

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        layer: str | None = None,
        feature_id: object = None,
        field: str | None = None,
    ) -> None:
        self.message = message
        self.path = None if path is None else str(path)
        self.layer = layer
        self.feature_id = feature_id
        self.field = field
        super().__init__(self.__str__())

    def where(self) -> str:
        """Return the location part of the message, e.g. ``file x.gpkg, layer farmland``."""
        parts = []
        if self.path:
            parts.append(f"文件 file {self.path}")
        if self.layer:
            parts.append(f"图层 layer {self.layer}")
        if self.feature_id is not None:
            parts.append(f"要素 feature {self.feature_id}")
        if self.field:
            parts.append(f"字段 field {self.field}")
        return ", ".join(parts)

    def __str__(self) -> str:
        where = self.where()
        return f"{where}: {self.message}" if where else self.message


class InputError(GisTownError, ValueError):
    """A file, layer, raster or argument that cannot be used (CLI exit code 2)."""


class LayerError(InputError):
    """A layer that cannot be used: unreadable, empty, wrong geometry type, no CRS."""


class FieldError(InputError):
    """A required field is missing, or a field's values have the wrong type."""


class CRSError(InputError):
    """A missing or clearly wrong coordinate reference system."""


class RasterError(InputError):
    """A raster that cannot be used: unreadable, no CRS, does not overlap."""


class ConfigError(InputError):
    """The town config is invalid: unknown keys, wrong types, missing targets."""


class OutputError(GisTownError, OSError):
    """An output could not be written (the previous file, if any, is kept)."""
