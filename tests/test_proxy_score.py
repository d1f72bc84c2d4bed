"""Proxy score and ProxyEvaluator: determinism, discrimination, metrics, settings validation."""

from __future__ import annotations

import math

import pytest

from cosearch.core.candidate import Candidate
from cosearch.core.errors import ConfigError, CosearchError
from cosearch.core.evaluator import EvaluationContext
from cosearch.data import load_dataset
from cosearch.evaluators.proxy import ProxyEvaluator
from cosearch.proxy import ProxySettings, proxy_score
from cosearch.workload import canonical_genome, network_layers, network_slots, scale_channels

FAST = ProxySettings(batch_size=12, repeats=2, channel_scale=1.0)
PUBLISHED = canonical_genome({"arch": "snasnet", "cell": "0303 0030 2002 0200", "channels": 4})


@pytest.fixture(scope="module")
def images():
    return load_dataset({})


def _candidate(genome, seed: int = 3, timesteps: int = 2) -> Candidate:
    return Candidate(network=genome, timesteps=timesteps, seed=seed)


def test_same_seed_same_score_and_seed_matters(images) -> None:
    a = proxy_score(_candidate(PUBLISHED), images, FAST)
    b = proxy_score(_candidate(PUBLISHED), images, FAST)
    c = proxy_score(_candidate(PUBLISHED, seed=4), images, FAST)
    assert a.score == b.score and a.repeat_scores == b.repeat_scores and math.isfinite(a.score)
    assert len(a.repeat_scores) == 2 and a.score == pytest.approx(sum(a.repeat_scores) / 2)
    assert c.score != a.score


def test_clearly_different_cells_score_differently(images) -> None:
    rich = proxy_score(_candidate(PUBLISHED), images, FAST).score
    bare = canonical_genome({"arch": "snasnet", "cell": "0001 0000 0000 0000", "channels": 4})  # identity only
    poor = proxy_score(_candidate(bare), images, FAST).score
    assert rich != pytest.approx(poor, abs=1e-3)


def test_metrics_and_input_activity_per_slot(images) -> None:
    result = proxy_score(_candidate(PUBLISHED), images, FAST)
    metrics = result.metrics()
    assert set(metrics) == {"proxy_score", "proxy_synflow", "proxy_firing_rate", "proxy_spike_count", "proxy_synops",
                            "proxy_layer_firing_rates", "proxy_input_activity"}
    assert 0 < metrics["proxy_firing_rate"] < 1 and metrics["proxy_spike_count"] > 0 and metrics["proxy_synops"] > 0
    rates = metrics["proxy_layer_firing_rates"]
    assert "down.lif" in rates and "cell1.lifs.node0" in rates and all(0 <= r <= 1 for r in rates.values())
    activity = metrics["proxy_input_activity"]
    assert len(activity) == network_slots(PUBLISHED)
    slots = {layer.slot for layer in network_layers(PUBLISHED)}
    assert all((a is None) == (i not in slots) for i, a in enumerate(activity))
    assert activity[0] == pytest.approx(1.0, abs=0.01)  # the stem sees (dense) pixels
    assert activity[1] == pytest.approx(rates["cell1.lifs.node0"])  # conv 0->1 sees node 0's spikes
    sparse = canonical_genome({"arch": "snasnet", "cell": "0104 0003 0001 0000", "channels": 4})
    assert proxy_score(_candidate(sparse), images, FAST).input_activity[2] is None  # pair (0,2) is zero


def test_vgg_and_naswot(images) -> None:
    genome = canonical_genome({"arch": "vgg16", "channels": 4})
    result = proxy_score(_candidate(genome, timesteps=2), images, ProxySettings(batch_size=8, repeats=1, kernel="naswot"))
    assert math.isfinite(result.score) or result.score == -math.inf
    assert len(result.layer_firing_rates) == 13 and len(result.input_activity) == 14


def test_channel_scale() -> None:
    assert scale_channels(PUBLISHED, 0.5)["channels"] == 2
    vgg = scale_channels({"arch": "vgg16", "channels": 64}, 0.25)
    assert vgg["channels"] == (16,) * 13
    assert scale_channels({"arch": "vgg16", "channels": 2}, 0.1)["channels"] == (1,) * 13


def test_evaluator_reads_context_and_options(images) -> None:
    context = EvaluationContext(proxy={"batch_size": 16, "repeats": 1, "channel_scale": 1.0})
    evaluator = ProxyEvaluator({"kernel": "naswot"}, context)
    assert evaluator.settings == ProxySettings(batch_size=16, repeats=1, channel_scale=1.0, kernel="naswot")
    metrics = evaluator.evaluate(_candidate(PUBLISHED, timesteps=2), {})
    assert metrics == evaluator.evaluate(_candidate(PUBLISHED, timesteps=2), {})


@pytest.mark.parametrize(
    "section, path",
    [
        ({"batch_size": 1}, "proxy.batch_size"),
        ({"batch_size": "64"}, "proxy.batch_size"),
        ({"repeats": 0}, "proxy.repeats"),
        ({"channel_scale": 0}, "proxy.channel_scale"),
        ({"kernel": "ntk"}, "proxy.kernel"),
        ({"dtype": "float16"}, "proxy.dtype"),
        ({"time_chunk": 0}, "proxy.time_chunk"),
        ({"batchsize": 64}, "proxy.batchsize"),
    ],
)
def test_bad_settings_name_the_key(section: dict, path: str) -> None:
    with pytest.raises(ConfigError) as info:
        ProxyEvaluator({}, EvaluationContext(proxy=section))
    assert info.value.path == path
    assert "(got" in str(info.value) or "unknown key" in str(info.value)


def test_missing_data_fails_on_construction(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setenv("COSEARCH_DATA", str(tmp_path))
    with pytest.raises(CosearchError, match=r"data\.root"):
        ProxyEvaluator({}, EvaluationContext(data={"root": None}))
