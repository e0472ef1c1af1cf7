"""SpecLab collector: capture MoE routing from transformers models into trace sets (docs/trace-format.md)."""

__version__ = "0.1.0"

from .writer import TraceWriter  # noqa: E402
from .read import manifest_of, read_trace, save_router_logits, verify_trace_set  # noqa: E402

__all__ = ["TraceWriter", "__version__", "manifest_of", "read_trace", "save_router_logits", "verify_trace_set"]
