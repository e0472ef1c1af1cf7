"""The SpecLab InterLayer speculation model in PyTorch, loaded from the notebook's export
(`<name>.safetensors` + `<name>.json`), so an inference runtime can prefetch experts with it.

It mirrors src/ml/interLayerModel.ts exactly:
  each context layer's K experts -> mean of their embeddings + that layer's position embedding
  -> an LSTM over the C context layers (gate order i, f, g, o) -> a linear head per horizon step over E experts.

Usage:
    from speclab_collect.predictor import load_predictor
    model = load_predictor("interlayer.json")
    logits = model(ctx_experts, ctx_layers, target_layers)   # [B, H, E]

`python -m speclab_collect.predictor check <export.json> <cases.json>` compares the module's logits with the
ones the notebook computed for the same inputs (used by the project's cross-language test).
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import torch
from torch import nn

FORMAT = "speclab-predictor"


class InterLayerPredictor(nn.Module):
    def __init__(self, shape: dict, weights: dict[str, torch.Tensor]) -> None:
        super().__init__()
        self.L = int(shape["numLayers"])
        self.E = int(shape["numExperts"])
        self.K = int(shape["topK"])
        self.C = int(shape["context"])
        self.H = int(shape["horizon"])
        self.u = int(shape["hiddenUnits"])
        self.layer_specific = bool(shape["layerSpecificHeads"])
        for name in ("expertEmbedding", "layerEmbedding", "lstmKernel", "lstmRecurrent", "lstmBias", "headKernel", "headBias"):
            if name not in weights:
                raise ValueError(f"the export has no tensor {name!r}")
            self.register_buffer(name, weights[name].float().contiguous())

    @torch.no_grad()
    def forward(self, ctx_experts: torch.Tensor, ctx_layers: torch.Tensor, target_layers: torch.Tensor) -> torch.Tensor:
        """ctx_experts [B, C*K] expert ids (layer-major), ctx_layers [B, C] MoE layer indices, target_layers [B, H]."""
        B = ctx_experts.shape[0]
        emb = self.expertEmbedding[ctx_experts.long().view(B, self.C, self.K)].mean(dim=2)  # [B, C, d]
        x = emb + self.layerEmbedding[ctx_layers.long()]
        h = x.new_zeros(B, self.u)
        c = x.new_zeros(B, self.u)
        xw = x @ self.lstmKernel + self.lstmBias  # [B, C, 4u]
        for s in range(self.C):
            z = xw[:, s] + h @ self.lstmRecurrent
            i, f, g, o = z.split(self.u, dim=1)
            c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
            h = torch.sigmoid(o) * torch.tanh(c)
        out = h @ self.headKernel + self.headBias
        if not self.layer_specific:
            return out.view(B, self.H, self.E)
        out = out.view(B, self.H, self.L, self.E)
        idx = target_layers.long().view(B, self.H, 1, 1).expand(B, self.H, 1, self.E)
        return out.gather(2, idx).squeeze(2)

    def predict(self, ctx_experts, ctx_layers, target_layers, k: int | None = None) -> torch.Tensor:
        """The k experts to prefetch per horizon step, best first: [B, H, k]."""
        logits = self(ctx_experts, ctx_layers, target_layers)
        return logits.topk(k or self.K, dim=-1).indices


def load_predictor(description: str | Path) -> InterLayerPredictor:
    from safetensors.torch import load_file

    path = Path(description)
    meta = json.loads(path.read_text())
    if meta.get("format") != FORMAT or meta.get("version") != 1:
        raise ValueError(f"{path}: not a {FORMAT} v1 description (format={meta.get('format')!r}, version={meta.get('version')!r})")
    if meta.get("model") != "interlayer":
        raise ValueError(f"{path}: model {meta.get('model')!r} is not supported by this module")
    weights = load_file(str(path.with_name(meta["weights"])))
    return InterLayerPredictor(meta["shape"], weights).eval()


def _check(description: str, cases_path: str) -> int:
    model = load_predictor(description)
    cases = json.loads(Path(cases_path).read_text())
    ctx = torch.tensor(cases["ctxExperts"])
    lay = torch.tensor(cases["ctxLayers"])
    tgt = torch.tensor(cases["targetLayers"])
    got = model(ctx, lay, tgt)
    want = torch.tensor(cases["logits"]).view_as(got)
    diff = float((got - want).abs().max())
    same_top = bool((got.topk(model.K, dim=-1).indices.sort(-1).values == want.topk(model.K, dim=-1).indices.sort(-1).values).all())
    print(json.dumps({"maxAbsDiff": diff, "sameTopK": same_top, "samples": int(ctx.shape[0])}))
    return 0 if diff < 1e-4 and same_top else 1


if __name__ == "__main__":
    if len(sys.argv) != 4 or sys.argv[1] != "check":
        print("usage: python -m speclab_collect.predictor check <export.json> <cases.json>", file=sys.stderr)
        sys.exit(2)
    sys.exit(_check(sys.argv[2], sys.argv[3]))
