import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from speclab_collect import cli, tokenizer
from speclab_collect.demo import load_demo_texts, write_demo
from speclab_collect.reader import column, read_trace

REPO = Path(__file__).resolve().parents[2]
COMMITTED = REPO / "traces" / "demo"


@pytest.fixture(scope="module")
def demo_seed0(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo0")
    write_demo(out, seed=0)
    return out


def files(d):
    return {p.name: p.read_bytes() for p in sorted(d.iterdir())}


def test_tokenizer_round_trip():
    text = "naïve café\n\tx = 1"
    ids = tokenizer.encode(text)
    assert ids[0] == tokenizer.BOS_ID and len(ids) == 1 + len(text.encode())
    assert tokenizer.decode(ids) == text
    assert [tokenizer.token_text(i) for i in tokenizer.encode("aï", bos=False)] == ["a", "<0xC3>", "<0xAF>"]
    assert tokenizer.token_text(tokenizer.BOS_ID) == "<s>"
    with pytest.raises(ValueError):
        tokenizer.token_text(400)


def test_demo_texts():
    texts = load_demo_texts()
    assert {d for d, _ in texts} == {"demo-prose", "demo-code"}
    assert 15 <= len(texts) <= 30
    assert 1500 <= sum(len(tokenizer.encode(t)) for _, t in texts) <= 2500


def test_demo_is_deterministic(demo_seed0, tmp_path):
    write_demo(tmp_path, seed=0)
    assert files(tmp_path) == files(demo_seed0)  # byte-identical shards and manifest


def test_demo_contents(demo_seed0):
    m, t = read_trace(demo_seed0)
    texts = load_demo_texts()
    assert (m["numLayers"], m["numExperts"], m["topK"]) == (8, 8, 2)
    assert m["moeLayerIds"] == list(range(8))
    assert m["datasets"] == ["demo-prose", "demo-code"]
    assert m["hasWeights"] and m["hasLogits"] and m["hasTokenIds"] and m["hasTokenText"]
    assert "random-initialised" in m["description"].lower() and "speclab-collect demo --out traces/demo" in m["description"]
    assert m["source"]["seed"] == 0 and m["source"]["config"]["num_local_experts"] == 8
    assert len(m["shards"]) >= 2  # the demo exercises multi-shard reading
    assert sum((demo_seed0 / s["file"]).stat().st_size for s in m["shards"]) < 1_000_000

    seq, pos, tid = column(t, "seq"), column(t, "pos"), column(t, "token_id")
    assert np.unique(seq).tolist() == list(range(len(texts)))
    for s, (ds, text) in enumerate(texts):
        rows = seq == s
        assert tid[rows].tolist() == tokenizer.encode(text)
        assert pos[rows].tolist() == list(range(rows.sum()))
        assert set(column(t, "dataset")[rows].tolist()) == {m["datasets"].index(ds)}
    assert "".join(column(t, "token_text")[seq == 0][1:]) == texts[0][1]

    w = column(t, "weights", 16).reshape(-1, 8, 2)
    np.testing.assert_allclose(w.sum(2), 1.0, rtol=1e-6)
    lg = column(t, "logits", 64).reshape(-1, 8, 8)
    ex = column(t, "experts", 16).reshape(-1, 8, 2)
    np.testing.assert_array_equal(ex, np.argsort(-lg, axis=2, kind="stable")[:, :, :2])


def test_other_seed_gives_other_routing(demo_seed0, tmp_path):
    write_demo(tmp_path, seed=1)
    _, a = read_trace(demo_seed0)
    _, b = read_trace(tmp_path)
    np.testing.assert_array_equal(column(a, "token_id"), column(b, "token_id"))
    assert not np.array_equal(column(a, "experts", 16), column(b, "experts", 16))


def test_committed_demo_matches_the_code(demo_seed0):
    """traces/demo is what `speclab-collect demo --seed 0` produces (up to float rounding across CPUs)."""
    m_ref, ref = read_trace(COMMITTED)  # verifies checksums, schema, ordering
    m_new, new = read_trace(demo_seed0)
    for key in ("numLayers", "numExperts", "topK", "moeLayerIds", "datasets", "description"):
        assert m_ref[key] == m_new[key], key
    assert m_ref["source"]["config"] == m_new["source"]["config"]
    for name in ("seq", "pos", "dataset", "token_id", "token_text"):
        np.testing.assert_array_equal(column(ref, name), column(new, name))
    lg_ref, lg_new = column(ref, "logits", 64).reshape(-1, 8, 8), column(new, "logits", 64).reshape(-1, 8, 8)
    np.testing.assert_allclose(lg_ref, lg_new, rtol=1e-4, atol=1e-5)
    srt = np.sort(lg_new, axis=2)[:, :, ::-1]
    clear = (srt[:, :, 1] - srt[:, :, 2]) > 1e-4  # ids may differ only at near-ties
    ex_ref, ex_new = column(ref, "experts", 16).reshape(-1, 8, 2), column(new, "experts", 16).reshape(-1, 8, 2)
    assert np.array_equal(ex_ref[clear], ex_new[clear])


def test_cli_help():
    r = subprocess.run([sys.executable, "-m", "speclab_collect", "demo", "--help"], capture_output=True, text=True, check=True)
    assert "--out" in r.stdout and "--seed" in r.stdout


def test_cli_writes_demo(tmp_path, demo_seed0, capsys):
    assert cli.main(["demo", "--out", str(tmp_path), "--seed", "0"]) == 0
    assert "wrote 1964 tokens in 2 shards" in capsys.readouterr().err
    assert files(tmp_path) == files(demo_seed0)
