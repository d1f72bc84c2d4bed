"""Run-directory faults (issue 34): I/O errors, damaged run files, a lost journal, and a fuzz over
every file a run directory holds and over the cards. Each ends in exit 2 with one line naming the
file and what was expected, or in a clean recovery; never a traceback, never a result lost."""

from __future__ import annotations

import copy
import errno
import random
import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml
from conftest import REPO, TINY_SPACE, experiment_dict
from optuna.storages.journal import JournalFileBackend

from cosearch.cli import MAX_MESSAGE, main
from cosearch.core.errors import CosearchError
from cosearch.search.backend import LocalBackend
from cosearch.training import load_checkpoint

TRIALS = 6


@pytest.fixture(scope="module")
def base_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A finished run of the analytic evaluator (read it, copy it, never change it)."""
    folder = tmp_path_factory.mktemp("base")
    source = folder / "exp.yaml"
    source.write_text(yaml.safe_dump(experiment_dict(trials=TRIALS, space=copy.deepcopy(TINY_SPACE))))
    out = folder / "run"
    assert main(["run", str(source), "--out", str(out), "--no-progress"]) == 0
    return source, out


@pytest.fixture
def run_copy(base_run: tuple[Path, Path], tmp_path: Path) -> Path:
    out = tmp_path / "run"
    shutil.copytree(base_run[1], out)
    return out


def _error(argv: list[str], capsys: pytest.CaptureFixture[str], code: int = 2) -> str:
    assert main(argv) == code
    err = capsys.readouterr().err.strip().splitlines()
    assert err and err[-1].startswith("error: ") and len(err[-1]) <= MAX_MESSAGE + 20, err
    return err[-1]


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file() and p.name != ".lock"}


# ------------------------------------------------------------------------------ --out ----


def test_out_that_is_a_file_or_under_a_file_or_too_long(base_run, tmp_path, capsys):
    source, _ = base_run
    afile = tmp_path / "afile"
    afile.write_text("x")
    assert "afile: is a file, not a folder; --out must name a folder" in _error(
        ["run", str(source), "--out", str(afile), "--no-progress"], capsys)
    assert "part of this path is a file" in _error(
        ["run", str(source), "--out", str(afile / "sub"), "--no-progress"], capsys)
    long = tmp_path / ("a" * 300)
    assert "cannot create the run directory (File name too long)" in _error(
        ["run", str(source), "--out", str(long), "--no-progress"], capsys)
    assert afile.read_text() == "x" and sorted(p.name for p in tmp_path.iterdir()) == ["afile"]


def test_out_on_a_read_only_file_system(base_run, tmp_path, capsys, monkeypatch):
    source, _ = base_run

    def read_only(self, *args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system", str(self))

    monkeypatch.setattr(Path, "mkdir", read_only)
    message = _error(["run", str(source), "--out", str(tmp_path / "ro"), "--no-progress"], capsys)
    assert message.endswith("cannot create the run directory (Read-only file system); --out must name a folder "
                            "(new, or a run directory) on a writable file system, each name at most 255 bytes")


def test_a_disk_that_fills_mid_run_keeps_every_finished_trial(base_run, tmp_path, capsys, monkeypatch):
    """ENOSPC on the 4th journal append: exit 2 naming the journal, no temporary or 0-byte result
    file, and a resume (disk freed) finishes the budget from the trials already recorded."""
    source, _ = base_run
    out = tmp_path / "run"
    append = JournalFileBackend.append_logs
    calls = {"n": 0}

    def filling(self, logs):
        calls["n"] += 1
        if calls["n"] > 12:
            raise OSError(errno.ENOSPC, "No space left on device")
        return append(self, logs)

    def full(self, *args, **kwargs):
        Path(args[0]).write_bytes(b"")  # what a full disk leaves: a started, empty file
        raise OSError(errno.ENOSPC, "Error writing bytes to file")

    monkeypatch.setattr(JournalFileBackend, "append_logs", filling)
    monkeypatch.setattr(pd.DataFrame, "to_parquet", full)
    message = _error(["run", str(source), "--out", str(out), "--no-progress"], capsys)
    assert message == (f"error: {out / 'study.journal'}: No space left on device; the trials finished before it are "
                       f"kept in {out / 'study.journal'}: fix this and continue with `cosearch resume {out}`")
    assert not list(out.glob("*.tmp")) and not (out / "trials.parquet").exists()
    monkeypatch.undo()
    assert main(["resume", str(out), "--no-progress"]) == 0
    assert (pd.read_csv(out / "trials.csv")["state"] == "COMPLETE").sum() == TRIALS


# --------------------------------------------------------------------- damaged run files ----


@pytest.mark.parametrize("content", [b"\xc7\x00\xff binary", b"name: [unclosed\n", b"- a list\n", b""],
                         ids=["binary", "unparsable", "not a mapping", "empty"])
def test_a_damaged_config_is_named_with_the_way_out(run_copy, capsys, content):
    (run_copy / "config.yaml").write_bytes(content)
    before = _snapshot(run_copy)
    for argv in (["resume", str(run_copy), "--no-progress"], ["report", str(run_copy)]):
        message = _error(argv, capsys)
        assert message.startswith(f"error: {run_copy / 'config.yaml'}: ")
        assert f"restore config.yaml from a copy, or move it aside and continue with `cosearch run EXPERIMENT " \
               f"--out {run_copy}`" in message
    assert _snapshot(run_copy) == before


def test_a_truncated_manifest_is_kept_aside_and_the_run_goes_on(run_copy, capsys):
    damaged = (run_copy / "manifest.json").read_bytes()[:100]
    (run_copy / "manifest.json").write_bytes(damaged)
    assert main(["resume", str(run_copy), "--trials", str(TRIALS + 2), "--no-progress"]) == 0
    assert "manifest.json was damaged; kept as" in capsys.readouterr().err
    assert (run_copy / "manifest.json.damaged").read_bytes() == damaged
    assert len(pd.read_csv(run_copy / "trials.csv")) == TRIALS + 2


@pytest.mark.slow
@pytest.mark.parametrize("damage", ["missing", "empty", "truncated"])
def test_a_lost_journal_is_refused_and_the_results_stay(run_copy, capsys, damage):
    journal = run_copy / "study.journal"
    lines = journal.read_bytes().splitlines(keepends=True)
    if damage == "missing":
        journal.unlink()
    else:
        journal.write_bytes(b"" if damage == "empty" else b"".join(lines[: len(lines) // 3]))
    before = _snapshot(run_copy)
    message = _error(["resume", str(run_copy), "--no-progress"], capsys)
    held = "is missing" if damage == "missing" else "holds"
    assert f"study.journal: {held}" in message and f"trials.parquet recorded {TRIALS}" in message
    assert f"mv {run_copy / 'trials.parquet'} {run_copy / 'trials.parquet'}.old" in message
    assert _snapshot(run_copy) == before


def test_a_damaged_parquet_is_rebuilt_from_the_journal(run_copy, capsys):
    expected = pd.read_csv(run_copy / "trials.csv")
    (run_copy / "trials.parquet").write_bytes(b"PAR1 not really")
    assert main(["report", str(run_copy)]) == 0
    assert f"{TRIALS} trials" in capsys.readouterr().out
    assert main(["resume", str(run_copy), "--no-progress"]) == 0
    assert pd.read_parquet(run_copy / "trials.parquet")["trial"].tolist() == expected["trial"].tolist()


# ------------------------------------------------------------------ other user mistakes ----


def test_submit_without_a_scheme_is_refused_at_once(base_run, capsys):
    message = _error(["submit", str(base_run[0]), "--address", "127.0.0.1:8265"], capsys)
    assert message == ("error: --address: expected the Ray dashboard's URL, http://HEAD:8265 or https://...; got "
                       "'127.0.0.1:8265' (did you mean http://127.0.0.1:8265?)")


def test_a_huge_count_is_refused_by_check(write_experiment, capsys):
    space = copy.deepcopy(TINY_SPACE)
    space["network"]["channels"]["count"] = 100_000_000
    message = _error(["check", str(write_experiment(space=space))], capsys)
    assert message.endswith("space.network.channels.count: must be an integer from 1 to 1024, one value per layer "
                            "(got 100000000)")


@pytest.mark.slow
def test_the_interrupt_hint_continues_with_the_same_seed_and_budget(write_experiment, tmp_path, capsys, monkeypatch):
    source = write_experiment()
    out = tmp_path / "run"
    wait = LocalBackend.wait
    calls = {"n": 0}

    def interrupted(self):
        calls["n"] += 1
        if calls["n"] == 4:
            raise KeyboardInterrupt
        return wait(self)

    monkeypatch.setattr(LocalBackend, "wait", interrupted)
    assert main(["run", str(source), "--out", str(out), "--seed", "11", "--trials", "7", "--no-progress"]) == 130
    hint = capsys.readouterr().err.strip().splitlines()[-1]
    assert hint == f"interrupted; finished trials are saved. Continue with: cosearch resume {out}"
    monkeypatch.undo()
    assert main(hint.split("cosearch ", 1)[1].split()) == 0
    table = pd.read_csv(out / "trials.csv")
    assert (table["state"] == "COMPLETE").sum() == 7 and yaml.safe_load((out / "config.yaml").read_text())["seed"] == 11


# ------------------------------------------------------------------------------- fuzz ----

RUN_FILES = ["study.journal", "config.yaml", "manifest.json", "trials.parquet"]


def _damage(content: bytes, kind: str, rng: random.Random) -> bytes | None:
    """``content`` after one fault; None deletes the file."""
    if kind == "random":
        return rng.randbytes(max(len(content), 64))
    if kind == "truncated":
        return content[: rng.randrange(len(content))]
    if kind == "empty":
        return b""
    if kind == "bit flips":
        data = bytearray(content)
        for _ in range(3):
            at = rng.randrange(len(data))
            data[at] ^= 1 << rng.randrange(8)
        return bytes(data)
    return None


KINDS = ["random", "truncated", "empty", "bit flips", "deleted"]


@pytest.mark.slow
@pytest.mark.parametrize("name", RUN_FILES)
def test_fuzz_every_run_file(base_run, tmp_path, capsys, name):
    """Each fault on each file, then resume and report: exit 0 with every recorded trial, or exit 2
    with one error line and the damaged bytes still in the folder (as the file or ``<file>.damaged``)."""
    rng = random.Random(name)
    for kind in KINDS:
        for attempt in range(2 if kind in ("truncated", "bit flips") else 1):
            out = tmp_path / f"{kind}-{attempt}".replace(" ", "_")
            shutil.copytree(base_run[1], out)
            damaged = _damage((out / name).read_bytes(), kind, rng)
            if damaged is None:
                (out / name).unlink()
            else:
                (out / name).write_bytes(damaged)
            for argv in (["report", str(out)], ["resume", str(out), "--no-progress"]):
                code = main(argv)
                err = capsys.readouterr().err.strip().splitlines()
                assert code in (0, 2), (name, kind, argv, err)
                if code == 2:
                    assert err[-1].startswith("error: ") and len(err) <= 2, (name, kind, err)
                    kept = [p.read_bytes() for p in (out / name, out / f"{name}.damaged") if p.exists()]
                    assert damaged is None or damaged in kept, (name, kind)
                elif argv[0] == "resume":
                    assert len(pd.read_csv(out / "trials.csv")) >= TRIALS, (name, kind)


@pytest.mark.slow
def test_fuzz_cards_exit_2_or_price(base_run, tmp_path, capsys):
    """Damaged copies of every shipped card: `cosearch cost` prices the design or exits 2 naming a card."""
    design = tmp_path / "design.yaml"
    assert main(["export", str(base_run[1]), "--trial", "0", "-o", str(design)]) == 0
    cards = sorted((REPO / "hw_models").glob("*.yaml")) + sorted((REPO / "hw_models" / "devices").glob("*.yaml"))
    rng = random.Random(34)
    for target in cards:
        for kind in KINDS[:4]:
            folder = tmp_path / f"{target.stem}-{kind}".replace(" ", "_")
            (folder / "devices").mkdir(parents=True)
            copies = [folder / c.relative_to(REPO / "hw_models") for c in cards]
            for card, copy_ in zip(cards, copies, strict=True):
                copy_.write_bytes(card.read_bytes())
            broken = folder / target.relative_to(REPO / "hw_models")
            broken.write_bytes(_damage(target.read_bytes(), kind, rng) or b"")
            capsys.readouterr()
            code = main(["cost", str(design), "--cards", *map(str, copies)])
            err = capsys.readouterr().err.strip().splitlines()
            assert code in (0, 2), (target.name, kind, err)
            if code == 2:
                assert len(err) == 1 and err[0].startswith("error: ") and str(folder) in err[0], (target.name, kind, err)


def test_fuzz_checkpoints_load_or_refuse(tmp_path):
    """Truncations and bit flips of a real checkpoint: it loads (a dict) or is one CosearchError naming it."""
    import torch

    whole = tmp_path / "whole.pt"
    torch.save({"candidate": {"network": {"arch": "vgg16"}, "timesteps": 2}, "model": {"w": torch.arange(64.0)},
                "epoch": 1, "history": [], "settings": {"seed": 0}}, whole)
    content = whole.read_bytes()
    rng = random.Random(7)
    for index in range(24):
        damaged = _damage(content, ["truncated", "bit flips", "random"][index % 3], rng)
        path = tmp_path / f"c{index}.pt"
        path.write_bytes(damaged or b"")
        try:
            loaded = load_checkpoint(path)
        except CosearchError as exc:
            assert str(path) in str(exc)
        else:
            assert isinstance(loaded, dict)
