"""The per-layer analyses of src/core/analysis in numpy: the reference for `npm run bench` and an
independent check of the TypeScript numbers.

Usage: python bench/numpy_analyses.py <trace-set-dir> [--repeat N] [--datasets I,J,...]
Prints one JSON object: read and analysis seconds (best of N) and the statistics.

Written the way a numpy user who cares about speed would: shard by shard (temporaries stay small and in
cache), every count one np.bincount over fused integer codes. For top-2 with few experts it counts the same
joint histograms as the TypeScript pass (a token's two experts at a layer as one pair code; pair codes of
layers l, l+1 and of consecutive tokens at layer l) and derives every statistic from those small tables, so
both sides run the same algorithm and the time ratio compares the implementations. Other shapes count pairs
of expert ids directly.
"""

import argparse
import json
import math
import os
import time

import numpy as np
import pyarrow as pa
import pyarrow.ipc as ipc

PAIR_CODE_MAX_EXPERTS = 8


def load(folder):
    """The manifest and, per shard, (seq, pos, dataset, experts[n, L, K]) as numpy arrays (zero-copy where Arrow allows)."""
    with open(os.path.join(folder, "manifest.json")) as f:
        m = json.load(f)
    L, K = m["numLayers"], m["topK"]
    shards = []
    for s in m["shards"]:
        with pa.memory_map(os.path.join(folder, s["file"])) as src:
            t = ipc.open_file(src).read_all()
        ex = t.column("experts").combine_chunks()
        shards.append(
            (
                t.column("seq").to_numpy(),
                t.column("pos").to_numpy(),
                t.column("dataset").to_numpy(),
                ex.values.to_numpy().reshape(-1, L, K),
            )
        )
    return m, shards


class Counts:
    def __init__(self, L, E):
        self.tokens = 0
        self.sequences = 0
        self.pairs = 0
        self.sel = np.zeros((L, E), np.int64)
        self.co = np.zeros((L, E, E), np.int64)
        self.tr = np.zeros((max(0, L - 1), E, E), np.int64)
        self.rf = np.zeros(L, np.int64)
        self.ra = np.zeros(L, np.int64)


def analyze(m, shards, keep=None):
    L, E, K = m["numLayers"], m["numExperts"], m["topK"]
    c = Counts(L, E)
    pair = K == 2 and E <= PAIR_CODE_MAX_EXPERTS
    P = E * E
    if pair:
        T = np.zeros(max(0, L - 1) * P * P, np.int64)
        R = np.zeros(L * P * P, np.int64)
        last = np.zeros(P, np.int64)
        offT = (np.arange(max(0, L - 1), dtype=np.int32) * P)[None, :]
    offL = (np.arange(L, dtype=np.int32) * (P if pair else 1))[None, :]
    prev = None  # the previous kept token: (seq, pos, experts[L, K]) for reuse across shard boundaries
    for seq, pos, ds, ex in shards:
        if keep is not None:
            rows = np.isin(ds, keep)
            seq, pos, ex = seq[rows], pos[rows], ex[rows]
        n = len(seq)
        if n == 0:
            continue
        # Sequence starts and consecutive pairs, with the previous shard's last token in front.
        if prev is not None:
            seq2 = np.concatenate(([prev[0]], seq))
            pos2 = np.concatenate(([prev[1]], pos))
            ex2 = np.concatenate((prev[2][None], ex))
        else:
            seq2, pos2, ex2 = seq, pos, ex
        c.tokens += n
        c.sequences += int((seq2[1:] != seq2[:-1]).sum()) + (1 if prev is None else 0)
        consecutive = (seq2[1:] == seq2[:-1]) & (pos2[1:] == pos2[:-1] + 1)
        idx = np.flatnonzero(consecutive)
        c.pairs += len(idx)
        if pair:
            u2 = ex2[:, :, 0].astype(np.int32)
            u2 *= E
            u2 += ex2[:, :, 1]
            u = u2[-n:]
            code = u[:, :-1] + offT
            code *= P
            code += u[:, 1:]
            T += np.bincount(code.ravel(), minlength=T.size)
            last += np.bincount(u[:, -1], minlength=P)
            rc = u2[idx] + offL
            rc *= P
            rc += u2[idx + 1]
            R += np.bincount(rc.ravel(), minlength=R.size)
        else:
            exi = ex.astype(np.int32)
            layer = offL[:, :, None]
            c.sel += np.bincount((layer * E + exi).ravel(), minlength=L * E).reshape(
                L, E
            )
            jj, qq = np.triu_indices(K, 1)
            up = np.bincount(
                ((layer * E + exi[:, :, jj]) * E + exi[:, :, qq]).ravel(),
                minlength=L * E * E,
            ).reshape(L, E, E)
            c.co += up + up.transpose(0, 2, 1)
            lay1 = offL[:, :-1, None, None]
            c.tr += np.bincount(
                ((lay1 * E + exi[:, :-1, :, None]) * E + exi[:, 1:, None, :]).ravel(),
                minlength=max(0, L - 1) * E * E,
            ).reshape(-1, E, E)
            cur, prv = ex2[idx + 1], ex2[idx]
            c.rf += (cur[:, :, 0] == prv[:, :, 0]).sum(axis=0)
            c.ra += (
                (cur[:, :, :, None] == prv[:, :, None, :]).any(axis=(2, 3)).sum(axis=0)
            )
        prev = (seq[-1], pos[-1], ex[-1])
    if pair:
        T5 = T.reshape(
            -1, E, E, E, E
        )  # [l, a, b, c, d]: (a, b) at layer l, (c, d) at l + 1
        c.tr += (
            T5.sum(axis=(2, 4))
            + T5.sum(axis=(2, 3))
            + T5.sum(axis=(1, 4))
            + T5.sum(axis=(1, 3))
        )
        marg = np.concatenate((T5.sum(axis=(3, 4)), last.reshape(1, E, E)))  # [l, a, b]
        c.co += marg + marg.transpose(0, 2, 1)
        c.sel += marg.sum(axis=2) + marg.sum(axis=1)
        R5 = R.reshape(L, E, E, E, E)  # [l, p0, p1, e0, e1]
        c.rf += np.einsum("liaib->l", R5)
        e = np.arange(E)
        p0, p1, e0, e1 = np.meshgrid(e, e, e, e, indexing="ij")
        overlap = (p0 == e0) | (p0 == e1) | (p1 == e0) | (p1 == e1)
        c.ra += (R5 * overlap).sum(axis=(1, 2, 3, 4))
    return c


def entropy_bits(row):
    total = row.sum()
    p = row[row > 0] / total
    return float(-(p * np.log2(p)).sum()) if total else 0.0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("folder")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument(
        "--datasets",
        default="",
        help="comma-separated dataset indices to keep (default: all)",
    )
    args = ap.parse_args()
    keep = (
        np.array([int(x) for x in args.datasets.split(",")], np.uint16)
        if args.datasets
        else None
    )
    read_s, analyze_s = math.inf, math.inf
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        m, shards = load(args.folder)
        t1 = time.perf_counter()
        c = analyze(m, shards, keep)
        t2 = time.perf_counter()
        read_s, analyze_s = min(read_s, t1 - t0), min(analyze_s, t2 - t1)
        del shards
    co, tr = c.co.ravel(), c.tr.ravel()
    pairs = c.pairs
    out = {
        "tokens": int(c.tokens),
        "sequences": int(c.sequences),
        "decodeSeconds": read_s,
        "analysisSeconds": analyze_s,
        "numpy": np.__version__,
        "consecutivePairs": int(pairs),
        "entropyBits": [entropy_bits(r) for r in c.sel],
        "reuseFirst": [float(x) / pairs if pairs else 0.0 for x in c.rf],
        "reuseAny": [float(x) / pairs if pairs else 0.0 for x in c.ra],
        "selectionsSum": int(c.sel.sum()),
        "coactivationChecksum": int(
            (co * np.arange(co.size, dtype=np.int64) % 1000003).sum()
        ),
        "transitionsChecksum": int(
            (tr * np.arange(tr.size, dtype=np.int64) % 1000003).sum()
        ),
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
