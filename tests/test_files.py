"""File-level faults: unreadable experiment and space files (exit 2, the file named) and damaged
journals (which file, how many records intact; resumed from the intact prefix or refused with the
exact recovery step)."""

from __future__ import annotations

import copy
import subprocess
from pathlib import Path

import optuna
import pytest
import yaml
from conftest import TINY_SPACE, experiment_dict

from cosearch.cli import main
from cosearch.journal import DEFERRED_OPS, DeferredJournalBackend, repair_journal, scan_journal
from cosearch.results import load_table

#: class -> (file content, or None for a directory; words of the message after ``<file>: ``)
FILE_FAULTS: dict[str, tuple[bytes | None, str]] = {
    "binary file": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not a UTF-8 text file (byte 0x89 at offset 0); give a YAML file"),
    "non-UTF-8 text": ("name: caf\u00e9\n".encode("latin-1"), "not a UTF-8 text file (byte 0xe9 at offset 9)"),
    "control characters": (b"name: \x00\x01\n", "not valid YAML"),
    "top level a list": (b"- name: tiny\n- trials: 3\n", "must be a mapping"),
    "top level a scalar": (b"just words\n", "must be a mapping"),
    "empty file": (b"", "file is empty (or only comments); expected a YAML mapping"),
    "only comments": (b"# nothing here\n", "file is empty (or only comments); expected a YAML mapping"),
    "a directory": (None, "is a directory; give a YAML file"),
}


def _write(path: Path, content: bytes | None) -> Path:
    if content is None:
        path.mkdir()
    else:
        path.write_bytes(content)
    return path


def _refused(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err and err.count("\n") == 1
    return err.strip()


@pytest.mark.parametrize("fault", list(FILE_FAULTS))
def test_unreadable_experiment_file_is_named(fault, tmp_path, capsys):
    content, words = FILE_FAULTS[fault]
    source = _write(tmp_path / "exp.yaml", content)
    for argv in (["check", str(source)], ["run", str(source), "--out", str(tmp_path / "run"), "--no-progress"]):
        err = _refused(argv, capsys)
        assert err.startswith(f"error: {source}: ") and words in err, err
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("fault", list(FILE_FAULTS))
def test_unreadable_space_file_is_named(fault, tmp_path, capsys, write_experiment):
    content, words = FILE_FAULTS[fault]
    space = _write(tmp_path / "space.yaml", content)
    source = write_experiment(space="space.yaml")
    err = _refused(["run", str(source), "--out", str(tmp_path / "run"), "--no-progress"], capsys)
    assert err.startswith(f"error: {space}: ") and words.split(" (")[0].removesuffix("a mapping") in err, err
    assert not (tmp_path / "run").exists()


# ------------------------------------------------------------------------------ journal ----


@pytest.fixture
def finished_run(tmp_path: Path) -> tuple[Path, Path]:
    """A 4-trial run of the analytic evaluator: (experiment file, run directory)."""
    source = tmp_path / "exp.yaml"
    source.write_text(yaml.safe_dump(experiment_dict(trials=4, space=copy.deepcopy(TINY_SPACE))))
    out = tmp_path / "run"
    assert main(["run", str(source), "--out", str(out), "--no-progress"]) == 0
    return source, out


def test_scan_counts_intact_records(tmp_path):
    journal = tmp_path / "study.journal"
    journal.write_bytes(b'{"op_code":0}\n{"op_code":1}\n')
    assert scan_journal(journal).intact == 2 and not scan_journal(journal).damaged
    journal.write_bytes(b'{"op_code":0}\n{"op_code":1}\n{"op_co')
    scan = scan_journal(journal)
    assert (scan.intact, scan.intact_bytes, scan.torn_tail) == (2, 28, True)
    journal.write_bytes(b'{"op_code":0}\nnot json\n\xff\xfe\n{"op_code":1}\n')
    scan = scan_journal(journal)
    assert (scan.intact, scan.damaged_lines, scan.valid_after, scan.torn_tail) == (1, 3, 1, False)


@pytest.mark.slow
def test_garbage_appended_resumes_from_the_intact_prefix(finished_run, capsys):
    _, out = finished_run
    journal = out / "study.journal"
    intact = journal.read_bytes()
    records = intact.count(b"\n")
    journal.write_bytes(intact + b"\x00\x13garbage from a bad copy\n\xff\xfe more\n")
    assert main(["resume", str(out), "--trials", "6", "--no-progress"]) == 0
    err = capsys.readouterr().err
    assert (f"warning: {journal}: 2 damaged lines after record {records}; continuing from the {records} intact "
            f"records (the damaged file is kept as {journal}.damaged)") in err, err
    assert (out / "study.journal.damaged").read_bytes().startswith(intact)
    assert journal.read_bytes().startswith(intact)
    table = load_table(out)
    assert len(table) == 6 and (table["state"] == "COMPLETE").all()


@pytest.mark.slow
def test_damage_before_valid_records_is_refused_with_the_recovery_step(finished_run, capsys):
    _, out = finished_run
    journal = out / "study.journal"
    lines = journal.read_bytes().splitlines(keepends=True)
    damaged = b"".join(lines[:5]) + b"#### disk fault ####\n" + b"".join(lines[5:])
    journal.write_bytes(damaged)
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    err = _refused(["resume", str(out), "--no-progress"], capsys)
    intact_bytes = len(b"".join(lines[:5]))
    step = (f"head -c {intact_bytes} {journal} > {journal}.intact && mv {journal} {journal}.damaged && "
            f"mv {journal}.intact {journal}")
    assert err == (f"error: {journal}: record 6 is damaged and {len(lines) - 5} valid records follow it; cosearch "
                   f"will not guess which to trust. To continue from the 5 intact records run: {step}")
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == before  # nothing changed
    subprocess.run(step, shell=True, check=True)  # the printed step works as printed
    assert main(["resume", str(out), "--trials", "4", "--no-progress"]) == 0
    assert len(load_table(out)) >= 4


@pytest.mark.slow
def test_torn_last_record_is_cut_off_and_the_run_continues(finished_run, capsys):
    _, out = finished_run
    journal = out / "study.journal"
    whole = journal.read_bytes()
    journal.write_bytes(whole + b'{"op_code":5,"worker_id":"x","trial_id":3,"param')  # killed mid-write
    assert repair_journal(journal) == (f"{journal}: cut off a torn last record (a writer was killed mid-write); "
                                       f"{whole.count(chr(10).encode())} records intact")
    assert journal.read_bytes() == whole
    journal.write_bytes(whole + b'{"op_code":5,"worker_id":"x"')
    assert main(["resume", str(out), "--trials", "6", "--no-progress"]) == 0
    assert len(load_table(out)) == 6


def test_read_only_commands_name_a_damaged_journal_and_the_way_out(finished_run, capsys):
    _, out = finished_run
    journal = out / "study.journal"
    intact = journal.read_bytes()
    journal.write_bytes(intact + b"garbage from a bad copy\n")
    before, records = journal.read_bytes(), intact.count(b"\n")
    for command in (["report", str(out)], ["dashboard", str(out)]):
        err = _refused(command, capsys)
        assert err == (f"error: {journal}: 1 damaged lines after record {records}; resuming the run "
                       f"(cosearch resume {out}) keeps the {records} intact records and the damaged "
                       f"file as study.journal.damaged"), err
        assert journal.read_bytes() == before  # a read-only command changes nothing


# ------------------------------------------------------------- grouped journal writes ----


class _CountingBackend(optuna.storages.journal.JournalFileBackend):
    """Optuna's file backend, counting appends (each is one write and one fsync)."""

    appends = 0

    def append_logs(self, logs):
        type(self).appends += 1
        super().append_logs(logs)


def _plain_reader(journal: Path) -> optuna.Study:
    storage = optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(str(journal)))
    return optuna.load_study(study_name="s", storage=storage)


def test_deferred_ops_are_optunas_trial_parameter_and_attribute_records():
    from optuna.storages.journal._storage import JournalOperation

    names = {JournalOperation(code).name for code in DEFERRED_OPS}
    assert names == {"SET_TRIAL_PARAM", "SET_TRIAL_INTERMEDIATE_VALUE", "SET_TRIAL_USER_ATTR", "SET_TRIAL_SYSTEM_ATTR"}


def test_a_trial_reaches_the_journal_in_two_appends_and_reads_back_whole(tmp_path):
    journal = tmp_path / "study.journal"
    storage = optuna.storages.JournalStorage(DeferredJournalBackend(_CountingBackend(str(journal))))
    study = optuna.create_study(study_name="s", storage=storage, directions=["minimize", "maximize"])
    _CountingBackend.appends = 0
    trial = study.ask()
    values = [trial.suggest_categorical(f"p{k}", [1, 2, 3]) for k in range(10)]
    trial.set_user_attr("record", {"seed": 7})
    trial.set_user_attr("metrics", {"x": 1.5})
    assert trial.params == {f"p{k}": v for k, v in enumerate(values)}  # held records are read back at once
    assert _CountingBackend.appends == 1  # the trial's creation only

    running = _plain_reader(journal).trials[-1]  # what a process killed now leaves on disk
    assert running.state == optuna.trial.TrialState.RUNNING and running.params == {} and running.user_attrs == {}

    study.tell(trial, [sum(values), 2.0])
    assert _CountingBackend.appends == 2  # parameters and attributes went with the end of the trial
    (stored,) = _plain_reader(journal).trials
    assert stored.params == trial.params and stored.user_attrs == {"record": {"seed": 7}, "metrics": {"x": 1.5}}
    assert stored.values == [sum(values), 2.0] and stored.state == optuna.trial.TrialState.COMPLETE


def test_flush_writes_held_records_of_an_unfinished_trial(tmp_path):
    journal = tmp_path / "study.journal"
    backend = DeferredJournalBackend(optuna.storages.journal.JournalFileBackend(str(journal)))
    study = optuna.create_study(study_name="s", storage=optuna.storages.JournalStorage(backend))
    trial = study.ask()
    trial.suggest_int("n", 0, 9)
    backend.flush()
    assert _plain_reader(journal).trials[0].params == trial.params
    backend.flush()  # nothing held: nothing written
    assert journal.read_text().count("\n") == len(list(optuna.storages.journal.JournalFileBackend(str(journal)).read_logs(0)))
