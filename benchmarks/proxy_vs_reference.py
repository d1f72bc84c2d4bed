"""The proxy side by side with SNASNet's own code: seconds per cell and ranking on the same cells and images.

The reference is the public SNASNet repository (Kim et al., ECCV 2022:
github.com/Intelligent-Computing-Lab-Yale/Neural-Architecture-Search-for-Spiking-Neural-Networks)
run unmodified in its own environment (spikingjelly 0.0.0.0.14, which its ``model_snn.py`` imports);
nothing of it is part of cosearch. Its network (``SNASNet``) is built for each cell exactly as its
search builds it (CIFAR-10: C = 128 x channel ratio 2 = 256, T = 5, LIF tau 4/3, threshold 1,
training mode, fresh initialisation per cell), the images pass once, and the score is the log-det
of the spike-pattern kernel of every LIF layer (SNASNet's eq. 3: K_ij = N - d_H(c_i, c_j) / 2,
d_H normalised by the expected Hamming distance at the two codes' firing rates, averaged over
layers). That kernel is computed here from the paper's formula in a forward hook; the network,
its initialisation and its neurons are the reference's.

cosearch scores the same cells (genome ``channels: 256``, ``channel_scale: 1``) on the same
images (``batch_size`` = all of them, one repeat) with its own network, in float32, in
bfloat16 and with int8 spike convolutions (``proxy.dtype``). Both sides time building the
network plus the scoring pass, after one warm-up cell
each (oneDNN builds its kernels on first use), with the same number of torch threads.

    python benchmarks/proxy_vs_reference.py --reference-repo PATH --reference-python PYTHON \
        [--cells 6] [--images 64] [--threads 2] [--out docs/validation/proxy_vs_reference.csv]

Prints a table (s/cell per side, speed-up, scores) and Kendall tau between the sides' scores.
Run it on an otherwise idle machine: both sides run one after the other, so a competing load
that comes or goes between them skews the ratio.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REFERENCE_ARGS = {"dataset": "cifar10", "timestep": 5, "tau": 4 / 3, "threshold": 1.0, "celltype": "backward",
                  "second_avgpooling": 2}
DTYPES = ("float32", "bfloat16", "int8")  # cosearch's proxy.dtype settings, each timed
CHANNELS = 256  # the reference's CIFAR-10 width: first_out_channel 128 x channel_ratio 2 (anchors.md section 1)


def reference_child(inputs: Path, repo: Path, threads: int) -> None:
    """In the reference's environment: one JSON line per cell (seconds, score). Imports nothing of cosearch."""
    import numpy as np
    import torch

    sys.path.insert(0, str(repo))
    from model_snn import SNASNet  # the reference network (spikingjelly 0.0.0.0.14)
    from spikingjelly.clock_driven import neuron

    torch.set_num_threads(threads)
    data = np.load(inputs)
    images = torch.from_numpy(data["images"])
    args = argparse.Namespace(**REFERENCE_ARGS)

    def score(cell: np.ndarray, seed: int, x: torch.Tensor) -> float:
        torch.manual_seed(seed)
        net = SNASNet(args, torch.from_numpy(cell.astype(np.int64)))
        kernel = {"K": torch.zeros(len(x), len(x), dtype=torch.float64), "layers": 0}

        def accumulate(module: torch.nn.Module, _: Any, out: torch.Tensor) -> None:
            codes = (out.reshape(out.shape[0], -1) > 0).float()
            n = codes.shape[1]
            distance = codes @ (1 - codes).T + (1 - codes) @ codes.T
            rate = codes.mean(dim=1, keepdim=True)
            expected = (rate @ (1 - rate).T + (1 - rate) @ rate.T) * n
            kernel["K"] += (n - 0.5 * distance / (expected + 1e-3)).double()
            kernel["layers"] += 1

        for module in net.modules():
            if isinstance(module, neuron.LIFNode):
                module.register_forward_hook(accumulate)
        with torch.no_grad():
            net(x)
        return float(np.linalg.slogdet((kernel["K"] / kernel["layers"]).numpy())[1])

    score(data["cells"][0], 0, images[:8])  # warm-up
    for k, cell in enumerate(data["cells"]):
        start = time.perf_counter()
        value = score(cell, 1000 + k, images)
        print(json.dumps({"cell": k, "seconds": time.perf_counter() - start, "score": value}), flush=True)


def cosearch_side(cells: list[Any], images: Any, dtype: str, threads: int) -> list[dict[str, float]]:
    """cosearch's proxy on the same cells and images: seconds and score per cell."""
    import torch

    from cosearch.core.candidate import Candidate
    from cosearch.proxy import ProxySettings, proxy_score
    from cosearch.workload import canonical_genome

    torch.set_num_threads(threads)
    settings = ProxySettings.from_mapping({"batch_size": len(images), "repeats": 1, "channel_scale": 1.0,
                                           "dtype": dtype, "device": "cpu"})
    genomes = [canonical_genome({"arch": "snasnet", "cell": cell, "channels": CHANNELS}) for cell in cells]
    proxy_score(Candidate(network=genomes[0], timesteps=5, seed=0), images,
                ProxySettings.from_mapping({**settings.__dict__, "batch_size": 8}))  # warm-up
    rows = []
    for k, genome in enumerate(genomes):
        start = time.perf_counter()
        result = proxy_score(Candidate(network=genome, timesteps=5, seed=1000 + k), images, settings)
        rows.append({"seconds": time.perf_counter() - start, "score": result.score})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference-repo", type=Path, required=True, help="a checkout of SNASNet's repository")
    parser.add_argument("--reference-python", required=True, help="a Python with torch and spikingjelly==0.0.0.0.14")
    parser.add_argument("--cells", type=int, default=6, help="random backward cells (SNASNet's search distribution)")
    parser.add_argument("--images", type=int, default=64, help="training images, one batch")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, help="CSV of the per-cell rows")
    parser.add_argument("--reference-child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.reference_child:
        inputs, repo, threads = args.reference_child
        reference_child(Path(inputs), Path(repo), int(threads))
        return

    import numpy as np
    import pandas as pd
    from scipy.stats import kendalltau

    sys.path.insert(0, str(HERE))
    from _common import random_backward_cells

    from cosearch.data import ImageSet, load_dataset

    full = load_dataset({})
    images = ImageSet(full.images[: args.images], full.labels[: args.images], full.mean, full.std)
    cells = [np.array(c.network["cell"]) for c in random_backward_cells(args.cells, seed=7, channels=CHANNELS)]
    with tempfile.TemporaryDirectory() as tmp:
        inputs = Path(tmp) / "inputs.npz"
        batch = images.batch(args.images, seed=0)  # all images (permuted: the log-det does not depend on order)
        np.savez(inputs, images=batch, cells=np.stack(cells))
        done = subprocess.run([args.reference_python, __file__, "--reference-repo", str(args.reference_repo),
                               "--reference-python", args.reference_python, "--reference-child", str(inputs),
                               str(args.reference_repo), str(args.threads)],
                              capture_output=True, text=True, check=False)
        if done.returncode:
            raise SystemExit(f"the reference failed:\n{done.stderr[-3000:]}")
        reference = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    sides = {dtype: cosearch_side([c.tolist() for c in cells], images, dtype, args.threads)
             for dtype in DTYPES}
    table = pd.DataFrame({
        "cell": [" ".join("".join(str(v) for v in row) for row in c) for c in cells],
        "reference_s": [r["seconds"] for r in reference], "reference_score": [r["score"] for r in reference],
        **{f"cosearch_{d}_s": [r["seconds"] for r in rows] for d, rows in sides.items()},
        **{f"cosearch_{d}_score": [r["score"] for r in rows] for d, rows in sides.items()},
    })
    for dtype in sides:
        table[f"speedup_{dtype}"] = table["reference_s"] / table[f"cosearch_{dtype}_s"]
    with pd.option_context("display.width", 200, "display.float_format", "{:.3f}".format):
        print(table.to_string(index=False))
    print(f"\n{args.cells} cells, {args.images} images, T = 5, C = {CHANNELS}, {args.threads} threads")
    for dtype in sides:
        tau = kendalltau(table["reference_score"], table[f"cosearch_{dtype}_score"]).statistic
        total = table["reference_s"].sum() / table[f"cosearch_{dtype}_s"].sum()
        print(f"cosearch {dtype:8s}: median {table[f'cosearch_{dtype}_s'].median():6.2f} s/cell, speed-up median "
              f"{table[f'speedup_{dtype}'].median():.2f}x (total time {total:.2f}x), Kendall tau vs reference {tau:.3f}")
    print(f"reference        : median {table['reference_s'].median():6.2f} s/cell")
    for dtype in DTYPES[1:]:
        tau = kendalltau(table["cosearch_float32_score"], table[f"cosearch_{dtype}_score"]).statistic
        print(f"cosearch {dtype} vs float32: Kendall tau {tau:.3f}")
    if args.out:
        table.to_csv(args.out, index=False)


if __name__ == "__main__":
    main()
