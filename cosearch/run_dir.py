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
import pyarrow as pa
import pyarrow.parquet as pq
import yaml
from optuna.storages import JournalStorage
from optuna.storages.journal import JournalFileBackend, JournalFileOpenLock

from cosearch.core.errors import ConfigError, CosearchError
from cosearch.core.files import read_yaml, write_atomic, write_json
from cosearch.core.settings import is_int
from cosearch.journal import DeferredJournalBackend, check_readable, repair_journal, scan_journal

#: Longest file name most file systems take [bytes] (POSIX NAME_MAX on ext4, XFS, tmpfs).
NAME_MAX = 255
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

    def create(self) -> None:
        """Make the run's folder (and its parents).

        Raises:
            CosearchError: the path is a file, lies under a file, is too long, or cannot be written.
        """
        expected = "--out must name a folder (new, or a run directory) on a writable file system"
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except FileExistsError:
            raise CosearchError(f"{self.path}: is a file, not a folder; {expected}") from None
        except NotADirectoryError:
            raise CosearchError(f"{self.path}: part of this path is a file, not a folder; {expected}") from None
        except OSError as exc:
            raise CosearchError(f"{self.path}: cannot create the run directory ({exc.strerror}); {expected}, "
                                f"each name at most {NAME_MAX} bytes") from None

    @contextmanager
    def locked(self) -> Iterator[RunDirectory]:
        """Exclusive lock on the run (fails fast if another process holds it)."""
        self.create()
        try:
            handle = open(self.path / ".lock", "a+")  # noqa: SIM115 - held open for the run: the lock lives as long as the handle
        except OSError as exc:
            raise CosearchError(f"{self.path}: cannot write in the run directory ({exc.strerror}); a run needs a "
                                "writable folder (copy it elsewhere, or give another --out)") from None
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
        backend = DeferredJournalBackend(self._file_backend(), self.journal)
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
        """The experiment the run started from (``config.yaml``).

        Raises:
            CosearchError: missing, or damaged (not a YAML mapping), with the ways out.
        """
        if not self.config_file.exists():
            raise CosearchError(f"{self.path}: no config.yaml here; is this a cosearch run directory?")
        from cosearch.config import validate_config  # lazily: readers of a run need the schema only here

        try:
            config = read_yaml(self.config_file)
            validate_config(config, self.config_file)
        except ConfigError as exc:
            raise CosearchError(f"{exc}; this run's stored experiment is damaged: restore config.yaml from a copy, "
                                f"or move it aside and continue with `cosearch run EXPERIMENT --out {self.path}`") from None
        return config

    def manifest(self) -> dict[str, Any]:
        """The run's manifest (empty when there is none yet).

        Raises:
            CosearchError: the file is not a JSON object with a ``sessions`` list.
        """
        if not self.manifest_file.exists():
            return {}
        try:
            manifest = json.loads(self.manifest_file.read_bytes())
        except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError
            raise CosearchError(f"{self.manifest_file}: damaged ({' '.join(str(exc).split())[:200]}); "
                                f"`cosearch resume {self.path}` keeps it as manifest.json.damaged and starts a new one") from None
        if not isinstance(manifest, dict) or not isinstance(manifest.get("sessions"), list):
            raise CosearchError(f"{self.manifest_file}: damaged (not a manifest: expected a JSON object with a "
                                f"'sessions' list); `cosearch resume {self.path}` keeps it as manifest.json.damaged "
                                "and starts a new one")
        return manifest

    def recorded_trials(self) -> tuple[int, Path | None]:
        """How many trials this run's results recorded and which file says so: the rows of
        ``trials.parquet`` when it can be read, else the last count in ``manifest.json``."""
        try:
            return pq.read_metadata(self.trials_parquet).num_rows, self.trials_parquet
        except (OSError, pa.ArrowException):  # missing, empty or damaged: the manifest is the other record
            pass
        try:
            sessions = self.manifest().get("sessions", [])
        except CosearchError:
            return 0, None
        counts: list[int] = [s["trials"] for s in sessions if isinstance(s, dict) and is_int(s.get("trials"))]
        return (max(counts), self.manifest_file) if counts else (0, None)

    def make_journal_whole(self) -> str | None:
        """Before a run appends to ``study.journal`` (call inside :meth:`locked`): refuse when it holds
        fewer trials than the run recorded (a journal emptied, truncated, deleted or replaced, which a
        run would start again from, overwriting the results), then repair what
        :func:`~cosearch.journal.repair_journal` repairs. The journal is scanned once for both; a
        refusal leaves it as it was. Returns the repair's note, None when nothing was cut off.

        Raises:
            CosearchError: with the ways out (restore the journal, or move the results aside), or
                the repair's refusal (damage followed by valid records).
        """
        scan = scan_journal(self.journal) if self.journal.exists() else None
        recorded, source = self.recorded_trials()
        held = scan.trials if scan is not None else 0
        kept_aside = self.journal.with_name(self.journal.name + ".damaged").exists()  # holds what a repair cut
        if source is not None and held < recorded and not kept_aside and not (scan is not None and scan.valid_after):
            state = "is missing" if scan is None else f"holds {held} trials"
            raise CosearchError(
                f"{self.journal}: {state} but {source.name} recorded {recorded}; the journal was emptied, truncated "
                f"or replaced, and continuing would overwrite those results. Restore study.journal from a copy, or "
                f"to continue from what it holds, move the results aside: mv {self.trials_parquet} "
                f"{self.trials_parquet}.old; mv {self.manifest_file} {self.manifest_file}.old")
        return repair_journal(self.journal, scan)

    def start_session(self, seed: int, project_dir: Path, argv: list[str]) -> None:
        try:
            manifest = self.manifest()
        except CosearchError:  # damaged: kept aside, the run's record goes on in a new one
            damaged = self.manifest_file.with_name(self.manifest_file.name + ".damaged")
            os.replace(self.manifest_file, damaged)
            print(f"warning: {self.manifest_file} was damaged; kept as {damaged}, a new manifest starts here",
                  file=sys.stderr)
            manifest = {}
        manifest = manifest or {"created": now(), "seed": seed, "sessions": []}
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
