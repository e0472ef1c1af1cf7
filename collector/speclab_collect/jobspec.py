"""Job specs for `speclab-collect serve`: what a submitted job may ask for (checked field by field, local paths
only under the allowed roots) and the `speclab_collect run` arguments it becomes."""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .models import DTYPES, QUANTIZATIONS, MEMORY_RE, ModelError, validate_model_ref
from .sources import ALIASES, HUB_DATASETS, LABEL_RE, _BUDGET_RE

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


class JobError(ValueError):
    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class Policy:
    allow_remote_code: bool = False
    model_roots: list[Path] = field(default_factory=list)  # empty: any existing local folder
    data_roots: list[Path] = field(default_factory=list)


def _under(path: Path, roots: list[Path]) -> bool:
    if not roots:
        return True
    real = os.path.realpath(path)
    return any(real == os.path.realpath(r) or real.startswith(os.path.realpath(r) + os.sep) for r in roots)


def _int(spec: dict[str, Any], key: str, default: int, lo: int, hi: int) -> int:
    v = spec.get(key, default)
    if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
        raise JobError(f"{key} must be an integer in {lo}..{hi}")
    return v


def _str(spec: dict[str, Any], key: str, choices: tuple[str, ...] | None = None) -> str | None:
    v = spec.get(key)
    if v is None:
        return None
    if not isinstance(v, str) or len(v) > 200:
        raise JobError(f"{key} must be a string")
    if choices is not None and v not in choices:
        raise JobError(f"{key} must be one of {', '.join(choices)}")
    return v


_KNOWN_KEYS = {
    "name",
    "model",
    "config",
    "revision",
    "seed",
    "tokenizer",
    "datasets",
    "seqLen",
    "batchSize",
    "dtype",
    "quantization",
    "allowUnquantizedExperts",
    "gpuMemory",
    "cpuMemory",
    "lookahead",
    "shardTokens",
    "logits",
    "tokenText",
    "trustRemoteCode",
    "threads",
    "description",
}


def build_job(spec: Any, policy: Policy, config_dir: Path) -> tuple[str, list[str], dict[str, Any]]:
    """Validate a submitted job; returns (name, `run` arguments, normalised spec). Raises JobError."""
    if not isinstance(spec, dict):
        raise JobError("the request body must be a JSON object")
    unknown = sorted(set(spec) - _KNOWN_KEYS)
    if unknown:
        raise JobError(f"unknown fields: {', '.join(unknown)}")
    name = spec.get("name")
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise JobError("name must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit")
    args: list[str] = []
    model, config = spec.get("model"), spec.get("config")
    if config is not None:
        # A config object (not code): random-initialised weights, for trying the pipeline.
        if not isinstance(config, dict) or not isinstance(config.get("model_type"), str):
            raise JobError("config must be a JSON object with a model_type")
        config_dir.mkdir(parents=True, exist_ok=True)
        path = config_dir / f"{name}.json"
        path.write_text(json.dumps(config))
        args += ["--config-json", str(path)]
        if model is not None:
            if not isinstance(model, str) or not _NAME_RE.match(model.replace("/", "_")):
                raise JobError("model (the name recorded for a config) must be a short plain name")
            args += ["--model", model]
    else:
        if not isinstance(model, str):
            raise JobError("model is required: a Hugging Face id (owner/name) or a local model folder")
        if model.startswith((".", "~")) or ".." in model.split("/"):
            raise JobError("local model paths must be absolute, without '..'")
        try:
            kind = validate_model_ref(model)
        except ModelError as e:
            raise JobError(str(e)) from None
        if kind == "local" and not _under(Path(model), policy.model_roots):
            raise JobError(f"{model}: local models must be under {', '.join(map(str, policy.model_roots))}", 403)
        args += ["--model", model]
    if spec.get("trustRemoteCode"):
        if not policy.allow_remote_code:
            raise JobError("trustRemoteCode refused: start the server with --allow-remote-code to allow it", 403)
        args.append("--trust-remote-code")
    for key, flag in (("revision", "--revision"), ("tokenizer", "--tokenizer")):
        v = _str(spec, key)
        if v is not None:
            if not (v == "bytes" or re.match(r"^[A-Za-z0-9][A-Za-z0-9._/-]*$", v)) or ".." in v:
                raise JobError(f"{key} {v!r} is not a valid name")
            if key == "tokenizer" and v != "bytes":
                try:
                    if validate_model_ref(v) == "local" and not _under(Path(v), policy.model_roots):
                        raise JobError(f"{v}: local tokenizers must be under the model roots", 403)
                except ModelError as e:
                    raise JobError(str(e)) from None
            args += [flag, v]
    datasets = spec.get("datasets")
    if not isinstance(datasets, list) or not 1 <= len(datasets) <= 64:
        raise JobError("datasets must be a list of 1..64 entries")
    for i, d in enumerate(datasets):
        args += ["--dataset", _dataset_arg(d, i, policy)]
    args += ["--seq-len", str(_int(spec, "seqLen", 512, 1, 1 << 20))]
    args += ["--batch-size", str(_int(spec, "batchSize", 8, 1, 4096))]
    args += ["--shard-tokens", str(_int(spec, "shardTokens", 16384, 1, 10_000_000))]
    args += ["--lookahead", str(_int(spec, "lookahead", 0, 0, 64))]
    args += ["--seed", str(_int(spec, "seed", 0, 0, 2**31 - 1))]
    args += ["--dtype", _str(spec, "dtype", tuple(DTYPES)) or "bf16"]
    args += ["--quantization", _str(spec, "quantization", QUANTIZATIONS) or "none"]
    if spec.get("allowUnquantizedExperts"):
        args.append("--allow-unquantized-experts")
    for key, flag in (("gpuMemory", "--gpu-memory"), ("cpuMemory", "--cpu-memory")):
        v = _str(spec, key)
        if v is not None:
            if not MEMORY_RE.match(v):
                raise JobError(f"{key} must look like 22GiB")
            args += [flag, v]
    if spec.get("logits") is False:
        args.append("--no-logits")
    if spec.get("tokenText") is False:
        args.append("--no-token-text")
    if "threads" in spec:
        args += ["--threads", str(_int(spec, "threads", 1, 1, 1024))]
    desc = _str(spec, "description")
    if desc is not None:
        args += ["--description", desc]
    return name, args, spec


def _dataset_arg(d: Any, i: int, policy: Policy) -> str:
    """One dataset entry, as a string 'imdb:100k' or {source, budget?, label?}, to a --dataset argument."""
    if isinstance(d, str):
        d = {"source": d}
    if not isinstance(d, dict) or not isinstance(d.get("source"), str):
        raise JobError(f"datasets[{i}] must be a string or an object with a source")
    source, budget, label = d["source"], d.get("budget"), d.get("label")
    if isinstance(source, str) and ":" in source and budget is None:
        head, _, tail = source.rpartition(":")
        if _BUDGET_RE.match(tail):
            source, budget = head, tail
    name = ALIASES.get(source.lower(), source.lower())
    if name not in HUB_DATASETS:
        p = Path(source)
        if not p.is_absolute() or not p.is_file():
            raise JobError(
                f"datasets[{i}]: {source!r} is neither a known dataset ({', '.join(HUB_DATASETS)}) "
                "nor an existing local file (absolute path)"
            )
        if not _under(p, policy.data_roots):
            raise JobError(f"datasets[{i}]: local files must be under {', '.join(map(str, policy.data_roots))}", 403)
    if budget is not None:
        if isinstance(budget, bool) or not (isinstance(budget, int) and budget > 0 or isinstance(budget, str) and _BUDGET_RE.match(budget)):
            raise JobError(f"datasets[{i}].budget must be a positive token count (e.g. 200000 or '200k')")
    if label is not None and (not isinstance(label, str) or not LABEL_RE.match(label)):
        raise JobError(f"datasets[{i}].label must be 1-64 letters, digits, '.', '_' or '-'")
    return (f"{label}=" if label else "") + source + (f":{budget}" if budget is not None else "")
