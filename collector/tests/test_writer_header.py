"""TraceHeader: the trace set's header as one checked value, and TraceWriter.open(out_dir, header, ...)."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from speclab_collect import read_trace
from speclab_collect.writer import TraceHeader, TraceWriter

FIELDS = dict(
    model_name="m",
    model_revision="r1",
    engine="e",
    quantization="none",
    num_layers=2,
    num_experts=4,
    top_k=2,
    moe_layer_ids=[0, 1],
    datasets=["a", "b"],
    has_weights=True,
    has_logits=False,
    has_token_ids=True,
    has_token_text=False,
    description="d",
    source={"k": 1},
    lookahead_horizon=0,
)


def rows(w: TraceWriter) -> None:
    experts = np.array([[0, 1, 2, 3], [1, 2, 0, 3], [3, 2, 1, 0]], dtype=np.int16)
    weights = np.full((3, 4), 0.5, dtype=np.float32)
    w.add_tokens(seq=[0, 0, 1], pos=[0, 1, 0], dataset=["a", "a", "b"], experts=experts, weights=weights, token_id=[5, 6, 7])


def test_open_with_a_header_writes_what_the_constructor_writes(tmp_path):
    with TraceWriter(tmp_path / "one", shard_tokens=2, **FIELDS) as w:
        rows(w)
    with TraceWriter.open(tmp_path / "two", TraceHeader(**FIELDS), shard_tokens=2) as w:
        rows(w)
        assert w.header.model_name == "m" and w.datasets == ["a", "b"]
    one = json.loads((tmp_path / "one" / "manifest.json").read_text())
    two = json.loads((tmp_path / "two" / "manifest.json").read_text())
    assert one == two
    assert one["model"] == {"name": "m", "revision": "r1"} and one["description"] == "d" and one["source"] == {"k": 1}
    assert len(one["shards"]) == 2
    assert read_trace(tmp_path / "two").num_rows == 3


def test_a_header_is_checked_when_made_and_holds_plain_values():
    h = TraceHeader(**{**FIELDS, "num_layers": np.int64(2), "moe_layer_ids": (np.int32(0), np.int32(3)), "datasets": ("a",)})
    assert type(h.num_layers) is int and h.moe_layer_ids == [0, 3] and h.datasets == ["a"]
    json.dumps(h.manifest_fields())
    with pytest.raises(dataclasses.FrozenInstanceError):
        h.top_k = 3  # type: ignore[misc]
    for change, message in [
        ({"model_name": ""}, "model_name must be a non-empty string"),
        ({"top_k": 5}, "top_k"),
        ({"moe_layer_ids": [1, 0]}, "moe_layer_ids must be strictly increasing"),
        ({"datasets": ["a", "a"]}, "dataset names must be distinct"),
        ({"source": {"x": float("nan")}}, "source must be JSON-serialisable"),
    ]:
        with pytest.raises(ValueError, match=message):
            TraceHeader(**{**FIELDS, **change})


def test_open_checks_the_write_options(tmp_path):
    with pytest.raises(ValueError, match="shard_tokens"):
        TraceWriter.open(tmp_path, TraceHeader(**FIELDS), shard_tokens=0)
    with pytest.raises(ValueError, match="header must be a TraceHeader"):
        TraceWriter.open(tmp_path, FIELDS)  # type: ignore[arg-type]
    assert not (tmp_path / "manifest.json").exists()


def test_lookahead_is_in_the_header(tmp_path):
    h = TraceHeader(**{**FIELDS, "lookahead_horizon": 1})
    assert h.manifest_fields()["lookaheadHorizon"] == 1
    assert "lookaheadHorizon" not in TraceHeader(**FIELDS).manifest_fields()
