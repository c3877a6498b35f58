"""The ``gis-town`` command line (also ``python -m gis_town``).

Each subcommand lives in its own module under :mod:`gis_town.cli` and exposes
``register(subparsers)``; the module names are listed in :data:`COMMANDS`.

Building the parser imports only the command modules, which import their
heavy dependencies (geopandas, the analyses, the maps...) inside their
``run`` functions: ``gis-town --help`` and a command's start stay fast.
Output, logging and Python warnings follow ``-v`` / ``-q`` through
:mod:`gis_town.cli.console`.

Exit codes: 0 success; 1 checks failed (e.g. plots that fail acceptance);
2 bad input or usage (one clear message, no traceback unless ``--debug``);
3 an internal error (a bug: please report it with ``--debug`` output).
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import importlib
import logging
import sys
from collections.abc import Iterator, Sequence

from gis_town import __version__
from gis_town.cli.console import configure, console, routed_warnings
from gis_town.errors import GisTownError

__all__ = ["COMMANDS", "build_parser", "main"]

#: Subcommand modules, in the order ``--help`` lists them.
COMMANDS: tuple[str, ...] = (
    "info",
    "areas",
    "patrol",
    "risk",
    "progress",
    "upload",
    "check",
    "compare",
    "visits",
    "siting",
    "monitoring",
    "map",
    "export",
    "demo",
    "generate",
)

EXIT_OK, EXIT_FAILED, EXIT_INPUT, EXIT_INTERNAL = 0, 1, 2, 3

log = logging.getLogger("gis_town")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # usage errors: exit 2 with one line
        self.print_usage(sys.stderr)
        self.exit(EXIT_INPUT, f"{self.prog}: 用法错误 usage error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser with every available subcommand."""
    parser = _Parser(
        prog="gis-town",
        description="乡镇国土空间规划工具箱 / township spatial planning toolkit",
        epilog="退出码 exit codes: 0 成功 ok, 1 检查未通过 checks failed, 2 输入错误 bad input, 3 内部错误 internal error",
    )
    parser.add_argument("--version", action="version", version=f"gis-town {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="更多日志 more log output (-vv for debug)")
    parser.add_argument("-q", "--quiet", action="count", default=0, help="只显示错误 only errors")
    parser.add_argument("--debug", action="store_true", help="出错时显示完整堆栈 show tracebacks")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"gis_town.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"gis_town.cli.{name}":
                continue  # command not built yet
            raise
        module.register(sub)
    return parser


def _setup_console() -> None:
    """Make Chinese text readable on a Windows console (UTF-8 output, no crash on cp936)."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.reconfigure(encoding="utf-8", errors="replace")  # type: ignore[attr-defined]
        except (AttributeError, ValueError):
            pass
    if sys.platform == "win32":  # pragma: no cover - Windows only
        try:
            import ctypes

            ctypes.windll.kernel32.SetConsoleOutputCP(65001)
        except Exception:
            pass


#: Allocations between two young-generation collections while a command runs (Python's default: 700).
GC_THRESHOLD0 = 50_000


@contextlib.contextmanager
def _batch_gc(threshold0: int = GC_THRESHOLD0) -> Iterator[None]:
    """Run the cyclic garbage collector less often while a command runs.

    A command is a short batch job that builds large, long-lived tables (a
    Python object per geometry, hundreds of thousands of them) and makes few
    reference cycles. With Python's default thresholds the collector keeps
    re-scanning them and every imported module in full passes, work the
    command does not need (about 0.2 s of ``gis-town areas`` on 200,000
    parcels). Cycles are still collected, only in larger batches; the
    previous thresholds are restored on exit (for callers of :func:`main` in
    a notebook or a test).
    """
    previous = gc.get_threshold()
    gc.set_threshold(max(previous[0], threshold0), *previous[1:])
    try:
        yield
    finally:
        gc.set_threshold(*previous)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; return the exit code."""
    _setup_console()
    parser = build_parser()
    args = parser.parse_args(argv)
    configure(args.verbose, args.quiet)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_INPUT if args.command is None and argv else EXIT_OK
    try:
        with routed_warnings(), _batch_gc():
            return int(args.func(args) or 0)
    except GisTownError as exc:  # InputError and the rest: one message, exit 2
        if args.debug:
            raise
        console.error(f"错误 error: {exc}")
        return EXIT_INPUT
    except KeyboardInterrupt:
        console.error("已中断 interrupted")
        return 130
    except BrokenPipeError:  # the output was piped into a reader that stopped (| head): not an error
        import os

        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except Exception as exc:
        if args.debug:
            raise
        console.error(
            f"内部错误 internal error: {type(exc).__name__}: {exc}\n"
            "请用 --debug 重试并报告 / rerun with --debug and report it"
        )
        return EXIT_INTERNAL


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
