import gzip
import hashlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import transformers

from speclab_collect import cli, tokenizer
from speclab_collect.demo import DEMO_LOOKAHEAD, demo_description, demo_model_dir, load_card, write_demo
from speclab_collect.reader import column, read_trace
from speclab_collect.train_demo import DEMO_MODEL_CONFIG, CorpusError, TrainOptions, copy_corpus, train_demo

REPO = Path(__file__).resolve().parents[2]
COMMITTED = REPO / "traces" / "demo"
MODEL = demo_model_dir()


@pytest.fixture(scope="module")
def card():
    return load_card()


@pytest.fixture(scope="module")
def eval_texts(card):
    return {d: [json.loads(line) for line in (MODEL / f"eval-{d}.jsonl").read_text().splitlines()] for d in card["domains"]}


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    write_demo(out)
    return out


def files(d):
    """Shard bytes, and the manifest without the one field that names the output folder."""
    out = {p.name: p.read_bytes() for p in sorted(d.glob("*.arrow"))}
    m = json.loads((d / "manifest.json").read_text())
    m["source"]["run"]["options"].pop("out")
    out["manifest.json"] = m
    return out


def test_tokenizer_round_trip():
    text = "naïve café\n\tx = 1"
    ids = tokenizer.encode(text)
    assert ids[0] == tokenizer.BOS_ID and len(ids) == 1 + len(text.encode())
    assert tokenizer.decode(ids) == text
    assert [tokenizer.token_text(i) for i in tokenizer.encode("aï", bos=False)] == ["a", "<0xC3>", "<0xAF>"]
    assert tokenizer.token_text(tokenizer.BOS_ID) == "<s>"
    with pytest.raises(ValueError):
        tokenizer.token_text(400)


def test_demo_model_files(card, eval_texts):
    """Weights, config, card, corpus list and evaluation texts agree with each other."""
    weights = (MODEL / "model.safetensors").read_bytes()
    assert len(weights) < 6_000_000
    assert hashlib.sha256(weights).hexdigest() == card["weights"]["sha256"]
    cfg = json.loads((MODEL / "config.json").read_text())
    assert cfg["model_type"] == "mixtral" and cfg["architectures"] == ["MixtralForCausalLM"]
    for k, v in DEMO_MODEL_CONFIG.items():
        assert (cfg["rope_parameters"]["rope_theta"] if k == "rope_theta" else cfg[k]) == v, k
    assert (card["layers"], card["experts"], card["topK"]) == (cfg["num_hidden_layers"], 8, 2)
    corpus_text = (MODEL / "corpus.json").read_text()
    assert hashlib.sha256(corpus_text.encode()).hexdigest() == card["corpusSha256"]
    corpus = json.loads(corpus_text)
    assert sorted({f["domain"] for f in corpus["files"]}) == card["domains"] and len(card["domains"]) >= 2
    held = {(f["domain"], f["sha256"]) for f in corpus["files"] if f["use"] == "heldOut"}
    trained = {(f["domain"], f["sha256"]) for f in corpus["files"] if f["use"] == "train"}
    assert not held & trained
    for d, recs in eval_texts.items():
        assert recs and all((d, r["sha256"]) in held and r["text"].strip() for r in recs)
        assert sum(1 for f in corpus["files"] if f["domain"] == d and f["use"] == "train") == card["corpus"][d]["trainFiles"]
    readme = (MODEL / "README.md").read_text()
    assert card["summary"] in readme and card["command"] in readme and card["weights"]["sha256"] in readme
    assert card["loss"]["curve"][-1]["lmLoss"] < card["loss"]["curve"][0]["lmLoss"] / 3


def _eval_loss(model, eval_texts, relabel: int = 0) -> float:
    """Mean LM loss over the evaluation texts; relabel > 0 sends every token to experts (e + relabel) % E."""
    hooks = []
    if relabel:
        for layer in model.model.layers:
            n = layer.mlp.gate.num_experts
            hooks.append(layer.mlp.gate.register_forward_hook(lambda m, i, o: (o[0], o[1], (o[2] + relabel) % n)))
    try:
        with torch.inference_mode():
            losses = [
                float(model(input_ids=ids, labels=ids).loss)
                for recs in eval_texts.values()
                for r in recs
                for ids in [torch.tensor([tokenizer.encode(r["text"])])]
            ]
    finally:
        for h in hooks:
            h.remove()
    return float(np.mean(losses))


def test_routing_is_learned(eval_texts):
    """The router's choices matter: the experts became different functions and the router picks between them.

    Relabelling the experts (token -> experts e+1 instead of e) ruins the trained model's predictions on held-out
    text, while the same relabelling does nothing to the same architecture at its random initialisation."""
    trained = transformers.MixtralForCausalLM.from_pretrained(MODEL, dtype=torch.float32).eval()
    base = _eval_loss(trained, eval_texts)
    for shift in (1, 3):
        assert _eval_loss(trained, eval_texts, shift) > 2.5 * base
    torch.manual_seed(0)
    rand = transformers.MixtralForCausalLM(trained.config).eval()
    rand_base = _eval_loss(rand, eval_texts)
    assert base < 0.4 * rand_base  # it learned the text at all (random: ~ln 259 = 5.56 nats)
    assert abs(_eval_loss(rand, eval_texts, 1) - rand_base) < 0.05


def test_demo_contents(demo, card, eval_texts):
    m, t = read_trace(demo)
    assert (m["numLayers"], m["numExperts"], m["topK"]) == (card["layers"], 8, 2)
    assert m["moeLayerIds"] == list(range(card["layers"]))
    assert m["datasets"] == card["domains"]
    assert m["model"] == {"name": card["name"], "revision": card["weights"]["sha256"][:12]}
    assert m["hasWeights"] and m["hasLogits"] and m["hasTokenIds"] and m["hasTokenText"]
    assert m["description"] == demo_description(card) and card["summary"] in m["description"]
    assert m["source"]["demoModel"]["weightsSha256"] == card["weights"]["sha256"] and m["source"]["complete"]
    assert len(m["shards"]) >= 2  # the demo exercises multi-shard reading
    # The lookahead gate (2 layers ahead) is the largest column: 2.1 of the 2.3 bytes per token the logits take.
    assert sum((demo / s["file"]).stat().st_size for s in m["shards"]) < 2_000_000

    seq, pos, tid, ds = column(t, "seq"), column(t, "pos"), column(t, "token_id"), column(t, "dataset")
    docs = [(d, r["text"]) for d in card["domains"] for r in eval_texts[d]]
    assert np.unique(seq).tolist() == list(range(len(docs)))
    for s, (d, text) in enumerate(docs):  # every token of every excerpt, in order, with its domain
        rows = seq == s
        assert tid[rows].tolist() == tokenizer.encode(text)
        assert pos[rows].tolist() == list(range(rows.sum()))
        assert set(ds[rows].tolist()) == {m["datasets"].index(d)}
    assert 2000 <= len(tid) <= 4000
    L = m["numLayers"]
    w = column(t, "weights", L * 2).reshape(-1, L, 2)
    np.testing.assert_allclose(w.sum(2), 1.0, rtol=1e-6)
    lg = column(t, "logits", L * 8).reshape(-1, L, 8)
    ex = column(t, "experts", L * 2).reshape(-1, L, 2)
    np.testing.assert_array_equal(ex, np.argsort(-lg, axis=2, kind="stable")[:, :, :2])
    H = m["lookaheadHorizon"]
    assert H == DEMO_LOOKAHEAD == 2 and m["source"]["run"]["options"]["lookahead"] == 2
    la = column(t, "lookahead_logits", L * H * 8).reshape(-1, L, H, 8)
    for li in range(L):
        for h in range(1, H + 1):
            if li + h >= L:  # no router there
                assert np.isnan(la[:, li, h - 1]).all()
                continue
            assert np.isfinite(la[:, li, h - 1]).all()
            # The gate of layer l+h on layer l's input names most of the experts layer l+h then chose (chance: 0.25).
            top = np.argsort(-la[:, li, h - 1], axis=1, kind="stable")[:, :2]
            hits = (top[:, :, None] == ex[:, li + h, None, :]).any(2).mean()
            assert hits > 0.6, (li, h, hits)


def test_demo_is_deterministic(demo, tmp_path):
    write_demo(tmp_path)
    assert files(tmp_path) == files(demo)  # byte-identical shards and manifest


def test_committed_demo_matches_the_code(demo):
    """traces/demo is what `speclab-collect demo` produces (up to float rounding across CPUs)."""
    m_ref, ref = read_trace(COMMITTED)  # verifies checksums, schema, ordering
    m_new, new = read_trace(demo)
    for key in ("model", "numLayers", "numExperts", "topK", "moeLayerIds", "datasets", "description"):
        assert m_ref[key] == m_new[key], key
    assert m_ref["source"]["demoModel"] == m_new["source"]["demoModel"]
    for name in ("seq", "pos", "dataset", "token_id", "token_text"):
        np.testing.assert_array_equal(column(ref, name), column(new, name))
    L = m_new["numLayers"]
    lg_ref, lg_new = column(ref, "logits", L * 8).reshape(-1, L, 8), column(new, "logits", L * 8).reshape(-1, L, 8)
    np.testing.assert_allclose(lg_ref, lg_new, rtol=1e-4, atol=1e-4)
    srt = np.sort(lg_new, axis=2)[:, :, ::-1]
    clear = (srt[:, :, 1] - srt[:, :, 2]) > 1e-3  # ids may differ only at near-ties
    ex_ref, ex_new = column(ref, "experts", L * 2).reshape(-1, L, 2), column(new, "experts", L * 2).reshape(-1, L, 2)
    assert np.array_equal(ex_ref[clear], ex_new[clear])
    H = m_new["lookaheadHorizon"]
    assert m_ref["lookaheadHorizon"] == H
    np.testing.assert_allclose(
        column(ref, "lookahead_logits", L * H * 8), column(new, "lookahead_logits", L * H * 8), rtol=1e-4, atol=1e-4
    )  # NaN where layer l+h is missing, in both


def _fake_machine(root: Path) -> dict[str, Path]:
    """Small stand-ins for the stdlib, /usr/share/common-licenses and /usr/share/man."""
    rng = np.random.default_rng(0)
    py, lic, man = root / "py", root / "lic", root / "man"
    for i in range(7):
        (py / f"pkg{i % 2}").mkdir(parents=True, exist_ok=True)
        body = "".join(f"def f{i}_{j}(x):\n    return x * {j} + {int(rng.integers(99))}\n\n" for j in range(60))
        (py / f"pkg{i % 2}" / f"mod{i}.py").write_text(body)
    (py / "test").mkdir()
    (py / "test" / "test_skipped.py").write_text("x = 1\n" * 400)  # test folders are not used
    lic.mkdir()
    for i in range(5):
        (lic / f"LICENSE-{i}").write_text(f"Permission number {i} is hereby granted, free of charge.\n" * 40)
    (lic / "LICENSE-0-alias").symlink_to(lic / "LICENSE-0")  # the same text twice is used once
    (man / "man1").mkdir(parents=True)
    (man / "man8").mkdir()
    for i in range(6):
        page = f".TH TOOL{i} 1\n.SH NAME\ntool{i} \\- does thing {i}\n" + ".PP\n\\fB\\-\\-flag\\fR sets it.\n" * 60
        (man / ("man1" if i % 2 else "man8") / f"tool{i}.{1 if i % 2 else 8}.gz").write_bytes(gzip.compress(page.encode()))
    (man / "man1" / "alias.1.gz").write_bytes(gzip.compress(b".so man1/tool1.1\n" + b" " * 2000))
    return {"python": py, "licenses": lic, "manpages": man}


def test_train_demo_on_cpu(tmp_path, monkeypatch):
    """The whole pipeline on a tiny corpus: copy the corpus, train a few steps, write a loadable model and its card."""
    roots = _fake_machine(tmp_path / "machine")
    monkeypatch.setattr("speclab_collect.train_demo.default_roots", lambda: roots)
    counts = copy_corpus(tmp_path / "copy")
    assert counts == {"python": 7, "licenses": 5, "manpages": 6}
    card = train_demo(
        TrainOptions(
            out=str(tmp_path / "model"),
            steps=12,
            seq_len=48,
            per_domain=2,
            lr=1e-2,
            threads=1,
            device="cpu",
            corpus=str(tmp_path / "copy"),
            log=lambda s: None,
        )
    )
    out = tmp_path / "model"
    assert card["steps"] == 12 and card["device"] == "cpu" and card["domains"] == ["licenses", "manpages", "python"]
    assert card["loss"]["curve"][-1]["lmLoss"] < card["loss"]["curve"][0]["lmLoss"] - 0.5
    corpus = json.loads((out / "corpus.json").read_text())
    assert corpus["roots"] == {d: str(p) for d, p in sorted(roots.items())}  # where the files came from
    for f in corpus["files"]:  # each listed file is the one read, by hash
        src = roots[f["domain"]] / f["path"]
        data = gzip.decompress(src.read_bytes()) if src.suffix == ".gz" else src.read_bytes()
        assert hashlib.sha256(data).hexdigest() == f["sha256"]
    assert not any("test" in f["path"] or "alias" in f["path"] for f in corpus["files"])
    held = [f for f in corpus["files"] if f["use"] == "heldOut"]
    assert {f["domain"] for f in held} == set(card["domains"])
    for d in card["domains"]:
        recs = [json.loads(line) for line in (out / f"eval-{d}.jsonl").read_text().splitlines()]
        assert [r["sha256"] for r in recs] == [f["sha256"] for f in held if f["domain"] == d]
    model = transformers.MixtralForCausalLM.from_pretrained(out)
    assert model.config.num_local_experts == 8 and str(model.dtype) == "torch.bfloat16"
    summary = write_demo(tmp_path / "trace", model_dir=out)  # the trained folder works as the demo's model
    m, _ = read_trace(tmp_path / "trace")
    assert m["datasets"] == card["domains"] and summary["tokens"] == summary["planned"] > 0


def test_train_demo_needs_two_domains(tmp_path, monkeypatch):
    roots = _fake_machine(tmp_path)
    roots = {"python": roots["python"], "licenses": tmp_path / "missing", "manpages": tmp_path / "missing"}
    monkeypatch.setattr("speclab_collect.train_demo.default_roots", lambda: roots)
    with pytest.raises(CorpusError, match="at least two of python, licenses, manpages"):
        train_demo(TrainOptions(out=str(tmp_path / "m"), steps=1, threads=1, log=lambda s: None))
    assert cli.main(["train-demo", "--out", str(tmp_path / "m"), "--steps", "1"]) == 1
    assert not (tmp_path / "m").exists()


def test_cli_help():
    for cmd in ("demo", "train-demo"):
        r = subprocess.run([sys.executable, "-m", "speclab_collect", cmd, "--help"], capture_output=True, text=True, check=True)
        assert "--out" in r.stdout
    assert "--copy-corpus" in r.stdout and "--steps" in r.stdout


def test_cli_demo_lookahead_option(tmp_path, demo, capsys):
    """--lookahead 0 leaves the gate out (the routing stays the same); a negative horizon is a usage error."""
    assert cli.main(["demo", "--out", str(tmp_path / "none"), "--lookahead", "0"]) == 0
    m, t = read_trace(tmp_path / "none")
    assert "lookaheadHorizon" not in m and "lookahead_logits" not in t.column_names
    L = m["numLayers"]
    np.testing.assert_array_equal(column(t, "experts", L * 2), column(read_trace(demo)[1], "experts", L * 2))
    assert cli.main(["demo", "--out", str(tmp_path / "bad"), "--lookahead", "-1"]) == 2
    assert "--lookahead must be an integer >= 0 (got -1)" in capsys.readouterr().err
    assert not (tmp_path / "bad").exists()


def test_cli_writes_demo(tmp_path, demo, capsys):
    assert cli.main(["demo", "--out", str(tmp_path)]) == 0
    tokens = sum(s["tokens"] for s in read_trace(demo)[0]["shards"])
    assert f"wrote {tokens} tokens in 3 shards" in capsys.readouterr().err
    assert files(tmp_path) == files(demo)
