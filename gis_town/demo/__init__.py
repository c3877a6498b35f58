"""The demo town: a realistic, deterministic township to try every command on.

``python -m gis_town.demo --out layers`` writes it; :func:`generate_demo_town`
does the same from Python. See :mod:`gis_town.demo.generate` for what the
data contain and which problems are planted in it.
"""

from gis_town.demo.generate import build_town, generate_demo_town

__all__ = ["build_town", "generate_demo_town"]
