"""Backends decide where candidates are evaluated; the loop (ask/tell, storage) is the same for all.

A backend accepts up to :attr:`Backend.capacity` candidates at once (:meth:`Backend.submit`)
and hands back finished ones (:meth:`Backend.wait`). The local backend evaluates in this
process, one at a time, which keeps runs exactly reproducible; a distributed backend keeps
several evaluations in flight on workers and returns them as they finish.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

from cosearch.core.candidate import Candidate
from cosearch.core.evaluator import Outcome
from cosearch.search.pipeline import Pipeline


class Backend(ABC):
    """Evaluates submitted candidates; keys identify them (the loop uses trial numbers)."""

    capacity: int = 1

    @abstractmethod
    def submit(self, key: int, candidate: Candidate) -> None:
        """Start evaluating ``candidate``."""

    @abstractmethod
    def wait(self) -> list[tuple[int, Outcome]]:
        """Block until at least one submitted candidate is done; return all that are."""

    def close(self) -> None:  # noqa: B027 - optional hook: the local backend holds no workers
        """Release workers (nothing to do locally)."""


class LocalBackend(Backend):
    """In-process, sequential evaluation."""

    capacity = 1

    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline
        self.pending: list[tuple[int, Candidate]] = []

    def submit(self, key: int, candidate: Candidate) -> None:
        self.pending.append((key, candidate))

    def wait(self) -> list[tuple[int, Outcome]]:
        key, candidate = self.pending.pop(0)
        return [(key, self.pipeline.run(candidate))]

