"""Values ``check`` used to call "ok" (or coerce) and the run then crashed on or silently changed:
a negative seed, booleans and strings where integers belong (issue 34)."""

from __future__ import annotations

import pytest

from cosearch.cli import main


@pytest.mark.parametrize("overrides, key", [
    ({"seed": -1}, "seed"),
    ({"seed": True}, "seed"),
    ({"trials": True}, "trials"),
    ({"trials": "3"}, "trials"),
    ({"common_seed": "yes"}, "common_seed"),
])
def test_bad_values_exit_2_naming_the_key(write_experiment, capsys, overrides, key):
    path = write_experiment(**overrides)
    assert main(["check", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}: {key}" in err and "Traceback" not in err


def test_a_negative_seed_on_the_command_line_is_refused(write_experiment, tmp_path, capsys):
    path = write_experiment()
    assert main(["run", str(path), "--seed", "-5", "--out", str(tmp_path / "run"), "--no-progress"]) == 2
    assert "seed" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("overrides, key", [
    ({"constraints": [{"metric": "hw_area_mm2", "<=": float("nan")}]}, "constraints[0].bound"),
    ({"reference_point": {"proxy_score": float("nan"), "hw_energy_pj": 1.0}}, "reference_point.proxy_score"),
    ({"reference_point": {"proxy_score": 0.0, "hw_energy_pj": float("inf")}}, "reference_point.hw_energy_pj"),
    ({"name": ".."}, "name"),
    ({"name": "."}, "name"),
    ({"name": "x" * 300}, "name"),
])
def test_values_that_gave_silent_wrong_answers_exit_2(write_experiment, capsys, overrides, key):
    from conftest import experiment_dict

    path = write_experiment(document=experiment_dict(**overrides))
    assert main(["check", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}: {key}" in err and "Traceback" not in err and len(err) < 600
