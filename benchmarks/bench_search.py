"""Search efficiency: hypervolume against trials and against wall time, per searcher and seed.

Each ``run`` is one search of a shipped experiment with one searcher setting at a reduced budget,
cached as JSON (one file per experiment/setting/seed) so that the runs can be spread over several
invocations; ``table`` aggregates the cached runs into medians over seeds. The hypervolume is the
results table's (``cosearch.results``): feasible trials only, against the reference point of the
experiment's enqueued baseline, which every run evaluates first with the same values
(``common_seed``), so every run of one experiment is measured against the same point.

Settings (``SETTINGS``): ``random`` and ``nsga2`` score every candidate with the proxy first
(the pipeline ``proxy, cost`` the experiments shipped before cheap-first screening);
``*_cf`` price the candidate with the cost model first and skip the proxy when a constraint is
violated (``skip_when: [constraints]``, docs/search.md).

    python benchmarks/bench_search.py run --experiment xpert --setting nsga2_cf --seed 0 --trials 100
    python benchmarks/bench_search.py table [--cache /tmp/bench_search]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cosearch.config import experiment_from_dict
from cosearch.core.files import read_yaml
from cosearch.core.pareto import hypervolume_history, non_dominated, to_minimization
from cosearch.run_dir import RunDirectory
from cosearch.search.loop import run_experiment

REPO = Path(__file__).resolve().parents[1]

EXPERIMENTS = {"xpert": REPO / "experiments" / "cifar10_xpert.yaml",
               "cosearch": REPO / "experiments" / "cifar10_cosearch.yaml"}
PROXY_FIRST: list[Any] = ["proxy", {"type": "cost", "options": {"use_activity": True}}]
CHEAP_FIRST: list[Any] = ["cost", {"type": "proxy", "skip_when": ["constraints"]},
                          {"type": "cost", "options": {"use_activity": True}}]
#: Setting name -> (searcher section, evaluator list).
SETTINGS: dict[str, tuple[dict[str, Any], list[Any]]] = {
    "random": ({"type": "random"}, PROXY_FIRST),
    "nsga2": ({"type": "nsga2", "options": {"population_size": 40}}, PROXY_FIRST),
    "random_cf": ({"type": "random"}, CHEAP_FIRST),
    "nsga2_cf": ({"type": "nsga2", "options": {"population_size": 40}}, CHEAP_FIRST),
    "nsga2_p20_cf": ({"type": "nsga2", "options": {"population_size": 20}}, CHEAP_FIRST),
    "tpe_cf": ({"type": "tpe", "options": {"multivariate": True, "n_startup_trials": 20}}, CHEAP_FIRST),
    "preselect": ({"type": "random", "preselect": {"pool": 256, "startup": 20}}, CHEAP_FIRST),
}
DEFAULT_CACHE = Path("/tmp/bench_search")
DIRECTIONS = {"objective_proxy_score_noisy": "maximize", "objective_hw_edap": "minimize"}


def curves(table: pd.DataFrame) -> dict[str, list[Any]]:
    """Per finished trial, in trial order: wall time since the first trial started until this one
    ended [s], hypervolume so far (against the baseline, as the run reports it), the objective
    values (None where not scored), state, feasible, whether a screen skipped its proxy."""
    done = table[table["state"].isin(["COMPLETE", "FAIL"])].sort_values("trial")
    objectives = [c for c in done.columns if c.startswith("objective_")]
    values = [[None if pd.isna(v) else float(v) for v in row] for row in done[objectives].to_numpy()]
    start = pd.to_datetime(done["datetime_start"])
    ended = (start - start.iloc[0]).dt.total_seconds().to_numpy() + done["duration_s"].fillna(0).to_numpy()
    screened = done["objective_proxy_score_noisy"].isna() & (done["state"] == "COMPLETE")
    return {"elapsed_s": np.maximum.accumulate(ended).round(3).tolist(),
            "hypervolume": done["hypervolume"].fillna(0.0).astype(float).tolist(),
            "objectives": objectives, "values": values,
            "state": done["state"].tolist(), "feasible": done["feasible"].astype(bool).tolist(),
            "screened": screened.astype(bool).tolist()}


def run(experiment: str, setting: str, seed: int, trials: int, cache: Path) -> Path:
    """One search; its curves cached as ``cache/<experiment>_<setting>_s<seed>_t<trials>.json``."""
    source = EXPERIMENTS[experiment]
    raw = read_yaml(source)
    raw["searcher"], raw["evaluators"] = SETTINGS[setting]
    exp = experiment_from_dict(raw, source, trials=trials, seed=seed)
    name = f"{experiment}_{setting}_s{seed}_t{trials}"
    folder = cache / "runs" / name
    if folder.exists():
        raise SystemExit(f"{folder} exists; remove it to rerun")
    begin = time.perf_counter()
    result = run_experiment(exp, RunDirectory(folder), progress=False)
    data = {"experiment": experiment, "setting": setting, "seed": seed, "trials": trials,
            "wall_s": round(time.perf_counter() - begin, 2), **curves(result.table)}
    out = cache / f"{name}.json"
    out.write_text(json.dumps(data))
    print(f"{name}: {data['wall_s']:.0f} s, final hv {data['hypervolume'][-1]:.3e}, "
          f"screened {sum(data['screened'])}, fail {data['state'].count('FAIL')}")
    return out


def hv_at_time(data: dict[str, Any], seconds: float) -> float:
    """Hypervolume of the trials that had ended by ``seconds`` (0 before the first)."""
    index = int(np.searchsorted(np.asarray(data["elapsed_s"]), seconds, side="right")) - 1
    return float(data["hypervolume"][index]) if index >= 0 else 0.0


def with_common_nadir(runs: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Copies of ``runs`` whose ``hypervolume`` curves are against one reference per experiment: the
    nadir of the Pareto front of the feasible trials of all its runs (the worst value of each
    objective over that front), for an experiment whose baseline no run dominates (where every
    baseline-referenced curve is 0)."""
    out = []
    for experiment in sorted({r["experiment"] for r in runs}):
        group = [r for r in runs if r["experiment"] == experiment]
        directions = [DIRECTIONS[name] for name in group[0]["objectives"]]
        points = np.array([v for r in group for v, ok in zip(r["values"], r["feasible"]) if ok], dtype=float)
        front = points[non_dominated(to_minimization(points, directions))]
        nadir = [float(c.min() if d == "maximize" else c.max()) for c, d in zip(front.T, directions)]
        for r in group:
            values = np.array([[np.nan if x is None else x for x in v] for v in r["values"]], dtype=float)
            curve = hypervolume_history(values, np.asarray(r["feasible"]), directions, nadir)
            out.append({**r, "hypervolume": curve.tolist()})
    return out


def summarise(runs: Sequence[dict[str, Any]], reference: str = "random") -> pd.DataFrame:
    """Medians over seeds per (experiment, setting): hypervolume at 1/4, 1/3, 1/2 and all of the
    trials, wall time, seconds per trial, the share of trials screened, and the goal check: the
    median hypervolume at 1/3 of the reference setting's median wall time against the reference's
    final median ("n/a (0)" where that is 0: no design beat the baseline)."""
    frame = pd.DataFrame(runs)
    rows = []
    for (experiment, setting), group in frame.groupby(["experiment", "setting"], sort=True):
        ref = frame[(frame["experiment"] == experiment) & (frame["setting"] == reference)]
        ref_wall = float(np.median(ref["wall_s"])) if len(ref) else float("nan")
        ref_hv = float(np.median([d["hypervolume"][-1] for _, d in ref.iterrows()])) if len(ref) else float("nan")
        n = int(group["trials"].iloc[0])
        hv = {f"hv@{k}": float(np.median([d["hypervolume"][k - 1] for _, d in group.iterrows()]))
              for k in sorted({max(n // 4, 1), max(n // 3, 1), n // 2, n})}
        third = float(np.median([hv_at_time(dict(d), ref_wall / 3) for _, d in group.iterrows()]))
        rows.append({"experiment": experiment, "setting": setting, "seeds": len(group), "trials": n, **hv,
                     "wall_s": float(np.median(group["wall_s"])),
                     "s/trial": float(np.median(group["wall_s"])) / n,
                     "screened": float(np.median([np.mean(d["screened"]) for _, d in group.iterrows()])),
                     f"hv@{reference}_wall/3": third,
                     f"goal(>= {reference} hv)": "-" if setting == reference else
                     "n/a (0)" if ref_hv == 0 else str(third >= ref_hv)})
    return pd.DataFrame(rows)


def load(cache: Path) -> list[dict[str, Any]]:
    """The cached runs; curves missing from an older cache file are read again from its run table."""
    runs = []
    for path in sorted(cache.glob("*.json")):
        data = json.loads(path.read_text())
        if "values" not in data:
            data.update(curves(pd.read_csv(cache / "runs" / path.stem / "trials.csv")))
        runs.append(data)
    return runs


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    one = sub.add_parser("run", help="one search, cached as JSON")
    one.add_argument("--experiment", choices=sorted(EXPERIMENTS), required=True)
    one.add_argument("--setting", choices=sorted(SETTINGS), required=True)
    one.add_argument("--seed", type=int, default=0)
    one.add_argument("--trials", type=int, default=100)
    agg = sub.add_parser("table", help="medians over the cached runs")
    for p in (one, agg):
        p.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    args = parser.parse_args(argv)
    args.cache.mkdir(parents=True, exist_ok=True)
    if args.command == "run":
        run(args.experiment, args.setting, args.seed, args.trials, args.cache)
        return
    runs = load(args.cache)
    with pd.option_context("display.width", 250, "display.max_columns", 30, "display.float_format", "{:.3g}".format):
        for title, basis in (("hypervolume vs the enqueued baseline (as cosearch reports it)", runs),
                             ("hypervolume vs the nadir of the front of all runs' feasible trials (one point per experiment)",
                              with_common_nadir(runs))):
            print(f"{title}; medians over seeds")
            print(summarise(basis).to_string(index=False))
            print()


if __name__ == "__main__":
    sys.exit(main())
