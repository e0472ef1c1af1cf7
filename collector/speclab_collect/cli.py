"""Command line: `speclab-collect {run,merge,serve,demo,train-demo}` (see docs/collector.md)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .demo import DEMO_LOOKAHEAD


def _run_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "run",
        help="capture a model's routing over datasets into a trace set (resumable)",
        description="Capture routing into --out. Rerunning the same command resumes an interrupted run. "
        "Under torchrun, each rank takes its share of the documents and the last one merges the manifest.",
    )
    p.add_argument("--model", help="Hugging Face id (owner/name) or local model folder; with --config-json, only the name recorded")
    p.add_argument("--config-json", help="build the model from this config JSON (needs model_type) with random weights")
    p.add_argument("--revision", help="model revision (branch, tag or commit) on the Hub")
    p.add_argument("--seed", type=int, default=0, help="seed for --config-json random weights (default 0)")
    p.add_argument("--tokenizer", help="tokenizer id/folder (default: the model's), or 'bytes' (default with --config-json)")
    p.add_argument(
        "--dataset",
        action="append",
        default=[],
        metavar="[LABEL=]SOURCE[:BUDGET]",
        help="repeatable: a known dataset name (wikitext-2, cnn_dailymail, xsum, squad, multi_news, imdb, "
        "yelp, amazon, ag_news, dbpedia) or a local .txt/.jsonl file, with a token budget such as 200k",
    )
    p.add_argument("--budget", help="token budget for datasets given without one (e.g. 1M)")
    p.add_argument("--text-field", help="JSONL field holding the text (default: text)")
    p.add_argument("--out", type=Path, required=True, help="output folder")
    p.add_argument("--seq-len", type=int, default=512, help="tokens per sequence; longer documents are truncated (default 512)")
    p.add_argument("--batch-size", type=int, default=8, help="sequences per forward pass (default 8)")
    p.add_argument("--dtype", choices=["bf16", "fp16", "fp32"], default="bf16")
    p.add_argument(
        "--quantization",
        choices=["none", "int8", "int4"],
        default="none",
        help="bitsandbytes weight quantisation (needs bitsandbytes and a CUDA GPU)",
    )
    p.add_argument(
        "--allow-unquantized-experts", action="store_true", help="accept int8/int4 that reaches attention but not fused expert weights"
    )
    p.add_argument("--gpu-memory", help="cap per GPU, e.g. 22GiB: layers beyond it are offloaded to CPU RAM")
    p.add_argument("--cpu-memory", help="cap on CPU RAM for offloaded layers, e.g. 90GiB (beyond: --offload-folder)")
    p.add_argument("--offload-folder", help="disk folder for layers that fit neither GPU nor CPU caps")
    p.add_argument("--device", default="auto", help="auto (cuda:LOCAL_RANK if present, else cpu), cpu, cuda:N")
    p.add_argument(
        "--all-gpus", action="store_true", help="spread one model over every visible GPU (device_map, each capped by --gpu-memory)"
    )
    p.add_argument("--shard-tokens", type=int, default=16384, help="tokens per shard (default 16384)")
    p.add_argument(
        "--lookahead",
        type=int,
        default=0,
        metavar="H",
        help="also record routers l+1..l+H applied to layer l's router input (column lookahead_logits)",
    )
    p.add_argument("--no-logits", action="store_true", help="leave out the full router logits")
    p.add_argument("--no-token-text", action="store_true", help="leave out token text")
    p.add_argument("--overwrite", action="store_true", help="replace what --out holds instead of resuming")
    p.add_argument(
        "--progress", choices=["bar", "jsonl", "none"], default="bar", help="bar on stderr (default), JSON lines on stdout, or none"
    )
    p.add_argument("--threads", type=int, help="torch CPU threads")
    p.add_argument("--trust-remote-code", action="store_true", help="let transformers run the model repo's own code")
    p.add_argument("--attn-implementation", help="e.g. sdpa, eager, flash_attention_2")
    p.add_argument("--rank", type=int, help="this process's rank (default: $RANK or 0)")
    p.add_argument("--world-size", type=int, help="number of ranks (default: $WORLD_SIZE or 1)")
    p.add_argument("--description", help="description stored in the manifest")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="speclab-collect", description="Write SpecLab MoE routing trace sets.")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser(
        "demo",
        help="write the demo trace set (the trained demo model over held-out text of its three domains)",
        description="Write the demo trace set with the bundled demo model (see train-demo); replaces a trace set already in --out.",
    )
    demo.add_argument("--out", type=Path, required=True, help="output folder, e.g. traces/demo")
    demo.add_argument("--model-dir", type=Path, help="a model folder written by train-demo (default: the bundled one)")
    demo.add_argument(
        "--lookahead",
        type=int,
        default=DEMO_LOOKAHEAD,
        metavar="H",
        help="record routers l+1..l+H applied to layer l's router input (column lookahead_logits; "
        f"default {DEMO_LOOKAHEAD}, as the committed demo; 0: none)",
    )
    td = sub.add_parser(
        "train-demo",
        help="train the small Mixtral-architecture demo model on Python sources, license texts and man pages",
        description="Train the demo model (see collector/speclab_collect/demo_model/README.md) and write its weights, "
        "config, model card, corpus list and held-out evaluation texts to --out.",
    )
    td.add_argument("--out", type=Path, help="output folder, e.g. collector/speclab_collect/demo_model")
    td.add_argument("--steps", type=int, default=300, help="optimizer steps (default 300)")
    td.add_argument("--seed", type=int, default=0, help="seed for the initialisation and the batches (default 0)")
    td.add_argument("--seq-len", type=int, default=256, help="bytes per training window (default 256)")
    td.add_argument("--per-domain", type=int, default=2, help="windows per domain in each batch (default 2)")
    td.add_argument("--lr", type=float, default=3e-3, help="peak learning rate (default 3e-3)")
    td.add_argument("--device", default="auto", help="auto (cuda if present, else cpu), cpu, cuda:N")
    td.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch CPU threads (default 1: on a small shared machine more threads spin-wait and run slower)",
    )
    td.add_argument("--corpus", help="train on a corpus copied with --copy-corpus instead of this machine's files")
    td.add_argument(
        "--copy-corpus",
        type=Path,
        metavar="DIR",
        help="only copy the files training would use to DIR (to train on another machine) and exit",
    )
    _run_parser(sub)
    mg = sub.add_parser("merge", help="write manifest.json from the rank manifests of a distributed run")
    mg.add_argument("out", type=Path, help="the run's output folder")
    mg.add_argument("--world", type=int, help="world size to merge when the folder has several")
    sv = sub.add_parser("serve", help="HTTP job server for the notebook (127.0.0.1 only, token auth)")
    sv.add_argument("--port", type=int, default=8765, help="port (default 8765; 0 = any free port)")
    sv.add_argument("--out-root", type=Path, default=Path("speclab-runs"), help="folder for job outputs and the job database")
    sv.add_argument(
        "--allow-origin",
        action="append",
        default=[],
        metavar="ORIGIN",
        help="notebook origin allowed to call the API (repeatable; default the Vite dev/preview ports)",
    )
    sv.add_argument("--token", help="use this access token instead of a random one")
    sv.add_argument("--allow-remote-code", action="store_true", help="let jobs ask for trust_remote_code")
    sv.add_argument(
        "--model-root",
        action="append",
        default=[],
        type=Path,
        help="local folders under which jobs may name local models (repeatable; default: none)",
    )
    sv.add_argument(
        "--data-root",
        action="append",
        default=[],
        type=Path,
        help="local folders under which jobs may name local dataset files (repeatable; default: none)",
    )
    args = parser.parse_args(argv)

    if args.command == "demo":
        # Imported here so `--help` does not pay for importing torch and transformers.
        from .demo import write_demo

        if args.lookahead < 0:
            print(f"speclab-collect demo: --lookahead must be an integer >= 0 (got {args.lookahead})", file=sys.stderr)
            return 2
        summary = write_demo(args.out, args.model_dir.resolve() if args.model_dir else None, args.lookahead)
        size = sum(p.stat().st_size for p in args.out.glob("shard-*.arrow"))
        print(f"wrote {summary['tokens']} tokens in {summary['shards']} shards ({size / 1e6:.2f} MB) to {args.out}", file=sys.stderr)
        return 0
    if args.command == "run":
        return _cmd_run(args)
    if args.command == "train-demo":
        return _cmd_train_demo(args)
    if args.command == "merge":
        from .run import RunError, merge

        try:
            m = merge(args.out, args.world)
        except RunError as e:
            print(f"speclab-collect merge: {e}", file=sys.stderr)
            return 1
        tokens = sum(s["tokens"] for s in m["shards"])
        print(f"merged {len(m['shards'])} shards ({tokens:,} tokens) into {args.out / 'manifest.json'}", file=sys.stderr)
        return 0
    if args.command == "serve":
        from .server import serve_forever

        return serve_forever(args)
    return 2


def _cmd_train_demo(args: argparse.Namespace) -> int:
    from .train_demo import CorpusError, TrainOptions, copy_corpus, train_demo

    try:
        if args.copy_corpus:
            counts = copy_corpus(args.copy_corpus)
            print(f"copied {sum(counts.values())} files ({counts}) to {args.copy_corpus}", file=sys.stderr)
            return 0
        if not args.out:
            print("speclab-collect train-demo: --out is required", file=sys.stderr)
            return 2
        train_demo(
            TrainOptions(
                out=str(args.out),
                steps=args.steps,
                seed=args.seed,
                seq_len=args.seq_len,
                per_domain=args.per_domain,
                lr=args.lr,
                device=args.device,
                threads=args.threads,
                corpus=args.corpus,
            )
        )
    except CorpusError as e:
        print(f"speclab-collect train-demo: {e}", file=sys.stderr)
        return 1
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    from .run import RunOptions, collect

    opts = RunOptions(
        out=str(args.out),
        datasets=args.dataset,
        model=args.model,
        config_json=args.config_json,
        revision=args.revision,
        seed=args.seed,
        tokenizer=args.tokenizer,
        budget=args.budget,
        text_field=args.text_field,
        seq_len=args.seq_len,
        batch_size=args.batch_size,
        dtype=args.dtype,
        quantization=args.quantization,
        allow_unquantized_experts=args.allow_unquantized_experts,
        gpu_memory=args.gpu_memory,
        cpu_memory=args.cpu_memory,
        offload_folder=args.offload_folder,
        device=args.device,
        all_gpus=args.all_gpus,
        shard_tokens=args.shard_tokens,
        lookahead=args.lookahead,
        logits=not args.no_logits,
        token_text=not args.no_token_text,
        overwrite=args.overwrite,
        progress=args.progress,
        threads=args.threads,
        trust_remote_code=args.trust_remote_code,
        attn_implementation=args.attn_implementation,
        rank=args.rank,
        world_size=args.world_size,
        description=args.description,
    )
    try:
        collect(opts)
    except (ValueError, FileExistsError, OSError) as e:
        # ModelError, DatasetError, RunError and the writer's checks are all ValueErrors with a readable message.
        if args.progress == "jsonl":
            import json

            print(json.dumps({"event": "error", "message": str(e)}), flush=True)
        print(f"speclab-collect run: error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
