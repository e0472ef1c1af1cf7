"""The PyTorch loader of SpecLab's exported predictors (speclab_collect/predictor.py).

The export tests load files that a vitest run wrote: src/ml/exportModel.test.ts trains every learned model on
real routing (DeepSeek-V2-Lite prompts of ../shared/traces-real), exports each with reference cases from held-out
windows, and runs this file with SPECLAB_EXPORT_DIR set to where it wrote them. Run on its own, without that
variable, those tests are skipped (the vitest test is what produces their input); the loader's refusals are
tested here either way.
"""

from __future__ import annotations

import json
import os
import struct
from pathlib import Path

import pytest
import torch

from speclab_collect.predictor import (
    EnsemblePredictor,
    SequencePredictor,
    compare,
    load_predictor,
    token_index,
)

EXPORTS = os.environ.get("SPECLAB_EXPORT_DIR")
needs_exports = pytest.mark.skipif(not EXPORTS, reason="run by src/ml/exportModel.test.ts, which writes the exports (SPECLAB_EXPORT_DIR)")
MODELS = ["interlayer", "stats-aware", "ensemble", "joint", "token-aware", "attention", "sequence"]


def _index() -> dict:
    return json.loads((Path(EXPORTS) / "index.json").read_text())


@needs_exports
def test_every_learned_model_was_exported():
    assert sorted(_index()["models"]) == sorted(MODELS)


@needs_exports
@pytest.mark.parametrize("name", MODELS)
def test_same_outputs_as_speclab(name: str):
    d = Path(EXPORTS)
    model = load_predictor(d / f"{name}.json")
    meta = json.loads((d / f"{name}.json").read_text())
    assert meta["model"] == name
    cases = json.loads((d / meta["cases"]).read_text())
    r = compare(model, cases)
    assert r["samples"] > 0
    assert r["maxAbsDiff"] <= r["tolerance"], r
    assert r["sameTopK"], r
    assert r["vocabularyMatches"], r
    # Fewer than a tenth of the windows are near-ties: the top-k comparison means something.
    assert r["ties"] * 10 < cases["output"].__len__() / model.E, r
    # The description's counts are the weights file's.
    from safetensors.torch import load_file

    tensors = load_file(str(d / meta["weights"]))
    assert meta["bytes"] == 4 * sum(t.numel() for t in tensors.values())
    constants = set(meta.get("constants", []))
    assert meta["parameters"] == sum(t.numel() for k, t in tensors.items() if k not in constants)
    # predict() gives K experts per window and step, inside 0..E-1.
    top = model.predict(model.inputs_from(cases))
    assert top.shape[-1] == model.K and int(top.min()) >= 0 and int(top.max()) < model.E


@needs_exports
def test_vocabulary_and_kinds():
    d = Path(EXPORTS)
    seq = load_predictor(d / "sequence.json")
    assert isinstance(seq, SequencePredictor)
    assert isinstance(load_predictor(d / "ensemble.json"), EnsemblePredictor)
    tok = load_predictor(d / "token-aware.json")
    keys = json.loads((d / "token-aware.json").read_text())["vocabulary"]["keys"]
    # DeepSeek's hook CSVs record token text: the vocabulary maps texts, the most frequent first, to 1, 2, ...
    assert token_index(tok, keys[0]) == 1 and token_index(tok, keys[-1]) == len(keys)
    assert token_index(tok, "\u0000 not a token of the trace") == 0
    assert token_index(tok, None) == 0


@needs_exports
def test_a_wrong_output_is_caught():
    d = Path(EXPORTS)
    model = load_predictor(d / "joint.json")
    cases = json.loads((d / "joint.cases.json").read_text())
    cases["output"][0] += 1.0
    assert compare(model, cases)["maxAbsDiff"] > 0.5


def _write(tmp: Path, meta: dict, tensors: dict[str, torch.Tensor]) -> Path:
    from safetensors.torch import save_file

    save_file({k: v.contiguous() for k, v in tensors.items()}, str(tmp / "m.safetensors"))
    path = tmp / "m.json"
    path.write_text(json.dumps({"format": "speclab-predictor", "version": 1, "weights": "m.safetensors", **meta}))
    return path


SHAPE = {
    "numLayers": 4,
    "numExperts": 4,
    "topK": 2,
    "context": 2,
    "horizon": 1,
    "embeddingDim": 3,
    "hiddenUnits": 2,
    "layerSpecificHeads": False,
}


def test_refuses_other_formats_and_models(tmp_path: Path):
    p = tmp_path / "x.json"
    p.write_text(json.dumps({"format": "something-else", "version": 1}))
    with pytest.raises(ValueError, match="not a speclab-predictor v1"):
        load_predictor(p)
    with pytest.raises(ValueError, match="not supported"):
        load_predictor(_write(tmp_path, {"model": "no-such-model", "shape": SHAPE}, {"a": torch.zeros(1)}))


def test_refuses_a_missing_tensor(tmp_path: Path):
    with pytest.raises(ValueError, match="no tensor 'lstmKernel'"):
        load_predictor(
            _write(
                tmp_path,
                {"model": "interlayer", "shape": SHAPE},
                {"expertEmbedding": torch.zeros(4, 3), "layerEmbedding": torch.zeros(4, 3)},
            )
        )


def test_joint_wide_part_reads_each_context_slot(tmp_path: Path):
    # Only the wide table is non-zero: the logits are its rows at (slot s, layer-expert id), averaged over K.
    L, E, K, C, H = 4, 4, 2, 2, 1
    rows = L * E + 1
    z = torch.zeros
    wide = torch.arange(C * rows * H * E, dtype=torch.float32).view(C * rows, H * E)
    tensors = {
        "layerExpertEmbedding": z(rows, 3),
        "hiddenKernel": z(C * 3, 2),
        "hiddenBias": z(2),
        "targetLayerHiddenBias": z(L, 2),
        "outKernel": z(2, E),
        "outBias": z(E),
        "targetLayerOutBias": z(L, E),
        "wideContext": wide,
    }
    m = load_predictor(_write(tmp_path, {"model": "joint", "shape": SHAPE, "options": {"history": 0, "vocabSize": 0}}, tensors))
    ids = torch.tensor([[0 * E + 1, 0 * E + 2, 1 * E + 3, 1 * E + 0]])  # layers 0 and 1 of a window with l = 1
    got = m.logits({"ctxIds": ids, "tgt": torch.tensor([[2]])})
    want = (wide[1] + wide[2] + wide[rows + 4 + 3] + wide[rows + 4 + 0]) / K
    assert torch.allclose(got.view(-1), want)
