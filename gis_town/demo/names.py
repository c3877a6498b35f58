"""Chinese names for the demo town: villages, hamlets, people, projects.

The pools are plain word lists; :class:`NameMaker` draws from them with the
generator's own random stream, so the same seed gives the same names.
"""

from __future__ import annotations

import numpy as np

#: Administrative villages (行政村). 将台村 is named in the town's 2023 plan.
VILLAGE_NAMES: tuple[str, ...] = (
    "将台村",
    "关川村",
    "石峡村",
    "柳家河村",
    "大营村",
    "杨家湾村",
    "新庄村",
    "红崖村",
    "马莲滩村",
    "张家岔村",
    "阳洼村",
    "大坪村",
    "后川村",
    "刘家沟村",
    "南岔村",
)

#: Prefixes and suffixes of natural villages (自然村) on the Loess Plateau.
_HAMLET_HEADS: tuple[str, ...] = (
    "尹家",
    "王家",
    "李家",
    "张家",
    "赵家",
    "陈家",
    "杨家",
    "刘家",
    "马家",
    "何家",
    "郭家",
    "牛家",
    "苟家",
    "魏家",
    "安家",
    "董家",
    "闫家",
    "蔺家",
    "车家",
    "侯家",
    "汪家",
    "景家",
    "上",
    "下",
    "前",
    "后",
    "大",
    "小",
    "阳",
    "阴",
    "东",
    "西",
    "南",
    "北",
    "新",
    "老",
)
_HAMLET_TAILS: tuple[str, ...] = (
    "山",
    "湾",
    "岔",
    "坪",
    "沟",
    "庄",
    "咀",
    "川",
    "坡",
    "台",
    "洼",
    "岘",
    "梁",
    "峁",
    "塬",
)

_SURNAMES: tuple[str, ...] = (
    "王",
    "李",
    "张",
    "刘",
    "陈",
    "杨",
    "赵",
    "马",
    "何",
    "郭",
    "牛",
    "苟",
    "魏",
    "安",
    "董",
    "闫",
    "蔺",
    "车",
    "侯",
    "汪",
    "景",
    "尹",
    "罗",
    "孙",
    "周",
    "吴",
    "徐",
    "朱",
    "胡",
    "高",
    "林",
    "郑",
    "梁",
    "谢",
    "宋",
    "唐",
    "许",
    "韩",
    "冯",
    "邓",
    "曹",
    "彭",
)
_GIVEN: tuple[str, ...] = (
    "建",
    "国",
    "军",
    "明",
    "红",
    "平",
    "华",
    "强",
    "文",
    "海",
    "玉",
    "兰",
    "英",
    "福",
    "生",
    "有",
    "德",
    "成",
    "东",
    "永",
    "志",
    "学",
    "忠",
    "宝",
    "俊",
    "金",
    "春",
    "秀",
    "芳",
    "霞",
    "亮",
    "刚",
    "伟",
    "勇",
    "林",
    "晓",
    "丽",
    "敏",
    "虎",
    "彦",
    "鹏",
    "岗",
)


class NameMaker:
    """Draws unique Chinese names from the pools.

    Parameters
    ----------
    rng : numpy.random.Generator
        The generator's random stream.
    """

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self._people: set[str] = set()
        self._hamlets: set[str] = set(VILLAGE_NAMES)

    def person(self, surname: str | None = None) -> str:
        """A person's name (two or three characters), unique within this maker when possible."""
        for _ in range(50):
            sur = surname or str(self.rng.choice(_SURNAMES))
            k = 1 if self.rng.random() < 0.25 else 2
            name = sur + "".join(str(c) for c in self.rng.choice(_GIVEN, size=k))
            if name not in self._people:
                self._people.add(name)
                return name
        return name

    def people(self, n: int) -> list[str]:
        """``n`` names of people."""
        return [self.person() for _ in range(n)]

    def hamlet(self) -> str:
        """A natural-village name (e.g. 尹家山), unique."""
        for _ in range(200):
            name = str(self.rng.choice(_HAMLET_HEADS)) + str(self.rng.choice(_HAMLET_TAILS))
            if name not in self._hamlets:
                self._hamlets.add(name)
                return name
        raise RuntimeError("hamlet name pool exhausted")


#: Village group (社) labels.
GROUP_LABELS: tuple[str, ...] = ("一社", "二社", "三社", "四社", "五社", "六社", "七社", "八社")
