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


class SequencePredictor(nn.Module):
    """The sequence model of src/ml/sequence/net.ts: per token, every window l = C-1..L-1-H at once.

    z = b + sum_c mean_j Ctx_c[(l-c, e)] + mean_{s<=l, j} Pre[(s, e)] + sum_q Tok_q[token t-q]
    logits[l, h] = relu(z + mean_j Prev_h[(l+1+h, e of the previous token)]) @ W_h + bias[l+1+h]
    """

    def __init__(self, shape: dict, weights: dict[str, torch.Tensor]) -> None:
        super().__init__()
        self.L, self.E, self.K = int(shape["numLayers"]), int(shape["numExperts"]), int(shape["topK"])
        self.C, self.H, self.V = int(shape["context"]), int(shape["horizon"]), int(shape["vocab"])
        names = ("ctx", "pre", "prev", "b", "W", "bias") + (("tok",) if self.V > 0 else ())
        for name in names:
            if name not in weights:
                raise ValueError(f"the export has no tensor {name!r}")
            self.register_buffer(name, weights[name].float().contiguous())
        self.first, self.last = self.C - 1, self.L - 1 - self.H

    @torch.no_grad()
    def forward(self, experts: torch.Tensor, prev_experts: torch.Tensor, has_prev: torch.Tensor, tokens: torch.Tensor | None = None) -> torch.Tensor:
        B = experts.shape[0]
        L, E, K = self.L, self.E, self.K
        off = (torch.arange(L) * E).view(1, L, 1)
        lex = experts.long() + off  # [B, L, K] layer-expert ids
        ls = torch.arange(self.first, self.last + 1)
        z = self.b.view(1, 1, -1).expand(B, len(ls), -1).clone()
        for c in range(self.C):
            z = z + self.ctx[c][lex[:, ls - c]].mean(2)
        prefix = self.pre[lex].sum(2).cumsum(1)  # [B, L, d]
        z = z + prefix[:, ls] / ((ls + 1) * K).view(1, -1, 1).float()
        if self.V > 0 and tokens is not None:
            z = z + sum(self.tok[q][tokens[:, q].long()] for q in range(self.tok.shape[0])).unsqueeze(1)
        pad = torch.full_like(lex, L * E)
        pv = torch.where(has_prev.bool().view(B, 1, 1), prev_experts.long() + off, pad)
        outs = []
        for h in range(self.H):
            tau = ls + 1 + h
            a = torch.relu(z + self.prev[h][pv[:, tau]].mean(2))
            outs.append(a @ self.W[h] + self.bias[tau])
        return torch.stack(outs, 2)  # [B, W, H, E]


def load_predictor(description: str | Path) -> nn.Module:
    from safetensors.torch import load_file

    path = Path(description)
    meta = json.loads(path.read_text())
    if meta.get("format") != FORMAT or meta.get("version") != 1:
        raise ValueError(f"{path}: not a {FORMAT} v1 description (format={meta.get('format')!r}, version={meta.get('version')!r})")
    models = {"interlayer": InterLayerPredictor, "sequence": SequencePredictor}
    if meta.get("model") not in models:
        raise ValueError(f"{path}: model {meta.get('model')!r} is not supported by this module")
    weights = load_file(str(path.with_name(meta["weights"])))
    return models[meta["model"]](meta["shape"], weights).eval()


def _check(description: str, cases_path: str) -> int:
    model = load_predictor(description)
    cases = json.loads(Path(cases_path).read_text())
    if isinstance(model, SequencePredictor):
        ctx = torch.tensor(cases["experts"])
        got = model(ctx, torch.tensor(cases["prevExperts"]), torch.tensor(cases["hasPrev"]), torch.tensor(cases["tokens"]))
    else:
        ctx = torch.tensor(cases["ctxExperts"])
        got = model(ctx, torch.tensor(cases["ctxLayers"]), torch.tensor(cases["targetLayers"]))
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
