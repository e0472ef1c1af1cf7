"""`speclab-collect serve`: a local job server the notebook drives (stdlib only: http.server, sqlite3).

Listens on 127.0.0.1 only and prints a URL with a random token, as Jupyter does. Every request must
- carry a Host header naming localhost / 127.0.0.1 / [::1] (with this port): a DNS-rebinding page cannot reach us;
- if it carries an Origin header, come from an allowed origin (default: the notebook's Vite dev and preview ports);
- carry the token (`Authorization: token T`, `Authorization: Bearer T`, or `?token=T` for EventSource/links);
- stay within small size limits.
Jobs run one at a time as `python -m speclab_collect run ...` subprocesses (argument lists, never a shell), so
cancel = terminate the process and resume = run the same command again (the collector resumes from its shards).
Jobs live in SQLite: a restarted server lists them and re-queues the ones that had not finished.

API (JSON):
  GET  /api/health                      {"ok": true, "version": ...}
  GET  /api/jobs                        {"jobs": [job, ...]}
  POST /api/jobs                        submit {name, model | config, datasets, ...} -> 201 {"job": job}
  GET  /api/jobs/<name>                 {"job": job}
  GET  /api/jobs/<name>/events          Server-Sent Events: "job" events with the job's state until it ends
  GET  /api/jobs/<name>/log             the job's stderr (last 64 KiB), text/plain
  POST /api/jobs/<name>/cancel          terminate (running) or drop (queued)
  POST /api/jobs/<name>/resume          queue a cancelled or failed job again
  GET  /traces/<name>/<file>            manifest.json and shards of a job's trace set (CORS for the notebook)
"""

from __future__ import annotations

import hmac
from collections import deque
import json
import os
import queue
import re
import secrets
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from . import __version__
from .models import DTYPES, QUANTIZATIONS, MEMORY_RE, ModelError, validate_model_ref
from .sources import ALIASES, HUB_DATASETS, LABEL_RE, _BUDGET_RE

DEFAULT_ORIGINS = ("http://localhost:5173", "http://127.0.0.1:5173", "http://localhost:4173", "http://127.0.0.1:4173")
MAX_BODY = 64 * 1024
MAX_URL = 4096
LOCAL_HOSTS = ("localhost", "127.0.0.1", "[::1]")
TERMINAL = ("done", "failed", "cancelled")
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_FILE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$")


class JobError(ValueError):
    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


# ------------------------------------------------------------------------------------------- job specs


@dataclass
class Policy:
    allow_remote_code: bool = False
    model_roots: list[Path] = field(default_factory=list)  # empty: any existing local folder
    data_roots: list[Path] = field(default_factory=list)


def _under(path: Path, roots: list[Path]) -> bool:
    if not roots:
        return True
    real = os.path.realpath(path)
    return any(real == os.path.realpath(r) or real.startswith(os.path.realpath(r) + os.sep) for r in roots)


def _int(spec: dict[str, Any], key: str, default: int, lo: int, hi: int) -> int:
    v = spec.get(key, default)
    if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
        raise JobError(f"{key} must be an integer in {lo}..{hi}")
    return v


def _str(spec: dict[str, Any], key: str, choices: tuple[str, ...] | None = None) -> str | None:
    v = spec.get(key)
    if v is None:
        return None
    if not isinstance(v, str) or len(v) > 200:
        raise JobError(f"{key} must be a string")
    if choices is not None and v not in choices:
        raise JobError(f"{key} must be one of {', '.join(choices)}")
    return v


_KNOWN_KEYS = {"name", "model", "config", "revision", "seed", "tokenizer", "datasets", "seqLen", "batchSize", "dtype",
               "quantization", "allowUnquantizedExperts", "gpuMemory", "cpuMemory", "lookahead", "shardTokens",
               "logits", "tokenText", "trustRemoteCode", "threads", "description"}


def build_job(spec: Any, policy: Policy, config_dir: Path) -> tuple[str, list[str], dict[str, Any]]:
    """Validate a submitted job; returns (name, `run` arguments, normalised spec). Raises JobError."""
    if not isinstance(spec, dict):
        raise JobError("the request body must be a JSON object")
    unknown = sorted(set(spec) - _KNOWN_KEYS)
    if unknown:
        raise JobError(f"unknown fields: {', '.join(unknown)}")
    name = spec.get("name")
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise JobError("name must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit")
    args: list[str] = []
    model, config = spec.get("model"), spec.get("config")
    if config is not None:
        # A config object (not code): random-initialised weights, for trying the pipeline.
        if not isinstance(config, dict) or not isinstance(config.get("model_type"), str):
            raise JobError("config must be a JSON object with a model_type")
        config_dir.mkdir(parents=True, exist_ok=True)
        path = config_dir / f"{name}.json"
        path.write_text(json.dumps(config))
        args += ["--config-json", str(path)]
        if model is not None:
            if not isinstance(model, str) or not _NAME_RE.match(model.replace("/", "_")):
                raise JobError("model (the name recorded for a config) must be a short plain name")
            args += ["--model", model]
    else:
        if not isinstance(model, str):
            raise JobError("model is required: a Hugging Face id (owner/name) or a local model folder")
        if model.startswith((".", "~")) or ".." in model.split("/"):
            raise JobError("local model paths must be absolute, without '..'")
        try:
            kind = validate_model_ref(model)
        except ModelError as e:
            raise JobError(str(e)) from None
        if kind == "local" and not _under(Path(model), policy.model_roots):
            raise JobError(f"{model}: local models must be under {', '.join(map(str, policy.model_roots))}", 403)
        args += ["--model", model]
    if spec.get("trustRemoteCode"):
        if not policy.allow_remote_code:
            raise JobError("trustRemoteCode refused: start the server with --allow-remote-code to allow it", 403)
        args.append("--trust-remote-code")
    for key, flag in (("revision", "--revision"), ("tokenizer", "--tokenizer")):
        v = _str(spec, key)
        if v is not None:
            if not (v == "bytes" or re.match(r"^[A-Za-z0-9][A-Za-z0-9._/-]*$", v)) or ".." in v:
                raise JobError(f"{key} {v!r} is not a valid name")
            if key == "tokenizer" and v != "bytes":
                try:
                    if validate_model_ref(v) == "local" and not _under(Path(v), policy.model_roots):
                        raise JobError(f"{v}: local tokenizers must be under the model roots", 403)
                except ModelError as e:
                    raise JobError(str(e)) from None
            args += [flag, v]
    datasets = spec.get("datasets")
    if not isinstance(datasets, list) or not 1 <= len(datasets) <= 64:
        raise JobError("datasets must be a list of 1..64 entries")
    for i, d in enumerate(datasets):
        args += ["--dataset", _dataset_arg(d, i, policy)]
    args += ["--seq-len", str(_int(spec, "seqLen", 512, 1, 1 << 20))]
    args += ["--batch-size", str(_int(spec, "batchSize", 8, 1, 4096))]
    args += ["--shard-tokens", str(_int(spec, "shardTokens", 16384, 1, 10_000_000))]
    args += ["--lookahead", str(_int(spec, "lookahead", 0, 0, 64))]
    args += ["--seed", str(_int(spec, "seed", 0, 0, 2**31 - 1))]
    args += ["--dtype", _str(spec, "dtype", tuple(DTYPES)) or "bf16"]
    args += ["--quantization", _str(spec, "quantization", QUANTIZATIONS) or "none"]
    if spec.get("allowUnquantizedExperts"):
        args.append("--allow-unquantized-experts")
    for key, flag in (("gpuMemory", "--gpu-memory"), ("cpuMemory", "--cpu-memory")):
        v = _str(spec, key)
        if v is not None:
            if not MEMORY_RE.match(v):
                raise JobError(f"{key} must look like 22GiB")
            args += [flag, v]
    if spec.get("logits") is False:
        args.append("--no-logits")
    if spec.get("tokenText") is False:
        args.append("--no-token-text")
    if "threads" in spec:
        args += ["--threads", str(_int(spec, "threads", 1, 1, 1024))]
    desc = _str(spec, "description")
    if desc is not None:
        args += ["--description", desc]
    return name, args, spec


def _dataset_arg(d: Any, i: int, policy: Policy) -> str:
    """One dataset entry, as a string 'imdb:100k' or {source, budget?, label?}, to a --dataset argument."""
    if isinstance(d, str):
        d = {"source": d}
    if not isinstance(d, dict) or not isinstance(d.get("source"), str):
        raise JobError(f"datasets[{i}] must be a string or an object with a source")
    source, budget, label = d["source"], d.get("budget"), d.get("label")
    if isinstance(source, str) and ":" in source and budget is None:
        head, _, tail = source.rpartition(":")
        if _BUDGET_RE.match(tail):
            source, budget = head, tail
    name = ALIASES.get(source.lower(), source.lower())
    if name not in HUB_DATASETS:
        p = Path(source)
        if not p.is_absolute() or not p.is_file():
            raise JobError(f"datasets[{i}]: {source!r} is neither a known dataset ({', '.join(HUB_DATASETS)}) "
                           "nor an existing local file (absolute path)")
        if not _under(p, policy.data_roots):
            raise JobError(f"datasets[{i}]: local files must be under {', '.join(map(str, policy.data_roots))}", 403)
    if budget is not None:
        if isinstance(budget, bool) or not (isinstance(budget, int) and budget > 0 or
                                            isinstance(budget, str) and _BUDGET_RE.match(budget)):
            raise JobError(f"datasets[{i}].budget must be a positive token count (e.g. 200000 or '200k')")
    if label is not None and (not isinstance(label, str) or not LABEL_RE.match(label)):
        raise JobError(f"datasets[{i}].label must be 1-64 letters, digits, '.', '_' or '-'")
    return (f"{label}=" if label else "") + source + (f":{budget}" if budget is not None else "")


# ------------------------------------------------------------------------------------------- job store


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
                self._db.execute("INSERT INTO jobs VALUES (?, ?, ?, 'queued', NULL, NULL, ?, ?)",
                                 (name, json.dumps(spec), json.dumps(args), now, now))
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
                events = events[ends[-1] + 1:] if ends else events
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
        return {"name": name, "spec": json.loads(spec), "status": status,
                "progress": json.loads(progress) if progress else None, "error": error,
                "created": created, "updated": updated, "trace": f"/traces/{name}/manifest.json"}


# ------------------------------------------------------------------------------------------- job runner


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
        cmd = [sys.executable, "-m", "speclab_collect", "run", *self.store.args(name), "--out", str(out),
               "--progress", "jsonl"]
        self.store.update(name, status="running", error=None)
        last_error = None
        with open(log_path, "a", encoding="utf-8") as log:
            log.write(f"\n--- {time.strftime('%Y-%m-%d %H:%M:%S')} start\n")
            log.flush()
            proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=log, stdin=subprocess.DEVNULL, text=True,
                                    env=dict(os.environ, PYTHONUNBUFFERED="1"))
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


# ------------------------------------------------------------------------------------------- HTTP


class CollectServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, root: Path, port: int, token: str, origins: tuple[str, ...], policy: Policy) -> None:
        super().__init__(("127.0.0.1", port), Handler)
        self.root = root
        self.token = token
        self.origins = set(origins)
        self.policy = policy
        root.mkdir(parents=True, exist_ok=True)
        self.store = JobStore(root / "jobs.sqlite")
        self.runner = JobRunner(self.store, root)

    @property
    def port(self) -> int:
        return self.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/?token={self.token}"

    def start(self) -> threading.Thread:
        self.runner.start()
        t = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05}, name="speclab-http", daemon=True)
        t.start()
        return t

    def stop(self) -> None:
        self.shutdown()
        self.runner.stop()
        self.server_close()


class Handler(BaseHTTPRequestHandler):
    server: CollectServer
    server_version = f"speclab-collect/{__version__}"
    protocol_version = "HTTP/1.0"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        # Quiet by default (the token would appear in logged URLs).
        if os.environ.get("SPECLAB_SERVE_LOG"):
            sys.stderr.write("serve: " + (format % args).split("?")[0] + "\n")

    # -- checks shared by every method ------------------------------------------------------------------

    def _origin_ok(self) -> bool:
        origin = self.headers.get("Origin")
        return origin is None or origin in self.server.origins

    def _host_ok(self) -> bool:
        host = (self.headers.get("Host") or "").strip().lower()
        if host.startswith("["):
            name, _, port = host.partition("]")
            name += "]"
            port = port.removeprefix(":")
        else:
            name, _, port = host.partition(":")
        return name in LOCAL_HOSTS and (port == "" or port == str(self.server.port))

    def _token_ok(self, query: dict[str, list[str]]) -> bool:
        auth = self.headers.get("Authorization") or ""
        scheme, _, value = auth.partition(" ")
        given = value.strip() if scheme.lower() in ("token", "bearer") else (query.get("token") or [""])[0]
        return bool(given) and hmac.compare_digest(given.encode(), self.server.token.encode())

    def _guard(self) -> tuple[str, dict[str, list[str]]] | None:
        """Host, Origin, size and token checks; sends the refusal and returns None when one fails."""
        if len(self.path) > MAX_URL:
            self._error(414, "URL too long")
            return None
        if not self._host_ok():
            self._error(403, "Host header must be localhost or 127.0.0.1 (this port)")
            return None
        if not self._origin_ok():
            self._error(403, f"Origin {self.headers.get('Origin')!r} is not allowed")
            return None
        parts = urlsplit(self.path)
        query = parse_qs(parts.query)
        if not self._token_ok(query):
            self._error(401, "missing or wrong token")
            return None
        return parts.path, query

    def _cors(self) -> None:
        origin = self.headers.get("Origin")
        if origin is not None and origin in self.server.origins:
            self.send_header("Access-Control-Allow-Origin", origin)
            self.send_header("Vary", "Origin")

    def _json(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self._cors()
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(data)

    def _error(self, status: int, message: str) -> None:
        self._json(status, {"error": message})

    def _body(self) -> Any:
        length = self.headers.get("Content-Length")
        if length is None:
            raise JobError("Content-Length required", 411)
        try:
            n = int(length)
        except ValueError:
            raise JobError("bad Content-Length", 400) from None
        if n < 0 or n > MAX_BODY:
            raise JobError(f"request body over {MAX_BODY} bytes", 413)
        raw = self.rfile.read(n)
        if "json" not in (self.headers.get("Content-Type") or ""):
            # Also stops a cross-site form post (which cannot send application/json without a preflight).
            raise JobError("Content-Type must be application/json", 415)
        try:
            return json.loads(raw or b"null")
        except ValueError as e:
            raise JobError(f"body is not JSON: {e}") from None

    # -- methods ----------------------------------------------------------------------------------------

    def do_OPTIONS(self) -> None:  # CORS preflight: no token (browsers send none), but Host and Origin checked
        if not self._host_ok() or self.headers.get("Origin") not in self.server.origins:
            self._error(403, "preflight refused")
            return
        self.send_response(204)
        self._cors()
        self.send_header("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
        self.send_header("Access-Control-Allow-Headers", "Authorization, Content-Type")
        self.send_header("Access-Control-Max-Age", "600")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self) -> None:
        g = self._guard()
        if g is None:
            return
        path, _ = g
        try:
            self._get(path)
        except JobError as e:
            self._error(e.status, str(e))

    def do_POST(self) -> None:
        g = self._guard()
        if g is None:
            return
        path, _ = g
        try:
            self._post(path)
        except JobError as e:
            self._error(e.status, str(e))

    def do_PUT(self) -> None:
        self._error(405, "method not allowed")

    do_DELETE = do_PATCH = do_HEAD = do_PUT

    def _get(self, path: str) -> None:
        parts = [p for p in path.split("/") if p]
        store = self.server.store
        if parts in ([], ["api"]):
            self._json(200, {"service": "speclab-collect", "version": __version__, "api": "/api/jobs"})
        elif parts == ["api", "health"]:
            self._json(200, {"ok": True, "version": __version__})
        elif parts == ["api", "jobs"]:
            self._json(200, {"jobs": store.all()})
        elif len(parts) == 3 and parts[:2] == ["api", "jobs"]:
            self._json(200, {"job": self._job(parts[2])})
        elif len(parts) == 4 and parts[:2] == ["api", "jobs"] and parts[3] == "events":
            self._events(parts[2])
        elif len(parts) == 4 and parts[:2] == ["api", "jobs"] and parts[3] == "log":
            self._log(parts[2])
        elif len(parts) == 3 and parts[0] == "traces":
            self._file(parts[1], parts[2])
        else:
            raise JobError("not found", 404)

    def _post(self, path: str) -> None:
        parts = [p for p in path.split("/") if p]
        if parts == ["api", "jobs"]:
            spec = self._body()
            name, args, spec = build_job(spec, self.server.policy, self.server.root / "configs")
            self.server.store.add(name, spec, args)
            self.server.runner.submit(name)
            self._json(201, {"job": self.server.store.get(name)})
        elif len(parts) == 4 and parts[:2] == ["api", "jobs"] and parts[3] in ("cancel", "resume"):
            self._body_optional()
            name = self._job(parts[2])["name"]
            (self.server.runner.cancel if parts[3] == "cancel" else self.server.runner.resume)(name)
            self._json(200, {"job": self.server.store.get(name)})
        else:
            raise JobError("not found", 404)

    def _body_optional(self) -> None:
        n = int(self.headers.get("Content-Length") or 0)
        if n > MAX_BODY:
            raise JobError(f"request body over {MAX_BODY} bytes", 413)
        self.rfile.read(n)

    def _job(self, name: str) -> dict[str, Any]:
        job = self.server.store.get(name) if _NAME_RE.match(name) else None
        if job is None:
            raise JobError(f"no job named {name!r}", 404)
        return job

    def _events(self, name: str) -> None:
        self._job(name)
        self.send_response(200)
        self._cors()
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        store = self.server.store
        seen = -1
        try:
            while True:
                with store.changed:
                    events = store.since(name, seen)
                    if not events:
                        store.changed.wait(15)
                        events = store.since(name, seen)
                if not events:
                    self.wfile.write(b": keep-alive\n\n")  # also notices a closed connection
                    self.wfile.flush()
                    continue
                for seen, job in events:
                    self.wfile.write(f"event: job\ndata: {json.dumps(job)}\n\n".encode())
                    if job["status"] in TERMINAL:
                        self.wfile.flush()
                        return
                self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            return

    def _log(self, name: str) -> None:
        self._job(name)
        path = self.server.root / "logs" / f"{name}.log"
        data = b""
        if path.exists():
            with open(path, "rb") as f:
                f.seek(max(0, path.stat().st_size - 65536))
                data = f.read()
        self.send_response(200)
        self._cors()
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _file(self, name: str, file: str) -> None:
        self._job(name)
        if not _FILE_RE.match(file) or not (file == "manifest.json" or file.endswith(".arrow")):
            raise JobError("only manifest.json and .arrow shard files are served", 404)
        folder = os.path.realpath(self.server.root / "traces" / name)
        path = os.path.realpath(os.path.join(folder, file))
        # realpath resolves symlinks: a link planted in the folder cannot point outside it.
        if not path.startswith(folder + os.sep) or not os.path.isfile(path):
            raise JobError("not found", 404)
        size = os.path.getsize(path)
        self.send_response(200)
        self._cors()
        self.send_header("Content-Type", "application/json" if file.endswith(".json") else "application/vnd.apache.arrow.file")
        self.send_header("Content-Length", str(size))
        self.send_header("Cache-Control", "no-store" if file == "manifest.json" else "private, max-age=3600")
        self.end_headers()
        with open(path, "rb") as f:
            while chunk := f.read(1 << 20):
                self.wfile.write(chunk)


def make_server(root: Path, port: int = 0, token: str | None = None, origins: tuple[str, ...] = DEFAULT_ORIGINS,
                policy: Policy | None = None) -> CollectServer:
    return CollectServer(Path(root), port, token or secrets.token_urlsafe(24), tuple(origins), policy or Policy())


def _raise_interrupt(*_: Any) -> None:
    raise KeyboardInterrupt


_ORIGIN_RE = re.compile(r"^https?://(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:]+\])(?::\d{1,5})?$")


def check_origins(origins: list[str]) -> tuple[str, ...]:
    """--allow-origin values: exact origins (scheme://host[:port]), never a wildcard."""
    for o in origins:
        if not _ORIGIN_RE.match(o):
            raise ValueError(f"--allow-origin {o!r}: give an exact origin such as http://localhost:5173 "
                             "(scheme, host and port; no path, no trailing '/', no wildcard)")
    return tuple(origins) or DEFAULT_ORIGINS


def serve_forever(args: Any) -> int:
    policy = Policy(allow_remote_code=args.allow_remote_code, model_roots=list(args.model_root),
                    data_roots=list(args.data_root))
    try:
        origins = check_origins(list(args.allow_origin))
    except ValueError as e:
        print(f"speclab-collect serve: {e}", file=sys.stderr)
        return 2
    try:
        server = make_server(args.out_root, args.port, args.token, origins, policy)
    except OSError as e:
        print(f"speclab-collect serve: cannot listen on 127.0.0.1:{args.port}: {e}", file=sys.stderr)
        return 1
    server.runner.start()
    print(f"SpecLab collector serving jobs from {args.out_root.resolve()}", file=sys.stderr)
    print(f"  {server.url}", file=sys.stderr)
    print("  open the notebook's Collect panel and paste this URL (it holds the access token)", file=sys.stderr)
    print(f"  notebook origins allowed: {', '.join(origins)} (others: --allow-origin ORIGIN)", file=sys.stderr, flush=True)
    signal.signal(signal.SIGTERM, _raise_interrupt)  # `kill` stops it like Ctrl-C: running job left to resume
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.runner.stop()
        server.server_close()
    return 0
