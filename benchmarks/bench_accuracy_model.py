"""Scoring overhead of the accuracy model per candidate: features + prediction, fit time.

What the ``accuracy_model`` evaluator adds to a trial beyond the evaluators before it: the design
features of the candidate (:func:`cosearch.predictor.features.feature_row`) and one prediction of
a fitted model. Fitted here on a synthetic calibration table with the shape of the SpikeNAS-Bench
development half (237 rows, one column per feature the co-search experiments produce); the
prediction time does not depend on the values, only on rows x features. Also times the fit (what a
refit costs when a trained row arrives) for both families, and a batch of 100 candidates.

    python benchmarks/bench_accuracy_model.py [--rows 237] [--repeats 200]

Goal (issue 31): < 5 ms per candidate.
"""

from __future__ import annotations

import argparse
import platform
import time

import numpy as np
import pandas as pd
import torch

from cosearch.core.candidate import Candidate
from cosearch.predictor.features import FeatureScope, feature_row
from cosearch.predictor.model import FAMILIES, AccuracyModel
from cosearch.workload import canonical_genome

#: The scalar metrics an XPert-style pipeline (cost, noisy proxy, cost) hands the model.
METRICS = ("proxy_score", "proxy_synflow", "proxy_firing_rate", "proxy_spike_count", "proxy_synops",
           "proxy_score_noisy", "proxy_score_drop", "proxy_noise_spike_mismatch", "proxy_noise_weight_error",
           "proxy_accuracy_estimate", "hw_energy_pj", "hw_latency_ns", "hw_throughput_ips", "hw_area_mm2", "hw_edap",
           "hw_tops_w", "hw_tops_mm2")
SCOPE = FeatureScope({"device": "rram", "adc_type": "sar", "adc_bits": 5, "column_sharing": 8, "input_bits": 8},
                     ("fefet", "pcm", "rram", "sram"))


def candidates() -> dict[str, Candidate]:
    vgg = canonical_genome({"arch": "vgg16", "channels": [64, 64, 128, 128, 256, 256, 256, 512, 512, 512, 512, 512, 512]})
    cell = canonical_genome({"arch": "snasnet", "nodes": 4, "channels": 128, "edge_op": [3, 2, 3, 3, 2, 2],
                             "edge_dir": ["forward", "backward", "forward", "forward", "backward", "forward"]})
    hardware = {"adc_type": ("sar",) * 7 + ("flash",) * 7, "adc_bits": (6,) * 7 + (3,) * 7, "column_sharing": 8}
    return {"vgg16": Candidate(vgg, 5, hardware), "snasnet": Candidate(cell, 5, {"device": "pcm"})}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=237)
    parser.add_argument("--repeats", type=int, default=200)
    args = parser.parse_args()
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    designs = candidates()
    metrics = {name: float(rng.normal()) for name in METRICS}
    columns = list(feature_row(designs["vgg16"], metrics, SCOPE))
    table = pd.DataFrame(rng.normal(size=(args.rows, len(columns))), columns=columns)
    accuracy = 85 + table.iloc[:, :5].sum(axis=1).to_numpy() + rng.normal(0, 0.3, args.rows)
    print(f"{platform.processor() or platform.machine()}, 1 thread; {args.rows} calibration rows x {len(columns)} features\n")
    print("| family | fit [s] | features + predict, one candidate [ms] (vgg16 / snasnet) | batch of 100 [ms per candidate] |")
    print("|---|---|---|---|")
    for family in FAMILIES:
        began = time.perf_counter()
        model = AccuracyModel(family, 0).fit(table, columns, accuracy)
        fit_s = time.perf_counter() - began
        single = []
        for design in designs.values():
            began = time.perf_counter()
            for _ in range(args.repeats):
                model.predict(pd.DataFrame([feature_row(design, metrics, SCOPE)]))
            single.append(1000 * (time.perf_counter() - began) / args.repeats)
        batch = [designs["vgg16"]] * 100
        began = time.perf_counter()
        model.predict(pd.DataFrame([feature_row(c, metrics, SCOPE) for c in batch]))
        batch_ms = 1000 * (time.perf_counter() - began) / len(batch)
        print(f"| {family} | {fit_s:.2f} | {single[0]:.2f} / {single[1]:.2f} | {batch_ms:.3f} |")


if __name__ == "__main__":
    main()
