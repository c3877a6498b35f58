"""Input and output: reading layers and towns, validating them, writing outputs atomically."""

from gis_town.io.read import detect_encoding, list_layers, read_layer
from gis_town.io.town import Town, load_layer, load_town
from gis_town.io.validate import validate_layer
from gis_town.io.write import (
    atomic_path,
    safe_output_path,
    write_csv,
    write_text,
    write_vector,
    write_xlsx,
)

__all__ = [
    "Town",
    "atomic_path",
    "detect_encoding",
    "list_layers",
    "load_layer",
    "load_town",
    "read_layer",
    "safe_output_path",
    "validate_layer",
    "write_csv",
    "write_text",
    "write_vector",
    "write_xlsx",
]
