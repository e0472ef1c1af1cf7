"""A small, strict reader for trace format v1, for tests and offline checks (the app has its own in TS)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from .schema import FORMAT_NAME, FORMAT_VERSION, MANIFEST_NAME, trace_schema


class TraceFormatError(ValueError):
    pass


def read_trace(path: str | Path, manifest_name: str = MANIFEST_NAME) -> tuple[dict[str, Any], pa.Table]:
    """Read and verify a trace set folder: manifest, checksums, schemas, row counts, expert ids, ordering.

    Returns the manifest and all shards concatenated (in manifest order) as one table.
    """
    root = Path(path)
    manifest_path = root / manifest_name
    m = json.loads(manifest_path.read_text(encoding="utf-8"))
    if m.get("format") != FORMAT_NAME or m.get("version") != FORMAT_VERSION:
        raise TraceFormatError(f"{manifest_path}: not a {FORMAT_NAME} v{FORMAT_VERSION} manifest")
    L, E, K = m["numLayers"], m["numExperts"], m["topK"]
    want = trace_schema(
        L,
        E,
        K,
        has_weights=m["hasWeights"],
        has_logits=m["hasLogits"],
        has_token_ids=m["hasTokenIds"],
        has_token_text=m["hasTokenText"],
        lookahead_horizon=int(m.get("lookaheadHorizon", 0)),
    )
    tables = []
    for i, entry in enumerate(m["shards"]):
        name = entry["file"]
        if "/" in name or "\\" in name or name in ("", ".", ".."):
            raise TraceFormatError(f"{manifest_path}: shards[{i}].file {name!r} is not a plain file name")
        data = (root / name).read_bytes()
        if hashlib.sha256(data).hexdigest() != entry["sha256"]:
            raise TraceFormatError(f"{root / name}: checksum mismatch")
        try:
            table = pa.ipc.open_file(pa.py_buffer(data)).read_all()
        except pa.ArrowInvalid as e:
            raise TraceFormatError(f"{root / name}: not a readable Arrow IPC file: {e}") from None
        if (table.schema.metadata or {}).get(b"speclab.format") != b"1":
            raise TraceFormatError(f'{root / name}: schema metadata speclab.format is not "1"')
        for field in want:
            if field.name not in table.column_names:
                raise TraceFormatError(f"{root / name}: missing column {field.name}")
            got = table.schema.field(field.name).type
            if not _same_type(got, field.type):
                raise TraceFormatError(f"{root / name}: column {field.name} is {got}, expected {field.type}")
            if table.column(field.name).null_count:
                raise TraceFormatError(f"{root / name}: column {field.name} has nulls")
        if table.num_rows != entry["tokens"]:
            raise TraceFormatError(f"{root / name}: {table.num_rows} rows, manifest says {entry['tokens']}")
        tables.append(table.select([f.name for f in want]))
    table = pa.concat_tables(tables) if tables else want.empty_table()
    _check_rows(table, m, str(root))
    return m, table


def column(table: pa.Table, name: str, width: int | None = None) -> np.ndarray:
    """A column as numpy; fixed-size lists come back as [rows, width]."""
    col = table.column(name).combine_chunks()
    if width is None:
        return col.to_numpy(zero_copy_only=False)
    return col.flatten().to_numpy().reshape(-1, width)


def _same_type(got: pa.DataType, want: pa.DataType) -> bool:
    # Child-field names and nullability are not part of the format, only value type and list size.
    if pa.types.is_fixed_size_list(want):
        return pa.types.is_fixed_size_list(got) and got.list_size == want.list_size and got.value_type.equals(want.value_type)
    return got.equals(want)


def _check_rows(table: pa.Table, m: dict[str, Any], where: str) -> None:
    L, E, K = m["numLayers"], m["numExperts"], m["topK"]
    if table.num_rows == 0:
        return
    ex = column(table, "experts", L * K).reshape(-1, L, K)
    if ex.min() < 0 or ex.max() >= E:
        raise TraceFormatError(f"{where}: expert id out of range 0..{E - 1}")
    s = np.sort(ex, axis=2)
    if K > 1 and np.any(s[:, :, 1:] == s[:, :, :-1]):
        raise TraceFormatError(f"{where}: repeated expert id within a token and layer")
    ds = column(table, "dataset")
    if ds.max() >= len(m["datasets"]):
        raise TraceFormatError(f"{where}: dataset index out of range")
    seq, pos = column(table, "seq"), column(table, "pos")
    same = seq[1:] == seq[:-1]
    if np.any(same & (pos[1:] <= pos[:-1])):
        raise TraceFormatError(f"{where}: positions not ascending within a sequence")
    starts = seq[np.concatenate([[True], ~same])]
    if len(np.unique(starts)) != len(starts):
        raise TraceFormatError(f"{where}: a sequence's rows are not contiguous")
