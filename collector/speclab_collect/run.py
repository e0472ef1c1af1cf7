"""`speclab-collect run`: a model over datasets into a trace set, resumable, optionally one of N ranks.

Resume: the plan (plan.py) fixes the order in which tokens are written, and the writer publishes whole shards
only, so the published manifest says exactly how many tokens of that order are safely on disk. Rerunning the
same command reloads the model, skips every batch already written, recomputes the one batch the kill
interrupted and keeps only its unwritten rows, and carries on. A run whose options (or data) differ from the
trace set in --out is refused rather than mixed into it.

Ranks: under torchrun (RANK, WORLD_SIZE, LOCAL_RANK in the environment) each rank takes the sequences whose id
% WORLD_SIZE == RANK, writes `shard-r{rank}of{world}-NNNNN.arrow` and its own manifest
`manifest.r{rank}of{world}.json` into the shared --out folder, and the last rank to finish merges them into
`manifest.json` (as `speclab-collect merge` does). The ranks never talk to each other.
"""

from __future__ import annotations

import json
import os
import re
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from . import __version__
from .models import LoadOptions, ModelError, read_config_json, validate_model_ref
from .plan import Tokenizer, build_plan, pad_batch, plan_digest, rank_batches
from .progress import Progress
from .sources import DatasetError, parse_budget, parse_spec
from .writer import FORMAT_NAME, MANIFEST_NAME, TraceHeader, TraceWriter, check_writable, write_json_atomic

DEFAULT_SHARD_TOKENS = 16384
_RANK_MANIFEST_RE = re.compile(r"^manifest\.r(\d+)of(\d+)\.json$")
# Header fields that must agree between the ranks of one run (everything but shards and counts).
_HEADER_KEYS = (
    "format",
    "version",
    "model",
    "engine",
    "quantization",
    "numLayers",
    "numExperts",
    "topK",
    "moeLayerIds",
    "datasets",
    "hasWeights",
    "hasLogits",
    "hasTokenIds",
    "hasTokenText",
    "lookaheadHorizon",
)


class RunError(ValueError):
    pass


@dataclass
class RunOptions:
    out: str
    datasets: list[str]
    model: str | None = None
    config_json: str | None = None
    revision: str | None = None
    seed: int = 0
    tokenizer: str | None = None  # default: the model's own; "bytes" (default with --config-json)
    budget: str | None = None  # default budget for datasets given without one
    text_field: str | None = None
    seq_len: int = 512
    batch_size: int = 8
    dtype: str = "bf16"
    quantization: str = "none"
    allow_unquantized_experts: bool = False
    gpu_memory: str | None = None
    cpu_memory: str | None = None
    offload_folder: str | None = None
    device: str = "auto"
    all_gpus: bool = False
    shard_tokens: int = DEFAULT_SHARD_TOKENS
    lookahead: int = 0
    logits: bool = True
    token_text: bool = True
    overwrite: bool = False
    progress: str = "bar"
    threads: int | None = None
    trust_remote_code: bool = False
    attn_implementation: str | None = None
    rank: int | None = None  # default: $RANK (torchrun), else 0
    world_size: int | None = None  # default: $WORLD_SIZE, else 1
    description: str | None = None
    model_name: str | None = None  # name and revision recorded in the manifest (default: --model, --revision)
    model_revision: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def rank_files(rank: int, world: int) -> tuple[str, str]:
    """(manifest name, shard prefix) of one rank; a single process writes the plain names."""
    if world == 1:
        return MANIFEST_NAME, "shard-"
    return f"manifest.r{rank}of{world}.json", f"shard-r{rank}of{world}-"


def _env_int(name: str, default: int) -> int:
    v = os.environ.get(name)
    if v is None or v == "":
        return default
    try:
        return int(v)
    except ValueError:
        raise RunError(f"environment variable {name}={v!r} is not an integer") from None


def _check_positive(name: str, v: Any, lo: int = 1) -> None:
    if isinstance(v, bool) or not isinstance(v, int) or v < lo:
        raise RunError(f"{name} must be an integer >= {lo}, got {v!r}")


def collect(opts: RunOptions) -> dict[str, Any]:
    """Run (or resume) one rank's share of the job. Returns a summary."""
    rank = opts.rank if opts.rank is not None else _env_int("RANK", 0)
    world = opts.world_size if opts.world_size is not None else _env_int("WORLD_SIZE", 1)
    local_rank = _env_int("LOCAL_RANK", rank)
    _check_positive("world size", world)
    if not 0 <= rank < world:
        raise RunError(f"rank {rank} is not in 0..{world - 1}")
    for name in ("seq_len", "batch_size", "shard_tokens"):
        _check_positive(f"--{name.replace('_', '-')}", getattr(opts, name))
    _check_positive("--lookahead", opts.lookahead, 0)
    if not opts.model and not opts.config_json:
        raise RunError("give --model (a Hugging Face id or local folder) or --config-json (random weights)")
    if opts.model and not opts.config_json:
        validate_model_ref(opts.model)  # before anything slow
    if not opts.datasets:
        raise RunError("give at least one --dataset")

    # Everything that can be checked without torch is checked first: mistakes show up in a second.
    default_budget = parse_budget(opts.budget) if opts.budget else None
    specs = [parse_spec(s, default_budget) for s in opts.datasets]
    labels = [s.label for s in specs]
    if len(set(labels)) != len(labels):
        raise DatasetError(f"dataset labels must be distinct, got {labels}; name them with LABEL=SOURCE")
    if opts.config_json:
        read_config_json(opts.config_json)

    import torch

    if opts.threads:
        torch.set_num_threads(opts.threads)
    out = Path(opts.out)
    manifest_name, prefix = rank_files(rank, world)
    progress = Progress(0, mode=opts.progress)
    tag = f"rank {rank}/{world}: " if world > 1 else ""
    tok_name = opts.tokenizer or ("bytes" if opts.config_json else opts.model)
    tok = Tokenizer(tok_name, trust_remote_code=opts.trust_remote_code)  # type: ignore[arg-type]
    progress.event("planning", message=f"{tag}tokenizing {len(specs)} dataset(s)")
    plan = build_plan(specs, tok, opts.seq_len, opts.text_field)
    if not plan:
        raise RunError("the datasets hold no text: nothing to collect")
    batches = rank_batches(plan, opts.batch_size, rank, world)
    planned = sum(len(s.tokens) for b in batches for s in b)

    fingerprint = {
        "model": opts.model,
        "revision": opts.revision,
        "config": read_config_json(opts.config_json) if opts.config_json else None,
        "seed": opts.seed if opts.config_json else None,
        "tokenizer": tok_name,
        "datasets": [s.as_json() for s in specs],
        "textField": opts.text_field,
        "planDigest": plan_digest(plan),
        "seqLen": opts.seq_len,
        "batchSize": opts.batch_size,  # batch composition changes float rounding
        "dtype": opts.dtype,
        "quantization": opts.quantization,
        "shardTokens": opts.shard_tokens,
        "lookahead": opts.lookahead,
        "logits": opts.logits,
        "tokenText": opts.token_text,
        "rank": rank,
        "worldSize": world,
    }
    path = out / manifest_name
    if path.exists() and not opts.overwrite:
        old = _read_json(path)
        old_fp = (old.get("source") or {}).get("run", {}).get("fingerprint")
        if old_fp is None:
            raise RunError(
                f"{out} already holds a trace set that `speclab-collect run` did not write; use another --out, or --overwrite to replace it"
            )
        diff = sorted(k for k in set(fingerprint) | set(old_fp) if old_fp.get(k) != fingerprint.get(k))
        if diff:
            raise RunError(
                f"{out} holds a run with different options ({', '.join(diff)}); rerun the same "
                "command to resume it, use another --out, or --overwrite to start again"
            )
        if (old.get("source") or {}).get("complete"):
            progress.event("done", message=f"{tag}{path} is already complete", tokens=planned, total=planned)
            merged = try_merge(out, world) if world > 1 else None
            return {"tokens": planned, "planned": planned, "resumed": True, "alreadyComplete": True, "merged": merged}

    from .capture import RoutingRecorder, run_forward
    from .models import load_model

    check_writable(out)  # an unusable --out fails now, not after loading the model and a shard's work

    if world > 1 and opts.overwrite:
        (out / MANIFEST_NAME).unlink(missing_ok=True)  # the merged manifest would name shards about to go

    progress.event("loading", message=f"{tag}loading {opts.model or opts.config_json}")
    lopts = LoadOptions(
        model=opts.model,
        config_json=opts.config_json,
        revision=opts.revision,
        seed=opts.seed,
        dtype=opts.dtype,
        quantization=opts.quantization,
        allow_unquantized_experts=opts.allow_unquantized_experts,
        device=opts.device,
        gpu_memory=opts.gpu_memory,
        cpu_memory=opts.cpu_memory,
        offload_folder=opts.offload_folder,
        trust_remote_code=opts.trust_remote_code,
        attn_implementation=opts.attn_implementation,
        local_rank=local_rank,
        all_gpus=opts.all_gpus,
    )
    loaded = load_model(lopts)
    model = loaded.model
    vocab = int(getattr(model.config, "vocab_size", 0) or 0)
    top = max(int(s.tokens.max()) for s in plan)
    if vocab and top >= vocab:
        raise ModelError(f"tokenizer {tok_name!r} produced token id {top}, beyond the model's vocab_size {vocab}")

    import transformers

    with RoutingRecorder(model, lookahead=opts.lookahead) as rec:
        enc_dec = bool(getattr(model.config, "is_encoder_decoder", False))
        source = {
            "producer": f"speclab-collect {__version__}",
            "run": {"fingerprint": fingerprint, "options": _public_options(opts)},
            "plannedTokens": planned,
            "complete": False,
            "modelClass": type(model).__name__,
            "modelInfo": loaded.info,
            "stacks": rec.stacks,
            "padding": "right; position ids count real tokens only",
            "torch": torch.__version__,
            "transformers": transformers.__version__,
            **({"decoderInput": "the encoder's tokens (teacher forcing on the input): row i is token i in both stacks"} if enc_dec else {}),
            **({"switchCapacity": "weight 0 = the token overflowed the chosen expert's capacity and skipped it"} if enc_dec else {}),
            **opts.extra,
        }
        header = TraceHeader(
            model_name=opts.model_name or loaded.name,
            model_revision=opts.model_revision or loaded.revision,
            engine=f"transformers {transformers.__version__}",
            quantization=loaded.quantization_label,
            num_layers=rec.num_layers,
            num_experts=rec.num_experts,
            top_k=rec.top_k,
            moe_layer_ids=rec.layer_ids,
            datasets=labels,
            has_weights=True,
            has_logits=opts.logits,
            has_token_ids=True,
            has_token_text=opts.token_text,
            description=opts.description or _describe(loaded.name, labels, rec.stacks, enc_dec),
            source=source,
            lookahead_horizon=opts.lookahead,
        )
        writer = TraceWriter.open(
            out,
            header,
            shard_tokens=opts.shard_tokens,
            overwrite=opts.overwrite,
            shard_prefix=prefix,
            manifest_name=manifest_name,
            resume=not opts.overwrite,
        )
        done = writer.tokens_written
        if writer.resumed:
            before = int(writer.manifest().get("source", {}).get("resumedTimes", 0))
            writer.update_source(resumedTimes=before + 1)
            progress.event("resumed", message=f"{tag}{done:,} of {planned:,} tokens already written", tokens=done)
        progress.total, progress.done = planned, done
        progress._start_done = done
        progress.event("start", message=f"{tag}{planned - done:,} tokens to go", tokens=done, total=planned)
        delay = float(os.environ.get("SPECLAB_COLLECT_TEST_DELAY", "0") or 0)  # tests: make a run killable mid-way
        start = 0
        with writer, torch.inference_mode():
            for batch in batches:
                n = sum(len(s.tokens) for s in batch)
                if start + n <= done:  # written by an earlier run
                    start += n
                    continue
                ids, mask = pad_batch(batch, tok.pad_id)
                run_forward(model, ids, mask)
                r = rec.collect(ids, mask)
                keep = slice(max(0, done - start), None)  # the interrupted batch: only its unwritten rows
                seq = np.asarray([s.seq for s in batch])[r.row]
                ds = np.asarray([s.dataset for s in batch])[r.row]
                writer.add_tokens(
                    seq=seq[keep],
                    pos=r.pos[keep],
                    dataset=ds[keep],
                    experts=r.experts[keep],
                    weights=r.weights[keep],
                    logits=r.logits[keep] if opts.logits else None,
                    token_id=r.token_id[keep],
                    token_text=tok.token_texts(r.token_id[keep]) if opts.token_text else None,
                    lookahead=r.lookahead[keep] if opts.lookahead else None,
                )
                start += n
                progress.update(writer.tokens_written + writer.tokens_buffered)
                if delay:
                    time.sleep(delay)
            writer.update_source(complete=True)
    progress.close()
    merged = try_merge(out, world) if world > 1 else None
    progress.event(
        "done", message=f"{tag}{planned:,} tokens in {len(writer.shards)} shards in {out}", tokens=planned, total=planned, merged=merged
    )
    return {
        "tokens": planned,
        "planned": planned,
        "resumed": writer.resumed,
        "alreadyComplete": False,
        "shards": len(writer.shards),
        "merged": merged,
    }


def _public_options(opts: RunOptions) -> dict[str, Any]:
    d = asdict(opts)
    d.pop("extra", None)
    return d


def _describe(name: str, labels: list[str], stacks: dict[str, list[int]], enc_dec: bool) -> str:
    what = "encoder and decoder sparse layers (see source.stacks)" if enc_dec else "every MoE layer"
    return f"Routing of {name} at {what} over {', '.join(labels)}, written by speclab-collect {__version__}."


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise RunError(f"{path}: unreadable: {e}") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT_NAME:
        raise RunError(f"{path}: not a SpecLab trace manifest")
    return data


# ------------------------------------------------------------------------------------------------- merge


def rank_manifests(out: Path) -> dict[int, dict[int, Path]]:
    """{world size: {rank: manifest path}} of the rank manifests in `out`."""
    found: dict[int, dict[int, Path]] = {}
    for p in out.iterdir():
        m = _RANK_MANIFEST_RE.match(p.name)
        if m:
            found.setdefault(int(m.group(2)), {})[int(m.group(1))] = p
    return found


def merge(out: str | Path, world: int | None = None, require_complete: bool = True) -> dict[str, Any]:
    """Write `manifest.json` listing every rank's shards (rank order). Returns the merged manifest."""
    out = Path(out)
    groups = rank_manifests(out)
    if not groups:
        raise RunError(f"{out}: no rank manifests (manifest.rRofW.json) to merge")
    if world is None:
        if len(groups) > 1:
            raise RunError(f"{out}: rank manifests of several world sizes {sorted(groups)}; pick one with --world")
        world = next(iter(groups))
    ranks = groups.get(world, {})
    missing = [r for r in range(world) if r not in ranks]
    if missing:
        raise RunError(f"{out}: ranks {missing} of {world} have not written a manifest yet")
    mans = [_read_json(ranks[r]) for r in range(world)]
    first = mans[0]
    for r, m in enumerate(mans):
        diff = [k for k in _HEADER_KEYS if m.get(k) != first.get(k)]
        if diff:
            raise RunError(f"{ranks[r]}: differs from rank 0 in {', '.join(diff)}; not parts of one run")
        fp = dict((m.get("source") or {}).get("run", {}).get("fingerprint") or {})
        fp0 = dict((first.get("source") or {}).get("run", {}).get("fingerprint") or {})
        if {k: v for k, v in fp.items() if k != "rank"} != {k: v for k, v in fp0.items() if k != "rank"}:
            raise RunError(f"{ranks[r]}: was written with other options than rank 0; not parts of one run")
        if require_complete and not (m.get("source") or {}).get("complete"):
            raise RunError(f"{ranks[r]}: rank {r} has not finished; rerun it (it resumes), then merge")
    merged = {k: first[k] for k in _HEADER_KEYS if k in first}
    merged["droppedTokens"] = sum(int(m.get("droppedTokens", 0)) for m in mans)
    merged["shards"] = [s for m in mans for s in m["shards"]]
    if "description" in first:
        merged["description"] = first["description"]
    src = dict(first.get("source") or {})
    src["plannedTokens"] = sum(int((m.get("source") or {}).get("plannedTokens", 0)) for m in mans)
    src["complete"] = all((m.get("source") or {}).get("complete") for m in mans)
    src["ranks"] = {"worldSize": world, "manifests": [ranks[r].name for r in range(world)]}
    if "run" in src:
        src["run"] = {**src["run"], "fingerprint": {**src["run"]["fingerprint"], "rank": None}}
    merged["source"] = src
    text = json.dumps(merged, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    # Several ranks may finish at once and all merge: same content, so any of them winning the rename is fine.
    write_json_atomic(out / MANIFEST_NAME, text, unique_tmp=True)
    return merged


def try_merge(out: Path, world: int) -> bool:
    """Merge if every rank has finished; False (and no change) otherwise."""
    groups = rank_manifests(out)
    ranks = groups.get(world, {})
    if len(ranks) < world:
        return False
    try:
        merge(out, world)
    except RunError:
        return False
    return True
