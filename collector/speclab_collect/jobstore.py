"""The job store of `speclab-collect serve`: jobs in SQLite (a restarted server lists them), with a change counter
event streams wait on and each job's recent snapshots."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections import deque
from pathlib import Path
from typing import Any

from .jobspec import JobError

TERMINAL = ("done", "failed", "cancelled")
HISTORY_PER_JOB = 256  # job snapshots kept in memory per job, replayed to an event stream that connects late


class JobStore:
    """Jobs in SQLite, with an in-memory change counter that SSE streams wait on, and each job's recent snapshots
    (status and last event after every change) so a stream delivers every change in order, none coalesced."""

    def __init__(self, path: Path) -> None:
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS jobs (name TEXT PRIMARY KEY, spec TEXT NOT NULL, args TEXT NOT NULL, "
            "status TEXT NOT NULL, progress TEXT, error TEXT, created REAL NOT NULL, updated REAL NOT NULL)"
        )
        self._lock = threading.Lock()
        self.changed = threading.Condition(self._lock)
        self.version = 0
        self._history: dict[str, deque[tuple[int, dict[str, Any]]]] = {}

    def add(self, name: str, spec: dict[str, Any], args: list[str]) -> None:
        now = time.time()
        with self._lock:
            try:
                self._db.execute(
                    "INSERT INTO jobs VALUES (?, ?, ?, 'queued', NULL, NULL, ?, ?)", (name, json.dumps(spec), json.dumps(args), now, now)
                )
            except sqlite3.IntegrityError:
                raise JobError(f"a job named {name!r} exists already", 409) from None
            self._bump(name)

    def update(self, name: str, **fields: Any) -> None:
        cols = {k: (json.dumps(v) if k == "progress" and v is not None else v) for k, v in fields.items()}
        sets = ", ".join(f"{k} = ?" for k in cols)
        with self._lock:
            self._db.execute(f"UPDATE jobs SET {sets}, updated = ? WHERE name = ?", (*cols.values(), time.time(), name))
            self._bump(name)

    def _bump(self, name: str) -> None:
        """Called with the lock held, after `name` changed: records its snapshot and wakes the streams."""
        self.version += 1
        row = self._db.execute("SELECT * FROM jobs WHERE name = ?", (name,)).fetchone()
        if row is not None:
            self._history.setdefault(name, deque(maxlen=HISTORY_PER_JOB)).append((self.version, self._row(row)))
        self.changed.notify_all()

    def since(self, name: str, version: int) -> list[tuple[int, dict[str, Any]]]:
        """Snapshots of `name` newer than `version`, oldest first (call with `changed` held). A job with no
        snapshot in memory (known from the database of an earlier server) gives its current state once."""
        hist = self._history.get(name)
        if hist:
            events = [(v, job) for v, job in hist if v > version]
            if version < 0:  # a new stream: the current run's snapshots, not those of a run that ended before it
                ends = [i for i, (_, job) in enumerate(events[:-1]) if job["status"] in TERMINAL]
                events = events[ends[-1] + 1 :] if ends else events
            return events
        if version >= 0:
            return []
        row = self._db.execute("SELECT * FROM jobs WHERE name = ?", (name,)).fetchone()
        return [(0, self._row(row))] if row is not None else []

    def get(self, name: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._db.execute("SELECT * FROM jobs WHERE name = ?", (name,)).fetchone()
        return self._row(row) if row else None

    def args(self, name: str) -> list[str]:
        with self._lock:
            return json.loads(self._db.execute("SELECT args FROM jobs WHERE name = ?", (name,)).fetchone()[0])

    def all(self) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._db.execute("SELECT * FROM jobs ORDER BY created").fetchall()
        return [self._row(r) for r in rows]

    @staticmethod
    def _row(r: tuple[Any, ...]) -> dict[str, Any]:
        name, spec, _args, status, progress, error, created, updated = r
        return {
            "name": name,
            "spec": json.loads(spec),
            "status": status,
            "progress": json.loads(progress) if progress else None,
            "error": error,
            "created": created,
            "updated": updated,
            "trace": f"/traces/{name}/manifest.json",
        }
