"""`speclab-collect run`: datasets and budgets, resume after a kill (no lost, no duplicated tokens), option checks,
ranks and merge."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from speclab_collect import writer as writer_mod
from speclab_collect.reader import column, read_trace
from speclab_collect.run import RunError, RunOptions, collect, merge

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
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    d = tmp_path_factory.mktemp("inputs")
    (d / "tiny.json").write_text(json.dumps(TINY))
    with open(d / "notes.jsonl", "w") as f:
        for i in range(30):
            f.write(json.dumps({"text": f"Note {i}: " + "the quick brown fox jumps over the lazy dog. " * (i % 5 + 1)}) + "\n")
    (d / "prose.txt").write_text("\n\n".join(f"Paragraph {i}. " + "Sing, muse, of routing. " * (i % 4 + 1) for i in range(25)))
    return d


def options(inputs, out, **over):
    o = dict(
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
    o.update(over)
    return RunOptions(**o)


def arrays(path):
    m, t = read_trace(path)
    cols = {name: column(t, name) for name in ("seq", "pos", "dataset", "token_id")}
    L, E, K = m["numLayers"], m["numExperts"], m["topK"]
    cols["experts"] = column(t, "experts", L * K)
    cols["weights"] = column(t, "weights", L * K)
    cols["logits"] = column(t, "logits", L * E)
    if m.get("lookaheadHorizon"):
        cols["lookahead_logits"] = column(t, "lookahead_logits", L * m["lookaheadHorizon"] * E)
    cols["token_text"] = t.column("token_text").to_pylist()
    return m, cols


@pytest.fixture(scope="module")
def reference(inputs, tmp_path_factory):
    out = tmp_path_factory.mktemp("ref")
    summary = collect(options(inputs, out))
    return out, summary, arrays(out)


def test_budgets_datasets_and_columns(reference):
    out, summary, (m, c) = reference
    assert summary["tokens"] == 2200 and m["source"]["complete"] and m["source"]["plannedTokens"] == 2200
    assert m["datasets"] == ["notes", "essays"]
    assert len(c["seq"]) == 2200
    # Budgets are met exactly; every token carries its dataset.
    assert np.bincount(c["dataset"]).tolist() == [1200, 1000]
    assert m["lookaheadHorizon"] == 1 and c["lookahead_logits"].shape == (2200, 3 * 1 * 8)
    la = c["lookahead_logits"].reshape(-1, 3, 1, 8)
    assert np.isnan(la[:, 2]).all() and np.isfinite(la[:, :2]).all()  # the last layer has no next layer
    assert max(s["tokens"] for s in m["shards"]) == 300 and len(m["shards"]) == 8
    # Sequences: truncated to seq_len, positions 0.. contiguous, byte tokens with <s> first.
    starts = np.flatnonzero(np.r_[True, c["seq"][1:] != c["seq"][:-1]])
    assert np.all(c["pos"][starts] == 0) and c["pos"].max() == 47
    assert all(c["token_text"][i] == "<s>" for i in starts if c["pos"][i] == 0)
    assert m["source"]["run"]["fingerprint"]["worldSize"] == 1


def test_rerun_of_a_complete_run_does_nothing(inputs, reference):
    out, _, _ = reference
    before = (out / "manifest.json").read_bytes()
    summary = collect(options(inputs, out))
    assert summary["alreadyComplete"] and (out / "manifest.json").read_bytes() == before


def test_different_options_are_refused(inputs, reference, tmp_path):
    out, _, _ = reference
    with pytest.raises(RunError, match="different options.*seqLen"):
        collect(options(inputs, out, seq_len=32))
    with pytest.raises(RunError, match="did not write"):
        (tmp_path / "manifest.json").write_text(json.dumps({"format": "speclab-trace", "version": 1}))
        collect(options(inputs, tmp_path))


def _same(a, b):
    for k in a:
        if k == "token_text":
            assert a[k] == b[k]
        else:
            np.testing.assert_array_equal(a[k], b[k], err_msg=k)


def test_sigkill_mid_run_then_resume_equals_uninterrupted(inputs, reference, tmp_path):
    """A real `speclab-collect run` process is SIGKILLed after it published a few shards; rerunning the same
    command finishes the trace with the same arrays (and the same shard bytes) as an uninterrupted run."""
    ref_out, _, (ref_m, ref_c) = reference
    out = tmp_path / "killed"
    o = options(inputs, out)
    cmd = [
        sys.executable,
        "-m",
        "speclab_collect",
        "run",
        "--config-json",
        o.config_json,
        "--out",
        str(out),
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
        *[a for d in o.datasets for a in ("--dataset", d)],
    ]
    env = dict(os.environ, SPECLAB_COLLECT_TEST_DELAY="0.05")
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and proc.poll() is None:
            m = out / "manifest.json"
            if m.exists() and len(json.loads(m.read_text())["shards"]) >= 3:
                break
            time.sleep(0.02)
        assert proc.poll() is None, f"run ended before it could be killed: {proc.stderr.read().decode()[-2000:]}"
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
    partial = json.loads((out / "manifest.json").read_text())
    assert 3 <= len(partial["shards"]) < 8 and not partial["source"]["complete"]

    summary = collect(o)  # same options: resumes
    assert summary["resumed"]
    m, c = arrays(out)
    _same(ref_c, c)
    assert [s["sha256"] for s in m["shards"]] == [s["sha256"] for s in ref_m["shards"]]
    assert m["source"]["resumedTimes"] == 1 and m["source"]["complete"]
    assert not [p for p in os.listdir(out) if p.startswith(".speclab-tmp")]


@pytest.mark.parametrize("where", ["before-rename", "before-manifest", "mid-shard"])
def test_crash_at_each_point_of_a_shard_write_resumes_exactly(inputs, reference, tmp_path, monkeypatch, where):
    """Crash inside the writer at each step of publishing a shard (temporary file written but not renamed;
    renamed but the manifest not yet rewritten; between shards), then resume."""
    _, _, (ref_m, ref_c) = reference
    out = tmp_path / where
    calls = {"n": 0}

    class Crash(Exception):
        pass

    if where == "before-rename":
        real = os.replace

        def fake_replace(src, dst):
            if str(dst).endswith("shard-00004.arrow"):
                raise Crash()
            return real(src, dst)

        monkeypatch.setattr(writer_mod.os, "replace", fake_replace)
    elif where == "before-manifest":
        real_wm = writer_mod.TraceWriter._write_manifest

        def fake_wm(self):
            if len(self._shards) == 4:
                raise Crash()
            return real_wm(self)

        monkeypatch.setattr(writer_mod.TraceWriter, "_write_manifest", fake_wm)
    else:
        real_add = writer_mod.TraceWriter.add_tokens

        def fake_add(self, *a, **k):
            calls["n"] += 1
            if calls["n"] == 12:
                raise Crash()
            return real_add(self, *a, **k)

        monkeypatch.setattr(writer_mod.TraceWriter, "add_tokens", fake_add)
    with pytest.raises(Crash):
        collect(options(inputs, out))
    monkeypatch.undo()
    left = json.loads((out / "manifest.json").read_text())
    assert 0 < sum(s["tokens"] for s in left["shards"]) < 2200
    collect(options(inputs, out))
    m, c = arrays(out)
    _same(ref_c, c)
    assert [s["sha256"] for s in m["shards"]] == [s["sha256"] for s in ref_m["shards"]]


def test_two_ranks_then_merge_cover_every_sequence_once(inputs, reference, tmp_path):
    _, _, (ref_m, ref_c) = reference
    out = tmp_path / "ranks"
    r0 = collect(options(inputs, out, rank=0, world_size=2))
    assert r0["merged"] is False  # rank 1 has not run yet
    with pytest.raises(RunError, match="ranks \\[1\\] of 2"):
        merge(out)
    r1 = collect(options(inputs, out, rank=1, world_size=2))
    assert r1["merged"] is True  # the last rank to finish merges
    names = sorted(os.listdir(out))
    assert "manifest.r0of2.json" in names and "manifest.r1of2.json" in names
    assert any(n.startswith("shard-r1of2-") for n in names)
    m, c = arrays(out)
    assert m["source"]["ranks"]["worldSize"] == 2 and m["source"]["complete"]
    r0_seqs = set(column(read_trace(out, "manifest.r0of2.json")[1], "seq").tolist())
    assert r0_seqs and all(s % 2 == 0 for s in r0_seqs)
    # Same tokens as the one-process run, each exactly once; routing equal up to batch-composition rounding.
    key = lambda cols: np.lexsort((cols["pos"], cols["seq"]))  # noqa: E731
    a, b = key(ref_c), key(c)
    for k in ("seq", "pos", "dataset", "token_id"):
        np.testing.assert_array_equal(ref_c[k][a], c[k][b])
    np.testing.assert_allclose(ref_c["logits"][a], c["logits"][b], rtol=1e-4, atol=1e-5)
    # merge is idempotent and a CLI command too.
    before = (out / "manifest.json").read_text()
    assert subprocess.run([sys.executable, "-m", "speclab_collect", "merge", str(out)], capture_output=True).returncode == 0
    assert json.loads((out / "manifest.json").read_text()) == json.loads(before)


def test_bad_inputs_fail_with_clear_messages(inputs, tmp_path):
    with pytest.raises(ValueError, match="neither a known dataset name"):
        collect(options(inputs, tmp_path, datasets=["no-such-file.txt"]))
    with pytest.raises(ValueError, match="labels must be distinct"):
        collect(options(inputs, tmp_path, datasets=[f"a={inputs / 'notes.jsonl'}", f"a={inputs / 'prose.txt'}"]))
    with pytest.raises(ValueError, match="no string field 'body'"):
        collect(options(inputs, tmp_path, text_field="body"))
    with pytest.raises(ValueError, match="rank 2 is not in 0..1"):
        collect(options(inputs, tmp_path, rank=2, world_size=2))
    with pytest.raises(ValueError, match="neither a local model folder nor a Hugging Face id"):
        collect(options(inputs, tmp_path, config_json=None, model="bad id!"))
    small = dict(TINY, vocab_size=100)
    (tmp_path / "small.json").write_text(json.dumps(small))
    with pytest.raises(ValueError, match="beyond the model's vocab_size 100"):
        collect(options(inputs, tmp_path / "o", config_json=str(tmp_path / "small.json")))
    (tmp_path / "dense.json").write_text(json.dumps({"model_type": "llama"}))
    with pytest.raises(ValueError, match="model_type 'llama' is not supported"):
        collect(options(inputs, tmp_path / "o2", config_json=str(tmp_path / "dense.json")))


def test_progress_jsonl_events_and_errors(inputs, tmp_path):
    import io

    from speclab_collect.progress import Progress

    buf = io.StringIO()
    p = Progress(100, done=20, mode="jsonl", stream=buf)
    p.event("start", tokens=20, total=100)
    p.update(60, force=True)
    p.close()
    lines = [json.loads(x) for x in buf.getvalue().splitlines()]
    assert lines[0] == {"event": "start", "tokens": 20, "total": 100}
    assert lines[1]["event"] == "progress" and lines[1]["tokens"] == 60 and lines[1]["total"] == 100
    assert set(lines[1]) == {"event", "tokens", "total", "tokensPerSec", "etaSec"} and len(lines) == 2
    # A failing run says why on stderr and, in JSON mode, as a last "error" event (the job server shows it).
    cmd = [
        sys.executable,
        "-m",
        "speclab_collect",
        "run",
        "--config-json",
        str(inputs / "tiny.json"),
        "--out",
        str(tmp_path / "p"),
        "--dataset",
        "nope.jsonl",
        "--progress",
        "jsonl",
    ]
    bad = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert bad.returncode == 1 and json.loads(bad.stdout.splitlines()[-1])["event"] == "error"
    assert "neither a known dataset name" in bad.stderr
