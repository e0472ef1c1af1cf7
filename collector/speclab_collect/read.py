"""Trace sets back into Python: `read_trace` (a pyarrow Table, manifest in its metadata), the streaming read-back
check every writer runs before it reports success, and `save_router_logits` (the hf-router-logits layout the
SpecLab importers read, written from a transformers model output).

    import speclab_collect as sc
    t = sc.read_trace("traces/demo")          # pyarrow.Table; t.to_pandas() for a DataFrame
    manifest = sc.manifest_of(t)              # the manifest.json it was read with
"""

from __future__ import annotations

import hashlib
import json
import struct
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pyarrow as pa

from .reader import TraceFormatError
from .reader import read_trace as _read_verified
from .schema import MANIFEST_NAME

MANIFEST_METADATA_KEY = b"speclab.manifest"


def read_trace(path: str | Path, manifest_name: str = MANIFEST_NAME) -> pa.Table:
    """Read and verify a SpecLab trace set folder into one pyarrow Table (shards in manifest order).

    Columns as in docs/trace-format.md (seq, pos, dataset, [token_id], [token_text], experts [L*K], [weights],
    [logits]); `dataset_name` is added from the manifest's dataset list. The manifest is stored as JSON in the
    schema metadata under b"speclab.manifest" (see `manifest_of`). Checksums, types, ranges and ordering are
    checked; a bad set raises TraceFormatError naming the file.
    """
    manifest, table = _read_verified(path, manifest_name)
    names = pa.array(manifest["datasets"], pa.string())
    idx = table.column("dataset").combine_chunks() if table.num_rows else pa.array([], pa.uint16())
    table = table.append_column("dataset_name", names.take(idx.cast(pa.int32())) if len(idx) else pa.array([], pa.string()))
    meta = dict(table.schema.metadata or {})
    meta[MANIFEST_METADATA_KEY] = json.dumps(manifest, ensure_ascii=False).encode("utf-8")
    return table.replace_schema_metadata(meta)


def manifest_of(table: pa.Table) -> dict[str, Any]:
    """The manifest a table from `read_trace` was read with."""
    raw = (table.schema.metadata or {}).get(MANIFEST_METADATA_KEY)
    if raw is None:
        raise ValueError("table has no speclab.manifest metadata (not from read_trace?)")
    return json.loads(raw)


def verify_trace_set(path: str | Path, manifest_name: str = MANIFEST_NAME, expected: Mapping[str, Any] | None = None) -> None:
    """Read a written trace set back one shard at a time: the manifest parses (and equals `expected` when
    given), and every shard it lists matches its checksum, opens as Arrow IPC and holds the listed rows.
    Raises TraceFormatError naming the file. Memory stays at one shard."""
    root = Path(path)
    mpath = root / manifest_name
    try:
        m = json.loads(mpath.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise TraceFormatError(f"{mpath}: read back after writing, unreadable: {e}") from None
    if expected is not None and m != json.loads(json.dumps(dict(expected), allow_nan=False)):
        raise TraceFormatError(f"{mpath}: read back after writing, the manifest differs from the one written")
    files = [s["file"] for s in m.get("shards", [])]
    if len(set(files)) != len(files):
        raise TraceFormatError(f"{mpath}: read back after writing, a shard file is listed twice")
    for s in m.get("shards", []):
        p = root / s["file"]
        try:
            data = p.read_bytes()
        except OSError as e:
            raise TraceFormatError(f"{p}: read back after writing: {e}") from None
        got = hashlib.sha256(data).hexdigest()
        if got != s["sha256"]:
            raise TraceFormatError(f"{p}: read back after writing, SHA-256 is {got}, the manifest says {s['sha256']}")
        try:
            rows = pa.ipc.open_file(pa.py_buffer(data)).read_all().num_rows
        except pa.ArrowInvalid as e:
            raise TraceFormatError(f"{p}: read back after writing, not readable Arrow IPC: {e}") from None
        if rows != s["tokens"]:
            raise TraceFormatError(f"{p}: read back after writing, {rows} rows, the manifest says {s['tokens']}")


# --------------------------------------------------------------------------------------- hf-router-logits

_DTYPES = {"float32": "F32", "float16": "F16", "bfloat16": "BF16", "int64": "I64", "int32": "I32", "uint8": "U8", "bool": "BOOL"}


def _tensor_bytes(x: Any) -> tuple[str, list[int], bytes]:
    """(safetensors dtype, shape, little-endian bytes) of a torch tensor or numpy array."""
    try:
        import torch  # noqa: PLC0415

        if isinstance(x, torch.Tensor):
            t = x.detach().to("cpu").contiguous()
            name = str(t.dtype).removeprefix("torch.")
            if name not in _DTYPES:
                t, name = t.float(), "float32"
            shape = list(t.shape)
            if name == "bfloat16":
                return "BF16", shape, t.view(torch.int16).numpy().astype("<i2").tobytes()
            if name == "bool":
                return "BOOL", shape, t.numpy().astype(np.uint8).tobytes()
            x = t.numpy()
    except ImportError:
        pass
    a = np.ascontiguousarray(np.asarray(x))
    name = str(a.dtype)
    if name not in _DTYPES:
        a, name = a.astype(np.float32), "float32"
    if name == "bool":
        return "BOOL", list(a.shape), a.astype(np.uint8).tobytes()
    return _DTYPES[name], list(a.shape), a.astype(a.dtype.newbyteorder("<")).tobytes()


def save_router_logits(
    path: str | Path,
    router_logits: Any,
    *,
    top_k: int,
    norm_topk_prob: bool = True,
    input_ids: Any = None,
    attention_mask: Any = None,
    layer_ids: Sequence[int] | None = None,
    metadata: Mapping[str, str] | None = None,
) -> Path:
    """Write one forward pass's router logits in the hf-router-logits layout (a safetensors file).

    `router_logits` is a transformers model output with `.router_logits` (from `output_router_logits=True`)
    or the tuple itself: one tensor per MoE layer, [batch*seq, E] or [batch, seq, E], float32/float16/bfloat16
    (stored as given). `layer_ids` names the model layer of each (default 0, 1, ...). `input_ids` and
    `attention_mask` ([batch, seq]) are stored when given; the importer drops padded positions. `top_k` and
    `norm_topk_prob` (the model config's) go in the metadata: the importer recomputes softmax, top-k and,
    when norm_topk_prob is true, renormalised weights. A folder of such files is a trace set:
    `speclab import FOLDER -o OUT`.
    """
    logits = getattr(router_logits, "router_logits", router_logits)
    if logits is None:
        raise ValueError("no router logits: run the model with output_router_logits=True")
    logits = [x for x in logits if x is not None]
    if not logits:
        raise ValueError("router_logits is empty")
    ids = list(range(len(logits))) if layer_ids is None else [int(i) for i in layer_ids]
    if len(ids) != len(logits):
        raise ValueError(f"{len(ids)} layer_ids for {len(logits)} router_logits tensors")
    if sorted(set(ids)) != ids:
        raise ValueError(f"layer_ids must be increasing and distinct, got {ids}")
    if not (isinstance(top_k, int) and top_k >= 1):
        raise ValueError(f"top_k must be a positive integer, got {top_k!r}")
    tensors: dict[str, tuple[str, list[int], bytes]] = {}
    for i, x in zip(ids, logits):
        tensors[f"router_logits.{i}"] = _tensor_bytes(x)
    first = tensors[f"router_logits.{ids[0]}"][1]
    if len(first) not in (2, 3) or first[-1] < top_k:
        raise ValueError(f"router_logits.{ids[0]} has shape {first}; expected [batch*seq, E] or [batch, seq, E] with E >= top_k")
    for name, x in (("input_ids", input_ids), ("attention_mask", attention_mask)):
        if x is not None:
            tensors[name] = _tensor_bytes(x)
            if int(np.prod(tensors[name][1])) != int(np.prod(first[:-1])):
                raise ValueError(f"{name} shape {tensors[name][1]} does not match router_logits rows {first[:-1]}")
    meta = {"top_k": str(top_k), "norm_topk_prob": "true" if norm_topk_prob else "false", "format": "speclab-hf-router-logits"}
    meta.update({str(k): str(v) for k, v in (metadata or {}).items()})
    header: dict[str, Any] = {"__metadata__": meta}
    off = 0
    for name, (dt, shape, b) in tensors.items():
        header[name] = {"dtype": dt, "shape": shape, "data_offsets": [off, off + len(b)]}
        off += len(b)
    h = json.dumps(header).encode("utf-8")
    h += b" " * (-len(h) % 8)
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for _, _, b in tensors.values():
            f.write(b)
    tmp.replace(out)
    return out
