"""SpecLab collector: capture MoE routing from transformers models into trace sets (docs/trace-format.md)."""

__version__ = "0.1.0"

from .writer import TraceWriter  # noqa: E402

__all__ = ["TraceWriter", "__version__"]
