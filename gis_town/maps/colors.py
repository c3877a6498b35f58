"""Map colours from matplotlib's maintained, colour-blind-safe palettes.

- :func:`qualitative`: classes without an order (high-standard projects): the
  ``petroff10`` colour cycle (M. Petroff, "Accessible color sequences for data
  visualization", 2021: chosen for colour-vision deficiencies and for being
  told apart), shipped with matplotlib as a style.
- :func:`ordered`: classes in an order (resettlement stages, progress steps):
  evenly spaced samples of ``viridis`` (perceptually uniform, readable in grey
  and with colour-vision deficiencies), light to dark.

A class gets its colour from its place in a fixed list (the projects sorted,
the stages in plan order), so the same class has the same colour in every map.
"""

from __future__ import annotations

from functools import cache

__all__ = ["ordered", "qualitative"]


@cache
def _petroff10() -> tuple[str, ...]:
    import matplotlib.style

    cycle = matplotlib.style.library["petroff10"]["axes.prop_cycle"]
    return tuple(str(c).lower() for c in cycle.by_key()["color"])


def qualitative(n: int) -> tuple[str, ...]:
    """``n`` colours for unordered classes (``#rrggbb``), repeating after the palette's 10."""
    colours = _petroff10()
    return tuple(colours[i % len(colours)] for i in range(max(n, 0)))


@cache
def ordered(n: int, name: str = "viridis") -> tuple[str, ...]:
    """``n`` colours for ordered classes, the first lightest, from the matplotlib colormap ``name``.

    The light end stops short of the map's pale yellow (0.95) and the dark end of its
    darkest (0.05), so that both ends show on a white page and over a basemap.
    """
    from matplotlib import colormaps
    from matplotlib.colors import to_hex

    if n <= 0:
        return ()
    cmap = colormaps[name]
    if n == 1:
        return (to_hex(cmap(0.5)),)
    return tuple(to_hex(cmap(0.95 - 0.9 * i / (n - 1))) for i in range(n))
