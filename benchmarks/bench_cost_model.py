"""Cost-model throughput: VGG16-family (13 conv + fc) candidates priced per second on one core.

Each candidate has random per-layer channels {64,128,256,512} and a random per-layer XPert-style
mapping (ADC type/bits, column sharing, input bits). Timed: mapping extraction + vectorised
pricing + scalar metrics (``map_candidates`` + ``price`` + ``metrics``), and separately the full
``CostEvaluator.evaluate_batch`` that also builds the JSON per-layer breakdown of every candidate.
The per-genome layer cache is cleared before every timed call, so every candidate pays for its
``network_layers`` (the cold, all-new-genomes case a search sees).

Run: ``python benchmarks/bench_cost_model.py`` (a few seconds).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from cosearch.core.candidate import Candidate
from cosearch.core.evaluator import EvaluationContext
from cosearch.evaluators.cost import CostEvaluator
from cosearch.hw import load_hardware, map_candidates, price
from cosearch.hw.mapping import _cached_shapes
from cosearch.workload import canonical_genome

REPO = Path(__file__).resolve().parents[1]


def random_candidates(n: int, seed: int = 0) -> list[Candidate]:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        genome = canonical_genome({"arch": "vgg16", "channels": tuple(int(c) for c in rng.choice([64, 128, 256, 512], 13))})
        hardware = {
            "adc_type": tuple(str(a) for a in rng.choice(["sar", "flash"], 14)),
            "adc_bits": tuple(int(b) for b in rng.integers(2, 9, 14)),
            "column_sharing": tuple(int(s) for s in rng.choice([2, 4, 8, 16, 32], 14)),
            "input_bits": tuple(int(b) for b in rng.integers(2, 9, 14)),
        }
        out.append(Candidate(network=genome, timesteps=int(rng.integers(1, 9)), hardware=hardware))
    return out


def best_time(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        _cached_shapes.cache_clear()
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    model = load_hardware(REPO)
    evaluator = CostEvaluator({}, EvaluationContext(project_dir=REPO))
    print(f"{'batch':>7} {'price cand/s':>13} {'us/cand':>8} {'evaluator cand/s':>17} {'us/cand':>8}")
    for batch in (1, 10, 100, 1000, 10000):
        candidates = random_candidates(batch, seed=batch)
        upstream = [{}] * batch
        repeats = 5 if batch <= 1000 else 2
        t_price = best_time(lambda c=candidates: price(map_candidates(c, model), model).metrics(), repeats)
        t_eval = best_time(lambda c=candidates, u=upstream: evaluator.evaluate_batch(c, u), repeats)
        print(f"{batch:>7} {batch / t_price:>13,.0f} {t_price / batch * 1e6:>8.1f} "
              f"{batch / t_eval:>17,.0f} {t_eval / batch * 1e6:>8.1f}")


if __name__ == "__main__":
    main()
