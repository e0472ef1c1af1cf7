"""Collector faults: kill -9 at random points (short run of speclab_collect.killfuzz), a full disk and an
unwritable output folder (a clear error, no partial shard published, a rerun resumes)."""

import errno
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from speclab_collect import killfuzz
from speclab_collect import writer as writer_mod
from speclab_collect.run import RunOptions, collect
from speclab_collect.writer import WriteError


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    return killfuzz.write_inputs(tmp_path_factory.mktemp("inputs"))


def options(inputs, out):
    return RunOptions(
        out=str(out),
        config_json=str(inputs / "tiny.json"),
        datasets=[str(inputs / "notes.jsonl") + ":1200", "essays=" + str(inputs / "prose.txt") + ":1k"],
        seq_len=48,
        batch_size=3,
        dtype="fp32",
        shard_tokens=300,
        lookahead=1,
        progress="none",
        threads=1,
    )


@pytest.fixture(scope="module")
def reference(inputs, tmp_path_factory):
    out = tmp_path_factory.mktemp("ref")
    collect(options(inputs, out))
    return killfuzz.fingerprint(out)


def published_only(out: Path):
    """The manifest lists only complete shards (bytes match their SHA-256) and nothing else lies in the folder."""
    m = json.loads((out / "manifest.json").read_text())
    for s in m["shards"]:
        assert hashlib.sha256((out / s["file"]).read_bytes()).hexdigest() == s["sha256"]
    assert sorted(p.name for p in out.iterdir()) == sorted(["manifest.json", *(s["file"] for s in m["shards"])])
    return m


def test_kill_9_at_random_points_then_rerun_gives_the_uninterrupted_trace(tmp_path):
    # Short version of `python -m speclab_collect.killfuzz --trials 50` (docs/reliability.md): kills while writing.
    s = killfuzz.fuzz(trials=1, seed=3, max_kills=2, startup_fraction=0.0, work=tmp_path)
    assert s["failed"] == [] and s["passed"] == 1
    assert s["kills"] >= 1 and s["referenceShards"] == 8 and s["referenceTokens"] == 2200


class _FullDisk:
    """A file whose writes fail with ENOSPC once `limit` bytes went in (what a full disk does mid-write)."""

    def __init__(self, f, limit):
        self._f, self._left = f, limit

    def write(self, b):
        if len(b) > self._left:
            self._f.write(b[: self._left])
            self._left = 0
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self._left -= len(b)
        return self._f.write(b)

    def __getattr__(self, name):
        return getattr(self._f, name)

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self._f.close()


@pytest.mark.parametrize("victim", ["shard-00003.arrow", "manifest.json"])
def test_full_disk_mid_run_publishes_no_partial_shard_and_a_rerun_resumes(inputs, reference, tmp_path, monkeypatch, victim):
    out = tmp_path / "out"
    real_open = open
    state = {"hit": False}

    def full_open(path, mode="r", *a, **k):
        f = real_open(path, mode, *a, **k)
        # The 4th shard's temporary file, or the manifest rewritten after the 4th shard.
        hit = Path(path).name == f".speclab-tmp-{victim}" and "w" in mode
        if victim == "manifest.json":
            hit = hit and (out / "shard-00003.arrow").exists() and len(json.loads((out / "manifest.json").read_text())["shards"]) == 3
        if hit and not state["hit"]:
            state["hit"] = True
            return _FullDisk(f, 100)
        return f

    monkeypatch.setattr(writer_mod, "open", full_open, raising=False)
    with pytest.raises(WriteError) as e:
        collect(options(inputs, out))
    monkeypatch.undo()
    assert state["hit"]
    msg = str(e.value)
    assert msg.startswith(f"{out}: could not write ") and "(no space left on device)" in msg, msg
    assert "keeps its 3 complete shard(s), 900 tokens" in msg and "rerun the same command to resume" in msg
    m = published_only(out)
    assert [s["file"] for s in m["shards"]] == ["shard-00000.arrow", "shard-00001.arrow", "shard-00002.arrow"]
    # Space again: the same command finishes the same trace as an uninterrupted run.
    collect(options(inputs, out))
    assert killfuzz.fingerprint(out) == reference


def _mount_tmpfs(where: Path, opts: str) -> bool:
    if os.geteuid() != 0:
        return False
    where.mkdir(parents=True, exist_ok=True)
    return subprocess.run(["mount", "-t", "tmpfs", "-o", opts, "tmpfs", str(where)], capture_output=True).returncode == 0


def test_a_really_full_disk(inputs, reference, tmp_path):
    """On a 180 KiB tmpfs (2 shards of 76 KB fit) (root only): some shards fit, then ENOSPC; the folder holds only complete shards."""
    disk = tmp_path / "disk"
    if not _mount_tmpfs(disk, "size=180k"):
        pytest.skip("needs root and mount to make a small tmpfs (the injected full disk above covers the rest)")
    try:
        with pytest.raises(WriteError, match=r"could not write .*\(no space left on device\)"):
            collect(options(inputs, disk / "out"))
        m = published_only(disk / "out")
        assert 0 < len(m["shards"]) < reference["shards"].__len__()
        assert [(s["file"], s["tokens"], s["sha256"]) for s in m["shards"]] == [tuple(x) for x in reference["shards"][: len(m["shards"])]]
    finally:
        subprocess.run(["umount", str(disk)], check=False)


def test_unwritable_output_folder_fails_before_loading_with_one_line(inputs, tmp_path):
    ro = tmp_path / "ro"
    if _mount_tmpfs(ro, "ro,size=64k"):
        why = "Read-only file system"
    elif os.geteuid() != 0:
        ro.mkdir()
        ro.chmod(0o500)
        why = "Permission denied"
    else:
        pytest.skip("root without mount: permissions do not stop root, and no read-only tmpfs can be made")
    try:
        out = ro / "trace"
        r = subprocess.run(killfuzz.command(inputs, out), capture_output=True, text=True, env=killfuzz._env(0), timeout=300)
        assert r.returncode == 1
        lines = r.stderr.strip().splitlines()
        assert lines == [
            f"speclab-collect run: error: {out}: output folder is not writable ({why}); choose another --out or fix its permissions"
        ], r.stderr
        assert not out.exists()
    finally:
        if why == "Read-only file system":
            subprocess.run(["umount", str(ro)], check=False)
        else:
            ro.chmod(0o700)


def test_writer_refuses_an_unwritable_folder_at_once(tmp_path, monkeypatch):
    def denied(path, mode="r", *a, **k):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))

    monkeypatch.setattr(writer_mod, "open", denied, raising=False)
    with pytest.raises(WriteError, match=r"output folder is not writable \(Permission denied\)"):
        writer_mod.check_writable(tmp_path / "x")
    assert [p.name for p in (tmp_path / "x").iterdir()] == []
