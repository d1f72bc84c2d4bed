"""Throughput of the local backend vs the Ray backend (1 and 2 workers, batched or not).

For each configuration the same experiment runs to its budget in a fresh run directory. Two
numbers are reported: the wall time including Ray start-up (what a user waits) and the
steady-state throughput, measured between the first and the last trial start (what a long
search gets). Ray's overhead per candidate is the steady-state time per candidate minus the
local backend's; parallel efficiency = speed-up / workers.

    python benchmarks/bench_ray.py --evaluator cost  --trials 400
    python benchmarks/bench_ray.py --evaluator proxy --trials 24
    python benchmarks/bench_ray.py --tune            # Ray Tune per-trial overhead, for comparison
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import pandas as pd

from cosearch.config import experiment_from_dict
from cosearch.run_dir import RunDirectory
from cosearch.search.loop import run_experiment

REPO = Path(__file__).resolve().parents[1]

EXPERIMENTS = {
    "cost": {
        "name": "bench_cost",
        "space": "search_spaces/xpert_vgg16.yaml",
        "evaluators": ["cost"],
        "objectives": [{"metric": "hw_edap", "direction": "minimize"}, {"metric": "hw_tops_w", "direction": "maximize"}],
        "searcher": "random",
    },
    "proxy": {
        "name": "bench_proxy",
        "space": "search_spaces/snasnet_backward.yaml",
        "evaluators": ["proxy"],
        "objectives": [{"metric": "proxy_score", "direction": "maximize"}],
        "searcher": "random",
    },
}

CONFIGS = [
    ("local", {"type": "local"}),
    ("ray 1 worker", {"type": "ray", "workers": 1, "batch_size": 1}),
    ("ray 2 workers", {"type": "ray", "workers": 2, "batch_size": 1}),
    ("ray 2 workers, batch 16", {"type": "ray", "workers": 2, "batch_size": 16}),
]


def steady_rate(table: pd.DataFrame) -> float:
    """Candidates per second between the first and the last trial start."""
    starts = pd.to_datetime(table["datetime_start"]).sort_values()
    span = (starts.iloc[-1] - starts.iloc[0]).total_seconds()
    return (len(starts) - 1) / span if span > 0 else float("inf")


def run(kind: str, trials: int, backend: dict, folder: Path) -> tuple[float, float]:
    data = {**EXPERIMENTS[kind], "trials": trials, "backend": backend}
    experiment = experiment_from_dict(data, REPO / "experiments" / f"bench_{kind}.yaml")
    start = time.perf_counter()
    table = run_experiment(experiment, RunDirectory(folder / backend["type"] / str(time.time_ns())), progress=False).table
    return time.perf_counter() - start, steady_rate(table)


def tune_overhead(trials: int) -> float:
    """Seconds per trial of Ray Tune running a trainable that returns at once."""
    import ray
    from ray import tune

    def trainable(config: dict) -> dict:
        return {"score": config["x"]}

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    try:
        tuner = tune.Tuner(trainable, param_space={"x": tune.uniform(0, 1)},
                           tune_config=tune.TuneConfig(num_samples=trials, metric="score", mode="max"),
                           run_config=tune.RunConfig(storage_path=tempfile.mkdtemp(), verbose=0))
        start = time.perf_counter()
        tuner.fit()
        return (time.perf_counter() - start) / trials
    finally:
        ray.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--evaluator", choices=sorted(EXPERIMENTS), default="cost")
    parser.add_argument("--trials", type=int, default=400)
    parser.add_argument("--tune", action="store_true", help="measure Ray Tune's per-trial overhead instead")
    args = parser.parse_args()
    if args.tune:
        print(f"Ray Tune, {args.trials} trivial trials: {tune_overhead(args.trials):.3f} s per trial")
        return
    print(f"{args.evaluator} evaluator, {args.trials} random candidates")
    print(f"{'backend':<26} {'wall s':>8} {'cand/s (wall)':>14} {'cand/s (steady)':>16} {'speed-up':>9} {'efficiency':>11}")
    base = None
    with tempfile.TemporaryDirectory() as tmp:
        for label, backend in CONFIGS:
            wall, rate = run(args.evaluator, args.trials, backend, Path(tmp))
            base = base or rate
            workers = backend.get("workers", 1)
            print(f"{label:<26} {wall:>8.1f} {args.trials / wall:>14.2f} {rate:>16.2f} {rate / base:>9.2f} "
                  f"{rate / base / workers:>11.2f}")


if __name__ == "__main__":
    main()
