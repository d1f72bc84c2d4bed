"""SNASNet cell semantics (backward edges at t+1), validity filter counts, published cell."""

from __future__ import annotations

import itertools

import pytest
import torch

from cosearch.core.candidate import Candidate
from cosearch.core.errors import InvalidCandidate
from cosearch.snn import Cell, build
from cosearch.workload import canonical_genome
from cosearch.workload.snasnet import cell_from_edges, prune_cell

PUBLISHED = "0303 0030 2002 0200"  # SNASNet's CIFAR-10 backward cell (4x4 op matrix, rows)


def _loop_cell() -> Cell:
    """3 nodes: 0 -> 2 identity, backward 2 -> 1 identity, backward 1 -> 0 identity."""
    genome = canonical_genome({"arch": "snasnet", "nodes": 3, "edge_op": [1, 1, 1],
                               "edge_dir": ["backward", "forward", "backward"]})
    assert genome["cell"] == ((0, 0, 1), (1, 0, 0), (0, 1, 0))
    return Cell(genome["cell"], channels=1)


def test_backward_edge_delivers_at_next_timestep() -> None:
    # v0[t] = x[t] + v1[t-1], v1[t] = v2[t-1], v2[t] = v0[t]  =>  out[t] = x[t] + out[t-2]
    cell = _loop_cell()
    x = torch.zeros(6, 1, 1, 2, 2)
    x[0] = 1.0
    with torch.inference_mode():
        out = cell(x)[:, 0, 0, 0, 0].tolist()
    assert out == [1.0, 0.0, 1.0, 0.0, 1.0, 0.0]


def test_feedback_state_resets_between_samples_and_chunks_continue_it() -> None:
    cell = _loop_cell()
    x = torch.zeros(6, 1, 1, 2, 2)
    x[0] = 1.0
    with torch.inference_mode():
        first = cell(x)
        cell.reset_state()
        again = cell(x)
        cell.reset_state()
        chunked = torch.cat([cell(x[:3]), cell(x[3:])])
    torch.testing.assert_close(first, again)
    torch.testing.assert_close(first, chunked)


def test_forward_cell_runs_all_timesteps_at_once_like_stepping() -> None:
    torch.manual_seed(0)
    net = build({"arch": "snasnet", "cell": "0303 0030 0002 0000", "channels": 4}, timesteps=4)
    assert not net.cell1.backward_edges
    images = torch.randn(3, 3, 32, 32)
    net.eval()  # running statistics: BN is identical however time is chunked
    with torch.inference_mode():
        whole = net(images)
        net.time_chunk = 1
        stepped = net(images)
    torch.testing.assert_close(whole, stepped)


def test_shared_node_lif_counts_reference_layers() -> None:
    cell = Cell(canonical_genome({"arch": "snasnet", "cell": PUBLISHED})["cell"], channels=2)
    # node 0 feeds conv 0->1 and conv 0->3; node 2 feeds conv 2->0 (backward) and conv 2->3.
    assert {name.removeprefix("lifs."): n for name, n in cell.lif_copies().items()} == {
        "node0": 2, "node1": 1, "node2": 2, "node3": 1}
    assert set(cell.lifs) == {"node0", "node1", "node2", "node3"}


def test_validity_filter_counts() -> None:
    total = valid = 0
    distinct = set()
    for ops in itertools.product(range(5), repeat=6):
        total += 1
        try:
            distinct.add(tuple(map(tuple, prune_cell(cell_from_edges(ops, None, 4)))))
            valid += 1
        except InvalidCandidate:
            pass
    assert total == 15_625
    assert valid == 12_500  # exactly the cells whose 0 -> 3 edge is non-zero
    assert len(distinct) == 7_556


def test_pruning_removes_dead_nodes() -> None:
    # node 2 cannot reach the output (its only edge to 3 is backward 3 -> 2): removed.
    pruned = prune_cell(cell_from_edges([1, 3, 4, 3, 1, 3], ["forward"] * 5 + ["backward"], 4))
    assert pruned == [[0, 1, 0, 4], [0, 0, 0, 1], [0, 0, 0, 0], [0, 0, 0, 0]]
    with pytest.raises(InvalidCandidate):
        prune_cell(cell_from_edges([1, 1, 0, 1, 1, 1], None, 4))


def test_published_cell_round_trips() -> None:
    from_string = canonical_genome({"arch": "snasnet", "cell": PUBLISHED})
    from_edges = canonical_genome({
        "arch": "snasnet", "edge_op": [3, 2, 3, 3, 2, 2],
        "edge_dir": ["forward", "backward", "forward", "forward", "backward", "forward"],
    })
    assert from_string == from_edges
    assert from_string["cell"] == ((0, 3, 0, 3), (0, 0, 3, 0), (2, 0, 0, 2), (0, 2, 0, 0))
    candidate = Candidate(network=from_string, timesteps=5, seed=1)
    again = Candidate.from_json(candidate.to_json())
    assert canonical_genome(again.network) == from_string
    net = build(again)
    assert net.timesteps == 5
    assert [(s, d) for s, d, _ in net.cell1.backward_edges] == [(2, 0), (3, 1)]


def test_network_declares_shared_lifs_with_their_weights() -> None:
    net = build({"arch": "snasnet", "cell": PUBLISHED, "channels": 2})
    weights = {name: copies for name, (_, copies) in net.spiking_layers().items()}
    # both cells share node 0's and node 2's LIF between two conv edges; every other LIF counts once
    assert weights["cell1.lifs.node0"] == weights["cell2.lifs.node2"] == 2
    assert weights["cell1.lifs.node1"] == weights["down.lif"] == weights["classifier.lif"] == 1
    assert sum(weights.values()) == 2 * (2 + 1 + 2 + 1) + 3


def test_stateless_layer_on_a_repeated_frame_runs_once_with_the_same_values() -> None:
    from cosearch.snn.layers import AvgPool2d, SpikeConv2d
    from cosearch.snn.steps import repeat_steps

    frame = torch.rand(2, 3, 6, 6).contiguous(memory_format=torch.channels_last)
    conv = SpikeConv2d(3, 4, 3, padding=1, bias=False)
    for layer in (AvgPool2d(3, stride=1, padding=1), conv):
        repeated = repeat_steps(frame, 4)
        with torch.inference_mode():
            once = layer(repeated)
            materialised = layer(repeated.contiguous())
        assert once.stride(0) == 0 and torch.equal(once, materialised)
