"""The visit results back (issue 16, part 2): ``gis-town visits``, and ``risk`` / ``progress`` reading them.

A hand-made town of twelve parcels in two villages (every parcel at least
medium risk, so the visit list holds them all); its visit list is written by
``gis-town risk``, filled in here cell by cell as a village cadre would, with
good rows and bad ones whose Excel row and reason are known. Expected values
are the rows and dates written here, never what the code printed.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import geopandas as gpd
import openpyxl
import pandas as pd
import pytest
import shapely

from gis_town.analysis.visits import (
    OUTCOMES,
    last_visits,
    outcome_code,
    parse_date,
    recently_visited,
    remediation_table,
    validate_visits,
)
from gis_town.cli import main
from tests.demo_files import copy_demo

GK = "EPSG:4544"
X0, Y0 = 463_740.0, 3_941_220.0
LISTED = "2023-09-01"
AS_OF = "2023-12-31"


def _town(tmp: Path) -> Path:
    """Two villages (V1 west, V2 east of X0), twelve parcels P00..P11; a config listing them all."""
    villages = gpd.GeoDataFrame(
        {"village_id": ["V1", "V2"], "name": ["一村", "二村"], "leader": ["甲", "乙"]},
        geometry=[shapely.box(X0 - 600, Y0 - 600, X0, Y0 + 600),
                  shapely.box(X0, Y0 - 600, X0 + 600, Y0 + 600)],
        crs=GK,
    )
    geoms, pid, vid, last = [], [], [], []
    for i in range(12):
        x, y = X0 - 550 + (i % 6) * 190, Y0 - 200 + (i // 6) * 300
        geoms.append(shapely.box(x, y, x + 40 + 5 * i, y + 30))
        pid.append(f"P{i:02d}")
        vid.append("V1" if x < X0 else "V2")
        last.append(2023 - i % 4)
    farmland = gpd.GeoDataFrame(
        {"parcel_id": pid, "village_id": vid, "status": "cultivated", "last_cultivated_year": last},
        geometry=geoms, crs=GK,
    )
    gpkg = tmp / "town.gpkg"
    villages.to_crs(4490).to_file(gpkg, layer="villages")
    farmland.to_crs(4490).to_file(gpkg, layer="farmland")
    (tmp / "town.toml").write_text(
        'town_file = "town.gpkg"\n[town]\nname = "测试镇"\nyear = 2023\n'
        "[risk]\nmedium = 0\nhigh = 60\nrevisit_after_days = 90\n",
        encoding="utf-8",
    )
    return gpkg


class _Sheet:
    """A visit-list sheet opened for filling: cells by parcel id and header's Chinese name."""

    def __init__(self, ws):
        self.ws = ws
        heads = [c.value for c in ws[3]]
        self.col = {str(h).split(" ", 1)[0]: j for j, h in enumerate(heads, start=1) if h}
        self.row = {ws.cell(r, self.col["地块编码"]).value: r for r in range(4, ws.max_row + 1)
                    if ws.cell(r, self.col["地块编码"]).value}

    def fill(self, parcel: str, **cells) -> int:
        r = self.row[parcel]
        for k, v in cells.items():
            self.ws.cell(r, self.col[k]).value = v
        return r


@pytest.fixture(scope="module")
def filled(tmp_path_factory):
    """The town, its visit list made on LISTED, filled with known good and bad rows."""
    tmp = tmp_path_factory.mktemp("visits")
    town = _town(tmp)
    assert main(["risk", str(town), "--out", str(tmp / "risk"), "--as-of", LISTED, "-q"]) == 0
    wb = openpyxl.load_workbook(tmp / "risk" / "visit_list.xlsx")
    v1, v2 = _Sheet(wb["一村"]), _Sheet(wb["二村"])
    assert sorted(v1.row) == ["P00", "P01", "P02", "P06", "P07", "P08"]
    good = {
        # recultivated three weeks before AS_OF: left off the next list
        "P02": v1.fill("P02", 走访日期=dt.datetime(2023, 12, 10), 走访结果="已复耕 recultivated",
                       走访人="王书记"),
        # promised for 2023-12-20, visited 2023-12-01: overdue on AS_OF, listed again
        "P06": v1.fill("P06", 走访日期="2023/12/1", 走访结果="计划复耕 will_recultivate",
                       计划复耕日期="2023-12-20", 走访人="王书记"),
        # transferred, visited 117 days before AS_OF (> 90): listed again
        "P07": v1.fill("P07", 走访日期="2023.9.5", 走访结果="已流转", **{"经营主体(已流转)": "富民合作社"}),
        # nobody met on 2023-12-15: listed again
        "P05": v2.fill("P05", 走访日期="2023年12月15日", 走访结果="not_reached"),
        # cannot be farmed (a typed code), in V2
        "P11": v2.fill("P11", 走访日期="2023-11-02", 走访结果="cannot_farm", 无法耕种原因="水毁"),
    }
    bad = {  # (sheet, Excel row) -> (parcel id, field, words of the reason)
        ("一村", v1.fill("P00", 走访日期="2023-08-20", 走访结果="已复耕")): (
            "P00", "visit_date", "早于清单日期"),
        ("一村", v1.fill("P01", 走访日期="2032-10-03", 走访结果="已复耕")): (
            "P01", "visit_date", "in the future"),
        ("一村", v1.fill("P08", 走访日期="2023-10-01", 走访结果="种了一半")): (
            "P08", "outcome", "unknown outcome"),
        ("二村", v2.fill("P03", 走访日期="2023-10-10", 走访结果="计划复耕")): (
            "P03", "planned_date", "without a planned_date"),
        ("二村", v2.fill("P09", 地块编码="P99", 走访日期="2023-10-10", 走访结果="已复耕")): (
            "P99", "parcel_id", "unknown parcel_id P99"),
    }
    path = tmp / "一村二村_已填.xlsx"
    wb.save(path)
    return tmp, town, path, good, bad


@pytest.fixture(scope="module")
def visited(filled):
    tmp, town, path, good, bad = filled
    out = tmp / "visits"
    code = main(["visits", str(path), "--town", str(town), "--out", str(out), "--as-of", AS_OF, "-q"])
    return out, code


def _csv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, encoding="utf-8-sig", dtype=str, keep_default_na=False)


def test_accepted_rows_in_visits_csv(filled, visited):
    _, _, path, good, _ = filled
    out, code = visited
    assert code == 1  # rows were rejected: checks failed
    v = _csv(out / "visits.csv").set_index("parcel_id")
    assert sorted(v.index) == sorted(good)
    assert v.loc["P02", "visit_date"] == "2023-12-10" and v.loc["P02", "outcome"] == "recultivated"
    assert v.loc["P06", "planned_date"] == "2023-12-20" and v.loc["P06", "outcome_zh"] == "计划复耕"
    assert v.loc["P07", "visit_date"] == "2023-09-05" and v.loc["P07", "operator"] == "富民合作社"
    assert v.loc["P05", "visit_date"] == "2023-12-15" and v.loc["P05", "outcome"] == "not_reached"
    assert v.loc["P11", "cannot_farm_reason"] == "水毁"
    # village and leader from the town (the village sheets have no village columns)
    assert v.loc["P02", "village_id"] == "V1" and v.loc["P02", "leader"] == "甲"
    assert v.loc["P11", "village_id"] == "V2" and v.loc["P11", "village_name"] == "二村"
    assert (v["listed_date"] == LISTED).all() and (v["source"] == path.name).all()
    assert {p: int(v.loc[p, "row"]) for p in good} == good  # the Excel rows filled


def test_each_bad_row_in_rejects_with_row_and_reason(filled, visited):
    _, _, path, _, bad = filled
    out, _ = visited
    rej = _csv(out / "rejects.csv")
    rej = rej[rej["layer"] == "visits"]
    assert len(rej) == len(bad)
    for _, r in rej.iterrows():
        pid, field, words = bad[(r["sheet"], int(r["row"]))]
        assert r["feature_id"] == pid and r["field"] == field and words in r["reason"], r.to_dict()
        assert r["source"] == path.name and r["action"] == "rejected"
    # every reason in Chinese with the English beside it
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in x) and any(ch.isascii() and ch.isalpha()
               for ch in x) for x in rej["reason"])


def test_follow_up_table_counts(visited):
    out, _ = visited
    t = _csv(out / "visits_villages.csv").set_index("village_id")
    # V1: six listed; P02 recultivated, P06 promised and overdue, P07 transferred
    assert t.loc["V1", ["listed", "visited", "not_visited", "recultivated", "promised", "overdue",
                        "transferred"]].astype(int).tolist() == [6, 3, 3, 1, 1, 1, 1]
    # V2: six listed; P05 nobody met, P11 cannot be farmed
    assert t.loc["V2", ["listed", "visited", "cannot_farm", "not_reached"]].astype(int).tolist() == [
        6, 2, 1, 1]
    assert t.loc["合计 total", "visited"] == "5" and t.loc["V1", "leader"] == "甲"
    ws = openpyxl.load_workbook(out / "visits.xlsx")["撂荒地整治 remediation"]
    heads = [c.value for c in ws[3]]
    assert "列入清单地块数 listed" in heads and "计划复耕已逾期 overdue" in heads
    assert all(isinstance(ws.cell(r, heads.index("已走访地块数 visited") + 1).value, int)
               for r in (4, 5, 6))


def test_risk_with_history_skips_recent_and_lists_overdue(filled, visited, tmp_path):
    _, town, _, _, _ = filled
    out, _ = visited
    risk = tmp_path / "risk"
    argv = ["risk", str(town), "--out", str(risk), "--as-of", AS_OF, "--visits",
            str(out / "visits.csv"), "-q"]
    assert main(argv) == 0
    listed = _csv(risk / "visit_list.csv").set_index("parcel_id")
    # P02 (recultivated 21 days ago) is off; P11 (cannot farm, 59 days ago) is off
    assert "P02" not in listed.index and "P11" not in listed.index
    # P06 (promise overdue), P07 (117 days ago), P05 (nobody met) are back, with their last visit
    assert listed.loc["P06", "last_visit_date"] == "2023-12-01"
    assert listed.loc["P06", "last_outcome_zh"] == "计划复耕"
    assert listed.loc["P07", "last_outcome_zh"] == "已流转" and listed.loc["P05", "last_outcome_zh"] == "未见到人"
    assert listed.loc["P00", "last_visit_date"] == ""  # never visited (its row was rejected)
    assert len(listed) == 10 and (listed["listed_date"] == AS_OF).all()
    assert sorted(_csv(risk / "visited_recently.csv")["parcel_id"]) == ["P02", "P11"]
    scored = _csv(risk / "risk.csv").set_index("parcel_id")
    assert scored.loc["P02", "last_outcome"] == "recultivated" and scored.loc["P02", "visits"] == "1"
    assert scored.loc["P00", "visits"] == "0"
    # the same history from the config's [risk] visits
    cfg = town.parent / "town.toml"
    text = cfg.read_text(encoding="utf-8")
    cfg.write_text(text.replace("[risk]\n", f'[risk]\nvisits = "{(out / "visits.csv").as_posix()}"\n'),
                   encoding="utf-8")
    try:
        assert main(["risk", str(town), "--out", str(tmp_path / "r2"), "--as-of", AS_OF, "-q"]) == 0
    finally:
        cfg.write_text(text, encoding="utf-8")
    assert _csv(tmp_path / "r2" / "visit_list.csv")["parcel_id"].tolist() == listed.index.tolist()


def test_progress_gains_the_remediation_sheet(filled, visited, tmp_path):
    _, town, _, _, _ = filled
    out, _ = visited
    prog = tmp_path / "progress"
    argv = ["progress", str(town), "--as-of", AS_OF, "--visits", str(out / "visits.csv"),
            "--out", str(prog), "-q"]
    assert main(argv) == 0
    ws = openpyxl.load_workbook(prog / "progress.xlsx")["撂荒地整治 remediation"]
    heads = [c.value for c in ws[3]]
    rows = {ws.cell(r, 1).value: r for r in range(4, 7)}
    col = {h.split(" ")[-1]: j for j, h in enumerate(heads, start=1)}
    assert ws.cell(rows["V1"], col["leader"]).value == "甲"
    assert [ws.cell(rows["合计 total"], col[c]).value for c in
            ("listed", "visited", "recultivated", "promised", "overdue")] == [12, 5, 1, 1, 1]
    # as of 2023-12-15 the promise of 2023-12-20 is not overdue yet, and the visit of 12-15 counts
    assert main([*argv[:3], "2023-12-15", *argv[4:]]) == 0
    t = _csv(prog / "remediation.csv").set_index("village_id")
    assert t.loc["V1", "overdue"] == "0" and t.loc["V1", "promised"] == "1"
    assert t.loc["V2", "visited"] == "2"
    # without a history: no sheet, and the earlier remediation.csv removed
    assert main(["progress", str(town), "--as-of", AS_OF, "--out", str(prog), "-q"]) == 0
    assert not (prog / "remediation.csv").exists()
    assert "撂荒地整治 remediation" not in openpyxl.load_workbook(prog / "progress.xlsx").sheetnames


def test_all_good_rows_exit_0_and_no_rejects(filled, tmp_path):
    _, town, _, _, _ = filled
    wb = openpyxl.load_workbook(filled[0] / "risk" / "visit_list.xlsx")
    _Sheet(wb["全部 all"]).fill("P04", 走访日期="2023-10-01", 走访结果="已复耕 recultivated")
    path = tmp_path / "ok.xlsx"
    wb.save(path)
    out = tmp_path / "v"
    (out).mkdir()
    (out / "rejects.csv").write_text("stale", encoding="utf-8")
    assert main(["visits", str(tmp_path), "--town", str(town), "--out", str(out), "--as-of", AS_OF,
                 "-q"]) == 0  # a folder of workbooks
    assert _csv(out / "visits.csv")["parcel_id"].tolist() == ["P04"]
    assert not (out / "rejects.csv").exists()


def test_history_merges_earlier_visits(filled, visited, tmp_path):
    _, town, path, good, _ = filled
    out, _ = visited
    wb = openpyxl.load_workbook(filled[0] / "risk" / "visit_list.xlsx")
    _Sheet(wb["二村"]).fill("P04", 走访日期="2023-12-20", 走访结果="已复耕")
    second = tmp_path / "round2.xlsx"
    wb.save(second)
    new = tmp_path / "v2"
    assert main(["visits", str(second), "--town", str(town), "--history", str(out / "visits.csv"),
                 "--out", str(new), "--as-of", AS_OF, "-q"]) == 0
    assert sorted(_csv(new / "visits.csv")["parcel_id"]) == sorted([*good, "P04"])


def test_bad_input_is_exit_2(filled, tmp_path, capsys):
    _, town, _, _, _ = filled
    out = str(tmp_path / "o")
    assert main(["visits", str(tmp_path / "nope.xlsx"), "--town", str(town), "--out", out]) == 2
    assert "not found" in capsys.readouterr().err
    (tmp_path / "broken.xlsx").write_bytes(b"not a zip")
    assert main(["visits", str(tmp_path / "broken.xlsx"), "--town", str(town), "--out", out]) == 2
    assert "cannot read the visit list" in capsys.readouterr().err
    wb = openpyxl.Workbook()
    wb.active.append(["地块编码 parcel", "备注"])
    wb.active.append(["P01", "x"])
    wb.save(tmp_path / "old.xlsx")
    assert main(["visits", str(tmp_path / "old.xlsx"), "--town", str(town), "--out", out]) == 2
    assert "走访日期 visit date" in capsys.readouterr().err
    wb = openpyxl.Workbook()
    wb.active.append(["村名", "面积"])
    wb.save(tmp_path / "other.xlsx")
    assert main(["visits", str(tmp_path / "other.xlsx"), "--town", str(town), "--out", out]) == 2
    assert "parcel id header" in capsys.readouterr().err
    assert main(["risk", str(town), "--visits", str(tmp_path / "no.csv"), "--out", out]) == 2
    assert "visit history not found" in capsys.readouterr().err


# --------------------------------------------------------------------------- the analysis


def _rows(**cols) -> pd.DataFrame:
    n = len(next(iter(cols.values())))
    base = {"listed_date": [dt.date(2023, 9, 1)] * n, "source": ["f.xlsx"] * n,
            "sheet": ["一村"] * n, "row": list(range(4, 4 + n))}
    return pd.DataFrame({**base, **cols})


def test_validate_conflicts_duplicates_and_required_details():
    rows = _rows(
        parcel_id=["a", "a", "b", "b", "c", "d", "e"],
        visit_date=["2023-10-01", "2023-10-01", "2023-10-02", "2023-10-02", "2023-10-03",
                    "2023-10-04", "2023-10-05"],
        outcome=["已复耕", "已复耕", "已复耕", "未见到人", "已流转", "无法耕种", "计划复耕"],
        planned_date=[None, None, None, None, None, None, "2023-09-30"],
    )
    ok, rej = validate_visits(rows, list("abcde"), as_of=dt.date(2023, 12, 31))
    assert ok["parcel_id"].tolist() == ["a"]  # the same visit twice (town and village sheet): once
    by_row = rej.set_index("row")["reason"]
    assert "filled differently" in by_row[6] and "row 7" in by_row[6]  # b: two results one day
    assert "filled differently" in by_row[7] and "row 6" in by_row[7]
    assert "transferred without the operator" in by_row[8]
    assert "cannot_farm without the reason" in by_row[9]
    assert "before the visit" in by_row[10]


def test_parse_date_and_outcome_spellings():
    assert parse_date("2023年9月5日") == dt.date(2023, 9, 5) == parse_date("2023.9.5")
    assert parse_date(45174) == dt.date(2023, 9, 5)  # an Excel serial day
    assert parse_date(None) is None and parse_date("  ") is None
    with pytest.raises(ValueError):
        parse_date("9月5日")
    for code, zh in OUTCOMES.items():
        assert outcome_code(zh) == outcome_code(code) == outcome_code(f"{zh} {code}") == code
    assert outcome_code("种了一半") is None


def test_recently_visited_rules():
    """Hand-made: 90 days before 2023-12-31 is 2023-10-02."""
    history = pd.DataFrame({
        "parcel_id": ["in", "edge", "old", "absent", "overdue", "promise", "twice"],
        "visit_date": pd.to_datetime(["2023-12-01", "2023-10-02", "2023-10-01", "2023-12-01",
                                      "2023-12-01", "2023-12-01", "2023-12-01"]),
        "outcome": ["recultivated", "transferred", "recultivated", "not_reached",
                    "will_recultivate", "will_recultivate", "not_reached"],
        "planned_date": pd.to_datetime([None, None, None, None, "2023-12-30", "2024-01-31", None]),
    })
    history = pd.concat([history, pd.DataFrame({
        "parcel_id": ["twice"], "visit_date": pd.to_datetime(["2023-12-20"]),
        "outcome": ["recultivated"], "planned_date": pd.to_datetime([None])})], ignore_index=True)
    last = last_visits(history)
    assert last.set_index("parcel_id").loc["twice", "visits"] == 2
    skip = recently_visited(last, as_of=dt.date(2023, 12, 31), revisit_after_days=90)
    assert skip == {"in", "edge", "promise", "twice"}
    table = remediation_table(history, as_of=dt.date(2023, 12, 31))
    total = table.iloc[-1]
    assert total["visited"] == 7 and total["promised"] == 2 and total["overdue"] == 1
    assert total["recultivated"] + total["promised"] + total["transferred"] + total[
        "cannot_farm"] + total["not_reached"] == total["visited"]


# --------------------------------------------------------------------------- the demo town


def test_demo_filled_workbook_runs_visits_risk_and_progress(demo_town, tmp_path):
    """gis_town.demo.visits: the demo's filled list gives its five bad rows, and risk/progress read the result."""
    from gis_town.demo.visits import BAD_ROWS, LISTED, write_filled_visits

    town = copy_demo(tmp_path)
    filled = write_filled_visits(town, tmp_path / "visits_filled.xlsx")
    shipped = demo_town.parent / "visits_filled.xlsx"
    if shipped.exists():  # the demo's file is what the builder makes of the demo town (same bytes)
        assert shipped.read_bytes() == filled.read_bytes(), (
            "layers/visits_filled.xlsx is stale: rebuild it with gis_town.demo.visits.write_filled_visits"
        )
    wb = openpyxl.load_workbook(filled)
    n_filled = 0
    for ws in wb.worksheets[1:]:
        sheet = _Sheet(ws)
        n_filled += sum(1 for r in sheet.row.values() if ws.cell(r, sheet.col["走访日期"]).value)
        assert ws.cell(4, sheet.col["清单日期"]).value == dt.datetime.combine(LISTED, dt.time())
    out = tmp_path / "visits"
    assert main(["visits", str(filled), "--town", str(town), "--out", str(out), "-q"]) == 1
    rej = _csv(out / "rejects.csv")
    assert len(rej) == len(BAD_ROWS) == 5
    for words in ("unknown parcel_id", "before the list was made", "2032-10-15 is in the future",
                  "unknown outcome '已种植'", "without a planned_date"):
        assert rej["reason"].str.contains(words, regex=False).sum() == 1, words
    visits = _csv(out / "visits.csv")
    assert len(visits) == n_filled - 5 and len(visits) > 100
    assert set(visits["outcome"]) == set(OUTCOMES)
    risk = tmp_path / "risk"
    assert main(["risk", str(town), "--visits", str(out / "visits.csv"), "--out", str(risk), "-q"]) == 0
    recent = set(_csv(risk / "visited_recently.csv")["parcel_id"])
    listed = _csv(risk / "visit_list.csv")
    assert recent and not recent & set(listed["parcel_id"])
    # 2023-12-31 (the demo's data_date) minus 90 days: visits from 2023-10-02 on are recent
    v = visits.set_index("parcel_id")
    back = v[(v["visit_date"] < "2023-10-02") & (v["outcome"] != "not_reached")].index
    assert set(back) <= set(_csv(risk / "risk.csv")["parcel_id"]) and not set(back) & recent
    prog = tmp_path / "progress"
    assert main(["progress", str(town), "--visits", str(out / "visits.csv"), "--out", str(prog),
                 "-q"]) == 0
    t = _csv(prog / "remediation.csv").set_index("village_id")
    assert int(t.loc["合计 total", "visited"]) == len(visits)
