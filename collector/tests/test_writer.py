import hashlib
import json

import numpy as np
import pyarrow as pa
import pytest

from speclab_collect.reader import TraceFormatError, column, read_trace
from speclab_collect.writer import TraceWriter

L, E, K = 3, 6, 2


def make_writer(out, **over):
    args = dict(
        model_name="test/model",
        model_revision="abc123",
        engine="unit-test",
        quantization="fp32",
        num_layers=L,
        num_experts=E,
        top_k=K,
        moe_layer_ids=[1, 2, 5],
        datasets=["a", "b"],
        has_weights=True,
        has_logits=True,
        has_token_ids=True,
        has_token_text=True,
        shard_tokens=5,
        description="unit test trace",
        source={"producer": "test", "seed": 7},
    )
    args.update(over)
    return TraceWriter(out, **args)


def random_tokens(rng, n):
    """n tokens of valid routing: distinct experts per layer, weights renormalised, logits consistent."""
    logits = rng.normal(size=(n, L, E)).astype(np.float32)
    experts = np.argsort(-logits, axis=2)[:, :, :K]
    p = np.exp(logits)
    top = np.take_along_axis(p, experts, 2)
    weights = (top / top.sum(2, keepdims=True)).astype(np.float32)
    ids = rng.integers(0, 100, size=n)
    return experts, weights, logits, ids


def read_shard(path):
    with pa.ipc.open_file(str(path)) as r:
        assert r.num_record_batches == 1
        return r.read_all()


def test_round_trip_columns_types_metadata_checksums(tmp_path):
    rng = np.random.default_rng(0)
    lengths = [4, 6, 3]  # 13 tokens with shard_tokens=5: shards of 5, 5, 3; sequence 1 spans shards 0-1
    seqs = []
    with make_writer(tmp_path) as w:
        for s, n in enumerate(lengths):
            ex, wt, lg, ids = random_tokens(rng, n)
            texts = [f"t{s}.{i}é" for i in range(n)]  # non-ASCII survives utf8
            ds = "a" if s != 1 else "b"
            # Alternate the two accepted layouts: [N, L, K] and flat [N, L*K].
            if s == 2:
                ex, wt, lg = ex.reshape(n, -1), wt.reshape(n, -1), lg.reshape(n, -1)
            w.add_tokens(s + 10, np.arange(n) * 2, ds, ex, weights=wt, logits=lg, token_id=ids, token_text=texts)
            seqs.append((s + 10, n, ds, ex.reshape(n, L, K), wt.reshape(n, L, K), lg.reshape(n, L, E), ids, texts))

    m = json.loads((tmp_path / "manifest.json").read_text())
    assert m["format"] == "speclab-trace" and m["version"] == 1
    assert m["model"] == {"name": "test/model", "revision": "abc123"}
    assert (m["engine"], m["quantization"]) == ("unit-test", "fp32")
    assert (m["numLayers"], m["numExperts"], m["topK"]) == (L, E, K)
    assert m["moeLayerIds"] == [1, 2, 5] and m["datasets"] == ["a", "b"]
    assert m["hasWeights"] and m["hasLogits"] and m["hasTokenIds"] and m["hasTokenText"]
    assert m["droppedTokens"] == 0
    assert m["description"] == "unit test trace" and m["source"] == {"producer": "test", "seed": 7}
    assert [s["file"] for s in m["shards"]] == ["shard-00000.arrow", "shard-00001.arrow", "shard-00002.arrow"]
    assert [s["tokens"] for s in m["shards"]] == [5, 5, 3]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["manifest.json"] + [s["file"] for s in m["shards"]]

    tables = []
    for s in m["shards"]:
        data = (tmp_path / s["file"]).read_bytes()
        assert s["sha256"] == hashlib.sha256(data).hexdigest()
        t = read_shard(tmp_path / s["file"])
        assert t.num_rows == s["tokens"]
        assert t.schema.metadata == {b"speclab.format": b"1"}
        types = {f.name: f.type for f in t.schema}
        assert types["seq"] == pa.int32() and types["pos"] == pa.int32()
        assert types["dataset"] == pa.uint16() and types["token_id"] == pa.int32()
        assert types["token_text"] == pa.string()
        for name, item, size in (("experts", pa.int16(), L * K), ("weights", pa.float32(), L * K), ("logits", pa.float32(), L * E)):
            assert pa.types.is_fixed_size_list(types[name]), name
            assert types[name].list_size == size and types[name].value_type == item
        assert all(t.column(c).null_count == 0 for c in t.column_names)
        tables.append(t)

    t = pa.concat_tables(tables)
    got_seq, got_pos = column(t, "seq"), column(t, "pos")
    exp_seq = np.concatenate([[s] * n for s, n, *_ in seqs])
    exp_pos = np.concatenate([np.arange(n) * 2 for _, n, *_ in seqs])
    np.testing.assert_array_equal(got_seq, exp_seq)
    np.testing.assert_array_equal(got_pos, exp_pos)
    np.testing.assert_array_equal(column(t, "dataset"), np.concatenate([[0 if d == "a" else 1] * n for _, n, d, *_ in seqs]))
    np.testing.assert_array_equal(column(t, "experts", L * K).reshape(-1, L, K), np.concatenate([x[3] for x in seqs]))
    np.testing.assert_array_equal(column(t, "weights", L * K).reshape(-1, L, K), np.concatenate([x[4] for x in seqs]))
    np.testing.assert_array_equal(column(t, "logits", L * E).reshape(-1, L, E), np.concatenate([x[5] for x in seqs]))
    np.testing.assert_array_equal(column(t, "token_id"), np.concatenate([x[6] for x in seqs]))
    assert column(t, "token_text").tolist() == [s for x in seqs for s in x[7]]

    # The package's strict reader agrees.
    m2, t2 = read_trace(tmp_path)
    assert m2 == m and t2.num_rows == 13


def test_manifest_lists_only_completed_shards(tmp_path):
    rng = np.random.default_rng(1)
    w = make_writer(tmp_path)
    ex, wt, lg, ids = random_tokens(rng, 7)
    assert not (tmp_path / "manifest.json").exists()  # nothing published yet
    w.add_tokens(0, np.arange(7), 0, ex, weights=wt, logits=lg, token_id=ids, token_text=["x"] * 7)
    # 7 tokens, shards of 5: one published shard, 2 tokens still buffered and not on disk.
    m = json.loads((tmp_path / "manifest.json").read_text())
    assert [(s["file"], s["tokens"]) for s in m["shards"]] == [("shard-00000.arrow", 5)]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["manifest.json", "shard-00000.arrow"]
    assert (w.tokens_written, w.tokens_buffered) == (5, 2)
    w.add_dropped(3)
    w.close()
    m = json.loads((tmp_path / "manifest.json").read_text())
    assert [s["tokens"] for s in m["shards"]] == [5, 2] and m["droppedTokens"] == 3
    w.close()  # idempotent


def test_optional_columns_absent(tmp_path):
    rng = np.random.default_rng(2)
    ex, wt, lg, _ = random_tokens(rng, 4)
    with make_writer(
        tmp_path,
        has_weights=False,
        has_logits=False,
        has_token_ids=False,
        has_token_text=False,
        model_revision=None,
        description=None,
        source=None,
    ) as w:
        w.add_tokens(0, np.arange(4), 1, ex)
        with pytest.raises(ValueError, match="has_weights=False"):
            w.add_tokens(1, np.arange(4), 1, ex, weights=wt)
        with pytest.raises(ValueError, match="has_logits=False"):
            w.add_tokens(1, np.arange(4), 1, ex, logits=lg)
    m, t = read_trace(tmp_path)
    assert t.column_names == ["seq", "pos", "dataset", "experts"]
    assert read_shard(tmp_path / "shard-00000.arrow").column_names == ["seq", "pos", "dataset", "experts"]
    assert m["model"] == {"name": "test/model"} and "description" not in m and "source" not in m
    assert not (m["hasWeights"] or m["hasLogits"] or m["hasTokenIds"] or m["hasTokenText"])


def test_numpy_header_values(tmp_path):
    w = make_writer(tmp_path, num_layers=np.int64(L), top_k=np.int32(K), moe_layer_ids=np.array([0, 4, 9]))
    w.close()
    assert json.loads((tmp_path / "manifest.json").read_text())["moeLayerIds"] == [0, 4, 9]


def test_add_token_single_rows(tmp_path):
    rng = np.random.default_rng(3)
    ex, wt, lg, ids = random_tokens(rng, 3)
    with make_writer(tmp_path, shard_tokens=100) as w:
        for i in range(3):
            w.add_token(4, i, "b", ex[i], weights=wt[i], logits=lg[i], token_id=int(ids[i]), token_text="z")
    _, t = read_trace(tmp_path)
    np.testing.assert_array_equal(column(t, "experts", L * K).reshape(-1, L, K), ex)
    assert column(t, "dataset").tolist() == [1, 1, 1]


def test_empty_trace_set_still_gets_manifest(tmp_path):
    make_writer(tmp_path).close()
    m, t = read_trace(tmp_path)
    assert m["shards"] == [] and t.num_rows == 0


def test_existing_trace_set_needs_overwrite(tmp_path):
    rng = np.random.default_rng(4)
    ex, *_ = random_tokens(rng, 12)
    small = dict(has_weights=False, has_logits=False, has_token_ids=False, has_token_text=False)
    with make_writer(tmp_path, **small) as w:
        w.add_tokens(0, np.arange(12), 0, ex)  # 3 shards
    with pytest.raises(FileExistsError):
        make_writer(tmp_path, **small)
    with make_writer(tmp_path, overwrite=True, **small) as w:
        w.add_tokens(0, np.arange(2), 0, ex[:2])
    # Stale shards from the larger first run are gone.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["manifest.json", "shard-00000.arrow"]


def test_error_inside_context_publishes_nothing_more(tmp_path):
    rng = np.random.default_rng(5)
    ex, *_ = random_tokens(rng, 7)
    small = dict(has_weights=False, has_logits=False, has_token_ids=False, has_token_text=False)
    with pytest.raises(RuntimeError):
        with make_writer(tmp_path, **small) as w:
            w.add_tokens(0, np.arange(7), 0, ex)
            raise RuntimeError("producer crashed")
    m, t = read_trace(tmp_path)
    assert [s["tokens"] for s in m["shards"]] == [5] and t.num_rows == 5


# ------------------------------------------------------------------------------------------------ bad input


@pytest.fixture
def writer(tmp_path):
    return make_writer(tmp_path, shard_tokens=100)


def good(n=2, seed=6):
    return random_tokens(np.random.default_rng(seed), n)


def add(w, seq=0, pos=None, ds=0, ex=None, wt=None, lg=None, ids=None, texts=None, n=2):
    e0, w0, l0, i0 = good(n)
    w.add_tokens(
        seq,
        np.arange(n) if pos is None else pos,
        ds,
        e0 if ex is None else ex,
        weights=w0 if wt is None else wt,
        logits=l0 if lg is None else lg,
        token_id=i0 if ids is None else ids,
        token_text=["t"] * n if texts is None else texts,
    )


def test_rejects_expert_out_of_range(writer):
    ex = good()[0].copy()
    ex[1, 2, 0] = E
    with pytest.raises(ValueError, match=r"expert id 6 out of range 0..5 \(token 1, layer 2"):
        add(writer, ex=ex)
    ex[1, 2, 0] = -1
    with pytest.raises(ValueError, match="out of range"):
        add(writer, ex=ex)


def test_rejects_repeated_expert_in_layer(writer):
    ex = good()[0].copy()
    ex[0, 1] = [3, 3]
    with pytest.raises(ValueError, match="distinct within a token and layer: token 0, layer 1"):
        add(writer, ex=ex)


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("ex", np.zeros((2, L, K + 1), np.int64), "experts must be shaped"),
        ("ex", np.zeros((2, L, K), np.float32), "experts must be integers"),
        ("wt", np.zeros((2, L, E)), "weights must be shaped"),
        ("lg", np.zeros((2, L, K)), "logits must be shaped"),
        ("wt", np.full((2, L, K), np.inf), "weights must be finite"),
        ("lg", np.full((2, L, E), np.nan), "logits must be NaN-free"),
        ("pos", np.arange(3), r"pos must be shaped \[2\]"),
        ("pos", np.array([0.0, 1.0]), "pos must be integers"),
        ("pos", np.array([-1, 0]), "out of range"),
        ("ds", 2, "dataset.* out of range 0..1"),
        ("ds", "nope", "unknown dataset 'nope'"),
        ("ids", np.array([-2, 0]), r"token_id\[0\] = -2 is out of range"),
        ("texts", ["only one"], "token_text has 1 entries, expected 2"),
        ("texts", "ab", "not one string"),
        ("texts", ["a", 3], r"token_text\[1\] must be a string"),
        ("texts", ["a", "\ud800"], r"token_text\[1\] is not valid Unicode"),
        ("ids", 5, r"token_id must be shaped \[2\]"),
        ("seq", np.array([0, 0, 0]), r"seq must be a scalar or shaped \[2\]"),
        ("seq", -1, "out of range"),
    ],
)
def test_rejects_bad_fields(writer, field, value, message):
    with pytest.raises(ValueError, match=message):
        add(writer, **{field: value})
    assert writer.tokens_buffered == 0  # nothing from a rejected call is kept


def test_requires_declared_optional_columns(writer):
    ex, wt, lg, ids = good()
    with pytest.raises(ValueError, match="weights is required"):
        writer.add_tokens(0, [0, 1], 0, ex, logits=lg, token_id=ids, token_text=["a", "b"])
    with pytest.raises(ValueError, match="token_id is required"):
        writer.add_tokens(0, [0, 1], 0, ex, weights=wt, logits=lg, token_text=["a", "b"])


def test_rejects_out_of_order_sequences(writer):
    add(writer, seq=0, pos=np.array([0, 1]))
    with pytest.raises(ValueError, match="strictly increasing"):
        add(writer, seq=0, pos=np.array([1, 2]))  # pos 1 again
    with pytest.raises(ValueError, match="strictly increasing"):
        add(writer, seq=1, pos=np.array([3, 3]))
    with pytest.raises(ValueError, match="mixes datasets"):
        add(writer, seq=0, pos=np.array([5, 6]), ds=1)
    add(writer, seq=0, pos=np.array([4, 9]))  # gaps are allowed (dropped tokens)
    add(writer, seq=1, pos=np.array([0, 1]), ds=1)
    with pytest.raises(ValueError, match="sequence 0 appears again"):
        add(writer, seq=0, pos=np.array([10, 11]))
    with pytest.raises(ValueError, match="sequence 5 appears again"):
        add(writer, seq=np.array([5, 6, 5]), pos=np.array([0, 0, 1]), n=3)
    assert writer.tokens_buffered == 6
    writer.close()
    with pytest.raises(ValueError, match="closed"):
        add(writer, seq=9)


@pytest.mark.parametrize(
    "over, message",
    [
        (dict(top_k=7), "top_k must be in 1..6"),
        (dict(num_experts=1, top_k=1), "num_experts must be in 2..32768"),
        (dict(num_experts=40000), "num_experts must be in 2..32768"),
        (dict(moe_layer_ids=[1, 2]), "moe_layer_ids has 2 entries"),
        (dict(moe_layer_ids=[1, 1, 2]), "strictly increasing"),
        (dict(datasets=[]), "datasets must list"),
        (dict(datasets=["a", "a"]), "distinct"),
        (dict(shard_tokens=0), "shard_tokens"),
        (dict(source={"x": object()}), "JSON-serialisable"),
        (dict(num_layers=True), "num_layers must be an integer"),
    ],
)
def test_rejects_bad_header(tmp_path, over, message):
    with pytest.raises(ValueError, match=message):
        make_writer(tmp_path, **over)


def test_reader_detects_corruption(tmp_path):
    rng = np.random.default_rng(8)
    ex, wt, lg, ids = random_tokens(rng, 6)
    with make_writer(tmp_path) as w:
        w.add_tokens(0, np.arange(6), 0, ex, weights=wt, logits=lg, token_id=ids, token_text=["q"] * 6)
    shard = tmp_path / "shard-00001.arrow"
    data = bytearray(shard.read_bytes())
    data[len(data) // 2] ^= 0xFF
    shard.write_bytes(bytes(data))
    with pytest.raises(TraceFormatError, match="checksum mismatch"):
        read_trace(tmp_path)
