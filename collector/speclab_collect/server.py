"""`speclab-collect serve`: a local job server the notebook drives (stdlib only: http.server, sqlite3).

Listens on 127.0.0.1 only and prints a URL with a random token, as Jupyter does. Every request must
- carry a Host header naming localhost / 127.0.0.1 / [::1] (with this port): a DNS-rebinding page cannot reach us;
- if it carries an Origin header, come from an allowed origin (default: the notebook's Vite dev and preview ports);
- carry the token (`Authorization: token T`, `Authorization: Bearer T`, or `?token=T` for EventSource/links);
- stay within small size limits.
Jobs run one at a time as `python -m speclab_collect run ...` subprocesses (argument lists, never a shell), so
cancel = terminate the process and resume = run the same command again (the collector resumes from its shards).
Jobs live in SQLite: a restarted server lists them and re-queues the ones that had not finished.
This module is the HTTP side; what a job may ask for is jobspec.py, where jobs are kept jobstore.py, how they run runner.py.

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
import json
import os
import re
import secrets
import signal
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from . import __version__

# The server's other concerns: job specs (jobspec.py), the job store (jobstore.py), the runner (runner.py).
from .jobspec import _NAME_RE, JobError, Policy, build_job
from .jobstore import TERMINAL, JobStore
from .runner import JobRunner

DEFAULT_ORIGINS = ("http://localhost:5173", "http://127.0.0.1:5173", "http://localhost:4173", "http://127.0.0.1:4173")
MAX_BODY = 64 * 1024
MAX_URL = 4096
LOCAL_HOSTS = ("localhost", "127.0.0.1", "[::1]")
_FILE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$")


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


def make_server(
    root: Path, port: int = 0, token: str | None = None, origins: tuple[str, ...] = DEFAULT_ORIGINS, policy: Policy | None = None
) -> CollectServer:
    return CollectServer(Path(root), port, token or secrets.token_urlsafe(24), tuple(origins), policy or Policy())


def _raise_interrupt(*_: Any) -> None:
    raise KeyboardInterrupt


_ORIGIN_RE = re.compile(r"^https?://(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:]+\])(?::\d{1,5})?$")


def check_origins(origins: list[str]) -> tuple[str, ...]:
    """--allow-origin values: exact origins (scheme://host[:port]), never a wildcard."""
    for o in origins:
        if not _ORIGIN_RE.match(o):
            raise ValueError(
                f"--allow-origin {o!r}: give an exact origin such as http://localhost:5173 "
                "(scheme, host and port; no path, no trailing '/', no wildcard)"
            )
    return tuple(origins) or DEFAULT_ORIGINS


def serve_forever(args: Any) -> int:
    policy = Policy(allow_remote_code=args.allow_remote_code, model_roots=list(args.model_root), data_roots=list(args.data_root))
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
