"""The CPU thread rule: $OMP_NUM_THREADS when set, else one thread per core no other runnable thread needs."""

from __future__ import annotations

import pytest
import torch

from cosearch.snn import threads


@pytest.fixture
def two_cores(monkeypatch, tmp_path):
    """A 2-core affinity, no $OMP_NUM_THREADS, and a /proc/loadavg the test writes."""
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr(threads.os, "sched_getaffinity", lambda pid: {0, 1})
    loadavg = tmp_path / "loadavg"
    monkeypatch.setattr(threads, "_LOADAVG", loadavg)
    return loadavg


@pytest.mark.parametrize(("running", "expected"), [(1, 2), (2, 1), (3, 1), (9, 1)])
def test_threads_are_the_cores_no_other_runnable_thread_needs(two_cores, running, expected):
    two_cores.write_text(f"1.20 0.80 0.50 {running}/212 4242\n")  # the caller is one of the running
    assert threads.busy_elsewhere() == running - 1
    assert threads.cpu_threads() == expected


def test_a_transient_process_is_not_taken_for_a_busy_one(two_cores, monkeypatch):
    readings = iter(["0 0 0 2/9 1\n", "0 0 0 1/9 1\n", "0 0 0 2/9 1\n"])  # someone ran for one reading
    monkeypatch.setattr(threads.Path, "read_text", lambda self: next(readings))
    assert threads.cpu_threads() == 2


def test_omp_num_threads_wins_and_no_kernel_count_means_all_cores(two_cores, monkeypatch):
    assert not two_cores.exists()
    assert threads.busy_elsewhere() is None and threads.cpu_threads() == 2
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    two_cores.write_text("0 0 0 5/9 1\n")
    assert threads.available_cores() == 3 and threads.cpu_threads() == 3


def test_use_cpu_threads_sets_torch(two_cores):
    before = torch.get_num_threads()
    try:
        two_cores.write_text("0 0 0 2/9 1\n")
        assert threads.use_cpu_threads() == 1 and torch.get_num_threads() == 1
        two_cores.write_text("0 0 0 1/9 1\n")
        assert threads.use_cpu_threads() == 2 and torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)
