"""Run directory: journal storage, resolved config, manifest, and a lock so one process writes it.

Layout of ``runs/<name>/``::

    study.journal     Optuna JournalFileStorage (open with `optuna-dashboard study.journal`)
    config.yaml       the resolved experiment (spaces inlined) the run started from
    manifest.json     seed, package versions, git commit, one entry per session (start/end/status)
    trials.parquet    results table (also trials.csv), pareto.csv, dashboard.html  (cosearch.results);
                      read back instead of the journal while it is newer (table_is_current)
"""

from __future__ import annotations

import fcntl
import json
import os
import platform
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import optuna
import yaml
from optuna.storages import JournalStorage
from optuna.storages.journal import JournalFileBackend, JournalFileOpenLock

from cosearch.core.errors import CosearchError
from cosearch.core.files import write_atomic, write_json
from cosearch.journal import DeferredJournalBackend, check_readable

_PACKAGES = ("cosearch", "optuna", "numpy", "pandas", "torch", "ray", "plotly", "pydantic", "pyarrow")


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class RunDirectory:
    """One run's folder. Use :meth:`locked` around anything that writes it."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._writers: list[DeferredJournalBackend] = []

    journal = property(lambda self: self.path / "study.journal")
    config_file = property(lambda self: self.path / "config.yaml")
    manifest_file = property(lambda self: self.path / "manifest.json")
    trials_parquet = property(lambda self: self.path / "trials.parquet")
    trials_csv = property(lambda self: self.path / "trials.csv")
    pareto_csv = property(lambda self: self.path / "pareto.csv")

    def exists(self) -> bool:
        return self.config_file.exists()

    def table_is_current(self) -> bool:
        """Whether trials.parquet was written after the journal's last change (so it holds every trial)."""
        try:
            return self.trials_parquet.stat().st_mtime_ns > self.journal.stat().st_mtime_ns
        except FileNotFoundError:
            return False

    @contextmanager
    def locked(self) -> Iterator[RunDirectory]:
        """Exclusive lock on the run (fails fast if another process holds it)."""
        self.path.mkdir(parents=True, exist_ok=True)
        handle = open(self.path / ".lock", "a+")  # noqa: SIM115 - held open for the run: the lock lives as long as the handle
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            raise CosearchError(f"{self.path}: another cosearch process is running this run; wait for it or stop it") from None
        try:
            yield self
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
            handle.close()

    def _file_backend(self) -> JournalFileBackend:
        """The journal file; the run lock makes one process its writer, so open-file locking suffices."""
        return JournalFileBackend(str(self.journal), lock_obj=JournalFileOpenLock(str(self.journal)))

    def storage(self) -> JournalStorage:
        """The writer's journal storage (call inside :meth:`locked`): trial parameters and attributes
        reach the file with the trial's next state change (:class:`~cosearch.journal.DeferredJournalBackend`);
        :meth:`flush` writes what is held."""
        backend = DeferredJournalBackend(self._file_backend())
        self._writers.append(backend)
        return JournalStorage(backend)

    def flush(self) -> None:
        """Append every journal record the storages of this object still hold."""
        for backend in self._writers:
            backend.flush()

    def read_storage(self) -> JournalStorage:
        if not self.journal.exists():
            raise CosearchError(f"{self.path}: no study.journal here; is this a cosearch run directory?")
        check_readable(self.journal)
        return JournalStorage(self._file_backend())

    def write_config(self, resolved: dict[str, Any]) -> None:
        write_atomic(self.config_file, yaml.safe_dump(resolved, sort_keys=False))

    def read_config(self) -> dict[str, Any]:
        if not self.config_file.exists():
            raise CosearchError(f"{self.path}: no config.yaml here; is this a cosearch run directory?")
        return yaml.safe_load(self.config_file.read_text())

    def manifest(self) -> dict[str, Any]:
        return json.loads(self.manifest_file.read_text()) if self.manifest_file.exists() else {}

    def start_session(self, seed: int, project_dir: Path, argv: list[str]) -> None:
        manifest = self.manifest() or {"created": now(), "seed": seed, "sessions": []}
        manifest["packages"] = package_versions()
        manifest["git"] = git_state(project_dir)
        manifest["sessions"].append({"start": now(), "end": None, "status": "running", "argv": argv, "pid": os.getpid()})
        self._write_manifest(manifest)

    def end_session(self, status: str, trials: int) -> None:
        manifest = self.manifest()
        manifest["sessions"][-1].update({"end": now(), "status": status, "trials": trials})
        self._write_manifest(manifest)

    def _write_manifest(self, manifest: dict[str, Any]) -> None:
        write_json(self.manifest_file, manifest)


def package_versions() -> dict[str, str]:
    versions = {"python": sys.version.split()[0], "platform": platform.platform()}
    for name in _PACKAGES:
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def git_state(project_dir: Path) -> dict[str, Any]:
    def git(*args: str) -> str | None:
        try:
            out = subprocess.run(["git", "-C", str(project_dir), *args], capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            return None
        return out.stdout.strip() if out.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    return {"commit": commit, "dirty": bool(git("status", "--porcelain")) if commit else None}


optuna.logging.set_verbosity(optuna.logging.WARNING)
