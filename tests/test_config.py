"""The town config: validated, with clear errors naming the key."""

from __future__ import annotations

import pytest

from gis_town.config import TownConfig, config_for, find_config, load_config
from gis_town.errors import ConfigError


def test_defaults_carry_the_plans_numbers():
    cfg = TownConfig()
    assert cfg.patrol.milestones == [("06-30", 0.7), ("09-30", 1.0)]
    stages = {(m.date, m.stage): m.share for m in cfg.targets.resettlement_milestones}
    assert stages[("03-31", "housing_confirmed")] == 0.8
    assert stages[("06-30", "moved_in")] == 0.7 and stages[("06-30", "demolished")] == 0.4
    assert stages[("09-30", "demolished")] == 0.8 and stages[("12-31", "demolished")] == 1.0
    assert cfg.targets.collective_income_wan == 10


def test_toml_and_yaml_load(tmp_path):
    (tmp_path / "town.toml").write_text(
        '[town]\nname = "关川镇"\n[patrol]\ntolerance_m = 80\n[targets.high_standard]\n"A村项目" = 3000\n', encoding="utf-8"
    )
    cfg = load_config(tmp_path / "town.toml")
    assert cfg.town.name == "关川镇" and cfg.patrol.tolerance_m == 80
    assert cfg.targets.high_standard == {"A村项目": 3000}
    assert cfg.base_dir == tmp_path.resolve()
    (tmp_path / "b.yaml").write_text("risk:\n  high: 70\n", encoding="utf-8")
    assert load_config(tmp_path / "b.yaml").risk.high == 70


def test_unknown_key_and_wrong_type_named(tmp_path):
    p = tmp_path / "town.toml"
    p.write_text('[patrol]\ntolerance_m = "fifty"\ntolerence = 3\n', encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_config(p)
    msg = str(err.value)
    assert "patrol.tolerance_m" in msg and "patrol.tolerence" in msg and "unknown key" in msg


def test_unknown_risk_factor(tmp_path):
    p = tmp_path / "town.toml"
    p.write_text("[risk.weights]\nslope_mean_deg = 1\nmoon_phase = 2\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="moon_phase"):
        load_config(p)


def test_syntax_error_and_missing_file(tmp_path):
    p = tmp_path / "town.toml"
    p.write_text("[town\nname=", encoding="utf-8")
    with pytest.raises(ConfigError, match="syntax"):
        load_config(p)
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.toml")


def test_config_found_beside_town(tmp_path):
    (tmp_path / "town.yaml").write_text("town:\n  name: 测试镇\n", encoding="utf-8")
    town = tmp_path / "t.gpkg"
    assert find_config(town) == tmp_path / "town.yaml"
    assert config_for(town).town.name == "测试镇"
    assert config_for(tmp_path / "sub" / "x.gpkg").town.name == "x"  # no config: the file's name


def test_paths_resolve_against_config_folder(tmp_path):
    (tmp_path / "town.toml").write_text('[rasters]\ndem = "dem.tif"\n', encoding="utf-8")
    cfg = load_config(tmp_path / "town.toml")
    assert cfg.resolve(cfg.rasters.dem) == tmp_path.resolve() / "dem.tif"


def test_town_name_defaults_to_the_files_name(tmp_path):
    town = tmp_path / "石峡镇2023.gpkg"
    assert config_for(town).town.name == "石峡镇2023"
    assert config_for(tmp_path / "三调.gdb").town.name == "三调"
    (tmp_path / "town.toml").write_text('[town]\nyear = 2024\n', encoding="utf-8")
    cfg = config_for(town)  # a config without a name: still the file's name
    assert cfg.town.name == "石峡镇2023" and cfg.town.year == 2024
    (tmp_path / "town.toml").write_text('[town]\nname = "关川镇"\n', encoding="utf-8")
    assert config_for(town).town.name == "关川镇"
    assert "示范" not in TownConfig().town.name
