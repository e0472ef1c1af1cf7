"""Text sources: the reference design's ten Hugging Face datasets by name, and local text / JSONL files.

A dataset spec on the command line is `[LABEL=]SOURCE[:BUDGET]`:
- SOURCE is a name from `HUB_DATASETS` (fetched through the `datasets` package, streamed, so only what the
  budget needs is downloaded) or a local file: `*.jsonl` (one JSON object per line, text in `text` or the
  field named by --text-field) or any other text file (documents separated by blank lines).
- BUDGET is a token count, with an optional k/M/G suffix (`200k`, `1.5M`); without one, a local file is used
  whole and a hub dataset gets `DEFAULT_HUB_BUDGET` tokens.
- LABEL is the dataset name recorded in the trace (default: the hub name, or the file name without extension).
"""

from __future__ import annotations

import json
import os
import re
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator
from urllib.parse import urlparse


@dataclass(frozen=True)
class HubDataset:
    hf_id: str
    config: str | None
    split: str
    fields: tuple[str, ...]  # joined with a blank line when several


# The ten datasets of the reference design. Fields are the document text (not labels or summaries).
HUB_DATASETS: dict[str, HubDataset] = {
    "wikitext-2": HubDataset("Salesforce/wikitext", "wikitext-2-raw-v1", "train", ("text",)),
    "cnn_dailymail": HubDataset("abisee/cnn_dailymail", "3.0.0", "train", ("article",)),
    "xsum": HubDataset("EdinburghNLP/xsum", None, "train", ("document",)),
    "squad": HubDataset("rajpurkar/squad", None, "train", ("context", "question")),
    "multi_news": HubDataset("alexfabbri/multi_news", None, "train", ("document",)),
    "imdb": HubDataset("stanfordnlp/imdb", None, "train", ("text",)),
    "yelp": HubDataset("Yelp/yelp_review_full", None, "train", ("text",)),
    "amazon": HubDataset("fancyzhx/amazon_polarity", None, "train", ("title", "content")),
    "ag_news": HubDataset("fancyzhx/ag_news", None, "train", ("text",)),
    "dbpedia": HubDataset("fancyzhx/dbpedia_14", None, "train", ("title", "content")),
}
ALIASES = {
    "wikitext2": "wikitext-2",
    "wikitext": "wikitext-2",
    "cnn": "cnn_dailymail",
    "cnn-dailymail": "cnn_dailymail",
    "multi-news": "multi_news",
    "yelp_review_full": "yelp",
    "yelp-reviews": "yelp",
    "amazon_polarity": "amazon",
    "amazon-reviews": "amazon",
    "ag-news": "ag_news",
    "dbpedia_14": "dbpedia",
}
DEFAULT_HUB_BUDGET = 1_000_000
LABEL_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_BUDGET_RE = re.compile(r"^(\d+(?:\.\d+)?)([kKmMgG]?)$")
_SUFFIX = {"": 1, "k": 10**3, "m": 10**6, "g": 10**9}


class DatasetError(ValueError):
    pass


class DatasetUnavailable(DatasetError):
    pass


@dataclass(frozen=True)
class DatasetSpec:
    label: str
    source: str  # hub name (canonical) or local path
    budget: int | None  # tokens; None = the whole local file
    hub: bool

    def as_json(self) -> dict[str, object]:
        return {"label": self.label, "source": self.source, "budget": self.budget, "hub": self.hub}


def parse_budget(text: str) -> int:
    m = _BUDGET_RE.match(text.strip())
    if not m:
        raise DatasetError(f"token budget {text!r} must be a number with an optional k/M/G suffix, e.g. 200k")
    value = int(float(m.group(1)) * _SUFFIX[m.group(2).lower()])
    if value < 1:
        raise DatasetError(f"token budget {text!r} must be at least 1")
    return value


def parse_spec(text: str, default_budget: int | None = None) -> DatasetSpec:
    """Parse `[LABEL=]SOURCE[:BUDGET]` (see the module docstring)."""
    if not text or "\x00" in text:
        raise DatasetError("empty dataset spec")
    label = None
    if "=" in text:
        cand, rest = text.split("=", 1)
        if LABEL_RE.match(cand) and not Path(text).exists():
            label, text = cand, rest
    budget = None
    head, sep, tail = text.rpartition(":")
    if sep and _BUDGET_RE.match(tail.strip()):
        text, budget = head, parse_budget(tail)
    name = ALIASES.get(text.lower(), text.lower())
    if name in HUB_DATASETS and not Path(text).exists():
        spec_label = label or name
        return DatasetSpec(_check_label(spec_label), name, budget or default_budget or DEFAULT_HUB_BUDGET, True)
    path = Path(text).expanduser()
    if not path.is_file():
        raise DatasetError(f"dataset {text!r} is neither a known dataset name ({', '.join(HUB_DATASETS)}) nor an existing file")
    return DatasetSpec(_check_label(label or path.stem), str(path.resolve()), budget or default_budget, False)


def _check_label(label: str) -> str:
    if not LABEL_RE.match(label):
        raise DatasetError(f"dataset label {label!r} must be 1-64 letters, digits, '.', '_' or '-'")
    return label


# --------------------------------------------------------------------------------------------- documents


def iter_documents(spec: DatasetSpec, text_field: str | None = None) -> Iterator[str]:
    """The dataset's documents in a fixed order (the same on every run and every rank)."""
    if spec.hub:
        yield from _iter_hub(spec.source)
    elif spec.source.endswith(".jsonl"):
        yield from _iter_jsonl(Path(spec.source), text_field or "text")
    else:
        yield from _iter_text(Path(spec.source))


def _iter_text(path: Path) -> Iterator[str]:
    # Paragraph-sized documents: split on blank lines, streaming so huge files are fine.
    buf: list[str] = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            if line.strip():
                buf.append(line)
            elif buf:
                yield "".join(buf).strip("\n")
                buf = []
    if buf:
        yield "".join(buf).strip("\n")


def _iter_jsonl(path: Path, field: str) -> Iterator[str]:
    with open(path, encoding="utf-8") as f:
        for line_no, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except ValueError as e:
                raise DatasetError(f"{path}:{line_no}: not valid JSON: {e}") from None
            if not isinstance(rec, dict) or not isinstance(rec.get(field), str):
                keys = ", ".join(rec) if isinstance(rec, dict) else type(rec).__name__
                raise DatasetError(f"{path}:{line_no}: no string field {field!r} (has: {keys}); see --text-field")
            yield rec[field]


def hub_reachable(timeout: float = 3.0) -> bool:
    """Whether the Hugging Face Hub answers a TCP connect (fails at once when there is no DNS)."""
    url = urlparse(os.environ.get("HF_ENDPOINT", "https://huggingface.co"))
    try:
        socket.create_connection((url.hostname or "", url.port or 443), timeout=timeout).close()
        return True
    except OSError:
        return False


def _offline_env() -> bool:
    return any(os.environ.get(k, "").lower() in ("1", "true", "yes") for k in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE"))


def _iter_hub(name: str) -> Iterator[str]:
    ds_info = HUB_DATASETS[name]
    where = f"dataset {name!r} ({ds_info.hf_id}{'/' + ds_info.config if ds_info.config else ''})"
    hint = f"use a local copy instead: --dataset {name}=path/to/{name}.jsonl:BUDGET (one JSON object per line with a 'text' field)"
    offline = _offline_env() or not hub_reachable()
    if offline:
        # Without this, `datasets` retries for half a minute before failing; offline it still uses its cache.
        os.environ["HF_HUB_OFFLINE"] = os.environ["HF_DATASETS_OFFLINE"] = "1"
    try:
        import datasets
    except ImportError:
        raise DatasetUnavailable(f"{where} needs the 'datasets' package (pip install datasets); or {hint}") from None
    if offline:
        datasets.config.HF_HUB_OFFLINE = True  # the module read the variable when first imported
    try:
        ds = datasets.load_dataset(ds_info.hf_id, ds_info.config, split=ds_info.split, streaming=True)
        it = iter(ds)
        for rec in it:
            parts = [rec.get(f) for f in ds_info.fields]
            yield "\n\n".join(p for p in parts if isinstance(p, str) and p.strip())
    except DatasetError:
        raise
    except Exception as e:  # datasets raises many kinds (ConnectionError, FileNotFoundError, ValueError...)
        why = "no connection to the Hugging Face Hub and not in the local cache" if offline else f"{type(e).__name__}: {e}"
        raise DatasetUnavailable(f"{where} is not available: {why}; {hint}") from None
