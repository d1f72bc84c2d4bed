"""The README's main job beside a competing busy process: s/trial alone and contended, per thread rule.

Runs ``cosearch run experiments/cifar10_xpert.yaml`` for a few trials (the proxy at screening
width with noise, then the cost model: what a user's search spends its time on) three ways:
torch threads fixed to the cores (the rule before the adaptive one), the adaptive rule
(:func:`cosearch.snn.threads.cpu_threads`, the default) and one thread; each alone and beside one
single-threaded busy process (``while True: pass``). s/trial is the median evaluation time of
the trials after the first (the first pays the image load and oneDNN's kernel builds).

    COSEARCH_DATA=../shared/data python benchmarks/bench_contention.py [--trials 8]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]


def seconds_per_trial(env: dict[str, str], trials: int, busy: bool) -> float:
    """Median evaluation time [s] of trials 2..N of a fresh run, optionally beside a busy process."""
    hog = subprocess.Popen([sys.executable, "-c", "while True: pass"]) if busy else None
    try:
        with tempfile.TemporaryDirectory() as tmp:
            subprocess.run([sys.executable, "-m", "cosearch", "run", "experiments/cifar10_xpert.yaml", "--trials",
                            str(trials), "--out", f"{tmp}/run", "--no-progress"],
                           cwd=REPO, env=env, check=True, capture_output=True)
            table = pd.read_parquet(f"{tmp}/run/trials.parquet")
    finally:
        if hog is not None:
            hog.kill()
            hog.wait()
    return float(table["duration_s"].iloc[1:].median())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=8)
    args = parser.parse_args()
    base = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
    cores = len(os.sched_getaffinity(0))
    rules = {f"fixed {cores} threads (before)": {"OMP_NUM_THREADS": str(cores)},
             "adaptive (default)": {}, "fixed 1 thread": {"OMP_NUM_THREADS": "1"}}
    print(f"cifar10_xpert, {args.trials} trials, {cores} cores, competing load: 1 busy process")
    print(f"{'thread rule':<26} {'alone s/trial':>13} {'busy s/trial':>13} {'busy/alone':>11}")
    for name, extra in rules.items():
        env = {**base, **extra}
        alone = seconds_per_trial(env, args.trials, busy=False)
        busy = seconds_per_trial(env, args.trials, busy=True)
        print(f"{name:<26} {alone:>13.2f} {busy:>13.2f} {busy / alone:>11.2f}", flush=True)


if __name__ == "__main__":
    main()
