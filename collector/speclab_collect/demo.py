"""The bundled demo trace: the trained demo model (demo_model/, written by `train-demo`) run by the collector
over held-out excerpts of its three domains (demo_model/eval-<domain>.jsonl), one dataset per domain."""

from __future__ import annotations

import json
import os
from importlib import resources
from pathlib import Path
from typing import Any

DEMO_SHARD_TOKENS = 1024  # small, so the demo has several shards and a sequence that spans two
DEMO_BATCH_SIZE = 8
DEMO_SEQ_LEN = 512
# Routers l+1..l+H applied to layer l's router input (column lookahead_logits): the gate lookahead signal.
DEMO_LOOKAHEAD = 2


def demo_model_dir() -> Path:
    return Path(str(resources.files("speclab_collect").joinpath("demo_model")))


def load_card(model_dir: Path | None = None) -> dict[str, Any]:
    return json.loads(((model_dir or demo_model_dir()) / "card.json").read_text(encoding="utf-8"))


def demo_description(card: dict[str, Any]) -> str:
    """The manifest's description (the page shows it): the model card's summary plus what was run over what."""
    return (
        f"Demo trace. {card['summary']} "
        f"Inputs: short excerpts of files held out of its training, one dataset per domain ({', '.join(card['domains'])}); "
        "byte tokens with <s> first. Model card: collector/speclab_collect/demo_model/README.md. "
        "Regenerate with: .venv/bin/speclab-collect demo --out traces/demo"
    )


def demo_options(out_dir: str | Path, model_dir: Path | None = None, lookahead: int = DEMO_LOOKAHEAD) -> tuple[Any, Path]:
    """The `speclab-collect run` options that write the demo, with paths relative to the model's parent folder.
    `lookahead` H records the gates of layers l+1..l+H on layer l's router input (0: no lookahead column)."""
    from .run import RunOptions

    model_dir = model_dir or demo_model_dir()
    card = load_card(model_dir)
    base = model_dir.parent
    rel = model_dir.name
    opts = RunOptions(
        out=os.path.relpath(Path(out_dir).resolve(), base),
        model=rel,
        tokenizer="bytes",
        datasets=[f"{d}={rel}/eval-{d}.jsonl" for d in card["domains"]],
        seq_len=DEMO_SEQ_LEN,
        batch_size=DEMO_BATCH_SIZE,
        dtype="fp32",
        device="cpu",
        shard_tokens=DEMO_SHARD_TOKENS,
        lookahead=lookahead,
        overwrite=True,
        progress="none",
        # One thread: for a model this small, thread start-up and spin-waiting cost more than they give (badly so
        # on a busy machine), and single-threaded reductions don't depend on the core count: stable bytes.
        threads=1,
        description=demo_description(card),
        model_name=card["name"],
        model_revision=card["weights"]["sha256"][:12],
        extra={
            "demoModel": {
                "card": f"speclab_collect/{rel}/card.json",
                "weightsSha256": card["weights"]["sha256"],
                "steps": card["steps"],
                "seed": card["seed"],
                "summary": card["summary"],
            }
        },
    )
    return opts, base


def write_demo(out_dir: str | Path, model_dir: Path | None = None, lookahead: int = DEMO_LOOKAHEAD) -> dict[str, Any]:
    """Write the demo trace set into `out_dir` (replacing any trace set there) with `speclab-collect run`."""
    import torch

    from .run import collect

    opts, base = demo_options(out_dir, model_dir, lookahead)
    threads = torch.get_num_threads()
    cwd = os.getcwd()
    os.chdir(base)  # the manifest records the model and dataset paths relative to the package, not this machine's
    try:
        return collect(opts)
    finally:
        os.chdir(cwd)
        torch.set_num_threads(threads)
