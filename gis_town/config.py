"""The town config: one validated file with the town's numbers.

A town config is a TOML (``town.toml``) or YAML (``town.yaml``) file. It holds
the town's name and CRS, where its layers and rasters are, field mappings, the
targets of the year's plan, and the thresholds and weights of every analysis.
Every command takes ``--config FILE``; without it, ``town.toml`` /
``town.yaml`` beside the town file is used, and failing that the defaults
below (the plan's numbers where the plan gives them).

Unknown keys and wrong types are errors (:class:`~gis_town.errors.ConfigError`)
naming the key, what was expected and what came. Relative paths are relative
to the config file's folder.

See ``docs/config.md`` for every key.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import sys
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from gis_town import settings
from gis_town.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = ["TownConfig", "config_for", "find_config", "load_config", "with_town_name"]

log = logging.getLogger(__name__)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


def _month_day(value: str, year: int) -> dt.date:
    """Resolve "MM-DD" (or a full ISO date) against ``year``."""
    value = str(value)
    if len(value) == 5:
        return dt.date.fromisoformat(f"{year}-{value}")
    return dt.date.fromisoformat(value)


class TownSection(_Model):
    """``[town]``: name, CRS of outputs, plan year, data date."""

    #: The town's name on titles and reports; when not set, the town file's name
    #: (:func:`config_for` fills it in), never a made-up one.
    name: str = ""
    name_en: str = ""
    crs: str = settings.CGCS2000
    year: int = 2023
    data_date: dt.date | None = None

    @field_validator("crs")
    @classmethod
    def _crs_ok(cls, v: str) -> str:
        from pyproj import CRS

        try:
            CRS.from_user_input(v)
        except Exception as exc:
            raise ValueError(f"not a CRS pyproj knows: {v!r} (e.g. EPSG:4490)") from exc
        return v


class LayerSource(_Model):
    """``[layers.NAME]``: where one layer comes from and how to read it."""

    path: str | None = None
    layer: str | None = None
    encoding: str | None = None
    crs: str | None = None
    #: source column -> schema field (e.g. ``"地块编码" = "parcel_id"``)
    fields: dict[str, str] = Field(default_factory=dict)
    #: schema field -> value used when the source has no such column
    defaults: dict[str, Any] = Field(default_factory=dict)
    #: a ready mapping shipped with the package ("tls": third land survey DLTB)
    mapping: Literal["tls"] | None = None
    #: attribute filter (SQL WHERE) of the features that belong to the layer, e.g. "DLBM LIKE '01%'"
    where: str | None = None
    #: an Excel ledger's sheet (name, or 0-based number; default the first)
    sheet: str | int | None = None
    #: a ledger without coordinates: take each row's point from this town layer ...
    join_layer: str | None = None
    #: ... by this field, shared by both (e.g. village_id: households at their village's settlement)
    join_on: str | None = None

    @model_validator(mode="after")
    def _join_pair(self) -> LayerSource:
        if (self.join_layer is None) != (self.join_on is None):
            raise ValueError("join_layer and join_on go together (e.g. join_layer = \"settlements\", join_on = \"village_id\")")
        return self


class NdviBands(_Model):
    """An NDVI given as two band files of one scene (``[rasters.ndvi.YEAR]``).

    Reflectance = value * ``scale`` + ``offset`` (Sentinel-2 L2A: scale 0.0001,
    offset -0.1 since baseline 04.00; Landsat C2 L2: 0.0000275, -0.2).
    """

    red: str  #: Sentinel-2 B04, Landsat 8/9 B4
    nir: str  #: Sentinel-2 B08, Landsat 8/9 B5
    scale: float = Field(1.0, gt=0)
    offset: float = 0.0
    #: the bands' nodata value (default: the files' own)
    nodata: float | None = None


class RastersSection(_Model):
    """``[rasters]``: the DEM and NDVI rasters (paths relative to the config).

    ``dem`` is one raster or a list of tiles (mosaicked virtually); each
    year's ``ndvi`` is a ready NDVI raster or its red and NIR bands
    (:class:`NdviBands`, computed once).
    """

    dem: str | list[str] | None = None
    #: year -> NDVI raster, or its bands
    ndvi: dict[int, str | NdviBands] = Field(default_factory=dict)
    #: dated NDVI scenes, date (YYYY-MM-DD) -> NDVI raster (the first crop of reclaimed plots)
    ndvi_scenes: dict[dt.date, str] = Field(default_factory=dict)

    @field_validator("ndvi_scenes", mode="before")
    @classmethod
    def _scene_dates(cls, v: Any) -> Any:
        if not isinstance(v, dict):
            return v
        out = {}
        for key, path in v.items():
            if isinstance(key, dt.date) and not isinstance(key, dt.datetime):
                out[key] = path
                continue
            try:
                out[dt.date.fromisoformat(str(key).strip())] = path
            except ValueError:
                raise ValueError(
                    f"scene date {key!r} is not a date YYYY-MM-DD (e.g. \"2023-06-28\" = \"ndvi_2023-06-28.tif\")"
                ) from None
        return out


class PatrolSection(_Model):
    """``[patrol]``: river-chief patrol rules (河长制巡河)."""

    tolerance_m: float = Field(50.0, gt=0)
    min_cover_share: float = Field(0.6, gt=0, le=1)
    max_speed_kmh: float = Field(15.0, gt=0)
    trip_gap_min: float = Field(30.0, gt=0)
    min_trip_minutes: float = Field(10.0, ge=0)
    min_trip_length_m: float = Field(300.0, ge=0)
    #: annual patrols per chief level (county / town / village / grid)
    targets: dict[str, int] = Field(
        default_factory=lambda: {"county": 4, "town": 12, "village": 24, "grid": 52}
    )
    #: cumulative share of the year's target due by each date ("MM-DD", share): the plan's
    milestones: list[tuple[str, float]] = Field(
        default_factory=lambda: [("06-30", 0.7), ("09-30", 1.0)]
    )
    #: minutes over which the speed must stay above max_speed_kmh to count as sustained
    speed_window_min: float = Field(5.0, gt=0)
    #: a trip is too fast when more than this share of its moving time is at a sustained speed above the limit
    max_fast_share: float = Field(0.5, ge=0, le=1)
    #: GPS noise (m): trip length is measured on the track simplified by this; shorter blind spots are dropped
    gps_noise_m: float = Field(10.0, ge=0)
    #: chiefs / villages on the red list and on the black list (红黑榜)
    list_size: int = Field(3, ge=0)
    #: regular expression: the chief's name from a track file's name (first group) when the
    #: file does not say (default: the text before the first "_", 张三_20230601.kml)
    chief_from_filename: str = settings.TRACK_CHIEF_PATTERN
    #: a river problem (清四乱) open longer than this many days is overdue
    problem_overdue_days: int = Field(30, gt=0)
    #: a problem's location within this distance (m) of a segment is on it (else: the nearest, flagged)
    problem_snap_m: float = Field(200.0, gt=0)
    #: weight of the problem rectification rate in the red/black list rank (0: not used)
    problem_rate_weight: float = Field(0.3, ge=0, le=1)

    @field_validator("chief_from_filename")
    @classmethod
    def _chief_pattern(cls, v: str) -> str:
        try:
            groups = re.compile(v).groups
        except re.error as exc:
            raise ValueError(f"not a regular expression: {v!r} ({exc})") from None
        if groups < 1:
            raise ValueError(f"the pattern {v!r} needs a group (...) around the chief's name")
        return v

    @field_validator("milestones")
    @classmethod
    def _milestones(cls, v: list[tuple[str, float]]) -> list[tuple[str, float]]:
        last_day, last_share = "", 0.0
        for day, share in v:
            if not (len(str(day)) == 5 and str(day)[2] == "-"):
                raise ValueError(f"milestone date {day!r} must be \"MM-DD\" (e.g. \"06-30\")")
            dt.date.fromisoformat(f"2024-{day}")  # a leap year: "02-29" is a date
            if not 0 <= share <= 1:
                raise ValueError(f"milestone share {share} must be between 0 and 1")
            if day <= last_day or share < last_share:
                raise ValueError("milestones must be in date order with non-decreasing shares")
            last_day, last_share = day, share
        return v

    @field_validator("targets")
    @classmethod
    def _levels(cls, v: dict[str, int]) -> dict[str, int]:
        unknown = set(v) - {"county", "town", "village", "grid"}
        if unknown:
            raise ValueError(f"unknown chief levels {sorted(unknown)}; expected county, town, village, grid")
        return v


#: Risk factors the abandonment score knows (see gis_town.analysis.risk).
RISK_FACTORS: tuple[str, ...] = (
    "slope_mean_deg",
    "slope_gt15_share",
    "slope_gt25_share",
    "elevation_m",
    "road_distance_m",
    "settlement_distance_m",
    "area_mu",
    "shape_index",
    "years_idle",
    "ndvi_mean",
    "ndvi_change",
    "monitored_share",
)


class RiskSection(_Model):
    """``[risk]``: weights and class thresholds of the abandonment-risk score (撂荒风险)."""

    weights: dict[str, float] = Field(
        default_factory=lambda: {
            "slope_mean_deg": 0.20,
            "slope_gt25_share": 0.10,
            "road_distance_m": 0.15,
            "settlement_distance_m": 0.10,
            "area_mu": 0.10,
            "shape_index": 0.05,
            "years_idle": 0.15,
            "ndvi_mean": 0.05,
            "monitored_share": 0.10,
        }
    )
    #: score thresholds (0-100): >= medium is medium, >= high is high
    medium: float = Field(40.0, ge=0, le=100)
    high: float = Field(60.0, ge=0, le=100)
    visit_list_size: int = Field(20, gt=0)
    #: accepted visits (visits.csv of ``gis-town visits``, relative to the config) read by risk and progress
    visits: str | None = None
    #: a parcel visited within this many days is left off the visit list (unless its promise is overdue)
    revisit_after_days: int = Field(90, ge=0)

    @field_validator("weights")
    @classmethod
    def _known(cls, v: dict[str, float]) -> dict[str, float]:
        unknown = set(v) - set(RISK_FACTORS)
        if unknown:
            raise ValueError(f"unknown risk factors {sorted(unknown)}; known: {', '.join(RISK_FACTORS)}")
        if any(w < 0 for w in v.values()):
            raise ValueError("weights must be >= 0")
        if not sum(v.values()) > 0:
            raise ValueError("at least one weight must be > 0")
        return v

    @model_validator(mode="after")
    def _order(self) -> RiskSection:
        if self.medium > self.high:
            raise ValueError(f"medium ({self.medium}) must not exceed high ({self.high})")
        return self


class ResettlementMilestone(_Model):
    """One dated milestone: by ``date`` (MM-DD), ``share`` of households have reached ``stage``."""

    date: str
    stage: str
    share: float = Field(ge=0, le=1)
    #: the cohort (搬迁年度) it applies to; None: every cohort without milestones of its own
    cohort: int | None = None


class ProgrammeStage(_Model):
    """One stage of a programme: the date column that records it and its Chinese label."""

    field: str
    label: str


class ProgrammeTarget(_Model):
    """A dated target of a programme: by ``date`` (MM-DD of the plan year, or ISO), ``stage``
    reached by ``share`` of the items (0-1), or by ``count`` items town-wide (the plan's XX户/座)."""

    date: str
    stage: str
    share: float | None = Field(None, ge=0, le=1)
    count: int | None = Field(None, ge=0)

    @model_validator(mode="after")
    def _one_of(self) -> ProgrammeTarget:
        if (self.share is None) == (self.count is None):
            raise ValueError(f"target of stage {self.stage!r}: give share (0-1) or count, not both or neither")
        return self


class Programme(_Model):
    """``[programmes.KEY]``: a household or site programme tracked through its stages (docs/progress.md).

    Each item (household, site) is a feature of ``path``/``layer`` (default: the town's file),
    with one date column per stage; a stage counts when its date is on or before the as-of
    date and the stage before it was reached on or before that date.
    """

    #: shown name, Chinese with English (``"卫生改厕 toilet renovation"``)
    name: str
    path: str | None = None
    layer: str | None = None
    #: source column -> programme field (``"户编号" = "household_id"``)
    fields: dict[str, str] = Field(default_factory=dict)
    id_field: str = "item_id"
    village_field: str = "village_id"
    #: the unit of an item: 户 households, 座 greenhouses, 家 cooperatives ...
    unit: str = "户"
    stages: list[ProgrammeStage] = Field(min_length=1)
    targets: list[ProgrammeTarget] = Field(default_factory=list)

    @model_validator(mode="after")
    def _known_stages(self) -> Programme:
        fields = [s.field for s in self.stages]
        if len(set(fields)) != len(fields):
            raise ValueError(f"stages repeat a field: {fields}")
        for t in self.targets:
            if t.stage not in fields:
                raise ValueError(f"target stage {t.stage!r} is not a stage; stages: {', '.join(fields)}")
        return self


class MonitoringSection(_Model):
    """``[monitoring]``: the households under monitoring (三类户, 防返贫监测): where, and how often visited."""

    #: the ledger (a layer of points, or of rows joined to their village); relative to the config
    path: str | None = None
    layer: str = "monitoring"
    #: source column -> field (``"户主" = "head"``, ``"监测类型" = "category"``, ``"风险类型" = "risk_reasons"``)
    fields: dict[str, str] = Field(default_factory=dict)
    id_field: str = "household_id"
    #: a household not visited for longer is due a visit (六必访, monthly)
    visit_every_days: int = Field(30, ge=1)


class HighStandardSection(_Model):
    """``[high_standard]``: the construction sections (建设片区/标段) of the high-standard projects.

    Each section is a polygon of ``path``/``layer`` (default: the town's file) with its
    ``project`` (the names of ``targets.high_standard``), ``village_id`` and one date column
    per stage of :data:`gis_town.analysis.progress.stages.HIGH_STANDARD_STAGES`; a stage counts when its date is on or before the
    as-of date and the stage before it was reached by then, and *accepted* only when no plot of
    the section failed the acceptance check (docs/progress.md "High-standard farmland").
    """

    path: str | None = None
    layer: str = "high_standard_sections"
    #: source column -> field (``"标段编号" = "section_id"``, ``"完工日期" = "built"``)
    fields: dict[str, str] = Field(default_factory=dict)
    id_field: str = "section_id"
    #: the land classes ``gis-town upload`` (上图入库) keeps (GB/T 21010 耕地: 水田, 水浇地, 旱地)
    upload_land_uses: list[str] = Field(default_factory=lambda: ["水田", "水浇地", "旱地"], min_length=1)

    @field_validator("upload_land_uses")
    @classmethod
    def _cropland_only(cls, v: list[str]) -> list[str]:
        from gis_town.schema import CROPLAND_CODES

        bad = [x for x in v if x not in CROPLAND_CODES]
        if bad:
            raise ValueError(f"上图入库只含耕地地类 / the upload keeps cropland classes only: expected 水田, "
                             f"水浇地 or 旱地, got {bad}")
        return v


class AfforestationTargets(_Model):
    """Afforestation targets of the year (林长制): trees and mu per kind."""

    four_sides_trees: int = Field(50000, ge=0)
    hillside_mu: float = Field(1000.0, ge=0)
    economic_mu: float = Field(500.0, ge=0)


class VillageTargets(_Model):
    """Per-village targets, where the town sets them (override town-wide ones)."""

    four_sides_trees: int | None = None
    hillside_mu: float | None = None
    economic_mu: float | None = None
    road_hardened_km: float | None = None


class TargetsSection(_Model):
    """``[targets]``: the year's targets from the plan."""

    afforestation: AfforestationTargets = Field(default_factory=AfforestationTargets)
    #: area tolerance (relative) for declared vs measured afforestation areas
    afforestation_area_tolerance: float = Field(0.05, ge=0)
    #: high-standard farmland project name -> planned mu (the plan: 3000, 2000, 1700)
    high_standard: dict[str, float] = Field(default_factory=dict)
    road_hardened_km: float = Field(10.0, ge=0)
    collective_income_wan: float = Field(10.0, ge=0)
    collective_income_share: float = Field(1.0, ge=0, le=1)
    #: "MM-DD" by which the year's annual targets (afforestation, high-standard farmland,
    #: roads, collective income) are due; before it they are "in progress", after it "behind"
    annual_due: str = "12-31"
    resettlement_households: int | None = None
    resettlement_milestones: list[ResettlementMilestone] = Field(
        default_factory=lambda: [
            ResettlementMilestone(date="03-31", stage="agreement_signed", share=1.0),
            ResettlementMilestone(date="03-31", stage="entered", share=1.0),
            ResettlementMilestone(date="03-31", stage="filed", share=1.0),
            ResettlementMilestone(date="03-31", stage="housing_confirmed", share=0.8),
            ResettlementMilestone(date="03-31", stage="contract_signed", share=0.8),
            ResettlementMilestone(date="06-30", stage="housing_confirmed", share=1.0),
            ResettlementMilestone(date="06-30", stage="contract_signed", share=1.0),
            ResettlementMilestone(date="06-30", stage="moved_in", share=0.7),
            ResettlementMilestone(date="06-30", stage="demolished", share=0.4),
            ResettlementMilestone(date="09-30", stage="moved_in", share=1.0),
            ResettlementMilestone(date="09-30", stage="demolished", share=0.8),
            ResettlementMilestone(date="09-30", stage="self_inspected", share=1.0),
            ResettlementMilestone(date="12-31", stage="demolished", share=1.0),
            ResettlementMilestone(date="12-31", stage="reclaimed", share=1.0),
            ResettlementMilestone(date="12-31", stage="funds_paid", share=1.0),
        ]
    )
    villages: dict[str, VillageTargets] = Field(default_factory=dict)


class CheckSection(_Model):
    """``[check]``: acceptance-check rule sets (验收前检查).

    ``rule_sets`` maps a set name to a list of rules; the package ships
    ``high_standard`` and ``reclamation``, and a town's entries override them.
    Each rule is validated by :mod:`gis_town.analysis.check`.
    """

    rule_sets: dict[str, list[dict[str, Any]]] = Field(default_factory=dict)


class AreasSection(_Model):
    """``[areas]``: area totals (面积统计) and the survey-area check (三调图斑面积核对)."""

    #: a parcel's recomputed ellipsoidal area may differ from its surveyed TBMJ by this share (%) ...
    survey_tolerance_pct: float = Field(0.1, ge=0)
    #: ... and by at least this many m² before it is listed (rounding of small parcels)
    survey_tolerance_m2: float = Field(1.0, ge=0)


class ReclamationSection(_Model):
    """``[reclamation]`` 拆旧复垦: the first crop of reclaimed plots (种植夏粮).

    A plot reclaimed on date R is due a crop in the first ``first_crop_window``
    (MM-DD start, end; both days included) whose start is on or after R; it
    counts as cropped when its mean NDVI in a scene of that window reaches
    ``first_crop_min_ndvi`` (docs/progress.md "First crop").
    """

    #: the summer-grain window (夏粮): MM-DD start and end, in one calendar year
    first_crop_window: tuple[str, str] = ("05-15", "07-31")
    #: plot mean NDVI (coverage-weighted) from which the plot shows a crop
    first_crop_min_ndvi: float = 0.30

    @field_validator("first_crop_window")
    @classmethod
    def _window(cls, v: tuple[str, str]) -> tuple[str, str]:
        days = []
        for text in v:
            if not re.fullmatch(r"\d{2}-\d{2}", str(text)):
                raise ValueError(f"{text!r} is not MM-DD (e.g. [\"05-15\", \"07-31\"])")
            try:  # a common year: 02-29 would not exist in most years
                days.append(dt.date.fromisoformat(f"2001-{text}"))
            except ValueError:
                raise ValueError(f"{text!r} is not a day of the year (MM-DD, e.g. \"05-15\")") from None
        if days[0] >= days[1]:
            raise ValueError(f"the window's start {v[0]!r} must come before its end {v[1]!r} (one calendar year)")
        return v

    @field_validator("first_crop_min_ndvi")
    @classmethod
    def _ndvi(cls, v: float) -> float:
        if not 0 < v < 1:
            raise ValueError(f"an NDVI threshold between 0 and 1 (exclusive) is expected, e.g. 0.30; got {v}")
        return v

    def window(self, year: int) -> tuple[dt.date, dt.date]:
        """The window's first and last day in ``year``."""
        start, end = self.first_crop_window
        return dt.date.fromisoformat(f"{year}-{start}"), dt.date.fromisoformat(f"{year}-{end}")


class CompareSection(_Model):
    """``[compare]``: matching two surveys (两期调查对比): digitising slivers ignored."""

    #: an overlap smaller than this share of the smaller parcel is a sliver (digitising noise) ...
    sliver_share: float = Field(0.05, ge=0, lt=1)
    #: ... and so is any overlap smaller than this many m²
    sliver_min_m2: float = Field(10.0, ge=0)


#: Factors of the site-selection score (选址因素), each with its unit in its name.
SITING_FACTORS: tuple[str, ...] = (
    "slope_mean_deg",
    "road_distance_m",
    "water_distance_m",
    "area_mu",
    "shape_index",
)

#: The site-selection purposes (``gis-town siting --for``) and their defaults: a factor's
#: suitability is 1 at ``ideal`` and 0 at ``limit`` (linear between, either direction).
SITING_DEFAULTS: dict[str, dict[str, Any]] = {
    "greenhouse": {  # 塑料大棚/钢拱架大棚: flat, by a road and water, compact, off basic farmland
        "weights": {"slope_mean_deg": 0.30, "road_distance_m": 0.25, "water_distance_m": 0.20,
                    "area_mu": 0.15, "shape_index": 0.10},
        "ideal": {"slope_mean_deg": 0.0, "road_distance_m": 0.0, "water_distance_m": 0.0,
                  "area_mu": 20.0, "shape_index": 1.13},
        "limit": {"slope_mean_deg": 10.0, "road_distance_m": 800.0, "water_distance_m": 1500.0,
                  "area_mu": 1.0, "shape_index": 2.0},
        "max_slope_deg": 8.0, "min_area_mu": 2.0, "max_road_distance_m": 1000.0,
        "max_water_distance_m": None,
        "exclude_layers": ["basic_farmland", "redline", "reclamation"],
        "exclude_status": ["abandoned"],
    },
    "water_lift": {  # 引水上山: large, compact hillside fields near water (river, well, pipe)
        "weights": {"slope_mean_deg": 0.15, "road_distance_m": 0.10, "water_distance_m": 0.45,
                    "area_mu": 0.20, "shape_index": 0.10},
        "ideal": {"slope_mean_deg": 0.0, "road_distance_m": 0.0, "water_distance_m": 0.0,
                  "area_mu": 30.0, "shape_index": 1.13},
        "limit": {"slope_mean_deg": 25.0, "road_distance_m": 1500.0, "water_distance_m": 2000.0,
                  "area_mu": 2.0, "shape_index": 2.5},
        "max_slope_deg": 25.0, "min_area_mu": 3.0, "max_road_distance_m": None,
        "max_water_distance_m": 3000.0,
        "exclude_layers": ["redline", "reclamation"],
        "exclude_status": [],
    },
    "demo_belt": {  # 示范带: big, regular fields seen from the road
        "weights": {"slope_mean_deg": 0.20, "road_distance_m": 0.40, "water_distance_m": 0.10,
                    "area_mu": 0.20, "shape_index": 0.10},
        "ideal": {"slope_mean_deg": 0.0, "road_distance_m": 0.0, "water_distance_m": 0.0,
                  "area_mu": 30.0, "shape_index": 1.13},
        "limit": {"slope_mean_deg": 15.0, "road_distance_m": 300.0, "water_distance_m": 2000.0,
                  "area_mu": 2.0, "shape_index": 2.0},
        "max_slope_deg": 15.0, "min_area_mu": 2.0, "max_road_distance_m": 500.0,
        "max_water_distance_m": None,
        "exclude_layers": ["redline", "reclamation"],
        "exclude_status": ["abandoned"],
    },
}


class SitingPurpose(_Model):
    """One purpose of ``[siting]`` (``[siting.greenhouse]`` ...): weights, ideal/limit values, exclusions."""

    weights: dict[str, float]
    #: value where a factor's suitability is 1 ...
    ideal: dict[str, float]
    #: ... and where it falls to 0 (beyond it, 0)
    limit: dict[str, float]
    #: hard thresholds: a candidate beyond one is excluded (None: no threshold)
    max_slope_deg: float | None = None
    min_area_mu: float | None = None
    max_road_distance_m: float | None = None
    max_water_distance_m: float | None = None
    #: zone layers (basic_farmland, redline, reclamation ...): a candidate overlapping one by more
    #: than ``exclude_overlap_share`` of its area is excluded; layers the town lacks are skipped
    exclude_layers: list[str] = Field(default_factory=list)
    exclude_overlap_share: float = Field(0.1, ge=0, le=1)
    #: parcel status codes excluded (abandoned, fallow ...)
    exclude_status: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _factors(self) -> SitingPurpose:
        for key in ("weights", "ideal", "limit"):
            unknown = set(getattr(self, key)) - set(SITING_FACTORS)
            if unknown:
                raise ValueError(f"unknown siting factors in {key}: {sorted(unknown)}; known: {', '.join(SITING_FACTORS)}")
        if any(w < 0 for w in self.weights.values()) or not sum(self.weights.values()) > 0:
            raise ValueError("siting weights must be >= 0 with at least one > 0")
        for f in self.weights:
            if f not in self.ideal or f not in self.limit or self.ideal[f] == self.limit[f]:
                raise ValueError(f"siting factor {f}: give different ideal and limit values")
        return self


class SitingSection(_Model):
    """``[siting]``: site selection (选址) for greenhouses, water lifting and demonstration belts.

    A ``[siting.<purpose>]`` table overrides only the keys it gives; the rest
    are :data:`SITING_DEFAULTS`.
    """

    #: the candidate layer (farmland parcels; another polygon layer of the town works too)
    candidates: str = "farmland"
    #: water sources: river lines, wells (points), the 引水上山 pipe route (lines); missing layers skipped
    water_layers: list[str] = Field(default_factory=lambda: ["rivers", "wells", "water_pipe"])
    #: candidates listed per village in the ranked list
    top_per_village: int = Field(10, gt=0)
    greenhouse: SitingPurpose
    water_lift: SitingPurpose
    demo_belt: SitingPurpose

    @model_validator(mode="before")
    @classmethod
    def _merge_defaults(cls, data: Any) -> Any:
        data = dict(data or {})
        for name, default in SITING_DEFAULTS.items():
            given = data.get(name) or {}
            if isinstance(given, BaseModel):
                continue
            merged = {**default, **given}
            for key in ("weights", "ideal", "limit"):  # a factor table replaces factor by factor
                if key in given and key != "weights":
                    merged[key] = {**default[key], **given[key]}
            data[name] = merged
        return data

    def purpose(self, name: str) -> SitingPurpose:
        """The section of ``name`` (greenhouse, water_lift, demo_belt)."""
        if name not in SITING_DEFAULTS:
            raise ConfigError(f"未知的选址用途 / unknown siting purpose {name!r}; known: {', '.join(SITING_DEFAULTS)}")
        return getattr(self, name)


class MapSection(_Model):
    """``[map]``: web map defaults."""

    basemap: Literal["osm", "tianditu", "gaode", "none"] = "osm"
    tianditu_key: str | None = None
    simplify_m: float = Field(0.0, ge=0)
    #: 制图单位 on print maps (default: the town's name)
    producer: str | None = None


class DaskSection(_Model):
    """``[dask]``: opt-in distributed runs."""

    scheduler: str | None = None
    workers: int | None = Field(None, gt=0)
    partitions: int | None = Field(None, gt=0)


class TownConfig(_Model):
    """A validated town config. Build with :func:`load_config` or ``TownConfig()`` for defaults."""

    town: TownSection = Field(default_factory=TownSection)
    #: the town GeoPackage (relative to the config); layers not in ``layers`` come from it
    town_file: str | None = None
    layers: dict[str, LayerSource] = Field(default_factory=dict)
    rasters: RastersSection = Field(default_factory=RastersSection)
    patrol: PatrolSection = Field(default_factory=PatrolSection)
    risk: RiskSection = Field(default_factory=RiskSection)
    targets: TargetsSection = Field(default_factory=TargetsSection)
    check: CheckSection = Field(default_factory=CheckSection)
    areas: AreasSection = Field(default_factory=AreasSection)
    compare: CompareSection = Field(default_factory=CompareSection)
    #: the first crop of reclaimed plots (拆旧复垦 种植夏粮)
    reclamation: ReclamationSection = Field(default_factory=ReclamationSection)
    siting: SitingSection = Field(default_factory=SitingSection)
    map: MapSection = Field(default_factory=MapSection)
    dask: DaskSection = Field(default_factory=DaskSection)
    #: household and site programmes (抗震房, 改厕, 大棚 ...) tracked by ``progress``
    programmes: dict[str, Programme] = Field(default_factory=dict)
    monitoring: MonitoringSection = Field(default_factory=MonitoringSection)
    #: the high-standard projects' construction sections and their stages
    high_standard: HighStandardSection = Field(default_factory=HighStandardSection)
    #: folder of the config file (paths resolve against it); not a key of the file
    base_dir: Path | None = Field(default=None, exclude=True)

    @field_validator("layers")
    @classmethod
    def _known_layers(cls, v: dict[str, LayerSource]) -> dict[str, LayerSource]:
        from gis_town.schema import LAYERS

        unknown = set(v) - set(LAYERS)
        if unknown:
            raise ValueError(f"unknown layers {sorted(unknown)}; known: {', '.join(LAYERS)}")
        return v

    def resolve(self, path: str | Path | None) -> Path | None:
        """Resolve a path from the config against the config's folder."""
        if path is None:
            return None
        p = Path(path)
        if not p.is_absolute() and self.base_dir is not None:
            p = self.base_dir / p
        return p

    def dem_path(self) -> Path | None:
        """The DEM to read: ``[rasters] dem``, or a virtual mosaic of its tiles (None when not set)."""
        dem = self.rasters.dem
        if dem is None or (isinstance(dem, list) and not dem):
            return None
        if isinstance(dem, list):
            from gis_town.io.rasters import mosaic_vrt

            tiles = [self.resolve(t) for t in dem]
            return self.resolve(dem[0]) if len(tiles) == 1 else mosaic_vrt(tiles)
        return self.resolve(dem)

    def ndvi_paths(self) -> dict[int, Path]:
        """Year -> NDVI raster to read (computed from red and NIR bands where given so)."""
        out: dict[int, Path] = {}
        for year, src in sorted(self.rasters.ndvi.items()):
            if isinstance(src, NdviBands):
                from gis_town.io.rasters import ndvi_from_bands

                out[year] = ndvi_from_bands(
                    self.resolve(src.red), self.resolve(src.nir),
                    scale=src.scale, offset=src.offset, nodata=src.nodata,
                )
            else:
                out[year] = self.resolve(src)
        return out

    def ndvi_scene_paths(self) -> dict[dt.date, Path]:
        """Date -> dated NDVI scene (``[rasters] ndvi_scenes``), resolved, in date order."""
        return {day: self.resolve(src) for day, src in sorted(self.rasters.ndvi_scenes.items())}

    def milestone_date(self, month_day: str, year: int | None = None) -> dt.date:
        """Turn a milestone's "MM-DD" into a date of the plan year."""
        return _month_day(month_day, year or self.town.year)


def _format_validation(err: ValidationError, path: Path | None) -> str:
    lines = []
    for e in err.errors():
        loc = ".".join(str(x) for x in e["loc"]) or "(top)"
        got = e.get("input")
        got_s = repr(got) if not isinstance(got, dict) else "a table"
        if e["type"] == "extra_forbidden":
            lines.append(f"  {loc}: 未知的键 unknown key (check its spelling; see docs/config.md)")
        else:
            lines.append(f"  {loc}: {e['msg']} (得到 got {got_s[:80]})")
    where = f"{path}" if path else "config"
    return f"配置文件无效 / invalid town config {where}:\n" + "\n".join(lines)


def parse_config(data: dict[str, Any], *, path: Path | None = None) -> TownConfig:
    """Validate a config mapping (as read from TOML/YAML) into a :class:`TownConfig`."""
    if not isinstance(data, dict):
        raise ConfigError(f"配置文件应为键值表 / expected a table of keys at the top, got {type(data).__name__}", path=str(path) if path else None)
    try:
        cfg = TownConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_format_validation(exc, path)) from None
    if path is not None:
        cfg.base_dir = path.resolve().parent
    return cfg


def load_config(path: str | Path) -> TownConfig:
    """Read and validate a town config file (``.toml``, ``.yaml`` or ``.yml``).

    Raises
    ------
    ConfigError
        When the file is missing, unreadable, or has unknown keys or wrong types.
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError("配置文件不存在 / config file not found", path=str(path))
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise ConfigError("配置文件须为 UTF-8 编码 / the config must be UTF-8 text", path=str(path)) from None
    try:
        if path.suffix.lower() == ".toml":
            data = tomllib.loads(text)
        elif path.suffix.lower() in (".yaml", ".yml"):
            import yaml

            data = yaml.safe_load(text) or {}
        else:
            raise ConfigError(
                f"未知的配置文件类型 / unknown config type {path.suffix!r}: expected .toml, .yaml or .yml",
                path=str(path),
            )
    except (tomllib.TOMLDecodeError, ValueError) as exc:
        if isinstance(exc, ConfigError):
            raise
        raise ConfigError(f"配置文件语法错误 / syntax error: {exc}", path=str(path)) from None
    except Exception as exc:  # yaml.YAMLError
        raise ConfigError(f"配置文件语法错误 / syntax error: {exc}", path=str(path)) from None
    return parse_config(data, path=path)


def find_config(town_path: str | Path | None) -> Path | None:
    """Return ``town.toml`` / ``town.yaml`` beside ``town_path`` (file or folder), if any."""
    if town_path is None:
        return None
    p = Path(town_path)
    folder = p if p.is_dir() and p.suffix.lower() != ".gdb" else p.parent  # a .gdb is one file to the user
    for name in settings.CONFIG_FILE_NAMES:
        if (folder / name).is_file():
            return folder / name
    return None


def with_town_name(config: TownConfig, town_path: str | Path | None) -> TownConfig:
    """``config`` with ``[town] name`` set from the town's file or folder name where it is empty.

    ``三调.gdb`` gives 三调, ``layers/my_town.gpkg`` gives my_town; a config
    that names its ``town_file`` gives that file's name.
    """
    if config.town.name:
        return config
    path = town_path if town_path is not None else config.town_file
    if path is None:
        return config
    stem = Path(path).stem or Path(path).resolve().name
    return config.model_copy(update={"town": config.town.model_copy(update={"name": stem})})


def with_survey_layers(config: TownConfig, town_path: str | Path | None) -> TownConfig:
    """``config`` reading a third-land-survey File Geodatabase as the town (see :mod:`gis_town.io.survey`).

    Layers the config names itself are kept; a town that is not such a
    database is returned unchanged.
    """
    from gis_town.io.survey import is_file_gdb, survey_config

    if town_path is None or not is_file_gdb(town_path):
        return config
    import pyogrio

    try:
        names = [str(n) for n, _ in pyogrio.list_layers(town_path)]
    except Exception:  # an unreadable database: the reader names the problem
        return config
    entries = survey_config(Path(town_path).resolve(), names)  # absolute: a config elsewhere resolves nothing
    extra = {k: LayerSource(**v) for k, v in entries.items() if k not in config.layers}
    if not extra:
        return config
    return config.model_copy(update={"layers": {**config.layers, **extra}})


def config_for(town_path: str | Path | None, config_path: str | Path | None = None) -> TownConfig:
    """The config a command uses: ``config_path`` if given, else the one beside the town, else defaults.

    The town's name defaults to the town file's name (:func:`with_town_name`).
    """
    if config_path is not None:
        cfg = load_config(config_path)
    elif (found := find_config(town_path)) is not None:
        log.info("使用配置 using config %s", found)
        cfg = load_config(found)
    else:
        log.info("未找到 town.toml，使用默认配置 / no town.toml found: using defaults")
        cfg = TownConfig()
    return with_survey_layers(with_town_name(cfg, town_path), town_path)
