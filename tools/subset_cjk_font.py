"""Build the CJK font subset shipped for print maps (gis_town/data/fonts/).

The package ships a subset of Noto Sans CJK SC Regular (SIL Open Font License
1.1) so that print maps draw Chinese on a PC with no CJK font and no root
(matplotlib needs a font file; an office PC may have none). The subset holds
every character of GB 2312 (the 6,763 hanzi of both levels and its symbols),
ASCII and Latin-1, general and CJK punctuation, full-width forms, and every
character that the package's own texts and the demo town use. It is renamed
(OFL: a modified version keeps the license, drops the Reserved Font Name).

Usage (the source is Debian's ``fonts-noto-cjk``, or the upstream release)::

    python tools/subset_cjk_font.py /path/to/NotoSansCJK-Regular.ttc

The output is deterministic for the same source and character set.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTCollection, TTFont

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "gis_town" / "data" / "fonts" / "GisTownSansSC-Regular.otf"
FAMILY = "GisTown Sans SC"
PS_NAME = "GisTownSansSC-Regular"


def gb2312_chars() -> set[str]:
    """Every character GB 2312 encodes (rows 0xA1-0xF7, cells 0xA1-0xFE)."""
    chars: set[str] = set()
    for hi in range(0xA1, 0xF8):
        for lo in range(0xA1, 0xFF):
            try:
                chars.add(bytes([hi, lo]).decode("gb2312"))
            except UnicodeDecodeError:
                pass
    return chars


def package_chars() -> set[str]:
    """Characters in the package's own sources and data (labels, demo names, rules)."""
    chars: set[str] = set()
    for folder in ("gis_town", "layers", "notebooks", "docs"):
        for path in (REPO / folder).rglob("*"):
            if path.suffix in (".py", ".toml", ".md", ".ipynb", ".json", ".csv"):
                chars |= set(path.read_text(encoding="utf-8", errors="ignore"))
    return {c for c in chars if ord(c) >= 0x2E80}


def charset() -> set[str]:
    """The characters the subset keeps."""
    ranges = [
        (0x20, 0x7E),  # ASCII
        (0xA0, 0xFF),  # Latin-1
        (0x2010, 0x205E),  # general punctuation
        (0x2100, 0x215F),  # letter-like, number forms (℃, Ⅰ)
        (0x2190, 0x21FF),  # arrows
        (0x2460, 0x24FF),  # enclosed numbers ①
        (0x2500, 0x25FF),  # box drawing, shapes
        (0x3000, 0x303F),  # CJK punctuation
        (0xFF00, 0xFFEF),  # full-width forms
    ]
    chars = {chr(c) for a, b in ranges for c in range(a, b + 1)}
    return chars | gb2312_chars() | package_chars()


def _sc_font(source: Path) -> TTFont:
    if source.suffix.lower() in (".ttc", ".otc"):
        for font in TTCollection(str(source)).fonts:
            if font["name"].getDebugName(1) == "Noto Sans CJK SC":
                return font
        raise SystemExit(f"{source}: no 'Noto Sans CJK SC' face in the collection")
    return TTFont(str(source))


def _rename(font: TTFont) -> None:
    name = font["name"]
    for rec in list(name.names):
        if rec.nameID in (1, 4, 16):
            rec.string = FAMILY
        elif rec.nameID == 2 or rec.nameID == 17:
            rec.string = "Regular"
        elif rec.nameID == 6:
            rec.string = PS_NAME
        elif rec.nameID == 3:
            rec.string = f"{PS_NAME};subset of Noto Sans CJK SC 2.004"
    if "CFF " in font:
        cff = font["CFF "].cff
        cff.fontNames = [PS_NAME]
        top = cff.topDictIndex[0]
        top.FullName = FAMILY
        top.FamilyName = FAMILY


def build(source: Path, out: Path = OUT) -> Path:
    """Subset ``source`` to :func:`charset`, rename it and write ``out``."""
    font = _sc_font(source)
    opts = subset.Options()
    opts.layout_features = ["kern", "vert", "vrt2", "locl"]
    opts.hinting = False
    opts.desubroutinize = False
    opts.name_IDs = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12, 13, 14, 16, 17]
    opts.notdef_outline = True
    sub = subset.Subsetter(opts)
    sub.populate(unicodes=[ord(c) for c in charset()])
    sub.subset(font)
    _rename(font)
    out.parent.mkdir(parents=True, exist_ok=True)
    font.save(str(out))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, help="NotoSansCJK-Regular.ttc or NotoSansCJKsc-Regular.otf")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    path = build(args.source, args.out)
    print(f"wrote {path} ({path.stat().st_size / 1e6:.2f} MB, {len(charset())} characters asked)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
