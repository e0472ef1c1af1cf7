"""The model families SpecLab can capture routing from: one torch-free table. capture.py hooks the routers it names;
models.py and the job server check a model's `config.model_type` against it without importing torch."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Family:
    model_type: str  # config.model_type
    title: str
    router_module: str  # where transformers defines the router class (imported lazily; absent in some versions)
    router_class: str
    kind: str  # "topk": returns (logits, top-k weights, top-k ids); "switch": Switch Transformers' top-1 router


FAMILIES: tuple[Family, ...] = (
    Family("mixtral", "Mixtral", "transformers.models.mixtral.modeling_mixtral", "MixtralTopKRouter", "topk"),
    Family("olmoe", "OLMoE", "transformers.models.olmoe.modeling_olmoe", "OlmoeTopKRouter", "topk"),
    Family("qwen2_moe", "Qwen2-MoE", "transformers.models.qwen2_moe.modeling_qwen2_moe", "Qwen2MoeTopKRouter", "topk"),
    Family("qwen3_moe", "Qwen3-MoE", "transformers.models.qwen3_moe.modeling_qwen3_moe", "Qwen3MoeTopKRouter", "topk"),
    Family(
        "switch_transformers",
        "Switch Transformers",
        "transformers.models.switch_transformers.modeling_switch_transformers",
        "SwitchTransformersTop1Router",
        "switch",
    ),
)

SUPPORTED_MODEL_TYPES = tuple(f.model_type for f in FAMILIES)
