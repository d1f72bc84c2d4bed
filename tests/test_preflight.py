"""Preflight: every bad input found before trial 0 (exit 2, file + key + allowed values, run directory
untouched); a run that cannot progress stops with exit 3 and keeps what it recorded."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import optuna
import pytest
import yaml
from conftest import TINY_SPACE, experiment_dict

from cosearch.cli import main
from cosearch.core.candidate import Candidate
from cosearch.core.errors import CosearchError
from cosearch.core.evaluator import Evaluator
from cosearch.data import resolve_cifar10
from cosearch.results import load_table
from cosearch.run_dir import RunDirectory

ANALYTIC = {"type": "analytic_evaluator:AnalyticEvaluator", "options": {}}


def _space(**hardware: Any) -> dict[str, Any]:
    return {**copy.deepcopy(TINY_SPACE), "hardware": hardware}


def _has_cifar() -> bool:
    try:
        resolve_cifar10(None)
    except CosearchError:
        return False
    return True


needs_data = pytest.mark.skipif(not _has_cifar(), reason="CIFAR-10 not found ($COSEARCH_DATA)")

#: class -> (experiment overrides, key path named, words of the message: the allowed values)
CASES: dict[str, tuple[dict[str, Any], str, list[str]]] = {
    "objective metric nobody produces": (
        {"objectives": [{"metric": "proxy_score", "direction": "maximize"}, {"metric": "hw_energy", "direction": "minimize"}]},
        "objectives[1].metric", ["no evaluator produces 'hw_energy'; did you mean 'hw_energy_pj'?",
                                 "the evaluators produce: hw_area_mm2, hw_energy_pj, hw_per_layer, proxy_score"]),
    "constraint metric nobody produces": (
        {"constraints": [{"metric": "area_mm2", "<=": 3}]},
        "constraints[0].metric", ["no evaluator produces 'area_mm2'; did you mean 'hw_area_mm2'?"]),
    "cheap-first stage naming an evaluator that does not exist": (
        {"evaluators": [{"type": "csot"}, {**ANALYTIC, "skip_when": ["constraints"]}]},
        "evaluators[0].type", ["must be one of proxy, cost, train, accuracy_model, spikenas_lookup or 'module:Class' (got 'csot')"]),
    "skip_when on a metric no evaluator before it produces": (
        {"evaluators": [{"type": "test_cheap_first:Area"},
                        {**ANALYTIC, "skip_when": [{"metric": "hw_aera_mm2", ">": 3}]}]},
        "evaluators[1].skip_when[0].metric", ["no evaluator listed before analytic_evaluator:AnalyticEvaluator "
                                              "produces 'hw_aera_mm2'; did you mean 'hw_area_mm2'?",
                                              "allowed: hw_area_mm2, hw_energy_pj"]),
    "skip_when constraints with no cheap evaluator before it": (
        {"evaluators": [{**ANALYTIC, "skip_when": ["constraints"]}]},
        "evaluators[0].skip_when[0]", ["no constraint metric (hw_area_mm2) is produced by the evaluators listed before",
                                       "allowed: list a cheap evaluator that produces it (e.g. cost) first"]),
    "skip_when item that is neither constraints nor a condition": (
        {"evaluators": [{"type": "test_cheap_first:Area"}, {**ANALYTIC, "skip_when": ["constraint"]}]},
        "evaluators[1].skip_when", ["item 0 is 'constraint'; allowed: 'constraints' or a condition",
                                    "OP one of <, <=, >, >="]),
    "per-layer list vs the family's slots": (
        {"space": _space(adc_bits={"low": 2, "high": 8, "count": 13})},
        "space.hardware.adc_bits", ["13 per-layer values, but the space's networks have 14 layer slots",
                                    "allowed: count 14"]),
    "layer groups vs the family's slots": (
        {"space": _space(device={"choices": ["sram", "pcm"], "count": 2, "repeat": [4, 4]})},
        "space.hardware.device", ["repeat sums to 8, but the space's networks have 14 layer slots"]),
    "device no card defines": (
        {"space": _space(device={"choices": ["sram", "mram"], "count": 14})},
        "space.hardware.device", ["unknown device 'mram' (cards define: fefet, pcm, rram, sram)"]),
    "ADC type no card defines": (
        {"space": _space(adc_type={"choices": ["sar", "delta_sigma"]})},
        "space.hardware.adc_type", ["unknown adc_type 'delta_sigma' (cards define: sar, flash)"]),
    "ADC bits out of range (upper bound of a range)": (
        {"space": _space(adc_bits={"low": 4, "high": 20})},
        "space.hardware.adc_bits", ["must be an integer in 1..16 (got 17)"]),
    "ADC bits a card does not price": (
        {"space": _space(adc_type={"choices": ["sar", "my_adc"]}, adc_bits={"low": 4, "high": 6}),
         "hardware": {"overrides": {"adc": {"my_adc": {"model": "fixed", "energy_pj": {4: 0.5, 5: 0.9},
                                                       "latency_ns": 2.0, "area_um2": 300.0}}}}},
        "space.hardware.adc_bits", ["ADC type 'my_adc' has no figures for 6 bits (its card prices bits: 4, 5)"]),
    "conditional value without a case or default": (
        {"space": _space(adc_type={"choices": ["sar", "flash"]},
                         adc_bits={"given": "adc_type", "cases": {"sar": {"low": 4, "high": 8}}})},
        "space.hardware.adc_bits.default", ["adc_type can be flash, which no case covers"]),
    "column sharing beyond the crossbar": (
        {"space": _space(column_sharing={"choices": [8, 128]})},
        "space.hardware.column_sharing", ["can be 128 but the crossbar size can be 64"]),
    "network family that does not exist": (
        {"space": {**copy.deepcopy(TINY_SPACE), "network": {"arch": {"choices": ["vgg16", "resnet18"]}}}},
        "space.network.arch", ["unknown network family 'resnet18'; allowed: snasnet, vgg16"]),
    "phase space checked too": (
        {"phases": [{"name": "a", "trials": 2}, {"name": "b", "trials": 2, "space": _space(device="mram")}]},
        "phases[1].space.hardware.device", ["unknown device 'mram'"]),
    "sampler option its constructor rejects": (
        {"searcher": {"type": "nsga2", "options": {"population_size": 1}}},
        "searcher.options.population_size", ["the nsga2 sampler rejects it: `population_size` must be greater than or equal to 2"]),
    "phase sampler option its constructor rejects": (
        {"phases": [{"name": "a", "trials": 2, "searcher": {"type": "qmc", "options": {"qmc_type": "lattice"}}}]},
        "phases[0].searcher.options.qmc_type", ["the qmc sampler rejects it", "halton", "sobol"]),
    "evaluator that does not declare its metrics": (
        {"evaluators": [{"type": "test_preflight:Undeclared"}]},
        "evaluators[0].type", ["does not declare its metrics; define the classmethod produces(options, context)"]),
}

ESTIMATE_OBJECTIVES = [{"metric": "proxy_accuracy_estimate", "direction": "maximize"},
                       {"metric": "hw_energy_pj", "direction": "minimize"}]
DATA_CASES: dict[str, tuple[dict[str, Any], str, list[str]]] = {
    "proxy batch larger than the images": (
        {"evaluators": ["proxy", ANALYTIC], "proxy": {"batch_size": 100_000}},
        "proxy.batch_size", ["must be at most the", "training images", "(got 100000)"]),
    "proxy channel scale that leaves no channel": (
        {"evaluators": [{"type": "proxy", "options": {"channel_scale": 0.001}}, ANALYTIC]},
        "evaluators[0].options.channel_scale", ["leaves network.channels 64 with 0.064 channels", "allowed: >= 0.00781"]),
    "accuracy estimate at a batch size its default weight was not chosen for": (
        {"evaluators": ["proxy", ANALYTIC], "proxy": {"batch_size": 32, "noise": True}, "objectives": ESTIMATE_OBJECTIVES},
        "proxy.mismatch_weight", ["default weight 4 was chosen at batch_size 64; at batch_size 32 set it explicitly",
                                  "a number >= 0"]),
}


class Undeclared(Evaluator):
    """An evaluator written without ``produces`` (named as ``test_preflight:Undeclared``)."""

    def evaluate(self, candidate: Candidate, upstream: Mapping[str, Any]) -> dict[str, Any]:
        return {}


def _snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    return {str(p.relative_to(folder)): (p.read_bytes(), p.stat().st_mtime_ns) for p in folder.rglob("*") if p.is_file()}


@pytest.fixture(scope="module")
def earlier_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished run directory that every bad experiment below is pointed at."""
    folder = tmp_path_factory.mktemp("earlier")
    source = folder / "good.yaml"
    source.write_text(yaml.safe_dump(experiment_dict(trials=3)))
    assert main(["run", str(source), "--out", str(folder / "run"), "--no-progress"]) == 0
    return folder / "run"


def _refused(tmp_path: Path, capsys: pytest.CaptureFixture[str], earlier: Path, overrides: dict[str, Any],
             key: str, words: list[str]) -> str:
    source = tmp_path / "bad.yaml"
    source.write_text(yaml.safe_dump(experiment_dict(**copy.deepcopy(overrides)), sort_keys=False))
    before = _snapshot(earlier)
    for argv in (["check", str(source)], ["run", str(source), "--out", str(tmp_path / "fresh"), "--no-progress"],
                 ["run", str(source), "--out", str(earlier), "--no-progress"]):
        code = main(argv)
        printed = capsys.readouterr().err
        assert code == 2, printed
        errors = [line for line in printed.splitlines() if line.startswith("error: ")]
        assert len(errors) == 1 and "Traceback" not in printed, printed  # one message (evaluators may log notes)
        err = errors[0]
        assert err.startswith(f"error: {source}: {key}: "), err
        assert all(word in err for word in words), err
    assert not (tmp_path / "fresh").exists()  # no run directory left half-made
    assert _snapshot(earlier) == before  # nothing earlier changed
    return err.strip()


@pytest.mark.slow
@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_is_refused_before_trial_0(case, tmp_path, capsys, earlier_run):
    overrides, key, words = CASES[case]
    _refused(tmp_path, capsys, earlier_run, overrides, key, words)


@pytest.mark.slow
@needs_data
@pytest.mark.parametrize("case", list(DATA_CASES))
def test_proxy_settings_the_data_cannot_satisfy_are_refused(case, tmp_path, capsys, earlier_run):
    overrides, key, words = DATA_CASES[case]
    _refused(tmp_path, capsys, earlier_run, overrides, key, words)


@needs_data
def test_accuracy_estimate_passes_with_its_batch_size_or_an_explicit_weight(tmp_path, capsys):
    for proxy in ({"batch_size": 32, "noise": True, "mismatch_weight": 1}, {"batch_size": 64, "noise": True}):
        source = tmp_path / "ok.yaml"
        source.write_text(yaml.safe_dump(experiment_dict(evaluators=["proxy", ANALYTIC], proxy=proxy,
                                                         objectives=ESTIMATE_OBJECTIVES)))
        assert main(["check", str(source)]) == 0, capsys.readouterr().err


def _has_dataset(source: Path) -> bool:
    """The experiment's dataset is on this machine (tests/test_datasets.py checks the others on fixtures)."""
    from cosearch.core.files import read_yaml
    from cosearch.data import resolve_dataset

    try:
        resolve_dataset(str((read_yaml(source).get("data") or {}).get("dataset", "cifar10")))
    except CosearchError:
        return False
    return True


@pytest.mark.slow
def test_check_accepts_every_shipped_experiment(capsys):
    for source in sorted((Path(__file__).resolve().parents[1] / "experiments").glob("*.yaml")):
        if "proxy" in source.read_text() and not _has_dataset(source):
            continue
        assert main(["check", str(source)]) == 0, capsys.readouterr().err
        assert capsys.readouterr().out.startswith(f"{source}: ok - ")


def test_study_objectives_carry_their_metric_names(write_experiment, tmp_path):
    out = tmp_path / "run"
    assert main(["run", str(write_experiment(trials=2)), "--out", str(out), "--no-progress"]) == 0
    storage = RunDirectory(out).read_storage()
    (summary,) = optuna.get_all_study_summaries(storage)
    assert optuna.load_study(study_name=summary.study_name, storage=storage).metric_names == ["proxy_score", "hw_energy_pj"]


# ------------------------------------------------------------------------ stalled runs ----


def _failing(**options: Any) -> list[dict[str, Any]]:
    return [{"type": "analytic_evaluator:AnalyticEvaluator", "options": options}]


def test_first_trials_failing_alike_stop_the_run_with_exit_3(write_experiment, tmp_path, capsys):
    space = {**copy.deepcopy(TINY_SPACE), "timesteps": 2}
    path = write_experiment(space=space, evaluators=_failing(fail_if_timesteps=2), fail_fast=4, trials=50)
    out = tmp_path / "run"
    code = main(["run", str(path), "--out", str(out), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 3, err
    assert err.startswith("stopped: the first 4 trials all failed with the same reason (fail_fast: 4): "
                          "RuntimeError: analytic evaluator refuses T=2"), err
    table = load_table(out)
    assert len(table) == 4 and (table["state"] == "FAIL").all()  # what was recorded is kept
    assert RunDirectory(out).manifest()["sessions"][-1]["status"].startswith("stopped: the first 4 trials")


def test_a_run_whose_every_trial_failed_never_exits_0(write_experiment, tmp_path, capsys):
    space = {**copy.deepcopy(TINY_SPACE), "timesteps": 2}
    path = write_experiment(space=space, evaluators=_failing(fail_if_timesteps=2), trials=3)  # fewer than fail_fast
    code = main(["run", str(path), "--out", str(tmp_path / "run"), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 3, err
    assert err.startswith("stopped: every one of the 3 trials failed; most frequent reason (3x): "
                          "RuntimeError: analytic evaluator refuses T=2"), err


@pytest.mark.slow
def test_a_stalled_session_keeps_the_earlier_records(write_experiment, tmp_path, capsys, monkeypatch):
    path = write_experiment(evaluators=_failing(fail_if_env="COSEARCH_TEST_FAULT"), fail_fast=3, trials=4)
    out = tmp_path / "run"
    assert main(["run", str(path), "--out", str(out), "--no-progress"]) == 0
    journal = (out / "study.journal").read_bytes()
    config = {k: v for k, v in yaml.safe_load((out / "config.yaml").read_text()).items() if k != "trials"}
    earlier = load_table(out)
    monkeypatch.setenv("COSEARCH_TEST_FAULT", "1")  # the evaluator breaks between sessions
    code = main(["resume", str(out), "--trials", "20", "--no-progress"])
    err = capsys.readouterr().err
    assert code == 3 and "the first 3 trials all failed with the same reason" in err, err
    assert (out / "study.journal").read_bytes().startswith(journal)
    assert {k: v for k, v in yaml.safe_load((out / "config.yaml").read_text()).items() if k != "trials"} == config
    after = load_table(out)
    assert len(after) == 4 + 3
    kept = after[after["state"] == "COMPLETE"].filter(regex="^(params_|objective_)").reset_index(drop=True)
    assert kept.equals(earlier.filter(regex="^(params_|objective_)").reset_index(drop=True))


def test_failures_with_different_reasons_do_not_stop_early(write_experiment, tmp_path):
    space = {**copy.deepcopy(TINY_SPACE), "timesteps": {"choices": [5, 6]}}
    path = write_experiment(space=space, evaluators=_failing(fail_if_timesteps=6, nan_if_timesteps=5), fail_fast=3,
                            trials=8, searcher="random")
    code = main(["run", str(path), "--out", str(tmp_path / "run"), "--no-progress"])
    assert code == 3  # every trial failed, but the run used its budget: two reasons alternate
    assert len(load_table(tmp_path / "run")) == 8


@pytest.mark.slow
def test_progress_bar_says_what_the_hypervolume_is_measured_against(write_experiment, tmp_path, capsys):
    baseline = {"name": "slim", "values": {"network": {"channels": [64] * 13}, "timesteps": 2, "hardware": {"adc_bits": 4}}}
    path = write_experiment(trials=3, enqueue=[baseline])
    assert main(["run", str(path), "--out", str(tmp_path / "run")]) == 0  # progress bar on (stderr)
    assert "tiny:search (hv vs worst baseline: 0 until a design beats every baseline): 3/3" in capsys.readouterr().err


def test_experiment_outside_a_project_is_checked_against_the_packages_cards(write_experiment, tmp_path, capsys,
                                                                               monkeypatch):
    monkeypatch.chdir(tmp_path)  # no hw_models/ here or above: the analytic evaluator needs none
    assert main(["check", str(write_experiment())]) == 0, capsys.readouterr().err
    bad = write_experiment(name="bad.yaml", space=_space(device="mram"))
    assert main(["check", str(bad)]) == 2
    assert "space.hardware.device: unknown device 'mram' (cards define: fefet, pcm, rram, sram)" in capsys.readouterr().err
