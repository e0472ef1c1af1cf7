"""The InterLayer model's training step in PyTorch CUDA, as the reference for bench/train-throughput.ts.

Same model and step as src/ml (interLayerModel.ts, adamw.ts): mean of the K expert embeddings + the layer
embedding, dropout, nn.LSTM over the C context layers, dropout, a linear head per horizon step over E experts,
mean sigmoid BCE against multi-hot targets, global-norm clipping, AdamW (decay on weight matrices only), batch 256,
float32 (no AMP). Ids are random windows of the same shape; the step does not depend on their values.

    python3 bench/train_throughput_torch.py [--tfjs tfjs.json] [--windows 51200] [--batch 256] ...

Prints samples/s with TF32 off (strict float32, like WGSL) and with PyTorch's defaults (cuDNN may use TF32), and,
given the tfjs benchmark's JSON, the ratios of the WebGPU paths to each.
"""

import argparse
import json
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


def run(args, tf32):
    torch.backends.cuda.matmul.allow_tf32 = tf32
    torch.backends.cudnn.allow_tf32 = tf32
    dev = torch.device("cuda")
    g = torch.Generator(device="cpu").manual_seed(0)
    n, C, K, H, E, L = args.windows, args.context, args.topk, args.horizon, args.experts, args.layers
    ctx_e = torch.randint(0, E, (n, C, K), generator=g).to(dev)
    ctx_l = torch.randint(0, L, (n, C), generator=g).to(dev)
    tgt = torch.randint(0, E, (n, H, K), generator=g).to(dev)
    model = InterLayer(L, E, K, H, args.embedding, args.hidden, 0.1).to(dev)
    decay = [p for name, p in model.named_parameters() if name.endswith("weight") and "lstm" in name or name == "head.weight"]
    rest = [p for name, p in model.named_parameters() if not (name.endswith("weight") and "lstm" in name or name == "head.weight")]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01}, {"params": rest, "weight_decay": 0.0}], lr=1e-3)
    loss_fn = nn.BCEWithLogitsLoss()
    B = args.batch

    def epoch():
        perm = torch.randperm(n, device=dev)
        loss_sum = torch.zeros((), device=dev)
        for start in range(0, n, B):
            idx = perm[start : start + B]
            labels = torch.zeros(idx.numel(), H, E, device=dev).scatter_add_(2, tgt[idx], torch.ones(idx.numel(), H, K, device=dev))
            logits = model(ctx_e[idx], ctx_l[idx])
            loss = loss_fn(logits, labels)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            loss_sum += loss.detach() * idx.numel()
        return (loss_sum / n).item()

    rates = []
    for e in range(args.epochs):
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        epoch()
        torch.cuda.synchronize()
        rates.append(n / (time.perf_counter() - t0))
    r = sorted(rates[1:])
    m = len(r) // 2
    return {"samplesPerSecond": r[m] if len(r) % 2 else (r[m - 1] + r[m]) / 2, "epochs": rates, "tf32": tf32}


def main():
    p = argparse.ArgumentParser()
    for name, default in [("windows", 256 * 200), ("batch", 256), ("hidden", 256), ("embedding", 32), ("context", 3), ("horizon", 2), ("experts", 8), ("layers", 32), ("topk", 2), ("epochs", 4)]:
        p.add_argument(f"--{name}", type=int, default=default)
    p.add_argument("--tfjs", help="JSON printed by bench/train-throughput.ts")
    args = p.parse_args()
    strict = run(args, False)
    default = run(args, True)
    out = {
        "device": torch.cuda.get_device_name(),
        "torch": torch.__version__,
        "defaults": {"matmul.allow_tf32": False, "cudnn.allow_tf32": True},
        "fp32": strict,
        "tf32": default,
    }
    print(json.dumps(out))
    rows = [("PyTorch CUDA fp32 (TF32 off)", strict["samplesPerSecond"]), ("PyTorch CUDA, TF32 on (cuDNN default)", default["samplesPerSecond"])]
    if args.tfjs:
        with open(args.tfjs) as f:
            tj = json.load(f)
        for path, r in tj["results"].items():
            rows.append((f"tfjs WebGPU {path} ({tj['adapter']})", r["samplesPerSecond"]))
    ref = strict["samplesPerSecond"]
    print(f"\n{'path':60s} {'samples/s':>12s} {'x fp32 torch':>13s} {'x tf32 torch':>13s}")
    for name, v in rows:
        print(f"{name:60s} {v:12.0f} {v / ref:13.3f} {v / default['samplesPerSecond']:13.3f}")


if __name__ == "__main__":
    main()
