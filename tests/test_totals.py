"""gis_town.reports.totals: rows that add up to their 合计 at the digits shown."""

from __future__ import annotations

import pandas as pd
import pytest

from gis_town.reports.totals import balance_to_totals, is_total_row


def test_thirds_add_up_to_the_shown_total():
    t = pd.DataFrame({"village_id": ["V1", "V2", "V3", "合计"], "area_mu": [1 / 3, 1 / 3, 1 / 3, 1.0]})
    out = balance_to_totals(t)
    assert out["area_mu"].tolist()[:3] == pytest.approx(sorted([0.34, 0.33, 0.33], reverse=True))
    assert round(out["area_mu"].iloc[:3].sum(), 2) == out["area_mu"].iloc[3] == 1.0


def test_one_total_per_key_and_unions_only_rounded():
    t = pd.DataFrame({
        "kind": ["a", "a", "a", "b", "b", "b"],
        "zone_id": ["Z1", "Z2", "合计", "Z3", "Z4", "合计"],
        "area_mu": [0.005, 0.005, 0.01, 1.004, 1.004, 1.5],  # b: a union of overlapping zones
        "target_mu": [1.0, 2.0, 3.0, 1.0, 1.0, 2.0],
    })
    out = balance_to_totals(t, keys=("kind",))
    a = out[out["kind"] == "a"]["area_mu"].tolist()
    assert a[0] + a[1] == pytest.approx(a[2]) and a[2] == 0.01  # 0.01 + 0.00 (round gives 0.01 + 0.01)
    assert out[out["kind"] == "b"]["area_mu"].tolist() == [1.0, 1.0, 1.5]
    assert out["target_mu"].tolist() == t["target_mu"].tolist()  # targets are not parts of a sum


def test_total_rows_found_in_the_first_columns():
    t = pd.DataFrame({"cohort": [2022, 2022], "village_id": ["V1", "合计 total"], "note": ["", "合计 x"]})
    assert is_total_row(t).tolist() == [False, True]
