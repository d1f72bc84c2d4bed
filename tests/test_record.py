"""The trial record: round trips through the journal's attribute dict and a real Optuna journal,
defaults left unstored, the outcome split into scalar metrics and details, the table columns;
a run's records and table read back once (trials.parquet while current, else the journal)."""

from __future__ import annotations

import json
import math
from dataclasses import replace

import numpy as np
import optuna
import pandas as pd
import pytest
from optuna.storages import JournalStorage
from optuna.storages.journal import JournalFileBackend

from cosearch.config import load_experiment
from cosearch.core.candidate import Candidate
from cosearch.core.record import TrialRecord, is_scalar_metric
from cosearch.results import load_results, load_table, trials_table
from cosearch.run_dir import RunDirectory
from cosearch.search.loop import run_experiment

FULL = TrialRecord(
    baseline="vgg16_baseline",
    inherited_from="coarse:3",
    seed=123456789,
    values={"network": {"channels": [64, 128]}, "hardware": {"adc_bits": 5}},
    candidate={"network": {"arch": "vgg16"}, "timesteps": 5, "hardware": {}, "params": {}, "seed": 123456789},
    duration_s=1.25,
    metrics={"proxy_score": 12.5, "hw_edap": math.inf},
    details={"hw_layers": [{"energy_pj": 1.0}]},
    fail_reason="",
)


def test_round_trip_through_the_attribute_dict():
    attrs = json.loads(json.dumps(FULL.to_attrs()))  # what a journal stores and gives back
    assert TrialRecord.from_attrs(attrs) == FULL
    assert "fail_reason" not in attrs  # a field at its default is not stored


def test_round_trip_through_an_optuna_journal(tmp_path):
    path = str(tmp_path / "study.journal")
    study = optuna.create_study(storage=JournalStorage(JournalFileBackend(path)), study_name="s")
    trial = study.ask()
    for part in (TrialRecord(seed=FULL.seed), TrialRecord(values=FULL.values, candidate=FULL.candidate),
                 TrialRecord(duration_s=FULL.duration_s, metrics=FULL.metrics, details=FULL.details)):
        part.store(trial)  # stored in parts, as the loop does
    study.tell(trial, 1.0)
    reloaded = optuna.load_study(study_name="s", storage=JournalStorage(JournalFileBackend(path)))
    record = TrialRecord.from_attrs(reloaded.trials[0].user_attrs)
    assert record == replace(FULL, baseline="", inherited_from="")


def test_defaults_are_not_stored_and_unknown_attributes_are_ignored():
    assert TrialRecord().to_attrs() == {}
    assert TrialRecord(seed=0).to_attrs() == {"seed": 0}  # zero is a value, not a default
    assert TrialRecord.from_attrs({"baseline": "b", "someone_elses": 1}) == TrialRecord(baseline="b")


def test_outcome_splits_scalars_from_details_and_stores_plain_json():
    record = TrialRecord.of_outcome(0.12345678, {"a": 1.0, "n": np.float64(2.5), "k": np.int64(3), "ok": True,
                                                 "rates": [0.1, 0.2]}, "bad value")
    assert record.duration_s == 0.123457  # rounded to 1 us
    assert record.metrics == {"a": 1.0, "n": 2.5}  # bools and numpy ints are not table columns
    assert set(record.details) == {"k", "ok", "rates"}
    attrs = record.to_attrs()
    assert type(attrs["metrics"]["n"]) is float and type(attrs["details"]["k"]) is int
    assert attrs["fail_reason"] == "bad value"
    assert [is_scalar_metric(v) for v in (1, 1.5, math.nan, True, "1", [1])] == [True, True, True, False, False, False]


def test_table_columns_of_a_record():
    assert FULL.row() == {"proxy_score": 12.5, "hw_edap": math.inf, "duration_s": 1.25, "seed": 123456789,
                          "fail_reason": ""}
    empty = TrialRecord().row()
    assert math.isnan(empty.pop("duration_s")) and empty == {"seed": -1, "fail_reason": ""}


def test_results_read_back_from_parquet_while_current_else_from_the_journal(write_experiment, tmp_path, monkeypatch):
    run_dir = RunDirectory(tmp_path / "run")
    table = run_experiment(load_experiment(write_experiment(trials=6, searcher="random")), run_dir, progress=False).table
    assert run_dir.table_is_current()
    rebuilt = trials_table(run_dir, load_results(run_dir.path).spec)
    monkeypatch.setattr("cosearch.results._table", lambda *a: pytest.fail("replayed the table"))
    current = load_results(run_dir.path)
    pd.testing.assert_frame_equal(current.table, table)
    pd.testing.assert_frame_equal(load_table(run_dir.path), rebuilt)
    assert sorted(current.records) == list(table["trial"])
    assert Candidate.from_dict(current.records[0]["candidate"]).seed == table["seed"][0]
    monkeypatch.undo()
    run_dir.journal.touch()  # the journal changed after the table was written: rebuild from it
    assert not run_dir.table_is_current()
    pd.testing.assert_frame_equal(load_results(run_dir.path).table, rebuilt)
