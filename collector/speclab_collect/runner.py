"""The job runner of `speclab-collect serve`: queued jobs run one at a time as `python -m speclab_collect run ...`
subprocesses (argument lists, never a shell); cancel terminates the process, resume runs the same command again
(the collector resumes from its shards)."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from .jobspec import JobError
from .jobstore import TERMINAL, JobStore


class JobRunner:
    """Runs queued jobs one at a time (one GPU) in subprocesses."""

    def __init__(self, store: JobStore, root: Path) -> None:
        self.store, self.root = store, root
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._proc: subprocess.Popen[str] | None = None
        self._current: str | None = None
        self._cancelled: set[str] = set()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._loop, name="speclab-jobs", daemon=True)
        self._stopping = False

    def start(self) -> None:
        # Jobs a previous server left queued or running are picked up again: the collector resumes them.
        for job in self.store.all():
            if job["status"] in ("queued", "running"):
                self.store.update(job["name"], status="queued")
                self._queue.put(job["name"])
        self._thread.start()

    def submit(self, name: str) -> None:
        self._queue.put(name)

    def cancel(self, name: str) -> None:
        job = self.store.get(name)
        if job is None:
            raise JobError(f"no job named {name!r}", 404)
        if job["status"] in TERMINAL:
            raise JobError(f"job {name!r} is {job['status']}; nothing to cancel", 409)
        with self._lock:
            self._cancelled.add(name)
            proc = self._proc if self._current == name else None
        if proc is not None:
            _terminate(proc)
        self.store.update(name, status="cancelled")

    def resume(self, name: str) -> None:
        job = self.store.get(name)
        if job is None:
            raise JobError(f"no job named {name!r}", 404)
        if job["status"] not in ("cancelled", "failed"):
            raise JobError(f"job {name!r} is {job['status']}; only cancelled or failed jobs resume", 409)
        with self._lock:
            self._cancelled.discard(name)
        self.store.update(name, status="queued", error=None)
        self._queue.put(name)

    def stop(self) -> None:
        """Server shutdown: stop the running job but leave it 'running', so the next server resumes it."""
        self._stopping = True
        with self._lock:
            proc = self._proc
        if proc is not None:
            _terminate(proc)
        self._queue.put(None)
        if self._thread.is_alive():
            self._thread.join(30)

    def _loop(self) -> None:
        while True:
            name = self._queue.get()
            if name is None or self._stopping:
                return
            job = self.store.get(name)
            if job is None or job["status"] != "queued":
                continue  # cancelled while queued, or queued twice
            self._run(name)

    def _run(self, name: str) -> None:
        out = self.root / "traces" / name
        log_path = self.root / "logs" / f"{name}.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        cmd = [sys.executable, "-m", "speclab_collect", "run", *self.store.args(name), "--out", str(out), "--progress", "jsonl"]
        self.store.update(name, status="running", error=None)
        last_error = None
        with open(log_path, "a", encoding="utf-8") as log:
            log.write(f"\n--- {time.strftime('%Y-%m-%d %H:%M:%S')} start\n")
            log.flush()
            proc = subprocess.Popen(
                cmd, stdout=subprocess.PIPE, stderr=log, stdin=subprocess.DEVNULL, text=True, env=dict(os.environ, PYTHONUNBUFFERED="1")
            )
            with self._lock:
                self._proc, self._current = proc, name
                if name in self._cancelled:  # cancelled in the instant before we registered the process
                    _terminate(proc)
            last_write = 0.0
            held: dict[str, Any] | None = None  # a progress line not yet written (it came too soon after the last)
            assert proc.stdout is not None
            for line in proc.stdout:
                try:
                    ev = json.loads(line)
                except ValueError:
                    continue
                if ev.get("event") == "error":
                    last_error = ev.get("message")
                now = time.monotonic()
                if ev.get("event") == "progress":
                    # Progress lines come up to once a second; keep the database writes at that pace too, but
                    # never lose the last one (a run's final count), however soon it follows.
                    final = isinstance(ev.get("total"), int) and ev.get("tokens") == ev.get("total")
                    if now - last_write >= 1.0 or final:
                        self.store.update(name, progress=ev)
                        last_write, held = now, None
                    else:
                        held = ev
                    continue
                if held is not None:
                    self.store.update(name, progress=held)
                    held = None
                self.store.update(name, progress=ev)
            rc = proc.wait()
        with self._lock:
            self._proc, self._current = None, None
            cancelled = name in self._cancelled
        if self._stopping and not cancelled:
            return  # stays 'running' in the database: the next server resumes it
        if cancelled:
            self.store.update(name, status="cancelled")
        elif rc == 0:
            self.store.update(name, status="done")
        else:
            self.store.update(name, status="failed", error=last_error or f"collector exited with status {rc}; see the log")


def _terminate(proc: subprocess.Popen[Any]) -> None:
    if proc.poll() is None:
        proc.terminate()  # the collector needs no clean-up: whatever it had not published is redone on resume
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
