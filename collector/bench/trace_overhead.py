"""Tracing overhead of the collector's router hooks on Mixtral-8x7B-sized layers.

A randomly initialised stack of Mixtral layers at full width (hidden 4096, FFN 14336, 8 experts, top-2, GQA 32/8
heads) in bf16 runs the same forward pass with and without the RoutingRecorder (hooks + copying the routing of
every real token to host memory). Prints one JSON object per setting and the overhead ratio.

    python collector/bench/trace_overhead.py --layers 8 --device cuda
"""
from __future__ import annotations

import argparse
import json
import statistics
import time

import torch
from transformers import MixtralConfig, MixtralForCausalLM

from speclab_collect.capture import RoutingRecorder


def timed(fn, device: str, iters: int) -> list[float]:
    out = []
    for _ in range(iters):
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        fn()
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        out.append(time.perf_counter() - t0)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--layers", type=int, default=8)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--iters", type=int, default=10)
    ap.add_argument("--hidden", type=int, default=4096)
    ap.add_argument("--ffn", type=int, default=14336)
    ap.add_argument("--shapes", default="4x1024,1x128,32x1", help="batch x sequence length pairs")
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
    info = {"device": torch.cuda.get_device_name() if args.device.startswith("cuda") else "cpu", "torch": torch.__version__, "layers": args.layers, "dtype": "bfloat16"}
    print(json.dumps({"setup": info}), flush=True)
    for shape in args.shapes.split(","):
        b, s = (int(x) for x in shape.split("x"))
        ids = torch.randint(0, cfg.vocab_size, (b, s), device=args.device)
        mask = torch.ones_like(ids)

        def plain():
            with torch.inference_mode():
                model(input_ids=ids, attention_mask=mask, use_cache=False)

        rec = RoutingRecorder(model)

        def traced():
            with torch.inference_mode():
                model(input_ids=ids, attention_mask=mask, use_cache=False)
            routing = rec.collect(ids, mask)  # includes the copy of every token's routing to the host
            assert routing.experts.shape == (b * s, args.layers, 2)

        timed(plain, args.device, 3)
        with rec:
            timed(traced, args.device, 3)
        # Interleave the two so drift (clocks, temperature) hits both alike.
        p_times, t_times = [], []
        for _ in range(args.iters):
            p_times += timed(plain, args.device, 1)
            with rec:
                t_times += timed(traced, args.device, 1)
        p, t = statistics.median(p_times), statistics.median(t_times)
        print(json.dumps({"batch": b, "seqLen": s, "tokens": b * s, "plainMs": p * 1e3, "tracedMs": t * 1e3, "overhead": t / p - 1}), flush=True)


if __name__ == "__main__":
    main()
