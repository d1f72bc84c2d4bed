"""Width test of the accuracy model: does it order VGG16 widths as training does?

Reads the trained designs of ``benchmarks/width_study.py`` (docs/validation/width_study.csv: the
XPert VGG16 baseline and its per-stage / whole-network width-halved and width-doubled versions,
trained at equal steps; training seed 0 rows only, the seed-1 repeats give the noise floor),
scores each design with the evaluators an experiment lists before its accuracy model (default
experiments/cifar10_xpert.yaml: cost, the noisy proxy, cost with the proxy's activity), and
reports, for every model family on every feature (default) and on the design features alone,
the leave-one-out prediction of each design (fitted on the
others: calibration from trained runs of this space, as ``{runs: [...]}`` would give) against its
trained accuracy: Kendall tau, and whether each width change (x0.5 and x2 per stage and for the
whole network) moves the prediction the way it moves trained accuracy. The training-free metrics
and ``log_params`` are ranked beside it.

    COSEARCH_DATA=../shared/data python benchmarks/width_test.py [--experiment EXP] [--study CSV] [--out CSV]

Writes ``docs/validation/width_test.csv`` (per design: accuracy, LOO predictions and std per
family, every feature) and prints a Markdown summary.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

from cosearch.config import load_experiment
from cosearch.core.candidate import Candidate
from cosearch.core.ranking import kendall_tau
from cosearch.evaluators.accuracy_model import feature_scope, upstream_scorer
from cosearch.predictor.calibration import CalibrationRow, score_rows
from cosearch.predictor.features import DESIGN_FEATURES, feature_row
from cosearch.predictor.model import FAMILIES, AccuracyModel
from cosearch.workflows.model_validation import model_setup
from cosearch.workload import canonical_genome

ROOT = Path(__file__).resolve().parents[1]


def designs(study: Path) -> pd.DataFrame:
    """Seed-0 rows of the width study, one per design."""
    table = pd.read_csv(study)
    return table[table["seed"] == 0].drop_duplicates("design").reset_index(drop=True)


def candidate(row: pd.Series, seed: int) -> Candidate:
    channels = [int(c) for c in str(row["channels"]).split()]
    return Candidate(network=canonical_genome({"arch": "vgg16", "channels": channels}), timesteps=int(row["timesteps"]),
                     hardware=json.loads(row["hardware"]), seed=seed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--experiment", default=str(ROOT / "experiments" / "cifar10_xpert.yaml"))
    parser.add_argument("--study", default=str(ROOT / "docs" / "validation" / "width_study.csv"))
    parser.add_argument("--out", default=str(ROOT / "docs" / "validation" / "width_test.csv"))
    parser.add_argument("--cache", default=str(ROOT / "runs" / "width_test" / "calibration.csv"))
    args = parser.parse_args()

    experiment = load_experiment(args.experiment)
    context, _ = model_setup(experiment)
    table = designs(Path(args.study))
    from cosearch.core.seeds import evaluation_seed

    seed = evaluation_seed(experiment.config.seed, experiment.config.common_seed, 0, 0)
    rows = [CalibrationRow(candidate(r, seed), 100.0 * float(r["accuracy"]), str(r["design"])) for _, r in table.iterrows()]
    score_rows(rows, context.upstream, lambda: upstream_scorer(context), Path(args.cache))
    scope = feature_scope(context)
    features = pd.DataFrame([feature_row(r.candidate, r.metrics or {}, scope) for r in rows])
    names = list(features.columns)
    out = pd.concat([table[["design", "channels", "accuracy"]].assign(accuracy=100 * table["accuracy"]), features], axis=1)
    feature_sets = {"": names, "_design": [n for n in names if n in DESIGN_FEATURES or n.startswith("device_")]}
    models = []
    for family in FAMILIES:
        for suffix, chosen in feature_sets.items():
            means, stds = [], []
            for k in range(len(out)):
                train = np.arange(len(out)) != k
                model = AccuracyModel(family, 0).fit(out[train], chosen, out["accuracy"][train].to_numpy(float))
                mean, std = model.predict(out.iloc[[k]])
                means.append(float(mean[0]))
                stds.append(float(std[0]))
            out[f"pred_{family}{suffix}"], out[f"pred_std_{family}{suffix}"] = means, stds
            models.append(f"{family}{suffix}")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    out.to_csv(args.out, index=False)

    truth = out["accuracy"].to_numpy(float)
    print(f"{len(out)} designs, trained accuracy {truth.min():.1f}..{truth.max():.1f} %\n")
    print("| ranking of the designs | Kendall tau vs trained accuracy |\n|---|---|")
    rankers = [f"pred_{m}" for m in models] + ["log_params"] + sorted(c for c in names if c.startswith("proxy_")
                                                                        and out[c].nunique() > 1)
    for column in rankers:
        values = out[column].replace(-math.inf, -1e300).to_numpy(float)
        print(f"| {column} | {kendall_tau(values, truth):.3f} |")
    base = out[out["design"] == "baseline"]
    if base.empty:
        return
    print("\n| change | trained [pp] | " + " | ".join(f"{m} LOO [pp]" for m in models) + " |\n|---|---|"
          + "---|" * len(models))
    agree = {m: 0 for m in models}
    changes = out[out["design"] != "baseline"]
    for _, row in changes.iterrows():
        trained = row["accuracy"] - float(base["accuracy"].iloc[0])
        predicted = {m: row[f"pred_{m}"] - float(base[f"pred_{m}"].iloc[0]) for m in models}
        for m in models:
            agree[m] += int(np.sign(predicted[m]) == np.sign(trained))
        print(f"| {row['design']} | {trained:+.2f} | " + " | ".join(f"{predicted[m]:+.2f}" for m in models) + " |")
    print("\nsame direction as training: " + ", ".join(f"{m} {agree[m]}/{len(changes)}" for m in models))


if __name__ == "__main__":
    main()
