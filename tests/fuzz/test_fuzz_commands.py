"""Geometry fuzzing of every command: no geometry kills a command.

Every run is a subprocess (a native crash fails the test, it does not kill
pytest) and must end with exit 0, 1 or 2: never a signal, never exit 3
(internal error), never a traceback; on 0 and 1 its reports are written.

* the GEOS xmltester geometries (all of them under ``-m fuzz_full``; a fixed
  sample per run otherwise), many per town, in every polygon and line layer
  and as the check's plots;
* hypothesis-made degenerate geometries (derandomized): empty rings and
  parts, spikes, zero-area slivers, repeated and near-repeated vertices,
  tiny and large extents, self-touching rings, holes touching shells, NaN,
  Z, collections;
* the town of the issue: every GEOS validity case plus the empty-ring
  polygon as parcels and plots, checked in detail (reports, rejects.csv).
"""

from __future__ import annotations

import random

import pandas as pd
import pytest
import shapely
from hypothesis import HealthCheck, given, settings

from tests.fuzz.harness import COMMANDS, FuzzTown, assert_survived, build_town, place, run_command
from tests.fuzz.sources import (
    Case,
    cases_from_wkt,
    degenerate_batch,
    validity_cases,
    xmltester_cases,
    xmltester_dir,
)

needs_xmltester = pytest.mark.skipif(xmltester_dir() is None, reason="GEOS xmltester files not available (../shared/realdata)")

#: xmltester geometries per town in the CI run (each in 7 layers and 2 plot layers)
CI_SAMPLE = 160
#: geometries per town in the full run
FULL_CHUNK = 300
COMMAND_NAMES = list(COMMANDS)


def ci_sample(n: int = CI_SAMPLE, seed: int = 15) -> list[Case]:
    """A fixed sample of the xmltester geometries, every geometry type and some curves in it."""
    cases = list(xmltester_cases())
    rng = random.Random(seed)
    by_type: dict[str, list[Case]] = {}
    for c in cases:
        by_type.setdefault(c.geom.geom_type if c.geom is not None else "curve", []).append(c)
    pick: list[Case] = []
    for group in by_type.values():  # a few of each type first, then the rest at random
        pick += rng.sample(group, min(4, len(group)))
    rest = [c for c in cases if c not in set(pick)]
    pick += rng.sample(rest, max(0, n - len(pick)))
    return pick


@pytest.fixture(scope="module")
def xml_town(tmp_path_factory) -> FuzzTown:
    if xmltester_dir() is None:
        pytest.skip("GEOS xmltester files not available (../shared/realdata)")
    return build_town(tmp_path_factory.mktemp("xmlfuzz"), ci_sample())


@needs_xmltester
@pytest.mark.parametrize("command", COMMAND_NAMES)
def test_xmltester_sample_every_command(command, xml_town, tmp_path):
    assert_survived(run_command(command, xml_town, tmp_path / "out"))


_HYP = settings(max_examples=2, derandomize=True, deadline=None, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                       HealthCheck.data_too_large])


@pytest.mark.parametrize("command", COMMAND_NAMES)
@_HYP
@given(batch=degenerate_batch())
def test_degenerate_geometries_every_command(command, batch, tmp_path_factory):
    folder = tmp_path_factory.mktemp("hypfuzz")
    town = build_town(folder, cases_from_wkt(batch))
    assert_survived(run_command(command, town, folder / "out"))


# ---- the issue's town: every GEOS validity case and the empty-ring polygon ------------------------

EMPTY_RING = "POLYGON ((0 0, 100 50, 0 100, 0 0), EMPTY)"
ISSUE_COMMANDS = ["check_high_standard", "check_reclamation", "map_web", "areas", "risk", "progress"]


@pytest.fixture(scope="module")
def validity_town(tmp_path_factory) -> tuple[FuzzTown, list[Case]]:
    if xmltester_dir() is None:
        pytest.skip("GEOS xmltester files not available (../shared/realdata)")
    cases = [Case("empty ring (issue 15)", geom=shapely.from_wkt(EMPTY_RING)), *validity_cases()]
    return build_town(tmp_path_factory.mktemp("validity"), cases), cases


def _odd(g) -> bool:
    """Independently: would this geometry need repair or rejection as a farmland parcel?"""
    if g is None or g.is_empty or not shapely.is_valid(g) or g.geom_type not in ("Polygon", "MultiPolygon"):
        return True
    parts = shapely.get_parts(g)
    return any(len(r.coords) == 0 for p in parts for r in p.interiors) or shapely.has_z(g)


@needs_xmltester
@pytest.mark.parametrize("command", ISSUE_COMMANDS)
def test_issue_town_commands_survive_with_reports(command, validity_town, tmp_path):
    town, cases = validity_town
    run = run_command(command, town, tmp_path / "out")
    assert_survived(run)
    assert run.returncode in (0, 1), run.stderr[-2000:]
    if command.startswith("check"):
        res = pd.read_csv(tmp_path / "out" / "check_results.csv", encoding="utf-8-sig", dtype=str)
        valid_rule = res[res["rule"] == "geometry_valid"].set_index("plot_id")["status"]
        for k, c in enumerate(cases):
            g = place(c.geom, k)  # as written: placing can change validity (rounding)
            if not shapely.is_valid(g) or g.geom_type not in ("Polygon", "MultiPolygon"):
                assert valid_rule[f"F{k:05d}"] != "pass", f"{c.name}: invalid plot passed the validity rule"
        return
    rej = pd.read_csv(tmp_path / "out" / "rejects.csv", encoding="utf-8-sig", dtype=str)
    farm = rej[rej["layer"] == "farmland"]
    assert farm["reason"].notna().all() and (farm["reason"].str.len() > 0).all()
    assert set(farm["action"]) <= {"repaired", "rejected"}
    flagged = set(farm["feature_id"])
    for k, c in enumerate(cases):
        if _odd(place(c.geom, k)):
            assert f"F{k:05d}" in flagged, f"{c.name} ({c.geom.wkt[:80]}) not repaired or rejected"
    ring = farm[farm["feature_id"] == "F00000"]
    assert ring["action"].tolist() == ["repaired"] and "empty interior ring" in ring["reason"].iloc[0]


# ---- the long run (releases): every xmltester geometry, more hypothesis examples -------------------


def _chunks() -> list[int]:
    n = len(xmltester_cases())
    return list(range(0, n, FULL_CHUNK)) or [0]


@pytest.mark.fuzz_full
@needs_xmltester
@pytest.mark.parametrize("start", _chunks())
def test_full_xmltester_every_command(start, tmp_path):
    cases = list(xmltester_cases())[start: start + FULL_CHUNK]
    town = build_town(tmp_path / "town", cases, start=start)
    for command in COMMAND_NAMES:
        assert_survived(run_command(command, town, tmp_path / f"out-{command}"))


@pytest.mark.fuzz_full
@pytest.mark.parametrize("command", COMMAND_NAMES)
@settings(max_examples=25, derandomize=True, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.data_too_large])
@given(batch=degenerate_batch(10, 30))
def test_full_degenerate_every_command(command, batch, tmp_path_factory):
    folder = tmp_path_factory.mktemp("hypfull")
    town = build_town(folder, cases_from_wkt(batch))
    assert_survived(run_command(command, town, folder / "out"))


def test_mixed_afforestation_progress_map(tmp_path):
    """An afforestation layer of polygons and points (both allowed by the schema): one map layer per family."""
    point = Case("afforestation point", geom=shapely.from_wkt("POINT (10 10)"))
    town = build_town(tmp_path / "town", [point], layers_only=("afforestation",))
    assert_survived(run_command("map_web_progress", town, tmp_path / "out"))
