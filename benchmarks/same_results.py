"""Behaviour unchanged? Run every shipped search experiment with a short budget and compare the
results tables of two checkouts (the check a refactor must pass: same seed, same trials).

    python benchmarks/same_results.py run OUT [--trials 12]      # one folder per experiment
    python benchmarks/same_results.py compare BEFORE AFTER       # exit 1 on the first difference

``compare`` reads each run's ``trials.csv`` and ``pareto.csv`` and ignores what depends on the
clock (durations, timestamps) and where the run lived (paths). Experiments whose data is not on
this machine (`cosearch check` exits 2) are skipped and listed; refine experiments train networks
and are left to their own tests.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import sys
from pathlib import Path

import pandas as pd

from cosearch.cli import main as cosearch

REPO = Path(__file__).resolve().parent.parent
#: Columns that depend on the clock or the machine, not on what the search computed.
CLOCK_COLUMNS = ("duration", "datetime", "time_s", "elapsed", "train_time_s", "run_dir")


def experiments() -> list[Path]:
    return sorted(p for p in (REPO / "experiments").glob("*.yaml") if "refine" not in p.stem)


def run_all(out: Path, trials: int) -> None:
    skipped = []
    for path in experiments():
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()) as err:
            code = cosearch(["check", str(path)])
        if code != 0:
            skipped.append(f"{path.stem} ({err.getvalue().strip().splitlines()[-1][:120]})")
            continue
        print(f"{path.stem} ...", flush=True)
        with contextlib.redirect_stdout(io.StringIO()):
            code = cosearch(["run", str(path), "--trials", str(trials), "--out", str(out / path.stem), "--no-progress"])
        if code != 0:
            raise SystemExit(f"{path.stem}: exit {code}")
    for line in skipped:
        print(f"skipped: {line}")


def comparable(frame: pd.DataFrame) -> pd.DataFrame:
    keep = [c for c in frame.columns if not any(word in c for word in CLOCK_COLUMNS)]
    return frame[keep].reset_index(drop=True)


def compare(before: Path, after: Path) -> int:
    names = sorted(p.name for p in before.iterdir() if (p / "trials.csv").exists())
    if not names:
        print(f"{before}: no runs")
        return 1
    for name in names:
        for table in ("trials.csv", "pareto.csv"):
            a = comparable(pd.read_csv(before / name / table))
            b = comparable(pd.read_csv(after / name / table))
            try:
                pd.testing.assert_frame_equal(a, b, check_exact=True)
            except AssertionError as exc:
                print(f"{name}/{table}: differs\n{exc}")
                return 1
        print(f"{name}: identical ({len(pd.read_csv(before / name / 'trials.csv'))} trials)")
    return 0


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    verbs = parser.add_subparsers(dest="verb", required=True)
    run = verbs.add_parser("run")
    run.add_argument("out", type=Path)
    run.add_argument("--trials", type=int, default=12)
    cmp = verbs.add_parser("compare")
    cmp.add_argument("before", type=Path)
    cmp.add_argument("after", type=Path)
    return parser.parse_args()


if __name__ == "__main__":
    args = parse()
    if args.verb == "run":
        run_all(args.out, args.trials)
        sys.exit(0)
    sys.exit(compare(args.before, args.after))
