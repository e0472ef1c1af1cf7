#!/usr/bin/env python3
"""Converts the shared real traces into the routing layouts other tools emit, for the importer tests.

    .venv/bin/python scripts/fixtures-layouts.py OUT_DIR [--traces ../shared/traces-real] [--deepseek-files 8]

Nothing here invents routing: every expert id (and Mixtral's weights) comes from the real traces
(Mixtral-8x7B JSONL, DeepSeek-V2-Lite hook CSVs); only the container changes. Written at test time into a
temporary folder, never into the repository. Layouts (see docs/trace-format.md, "Importing"):

  vllm/mixtral.jsonl, vllm/deepseek.jsonl     one request per line, routed_experts [tokens][layers][top_k]
  vllm-npy/mixtral_p0.npy, mixtral_p1.npy     [tokens, layers, top_k] int16; vllm-npz/mixtral.npz (one array each)
  sglang/mixtral.jsonl                         OpenAI style choices[0].sgl_ext.routed_experts (--layers 32 --top-k 2)
  sglang/deepseek.jsonl                        meta_info.routed_experts with dense layer 0 as -1 (--layers 27 --top-k 6)
  hf/mixtral/pass_N.safetensors                [seq, E] float32 logits per problem, top_k 2, norm_topk_prob true
  hf/deepseek/pass_0.safetensors, pass_1...    [batch, seq, E] bfloat16 / float16, right-padded, attention_mask
  flame/mixtral/samples/00N.parquet, actives/iter_0001/layer_NN.parquet

Logits are built so that softmax + top-k + renormalisation gives back the recorded experts in their recorded
order (and, for Mixtral, the recorded weights to within 1e-4): log(weight) for the chosen experts, nudged by
1e-4 per rank so ties keep their order, far below for the rest. DeepSeek has no weights: rank r gets -r.
"""

from __future__ import annotations

import argparse
import base64
import csv
import json
import re
import shutil
import struct
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq


def natural_key(s: str) -> list:
    return [int(p) if p.isdigit() else p for p in re.split(r"(\d+)", s)]


def mixtral(traces: Path) -> tuple[list[np.ndarray], list[np.ndarray], list[dict]]:
    """Per problem: experts [T, 32, 2], weights [T, 32, 2] of the complete tokens, and the prompt/output record."""
    recs: dict = defaultdict(dict)
    for line in (traces / "mixtral-8x7b-instruct-fp8/gsm8k_2_routing.jsonl").read_text().splitlines():
        if line.strip():
            r = json.loads(line)
            recs[(r["problem_id"], r["token_idx"])][r["layer"]] = (r["experts"], r["gating_probs"])
    outs = {}
    for line in (traces / "mixtral-8x7b-instruct-fp8/gsm8k_2_outputs.jsonl").read_text().splitlines():
        if line.strip():
            o = json.loads(line)
            outs[o["problem_id"]] = o
    ex, wt, meta = [], [], []
    for p in sorted({k[0] for k in recs}):
        toks = sorted(t for (q, t) in recs if q == p and len(recs[(q, t)]) == 32)
        ex.append(np.array([[recs[(p, t)][l][0] for l in range(32)] for t in toks], dtype=np.int16))
        wt.append(np.array([[recs[(p, t)][l][1] for l in range(32)] for t in toks], dtype=np.float32))
        meta.append(outs.get(p, {"problem_id": p}))
    return ex, wt, meta


def deepseek(traces: Path, n_files: int) -> tuple[list[np.ndarray], list[str]]:
    """Per prompt file: experts [T, 26, 6] (MoE layers 1..26) of the tokens every layer reaches."""
    d = traces / "deepseek-v2-lite-chat/puffin-1-100"
    names = sorted((p.name for p in d.iterdir() if p.suffix == ".csv"), key=natural_key)[:n_files]
    out = []
    for n in names:
        rows: dict = defaultdict(list)
        with open(d / n, newline="", encoding="utf-8") as f:
            for r in csv.DictReader(f):
                rows[int(r["Layer ID"])].append(json.loads(r["Activated Expert IDs"]))
        layers = sorted(rows)
        assert layers == list(range(1, 27)), (n, layers)
        t = min(len(rows[l]) for l in layers)
        out.append(np.array([[rows[l][i] for l in layers] for i in range(t)], dtype=np.int16))
    return out, names


def write_safetensors(path: Path, tensors: dict[str, tuple[str, np.ndarray]], metadata: dict[str, str]) -> None:
    """Minimal safetensors writer: {name: (dtype, little-endian array bytes)}; BF16 given as uint16 bits."""
    header: dict = {"__metadata__": metadata}
    blobs, off = [], 0
    for name, (dtype, a) in tensors.items():
        b = np.ascontiguousarray(a).astype(a.dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": dtype, "shape": list(a.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    path.write_bytes(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def logits_from_topk(experts: np.ndarray, weights: np.ndarray | None, num_experts: int) -> np.ndarray:
    """[T, L, E] float32 logits whose softmax top-k is `experts` in order (and renormalises to `weights`)."""
    T, L, K = experts.shape
    if weights is None:
        chosen = -np.arange(K, dtype=np.float32)[None, None, :].repeat(T, 0).repeat(L, 1)
        floor = -20.0
    else:
        chosen = np.log(weights.astype(np.float64)) - 1e-4 * np.arange(K)[None, None, :]
        floor = chosen.min() - 30.0
    out = np.full((T, L, num_experts), floor, dtype=np.float64)
    np.put_along_axis(out, experts.astype(np.int64), chosen, axis=2)
    return out.astype(np.float32)


def bf16_bits(a: np.ndarray) -> np.ndarray:
    """float32 -> bfloat16 bit patterns (round to nearest even)."""
    u = a.astype(np.float32).view(np.uint32).astype(np.uint64)
    return ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out")
    ap.add_argument("--traces", default=str(Path(__file__).resolve().parents[1] / ".." / "shared" / "traces-real"))
    ap.add_argument("--deepseek-files", type=int, default=8)
    a = ap.parse_args()
    traces, out = Path(a.traces), Path(a.out)
    mx, mw, meta = mixtral(traces)
    ds, ds_names = deepseek(traces, a.deepseek_files)

    # vLLM JSON Lines: one request per line.
    (out / "vllm").mkdir(parents=True, exist_ok=True)
    with open(out / "vllm/mixtral.jsonl", "w") as f:
        for e, m in zip(mx, meta):
            rec = {"request_id": f"gsm8k-{m['problem_id']}", "prompt": m.get("prompt"), "text": m.get("generated"), "routed_experts": e.tolist()}
            f.write(json.dumps(rec) + "\n")
    with open(out / "vllm/deepseek.jsonl", "w") as f:
        for e, n in zip(ds, ds_names):
            f.write(json.dumps({"request_id": n, "routed_experts": e.tolist()}) + "\n")

    # NumPy: one .npy per request, and one .npz holding both.
    (out / "vllm-npy").mkdir(exist_ok=True)
    (out / "vllm-npz").mkdir(exist_ok=True)
    for i, e in enumerate(mx):
        np.save(out / f"vllm-npy/mixtral_p{i}.npy", e)
    np.savez(out / "vllm-npz/mixtral.npz", **{f"p{i}": e.astype(np.int32) for i, e in enumerate(mx)})

    # SGLang: base64 little-endian int32 [tokens, layers, top_k].
    (out / "sglang").mkdir(exist_ok=True)
    b64 = lambda a: base64.b64encode(np.ascontiguousarray(a, dtype="<i4").tobytes()).decode()
    with open(out / "sglang/mixtral.jsonl", "w") as f:
        for e, m in zip(mx, meta):
            f.write(json.dumps({"id": f"gsm8k-{m['problem_id']}", "object": "text_completion", "choices": [{"index": 0, "text": m.get("generated"), "sgl_ext": {"routed_experts": b64(e)}}]}) + "\n")
    with open(out / "sglang/deepseek.jsonl", "w") as f:
        for e in ds:
            full = np.concatenate([np.full((e.shape[0], 1, 6), -1, dtype=np.int32), e.astype(np.int32)], axis=1)  # layer 0 is dense
            f.write(json.dumps({"text": "", "meta_info": {"id": "x", "prompt_tokens": int(e.shape[0]), "routed_experts": b64(full)}}) + "\n")

    # HF router logits: one safetensors per forward pass.
    (out / "hf/mixtral").mkdir(parents=True, exist_ok=True)
    for i, (e, w) in enumerate(zip(mx, mw)):
        lg = logits_from_topk(e, w, 8)  # [T, 32, 8]
        write_safetensors(out / f"hf/mixtral/pass_{i}.safetensors", {f"router_logits.{l}": ("F32", lg[:, l, :]) for l in range(32)}, {"top_k": "2", "norm_topk_prob": "true"})
    (out / "hf/deepseek").mkdir(parents=True, exist_ok=True)
    half = len(ds) // 2
    for p, batch in enumerate([ds[:half], ds[half:]]):
        S = max(x.shape[0] for x in batch)
        B = len(batch)
        lg = np.zeros((B, S, 26, 64), dtype=np.float32)
        mask = np.zeros((B, S), dtype=np.int64)
        for b, x in enumerate(batch):
            lg[b, : x.shape[0]] = logits_from_topk(x, None, 64)
            mask[b, : x.shape[0]] = 1
        if p == 0:
            t = {f"router_logits.{l + 1}": ("BF16", bf16_bits(lg[:, :, l, :])) for l in range(26)}
        else:
            t = {f"router_logits.{l + 1}": ("F16", lg[:, :, l, :].astype(np.float16)) for l in range(26)}
        t["attention_mask"] = ("I64", mask)
        write_safetensors(out / f"hf/deepseek/pass_{p}.safetensors", t, {"top_k": "6", "norm_topk_prob": "false"})

    # FLAME-MoE: samples (one file per sequence) and actives/<iter>/layer_NN.parquet.
    root = out / "flame/mixtral"
    (root / "samples").mkdir(parents=True, exist_ok=True)
    (root / "actives/iter_0001").mkdir(parents=True, exist_ok=True)
    for i, e in enumerate(mx):
        pq.write_table(pa.table({"token_id": pa.array(np.full(e.shape[0], -1, dtype=np.int32))}), root / f"samples/{i:03d}.parquet")
    allx, allw = np.concatenate(mx), np.concatenate(mw)
    for l in range(32):
        idx = pa.FixedSizeListArray.from_arrays(pa.array(allx[:, l, :].reshape(-1), pa.int16()), 2)
        sc = pa.FixedSizeListArray.from_arrays(pa.array(allw[:, l, :].reshape(-1).astype(np.float16), pa.float16()), 2)
        pq.write_table(pa.table({"scores": sc, "indices": idx}), root / f"actives/iter_0001/layer_{l:02d}.parquet")
    # Malformed on purpose (for the error tests): one layer whose rows hold one index fewer from row 10 on.
    bad = out / "malformed/flame-k"
    shutil.copytree(root, bad)
    ix = [list(map(int, r)) for r in allx[:, 7, :]]
    sw = [list(map(float, r)) for r in allw[:, 7, :]]
    ix[10:], sw[10:] = [r[:1] for r in ix[10:]], [r[:1] for r in sw[10:]]
    pq.write_table(pa.table({"scores": pa.array(sw, pa.list_(pa.float16())), "indices": pa.array(ix, pa.list_(pa.int16()))}), bad / "actives/iter_0001/layer_07.parquet")
    print(json.dumps({"out": str(out), "mixtral_tokens": int(sum(x.shape[0] for x in mx)), "deepseek_files": ds_names}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
