"""The bundled demo trace: a tiny random-initialised Mixtral-architecture model run over a few short texts."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

import torch
import transformers

from . import __version__, tokenizer
from .capture import capture_routing, find_routers
from .writer import TraceWriter

# Small enough to run in well under a second on a CPU; the shape (8 layers, 8 experts, top-2) is Mixtral's.
DEMO_CONFIG: dict[str, Any] = {
    "vocab_size": 512,
    "hidden_size": 64,
    "intermediate_size": 128,
    "num_hidden_layers": 8,
    "num_attention_heads": 4,
    "num_key_value_heads": 4,
    "num_local_experts": 8,
    "num_experts_per_tok": 2,
    "max_position_embeddings": 1024,
    "bos_token_id": tokenizer.BOS_ID,
    "eos_token_id": tokenizer.EOS_ID,
    "pad_token_id": tokenizer.PAD_ID,
}
DEMO_BATCH_SIZE = 8
DEMO_SHARD_TOKENS = 1024  # small, so the demo has several shards and a sequence that spans two
DEMO_MODEL_NAME = "speclab-demo/tiny-random-mixtral"


def load_demo_texts() -> list[tuple[str, str]]:
    """(dataset name, text) pairs from the bundled data/demo_texts.jsonl, in file order."""
    raw = resources.files("speclab_collect").joinpath("data/demo_texts.jsonl").read_text(encoding="utf-8")
    out = []
    for line_no, line in enumerate(raw.splitlines(), 1):
        if line.strip():
            rec = json.loads(line)
            if not isinstance(rec.get("dataset"), str) or not isinstance(rec.get("text"), str):
                raise ValueError(f"demo_texts.jsonl line {line_no}: needs string fields 'dataset' and 'text'")
            out.append((rec["dataset"], rec["text"]))
    return out


def build_demo_model(seed: int) -> transformers.MixtralForCausalLM:
    torch.manual_seed(seed)  # the only randomness: the weight initialisation
    config = transformers.MixtralConfig(**DEMO_CONFIG)
    return transformers.MixtralForCausalLM(config).eval()


def demo_description(seed: int, num_texts: int) -> str:
    return (
        "Demo trace from a tiny RANDOM-INITIALISED Mixtral-architecture model (8 layers, 8 experts, top-2, "
        f"hidden size 64, torch.manual_seed({seed})). It was never trained, so its routing shows no learned "
        "expert specialisation: use it to try SpecLab, not to draw conclusions about real MoE models. "
        f"Inputs: {num_texts} short original texts (datasets demo-prose and demo-code), byte-level tokens with <s> first. "
        f"Regenerate with: .venv/bin/speclab-collect demo --out traces/demo --seed {seed}"
    )


def write_demo(out_dir: str | Path, seed: int = 0) -> TraceWriter:
    """Generate the demo trace set into `out_dir` (replacing any trace set there); returns the closed writer."""
    texts = load_demo_texts()
    datasets = list(dict.fromkeys(d for d, _ in texts))  # first-appearance order
    model = build_demo_model(seed)
    layer_ids = [i for i, _ in find_routers(model)]
    cfg = model.config
    source = {
        "producer": f"speclab-collect {__version__}",
        "seed": seed,
        "modelClass": type(model).__name__,
        "config": DEMO_CONFIG,
        "attnImplementation": cfg._attn_implementation,
        "expertsImplementation": getattr(cfg, "_experts_implementation", None),
        "dtype": str(model.dtype).removeprefix("torch."),
        "tokenizer": "bytes: ids 0-255 are UTF-8 bytes, <s>=256 prepended to each text",
        "texts": "speclab_collect/data/demo_texts.jsonl",
        "batchSize": DEMO_BATCH_SIZE,
        "padding": "right",
        "torchThreads": 1,
        "torch": torch.__version__,
        "transformers": transformers.__version__,
    }
    writer = TraceWriter(
        out_dir,
        model_name=DEMO_MODEL_NAME,
        model_revision=f"seed-{seed}",
        engine=f"transformers {transformers.__version__}",
        quantization="fp32",
        num_layers=len(layer_ids),
        num_experts=cfg.num_local_experts,
        top_k=cfg.num_experts_per_tok,
        moe_layer_ids=layer_ids,
        datasets=datasets,
        has_weights=True,
        has_logits=True,
        has_token_ids=True,
        has_token_text=True,
        shard_tokens=DEMO_SHARD_TOKENS,
        description=demo_description(seed, len(texts)),
        source=source,
        overwrite=True,
    )
    threads = torch.get_num_threads()
    # One thread: for a model this small, thread start-up and spin-waiting cost more than they give (badly so on a
    # busy machine), and single-threaded reductions don't depend on the core count, which keeps the bytes stable.
    torch.set_num_threads(1)
    try:
        _run_demo(writer, model, texts)
    finally:
        torch.set_num_threads(threads)
    return writer


def _run_demo(writer: TraceWriter, model: transformers.MixtralForCausalLM, texts: list[tuple[str, str]]) -> None:
    with writer:
        for start in range(0, len(texts), DEMO_BATCH_SIZE):
            batch = texts[start : start + DEMO_BATCH_SIZE]
            ids = [tokenizer.encode(t) for _, t in batch]
            width = max(len(x) for x in ids)
            input_ids = torch.full((len(ids), width), tokenizer.PAD_ID, dtype=torch.long)
            mask = torch.zeros((len(ids), width), dtype=torch.long)
            for r, x in enumerate(ids):
                input_ids[r, : len(x)] = torch.tensor(x)
                mask[r, : len(x)] = 1
            routing = capture_routing(model, input_ids, mask)
            writer.add_tokens(
                seq=start + routing.row,  # sequence id = line number in demo_texts.jsonl (0-based)
                pos=routing.pos,
                dataset=[batch[r][0] for r in routing.row],
                experts=routing.experts,
                weights=routing.weights,
                logits=routing.logits,
                token_id=routing.token_id,
                token_text=[tokenizer.token_text(int(t)) for t in routing.token_id],
            )
