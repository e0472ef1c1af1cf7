"""Streaming writer for SpecLab trace format v1 (docs/trace-format.md).

Tokens are buffered and published in fixed-size shards (Arrow IPC *file* format). A shard is written to a
temporary name, fsynced and renamed before the manifest that names it is rewritten (also atomically), so a
reader never sees a manifest pointing at a missing or half-written shard, even if the producer dies.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pyarrow as pa

from .schema import FORMAT_NAME, FORMAT_VERSION, LOOKAHEAD_COLUMN, MANIFEST_NAME, SCHEMA_METADATA, trace_schema  # noqa: F401 (re-exported)

MAX_EXPERTS = 32768  # expert ids are stored as int16
MAX_DATASETS = 65536  # the dataset column is uint16
DEFAULT_SHARD_TOKENS = 16384

_INT32_MIN, _INT32_MAX = -(2**31), 2**31 - 1
_TMP_PREFIX = ".speclab-tmp-"
_PREFIX_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*-$")
_MANIFEST_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*\.json$")


def shard_name(index: int, prefix: str = "shard-") -> str:
    return f"{prefix}{index:05d}.arrow"


def _shard_re(prefix: str) -> re.Pattern[str]:
    return re.compile("^" + re.escape(prefix) + r"\d{5,}\.arrow$")


@dataclass(frozen=True)
class TraceHeader:
    """What a trace set is: its model, shape, datasets and columns, as its manifest states them. Checked when
    made (every problem a ValueError naming the field); numbers are plain ints afterwards."""

    model_name: str
    model_revision: str | None
    engine: str
    quantization: str
    num_layers: int
    num_experts: int
    top_k: int
    moe_layer_ids: Sequence[int]
    datasets: Sequence[str]
    has_weights: bool
    has_logits: bool
    has_token_ids: bool
    has_token_text: bool
    description: str | None = None
    source: Mapping[str, Any] | None = None
    lookahead_horizon: int = 0

    def __post_init__(self) -> None:
        model_name, model_revision = self.model_name, self.model_revision
        engine, quantization = self.engine, self.quantization
        num_layers, num_experts, top_k = self.num_layers, self.num_experts, self.top_k
        moe_layer_ids, datasets, description, source = self.moe_layer_ids, self.datasets, self.description, self.source
        if not isinstance(model_name, str) or not model_name:
            raise ValueError("model_name must be a non-empty string")
        if model_revision is not None and not isinstance(model_revision, str):
            raise ValueError("model_revision must be a string or None")
        for name, value in (("engine", engine), ("quantization", quantization)):
            if not isinstance(value, str) or not value:
                raise ValueError(f"{name} must be a non-empty string")
        _check_int("num_layers", num_layers, 1, None)
        _check_int("num_experts", num_experts, 2, MAX_EXPERTS)
        _check_int("top_k", top_k, 1, num_experts)
        _check_int("lookahead_horizon", self.lookahead_horizon, 0, None)
        ids = list(moe_layer_ids)
        if len(ids) != num_layers:
            raise ValueError(f"moe_layer_ids has {len(ids)} entries, expected num_layers={num_layers}")
        for i, v in enumerate(ids):
            _check_int(f"moe_layer_ids[{i}]", v, 0, None)
            if i > 0 and v <= ids[i - 1]:
                raise ValueError(f"moe_layer_ids must be strictly increasing, got {ids}")
        names = list(datasets)
        if not names or len(names) > MAX_DATASETS:
            raise ValueError(f"datasets must list 1..{MAX_DATASETS} names, got {len(names)}")
        if not all(isinstance(n, str) and n for n in names):
            raise ValueError("dataset names must be non-empty strings")
        if len(set(names)) != len(names):
            raise ValueError(f"dataset names must be distinct, got {names}")
        if description is not None and not isinstance(description, str):
            raise ValueError("description must be a string or None")
        if source is not None:
            if not isinstance(source, Mapping):
                raise ValueError("source must be a mapping (JSON object) or None")
            try:  # fail now rather than at the first shard, hours into a run
                json.dumps(source, allow_nan=False)
            except (TypeError, ValueError) as e:
                raise ValueError(f"source must be JSON-serialisable: {e}") from None
        # Plain ints and lists from here on: numpy integers would pass the checks but not json.dumps.
        for k, v in (
            ("num_layers", int(num_layers)),
            ("num_experts", int(num_experts)),
            ("top_k", int(top_k)),
            ("lookahead_horizon", int(self.lookahead_horizon)),
            ("moe_layer_ids", [int(v) for v in ids]),
            ("datasets", names),
            ("source", dict(source) if source is not None else None),
        ):
            object.__setattr__(self, k, v)
        for k in ("has_weights", "has_logits", "has_token_ids", "has_token_text"):
            object.__setattr__(self, k, bool(getattr(self, k)))

    def manifest_fields(self) -> dict[str, Any]:
        """The manifest's header fields (description and source, which a resumed run may update, left out)."""
        h: dict[str, Any] = {
            "format": FORMAT_NAME,
            "version": FORMAT_VERSION,
            "model": {"name": self.model_name} | ({"revision": self.model_revision} if self.model_revision is not None else {}),
            "engine": self.engine,
            "quantization": self.quantization,
            "numLayers": self.num_layers,
            "numExperts": self.num_experts,
            "topK": self.top_k,
            "moeLayerIds": list(self.moe_layer_ids),
            "datasets": list(self.datasets),
            "hasWeights": self.has_weights,
            "hasLogits": self.has_logits,
            "hasTokenIds": self.has_token_ids,
            "hasTokenText": self.has_token_text,
        }
        if self.lookahead_horizon:
            # Optional extension of v1 (absent when 0): see docs/collector.md.
            h["lookaheadHorizon"] = self.lookahead_horizon
        return h


class TraceWriter:
    """Writes one trace set into `out_dir`.

    Add tokens with `add_tokens` (a batch of rows as arrays) or `add_token` (one row); call `close()` (or use
    the writer as a context manager) to publish the last, partial shard. Every call validates its whole input
    before buffering any of it, so a rejected call leaves the writer unchanged.
    """

    def __init__(
        self,
        out_dir: str | os.PathLike[str],
        model_name: str,
        model_revision: str | None,
        engine: str,
        quantization: str,
        num_layers: int,
        num_experts: int,
        top_k: int,
        moe_layer_ids: Sequence[int],
        datasets: Sequence[str],
        has_weights: bool,
        has_logits: bool,
        has_token_ids: bool,
        has_token_text: bool,
        shard_tokens: int = DEFAULT_SHARD_TOKENS,
        description: str | None = None,
        source: Mapping[str, Any] | None = None,
        overwrite: bool = False,
        *,
        lookahead_horizon: int = 0,
        shard_prefix: str = "shard-",
        manifest_name: str = MANIFEST_NAME,
        resume: bool = False,
    ) -> None:
        """The header's fields one by one (see TraceHeader; `TraceWriter.open(out_dir, header, ...)` takes it
        whole), then how to write.

        resume=True continues a trace set that an earlier writer with the same header left in `out_dir`
        (after a crash or a kill): its published shards are checked and kept, anything unpublished is removed,
        and new shards continue the numbering. Without a manifest there, it starts afresh.

        shard_prefix / manifest_name let several writers share one folder (one per rank in a distributed run);
        each only ever touches its own files."""
        header = TraceHeader(
            model_name,
            model_revision,
            engine,
            quantization,
            num_layers,
            num_experts,
            top_k,
            moe_layer_ids,
            datasets,
            has_weights,
            has_logits,
            has_token_ids,
            has_token_text,
            description=description,
            source=source,
            lookahead_horizon=lookahead_horizon,
        )
        self._open(out_dir, header, shard_tokens, overwrite, shard_prefix, manifest_name, resume)

    @classmethod
    def open(
        cls,
        out_dir: str | os.PathLike[str],
        header: TraceHeader,
        *,
        shard_tokens: int = DEFAULT_SHARD_TOKENS,
        overwrite: bool = False,
        shard_prefix: str = "shard-",
        manifest_name: str = MANIFEST_NAME,
        resume: bool = False,
    ) -> TraceWriter:
        """A writer for a trace set described by `header` (options as for the constructor)."""
        w = cls.__new__(cls)
        w._open(out_dir, header, shard_tokens, overwrite, shard_prefix, manifest_name, resume)
        return w

    def _open(
        self,
        out_dir: str | os.PathLike[str],
        header: TraceHeader,
        shard_tokens: int,
        overwrite: bool,
        shard_prefix: str,
        manifest_name: str,
        resume: bool,
    ) -> None:
        if not isinstance(header, TraceHeader):
            raise ValueError("header must be a TraceHeader")
        _check_int("shard_tokens", shard_tokens, 1, None)
        if not isinstance(shard_prefix, str) or not _PREFIX_RE.match(shard_prefix):
            raise ValueError(f"shard_prefix must be letters, digits, '_' or '-' ending in '-', got {shard_prefix!r}")
        if not isinstance(manifest_name, str) or not _MANIFEST_RE.match(manifest_name):
            raise ValueError(f"manifest_name must be a plain *.json file name, got {manifest_name!r}")
        self.header = header
        self.out_dir = Path(out_dir)
        self.num_layers, self.num_experts, self.top_k = header.num_layers, header.num_experts, header.top_k
        self.has_weights, self.has_logits = header.has_weights, header.has_logits
        self.has_token_ids, self.has_token_text = header.has_token_ids, header.has_token_text
        self.shard_tokens = int(shard_tokens)
        self.lookahead_horizon = header.lookahead_horizon
        self.shard_prefix = shard_prefix
        self.manifest_name = manifest_name
        self.datasets = list(header.datasets)
        self._dataset_index = {n: i for i, n in enumerate(self.datasets)}
        self._header: dict[str, Any] = header.manifest_fields()
        self._description = header.description
        self._source = dict(header.source) if header.source is not None else None
        self.schema = trace_schema(
            header.num_layers,
            header.num_experts,
            header.top_k,
            has_weights=self.has_weights,
            has_logits=self.has_logits,
            has_token_ids=self.has_token_ids,
            has_token_text=self.has_token_text,
            lookahead_horizon=self.lookahead_horizon,
        )

        self._shards: list[dict[str, Any]] = []
        self._dropped = 0
        self._buffer: list[dict[str, Any]] = []  # validated column chunks waiting for a shard
        self._buffered = 0
        self._written = 0
        # Ordering state: the sequence being written and every sequence already finished.
        self._cur_seq: int | None = None
        self._cur_pos = -1
        self._cur_dataset = -1
        self._done_seqs: set[int] = set()
        self._closed = False
        self.resumed = False
        check_writable(self.out_dir)
        if resume and (self.out_dir / manifest_name).exists():
            self._resume()
        else:
            self._prepare_dir(overwrite or resume)

    # ----------------------------------------------------------------------------------------------- public

    @property
    def shards(self) -> list[dict[str, Any]]:
        """Published shards, as listed in the manifest."""
        return [dict(s) for s in self._shards]

    @property
    def tokens_written(self) -> int:
        """Tokens in published shards."""
        return self._written

    @property
    def tokens_buffered(self) -> int:
        return self._buffered

    def add_dropped(self, count: int) -> None:
        """Count tokens the producer left out (e.g. some layers missing); recorded as droppedTokens."""
        self._check_open()
        _check_int("count", count, 0, None)
        self._dropped += count

    def add_token(
        self,
        seq: int,
        pos: int,
        dataset: int | str,
        experts: Any,
        weights: Any = None,
        logits: Any = None,
        token_id: int | None = None,
        token_text: str | None = None,
    ) -> None:
        """Add one token: experts/weights shaped [L, K] (or flat L*K), logits [L, E] (or flat L*E)."""

        def one(x: Any) -> Any:
            return None if x is None else np.asarray(x)[None]

        self.add_tokens(
            seq,
            [pos],
            dataset,
            one(experts),
            weights=one(weights),
            logits=one(logits),
            token_id=None if token_id is None else [token_id],
            token_text=None if token_text is None else [token_text],
        )

    def add_tokens(
        self,
        seq: Any,
        pos: Any,
        dataset: Any,
        experts: Any,
        weights: Any = None,
        logits: Any = None,
        token_id: Any = None,
        token_text: Sequence[str] | None = None,
        lookahead: Any = None,
    ) -> None:
        """Add N tokens in order.

        seq, dataset: scalar (broadcast) or length-N; dataset is an index into `datasets` or a name.
        pos: length-N. experts, weights: [N, L, K] or [N, L*K]. logits: [N, L, E] or [N, L*E].
        token_id: length-N ints (-1 = unknown). token_text: N strings.
        lookahead: [N, L, H, E] or [N, L*H*E] (required iff lookahead_horizon > 0); NaN marks a missing layer.
        """
        self._check_open()
        L, E, K = self.num_layers, self.num_experts, self.top_k
        ex = np.asarray(experts)
        if ex.ndim not in (2, 3):
            raise ValueError(f"experts must be shaped [N, {L}, {K}] or [N, {L * K}], got {ex.shape}")
        n = ex.shape[0]
        ex = _reshape("experts", ex, n, L, K)
        if not np.issubdtype(ex.dtype, np.integer):
            raise ValueError(f"experts must be integers, got dtype {ex.dtype}")
        if n and (ex.min() < 0 or ex.max() >= E):
            bad = np.argwhere((ex < 0) | (ex >= E))[0]
            raise ValueError(f"expert id {ex[tuple(bad)]} out of range 0..{E - 1} (token {bad[0]}, layer {bad[1]}, rank {bad[2]})")
        if K > 1 and n:
            s = np.sort(ex, axis=2)
            dup = np.argwhere(s[:, :, 1:] == s[:, :, :-1])
            if len(dup):
                t, layer = dup[0][0], dup[0][1]
                raise ValueError(
                    f"expert ids must be distinct within a token and layer: token {t}, layer {layer} has {ex[t, layer].tolist()}"
                )

        seq_a = _int_column("seq", seq, n, 0, _INT32_MAX)
        pos_a = _int_column("pos", pos, n, 0, _INT32_MAX, allow_scalar=(n == 1))
        ds_a = self._dataset_column(dataset, n)

        w = self._float_block("weights", weights, self.has_weights, n, K, finite=True)
        lg = self._float_block("logits", logits, self.has_logits, n, E, finite=False)
        la = None
        H = self.lookahead_horizon
        if H:
            if lookahead is None:
                raise ValueError(f"lookahead is required: the writer was opened with lookahead_horizon={H}")
            a = np.asarray(lookahead)
            if not np.issubdtype(a.dtype, np.floating):
                raise ValueError(f"lookahead must be floating point, got dtype {a.dtype}")
            if a.shape not in ((n, L, H, E), (n, L * H * E)):
                raise ValueError(f"lookahead must be shaped [{n}, {L}, {H}, {E}] or [{n}, {L * H * E}], got {a.shape}")
            la = np.ascontiguousarray(a.reshape(n, L * H * E), dtype=np.float32)
        elif lookahead is not None:
            raise ValueError("lookahead given but the writer was opened with lookahead_horizon=0")

        tid = None
        if self.has_token_ids:
            if token_id is None:
                raise ValueError("token_id is required: the writer was opened with has_token_ids=True")
            tid = _int_column("token_id", token_id, n, -1, _INT32_MAX, allow_scalar=(n == 1))
        elif token_id is not None:
            raise ValueError("token_id given but the writer was opened with has_token_ids=False")

        texts = None
        if self.has_token_text:
            if token_text is None:
                raise ValueError("token_text is required: the writer was opened with has_token_text=True")
            if isinstance(token_text, str):
                raise ValueError("token_text must be a sequence of N strings, not one string")
            texts = list(token_text)
            if len(texts) != n:
                raise ValueError(f"token_text has {len(texts)} entries, expected {n}")
            for i, t in enumerate(texts):
                if not isinstance(t, str):
                    raise ValueError(f"token_text[{i}] must be a string, got {type(t).__name__}")
                try:  # e.g. lone surrogates; caught here rather than when the shard is written
                    t.encode("utf-8")
                except UnicodeEncodeError as e:
                    raise ValueError(f"token_text[{i}] is not valid Unicode: {e}") from None
        elif token_text is not None:
            raise ValueError("token_text given but the writer was opened with has_token_text=False")

        if n == 0:
            return
        new_state = self._check_order(seq_a, pos_a, ds_a)

        # All checks passed: commit.
        self._cur_seq, self._cur_pos, self._cur_dataset, finished = new_state
        self._done_seqs.update(finished)
        chunk: dict[str, Any] = {
            "seq": seq_a.astype(np.int32),
            "pos": pos_a.astype(np.int32),
            "dataset": ds_a.astype(np.uint16),
            "experts": ex.reshape(n, L * K).astype(np.int16),
        }
        if tid is not None:
            chunk["token_id"] = tid.astype(np.int32)
        if texts is not None:
            chunk["token_text"] = texts
        if w is not None:
            chunk["weights"] = w
        if lg is not None:
            chunk["logits"] = lg
        if la is not None:
            chunk[LOOKAHEAD_COLUMN] = la
        self._buffer.append(chunk)
        self._buffered += n
        while self._buffered >= self.shard_tokens:
            self._flush(self.shard_tokens)

    def close(self) -> None:
        """Publish the last partial shard and the final manifest. Idempotent."""
        if self._closed:
            return
        if self._buffered:
            self._flush(self._buffered)
        self.write_manifest()  # also for an empty trace set, so the folder always ends with a manifest
        self._closed = True
        # Success only once the set reads back: manifest as written, every shard's checksum, Arrow and rows.
        from .read import verify_trace_set  # noqa: PLC0415 (read imports this module)

        verify_trace_set(self.out_dir, self.manifest_name, self.manifest())

    def abort(self) -> None:
        """Drop buffered tokens; the folder keeps the last published manifest and its shards."""
        self._buffer, self._buffered = [], 0
        self._closed = True

    def __enter__(self) -> "TraceWriter":
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        # On an error, publish nothing more: a silently truncated trace is worse than a short, honest one.
        if exc_type is None:
            self.close()
        else:
            self.abort()

    # ---------------------------------------------------------------------------------------------- internals

    def _check_open(self) -> None:
        if self._closed:
            raise ValueError("writer is closed")

    def _own_files(self) -> list[Path]:
        """This writer's manifest, shards and temporary files in out_dir (never another writer's)."""
        shard_re = _shard_re(self.shard_prefix)
        own = []
        for p in self.out_dir.iterdir():
            name = p.name.removeprefix(_TMP_PREFIX)
            if name == self.manifest_name or shard_re.match(name):
                own.append(p)
        return own

    def _prepare_dir(self, overwrite: bool) -> None:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        existing = self._own_files()
        published = [p for p in existing if not p.name.startswith(_TMP_PREFIX)]
        if published and not overwrite:
            raise FileExistsError(f"{self.out_dir} already holds a trace set; pass overwrite=True to replace it")
        # Remove the manifest first so the folder never names shards that are being deleted.
        for p in sorted(existing, key=lambda p: p.name != self.manifest_name):
            p.unlink()

    def _resume(self) -> None:
        """Adopt the published part of an earlier run: same header, verified shards, ordering state restored."""
        path = self.out_dir / self.manifest_name
        try:
            old = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            raise ValueError(f"{path}: cannot resume, manifest unreadable: {e}") from None
        diff = [k for k in self._header if old.get(k) != self._header[k]]
        diff += [k for k in ("lookaheadHorizon",) if k not in self._header and k in old]
        if diff:
            details = "; ".join(f"{k}: trace has {old.get(k)!r}, this run {self._header.get(k)!r}" for k in diff)
            raise ValueError(f"{path}: cannot resume, the existing trace set differs: {details}")
        shards = old.get("shards") or []
        listed = {s["file"] for s in shards}
        for i, s in enumerate(shards):
            if s.get("file") != shard_name(i, self.shard_prefix):
                raise ValueError(f"{path}: cannot resume, shards[{i}] is {s.get('file')!r}, expected {shard_name(i, self.shard_prefix)!r}")
            if not (self.out_dir / s["file"]).exists() or _sha256_file(self.out_dir / s["file"]) != s["sha256"]:
                raise ValueError(f"{self.out_dir / s['file']}: cannot resume, shard missing or checksum mismatch")
        # A shard renamed into place just before a crash, but not yet in the manifest, is rewritten later.
        for p in self._own_files():
            if p.name != self.manifest_name and p.name not in listed:
                p.unlink()
        self._shards = [dict(s) for s in shards]
        self._written = sum(int(s["tokens"]) for s in shards)
        self._dropped = int(old.get("droppedTokens", 0))
        if self._source is not None and isinstance(old.get("source"), dict):
            # Keep what earlier runs recorded (e.g. how often it was resumed) unless this run sets it anew.
            self._source = {**old["source"], **self._source}
        seqs, last = [], None
        for s in shards:
            with pa.memory_map(str(self.out_dir / s["file"])) as mm:
                table = pa.ipc.open_file(mm).read_all().select(["seq", "pos", "dataset"])
            if table.num_rows:
                seqs.append(np.unique(table.column("seq").to_numpy()))
                last = {k: int(table.column(k)[-1].as_py()) for k in ("seq", "pos", "dataset")}
        if last is not None:
            # Rows of a sequence are contiguous, so every sequence but the last one is finished.
            self._cur_seq, self._cur_pos, self._cur_dataset = last["seq"], last["pos"], last["dataset"]
            self._done_seqs = set(np.unique(np.concatenate(seqs)).tolist()) - {last["seq"]}
        self.resumed = True

    def _dataset_column(self, dataset: Any, n: int) -> np.ndarray:
        if isinstance(dataset, str):
            dataset = [dataset] * n
        arr = np.asarray(dataset)
        if arr.dtype.kind in "US" or arr.dtype == object:
            flat = arr.reshape(-1).tolist()
            try:
                idx = [self._dataset_index[d] for d in flat]
            except KeyError as e:
                raise ValueError(f"unknown dataset {e.args[0]!r}; known: {self.datasets}") from None
            arr = np.asarray(idx, dtype=np.int64).reshape(arr.shape)
        return _int_column("dataset", arr, n, 0, len(self.datasets) - 1)

    def _float_block(self, name: str, value: Any, wanted: bool, n: int, width: int, finite: bool) -> np.ndarray | None:
        L = self.num_layers
        if not wanted:
            if value is not None:
                raise ValueError(f"{name} given but the writer was opened with has_{name}=False")
            return None
        if value is None:
            raise ValueError(f"{name} is required: the writer was opened with has_{name}=True")
        a = np.asarray(value)
        if not (np.issubdtype(a.dtype, np.floating) or np.issubdtype(a.dtype, np.integer)):
            raise ValueError(f"{name} must be numeric, got dtype {a.dtype}")
        a = _reshape(name, a, n, L, width).astype(np.float32)
        bad = ~np.isfinite(a) if finite else np.isnan(a)
        if bad.any():
            t, layer, j = np.argwhere(bad)[0]
            what = "finite" if finite else "NaN-free"
            raise ValueError(f"{name} must be {what}: token {t}, layer {layer}, index {j} is {a[t, layer, j]}")
        return a.reshape(n, L * width)

    def _check_order(self, seq: np.ndarray, pos: np.ndarray, ds: np.ndarray) -> tuple[int, int, int, list[int]]:
        """Check rows of a sequence are contiguous, ascending in pos and of one dataset; return the new state."""
        cur_seq, cur_pos, cur_ds = self._cur_seq, self._cur_pos, self._cur_dataset
        finished: list[int] = []
        starts = np.concatenate([[0], np.flatnonzero(seq[1:] != seq[:-1]) + 1, [len(seq)]])
        for a, b in zip(starts[:-1], starts[1:]):
            s = int(seq[a])
            if s != cur_seq:
                if s in self._done_seqs or s in finished:
                    raise ValueError(f"sequence {s} appears again at row {a} after other sequences; rows of a sequence must be contiguous")
                if cur_seq is not None:
                    finished.append(cur_seq)
                cur_seq, cur_pos, cur_ds = s, -1, int(ds[a])
            p = pos[a:b]
            if p[0] <= cur_pos or (b - a > 1 and np.any(np.diff(p) <= 0)):
                raise ValueError(f"positions of sequence {s} must be strictly increasing (rows {a}..{b - 1}, previous pos {cur_pos})")
            if np.any(ds[a:b] != cur_ds):
                raise ValueError(f"sequence {s} mixes datasets {sorted(set(ds[a:b].tolist()) | {cur_ds})}")
            cur_pos = int(p[-1])
        return cur_seq, cur_pos, cur_ds, finished  # type: ignore[return-value]

    def _take(self, count: int) -> dict[str, Any]:
        """Remove the first `count` buffered rows, as one array per column."""
        cols: dict[str, Any] = {}
        for key in self._buffer[0]:
            parts = [c[key] for c in self._buffer]
            cols[key] = [t for p in parts for t in p] if key == "token_text" else np.concatenate(parts)
        rest = {k: v[count:] for k, v in cols.items()}
        total = self._buffered
        self._buffer = [rest] if total > count else []
        self._buffered = total - count
        return {k: v[:count] for k, v in cols.items()}

    def _flush(self, count: int) -> None:
        cols = self._take(count)
        arrays: list[pa.Array] = []
        for field in self.schema:
            v = cols[field.name]
            if pa.types.is_fixed_size_list(field.type):
                flat = pa.array(np.ascontiguousarray(v).reshape(-1), type=field.type.value_type)
                arrays.append(pa.FixedSizeListArray.from_arrays(flat, type=field.type))
            else:
                arrays.append(pa.array(v, type=field.type))
        batch = pa.RecordBatch.from_arrays(arrays, schema=self.schema)

        name = shard_name(len(self._shards), self.shard_prefix)
        final = self.out_dir / name
        tmp = self.out_dir / f"{_TMP_PREFIX}{name}"
        try:
            with open(tmp, "wb") as f:
                # One record batch per shard: the reader maps each column straight onto one typed array.
                with pa.ipc.new_file(f, self.schema) as w:
                    w.write_batch(batch)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, final)
            _fsync_dir(self.out_dir)
            self._shards.append({"file": name, "tokens": count, "sha256": _sha256_file(final)})
            self._written += count
            self._write_manifest()
        except OSError as e:
            if self._shards and self._shards[-1]["file"] == name:
                self._shards.pop()
                self._written -= count
            # Nothing half-written stays: not the temporary file, not a shard the manifest does not list.
            for p in (tmp, final):
                try:
                    p.unlink(missing_ok=True)
                except OSError:
                    pass
            self._closed = True  # its tokens are gone from the buffer; a rerun resumes from the manifest
            raise WriteError(self._write_failure(name, e)) from None

    def _write_failure(self, what: str, e: OSError) -> str:
        reason = {
            errno.ENOSPC: "no space left on device",
            errno.EDQUOT: "disk quota exceeded",
            errno.EROFS: "read-only file system",
            errno.EACCES: "permission denied",
            errno.EPERM: "operation not permitted",
        }.get(e.errno or 0, e.strerror or str(e))
        return (
            f"{self.out_dir}: could not write {what} ({reason}); the trace set keeps its {len(self._shards)} "
            f"complete shard(s), {self._written:,} tokens; free space or fix the folder, then rerun the same "
            "command to resume"
        )

    def update_source(self, **fields: Any) -> None:
        """Set fields of the manifest's `source` (e.g. progress); written with the next manifest."""
        json.dumps(fields, allow_nan=False)  # fail here, not at the next shard
        self._source = {**(self._source or {}), **fields}

    def write_manifest(self) -> None:
        """Rewrite the manifest now (published shards only)."""
        try:
            self._write_manifest()
        except OSError as e:
            raise WriteError(self._write_failure(self.manifest_name, e)) from None

    def manifest(self) -> dict[str, Any]:
        """The manifest as it would be written now (published shards only)."""
        m = dict(self._header)
        m["droppedTokens"] = self._dropped
        m["shards"] = self.shards
        if self._description is not None:
            m["description"] = self._description
        if self._source is not None:
            m["source"] = self._source
        return m

    def _write_manifest(self) -> None:
        text = json.dumps(self.manifest(), indent=2, ensure_ascii=False, allow_nan=False) + "\n"
        write_json_atomic(self.out_dir / self.manifest_name, text)


class WriteError(OSError):
    """The output folder could not be written (full disk, read-only, no permission): one readable line."""


def check_writable(out_dir: str | os.PathLike[str]) -> None:
    """Creates `out_dir` if needed and writes and removes a small file there, so that an unusable output folder
    is reported before hours of work, not at the first shard."""
    out = Path(out_dir)
    probe = out / f"{_TMP_PREFIX}probe.{os.getpid()}"
    try:
        out.mkdir(parents=True, exist_ok=True)
        with open(probe, "wb") as f:
            f.write(b"speclab")
            f.flush()
            os.fsync(f.fileno())
        probe.unlink()
    except OSError as e:
        try:
            probe.unlink(missing_ok=True)
        except OSError:
            pass
        raise WriteError(f"{out}: output folder is not writable ({e.strerror or e}); choose another --out or fix its permissions") from None


def write_json_atomic(path: Path, text: str, unique_tmp: bool = False) -> None:
    """Write to a temporary name, fsync, rename: readers see the old file or the new one, never half of one.

    unique_tmp: several processes may write this file at once (they write the same content)."""
    tmp = path.parent / f"{_TMP_PREFIX}{path.name}{f'.{os.getpid()}' if unique_tmp else ''}"
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError:
        try:
            tmp.unlink(missing_ok=True)
        except OSError:
            pass
        raise
    _fsync_dir(path.parent)


# --------------------------------------------------------------------------------------------------- helpers


def _check_int(name: str, value: Any, lo: int | None, hi: int | None) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        raise ValueError(f"{name} must be in {lo}..{hi if hi is not None else 'inf'}, got {value}")


def _int_column(name: str, value: Any, n: int, lo: int, hi: int, allow_scalar: bool = True) -> np.ndarray:
    a = np.asarray(value)
    if a.ndim == 0 and allow_scalar:
        a = np.broadcast_to(a, (n,))
    if a.shape != (n,):
        what = f"a scalar or shaped [{n}]" if allow_scalar else f"shaped [{n}]"
        raise ValueError(f"{name} must be {what}, got shape {a.shape}")
    if not np.issubdtype(a.dtype, np.integer):
        raise ValueError(f"{name} must be integers, got dtype {a.dtype}")
    if n and (a.min() < lo or a.max() > hi):
        i = int(np.flatnonzero((a < lo) | (a > hi))[0])
        raise ValueError(f"{name}[{i}] = {a[i]} is out of range {lo}..{hi}")
    return a.astype(np.int64)


def _reshape(name: str, a: np.ndarray, n: int, layers: int, width: int) -> np.ndarray:
    if a.shape == (n, layers, width):
        return a
    if a.shape == (n, layers * width):
        return a.reshape(n, layers, width)
    raise ValueError(f"{name} must be shaped [{n}, {layers}, {width}] or [{n}, {layers * width}], got {a.shape}")


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _fsync_dir(path: Path) -> None:
    # Make the rename itself durable; not every platform lets you open a directory.
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
