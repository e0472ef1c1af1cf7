"""Model loading (local folders, offload, quantisation checks) and text sources (specs, local files, offline hub)."""

import json
import os
import time

import numpy as np
import pytest
import torch
import transformers as T

from speclab_collect import sources
from speclab_collect.capture import capture_routing
from speclab_collect.models import (
    LoadOptions,
    ModelError,
    check_quantizable,
    load_model,
    parse_memory,
    require_bitsandbytes,
    validate_model_ref,
)
from speclab_collect.sources import DatasetError, DatasetUnavailable, iter_documents, parse_spec

MIXTRAL = dict(
    vocab_size=300,
    hidden_size=32,
    intermediate_size=32,
    num_hidden_layers=3,
    num_attention_heads=4,
    num_key_value_heads=2,
    num_local_experts=8,
    num_experts_per_tok=2,
)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("tiny-mixtral")
    torch.manual_seed(0)
    T.MixtralForCausalLM(T.MixtralConfig(**MIXTRAL)).save_pretrained(d)
    return d


def test_model_refs_are_validated(model_dir, tmp_path):
    assert validate_model_ref("mistralai/Mixtral-8x7B-v0.1") == "hub"
    assert validate_model_ref(str(model_dir)) == "local"
    for bad in ("bad id!", "a/b/c", "../etc", "-x", "x/", "owner/..", "/no/such/dir", "import os; os.system('x')"):
        with pytest.raises(ModelError):
            validate_model_ref(bad)
    with pytest.raises(ModelError, match="no config.json"):
        validate_model_ref(str(tmp_path))


def test_memory_sizes():
    assert parse_memory("22GiB") == "22GiB" and parse_memory(" 1.5 GB") == "1.5GB"
    for bad in ("22", "lots", "22 GiBs", ""):
        with pytest.raises(ModelError, match="must look like 22GiB"):
            parse_memory(bad)


def test_offload_to_cpu_and_disk_routes_the_same(model_dir, tmp_path):
    pytest.importorskip("accelerate")
    """--cpu-memory small enough to push layers to disk: accelerate moves them in for each forward, and the
    captured routing is the same as with the whole model in memory."""
    whole = load_model(LoadOptions(model=str(model_dir), dtype="fp32"))
    off = load_model(LoadOptions(model=str(model_dir), dtype="fp32", cpu_memory="150KiB", offload_folder=str(tmp_path)))
    assert "disk" in off.info["deviceMap"]
    ids = torch.randint(0, 300, (2, 9), generator=torch.Generator().manual_seed(1))
    a, b = capture_routing(whole.model, ids), capture_routing(off.model, ids)
    np.testing.assert_array_equal(a.experts, b.experts)
    np.testing.assert_array_equal(a.logits, b.logits)


def test_bnb_quantisation_refused_where_it_would_not_reach_fused_experts(model_dir):
    cfg = T.MixtralConfig(**MIXTRAL)
    with pytest.raises(ModelError, match="fused 3-D weights.*bitsandbytes does not quantise"):
        check_quantizable(cfg, "int4", allow_unquantized_experts=False)
    assert check_quantizable(cfg, "int8", allow_unquantized_experts=True) == "int8 (attention only; experts unquantised)"
    # Switch Transformers keeps one nn.Linear pair per expert, which bitsandbytes does replace.
    sw = T.SwitchTransformersConfig(
        vocab_size=300,
        d_model=32,
        d_kv=8,
        d_ff=64,
        num_layers=2,
        num_decoder_layers=2,
        num_heads=4,
        num_experts=4,
        encoder_sparse_step=2,
        decoder_sparse_step=2,
    )
    assert check_quantizable(sw, "int4", allow_unquantized_experts=False) == "int4"
    # The check runs before any weight is loaded (and before bitsandbytes is even looked for).
    with pytest.raises(ModelError, match="fused"):
        load_model(LoadOptions(model=str(model_dir), quantization="int4"))
    with pytest.raises(ModelError, match="needs real weights"):
        load_model(LoadOptions(config_json=str(model_dir / "config.json"), quantization="int8"))


def test_missing_bitsandbytes_is_reported():
    try:
        import bitsandbytes  # noqa: F401
    except ImportError:
        with pytest.raises(ModelError, match="bitsandbytes, which is not installed"):
            require_bitsandbytes()
    else:
        if not torch.cuda.is_available():
            with pytest.raises(ModelError, match="needs a CUDA GPU"):
                require_bitsandbytes()


# ------------------------------------------------------------------------------------------------ sources


def test_dataset_specs(tmp_path):
    f = tmp_path / "my-notes.jsonl"
    f.write_text('{"text": "a"}\n')
    s = parse_spec("imdb:200k")
    assert (s.label, s.source, s.budget, s.hub) == ("imdb", "imdb", 200_000, True)
    assert parse_spec("wikitext2").budget == sources.DEFAULT_HUB_BUDGET
    assert parse_spec("CNN:1.5M").source == "cnn_dailymail" and parse_spec("CNN:1.5M").budget == 1_500_000
    s = parse_spec(f"{f}:100")
    assert (s.label, s.budget, s.hub) == ("my-notes", 100, False)
    s = parse_spec(f"mine={f}")
    assert (s.label, s.budget) == ("mine", None)
    assert parse_spec(str(f), default_budget=7).budget == 7
    assert len(sources.HUB_DATASETS) == 10
    with pytest.raises(DatasetError, match="neither a known dataset name"):
        parse_spec("no-such-thing")
    with pytest.raises(DatasetError, match="token budget"):
        parse_budget_bad = sources.parse_budget("12x")  # noqa: F841
    with pytest.raises(DatasetError, match="label"):
        parse_spec(f"bad label={f}")


def test_local_documents(tmp_path):
    t = tmp_path / "a.txt"
    t.write_text("first para\nline two\n\n\nsecond\n\nthird\n")
    assert list(iter_documents(parse_spec(str(t)))) == ["first para\nline two", "second", "third"]
    j = tmp_path / "b.jsonl"
    j.write_text('{"body": "x"}\n\n{"body": "y"}\n')
    assert list(iter_documents(parse_spec(str(j)), text_field="body")) == ["x", "y"]
    with pytest.raises(DatasetError, match=r"b.jsonl:1: no string field 'text' \(has: body\)"):
        list(iter_documents(parse_spec(str(j))))
    j.write_text("{not json\n")
    with pytest.raises(DatasetError, match="not valid JSON"):
        list(iter_documents(parse_spec(str(j))))


def test_hub_dataset_offline_fails_fast_and_clearly(monkeypatch):
    # Offline: no Hub connection and nothing cached. Must say so and name the local-file alternative, quickly.
    monkeypatch.setattr(sources, "hub_reachable", lambda timeout=3.0: False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "0")
    monkeypatch.setenv("HF_DATASETS_CACHE", os.path.join(os.environ.get("TMPDIR", "/tmp"), "speclab-empty-ds-cache"))
    t0 = time.monotonic()
    with pytest.raises(
        DatasetUnavailable,
        match=r"'imdb' \(stanfordnlp/imdb\) (is not available: no connection|needs the 'datasets' package).*--dataset imdb=path",
    ):
        next(iter_documents(parse_spec("imdb:100")))
    assert time.monotonic() - t0 < 30
