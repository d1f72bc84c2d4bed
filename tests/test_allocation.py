"""The allocation settings: the garbage collector paused and restored, freed tensor memory kept."""

from __future__ import annotations

import gc
import platform
import resource

import pytest
import torch

from cosearch.core.allocation import ENV, keep_freed_memory, paused_gc

GLIBC = platform.libc_ver()[0] == "glibc"


def test_paused_gc_restores_the_collector() -> None:
    assert gc.isenabled()
    with paused_gc():
        assert not gc.isenabled()
    assert gc.isenabled()


def _page_faults_of_a_fresh_tensor(mib: int) -> int:
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    torch.ones(mib << 18)  # float32: mib MiB, written, then freed
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before


@pytest.mark.skipif(not GLIBC, reason="the setting applies to glibc only")
def test_freed_memory_is_reused_without_page_faults() -> None:
    assert keep_freed_memory()
    _page_faults_of_a_fresh_tensor(64)  # the heap grows once
    # 64 MiB in 4 KiB pages is 16,384 faults when every allocation is a fresh mmap
    assert _page_faults_of_a_fresh_tensor(64) < 500


def test_the_system_allocator_can_be_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV, "system")
    assert keep_freed_memory.__wrapped__() is False
