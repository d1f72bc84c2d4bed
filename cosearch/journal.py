"""Damage in a run's Optuna journal (``study.journal``): found, reported, and repaired where safe.

The journal is one JSON record per line, appended whole (``optuna.storages.journal``), so every
prefix of whole records is a valid journal. Four cases:

* intact: nothing to do;
* a torn last record (a writer killed mid-line: no final newline): Optuna already skips it on
  read; :func:`repair_journal` cuts it off, so the next record does not land on the same line;
* damage after an intact prefix with no valid record after it (garbage appended by a disk fault
  or a bad copy): the damaged file is kept as ``study.journal.damaged`` and the run continues
  from the intact records;
* a damaged record followed by valid ones: cosearch will not guess which to trust and refuses,
  printing the exact commands that keep the intact prefix.

Writes are grouped (:class:`DeferredJournalBackend`): a trial's parameters and attributes are
held in memory and appended, with one fsync, together with the next record that changes a
state (the trial's end, the next trial's creation, a study attribute). Optuna's own file backend
appends and fsyncs every operation (~24 per trial here). A process killed mid-trial loses only
that trial's parameters and attributes; its creation is on disk, so the next session records it
interrupted exactly as before.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from optuna.storages.journal import BaseJournalBackend

from cosearch.core.errors import CosearchError
from cosearch.core.files import naming_file
from cosearch.core.settings import is_int

#: Journal operations held in memory until the next state-changing one: Optuna's
#: ``JournalOperation`` codes SET_TRIAL_PARAM (5), SET_TRIAL_INTERMEDIATE_VALUE (7),
#: SET_TRIAL_USER_ATTR (8) and SET_TRIAL_SYSTEM_ATTR (9) (optuna/storages/journal/_storage.py).
DEFERRED_OPS = frozenset({5, 7, 8, 9})


class DeferredJournalBackend(BaseJournalBackend):
    """A journal backend that holds :data:`DEFERRED_OPS` records and appends them, in order, with
    the next other record (one write, one fsync); reads see the held records as if written.

    Only for the run's single writer (the run lock guarantees it): the file changes only through
    this object, so it is read again only after a write (another writer's records would be missed,
    and numbered differently here and in the file).
    """

    def __init__(self, inner: BaseJournalBackend, path: Path | str = "study.journal") -> None:
        self._inner = inner
        self._path = path  # named in an OSError that does not say which file (Optuna's appends)
        self._held: list[dict[str, Any]] = []
        self._on_disk = 0  # records known to be in the file
        self._stale = True  # the file may hold records not yet read
        self._lock = threading.Lock()

    def read_logs(self, log_number_from: int) -> Iterable[dict[str, Any]]:
        with self._lock:
            start = min(log_number_from, self._on_disk)
            if self._stale or start < self._on_disk:
                written = list(self._inner.read_logs(start))
                self._on_disk, self._stale = start + len(written), False
            else:
                written = []
            return (written + self._held)[log_number_from - start:]

    def append_logs(self, logs: list[dict[str, Any]]) -> None:
        with self._lock:
            if all(log.get("op_code") in DEFERRED_OPS for log in logs):
                self._held.extend(logs)
                return
            self._write(logs)

    def flush(self) -> None:
        """Append the held records now (no-op when none are held)."""
        with self._lock:
            if self._held:
                self._write([])

    def _write(self, logs: list[dict[str, Any]]) -> None:
        batch, self._held = self._held + logs, []
        try:
            with naming_file(self._path):
                self._inner.append_logs(batch)
        finally:
            self._stale = True


@dataclass(frozen=True)
class JournalScan:
    """Where a journal stops being whole.

    Attributes:
        intact: records before the first damaged line.
        intact_bytes: byte length of those records (where a repair cuts the file).
        damaged_lines: lines from the first damaged one to the end.
        valid_after: whole, parseable records after the first damaged line.
        torn_tail: the only damage is a last line without its newline.
        trials: trials created by the intact records (Optuna's CREATE_TRIAL, op code 4).
    """

    intact: int
    intact_bytes: int
    damaged_lines: int
    valid_after: int
    torn_tail: bool
    trials: int = 0

    @property
    def damaged(self) -> bool:
        return self.damaged_lines > 0


#: Optuna's ``JournalOperation.CREATE_TRIAL``: one record per trial.
CREATE_TRIAL = 4


def _op_code(line: bytes) -> int | None:
    """The operation code of a whole journal record, None for anything else."""
    if not line.endswith(b"\n"):
        return None
    try:
        record = json.loads(line.decode("utf-8"))
    except ValueError:  # JSONDecodeError and UnicodeDecodeError
        return None
    code = record.get("op_code") if isinstance(record, dict) else None
    return code if is_int(code) else None


def scan_journal(path: Path) -> JournalScan:
    """Count the intact records of ``path`` and what follows the first damaged line."""
    intact = intact_bytes = damaged = valid_after = trials = 0
    last_whole = True
    with open(path, "rb") as handle:
        for line in handle:
            code = _op_code(line)
            if damaged == 0 and code is not None:
                intact += 1
                intact_bytes += len(line)
                trials += code == CREATE_TRIAL
                continue
            damaged += 1
            valid_after += code is not None
            last_whole = line.endswith(b"\n")
    torn = damaged == 1 and not last_whole
    return JournalScan(intact, intact_bytes, damaged, valid_after, torn, trials)


def repair_journal(path: Path, scan: JournalScan | None = None) -> str | None:
    """Make ``path`` whole before a run appends to it (the caller holds the run lock); ``scan`` is
    its :func:`scan_journal` when the caller already has it.

    Returns a note to print when something was cut off, None when the journal was intact.

    Raises:
        CosearchError: valid records follow a damaged one; the message gives the recovery commands.
    """
    if not path.exists():
        return None
    scan = scan or scan_journal(path)
    if not scan.damaged:
        return None
    if scan.torn_tail:
        with open(path, "rb+") as handle:
            handle.truncate(scan.intact_bytes)
        return f"{path}: cut off a torn last record (a writer was killed mid-write); {scan.intact} records intact"
    if scan.valid_after:
        raise CosearchError(_refusal(path, scan))
    damaged = path.with_name(path.name + ".damaged")
    os.replace(path, damaged)
    with open(damaged, "rb") as source, open(path, "wb") as target:
        target.write(source.read(scan.intact_bytes))
        target.flush()
        os.fsync(target.fileno())
    return (f"{path}: {scan.damaged_lines} damaged lines after record {scan.intact}; continuing from the "
            f"{scan.intact} intact records (the damaged file is kept as {damaged})")


def _refusal(path: Path, scan: JournalScan) -> str:
    """The message for a damaged record with valid ones after it, with the commands that keep the intact prefix."""
    intact = path.with_name(path.name + ".intact")
    damaged = path.with_name(path.name + ".damaged")
    return (f"{path}: record {scan.intact + 1} is damaged and {scan.valid_after} valid records follow it; cosearch "
            f"will not guess which to trust. To continue from the {scan.intact} intact records run: "
            f"head -c {scan.intact_bytes} {path} > {intact} && mv {path} {damaged} && mv {intact} {path}")


def check_readable(path: Path) -> None:
    """Refuse, with the way out, a journal that Optuna cannot read back (read-only commands:
    report, dashboard, export); a torn last record is fine, Optuna skips it.

    Raises:
        CosearchError: damage other than a torn last record.
    """
    scan = scan_journal(path)
    if not scan.damaged or scan.torn_tail:
        return
    if scan.valid_after:
        raise CosearchError(_refusal(path, scan))
    raise CosearchError(f"{path}: {scan.damaged_lines} damaged lines after record {scan.intact}; resuming the run "
                        f"(cosearch resume {path.parent}) keeps the {scan.intact} intact records and the "
                        f"damaged file as {path.name}.damaged")


__all__ = ["DEFERRED_OPS", "DeferredJournalBackend", "JournalScan", "check_readable", "repair_journal", "scan_journal"]
