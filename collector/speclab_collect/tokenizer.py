"""A trivial, deterministic byte-level tokenizer for the demo (no hub download, no vocabulary file)."""

from __future__ import annotations

BOS_ID = 256  # ids 0..255 are the UTF-8 bytes themselves
EOS_ID = 257
PAD_ID = 258
VOCAB_SIZE = 259
_SPECIAL_TEXT = {BOS_ID: "<s>", EOS_ID: "</s>", PAD_ID: "<pad>"}


def encode(text: str, bos: bool = True) -> list[int]:
    ids = list(text.encode("utf-8"))
    return [BOS_ID, *ids] if bos else ids


def decode(ids: list[int]) -> str:
    return bytes(i for i in ids if i < 256).decode("utf-8", errors="replace")


def token_text(token_id: int) -> str:
    """Display text of one token: ASCII bytes as themselves, other bytes as <0xNN> (they are UTF-8 fragments)."""
    if token_id in _SPECIAL_TEXT:
        return _SPECIAL_TEXT[token_id]
    if not 0 <= token_id < 256:
        raise ValueError(f"token id {token_id} is not in the byte tokenizer's vocabulary")
    return chr(token_id) if token_id < 0x80 else f"<0x{token_id:02X}>"
