"""Rule sets of the acceptance check (验收前检查规则集): loading and validation.

A rule set is a list of rules; each rule has an ``id``, a ``kind`` (which
check it runs, see :data:`RULE_KINDS`), a ``severity`` (``error`` blocks
acceptance, ``warning`` is reported but does not), a Chinese and an English
message and its ``limits``. Two sets ship with the package as TOML files in
``gis_town/data/rules/``: ``high_standard`` (高标准农田) and ``reclamation``
(拆旧复垦). A town overrides them in its config (``[check.rule_sets]``, merged
rule by rule: same ``id`` replaces the given keys, ``enabled = false`` drops a
rule, a new ``id`` adds one) or replaces a set with a file of its own.

Every key is validated: unknown rule kinds, unknown keys and wrong types raise
:class:`~gis_town.errors.ConfigError` naming the file, the rule and the key.
"""

from __future__ import annotations

import copy
import logging
import sys
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from gis_town.config import TownConfig
from gis_town.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = [
    "LIMIT_MODELS",
    "RULE_KINDS",
    "SHIPPED_RULE_SETS",
    "Rule",
    "RuleSet",
    "load_rule_set",
    "parse_rule_set",
    "read_rule_file",
]

log = logging.getLogger(__name__)

#: The rule sets shipped as package data (``gis_town/data/rules/<name>.toml``).
SHIPPED_RULE_SETS: tuple[str, ...] = ("high_standard", "reclamation")


class _Limits(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class GeometryValidLimits(_Limits):
    """``geometry_valid``: GEOS validity (no limits)."""


class DuplicateIdLimits(_Limits):
    """``duplicate_id``: every plot id appears once (no limits)."""


class OverlapLimits(_Limits):
    """``overlap``: plots must not overlap each other.

    Attributes
    ----------
    tolerance_m2 : float
        Overlap area (m², ellipsoidal) a plot may share with others in total
        (digitising noise along shared edges).
    """

    tolerance_m2: float = Field(1.0, ge=0)


class SliverLimits(_Limits):
    """``sliver``: plots too small or too narrow to farm.

    Attributes
    ----------
    min_area_m2 : float
        Minimum ellipsoidal area (m²).
    min_width_m : float
        A plot fails when no part of it is this wide (a negative buffer of
        half the width leaves nothing); 0 disables the test.
    min_thinness : float
        Minimum thinness ratio 4*pi*A/P^2 (1 for a circle, 0.785 for a square,
        ~0.14 for a 10 m x 200 m terrace strip); 0 disables the test.
    """

    min_area_m2: float = Field(100.0, ge=0)
    min_width_m: float = Field(4.0, ge=0)
    min_thinness: float = Field(0.0, ge=0, le=1)


class DeclaredAreaLimits(_Limits):
    """``declared_area``: declared area against the measured ellipsoidal area.

    Net area (gross * (1 - ridge_coef)) is compared when the plot has a
    terrace-ridge coefficient (田坎系数), gross area otherwise. A plot passes
    when ``|measured - declared| <= max(abs_tolerance_mu, rel_tolerance * declared)``.

    Attributes
    ----------
    rel_tolerance : float
        Relative tolerance (share of the declared area).
    abs_tolerance_mu : float
        Absolute tolerance (mu) that governs small plots.
    field : str
        The declared-area field (mu).
    ridge_field : str
        The ridge-coefficient field (0..1); absent or blank means gross area.
    """

    rel_tolerance: float = Field(0.05, ge=0)
    abs_tolerance_mu: float = Field(0.3, ge=0)
    field: str = "declared_area_mu"
    ridge_field: str = "ridge_coef"


class SlopeLimits(_Limits):
    """``slope``: mean slope and the share of the plot steeper than the limit (DEM).

    Attributes
    ----------
    limit_deg : float
        Slope limit in degrees (25 is the legal ceiling for cultivation).
    max_share_above : float
        Largest share (0..1) of the plot's area allowed steeper than ``limit_deg``.
    max_mean_deg : float, optional
        Largest mean slope (degrees); ``limit_deg`` when omitted.
    """

    limit_deg: float = Field(25.0, gt=0, lt=90)
    max_share_above: float = Field(0.05, ge=0, le=1)
    max_mean_deg: float | None = Field(None, gt=0, lt=90)


class RoadAccessLimits(_Limits):
    """``road_access``: the plot lies within a distance of a road (产业路也要打通).

    Attributes
    ----------
    max_distance_m : float
        Largest distance (m, Gauss-Kruger) from the plot's edge to the nearest road.
    hardened_only : bool
        Count only hardened roads (field ``hardened``).
    layer : str
        The town layer with the roads.
    """

    max_distance_m: float = Field(100.0, ge=0)
    hardened_only: bool = False
    layer: str = "roads"


class RedlineLimits(_Limits):
    """``redline``: not inside the ecological protection red line (生态保护红线).

    Attributes
    ----------
    tolerance_m2 : float
        Area (m²) of the plot allowed inside the red line.
    layer : str
        The town layer with the red-line polygons.
    """

    tolerance_m2: float = Field(1.0, ge=0)
    layer: str = "redline"


class RiverBufferLimits(_Limits):
    """``river_buffer``: not inside a river's protection buffer (河道管理范围).

    Attributes
    ----------
    buffer_m : float
        Width of the buffer on each side of the river line (m).
    tolerance_m2 : float
        Area (m²) of the plot allowed inside the buffer.
    layer : str
        The town layer with the river lines.
    """

    buffer_m: float = Field(30.0, gt=0)
    tolerance_m2: float = Field(1.0, ge=0)
    layer: str = "rivers"


class HomesteadLimits(_Limits):
    """``homestead``: a reclaimed plot lies on its household's old homestead.

    The household's point in the resettlement layer marks the old house; the
    plot passes when that point is inside the plot or within ``tolerance_m``.

    Attributes
    ----------
    tolerance_m : float
        Largest distance (m) from the household's point to the plot.
    household_field : str
        The plot field naming the household.
    layer : str
        The town layer with the households' points.
    """

    tolerance_m: float = Field(20.0, ge=0)
    household_field: str = "household_id"
    layer: str = "resettlement"


class NdviLimits(_Limits):
    """``ndvi``: vegetation signal; rubble or bare soil stands out by a low NDVI.

    Attributes
    ----------
    min_mean : float
        Smallest area-weighted mean NDVI of the plot.
    bare_below : float
        NDVI below which a cell counts as bare soil or rubble.
    max_bare_share : float
        Largest share (0..1) of the plot's area that may be bare.
    """

    min_mean: float = Field(0.15, ge=-1, le=1)
    bare_below: float = Field(0.10, ge=-1, le=1)
    max_bare_share: float = Field(0.5, ge=0, le=1)


class BasicFarmlandLimits(_Limits):
    """``basic_farmland``: share of the plot inside permanent basic farmland (永久基本农田).

    Attributes
    ----------
    min_share : float
        Smallest share (0..1) of the plot's area inside the layer.
    layer : str
        The town layer with permanent basic farmland.
    """

    min_share: float = Field(0.9, ge=0, le=1)
    layer: str = "basic_farmland"


class AttributesLimits(_Limits):
    """``attributes``: required fields present and values in range.

    Attributes
    ----------
    required : list of str
        Fields that must exist and be non-blank.
    ranges : dict of str -> [min, max] or {min, max}
        Numeric fields and their inclusive range; a table may give only one
        bound (``{min = 0}``). Blank values pass unless the field is required.
    allowed : dict of str -> list of str
        Fields whose values must be one of the listed ones.
    """

    required: list[str] = Field(default_factory=list)
    ranges: dict[str, tuple[float, float]] = Field(default_factory=dict)
    allowed: dict[str, list[str]] = Field(default_factory=dict)

    @field_validator("ranges", mode="before")
    @classmethod
    def _bounds(cls, v: Any) -> Any:
        if not isinstance(v, dict):
            return v
        out: dict[str, Any] = {}
        for name, rng in v.items():
            if isinstance(rng, dict):
                unknown = set(rng) - {"min", "max"}
                if unknown:
                    raise ValueError(
                        f"range of {name!r}: unknown key(s) {sorted(unknown)}; use min and max"
                    )
                rng = (rng.get("min", float("-inf")), rng.get("max", float("inf")))
            out[name] = rng
        return out

    @field_validator("ranges")
    @classmethod
    def _ordered(cls, v: dict[str, tuple[float, float]]) -> dict[str, tuple[float, float]]:
        for name, (lo, hi) in v.items():
            if lo > hi:
                raise ValueError(f"range of {name!r}: min {lo} > max {hi}")
        return v


#: Rule kind -> its limits model (the checks :mod:`gis_town.analysis.check.rules` implements).
LIMIT_MODELS: dict[str, type[_Limits]] = {
    "geometry_valid": GeometryValidLimits,
    "duplicate_id": DuplicateIdLimits,
    "overlap": OverlapLimits,
    "sliver": SliverLimits,
    "declared_area": DeclaredAreaLimits,
    "slope": SlopeLimits,
    "road_access": RoadAccessLimits,
    "redline": RedlineLimits,
    "river_buffer": RiverBufferLimits,
    "homestead": HomesteadLimits,
    "ndvi": NdviLimits,
    "basic_farmland": BasicFarmlandLimits,
    "attributes": AttributesLimits,
}

#: The rule kinds a rule set may use.
RULE_KINDS: tuple[str, ...] = tuple(LIMIT_MODELS)

_RULE_KEYS = ("id", "kind", "severity", "message_zh", "message_en", "limits", "enabled")


class Rule(BaseModel):
    """One validated rule of a rule set.

    Attributes
    ----------
    id : str
        Unique within the set (letters, digits, ``_`` and ``-``), e.g. ``slope``.
    kind : str
        Which check runs (one of :data:`RULE_KINDS`).
    severity : {"error", "warning"}
        ``error`` blocks acceptance; ``warning`` is reported only.
    message_zh, message_en : str
        What a failure means, in Chinese and English.
    limits : limits model of the kind
        The kind's thresholds (see :data:`LIMIT_MODELS`).
    enabled : bool
        False drops the rule (used by town overrides).
    """

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[A-Za-z0-9_\-]{1,64}$")
    kind: Literal[RULE_KINDS]  # type: ignore[valid-type]
    severity: Literal["error", "warning"] = "error"
    message_zh: str = Field(min_length=1)
    message_en: str = Field(min_length=1)
    limits: Any = None
    enabled: bool = True

    @model_validator(mode="after")
    def _limits(self) -> Rule:
        model = LIMIT_MODELS[self.kind]
        raw = self.limits
        if raw is None:
            raw = {}
        if isinstance(raw, _Limits):
            raw = raw.model_dump()
        if not isinstance(raw, dict):
            raise ValueError(f"limits must be a table of keys, got {type(raw).__name__}")
        object.__setattr__(self, "limits", model.model_validate(raw))
        return self

    def limits_dict(self) -> dict[str, Any]:
        """The limits as keyword arguments of the rule's function."""
        return self.limits.model_dump()

    def limits_text(self) -> str:
        """The limits in words with their units, for reports (``重叠容差 1 m²；...``).

        Unset and empty limits are left out; names and units from :data:`LIMIT_WORDS`.
        """
        return "；".join(
            _limit_words(k, v)
            for k, v in self.limits_dict().items()
            if not (v is None or (isinstance(v, (list, dict, tuple)) and not v))
        )


#: How a limit reads in a report: key -> (Chinese name, unit); unit "%" shows a share of 1 as a percentage.
LIMIT_WORDS: dict[str, tuple[str, str]] = {
    "tolerance_m2": ("容差", "m²"),
    "tolerance_m": ("容差", "m"),
    "min_area_m2": ("最小面积", "m²"),
    "min_width_m": ("最小宽度", "m"),
    "min_thinness": ("最小紧凑度", ""),
    "rel_tolerance": ("相对误差上限", "%"),
    "abs_tolerance_mu": ("绝对误差上限", "亩"),
    "field": ("申报面积字段", ""),
    "ridge_field": ("田坎系数字段", ""),
    "limit_deg": ("坡度上限", "°"),
    "max_share_above": ("超限面积比例上限", "%"),
    "max_mean_deg": ("平均坡度上限", "°"),
    "max_distance_m": ("距道路最远", "m"),
    "hardened_only": ("仅计硬化路", ""),
    "layer": ("图层", ""),
    "buffer_m": ("保护范围宽度", "m"),
    "household_field": ("户编号字段", ""),
    "min_mean": ("NDVI 均值下限", ""),
    "bare_below": ("裸地 NDVI 阈值", ""),
    "max_bare_share": ("裸地比例上限", "%"),
    "min_share": ("最小比例", "%"),
    "required": ("必填字段", ""),
    "ranges": ("取值范围", ""),
    "allowed": ("允许取值", ""),
}


def _limit_words(key: str, value: Any) -> str:
    """One limit as ``名称 值单位`` (numbers without trailing zeros, lists joined with 、)."""
    name, unit = LIMIT_WORDS.get(key, (key, ""))

    def num(x: float) -> str:
        return f"{x:,.6g}"

    if isinstance(value, bool):
        text = "是" if value else "否"
    elif isinstance(value, (int, float)):
        text = f"{num(value * 100)}%" if unit == "%" else f"{num(value)}{'' if unit == '°' else ' '}{unit}".strip()
    elif isinstance(value, dict):
        text = "，".join(
            f"{field} {num(v[0])}–{num(v[1])}" if key == "ranges" else f"{field} {'、'.join(map(str, v))}"
            for field, v in value.items()
        )
    elif isinstance(value, (list, tuple)):
        text = "、".join(map(str, value))
    else:
        text = str(value)
    return f"{name} {text}"


@dataclass
class RuleSet:
    """A validated rule set: its name, where it came from, and its rules in order."""

    name: str
    rules: list[Rule]
    source: str = ""
    description_zh: str = ""
    description_en: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def rule(self, rule_id: str) -> Rule:
        """Return the rule with ``rule_id`` (KeyError if absent)."""
        for r in self.rules:
            if r.id == rule_id:
                return r
        raise KeyError(rule_id)

    @property
    def ids(self) -> list[str]:
        """Rule ids in order."""
        return [r.id for r in self.rules]

    def to_frame(self):
        """One row per rule: id, kind, severity, messages, limits (as text)."""
        import pandas as pd

        return pd.DataFrame(
            [
                {
                    "rule": r.id,
                    "kind": r.kind,
                    "severity": r.severity,
                    "message_zh": r.message_zh,
                    "message_en": r.message_en,
                    "limits": r.limits_text(),
                }
                for r in self.rules
            ],
            columns=["rule", "kind", "severity", "message_zh", "message_en", "limits"],
        )


def _fmt_errors(err: ValidationError, where: str, rule_id: str | None) -> str:
    lines = []
    for e in err.errors():
        loc = ".".join(str(x) for x in e["loc"] if x not in ("function-after[_limits(), Rule]",))
        got = e.get("input")
        got_s = "a table" if isinstance(got, dict) else repr(got)[:80]
        if e["type"] == "extra_forbidden":
            lines.append(f"  {loc}: 未知的键 unknown key (check its spelling; see docs/check.md)")
        elif e["type"] == "literal_error" and loc.endswith("kind"):
            lines.append(
                f"  kind: 未知的规则类型 unknown rule kind {got_s}; known: {', '.join(RULE_KINDS)}"
            )
        elif e["type"] == "missing":
            lines.append(f"  {loc}: 缺少必填键 missing required key")
        else:
            lines.append(f"  {loc}: {e['msg']} (得到 got {got_s})")
    rid = f" rule {rule_id!r}" if rule_id else ""
    return f"规则无效 / invalid rule{rid} in {where}:\n" + "\n".join(lines)


def _validate_rule(raw: Any, where: str, index: int) -> Rule:
    if not isinstance(raw, dict):
        raise ConfigError(
            f"规则 #{index + 1} 应为键值表 / rule #{index + 1} in {where} must be a table of keys "
            f"(id, kind, severity, message_zh, message_en, limits), got {type(raw).__name__}"
        )
    rule_id = raw.get("id") if isinstance(raw.get("id"), str) else None
    kind = raw.get("kind")
    if kind is not None and kind not in LIMIT_MODELS:
        raise ConfigError(
            f"未知的规则类型 / unknown rule kind {kind!r} in rule {rule_id or '#' + str(index + 1)} of "
            f"{where}; known kinds: {', '.join(RULE_KINDS)}"
        )
    try:
        return Rule.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(_fmt_errors(exc, where, rule_id)) from None


def parse_rule_set(
    rules: list[dict[str, Any]] | dict[str, Any],
    *,
    name: str = "rules",
    source: str = "",
) -> RuleSet:
    """Validate a rule set given as a list of rule tables (or a file's top-level table).

    Parameters
    ----------
    rules : list of dict, or dict with a ``rules`` list
        As read from TOML/YAML. A top-level table may also carry ``name``,
        ``description_zh`` and ``description_en``.
    name : str
        The set's name (when the table has none).
    source : str
        Where it came from, for messages.

    Raises
    ------
    ConfigError
        Unknown rule kinds, unknown keys, wrong types, duplicate ids, an empty set.
    """
    where = source or f"rule set {name!r}"
    meta: dict[str, Any] = {}
    if isinstance(rules, dict):
        unknown = set(rules) - {"name", "description_zh", "description_en", "rules"}
        if unknown:
            raise ConfigError(
                f"规则文件有未知的键 / unknown top-level key(s) {sorted(unknown)} in {where}; "
                "expected name, description_zh, description_en and [[rules]]"
            )
        meta = {k: rules[k] for k in ("name", "description_zh", "description_en") if k in rules}
        for k, v in meta.items():
            if not isinstance(v, str):
                raise ConfigError(
                    f"{k} 应为文本 / {k} must be text in {where}, got {type(v).__name__}"
                )
        rules = rules.get("rules", [])
    if not isinstance(rules, list):
        raise ConfigError(
            f"rules 应为规则列表 / `rules` must be a list of rule tables in {where}, got {type(rules).__name__}"
        )
    parsed = [_validate_rule(r, where, i) for i, r in enumerate(rules)]
    seen: set[str] = set()
    for r in parsed:
        if r.id in seen:
            raise ConfigError(
                f"规则编号重复 / duplicate rule id {r.id!r} in {where}: give each rule its own id"
            )
        seen.add(r.id)
    enabled = [r for r in parsed if r.enabled]
    if not enabled:
        raise ConfigError(f"规则集为空 / the rule set in {where} has no enabled rules")
    return RuleSet(
        name=meta.get("name", name),
        rules=enabled,
        source=source,
        description_zh=meta.get("description_zh", ""),
        description_en=meta.get("description_en", ""),
    )


def read_rule_file(path: str | Path) -> dict[str, Any]:
    """Read a rule file (TOML, or YAML) into a table, with clear errors."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(
            "规则文件不存在 / rule file not found: give high_standard, reclamation or a TOML file",
            path=str(path),
        )
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise ConfigError(
            "规则文件须为 UTF-8 编码 / the rule file must be UTF-8 text", path=str(path)
        ) from None
    try:
        if path.suffix.lower() in (".yaml", ".yml"):
            import yaml

            data = yaml.safe_load(text) or {}
        else:
            data = tomllib.loads(text)
    except Exception as exc:
        raise ConfigError(
            f"规则文件语法错误 / syntax error in the rule file: {exc}", path=str(path)
        ) from None
    if isinstance(data, list):
        data = {"rules": data}
    if not isinstance(data, dict):
        raise ConfigError(
            "规则文件应为键值表 / the rule file must hold [[rules]] tables", path=str(path)
        )
    return data


def _shipped(name: str) -> dict[str, Any]:
    res = resources.files("gis_town").joinpath("data", "rules", f"{name}.toml")
    return tomllib.loads(res.read_text(encoding="utf-8"))


def _merge(
    base: list[dict[str, Any]], overrides: list[dict[str, Any]], where: str
) -> list[dict[str, Any]]:
    """Merge town overrides into a shipped rule list, rule by rule (by id)."""
    out = [copy.deepcopy(r) for r in base]
    by_id = {r.get("id"): r for r in out}
    for i, ov in enumerate(overrides):
        if not isinstance(ov, dict) or not isinstance(ov.get("id"), str):
            raise ConfigError(
                f"覆盖规则 #{i + 1} 须有 id / override #{i + 1} in {where} must be a table with an `id`"
            )
        unknown = set(ov) - set(_RULE_KEYS)
        if unknown:
            raise ConfigError(
                f"未知的键 / unknown key(s) {sorted(unknown)} in rule {ov['id']!r} of {where}; "
                f"expected {', '.join(_RULE_KEYS)}"
            )
        target = by_id.get(ov["id"])
        if target is None:
            new = copy.deepcopy(ov)
            out.append(new)
            by_id[ov["id"]] = new
            continue
        for k, v in ov.items():
            if k == "limits" and isinstance(v, dict) and isinstance(target.get("limits"), dict):
                target["limits"] = {**target["limits"], **v}
            else:
                target[k] = copy.deepcopy(v)
    return out


def load_rule_set(spec: str | Path | RuleSet, config: TownConfig | None = None) -> RuleSet:
    """Load a rule set by name (shipped or from the config) or from a file.

    Parameters
    ----------
    spec : str, Path or RuleSet
        ``"high_standard"``, ``"reclamation"``, the name of a set defined in
        the town config, or a TOML/YAML file.
    config : TownConfig, optional
        The town config: its ``[check.rule_sets.NAME]`` entries are merged
        into the shipped set of that name, rule by rule (or define a new set).

    Raises
    ------
    ConfigError
        Unknown name, unreadable file, or an invalid rule.
    """
    if isinstance(spec, RuleSet):
        return spec
    overrides = (config.check.rule_sets if config is not None else {}) or {}
    name = str(spec)
    if name in SHIPPED_RULE_SETS:
        data = _shipped(name)
        source = f"gis_town/data/rules/{name}.toml"
        if name in overrides:
            where = f"config [check.rule_sets.{name}]"
            data = {**data, "rules": _merge(data.get("rules", []), overrides[name], where)}
            source += " + town config"
        return parse_rule_set(data, name=name, source=source)
    if name in overrides:
        return parse_rule_set(overrides[name], name=name, source=f"config [check.rule_sets.{name}]")
    path = Path(spec)
    if path.suffix.lower() in (".toml", ".yaml", ".yml") or path.exists():
        data = read_rule_file(path)
        return parse_rule_set(
            data,
            name=data.get("name", path.stem) if isinstance(data.get("name"), str) else path.stem,
            source=str(path),
        )
    known = list(SHIPPED_RULE_SETS) + [n for n in overrides if n not in SHIPPED_RULE_SETS]
    raise ConfigError(
        f"未知的规则集 / unknown rule set {name!r}: use one of {', '.join(known)} or a rule file (.toml)"
    )
