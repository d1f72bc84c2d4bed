"""Export (issue 7): trial -> genome file -> cosearch.build round trip; lazy top-level build."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch
import yaml

import cosearch
from cosearch.cli import main
from cosearch.core.candidate import Candidate
from cosearch.core.errors import CosearchError
from cosearch.design_files.genome import genome_document, read_genome, write_genome
from cosearch.workload import canonical_genome

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_importing_cosearch_does_not_import_torch() -> None:
    code = "import sys, cosearch; assert 'torch' not in sys.modules; print(callable(cosearch.build))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True"


def _same_outputs(first: torch.nn.Module, second: torch.nn.Module, shape=(2, 3, 16, 16)) -> None:
    second.load_state_dict(first.state_dict())
    first.eval(), second.eval()
    x = torch.randn(*shape, generator=torch.Generator().manual_seed(0)) * 2
    with torch.no_grad():
        torch.testing.assert_close(first(x), second(x), rtol=0, atol=0)


@pytest.mark.parametrize("suffix", ["yaml", "json"])
def test_genome_file_round_trip_builds_the_same_network(tmp_path, suffix) -> None:
    genome = canonical_genome({"arch": "snasnet", "cell": "0303 0030 2002 0200", "channels": 4, "image_size": 16})
    candidate = Candidate(network=genome, timesteps=3, hardware={"adc_bits": 4, "device": ("sram",) * 10},
                          params={"edge_op_0": 3}, seed=42)
    path = write_genome(genome_document(candidate, {"proxy_score": 12.5}), tmp_path / f"g.{suffix}")
    again, metrics = read_genome(path)
    assert again == candidate and metrics == {"proxy_score": 12.5}
    torch.manual_seed(0)
    original = cosearch.build(candidate)
    torch.manual_seed(0)
    rebuilt = cosearch.build(path)
    for (name, a), b in zip(original.state_dict().items(), rebuilt.state_dict().values()):
        assert torch.equal(a, b), name  # same seed -> same weights
    _same_outputs(original, rebuilt)


def test_build_accepts_a_bare_genome_and_rejects_junk(tmp_path) -> None:
    net = cosearch.build({"arch": "snasnet", "cell": "0303 0030 2002 0200", "channels": 4, "image_size": 16,
                          "timesteps": 2})
    assert net.timesteps == 2
    bad = tmp_path / "bad.yaml"
    bad.write_text("- 1\n- 2\n")
    with pytest.raises(CosearchError, match="not a cosearch genome"):
        cosearch.build(bad)


@pytest.mark.slow
def test_export_cli_from_a_run_directory(write_experiment, tmp_path) -> None:
    experiment = write_experiment(trials=4)
    run = tmp_path / "run"
    assert main(["run", str(experiment), "--out", str(run), "--no-progress"]) == 0
    out = tmp_path / "trial1.yaml"
    assert main(["export", str(run), "--trial", "1", "-o", str(out)]) == 0
    document = yaml.safe_load(out.read_text())
    assert document["source"]["trial"] == 1 and document["candidate"]["network"]["arch"] == "vgg16"
    assert document["source"]["dataset"] == "cifar10"
    assert "proxy_score" in document["metrics"] and "objective_hw_energy_pj" in document["metrics"]
    candidate, _ = read_genome(out)
    from cosearch.results import load_records

    assert candidate.to_dict() == Candidate.from_dict(load_records(run)[1]["candidate"]).to_dict()
    # small channels keep the forward pass cheap; the genome's structure is what is compared
    small = Candidate.from_dict({**candidate.to_dict(), "network": {**candidate.to_dict()["network"], "channels": [8] * 13}})
    torch.manual_seed(1)
    first = cosearch.build(small)
    torch.manual_seed(2)
    _same_outputs(first, cosearch.build(small), shape=(2, 3, 32, 32))

    folder = tmp_path / "front"
    assert main(["export", str(run), "--pareto", "-o", str(folder), "--format", "json"]) == 0
    files = sorted(folder.glob("trial_*.json"))
    assert files and all(json.loads(f.read_text())["format"] == "cosearch-genome/1" for f in files)
    assert main(["export", str(run), "--trial", "99"]) == 2  # unknown trial: a clear error, exit 2

    # network CSVs for NeuroSim / XPert: one row per crossbar layer of the trial's genome
    csv_file = tmp_path / "trial1.csv"
    assert main(["export", str(run), "--trial", "1", "-o", str(csv_file), "--format", "xpert"]) == 0
    from cosearch.design_files.network_csv import read_network_csv
    from cosearch.workload import network_layers

    shapes, mapping = read_network_csv(csv_file)
    layers = network_layers(candidate.network)
    assert [(r[0], r[1], r[2], r[3]) for r in shapes.rows.tolist()] == [
        (layer.cin, layer.cout, layer.kernel, layer.h_out * layer.w_out) for layer in layers]
    assert set(mapping) == {"column_sharing", "adc_type", "input_bits", "adc_bits"} and len(mapping["adc_bits"]) == len(layers)


def test_neurosim_csv_of_vgg16_marks_its_pooling() -> None:
    from cosearch.design_files.network_csv import network_csv

    text = network_csv(Candidate(network=canonical_genome({"arch": "vgg16"}), timesteps=5), "neurosim", {})
    rows = [list(map(int, line.split(","))) for line in text.split()]
    assert rows[0] == [32, 32, 3, 3, 3, 64, 0, 1] and rows[1] == [32, 32, 64, 3, 3, 64, 1, 1]  # pool after conv2
    assert [row[6] for row in rows] == [0, 1, 0, 1, 0, 0, 1, 0, 0, 1, 0, 0, 0, 0]
    assert rows[-1][:3] == [1, 1, 2048] and rows[-1][5] == 10  # the classifier: a 1x1 "conv" on a 1x1 map
