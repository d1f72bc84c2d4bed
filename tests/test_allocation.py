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


def _page_faults(make) -> tuple[torch.Tensor, int]:
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    tensor = make()
    return tensor, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before


@pytest.mark.skipif(not GLIBC, reason="the setting applies to glibc only")
def test_freed_memory_is_reused_without_page_faults() -> None:
    assert keep_freed_memory()
    first, _ = _page_faults(lambda: torch.ones(64 << 18))  # 64 MiB of float32, written
    keep = torch.ones(1024)  # something allocated after it, so its block is a hole, not the heap's top
    del first
    # a slightly smaller tensor fits the hole: no new pages; glibc's default (a fresh mmap per
    # block above 32 MiB, unmapped on free) faults on every one of its 16,383 pages
    second, faults = _page_faults(lambda: torch.ones((64 << 18) - 1024))
    assert faults < 500 and float(second[-1] + keep[0]) == 2.0


def test_the_system_allocator_can_be_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV, "system")
    assert keep_freed_memory.__wrapped__() is False
