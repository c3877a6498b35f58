"""The town's layers: one documented schema.

A town is one GeoPackage whose layers have the names below and at least their
required fields (or a set of files named in the town config). Field names are
English; :data:`FIELD_LABELS` gives each one's Chinese label for reports and
maps. Coded values (status, kind, ...) accept English codes and the Chinese
words planners type; :func:`normalize_codes` maps both to the English code.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = [
    "CODE_VALUES",
    "CROPLAND_CODES",
    "FIELD_LABELS",
    "LAYERS",
    "TLS_FIELD_MAP",
    "LayerSchema",
    "code_label",
]


@dataclass(frozen=True)
class LayerSchema:
    """One layer of the town: geometry family, id field, required and optional fields."""

    name: str
    label: str  #: Chinese name
    geometry: tuple[str, ...]  #: accepted geometry types (multi-part variants included)
    id_field: str
    required: tuple[str, ...]
    optional: tuple[str, ...] = ()
    #: field -> kind of values: "str", "int", "float", "bool", "date", "datetime", or a code list name
    types: dict[str, str] = field(default_factory=dict)
    #: True when an analysis cannot run without the layer
    core: bool = False


POLY = ("Polygon", "MultiPolygon")
LINE = ("LineString", "MultiLineString")
POINT = ("Point", "MultiPoint")

#: Coded fields: code -> accepted spellings (the Chinese label comes first).
CODE_VALUES: dict[str, dict[str, tuple[str, ...]]] = {
    "status": {
        "cultivated": ("耕种", "在耕", "种植", "cultivated"),
        "abandoned": ("撂荒", "弃耕", "abandoned"),
        "fallow": ("休耕", "轮作休耕", "fallow"),
    },
    "chief_level": {
        "county": ("县级", "区级", "县", "区", "county", "district"),
        "town": ("乡镇级", "镇级", "乡级", "镇", "乡", "town", "township"),
        "village": ("村级", "村", "village"),
        "grid": ("网格", "网格员", "巡河员", "grid"),
    },
    "afforestation_kind": {
        "four_sides": ("四旁植树", "四旁", "four_sides"),
        "hillside": ("面山绿化", "面山", "hillside"),
        "economic": ("经济林", "economic"),
    },
    "zone_kind": {
        "valley": ("一川", "川区", "valley"),
        "corridor": ("两线", "沿线", "corridor"),
        "basin": ("三流域", "流域", "basin"),
    },
    "destination": {
        "city": ("进城", "进城安置", "城区", "city"),
        "town": ("乡镇", "乡镇安置", "集镇", "town"),
    },
    # river problems (河湖"清四乱"): the four 乱 and the two other kinds patrols report
    "problem_kind": {
        "occupation": ("乱占", "乱占河道", "侵占河道", "占用河道", "occupation"),
        "mining": ("乱采", "乱采砂", "非法采砂", "采砂", "mining"),
        "dumping": ("乱堆", "乱堆放", "乱堆乱放", "堆放", "dumping"),
        "construction": ("乱建", "违建", "违法建设", "违章建筑", "construction"),
        "garbage": ("垃圾", "河道垃圾", "生活垃圾", "漂浮物", "garbage"),
        "sewage": ("排污", "污水", "排污口", "违法排污", "sewage"),
        "other": ("其他", "其它", "other"),
    },
}


def code_label(code_list: str, code: str) -> str:
    """Return the Chinese label of a code, e.g. ``code_label("status", "abandoned") == "撂荒"``."""
    return CODE_VALUES[code_list].get(code, (code,))[0]


LAYERS: dict[str, LayerSchema] = {
    s.name: s
    for s in [
        LayerSchema(
            "villages", "行政村", POLY, "village_id", ("village_id", "name"),
            ("population", "households", "monitored_households", "leader", "collective_income_wan"),
            {"population": "int", "households": "int", "monitored_households": "int",
             "collective_income_wan": "float"},
            core=True,
        ),
        LayerSchema(
            "settlements", "居民点", POINT, "settlement_id", ("settlement_id",), ("village_id", "name"),
        ),
        LayerSchema(
            "farmland", "耕地地块", POLY, "parcel_id", ("parcel_id", "village_id", "status"),
            ("land_use", "crop", "declared_area_mu", "project", "last_cultivated_year", "film_mulch",
             "group", "contractor", "ridge_coef"),
            {"status": "status", "declared_area_mu": "float", "last_cultivated_year": "int",
             "film_mulch": "bool", "ridge_coef": "float"},
            core=True,
        ),
        LayerSchema(
            "rivers", "河段", LINE, "segment_id", ("segment_id", "river_name", "chief", "chief_level"),
            ("chief_id", "village_id", "basin", "annual_patrol_target"),
            {"chief_level": "chief_level", "annual_patrol_target": "int"},
        ),
        LayerSchema(
            "patrols", "巡河轨迹", POINT + LINE, "point_id", ("chief",),
            ("chief_id", "time", "start_time", "end_time", "trip_id"),
            {"time": "datetime", "start_time": "datetime", "end_time": "datetime"},
        ),
        LayerSchema(
            "afforestation", "造林地块", POLY + POINT, "plot_id", ("plot_id", "village_id", "kind"),
            ("trees", "year", "planted_date", "declared_area_mu"),
            {"kind": "afforestation_kind", "trees": "int", "year": "int", "planted_date": "date",
             "declared_area_mu": "float"},
        ),
        LayerSchema(
            "afforestation_points", "四旁植树点", POINT + POLY, "plot_id", ("plot_id", "village_id", "kind"),
            ("trees", "year", "planted_date", "declared_area_mu"),
            {"kind": "afforestation_kind", "trees": "int", "year": "int", "planted_date": "date",
             "declared_area_mu": "float"},
        ),
        LayerSchema(
            "resettlement", "搬迁户", POINT, "household_id", ("household_id", "village_id", "destination"),
            ("head", "cohort", "agreement_signed", "entered", "filed", "housing_confirmed",
             "contract_signed", "moved_in", "demolished", "self_inspected", "reclaimed", "funds_paid"),
            {"destination": "destination", "cohort": "int", "agreement_signed": "date",
             "entered": "date", "filed": "date", "housing_confirmed": "date",
             "contract_signed": "date", "moved_in": "date", "demolished": "date",
             "self_inspected": "date", "reclaimed": "date", "funds_paid": "date"},
        ),
        LayerSchema(
            "reclamation", "拆旧复垦地块", POLY, "plot_id", ("plot_id", "household_id"),
            ("declared_area_mu", "reclaimed_date", "ridge_coef"),
            {"declared_area_mu": "float", "reclaimed_date": "date", "ridge_coef": "float"},
        ),
        LayerSchema(
            "zones", "规划分区", POLY, "zone_id", ("zone_id", "kind", "name"), ("planned_demo_mu",),
            {"kind": "zone_kind", "planned_demo_mu": "float"},
        ),
        LayerSchema(
            "roads", "道路", LINE, "road_id", ("road_id",), ("name", "road_class", "hardened", "hardened_year"),
            {"hardened": "bool", "hardened_year": "int"},
        ),
        LayerSchema(
            "problems", "河湖问题(清四乱)", POINT, "problem_id", ("problem_id", "kind", "reported_date"),
            ("segment_id", "reported_by", "rectified_date", "photo", "note"),
            {"kind": "problem_kind", "reported_date": "date", "rectified_date": "date"},
        ),
        LayerSchema("redline", "生态保护红线", POLY, "zone_id", ("zone_id",), ("name",)),
        LayerSchema("basic_farmland", "永久基本农田", POLY, "zone_id", ("zone_id",), ("name",)),
        LayerSchema("dev_boundary", "城镇开发边界", POLY, "zone_id", ("zone_id",), ("name",)),
    ]
}

#: Chinese labels of every field, for report headers, map tooltips and popups.
FIELD_LABELS: dict[str, str] = {
    "village_id": "村代码", "name": "名称", "village_name": "村名", "population": "人口",
    "households": "户数", "monitored_households": "三类户户数", "leader": "包村领导",
    "collective_income_wan": "村集体经济收入(万元)", "settlement_id": "居民点编号",
    "parcel_id": "地块编码", "status": "耕种状态", "land_use": "地类", "crop": "作物",
    "declared_area_mu": "申报面积(亩)", "project": "项目", "last_cultivated_year": "最后耕种年份",
    "film_mulch": "全膜双垄沟播", "group": "村民小组(社)", "contractor": "承包户",
    "ridge_coef": "田坎系数", "segment_id": "河段编码", "river_name": "河流名称", "chief": "河长",
    "chief_id": "河长编号", "chief_level": "河长级别", "basin": "流域",
    "annual_patrol_target": "年度巡河任务(次)", "time": "时间", "start_time": "开始时间",
    "end_time": "结束时间", "trip_id": "巡河编号", "plot_id": "地块编号", "kind": "类型",
    "trees": "株数", "year": "年度", "planted_date": "栽植日期", "household_id": "户编号",
    "head": "户主", "destination": "安置方式", "cohort": "搬迁年度",
    "agreement_signed": "协议签订", "entered": "系统录入", "filed": "档案建立",
    "housing_confirmed": "房源确定", "contract_signed": "购房合同签订", "moved_in": "入住",
    "demolished": "拆旧", "self_inspected": "自验", "reclaimed": "复垦", "funds_paid": "资金拨付",
    "reclaimed_date": "复垦日期", "zone_id": "分区编码", "planned_demo_mu": "计划示范面积(亩)",
    "road_id": "道路编码", "road_class": "道路等级", "hardened": "已硬化",
    "hardened_year": "硬化年度", "parcels": "地块数", "area_m2": "面积(平方米)",
    "area_mu": "面积(亩)", "area_ha": "面积(公顷)", "net_area_mu": "净面积(亩)",
    "net_area_ha": "净面积(公顷)", "declared_area_m2": "调查面积TBMJ(平方米)", "diff_m2": "面积差(平方米)",
    # plan progress (gis_town.analysis.progress)
    "topic": "工作", "item": "项目", "unit": "单位", "done": "完成", "target": "目标",
    "share_pct": "完成率(%)", "due_date": "截止日期", "status_label": "进度",
    "note": "备注", "kind_label": "类型名称", "plots": "地块数",
    "measured_area_mu": "实测面积(亩)", "target_level": "目标层级", "issues": "问题地块数",
    "diff_mu": "面积差(亩)", "diff_pct": "面积差(%)", "counted": "已计入", "issue": "问题",
    "layer": "图层", "scope": "统计范围", "destination_label": "安置方式名称", "stage": "阶段",
    "stage_label": "阶段名称", "flagged": "日期顺序异常户数", "required_pct": "应完成(%)",
    "next_date": "下一节点", "next_required_pct": "下一节点应完成(%)", "overdue": "逾期阶段",
    "pending": "滞后待办阶段", "order_issue": "日期顺序问题", "behind": "滞后",
    "cohort_note": "年度备注", "reclaimed_plots": "已复垦地块数", "reclaimed_mu": "已复垦面积(亩)",
    "declared_mu": "申报面积(亩)", "measured_mu": "实测面积(亩)",
    "villages": "村", "target_mu": "计划面积(亩)", "cultivated_mu": "耕种(亩)",
    "abandoned_mu": "撂荒(亩)", "fallow_mu": "休耕(亩)", "film_mu": "全膜双垄沟播(亩)",
    "roads": "道路条数", "hardened_km": "硬化里程(公里)", "target_km": "目标(公里)",
    "threshold_wan": "标准(万元)", "reached": "达标", "target_pct": "目标(%)",
    # acceptance check (gis_town.analysis.check)
    "row": "行号", "rule": "检查规则", "severity": "级别", "value": "实测值", "limit": "限值",
    "message": "说明", "reason": "未检查原因", "passed": "通过", "result": "检查结论",
    "n_failed": "不通过项数", "n_not_checked": "未检查项数", "n_warnings": "提醒项数",
    "rules_failed": "不通过规则", "rules_not_checked": "未检查规则", "warnings": "提醒规则",
    "messages": "问题说明", "check_result": "检查结论", "geometry_repaired": "几何已修复",
    "geos_reason": "几何无效原因",
    # abandonment risk (gis_town.analysis.risk)
    "slope_mean_deg": "平均坡度(°)", "slope_gt15_share": "坡度>15°占比", "slope_gt25_share": "坡度>25°占比",
    "elevation_m": "海拔(m)", "road_distance_m": "距道路(m)", "settlement_distance_m": "距居民点(m)",
    "shape_index": "形状指数", "years_idle": "未耕年数(年)", "ndvi_mean": "植被指数NDVI",
    "ndvi_change": "NDVI变化", "monitored_share": "村三类户占比", "perimeter_m": "周长(m)",
    "score": "风险分(0-100)", "risk_class": "风险等级", "risk_class_zh": "风险等级",
    "top_factor": "主要因素", "top_factor_zh": "主要因素", "missing_factors": "缺少的因素",
    "score_note": "评分说明", "dem_flag": "DEM覆盖", "dem_note": "DEM说明", "ndvi_flag": "NDVI覆盖",
    "ndvi_note": "NDVI说明", "rank": "序号", "lon": "经度", "lat": "纬度",
    "high_parcels": "高风险地块数", "high_mu": "高风险面积(亩)", "medium_parcels": "中风险地块数",
    "medium_mu": "中风险面积(亩)", "score_mean": "平均风险分", "abandoned_parcels": "已撂荒地块数",
    # river patrol (gis_town.analysis.patrol)
    "length_m": "长度(米)", "length_km": "长度(公里)", "period": "时段", "period_start": "时段起",
    "period_end": "时段止", "patrols": "巡河次数", "own_patrols": "本人巡河次数", "patrols_ytd": "年初至今巡河次数",
    "progress": "完成进度", "due_share": "应完成比例", "due_patrols": "应完成次数", "on_track": "进度正常",
    "covered_m": "已巡长度(米)", "covered_fraction": "覆盖率", "uncovered_m": "未巡长度(米)",
    "blind_spots": "盲区段数", "patrols_q1": "一季度巡河", "patrols_q2": "二季度巡河", "patrols_q3": "三季度巡河",
    "patrols_q4": "四季度巡河", "date": "日期", "duration_min": "时长(分钟)", "n_points": "轨迹点数",
    "path_length_m": "轨迹长度(米)", "speed_kmh": "最高持续速度(公里/时)", "fast_share": "超速时间比例",
    "near_points": "河道附近点数", "nearest_river_m": "距河道最近(米)", "too_fast": "速度过快", "too_short": "过短",
    "too_far": "远离河道", "out_of_order": "时间错乱", "no_end_time": "缺结束时间", "valid": "有效",
    "reason_text": "无效原因", "from_m": "起点里程(米)", "to_m": "终点里程(米)", "segments": "河段数",
    "trips": "巡河趟数", "valid_trips": "有效趟数", "invalid_trips": "无效趟数", "invalid_share": "无效比例",
    "invalid_reasons": "无效原因统计", "segments_behind": "滞后河段数", "chiefs": "河长人数", "list": "榜单代码",
    "list_label": "红黑榜",
    # river problems (清四乱, gis_town.analysis.patrol.problems)
    "problem_id": "问题编号", "reported_date": "上报日期", "reported_by": "上报河长",
    "rectified_date": "整改日期", "photo": "照片",
}

#: GB/T 21010-2017 class 01 耕地 (cropland): land class name -> code.
CROPLAND_CODES: dict[str, str] = {"水田": "0101", "水浇地": "0102", "旱地": "0103"}

#: Ready field mapping for third-land-survey (三调) parcel layers (DLTB) -> farmland schema.
#: TBMJ (图斑面积, m²) is converted to ``declared_area_mu`` by the loader.
TLS_FIELD_MAP: dict[str, str] = {
    "BSM": "parcel_id",       # 标识码
    "DLBM": "land_class_code",  # 地类编码 (0101 水田, 0102 水浇地, 0103 旱地)
    "DLMC": "land_use",       # 地类名称
    "TBMJ": "declared_area_m2",  # 图斑面积 (m²)
    "KCXS": "ridge_coef",     # 扣除地类系数 (田坎系数)
    "KCMJ": "ridge_area_m2",  # 扣除地类面积
    "TBDLMJ": "net_area_m2_declared",  # 图斑地类面积 (扣除田坎后)
    "ZLDWDM": "village_id",   # 坐落单位代码
    "ZLDWMC": "village_name",  # 坐落单位名称
}
