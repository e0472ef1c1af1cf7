"""Progress reporting: a bar with tokens/s and ETA on stderr, or JSON lines on stdout for the job server."""

from __future__ import annotations

import json
import sys
import time
from typing import Any, TextIO


class Progress:
    def __init__(self, total: int, done: int = 0, mode: str = "bar", stream: TextIO | None = None) -> None:
        if mode not in ("bar", "jsonl", "none"):
            raise ValueError(f"progress mode must be bar, jsonl or none, got {mode!r}")
        self.total, self.done, self.mode = total, done, mode
        self.stream = stream or (sys.stdout if mode == "jsonl" else sys.stderr)
        self._start_done = done  # tokens already written by an earlier run don't count for the rate
        self._t0 = time.monotonic()
        self._last = 0.0
        self._printed = -1
        self._tty = mode == "bar" and getattr(self.stream, "isatty", lambda: False)()

    def rate(self) -> float:
        dt = time.monotonic() - self._t0
        return (self.done - self._start_done) / dt if dt > 0 else 0.0

    def eta(self) -> float | None:
        r = self.rate()
        return (self.total - self.done) / r if r > 0 else None

    def event(self, kind: str, **fields: Any) -> None:
        """A one-off event (start, resumed, done, error); only JSON mode prints these verbatim."""
        if self.mode == "jsonl":
            print(json.dumps({"event": kind, **fields}), file=self.stream, flush=True)
        elif self.mode == "bar" and kind != "progress":
            msg = fields.get("message") or " ".join(f"{k}={v}" for k, v in fields.items())
            self._clear()
            print(f"speclab-collect: {kind}: {msg}", file=self.stream, flush=True)

    def update(self, done: int, force: bool = False) -> None:
        self.done = done
        now = time.monotonic()
        # Redraw a terminal bar 5 times a second; a log file or a pipe gets a line every 10 seconds.
        every = 0.2 if self._tty else (10.0 if self.mode == "bar" else 1.0)
        if not force and now - self._last < every and done < self.total:
            return
        if force and self._printed == done:
            return
        self._last, self._printed = now, done
        eta = self.eta()
        if self.mode == "jsonl":
            self.event(
                "progress", tokens=done, total=self.total, tokensPerSec=round(self.rate(), 1), etaSec=None if eta is None else round(eta, 1)
            )
        elif self.mode == "bar":
            frac = done / self.total if self.total else 1.0
            bar = "#" * int(frac * 30)
            text = f"{bar:<30} {done:,}/{self.total:,} tokens {100 * frac:5.1f}%  {self.rate():,.0f} tok/s  ETA {_fmt(eta)}"
            if self._tty:
                print("\r" + text, end="", file=self.stream, flush=True)
            else:
                print(text, file=self.stream, flush=True)

    def _clear(self) -> None:
        if self._tty:
            print("\r\033[K", end="", file=self.stream)

    def close(self) -> None:
        self.update(self.done, force=True)
        if self._tty:
            print(file=self.stream, flush=True)


def _fmt(seconds: float | None) -> str:
    if seconds is None:
        return "--:--"
    s = int(seconds)
    h, rem = divmod(s, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"
