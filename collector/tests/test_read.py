"""read_trace against the TypeScript statistics, the writers' read-back check, and save_router_logits from a
transformers output (the trained demo model) read back by the SpecLab importer."""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

import speclab_collect as sc
from speclab_collect import writer as writer_mod
from speclab_collect.reader import TraceFormatError

ROOT = Path(__file__).resolve().parents[2]
REAL = ROOT.parent / "shared" / "traces-real"
MIXTRAL = REAL / "mixtral-8x7b-instruct-fp8"


def speclab(*args: str) -> str:
    r = subprocess.run(["npm", "run", "--silent", "speclab", "--", *args], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return r.stdout


@pytest.fixture(scope="module")
def mixtral_set(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not MIXTRAL.exists():
        pytest.skip(f"real traces not found at {REAL}")
    out = tmp_path_factory.mktemp("mixtral") / "set"
    speclab("import", str(MIXTRAL), "-o", str(out), "--shard-tokens", "50", "--json")
    return out


def numpy_stats(t: pa.Table, L: int, E: int, K: int) -> dict:
    """Per-layer statistics from the table alone (no SpecLab code): entropy, reuse, load balance."""
    ex = np.stack(t.column("experts").to_numpy(zero_copy_only=False)).reshape(-1, L, K)
    seq, pos = t.column("seq").to_numpy(), t.column("pos").to_numpy()
    load = np.stack([np.bincount(ex[:, l, :].ravel(), minlength=E) for l in range(L)]).astype(float)
    share = load / load.sum(1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        h = -np.nansum(np.where(share > 0, share * np.log2(share), 0.0), axis=1)
    cons = (seq[1:] == seq[:-1]) & (pos[1:] == pos[:-1] + 1)
    a, b = ex[1:][cons], ex[:-1][cons]
    first = (a[:, :, 0] == b[:, :, 0]).mean(0)
    anyov = (a[:, :, :, None] == b[:, :, None, :]).any(axis=(2, 3)).mean(0)
    mean = load.mean(1)
    return {
        "tokens": t.num_rows,
        "sequences": len(np.unique(seq)),
        "consecutivePairs": int(cons.sum()),
        "entropyBits": h,
        "reuseFirst": first,
        "reuseAny": anyov,
        "maxShare": share.max(1),
        "activeFraction": (load > 0).mean(1),
        "cv": load.std(1) / mean,
        "normalizedEntropy": h / np.log2(E),
    }


def test_read_trace_matches_typescript_stats(mixtral_set: Path) -> None:
    t = sc.read_trace(mixtral_set)
    m = sc.manifest_of(t)
    assert m == json.loads((mixtral_set / "manifest.json").read_text())
    assert len(m["shards"]) == 5  # 244 tokens in shards of 50: every shard its own file
    df = t.to_pandas()
    assert len(df) == 244 and set(df["dataset_name"]) == {"gsm8k"}
    L, E, K = m["numLayers"], m["numExperts"], m["topK"]
    ts = json.loads(speclab("stats", str(mixtral_set), "--json"))
    ours = numpy_stats(t, L, E, K)
    assert (ts["tokens"], ts["sequences"], ts["consecutivePairs"]) == (ours["tokens"], ours["sequences"], ours["consecutivePairs"])
    for k in ("entropyBits", "reuseFirst", "reuseAny"):
        np.testing.assert_allclose(ts[k], ours[k], rtol=0, atol=1e-12, err_msg=k)
    for k in ("maxShare", "activeFraction", "cv", "normalizedEntropy"):
        np.testing.assert_allclose(ts["loadBalance"][k], ours[k], rtol=0, atol=1e-12, err_msg=k)
    # --csv carries the same numbers, one row per layer.
    rows = list(csv.DictReader(io.StringIO(speclab("stats", str(mixtral_set), "--csv"))))
    assert len(rows) == L
    np.testing.assert_allclose([float(r["entropy_bits"]) for r in rows], ours["entropyBits"], atol=1e-12)
    np.testing.assert_allclose([float(r["load_cv"]) for r in rows], ours["cv"], atol=1e-12)


def test_read_trace_rejects_a_damaged_set(mixtral_set: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad"
    shutil.copytree(mixtral_set, bad)
    (bad / "shard-00000.arrow").write_bytes((bad / "shard-00001.arrow").read_bytes())
    with pytest.raises(TraceFormatError, match="shard-00000.arrow: checksum mismatch"):
        sc.read_trace(bad)
    with pytest.raises(TraceFormatError, match="shard-00000.arrow: read back after writing, SHA-256 is"):
        sc.verify_trace_set(bad)


def _write(out: Path, n: int, shard_tokens: int) -> None:
    with sc.TraceWriter(
        out,
        "m",
        None,
        "test",
        "fp32",
        num_layers=2,
        num_experts=4,
        top_k=1,
        moe_layer_ids=[0, 1],
        datasets=["d"],
        has_weights=False,
        has_logits=False,
        has_token_ids=False,
        has_token_text=False,
        shard_tokens=shard_tokens,
    ) as w:
        ex = np.array([[[i % 4], [(i + 1) % 4]] for i in range(n)], dtype=np.int16)
        w.add_tokens(seq=np.zeros(n, np.int32), pos=np.arange(n, dtype=np.int32), dataset=0, experts=ex)


def test_writer_reads_its_set_back_before_success(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _write(tmp_path / "ok", 10, 4)
    sc.verify_trace_set(tmp_path / "ok")
    assert [s["tokens"] for s in json.loads((tmp_path / "ok/manifest.json").read_text())["shards"]] == [4, 4, 2]
    # A writer that puts every shard in one file (the bug class fixed in the TypeScript writer) fails at close.
    monkeypatch.setattr(writer_mod, "shard_name", lambda index, prefix="shard-": f"{prefix}00000.arrow")
    with pytest.raises(TraceFormatError, match="read back after writing"):
        _write(tmp_path / "bad", 10, 4)


def test_save_router_logits_from_a_transformers_output(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    from transformers import AutoModelForCausalLM

    from speclab_collect.demo import demo_model_dir
    from speclab_collect.tokenizer import PAD_ID, encode

    model = AutoModelForCausalLM.from_pretrained(demo_model_dir(), dtype=torch.float32).eval()
    texts = [json.loads(l)["text"] for l in (demo_model_dir() / "eval-python.jsonl").read_text().splitlines()[:2]]
    ids = [encode(t)[:40] for t in texts]
    ids[1] = ids[1][:25]  # right padding on the second row
    S = max(len(x) for x in ids)
    input_ids = torch.tensor([x + [PAD_ID] * (S - len(x)) for x in ids])
    mask = torch.tensor([[1] * len(x) + [0] * (S - len(x)) for x in ids])
    with torch.no_grad():
        out = model(input_ids=input_ids, attention_mask=mask, output_router_logits=True)
    cfg = model.config
    path = sc.save_router_logits(
        tmp_path / "logits/pass_0.safetensors", out, top_k=cfg.num_experts_per_tok, input_ids=input_ids, attention_mask=mask
    )
    assert path.exists()
    summary = json.loads(speclab("import", str(tmp_path / "logits"), "-o", str(tmp_path / "set"), "--json"))
    assert summary["tokens"] == 40 + 25 and summary["sequences"] == 2
    assert (summary["layers"], summary["experts"], summary["topK"]) == (
        cfg.num_hidden_layers,
        cfg.num_local_experts,
        cfg.num_experts_per_tok,
    )
    t = sc.read_trace(tmp_path / "set")
    L, K = cfg.num_hidden_layers, cfg.num_experts_per_tok
    ex = np.stack(t.column("experts").to_numpy(zero_copy_only=False)).reshape(-1, L, K)
    w = np.stack(t.column("weights").to_numpy(zero_copy_only=False)).reshape(-1, L, K)
    np.testing.assert_array_equal(t.column("token_id").to_numpy(), np.concatenate([ids[0], ids[1]]))
    keep = mask.reshape(-1).bool()
    for l in range(L):
        p = torch.softmax(out.router_logits[l].reshape(-1, cfg.num_local_experts).float(), dim=-1)[keep].numpy()
        got = np.take_along_axis(p, ex[:, l, :].astype(np.int64), axis=1)
        # The imported experts are a top-k of the model's own router probabilities, in descending order ...
        others = p.copy()
        np.put_along_axis(others, ex[:, l, :].astype(np.int64), -1.0, axis=1)
        assert np.all(got[:, -1] >= others.max(1) - 1e-7) and np.all(np.diff(got, axis=1) <= 1e-7)
        # ... with weights renormalised over the top-k (Mixtral's routing).
        np.testing.assert_allclose(w[:, l, :], got / got.sum(1, keepdims=True), atol=1e-6)


def test_save_router_logits_rejects_bad_input(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="output_router_logits=True"):
        sc.save_router_logits(tmp_path / "x.safetensors", None, top_k=2)
    with pytest.raises(ValueError, match="attention_mask shape"):
        sc.save_router_logits(tmp_path / "x.safetensors", [np.zeros((6, 8), np.float32)], top_k=2, attention_mask=np.ones((1, 5)))
