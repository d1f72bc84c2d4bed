"""Command line: ``cosearch run|check|resume|report|dashboard|submit|export|cost|train|validate``.

Errors a user can cause (bad YAML, unknown keys, missing data, a busy run directory) print one
clear message and exit with code 2 (``cosearch check`` finds them without running a trial); a
run that cannot progress (its first trials all fail alike, or every trial fails) exits with 3
after saving what it recorded; an interrupted run exits with 130 and can be continued.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, TypeAlias

import pandas as pd

from cosearch import __version__
from cosearch.core.errors import ConfigError, CosearchError, RunStalled

EXIT_USER_ERROR = 2
EXIT_STALLED = 3
EXIT_INTERRUPTED = 130


def _cmd_run(args: argparse.Namespace) -> int:
    from cosearch.config import load_experiment
    from cosearch.run_dir import RunDirectory

    data = {"root": str(Path(args.data_root).resolve())} if args.data_root else None
    experiment = load_experiment(args.experiment, trials=args.trials, seed=args.seed, data=data,
                                 backend=_backend_overrides(args))
    out = Path(args.out) if args.out else Path("runs") / experiment.name
    return _execute(experiment, RunDirectory(out), args.no_progress)


def _cmd_check(args: argparse.Namespace) -> int:
    from cosearch.config import load_experiment
    from cosearch.search.loop import pipeline_spec
    from cosearch.search.preflight import preflight

    data = {"root": str(Path(args.data_root).resolve())} if args.data_root else None
    experiment = load_experiment(args.experiment, data=data)
    specs = [pipeline_spec(experiment, phase) for phase in experiment.phases]
    for index, spec in enumerate(specs):
        if spec not in specs[:index]:
            preflight(experiment, spec)
    phases = ", ".join(f"{p.name} ({p.trials} trials, {len(p.space.parameter_names())} parameters)" for p in experiment.phases)
    print(f"{args.experiment}: ok - {phases}")
    return 0


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


def _execute(experiment, run_dir, no_progress: bool) -> int:
    from cosearch.results import RunSpec, pareto_summary
    from cosearch.search.loop import run_experiment, trial_count

    try:
        result = run_experiment(experiment, run_dir, progress=not no_progress)
    except KeyboardInterrupt:  # the stored config holds the seed, budget and backend this run was given
        print(f"\ninterrupted; finished trials are saved. Continue with: cosearch resume {run_dir.path}",
              file=sys.stderr)
        return EXIT_INTERRUPTED
    except OSError as exc:  # a full disk, a folder made read-only: what the journal holds is kept
        raise CosearchError(f"{os_error_message(exc)}; the trials finished before it are kept in {run_dir.journal}: "
                            f"fix this and continue with `cosearch resume {run_dir.path}`") from None
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
    except Exception as exc:  # a broken dashboard must never cost the run
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
    from cosearch.workflows.submit import submit_experiment, wait_for_job

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
    from cosearch.studies.reproduce import report

    notes = Path(args.notes).read_text() if args.notes else ""
    text = report(Path(args.runs), notes)
    if args.output:
        Path(args.output).write_text(text)
        print(f"wrote {args.output}")
    else:
        print(text)
    return 0


# ------------------------------------------------ export / train / validate (issue 7) ----


def _cmd_export(args: argparse.Namespace) -> int:
    from cosearch.workflows.export import export_trials

    paths = export_trials(args.run_dir, trials=args.trial, pareto=args.pareto, output=args.output, fmt=args.format)
    for path in paths:
        print(f"wrote {path}")
    return 0


def _cmd_cost(args: argparse.Namespace) -> int:
    import json

    from cosearch.design_files import read_design
    from cosearch.workflows.cost import cost_table, load_design_hardware, price_design

    design = read_design(args.design, args.timesteps)
    model = load_design_hardware(args.project_dir, args.cards, args.preset, args.node, args.set)
    result = price_design(design, model, args.activity)
    print(json.dumps(result, indent=2) if args.json else cost_table(result))
    return 0


def _cmd_train(args: argparse.Namespace) -> int:
    from cosearch.workflows.train import prepare_training

    options = {"epochs": args.epochs, "batch_size": args.batch_size, "lr": args.lr, "channel_scale": args.channel_scale,
               "train_size": args.train_size or None, "test_size": args.test_size or None, "augment": not args.no_augment,
               "device": args.device, "classifier_init": args.classifier_init, "time_budget_s": args.time_budget}
    hardware = {"draws": args.draws, "t_inference_s": args.t_inference} if args.hardware else None
    job = prepare_training(args.source, options, trial=args.trial, out=args.out, data_root=args.data_root,
                           hardware=hardware)
    _set_threads(args.threads)
    result = job.train(resume=args.resume, progress=not args.no_progress)
    print(f"test accuracy: {result.test_acc:.4f} ({result.settings['test_images']} images, "
          f"{result.epochs} epochs, {result.train_time_s:.0f} s training)")
    measured, settings = job.hardware_accuracy(), job.hardware_settings
    if measured is not None and settings is not None:
        print(f"on the candidate's hardware (t = {settings.t_inference_s:g} s): quantised {measured.accuracy_quantised:.4f}, "
              f"accuracy_hw {measured.accuracy_hw:.4f} +- {measured.accuracy_hw_std:.4f} ({settings.draws} device draws)")
    print(f"checkpoint and metrics: {job.out}")
    return 0


def _validate_model(args: argparse.Namespace) -> int:
    """``validate --benchmark NAME PATH --calibrate CSV``: the accuracy model against the table."""
    from cosearch.workflows.model_validation import run_model_validation

    _set_threads(args.threads)
    summary = run_model_validation(args.experiment, args.benchmark[0], args.benchmark[1],
                                   args.calibrate or args.benchmark[1], args.calibration_size, args.out,
                                   resamples=args.resamples, seed=args.seed, progress=not args.no_progress,
                                   data_root=args.data_root)
    print(f"{summary['experiment']}: accuracy model ({summary['model']['family']}) fitted on "
          f"{summary['calibration_size']} topologies of {summary['calibration_table']}, {summary['n']} ranked")

    def line(label: str, stats: dict[str, Any]) -> str:
        return (f"{label:<34} Kendall tau {stats['kendall_tau']:.3f} (95% CI {stats['kendall_ci'][0]:.3f} .. "
                f"{stats['kendall_ci'][1]:.3f})  Spearman rho {stats['spearman_rho']:.3f}")

    print(line("accuracy_pred", summary))
    for name, stats in summary["training_free"].items():
        print(line(name, stats))
    for stats in summary["baselines"].values():
        print(line(stats["label"], stats))
    cover = summary["std_coverage"]
    print(f"within 1 / 2 predicted std: {cover['1_std']:.0%} / {cover['2_std']:.0%}; fit {summary['fit_seconds']:.1f} s, "
          f"{summary['predict_ms_per_candidate']:.2f} ms per prediction")
    print("learning curve (median Kendall tau over seeds):")
    for size, medians in summary["learning_curve"].items():
        taus = ", ".join(f"{k[4:]} {v:.3f}" for k, v in medians.items() if k.startswith("tau_"))
        print(f"  K = {size:>3}: {taus}")
    print(f"outputs: {summary['out_dir']} (features.csv, topologies.csv, learning_curve.csv, summary.json, scatter.html)")
    return 0


def _cmd_validate(args: argparse.Namespace) -> int:
    from cosearch.workflows.validate import ValidateSettings, run_benchmark_validation, run_validation

    if args.metric and not args.benchmark:
        raise ConfigError(args.experiment, "--metric", "ranks a --benchmark table only; training validation "
                                                       "correlates proxy_score")
    if args.calibrate and not args.benchmark:
        raise ConfigError(args.experiment, "--calibrate", "fits the accuracy model for a --benchmark table only")
    if args.benchmark and (args.calibrate or args.metric == "accuracy_pred"):
        return _validate_model(args)
    if args.benchmark:
        _set_threads(args.threads)
        summary = run_benchmark_validation(args.experiment, args.benchmark[0], args.benchmark[1], args.out,
                                           sample=args.sample, resamples=args.resamples, seed=args.seed,
                                           progress=not args.no_progress, data_root=args.data_root,
                                           metric=args.metric)
        print(f"{summary['experiment']} on {summary['benchmark']} ({summary['table']}): {summary['n']} of "
              f"{summary['topologies_usable']} usable topologies ({summary['cells_used']} cells), "
              f"mean test acc {summary['test_acc_min']:.2f}..{summary['test_acc_max']:.2f} %")
        for label, stats in ((summary["metric"], summary), ("conv edges", summary["baseline"]),
                             ("pruned conv edges", summary["baseline_pruned"])):
            print(f"{label:<23}  Kendall tau {stats['kendall_tau']:.3f} (95% CI {stats['kendall_ci'][0]:.3f} .. "
                  f"{stats['kendall_ci'][1]:.3f})  Spearman rho {stats['spearman_rho']:.3f} (95% CI "
                  f"{stats['spearman_ci'][0]:.3f} .. {stats['spearman_ci'][1]:.3f})")
        print(f"{summary['seconds_per_candidate']:.2f} s/candidate; outputs: {summary['out_dir']} "
              "(topologies.csv, summary.json, scatter.html)")
        return 0
    from cosearch.training import TrainSettings

    TrainSettings(epochs=args.epochs, batch_size=args.batch_size, channel_scale=args.channel_scale,
                  train_size=args.train_size or None, test_size=args.test_size, device=args.device).check("--")
    settings = ValidateSettings(sample=args.sample or ValidateSettings.sample, epochs=args.epochs, channel_scale=args.channel_scale,
                                train_size=args.train_size or None, test_size=args.test_size, batch_size=args.batch_size,
                                device=args.device, resamples=args.resamples, seed=args.seed)
    _set_threads(args.threads)
    summary = run_validation(args.experiment, settings, args.out, progress=not args.no_progress,
                             data_root=args.data_root)
    level = round(100 * summary["ci_level"])
    print(f"{summary['experiment']}: {summary['n']} candidates, test acc {summary['test_acc_min']:.3f}.."
          f"{summary['test_acc_max']:.3f}")
    print(f"Kendall tau  {summary['kendall_tau']:.3f}  ({level}% CI {summary['kendall_ci'][0]:.3f} .. {summary['kendall_ci'][1]:.3f})")
    print(f"Spearman rho {summary['spearman_rho']:.3f}  ({level}% CI {summary['spearman_ci'][0]:.3f} .. {summary['spearman_ci'][1]:.3f})")
    print(f"wall time {summary['wall_time_s']:.0f} s; outputs: {summary['out_dir']} (candidates.csv, summary.json, scatter.html)")
    return 0


def _set_threads(threads: int | None) -> None:
    import torch

    from cosearch.snn.threads import cpu_threads

    torch.set_num_threads(threads or cpu_threads())


def _add_training_flags(parser: argparse.ArgumentParser, epochs: int, channel_scale: float, train_size: int | None) -> None:
    parser.add_argument("--epochs", type=int, default=epochs, help=f"training epochs (default {epochs})")
    parser.add_argument("--channel-scale", type=float, default=channel_scale,
                        help=f"train a version with channels x this (default {channel_scale})")
    parser.add_argument("--train-size", type=int, default=train_size,
                        help=f"training images, a seeded subset; 0 = all (default {train_size or 'all'})")
    parser.add_argument("--test-size", type=int, help="test images (default: all)")
    parser.add_argument("--batch-size", type=int, default=64, help="SGD batch size (default 64)")
    parser.add_argument("--device", default="auto",
                        help="auto (cuda when torch sees a GPU, else cpu), cpu, cuda or cuda:N (default auto)")
    parser.add_argument("--data-root", help="dataset folder (else the run's data.root, else $COSEARCH_DATA)")
    parser.add_argument("--threads", type=int,
                        help="torch CPU threads (train: $OMP_NUM_THREADS, else one per core no other process keeps busy; "
                             "validate: 1, robust on a shared machine where OpenMP spin-waits make 2 threads up to 10x slower)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def _print_frame(frame: pd.DataFrame, title: str) -> None:
    print(f"\n{title} ({len(frame)} designs):")
    with pd.option_context("display.width", 200, "display.max_columns", 30, "display.float_format", "{:.5g}".format):
        print(frame.to_string(index=False) if len(frame) else "(empty)")


#: The ``add_subparsers`` object that every ``_add_*_verb`` adds its verb to (argparse's own, private, name).
_Verbs: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def _add_run_verb(verbs: _Verbs) -> None:
    run = verbs.add_parser("run", help="run an experiment (continues it if its run directory exists)",
                           description="Run an experiment YAML; an existing run directory is continued.")
    run.add_argument("experiment", help="experiment YAML, e.g. experiments/cifar10_xpert.yaml")
    run.add_argument("--trials", type=int, help="trial budget (each phase's budget for multi-phase plans)")
    run.add_argument("--out", help="run directory (default: runs/<experiment name>)")
    run.add_argument("--seed", type=int, help="override the experiment seed")
    run.add_argument("--data-root", help="dataset folder (else data.root, else $COSEARCH_DATA)")
    _add_backend_flags(run)
    run.set_defaults(func=_cmd_run)


def _add_check_verb(verbs: _Verbs) -> None:
    check = verbs.add_parser("check", help="check an experiment without running a trial",
                             description="Run every check `cosearch run` makes before trial 0 (config, space "
                                         "against the network family and the hardware cards, metrics, sampler "
                                         "options, proxy settings against the data); exit 2 on the first problem.")
    check.add_argument("experiment", help="experiment YAML")
    check.add_argument("--data-root", help="dataset folder (else data.root, else $COSEARCH_DATA)")
    check.set_defaults(func=_cmd_check)


def _add_resume_verb(verbs: _Verbs) -> None:
    resume = verbs.add_parser("resume", help="continue a run directory from its stored config",
                              description="Continue a run from RUN_DIR/config.yaml (after a crash or kill).")
    resume.add_argument("run_dir", help="run directory, e.g. runs/cifar10_xpert")
    resume.add_argument("--trials", type=int, help="new trial budget")
    _add_backend_flags(resume)
    resume.set_defaults(func=_cmd_resume)


def _add_submit_verb(verbs: _Verbs) -> None:
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


def _add_reproduce_verb(verbs: _Verbs) -> None:
    reproduce = verbs.add_parser("reproduce", help="compare the shipped experiments' runs with the papers' claims",
                                 description="Write the reproduction report (Markdown) from the run directories "
                                             "of the shipped experiments.")
    reproduce.add_argument("runs", nargs="?", default="runs", help="folder holding the run directories (default: runs)")
    reproduce.add_argument("-o", "--output", help="write the report here (default: print it)")
    reproduce.add_argument("--notes", help="Markdown file appended as 'Where and why cosearch differs'")
    reproduce.set_defaults(func=_cmd_reproduce)


def _add_report_verb(verbs: _Verbs) -> None:
    report = verbs.add_parser("report", help="print a run's Pareto set",
                              description="Print the Pareto set of a run directory (rebuilt from its journal).")
    report.add_argument("run_dir", help="run directory")
    report.add_argument("--params", type=int, default=6, help="parameter columns to show (default 6)")
    report.set_defaults(func=_cmd_report)


def _add_dashboard_verb(verbs: _Verbs) -> None:
    dashboard = verbs.add_parser("dashboard", help="write a run's HTML dashboard (Pareto fronts, hardware maps)",
                                 description="Write one self-contained HTML dashboard of a run directory.")
    dashboard.add_argument("run_dir", help="run directory")
    dashboard.add_argument("-o", "--output", help="HTML file (default: RUN_DIR/dashboard.html)")
    dashboard.add_argument("--compare", nargs="+", action="extend", default=[], metavar="OTHER_RUN_DIR",
                           help="other run directories to overlay on the Pareto plot")
    dashboard.set_defaults(func=_cmd_dashboard)


def _add_export_verb(verbs: _Verbs) -> None:
    export = verbs.add_parser("export", help="write trials' architectures as YAML/JSON genome files",
                              description="Write the Candidate (genome, timesteps, hardware mapping, seed) and "
                                          "metrics of trials as genome files; rebuild with cosearch.build(FILE).")
    export.add_argument("run_dir", help="run directory")
    export.add_argument("--trial", type=int, action="append", help="trial id (repeatable)")
    export.add_argument("--pareto", action="store_true", help="every Pareto-optimal trial")
    export.add_argument("-o", "--output", help="file (one trial, .yaml/.json/.csv) or folder (default: RUN_DIR/export)")
    export.add_argument("--format", choices=["yaml", "json", "neurosim", "xpert"], default="yaml",
                        help="genome file format, or a NeuroSim / XPert network CSV (default yaml)")
    export.set_defaults(func=_cmd_export)


def _add_cost_verb(verbs: _Verbs) -> None:
    cost = verbs.add_parser("cost", help="price one design (genome file or NeuroSim/XPert network CSV), no search",
                            description="Per-layer and per-component energy, latency and area of one design, "
                                        "and its totals (docs/hw_model.md).")
    cost.add_argument("design", help="genome file (.yaml/.json, as cosearch export writes) or network CSV (.csv)")
    cost.add_argument("--cards", nargs="+", help="card files or globs (default: hw_models/*.yaml hw_models/devices/*.yaml)")
    cost.add_argument("--preset", help="a preset of hw_models/presets/ added after the cards (e.g. spikesim_65nm)")
    cost.add_argument("--node", type=int, help="technology node [nm] (default: the cards' chip.node_nm)")
    cost.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                      help="override a card key (repeatable), e.g. pe.rows_per_read=32 or defaults.adc_bits=4")
    cost.add_argument("--activity", type=float, help="input activity of every layer, 0..1 (default: the cards')")
    cost.add_argument("-T", "--timesteps", type=int, help="timesteps (default: the genome's; 1 for a CSV)")
    cost.add_argument("--project-dir", help="folder holding hw_models/ (default: . if it has one, else the package's)")
    cost.add_argument("--json", action="store_true", help="print JSON (metrics and breakdown) instead of tables")
    cost.set_defaults(func=_cmd_cost)


def _add_train_verb(verbs: _Verbs) -> None:
    train = verbs.add_parser("train", help="train a trial's SNN (or a genome file) with surrogate-gradient BPTT",
                             description="SNASNet recipe: SGD lr 0.1, momentum 0.9, wd 5e-4, cosine to 0.01x, "
                                         "batch 64, random crop + flip. Checkpoints every epoch.")
    train.add_argument("source", help="run directory (with --trial) or genome YAML/JSON file")
    train.add_argument("--trial", type=int, help="trial id of the run directory")
    train.add_argument("--out", help="output folder (default: RUN_DIR/train/trial_N, or runs/train/<genome name>)")
    train.add_argument("--lr", type=float, default=0.1, help="initial learning rate (default 0.1)")
    train.add_argument("--no-augment", action="store_true", help="no random crop / flip")
    train.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.pt")
    train.add_argument("--time-budget", type=float, metavar="SECONDS",
                       help="stop after this much training time; the cosine schedule fits into it (default: all epochs)")
    train.add_argument("--classifier-init", choices=["width", "published"], default="width",
                       help="width: SNASNet's init with the classifier widened below C = 128 (docs/training.md); "
                            "published: SNASNet's init at every width (default width)")
    train.add_argument("--hardware", "--noise", dest="hardware", action="store_true",
                       help="also report test accuracy as the candidate's crossbars compute it (cosearch.accuracy: "
                            "weights on the layers' devices, ADC-quantised row-group partial sums, bit-serial "
                            "image input; mean +- std over device draws)")
    train.add_argument("--draws", type=int, default=5, help="--hardware: seeded device draws (default 5)")
    train.add_argument("--t-inference", type=float, default=0.0,
                       help="--hardware: seconds between programming and reading, e.g. 86400 (default 0)")
    _add_training_flags(train, epochs=10, channel_scale=1.0, train_size=None)
    train.set_defaults(func=_cmd_train)


def _add_validate_verb(verbs: _Verbs) -> None:
    validate = verbs.add_parser("validate", help="rank correlation of the proxy score with trained accuracy",
                                description="Draw K candidates from an experiment's space, score them with the "
                                            "proxy, train each for E epochs, report Kendall tau / Spearman rho "
                                            "with bootstrap intervals, a scatter plot and a CSV.")
    validate.add_argument("experiment", help="experiment YAML, e.g. experiments/validate_snasnet.yaml")
    validate.add_argument("--sample", type=int, help="K candidates (default 8; with --benchmark: every topology)")
    validate.add_argument("--benchmark", nargs=2, metavar=("NAME", "PATH"),
                          help="no training: correlate with a trained-accuracy table, e.g. --benchmark spikenas "
                               "cifar10_dev_half.csv (or a SpikeNAS-Bench checkout); see docs/validation.md")
    validate.add_argument("--metric", help="with --benchmark: the proxy metric to rank by (default: the experiment's "
                                           "proxy objective, else proxy_score; a noisy one prices each cell on "
                                           "the cards' default mapping)")
    validate.add_argument("--calibrate", metavar="CSV",
                          help="with --benchmark: fit the accuracy model on --calibration-size topologies of this "
                               "table (SpikeNAS-Bench CSV or checkout) and rank the --benchmark table with it")
    validate.add_argument("--calibration-size", type=int, default=50, metavar="K",
                          help="with --calibrate: calibration topologies (default 50)")
    validate.add_argument("--out", help="output folder (default runs/validate/<experiment name>)")
    validate.add_argument("--seed", type=int, help="sampling seed (default: the experiment's)")
    validate.add_argument("--resamples", type=int, default=2000, help="bootstrap resamples (default 2000)")
    _add_training_flags(validate, epochs=2, channel_scale=0.125, train_size=1024)
    validate.set_defaults(threads=1)
    validate.set_defaults(func=_cmd_validate)


#: One function per verb, in the order ``cosearch --help`` lists them.
_VERBS = (_add_run_verb, _add_check_verb, _add_resume_verb, _add_submit_verb, _add_reproduce_verb, _add_report_verb,
          _add_dashboard_verb, _add_export_verb, _add_cost_verb, _add_train_verb, _add_validate_verb)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cosearch",
        description="Hardware-aware neural-architecture co-search of SNNs on IMC crossbars.",
    )
    parser.add_argument("--version", action="version", version=f"cosearch {__version__}")
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB")
    for add_verb in _VERBS:
        add_verb(verbs)
    return parser

#: Longest error line printed [characters]; longer ones (a huge value quoted back) keep both ends.
MAX_MESSAGE = 2000


def one_line(message: str) -> str:
    """``message`` as one line of at most :data:`MAX_MESSAGE` characters."""
    text = " ".join(message.split())
    if len(text) <= MAX_MESSAGE:
        return text
    half = MAX_MESSAGE // 2
    return f"{text[:half]} ... ({len(text) - 2 * half:,} characters cut) ... {text[-half:]}"


def os_error_message(exc: OSError) -> str:
    """An operating-system error as ``FILE: what went wrong`` (e.g. ``runs/x/study.journal: No space
    left on device``)."""
    where = exc.filename if exc.filename is not None else "file system"
    return f"{where}: {exc.strerror or exc}"


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except RunStalled as exc:
        print(f"stopped: {one_line(str(exc))}", file=sys.stderr)
        return EXIT_STALLED
    except CosearchError as exc:
        print(f"error: {one_line(str(exc))}", file=sys.stderr)
        return EXIT_USER_ERROR
    except OSError as exc:  # reading or writing a file the user named or a run directory holds
        print(f"error: {one_line(os_error_message(exc))}", file=sys.stderr)
        return EXIT_USER_ERROR


if __name__ == "__main__":
    sys.exit(main())
