"""``python -m gis_town.demo [--out layers] [--seed N]``: write the demo town."""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    """Command-line entry: generate the demo town into ``--out``."""
    parser = argparse.ArgumentParser(
        prog="python -m gis_town.demo",
        description="生成示范镇数据 / generate the demo town (layers, DEM, NDVI)",
    )
    parser.add_argument(
        "--out", default="layers", help="输出目录 / output folder (default: layers)"
    )
    parser.add_argument(
        "--seed", type=int, default=2023, help="随机种子 / random seed (default: 2023)"
    )
    parser.add_argument(
        "--parcels",
        type=int,
        default=5000,
        help="耕地地块数 / approximate number of farmland parcels",
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="只输出错误 / errors only")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO, format="%(message)s")
    logging.getLogger("pyogrio").setLevel(logging.WARNING)
    from gis_town.demo.generate import generate_demo_town
    from gis_town.errors import GisTownError

    t0 = time.perf_counter()
    try:
        paths = generate_demo_town(Path(args.out), seed=args.seed, n_parcels=args.parcels)
    except GisTownError as exc:
        print(f"错误 error: {exc}", file=sys.stderr)
        return 2
    if not args.quiet:
        for key, path in paths.items():
            print(f"{key:10s} {path}")
        print(f"用时 took {time.perf_counter() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
