"""Capture MoE routing from a Hugging Face transformers model with forward hooks on its routers.

Supported families (transformers 5.x):

- Mixtral, OLMoE, Qwen2-MoE, Qwen3-MoE (decoder-only): each MoE layer's `mlp.gate` is a `*TopKRouter` that takes
  the post-attention-normalised hidden states flattened to [tokens, hidden] and returns
  `(router_logits [T, E], top-k weights [T, K], top-k expert ids [T, K])`. The sparse block hands exactly those
  ids and weights to its experts, so hooking the router's output records the routing the model applies with no
  re-implementation. (Mixtral always renormalises the top-k weights; OLMoE and Qwen do so when the config's
  `norm_topk_prob` says so; either way we store what the experts receive.) Qwen-MoE may have dense layers
  (`mlp_only_layers`, `decoder_sparse_step`): only MoE layers are recorded, `moeLayerIds` says which they are.
- Switch Transformers (encoder-decoder, top-1): every sparse feed-forward block's `mlp.router` is a
  `SwitchTransformersTop1Router` returning `(dispatch one-hot [B, S, E] with over-capacity tokens zeroed,
  max probability [B, S, 1], logits [B, S, E])`. We record the chosen expert (argmax of the router's
  probabilities, exactly as the router computes it) and the weight the expert output is scaled by, which is
  0 for a token that overflowed its expert's capacity (the model then skips the expert for that token).
  Encoder and decoder layers are both recorded: encoder block i gets layer id i and decoder block i gets
  layer id (number of encoder blocks + i). The decoder is fed the same tokens as the encoder (teacher forcing
  on the input), so a token row holds its routing in both stacks.

Lookahead (optional, horizon H): at MoE layer l we also apply the routers of MoE layers l+1..l+H of the same
stack to layer l's router input; this is the signal speculative expert prefetching uses. NaN where layer l+h
does not exist (end of the stack).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .families import FAMILIES

# (module, class) of the routers (families.py); imported lazily and skipped where this transformers lacks the family.
_TOPK_ROUTERS = [(f.router_module, f.router_class) for f in FAMILIES if f.kind == "topk"]
_SWITCH_ROUTER = next((f.router_module, f.router_class) for f in FAMILIES if f.kind == "switch")


def _load_classes(specs: list[tuple[str, str]]) -> tuple[type[nn.Module], ...]:
    import importlib

    out = []
    for mod, name in specs:
        try:
            out.append(getattr(importlib.import_module(mod), name))
        except (ImportError, AttributeError):
            pass  # family absent from this transformers version
    return tuple(out)


@dataclass
class MoELayer:
    layer_id: int  # the value recorded in moeLayerIds
    stack: str  # "decoder" for decoder-only models; "encoder" or "decoder" for Switch
    block: int  # block index within its stack
    router: nn.Module
    kind: str  # "topk" or "switch"

    @property
    def num_experts(self) -> int:
        return int(self.router.num_experts)

    @property
    def top_k(self) -> int:
        return 1 if self.kind == "switch" else int(self.router.top_k)

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """This router's logits for hidden states x [T, hidden], computed as the router computes them."""
        if self.kind == "switch":
            c = self.router.classifier
            return F.linear(x.to(c.weight.device, self.router.dtype), c.weight, c.bias)
        w = self.router.weight
        return F.linear(x.to(w.device, w.dtype), w)


def is_encoder_decoder(model: nn.Module) -> bool:
    return bool(getattr(getattr(model, "config", None), "is_encoder_decoder", False))


def find_moe_layers(model: nn.Module) -> list[MoELayer]:
    """Every MoE layer of a supported model, in forward order (encoder before decoder)."""
    if is_encoder_decoder(model) or hasattr(model, "encoder") and hasattr(model, "decoder"):
        (switch,) = _load_classes([_SWITCH_ROUTER]) or (None,)
        enc, dec = getattr(model, "encoder", None), getattr(model, "decoder", None)
        if switch is None or enc is None or dec is None or not hasattr(enc, "block"):
            raise ValueError(f"{type(model).__name__}: unsupported encoder-decoder model (supported: Switch Transformers)")
        found = []
        for stack, offset, mod in (("encoder", 0, enc), ("decoder", len(enc.block), dec)):
            for i, block in enumerate(mod.block):
                router = getattr(getattr(block.layer[-1], "mlp", None), "router", None)
                if isinstance(router, switch):
                    found.append(MoELayer(offset + i, stack, i, router, "switch"))
        if not found:
            raise ValueError(f"{type(model).__name__}: no sparse (MoE) layers found")
        return found

    base = getattr(model, "model", model)  # *ForCausalLM wraps the decoder stack in .model
    layers = getattr(base, "layers", None)
    if layers is None:
        raise ValueError(f"{type(model).__name__}: no decoder layers at .model.layers")
    classes = _load_classes(_TOPK_ROUTERS)
    found = []
    for i, layer in enumerate(layers):
        gate = getattr(getattr(layer, "mlp", None), "gate", None)
        if isinstance(gate, classes):
            found.append(MoELayer(i, "decoder", i, gate, "topk"))
    if not found:
        raise ValueError(
            f"{type(model).__name__}: no supported MoE router found at .layers[i].mlp.gate "
            f"(supported: {', '.join(c.__name__ for c in classes)})"
        )
    return found


def find_routers(model: nn.Module) -> list[tuple[int, nn.Module]]:
    """(layer id, router module) for every MoE layer, in forward order."""
    return [(m.layer_id, m.router) for m in find_moe_layers(model)]


@dataclass
class TokenRouting:
    """Routing of the real (non-padding) tokens of one forward pass, in row-major (batch row, position) order."""

    row: np.ndarray  # [N] batch row each token came from
    pos: np.ndarray  # [N] position of the token within its sequence (0-based, padding not counted)
    token_id: np.ndarray  # [N]
    experts: np.ndarray  # [N, L, K] int64, rank 0 = the model's first choice
    weights: np.ndarray  # [N, L, K] float32, as multiplied into the expert outputs
    logits: np.ndarray  # [N, L, E] float32 (exact upcast of the router's own dtype)
    lookahead: np.ndarray | None = None  # [N, L, H, E] float32, NaN where layer l+h does not exist

    def __len__(self) -> int:
        return len(self.row)


class RoutingRecorder:
    """Context manager that hooks every MoE router of `model` and records one forward pass at a time.

    with RoutingRecorder(model, lookahead=0) as rec:
        run_forward(model, ids, mask)
        routing = rec.collect(ids, mask)
    """

    def __init__(self, model: nn.Module, lookahead: int = 0) -> None:
        if isinstance(lookahead, bool) or not isinstance(lookahead, int) or lookahead < 0:
            raise ValueError(f"lookahead must be an integer >= 0, got {lookahead!r}")
        self.layers = find_moe_layers(model)
        self.layer_ids = [m.layer_id for m in self.layers]
        self.num_experts = self.layers[0].num_experts
        self.top_k = self.layers[0].top_k
        for m in self.layers:
            if (m.num_experts, m.top_k) != (self.num_experts, self.top_k):
                raise ValueError(f"layer {m.layer_id}: {m.num_experts} experts/top-{m.top_k} differs from the first MoE layer")
        self.lookahead = lookahead
        self._handles: list[Any] = []
        self._out: list[tuple[torch.Tensor, ...] | None] = [None] * len(self.layers)
        self._pack: bool | None = None  # tests: True packs bytes on the CPU too (what collect() does on a GPU)
        self._pinned: dict[torch.device, torch.Tensor] = {}  # page-locked host buffer per device, reused by collect()

    @property
    def num_layers(self) -> int:
        return len(self.layers)

    @property
    def stacks(self) -> dict[str, list[int]]:
        """Layer ids per stack, e.g. {"encoder": [1, 3], "decoder": [13, 15]}."""
        out: dict[str, list[int]] = {}
        for m in self.layers:
            out.setdefault(m.stack, []).append(m.layer_id)
        return out

    def __enter__(self) -> "RoutingRecorder":
        for li, m in enumerate(self.layers):
            self._handles.append(m.router.register_forward_hook(self._hook(li)))
        return self

    def __exit__(self, *exc: Any) -> None:
        for h in self._handles:
            h.remove()
        self._handles.clear()
        self.clear()

    def clear(self) -> None:
        self._out[:] = [None] * self.num_layers  # in place: the hooks hold this list

    def _lookahead_targets(self, li: int) -> list[MoELayer | None]:
        me = self.layers[li]
        out: list[MoELayer | None] = []
        for h in range(1, self.lookahead + 1):
            j = li + h
            out.append(self.layers[j] if j < self.num_layers and self.layers[j].stack == me.stack else None)
        return out

    def _hook(self, li: int):
        me = self.layers[li]
        targets = self._lookahead_targets(li)
        E = self.num_experts
        out = self._out
        switch = me.kind == "switch"
        lookahead = self.lookahead

        def hook(module: nn.Module, args: Any, output: Any) -> None:
            # Runs inside the model's forward pass: keep references only (no copy, no sync, no new device work for
            # the top-k routers); collect() moves every layer to the host at once.
            if out[li] is not None:
                # A second call before collect() would silently overwrite a layer; refuse instead.
                raise RuntimeError(f"router of layer {me.layer_id} ran twice; call collect() after each forward")
            if switch:
                dispatch, max_prob, logits = output
                logits = logits.reshape(-1, E)
                # The expert the router picked, computed as it does (softmax in router dtype, back to input dtype).
                probs = torch.softmax(logits, dim=-1, dtype=module.dtype).to(module.input_dtype)
                experts = probs.argmax(-1, keepdim=True)
                kept = dispatch.reshape(-1, E).sum(-1, keepdim=True) > 0  # False: over capacity, expert skipped
                weights = max_prob.reshape(-1, 1) * kept
            else:
                logits, weights, experts = output
            if lookahead:
                x = args[0].detach()
                x = x.reshape(-1, x.shape[-1])
                cols = []
                for t in targets:
                    if t is None:
                        cols.append(torch.full((x.shape[0], E), float("nan"), device=logits.device))
                    else:
                        cols.append(t.logits(x).float().to(logits.device))
                out[li] = (logits, weights, experts, torch.stack(cols, 1))
            else:
                out[li] = (logits, weights, experts)

        return hook

    def collect(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None) -> TokenRouting:
        """Routing of the real tokens of the forward pass just run on `input_ids` [B, S]; then clears.

        Every layer's fields (and the ids and mask, when they sit on the same device) are viewed as bytes and joined
        into one buffer per device by a single kernel, which comes to the host in one copy: one device sync per
        forward pass, however many layers. Padding is dropped and values are upcast on the host (bf16/fp16 to float32
        is exact), so the values equal those the routers returned."""
        outs = self._out
        missing = [self.layer_ids[i] for i, o in enumerate(outs) if o is None]
        if missing:
            raise RuntimeError(f"no router output recorded for layers {missing}; run a forward pass first")
        B, S = input_ids.shape
        T = B * S  # routers see tokens flattened to [B*S, ...]
        for li, o in enumerate(outs):
            if o[0].shape[0] != T:  # type: ignore[index]
                raise RuntimeError(f"layer {self.layer_ids[li]}: router saw {o[0].shape[0]} tokens, expected {T}")  # type: ignore[index]
        n_fields = len(outs[0])  # type: ignore[arg-type]
        groups: dict[torch.device, list[int]] = {}
        for li, o in enumerate(outs):
            groups.setdefault(o[0].device, []).append(li)  # type: ignore[index]
        ids_host = mask_host = None
        fields: list[np.ndarray] = []
        for dev, lis in groups.items():
            blocks = [[outs[li][f].detach().reshape(T, -1) for li in lis] for f in range(n_fields)]  # type: ignore[index]
            with_ids = ids_host is None and input_ids.device == dev
            if with_ids:
                blocks.append([input_ids.reshape(T, 1)])
                with_mask = attention_mask is not None and attention_mask.device == dev
                if with_mask:
                    blocks.append([attention_mask.reshape(T, 1)])  # type: ignore[union-attr]
            host = _to_host(blocks, self._pack, self._pinned)
            if with_ids:
                ids_host = host[n_fields].reshape(B, S)
                if with_mask:
                    mask_host = host[n_fields + 1].reshape(B, S)
            for f in range(n_fields):
                arr = (host[f] if f == 2 else host[f].float()).numpy()  # [T, layers of this device, n]
                if len(groups) == 1:
                    fields.append(arr)
                    continue
                if len(fields) <= f:
                    fields.append(np.empty((T, self.num_layers) + arr.shape[2:], arr.dtype))
                fields[f][:, lis] = arr
        self.clear()
        ids_cpu = ids_host if ids_host is not None else input_ids.cpu()
        if attention_mask is None:
            mask_cpu = torch.ones((B, S), dtype=torch.bool)
        else:
            mask_cpu = (mask_host if mask_host is not None else attention_mask.cpu()).bool()
        if bool(mask_cpu.all()):
            rows = np.repeat(np.arange(B), S)
            pos = np.tile(np.arange(S), B)
            token_id = ids_cpu.reshape(-1).numpy()
        else:
            keep = mask_cpu.reshape(-1).numpy()
            rows = torch.arange(B).unsqueeze(1).expand(B, S)[mask_cpu].numpy()
            pos = positions(mask_cpu)[mask_cpu].numpy()
            token_id = ids_cpu[mask_cpu].numpy()
            fields = [a[keep] for a in fields]
        L = self.num_layers
        return TokenRouting(
            row=rows,
            pos=pos,
            token_id=token_id,
            experts=fields[2],
            weights=fields[1],
            logits=fields[0],
            lookahead=fields[3].reshape(-1, L, self.lookahead, self.num_experts) if self.lookahead else None,
        )


def _to_host(
    blocks: list[list[torch.Tensor]], pack: bool | None = None, pinned: dict[torch.device, torch.Tensor] | None = None
) -> list[torch.Tensor]:
    """Host copies of blocks of 2-D tensors [T, n] of one device (one dtype and width per block, any dtype across
    blocks), each block stacked to [T, len(block), n]: the device side is one kernel (every tensor viewed as bytes
    and joined) and one transfer, the host side one slice per block."""
    T = blocks[0][0].shape[0]
    if not (pack if pack is not None else blocks[0][0].device.type != "cpu"):
        return [torch.stack(b, 1) for b in blocks]
    for b in blocks:
        if any(t.dtype != b[0].dtype or t.shape != b[0].shape for t in b):
            raise RuntimeError("router outputs differ in dtype or shape between layers")
    raw = [t.contiguous().view(torch.uint8) for b in blocks for t in b]
    joined = torch.cat(raw, 1)
    if joined.device.type == "cuda":
        # Into page-locked host memory (kept between calls): a direct DMA, faster than a copy through pageable memory.
        n = joined.numel()
        buf = pinned.get(joined.device) if pinned is not None else None
        if buf is None or buf.numel() < n:
            buf = torch.empty(max(n, 1 << 16), dtype=torch.uint8, pin_memory=True)
            if pinned is not None:
                pinned[joined.device] = buf
        host = buf[:n].view(joined.shape)
        host.copy_(joined, non_blocking=True)
        torch.cuda.current_stream(joined.device).synchronize()  # the one device sync of collect()
    else:
        host = joined.cpu()
    out, off = [], 0
    for b in blocks:
        w = b[0].shape[1] * b[0].element_size()
        span = w * len(b)
        # A copy of its own (the pinned buffer is reused by the next call), then the block's dtype and shape.
        part = host[:, off : off + span].clone(memory_format=torch.contiguous_format)
        out.append(part.view(b[0].dtype).reshape(T, len(b), b[0].shape[1]))
        off += span
    return out


def positions(attention_mask: torch.Tensor) -> torch.Tensor:
    """Position ids that count only real tokens, so left- and right-padded rows get the same positions."""
    return (attention_mask.long().cumsum(-1) - 1).clamp(min=0)


def _input_device(model: nn.Module) -> torch.device:
    emb = model.get_input_embeddings() if hasattr(model, "get_input_embeddings") else None
    dev = emb.weight.device if emb is not None and getattr(emb, "weight", None) is not None else next(model.parameters()).device
    # Disk-offloaded weights sit on the meta device; accelerate's hooks move inputs where they are needed.
    return torch.device("cpu") if dev.type == "meta" else dev


def run_forward(model: nn.Module, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> None:
    """One forward pass of the parts of `model` that hold routers (the LM head is skipped)."""
    dev = _input_device(model)
    ids, mask = input_ids.to(dev), attention_mask.to(dev)
    # accelerate put the whole model under one offload hook on the top module: calling a submodule would skip it.
    whole = "" in (getattr(model, "hf_device_map", None) or {})
    if is_encoder_decoder(model):
        # Switch routes per row with an expert capacity counted along the sequence, and uses relative positions:
        # left padding would change both, so padding must come after the real tokens.
        m = mask.bool()
        if bool((m[:, 1:] & ~m[:, :-1]).any()):
            raise ValueError("encoder-decoder models need right padding (real tokens first in each row)")
        if whole:
            model(input_ids=ids, attention_mask=mask, decoder_input_ids=ids, decoder_attention_mask=mask, use_cache=False)
            return
        enc = model.encoder(input_ids=ids, attention_mask=mask)
        model.decoder(
            input_ids=ids,
            attention_mask=mask,
            encoder_hidden_states=enc.last_hidden_state,
            encoder_attention_mask=mask,
            use_cache=False,
        )
        return
    base = model if whole else getattr(model, "model", model)  # skip the LM head: only the routers matter
    base(input_ids=ids, attention_mask=mask, position_ids=positions(mask), use_cache=False)


@torch.no_grad()
def capture_routing(
    model: nn.Module, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None, lookahead: int = 0
) -> TokenRouting:
    """Run one forward pass over a (padded) batch and return the routing of its real tokens."""
    if model.training:
        # Training mode adds router jitter noise and dropout: not the routing the model serves with.
        raise ValueError("model is in training mode; call model.eval() before capturing routing")
    if attention_mask is None:
        attention_mask = torch.ones_like(input_ids)
    with RoutingRecorder(model, lookahead=lookahead) as rec:
        run_forward(model, input_ids, attention_mask)
        return rec.collect(input_ids, attention_mask)
