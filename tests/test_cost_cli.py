"""``cosearch cost``: a genome file and a network CSV priced without a search; bad input exits 2 naming it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from cosearch.cli import main
from cosearch.core.candidate import Candidate
from cosearch.core.evaluator import EvaluationContext
from cosearch.design_files.genome import genome_document, write_genome
from cosearch.evaluators.cost import CostEvaluator
from cosearch.workload import canonical_genome

REPO = Path(__file__).resolve().parents[1]
CSV = "32,32,3,3,3,64,0,1\n32,32,64,3,3,64,1,1\n16,16,64,3,3,128,0,2\n1,1,8192,1,1,10,0,1\n"


def run_cost(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["cost", *args, "--project-dir", str(REPO)])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_genome_file_is_priced_as_the_cost_evaluator_prices_it(tmp_path, capsys):
    candidate = Candidate(network=canonical_genome({"arch": "vgg16", "channels": (64,) * 13}), timesteps=3,
                          hardware={"adc_bits": 4})
    path = write_genome(genome_document(candidate), tmp_path / "design.yaml")
    code, out, _ = run_cost(capsys, str(path), "--json")
    assert code == 0
    result = json.loads(out)
    expected = CostEvaluator({}, EvaluationContext(project_dir=REPO)).evaluate(candidate, {})
    for name, value in result["metrics"].items():
        assert value == pytest.approx(expected[name]), name
    assert len(result["breakdown"]["layers"]["name"]) == 14
    code, table, _ = run_cost(capsys, str(path), "-T", "5")
    assert code == 0 and "conv13" in table and "hw_tops_mm2" in table and "tile_buffer" in table


def test_network_csv_with_preset_node_set_and_activity(tmp_path, capsys):
    path = tmp_path / "net.csv"
    path.write_text(CSV)
    code, out, _ = run_cost(capsys, str(path), "--json")
    base = json.loads(out)
    assert code == 0 and base["breakdown"]["layers"]["name"] == ["conv1", "conv2", "conv3", "linear4"]
    # conv3 has stride 2: 8x8 output positions; ops count its 64 positions
    code, out, _ = run_cost(capsys, str(path), "--json", "--set", "pe.rows_per_read=16", "--node", "22",
                            "--activity", "0.5", "-T", "2")
    varied = json.loads(out)["metrics"]
    assert code == 0 and varied["hw_latency_ns"] > base["metrics"]["hw_latency_ns"]
    code, out, _ = run_cost(capsys, str(path), "--preset", "spikesim_65nm")
    assert code == 0 and "linear4" in out
    header = tmp_path / "header.csv"
    header.write_text("h,w,cin,kernel_h,kernel_w,cout,pooling,stride,adc_bits\n8,8,16,3,3,16,0,1,3\n")
    code, out, _ = run_cost(capsys, str(header), "--json")
    assert code == 0 and len(json.loads(out)["breakdown"]["layers"]["name"]) == 1


@pytest.mark.parametrize(("text", "message"), [
    ("32,32,3,3,3,64,0\n", r"net.csv: row 1: has 7 columns, expected 8"),
    ("32,32,3,3,3,64,0,1\n16,16,0,3,3,64,0,1\n", r"net.csv: row 2.cin: must be an integer >= 1 \(got '0'\)"),
    ("32,-32,3,3,3,64,0,1\n", r"net.csv: row 1.w: must be an integer >= 1 \(got '-32'\)"),
    ("2,2,3,5,5,64,0,1\n", r"net.csv: row 1: kernel 5 is larger than the 2x2 input .*: the layer cannot map"),
    ("1,1,512,3,3,10,0,1\n", r"net.csv: row 1: kernel 3 is larger than the 1x1 input"),
    ("32,32,3,3,1,64,0,1\n", r"net.csv: row 1: kernel 3x1 is not square"),
    ("h,w,cin,kernel,cout\n", r"net.csv: row 1: unknown column 'kernel'"),
    ("32,32,3,3,3,64,0,1,8,ramp,8,4\n", r"net.csv: candidate.hardware.adc_type: unknown adc_type 'ramp'"),
])
def test_bad_network_csv_exits_2_naming_file_and_row(tmp_path, capsys, text, message):
    path = tmp_path / "net.csv"
    path.write_text(text)
    code, _, err = run_cost(capsys, str(path))
    assert code == 2
    assert re.search(message, err), err


@pytest.mark.parametrize(("args", "message"), [
    (["--set", "pe.rows_per_reads=32"], r"--set: pe.rows_per_reads: unknown key \(allowed: analog_psum"),
    (["--set", "pipeline.mode=pipelined"], r"--set: pipeline.mode: unknown value 'pipelined'"),
    (["--set", "rows_per_read"], r"--set: rows_per_read: expected section.key=value"),
    (["--preset", "nosuch"], r"--preset: nosuch: no such preset \(shipped: neurosim_v14_22nm, spikesim_65nm\)"),
    (["--activity", "1.5"], r"--activity: must lie in \[0, 1\]"),
])
def test_bad_settings_exit_2_naming_the_key(tmp_path, capsys, args, message):
    path = tmp_path / "net.csv"
    path.write_text(CSV)
    code, _, err = run_cost(capsys, str(path), *args)
    assert code == 2
    assert re.search(message, err), err
