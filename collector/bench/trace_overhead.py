"""Tracing overhead of the collector's router hooks on Mixtral-8x7B-sized layers.

A randomly initialised stack of Mixtral layers at full width (hidden 4096, FFN 14336, 8 experts, top-2, GQA 32/8
heads) in bf16 runs the same forward pass with and without the RoutingRecorder (hooks + copying the routing of
every real token to host memory). Per shape, `--runs` rounds of `--iters` interleaved plain/traced passes; each
round gives an overhead (median traced / median plain - 1), and the figure is the median over rounds with the
rounds' spread. Prints one JSON object per shape.

    python collector/bench/trace_overhead.py --layers 8 --device cuda [--runs 5 --iters 20] [--profile 1]

`--recorder MODULE[,MODULE]` times other recorder modules with the same interface (e.g. an earlier capture.py copied
into the package as speclab_collect._capture_prev) beside the current one, in the same interleaved rounds.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import statistics
import time

import torch
from transformers import MixtralConfig, MixtralForCausalLM

from speclab_collect import capture


def timed(fn, device: str, rec=None) -> float:
    """Wall time of fn(), the GPU's work included; with `rec`, its hooks are registered around (not timed)."""
    if rec is not None:
        with rec:
            return timed(fn, device)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    fn()
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    return time.perf_counter() - t0


def profile(fns: dict, device: str, steps: int = 10, rows: int = 18) -> None:
    """Where each variant spends host time: self CPU time per op over `steps` passes (torch.profiler)."""
    from torch.profiler import ProfilerActivity, profile as prof

    acts = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.startswith("cuda") else [])
    for name, (fn, rec) in fns.items():
        with rec if rec is not None else contextlib.nullcontext():
            for _ in range(3):
                fn()
            with prof(activities=acts) as p:
                for _ in range(steps):
                    fn()
                if device.startswith("cuda"):
                    torch.cuda.synchronize()
        print(f"--- profile: {name}, {steps} passes", flush=True)
        print(p.key_averages().table(sort_by="self_cpu_time_total", row_limit=rows), flush=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--layers", type=int, default=8)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--iters", type=int, default=20, help="interleaved plain/traced pairs per round")
    ap.add_argument("--runs", type=int, default=5, help="rounds per shape (the spread is over rounds)")
    ap.add_argument("--hidden", type=int, default=4096)
    ap.add_argument("--ffn", type=int, default=14336)
    ap.add_argument("--shapes", default="32x1,1x128,4x1024", help="batch x sequence length pairs")
    ap.add_argument("--recorder", default="", help="other recorder modules (comma-separated) to time beside the current one")
    ap.add_argument("--profile", type=int, default=0, help="1: torch.profiler table of the first shape's passes")
    args = ap.parse_args()
    torch.manual_seed(0)
    cfg = MixtralConfig(
        hidden_size=args.hidden,
        intermediate_size=args.ffn,
        num_hidden_layers=args.layers,
        num_attention_heads=32,
        num_key_value_heads=8,
        num_local_experts=8,
        num_experts_per_tok=2,
        vocab_size=32000,
        max_position_embeddings=4096,
    )
    torch.set_default_dtype(torch.bfloat16)
    with torch.device(args.device):
        model = MixtralForCausalLM(cfg)
    model.eval()
    cuda = args.device.startswith("cuda")
    info = {
        "device": torch.cuda.get_device_name() if cuda else "cpu",
        "torch": torch.__version__,
        "transformers": __import__("transformers").__version__,
        "layers": args.layers,
        "dtype": "bfloat16",
        "runs": args.runs,
        "iters": args.iters,
    }
    print(json.dumps({"setup": info}), flush=True)
    recorders = {"traced": capture}
    for name in filter(None, args.recorder.split(",")):
        recorders[name] = importlib.import_module(name)
    for si, shape in enumerate(args.shapes.split(",")):
        b, s = (int(x) for x in shape.split("x"))
        ids = torch.randint(0, cfg.vocab_size, (b, s), device=args.device)
        mask = torch.ones_like(ids)

        def plain():
            with torch.inference_mode():
                model(input_ids=ids, attention_mask=mask, use_cache=False)

        variants = {"plain": (plain, None)}
        for name, mod in recorders.items():
            rec = mod.RoutingRecorder(model)

            def traced(rec=rec):
                with torch.inference_mode():
                    model(input_ids=ids, attention_mask=mask, use_cache=False)
                    routing = rec.collect(ids, mask)  # includes the copy of every token's routing to the host
                assert routing.experts.shape == (b * s, args.layers, 2)

            variants[name] = (traced, rec)
        for fn, rec in variants.values():  # warm-up
            for _ in range(3):
                timed(fn, args.device, rec)
        rounds: dict[str, list[float]] = {n: [] for n in variants if n != "plain"}
        all_t: dict[str, list[float]] = {n: [] for n in variants}
        for _ in range(args.runs):
            t: dict[str, list[float]] = {n: [] for n in variants}
            for _ in range(args.iters):
                # Interleave so drift (clocks, temperature, other processes) hits every variant alike.
                for n, (fn, rec) in variants.items():
                    t[n].append(timed(fn, args.device, rec))
            p = statistics.median(t["plain"])
            for n in rounds:
                rounds[n].append(statistics.median(t[n]) / p - 1)
            for n in variants:
                all_t[n] += t[n]
        row = {"batch": b, "seqLen": s, "tokens": b * s, "plainMs": statistics.median(all_t["plain"]) * 1e3}
        for n, r in rounds.items():
            key = "" if n == "traced" else f"[{n}]"
            row[f"tracedMs{key}"] = statistics.median(all_t[n]) * 1e3
            row[f"overhead{key}"] = statistics.median(r)
            row[f"overheadRuns{key}"] = [round(x, 4) for x in r]
        print(json.dumps(row), flush=True)
        if args.profile and si == 0:
            profile(variants, args.device)


if __name__ == "__main__":
    main()
