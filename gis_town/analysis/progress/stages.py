"""The resettlement stages (地质灾害避险搬迁的环节): the one definition, in plan order.

The analysis, the reports, the map and the demo generator all take the
stages from here (``from gis_town.analysis.progress.stages import STAGES``).
"""

from __future__ import annotations

__all__ = ["STAGES", "STAGE_LABELS", "STAGE_PREREQUISITES"]

#: Resettlement stages (fields of the resettlement layer), in plan order.
STAGES: tuple[str, ...] = (
    "agreement_signed",
    "entered",
    "filed",
    "housing_confirmed",
    "contract_signed",
    "moved_in",
    "demolished",
    "self_inspected",
    "reclaimed",
    "funds_paid",
)
#: Stage -> Chinese label.
STAGE_LABELS: dict[str, str] = {
    "agreement_signed": "协议签订",
    "entered": "系统录入",
    "filed": "档案建立",
    "housing_confirmed": "房源确定",
    "contract_signed": "购房合同签订",
    "moved_in": "入住",
    "demolished": "拆旧",
    "self_inspected": "自验",
    "reclaimed": "复垦",
    "funds_paid": "资金拨付",
}
#: A stage counts only when these stages were reached on or before its date
#: (moving in before housing is confirmed is flagged, not counted).
STAGE_PREREQUISITES: dict[str, tuple[str, ...]] = {
    "entered": ("agreement_signed",),
    "filed": ("agreement_signed",),
    "housing_confirmed": ("agreement_signed",),
    "contract_signed": ("housing_confirmed",),
    "moved_in": ("housing_confirmed",),
    "self_inspected": ("moved_in",),
    "reclaimed": ("demolished",),
    "funds_paid": ("agreement_signed",),
}
