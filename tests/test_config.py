"""Config errors: every bad-input class gives a message naming file, key path and allowed values; exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from conftest import TINY_SPACE, experiment_dict
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from yaml_trees import mutated, trees

from cosearch.cli import main
from cosearch.config import experiment_from_dict, load_experiment
from cosearch.core.errors import ConfigError
from cosearch.search.loop import pipeline_spec
from cosearch.search.preflight import preflight


def _error(capsys: pytest.CaptureFixture[str], path: Path, *extra: str) -> str:
    code = main(["run", str(path), "--no-progress", "--out", str(path.parent / "run"), *extra])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err
    return err.strip()


def test_bad_direction_names_file_key_and_choices(write_experiment, capsys):
    data = experiment_dict()
    data["objectives"][1]["direction"] = "minimise"
    path = write_experiment(document=data)
    assert _error(capsys, path) == (
        f"error: {path}: objectives[1].direction: must be one of minimize, maximize (got 'minimise')"
    )


def test_unknown_top_level_key_lists_allowed(write_experiment, capsys):
    path = write_experiment(trails=10)
    err = _error(capsys, path)
    assert f"{path}: trails: unknown key; allowed: name, description, seed" in err


def test_unknown_nested_key(write_experiment, capsys):
    path = write_experiment(data={"dataset": "cifar10", "batchsize": 4})
    assert f"{path}: data.batchsize: unknown key; allowed: dataset, root, batch_size, download" in _error(capsys, path)


def test_missing_required_key(write_experiment, capsys):
    data = experiment_dict()
    del data["objectives"]
    path = write_experiment(document=data)
    assert f"{path}: objectives: required key is missing" in _error(capsys, path)


def test_bad_number(write_experiment, capsys):
    path = write_experiment(trials=0)
    assert f"{path}: trials: input should be greater than 0 (got 0)" in _error(capsys, path)


def test_bad_searcher_and_its_options(write_experiment, capsys):
    path = write_experiment(searcher={"type": "cmaes"})
    assert "searcher.type: must be one of random, tpe, nsga2, nsga3, gp, qmc (got 'cmaes')" in _error(capsys, path)
    path = write_experiment(searcher={"type": "nsga2", "options": {"population": 10}})
    err = _error(capsys, path)
    assert "searcher.options.population: not an option of the nsga2 searcher; allowed: population_size" in err


def test_bad_constraint_operator(write_experiment, capsys):
    path = write_experiment(constraints=[{"metric": "hw_area_mm2", "op": "<", "bound": 1}])
    assert "constraints[0].op: must be one of <=, >= (got '<')" in _error(capsys, path)


def test_unknown_evaluator(write_experiment, capsys):
    path = write_experiment(evaluators=["oracle"])
    err = _error(capsys, path)
    assert "evaluators[0].type: must be one of proxy, cost" in err and "or 'module:Class' (got 'oracle')" in err


def test_space_errors_name_the_key_path(write_experiment, capsys):
    space = yaml.safe_load(yaml.safe_dump(TINY_SPACE))
    space["hardware"]["adc_bitz"] = 4
    path = write_experiment(space=space)
    assert f"{path}: space.hardware.adc_bitz: unknown hardware key; allowed: device, adc_type" in _error(capsys, path)
    space = yaml.safe_load(yaml.safe_dump(TINY_SPACE))
    space["timesteps"] = {"low": 8, "high": 2}
    path = write_experiment(space=space)
    assert f"{path}: space.timesteps.low: must be <= high (8 > 2)" in _error(capsys, path)


def test_space_file_errors_name_that_file(tmp_path, write_experiment, capsys):
    space_file = tmp_path / "space.yaml"
    space_file.write_text(yaml.safe_dump({**TINY_SPACE, "timesteps": {"choices": []}}))
    path = write_experiment(space="space.yaml")
    assert f"{space_file}: timesteps.choices: must be a non-empty list (got [])" in _error(capsys, path)


def test_missing_file_and_bad_yaml(tmp_path, capsys):
    assert _error(capsys, tmp_path / "nope.yaml") == f"error: {tmp_path / 'nope.yaml'}: file not found"
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed\n")
    assert f"{bad}: not valid YAML" in _error(capsys, bad)


def test_baseline_must_cover_the_space(write_experiment, capsys):
    path = write_experiment(enqueue=[{"name": "partial", "values": {"timesteps": 5}}])
    err = _error(capsys, path)
    assert f"{path}: enqueue[0]: baseline 'partial' leaves parameters unset or out of range: channels_0" in err


def test_reference_point_must_name_objectives(write_experiment, capsys):
    path = write_experiment(reference_point={"proxy_score": 0})
    assert "reference_point: needs exactly the objective metrics proxy_score, hw_energy_pj" in _error(capsys, path)


def test_constraint_shorthand_and_cli_overrides(write_experiment):
    experiment = load_experiment(write_experiment(constraints=[{"metric": "m", ">=": 2.5}]), trials=7, seed=11)
    constraint = experiment.config.constraints[0]
    assert (constraint.op, constraint.bound) == (">=", 2.5)
    assert constraint.violation(3.0) == -0.5 and constraint.violation(2.0) == 0.5
    assert experiment.phases[0].trials == 7 and experiment.config.seed == 11


# ------------------------------------------------------------ property tests (hypothesis) ----

PROPERTY = settings(max_examples=120, deadline=None, database=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(document=st.one_of(trees, mutated(experiment_dict()), mutated(experiment_dict(phases=[
    {"name": "a", "trials": 2}, {"name": "b", "trials": 2, "inherit": {"fix": ["timesteps"]}}]))))
@pytest.mark.slow
def test_any_yaml_tree_gives_a_checked_experiment_or_a_config_error(document):
    """Random types at every key: the loader and the preflight either accept or raise ConfigError."""
    try:
        experiment = experiment_from_dict(document, Path("exp.yaml"))
        for phase in experiment.phases:
            preflight(experiment, pipeline_spec(experiment, phase))
    except ConfigError as exc:
        assert str(exc) and "Traceback" not in str(exc)
    else:
        assert experiment.phases and experiment.resolved()["name"] == experiment.name
