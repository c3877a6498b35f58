"""Odd geometries, one per run: repaired or rejected with a reason, the run goes on.

The same cases make the geometry table of docs/bad_inputs.md
(:mod:`tests.bad_inputs.make_report`). The whole-suite fuzzing of every
command, in subprocesses, is in :mod:`tests.fuzz`.
"""

from __future__ import annotations

import pandas as pd
import pytest

from tests.bad_inputs.factory import read_rejects
from tests.bad_inputs.geometry_cases import GEOMETRY_CASES, make_geometry_town
from tests.bad_inputs.test_bad_inputs import run_cmd


@pytest.mark.parametrize("case", list(GEOMETRY_CASES))
def test_odd_geometry_repaired_or_rejected(case, tmp_path, capsys):
    spec = GEOMETRY_CASES[case]
    town, fid = make_geometry_town(tmp_path / "town", spec)
    cmd = "areas" if spec.layer == "farmland" else "patrol"
    out = tmp_path / "out"
    rc, stdout, err = run_cmd(cmd, town, out, capsys)
    assert rc == 0, err
    rej = read_rejects(out)
    rows = rej[(rej["layer"] == spec.layer) & (rej["feature_id"] == fid)]
    if not spec.action:
        assert len(rows) == 0, rows
        return
    assert len(rows) == 1, rej  # one row per feature, every reason in it
    assert rows["action"].iloc[0] == spec.action and rows["field"].iloc[0] == "geometry"
    assert spec.needle.lower() in rows["reason"].iloc[0].lower()


@pytest.mark.parametrize("case", [c for c, s in GEOMETRY_CASES.items() if s.layer == "farmland"])
def test_odd_geometry_as_check_plot(case, tmp_path, capsys):
    """The check reads its plots raw (invalid ones reach the validity rule), cleaned all the same."""
    from gis_town.cli import main

    town, fid = make_geometry_town(tmp_path / "town", GEOMETRY_CASES[case])
    out = tmp_path / "out"
    rc = main(["check", f"{town}:farmland", "--town", str(town), "--id-field", "parcel_id",
               "--rules", "high_standard", "--out", str(out)])
    err = capsys.readouterr().err
    assert rc in (0, 1) and "Traceback" not in err, err
    res = pd.read_csv(out / "check_results.csv", encoding="utf-8-sig", dtype=str)
    assert fid in set(res["plot_id"])
