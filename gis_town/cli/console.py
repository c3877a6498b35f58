"""What the commands show, and how much: console output, log records and Python warnings.

One verbosity, set once by ``main`` from ``-v`` / ``-q`` (:func:`configure`),
governs all three:

- **console output** (result tables, feature accounting, "wrote ..." lines)
  goes through :data:`console` (:meth:`Console.echo`, to stdout): shown by
  default and with ``-v``, hidden with ``-q``;
- **log records** of ``gis_town`` go to stderr as ``LEVEL: message``:
  WARNING and above by default, INFO with ``-v``, DEBUG with ``-vv``, only
  ERROR with ``-q``;
- **Python warnings** (numpy, shapely, pyogrio...) are logged, not printed
  raw (:func:`routed_warnings`, levels by :func:`warning_level`).

Errors (:meth:`Console.error`) are always shown. This module imports only the
standard library: building the parser must stay fast.
"""

from __future__ import annotations

import contextlib
import logging
import re
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path

__all__ = [
    "Console",
    "configure",
    "console",
    "log_level",
    "routed_warnings",
    "warning_level",
]

#: Third-party loggers kept at WARNING even with -v (their INFO/DEBUG is not for planners).
NOISY_LOGGERS: tuple[str, ...] = ("pyogrio", "fiona", "rasterio", "matplotlib", "PIL", "fontTools", "numexpr")

#: Libraries whose RuntimeWarnings are numeric noise (NaN coordinates, empty reductions...).
NUMERIC_LIBRARIES: frozenset[str] = frozenset(
    {"numpy", "shapely", "pyogrio", "pandas", "geopandas", "pyproj", "pyarrow", "scipy", "rasterio", "exactextract"}
)

#: Warning categories meant for developers, not for the planner running a command.
_DEVELOPER_WARNINGS: tuple[type[Warning], ...] = (
    DeprecationWarning,
    PendingDeprecationWarning,
    FutureWarning,
    ImportWarning,
    ResourceWarning,
)

_NUMERIC_MESSAGE = re.compile(r"\b(invalid value|divide by zero|overflow|underflow) encountered\b")

_PACKAGE_DIR = Path(__file__).resolve().parent.parent  # gis_town/

#: Name of the logger that Python warnings are logged on (``gis_town.warnings``).
WARNINGS_LOGGER = "gis_town.warnings"


def log_level(verbose: int = 0, quiet: int = 0) -> int:
    """The ``gis_town`` log level for ``-v`` / ``-q`` counts (WARNING by default, ERROR with -q).

    Parameters
    ----------
    verbose, quiet : int
        How many times ``-v`` and ``-q`` were given.

    Returns
    -------
    int
        A :mod:`logging` level between DEBUG and CRITICAL.
    """
    level = logging.WARNING - 10 * verbose + 10 * quiet
    return min(max(level, logging.DEBUG), logging.CRITICAL)


#: The widest console line (columns).
MAX_WIDTH = 120


def terminal_width() -> int:
    """The terminal's width in columns, at most :data:`MAX_WIDTH`."""
    import shutil

    return min(shutil.get_terminal_size((MAX_WIDTH, 24)).columns, MAX_WIDTH)


def display_width(text: str) -> int:
    """Columns ``text`` takes on a terminal (East Asian wide characters count two)."""
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


_BREAK = re.compile(r"(?<=[,;])(?!\d) ?|(?<=[，；、]) ?|(?<=\)) (?=\S)| (?=\()| (?=--)| (?=->)| (?=/ )")


def wrap_line(line: str, width: int, indent: str = "    ") -> list[str]:
    """``line`` cut into pieces no wider than ``width`` after commas, semicolons or spaces."""
    if display_width(line) <= width:
        return [line]
    room = width - len(indent)  # a piece must fit on a continuation line
    pieces = [q for p in _BREAK.split(line) if p for q in (p.split(" ") if display_width(p) > room else [p]) if q]
    out, cur = [], ""
    for p in pieces:
        sep = "" if not cur or cur.endswith((" ", "，", "；", "、")) else " "
        cand = cur + sep + p if cur else p
        if cur and display_width(cand) > width:
            out.append(cur.rstrip())
            cur = indent + p
        else:
            cur = cand
    out.append(cur.rstrip())
    return out


class Console:
    """The commands' user-facing output on stdout, filtered by the verbosity.

    Parameters
    ----------
    level : int
        The lowest level shown: INFO (results shown, the default) or ERROR
        (``-q``: only errors).
    """

    def __init__(self, level: int = logging.INFO) -> None:
        self.level = level

    def set_level(self, level: int) -> None:
        """Show output of ``level`` and above (capped at ERROR: errors are always shown)."""
        self.level = min(level, logging.ERROR)

    def enabled(self, level: int = logging.INFO) -> bool:
        """True when output of ``level`` is shown (skip building a table that would not be)."""
        return level >= self.level

    def echo(self, text: str = "", level: int = logging.INFO) -> None:
        """Print a line of output (a result) to stdout, unless the verbosity hides it.

        A line wider than the terminal (at most :data:`MAX_WIDTH` columns, CJK
        characters counting double) is wrapped after a comma or a space, the
        following lines indented; table lines are already cut to fit.
        """
        if self.enabled(level):
            width = terminal_width()
            lines = [w for line in str(text).split("\n") for w in wrap_line(line, width)]
            print("\n".join(lines), file=sys.stdout, flush=True)

    def error(self, text: str) -> None:
        """Print an error message to stderr (always shown)."""
        print(text, file=sys.stderr, flush=True)


#: The console of this process; :func:`configure` sets its level.
console = Console()


class _StderrHandler(logging.StreamHandler):
    """A handler on whatever ``sys.stderr`` is at the time of each record (test capture, notebooks)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property  # type: ignore[override]
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:  # the base class assigns it; always use the current stderr
        pass

    def format(self, record: logging.LogRecord) -> str:
        """The record, wrapped to the terminal's width like the console's lines."""
        width = terminal_width()
        return "\n".join(w for line in super().format(record).split("\n") for w in wrap_line(line, width))


def configure(verbose: int = 0, quiet: int = 0) -> int:
    """Set the console, the ``gis_town`` log handler and the other libraries' loggers.

    Parameters
    ----------
    verbose, quiet : int
        How many times ``-v`` and ``-q`` were given.

    Returns
    -------
    int
        The ``gis_town`` log level.
    """
    level = log_level(verbose, quiet)
    console.set_level(logging.INFO if level <= logging.WARNING else logging.ERROR)
    handler = _StderrHandler()
    handler.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
    root = logging.getLogger("gis_town")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False
    # other libraries' records: WARNING and above (ERROR and above with -q), never their chatter
    logging.getLogger().setLevel(max(level, logging.WARNING))
    for noisy in NOISY_LOGGERS:
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))
    return level


def _origin(filename: str) -> str:
    """``gis_town`` or the top-level package a warning was attributed to (``shapely``...)."""
    path = Path(filename)
    try:
        path.resolve().relative_to(_PACKAGE_DIR)
        return "gis_town"
    except (OSError, ValueError):
        pass
    parts = path.parts
    for marker in ("site-packages", "dist-packages"):
        if marker in parts:
            i = parts.index(marker)
            if i + 1 < len(parts):
                return Path(parts[i + 1]).stem.split(".")[0]
    return path.stem


def warning_level(category: type[Warning], message: Warning | str, filename: str) -> int:
    """The log level of a Python warning.

    - DEBUG: developer warnings (deprecations, ``FutureWarning``...);
    - INFO: numeric noise, i.e. a ``RuntimeWarning`` "invalid value / divide
      by zero / overflow encountered" or any ``RuntimeWarning`` of numpy,
      shapely, pyogrio, pandas, pyproj... (visible with ``-v``);
    - WARNING: the rest, gis_town's own warnings included.

    Parameters
    ----------
    category : type
        The warning class.
    message : Warning or str
        The warning.
    filename : str
        The file it was attributed to.

    Returns
    -------
    int
        A :mod:`logging` level.
    """
    if issubclass(category, _DEVELOPER_WARNINGS):
        return logging.DEBUG
    numeric = _NUMERIC_MESSAGE.search(str(message)) or _origin(filename) in NUMERIC_LIBRARIES
    if issubclass(category, RuntimeWarning) and numeric:
        return logging.INFO
    return logging.WARNING


def _log_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """A :func:`warnings.showwarning` that logs one line instead of printing the raw warning."""
    origin = _origin(filename)
    where = f"{origin} ({Path(filename).name}:{lineno})"
    logging.getLogger(WARNINGS_LOGGER).log(
        warning_level(category, message, filename), "%s: %s: %s", where, category.__name__, message
    )


@contextlib.contextmanager
def routed_warnings() -> Iterator[None]:
    """Within the block, Python warnings are logged (:func:`warning_level`), not printed.

    The previous :func:`warnings.showwarning` is restored on exit, so library
    callers and test runners keep their own handling outside the command.
    """
    previous = warnings.showwarning
    warnings.showwarning = _log_warning
    try:
        yield
    finally:
        warnings.showwarning = previous
