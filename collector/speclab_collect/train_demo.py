"""`speclab-collect train-demo`: train the small Mixtral-architecture demo model on text every machine has.

Three domains, so that experts can specialise: Python's standard library sources (`python`), the license texts in
/usr/share/common-licenses (`licenses`) and English manual page sources in /usr/share/man (`manpages`). Domains
that are missing on a machine are left out (at least two are needed). Every file used is recorded with its
SHA-256 in `corpus.json`; a few files per domain are held out of training, and short excerpts of them are the
demo's evaluation texts (`eval-<domain>.jsonl`, read by `speclab-collect demo`).

Tokens are bytes (collector/speclab_collect/tokenizer.py). Training is seeded: with the same corpus, seed,
thread count and torch version the weights come out the same. Batches hold the same number of windows from
each domain. The loss is the language-model loss plus Mixtral's load-balancing loss (so experts stay in use).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import math
import os
import platform
import sys
import sysconfig
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from . import __version__, tokenizer

MODEL_NAME = "speclab-demo/mixtral-tiny-bytes"
# The shape: Mixtral's 8 experts, top-2, over 6 layers; small enough that the bf16 weights are ~4 MB.
DEMO_MODEL_CONFIG: dict[str, Any] = {
    "vocab_size": tokenizer.VOCAB_SIZE,
    "hidden_size": 128,
    "intermediate_size": 96,
    "num_hidden_layers": 6,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "num_local_experts": 8,
    "num_experts_per_tok": 2,
    "max_position_embeddings": 1024,
    "rope_theta": 10000.0,
    "router_aux_loss_coef": 0.02,
    "tie_word_embeddings": False,
    "bos_token_id": tokenizer.BOS_ID,
    "eos_token_id": tokenizer.EOS_ID,
    "pad_token_id": tokenizer.PAD_ID,
}
DOMAINS = ("python", "licenses", "manpages")
MAX_FILES = {"python": 300, "licenses": 64, "manpages": 300}  # per domain, after hold-out
HELD_OUT = {"python": 4, "licenses": 3, "manpages": 4}  # files per domain kept out of training for evaluation
MIN_BYTES, MAX_BYTES = 1_000, 200_000  # files outside this size range are skipped
EVAL_EXCERPT_BYTES = 260  # per held-out file: about this many bytes from the middle, cut at line ends


class CorpusError(ValueError):
    pass


@dataclass
class CorpusFile:
    domain: str
    rel: str  # path under the domain's root
    sha256: str  # of the text used (for man pages: the decompressed source)
    nbytes: int
    data: bytes = field(repr=False, default=b"")


def _key(path: str) -> str:
    """Order files by a hash of their path: an even spread over a folder tree, the same on every machine."""
    return hashlib.sha256(path.encode()).hexdigest()


def _python_files(root: Path) -> list[Path]:
    skip = {"test", "tests", "idle_test", "site-packages", "__pycache__", "lib2to3", "turtledemo"}
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in skip)
        out += [Path(dirpath, f) for f in filenames if f.endswith(".py")]
    return out


def _read_text_file(p: Path) -> bytes | None:
    try:
        data = p.read_bytes()
    except OSError:
        return None
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return None  # bytes are tokens, but a text with broken UTF-8 is not worth learning from
    return data


def _read_man(p: Path) -> bytes | None:
    try:
        data = gzip.decompress(p.read_bytes()) if p.suffix == ".gz" else p.read_bytes()
    except (OSError, EOFError, gzip.BadGzipFile):
        return None
    if data.startswith(b".so "):  # a one-line alias of another page
        return None
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return data


def default_roots() -> dict[str, Path]:
    return {
        "python": Path(sysconfig.get_paths()["stdlib"]),
        "licenses": Path("/usr/share/common-licenses"),
        "manpages": Path("/usr/share/man"),
    }


def find_corpus(roots: dict[str, Path]) -> tuple[dict[str, list[CorpusFile]], dict[str, list[CorpusFile]]]:
    """(training files, held-out files) per domain present on this machine, in a machine-independent order."""
    listers: dict[str, Callable[[Path], list[Path]]] = {
        "python": _python_files,
        "licenses": lambda r: sorted({p.resolve() for p in r.iterdir() if p.is_file()}),
        # English sections 1 and 8 only (translations live in man/<lang>/).
        # gcloud_* pages (thousands of near-copies where the Google Cloud SDK is installed) would crowd out the rest.
        "manpages": lambda r: [
            p
            for sec in ("man1", "man8")
            if (r / sec).is_dir()
            for p in (r / sec).iterdir()
            if p.is_file() and not p.is_symlink() and not p.name.startswith("gcloud")
        ],
    }
    readers = {"python": _read_text_file, "licenses": _read_text_file, "manpages": _read_man}
    train: dict[str, list[CorpusFile]] = {}
    held: dict[str, list[CorpusFile]] = {}
    for domain in DOMAINS:
        root = roots.get(domain)
        if root is None or not root.is_dir():
            continue
        paths = sorted(listers[domain](root), key=lambda p: _key(p.relative_to(root).as_posix() if domain != "licenses" else p.name))
        seen: set[str] = set()
        files: list[CorpusFile] = []
        want = HELD_OUT[domain] + MAX_FILES[domain]
        for p in paths:
            try:
                size = p.stat().st_size
            except OSError:
                continue
            if domain != "manpages" and not MIN_BYTES <= size <= MAX_BYTES:
                continue
            data = readers[domain](p)
            if data is None or not MIN_BYTES <= len(data) <= MAX_BYTES:
                continue
            digest = hashlib.sha256(data).hexdigest()
            if digest in seen:  # e.g. GPL and GPL-3 are the same text
                continue
            seen.add(digest)
            rel = p.name if domain == "licenses" else p.relative_to(root).as_posix()
            files.append(CorpusFile(domain, rel, digest, len(data), data))
            if len(files) >= want:
                break
        if len(files) < HELD_OUT[domain] + 1:
            continue
        held[domain] = files[: HELD_OUT[domain]]
        train[domain] = files[HELD_OUT[domain] :]
    if len(train) < 2:
        raise CorpusError(
            f"found text for {sorted(train) or 'no'} domain(s) under {', '.join(str(v) for v in roots.values())}; "
            "the demo model needs at least two of python, licenses, manpages"
        )
    return train, held


def eval_excerpt(data: bytes, nbytes: int = EVAL_EXCERPT_BYTES) -> str:
    """About `nbytes` of whole lines from the middle of a text, without leading/trailing blank lines."""
    text = data.decode("utf-8")
    lines = text.splitlines(keepends=True)
    start = len(lines) // 2
    out: list[str] = []
    size = 0
    for line in lines[start:]:
        if size + len(line.encode()) > nbytes and out:
            break
        out.append(line)
        size += len(line.encode())
    return "".join(out).strip("\n")


def corpus_roots(corpus: str | None) -> tuple[dict[str, Path], dict[str, str]]:
    """(roots to read, the roots the files originally came from) for this machine or a copied corpus."""
    if corpus is None:
        roots = default_roots()
        return roots, {d: str(p) for d, p in roots.items()}
    base = Path(corpus)
    try:
        origin = json.loads((base / "origin.json").read_text(encoding="utf-8"))["roots"]
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise CorpusError(f"--corpus {corpus}: not a corpus copy (origin.json unreadable: {e})") from None
    return {d: base / d for d in DOMAINS}, {d: str(origin.get(d, base / d)) for d in DOMAINS}


def copy_corpus(dest: str | Path) -> dict[str, int]:
    """Copy the files train-demo would use (training and held out) to `dest`, to train on another machine."""
    import shutil

    roots = default_roots()
    train, held = find_corpus(roots)
    dest = Path(dest)
    counts = {}
    for d in train:
        for f in held[d] + train[d]:
            src = roots[d] / f.rel if d != "licenses" else next(p for p in roots[d].iterdir() if p.is_file() and p.resolve().name == f.rel)
            target = dest / d / f.rel
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, target)
        counts[d] = len(held[d]) + len(train[d])
    (dest / "origin.json").write_text(json.dumps({"roots": {d: str(roots[d]) for d in train}}, indent=1) + "\n")
    return counts


class BatchSampler:
    """Windows of `seq_len` bytes (with <s> first), the same number from each domain per batch, seeded."""

    def __init__(self, train: dict[str, list[CorpusFile]], seq_len: int, seed: int) -> None:
        self.domains = sorted(train)
        self.seq_len = seq_len
        self.rng = np.random.default_rng(seed)
        self.files = {d: [np.frombuffer(f.data, dtype=np.uint8) for f in train[d]] for d in self.domains}
        self.weights = {}
        for d in self.domains:
            n = np.array([len(a) for a in self.files[d]], dtype=np.float64)
            self.weights[d] = n / n.sum()

    def batch(self, per_domain: int) -> np.ndarray:
        rows = []
        body = self.seq_len - 1
        for d in self.domains:
            picks = self.rng.choice(len(self.files[d]), size=per_domain, p=self.weights[d])
            for i in picks:
                a = self.files[d][i]
                if len(a) <= body:
                    window = np.full(body, tokenizer.PAD_ID, dtype=np.int64)
                    window[: len(a)] = a
                else:
                    s = int(self.rng.integers(0, len(a) - body + 1))
                    window = a[s : s + body].astype(np.int64)
                rows.append(np.concatenate([[tokenizer.BOS_ID], window]))
        return np.stack(rows)


@dataclass
class TrainOptions:
    out: str
    steps: int = 300
    seed: int = 0
    seq_len: int = 256
    per_domain: int = 2  # windows per domain per batch
    lr: float = 3e-3
    device: str = "auto"
    threads: int | None = 1
    log: Callable[[str], None] = field(default=lambda s: print(s, file=sys.stderr, flush=True))
    corpus: str | None = None  # a folder written by copy_corpus; default: this machine's own files


def train_demo(opts: TrainOptions) -> dict[str, Any]:
    import torch
    import transformers
    from safetensors.torch import save_file

    t0 = time.monotonic()
    if opts.threads:
        torch.set_num_threads(opts.threads)
    device = torch.device(
        "cuda" if opts.device == "auto" and torch.cuda.is_available() else ("cpu" if opts.device == "auto" else opts.device)
    )
    roots, origin = corpus_roots(opts.corpus)
    train, held = find_corpus(roots)
    domains = sorted(train)
    for d in domains:
        opts.log(f"{d}: {len(train[d])} training files ({sum(f.nbytes for f in train[d]):,} bytes), {len(held[d])} held out")

    torch.manual_seed(opts.seed)
    config = transformers.MixtralConfig(**DEMO_MODEL_CONFIG)
    config.output_router_logits = True  # the load-balancing loss needs them
    model = transformers.MixtralForCausalLM(config).to(device)
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=opts.lr, betas=(0.9, 0.95), weight_decay=0.1)

    warmup = max(1, min(30, opts.steps // 10))

    def lr_at(step: int) -> float:
        if step < warmup:
            return opts.lr * (step + 1) / warmup
        t = (step - warmup) / max(1, opts.steps - warmup)
        return opts.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * t)))

    sampler = BatchSampler(train, opts.seq_len, opts.seed)
    curve: list[dict[str, float]] = []
    lm_avg = aux_avg = None
    for step in range(opts.steps):
        ids = torch.from_numpy(sampler.batch(opts.per_domain)).to(device)
        mask = (ids != tokenizer.PAD_ID).long()
        labels = ids.masked_fill(mask == 0, -100)
        for g in opt.param_groups:
            g["lr"] = lr_at(step)
        out = model(input_ids=ids, attention_mask=mask, labels=labels)
        opt.zero_grad(set_to_none=True)
        out.loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        total = out.loss.item()
        aux = out.aux_loss.item() if out.aux_loss is not None else 0.0
        lm = total - config.router_aux_loss_coef * aux
        lm_avg = lm if lm_avg is None else 0.9 * lm_avg + 0.1 * lm
        aux_avg = aux if aux_avg is None else 0.9 * aux_avg + 0.1 * aux
        if step % 25 == 0 or step == opts.steps - 1:
            curve.append({"step": step + 1, "lmLoss": round(lm_avg, 4), "auxLoss": round(aux_avg, 4)})
            opts.log(
                f"step {step + 1}/{opts.steps}  lm loss {lm_avg:.3f} (bits/byte {lm_avg / math.log(2):.2f})  "
                f"balance loss {aux_avg:.3f}  {time.monotonic() - t0:.0f}s"
            )
    train_s = time.monotonic() - t0

    model.eval()
    held_loss = _held_out_loss(model, held, opts.seq_len, device)
    opts.log("held-out lm loss: " + ", ".join(f"{d} {v:.3f}" for d, v in held_loss.items()))

    out = Path(opts.out)
    out.mkdir(parents=True, exist_ok=True)
    config.output_router_logits = False
    config.dtype = "bfloat16"
    config.architectures = ["MixtralForCausalLM"]
    state = {k: v.detach().to("cpu", torch.bfloat16).contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(out / "model.safetensors"), metadata={"format": "pt"})
    cfg = config.to_dict()
    (out / "config.json").write_text(json.dumps(cfg, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    weights_sha = hashlib.sha256((out / "model.safetensors").read_bytes()).hexdigest()

    corpus = {
        "roots": {d: origin[d] for d in domains},
        "files": [
            {"domain": f.domain, "path": f.rel, "sha256": f.sha256, "bytes": f.nbytes, "use": use}
            for d in domains
            for use, group in (("heldOut", held[d]), ("train", train[d]))
            for f in group
        ],
    }
    corpus_text = json.dumps(corpus, indent=1) + "\n"
    (out / "corpus.json").write_text(corpus_text, encoding="utf-8")
    for d in domains:
        lines = [
            json.dumps({"text": eval_excerpt(f.data), "source": f"{origin[d]}/{f.rel}", "sha256": f.sha256}, ensure_ascii=False)
            for f in held[d]
        ]
        (out / f"eval-{d}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")

    params = sum(p.numel() for p in model.parameters())
    card = {
        "name": MODEL_NAME,
        "architecture": "MixtralForCausalLM",
        "parameters": params,
        "layers": config.num_hidden_layers,
        "experts": config.num_local_experts,
        "topK": config.num_experts_per_tok,
        "hiddenSize": config.hidden_size,
        "tokenizer": "bytes: ids 0-255 are UTF-8 bytes, <s>=256 first, <pad>=258",
        "domains": domains,
        "corpus": {
            d: {"trainFiles": len(train[d]), "trainBytes": sum(f.nbytes for f in train[d]), "heldOutFiles": len(held[d])} for d in domains
        },
        "corpusSha256": hashlib.sha256(corpus_text.encode()).hexdigest(),
        "seed": opts.seed,
        "steps": opts.steps,
        "batch": {
            "windowsPerDomain": opts.per_domain,
            "seqLen": opts.seq_len,
            "tokensPerStep": opts.per_domain * len(domains) * opts.seq_len,
        },
        "optimizer": f"AdamW lr {opts.lr} (warmup {warmup} steps, cosine to 10%), betas (0.9, 0.95), weight decay 0.1, clip 1.0",
        "loss": {
            "finalLmLoss": round(lm_avg or 0.0, 4),
            "finalBitsPerByte": round((lm_avg or 0.0) / math.log(2), 3),
            "finalBalanceLoss": round(aux_avg or 0.0, 4),
            "heldOutLmLoss": held_loss,
            "curve": curve,
        },
        "weights": {"file": "model.safetensors", "dtype": "bfloat16 (trained in float32)", "sha256": weights_sha},
        "device": str(device),
        "threads": torch.get_num_threads() if device.type == "cpu" else None,
        "trainSeconds": round(train_s, 1),
        "command": " ".join(
            [
                "speclab-collect",
                "train-demo",
                "--out",
                opts.out,
                "--steps",
                str(opts.steps),
                "--seed",
                str(opts.seed),
                "--seq-len",
                str(opts.seq_len),
                "--per-domain",
                str(opts.per_domain),
                "--lr",
                str(opts.lr),
                "--device",
                opts.device,
                *(["--corpus", opts.corpus] if opts.corpus else []),
            ]
        ),
        "versions": {
            "speclab-collect": __version__,
            "torch": torch.__version__,
            "transformers": transformers.__version__,
            "python": platform.python_version(),
        },
    }
    card["summary"] = card_summary(card)
    (out / "card.json").write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
    (out / "README.md").write_text(model_card_markdown(card), encoding="utf-8")
    opts.log(f"wrote {out} ({(out / 'model.safetensors').stat().st_size / 1e6:.1f} MB weights) in {time.monotonic() - t0:.0f}s")
    return card


def _held_out_loss(model: Any, held: dict[str, list[CorpusFile]], seq_len: int, device: Any) -> dict[str, float]:
    import torch

    out = {}
    with torch.inference_mode():
        for d, files in held.items():
            losses = []
            for f in files:
                a = np.frombuffer(f.data, dtype=np.uint8)[: seq_len - 1].astype(np.int64)
                ids = torch.from_numpy(np.concatenate([[tokenizer.BOS_ID], a]))[None].to(device)
                losses.append(float(model(input_ids=ids, labels=ids).loss))
            out[d] = round(float(np.mean(losses)), 4)
    return out


def card_summary(card: dict[str, Any]) -> str:
    """One paragraph: what the demo model is. The demo trace's manifest description is built from it."""
    doms = ", ".join(f"{d} ({card['corpus'][d]['trainFiles']} files)" for d in card["domains"])
    return (
        f"{card['name']}: a small Mixtral-architecture model ({card['layers']} layers, {card['experts']} experts, "
        f"top-{card['topK']}, hidden size {card['hiddenSize']}, {card['parameters'] / 1e6:.1f}M parameters, byte tokens) "
        f"trained by speclab-collect train-demo for {card['steps']} steps (seed {card['seed']}, "
        f"{card['batch']['tokensPerStep']:,} tokens per step, {card['device']}) on text found on a Linux machine: {doms}. "
        f"Final language-model loss {card['loss']['finalBitsPerByte']} bits per byte. Its routing is learned, "
        "but it is a toy: use it to try SpecLab, not to draw conclusions about large MoE models."
    )


def model_card_markdown(card: dict[str, Any]) -> str:
    held = ", ".join(f"{d} {v}" for d, v in card["loss"]["heldOutLmLoss"].items())
    rows = "\n".join(f"| {c['step']} | {c['lmLoss']} | {c['auxLoss']} |" for c in card["loss"]["curve"])
    copied = (
        "\n\nThese files were read on the machine whose folders `corpus.json` names (`roots`) and copied with "
        "`speclab-collect train-demo --copy-corpus DIR` to the machine that trained the model (`--corpus DIR`)."
        if "--corpus" in card["command"]
        else ""
    )
    corpus = "\n".join(f"| {d} | {v['trainFiles']} | {v['trainBytes']:,} | {v['heldOutFiles']} |" for d, v in card["corpus"].items())
    return f"""# {card["name"]}

{card["summary"]}

Written by `{card["command"]}` (speclab-collect {card["versions"]["speclab-collect"]}, torch {card["versions"]["torch"]},
transformers {card["versions"]["transformers"]}, Python {card["versions"]["python"]}); `card.json` holds these facts
in machine-readable form.

## Model

`{card["architecture"]}` ({card["parameters"]:,} parameters): {card["layers"]} layers, {card["experts"]} experts per layer,
top-{card["topK"]} routing, hidden size {card["hiddenSize"]}; configuration in `config.json`. Weights: `{card["weights"]["file"]}`,
{card["weights"]["dtype"]}, SHA-256 `{card["weights"]["sha256"]}`. Tokenizer: {card["tokenizer"]}
(`speclab_collect/tokenizer.py`; no vocabulary file).

## Data

Three kinds of text that a Linux machine with Python has, so that experts can specialise by domain: Python's
standard library sources (`python`), the license texts in /usr/share/common-licenses (`licenses`), and English
manual page sources (roff) from /usr/share/man/man1 and man8 (`manpages`). Files are taken in the order of a hash
of their path, 1–200 KB each, duplicates removed; the first few of each domain are held out of training.
`corpus.json` lists every file with its SHA-256 (corpus digest `{card["corpusSha256"]}`). On another machine the
files differ, so a retrained model differs too.{copied}

| domain | training files | bytes | held out |
|---|---|---|---|
{corpus}

`eval-<domain>.jsonl`: excerpts (about {EVAL_EXCERPT_BYTES} bytes each, whole lines) of the held-out files, the
inputs of the bundled demo trace set (`speclab-collect demo`). Python's sources are under the PSF license, the
license texts may be copied verbatim, manual pages under their packages' licenses.

## Training

{card["steps"]} steps, seed {card["seed"]}, on {card["device"]}{f" with {card['threads']} threads" if card["threads"] else ""}
in {card["trainSeconds"]} s. Each step: {card["batch"]["windowsPerDomain"]} random windows of {card["batch"]["seqLen"]} bytes
from each domain ({card["batch"]["tokensPerStep"]:,} tokens). {card["optimizer"]}. Loss: next-byte cross-entropy
plus Mixtral's load-balancing loss (coefficient {DEMO_MODEL_CONFIG["router_aux_loss_coef"]}).

Final (smoothed) language-model loss {card["loss"]["finalLmLoss"]} nats ({card["loss"]["finalBitsPerByte"]} bits per byte);
held-out loss per domain (first {card["batch"]["seqLen"]} bytes of each held-out file): {held}.

| step | LM loss (nats) | balance loss |
|---|---|---|
{rows}

## Limitations

A toy: {card["parameters"] / 1e6:.1f}M parameters, byte tokens, minutes of training. Its routing is learned in the
sense that matters: the experts became different functions and the router picks the right one, so sending each
token to other experts (a fixed relabelling of the expert ids) makes the held-out loss several times worse, while
the same relabelling leaves the random-initialised model unchanged (`collector/tests/test_demo.py`). Its expert
choice follows the byte being read far more than the domain of the text; nothing here says how large MoE
models route.
"""
