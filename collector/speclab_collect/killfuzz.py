"""Kill -9 fuzzing of `speclab-collect run`: start the same collection many times, SIGKILL it at random
moments (module loading, model building, mid-shard, mid-manifest), rerun the same command until it finishes,
and check that the trace set is byte for byte the one an uninterrupted run writes (every shard's SHA-256, the
tokens, and the arrays read back).

    python -m speclab_collect.killfuzz --trials 50 [--seed 1] [--max-kills 3] [--json]

Runs a small random-weight Mixtral (3 layers, 8 experts, top-2) over two local text files in a temporary
folder; the whole run is ~2,200 tokens in 8 shards, so kills land at every stage of it.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

TINY = {
    "model_type": "mixtral",
    "vocab_size": 300,
    "hidden_size": 32,
    "intermediate_size": 32,
    "num_hidden_layers": 3,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "num_local_experts": 8,
    "num_experts_per_tok": 2,
}


def write_inputs(folder: Path) -> Path:
    """The model config and two small datasets (the same as the collector's run tests)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "tiny.json").write_text(json.dumps(TINY))
    with open(folder / "notes.jsonl", "w") as f:
        for i in range(30):
            f.write(json.dumps({"text": f"Note {i}: " + "the quick brown fox jumps over the lazy dog. " * (i % 5 + 1)}) + "\n")
    (folder / "prose.txt").write_text("\n\n".join(f"Paragraph {i}. " + "Sing, muse, of routing. " * (i % 4 + 1) for i in range(25)))
    return folder


def command(inputs: Path, out: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "speclab_collect",
        "run",
        "--config-json",
        str(inputs / "tiny.json"),
        "--out",
        str(out),
        "--dataset",
        f"{inputs / 'notes.jsonl'}:1200",
        "--dataset",
        f"essays={inputs / 'prose.txt'}:1k",
        "--seq-len",
        "48",
        "--batch-size",
        "3",
        "--dtype",
        "fp32",
        "--shard-tokens",
        "300",
        "--lookahead",
        "1",
        "--progress",
        "none",
        "--threads",
        "1",
    ]


def _env(delay: float) -> dict[str, str]:
    env = dict(os.environ, SPECLAB_COLLECT_TEST_DELAY=str(delay), OMP_NUM_THREADS="1")
    src = str(Path(__file__).resolve().parents[1])
    env["PYTHONPATH"] = src + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def fingerprint(out: Path) -> dict[str, Any]:
    """What must equal between runs: shard names, token counts and SHA-256s (checked against the files), and
    one digest over the shard bytes in order."""
    m = json.loads((out / "manifest.json").read_text())
    h = hashlib.sha256()
    shards = []
    for s in m["shards"]:
        data = (out / s["file"]).read_bytes()
        if hashlib.sha256(data).hexdigest() != s["sha256"]:
            raise AssertionError(f"{out / s['file']}: bytes do not match the manifest's SHA-256")
        h.update(data)
        shards.append((s["file"], s["tokens"], s["sha256"]))
    stray = sorted(p.name for p in out.iterdir() if p.name != "manifest.json" and p.name not in {s[0] for s in shards})
    return {
        "complete": bool((m.get("source") or {}).get("complete")),
        "tokens": sum(s[1] for s in shards),
        "shards": shards,
        "digest": h.hexdigest(),
        "stray": stray,
    }


@dataclass
class Trial:
    kills: list[dict[str, Any]] = field(default_factory=list)
    reruns: int = 0
    ok: bool = False
    problem: str | None = None
    seconds: float = 0.0


def _published(out: Path) -> int:
    try:
        return len(json.loads((out / "manifest.json").read_text())["shards"])
    except (OSError, ValueError, KeyError):
        return -1  # no manifest yet (or caught between its temporary file and its rename)


def _listing(out: Path) -> set[tuple[str, int]]:
    try:
        # The writability probe (made and removed before the model loads) is not writing.
        return {(p.name, p.stat().st_mtime_ns) for p in out.iterdir() if ".speclab-tmp-probe" not in p.name}
    except OSError:
        return set()  # not there yet, or a file went away while listed


def _wait_for_files(proc: subprocess.Popen, out: Path, timeout: float = 600) -> float:
    """Polls until the run changes `out` (a new or rewritten file: it is writing); returns when, or -1 if it
    ended first."""
    t0 = time.monotonic()
    before = _listing(out)
    while proc.poll() is None and time.monotonic() - t0 < timeout:
        if _listing(out) - before:
            return time.monotonic() - t0
        time.sleep(0.005)
    return -1.0


def run_trial(
    inputs: Path,
    out: Path,
    ref: dict[str, Any],
    rng: random.Random,
    span: float,
    write_span: float,
    max_kills: int,
    delay: float,
    startup_fraction: float,
) -> Trial:
    """One to `max_kills` runs each SIGKILLed at a random moment: with probability `startup_fraction` anywhere in
    a whole run (mostly start-up), else while it writes (after its first file appeared); then reruns to the end."""
    t = Trial()
    t0 = time.monotonic()
    cmd = command(inputs, out)
    for _ in range(rng.randint(1, max_kills)):
        in_startup = rng.random() < startup_fraction
        at = rng.uniform(0.0, span if in_startup else write_span)
        proc = subprocess.Popen(cmd, env=_env(delay), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            if not in_startup and _wait_for_files(proc, out) < 0:
                at = 0.0  # ended before writing anything new (the set was already complete)
            proc.wait(timeout=at)
            if proc.returncode != 0:
                t.problem = f"run failed before its kill: {proc.stderr.read().decode()[-400:]}"
                return t
            t.kills.append(
                {"at": round(at, 3), "phase": "startup" if in_startup else "writing", "killed": False, "shards": _published(out)}
            )
            break  # finished before the kill: nothing to kill this time
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            t.kills.append({"at": round(at, 3), "phase": "startup" if in_startup else "writing", "killed": True, "shards": _published(out)})
        finally:
            if proc.stderr:
                proc.stderr.close()
    # Rerun the same command until it says it is done (a finished run answers "already complete").
    while True:
        t.reruns += 1
        r = subprocess.run(cmd, env=_env(0), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=600)
        if r.returncode == 0:
            break
        if t.reruns >= 3:
            t.problem = f"rerun failed: {r.stderr.decode()[-400:]}"
            return t
    got = fingerprint(out)
    t.seconds = time.monotonic() - t0
    if got != ref:
        diff = [k for k in ref if got.get(k) != ref[k]]
        t.problem = f"trace differs from the uninterrupted run in {', '.join(diff)}"
        return t
    t.ok = True
    return t


def fuzz(
    trials: int, seed: int = 1, max_kills: int = 3, delay: float = 0.1, startup_fraction: float = 0.2, work: Path | None = None, log=None
) -> dict[str, Any]:
    own = work is None
    work = Path(tempfile.mkdtemp(prefix="speclab-killfuzz-")) if own else work
    try:
        inputs = write_inputs(work / "inputs")
        t0 = time.monotonic()
        proc = subprocess.Popen(command(inputs, work / "ref"), env=_env(delay), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        first_file = _wait_for_files(proc, work / "ref")
        _, err = proc.communicate(timeout=600)
        if proc.returncode != 0:
            raise RuntimeError(f"the uninterrupted run failed: {err.decode()[-1000:]}")
        span = time.monotonic() - t0  # a whole run, start-up included
        write_span = max(0.05, span - first_file)  # from its first file to its end
        ref = fingerprint(work / "ref")
        rng = random.Random(seed)
        results: list[Trial] = []
        for i in range(trials):
            out = work / f"t{i}"
            results.append(run_trial(inputs, out, ref, rng, span, write_span, max_kills, delay, startup_fraction))
            shutil.rmtree(out, ignore_errors=True)
            if log:
                t = results[-1]
                log(
                    f"trial {i + 1}/{trials}: {'ok' if t.ok else 'FAILED: ' + str(t.problem)}; kills at "
                    f"{[k['at'] for k in t.kills if k['killed']]} s with {[k['shards'] for k in t.kills if k['killed']]} shards published"
                )
        kills = [k for t in results for k in t.kills if k["killed"]]
        stages = {
            "startup (anywhere in a run)": sum(1 for k in kills if k["phase"] == "startup"),
            "while writing": sum(1 for k in kills if k["phase"] == "writing"),
            "before any manifest": sum(1 for k in kills if k["shards"] < 0),
        }
        return {
            "trials": trials,
            "seed": seed,
            "passed": sum(t.ok for t in results),
            "failed": [{"trial": i, "problem": t.problem} for i, t in enumerate(results) if not t.ok],
            "kills": len(kills),
            "killsByShardsPublished": _histogram([k["shards"] for k in kills]),
            "stages": stages,
            "reruns": sum(t.reruns for t in results),
            "referenceSeconds": round(span, 2),
            "referenceWritingSeconds": round(write_span, 2),
            "seconds": round(time.monotonic() - t0, 1),
            "referenceShards": len(ref["shards"]),
            "referenceTokens": ref["tokens"],
            "referenceDigest": ref["digest"],
        }
    finally:
        if own:
            shutil.rmtree(work, ignore_errors=True)


def _histogram(xs: list[int]) -> dict[str, int]:
    h: dict[str, int] = {}
    for x in sorted(xs):
        h[str(x)] = h.get(str(x), 0) + 1
    return h


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m speclab_collect.killfuzz", description=__doc__.split("\n\n")[0])
    p.add_argument("--trials", type=int, default=20)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--max-kills", type=int, default=3, help="kills per trial, 1..N at random (default 3)")
    p.add_argument("--delay", type=float, default=0.1, help="seconds slept after each batch, to widen the writing phase (default 0.1)")
    p.add_argument(
        "--startup-fraction",
        type=float,
        default=0.2,
        help="share of kills drawn over a whole run (mostly start-up); the rest land while it writes (default 0.2)",
    )
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    a = p.parse_args(argv)
    summary = fuzz(a.trials, a.seed, a.max_kills, a.delay, a.startup_fraction, log=lambda s: print(s, file=sys.stderr, flush=True))
    if a.json:
        print(json.dumps(summary, indent=1))
    else:
        print(
            f"{summary['passed']}/{summary['trials']} trials equal to the uninterrupted run after {summary['kills']} "
            f"kill -9s ({summary['reruns']} reruns); kills by shards published: {summary['killsByShardsPublished']}"
        )
    return 0 if summary["passed"] == summary["trials"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
