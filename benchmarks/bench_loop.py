"""Loop overhead per trial: cosearch's ask/sample/tell/record with journal storage vs bare Optuna.

The evaluator is the tests' analytic one (microseconds per call), so the time measured is the
loop's own: Optuna sampling, Candidate building, journal writes (trial + user attrs) and the
results table written at the end.

    python benchmarks/bench_loop.py [--trials 300]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import optuna
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from conftest import experiment_dict  # noqa: E402  (tests/ is on the path above)

from cosearch.config import load_experiment  # noqa: E402
from cosearch.core.samplers import make_sampler  # noqa: E402
from cosearch.run_dir import RunDirectory  # noqa: E402
from cosearch.search.loop import run_experiment  # noqa: E402
from cosearch.space import parse_space  # noqa: E402


def bare_optuna(searcher: str, trials: int, space_data: dict) -> float:
    """Seconds for ask + space.sample + tell in memory (no records, no storage)."""
    space = parse_space(space_data)
    study = optuna.create_study(directions=["maximize", "minimize"], sampler=make_sampler(searcher, {}, 0))
    start = time.perf_counter()
    for _ in range(trials):
        trial = study.ask()
        candidate = space.sample(trial)
        study.tell(trial, [sum(candidate.network["channels"]), candidate.timesteps])
    return time.perf_counter() - start


def cosearch_loop(searcher: str, trials: int, folder: Path) -> float:
    path = folder / f"{searcher}.yaml"
    path.write_text(yaml.safe_dump(experiment_dict(name=f"bench_{searcher}", searcher=searcher, trials=trials)))
    experiment = load_experiment(path)
    start = time.perf_counter()
    run_experiment(experiment, RunDirectory(folder / searcher), progress=False)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=300)
    args = parser.parse_args()
    space = experiment_dict()["space"]
    print(f"loop overhead, {args.trials} trials, 2-objective VGG16 space (27 parameters), analytic evaluator")
    print(f"{'searcher':<9} {'bare optuna ms/trial':>21} {'cosearch+journal ms/trial':>26} {'ratio':>6}")
    with tempfile.TemporaryDirectory() as tmp:
        for searcher in ("random", "tpe", "nsga2"):
            bare = bare_optuna(searcher, args.trials, space) / args.trials * 1e3
            full = cosearch_loop(searcher, args.trials, Path(tmp)) / args.trials * 1e3
            print(f"{searcher:<9} {bare:>21.2f} {full:>26.2f} {full / bare:>6.2f}")


if __name__ == "__main__":
    main()
