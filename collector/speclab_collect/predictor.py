"""SpecLab's learned speculation models in PyTorch, loaded from the notebook's or the CLI's export
(`<name>.safetensors` + `<name>.json`, and `<name>.cases.json` with reference inputs and outputs), so an inference
runtime can prefetch experts with them. Every learned model of src/ml exports:

  interlayer   src/ml/interLayerModel.ts      expert embeddings -> LSTM over the context layers -> head per step
  stats-aware  src/ml/models/statsAwareModel.ts  InterLayer + the training split's per-layer statistics
  joint        src/ml/models/jointModel.ts    context layers + previous tokens at the target layer, deep + wide
  token-aware  the joint model with a token embedding (the description carries the vocabulary)
  attention    src/ml/models/attentionModel.ts  one attention head over context layers, previous tokens, token
  ensemble     src/ml/models/ensemble.ts      interlayer + stats-aware probabilities weighted by confidence
  sequence     src/ml/sequence/net.ts         one pass per token for every window (embedding bag -> ReLU -> heads);
               src/ml/sequence/tokensNet.ts for the next-tokens task (shape taskKind "tokens": [B, H, L, E])

The window models (all but sequence) take a dict of integer tensors named as in the description's `inputs`
(src/ml/windows.ts and src/ml/models/features.ts build them); `scores(inputs)` gives what SpecLab ranks experts
by for each window and horizon step, [B, H, E]: sigmoid probabilities for the window models, logits for the
sequence model ([B, W, H, E], per token). `logits(inputs)` gives the raw logits where the model has them.

Usage:
    from speclab_collect.predictor import load_predictor
    model = load_predictor("interlayer.json")
    logits = model(ctx_experts, ctx_layers, target_layers)   # [B, H, E] (InterLayer's positional form)
    top = model.predict(model.inputs_from(cases))            # [B, H, K] experts to prefetch

`python -m speclab_collect.predictor check <export.json> [<cases.json>]` compares the module's outputs with the
ones SpecLab computed for the same inputs (the cases file an export writes beside the description by default).
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import torch
from torch import nn

FORMAT = "speclab-predictor"


def _need(weights: dict[str, torch.Tensor], prefix: str, names: tuple[str, ...]) -> dict[str, torch.Tensor]:
    out = {}
    for name in names:
        key = prefix + name
        if key not in weights:
            raise ValueError(f"the export has no tensor {key!r}")
        out[name] = weights[key].float().contiguous()
    return out


def _mean_of_k(table: torch.Tensor, ids: torch.Tensor, groups: int, k: int) -> torch.Tensor:
    """[B, G*K] ids -> the mean of each group's K rows, [B, G, d]."""
    B = ids.shape[0]
    return table[ids.long().view(B, groups, k)].mean(2)


class WindowModel(nn.Module):
    """Shared surface of the window models: shape fields, named buffers, inputs, scores and top-k."""

    output_kind = "probabilities"
    #: Input names the model reads (the cases file and `inputs_from` use them).
    input_names: tuple[str, ...] = ()

    def __init__(self, shape: dict) -> None:
        super().__init__()
        self.L = int(shape["numLayers"])
        self.E = int(shape["numExperts"])
        self.K = int(shape["topK"])
        self.C = int(shape["context"])
        self.H = int(shape["horizon"])

    def _buffers_from(self, tensors: dict[str, torch.Tensor]) -> None:
        for name, t in tensors.items():
            self.register_buffer(name, t)

    def inputs_from(self, cases: dict) -> dict[str, torch.Tensor]:
        """The model's inputs from a cases-like dict of nested lists (or tensors)."""
        return {n: torch.as_tensor(cases[n]) for n in self.input_names if n in cases}

    def logits(self, inputs: dict[str, torch.Tensor]) -> torch.Tensor:
        raise NotImplementedError

    @torch.no_grad()
    def scores(self, inputs: dict[str, torch.Tensor]) -> torch.Tensor:
        return torch.sigmoid(self.logits(inputs))

    def predict(self, inputs: dict[str, torch.Tensor], k: int | None = None) -> torch.Tensor:
        """The k experts to prefetch per window and horizon step, best first: [B, H, k]."""
        return self.scores(inputs).topk(k or self.K, dim=-1).indices


def _lstm(x: torch.Tensor, kernel: torch.Tensor, recurrent: torch.Tensor, bias: torch.Tensor, units: int) -> torch.Tensor:
    """An LSTM over x [B, S, d] (gate order i, f, g, o, zero initial state): the last hidden state [B, u]."""
    B, S = x.shape[0], x.shape[1]
    h = x.new_zeros(B, units)
    c = x.new_zeros(B, units)
    xw = x @ kernel + bias
    for s in range(S):
        z = xw[:, s] + h @ recurrent
        i, f, g, o = z.split(units, dim=1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(c)
    return h


class InterLayerPredictor(WindowModel):
    """src/ml/interLayerModel.ts: each context layer's K experts -> mean of their embeddings + that layer's
    position embedding -> an LSTM over the C context layers -> a linear head per horizon step over E experts."""

    input_names = ("ctxExperts", "ctxLayers", "targetLayers")
    names = ("expertEmbedding", "layerEmbedding", "lstmKernel", "lstmRecurrent", "lstmBias", "headKernel", "headBias")

    def __init__(self, shape: dict, weights: dict[str, torch.Tensor], prefix: str = "") -> None:
        super().__init__(shape)
        self.u = int(shape["hiddenUnits"])
        self.layer_specific = bool(shape["layerSpecificHeads"])
        self._buffers_from(_need(weights, prefix, self.names))

    @torch.no_grad()
    def forward(self, ctx_experts: torch.Tensor, ctx_layers: torch.Tensor, target_layers: torch.Tensor) -> torch.Tensor:
        """ctx_experts [B, C*K] expert ids (layer-major), ctx_layers [B, C] MoE layer indices, target_layers [B, H]."""
        B = ctx_experts.shape[0]
        emb = self.expertEmbedding[ctx_experts.long().view(B, self.C, self.K)].mean(dim=2)  # [B, C, d]
        x = emb + self.layerEmbedding[ctx_layers.long()]
        h = _lstm(x, self.lstmKernel, self.lstmRecurrent, self.lstmBias, self.u)
        out = h @ self.headKernel + self.headBias
        if not self.layer_specific:
            return out.view(B, self.H, self.E)
        out = out.view(B, self.H, self.L, self.E)
        idx = target_layers.long().view(B, self.H, 1, 1).expand(B, self.H, 1, self.E)
        return out.gather(2, idx).squeeze(2)

    def logits(self, inputs: dict[str, torch.Tensor]) -> torch.Tensor:
        return self(inputs["ctxExperts"], inputs["ctxLayers"], inputs["targetLayers"])


class StatsAwarePredictor(WindowModel):
    """src/ml/models/statsAwareModel.ts: InterLayer's context encoder with the training split's per-layer
    statistics (the constant `layerStats` [L, 2+E]) projected into each context layer's input and into the head,
    and the target layer's log frequencies as a learned-weight prior."""

    input_names = ("ctxIds", "tgt")
    names = (
        "expertEmbedding",
        "layerEmbedding",
        "statsInputKernel",
        "lstmKernel",
        "lstmRecurrent",
        "lstmBias",
        "statsHeadKernel",
        "headKernel",
        "headBias",
        "targetLayerOutBias",
        "priorWeight",
        "layerStats",
    )

    def __init__(self, shape: dict, weights: dict[str, torch.Tensor], prefix: str = "") -> None:
        super().__init__(shape)
        self.u = int(shape["hiddenUnits"])
        self._buffers_from(_need(weights, prefix, self.names))
        self.register_buffer("logFreq", torch.log(self.layerStats[:, 2 : 2 + self.E] + 1 / (self.E * 100)))

    @torch.no_grad()
    def logits(self, inputs: dict[str, torch.Tensor]) -> torch.Tensor:
        ids, tgt = inputs["ctxIds"].long(), inputs["tgt"].long()
        B, C, K, E, H, u = ids.shape[0], self.C, self.K, self.E, self.H, self.u
        layers = tgt[:, :1] + torch.arange(-C, 0).view(1, C)  # [B, C]: l-C+1..l
        experts = ids.view(B, C, K) - layers.unsqueeze(2) * E
        x = self.expertEmbedding[experts].mean(2) + self.layerEmbedding[layers]
        x = x + self.layerStats[layers] @ self.statsInputKernel
        h = _lstm(x, self.lstmKernel, self.lstmRecurrent, self.lstmBias, u)
        from_ctx = (h @ self.headKernel + self.headBias).view(B, H, E)
        tgt_stats = torch.tanh(self.layerStats[tgt] @ self.statsHeadKernel)  # [B, H, u]
        head = self.headKernel.view(u, H, E)
        from_stats = torch.einsum("bhu,uhe->bhe", tgt_stats, head)
        prior = self.logFreq[tgt] * self.priorWeight.view(1, H, 1)
        return from_ctx + from_stats + prior + self.targetLayerOutBias[tgt]


class JointPredictor(WindowModel):
    """src/ml/models/jointModel.ts (also the token-aware model, with a token embedding): the context layers' and
    the previous P tokens' layer-expert embeddings (and the token's) -> ReLU layer -> E logits, plus a wide part:
    logit tables per (context slot, layer-expert) and per (previous token, layer-expert at the target layer)."""

    input_names = ("ctxIds", "tgt", "prevIds", "token")

    def __init__(self, shape: dict, weights: dict[str, torch.Tensor], options: dict, prefix: str = "") -> None:
        super().__init__(shape)
        self.P = int(options["history"])
        self.V = int(options["vocabSize"])
        names = (
            "layerExpertEmbedding",
            "hiddenKernel",
            "hiddenBias",
            "targetLayerHiddenBias",
            "outKernel",
            "outBias",
            "targetLayerOutBias",
            "wideContext",
        )
        names += ("widePrevious",) if self.P > 0 else ()
        names += ("tokenEmbedding",) if self.V > 0 else ()
        self._buffers_from(_need(weights, prefix, names))
        self.rows = self.L * self.E + 1

    def _slots(self, n: int, per: int) -> torch.Tensor:
        """Row offset of each id of n*per groups of K: (group mod per) * rows."""
        return (torch.arange(n * per * self.K) // self.K % per * self.rows).view(1, -1)

    @torch.no_grad()
    def logits(self, inputs: dict[str, torch.Tensor]) -> torch.Tensor:
        ids, tgt = inputs["ctxIds"].long(), inputs["tgt"].long()
        B, C, K, E, H, P = ids.shape[0], self.C, self.K, self.E, self.H, self.P
        wide = self.wideContext[ids + self._slots(1, C)].view(B, C * K, H, E).sum(1) / K
        parts = [_mean_of_k(self.layerExpertEmbedding, ids, C, K).reshape(B, 1, -1).expand(B, H, -1)]
        if P > 0:
            prev = inputs["prevIds"].long()
            wide = wide + self.widePrevious[prev + self._slots(H, P)].view(B, H, P * K, E).sum(2) / K
            parts.append(_mean_of_k(self.layerExpertEmbedding, prev, H * P, K).reshape(B, H, -1))
        if self.V > 0:
            parts.append(self.tokenEmbedding[inputs["token"].long().view(B)].view(B, 1, -1).expand(B, H, -1))
        z = torch.cat(parts, 2).reshape(B * H, -1)
        t = tgt.reshape(-1)
        h = torch.relu(z @ self.hiddenKernel + self.hiddenBias + self.targetLayerHiddenBias[t])
        out = h @ self.outKernel + self.outBias + self.targetLayerOutBias[t]
        return out.view(B, H, E) + wide


class AttentionPredictor(WindowModel):
    """src/ml/models/attentionModel.ts: a query per target layer attends (one head, scaled dot product) over the
    context layers, the previous P tokens at the target layer and the token; attended value + query -> ReLU -> E."""

    input_names = ("ctxIds", "tgt", "prevIds", "token")

    def __init__(self, shape: dict, weights: dict[str, torch.Tensor], options: dict, prefix: str = "") -> None:
        super().__init__(shape)
        self.P = int(options["history"])
        self.V = int(options["vocabSize"])
        self.d = int(shape["embeddingDim"])
        names = (
            "layerExpertEmbedding",
            "slotEmbedding",
            "targetLayerQuery",
            "keyKernel",
            "valueKernel",
            "hiddenKernel",
            "hiddenBias",
            "outKernel",
            "outBias",
            "targetLayerOutBias",
        )
        names += ("tokenEmbedding",) if self.V > 0 else ()
        self._buffers_from(_need(weights, prefix, names))

    @torch.no_grad()
    def logits(self, inputs: dict[str, torch.Tensor]) -> torch.Tensor:
        ids, tgt = inputs["ctxIds"].long(), inputs["tgt"].long()
        B, C, K, E, H, P, d = ids.shape[0], self.C, self.K, self.E, self.H, self.P, self.d
        parts = [_mean_of_k(self.layerExpertEmbedding, ids, C, K).unsqueeze(1).expand(B, H, C, d)]
        if P > 0:
            parts.append(_mean_of_k(self.layerExpertEmbedding, inputs["prevIds"].long(), H * P, K).view(B, H, P, d))
        if self.V > 0:
            parts.append(self.tokenEmbedding[inputs["token"].long().view(B)].view(B, 1, 1, d).expand(B, H, 1, d))
        items = torch.cat(parts, 2) + self.slotEmbedding  # [B, H, N, d]
        N = items.shape[2]
        items = items.reshape(B * H, N, d)
        keys, values = items @ self.keyKernel, items @ self.valueKernel
        t = tgt.reshape(-1)
        q = self.targetLayerQuery[t]  # [B*H, d]
        att = torch.softmax((keys * q.unsqueeze(1)).sum(2) / math.sqrt(d), dim=1)
        attended = (att.unsqueeze(2) * values).sum(1)
        h = torch.relu((attended + q) @ self.hiddenKernel + self.hiddenBias)
        return (h @ self.outKernel + self.outBias + self.targetLayerOutBias[t]).view(B, H, E)


class EnsemblePredictor(WindowModel):
    """src/ml/models/ensemble.ts: its members' sigmoid probabilities, weighted per window and step by each
    member's confidence (the mean of its top-k probabilities)."""

    def __init__(self, shape: dict, members: list[WindowModel]) -> None:
        super().__init__(shape)
        self.members = nn.ModuleList(members)
        self.input_names = tuple(dict.fromkeys(n for m in members for n in m.input_names))

    def logits(self, inputs: dict[str, torch.Tensor]) -> torch.Tensor:
        raise ValueError("the ensemble combines its members' probabilities; it has no logits (use scores)")

    @torch.no_grad()
    def scores(self, inputs: dict[str, torch.Tensor]) -> torch.Tensor:
        probs = [m.scores(inputs) for m in self.members]
        conf = [p.topk(self.K, dim=-1).values.mean(-1, keepdim=True) for p in probs]
        total = sum(conf)
        total = torch.where(total == 0, torch.ones_like(total), total)
        return sum((c / total) * p for c, p in zip(conf, probs))


class SequencePredictor(nn.Module):
    """The sequence model of src/ml/sequence/net.ts: per token, every window l = C-1..L-1-H at once.

    z = b + sum_c mean_j Ctx_c[(l-c, e)] + mean_{s<=l, j} Pre[(s, e)] + sum_q Tok_q[token t-q]
    logits[l, h] = relu(z + mean_j Prev_h[(l+1+h, e of the previous token)]) @ W_h + bias[l+1+h]
    """

    output_kind = "logits"
    input_names = ("experts", "prevExperts", "hasPrev", "tokens", "nextExperts", "hasNext")

    def __init__(self, shape: dict, weights: dict[str, torch.Tensor]) -> None:
        super().__init__()
        self.L, self.E, self.K = int(shape["numLayers"]), int(shape["numExperts"]), int(shape["topK"])
        self.C, self.H, self.V = int(shape["context"]), int(shape["horizon"]), int(shape["vocab"])
        self.has_next = bool(shape.get("next"))
        names = ("ctx", "pre", "prev", "b", "W", "bias") + (("tok",) if self.V > 0 else ()) + (("next",) if self.has_next else ())
        for name, t in _need(weights, "", names).items():
            self.register_buffer(name, t)
        self.first, self.last = self.C - 1, self.L - 1 - self.H

    @torch.no_grad()
    def forward(
        self,
        experts: torch.Tensor,
        prev_experts: torch.Tensor,
        has_prev: torch.Tensor,
        tokens: torch.Tensor | None = None,
        next_experts: torch.Tensor | None = None,
        has_next: torch.Tensor | None = None,
    ) -> torch.Tensor:
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
        if self.has_next:
            if next_experts is None or has_next is None:
                raise ValueError("this prefill model takes nextExperts and hasNext")
            nx = torch.where(has_next.bool().view(B, 1, 1), next_experts.long() + off, pad)
            z = z + self.next[nx[:, ls]].mean(2)
        pv = torch.where(has_prev.bool().view(B, 1, 1), prev_experts.long() + off, pad)
        outs = []
        for h in range(self.H):
            tau = ls + 1 + h
            a = torch.relu(z + self.prev[h][pv[:, tau]].mean(2))
            outs.append(a @ self.W[h] + self.bias[tau])
        return torch.stack(outs, 2)  # [B, W, H, E]

    def inputs_from(self, cases: dict) -> dict[str, torch.Tensor]:
        return {n: torch.as_tensor(cases[n]) for n in self.input_names if n in cases}

    def logits(self, inputs: dict[str, torch.Tensor]) -> torch.Tensor:
        return self(
            inputs["experts"],
            inputs["prevExperts"],
            inputs["hasPrev"],
            inputs.get("tokens"),
            inputs.get("nextExperts"),
            inputs.get("hasNext"),
        )

    scores = logits

    def predict(self, inputs: dict[str, torch.Tensor], k: int | None = None) -> torch.Tensor:
        return self.scores(inputs).topk(k or self.K, dim=-1).indices


class NextTokensPredictor(nn.Module):
    """The next-tokens sequence model of src/ml/sequence/tokensNet.ts: from tokens t..t-C+1, every layer of t+1..t+H.

    z = b + mean_{s, j} Pre[(s, e_t)] + sum_q Tok_q[token t-q];  z_h = z + Fut_h[token t+1+h] (prefill)
    logits[h, tau] = relu(z_h + sum_c mean_j Ctx_{h,c}[(tau, e_{t-c})]) @ W_h + bias[tau]
                     + sum_{c, j} Copy[h, c, tau, j] * onehot(e_{t-c, tau, j})
    """

    output_kind = "logits"
    input_names = ("context", "tokens", "future")

    def __init__(self, shape: dict, weights: dict[str, torch.Tensor]) -> None:
        super().__init__()
        self.L, self.E, self.K = int(shape["numLayers"]), int(shape["numExperts"]), int(shape["topK"])
        self.C, self.H, self.V = int(shape["context"]), int(shape["horizon"]), int(shape["vocab"])
        self.future = bool(shape.get("future")) and self.V > 0
        names = ("ctx", "pre", "b", "W", "bias", "copy") + (("tok",) if self.V > 0 else ()) + (("fut",) if self.future else ())
        for name, t in _need(weights, "", names).items():
            self.register_buffer(name, t)

    @torch.no_grad()
    def forward(self, context: torch.Tensor, tokens: torch.Tensor | None = None, future: torch.Tensor | None = None) -> torch.Tensor:
        B = context.shape[0]
        L, E, K, C, H = self.L, self.E, self.K, self.C, self.H
        ex = context.long()  # [B, C, L, K]
        lex = ex + (torch.arange(L) * E).view(1, 1, L, 1)
        z = self.b.view(1, -1) + self.pre[lex[:, 0]].mean((1, 2))
        if self.V > 0 and tokens is not None:
            z = z + sum(self.tok[q][tokens[:, q].long()] for q in range(self.tok.shape[0]))
        outs = []
        for h in range(H):
            zh = z + self.fut[h][future[:, h].long()] if self.future and future is not None else z
            a = zh.view(B, 1, -1).expand(B, L, -1)
            for c in range(C):
                a = a + self.ctx[h, c][lex[:, c]].mean(2)  # [B, L, d]
            logits = torch.relu(a) @ self.W[h] + self.bias  # [B, L, E]
            copy = self.copy[h].view(1, C, L, K).expand(B, -1, -1, -1)  # weights per (c, tau, j)
            onehot = torch.zeros(B, C, L, E).scatter_add_(3, ex, copy)
            outs.append(logits + onehot.sum(1))
        return torch.stack(outs, 1)  # [B, H, L, E]

    def inputs_from(self, cases: dict) -> dict[str, torch.Tensor]:
        return {n: torch.as_tensor(cases[n]) for n in self.input_names if n in cases}

    def logits(self, inputs: dict[str, torch.Tensor]) -> torch.Tensor:
        return self(inputs["context"], inputs.get("tokens"), inputs.get("future"))

    scores = logits

    def predict(self, inputs: dict[str, torch.Tensor], k: int | None = None) -> torch.Tensor:
        return self.scores(inputs).topk(k or self.K, dim=-1).indices


def _build(model: str, shape: dict, options: dict, weights: dict[str, torch.Tensor], prefix: str = "") -> nn.Module:
    if model == "interlayer":
        return InterLayerPredictor(shape, weights, prefix)
    if model == "stats-aware":
        return StatsAwarePredictor(shape, weights, prefix)
    if model in ("joint", "token-aware"):
        return JointPredictor(shape, weights, options, prefix)
    if model == "attention":
        return AttentionPredictor(shape, weights, options, prefix)
    if model == "sequence":
        return NextTokensPredictor(shape, weights) if shape.get("taskKind") == "tokens" else SequencePredictor(shape, weights)
    raise ValueError(f"model {model!r} is not supported by this module")


def load_predictor(description: str | Path) -> nn.Module:
    """The module of an export's description (`<name>.json`); the weights file is read from beside it. The
    description's vocabulary, when it has one, is on the module as `vocabulary` ({token id or text: index})."""
    from safetensors.torch import load_file

    path = Path(description)
    meta = json.loads(path.read_text())
    if meta.get("format") != FORMAT or meta.get("version") != 1:
        raise ValueError(f"{path}: not a {FORMAT} v1 description (format={meta.get('format')!r}, version={meta.get('version')!r})")
    name = meta.get("model")
    if name != "ensemble" and name not in ("interlayer", "stats-aware", "joint", "token-aware", "attention", "sequence"):
        raise ValueError(f"{path}: model {name!r} is not supported by this module")
    weights = load_file(str(path.with_name(meta["weights"])))
    if name == "ensemble":
        members = [_build(m["model"], m["shape"], m.get("options", {}), weights, m["prefix"]) for m in meta["members"]]
        module: nn.Module = EnsemblePredictor(meta["shape"], members)
    else:
        module = _build(name, meta["shape"], meta.get("options", {}), weights)
    vocab = meta.get("vocabulary")
    module.vocabulary = {k: i + 1 for i, k in enumerate(vocab["keys"])} if vocab else None
    module.description = meta
    return module.eval()


def token_index(module: nn.Module, token: int | str | None) -> int:
    """The vocabulary index the model takes for a token id (or text, for a text vocabulary); 0 when unknown."""
    vocab = getattr(module, "vocabulary", None)
    if not vocab or token is None:
        return 0
    return vocab.get(token, 0)


def compare(module: nn.Module, cases: dict) -> dict:
    """How close the module's outputs are to the ones in `cases` (written by SpecLab for the same inputs).

    `sameTopK` ignores windows whose k-th and (k+1)-th reference scores are within the tolerance (a tie either
    order of which is right); `ties` counts them."""
    inputs = module.inputs_from(cases)
    kind = cases.get("outputKind", "logits")
    got = module.scores(inputs) if kind != "logits" or module.output_kind == "logits" else module.logits(inputs)
    want = torch.tensor(cases["output"] if "output" in cases else cases["logits"]).view_as(got)
    diff = float((got - want).abs().max())
    tol = 1e-4 * max(1.0, float(want.abs().max()))
    K = module.K
    wt = want.sort(-1, descending=True).values
    tie = (wt[..., K - 1] - wt[..., K]).abs() <= 2 * tol if want.shape[-1] > K else torch.zeros(wt.shape[:-1], dtype=torch.bool)
    same = (got.topk(K, dim=-1).indices.sort(-1).values == want.topk(K, dim=-1).indices.sort(-1).values).all(-1)
    vocab_ok = True
    if "tokenKeys" in cases and getattr(module, "vocabulary", None) is not None:
        col = cases.get("tokenIndexField", "token")
        idx = torch.as_tensor(cases[col]).view(len(cases["tokenKeys"]), -1)[:, 0].tolist()
        vocab_ok = all(token_index(module, k) == i for k, i in zip(cases["tokenKeys"], idx))
    first = next(iter(inputs.values()))
    return {
        "maxAbsDiff": diff,
        "tolerance": tol,
        "sameTopK": bool((same | tie).all()),
        "ties": int(tie.sum()),
        "vocabularyMatches": vocab_ok,
        "samples": int(first.shape[0]),
        "outputKind": kind,
    }


def _check(description: str, cases_path: str | None) -> int:
    model = load_predictor(description)
    path = Path(cases_path) if cases_path else Path(description).with_suffix(".cases.json")
    r = compare(model, json.loads(path.read_text()))
    print(json.dumps(r))
    return 0 if r["maxAbsDiff"] <= r["tolerance"] and r["sameTopK"] and r["vocabularyMatches"] else 1


if __name__ == "__main__":
    if len(sys.argv) not in (3, 4) or sys.argv[1] != "check":
        print("usage: python -m speclab_collect.predictor check <export.json> [<cases.json>]", file=sys.stderr)
        sys.exit(2)
    sys.exit(_check(sys.argv[2], sys.argv[3] if len(sys.argv) == 4 else None))
