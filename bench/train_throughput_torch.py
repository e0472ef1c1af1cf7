"""The InterLayer model's training step in PyTorch CUDA, as the reference for bench/train-throughput.ts.

Same model and step as src/ml (interLayerModel.ts, adamw.ts): mean of the K expert embeddings + the layer
embedding, dropout, nn.LSTM over the C context layers, dropout, a linear head per horizon step over E experts,
mean sigmoid BCE against multi-hot targets, global-norm clipping, AdamW (decay on weight matrices only), batch 256,
float32 (no AMP). Ids are random windows of the same shape; the step does not depend on their values.

    python3 bench/train_throughput_torch.py [--speclab speclab.json] [--device cuda|cpu] [--modes eager,tf32,graph,compile]
        [--windows 51200] [--batch 256] ...

Prints samples/s per mode: eager with TF32 off (strict float32, like WGSL), eager with PyTorch's defaults (cuDNN may
use TF32), the whole step as one CUDA graph, and torch.compile of the model and loss; on the CPU, eager (and compile
if asked). Given SpecLab's JSON (`bench --train --json` lines or bench/train-throughput.ts's object), the ratio of
every SpecLab figure to every reference.
"""

import argparse
import json
import sys
import time

import torch
from torch import nn


class InterLayer(nn.Module):
    def __init__(self, L, E, K, H, d, u, dropout):
        super().__init__()
        self.K, self.H, self.E = K, H, E
        self.expert = nn.Embedding(E, d)
        self.layer = nn.Embedding(L, d)
        self.lstm = nn.LSTM(d, u, batch_first=True)
        self.head = nn.Linear(u, H * E)
        self.drop = nn.Dropout(dropout)

    def forward(self, ctx_experts, ctx_layers):
        B, C, _ = ctx_experts.shape
        x = self.expert(ctx_experts).mean(2) + self.layer(ctx_layers)  # [B, C, d]
        _, (h, _) = self.lstm(self.drop(x))
        return self.head(self.drop(h[-1])).view(B, self.H, self.E)


def run(args, mode):
    """Samples/s of one epoch loop per mode: eager (TF32 off), tf32 (eager, PyTorch's TF32 defaults), graph (the
    whole step, forward to AdamW, captured once as a CUDA graph and replayed), compile (torch.compile of the model
    and loss; backward, clipping and AdamW eager)."""
    cuda = args.device == "cuda"
    tf32 = mode == "tf32"
    if cuda:
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = tf32
    dev = torch.device(args.device)
    g = torch.Generator(device="cpu").manual_seed(0)
    n, C, K, H, E, L = (
        args.windows,
        args.context,
        args.topk,
        args.horizon,
        args.experts,
        args.layers,
    )
    ctx_e = torch.randint(0, E, (n, C, K), generator=g).to(dev)
    ctx_l = torch.randint(0, L, (n, C), generator=g).to(dev)
    tgt = torch.randint(0, E, (n, H, K), generator=g).to(dev)
    torch.manual_seed(0)
    model = InterLayer(L, E, K, H, args.embedding, args.hidden, 0.1).to(dev)
    is_decay = lambda name: (
        name.endswith("weight") and "lstm" in name or name == "head.weight"
    )  # noqa: E731
    decay = [p for name, p in model.named_parameters() if is_decay(name)]
    rest = [p for name, p in model.named_parameters() if not is_decay(name)]
    groups = [
        {"params": decay, "weight_decay": 0.01},
        {"params": rest, "weight_decay": 0.0},
    ]
    opt = torch.optim.AdamW(groups, lr=1e-3, capturable=mode == "graph")
    loss_fn = nn.BCEWithLogitsLoss()
    B = args.batch
    ones = torch.ones(B, H, K, device=dev)

    def loss_of(e, l, t):
        labels = torch.zeros(t.shape[0], H, E, device=dev).scatter_add_(
            2, t, ones[: t.shape[0]]
        )
        return loss_fn(model(e, l), labels)

    forward = torch.compile(loss_of) if mode == "compile" else loss_of

    def step(idx):
        loss = forward(ctx_e[idx], ctx_l[idx], tgt[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        return loss.detach()

    sync = torch.cuda.synchronize if cuda else (lambda: None)
    replay = None
    if mode == "graph":
        static_idx = torch.arange(B, device=dev)
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(
            side
        ):  # warm-up outside the graph (cuDNN plans, AdamW state)
            for _ in range(3):
                step(static_idx)
        torch.cuda.current_stream().wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        opt.zero_grad(set_to_none=True)
        with torch.cuda.graph(graph):
            loss = forward(ctx_e[static_idx], ctx_l[static_idx], tgt[static_idx])
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
        static_loss = loss

        def replay(idx):
            static_idx.copy_(idx)
            graph.replay()
            return static_loss

    # Full batches only (the graph has one batch size); the figure counts the windows trained.
    per_epoch = n // B * B

    def epoch():
        perm = torch.randperm(n, device=dev)
        loss_sum = torch.zeros((), device=dev)
        for start in range(0, per_epoch, B):
            idx = perm[start : start + B]
            loss_sum += (replay or step)(idx) * B
        return (loss_sum / per_epoch).item()

    rates, losses = [], []
    for _ in range(args.epochs):
        sync()
        t0 = time.perf_counter()
        losses.append(epoch())
        sync()
        rates.append(per_epoch / (time.perf_counter() - t0))
    r = sorted(rates[1:])
    m = len(r) // 2
    return {
        "mode": mode,
        "samplesPerSecond": r[m] if len(r) % 2 else (r[m - 1] + r[m]) / 2,
        "epochs": rates,
        "trainLoss": losses,
        "tf32": tf32,
    }


MODE_NAMES = {
    "eager": "PyTorch eager fp32 (TF32 off)",
    "tf32": "PyTorch eager, cuDNN TF32 (default)",
    "graph": "PyTorch CUDA graph fp32",
    "compile": "PyTorch torch.compile fp32",
}


def speclab_rows(path):
    """SpecLab figures to compare: bench/train-throughput.ts's JSON or `bench --train --json` lines."""
    rows = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line.startswith("{"):
                continue
            j = json.loads(line)
            if j.get("bench") == "train":
                rows.append(
                    (
                        f"SpecLab {j['model']} {j['path']} ({j['backend']}{', ' + j['adapter'] if j.get('adapter') else ''})",
                        j["samplesPerSecond"],
                    )
                )
            else:
                for p, r in j.get("results", {}).items():
                    rows.append(
                        (
                            f"SpecLab tfjs WebGPU {p} ({j['adapter']})",
                            r["samplesPerSecond"],
                        )
                    )
    return rows


def main():
    p = argparse.ArgumentParser()
    for name, default in [
        ("windows", 256 * 200),
        ("batch", 256),
        ("hidden", 256),
        ("embedding", 32),
        ("context", 3),
        ("horizon", 2),
        ("experts", 8),
        ("layers", 32),
        ("topk", 2),
        ("epochs", 4),
    ]:
        p.add_argument(f"--{name}", type=int, default=default)
    p.add_argument("--device", default="cuda", choices=["cuda", "cpu"])
    p.add_argument(
        "--threads",
        type=int,
        default=0,
        help="CPU: torch threads (0: PyTorch's default)",
    )
    p.add_argument(
        "--modes",
        default="",
        help="comma-separated of eager,tf32,graph,compile (default: all on cuda, eager on cpu)",
    )
    p.add_argument(
        "--tfjs",
        "--speclab",
        dest="speclab",
        action="append",
        default=[],
        help="SpecLab JSON to compare (repeatable)",
    )
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    modes = [
        m
        for m in (
            args.modes
            or ("eager,tf32,graph,compile" if args.device == "cuda" else "eager")
        ).split(",")
        if m
    ]
    for m in modes:
        if m not in MODE_NAMES or (args.device == "cpu" and m in ("tf32", "graph")):
            p.error(f"mode {m!r} is not available on {args.device}")
    results = {}
    for m in modes:
        try:
            results[m] = run(args, m)
        except (
            Exception
        ) as e:  # one mode failing (e.g. no compiler) still reports the others
            results[m] = {"mode": m, "error": f"{type(e).__name__}: {e}"}
        print(
            f"{m}: {results[m].get('samplesPerSecond', results[m].get('error'))}",
            file=sys.stderr,
            flush=True,
        )
    out = {
        "device": torch.cuda.get_device_name()
        if args.device == "cuda"
        else f"cpu ({torch.get_num_threads()} threads)",
        "torch": torch.__version__,
        "shape": {
            k: getattr(args, k)
            for k in (
                "layers",
                "experts",
                "topk",
                "context",
                "horizon",
                "batch",
                "hidden",
                "embedding",
                "windows",
            )
        },
        "results": results,
    }
    print(json.dumps(out))
    refs = [
        (m, r["samplesPerSecond"])
        for m, r in results.items()
        if "samplesPerSecond" in r
    ]
    rows = [(MODE_NAMES[m], v) for m, v in refs]
    for f in args.speclab:
        rows += speclab_rows(f)
    print(
        f"\n{'path':64s} {'samples/s':>12s} "
        + " ".join(f"{'x ' + m:>10s}" for m, _ in refs)
    )
    for name, v in rows:
        print(
            f"{name:64s} {v:12.0f} " + " ".join(f"{v / ref:10.3f}" for _, ref in refs)
        )


if __name__ == "__main__":
    main()
