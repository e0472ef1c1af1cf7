"""Capture MoE routing from a Hugging Face transformers model with forward hooks.

Supported now: Mixtral (`MixtralForCausalLM` / `MixtralModel`, transformers 5.x). In 5.x each decoder layer's
`mlp` is a `MixtralSparseMoeBlock` whose `gate` is a `MixtralTopKRouter`. The router takes the
post-attention-RMSNorm hidden states flattened to [batch*seq, hidden] and returns
`(router_logits [T, E], top-k weights [T, K] float32, top-k expert ids [T, K])`, where the weights are
softmax(logits) -> topk -> renormalised to sum 1. The experts module consumes exactly those ids and weights,
so hooking the router's output records the routing the model applies, with no re-implementation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn


def _router_classes() -> tuple[type[nn.Module], ...]:
    from transformers.models.mixtral.modeling_mixtral import MixtralTopKRouter

    return (MixtralTopKRouter,)


def find_routers(model: nn.Module) -> list[tuple[int, nn.Module]]:
    """(model layer index, router module) for every MoE layer, in layer order."""
    base = getattr(model, "model", model)  # *ForCausalLM wraps the decoder stack in .model
    layers = getattr(base, "layers", None)
    if layers is None:
        raise ValueError(f"{type(model).__name__}: no decoder layers at .model.layers")
    classes = _router_classes()
    found = []
    for i, layer in enumerate(layers):
        gate = getattr(getattr(layer, "mlp", None), "gate", None)
        if isinstance(gate, classes):
            found.append((i, gate))
    if not found:
        raise ValueError(
            f"{type(model).__name__}: no supported MoE router found at .layers[i].mlp.gate "
            f"(supported: {', '.join(c.__name__ for c in classes)})"
        )
    return found


@dataclass
class TokenRouting:
    """Routing of the real (non-padding) tokens of one forward pass, in row-major (batch row, position) order."""

    row: np.ndarray  # [N] batch row each token came from
    pos: np.ndarray  # [N] position of the token within its sequence (0-based, padding not counted)
    token_id: np.ndarray  # [N]
    experts: np.ndarray  # [N, L, K] int64, rank 0 = the model's first choice
    weights: np.ndarray  # [N, L, K] float32, as multiplied into the expert outputs
    logits: np.ndarray  # [N, L, E] float32 (exact upcast of the router's own dtype)

    def __len__(self) -> int:
        return len(self.row)


class RoutingRecorder:
    """Context manager that hooks every MoE router of `model` and records one forward pass at a time.

    with RoutingRecorder(model) as rec:
        model(input_ids=ids, attention_mask=mask, position_ids=positions(mask))
        routing = rec.collect(ids, mask)
    """

    def __init__(self, model: nn.Module) -> None:
        found = find_routers(model)
        self.layer_ids = [i for i, _ in found]
        self._routers = [r for _, r in found]
        self.num_experts = int(self._routers[0].num_experts)
        self.top_k = int(self._routers[0].top_k)
        self._handles: list[Any] = []
        self._out: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None] = [None] * len(found)

    @property
    def num_layers(self) -> int:
        return len(self.layer_ids)

    def __enter__(self) -> "RoutingRecorder":
        for li, router in enumerate(self._routers):
            self._handles.append(router.register_forward_hook(self._hook(li)))
        return self

    def __exit__(self, *exc: Any) -> None:
        for h in self._handles:
            h.remove()
        self._handles.clear()
        self.clear()

    def clear(self) -> None:
        self._out = [None] * self.num_layers

    def _hook(self, li: int):
        def hook(module: nn.Module, args: Any, output: Any) -> None:
            if self._out[li] is not None:
                # A second call before collect() would silently overwrite a layer; refuse instead.
                raise RuntimeError(f"router of layer {self.layer_ids[li]} ran twice; call collect() after each forward")
            logits, weights, experts = output
            self._out[li] = (logits.detach(), weights.detach(), experts.detach())

        return hook

    def collect(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None) -> TokenRouting:
        """Routing of the real tokens of the forward pass just run on `input_ids` [B, S]; then clears."""
        missing = [self.layer_ids[i] for i, o in enumerate(self._out) if o is None]
        if missing:
            raise RuntimeError(f"no router output recorded for layers {missing}; run a forward pass first")
        B, S = input_ids.shape
        mask = torch.ones_like(input_ids, dtype=torch.bool) if attention_mask is None else attention_mask.bool()
        flat = mask.reshape(-1)  # routers see tokens flattened to [B*S, ...]
        logits, weights, experts = [], [], []
        for li, (lg, w, ex) in enumerate(self._out):  # type: ignore[misc]
            if lg.shape[0] != B * S:
                raise RuntimeError(f"layer {self.layer_ids[li]}: router saw {lg.shape[0]} tokens, expected {B * S}")
            keep = flat.to(lg.device)  # layers may sit on different devices
            logits.append(lg[keep].float().cpu())
            weights.append(w[keep].float().cpu())
            experts.append(ex[keep].cpu())
        self.clear()
        rows = torch.arange(B).unsqueeze(1).expand(B, S)[mask.cpu()]
        return TokenRouting(
            row=rows.numpy(),
            pos=positions(mask).cpu()[mask.cpu()].numpy(),
            token_id=input_ids.cpu()[mask.cpu()].numpy(),
            experts=torch.stack(experts, 1).numpy(),
            weights=torch.stack(weights, 1).numpy(),
            logits=torch.stack(logits, 1).numpy(),
        )


def positions(attention_mask: torch.Tensor) -> torch.Tensor:
    """Position ids that count only real tokens, so left- and right-padded rows get the same positions."""
    return (attention_mask.long().cumsum(-1) - 1).clamp(min=0)


@torch.no_grad()
def capture_routing(model: nn.Module, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None) -> TokenRouting:
    """Run one forward pass over a (padded) batch and return the routing of its real tokens."""
    if model.training:
        # Training mode adds router jitter noise and dropout: not the routing the model serves with.
        raise ValueError("model is in training mode; call model.eval() before capturing routing")
    if attention_mask is None:
        attention_mask = torch.ones_like(input_ids)
    base = getattr(model, "model", model)  # skip the LM head: we only need the routers
    with RoutingRecorder(model) as rec:
        base(
            input_ids=input_ids,
            attention_mask=attention_mask,
            position_ids=positions(attention_mask),
            use_cache=False,
        )
        return rec.collect(input_ids, attention_mask)
