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

    data = {"root": str(Path(args.data_root).resolve())} if args.data_root else None
    experiment = load_experiment(args.experiment, trials=args.trials, seed=args.seed, data=data,
                                 backend=_backend_overrides(args))
    out = Path(args.out) if args.out else Path("runs") / experiment.name
    return _execute(experiment, RunDirectory(out), args.no_progress)


def _cmd_resume(args: argparse.Namespace) -> int:
    from cosearch.config import experiment_from_dict
    from cosearch.run_dir import RunDirectory

    run_dir = RunDirectory(args.run_dir)
    config = run_dir.read_config()
    source = Path(args.run_dir) / "config.yaml"
    experiment = experiment_from_dict(config, source, trials=args.trials, backend=_backend_overrides(args))
    return _execute(experiment, run_dir, args.no_progress)


def _backend_overrides(args: argparse.Namespace) -> dict[str, object]:
    overrides = {"type": args.backend, "address": args.address, "workers": args.workers}
    return {k: v for k, v in overrides.items() if v is not None}


def _add_backend_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--backend", choices=["local", "ray"], help="where evaluations run (default: the experiment's)")
    parser.add_argument("--address", help="Ray cluster address (default: $RAY_ADDRESS, else start a local Ray)")
    parser.add_argument("--workers", type=int, help="Ray evaluation workers")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


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
    _write_run_dashboard(run_dir.path)
    return 0


def _write_run_dashboard(path: Path) -> None:
    """RUN_DIR/dashboard.html after a run; a failure here only warns (the results are already saved)."""
    try:
        from cosearch.dashboard import write_dashboard

        print(f"dashboard: {write_dashboard(path)}")
    except Exception as exc:  # noqa: BLE001 - a broken dashboard must never cost the run
        print(f"warning: dashboard not written ({type(exc).__name__}: {exc}); "
              f"retry with `cosearch dashboard {path}`", file=sys.stderr)


def _cmd_dashboard(args: argparse.Namespace) -> int:
    from cosearch.dashboard import write_dashboard

    print(f"dashboard: {write_dashboard(args.run_dir, args.output, args.compare)}")
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


def _cmd_submit(args: argparse.Namespace) -> int:
    from cosearch.submit import submit_experiment, wait_for_job

    job_id, run_dir, entrypoint = submit_experiment(
        args.experiment, args.address, out=args.out, trials=args.trials, workers=args.workers,
        env=args.env, pip=args.pip,
    )
    print(f"submitted job {job_id} to {args.address}")
    print(f"  runs:    {entrypoint}")
    print(f"  follow:  ray job logs --follow {job_id} --address {args.address}")
    print(f"  status:  ray job status {job_id} --address {args.address}")
    print(f"  stop:    ray job stop {job_id} --address {args.address}")
    print(f"  results: {run_dir} on the head node (trials.parquet, pareto.csv, dashboard.html);")
    print(f"           copy them with e.g. `scp -r HEAD:{run_dir} runs/`")
    if not args.wait:
        return 0
    status, logs = wait_for_job(args.address, job_id, args.wait_timeout)
    print(logs[-4000:])
    print(f"job {job_id}: {status}")
    return 0 if status == "SUCCEEDED" else 1


def _cmd_reproduce(args: argparse.Namespace) -> int:
    from cosearch.reproduce import report

    notes = Path(args.notes).read_text() if args.notes else ""
    text = report(Path(args.runs), notes)
    if args.output:
        Path(args.output).write_text(text)
        print(f"wrote {args.output}")
    else:
        print(text)
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
    _add_backend_flags(run)
    run.set_defaults(func=_cmd_run)

    resume = verbs.add_parser("resume", help="continue a run directory from its stored config",
                              description="Continue a run from RUN_DIR/config.yaml (after a crash or kill).")
    resume.add_argument("run_dir", help="run directory, e.g. runs/cifar10_xpert")
    resume.add_argument("--trials", type=int, help="new trial budget")
    _add_backend_flags(resume)
    resume.set_defaults(func=_cmd_resume)

    submit = verbs.add_parser("submit", help="run an experiment on a Ray cluster as a Ray job",
                              description="Upload this project as a Ray job's working directory and run the "
                                          "experiment there with the ray backend.")
    submit.add_argument("experiment", help="experiment YAML inside this project")
    submit.add_argument("--address", required=True, help="Ray dashboard address, e.g. http://HEAD:8265")
    submit.add_argument("--out", help="run directory on the head node (default: $HOME/cosearch-runs/<name>)")
    submit.add_argument("--trials", type=int, help="trial budget")
    submit.add_argument("--workers", type=int, help="Ray evaluation workers")
    submit.add_argument("--env", action="append", default=[], metavar="KEY=VALUE", help="environment variable for the job")
    submit.add_argument("--pip", action="append", default=[], metavar="REQ", help="pip requirement to install for the job")
    submit.add_argument("--wait", action="store_true", help="wait for the job to end and print its logs")
    submit.add_argument("--wait-timeout", type=float, default=3600.0, help="seconds to wait with --wait")
    submit.set_defaults(func=_cmd_submit)

    reproduce = verbs.add_parser("reproduce", help="compare the shipped experiments' runs with the papers' claims",
                                 description="Write the reproduction report (Markdown) from the run directories "
                                             "of the shipped experiments.")
    reproduce.add_argument("runs", nargs="?", default="runs", help="folder holding the run directories (default: runs)")
    reproduce.add_argument("-o", "--output", help="write the report here (default: print it)")
    reproduce.add_argument("--notes", help="Markdown file appended as 'Where and why cosearch differs'")
    reproduce.set_defaults(func=_cmd_reproduce)

    report = verbs.add_parser("report", help="print a run's Pareto set",
                              description="Print the Pareto set of a run directory (rebuilt from its journal).")
    report.add_argument("run_dir", help="run directory")
    report.add_argument("--params", type=int, default=6, help="parameter columns to show (default 6)")
    report.set_defaults(func=_cmd_report)

    dashboard = verbs.add_parser("dashboard", help="write a run's HTML dashboard (Pareto fronts, hardware maps)",
                                 description="Write one self-contained HTML dashboard of a run directory.")
    dashboard.add_argument("run_dir", help="run directory")
    dashboard.add_argument("-o", "--output", help="HTML file (default: RUN_DIR/dashboard.html)")
    dashboard.add_argument("--compare", nargs="+", action="extend", default=[], metavar="OTHER_RUN_DIR",
                           help="other run directories to overlay on the Pareto plot")
    dashboard.set_defaults(func=_cmd_dashboard)
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
