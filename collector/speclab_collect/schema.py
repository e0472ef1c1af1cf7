"""The trace format's names and Arrow schema (docs/trace-format.md), shared by the writer and the readers.

Its own module so that the writer's read-back check (read.py, reader.py) and the writer need not import each other.
"""

from __future__ import annotations

import pyarrow as pa

FORMAT_NAME = "speclab-trace"
FORMAT_VERSION = 1
MANIFEST_NAME = "manifest.json"
LOOKAHEAD_COLUMN = "lookahead_logits"
SCHEMA_METADATA = {"speclab.format": "1"}


def trace_schema(
    num_layers: int,
    num_experts: int,
    top_k: int,
    *,
    has_weights: bool,
    has_logits: bool,
    has_token_ids: bool,
    has_token_text: bool,
    lookahead_horizon: int = 0,
) -> pa.Schema:
    """The Arrow schema of a v1 shard with the given shape and optional columns.

    lookahead_horizon H > 0 adds `lookahead_logits`, fixed_size_list<float32>[L*H*E]: element (l*H + h-1)*E + e
    is the router of MoE layer l+h applied to layer l's router input (NaN where layer l+h does not exist)."""

    def fixed(name: str, item: pa.DataType, size: int) -> pa.Field:
        return pa.field(name, pa.list_(pa.field("item", item, nullable=False), size), nullable=False)

    lk, le = num_layers * top_k, num_layers * num_experts
    fields = [
        pa.field("seq", pa.int32(), nullable=False),
        pa.field("pos", pa.int32(), nullable=False),
        pa.field("dataset", pa.uint16(), nullable=False),
    ]
    if has_token_ids:
        fields.append(pa.field("token_id", pa.int32(), nullable=False))
    if has_token_text:
        fields.append(pa.field("token_text", pa.string(), nullable=False))
    fields.append(fixed("experts", pa.int16(), lk))
    if has_weights:
        fields.append(fixed("weights", pa.float32(), lk))
    if has_logits:
        fields.append(fixed("logits", pa.float32(), le))
    if lookahead_horizon:
        fields.append(fixed(LOOKAHEAD_COLUMN, pa.float32(), le * lookahead_horizon))
    return pa.schema(fields, metadata=SCHEMA_METADATA)
