"""Command line: ``cosearch run|resume|report``.

Errors a user can cause (bad YAML, unknown keys, missing data, a busy run directory) print one
clear message and exit with code 2; an interrupted run exits with 130 and can be continued.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from cosearch import __version__
from cosearch.errors import CosearchError

EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = 130


def _cmd_run(args: argparse.Namespace) -> int:
    from cosearch.config import load_experiment
    from cosearch.run_dir import RunDirectory

    data = {"root": args.data_root} if args.data_root else None
    experiment = load_experiment(args.experiment, trials=args.trials, seed=args.seed, data=data)
    out = Path(args.out) if args.out else Path("runs") / experiment.name
    return _execute(experiment, RunDirectory(out), args.no_progress)


def _cmd_resume(args: argparse.Namespace) -> int:
    from cosearch.config import experiment_from_dict
    from cosearch.run_dir import RunDirectory

    run_dir = RunDirectory(args.run_dir)
    config = run_dir.read_config()
    source = Path(args.run_dir) / "config.yaml"
    experiment = experiment_from_dict(config, source, trials=args.trials)
    return _execute(experiment, run_dir, args.no_progress)


def _execute(experiment, run_dir, no_progress: bool) -> int:  # noqa: ANN001 - typed in callees
    from cosearch.results import RunSpec, pareto_summary
    from cosearch.search.loop import run_experiment, trial_count

    try:
        result = run_experiment(experiment, run_dir, progress=not no_progress)
    except KeyboardInterrupt:
        print(f"\ninterrupted; finished trials are saved. Continue with: cosearch run {experiment.source} "
              f"--out {run_dir.path}", file=sys.stderr)
        return EXIT_INTERRUPTED
    table = result.table
    counts = trial_count(table)
    print(f"run directory: {run_dir.path}")
    print(f"trials: {len(table)} ({', '.join(f'{k.lower()} {v}' for k, v in counts.items())})")
    if not table.empty:
        print(f"hypervolume: {table['hypervolume'].iloc[-1]:.6g}")
        print(f"results: {run_dir.trials_parquet}, {run_dir.trials_csv}, {run_dir.pareto_csv}")
        _print_frame(pareto_summary(table, RunSpec.from_config(run_dir.read_config())), "Pareto set")
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    from cosearch.results import RunSpec, load_table, pareto_summary
    from cosearch.run_dir import RunDirectory

    run_dir = RunDirectory(args.run_dir)
    spec = RunSpec.from_config(run_dir.read_config())
    table = load_table(args.run_dir)
    if table.empty:
        print(f"{args.run_dir}: no finished trials yet")
        return 0
    counts = ", ".join(f"{k.lower()} {v}" for k, v in table["state"].value_counts().items())
    print(f"{spec.name}: {len(table)} trials ({counts}), {int(table['feasible'].sum())} feasible, "
          f"hypervolume {table['hypervolume'].iloc[-1]:.6g}")
    _print_frame(pareto_summary(table, spec, max_params=args.params), "Pareto set")
    return 0


def _print_frame(frame: pd.DataFrame, title: str) -> None:
    print(f"\n{title} ({len(frame)} designs):")
    with pd.option_context("display.width", 200, "display.max_columns", 30, "display.float_format", "{:.5g}".format):
        print(frame.to_string(index=False) if len(frame) else "(empty)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cosearch",
        description="Hardware-aware neural-architecture co-search of SNNs on IMC crossbars.",
    )
    parser.add_argument("--version", action="version", version=f"cosearch {__version__}")
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB")

    run = verbs.add_parser("run", help="run an experiment (continues it if its run directory exists)",
                           description="Run an experiment YAML; an existing run directory is continued.")
    run.add_argument("experiment", help="experiment YAML, e.g. experiments/cifar10_xpert.yaml")
    run.add_argument("--trials", type=int, help="trial budget (each phase's budget for multi-phase plans)")
    run.add_argument("--out", help="run directory (default: runs/<experiment name>)")
    run.add_argument("--seed", type=int, help="override the experiment seed")
    run.add_argument("--data-root", help="dataset folder (else data.root, else $COSEARCH_DATA)")
    run.add_argument("--no-progress", action="store_true", help="no progress bar")
    run.set_defaults(func=_cmd_run)

    resume = verbs.add_parser("resume", help="continue a run directory from its stored config",
                              description="Continue a run from RUN_DIR/config.yaml (after a crash or kill).")
    resume.add_argument("run_dir", help="run directory, e.g. runs/cifar10_xpert")
    resume.add_argument("--trials", type=int, help="new trial budget")
    resume.add_argument("--no-progress", action="store_true", help="no progress bar")
    resume.set_defaults(func=_cmd_resume)

    report = verbs.add_parser("report", help="print a run's Pareto set",
                              description="Print the Pareto set of a run directory (rebuilt from its journal).")
    report.add_argument("run_dir", help="run directory")
    report.add_argument("--params", type=int, default=6, help="parameter columns to show (default 6)")
    report.set_defaults(func=_cmd_report)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except CosearchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR


if __name__ == "__main__":
    sys.exit(main())
