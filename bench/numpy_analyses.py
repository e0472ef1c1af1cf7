"""The per-layer analyses of src/core/analysis in numpy: the reference for `npm run bench` and an
independent check of the TypeScript numbers in tests.

Usage: python bench/numpy_analyses.py <trace-set-dir> [--repeat N]
Prints one JSON object: decode and analysis seconds (best of N) and the statistics.
"""
import argparse
import json
import math
import os
import time

import numpy as np
import pyarrow as pa
import pyarrow.ipc as ipc


def load(folder):
    with open(os.path.join(folder, "manifest.json")) as f:
        m = json.load(f)
    L, K = m["numLayers"], m["topK"]
    seqs, poss, exs = [], [], []
    for s in m["shards"]:
        with pa.memory_map(os.path.join(folder, s["file"])) as src:
            t = ipc.open_file(src).read_all()
        seqs.append(t.column("seq").to_numpy())
        poss.append(t.column("pos").to_numpy())
        ex = t.column("experts").combine_chunks()
        exs.append(ex.values.to_numpy().reshape(-1, L, K))
    return m, np.concatenate(seqs), np.concatenate(poss), np.concatenate(exs)


def analyze(m, seq, pos, ex):
    """Counts with one np.bincount per statistic over fused integer codes (the fast numpy idiom)."""
    L, E, K = m["numLayers"], m["numExperts"], m["topK"]
    n = len(seq)
    # int32 codes keep the temporaries small; bincount widens once.
    ex = ex.astype(np.int32)
    layer = np.arange(L, dtype=np.int32)[None, :, None]
    selections = np.bincount((layer * E + ex).ravel(), minlength=L * E).reshape(L, E)
    # Co-activation: every ordered pair (j, q), j != q, of one token-layer's top-k, as code (l, e, f).
    lay2 = np.arange(L, dtype=np.int32)[None, :]
    co = np.zeros(L * E * E, dtype=np.int64)
    tr = np.zeros(max(0, L - 1) * E * E, dtype=np.int64)
    lay1 = np.arange(L - 1, dtype=np.int32)[None, :]
    if K == 1:
        pass
    else:
        jj, qq = np.triu_indices(K, 1)
        a = ex[:, :, jj]  # (n, L, P)
        b = ex[:, :, qq]
        up = np.bincount(((lay2[:, :, None] * E + a) * E + b).ravel(), minlength=L * E * E).reshape(L, E, E)
        co = (up + up.transpose(0, 2, 1)).ravel()
    # Transitions: all K x K pairs between layer l and l+1 in one bincount.
    src = ex[:, :-1, :, None]
    dst = ex[:, 1:, None, :]
    tr = np.bincount(((lay1[:, :, None, None] * E + src) * E + dst).ravel(), minlength=max(0, L - 1) * E * E)
    consecutive = (seq[1:] == seq[:-1]) & (pos[1:] == pos[:-1] + 1)
    idx = np.nonzero(consecutive)[0]
    cur, prev = ex[idx + 1], ex[idx]
    reuse_first = (cur[:, :, 0] == prev[:, :, 0]).sum(axis=0)
    reuse_any = (cur[:, :, :, None] == prev[:, :, None, :]).any(axis=(2, 3)).sum(axis=0)
    return selections, co, tr, reuse_first, reuse_any, int(consecutive.sum())


def entropy_bits(row):
    total = row.sum()
    p = row[row > 0] / total
    return float(-(p * np.log2(p)).sum()) if total else 0.0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("folder")
    ap.add_argument("--repeat", type=int, default=1)
    args = ap.parse_args()
    decode_s, analyze_s = math.inf, math.inf
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        m, seq, pos, ex = load(args.folder)
        t1 = time.perf_counter()
        sel, co, tr, rf, ra, pairs = analyze(m, seq, pos, ex)
        t2 = time.perf_counter()
        decode_s, analyze_s = min(decode_s, t1 - t0), min(analyze_s, t2 - t1)
    out = {
        "tokens": int(len(seq)),
        "decodeSeconds": decode_s,
        "analysisSeconds": analyze_s,
        "consecutivePairs": pairs,
        "entropyBits": [entropy_bits(r) for r in sel],
        "reuseFirst": [float(x) / pairs if pairs else 0.0 for x in rf],
        "reuseAny": [float(x) / pairs if pairs else 0.0 for x in ra],
        "selectionsSum": int(sel.sum()),
        "coactivationChecksum": int((co * np.arange(co.size, dtype=np.int64) % 1000003).sum()),
        "transitionsChecksum": int((tr * np.arange(tr.size, dtype=np.int64) % 1000003).sum()),
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
