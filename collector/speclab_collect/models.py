"""Loading MoE models for capture: checkpoint or random-init config, dtype, bitsandbytes quantisation, device_map.

Every failure that a user can fix (unsupported family, missing bitsandbytes, a quantisation that would silently
not apply, a bad model reference) raises `ModelError` with a message that says what to do.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from typing import TYPE_CHECKING

from .families import SUPPORTED_MODEL_TYPES  # the families capture.py can hook, torch-free

if TYPE_CHECKING:  # torch is imported only where a model is built: the CLI and server check inputs without it
    from torch import nn

DTYPES = ("bf16", "fp16", "fp32")
QUANTIZATIONS = ("none", "int8", "int4")

# owner/name as the Hub spells it: letters, digits, '-', '_', '.'; no '..', no leading/trailing '.' or '-'.
_HF_PART = r"[A-Za-z0-9](?:[A-Za-z0-9._-]{0,94}[A-Za-z0-9])?"
HF_ID_RE = re.compile(rf"^(?:{_HF_PART}/)?{_HF_PART}$")
MEMORY_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(GiB|GB|MiB|MB|KiB|KB|TiB|TB)\s*$", re.IGNORECASE)


class ModelError(ValueError):
    pass


def validate_model_ref(ref: str) -> str:
    """'local' for an existing model folder, 'hub' for a well-formed Hugging Face id; ModelError otherwise."""
    if not isinstance(ref, str) or not ref or len(ref) > 4096 or "\x00" in ref:
        raise ModelError("model must be a Hugging Face id (owner/name) or a local model folder")
    p = Path(ref).expanduser()
    if p.is_dir():
        if not (p / "config.json").is_file():
            raise ModelError(f"{ref}: local model folder has no config.json")
        return "local"
    if ref.startswith(("/", ".", "~")) or "\\" in ref or ref.count("/") > 1:
        raise ModelError(f"{ref}: no such local model folder")
    if not HF_ID_RE.match(ref) or ".." in ref:
        raise ModelError(f"{ref!r} is neither a local model folder nor a Hugging Face id like 'mistralai/Mixtral-8x7B-v0.1'")
    return "hub"


def parse_memory(text: str) -> str:
    """'22GiB' / '22 GB' -> canonical '22GiB'-style string accepted by accelerate's max_memory."""
    m = MEMORY_RE.match(text or "")
    if not m:
        raise ModelError(f"memory size {text!r} must look like 22GiB, 22GB or 512MiB")
    return f"{m.group(1)}{m.group(2)}"


@dataclass
class LoadOptions:
    model: str | None = None  # HF id or local folder (weights), or just a name when config_json is given
    config_json: str | None = None  # random-init model from this config (model_type + fields), no weights
    revision: str | None = None
    seed: int = 0
    dtype: str = "bf16"
    quantization: str = "none"
    allow_unquantized_experts: bool = False
    device: str = "auto"  # "auto" (cuda:LOCAL_RANK if there is a GPU, else cpu), or e.g. "cpu", "cuda:1"
    gpu_memory: str | None = None  # e.g. "22GiB": device_map="auto" with this cap per GPU, the rest offloaded
    cpu_memory: str | None = None  # cap on CPU RAM for offloaded weights; beyond it, weights go to offload_folder
    offload_folder: str | None = None
    trust_remote_code: bool = False
    attn_implementation: str | None = None
    local_rank: int = 0
    all_gpus: bool = False  # device_map over every visible GPU (one replica bigger than a GPU)


def torch_dtype(name: str) -> Any:
    import torch

    return {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": torch.float32}[name]


@dataclass
class LoadedModel:
    model: "nn.Module"
    name: str
    revision: str | None
    quantization_label: str
    info: dict[str, Any] = field(default_factory=dict)


def read_config_json(path: str) -> dict[str, Any]:
    try:
        cfg = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise ModelError(f"--config-json {path}: cannot read: {e}") from None
    if not isinstance(cfg, dict) or not isinstance(cfg.get("model_type"), str):
        raise ModelError(f"--config-json {path}: needs a JSON object with a 'model_type' field (e.g. \"mixtral\")")
    return cfg


def build_config(opts: LoadOptions) -> Any:
    from transformers import AutoConfig

    if opts.config_json:
        cfg = dict(read_config_json(opts.config_json))
        model_type = cfg.pop("model_type")
        check_model_type(model_type, opts.config_json)
        return AutoConfig.for_model(model_type, **cfg)
    validate_model_ref(opts.model or "")
    config = AutoConfig.from_pretrained(opts.model, revision=opts.revision, trust_remote_code=opts.trust_remote_code)
    check_model_type(config.model_type, opts.model or "")
    return config


def check_model_type(model_type: str, where: str) -> None:
    if model_type not in SUPPORTED_MODEL_TYPES:
        raise ModelError(
            f"{where}: model_type {model_type!r} is not supported for routing capture (supported: {', '.join(SUPPORTED_MODEL_TYPES)})"
        )


def model_class(config: Any) -> Any:
    from transformers import AutoModelForCausalLM, AutoModelForSeq2SeqLM

    return AutoModelForSeq2SeqLM if getattr(config, "is_encoder_decoder", False) else AutoModelForCausalLM


def fused_expert_params(model: "nn.Module") -> list[str]:
    """Names of expert weights stored as fused 3-D parameters (one tensor for all experts of a layer).

    bitsandbytes in transformers 5.x replaces nn.Linear modules only, so these stay in the compute dtype even
    when 4-bit or 8-bit loading was asked for: nearly all of an MoE model's weights are expert weights."""
    from .capture import find_moe_layers

    names = {id(p): n for n, p in model.named_parameters()}
    out = []
    for m in find_moe_layers(model):
        block = _moe_block(model, m)
        experts = getattr(block, "experts", None)
        if experts is None:
            continue
        for p in experts.parameters(recurse=False):
            if p.ndim == 3:
                out.append(names.get(id(p), "?"))
    return out


def _moe_block(model: "nn.Module", m: Any) -> "nn.Module":
    if m.kind == "switch":
        stack = model.encoder if m.stack == "encoder" else model.decoder  # type: ignore[union-attr]
        return stack.block[m.block].layer[-1].mlp
    return getattr(model, "model", model).layers[m.block].mlp  # type: ignore[union-attr,index]


def check_quantizable(config: Any, quantization: str, allow_unquantized_experts: bool) -> str:
    """Before loading any weights: refuse int8/int4 when it would not reach the experts. Returns the label."""
    import torch

    if quantization == "none":
        return ""
    with torch.device("meta"):  # structure only, no memory
        skeleton = model_class(config).from_config(config)
    fused = fused_expert_params(skeleton)
    if not fused:
        return quantization
    msg = (
        f"--quantization {quantization}: this transformers stores each layer's experts as fused 3-D weights "
        f"({fused[0]}, … {len(fused)} tensors), which bitsandbytes does not quantise (it only replaces nn.Linear); "
        "the experts, nearly all of the model, would stay in the compute dtype. Use --dtype bf16 with "
        "--gpu-memory/--cpu-memory offload instead (docs/collector.md has a 24 GB recipe), or pass "
        "--allow-unquantized-experts to quantise only attention and accept the memory cost."
    )
    if not allow_unquantized_experts:
        raise ModelError(msg)
    return f"{quantization} (attention only; experts unquantised)"


def require_bitsandbytes() -> None:
    import torch

    try:
        import bitsandbytes  # noqa: F401
    except ImportError:
        raise ModelError(
            "--quantization int8/int4 needs bitsandbytes, which is not installed "
            "(pip install bitsandbytes; it needs an NVIDIA GPU). Or run with --quantization none."
        ) from None
    if not torch.cuda.is_available():
        raise ModelError("--quantization int8/int4 (bitsandbytes) needs a CUDA GPU; none is visible")


def resolve_device(opts: LoadOptions) -> Any:
    import torch

    if opts.device != "auto":
        return torch.device(opts.device)
    if torch.cuda.is_available():
        return torch.device("cuda", opts.local_rank % torch.cuda.device_count())
    return torch.device("cpu")


def load_model(opts: LoadOptions) -> LoadedModel:
    """Build or load the model in eval mode, placed as asked. Checks everything it can before loading weights."""
    if opts.dtype not in DTYPES:
        raise ModelError(f"--dtype must be one of {', '.join(DTYPES)}, got {opts.dtype!r}")
    if opts.quantization not in QUANTIZATIONS:
        raise ModelError(f"--quantization must be one of {', '.join(QUANTIZATIONS)}, got {opts.quantization!r}")
    import torch

    dtype = torch_dtype(opts.dtype)
    config = build_config(opts)
    if opts.attn_implementation:
        config._attn_implementation = opts.attn_implementation
    device = resolve_device(opts)
    info: dict[str, Any] = {"modelType": config.model_type, "dtype": opts.dtype, "device": str(device)}

    if opts.config_json:
        if opts.quantization != "none":
            raise ModelError("--quantization needs real weights (from_pretrained); not available with --config-json")
        torch.manual_seed(opts.seed)  # the only randomness: the weight initialisation
        model = model_class(config).from_config(config, dtype=dtype)
        model.to(device)
        name = opts.model or f"random-init:{Path(opts.config_json).name}"
        return LoadedModel(model.eval(), name, f"seed-{opts.seed}", opts.dtype, info)

    label = check_quantizable(config, opts.quantization, opts.allow_unquantized_experts) or opts.dtype
    kwargs: dict[str, Any] = {"dtype": dtype, "revision": opts.revision, "trust_remote_code": opts.trust_remote_code}
    if opts.attn_implementation:
        kwargs["attn_implementation"] = opts.attn_implementation
    if opts.quantization != "none":
        require_bitsandbytes()
        from transformers import BitsAndBytesConfig

        kwargs["quantization_config"] = (
            BitsAndBytesConfig(load_in_8bit=True)
            if opts.quantization == "int8"
            else BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_compute_dtype=dtype)
        )
    if opts.gpu_memory or opts.cpu_memory or opts.all_gpus:
        # accelerate fills the GPU up to the cap and puts the remaining layers in CPU RAM (then on disk),
        # moving each offloaded layer's weights to the GPU for its forward.
        try:
            import accelerate  # noqa: F401
        except ImportError:
            raise ModelError("--gpu-memory/--cpu-memory (offload) need accelerate: pip install accelerate") from None
        max_memory: dict[Any, str] = {}
        if device.type == "cuda":
            cap = parse_memory(opts.gpu_memory or "1000GiB")
            for i in range(torch.cuda.device_count()) if opts.all_gpus else [device.index or 0]:
                max_memory[i] = cap
        max_memory["cpu"] = parse_memory(opts.cpu_memory) if opts.cpu_memory else "1000GiB"
        kwargs["device_map"] = "auto"
        kwargs["max_memory"] = max_memory
        if opts.offload_folder:
            kwargs["offload_folder"] = opts.offload_folder
        info["maxMemory"] = {str(k): v for k, v in max_memory.items()}
    else:
        kwargs["device_map"] = {"": str(device)}
    model = model_class(config).from_pretrained(opts.model, **kwargs)
    if opts.quantization != "none" and not opts.allow_unquantized_experts:
        left = [n for n in fused_expert_params(model)]
        if left:  # belt and braces: the pre-check should have caught this
            raise ModelError(f"--quantization {opts.quantization} did not reach the expert weights ({left[0]}, …)")
    dm = getattr(model, "hf_device_map", None)
    if dm:
        info["deviceMap"] = sorted({str(v) for v in dm.values()})
    return LoadedModel(model.eval(), opts.model or "", opts.revision, label, info)
