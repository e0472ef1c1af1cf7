"""The deterministic work plan of a run: which token sequences, in which batches, in which order.

Every run with the same options (and every rank of a distributed run) builds the same plan, which is what lets
a killed run resume exactly where it stopped and lets ranks split the work without talking to each other:
- documents of each dataset, in the dataset's own order, are tokenized and truncated to `seq_len` tokens;
  empty ones are skipped; the last document of a dataset is cut so the dataset's budget is met exactly;
- sequence ids number the kept documents 0, 1, 2, ... across datasets in the order given;
- rank r of W takes the sequences with id % W == r;
- batching is length-bucketed: a rank's sequences sorted by length (longest first, ties by id) and cut into
  batches of `batch_size`, so each batch pads little. Tokens are written batch by batch, row by row.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Sequence

import numpy as np

from . import tokenizer as byte_tokenizer
from .sources import DatasetSpec, iter_documents


@dataclass
class PlannedSequence:
    seq: int
    dataset: int  # index into the run's dataset list
    tokens: np.ndarray  # int64 token ids


class Tokenizer:
    """Text -> ids, and ids -> display text; either the bundled byte tokenizer or a Hugging Face one."""

    def __init__(self, name: str, trust_remote_code: bool = False) -> None:
        self.name = name
        if name == "bytes":
            self._hf = None
            self.vocab_size = byte_tokenizer.VOCAB_SIZE
            self.pad_id = byte_tokenizer.PAD_ID
        else:
            from transformers import AutoTokenizer

            self._hf = AutoTokenizer.from_pretrained(name, trust_remote_code=trust_remote_code)
            self.vocab_size = len(self._hf)
            pad = self._hf.pad_token_id
            self.pad_id = pad if pad is not None else 0  # masked out anyway; any valid id will do

    def encode(self, text: str, max_len: int) -> list[int]:
        if self._hf is None:
            return byte_tokenizer.encode(text)[:max_len]
        return list(self._hf(text, add_special_tokens=True, truncation=True, max_length=max_len)["input_ids"])

    def token_texts(self, ids: Sequence[int]) -> list[str]:
        if self._hf is None:
            return [byte_tokenizer.token_text(int(i)) for i in ids]
        return [t if isinstance(t, str) else "" for t in self._hf.convert_ids_to_tokens([int(i) for i in ids])]


def build_plan(
    specs: Sequence[DatasetSpec],
    tok: Tokenizer,
    seq_len: int,
    text_field: str | None = None,
    documents: Callable[[DatasetSpec], Iterator[str]] | None = None,
) -> list[PlannedSequence]:
    """All sequences of the run (every rank's), in sequence-id order."""
    docs_of = documents or (lambda s: iter_documents(s, text_field))
    out: list[PlannedSequence] = []
    for di, spec in enumerate(specs):
        left = spec.budget
        for text in docs_of(spec):
            if left is not None and left <= 0:
                break
            if not text.strip():
                continue
            ids = tok.encode(text, seq_len)
            if left is not None:
                ids = ids[:left]
                left -= len(ids)
            if ids:
                out.append(PlannedSequence(len(out), di, np.asarray(ids, dtype=np.int64)))
    return out


def plan_digest(plan: Sequence[PlannedSequence]) -> str:
    """Hash of the plan's content: a resumed run refuses to continue if the data or tokenizer changed."""
    h = hashlib.sha256()
    for s in plan:
        h.update(np.asarray([s.seq, s.dataset, len(s.tokens)], dtype=np.int64).tobytes())
        h.update(s.tokens.tobytes())
    return h.hexdigest()


def rank_batches(plan: Sequence[PlannedSequence], batch_size: int, rank: int = 0, world: int = 1) -> list[list[PlannedSequence]]:
    """This rank's sequences, length-bucketed into batches (see the module docstring)."""
    mine = [s for s in plan if s.seq % world == rank]
    mine.sort(key=lambda s: (-len(s.tokens), s.seq))
    return [mine[i : i + batch_size] for i in range(0, len(mine), batch_size)]


def pad_batch(batch: Sequence[PlannedSequence], pad_id: int) -> tuple[Any, Any]:
    """Right-padded input ids and attention mask [B, S] (torch tensors)."""
    import torch

    width = max(len(s.tokens) for s in batch)
    ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(batch), width), dtype=torch.long)
    for r, s in enumerate(batch):
        ids[r, : len(s.tokens)] = torch.from_numpy(s.tokens)
        mask[r, : len(s.tokens)] = 1
    return ids, mask
