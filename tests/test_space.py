"""Search-space DSL: every parameter kind, sampled through every searcher, into Candidates."""

from __future__ import annotations

import contextlib
import math

import optuna
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from yaml_trees import mutated, trees

from cosearch.core.errors import ConfigError, InvalidCandidate
from cosearch.core.samplers import SAMPLERS, make_sampler
from cosearch.hw import load_hardware_section
from cosearch.search.preflight import check_space
from cosearch.space import parse_space, with_fixed

HARDWARE = load_hardware_section()

ALL_KINDS = {
    "name": "all_kinds",
    "network": {
        "arch": "vgg16",  # fixed scalar
        "channels": {"choices": [32, 64], "count": 13, "at": {0: 16}},  # per-layer + fixed override
        "image_size": {"value": 32},  # explicit fixed
    },
    "timesteps": {"low": 2, "high": 6, "step": 2},  # int with step
    "hardware": {
        "adc_type": {"choices": ["sar", "flash"], "count": 14},
        "adc_bits": {  # conditional, element-wise on adc_type
            "count": 14,
            "given": "adc_type",
            "cases": {"sar": {"low": 4, "high": 8}, "flash": {"low": 1, "high": 3}},
        },
        "column_sharing": {"low": 2, "high": 32, "log": True},  # int log
        "device": {"choices": ["sram", "pcm", "fefet"], "count": 3, "repeat": [4, 4, 6]},  # layer groups
        "xbar_size": [64] * 14,  # fixed per-layer list
        "weight_bits": {"low": 1.0, "high": 8.0, "type": "float"},  # float
        "input_bits": {"low": 0.5, "high": 16.0, "log": True},  # float log
    },
}


def _check(candidate, trial):
    channels = candidate.network["channels"]
    assert channels[0] == 16 and all(c in (32, 64) for c in channels[1:])
    assert candidate.timesteps in (2, 4, 6)
    hw = candidate.hardware
    for kind, bits in zip(hw["adc_type"], hw["adc_bits"]):
        assert (4 <= bits <= 8) if kind == "sar" else (1 <= bits <= 3)
    assert 2 <= hw["column_sharing"] <= 32
    devices = hw["device"]
    assert len(devices) == 14 and len(set(devices[:4])) == len(set(devices[4:8])) == len(set(devices[8:])) == 1
    assert hw["xbar_size"] == (64,) * 14
    assert 1.0 <= hw["weight_bits"] <= 8.0 and 0.5 <= hw["input_bits"] <= 16.0
    # conditional parameters are named per case so each name keeps one distribution
    for i, kind in enumerate(hw["adc_type"]):
        assert f"adc_bits_{i}_{kind}" in trial.params
        assert f"adc_bits_{i}_{'flash' if kind == 'sar' else 'sar'}" not in trial.params


@pytest.mark.slow
@pytest.mark.parametrize("searcher", sorted(SAMPLERS))
def test_every_kind_with_every_sampler(searcher):
    space = parse_space(ALL_KINDS)
    options = {"population_size": 4} if searcher.startswith("nsga") else {}
    if searcher in ("tpe", "gp"):
        options["n_startup_trials"] = 3
    study = optuna.create_study(directions=["maximize", "minimize"], sampler=make_sampler(searcher, options, seed=0))
    for _ in range(8):
        trial = study.ask()
        candidate = space.sample(trial, seed=1)
        _check(candidate, trial)
        study.tell(trial, [sum(candidate.network["channels"]), candidate.timesteps])
    assert len(study.trials) == 8


def test_parameter_names_and_params_round_trip():
    space = parse_space(ALL_KINDS)
    names = space.parameter_names()
    assert "channels_0" not in names and "channels_1" in names  # at: fixed override
    assert "device_group_2" in names and "device_group_3" not in names and "device_0" not in names  # 3 groups
    trial = optuna.create_study().ask()
    values = space.sample_values(trial)
    assert space.params_for(values) == trial.params
    assert space.missing_params(trial.params) == []
    partial = dict(trial.params)
    partial.pop("timesteps")
    partial["column_sharing"] = 64  # out of range
    assert sorted(space.missing_params(partial)) == ["column_sharing", "timesteps"]


def test_with_fixed_removes_a_parameter():
    space = with_fixed(parse_space(ALL_KINDS), {"timesteps": 4}, "x.yaml", "fix")
    assert "timesteps" not in space.parameter_names()
    assert space.sample(optuna.create_study().ask()).timesteps == 4
    with pytest.raises(ConfigError, match=r"x.yaml: fix.nope: not a parameter"):
        with_fixed(space, {"nope": 1}, "x.yaml", "fix")


def test_same_space_same_sampler_seed_same_candidates():
    space = parse_space(ALL_KINDS)

    def draw():
        study = optuna.create_study(sampler=make_sampler("random", {}, seed=5))
        return [space.sample(study.ask()).to_json() for _ in range(3)]

    assert draw() == draw()


def test_hardware_list_length_must_match_layer_slots():
    space = parse_space({"network": {"arch": "vgg16"}, "hardware": {"adc_bits": {"choices": [4], "count": 13}}})
    with pytest.raises(InvalidCandidate, match="13 per-layer values but arch 'vgg16' has 14 layer slots"):
        space.sample(optuna.create_study().ask())


@pytest.mark.parametrize(
    "bad, message",
    [
        ({"network": {"channels": 64}}, "network: must be a mapping with at least 'arch'"),
        ({"network": {"arch": "vgg16", "channels": {"choices": [1], "cont": 13}}}, "network.channels.cont: unknown key"),
        ({"network": {"arch": "vgg16", "channels": {"choices": [1], "count": 0}}}, "network.channels.count: must be an integer from 1"),
        ({"network": {"arch": "vgg16"}, "hardware": {"device": {"choices": ["a"], "count": 2, "repeat": [1]}}},
         "hardware.device.repeat: must be a list of 2 positive integers"),
        ({"network": {"arch": "vgg16"}, "hardware": {"adc_bits": {"given": "adc_type", "cases": {"sar": 4}}}},
         "hardware.adc_bits.given: must name another key of hardware"),
        ({"network": {"arch": "vgg16"}, "timesteps": {"low": 0.0, "high": 1.0, "log": True}},
         "timesteps.low: must be > 0 when log: true"),
    ],
)
def test_bad_space_messages(bad, message):
    with pytest.raises(ConfigError) as info:
        parse_space(bad, "s.yaml")
    assert str(info.value).startswith(f"s.yaml: {message}")


def test_float_values_are_finite():
    space = parse_space(ALL_KINDS)
    study = optuna.create_study(sampler=make_sampler("qmc", {}, seed=0))
    for _ in range(4):
        trial = study.ask()
        assert math.isfinite(space.sample(trial).hardware["weight_bits"])
        study.tell(trial, 0.0)


# ------------------------------------------------------------ property tests (hypothesis) ----


@pytest.mark.slow
@settings(max_examples=150, deadline=None, database=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(document=st.one_of(mutated(ALL_KINDS), mutated(ALL_KINDS), trees))
def test_any_yaml_tree_gives_a_space_or_a_config_error(document):
    """Random types at every key: parsing gives a space or ConfigError; a parsed space samples into a
    Candidate (or an InvalidCandidate the search records) and its preflight check gives a ConfigError at worst."""
    try:
        space = parse_space(document, "space.yaml")
    except ConfigError as exc:
        assert str(exc).startswith("space.yaml")
        return
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    try:
        candidate = space.sample(study.ask())
    except InvalidCandidate:
        candidate = None
    assert candidate is None or candidate.timesteps >= 0
    with contextlib.suppress(ConfigError):
        check_space(space, ("space.yaml", ""), HARDWARE)
