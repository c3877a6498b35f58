"""``gis-town generate``: rebuild the demo town's data (deterministic)."""

from __future__ import annotations

import argparse
from pathlib import Path

from gis_town.cli.common import add_command, echo


def register(sub) -> None:
    p = add_command(sub, "generate", "生成示范镇数据 build the demo town's layers, DEM and NDVI, and the town as delivered (delivered/)")
    p.add_argument("--out", type=Path, default=Path("layers"), help="输出目录 output folder (default layers/)")
    p.add_argument("--seed", type=int, default=2023, help="随机种子 seed (default 2023)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from gis_town.demo import generate_demo_town
    from gis_town.demo.delivered import write_delivered_town

    paths = generate_demo_town(args.out, seed=args.seed)
    delivered = write_delivered_town(paths["town"], args.out / "delivered")
    paths["delivered"] = delivered["config"].parent
    for name, path in paths.items():
        echo(f"{name}: {path}")
    return 0
